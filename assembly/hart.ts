// The hart's interpreter: fetch (with compressed expansion), decode and execute RV64IMAFDC, one instruction at a time.
// Registers live in the hart block (layout.ts) and are accessed with raw load/store at fixed offsets; the fast paths
// for memory are a software-TLB compare and an add; everything else goes to the slow paths in mmu.ts.
import * as L from "./layout";
import * as R from "./riscv";
import { H, EVENTS, EV_EXC, EXC_CAUSE, EXC_TVAL, raise, clearExc, requestBreak } from "./state";
import { expandCompressed } from "./rvc";
import { loadSlow, storeSlow, fetchPage, amoPtr, ACC_LOAD, ACC_STORE, tlbFlush, LAST_FILL_CACHED } from "./mmu";
import { takeTrap, mret, sret } from "./trap";
import { csrRead, csrWrite, setFsDirty } from "./csr";
import { mulh, mulhu, mulhsu, div, divu, rem, remu, divw, divuw, remw, remuw } from "./alu";
import { execFp, execFma } from "./fp";

@inline function X(h: usize, r: u32): u64 { return load<u64>(h + (<usize>r << 3)); }
/** Offset of rd in the hart block; x0 writes land in a scratch slot so x0 stays zero. */
@inline function RD(rd: u32): usize { return rd == 0 ? L.H_XSCRATCH : <usize>rd << 3; }

@inline function tlbPtr(tlb: usize, va: u64, size: u32): usize {
  const vpn = va >> 12;
  const e = tlb + ((<usize>(<u32>vpn & (L.TLB_ENTRIES - 1))) << 4);
  if (load<u64>(e) == vpn && (<u32>va & 0xfff) <= 4096 - size) return <usize>(va + load<u64>(e, 8));
  return 0;
}

/** Adds the instructions retired so far in this call to minstret (before anything that may read or write it). */
@inline function syncInstret(h: usize, pend: i32): void {
  store<u64>(h + L.H_INSTRET, load<u64>(h + L.H_INSTRET) + <u64>pend);
}

/**
 * Executes up to n instructions. Returns how many retired. Leaves early after a trap or when an instruction
 * changed state the loop caches (EVENTS). The hart's pc and minstret are up to date on return.
 */
export function execute(n: i32): i32 {
  const h = H;
  let pc = load<u64>(h + L.H_PC);
  const ftlb = <usize>load<u32>(h + L.H_TLB_FETCH);
  const ltlb = <usize>load<u32>(h + L.H_TLB_LOAD);
  const stlb = <usize>load<u32>(h + L.H_TLB_STORE);
  let fpage: u64 = L.TLB_INVALID;
  let fdelta: u64 = 0;
  let done: i32 = 0;
  let pend: i32 = 0;
  while (done < n) {
    // ---- fetch ----
    const vpn = pc >> 12;
    if (vpn != fpage) {
      const e = ftlb + ((<usize>(<u32>vpn & (L.TLB_ENTRIES - 1))) << 4);
      if (load<u64>(e) == vpn) {
        fdelta = load<u64>(e, 8);
        fpage = vpn;
      } else {
        syncInstret(h, pend); pend = 0;
        fdelta = fetchPage(pc);
        if (EVENTS & EV_EXC) break;
        fpage = LAST_FILL_CACHED ? vpn : L.TLB_INVALID;
      }
    }
    let insn: u32;
    let raw: u32;
    let npc: u64;
    if ((<u32>pc & 0xfff) <= 0xffc) {
      insn = load<u32>(<usize>(pc + fdelta));
    } else {
      // The last parcel of a page: a 32-bit instruction continues on the next page (which may fault: tval = pc+2).
      insn = <u32>load<u16>(<usize>(pc + fdelta));
      if ((insn & 3) == 3) {
        syncInstret(h, pend); pend = 0;
        const d2 = fetchPage(pc + 2);
        if (EVENTS & EV_EXC) break;
        insn |= <u32>load<u16>(<usize>(pc + 2 + d2)) << 16;
        fpage = L.TLB_INVALID;
      }
    }
    if ((insn & 3) != 3) {
      raw = insn & 0xffff;
      insn = expandCompressed(raw);
      npc = pc + 2;
      if (insn == 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
    } else {
      raw = insn;
      npc = pc + 4;
    }
    const rd = (insn >> 7) & 31;
    const rs1 = (insn >> 15) & 31;
    const rs2 = (insn >> 20) & 31;
    const f3 = (insn >> 12) & 7;

    // ---- execute ----
    switch ((insn >> 2) & 31) {
      case 0x0d: store<u64>(h + RD(rd), <u64><i64><i32>(insn & 0xffff_f000)); break;        // LUI
      case 0x05: store<u64>(h + RD(rd), pc + <u64><i64><i32>(insn & 0xffff_f000)); break;   // AUIPC
      case 0x1b: { // JAL
        const imm = ((<i32>(insn & 0x8000_0000)) >> 11) | <i32>(insn & 0xff000) | <i32>((insn >> 9) & 0x800) |
          <i32>((insn >> 20) & 0x7fe);
        store<u64>(h + RD(rd), npc);
        npc = pc + <u64><i64>imm;
        break;
      }
      case 0x19: { // JALR
        if (f3 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
        const t = (X(h, rs1) + <u64><i64>(<i32>insn >> 20)) & ~<u64>1;
        store<u64>(h + RD(rd), npc);
        npc = t;
        break;
      }
      case 0x18: { // BRANCH
        const a = X(h, rs1), b = X(h, rs2);
        let taken: bool;
        switch (f3) {
          case 0: taken = a == b; break;
          case 1: taken = a != b; break;
          case 4: taken = <i64>a < <i64>b; break;
          case 5: taken = <i64>a >= <i64>b; break;
          case 6: taken = a < b; break;
          case 7: taken = a >= b; break;
          default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); taken = false;
        }
        if (taken) {
          const imm = ((<i32>(insn & 0x8000_0000)) >> 19) | <i32>((insn << 4) & 0x800) | <i32>((insn >> 20) & 0x7e0) |
            <i32>((insn >> 7) & 0x1e);
          npc = pc + <u64><i64>imm;
        }
        break;
      }
      case 0x00: { // LOAD
        const va = X(h, rs1) + <u64><i64>(<i32>insn >> 20);
        let v: u64;
        switch (f3) {
          case 0: { const p = tlbPtr(ltlb, va, 1); v = p ? <u64><i64>load<i8>(p) : <u64><i64><i8>loadSlow(va, 1); break; }
          case 1: { const p = tlbPtr(ltlb, va, 2); v = p ? <u64><i64>load<i16>(p) : <u64><i64><i16>loadSlow(va, 2); break; }
          case 2: { const p = tlbPtr(ltlb, va, 4); v = p ? <u64><i64>load<i32>(p) : <u64><i64><i32>loadSlow(va, 4); break; }
          case 3: { const p = tlbPtr(ltlb, va, 8); v = p ? load<u64>(p) : loadSlow(va, 8); break; }
          case 4: { const p = tlbPtr(ltlb, va, 1); v = p ? <u64>load<u8>(p) : loadSlow(va, 1); break; }
          case 5: { const p = tlbPtr(ltlb, va, 2); v = p ? <u64>load<u16>(p) : loadSlow(va, 2); break; }
          case 6: { const p = tlbPtr(ltlb, va, 4); v = p ? <u64>load<u32>(p) : loadSlow(va, 4); break; }
          default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); v = 0;
        }
        if (EVENTS & EV_EXC) break;
        store<u64>(h + RD(rd), v);
        break;
      }
      case 0x08: { // STORE
        const va = X(h, rs1) + <u64><i64>(((<i32>insn >> 20) & ~31) | <i32>((insn >> 7) & 31));
        const v = X(h, rs2);
        if (f3 > 3) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
        const size: u32 = 1 << f3;
        const p = tlbPtr(stlb, va, size);
        if (p) {
          if (f3 == 0) store<u8>(p, <u8>v);
          else if (f3 == 1) store<u16>(p, <u16>v);
          else if (f3 == 2) store<u32>(p, <u32>v);
          else store<u64>(p, v);
        } else {
          syncInstret(h, pend); pend = 0;
          storeSlow(va, size, v);
        }
        break;
      }
      case 0x04: { // OP-IMM
        const a = X(h, rs1);
        const imm = <u64><i64>(<i32>insn >> 20);
        let v: u64;
        switch (f3) {
          case 0: v = a + imm; break;
          case 1: if ((insn >> 26) != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); v = 0; break; } v = a << (imm & 63); break;
          case 2: v = <i64>a < <i64>imm ? 1 : 0; break;
          case 3: v = a < imm ? 1 : 0; break;
          case 4: v = a ^ imm; break;
          case 5: {
            const f6 = insn >> 26;
            if (f6 == 0) v = a >> (imm & 63);
            else if (f6 == 0x10) v = <u64>(<i64>a >> <i64>(imm & 63));
            else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); v = 0; }
            break;
          }
          case 6: v = a | imm; break;
          default: v = a & imm; break;
        }
        store<u64>(h + RD(rd), v);
        break;
      }
      case 0x06: { // OP-IMM-32
        const a = <u32>X(h, rs1);
        const sh = rs2; // shamt[4:0]
        let v: i32 = 0;
        if (f3 == 0) v = <i32>a + (<i32>insn >> 20);
        else if (f3 == 1 && (insn >> 25) == 0) v = <i32>(a << sh);
        else if (f3 == 5 && (insn >> 25) == 0) v = <i32>(a >> sh);
        else if (f3 == 5 && (insn >> 25) == 0x20) v = <i32>a >> sh;
        else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
        store<u64>(h + RD(rd), <u64><i64>v);
        break;
      }
      case 0x0c: { // OP
        const a = X(h, rs1), b = X(h, rs2);
        const f7 = insn >> 25;
        let v: u64 = 0;
        if (f7 == 0) {
          switch (f3) {
            case 0: v = a + b; break;
            case 1: v = a << (b & 63); break;
            case 2: v = <i64>a < <i64>b ? 1 : 0; break;
            case 3: v = a < b ? 1 : 0; break;
            case 4: v = a ^ b; break;
            case 5: v = a >> (b & 63); break;
            case 6: v = a | b; break;
            default: v = a & b; break;
          }
        } else if (f7 == 0x20 && (f3 == 0 || f3 == 5)) {
          v = f3 == 0 ? a - b : <u64>(<i64>a >> <i64>(b & 63));
        } else if (f7 == 1) {
          switch (f3) {
            case 0: v = a * b; break;
            case 1: v = <u64>mulh(<i64>a, <i64>b); break;
            case 2: v = <u64>mulhsu(<i64>a, b); break;
            case 3: v = mulhu(a, b); break;
            case 4: v = <u64>div(<i64>a, <i64>b); break;
            case 5: v = divu(a, b); break;
            case 6: v = <u64>rem(<i64>a, <i64>b); break;
            default: v = remu(a, b); break;
          }
        } else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
        store<u64>(h + RD(rd), v);
        break;
      }
      case 0x0e: { // OP-32
        const a = <u32>X(h, rs1), b = <u32>X(h, rs2);
        const f7 = insn >> 25;
        let v: i32 = 0;
        if (f7 == 0 && f3 == 0) v = <i32>(a + b);
        else if (f7 == 0x20 && f3 == 0) v = <i32>(a - b);
        else if (f7 == 0 && f3 == 1) v = <i32>(a << (b & 31));
        else if (f7 == 0 && f3 == 5) v = <i32>(a >> (b & 31));
        else if (f7 == 0x20 && f3 == 5) v = <i32>a >> <i32>(b & 31);
        else if (f7 == 1) {
          switch (f3) {
            case 0: v = <i32>(a * b); break;
            case 4: v = divw(<i32>a, <i32>b); break;
            case 5: v = <i32>divuw(a, b); break;
            case 6: v = remw(<i32>a, <i32>b); break;
            case 7: v = <i32>remuw(a, b); break;
            default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); v = 0;
          }
          if (EVENTS & EV_EXC) break;
        } else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break; }
        store<u64>(h + RD(rd), <u64><i64>v);
        break;
      }
      case 0x03: { // MISC-MEM: fence, fence.i (no caches of decoded code to flush yet; single hart: in order)
        if (f3 > 1) raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw);
        break;
      }
      case 0x0b: { // AMO
        syncInstret(h, pend); pend = 0;
        amo(insn, rd, rs1, rs2, f3);
        break;
      }
      case 0x01: { // LOAD-FP
        if ((load<u64>(h + L.H_MSTATUS) & R.MSTATUS_FS) == 0 || (f3 != 2 && f3 != 3)) {
          raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break;
        }
        const va = X(h, rs1) + <u64><i64>(<i32>insn >> 20);
        let v: u64;
        if (f3 == 2) {
          const p = tlbPtr(ltlb, va, 4);
          v = 0xffff_ffff_0000_0000 | (p ? <u64>load<u32>(p) : loadSlow(va, 4)); // NaN-boxed (§12.2)
        } else {
          const p = tlbPtr(ltlb, va, 8);
          v = p ? load<u64>(p) : loadSlow(va, 8);
        }
        if (EVENTS & EV_EXC) break;
        store<u64>(h + L.H_F + (<usize>rd << 3), v);
        setFsDirty();
        break;
      }
      case 0x09: { // STORE-FP
        if ((load<u64>(h + L.H_MSTATUS) & R.MSTATUS_FS) == 0 || (f3 != 2 && f3 != 3)) {
          raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break;
        }
        const va = X(h, rs1) + <u64><i64>(((<i32>insn >> 20) & ~31) | <i32>((insn >> 7) & 31));
        const v = load<u64>(h + L.H_F + (<usize>rs2 << 3));
        const size: u32 = f3 == 2 ? 4 : 8;
        const p = tlbPtr(stlb, va, size);
        if (p) { if (size == 4) store<u32>(p, <u32>v); else store<u64>(p, v); }
        else { syncInstret(h, pend); pend = 0; storeSlow(va, size, size == 4 ? v & 0xffff_ffff : v); }
        break;
      }
      case 0x14: execFp(insn, raw); break;                       // OP-FP
      case 0x10: case 0x11: case 0x12: case 0x13: execFma(insn, raw); break; // FMADD/FMSUB/FNMSUB/FNMADD
      case 0x1c: { // SYSTEM
        syncInstret(h, pend); pend = 0;
        store<u64>(h + L.H_PC, pc);
        npc = system(insn, raw, npc);
        break;
      }
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); break;
    }
    if (EVENTS != 0) {
      if (EVENTS & EV_EXC) break;
      // Retired, but the loop's cached state may be stale: leave.
      pc = npc; done++; pend++;
      break;
    }
    pc = npc; done++; pend++;
  }
  syncInstret(h, pend);
  store<u64>(h + L.H_PC, pc);
  if (EVENTS & EV_EXC) {
    clearExc();
    takeTrap(EXC_CAUSE, EXC_TVAL);
  }
  return done;
}

/** A (§8): LR/SC with a reservation, and the AMOs. Misaligned → address-misaligned; MMIO → access fault. */
function amo(insn: u32, rd: u32, rs1: u32, rs2: u32, f3: u32): void {
  const h = H;
  const f5 = insn >> 27;
  if (f3 != 2 && f3 != 3) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>insn); return; }
  const size: u32 = f3 == 2 ? 4 : 8;
  const va = X(h, rs1);
  if ((va & <u64>(size - 1)) != 0) {
    raise(f5 == 0x02 ? R.CAUSE_MISALIGNED_LOAD : R.CAUSE_MISALIGNED_STORE, va);
    return;
  }
  if (f5 == 0x02) { // LR
    if (rs2 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>insn); return; }
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
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>insn); return;
    }
    store<i32>(p, nv);
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
      default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>insn); return;
    }
    store<u64>(p, nv);
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
      tlbFlush();
      requestBreak();
      return npc;
    }
    if (rs1 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return npc; }
    switch (f12) {
      case 0x000: raise(prv == R.PRV_U ? R.CAUSE_USER_ECALL : prv == R.PRV_S ? R.CAUSE_SUPERVISOR_ECALL : R.CAUSE_MACHINE_ECALL, 0); return npc;
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
        if ((load<u64>(h + L.H_MIP) & load<u64>(h + L.H_MIE)) == 0) store<u32>(h + L.H_WFI, 1);
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
    const nv = op == 1 ? src : op == 2 ? old | src : old & ~src;
    csrWrite(csr, nv, raw);
    if (EVENTS & EV_EXC) return npc;
  }
  store<u64>(h + RD(rd), old);
  return npc;
}
