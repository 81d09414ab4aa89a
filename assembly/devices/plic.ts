// PLIC (SiFive platform-level interrupt controller, as in QEMU virt at 0x0c00_0000; RISC-V PLIC spec v1.0.0).
// 95 sources, 7 priority levels, two contexts per hart (2h = M-mode, 2h+1 = S-mode). Level-triggered gateways:
// a source is pending while its line is high and it is not being serviced; claim clears pending and marks it in
// service until complete. Context outputs drive MEIP/SEIP in the harts' device-driven mip bits (H_MIP_EXT).
import { VM_PLIC, VM_NHARTS, H_MIP_EXT, hartPtr } from "../layout";
import { MIP_MEIP, MIP_SEIP } from "../riscv";
import { requestBreak } from "../state";

export const PLIC_BASE: u64 = 0x0c00_0000;
export const PLIC_SIZE: u64 = 0x60_0000;
export const PLIC_NDEV: u32 = 95;          // sources 1..95 (riscv,ndev)
const PLIC_PRIO_MASK: u32 = 7;
// Register map (PLIC spec §3)
const PRIORITY_BASE: u64 = 0x00_0000;      // + 4 * source
const PENDING_BASE: u64 = 0x00_1000;       // bit array
const ENABLE_BASE: u64 = 0x00_2000;        // + 0x80 * context
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT_BASE: u64 = 0x20_0000;       // + 0x1000 * context: +0 threshold, +4 claim/complete
const CONTEXT_STRIDE: u64 = 0x1000;

// State in the VM block (three 32-bit words cover sources 0..95)
const P_PRIORITY = VM_PLIC + 0x000;  // u32 × 96
const P_LEVEL = VM_PLIC + 0x180;     // u32 × 3: device line levels
const P_PENDING = VM_PLIC + 0x18c;   // u32 × 3
const P_CLAIMED = VM_PLIC + 0x198;   // u32 × 3: in service
const P_ENABLE = VM_PLIC + 0x1a4;    // u32 × 3 × 16 contexts
const P_THRESHOLD = VM_PLIC + 0x264; // u32 × 16 contexts
const MAX_CONTEXTS: u32 = 16;

@inline function word(base: usize, i: u32): usize { return base + (<usize>i << 2); }

export function plicReset(): void { memory.fill(VM_PLIC, 0, 0x2a4); }

/** The highest-priority pending, enabled source above the context's threshold, or 0. */
function best(ctx: u32): u32 {
  const thr = load<u32>(word(P_THRESHOLD, ctx));
  let id: u32 = 0, prio: u32 = 0;
  for (let w: u32 = 0; w < 3; w++) {
    let bits = load<u32>(word(P_PENDING, w)) & load<u32>(word(P_ENABLE, ctx * 3 + w));
    while (bits != 0) {
      const b = ctz(bits);
      bits &= bits - 1;
      const src = w * 32 + b;
      const p = load<u32>(word(P_PRIORITY, src));
      if (p > thr && p > prio) { prio = p; id = src; }
    }
  }
  return id;
}

/** Recomputes every context's output into the harts' MEIP/SEIP lines. */
export function plicUpdate(): void {
  const n = load<u32>(VM_NHARTS);
  for (let h: u32 = 0; h < n; h++) {
    const hp = hartPtr(h);
    let ext = load<u64>(hp + H_MIP_EXT) & ~(MIP_MEIP | MIP_SEIP);
    if (best(2 * h) != 0) ext |= MIP_MEIP;
    if (best(2 * h + 1) != 0) ext |= MIP_SEIP;
    if (ext != load<u64>(hp + H_MIP_EXT)) { store<u64>(hp + H_MIP_EXT, ext); requestBreak(); }
  }
}

/** A device drives source `src`'s line (level-triggered). */
export function plicSetLevel(src: u32, high: bool): void {
  if (src == 0 || src > PLIC_NDEV) return;
  const w = src >> 5, bit: u32 = 1 << (src & 31);
  const lv = load<u32>(word(P_LEVEL, w));
  const nlv = high ? lv | bit : lv & ~bit;
  if (nlv == lv) return;
  store<u32>(word(P_LEVEL, w), nlv);
  // Gateway: a raised line becomes pending unless the source is in service.
  if (high && (load<u32>(word(P_CLAIMED, w)) & bit) == 0) store<u32>(word(P_PENDING, w), load<u32>(word(P_PENDING, w)) | bit);
  if (!high) store<u32>(word(P_PENDING, w), load<u32>(word(P_PENDING, w)) & ~bit);
  plicUpdate();
}

function contexts(): u32 { const n = load<u32>(VM_NHARTS) * 2; return n < MAX_CONTEXTS ? n : MAX_CONTEXTS; }

export function plicRead(off: u64): u32 {
  if (off < PENDING_BASE) {
    const src = <u32>(off >> 2);
    return src >= 1 && src <= PLIC_NDEV ? load<u32>(word(P_PRIORITY, src)) : 0;
  }
  if (off < ENABLE_BASE) {
    const w = <u32>((off - PENDING_BASE) >> 2);
    return w < 3 ? load<u32>(word(P_PENDING, w)) : 0;
  }
  if (off < CONTEXT_BASE) {
    const ctx = <u32>((off - ENABLE_BASE) / ENABLE_STRIDE), w = <u32>(((off - ENABLE_BASE) % ENABLE_STRIDE) >> 2);
    return ctx < contexts() && w < 3 ? load<u32>(word(P_ENABLE, ctx * 3 + w)) : 0;
  }
  const ctx = <u32>((off - CONTEXT_BASE) / CONTEXT_STRIDE), reg = (off - CONTEXT_BASE) % CONTEXT_STRIDE;
  if (ctx >= contexts()) return 0;
  if (reg == 0) return load<u32>(word(P_THRESHOLD, ctx));
  if (reg == 4) { // claim
    const id = best(ctx);
    if (id != 0) {
      const w = id >> 5, bit: u32 = 1 << (id & 31);
      store<u32>(word(P_PENDING, w), load<u32>(word(P_PENDING, w)) & ~bit);
      store<u32>(word(P_CLAIMED, w), load<u32>(word(P_CLAIMED, w)) | bit);
      plicUpdate();
    }
    return id;
  }
  return 0;
}

export function plicWrite(off: u64, v: u32): void {
  if (off < PENDING_BASE) {
    const src = <u32>(off >> 2);
    if (src >= 1 && src <= PLIC_NDEV) store<u32>(word(P_PRIORITY, src), v & PLIC_PRIO_MASK);
  } else if (off < ENABLE_BASE) {
    return; // pending bits are read-only
  } else if (off < CONTEXT_BASE) {
    const ctx = <u32>((off - ENABLE_BASE) / ENABLE_STRIDE), w = <u32>(((off - ENABLE_BASE) % ENABLE_STRIDE) >> 2);
    if (ctx < contexts() && w < 3) store<u32>(word(P_ENABLE, ctx * 3 + w), w == 0 ? v & ~1 : v); // source 0 does not exist
  } else {
    const ctx = <u32>((off - CONTEXT_BASE) / CONTEXT_STRIDE), reg = (off - CONTEXT_BASE) % CONTEXT_STRIDE;
    if (ctx >= contexts()) return;
    if (reg == 0) store<u32>(word(P_THRESHOLD, ctx), v & PLIC_PRIO_MASK);
    else if (reg == 4) { // complete: ends service; a line still high is pending again
      if (v == 0 || v > PLIC_NDEV) return;
      const w = v >> 5, bit: u32 = 1 << (v & 31);
      if ((load<u32>(word(P_CLAIMED, w)) & bit) == 0) return;
      store<u32>(word(P_CLAIMED, w), load<u32>(word(P_CLAIMED, w)) & ~bit);
      if (load<u32>(word(P_LEVEL, w)) & bit) store<u32>(word(P_PENDING, w), load<u32>(word(P_PENDING, w)) | bit);
    }
  }
  plicUpdate();
}
