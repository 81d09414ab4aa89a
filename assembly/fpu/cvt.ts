// RISC-V F/D conversions: fcvt between float and integer (w/wu/l/lu), and fcvt.d.s / fcvt.s.d.
//
// RISC-V F chapter, "Floating-Point Conversion and Move Instructions" (and the D chapter's equivalents):
// float -> integer rounds with rm and clips out-of-range/NaN/inf inputs (NaN and +inf -> largest
// positive, -inf -> most negative) with NV instead of NX; on RV64 the 32-bit results (w and wu) are
// sign-extended. fcvt.s.d rounds with rm; fcvt.d.s is exact. NaN results are canonical and a
// signaling NaN input raises NV (IEEE 754-2008 §5.4.2, §6.2).
// Float -> integer results are returned as the 64-bit register value (u64), for signed and unsigned
// conversions alike.
import { fflags, NX, NV, RNE, RTZ, RDN, RUP, F32_QNAN, F64_QNAN } from "./flags";
import { cvtToInt, cvtFromInt, roundF64toF32 } from "./soft";

const MINN32: f32 = 1.1754943508222875e-38; // 2^-126
const INF32: f32 = Infinity;

/** Native roundToIntegral for the four IEEE directed/nearest modes (not RMM). */
@inline function roundInt(x: f64, rm: u32): f64 {
  if (rm == RNE) return nearest<f64>(x);
  if (rm == RTZ) return trunc<f64>(x);
  if (rm == RDN) return floor<f64>(x);
  return ceil<f64>(x);
}

// Fast paths: for modes other than RMM, round to an integral value natively; if that value is
// comfortably inside the destination range, the conversion is exact and only NX can be raised.
@inline function toI32(x: f64, bits: u64, F: bool, rm: u32): u64 {
  if (rm <= RUP) {
    const n = roundInt(x, rm);
    if (abs<f64>(n) < 2147483648.0) {
      if (n != x) fflags |= NX;
      return <u64><i64>n;
    }
  }
  return cvtToInt(bits, F, rm, 0);
}
@inline function toU32(x: f64, bits: u64, F: bool, rm: u32): u64 {
  if (rm <= RUP) {
    const n = roundInt(x, rm);
    if (n >= 0 && n < 4294967296.0) {
      if (n != x) fflags |= NX;
      return <u64><i64><i32><u32><u64>n;
    }
  }
  return cvtToInt(bits, F, rm, 1);
}
@inline function toI64(x: f64, bits: u64, F: bool, rm: u32): u64 {
  if (rm <= RUP) {
    const n = roundInt(x, rm);
    if (abs<f64>(n) < 9223372036854775808.0) {
      if (n != x) fflags |= NX;
      return <u64><i64>n;
    }
  }
  return cvtToInt(bits, F, rm, 2);
}
@inline function toU64(x: f64, bits: u64, F: bool, rm: u32): u64 {
  if (rm <= RUP) {
    const n = roundInt(x, rm);
    if (n >= 0 && n < 18446744073709551616.0) {
      if (n != x) fflags |= NX;
      return <u64>n;
    }
  }
  return cvtToInt(bits, F, rm, 3);
}

export function f32_to_i32(a: u32, rm: u32): u64 { return toI32(<f64>reinterpret<f32>(a), a, false, rm); }
export function f32_to_u32(a: u32, rm: u32): u64 { return toU32(<f64>reinterpret<f32>(a), a, false, rm); }
export function f32_to_i64(a: u32, rm: u32): u64 { return toI64(<f64>reinterpret<f32>(a), a, false, rm); }
export function f32_to_u64(a: u32, rm: u32): u64 { return toU64(<f64>reinterpret<f32>(a), a, false, rm); }
export function f64_to_i32(a: u64, rm: u32): u64 { return toI32(reinterpret<f64>(a), a, true, rm); }
export function f64_to_u32(a: u64, rm: u32): u64 { return toU32(reinterpret<f64>(a), a, true, rm); }
export function f64_to_i64(a: u64, rm: u32): u64 { return toI64(reinterpret<f64>(a), a, true, rm); }
export function f64_to_u64(a: u64, rm: u32): u64 { return toU64(reinterpret<f64>(a), a, true, rm); }

// Integer -> float: exact (and done natively) when the magnitude fits the significand.

export function i32_to_f32(x: i32, rm: u32): u32 {
  if (x >= -0x1000000 && x <= 0x1000000) return reinterpret<u32>(<f32>x);
  return <u32>cvtFromInt(<u64>(x >>> 31), x < 0 ? 0 - <u64><i64>x : <u64>x, rm, false);
}
export function u32_to_f32(x: u32, rm: u32): u32 {
  if (x <= 0x1000000) return reinterpret<u32>(<f32>x);
  return <u32>cvtFromInt(0, <u64>x, rm, false);
}
export function i64_to_f32(x: i64, rm: u32): u32 {
  if (x >= -0x1000000 && x <= 0x1000000) return reinterpret<u32>(<f32>x);
  return <u32>cvtFromInt(<u64>x >>> 63, x < 0 ? 0 - <u64>x : <u64>x, rm, false);
}
export function u64_to_f32(x: u64, rm: u32): u32 {
  if (x <= 0x1000000) return reinterpret<u32>(<f32>x);
  return <u32>cvtFromInt(0, x, rm, false);
}
export function i32_to_f64(x: i32, rm: u32): u64 {
  return reinterpret<u64>(<f64>x); // always exact
}
export function u32_to_f64(x: u32, rm: u32): u64 {
  return reinterpret<u64>(<f64>x); // always exact
}
export function i64_to_f64(x: i64, rm: u32): u64 {
  if (x >= -0x20000000000000 && x <= 0x20000000000000) return reinterpret<u64>(<f64>x);
  return cvtFromInt(<u64>x >>> 63, x < 0 ? 0 - <u64>x : <u64>x, rm, true);
}
export function u64_to_f64(x: u64, rm: u32): u64 {
  if (x <= 0x20000000000000) return reinterpret<u64>(<f64>x);
  return cvtFromInt(0, x, rm, true);
}

// Float <-> float.

/** fcvt.d.s: exact; sNaN -> NV; NaN -> canonical. */
export function f32_to_f64(a: u32): u64 {
  if ((a & 0x7f800000) == 0x7f800000 && (a & 0x007fffff) != 0) {
    if ((a & 0x00400000) == 0) fflags |= NV;
    return F64_QNAN;
  }
  return reinterpret<u64>(<f64>reinterpret<f32>(a)); // promotion of a non-NaN is exact
}

/** fcvt.s.d: rounded with rm. */
export function f64_to_f32(a: u64, rm: u32): u32 {
  const x = reinterpret<f64>(a);
  if (rm == RNE) {
    const r = <f32>x;
    const ar = abs<f32>(r);
    if (ar > MINN32 && ar < INF32) {
      if (<f64>r != x) fflags |= NX;
      return reinterpret<u32>(r);
    }
  }
  if ((a & 0x7ff0000000000000) == 0x7ff0000000000000) {
    if ((a & 0x000fffffffffffff) == 0) return <u32>(a >> 32) & 0xff800000; // +-inf
    if ((a & 0x0008000000000000) == 0) fflags |= NV;
    return F32_QNAN;
  }
  if ((a & 0x7fffffffffffffff) == 0) return <u32>(a >> 32); // +-0
  return <u32>roundF64toF32(a, rm);
}
