// The core's state as plain data (ARCHITECTURE.md §6): everything architectural about the VM except guest memory
// (which the host saves page by page), in a versioned, position-independent form, with a validating restore.
// Left out on purpose: caches (TLBs, decoded blocks, the IOTLB, code-page generations) and statistics, which a
// restore rebuilds or restarts; linear-memory offsets (frame allocator, G-stage and IOMMU table roots), which the
// restoring VM has its own of: its G-stage is rebuilt as the host writes the saved pages back, and IOMMU domains
// come from the device configuration.
//
// Layout (little-endian), STATE_VERSION 1:
//   header   u32 magic "WVST", u32 version, u32 harts, u32 bytes (whole state)
//            u64 RAM base, u64 RAM size, u64 ROM base, u64 ROM size
//   machine  u32 time mode, u32 insns per tick, u64 mtime, u64 idle insns, u64 tohost, u64 fromhost, u32 exit kind,
//            u32 exit code, u32 SBI on, u32 RTC latch, f64 RTC epoch, u64 × 8 CLINT mtimecmp, u32 × 8 CLINT msip,
//            u64 × 8 SBI stimecmp, UART (0x200 bytes: registers and receive FIFO), PLIC (0x2a4 bytes),
//            console ring (its undrained output), the virtio slots (VIRTIO_SLOTS × VIRTIO_STRIDE)
//   per hart the architectural ranges of its block: HART_RANGES
import * as L from "./layout";
import { hostNowTicks } from "./imports";
import { mtimeNow } from "./devices/clint";
import { setHart, H, T } from "./state";
import { tlbFlush, tlbSelect } from "./mmu";
import { blockFlush } from "./block";
import { VQ_MAX } from "./layout";

export const STATE_VERSION: u32 = 1;
const STATE_MAGIC: u32 = 0x5453_5657; // "WVST"

// Architectural ranges of a hart block: x0..x31 | f0..f31, pc, priv, wfi, instret, cycle, LR reservation, hartid,
// fcsr and the CSRs through H_MIP_EXT | PMP. (H_XSCRATCH, TLB bank pointers, statistics, the block arena and
// superpage list, the decode scratch are not state.)
const HART_RANGES: StaticArray<u32> = [0x000, 0x100, 0x108, 0x2f8, 0x400, 0x494];

// Errors of state_restore (negative): the host names them.
export const STATE_ERR_FORMAT: i32 = -1;   // magic, version or length wrong
export const STATE_ERR_MACHINE: i32 = -2;  // harts, RAM or ROM differ from this VM's
export const STATE_ERR_VALUE: i32 = -3;    // a field holds a value the machine cannot have

let cur: usize = 0;
@inline function put32(v: u32): void { store<u32>(cur, v); cur += 4; }
@inline function put64(v: u64): void { store<u64>(cur, v); cur += 8; }
@inline function putBytes(src: usize, n: usize): void { memory.copy(cur, src, n); cur += n; }
@inline function get32(): u32 { const v = load<u32>(cur); cur += 4; return v; }
@inline function get64(): u64 { const v = load<u64>(cur); cur += 8; return v; }
@inline function getBytes(dst: usize, n: usize): void { memory.copy(dst, cur, n); cur += n; }

const MACHINE_BYTES: usize = 16 + 32 + 64 + 64 + 32 + 64 + 0x200 + 0x2a4 + 0x1000 + <usize>L.VIRTIO_SLOTS * L.VIRTIO_STRIDE;
function hartBytes(): usize { let n: usize = 0; for (let i = 0; i < HART_RANGES.length; i += 2) n += unchecked(HART_RANGES[i + 1]) - unchecked(HART_RANGES[i]); return n; }

/** Bytes state_save writes for this VM. */
export function stateBytes(): u32 { return <u32>(MACHINE_BYTES + <usize>load<u32>(L.VM_NHARTS) * hartBytes()); }

/** Writes the state to STATE_BUF; returns its length. The harts must be stopped (the host's pause). */
export function stateSave(): u32 {
  const nh = load<u32>(L.VM_NHARTS);
  const mtime = mtimeNow();
  cur = L.STATE_BUF;
  put32(STATE_MAGIC); put32(STATE_VERSION); put32(nh); put32(stateBytes());
  put64(load<u64>(L.VM_RAM_BASE)); put64(load<u64>(L.VM_RAM_SIZE)); put64(load<u64>(L.VM_ROM_BASE)); put64(load<u64>(L.VM_ROM_SIZE));
  put32(load<u32>(L.VM_TIME_MODE)); put32(load<u32>(L.VM_INSNS_PER_TICK)); put64(mtime); put64(load<u64>(L.VM_IDLE_INSNS));
  put64(load<u64>(L.VM_TOHOST)); put64(load<u64>(L.VM_FROMHOST)); put32(load<u32>(L.VM_EXIT_KIND)); put32(load<u32>(L.VM_EXIT_CODE));
  put32(load<u32>(L.VM_SBI)); put32(load<u32>(L.VM_RTC_LATCH)); store<f64>(cur, load<f64>(L.VM_RTC_EPOCH_NS)); cur += 8;
  putBytes(L.VM_CLINT_MTIMECMP, 64); putBytes(L.VM_CLINT_MSIP, 32); putBytes(L.VM_SBI_STIMECMP, 64);
  putBytes(L.VM_UART, 0x200); putBytes(L.VM_PLIC, 0x2a4); putBytes(L.CONSOLE_BASE, 0x1000);
  putBytes(L.VIRTIO_BASE, <usize>L.VIRTIO_SLOTS * L.VIRTIO_STRIDE);
  for (let h: u32 = 0; h < nh; h++) {
    const hp = L.hartPtr(h);
    for (let i = 0; i < HART_RANGES.length; i += 2) putBytes(hp + unchecked(HART_RANGES[i]), unchecked(HART_RANGES[i + 1]) - unchecked(HART_RANGES[i]));
  }
  return <u32>(cur - L.STATE_BUF);
}

/**
 * Validates the state at STATE_BUF (len bytes) against this VM and only then applies it; TLBs and decoded blocks
 * are dropped and time continues from the saved mtime. Returns 0 or STATE_ERR_*; on error nothing was changed.
 */
export function stateRestore(len: u32): i32 {
  const nh = load<u32>(L.VM_NHARTS);
  cur = L.STATE_BUF;
  if (len < 16 || get32() != STATE_MAGIC || get32() != STATE_VERSION) return STATE_ERR_FORMAT;
  const sh = get32(), bytes = get32();
  if (bytes != len || sh != nh || len != stateBytes()) return sh != nh ? STATE_ERR_MACHINE : STATE_ERR_FORMAT;
  if (get64() != load<u64>(L.VM_RAM_BASE) || get64() != load<u64>(L.VM_RAM_SIZE)) return STATE_ERR_MACHINE;
  if (get64() != load<u64>(L.VM_ROM_BASE) || get64() != load<u64>(L.VM_ROM_SIZE)) return STATE_ERR_MACHINE;
  // Validate the values a hostile or damaged file could make harmful before changing anything.
  const timeMode = get32(), per = get32();
  if (timeMode > L.TIME_MODE_INSNS || per == 0) return STATE_ERR_VALUE;
  const hartsAt = L.STATE_BUF + MACHINE_BYTES;
  for (let h: u32 = 0; h < nh; h++) {
    const base = hartsAt + <usize>h * hartBytes();
    const priv = load<u32>(base + L.H_PRIV - 0x108 + 0x100); // after the 0x100 bytes of x registers
    if (priv != 0 && priv != 1 && priv != 3) return STATE_ERR_VALUE;
  }
  const vt = L.STATE_BUF + MACHINE_BYTES - <usize>L.VIRTIO_SLOTS * L.VIRTIO_STRIDE;
  for (let s: u32 = 0; s < L.VIRTIO_SLOTS; s++) {
    const t = vt + <usize>s * L.VIRTIO_STRIDE;
    if (load<u32>(t + L.VT_DEVICE_ID) != load<u32>(L.vtPtr(s) + L.VT_DEVICE_ID)) return STATE_ERR_MACHINE; // other devices
    if (load<u32>(t + L.VT_NUM_QUEUES) > VQ_MAX || load<u32>(t + L.VT_CONFIG_SIZE) > L.VIRTIO_CONFIG_MAX) return STATE_ERR_VALUE;
    for (let q: u32 = 0; q < VQ_MAX; q++) {
      const vq = t + L.VT_QUEUES + <usize>q * L.VQ_STRIDE;
      const n = load<u32>(vq + L.VQ_NUM), mx = load<u32>(vq + L.VQ_NUM_MAX);
      if (mx > 32768 || (load<u32>(vq + L.VQ_READY) != 0 && (n == 0 || n > mx || (n & (n - 1)) != 0))) return STATE_ERR_VALUE;
    }
  }
  // Apply.
  store<u32>(L.VM_TIME_MODE, timeMode);
  store<u32>(L.VM_INSNS_PER_TICK, per);
  const mtime = get64();
  store<u64>(L.VM_TIME_NOW, mtime);
  store<f64>(L.VM_TIME_OFFSET, hostNowTicks() - <f64>mtime); // host time continues from the saved mtime
  store<u64>(L.VM_IDLE_INSNS, get64());
  store<u64>(L.VM_TOHOST, get64()); store<u64>(L.VM_FROMHOST, get64());
  store<u32>(L.VM_EXIT_KIND, get32()); store<u32>(L.VM_EXIT_CODE, get32());
  store<u32>(L.VM_SBI, get32()); store<u32>(L.VM_RTC_LATCH, get32());
  store<f64>(L.VM_RTC_EPOCH_NS, load<f64>(cur)); cur += 8;
  getBytes(L.VM_CLINT_MTIMECMP, 64); getBytes(L.VM_CLINT_MSIP, 32); getBytes(L.VM_SBI_STIMECMP, 64);
  getBytes(L.VM_UART, 0x200); getBytes(L.VM_PLIC, 0x2a4); getBytes(L.CONSOLE_BASE, 0x1000);
  for (let s: u32 = 0; s < L.VIRTIO_SLOTS; s++) {
    // The serving thread is this process's choice, not the snapshot's.
    const sync = load<u32>(L.vtPtr(s) + L.VT_SYNC_IO);
    getBytes(L.vtPtr(s), L.VIRTIO_STRIDE);
    store<u32>(L.vtPtr(s) + L.VT_SYNC_IO, sync);
    store<u32>(L.vtPtr(s) + L.VT_NOTIFY, 0);
  }
  const saveH = H, saveT = T;
  for (let h: u32 = 0; h < nh; h++) {
    const hp = L.hartPtr(h);
    for (let i = 0; i < HART_RANGES.length; i += 2) getBytes(hp + unchecked(HART_RANGES[i]), unchecked(HART_RANGES[i + 1]) - unchecked(HART_RANGES[i]));
    setHart(hp, L.tlbPtr(h));
    tlbFlush();
    tlbSelect();
    blockFlush(L.bcPtr(h));
  }
  setHart(saveH, saveT);
  return 0;
}
