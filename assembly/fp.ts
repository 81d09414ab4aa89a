// F and D instructions (unprivileged spec ch. 11-12): operand unboxing, rounding-mode resolution, fflags accumulation,
// and dispatch to the IEEE-754 library in fpu/. Loads and stores of FP registers are in hart.ts.
import * as L from "./layout";
import * as R from "./riscv";
import { H, raise } from "./state";
import { setFsDirty } from "./csr";
import * as F from "./fpu/index";

const CANON_NAN32: u32 = 0x7fc0_0000;
const BOX: u64 = 0xffff_ffff_0000_0000;
const SIGN32: u32 = 0x8000_0000;
const SIGN64: u64 = 0x8000_0000_0000_0000;

@inline function freg(r: u32): u64 { return load<u64>(H + L.H_F + (<usize>r << 3)); }
/** A binary32 operand: a value that is not properly NaN-boxed reads as the canonical NaN (§12.2). */
@inline function fs(r: u32): u32 { const v = freg(r); return (v >> 32) == 0xffff_ffff ? <u32>v : CANON_NAN32; }
@inline function setF64(rd: u32, v: u64): void { store<u64>(H + L.H_F + (<usize>rd << 3), v); setFsDirty(); }
@inline function setF32(rd: u32, v: u32): void { setF64(rd, BOX | <u64>v); }
@inline function setX(rd: u32, v: u64): void { if (rd != 0) store<u64>(H + (<usize>rd << 3), v); }

/** Resolves the rounding mode: 7 = dynamic (frm). Returns -1 for reserved modes (illegal instruction, §11.2). */
@inline function roundingMode(f3: u32): i32 {
  const rm = f3 == 7 ? (load<u32>(H + L.H_FCSR) >> R.FRM_SHIFT) & 7 : f3;
  return rm >= 5 ? -1 : <i32>rm;
}

/** ORs the library's accrued exceptions into fcsr.fflags; any flag set dirties the FP state. */
@inline function accrue(): void {
  const fl = F.fflags;
  if (fl != 0) {
    store<u32>(H + L.H_FCSR, load<u32>(H + L.H_FCSR) | fl);
    setFsDirty();
  }
}

@inline function fpEnabled(): bool { return (load<u64>(H + L.H_MSTATUS) & R.MSTATUS_FS) != 0; }

/** FMADD/FMSUB/FNMSUB/FNMADD (opcode 0x43..0x4f): rs1*rs2 ± rs3 with one rounding. */
export function execFma(insn: u32, raw: u32): void {
  const fmt = (insn >> 25) & 3;
  const rmi = roundingMode((insn >> 12) & 7);
  if (!fpEnabled() || fmt > 1 || rmi < 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
  const rm = <u32>rmi;
  const op = (insn >> 2) & 3; // 0 madd, 1 msub, 2 nmsub, 3 nmadd
  const rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, rs3 = insn >> 27;
  F.fflags = 0;
  if (fmt == 0) {
    let a = fs(rs1); const b = fs(rs2); let c = fs(rs3);
    if (op >= 2) a ^= SIGN32;          // negate the product
    if (op == 1 || op == 3) c ^= SIGN32; // subtract the addend
    setF32(rd, F.f32_fma(a, b, c, rm));
  } else {
    let a = freg(rs1); const b = freg(rs2); let c = freg(rs3);
    if (op >= 2) a ^= SIGN64;
    if (op == 1 || op == 3) c ^= SIGN64;
    setF64(rd, F.f64_fma(a, b, c, rm));
  }
  accrue();
}

/** OP-FP (opcode 0x53). */
export function execFp(insn: u32, raw: u32): void {
  if (!fpEnabled()) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
  const f7 = insn >> 25;
  const rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31, f3 = (insn >> 12) & 7;
  const dbl = (f7 & 1) != 0;
  if ((f7 & 2) != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; } // fmt H/Q not implemented
  const grp = f7 >> 2;
  // Operations that take a rounding mode in funct3.
  const usesRm = grp == 0x00 || grp == 0x01 || grp == 0x02 || grp == 0x03 || grp == 0x0b || grp == 0x08 ||
    grp == 0x18 || grp == 0x1a;
  let rm: u32 = 0;
  if (usesRm) {
    const rmi = roundingMode(f3);
    if (rmi < 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
    rm = <u32>rmi;
  }
  F.fflags = 0;
  switch (grp) {
    case 0x00: case 0x01: case 0x02: case 0x03: { // FADD FSUB FMUL FDIV
      if (dbl) {
        const a = freg(rs1), b = freg(rs2);
        setF64(rd, grp == 0 ? F.f64_add(a, b, rm) : grp == 1 ? F.f64_sub(a, b, rm) : grp == 2 ? F.f64_mul(a, b, rm) : F.f64_div(a, b, rm));
      } else {
        const a = fs(rs1), b = fs(rs2);
        setF32(rd, grp == 0 ? F.f32_add(a, b, rm) : grp == 1 ? F.f32_sub(a, b, rm) : grp == 2 ? F.f32_mul(a, b, rm) : F.f32_div(a, b, rm));
      }
      break;
    }
    case 0x0b: { // FSQRT
      if (rs2 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      if (dbl) setF64(rd, F.f64_sqrt(freg(rs1), rm)); else setF32(rd, F.f32_sqrt(fs(rs1), rm));
      break;
    }
    case 0x04: { // FSGNJ / FSGNJN / FSGNJX
      if (f3 > 2) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      if (dbl) {
        const a = freg(rs1), b = freg(rs2);
        const s = f3 == 0 ? b & SIGN64 : f3 == 1 ? ~b & SIGN64 : (a ^ b) & SIGN64;
        setF64(rd, (a & ~SIGN64) | s);
      } else {
        const a = fs(rs1), b = fs(rs2);
        const s = f3 == 0 ? b & SIGN32 : f3 == 1 ? ~b & SIGN32 : (a ^ b) & SIGN32;
        setF32(rd, (a & ~SIGN32) | s);
      }
      break;
    }
    case 0x05: { // FMIN / FMAX
      if (f3 > 1) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      if (dbl) setF64(rd, f3 == 0 ? F.f64_min(freg(rs1), freg(rs2)) : F.f64_max(freg(rs1), freg(rs2)));
      else setF32(rd, f3 == 0 ? F.f32_min(fs(rs1), fs(rs2)) : F.f32_max(fs(rs1), fs(rs2)));
      break;
    }
    case 0x08: { // FCVT.S.D (f7=0x20, rs2=1) / FCVT.D.S (f7=0x21, rs2=0)
      if (dbl && rs2 == 0) setF64(rd, F.f32_to_f64(fs(rs1)));
      else if (!dbl && rs2 == 1) setF32(rd, F.f64_to_f32(freg(rs1), rm));
      else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      break;
    }
    case 0x14: { // FLE / FLT / FEQ
      let v: u32;
      if (f3 == 0) v = dbl ? F.f64_le(freg(rs1), freg(rs2)) : F.f32_le(fs(rs1), fs(rs2));
      else if (f3 == 1) v = dbl ? F.f64_lt(freg(rs1), freg(rs2)) : F.f32_lt(fs(rs1), fs(rs2));
      else if (f3 == 2) v = dbl ? F.f64_eq(freg(rs1), freg(rs2)) : F.f32_eq(fs(rs1), fs(rs2));
      else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      setX(rd, <u64>v);
      break;
    }
    case 0x18: { // FCVT.{W,WU,L,LU}.{S,D}
      let v: u64;
      if (dbl) {
        const a = freg(rs1);
        if (rs2 == 0) v = <u64>F.f64_to_i32(a, rm); else if (rs2 == 1) v = <u64>F.f64_to_u32(a, rm);
        else if (rs2 == 2) v = <u64>F.f64_to_i64(a, rm); else if (rs2 == 3) v = <u64>F.f64_to_u64(a, rm);
        else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      } else {
        const a = fs(rs1);
        if (rs2 == 0) v = <u64>F.f32_to_i32(a, rm); else if (rs2 == 1) v = <u64>F.f32_to_u32(a, rm);
        else if (rs2 == 2) v = <u64>F.f32_to_i64(a, rm); else if (rs2 == 3) v = <u64>F.f32_to_u64(a, rm);
        else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      }
      setX(rd, v);
      break;
    }
    case 0x1a: { // FCVT.{S,D}.{W,WU,L,LU}
      const x = load<u64>(H + (<usize>rs1 << 3));
      if (dbl) {
        if (rs2 == 0) setF64(rd, F.i32_to_f64(<i32>x, rm)); else if (rs2 == 1) setF64(rd, F.u32_to_f64(<u32>x, rm));
        else if (rs2 == 2) setF64(rd, F.i64_to_f64(<i64>x, rm)); else if (rs2 == 3) setF64(rd, F.u64_to_f64(x, rm));
        else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      } else {
        if (rs2 == 0) setF32(rd, F.i32_to_f32(<i32>x, rm)); else if (rs2 == 1) setF32(rd, F.u32_to_f32(<u32>x, rm));
        else if (rs2 == 2) setF32(rd, F.i64_to_f32(<i64>x, rm)); else if (rs2 == 3) setF32(rd, F.u64_to_f32(x, rm));
        else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      }
      break;
    }
    case 0x1c: { // FMV.X.{W,D} (f3=0) / FCLASS (f3=1)
      if (rs2 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      if (f3 == 0) setX(rd, dbl ? freg(rs1) : <u64><i64><i32>freg(rs1)); // raw low bits, sign-extended
      else if (f3 == 1) setX(rd, <u64>(dbl ? F.f64_classify(freg(rs1)) : F.f32_classify(fs(rs1))));
      else { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      break;
    }
    case 0x1e: { // FMV.{W,D}.X
      if (rs2 != 0 || f3 != 0) { raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return; }
      const x = load<u64>(H + (<usize>rs1 << 3));
      if (dbl) setF64(rd, x); else setF32(rd, <u32>x);
      break;
    }
    default: raise(R.CAUSE_ILLEGAL_INSTRUCTION, <u64>raw); return;
  }
  accrue();
}
