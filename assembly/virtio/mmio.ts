// virtio-mmio transport, version 2 (VIRTIO 1.2 §4.2.2): the register file the driver sees at slot i of the QEMU
// virt map, feature negotiation, queue setup, notifications and interrupts. Ring processing is in queue.ts.
// Notifications go to the device's serving thread (an I/O thread woken with atomic.notify, or the vCPU's own
// thread through STOP_IO); interrupts come back through VM_VIRTIO_IRQ, which the run loop turns into PLIC lines.
import {
  vtPtr, vqPtr, VIRTIO_SLOTS, VT_DEVICE_ID, VT_VENDOR_ID, VT_DEV_FEATURES, VT_DRV_FEATURES, VT_DEV_FSEL,
  VT_DRV_FSEL, VT_STATUS, VT_QUEUE_SEL, VT_ISR, VT_CONFIG_GEN, VT_NUM_QUEUES, VT_CONFIG_SIZE, VT_DOORBELL,
  VT_NOTIFY, VT_SYNC_IO, VT_STAT_NOTIFIES, VT_STAT_BROKEN, VT_QUEUES, VT_CONFIG, VQ_MAX, VQ_STRIDE, VQ_NUM_MAX,
  VQ_NUM, VQ_READY, VQ_DESC, VQ_DRIVER, VQ_DEVICE, VM_VIRTIO_IRQ, VM_WAKE, VM_IO_DOORBELL,
} from "../layout";
import { requestStop } from "../state";
import { STOP_IO } from "../stop";
import { plicSetLevel } from "../devices/plic";

export const VIRTIO_MMIO_BASE: u64 = 0x1000_1000;
export const VIRTIO_MMIO_STRIDE: u64 = 0x1000;
export const VIRTIO_MMIO_SIZE: u64 = VIRTIO_MMIO_STRIDE * <u64>VIRTIO_SLOTS;
export const VIRTIO_IRQ_BASE: u32 = 1; // PLIC source of slot 0 (QEMU virt)

// Register offsets (§4.2.2)
const R_MAGIC: u32 = 0x000, R_VERSION: u32 = 0x004, R_DEVICE_ID: u32 = 0x008, R_VENDOR_ID: u32 = 0x00c;
const R_DEV_FEATURES: u32 = 0x010, R_DEV_FSEL: u32 = 0x014, R_DRV_FEATURES: u32 = 0x020, R_DRV_FSEL: u32 = 0x024;
const R_QUEUE_SEL: u32 = 0x030, R_QUEUE_NUM_MAX: u32 = 0x034, R_QUEUE_NUM: u32 = 0x038, R_QUEUE_READY: u32 = 0x044;
const R_QUEUE_NOTIFY: u32 = 0x050, R_ISR: u32 = 0x060, R_ISR_ACK: u32 = 0x064, R_STATUS: u32 = 0x070;
const R_DESC_LO: u32 = 0x080, R_DESC_HI: u32 = 0x084, R_DRIVER_LO: u32 = 0x090, R_DRIVER_HI: u32 = 0x094;
const R_DEVICE_LO: u32 = 0x0a0, R_DEVICE_HI: u32 = 0x0a4, R_SHM_LEN_LO: u32 = 0x0b0, R_SHM_LEN_HI: u32 = 0x0b4;
const R_SHM_BASE_LO: u32 = 0x0b8, R_SHM_BASE_HI: u32 = 0x0bc, R_CONFIG_GEN: u32 = 0x0fc, R_CONFIG: u32 = 0x100;
const MAGIC: u32 = 0x7472_6976; // "virt"

// Device status bits (§2.1)
export const STATUS_ACKNOWLEDGE: u32 = 1;
export const STATUS_DRIVER: u32 = 2;
export const STATUS_DRIVER_OK: u32 = 4;
export const STATUS_FEATURES_OK: u32 = 8;
export const STATUS_NEEDS_RESET: u32 = 64;
export const STATUS_FAILED: u32 = 128;
// Reserved feature bits (§6)
export const F_VERSION_1: u64 = <u64>1 << 32;
// InterruptStatus bits (§4.2.2)
export const ISR_USED: u32 = 1;
export const ISR_CONFIG: u32 = 2;
// VT_NOTIFY bits beyond the queues
export const NOTIFY_RESET: u32 = 1 << 31;
export const NOTIFY_DRIVER_OK: u32 = 1 << 30;

/** Hands `bits` to the device's serving thread: wakes an I/O thread, or stops run() for the vCPU's thread. */
function notifyServer(slot: u32, bits: u32): void {
  const t = vtPtr(slot);
  atomic.or<u32>(t + VT_NOTIFY, bits);
  atomic.add<u32>(t + VT_DOORBELL, 1);
  store<u64>(t + VT_STAT_NOTIFIES, load<u64>(t + VT_STAT_NOTIFIES) + 1);
  if (load<u32>(t + VT_SYNC_IO) != 0) requestStop(STOP_IO);
  else { atomic.add<i32>(VM_IO_DOORBELL, 1); atomic.notify(VM_IO_DOORBELL, -1); }
}

/** Raises InterruptStatus bits for slot (any thread); the vCPU's run loop drives the PLIC line (virtioUpdate). */
export function virtioInterrupt(slot: u32, bits: u32): void {
  atomic.or<u32>(vtPtr(slot) + VT_ISR, bits);
  atomic.or<u32>(VM_VIRTIO_IRQ, 1 << slot);
  atomic.add<i32>(VM_WAKE, 1);
  atomic.notify(VM_WAKE, -1); // a vCPU sleeping in WFI wakes up
}

/** vCPU thread: turns interrupt changes reported by serving threads into PLIC line levels. */
export function virtioUpdate(): void {
  if (atomic.load<u32>(VM_VIRTIO_IRQ) == 0) return;
  let bits = atomic.xchg<u32>(VM_VIRTIO_IRQ, 0);
  while (bits != 0) {
    const s = ctz(bits);
    bits &= bits - 1;
    plicSetLevel(VIRTIO_IRQ_BASE + s, atomic.load<u32>(vtPtr(s) + VT_ISR) != 0);
  }
}

/** Marks the device broken (DEVICE_NEEDS_RESET, §2.1.2) with a reason, and tells the driver (config interrupt). */
export function virtioBroken(slot: u32, why: u32): void {
  const t = vtPtr(slot);
  if ((atomic.or<u32>(t + VT_STATUS, STATUS_NEEDS_RESET) & STATUS_NEEDS_RESET) != 0) return;
  if (load<u32>(t + VT_STAT_BROKEN) == 0) store<u32>(t + VT_STAT_BROKEN, why);
  if ((atomic.load<u32>(t + VT_STATUS) & STATUS_DRIVER_OK) != 0) virtioInterrupt(slot, ISR_CONFIG);
}

/** Serving thread: completes a reset the driver requested (status 0 reads back only after this). */
export function virtioReset(slot: u32): void {
  const t = vtPtr(slot);
  store<u64>(t + VT_DRV_FEATURES, 0);
  store<u32>(t + VT_DEV_FSEL, 0);
  store<u32>(t + VT_DRV_FSEL, 0);
  store<u32>(t + VT_QUEUE_SEL, 0);
  for (let q: u32 = 0; q < VQ_MAX; q++) {
    const p = vqPtr(slot, q);
    const max = load<u32>(p + VQ_NUM_MAX);
    memory.fill(p, 0, VQ_STRIDE);
    store<u32>(p + VQ_NUM_MAX, max);
    store<u32>(p + VQ_NUM, max);
  }
  atomic.store<u32>(t + VT_ISR, 0);
  atomic.store<u32>(t + VT_STATUS, 0);
  atomic.or<u32>(VM_VIRTIO_IRQ, 1 << slot); // drop the line
}

/** True if the driver accepted feature bit `bit`. */
export function driverHas(slot: u32, bit: u32): bool { return (load<u64>(vtPtr(slot) + VT_DRV_FEATURES) >> bit & 1) != 0; }

@inline function selQueue(t: usize, slot: u32): usize {
  const q = load<u32>(t + VT_QUEUE_SEL);
  return q < load<u32>(t + VT_NUM_QUEUES) ? vqPtr(slot, q) : 0;
}

export function virtioRead(off: u64, size: u32): u32 {
  const slot = <u32>(off / VIRTIO_MMIO_STRIDE), r = <u32>(off % VIRTIO_MMIO_STRIDE);
  const t = vtPtr(slot);
  if (r >= R_CONFIG) {
    const c = r - R_CONFIG;
    if (<u64>c + <u64>size > <u64>load<u32>(t + VT_CONFIG_SIZE)) return 0;
    const p = t + VT_CONFIG + <usize>c;
    return size == 1 ? <u32>load<u8>(p) : size == 2 ? <u32>load<u16>(p) : load<u32>(p);
  }
  if (size != 4 || (r & 3) != 0) return 0; // §4.2.2.2: the driver MUST use 32-bit accesses here
  const dev = load<u32>(t + VT_DEVICE_ID);
  switch (r) {
    case R_MAGIC: return MAGIC;
    case R_VERSION: return 2;
    case R_DEVICE_ID: return dev;
    case R_VENDOR_ID: return dev == 0 ? 0 : load<u32>(t + VT_VENDOR_ID);
  }
  if (dev == 0) return 0; // an empty slot: Linux skips DeviceID 0 (§4.2.3.1.1)
  switch (r) {
    case R_DEV_FEATURES: {
      const sel = load<u32>(t + VT_DEV_FSEL);
      return sel > 1 ? 0 : <u32>(load<u64>(t + VT_DEV_FEATURES) >> (sel * 32));
    }
    case R_QUEUE_NUM_MAX: { const q = selQueue(t, slot); return q == 0 ? 0 : load<u32>(q + VQ_NUM_MAX); }
    case R_QUEUE_READY: { const q = selQueue(t, slot); return q == 0 ? 0 : load<u32>(q + VQ_READY); }
    case R_ISR: return atomic.load<u32>(t + VT_ISR);
    case R_STATUS: return atomic.load<u32>(t + VT_STATUS);
    case R_SHM_LEN_LO: case R_SHM_LEN_HI: case R_SHM_BASE_LO: case R_SHM_BASE_HI: return 0xffff_ffff; // no shared memory regions
    case R_CONFIG_GEN: return load<u32>(t + VT_CONFIG_GEN);
  }
  return 0;
}

export function virtioWrite(off: u64, size: u32, v: u32): void {
  const slot = <u32>(off / VIRTIO_MMIO_STRIDE), r = <u32>(off % VIRTIO_MMIO_STRIDE);
  const t = vtPtr(slot);
  if (load<u32>(t + VT_DEVICE_ID) == 0) return;
  if (r >= R_CONFIG) return; // no writable configuration fields are offered
  if (size != 4 || (r & 3) != 0) return;
  switch (r) {
    case R_DEV_FSEL: store<u32>(t + VT_DEV_FSEL, v); return;
    case R_DRV_FSEL: store<u32>(t + VT_DRV_FSEL, v); return;
    case R_DRV_FEATURES: {
      const sel = load<u32>(t + VT_DRV_FSEL);
      if (sel > 1 || (atomic.load<u32>(t + VT_STATUS) & STATUS_FEATURES_OK) != 0) return; // fixed once accepted
      const shift = <u64>sel * 32;
      const f = (load<u64>(t + VT_DRV_FEATURES) & ~(<u64>0xffff_ffff << shift)) | (<u64>v << shift);
      store<u64>(t + VT_DRV_FEATURES, f);
      return;
    }
    case R_QUEUE_SEL: store<u32>(t + VT_QUEUE_SEL, v); return;
    case R_QUEUE_NOTIFY:
      if (v < load<u32>(t + VT_NUM_QUEUES)) notifyServer(slot, 1 << v);
      return;
    case R_ISR_ACK: {
      atomic.and<u32>(t + VT_ISR, ~v);
      plicSetLevel(VIRTIO_IRQ_BASE + slot, atomic.load<u32>(t + VT_ISR) != 0);
      return;
    }
    case R_STATUS: { statusWrite(slot, t, v); return; }
  }
  // Queue registers: only while the queue is not live (§4.2.2.3: the driver MUST NOT change a ready queue).
  const q = selQueue(t, slot);
  if (q == 0 || load<u32>(q + VQ_READY) != 0 && r != R_QUEUE_READY) return;
  switch (r) {
    case R_QUEUE_NUM: store<u32>(q + VQ_NUM, v); break;
    case R_DESC_LO: store<u32>(q + VQ_DESC, v); break;
    case R_DESC_HI: store<u32>(q + VQ_DESC + 4, v); break;
    case R_DRIVER_LO: store<u32>(q + VQ_DRIVER, v); break;
    case R_DRIVER_HI: store<u32>(q + VQ_DRIVER + 4, v); break;
    case R_DEVICE_LO: store<u32>(q + VQ_DEVICE, v); break;
    case R_DEVICE_HI: store<u32>(q + VQ_DEVICE + 4, v); break;
    case R_QUEUE_READY: {
      if ((v & 1) == 0) { store<u32>(q + VQ_READY, 0); break; }
      // A queue the device cannot use as configured marks the device broken instead of being trusted later.
      const n = load<u32>(q + VQ_NUM);
      const ok = n != 0 && n <= load<u32>(q + VQ_NUM_MAX) && (n & (n - 1)) == 0 &&
        (load<u64>(q + VQ_DESC) & 15) == 0 && (load<u64>(q + VQ_DRIVER) & 1) == 0 && (load<u64>(q + VQ_DEVICE) & 3) == 0;
      if (!ok) { virtioBroken(slot, VQ_ERR_QUEUE_SETUP); break; }
      store<u32>(q + VQ_READY, 1);
      break;
    }
  }
}

/** Why a device was marked broken (VT_STAT_BROKEN; the host names them). */
export const VQ_ERR_QUEUE_SETUP: u32 = 1;  // QueueReady with a size or address the device cannot use
export const VQ_ERR_AVAIL_IDX: u32 = 2;    // the available index moved by more than the queue size
export const VQ_ERR_HEAD: u32 = 3;         // a descriptor index out of range
export const VQ_ERR_LOOP: u32 = 4;         // a descriptor chain longer than its table (a loop)
export const VQ_ERR_INDIRECT: u32 = 5;     // a malformed indirect table (size, nesting, NEXT with INDIRECT, alignment)
export const VQ_ERR_ORDER: u32 = 6;        // a device-readable descriptor after a device-writable one
export const VQ_ERR_RING_DMA: u32 = 7;     // the rings or descriptors are outside the device's IOMMU domain
export const VQ_ERR_LENGTH: u32 = 8;       // buffer lengths overflow

function statusWrite(slot: u32, t: usize, v: u32): void {
  if (v == 0) {
    // Completed by the serving thread (virtioReset); the status reads its old value until then (§4.2.2.1: the
    // driver waits for 0). A device already in reset has nothing to undo: a late reset would wipe the setup the
    // driver does next.
    if (atomic.load<u32>(t + VT_STATUS) != 0) notifyServer(slot, NOTIFY_RESET);
    return;
  }
  const old = atomic.load<u32>(t + VT_STATUS);
  if ((v & STATUS_FEATURES_OK) != 0 && (old & STATUS_FEATURES_OK) == 0) {
    // §3.1.1: the device accepts the subset only if it offered every bit and VERSION_1 is among them.
    const drv = load<u64>(t + VT_DRV_FEATURES);
    if ((drv & ~load<u64>(t + VT_DEV_FEATURES)) != 0 || (drv & F_VERSION_1) == 0) v &= ~STATUS_FEATURES_OK;
  }
  if ((v & STATUS_DRIVER_OK) != 0 && (old & STATUS_FEATURES_OK) == 0 && (v & STATUS_FEATURES_OK) == 0) v &= ~STATUS_DRIVER_OK;
  // DEVICE_NEEDS_RESET belongs to the device: the driver cannot clear it except by a reset.
  atomic.store<u32>(t + VT_STATUS, (v & ~STATUS_NEEDS_RESET) | (old & STATUS_NEEDS_RESET));
  if ((v & STATUS_DRIVER_OK) != 0 && (old & STATUS_DRIVER_OK) == 0) notifyServer(slot, NOTIFY_DRIVER_OK);
}

/**
 * Host: puts a device in slot (device type `id`, offered features, `nq` queues of at most `qmax` entries, a
 * configuration space of `cfgSize` bytes the host fills at VT_CONFIG). syncIo selects the serving thread.
 */
export function virtioSetup(slot: u32, id: u32, features: u64, nq: u32, qmax: u32, cfgSize: u32, syncIo: u32): bool {
  if (slot >= VIRTIO_SLOTS || nq > VQ_MAX || cfgSize > 0x100 || qmax == 0 || qmax > 32768 || (qmax & (qmax - 1)) != 0) return false;
  const t = vtPtr(slot);
  memory.fill(t, 0, VT_QUEUES + <usize>VQ_MAX * VQ_STRIDE);
  store<u32>(t + VT_DEVICE_ID, id);
  store<u32>(t + VT_VENDOR_ID, 0x554d_4551); // "QEMU", as QEMU's devices report (drivers do not care)
  store<u64>(t + VT_DEV_FEATURES, features | F_VERSION_1);
  store<u32>(t + VT_NUM_QUEUES, nq);
  store<u32>(t + VT_CONFIG_SIZE, cfgSize);
  store<u32>(t + VT_SYNC_IO, syncIo);
  for (let q: u32 = 0; q < nq; q++) { store<u32>(vqPtr(slot, q) + VQ_NUM_MAX, qmax); store<u32>(vqPtr(slot, q) + VQ_NUM, qmax); }
  return true;
}

/** Host: the configuration space changed (§2.5.1: generation and a configuration-change interrupt). */
export function virtioConfigChanged(slot: u32): void {
  const t = vtPtr(slot);
  store<u32>(t + VT_CONFIG_GEN, load<u32>(t + VT_CONFIG_GEN) + 1);
  if ((atomic.load<u32>(t + VT_STATUS) & STATUS_DRIVER_OK) != 0) virtioInterrupt(slot, ISR_CONFIG);
}
