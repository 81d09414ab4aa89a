// RISC-V F/D comparisons (feq/flt/fle), fmin/fmax (2.2+ semantics) and fclass.
//
// RISC-V F chapter, "Floating-Point Compare Instructions": feq is a quiet comparison (NV only for a
// signaling NaN operand); flt/fle are signaling comparisons (NV for any NaN operand); a NaN operand
// makes the result 0. IEEE 754-2008 §5.11: -0 == +0.
// "Single-Precision Floating-Point Computational Instructions": fmin/fmax return the smaller/larger
// operand with -0 < +0; if exactly one operand is NaN the other is returned; if both are NaN the
// canonical NaN; NV if either is a signaling NaN (= IEEE 754-2019 minimumNumber/maximumNumber).
// "Floating-Point Classify Instruction": 10-bit mask, bit 0 -inf ... bit 9 quiet NaN.
import { fflags, NV, F32_QNAN, F64_QNAN } from "./flags";

@inline function snan64(a: u64): bool {
  return (a & 0x7ff8000000000000) == 0x7ff0000000000000 && (a & 0x0007ffffffffffff) != 0;
}
@inline function snan32(a: u32): bool {
  return (a & 0x7fc00000) == 0x7f800000 && (a & 0x003fffff) != 0;
}

// ------------------------------------------------------------------ binary64

export function f64_eq(a: u64, b: u64): u32 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x == y) return 1;
  if (snan64(a) || snan64(b)) fflags |= NV;
  return 0;
}

export function f64_lt(a: u64, b: u64): u32 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x < y) return 1;
  if (x != x || y != y) fflags |= NV;
  return 0;
}

export function f64_le(a: u64, b: u64): u32 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x <= y) return 1;
  if (x != x || y != y) fflags |= NV;
  return 0;
}

export function f64_min(a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x < y) return a;
  if (y < x) return b;
  if (x == y) return a | b; // equal values; for +-0 this picks -0
  if (snan64(a) || snan64(b)) fflags |= NV;
  if (x != x) return y != y ? F64_QNAN : b;
  return a;
}

export function f64_max(a: u64, b: u64): u64 {
  const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
  if (x > y) return a;
  if (y > x) return b;
  if (x == y) return a & b; // equal values; for +-0 this picks +0
  if (snan64(a) || snan64(b)) fflags |= NV;
  if (x != x) return y != y ? F64_QNAN : b;
  return a;
}

export function f64_classify(a: u64): u32 {
  const neg = (a >> 63) != 0;
  const e = (a >> 52) & 0x7ff;
  const f = a & 0x000fffffffffffff;
  if (e == 0x7ff) {
    if (f == 0) return neg ? 1 << 0 : 1 << 7;
    return (f & 0x0008000000000000) != 0 ? 1 << 9 : 1 << 8;
  }
  if (e == 0) {
    if (f == 0) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}

// ------------------------------------------------------------------ binary32

export function f32_eq(a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x == y) return 1;
  if (snan32(a) || snan32(b)) fflags |= NV;
  return 0;
}

export function f32_lt(a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x < y) return 1;
  if (x != x || y != y) fflags |= NV;
  return 0;
}

export function f32_le(a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x <= y) return 1;
  if (x != x || y != y) fflags |= NV;
  return 0;
}

export function f32_min(a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x < y) return a;
  if (y < x) return b;
  if (x == y) return a | b;
  if (snan32(a) || snan32(b)) fflags |= NV;
  if (x != x) return y != y ? F32_QNAN : b;
  return a;
}

export function f32_max(a: u32, b: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (x > y) return a;
  if (y > x) return b;
  if (x == y) return a & b;
  if (snan32(a) || snan32(b)) fflags |= NV;
  if (x != x) return y != y ? F32_QNAN : b;
  return a;
}

export function f32_classify(a: u32): u32 {
  const neg = (a >> 31) != 0;
  const e = (a >> 23) & 0xff;
  const f = a & 0x007fffff;
  if (e == 0xff) {
    if (f == 0) return neg ? 1 << 0 : 1 << 7;
    return (f & 0x00400000) != 0 ? 1 << 9 : 1 << 8;
  }
  if (e == 0) {
    if (f == 0) return neg ? 1 << 3 : 1 << 4;
    return neg ? 1 << 2 : 1 << 5;
  }
  return neg ? 1 << 1 : 1 << 6;
}
