// gen.c — RISC-V F/D test-vector generator: x86-64 SSE/x87 + glibc libm results translated to RISC-V rules.
/*
 * Regenerate (from the repository root; deterministic: fixed PRNG seed):
 *   gcc -O0 -frounding-math -fsignaling-nans -fno-fast-math -o /tmp/fpugen test/fpu/gen.c -lm \
 *     && /tmp/fpugen | gzip -9n > test/fpu/vectors.bin.gz
 *
 * Stress runs (not committed): /tmp/fpugen SEED-HEX SCALE > /tmp/big.bin, e.g. "/tmp/fpugen 7777 100"
 * (~6M vectors), then FPU_VECTORS=/tmp/big.bin npx vitest run test/fpu.
 *
 * Operand mix per operation: uniformly random bit patterns, "interesting" values (+-0, +-inf, quiet and
 * signaling NaNs, min/max subnormal and normal, powers of two and their neighbours, few-bit
 * significands, exponents near the extremes), op-specific structure (cancellation, exponent gaps around
 * p, products/quotients landing at the overflow and underflow thresholds and deep in the subnormal
 * range, exact quotients, perfect squares incl. the widest 27-bit roots, fma addends cancelling or
 * half-ulp of the product, binary64 values at/around binary32 midpoints, integers and halves around
 * 2^24/2^31/2^32/2^53/2^63/2^64), constructed exact ties (so RMM and RNE differ), and every combination
 * of {+-0, +-inf, +-1, qNaN, sNaN} for each arithmetic op. Every rounded op is emitted for all 5 modes.
 *
 * Output (uncompressed, little-endian): "FPUV", u32 version (1), u32 record count, then records
 *   u8 op, u8 rm, u8 flags, u8 nops, nops x u64 operand, u64 expected result.
 * binary32 values / 32-bit integers occupy the low 32 bits (i32 operands are stored sign-extended).
 * The op numbering is mirrored by OPS in test/fpu/fpu.test.ts.
 *
 * Where the expected values come from
 * - add/sub/mul/div/sqrt, fma, f64->f32, int->float under RNE/RTZ/RDN/RUP: the x86-64 SSE instruction
 *   (or glibc fma()/fmaf(), correctly rounded in every mode; hardware FMA on this host) executed under
 *   fesetround(), flags from fetestexcept(): IE->NV, ZE->DZ, OE->OF, UE->UF, PE->NX (DE is ignored).
 *   x86 SSE detects tininess AFTER rounding, like RISC-V, and with the underflow exception masked (the
 *   default) raises UE only for a tiny AND inexact result, which is IEEE 754-2008 §7.5's default.
 *   Both facts are checked at start-up by selfcheck() below, which aborts if the host disagrees.
 * - RMM (roundTiesToAway, absent on x86) for those ops: RMM differs from RNE only when the exact result
 *   is a tie, so the RMM result is the RNE result unless RNE picked the toward-zero neighbour t (the RTZ
 *   result) and the exact value equals the midpoint of t and the away-from-zero neighbour u (the RUP or
 *   RDN result). The exact value is obtained in x87 80-bit long double (64-bit significand, larger
 *   exponent range) under round-toward-zero and round-upward: if both agree it is exact, and then it is
 *   compared with (t+u)/2, which is exact in long double. Ties always have <= 54 significant bits, so an
 *   inexact long double means "no tie". RMM flags equal RNE flags: the two modes differ only at ties,
 *   and ties never change inexactness, tininess-after-rounding (the tie just below 2^emin rounds up in
 *   both) or overflow (IEEE 754-2008 §4.3.1 uses the same overflow threshold for both).
 * - float->integer (all five modes): glibc nearbyint() under the x86 mode (round() for RMM) gives the
 *   rounded integral value; the RISC-V range check / saturation table (NaN -> max positive, NV instead of
 *   NX, 32-bit results sign-extended on RV64) is applied here, because x86 returns "integer indefinite".
 * - compare/min/max/classify: C comparison operators for the ordering, plus the RISC-V rules for flags,
 *   NaN handling, -0 < +0 and the fclass mask written out below (the x86 instructions differ).
 * - NaN results are replaced by the RISC-V canonical NaN. fma(inf, 0, qNaN) sets NV on RISC-V ("the
 *   fused multiply-add instructions must set the invalid operation exception flag when the multiplicands
 *   are inf and zero, even when the addend is a quiet NaN"), which is enforced here.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FENV_ACCESS ON

enum {
  F32_ADD, F32_SUB, F32_MUL, F32_DIV, F32_SQRT, F32_FMA,
  F64_ADD, F64_SUB, F64_MUL, F64_DIV, F64_SQRT, F64_FMA,
  F32_EQ, F32_LT, F32_LE, F32_MIN, F32_MAX, F32_CLASSIFY,
  F64_EQ, F64_LT, F64_LE, F64_MIN, F64_MAX, F64_CLASSIFY,
  F32_TO_I32, F32_TO_U32, F32_TO_I64, F32_TO_U64,
  F64_TO_I32, F64_TO_U32, F64_TO_I64, F64_TO_U64,
  I32_TO_F32, U32_TO_F32, I64_TO_F32, U64_TO_F32,
  I32_TO_F64, U32_TO_F64, I64_TO_F64, U64_TO_F64,
  F32_TO_F64, F64_TO_F32,
  NUM_OPS
};

enum { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 };
enum { RNE, RTZ, RDN, RUP, RMM };
static const int X86RM[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};

static const uint64_t QNAN32 = 0x7fc00000, QNAN64 = 0x7ff8000000000000ull;

/* ------------------------------------------------------------------ bits <-> values */
static float F(uint64_t b) { union { uint32_t u; float f; } x; x.u = (uint32_t)b; return x.f; }
static double D(uint64_t b) { union { uint64_t u; double d; } x; x.u = b; return x.d; }
static uint64_t BF(float f) { union { uint32_t u; float f; } x; x.f = f; return x.u; }
static uint64_t BD(double d) { union { uint64_t u; double d; } x; x.d = d; return x.u; }

static int isnan32(uint64_t b) { return ((uint32_t)b & 0x7fffffff) > 0x7f800000; }
static int isnan64(uint64_t b) { return (b & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
static int issnan32(uint64_t b) { return isnan32(b) && !(b & 0x00400000); }
static int issnan64(uint64_t b) { return isnan64(b) && !(b & 0x0008000000000000ull); }

/* ------------------------------------------------------------------ PRNG (splitmix64) */
static uint64_t seed = 0x5eed5eedf00dull;
static uint64_t rnd(void) {
  uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t rndn(uint64_t n) { return rnd() % n; }
static int64_t rndr(int64_t lo, int64_t hi) { return lo + (int64_t)rndn((uint64_t)(hi - lo + 1)); }

/* ------------------------------------------------------------------ format descriptions */
typedef struct {
  int p, emin, emax, bias;
  uint64_t sign, expm, fracm, qbit;
} Fmt;
static const Fmt FM32 = {24, -126, 127, 127, 0x80000000ull, 0x7f800000ull, 0x7fffffull, 0x400000ull};
static const Fmt FM64 = {53, -1022, 1023, 1023, 1ull << 63, 0x7ff0000000000000ull, 0xfffffffffffffull, 1ull << 51};

static int bitlen(uint64_t m) { return m ? 64 - __builtin_clzll(m) : 0; }

/* Value (-1)^s * m * 2^e2 (m != 0, < 2^63) truncated to format f (subnormal bits below the grid are
 * dropped, overflow gives the largest finite). Used only to build operands, so truncation is fine. */
static uint64_t mk(const Fmt *f, int s, uint64_t m, int e2) {
  uint64_t sb = s ? f->sign : 0;
  if (!m) return sb;
  int L = bitlen(m);
  int e = e2 + L - 1; /* exponent of the leading bit */
  /* align m to p bits */
  if (L > f->p) { m >>= (L - f->p); }
  else m <<= (f->p - L);
  if (e > f->emax) return sb | (f->expm - 1);
  if (e >= f->emin) return sb | ((uint64_t)(e + f->bias) << (f->p - 1)) | (m & f->fracm);
  int sh = f->emin - e;
  if (sh >= f->p) return sb | 1; /* min subnormal */
  m >>= sh;
  return sb | (m ? m : 1);
}

static uint64_t rand_odd(int k) { /* random odd integer with exactly k bits (k >= 1) */
  if (k <= 1) return 1;
  uint64_t m = rnd() & ((k >= 64) ? ~0ull : ((1ull << k) - 1));
  m |= 1ull << (k - 1);
  return m | 1;
}

static int expof(const Fmt *f, uint64_t b) { /* unbiased exponent of a normal (or approx for subnormal) */
  int be = (int)((b & f->expm) >> (f->p - 1));
  return be ? be - f->bias : f->emin;
}

static uint64_t interesting(const Fmt *f) {
  int s = (int)(rnd() & 1);
  uint64_t sb = s ? f->sign : 0, fr = rnd() & f->fracm;
  int maxbe = 2 * f->bias; /* largest biased exponent of a finite number */
  switch (rndn(22)) {
  case 0: return sb;
  case 1: return sb | f->expm;
  case 2: return sb | f->expm | f->qbit | (rndn(2) ? 0 : fr);
  case 3: { uint64_t p = fr & ~f->qbit; return sb | f->expm | (p ? p : 1); }
  case 4: return sb | 1;
  case 5: return sb | f->fracm;
  case 6: return sb | (f->fracm + 1);
  case 7: return sb | (f->expm - 1);
  case 8: return sb | ((uint64_t)rndr(1, maxbe) << (f->p - 1));
  case 9: return sb | (fr ? fr : 1);
  case 10: return sb | ((uint64_t)rndr(1, 4) << (f->p - 1)) | fr;
  case 11: return sb | ((uint64_t)rndr(maxbe - 3, maxbe) << (f->p - 1)) | fr;
  case 12: return mk(f, s, 1 + rndn(1000), 0);
  case 13: { int k = (int)rndr(1, f->p < 12 ? f->p : 12); return mk(f, s, rand_odd(k), (int)rndr(f->emin - f->p, f->emax - k)); }
  case 14: return sb | ((uint64_t)rndr(1, maxbe) << (f->p - 1)) | f->fracm;
  case 15: { uint64_t p2 = (uint64_t)rndr(2, maxbe - 1) << (f->p - 1); return sb | (rndn(2) ? p2 + 1 : p2 - 1); }
  case 16: return sb | ((uint64_t)rndr(f->bias - 20, f->bias + 20) << (f->p - 1)) | fr;
  case 17: return sb | (((uint64_t)f->bias << (f->p - 1)) + rndn(4)) ;
  case 18: return sb | ((((uint64_t)f->bias - 1) << (f->p - 1)) | (f->fracm - rndn(4)));
  default: return sb | ((uint64_t)rndr(1, maxbe) << (f->p - 1)) | fr;
  }
}

static uint64_t rbits(const Fmt *f) { return f == &FM32 ? (rnd() & 0xffffffffull) : rnd(); }

/* random finite normal with biased exponent in [lo, hi] */
static uint64_t rnorm(const Fmt *f, int lo, int hi) {
  if (lo < 1) lo = 1;
  if (hi > 2 * f->bias) hi = 2 * f->bias;
  return (rndn(2) ? f->sign : 0) | ((uint64_t)rndr(lo, hi) << (f->p - 1)) | (rnd() & f->fracm);
}

/* exact product of two values with few significant bits, or a mix of everything */
static void gen_arith(int op, const Fmt *f, uint64_t *a, uint64_t *b, uint64_t *c) {
  int p = f->p, B = f->bias;
  int kind = (int)rndn(20);
  *a = rbits(f); *b = rbits(f); *c = rbits(f);
  if (kind < 5) return;                                              /* random bit patterns */
  if (kind < 11) { *a = interesting(f); *b = interesting(f); *c = interesting(f); return; }
  int base = op % 6; /* 0 add 1 sub 2 mul 3 div 4 sqrt 5 fma */
  int sub = (int)rndn(6);
  switch (base) {
  case 0: case 1: {
    *a = rnorm(f, B - 30, B + 30);
    int ea = expof(f, *a);
    int flip = (base == 0); /* make the effective operation a subtraction */
    int sa = (*a & f->sign) != 0;
    switch (sub) {
    case 0: /* heavy cancellation: same exponent, low bits randomized */
      *b = (*a ^ (rnd() & ((1ull << rndr(0, p - 1)) - 1))) ;
      *b = (*b & ~f->sign) | (((sa ^ flip) != 0) ? f->sign : 0);
      break;
    case 1: /* half-ulp style addends: ties and near-ties */
      *b = mk(f, (int)rndn(2), rand_odd((int)rndr(1, 3)), ea - p - (int)rndr(-1, 3));
      break;
    case 2: /* exponent difference around p */
      *b = rnorm(f, ea + B - (int)rndr(0, p + 4), ea + B);
      break;
    case 3: /* near overflow */
      *a = rnorm(f, 2 * B - 2, 2 * B); *b = rnorm(f, 2 * B - 3, 2 * B);
      break;
    case 4: /* tiny operands */
      *a = (rndn(2) ? f->sign : 0) | (rnd() & (f->fracm | (f->fracm + 1))); *b = (rndn(2) ? f->sign : 0) | (rnd() & (f->fracm | (f->fracm + 1)));
      break;
    default: /* few-bit operands with random exponent gap: exact sums and ties */
      *a = mk(f, (int)rndn(2), rand_odd((int)rndr(1, p)), (int)rndr(-40, 40));
      *b = mk(f, (int)rndn(2), rand_odd((int)rndr(1, p)), (int)rndr(-40 - p, 40));
      break;
    }
    return;
  }
  case 2: case 5: {
    /* few-bit significands whose product has about p+1 bits; exponents aimed at a region */
    int ka = (int)rndr(1, p), kb = p + 1 - ka + (int)rndr(-1, 1);
    if (kb < 1) kb = 1;
    if (kb > p) kb = p;
    int region = (int)rndn(4); /* 0 moderate, 1 overflow edge, 2 underflow edge, 3 deep subnormal */
    int target; /* exponent of the leading bit of the product */
    if (region == 0) target = (int)rndr(-20, 20);
    else if (region == 1) target = f->emax + (int)rndr(-1, 1);
    else if (region == 2) target = f->emin + (int)rndr(-2, 1);
    else target = f->emin - (int)rndr(2, p + 1);
    int ea = (int)rndr(f->emin / 2, f->emax / 2);
    int eb = target - ea;
    if (eb > f->emax) { ea += eb - f->emax; eb = f->emax; }
    if (eb < f->emin) { ea -= f->emin - eb; eb = f->emin; }
    if (sub < 3) {
      uint64_t ma = rand_odd(ka), mb = rand_odd(kb);
      *a = mk(f, (int)rndn(2), ma, ea - ka + 1);
      *b = mk(f, (int)rndn(2), mb, eb - kb + 1);
    } else {
      *a = mk(f, (int)rndn(2), rand_odd(p), ea - p + 1);
      *b = mk(f, (int)rndn(2), rand_odd(p), eb - p + 1);
    }
    if (base == 5) {
      int csub = (int)rndn(5);
      if (csub == 0) { /* cancellation: c ~ -(a*b) */
        double pr = (f == &FM32) ? (double)F(*a) * (double)F(*b) : D(*a) * D(*b);
        uint64_t cb = (f == &FM32) ? BF((float)-pr) : BD(-pr);
        if (!isnan64(f == &FM32 ? BD((double)F(cb)) : cb) && rndn(2)) cb += rndr(-2, 2);
        *c = cb;
      } else if (csub == 1) { /* half-ulp of the product: ties */
        int ep = expof(f, *a) + expof(f, *b);
        *c = mk(f, (int)rndn(2), rand_odd((int)rndr(1, 2)), ep - p - (int)rndr(0, 2));
      } else if (csub == 2) {
        *c = interesting(f);
      } else if (csub == 3) { /* addend in the same binade as the product */
        int ep = expof(f, *a) + expof(f, *b);
        *c = mk(f, (int)rndn(2), rand_odd(p), ep - p + 1 + (int)rndr(-3, 3));
      } else {
        *c = rbits(f);
      }
    }
    return;
  }
  case 3: {
    int region = (int)rndn(4);
    if (sub < 3) { /* exact quotients */
      int kq = (int)rndr(1, p / 2), kb = (int)rndr(1, p - kq);
      uint64_t q = rand_odd(kq), mb = rand_odd(kb);
      uint64_t ma = q * mb;
      int eb = (int)rndr(-30, 30), eq;
      if (region == 0) eq = (int)rndr(-30, 30);
      else if (region == 1) eq = f->emax + (int)rndr(-1, 1);
      else if (region == 2) eq = f->emin + (int)rndr(-2, 1);
      else eq = f->emin - (int)rndr(2, p);
      int ea = eq + eb; /* leading-bit exponents add up to within 1 */
      *b = mk(f, (int)rndn(2), mb, eb - kb + 1);
      *a = mk(f, (int)rndn(2), ma, ea - bitlen(ma) + 1);
      if (rndn(3) == 0) *a ^= rndn(4); /* perturb: inexact near exact */
    } else {
      int eq;
      if (region == 0) eq = (int)rndr(-30, 30);
      else if (region == 1) eq = f->emax + (int)rndr(-1, 1);
      else if (region == 2) eq = f->emin + (int)rndr(-2, 1);
      else eq = f->emin - (int)rndr(2, p + 2);
      int eb = (int)rndr(-60, 60);
      *b = rnorm(f, eb + B, eb + B);
      *a = mk(f, (int)rndn(2), rand_odd(p), eq + eb - p + 1);
      if (sub == 5) *b = (rndn(2) ? f->sign : 0) | ((uint64_t)rndr(1, 2 * B) << (p - 1)); /* power of 2 */
    }
    return;
  }
  case 4: {
    if (sub < 3) { /* perfect squares (and near misses) */
      int k = (int)rndr(1, (p + 1) / 2);
      uint64_t x = rand_odd(k);
      if (rndn(2)) { /* widest exact roots: odd x in [2^(ceil(p/2)-1), sqrt(2^p)) (27 bits for binary64) */
        uint64_t lo = 1ull << ((p + 1) / 2 - 1), hi = (uint64_t)sqrt(ldexp(1.0, p));
        x = (lo + rndn(hi - lo)) | 1;
        if (x * x >= (1ull << p)) x -= 2;
      }
      uint64_t sq = x * x;
      int ex = (int)rndr(f->emin / 2 - p / 2, f->emax / 2);
      *a = mk(f, 0, sq, 2 * ex);
      if (rndn(4) == 0) *a += rndr(-1, 1);
    } else if (sub < 5) {
      *a = rbits(f) & ~f->sign;
    } else {
      *a = interesting(f);
    }
    return;
  }
  }
}


/* Operands whose exact result is a rounding tie (a midpoint), so that RMM and RNE differ often. */
static void gen_tie(int op, const Fmt *f, uint64_t *a, uint64_t *b, uint64_t *c) {
  int p = f->p, base = op % 6, reg = (int)rndn(4);
  int s1 = (int)rndn(2), s2 = (int)rndn(2), s3 = (int)rndn(2);
  *a = *b = *c = 0;
  if (base == 0 || base == 1) { /* a has p bits, b = odd multiple of a's half-ulp */
    int E = reg == 1 ? f->emax - (int)rndn(2) : reg == 2 ? f->emin + (int)rndr(0, 3) : (int)rndr(-30, 30);
    *a = mk(f, s1, rand_odd(p), E - p + 1);
    *b = mk(f, s2, 2 * rndn(4) + 1, E - p);
    return;
  }
  if (base == 3) { /* quotients landing on a half-quantum of the subnormal range */
    int j = (int)rndr(1, p + 2);
    uint64_t bb = rndn(3) ? 1 : rand_odd((int)rndr(2, 6));
    uint64_t m = rand_odd((int)rndr(1, p - bitlen(bb)));
    *b = mk(f, s2, bb, j);
    *a = mk(f, s1, m * bb, f->emin - p + j);
    return;
  }
  /* mul / fma: odd significands with an exactly known product */
  uint64_t ma, mb, pr;
  int L, want = (base == 2 && reg != 3) ? p + 1 : 0;
  do {
    int ka = (int)rndr(1, p), kb;
    if (want) kb = p + 1 - ka + (int)rndn(2);
    else kb = (int)rndr(1, p - ka > 0 ? p - ka : 1);
    if (kb > p) kb = p;
    if (kb < 1) kb = 1;
    ma = rand_odd(ka); mb = rand_odd(kb); pr = ma * mb; L = bitlen(pr);
  } while (want ? L != want : L > p - 1 + (base == 2)) ;
  int E; /* leading exponent of the product */
  int lsb;
  if (reg == 3) { lsb = f->emin - p; E = lsb + L - 1; } /* product ends on a subnormal half-quantum */
  else {
    E = reg == 1 ? f->emax - (int)rndn(2) : reg == 2 ? f->emin + (int)rndr(0, 2) : (int)rndr(-30, 30);
    lsb = E - L + 1;
  }
  int ea = E / 2 + (int)rndr(-10, 10);
  if (ea > f->emax) ea = f->emax;
  if (ea < f->emin) ea = f->emin;
  int xa = ea - bitlen(ma) + 1, xb = lsb - xa;
  *a = mk(f, s1, ma, xa);
  *b = mk(f, s2, mb, xb);
  if (base == 5) {
    if (reg == 3) *c = mk(f, s3, (rnd() & ((1ull << (p - 2)) - 1)) | 1, f->emin - p + 1);
    else *c = mk(f, s3, 2 * rndn(4) + 1, E - p);
  }
}

/* ------------------------------------------------------------------ x86 execution */
static int xflags(void) {
  int e = fetestexcept(FE_ALL_EXCEPT), r = 0;
  if (e & FE_INVALID) r |= NV;
  if (e & FE_DIVBYZERO) r |= DZ;
  if (e & FE_OVERFLOW) r |= OF;
  if (e & FE_UNDERFLOW) r |= UF;
  if (e & FE_INEXACT) r |= NX;
  return r;
}

static int res_is_f32(int op) {
  return (op >= F32_ADD && op <= F32_FMA) || op == I32_TO_F32 || op == U32_TO_F32 || op == I64_TO_F32 ||
         op == U64_TO_F32 || op == F64_TO_F32;
}

/* Run one op natively under x86 rounding mode `mode`; returns raw x86 result bits. */
static uint64_t x86(int op, int mode, uint64_t A, uint64_t B, uint64_t C, int *fl) {
  volatile float fa = F(A), fb = F(B), fc = F(C), fz = 0;
  volatile double da = D(A), db = D(B), dc = D(C), dz = 0;
  volatile int32_t ia = (int32_t)A;
  volatile uint32_t ua = (uint32_t)A;
  volatile int64_t la = (int64_t)A;
  volatile uint64_t lua = A;
  int isf = 1;
  fesetround(mode);
  feclearexcept(FE_ALL_EXCEPT);
  switch (op) {
  case F32_ADD: fz = fa + fb; break;
  case F32_SUB: fz = fa - fb; break;
  case F32_MUL: fz = fa * fb; break;
  case F32_DIV: fz = fa / fb; break;
  case F32_SQRT: fz = sqrtf(fa); break;
  case F32_FMA: fz = fmaf(fa, fb, fc); break;
  case F64_ADD: dz = da + db; isf = 0; break;
  case F64_SUB: dz = da - db; isf = 0; break;
  case F64_MUL: dz = da * db; isf = 0; break;
  case F64_DIV: dz = da / db; isf = 0; break;
  case F64_SQRT: dz = sqrt(da); isf = 0; break;
  case F64_FMA: dz = fma(da, db, dc); isf = 0; break;
  case I32_TO_F32: fz = (float)ia; break;
  case U32_TO_F32: fz = (float)ua; break;
  case I64_TO_F32: fz = (float)la; break;
  case U64_TO_F32: fz = (float)lua; break;
  case I32_TO_F64: dz = (double)ia; isf = 0; break;
  case U32_TO_F64: dz = (double)ua; isf = 0; break;
  case I64_TO_F64: dz = (double)la; isf = 0; break;
  case U64_TO_F64: dz = (double)lua; isf = 0; break;
  case F32_TO_F64: dz = (double)fa; isf = 0; break;
  case F64_TO_F32: fz = (float)da; break;
  default: fprintf(stderr, "x86: bad op %d\n", op); exit(1);
  }
  *fl = xflags();
  fesetround(FE_TONEAREST);
  return isf ? BF(fz) : BD(dz);
}

/* Exact result in long double if representable there (RTZ and RUP evaluations agree). */
static int exact_ld(int op, uint64_t A, uint64_t B, uint64_t C, long double *out) {
  volatile long double v[2];
  static const int modes[2] = {FE_TOWARDZERO, FE_UPWARD};
  for (int i = 0; i < 2; i++) {
    volatile long double a32 = F(A), b32 = F(B), c32 = F(C), a64 = D(A), b64 = D(B), c64 = D(C);
    fesetround(modes[i]);
    switch (op) {
    case F32_ADD: v[i] = a32 + b32; break;
    case F32_SUB: v[i] = a32 - b32; break;
    case F32_MUL: v[i] = a32 * b32; break;
    case F32_DIV: v[i] = a32 / b32; break;
    case F32_SQRT: v[i] = sqrtl(a32); break;
    case F32_FMA: v[i] = fmal(a32, b32, c32); break;
    case F64_ADD: v[i] = a64 + b64; break;
    case F64_SUB: v[i] = a64 - b64; break;
    case F64_MUL: v[i] = a64 * b64; break;
    case F64_DIV: v[i] = a64 / b64; break;
    case F64_SQRT: v[i] = sqrtl(a64); break;
    case F64_FMA: v[i] = fmal(a64, b64, c64); break;
    case I32_TO_F32: case I32_TO_F64: v[i] = (long double)(int32_t)A; break;
    case U32_TO_F32: case U32_TO_F64: v[i] = (long double)(uint32_t)A; break;
    case I64_TO_F32: case I64_TO_F64: v[i] = (long double)(int64_t)A; break;
    case U64_TO_F32: case U64_TO_F64: v[i] = (long double)A; break;
    case F64_TO_F32: v[i] = a64; break;
    default: fprintf(stderr, "exact_ld: bad op %d\n", op); exit(1);
    }
    fesetround(FE_TONEAREST);
  }
  if (v[0] != v[1]) return 0;
  *out = v[0];
  return 1;
}

static uint64_t canon(int op, uint64_t r) {
  if (res_is_f32(op)) return isnan32(r) ? QNAN32 : (r & 0xffffffffull);
  return isnan64(r) ? QNAN64 : r;
}

/* Rounded ops (arith, int->float, f64->f32) in RISC-V mode rm. */
static uint64_t ref_round(int op, int rm, uint64_t A, uint64_t B, uint64_t C, int *fl) {
  uint64_t r;
  if (rm != RMM) {
    r = canon(op, x86(op, X86RM[rm], A, B, C, fl));
  } else {
    int f0, f1;
    r = canon(op, x86(op, FE_TONEAREST, A, B, C, fl));
    uint64_t t = canon(op, x86(op, FE_TOWARDZERO, A, B, C, &f1));
    uint64_t up = canon(op, x86(op, FE_UPWARD, A, B, C, &f1));
    uint64_t dn = canon(op, x86(op, FE_DOWNWARD, A, B, C, &f0));
    uint64_t away = (t == dn) ? up : dn;
    if (r == t && t != away) {
      long double x, m;
      if (exact_ld(op, A, B, C, &x)) {
        int f32r = res_is_f32(op);
        long double lt = f32r ? (long double)F(t) : (long double)D(t);
        long double la = f32r ? (long double)F(away) : (long double)D(away);
        m = (lt + la) / 2; /* exact: adjacent values, one extra bit */
        if (x != 0 && x == m) r = away; /* an exact zero (e.g. RDN's -0 vs +0) is never a tie */
      }
    }
  }
  /* RISC-V: fma(inf, 0, c) and fma(0, inf, c) are invalid even for a quiet-NaN c. */
  if (op == F32_FMA || op == F64_FMA) {
    int isf = op == F32_FMA;
    double a = isf ? F(A) : D(A), b = isf ? F(B) : D(B);
    if ((isinf(a) && b == 0) || (a == 0 && isinf(b))) {
      *fl |= NV;
      r = isf ? QNAN32 : QNAN64;
    }
  }
  return r;
}

/* float -> integer, RISC-V semantics (RISC-V F chapter, fcvt table). */
static uint64_t ref_cvt_int(int op, int rm, uint64_t A, int *fl) {
  int src32 = op <= F32_TO_U64;
  int kind = (op - (src32 ? F32_TO_I32 : F64_TO_I32)); /* 0 i32, 1 u32, 2 i64, 3 u64 */
  double x = src32 ? (double)F(A) : D(A); /* exact (a signaling NaN is quieted: only NaN-ness matters) */
  int nan = src32 ? isnan32(A) : isnan64(A);
  static const uint64_t maxv[4] = {0x7fffffffull, 0xffffffffffffffffull, 0x7fffffffffffffffull, 0xffffffffffffffffull};
  static const uint64_t minv[4] = {0xffffffff80000000ull, 0, 0x8000000000000000ull, 0};
  *fl = 0;
  if (nan) { *fl = NV; return maxv[kind]; }
  volatile double vx = x, n;
  if (rm == RMM) n = round(vx);
  else { fesetround(X86RM[rm]); n = nearbyint(vx); fesetround(FE_TONEAREST); }
  int ok;
  switch (kind) {
  case 0: ok = n >= -2147483648.0 && n <= 2147483647.0; break;
  case 1: ok = n >= 0 && n <= 4294967295.0; break; /* -0.0 >= 0 holds */
  case 2: ok = n >= -9223372036854775808.0 && n < 9223372036854775808.0; break;
  default: ok = n >= 0 && n < 18446744073709551616.0; break;
  }
  if (!ok) { *fl = NV; return (n < 0) ? minv[kind] : maxv[kind]; }
  if (n != x) *fl = NX;
  switch (kind) {
  case 0: return (uint64_t)(int64_t)(int32_t)n;
  case 1: return (uint64_t)(int64_t)(int32_t)(uint32_t)n;
  case 2: return (uint64_t)(int64_t)n;
  default: return (uint64_t)n;
  }
}

/* compare / min / max / classify (rules from the RISC-V F chapter) */
static uint64_t ref_misc(int op, uint64_t A, uint64_t B, int *fl) {
  int is32 = op <= F32_CLASSIFY;
  int base = op - (is32 ? F32_EQ : F64_EQ);
  int an = is32 ? isnan32(A) : isnan64(A), bn = is32 ? isnan32(B) : isnan64(B);
  int as = is32 ? issnan32(A) : issnan64(A), bs = is32 ? issnan32(B) : issnan64(B);
  volatile double x = is32 ? (double)F(A) : D(A), y = is32 ? (double)F(B) : D(B);
  uint64_t sgn = is32 ? 0x80000000ull : (1ull << 63);
  *fl = 0;
  switch (base) {
  case 0: /* feq: quiet */
    if (an || bn) { if (as || bs) *fl = NV; return 0; }
    return x == y;
  case 1: case 2: /* flt, fle: signaling */
    if (an || bn) { *fl = NV; return 0; }
    return base == 1 ? (x < y) : (x <= y);
  case 3: case 4: { /* fmin, fmax */
    if (as || bs) *fl = NV;
    if (an && bn) return is32 ? QNAN32 : QNAN64;
    if (an) return B;
    if (bn) return A;
    if (x == y) { /* equal, or +0/-0: -0 is the smaller */
      int a_neg = (A & sgn) != 0;
      if (base == 3) return a_neg ? A : B;
      return a_neg ? B : A;
    }
    if (base == 3) return x < y ? A : B;
    return x > y ? A : B;
  }
  default: { /* fclass */
    int neg = (A & sgn) != 0;
    if (an) return (is32 ? issnan32(A) : issnan64(A)) ? (1u << 8) : (1u << 9);
    if (isinf(x)) return neg ? 1u << 0 : 1u << 7;
    if (x == 0) return neg ? 1u << 3 : 1u << 4;
    int sub = is32 ? ((A & 0x7f800000ull) == 0) : ((A & 0x7ff0000000000000ull) == 0);
    if (sub) return neg ? 1u << 2 : 1u << 5;
    return neg ? 1u << 1 : 1u << 6;
  }
  }
}

/* ------------------------------------------------------------------ operand generators */
static uint64_t gen_float_for_int(int src32, int kind) {
  static const double bases[] = {0, 1, 2, 3, 2147483647.0, 2147483648.0, 4294967295.0, 4294967296.0,
                                 9223372036854775808.0, 18446744073709551616.0, 16777216.0, 9007199254740992.0};
  static const double fracs[] = {0, 0.5, 0.25, 0.75, 1.0 / 1024, 0.5 + 1.0 / 1024};
  double v;
  int r = (int)rndn(10);
  (void)kind;
  if (r < 4) {
    v = bases[rndn(sizeof bases / sizeof bases[0])] + (double)rndr(-2, 2);
    v += (rndn(2) ? 1 : -1) * fracs[rndn(6)];
    if (rndn(2)) v = -v;
  } else if (r < 6) {
    v = (double)rndr(-100, 100) + (rndn(2) ? 0.5 : (double)(rnd() >> 11) / 9007199254740992.0);
  } else if (r < 8) {
    uint64_t b = (rndn(2) ? (1ull << 63) : 0) | ((uint64_t)rndr(1023 - 3, 1023 + 66) << 52) | (rnd() & FM64.fracm);
    v = D(b);
  } else {
    return src32 ? interesting(&FM32) : interesting(&FM64);
  }
  return src32 ? BF((float)v) : BD(v);
}

static uint64_t gen_int(int op) {
  int is32 = op == I32_TO_F32 || op == U32_TO_F32 || op == I32_TO_F64 || op == U32_TO_F64;
  int sgn = op == I32_TO_F32 || op == I64_TO_F32 || op == I32_TO_F64 || op == I64_TO_F64;
  int dstp = (op <= U64_TO_F32) ? 24 : 53;
  int W = is32 ? 32 : 64;
  uint64_t v;
  int r = (int)rndn(10);
  if (r < 3) {
    int k = (int)rndr(1, W);
    v = (k == 64) ? rnd() : (rnd() & ((1ull << k) - 1)) | (1ull << (k - 1));
  } else if (r < 6) { /* ties and near-ties at the destination precision */
    int k = dstp + 1 + (int)rndr(0, 1);
    if (k > W - sgn) k = W - sgn;
    v = rand_odd(k);
    if (k > dstp && rndn(2)) v &= ~((1ull << (k - dstp)) - 1), v |= 1ull << (k - dstp - 1); /* exact midpoint */
    int room = W - sgn - k;
    if (room > 0) v <<= rndn((uint64_t)room + 1);
  } else if (r < 8) {
    static const uint64_t edges[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x1000000, 0x1000001,
                                     0x20000000000000ull, 0x20000000000001ull, 0x7fffffffffffffffull,
                                     0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffff800ull,
                                     0x7ffffffffffffc00ull, 0xffffff8000000000ull};
    v = edges[rndn(sizeof edges / sizeof edges[0])] + (uint64_t)rndr(-1, 1);
  } else {
    v = rnd();
  }
  if (sgn && rndn(2)) v = (uint64_t)(-(int64_t)v);
  if (is32) v = sgn ? (uint64_t)(int64_t)(int32_t)v : (v & 0xffffffffull);
  return v;
}

static uint64_t gen_f64_for_f32(void) {
  int r = (int)rndn(10);
  if (r < 2) return rnd();
  if (r < 4) return interesting(&FM64);
  if (r < 7) { /* inside/around the binary32 range, incl. its subnormals */
    return (rndn(2) ? (1ull << 63) : 0) | ((uint64_t)rndr(1023 - 152, 1023 + 129) << 52) | (rnd() & FM64.fracm);
  }
  /* binary32 values, midpoints and near-midpoints, including subnormal ones and near overflow */
  uint64_t f = rnd() & 0x7fffffff;
  int kind = (int)rndn(4);
  if (kind == 1) f = (f & 0x7fffff) | ((uint64_t)rndr(0, 2) << 23);
  if (kind == 2) f = 0x7f7fffff - rndn(4);
  double d = F(f);
  if (isnan(d) || isinf(d)) d = 1.5;
  uint64_t b = BD(d);
  int lowbits = (f & 0x7f800000) ? 29 : 29 + (int)(23 - (bitlen(f & 0x7fffff) - 1)); /* grid spacing */
  if (lowbits > 52) lowbits = 52;
  uint64_t half = 1ull << (lowbits - 1);
  switch (rndn(4)) {
  case 0: b += half; break;
  case 1: b += half + 1; break;
  case 2: b += half - 1; break;
  default: b += rndn(half * 2); break;
  }
  if (rndn(2)) b |= 1ull << 63;
  return b;
}

static void gen_misc(const Fmt *f, uint64_t *a, uint64_t *b) {
  int r = (int)rndn(10);
  if (r < 3) { *a = interesting(f); *b = interesting(f); }
  else if (r < 5) { *a = rbits(f); *b = rbits(f); }
  else if (r < 7) { *a = interesting(f); *b = *a; if (rndn(3) == 0) *b ^= f->sign; }
  else if (r < 8) { *a = rndn(2) ? f->sign : 0; *b = rndn(2) ? f->sign : 0; }
  else { *a = interesting(f); *b = *a + rndr(-2, 2); if (f == &FM32) *b &= 0xffffffffull; }
  if (rndn(2)) { uint64_t t = *a; *a = *b; *b = t; }
}

/* ------------------------------------------------------------------ output */
static unsigned char *buf;
static size_t blen, bcap;
static uint32_t nrec;
static void put(const void *p, size_t n) {
  if (blen + n > bcap) { bcap = bcap ? bcap * 2 : 1 << 20; buf = realloc(buf, bcap); if (!buf) exit(2); }
  memcpy(buf + blen, p, n);
  blen += n;
}
static void put64(uint64_t v) { unsigned char b[8]; for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i)); put(b, 8); }
static void emit(int op, int rm, int fl, int nops, uint64_t a, uint64_t b, uint64_t c, uint64_t r) {
  unsigned char h[4] = {(unsigned char)op, (unsigned char)rm, (unsigned char)fl, (unsigned char)nops};
  put(h, 4);
  if (nops > 0) put64(a);
  if (nops > 1) put64(b);
  if (nops > 2) put64(c);
  put64(r);
  nrec++;
}

/* ------------------------------------------------------------------ host self-check */
static void selfcheck(void) {
  int fl;
  /* 1. Tininess after rounding: (2^54-1) * 2^-1076 = 0.75 * (6004799503160661 * 2^-1074) is below
   *    2^-1022 but rounds (unbounded exponent, 53 bits, ties-to-even) to 2^-1022: not tiny after
   *    rounding, so UF must be clear (it would be set with before-rounding detection). */
  uint64_t r = x86(F64_MUL, FE_TONEAREST, BD(0.75), BD(6004799503160661.0 * 0x1p-1074), 0, &fl);
  if (r != 0x0010000000000000ull || fl != NX) { fprintf(stderr, "selfcheck 1 failed: %llx %d\n", (unsigned long long)r, fl); exit(3); }
  /* same for binary64 -> binary32: 2^-126 * (1 - 2^-25) is a tie that rounds up to 2^-126 */
  r = x86(F64_TO_F32, FE_TONEAREST, BD(0x1p-126 * (1 - 0x1p-25)), 0, 0, &fl);
  if (r != 0x00800000 || fl != NX) { fprintf(stderr, "selfcheck 2 failed: %llx %d\n", (unsigned long long)r, fl); exit(3); }
  /* 3. an exact subnormal result raises no UF (masked underflow: tiny AND inexact) */
  r = x86(F64_MUL, FE_TONEAREST, BD(0x1p-1022), BD(0.5), 0, &fl);
  if (r != 0x0008000000000000ull || fl != 0) { fprintf(stderr, "selfcheck 3 failed\n"); exit(3); }
  /* 4. tiny and inexact raises UF|NX */
  r = x86(F64_MUL, FE_TONEAREST, BD(0x1p-1022), BD(1.0 / 3), 0, &fl);
  if (fl != (UF | NX)) { fprintf(stderr, "selfcheck 4 failed\n"); exit(3); }
  /* 5. the compiler's u64 -> float/double conversions agree with a single rounding of the exact value */
  for (int i = 0; i < 20000; i++) {
    uint64_t v = rnd() >> rndn(40);
    for (int m = 0; m < 4; m++) {
      int f1;
      uint64_t r1 = x86(U64_TO_F64, X86RM[m], v, 0, 0, &f1);
      uint64_t r2 = x86(U64_TO_F32, X86RM[m], v, 0, 0, &f1);
      fesetround(X86RM[m]);
      volatile long double lv = (long double)v; /* exact */
      volatile double dd = (double)lv;
      volatile float ff = (float)lv;
      fesetround(FE_TONEAREST);
      if (r1 != BD(dd) || r2 != BF(ff)) { fprintf(stderr, "selfcheck 5 failed for %llx\n", (unsigned long long)v); exit(3); }
    }
  }
}

/* usage: gen [seed-hex [scale]]  (defaults: the committed vector file; a larger scale for stress runs) */
int main(int argc, char **argv) {
  selfcheck();
  double scale = 1.0;
  if (argc > 1) seed = strtoull(argv[1], 0, 16);
  if (argc > 2) scale = atof(argv[2]);
  const int N_ARITH = (int)(400 * scale), N_TIE = (int)(60 * scale), N_MISC = (int)(400 * scale),
            N_F2I = (int)(250 * scale), N_I2F = (int)(150 * scale), N_F2F = (int)(500 * scale);
  for (int op = F32_ADD; op <= F64_FMA; op++) {
    const Fmt *f = op <= F32_FMA ? &FM32 : &FM64;
    int nops = (op % 6 == 4) ? 1 : (op % 6 == 5) ? 3 : 2;
    for (int i = 0; i < N_ARITH + (op % 6 == 4 ? 0 : N_TIE); i++) {
      uint64_t a, b, c;
      if (i < N_ARITH) gen_arith(op, f, &a, &b, &c);
      else gen_tie(op, f, &a, &b, &c);
      if (f == &FM32) a &= 0xffffffffull, b &= 0xffffffffull, c &= 0xffffffffull;
      if (nops < 3) c = 0;
      if (nops < 2) b = 0;
      for (int rm = 0; rm < 5; rm++) {
        int fl;
        uint64_t r = ref_round(op, rm, a, b, c, &fl);
        emit(op, rm, fl, nops, a, b, c, r);
      }
    }
  }
  /* every combination of {+-0, +-inf, +-1, qNaN, sNaN} for every arithmetic op and mode */
  for (int op = F32_ADD; op <= F64_FMA; op++) {
    int is32 = op <= F32_FMA;
    static const uint64_t S32[8] = {0, 0x80000000, 0x7f800000, 0xff800000, 0x3f800000, 0xbf800000, 0x7fc00000, 0x7f800001};
    static const uint64_t S64[8] = {0, 1ull << 63, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x3ff0000000000000ull,
                                    0xbff0000000000000ull, 0x7ff8000000000000ull, 0x7ff0000000000001ull};
    const uint64_t *S = is32 ? S32 : S64;
    int nops = (op % 6 == 4) ? 1 : (op % 6 == 5) ? 3 : 2;
    int lim = nops == 1 ? 8 : nops == 2 ? 64 : 512;
    for (int k = 0; k < lim; k++) {
      uint64_t a = S[k & 7], b = nops > 1 ? S[(k >> 3) & 7] : 0, c = nops > 2 ? S[k >> 6] : 0;
      for (int rm = 0; rm < 5; rm++) {
        int fl;
        uint64_t r = ref_round(op, rm, a, b, c, &fl);
        emit(op, rm, fl, nops, a, b, c, r);
      }
    }
  }
  for (int op = F32_EQ; op <= F64_CLASSIFY; op++) {
    const Fmt *f = op <= F32_CLASSIFY ? &FM32 : &FM64;
    int nops = (op == F32_CLASSIFY || op == F64_CLASSIFY) ? 1 : 2;
    for (int i = 0; i < N_MISC; i++) {
      uint64_t a, b;
      gen_misc(f, &a, &b);
      if (nops < 2) b = 0;
      int fl;
      uint64_t r = ref_misc(op, a, b, &fl);
      emit(op, 0, fl, nops, a, b, 0, r);
    }
  }
  for (int op = F32_TO_I32; op <= F64_TO_U64; op++) {
    int src32 = op <= F32_TO_U64;
    for (int i = 0; i < N_F2I; i++) {
      uint64_t a = gen_float_for_int(src32, op - (src32 ? F32_TO_I32 : F64_TO_I32));
      for (int rm = 0; rm < 5; rm++) {
        int fl;
        uint64_t r = ref_cvt_int(op, rm, a, &fl);
        emit(op, rm, fl, 1, a, 0, 0, r);
      }
    }
  }
  for (int op = I32_TO_F32; op <= U64_TO_F64; op++) {
    for (int i = 0; i < N_I2F; i++) {
      uint64_t a = gen_int(op);
      for (int rm = 0; rm < 5; rm++) {
        int fl;
        uint64_t r = ref_round(op, rm, a, 0, 0, &fl);
        emit(op, rm, fl, 1, a, 0, 0, r);
      }
    }
  }
  for (int i = 0; i < N_MISC; i++) {
    uint64_t a = (i & 1) ? interesting(&FM32) : rbits(&FM32);
    int fl;
    uint64_t r = ref_round(F32_TO_F64, RNE, a, 0, 0, &fl);
    emit(F32_TO_F64, 0, fl, 1, a, 0, 0, r);
  }
  for (int i = 0; i < N_F2F; i++) {
    uint64_t a = gen_f64_for_f32();
    for (int rm = 0; rm < 5; rm++) {
      int fl;
      uint64_t r = ref_round(F64_TO_F32, rm, a, 0, 0, &fl);
      emit(F64_TO_F32, rm, fl, 1, a, 0, 0, r);
    }
  }
  unsigned char hdr[12] = {'F', 'P', 'U', 'V', 1, 0, 0, 0};
  for (int i = 0; i < 4; i++) hdr[8 + i] = (unsigned char)(nrec >> (8 * i));
  fwrite(hdr, 1, 12, stdout);
  fwrite(buf, 1, blen, stdout);
  fprintf(stderr, "%u vectors, %zu bytes\n", nrec, blen + 12);
  return 0;
}
