// Physical memory protection (privileged spec §3.7): 16 entries, granularity 4 bytes, TOR/NA4/NAPOT matching.
// Checked on every slow-path access and page-table read; the TLB only caches pages that one check covers whole.
import { H } from "./state";
import { H_PMPADDR, H_PMPCFG, H_PMP_ACTIVE, H_PRIV } from "./layout";
import { PRV_M } from "./riscv";

export const PMP_ENTRIES: u32 = 16;
const PMP_R: u32 = 0x01, PMP_W: u32 = 0x02, PMP_X: u32 = 0x04, PMP_A: u32 = 0x18, PMP_L: u32 = 0x80;
const A_OFF: u32 = 0, A_TOR: u32 = 1, A_NA4: u32 = 2, A_NAPOT: u32 = 3;
const PMPADDR_MASK: u64 = 0x003f_ffff_ffff_ffff; // bits 53:0 hold physical address bits 55:2

@inline function cfg(i: u32): u32 { return <u32>load<u8>(H + H_PMPCFG + <usize>i); }
@inline function addr(i: u32): u64 { return load<u64>(H + H_PMPADDR + (<usize>i << 3)); }

/** Access types as in mmu.ts: 0 fetch, 1 load, 2 store. */
export function pmpCheck(pa: u64, size: u64, acc: u32, prv: u32): bool {
  if (load<u32>(H + H_PMP_ACTIVE) == 0) return prv == PRV_M;
  const last = pa + size - 1;
  for (let i: u32 = 0; i < PMP_ENTRIES; i++) {
    const c = cfg(i);
    const a = (c & PMP_A) >> 3;
    if (a == A_OFF) continue;
    let lo: u64, hi: u64; // [lo, hi]
    if (a == A_TOR) {
      lo = i == 0 ? 0 : addr(i - 1) << 2;
      const top = addr(i) << 2;
      if (top <= lo) continue; // empty range matches nothing
      hi = top - 1;
    } else if (a == A_NA4) {
      lo = addr(i) << 2; hi = lo + 3;
    } else {
      const v = addr(i);
      const t = ctz(~v); // trailing ones: region of 2^(t+3) bytes
      const sz: u64 = t >= 54 ? 0 : (<u64>1 << (<u64>t + 3));
      lo = t >= 54 ? 0 : (v & ~((<u64>1 << <u64>t) - 1)) << 2;
      hi = sz == 0 ? 0xffff_ffff_ffff_ffff : lo + sz - 1;
    }
    if (last < lo || pa > hi) continue;
    // The lowest-numbered entry that matches any byte decides; it must cover all bytes (§3.7.1).
    if (pa < lo || last > hi) return false;
    if (prv == PRV_M && (c & PMP_L) == 0) return true;
    const need = acc == 0 ? PMP_X : acc == 1 ? PMP_R : PMP_W;
    return (c & need) != 0;
  }
  return prv == PRV_M; // no match: M succeeds, S/U fail since entries are implemented
}

/** Reads pmpcfg0 (n=0) or pmpcfg2 (n=2). */
export function pmpcfgRead(n: u32): u64 { return load<u64>(H + H_PMPCFG + <usize>(n << 2)); }

/** Writes pmpcfg0/2 with WARL rules: locked entries keep their value, R=0 W=1 is reserved (stored as 0). */
export function pmpcfgWrite(n: u32, v: u64): void {
  const base = n << 2;
  for (let j: u32 = 0; j < 8; j++) {
    const i = base + j;
    if (cfg(i) & PMP_L) continue;
    let c = <u32>(v >> (<u64>j << 3)) & 0x9f;
    if ((c & (PMP_R | PMP_W)) == PMP_W) c &= ~(PMP_R | PMP_W | PMP_X);
    store<u8>(H + H_PMPCFG + <usize>i, <u8>c);
  }
  recount();
}

export function pmpaddrRead(i: u32): u64 { return addr(i); }

export function pmpaddrWrite(i: u32, v: u64): void {
  if (cfg(i) & PMP_L) return;
  if (i + 1 < PMP_ENTRIES && (cfg(i + 1) & PMP_L) != 0 && ((cfg(i + 1) & PMP_A) >> 3) == A_TOR) return;
  store<u64>(H + H_PMPADDR + (<usize>i << 3), v & PMPADDR_MASK);
}

function recount(): void {
  let n: u32 = 0;
  for (let i: u32 = 0; i < PMP_ENTRIES; i++) if ((cfg(i) & PMP_A) != 0) n++;
  store<u32>(H + H_PMP_ACTIVE, n);
}

export { A_NA4, A_NAPOT };
