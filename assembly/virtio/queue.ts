// Split virtqueues (VIRTIO 1.2 §2.7): taking descriptor chains from the available ring and returning them through
// the used ring, for the thread that serves the device. Every ring and buffer access is a DMA through the IOMMU;
// the guest is hostile: indices, lengths, chain shapes and addresses are all checked, and a malformed ring marks
// the device broken (DEVICE_NEEDS_RESET) instead of being followed.
import {
  vtPtr, vqPtr, chainPtr, VT_STATUS, VT_NUM_QUEUES, VT_STAT_IRQS, VQ_NUM, VQ_READY, VQ_DESC, VQ_DRIVER, VQ_DEVICE,
  VQ_LAST_AVAIL, VQ_USED_IDX, VQ_SIGNALLED, CHAIN_SEGS, CHAIN_MAX_SEGS,
} from "../layout";
import { iommuTranslate, LAST_GPA } from "../iommu";
import { markDirty } from "../dirty";
import {
  virtioBroken, virtioInterrupt, driverHas, STATUS_DRIVER_OK, STATUS_NEEDS_RESET, ISR_USED, VQ_ERR_AVAIL_IDX, VQ_ERR_HEAD,
  VQ_ERR_LOOP, VQ_ERR_INDIRECT, VQ_ERR_ORDER, VQ_ERR_RING_DMA, VQ_ERR_LENGTH,
} from "./mmio";

// Descriptor flags (§2.7.5)
const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
const DESC_F_INDIRECT: u16 = 4;
// Ring feature bits (§6)
const F_INDIRECT_DESC: u32 = 28;
const F_EVENT_IDX: u32 = 29;
const AVAIL_F_NO_INTERRUPT: u16 = 1;

// Chain header (layout.ts CHAIN_*)
export const CHAIN_HEAD: usize = 0;
export const CHAIN_NSEG: usize = 4;
export const CHAIN_FLAGS: usize = 8;
export const CHAIN_READABLE: usize = 12;
export const CHAIN_WRITABLE: usize = 16;
export const CHAIN_F_FAULT: u32 = 1;   // a buffer lies (partly) outside the device's domain (segments at offset 0): fail the request
export const CHAIN_F_TOOBIG: u32 = 2;  // more segments than CHAIN_MAX_SEGS: fail the request

export const VQ_EMPTY: i32 = -1;
export const VQ_BROKEN: i32 = -2;

/** DMA pointer to `size` naturally aligned bytes at guest address a (so inside one page), or 0 after a fault. */
@inline function ringPtr(slot: u32, a: u64, write: bool): usize { return iommuTranslate(slot, a, write); }

/**
 * Appends buffer [addr, addr+len) to the chain as page-sized segments. A part the IOMMU refuses becomes a segment
 * at offset 0 (never DMA-able: the core's own static data) and fails the request, but keeps the offsets of later
 * buffers right, so the device can still write the request's status into them.
 */
function addBuffer(slot: u32, c: usize, addr: u64, len: u32, write: bool): void {
  let a = addr, left = <u64>len;
  let faulted = a + left < a; // wraps the address space
  while (left > 0) {
    const n = faulted ? left : min<u64>(left, 4096 - (a & 0xfff));
    let p: usize = 0, gpn: u32 = 0;
    if (!faulted) {
      p = iommuTranslate(slot, a, write);
      if (p == 0) { faulted = true; continue; } // the rest of this buffer is refused as a whole
      gpn = <u32>(LAST_GPA >> 12);
    } else {
      store<u32>(c + CHAIN_FLAGS, load<u32>(c + CHAIN_FLAGS) | CHAIN_F_FAULT);
    }
    const k = load<u32>(c + CHAIN_NSEG);
    // Pages adjacent both in linear memory (frames handed out in order) and guest-physically merge into one segment.
    const prev = c + CHAIN_SEGS + (<usize>(k - 1) << 4);
    if (p != 0 && k > 0 && load<u32>(prev + 8) == (write ? 1 : 0) && load<u32>(prev) != 0 &&
        <usize>load<u32>(prev) + <usize>load<u32>(prev + 4) == p &&
        ((<u64>load<u32>(prev + 12) << 12) + (<u64>load<u32>(prev) & 0xfff) + <u64>load<u32>(prev + 4)) == ((<u64>gpn << 12) | (a & 0xfff))) {
      store<u32>(prev + 4, load<u32>(prev + 4) + <u32>n);
    } else {
      if (k >= CHAIN_MAX_SEGS) { store<u32>(c + CHAIN_FLAGS, load<u32>(c + CHAIN_FLAGS) | CHAIN_F_TOOBIG); return; }
      const s = c + CHAIN_SEGS + (<usize>k << 4);
      store<u32>(s, <u32>p);
      store<u32>(s + 4, <u32>n);
      store<u32>(s + 8, write ? 1 : 0);
      store<u32>(s + 12, gpn);
      store<u32>(c + CHAIN_NSEG, k + 1);
    }
    a += n;
    left -= n;
  }
}

/**
 * Takes the next available chain of queue q of the device in slot, leaving it translated at chainPtr(slot).
 * Returns its head index, VQ_EMPTY, or VQ_BROKEN (the device is, or has just been, marked broken).
 */
export function vqPop(slot: u32, q: u32): i32 {
  const t = vtPtr(slot);
  const st = atomic.load<u32>(t + VT_STATUS);
  if ((st & STATUS_NEEDS_RESET) != 0) return VQ_BROKEN;
  if ((st & STATUS_DRIVER_OK) == 0 || q >= load<u32>(t + VT_NUM_QUEUES)) return VQ_EMPTY;
  const vq = vqPtr(slot, q);
  if (load<u32>(vq + VQ_READY) == 0) return VQ_EMPTY;
  const num = load<u32>(vq + VQ_NUM);
  const avail = load<u64>(vq + VQ_DRIVER);
  const pIdx = ringPtr(slot, avail + 2, false);
  if (pIdx == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
  const availIdx = <u32>atomic.load<u16>(pIdx); // acquire: ring entries written before idx are visible
  const last = load<u32>(vq + VQ_LAST_AVAIL);
  const pending = (availIdx - last) & 0xffff;
  if (pending == 0) return VQ_EMPTY;
  if (pending > num) { virtioBroken(slot, VQ_ERR_AVAIL_IDX); return VQ_BROKEN; }
  const pHead = ringPtr(slot, avail + 4 + (<u64>(last & (num - 1)) << 1), false);
  if (pHead == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
  const head = <u32>load<u16>(pHead);
  if (head >= num) { virtioBroken(slot, VQ_ERR_HEAD); return VQ_BROKEN; }

  const c = chainPtr(slot);
  store<u32>(c + CHAIN_HEAD, head);
  store<u32>(c + CHAIN_NSEG, 0);
  store<u32>(c + CHAIN_FLAGS, 0);
  let readable: u64 = 0, writable: u64 = 0;
  let table = load<u64>(vq + VQ_DESC), size = num, idx = head;
  let indirect = false, seen: u32 = 0;
  const indirectOk = driverHas(slot, F_INDIRECT_DESC);
  for (;;) {
    if (idx >= size) { virtioBroken(slot, VQ_ERR_HEAD); return VQ_BROKEN; }
    if (++seen > size) { virtioBroken(slot, VQ_ERR_LOOP); return VQ_BROKEN; }
    const d = ringPtr(slot, table + (<u64>idx << 4), false); // 16-byte descriptors, 16-byte aligned tables
    if (d == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
    const addr = load<u64>(d), len = load<u32>(d + 8), flags = load<u16>(d + 12), next = <u32>load<u16>(d + 14);
    if ((flags & DESC_F_INDIRECT) != 0) {
      // §2.7.5.3: only with the feature, not nested, not combined with NEXT, a whole number of descriptors.
      if (!indirectOk || indirect || (flags & DESC_F_NEXT) != 0 || len == 0 || (len & 15) != 0 || (addr & 15) != 0 || (len >> 4) > 32768) {
        virtioBroken(slot, VQ_ERR_INDIRECT); return VQ_BROKEN;
      }
      indirect = true;
      table = addr; size = len >> 4; idx = 0; seen = 0;
      continue;
    }
    const w = (flags & DESC_F_WRITE) != 0;
    if (!w && writable != 0) { virtioBroken(slot, VQ_ERR_ORDER); return VQ_BROKEN; } // §2.7.4.2
    if (w) writable += len; else readable += len;
    if (readable + writable > 0xffff_ffff) { virtioBroken(slot, VQ_ERR_LENGTH); return VQ_BROKEN; }
    if (len != 0) addBuffer(slot, c, addr, len, w);
    if ((flags & DESC_F_NEXT) == 0) break;
    idx = next;
  }
  store<u32>(c + CHAIN_READABLE, <u32>readable);
  store<u32>(c + CHAIN_WRITABLE, <u32>writable);
  store<u32>(vq + VQ_LAST_AVAIL, (last + 1) & 0xffff);
  if (driverHas(slot, F_EVENT_IDX)) {
    // avail_event (§2.7.10): ask to be notified as soon as the driver makes anything beyond this available.
    const pEv = ringPtr(slot, load<u64>(vq + VQ_DEVICE) + 4 + (<u64>num << 3), true);
    if (pEv == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
    store<u16>(pEv, <u16>(last + 1));
  }
  return <i32>head;
}

/**
 * Returns chain `head` of queue q to the driver with `len` bytes written, and interrupts it unless suppressed
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX, §2.7.10). Returns 1 if an interrupt was raised,
 * 0 if not, -2 if the used ring is outside the domain (the device is then broken).
 */
export function vqPush(slot: u32, q: u32, head: u32, len: u32): i32 {
  const t = vtPtr(slot);
  if (q >= load<u32>(t + VT_NUM_QUEUES)) return VQ_BROKEN;
  const vq = vqPtr(slot, q);
  const num = load<u32>(vq + VQ_NUM);
  if (num == 0 || load<u32>(vq + VQ_READY) == 0) return 0; // reset meanwhile: nothing to complete
  const used = load<u64>(vq + VQ_DEVICE);
  const uidx = load<u32>(vq + VQ_USED_IDX);
  const pElem = ringPtr(slot, used + 4 + (<u64>(uidx & (num - 1)) << 3), true);
  const pIdx = ringPtr(slot, used + 2, true);
  if (pElem == 0 || pIdx == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
  store<u32>(pElem, head);
  store<u32>(pElem + 4, len);
  // The device has written the chain's buffers by now: log their pages dirty again. Translation marked them
  // already, but a dirty-log take between that mark and the data landing (live migration's rounds) would miss it.
  const c = chainPtr(slot);
  if (load<u32>(c + CHAIN_HEAD) == head) {
    const n = load<u32>(c + CHAIN_NSEG);
    for (let i: u32 = 0; i < n; i++) {
      const s = c + CHAIN_SEGS + (<usize>i << 4);
      if (load<u32>(s + 8) == 0 || load<u32>(s) == 0) continue;
      const first = <u64>load<u32>(s + 12) << 12;
      const last = first + (<u64>load<u32>(s) & 0xfff) + <u64>load<u32>(s + 4) - 1;
      for (let g = first; g <= last; g += 4096) markDirty(g);
    }
  }
  const nidx = (uidx + 1) & 0xffff;
  atomic.store<u16>(pIdx, <u16>nidx); // release: the element is visible before the index
  store<u32>(vq + VQ_USED_IDX, nidx);
  let notify = true;
  const avail = load<u64>(vq + VQ_DRIVER);
  if (driverHas(slot, F_EVENT_IDX)) {
    const pEv = ringPtr(slot, avail + 4 + (<u64>num << 1), false);
    if (pEv == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
    const ev = <u32>atomic.load<u16>(pEv);
    const old = load<u32>(vq + VQ_SIGNALLED);
    // vring_need_event: interrupt when used_event lies in [old, nidx).
    notify = ((nidx - ev - 1) & 0xffff) < ((nidx - old) & 0xffff);
    store<u32>(vq + VQ_SIGNALLED, nidx);
  } else {
    const pFl = ringPtr(slot, avail, false);
    if (pFl == 0) { virtioBroken(slot, VQ_ERR_RING_DMA); return VQ_BROKEN; }
    notify = (atomic.load<u16>(pFl) & AVAIL_F_NO_INTERRUPT) == 0;
  }
  if (!notify) return 0;
  store<u64>(t + VT_STAT_IRQS, load<u64>(t + VT_STAT_IRQS) + 1);
  virtioInterrupt(slot, ISR_USED);
  return 1;
}
