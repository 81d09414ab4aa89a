// CLINT (SiFive core-local interruptor, as in QEMU virt): msip, mtimecmp and mtime per the ACLINT layout.
import { VM_CLINT_MSIP, VM_CLINT_MTIMECMP, VM_NHARTS, VM_TIME_MODE, VM_TIME_OFFSET, VM_TIME_NOW,
  TIME_MODE_INSNS, VM_INSNS_PER_TICK, VM_IDLE_INSNS, hartPtr, H_INSTRET, H_MIP, H_MIP_EXT, VM_SBI, VM_SBI_STIMECMP } from "../layout";
import { MIP_MSIP, MIP_MTIP, MIP_STIP } from "../riscv";
import { hostNowTicks } from "../imports";
import { requestBreak } from "../state";

export const CLINT_BASE: u64 = 0x0200_0000;
export const CLINT_SIZE: u64 = 0x1_0000;
const CLINT_MSIP: u64 = 0x0000;      // u32 per hart
const CLINT_MTIMECMP: u64 = 0x4000;  // u64 per hart
const CLINT_MTIME: u64 = 0xbff8;     // u64

/** Current mtime. Deterministic mode derives it from hart 0's retired instructions. */
export function mtimeNow(): u64 {
  let now: u64;
  if (load<u32>(VM_TIME_MODE) == TIME_MODE_INSNS) {
    const per = load<u32>(VM_INSNS_PER_TICK);
    now = (load<u64>(hartPtr(0) + H_INSTRET) + load<u64>(VM_IDLE_INSNS)) / <u64>(per == 0 ? 1 : per);
  } else {
    const t = hostNowTicks() - load<f64>(VM_TIME_OFFSET);
    now = t > 0 ? <u64>t : 0;
  }
  // mtime never goes backwards, even if the host clock source is changed.
  const last = load<u64>(VM_TIME_NOW);
  if (now < last) now = last;
  store<u64>(VM_TIME_NOW, now);
  return now;
}

/** Recompute MTIP and MSIP of every hart from the device state; returns true if anything is pending. */
export function clintUpdate(): void {
  const n = load<u32>(VM_NHARTS);
  const now = mtimeNow();
  for (let i: u32 = 0; i < n; i++) {
    const h = hartPtr(i);
    let mip = load<u64>(h + H_MIP) & ~(MIP_MTIP | MIP_MSIP);
    if (now >= load<u64>(VM_CLINT_MTIMECMP + (<usize>i << 3))) mip |= MIP_MTIP;
    if (load<u32>(VM_CLINT_MSIP + (<usize>i << 2)) & 1) mip |= MIP_MSIP;
    store<u64>(h + H_MIP, mip);
    // The built-in SBI's supervisor timer drives STIP directly (what firmware does by forwarding MTIP).
    if (load<u32>(VM_SBI) != 0) {
      let ext = load<u64>(h + H_MIP_EXT) & ~MIP_STIP;
      if (now >= load<u64>(VM_SBI_STIMECMP + (<usize>i << 3))) ext |= MIP_STIP;
      store<u64>(h + H_MIP_EXT, ext);
    }
  }
}

export function clintReset(): void {
  for (let i: u32 = 0; i < 8; i++) {
    store<u64>(VM_CLINT_MTIMECMP + (<usize>i << 3), 0xffff_ffff_ffff_ffff);
    store<u64>(VM_SBI_STIMECMP + (<usize>i << 3), 0xffff_ffff_ffff_ffff);
    store<u32>(VM_CLINT_MSIP + (<usize>i << 2), 0);
  }
}

/** Reads 4 or 8 bytes at an offset; other sizes read the containing bytes. */
export function clintRead(off: u64, size: u32): u64 {
  const n = <u64>load<u32>(VM_NHARTS);
  let v: u64 = 0;
  let base: u64 = 0;
  if (off < CLINT_MSIP + 4 * n) {
    base = off & ~3;
    v = <u64>load<u32>(VM_CLINT_MSIP + <usize>base);
  } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8 * n) {
    base = off & ~7;
    v = load<u64>(VM_CLINT_MTIMECMP + <usize>(base - CLINT_MTIMECMP));
  } else if (off >= CLINT_MTIME && off < CLINT_MTIME + 8) {
    base = CLINT_MTIME;
    v = mtimeNow();
  } else return 0;
  v = v >> ((off - base) << 3);
  return size == 8 ? v : v & ((<u64>1 << (<u64>size << 3)) - 1);
}

export function clintWrite(off: u64, size: u32, val: u64): void {
  const n = <u64>load<u32>(VM_NHARTS);
  if (off < CLINT_MSIP + 4 * n) {
    store<u32>(VM_CLINT_MSIP + <usize>(off & ~3), <u32>val & 1);
  } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8 * n) {
    const p = VM_CLINT_MTIMECMP + <usize>(off & ~7 - CLINT_MTIMECMP);
    const shift = (off & 7) << 3;
    const mask: u64 = size == 8 ? 0xffff_ffff_ffff_ffff : ((<u64>1 << (<u64>size << 3)) - 1);
    const old = load<u64>(p);
    store<u64>(p, (old & ~(mask << shift)) | ((val & mask) << shift));
  } else if (off >= CLINT_MTIME && off < CLINT_MTIME + 8) {
    // mtime writes: shift the time base so that mtime reads back the written value.
    if (size == 8 && load<u32>(VM_TIME_MODE) != TIME_MODE_INSNS) {
      store<f64>(VM_TIME_OFFSET, hostNowTicks() - <f64>val);
      store<u64>(VM_TIME_NOW, 0);
    }
  }
  clintUpdate();
  requestBreak();
}
