// Integer-only IEEE 754-2008 software core shared by binary32/binary64: classify, unpack, round-and-pack, exact add/mul/div/sqrt/fma kernels.
//
// Conventions
// - `F: bool` selects the format: true = binary64, false = binary32. binary32 bit patterns travel in the
//   low 32 bits of a u64 (upper bits zero).
// - An unpacked finite nonzero operand is (sign, e, m): value = (-1)^sign * m * 2^(e-52), m a 53-bit
//   significand with its leading 1 at bit 52 (binary32 significands are shifted left by 29, which is exact).
//   Every kernel computes the exact result, or a "jammed" approximation whose lowest bit is a sticky bit
//   (OR of all discarded bits), far enough below the rounding position that rounding it is identical to
//   rounding the exact value; then roundPack rounds once to the destination format.
// - Nothing allocates; multi-word results are passed through the module global `H` (high half).
import { fflags, NX, UF, OF, DZ, NV, RNE, RTZ, RDN, RUP, RMM, F32_QNAN, F64_QNAN } from "./flags";

// ---------------------------------------------------------------- format descriptors

@inline export function SIGN(F: bool): u64 { return F ? 0x8000000000000000 : 0x80000000; }
@inline export function EXPM(F: bool): u64 { return F ? 0x7ff0000000000000 : 0x7f800000; }
@inline export function FRACM(F: bool): u64 { return F ? 0x000fffffffffffff : 0x007fffff; }
@inline export function QBIT(F: bool): u64 { return F ? 0x0008000000000000 : 0x00400000; }
@inline export function QNAN(F: bool): u64 { return F ? F64_QNAN : <u64>F32_QNAN; }
@inline export function SIGNPOS(F: bool): u64 { return F ? 63 : 31; }

@inline export function isNaN_(x: u64, F: bool): bool { return (x & ~SIGN(F)) > EXPM(F); }
@inline export function isSNaN_(x: u64, F: bool): bool { return isNaN_(x, F) && (x & QBIT(F)) == 0; }
@inline export function isInf_(x: u64, F: bool): bool { return (x & ~SIGN(F)) == EXPM(F); }
@inline export function isZero_(x: u64, F: bool): bool { return (x & ~SIGN(F)) == 0; }
/** NaN or infinity (exponent field all ones). */
@inline export function isSpecial_(x: u64, F: bool): bool { return (x & EXPM(F)) == EXPM(F); }
@inline export function signOf(x: u64, F: bool): u64 { return (x >> SIGNPOS(F)) & 1; }

/** Unbiased exponent of the leading 1 of a finite nonzero operand (subnormals normalized). */
@inline export function expOf(x: u64, F: bool): i32 {
  const bexp = <i32>((x & EXPM(F)) >> (F ? 52 : 23));
  if (bexp != 0) return bexp - (F ? 1023 : 127);
  const frac = x & FRACM(F);
  return (F ? -1022 : -126) - (<i32>clz<u64>(frac) - (F ? 11 : 40));
}

/** 53-bit significand of a finite nonzero operand, leading 1 at bit 52. */
@inline export function sigOf(x: u64, F: bool): u64 {
  const frac = x & FRACM(F);
  let m: u64;
  if ((x & EXPM(F)) != 0) m = frac | (FRACM(F) + 1);
  else m = frac << (clz<u64>(frac) - (F ? 11 : 40));
  return F ? m : m << 29;
}

// ---------------------------------------------------------------- multi-word helpers

/** High 64 bits of the last 128-bit helper result. */
export let H: u64 = 0;

/** 64x64 -> 128-bit unsigned multiply; returns the low half, high half in H. */
@inline export function mul128(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff, a1 = a >> 32, b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  H = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
  return (mid << 32) | (p00 & 0xffffffff);
}

/** x >> n, OR-ing every bit shifted out into bit 0 ("jamming"). */
@inline export function shrJam64(x: u64, n: i32): u64 {
  if (n <= 0) return x;
  if (n >= 64) return <u64>(x != 0);
  return (x >> <u64>n) | <u64>((x << <u64>(64 - n)) != 0);
}

/** (hi:lo) >> n with jamming; returns the low half, high half in H. */
export function shrJam128(hi: u64, lo: u64, n: i32): u64 {
  if (n <= 0) { H = hi; return lo; }
  if (n < 64) {
    const s = <u64>n;
    H = hi >> s;
    return (lo >> s) | (hi << (64 - s)) | <u64>((lo << (64 - s)) != 0);
  }
  H = 0;
  if (n == 64) return hi | <u64>(lo != 0);
  if (n < 128) {
    const s = <u64>(n - 64);
    return (hi >> s) | <u64>(((hi << (64 - s)) | lo) != 0);
  }
  return <u64>((hi | lo) != 0);
}

// ---------------------------------------------------------------- rounding

/**
 * Round (-1)^sign * sig * 2^(e-62) (sig != 0, bit 0 may be a sticky bit) to format F under rm, raise
 * NX/UF/OF, and return the encoded result.
 * - IEEE 754-2008 §4.3 rounding-direction attributes (RMM = roundTiesToAway).
 * - §7.5 underflow: tininess is detected AFTER rounding (RISC-V F chapter, "Subnormal Arithmetic": "In
 *   the parlance of the IEEE standard, tininess is detected after rounding"); with default exception
 *   handling UF is signalled only when the result is tiny AND inexact.
 * - §7.4 overflow: RNE/RMM give ±inf, RTZ gives ±max-finite, RDN/RUP give inf on their side, max-finite
 *   on the other; OF and NX are both raised.
 */
export function roundPack(sign: u64, e: i32, sig: u64, rm: u32, F: bool): u64 {
  // Normalize: leading 1 at bit 62.
  const lz = <i32>clz<u64>(sig);
  if (lz == 0) {
    sig = (sig >> 1) | (sig & 1);
    e += 1;
  } else {
    sig <<= <u64>(lz - 1);
    e -= lz - 1;
  }
  const P: i32 = F ? 53 : 24;
  const EMIN: i32 = F ? -1022 : -126;
  const EMAX: i32 = F ? 1023 : 127;
  const BIAS: i32 = F ? 1023 : 127;
  const R: u64 = <u64>(63 - P); // number of bits below the kept significand
  const MASK: u64 = (<u64>1 << R) - 1;
  const HALF: u64 = <u64>1 << (R - 1);
  let inc: u64 = 0;
  if (rm == RNE || rm == RMM) inc = HALF;
  else if (rm == RDN) inc = sign ? MASK : 0;
  else if (rm == RUP) inc = sign ? 0 : MASK;
  let tiny = false;
  if (e < EMIN) {
    // Tiny after rounding: rounding to P bits with unbounded exponent stays below 2^EMIN.
    tiny = e < EMIN - 1 || sig + inc < 0x8000000000000000;
    sig = shrJam64(sig, EMIN - e);
    e = EMIN;
  }
  const rbits = sig & MASK;
  if (rbits != 0) fflags |= tiny ? NX | UF : NX;
  sig = (sig + inc) >> R;
  if (rm == RNE && rbits == HALF) sig &= ~(<u64>1);
  if (sig >= (<u64>1 << <u64>P)) {
    sig >>= 1;
    e += 1;
  }
  const s = sign << SIGNPOS(F);
  if (e > EMAX) {
    fflags |= OF | NX;
    if (rm == RTZ || (rm == RDN && sign == 0) || (rm == RUP && sign != 0)) return s | (EXPM(F) - 1);
    return s | EXPM(F);
  }
  const HID: u64 = <u64>1 << <u64>(P - 1);
  const bexp: u64 = (sig & HID) != 0 ? <u64>(e + BIAS) : 0;
  return s | (bexp << <u64>(P - 1)) | (sig & (HID - 1));
}

/** Round a finite nonzero binary64 value (bits) to binary32 under rm. */
export function roundF64toF32(x: u64, rm: u32): u64 {
  return roundPack(x >> 63, expOf(x, true), sigOf(x, true) << 10, rm, false);
}

// ---------------------------------------------------------------- kernels (IEEE 754-2008 §5.4.1, §6)

/** a + b. §6.3: an exact zero sum of opposite-signed operands is +0, or -0 under RDN. */
export function softAdd(a: u64, b: u64, rm: u32, F: bool): u64 {
  const SB = SIGN(F);
  if (isSpecial_(a, F) || isSpecial_(b, F)) {
    if (isNaN_(a, F) || isNaN_(b, F)) {
      if (isSNaN_(a, F) || isSNaN_(b, F)) fflags |= NV;
      return QNAN(F);
    }
    if (isInf_(a, F) && isInf_(b, F) && ((a ^ b) & SB) != 0) {
      fflags |= NV; // §7.2(d): inf - inf
      return QNAN(F);
    }
    return isInf_(a, F) ? a : b;
  }
  if (isZero_(a, F)) {
    if (isZero_(b, F)) return a == b ? a : rm == RDN ? SB : 0;
    return b;
  }
  if (isZero_(b, F)) return a;
  let sA = signOf(a, F), sB = signOf(b, F);
  let eA = expOf(a, F), eB = expOf(b, F);
  let mA = sigOf(a, F) << 9, mB = sigOf(b, F) << 9; // leading 1 at bit 61
  if (eA < eB || (eA == eB && mA < mB)) {
    const ts = sA; sA = sB; sB = ts;
    const te = eA; eA = eB; eB = te;
    const tm = mA; mA = mB; mB = tm;
  }
  mB = shrJam64(mB, eA - eB);
  if (sA == sB) return roundPack(sA, eA + 1, mA + mB, rm, F);
  const d = mA - mB;
  if (d == 0) return rm == RDN ? SB : 0;
  return roundPack(sA, eA + 1, d, rm, F);
}

/** a * b. */
export function softMul(a: u64, b: u64, rm: u32, F: bool): u64 {
  const sign = signOf(a ^ b, F);
  if (isSpecial_(a, F) || isSpecial_(b, F)) {
    if (isNaN_(a, F) || isNaN_(b, F)) {
      if (isSNaN_(a, F) || isSNaN_(b, F)) fflags |= NV;
      return QNAN(F);
    }
    if (isZero_(a, F) || isZero_(b, F)) {
      fflags |= NV; // §7.2(b): 0 * inf
      return QNAN(F);
    }
    return (sign << SIGNPOS(F)) | EXPM(F);
  }
  if (isZero_(a, F) || isZero_(b, F)) return sign << SIGNPOS(F);
  const lo = mul128(sigOf(a, F), sigOf(b, F)); // product in [2^104, 2^106)
  const hi = H;
  const sig = (hi << 22) | (lo >> 42) | <u64>((lo & 0x3ffffffffff) != 0);
  return roundPack(sign, expOf(a, F) + expOf(b, F), sig, rm, F);
}

/** a / b. §7.3: finite nonzero / 0 raises DZ and gives a signed infinity. */
export function softDiv(a: u64, b: u64, rm: u32, F: bool): u64 {
  const sign = signOf(a ^ b, F);
  if (isNaN_(a, F) || isNaN_(b, F)) {
    if (isSNaN_(a, F) || isSNaN_(b, F)) fflags |= NV;
    return QNAN(F);
  }
  if (isInf_(a, F)) {
    if (isInf_(b, F)) {
      fflags |= NV; // §7.2(e): inf / inf
      return QNAN(F);
    }
    return (sign << SIGNPOS(F)) | EXPM(F);
  }
  if (isInf_(b, F)) return sign << SIGNPOS(F);
  if (isZero_(b, F)) {
    if (isZero_(a, F)) {
      fflags |= NV; // §7.2(e): 0 / 0
      return QNAN(F);
    }
    fflags |= DZ;
    return (sign << SIGNPOS(F)) | EXPM(F);
  }
  if (isZero_(a, F)) return sign << SIGNPOS(F);
  const mA = sigOf(a, F), mB = sigOf(b, F);
  // Long division, 10 quotient bits per step (remainder < 2^53, so r << 10 fits in 64 bits).
  let q = mA / mB;
  let r = mA % mB;
  for (let i = 0; i < 6; i++) {
    r <<= 10;
    q = (q << 10) | (r / mB);
    r = r % mB;
  }
  // q = floor(mA * 2^60 / mB) in [2^59, 2^61); value = q * 2^(eA-eB-60)
  return roundPack(sign, expOf(a, F) - expOf(b, F) + 2, q | <u64>(r != 0), rm, F);
}

/** sqrt(a). §7.2(g): sqrt of a negative nonzero operand is invalid; sqrt(-0) = -0. */
export function softSqrt(a: u64, rm: u32, F: bool): u64 {
  if (isNaN_(a, F)) {
    if (isSNaN_(a, F)) fflags |= NV;
    return QNAN(F);
  }
  if (isZero_(a, F)) return a;
  if (signOf(a, F) != 0) {
    fflags |= NV;
    return QNAN(F);
  }
  if (isInf_(a, F)) return a;
  let E = expOf(a, F) - 52;
  let M = sigOf(a, F); // value = M * 2^E
  if ((E & 1) != 0) {
    M <<= 1;
    E -= 1;
  }
  // R = floor(sqrt(M * 2^60)), in [2^56, 2^57). Estimate from the correctly rounded binary64 sqrt of M
  // (M < 2^54 is exact in binary64): error <= 2^-27 * 2^30 + 1 = 9, so N - R^2 < 2^62 fits in i64 and
  // can be computed modulo 2^64.
  let R = <u64>(sqrt<f64>(<f64>M) * 1073741824.0);
  let rem = <i64>((M << 60) - R * R);
  while (rem < 0) {
    rem += <i64>(2 * R - 1);
    R -= 1;
  }
  while (rem >= <i64>(2 * R + 1)) {
    rem -= <i64>(2 * R + 1);
    R += 1;
  }
  // sqrt(M * 2^E) = sqrt(M * 2^60) * 2^(E/2 - 30)
  return roundPack(0, (E >> 1) + 32, R | <u64>(rem != 0), rm, F);
}

/**
 * a * b + c with a single rounding (IEEE 754-2008 §5.4.1 fusedMultiplyAdd).
 * RISC-V F chapter: fused multiply-add sets NV for inf * 0 even when the addend is a quiet NaN.
 * §6.3: an exact zero sum of opposite-signed terms is +0 (-0 under RDN).
 */
export function softFma(a: u64, b: u64, c: u64, rm: u32, F: bool): u64 {
  const SB = SIGN(F);
  const invalidProd = (isInf_(a, F) && isZero_(b, F)) || (isZero_(a, F) && isInf_(b, F));
  if (isNaN_(a, F) || isNaN_(b, F) || isNaN_(c, F)) {
    if (invalidProd || isSNaN_(a, F) || isSNaN_(b, F) || isSNaN_(c, F)) fflags |= NV;
    return QNAN(F);
  }
  if (invalidProd) {
    fflags |= NV;
    return QNAN(F);
  }
  const sP = signOf(a ^ b, F), sC = signOf(c, F);
  if (isInf_(a, F) || isInf_(b, F)) {
    if (isInf_(c, F) && sP != sC) {
      fflags |= NV;
      return QNAN(F);
    }
    return (sP << SIGNPOS(F)) | EXPM(F);
  }
  if (isInf_(c, F)) return c;
  if (isZero_(a, F) || isZero_(b, F)) {
    if (isZero_(c, F)) return sP == sC ? c : rm == RDN ? SB : 0;
    return c;
  }
  let eP = expOf(a, F) + expOf(b, F);
  let pLo = mul128(sigOf(a, F), sigOf(b, F)); // [2^104, 2^106)
  let pHi = H;
  if (isZero_(c, F)) {
    return roundPack(sP, eP, (pHi << 22) | (pLo >> 42) | <u64>((pLo & 0x3ffffffffff) != 0), rm, F);
  }
  // Normalize the product to a leading 1 at bit 126: value = P * 2^(eP - 126).
  if (pHi >= (<u64>1 << 41)) {
    pHi = (pHi << 21) | (pLo >> 43);
    pLo <<= 21;
    eP += 1;
  } else {
    pHi = (pHi << 22) | (pLo >> 42);
    pLo <<= 22;
  }
  const eC = expOf(c, F);
  const cHi = sigOf(c, F) << 10; // leading 1 at bit 126, low word 0
  let xHi: u64, xLo: u64, yHi: u64, yLo: u64, eX: i32, eY: i32, sX: u64, sY: u64;
  if (eP > eC || (eP == eC && pHi >= cHi)) { // |P| >= |C| (the addend's low word is 0)
    xHi = pHi; xLo = pLo; eX = eP; sX = sP;
    yHi = cHi; yLo = 0; eY = eC; sY = sC;
  } else {
    xHi = cHi; xLo = 0; eX = eC; sX = sC;
    yHi = pHi; yLo = pLo; eY = eP; sY = sP;
  }
  yLo = shrJam128(yHi, yLo, eX - eY);
  yHi = H;
  let zHi: u64, zLo: u64;
  if (sX == sY) {
    zLo = xLo + yLo;
    zHi = xHi + yHi + <u64>(zLo < xLo);
  } else {
    zLo = xLo - yLo;
    zHi = xHi - yHi - <u64>(xLo < yLo);
    if ((zHi | zLo) == 0) return rm == RDN ? SB : 0;
  }
  // Normalize so the leading 1 is at bit 126 or 127 (only exact values can need a large shift:
  // a jammed subtrahend was shifted by >= 2, so the difference is >= 2^125), then collapse to 64 bits.
  if (zHi == 0) {
    zHi = zLo;
    zLo = 0;
    eX -= 64;
  }
  const lz = <i32>clz<u64>(zHi);
  if (lz > 1) {
    const s = <u64>(lz - 1);
    zHi = (zHi << s) | (zLo >> (64 - s));
    zLo <<= s;
    eX -= lz - 1;
  }
  return roundPack(sX, eX, zHi | <u64>(zLo != 0), rm, F);
}

// ---------------------------------------------------------------- conversions

/** Largest / smallest result of fcvt.{w,wu,l,lu}, RV64 bit patterns (32-bit results sign-extended). */
@inline function cvtMax(kind: u32): u64 {
  return kind == 0 ? 0x7fffffff : kind == 2 ? 0x7fffffffffffffff : 0xffffffffffffffff;
}
@inline function cvtMin(kind: u32): u64 {
  return kind == 0 ? 0xffffffff80000000 : kind == 2 ? 0x8000000000000000 : 0;
}

/**
 * Float -> integer (kind 0 = i32, 1 = u32, 2 = i64, 3 = u64). RISC-V F chapter, "Floating-Point
 * Conversion and Move Instructions": the value is rounded with rm; if the rounded result is not
 * representable it is clipped (NaN -> largest positive) and NV is raised instead of NX; 32-bit results
 * are sign-extended to 64 bits (also for fcvt.wu). IEEE 754-2008 §5.8 convertToInteger.
 */
export function cvtToInt(x: u64, F: bool, rm: u32, kind: u32): u64 {
  const sign = signOf(x, F) != 0;
  if (isNaN_(x, F)) {
    fflags |= NV;
    return cvtMax(kind);
  }
  if (isInf_(x, F)) {
    fflags |= NV;
    return sign ? cvtMin(kind) : cvtMax(kind);
  }
  if (isZero_(x, F)) return 0;
  const e = expOf(x, F);
  const m = sigOf(x, F);
  if (e > 63) {
    fflags |= NV;
    return sign ? cvtMin(kind) : cvtMax(kind);
  }
  let mag: u64;
  let frac: u64 = 0;
  let half: u64 = 1;
  if (e >= 52) {
    mag = m << <u64>(e - 52);
  } else {
    const sh = 52 - e; // >= 1
    if (sh > 62) {
      mag = 0;
      frac = 1;
      half = <u64>1 << 62;
    } else {
      mag = m >> <u64>sh;
      frac = m & ((<u64>1 << <u64>sh) - 1);
      half = <u64>1 << <u64>(sh - 1);
    }
  }
  if (frac != 0) {
    let up = false;
    if (rm == RNE) up = frac > half || (frac == half && (mag & 1) != 0);
    else if (rm == RMM) up = frac >= half;
    else if (rm == RDN) up = sign;
    else if (rm == RUP) up = !sign;
    if (up) mag += 1;
  }
  let ok: bool;
  if (kind == 0) ok = sign ? mag <= 0x80000000 : mag <= 0x7fffffff;
  else if (kind == 1) ok = sign ? mag == 0 : mag <= 0xffffffff;
  else if (kind == 2) ok = sign ? mag <= 0x8000000000000000 : mag <= 0x7fffffffffffffff;
  else ok = sign ? mag == 0 : true;
  if (!ok) {
    fflags |= NV;
    return sign ? cvtMin(kind) : cvtMax(kind);
  }
  if (frac != 0) fflags |= NX;
  let r: u64 = sign ? 0 - mag : mag;
  if (kind == 1) r = <u64>(<i64>(<i32>(<u32>r)));
  return r;
}

/** Integer magnitude (with sign) -> format F under rm. Zero gives +0. */
export function cvtFromInt(sign: u64, mag: u64, rm: u32, F: bool): u64 {
  if (mag == 0) return 0;
  return roundPack(sign, 62, mag, rm, F);
}
