// Trap entry and return: exceptions and interrupts with medeleg/mideleg delegation, xRET (privileged spec §3.1.6-3.3, §4.1).
import { H, requestBreak, requestStop } from "./state";
import { VM_SBI, VM_FAULT_ADDR, VM_FAULT_CAUSE } from "./layout";
import { STOP_FATAL } from "./stop";
import { mipOf, H_PC, H_PRIV, H_MSTATUS, H_MEDELEG, H_MIDELEG, H_MIE, H_MTVEC, H_MEPC, H_MCAUSE, H_MTVAL,
  H_STVEC, H_SEPC, H_SCAUSE, H_STVAL, H_STAT_TRAPS, H_RES_VALID } from "./layout";
import { PRV_M, PRV_S, PRV_U, CAUSE_INTERRUPT, MSTATUS_SIE, MSTATUS_MIE, MSTATUS_SPIE, MSTATUS_MPIE, MSTATUS_SPP,
  MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_MPRV, IRQ_M_EXT, IRQ_M_SOFT, IRQ_M_TIMER, IRQ_S_EXT, IRQ_S_SOFT, IRQ_S_TIMER } from "./riscv";
import { tlbSelect } from "./mmu";

/** Enters the trap handler for `cause` (bit 63 = interrupt). The hart's pc must hold the trapping pc. */
export function takeTrap(cause: u64, tval: u64): void {
  const h = H;
  const prv = load<u32>(h + H_PRIV);
  const pc = load<u64>(h + H_PC);
  const isInt = (cause & CAUSE_INTERRUPT) != 0;
  const code = cause & 63;
  const deleg = load<u64>(h + (isInt ? H_MIDELEG : H_MEDELEG));
  let ms = load<u64>(h + H_MSTATUS);
  store<u64>(h + H_STAT_TRAPS, load<u64>(h + H_STAT_TRAPS) + 1);
  if (prv <= PRV_S && ((deleg >> code) & 1) != 0) {
    store<u64>(h + H_SEPC, pc);
    store<u64>(h + H_SCAUSE, cause);
    store<u64>(h + H_STVAL, tval);
    ms = (ms & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP)) |
      ((ms & MSTATUS_SIE) != 0 ? MSTATUS_SPIE : 0) | (prv == PRV_S ? MSTATUS_SPP : 0);
    store<u64>(h + H_MSTATUS, ms);
    store<u32>(h + H_PRIV, PRV_S);
    store<u64>(h + H_PC, vector(load<u64>(h + H_STVEC), isInt, code));
  } else {
    // Direct boot has no M-mode software: a trap that would enter M-mode cannot be handled.
    if (load<u32>(VM_SBI) != 0) {
      store<u64>(VM_FAULT_ADDR, pc);
      store<u64>(VM_FAULT_CAUSE, cause);
      requestStop(STOP_FATAL);
    }
    store<u64>(h + H_MEPC, pc);
    store<u64>(h + H_MCAUSE, cause);
    store<u64>(h + H_MTVAL, tval);
    ms = (ms & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP)) |
      ((ms & MSTATUS_MIE) != 0 ? MSTATUS_MPIE : 0) | (<u64>prv << MSTATUS_MPP_SHIFT);
    store<u64>(h + H_MSTATUS, ms);
    store<u32>(h + H_PRIV, PRV_M);
    store<u64>(h + H_PC, vector(load<u64>(h + H_MTVEC), isInt, code));
  }
  tlbSelect();
  requestBreak();
}

/** xtvec: MODE 1 (vectored) sends interrupts to BASE + 4*cause; exceptions always go to BASE (§3.1.7). */
@inline function vector(tvec: u64, isInt: bool, code: u64): u64 {
  const base = tvec & ~<u64>3;
  return isInt && (tvec & 3) == 1 ? base + (code << 2) : base;
}

// Interrupt priority (§3.1.9): MEI, MSI, MTI, SEI, SSI, STI.
@inline function highest(bits: u64): i32 {
  if (bits & (1 << IRQ_M_EXT)) return IRQ_M_EXT;
  if (bits & (1 << IRQ_M_SOFT)) return IRQ_M_SOFT;
  if (bits & (1 << IRQ_M_TIMER)) return IRQ_M_TIMER;
  if (bits & (1 << IRQ_S_EXT)) return IRQ_S_EXT;
  if (bits & (1 << IRQ_S_SOFT)) return IRQ_S_SOFT;
  if (bits & (1 << IRQ_S_TIMER)) return IRQ_S_TIMER;
  return -1;
}

/** Takes the highest-priority enabled pending interrupt, if any (§3.1.9). Returns true if one was taken. */
export function checkInterrupts(): bool {
  const h = H;
  const pending = mipOf(h) & load<u64>(h + H_MIE);
  if (pending == 0) return false;
  const prv = load<u32>(h + H_PRIV);
  const ms = load<u64>(h + H_MSTATUS);
  const mideleg = load<u64>(h + H_MIDELEG);
  // M-level interrupts: enabled in lower modes always, in M only with MIE.
  const mEnabled = prv < PRV_M || (ms & MSTATUS_MIE) != 0;
  let irq = mEnabled ? highest(pending & ~mideleg) : -1;
  if (irq < 0) {
    const sEnabled = prv < PRV_S || (prv == PRV_S && (ms & MSTATUS_SIE) != 0);
    irq = sEnabled ? highest(pending & mideleg) : -1;
  }
  if (irq < 0) return false;
  takeTrap(CAUSE_INTERRUPT | <u64>irq, 0);
  return true;
}

/** mret (§3.3.2). The caller has checked the privilege. Returns the new pc. */
export function mret(): u64 {
  const h = H;
  let ms = load<u64>(h + H_MSTATUS);
  const mpp = <u32>((ms & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  ms = (ms & ~(MSTATUS_MIE | MSTATUS_MPP)) | ((ms & MSTATUS_MPIE) != 0 ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
  if (mpp != PRV_M) ms &= ~MSTATUS_MPRV;
  store<u64>(h + H_MSTATUS, ms);
  store<u32>(h + H_PRIV, mpp);
  store<u32>(h + H_RES_VALID, 0);
  tlbSelect();
  requestBreak();
  return load<u64>(h + H_MEPC);
}

/** sret (§4.1.1). The caller has checked the privilege and TSR. Returns the new pc. */
export function sret(): u64 {
  const h = H;
  let ms = load<u64>(h + H_MSTATUS);
  const spp = (ms & MSTATUS_SPP) != 0 ? PRV_S : PRV_U;
  ms = (ms & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | ((ms & MSTATUS_SPIE) != 0 ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
  store<u64>(h + H_MSTATUS, ms);
  store<u32>(h + H_PRIV, spp);
  store<u32>(h + H_RES_VALID, 0);
  tlbSelect();
  requestBreak();
  return load<u64>(h + H_SEPC);
}
