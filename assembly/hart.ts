// The hart's interpreter: fetch (with compressed expansion), decode and execute RV64IMAFDC, one instruction at a time.
// Registers live in the hart block (layout.ts) and are accessed with raw load/store at fixed offsets; the fast paths
// for memory are a software-TLB compare and an add; everything else goes to the slow paths in mmu.ts.
import * as L from "./layout";
import * as R from "./riscv";
import { H, EVENTS, EV_EXC, EXC_CAUSE, EXC_TVAL, raise, clearExc, requestBreak } from "./state";
import { loadSlow, storeSlow, fetchPage, amoPtr, ACC_LOAD, ACC_STORE, tlbFlush, tlbFlushPage, LAST_FILL_CACHED } from "./mmu";
import { takeTrap, mret, sret } from "./trap";
import { csrRead, csrWrite, setFsDirty } from "./csr";
import { mulh, mulhu, mulhsu, div, divu, rem, remu, divw, divuw, remw, remuw } from "./alu";
import { execFp, execFma } from "./fp";
import * as D from "./decode";
import { blockBuild, blockRevalidate, decodeOp } from "./block";
import { sbiCall, sbiEnabled } from "./sbi";

@inline function X(h: usize, r: u32): u64 { return load<u64>(h + (<usize>r << 3)); }
/** Offset of rd in the hart block; x0 writes land in a scratch slot so x0 stays zero. */
@inline function RD(rd: u32): usize { return rd == 0 ? L.H_XSCRATCH : <usize>rd << 3; }

@inline function tlbPtr(tlb: usize, va: u64, size: u32): usize {
  // The tag is the page's virtual address; masking keeps the low bits of a misaligned access, so misaligned
  // (possibly page-crossing) accesses miss and take the slow path, which performs them.
  const e = tlb + ((<usize>(<u32>(va >> 12) & (L.TLB_ENTRIES - 1))) << 4);
  if (load<u64>(e) == (va & ~(<u64>0xfff ^ <u64>(size - 1)))) return <usize>(va + load<u64>(e, 8));
  return 0;
}

/**
 * Executes up to n steps (instructions, plus one for a trap), a basic block at a time. Returns the steps taken. Leaves early after a trap or
 * when an instruction changed state the loop caches (EVENTS). The hart's pc and minstret are up to date on return.
 */
export function execute(n: i32): i32 {
  const h = H;
  let pc = load<u64>(h + L.H_PC);
  const ftlb = <usize>load<u32>(h + L.H_TLB_FETCH);
  const ltlb = <usize>load<u32>(h + L.H_TLB_LOAD);
  const stlb = <usize>load<u32>(h + L.H_TLB_STORE);
  const bc = L.bcPtr(load<u32>(h + L.H_HARTID));
  let ir0 = load<u64>(h + L.H_INSTRET); // minstret = ir0 + instructions retired in this call
  let fpage: u64 = L.TLB_INVALID;
  let fdelta: u64 = 0;
  let done: i32 = 0;
  let exc = false;
  let accesses: u32 = 0; // data accesses in this call (TLB statistics)
  while (done < n) {
    // ---- find the block at pc: translate its page once, then look it up ----
    const vpn = pc >> 12;
    if (vpn != fpage) {
      const te = ftlb + ((<usize>(<u32>vpn & (L.TLB_ENTRIES - 1))) << 4);
      if (load<u64>(te) == (pc & ~<u64>0xfff)) {
        fdelta = load<u64>(te, 8);
        fpage = vpn;
      } else {
        store<u64>(h + L.H_INSTRET, ir0 + <u64>done);
        fdelta = fetchPage(pc);
        if (EVENTS & EV_EXC) { exc = true; break; }
        fpage = LAST_FILL_CACHED ? vpn : L.TLB_INVALID;
      }
    }
    const ptr = <u32>(pc + fdelta);
    const pageOff = <u32>pc & 0xfff;
    let ops: usize;
    let count: i32;
    let bytes: u64;
    if (pageOff <= 0xffc || (load<u16>(ptr) & 3) != 3) {
      const me = bc + ((<usize>(ptr >> 1) & (L.BLOCK_MAP_ENTRIES - 1)) << 4);
      if (load<u32>(me) != ptr || (load<u32>(me, 12) != load<u32>(L.codeGenPtr(<usize>ptr)) && !blockRevalidate(me, ptr))) {
        blockBuild(bc, me, ptr, pageOff);
      }
      ops = <usize>load<u32>(me, 4);
      count = <i32>load<u16>(me, 8);
      bytes = <u64>load<u16>(me, 10);
    } else {
      // A 32-bit instruction straddling two pages: a one-op block (the second page may fault: tval = pc+2).
      store<u64>(h + L.H_INSTRET, ir0 + <u64>done);
      const d2 = fetchPage(pc + 2);
      if (EVENTS & EV_EXC) { exc = true; break; }
      const w = <u32>load<u16>(ptr) | (<u32>load<u16>(<usize>(pc + 2 + d2)) << 16);
      fpage = L.TLB_INVALID;
      ops = h + L.H_BLOCK_SCRATCH;
      store<u16>(ops, 0);
      decodeOp(w, 4, ops);
      count = 1;
      bytes = 4;
    }

    // ---- run the block's ops ----
    const limit = n - done < count ? n - done : count;
    let npc = pc + bytes; // fall-through after the last op; control transfers overwrite it
    let k: i32 = 0;
    let ev = false;     // stop after op k: EVENTS set by the op, or a taken branch
    let jumped = false; // a conditional branch inside the block was taken: continue at npc
    while (k < limit) {
      const o = ops + (<usize>k << 5);
      const rdo = <usize>load<u16>(o, 18);
      const a = load<u64>(h + <usize>load<u16>(o, 20));
      const imm = load<u64>(o, 8);
      switch (load<u16>(o, 16)) {
        case D.OP_ILLEGAL: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>load<u32>(o, 28)); ev = true; break;
        case D.OP_LUI: store<u64>(h + rdo, imm); break;
        case D.OP_AUIPC: store<u64>(h + rdo, pc + <u64>load<u16>(o) + imm); break;
        case D.OP_JAL: { const ipc = pc + <u64>load<u16>(o); store<u64>(h + rdo, npc); npc = ipc + imm; break; }
        case D.OP_JALR: { const t = (a + imm) & ~<u64>1; store<u64>(h + rdo, npc); npc = t; break; }
        case D.OP_BEQ: if (a == B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_BNE: if (a != B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_BLT: if (<i64>a < <i64>B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_BGE: if (<i64>a >= <i64>B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_BLTU: if (a < B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_BGEU: if (a >= B(h, o)) { npc = pc + <u64>load<u16>(o) + imm; jumped = true; ev = true; } break;
        case D.OP_LB: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 1); if (p) store<u64>(h + rdo, <u64><i64>load<i8>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = <u64><i64><i8>loadSlow(va, 1); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LH: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 2); if (p) store<u64>(h + rdo, <u64><i64>load<i16>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = <u64><i64><i16>loadSlow(va, 2); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LW: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 4); if (p) store<u64>(h + rdo, <u64><i64>load<i32>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = <u64><i64><i32>loadSlow(va, 4); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LD: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 8); if (p) store<u64>(h + rdo, load<u64>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = loadSlow(va, 8); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LBU: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 1); if (p) store<u64>(h + rdo, <u64>load<u8>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = loadSlow(va, 1); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LHU: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 2); if (p) store<u64>(h + rdo, <u64>load<u16>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = loadSlow(va, 2); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_LWU: { accesses++; const va = a + imm; const p = tlbPtr(ltlb, va, 4); if (p) store<u64>(h + rdo, <u64>load<u32>(p)); else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); const v = loadSlow(va, 4); if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; } store<u64>(h + rdo, v); } break; }
        case D.OP_SB: { accesses++; const va = a + imm; const p = tlbPtr(stlb, va, 1); if (p) { store<u8>(p, <u8>B(h, o)); L.codeWritten(p); } else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); storeSlow(va, 1, B(h, o)); if (EVENTS) ev = true; } break; }
        case D.OP_SH: { accesses++; const va = a + imm; const p = tlbPtr(stlb, va, 2); if (p) { store<u16>(p, <u16>B(h, o)); L.codeWritten(p); } else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); storeSlow(va, 2, B(h, o)); if (EVENTS) ev = true; } break; }
        case D.OP_SW: { accesses++; const va = a + imm; const p = tlbPtr(stlb, va, 4); if (p) { store<u32>(p, <u32>B(h, o)); L.codeWritten(p); } else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); storeSlow(va, 4, B(h, o)); if (EVENTS) ev = true; } break; }
        case D.OP_SD: { accesses++; const va = a + imm; const p = tlbPtr(stlb, va, 8); if (p) { store<u64>(p, B(h, o)); L.codeWritten(p); } else { store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k)); storeSlow(va, 8, B(h, o)); if (EVENTS) ev = true; } break; }
        case D.OP_ADDI: store<u64>(h + rdo, a + imm); break;
        case D.OP_SLTI: store<u64>(h + rdo, <i64>a < <i64>imm ? 1 : 0); break;
        case D.OP_SLTIU: store<u64>(h + rdo, a < imm ? 1 : 0); break;
        case D.OP_XORI: store<u64>(h + rdo, a ^ imm); break;
        case D.OP_ORI: store<u64>(h + rdo, a | imm); break;
        case D.OP_ANDI: store<u64>(h + rdo, a & imm); break;
        case D.OP_SLLI: store<u64>(h + rdo, a << imm); break;
        case D.OP_SRLI: store<u64>(h + rdo, a >> imm); break;
        case D.OP_SRAI: store<u64>(h + rdo, <u64>(<i64>a >> <i64>imm)); break;
        case D.OP_ADDIW: store<u64>(h + rdo, <u64><i64>(<i32>a + <i32>imm)); break;
        case D.OP_SLLIW: store<u64>(h + rdo, <u64><i64>(<i32>(<u32>a << <u32>imm))); break;
        case D.OP_SRLIW: store<u64>(h + rdo, <u64><i64>(<i32>(<u32>a >> <u32>imm))); break;
        case D.OP_SRAIW: store<u64>(h + rdo, <u64><i64>(<i32>a >> <i32>imm)); break;
        case D.OP_ADD: store<u64>(h + rdo, a + B(h, o)); break;
        case D.OP_SUB: store<u64>(h + rdo, a - B(h, o)); break;
        case D.OP_SLL: store<u64>(h + rdo, a << (B(h, o) & 63)); break;
        case D.OP_SLT: store<u64>(h + rdo, <i64>a < <i64>B(h, o) ? 1 : 0); break;
        case D.OP_SLTU: store<u64>(h + rdo, a < B(h, o) ? 1 : 0); break;
        case D.OP_XOR: store<u64>(h + rdo, a ^ B(h, o)); break;
        case D.OP_SRL: store<u64>(h + rdo, a >> (B(h, o) & 63)); break;
        case D.OP_SRA: store<u64>(h + rdo, <u64>(<i64>a >> <i64>(B(h, o) & 63))); break;
        case D.OP_OR: store<u64>(h + rdo, a | B(h, o)); break;
        case D.OP_AND: store<u64>(h + rdo, a & B(h, o)); break;
        case D.OP_ADDW: store<u64>(h + rdo, <u64><i64>(<i32>a + <i32>B(h, o))); break;
        case D.OP_SUBW: store<u64>(h + rdo, <u64><i64>(<i32>a - <i32>B(h, o))); break;
        case D.OP_SLLW: store<u64>(h + rdo, <u64><i64>(<i32>(<u32>a << (<u32>B(h, o) & 31)))); break;
        case D.OP_SRLW: store<u64>(h + rdo, <u64><i64>(<i32>(<u32>a >> (<u32>B(h, o) & 31)))); break;
        case D.OP_SRAW: store<u64>(h + rdo, <u64><i64>(<i32>a >> (<i32>B(h, o) & 31))); break;
        case D.OP_MUL: store<u64>(h + rdo, a * B(h, o)); break;
        case D.OP_MULH: store<u64>(h + rdo, <u64>mulh(<i64>a, <i64>B(h, o))); break;
        case D.OP_MULHSU: store<u64>(h + rdo, <u64>mulhsu(<i64>a, B(h, o))); break;
        case D.OP_MULHU: store<u64>(h + rdo, mulhu(a, B(h, o))); break;
        case D.OP_DIV: store<u64>(h + rdo, <u64>div(<i64>a, <i64>B(h, o))); break;
        case D.OP_DIVU: store<u64>(h + rdo, divu(a, B(h, o))); break;
        case D.OP_REM: store<u64>(h + rdo, <u64>rem(<i64>a, <i64>B(h, o))); break;
        case D.OP_REMU: store<u64>(h + rdo, remu(a, B(h, o))); break;
        case D.OP_MULW: store<u64>(h + rdo, <u64><i64>(<i32>a * <i32>B(h, o))); break;
        case D.OP_DIVW: store<u64>(h + rdo, <u64><i64>divw(<i32>a, <i32>B(h, o))); break;
        case D.OP_DIVUW: store<u64>(h + rdo, <u64><i64><i32>divuw(<u32>a, <u32>B(h, o))); break;
        case D.OP_REMW: store<u64>(h + rdo, <u64><i64>remw(<i32>a, <i32>B(h, o))); break;
        case D.OP_REMUW: store<u64>(h + rdo, <u64><i64><i32>remuw(<u32>a, <u32>B(h, o))); break;
        // Single hart, in order; fence.i ends the block, so the next one is revalidated. A wasm fence orders this
        // hart's ring updates against the devices' I/O threads (virtio drivers fence between buffer and index).
        case D.OP_FENCE: atomic.add<u32>(H + L.H_FENCE_WORD, 0); break; // seq-cst RMW = full fence (binaryen rejects a bare fence)
        case D.OP_FLW: case D.OP_FLD: {
          accesses++;
          if ((load<u64>(h + L.H_MSTATUS) & R.MSTATUS_FS) == 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>load<u32>(o, 28)); ev = true; break; }
          const va = a + imm;
          let v: u64;
          store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k));
          if (load<u16>(o, 16) == D.OP_FLW) {
            const p = tlbPtr(ltlb, va, 4);
            v = 0xffff_ffff_0000_0000 | (p ? <u64>load<u32>(p) : loadSlow(va, 4)); // NaN-boxed (§12.2)
          } else {
            const p = tlbPtr(ltlb, va, 8);
            v = p ? load<u64>(p) : loadSlow(va, 8);
          }
          if (EVENTS) { ev = true; if (EVENTS & EV_EXC) break; }
          store<u64>(h + L.H_F + rdo, v);
          setFsDirty();
          break;
        }
        case D.OP_FSW: case D.OP_FSD: {
          accesses++;
          if ((load<u64>(h + L.H_MSTATUS) & R.MSTATUS_FS) == 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>load<u32>(o, 28)); ev = true; break; }
          const va = a + imm;
          const v = load<u64>(h + L.H_F + <usize>load<u16>(o, 22));
          const size: u32 = load<u16>(o, 16) == D.OP_FSW ? 4 : 8;
          const p = tlbPtr(stlb, va, size);
          if (p) { if (size == 4) store<u32>(p, <u32>v); else store<u64>(p, v); L.codeWritten(p); }
          else {
            store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k));
            storeSlow(va, size, size == 4 ? v & 0xffff_ffff : v);
            if (EVENTS) ev = true;
          }
          break;
        }
        case D.OP_AMO: {
          accesses++;
          store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k));
          amo(load<u32>(o, 24), load<u32>(o, 28));
          if (EVENTS) ev = true;
          break;
        }
        case D.OP_SYSTEM: { // always the last op of its block
          store<u64>(h + L.H_INSTRET, ir0 + <u64>(done + k));
          store<u64>(h + L.H_PC, pc + <u64>load<u16>(o));
          npc = system(load<u32>(o, 24), load<u32>(o, 28), npc);
          ir0 = load<u64>(h + L.H_INSTRET) - <u64>(done + k); // a CSR write may have replaced minstret
          if (EVENTS) ev = true;
          break;
        }
        case D.OP_FP: execFp(load<u32>(o, 24), load<u32>(o, 28)); if (EVENTS) ev = true; break;
        case D.OP_FMA: execFma(load<u32>(o, 24), load<u32>(o, 28)); if (EVENTS) ev = true; break;
        case D.OP_MV: store<u64>(h + rdo, B(h, o)); break;
        case D.OP_LI: store<u64>(h + rdo, imm); break;
        default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>load<u32>(o, 28)); ev = true; break;
      }
      if (ev) break;
      k++;
    }
    if (ev) {
      if ((EVENTS & EV_EXC) != 0) {
        // Op k trapped: it did not retire.
        pc += <u64>load<u16>(ops + (<usize>k << 5));
        done += k;
        exc = true;
        break;
      }
      k++; // op k retired (a taken branch, or an op that needs the loop to stop)
    }
    done += k;
    pc = k == count || jumped ? npc : pc + <u64>load<u16>(ops + (<usize>k << 5));
    if (EVENTS != 0) break;
  }
  store<u64>(h + L.H_INSTRET, ir0 + <u64>done);
  store<u64>(h + L.H_PC, pc);
  store<u64>(h + L.H_STAT_MEM_ACCESSES, load<u64>(h + L.H_STAT_MEM_ACCESSES) + <u64>accesses);
  if (exc) {
    clearExc();
    // Lazy restore: the fault was a page still in the snapshot. No trap: the host fills the page and the
    // instruction (which did not retire) runs again.
    if (load<u64>(L.VM_LAZY_MISS) != 0) return done;
    takeTrap(EXC_CAUSE, EXC_TVAL);
    // A trap retires nothing but is a step: counting it against the budget guarantees progress even when a
    // hostile guest's trap vector itself faults forever.
    return done + 1;
  }
  return done;
}

/** rs2's value for op o. */
@inline function B(h: usize, o: usize): u64 { return load<u64>(h + <usize>load<u16>(o, 22)); }

/** A (§8): LR/SC with a reservation, and the AMOs. Misaligned → address-misaligned; MMIO → access fault. */
function amo(insn: u32, raw: u32): void {
  const h = H;
  const rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, f3 = (insn >> 12) & 7;
  const f5 = insn >> 27;
  if (f3 != 2 && f3 != 3) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
  const size: u32 = f3 == 2 ? 4 : 8;
  const va = X(h, rs1);
  if ((va & <u64>(size - 1)) != 0) {
    raise(f5 == 0x02 ? R.CAUSE_MISALIGNED_LOAD : R.CAUSE_MISALIGNED_STORE, va);
    return;
  }
  if (f5 == 0x02) { // LR
    if (rs2 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
    const p = amoPtr(va, size, ACC_LOAD);
    if (p == 0) return;
    const v = size == 4 ? <u64><i64>load<i32>(p) : load<u64>(p);
    store<u64>(h + L.H_RES_ADDR, va);
    store<u32>(h + L.H_RES_VALID, 1);
    store<u64>(h + RD(rd), v);
    return;
  }
  if (f5 == 0x03) { // SC
    const p = amoPtr(va, size, ACC_STORE);
    if (p == 0) return;
    const ok = load<u32>(h + L.H_RES_VALID) != 0 && load<u64>(h + L.H_RES_ADDR) == va;
    store<u32>(h + L.H_RES_VALID, 0);
    if (ok) {
      if (size == 4) store<u32>(p, <u32>X(h, rs2)); else store<u64>(p, X(h, rs2));
      L.codeWritten(p);
    }
    store<u64>(h + RD(rd), ok ? 0 : 1);
    return;
  }
  const p = amoPtr(va, size, ACC_STORE);
  if (p == 0) return;
  const b = X(h, rs2);
  if (size == 4) {
    const old = load<i32>(p);
    const bv = <i32>b;
    let nv: i32;
    switch (f5) {
      case 0x01: nv = bv; break;                                   // AMOSWAP
      case 0x00: nv = old + bv; break;                             // AMOADD
      case 0x04: nv = old ^ bv; break;                             // AMOXOR
      case 0x0c: nv = old & bv; break;                             // AMOAND
      case 0x08: nv = old | bv; break;                             // AMOOR
      case 0x10: nv = old < bv ? old : bv; break;                  // AMOMIN
      case 0x14: nv = old > bv ? old : bv; break;                  // AMOMAX
      case 0x18: nv = <u32>old < <u32>bv ? old : bv; break;        // AMOMINU
      case 0x1c: nv = <u32>old > <u32>bv ? old : bv; break;        // AMOMAXU
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return;
    }
    store<i32>(p, nv);
    L.codeWritten(p);
    store<u64>(h + RD(rd), <u64><i64>old);
  } else {
    const old = load<u64>(p);
    let nv: u64;
    switch (f5) {
      case 0x01: nv = b; break;
      case 0x00: nv = old + b; break;
      case 0x04: nv = old ^ b; break;
      case 0x0c: nv = old & b; break;
      case 0x08: nv = old | b; break;
      case 0x10: nv = <i64>old < <i64>b ? old : b; break;
      case 0x14: nv = <i64>old > <i64>b ? old : b; break;
      case 0x18: nv = old < b ? old : b; break;
      case 0x1c: nv = old > b ? old : b; break;
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return;
    }
    store<u64>(p, nv);
    L.codeWritten(p);
    store<u64>(h + RD(rd), old);
  }
}

/** SYSTEM (§2.8, privileged §3.3): ecall, ebreak, xRET, wfi, sfence.vma and the Zicsr instructions. Returns npc. */
function system(insn: u32, raw: u32, npc: u64): u64 {
  const h = H;
  const f3 = (insn >> 12) & 7;
  const rd = (insn >> 7) & 31;
  const rs1 = (insn >> 15) & 31;
  const prv = load<u32>(h + L.H_PRIV);
  if (f3 == 0) {
    const f12 = insn >> 20;
    if (rd != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
    if ((insn >> 25) == 0x09) { // SFENCE.VMA
      if (prv == R.PRV_U || (prv == R.PRV_S && (load<u64>(h + L.H_MSTATUS) & R.MSTATUS_TVM) != 0)) {
        raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc;
      }
      // rs1 = x0: all addresses; rs2 = x0: all address spaces (§4.2.1). The TLB holds only the current ASID's
      // translations (a satp write flushes it), so a fence for another ASID has nothing to drop.
      const rs2 = (insn >> 20) & 31;
      const asid = rs2 == 0 ? 0 : X(h, rs2) & R.SATP_ASID_MASK;
      const cur = (load<u64>(h + L.H_SATP) >> R.SATP_ASID_SHIFT) & R.SATP_ASID_MASK;
      if (rs2 == 0 || asid == cur) {
        if (rs1 == 0) tlbFlush(); else tlbFlushPage(X(h, rs1));
      }
      requestBreak();
      return npc;
    }
    if (rs1 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
    switch (f12) {
      case 0x000: // ECALL: from S with the built-in SBI, served here like a hypervisor call; otherwise a trap
        if (prv == R.PRV_S && sbiEnabled()) { sbiCall(); requestBreak(); return npc; }
        raise(prv == R.PRV_U ? R.CAUSE_USER_ECALL : prv == R.PRV_S ? R.CAUSE_SUPERVISOR_ECALL : R.CAUSE_MACHINE_ECALL, 0); return npc;
      case 0x001: raise(R.CAUSE_BREAKPOINT, load<u64>(h + L.H_PC)); return npc;
      case 0x302: // MRET
        if (prv != R.PRV_M) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
        return mret();
      case 0x102: // SRET
        if (prv == R.PRV_U || (prv == R.PRV_S && (load<u64>(h + L.H_MSTATUS) & R.MSTATUS_TSR) != 0)) {
          raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc;
        }
        return sret();
      case 0x105: { // WFI: illegal in U, and in S when TW=1 (§3.1.6.5)
        if (prv == R.PRV_U || (prv == R.PRV_S && (load<u64>(h + L.H_MSTATUS) & R.MSTATUS_TW) != 0)) {
          raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc;
        }
        if ((L.mipOf(h) & load<u64>(h + L.H_MIE)) == 0) store<u32>(h + L.H_WFI, 1);
        requestBreak();
        return npc;
      }
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc;
    }
  }
  if (f3 == 4) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
  // Zicsr: csrrw/s/c and the immediate forms. rs1 = x0 (or uimm = 0) for S/C means "no write".
  const csr = insn >> 20;
  const src: u64 = (f3 & 4) != 0 ? <u64>rs1 : X(h, rs1);
  const op = f3 & 3;
  const writes = op == 1 || rs1 != 0;
  if (writes && (csr >> 10) == 3) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
  const old = csrRead(csr, raw);
  if (EVENTS & EV_EXC) return npc;
  if (writes) {
    // mip's SEIP reads as the OR of the software bit and the PLIC's line, but only the software bit takes part in
    // a read-modify-write (§3.1.9): otherwise csrs mip, STIP would latch a passing external interrupt for good.
    const base = csr == R.CSR_MIP ? load<u64>(h + L.H_MIP) : old;
    const nv = op == 1 ? src : op == 2 ? base | src : base & ~src;
    csrWrite(csr, nv, raw);
    if (EVENTS & EV_EXC) return npc;
  }
  store<u64>(h + RD(rd), old);
  return npc;
}
