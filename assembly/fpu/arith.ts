// RISC-V F/D arithmetic (fadd/fsub/fmul/fdiv/fsqrt/fmadd): native-WebAssembly fast paths for RNE plus the exact software core.
//
// Fast paths (rm = RNE only, except f32 fma/add/mul which use round-to-odd for every mode):
// WebAssembly f32/f64 add/sub/mul/div/sqrt are IEEE 754-2008 operations rounded to nearest-even, so
// their result is the correctly rounded RNE result. A fast path returns it only when its magnitude is
// in (min-normal, +inf): then the operands were finite, no NaN is involved, the result is not tiny after
// rounding (a rounded result strictly above 2^emin implies an unbounded-exponent rounding >= 2^emin)
// and there is no overflow, so NX is the only possible flag. NX is decided exactly:
//   add/sub: 2Sum error term (Knuth/Moller; exact in RNE for any operand order unless an
//            intermediate overflows, and an overflow always leaves the error term non-finite, in
//            which case the software path is used),
//   f64 mul: the product of the odd parts of the two significands fits in 53 bits,
//   f64 div: the odd part of the divisor divides the odd part of the dividend,
//   f64 sqrt: the odd part of the root squared equals the odd part of the operand,
//   f32 mul/div/sqrt: computed in binary64 and demoted; binary64 has >= 2*24+2 bits, so this double
//            rounding is innocuous (Figueroa 1995) and the residual check in binary64 is exact.
// Everything else (NaN, inf, zero, tiny, overflow, other modes) goes to the software core in soft.ts.
import { fflags, NX, RNE, RDN } from "./flags";
import {
  softAdd, softMul, softDiv, softSqrt, softFma, roundF64toF32,
} from "./soft";

const MINN64: f64 = 2.2250738585072014e-308; // 2^-1022
const MINN32: f32 = 1.1754943508222875e-38; // 2^-126
const INF32: f32 = Infinity;
const SIGN64: u64 = 0x8000000000000000;
const SIGN32: u32 = 0x80000000;
const FRAC64: u64 = 0x000fffffffffffff;

/** Odd part of the 53-bit significand of a finite nonzero binary64 operand. */
@inline function odd64(x: u64): u64 {
  const m = (x & 0x7ff0000000000000) != 0 ? (x & FRAC64) | (FRAC64 + 1) : x & FRAC64;
  return m >> ctz<u64>(m);
}

// ------------------------------------------------------------------ binary64

export function f64_add(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const x = reinterpret<f64>(a), y = reinterpret<f64>(b);
    const s = x + y;
    if (abs<f64>(s) < Infinity) {
      const bb = s - x;
      const e = (x - (s - bb)) + (y - bb); // 2Sum: s + e == x + y exactly
      if (e == 0) return reinterpret<u64>(s);
      if (abs<f64>(e) < Infinity) {
        fflags |= NX;
        return reinterpret<u64>(s);
      }
    }
  }
  return softAdd(a, b, rm, true);
}

export function f64_sub(a: u64, b: u64, rm: u32): u64 {
  return f64_add(a, b ^ SIGN64, rm);
}

export function f64_mul(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const p = reinterpret<f64>(a) * reinterpret<f64>(b);
    const ap = abs<f64>(p);
    if (ap > MINN64 && ap < Infinity) {
      const oa = odd64(a), ob = odd64(b);
      // bitlen(oa) + bitlen(ob) <= 64: the odd product is computed exactly; otherwise it has > 53 bits.
      if (<u32>clz<u64>(oa) + <u32>clz<u64>(ob) < 64 || oa * ob >= (<u64>1 << 53)) fflags |= NX;
      return reinterpret<u64>(p);
    }
  }
  return softMul(a, b, rm, true);
}

export function f64_div(a: u64, b: u64, rm: u32): u64 {
  if (rm == RNE) {
    const q = reinterpret<f64>(a) / reinterpret<f64>(b);
    const aq = abs<f64>(q);
    if (aq > MINN64 && aq < Infinity) {
      // a, b finite nonzero here; a/b = (oa/ob) * 2^k is a dyadic rational iff ob | oa.
      if (odd64(a) % odd64(b) != 0) fflags |= NX;
      return reinterpret<u64>(q);
    }
  }
  return softDiv(a, b, rm, true);
}

export function f64_sqrt(a: u64, rm: u32): u64 {
  if (rm == RNE) {
    const r = sqrt<f64>(reinterpret<f64>(a));
    if (r > 0 && r < Infinity) {
      // Exact iff oddpart(r)^2 == oddpart(a); an exact root has at most 27 significant bits.
      const rb = reinterpret<u64>(r);
      const or = odd64(rb);
      if (clz<u64>(or) < 37 || or * or != odd64(a)) fflags |= NX;
      return rb;
    }
  }
  return softSqrt(a, rm, true);
}

export function f64_fma(a: u64, b: u64, c: u64, rm: u32): u64 {
  return softFma(a, b, c, rm, true);
}

// ------------------------------------------------------------------ binary32

/**
 * Round the exact sum P + C (binary64 values whose exact sum is a multiple of 2^-298, e.g. a binary32
 * product plus a binary32 addend) to binary32 under any rm. The binary64 sum is made round-to-odd from
 * its RNE value and the exact 2Sum error; rounding a round-to-odd value with >= p+2 bits to p bits
 * equals rounding the exact value, in every mode, including tininess and overflow detection (Boldo &
 * Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd",
 * IEEE TC 2008).
 */
function roSum32(P: f64, C: f64, rm: u32): u32 {
  const S = P + C;
  if (S == 0) {
    // Exact zero (a nonzero exact sum is >= 2^-298 and cannot round to zero in binary64).
    // IEEE 754-2008 §6.3: +0 unless both terms are -0; under RDN, -0 unless both are +0.
    const z = rm == RDN ? -((-P) + (-C)) : S;
    return <u32>(reinterpret<u64>(z) >> 32);
  }
  const bb = S - P;
  const err = (P - (S - bb)) + (C - bb); // 2Sum; |P|, |C| <= 2^256, so nothing can overflow
  let sb = reinterpret<u64>(S);
  if (err != 0 && (sb & 1) == 0) {
    // Inexact with an even last bit: step to the neighbour on the side of the exact value.
    if ((err > 0) == (S > 0)) sb += 1;
    else sb -= 1;
  }
  if (rm == RNE) {
    const ro = reinterpret<f64>(sb);
    const r = <f32>ro;
    const ar = abs<f32>(r);
    if (ar > MINN32 && ar < INF32) {
      if (<f64>r != ro) fflags |= NX;
      return reinterpret<u32>(r);
    }
  }
  return <u32>roundF64toF32(sb, rm);
}

@inline function special32(a: u32): bool {
  return (a & 0x7f800000) == 0x7f800000;
}

export function f32_add(a: u32, b: u32, rm: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  if (rm == RNE) {
    const s = x + y;
    if (abs<f32>(s) < INF32) {
      const bb = s - x;
      const e = (x - (s - bb)) + (y - bb); // 2Sum in binary32
      if (e == 0) return reinterpret<u32>(s);
      if (abs<f32>(e) < INF32) {
        fflags |= NX;
        return reinterpret<u32>(s);
      }
    }
  }
  if (special32(a) || special32(b)) return <u32>softAdd(a, b, rm, false);
  return roSum32(<f64>x, <f64>y, rm);
}

export function f32_sub(a: u32, b: u32, rm: u32): u32 {
  return f32_add(a, b ^ SIGN32, rm);
}

export function f32_mul(a: u32, b: u32, rm: u32): u32 {
  const x = reinterpret<f32>(a), y = reinterpret<f32>(b);
  const P = <f64>x * <f64>y; // exact: 48-bit significand, exponent well inside binary64 range
  if (rm == RNE) {
    const r = <f32>P;
    const ar = abs<f32>(r);
    if (ar > MINN32 && ar < INF32) {
      if (<f64>r != P) fflags |= NX;
      return reinterpret<u32>(r);
    }
  }
  if (special32(a) || special32(b)) return <u32>softMul(a, b, rm, false);
  const pb = reinterpret<u64>(P);
  if (P == 0) return <u32>(pb >> 32);
  return <u32>roundF64toF32(pb, rm);
}

export function f32_div(a: u32, b: u32, rm: u32): u32 {
  if (rm == RNE) {
    const x = <f64>reinterpret<f32>(a), y = <f64>reinterpret<f32>(b);
    const r = <f32>(x / y);
    const ar = abs<f32>(r);
    if (ar > MINN32 && ar < INF32) {
      if (<f64>r * y != x) fflags |= NX; // r*y is exact in binary64
      return reinterpret<u32>(r);
    }
  }
  return <u32>softDiv(a, b, rm, false);
}

export function f32_sqrt(a: u32, rm: u32): u32 {
  if (rm == RNE) {
    const x = <f64>reinterpret<f32>(a);
    const r = <f32>sqrt<f64>(x);
    if (r > 0 && r < INF32) {
      const rd = <f64>r;
      if (rd * rd != x) fflags |= NX; // exact in binary64
      return reinterpret<u32>(r);
    }
  }
  return <u32>softSqrt(a, rm, false);
}

export function f32_fma(a: u32, b: u32, c: u32, rm: u32): u32 {
  if (special32(a) || special32(b) || special32(c)) return <u32>softFma(a, b, c, rm, false);
  // The binary32 product is exact in binary64; roSum32 does the single rounding.
  return roSum32(<f64>reinterpret<f32>(a) * <f64>reinterpret<f32>(b), <f64>reinterpret<f32>(c), rm);
}
