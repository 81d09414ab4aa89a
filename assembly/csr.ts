// Control and status registers: access checks, WARL legalization and side effects (privileged spec §2, §3.1, §4.1).
import { H, raise, requestBreak } from "./state";
import * as L from "./layout";
import * as R from "./riscv";
import { mtimeNow } from "./devices/clint";
import { tlbFlush, tlbSelect } from "./mmu";
import { pmpcfgRead, pmpcfgWrite, pmpaddrRead, pmpaddrWrite } from "./pmp";

// mip bits that software may write directly (MTIP/MSIP/MEIP come from the devices).
const MIP_WRITABLE: u64 = R.S_INTERRUPTS;
const MCOUNTEREN_MASK: u64 = 0x7; // CY, TM, IR; hpmcounters are not implemented (read-only zero)
const ENVCFG_FIOM: u64 = 1;

@inline function illegal(insn: u32): bool { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>insn); return false; }

/** Is the current privilege allowed to read counter `idx` (0 cycle, 1 time, 2 instret)? (§3.1.11, §4.1.4) */
function counterAllowed(idx: u32): bool {
  const prv = load<u32>(H + L.H_PRIV);
  if (prv == R.PRV_M) return true;
  if (((load<u64>(H + L.H_MCOUNTEREN) >> idx) & 1) == 0) return false;
  if (prv == R.PRV_U && ((load<u64>(H + L.H_SCOUNTEREN) >> idx) & 1) == 0) return false;
  return true;
}

@inline function fsOn(): bool { return (load<u64>(H + L.H_MSTATUS) & R.MSTATUS_FS) != 0; }

/** Marks the FP state dirty (mstatus.FS = 3, SD = 1). */
@inline export function setFsDirty(): void {
  store<u64>(H + L.H_MSTATUS, load<u64>(H + L.H_MSTATUS) | R.FS_DIRTY | R.MSTATUS_SD);
}

/** mstatus with SD computed from FS (§3.1.6.6; XS and VS are always Off here). */
@inline function readMstatus(): u64 {
  const ms = load<u64>(H + L.H_MSTATUS);
  return (ms & R.MSTATUS_FS) == R.FS_DIRTY ? ms | R.MSTATUS_SD : ms & ~R.MSTATUS_SD;
}

/**
 * Reads CSR `csr` into *ok-flag* semantics: returns the value, or raises illegal instruction (with `insn` as
 * tval) and returns 0 — check excPending(). `instret` is the retired count as of this instruction.
 */
export function csrRead(csr: u32, insn: u32): u64 {
  const h = H;
  const prv = load<u32>(h + L.H_PRIV);
  if (((csr >> 8) & 3) > prv) { illegal(insn); return 0; }
  switch (csr) {
    case R.CSR_FFLAGS: if (!fsOn()) break; return <u64>(load<u32>(h + L.H_FCSR) & R.FFLAGS_MASK);
    case R.CSR_FRM: if (!fsOn()) break; return <u64>(load<u32>(h + L.H_FCSR) >> R.FRM_SHIFT) & 7;
    case R.CSR_FCSR: if (!fsOn()) break; return <u64>(load<u32>(h + L.H_FCSR) & 0xff);
    case R.CSR_CYCLE: if (!counterAllowed(0)) break; return load<u64>(h + L.H_INSTRET) + load<u64>(h + L.H_CYCLE);
    case R.CSR_TIME: if (!counterAllowed(1)) break; return mtimeNow();
    case R.CSR_INSTRET: if (!counterAllowed(2)) break; return load<u64>(h + L.H_INSTRET);
    case R.CSR_SSTATUS: return readMstatus() & R.SSTATUS_MASK;
    case R.CSR_SIE: return load<u64>(h + L.H_MIE) & load<u64>(h + L.H_MIDELEG);
    case R.CSR_STVEC: return load<u64>(h + L.H_STVEC);
    case R.CSR_SCOUNTEREN: return load<u64>(h + L.H_SCOUNTEREN);
    case R.CSR_SENVCFG: return load<u64>(h + L.H_SENVCFG);
    case R.CSR_SSCRATCH: return load<u64>(h + L.H_SSCRATCH);
    case R.CSR_SEPC: return load<u64>(h + L.H_SEPC);
    case R.CSR_SCAUSE: return load<u64>(h + L.H_SCAUSE);
    case R.CSR_STVAL: return load<u64>(h + L.H_STVAL);
    case R.CSR_SIP: return L.mipOf(h) & load<u64>(h + L.H_MIDELEG);
    case R.CSR_SATP: {
      if (prv == R.PRV_S && (load<u64>(h + L.H_MSTATUS) & R.MSTATUS_TVM) != 0) break;
      return load<u64>(h + L.H_SATP);
    }
    case R.CSR_MSTATUS: return readMstatus();
    case R.CSR_MISA: return R.MISA_VALUE;
    case R.CSR_MEDELEG: return load<u64>(h + L.H_MEDELEG);
    case R.CSR_MIDELEG: return load<u64>(h + L.H_MIDELEG);
    case R.CSR_MIE: return load<u64>(h + L.H_MIE);
    case R.CSR_MTVEC: return load<u64>(h + L.H_MTVEC);
    case R.CSR_MCOUNTEREN: return load<u64>(h + L.H_MCOUNTEREN);
    case R.CSR_MENVCFG: return load<u64>(h + L.H_MENVCFG);
    case R.CSR_MCOUNTINHIBIT: return 0;
    case R.CSR_MSCRATCH: return load<u64>(h + L.H_MSCRATCH);
    case R.CSR_MEPC: return load<u64>(h + L.H_MEPC);
    case R.CSR_MCAUSE: return load<u64>(h + L.H_MCAUSE);
    case R.CSR_MTVAL: return load<u64>(h + L.H_MTVAL);
    case R.CSR_MIP: return L.mipOf(h);
    case R.CSR_MCYCLE: return load<u64>(h + L.H_INSTRET) + load<u64>(h + L.H_CYCLE);
    case R.CSR_MINSTRET: return load<u64>(h + L.H_INSTRET);
    case R.CSR_MVENDORID: return 0;
    case R.CSR_MARCHID: return 0;
    case R.CSR_MIMPID: return 0;
    case R.CSR_MHARTID: return <u64>load<u32>(h + L.H_HARTID);
    case R.CSR_MCONFIGPTR: return 0;
    case R.CSR_TSELECT: return 0;   // one trigger slot, of type 0 ("none"): Sdtrig present, no triggers
    case R.CSR_TDATA1: return 0;
    case R.CSR_TDATA1 + 1: return 0; // tdata2
    case R.CSR_TDATA1 + 2: return 0; // tdata3
    case R.CSR_PMPCFG0: return pmpcfgRead(0);
    case R.CSR_PMPCFG0 + 2: return pmpcfgRead(2);
    default: {
      if (csr >= R.CSR_PMPADDR0 && csr < R.CSR_PMPADDR0 + 16) return pmpaddrRead(csr - R.CSR_PMPADDR0);
      // hpmcounter3..31 (0xc03-0xc1f): gated by the counter-enable bits, which are hardwired to 0 for them.
      if (csr >= 0xc03 && csr <= 0xc1f) { if (prv == R.PRV_M) return 0; break; }
      // mhpmcounter3..31 and mhpmevent3..31: implemented as read-only zero (§3.1.10).
      if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) return 0;
      break;
    }
  }
  illegal(insn);
  return 0;
}

/** Writes CSR `csr` (the caller has read it successfully, so it exists and the privilege suffices). */
export function csrWrite(csr: u32, v: u64, insn: u32): void {
  const h = H;
  if ((csr >> 10) == 3) { illegal(insn); return; } // read-only CSR (§2.1)
  switch (csr) {
    case R.CSR_FFLAGS: setFcsr((load<u32>(h + L.H_FCSR) & ~R.FFLAGS_MASK) | (<u32>v & R.FFLAGS_MASK)); break;
    case R.CSR_FRM: setFcsr((load<u32>(h + L.H_FCSR) & R.FFLAGS_MASK) | ((<u32>v & 7) << R.FRM_SHIFT)); break;
    case R.CSR_FCSR: setFcsr(<u32>v & 0xff); break;
    case R.CSR_SSTATUS: writeMstatus((load<u64>(h + L.H_MSTATUS) & ~R.SSTATUS_WRITABLE) | (v & R.SSTATUS_WRITABLE)); break;
    case R.CSR_SIE: {
      const mask = load<u64>(h + L.H_MIDELEG);
      store<u64>(h + L.H_MIE, (load<u64>(h + L.H_MIE) & ~mask) | (v & mask));
      requestBreak();
      break;
    }
    case R.CSR_STVEC: store<u64>(h + L.H_STVEC, legalTvec(v)); break;
    case R.CSR_SCOUNTEREN: store<u64>(h + L.H_SCOUNTEREN, v & MCOUNTEREN_MASK); break;
    case R.CSR_SENVCFG: store<u64>(h + L.H_SENVCFG, v & ENVCFG_FIOM); break;
    case R.CSR_SSCRATCH: store<u64>(h + L.H_SSCRATCH, v); break;
    case R.CSR_SEPC: store<u64>(h + L.H_SEPC, v & ~<u64>1); break;
    case R.CSR_SCAUSE: store<u64>(h + L.H_SCAUSE, v); break;
    case R.CSR_STVAL: store<u64>(h + L.H_STVAL, v); break;
    case R.CSR_SIP: {
      // Only SSIP is writable through sip, and only when delegated (§4.1.3).
      const mask = load<u64>(h + L.H_MIDELEG) & R.MIP_SSIP;
      store<u64>(h + L.H_MIP, (load<u64>(h + L.H_MIP) & ~mask) | (v & mask));
      requestBreak();
      break;
    }
    case R.CSR_SATP: {
      // An unsupported MODE makes the whole write have no effect (§4.1.11).
      const mode = <u32>(v >> R.SATP_MODE_SHIFT);
      if (mode != R.SATP_MODE_BARE && mode != R.SATP_MODE_SV39 && mode != R.SATP_MODE_SV48) break;
      const val = (<u64>mode << R.SATP_MODE_SHIFT) | (v & (R.SATP_ASID_MASK << R.SATP_ASID_SHIFT)) | (v & R.SATP_PPN_MASK);
      store<u64>(h + L.H_SATP, val);
      tlbFlush();
      requestBreak();
      break;
    }
    case R.CSR_MSTATUS: writeMstatus(v); break;
    case R.CSR_MISA: break; // WARL: the extensions cannot be changed
    case R.CSR_MEDELEG: store<u64>(h + L.H_MEDELEG, v & R.MEDELEG_WRITABLE); break;
    case R.CSR_MIDELEG: store<u64>(h + L.H_MIDELEG, v & R.S_INTERRUPTS); requestBreak(); break;
    case R.CSR_MIE: store<u64>(h + L.H_MIE, v & R.ALL_INTERRUPTS); requestBreak(); break;
    case R.CSR_MTVEC: store<u64>(h + L.H_MTVEC, legalTvec(v)); break;
    case R.CSR_MCOUNTEREN: store<u64>(h + L.H_MCOUNTEREN, v & MCOUNTEREN_MASK); break;
    case R.CSR_MENVCFG: store<u64>(h + L.H_MENVCFG, v & ENVCFG_FIOM); break;
    case R.CSR_MCOUNTINHIBIT: break; // counters always count: bits hardwired to 0
    case R.CSR_MSCRATCH: store<u64>(h + L.H_MSCRATCH, v); break;
    case R.CSR_MEPC: store<u64>(h + L.H_MEPC, v & ~<u64>1); break;
    case R.CSR_MCAUSE: store<u64>(h + L.H_MCAUSE, v); break;
    case R.CSR_MTVAL: store<u64>(h + L.H_MTVAL, v); break;
    case R.CSR_MIP: {
      store<u64>(h + L.H_MIP, (load<u64>(h + L.H_MIP) & ~MIP_WRITABLE) | (v & MIP_WRITABLE));
      requestBreak();
      break;
    }
    // A CSR write to a counter replaces the increment of the writing instruction (Zicntr): the run loop adds 1
    // after this instruction retires, so store one less.
    case R.CSR_MCYCLE: store<u64>(h + L.H_CYCLE, v - 1 - load<u64>(h + L.H_INSTRET)); break;
    case R.CSR_MINSTRET: {
      const cyc = load<u64>(h + L.H_INSTRET) + load<u64>(h + L.H_CYCLE);
      store<u64>(h + L.H_INSTRET, v - 1);
      store<u64>(h + L.H_CYCLE, cyc - (v - 1)); // mcycle is unaffected
      requestBreak();
      break;
    }
    case R.CSR_TSELECT: case R.CSR_TDATA1: case R.CSR_TDATA1 + 1: case R.CSR_TDATA1 + 2: break; // WARL, no triggers
    case R.CSR_PMPCFG0: pmpcfgWrite(0, v); tlbFlush(); requestBreak(); break;
    case R.CSR_PMPCFG0 + 2: pmpcfgWrite(2, v); tlbFlush(); requestBreak(); break;
    default:
      if (csr >= R.CSR_PMPADDR0 && csr < R.CSR_PMPADDR0 + 16) { pmpaddrWrite(csr - R.CSR_PMPADDR0, v); tlbFlush(); requestBreak(); }
      break; // otherwise read-only-zero hpm counters/events
  }
}

function setFcsr(v: u32): void {
  store<u32>(H + L.H_FCSR, v);
  setFsDirty();
}

@inline function legalTvec(v: u64): u64 {
  // MODE 0 direct, 1 vectored; reserved modes are not stored (WARL, §3.1.7).
  return (v & 3) >= 2 ? v & ~<u64>3 : v;
}

function writeMstatus(v: u64): void {
  const h = H;
  const old = load<u64>(h + L.H_MSTATUS);
  let nv = (old & ~R.MSTATUS_WRITABLE) | (v & R.MSTATUS_WRITABLE);
  // MPP is WARL: 2 (reserved) keeps the old value.
  if (((nv & R.MSTATUS_MPP) >> R.MSTATUS_MPP_SHIFT) == 2) nv = (nv & ~R.MSTATUS_MPP) | (old & R.MSTATUS_MPP);
  nv = (nv & ~(R.MSTATUS_UXL | R.MSTATUS_SXL)) | R.MSTATUS_XL64;
  nv = (nv & R.MSTATUS_FS) == R.FS_DIRTY ? nv | R.MSTATUS_SD : nv & ~R.MSTATUS_SD;
  store<u64>(h + L.H_MSTATUS, nv);
  // MXR changes what cached load translations permit; SUM, MPRV and MPP only change which bank is used.
  if (((old ^ nv) & R.MSTATUS_MXR) != 0) tlbFlush();
  tlbSelect();
  requestBreak();
}
