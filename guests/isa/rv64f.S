/* RV64F single precision arithmetic: rounding modes (static/dynamic), fflags, fcsr aliasing, NaNs, fused multiply-add, fsqrt. */
#include "fptest.h"

TEST_BEGIN rv64f
  FP_ENABLE

  /* fcsr = frm[7:5] | fflags[4:0]; frm and fflags are views of it (F 11.2) */
  li a0, 0xff
  csrw fcsr, a0
  CHECK_CSR fcsr, 0xff
  CHECK_CSR frm, 7
  CHECK_CSR fflags, 0x1f
  csrwi frm, 3
  CHECK_CSR fcsr, 0x7f
  csrwi fflags, 5
  CHECK_CSR fcsr, 0x65
  csrrs a0, fflags, 0x1a    /* csrrs returns the old value and sets bits */
  CHECK a0, 5
  csrrc a0, fflags, 0x03
  CHECK a0, 0x1f
  CHECK_CSR fcsr, 0x7c
  li a0, -1
  csrw fflags, a0           /* only 5 bits are writable */
  CHECK_CSR fcsr, 0x7f
  li a0, 0xfff
  csrw fcsr, a0             /* bits 31:8 read as zero without other extensions */
  CHECK_CSR fcsr, 0xff
  csrw fcsr, zero
  CHECK_CSR fcsr, 0

  /* rounding modes, static rm field (F 11.2, table 11.1): 1 + 0.75 ulp, 1 + 0.5 ulp (tie, even below),
     -(1 + 0.25 ulp); each mode gives a different pattern */
  TEST_FRR fadd, s, rne, 0x3f800000, 0x33c00000, 0x3f800001, 0x01
  TEST_FRR fadd, s, rtz, 0x3f800000, 0x33c00000, 0x3f800000, 0x01
  TEST_FRR fadd, s, rdn, 0x3f800000, 0x33c00000, 0x3f800000, 0x01
  TEST_FRR fadd, s, rup, 0x3f800000, 0x33c00000, 0x3f800001, 0x01
  TEST_FRR fadd, s, rmm, 0x3f800000, 0x33c00000, 0x3f800001, 0x01
  TEST_FRR fadd, s, rne, 0x3f800000, 0x33800000, 0x3f800000, 0x01
  TEST_FRR fadd, s, rtz, 0x3f800000, 0x33800000, 0x3f800000, 0x01
  TEST_FRR fadd, s, rdn, 0x3f800000, 0x33800000, 0x3f800000, 0x01
  TEST_FRR fadd, s, rup, 0x3f800000, 0x33800000, 0x3f800001, 0x01
  TEST_FRR fadd, s, rmm, 0x3f800000, 0x33800000, 0x3f800001, 0x01
  TEST_FRR fadd, s, rne, 0xbf800000, 0xb3000000, 0xbf800000, 0x01
  TEST_FRR fadd, s, rtz, 0xbf800000, 0xb3000000, 0xbf800000, 0x01
  TEST_FRR fadd, s, rdn, 0xbf800000, 0xb3000000, 0xbf800001, 0x01
  TEST_FRR fadd, s, rup, 0xbf800000, 0xb3000000, 0xbf800000, 0x01
  TEST_FRR fadd, s, rmm, 0xbf800000, 0xb3000000, 0xbf800000, 0x01

  /* dynamic rounding (rm = dyn uses frm): -(1 + 0.75 ulp) under each frm, and the tie 1 + 1.5 ulp */
  csrwi frm, 0
  TEST_FRR fadd, s, dyn, 0xbf800000, 0xb3c00000, 0xbf800001, 0x01
  csrwi frm, 1
  TEST_FRR fadd, s, dyn, 0xbf800000, 0xb3c00000, 0xbf800000, 0x01
  csrwi frm, 2
  TEST_FRR fadd, s, dyn, 0xbf800000, 0xb3c00000, 0xbf800001, 0x01
  csrwi frm, 3
  TEST_FRR fadd, s, dyn, 0xbf800000, 0xb3c00000, 0xbf800000, 0x01
  csrwi frm, 4
  TEST_FRR fadd, s, dyn, 0xbf800000, 0xb3c00000, 0xbf800001, 0x01
  csrwi frm, 0
  TEST_FRR fadd, s, dyn, 0x3f800001, 0x33800000, 0x3f800002, 0x01
  csrwi frm, 4
  TEST_FRR fadd, s, dyn, 0x3f800001, 0x33800000, 0x3f800002, 0x01

  /* a static rm overrides frm (frm = rup, rm = rdn) */
  csrwi frm, 3
  TEST_FRR fadd, s, rdn, 0x3f800000, 0x33c00000, 0x3f800000, 0x01
  csrwi frm, 0

  /* fsub/fmul/fdiv/fsqrt/fmadd are rounded by rm too */
  TEST_FRR fsub, s, rtz, 0x3f800000, 0x33000000, 0x3f7fffff, 0x01
  TEST_FRR fsub, s, rne, 0x3f800000, 0x33000000, 0x3f800000, 0x01
  TEST_FRR fmul, s, rne, 0x3f800001, 0x3f800001, 0x3f800002, 0x01
  TEST_FRR fmul, s, rup, 0x3f800001, 0x3f800001, 0x3f800003, 0x01
  TEST_FRR fdiv, s, rdn, 0x3f800000, 0x40400000, 0x3eaaaaaa, 0x01
  TEST_FRR fdiv, s, rup, 0x3f800000, 0x40400000, 0x3eaaaaab, 0x01
  TEST_FRR fdiv, s, rtz, 0xbf800000, 0x40400000, 0xbeaaaaaa, 0x01
  TEST_FRR fdiv, s, rdn, 0xbf800000, 0x40400000, 0xbeaaaaab, 0x01
  TEST_FR fsqrt, s, rdn, 0x40000000, 0x3fb504f3, 0x01
  TEST_FR fsqrt, s, rup, 0x40000000, 0x3fb504f4, 0x01
  TEST_FRRR fmadd, s, rdn, 0x40400000, 0x3f800001, 0x33800000, 0x40400001, 0x01
  TEST_FRRR fmadd, s, rup, 0x40400000, 0x3f800001, 0x33800000, 0x40400002, 0x01

  /* exception flags (11.2): NV, DZ, OF, UF, NX and the results that go with them */
  TEST_FRR fmul, s, rne, 0x00000000, 0x7f800000, 0x7fc00000, 0x10
  TEST_FRR fadd, s, rne, 0x7f800000, 0xff800000, 0x7fc00000, 0x10
  TEST_FRR fsub, s, rne, 0x7f800000, 0x7f800000, 0x7fc00000, 0x10
  TEST_FRR fdiv, s, rne, 0x3f800000, 0x00000000, 0x7f800000, 0x08
  TEST_FRR fdiv, s, rne, 0xbf800000, 0x00000000, 0xff800000, 0x08
  TEST_FRR fdiv, s, rne, 0x3f800000, 0x80000000, 0xff800000, 0x08
  TEST_FRR fdiv, s, rne, 0x00000000, 0x00000000, 0x7fc00000, 0x10
  TEST_FRR fdiv, s, rne, 0x7f800000, 0x7f800000, 0x7fc00000, 0x10
  TEST_FRR fdiv, s, rne, 0x40c00000, 0x40400000, 0x40000000, 0x00
  TEST_FRR fdiv, s, rne, 0x3f800000, 0x7f800000, 0x00000000, 0x00
  TEST_FRR fmul, s, rne, 0x7f7fffff, 0x40000000, 0x7f800000, 0x05
  TEST_FRR fmul, s, rtz, 0x7f7fffff, 0x40000000, 0x7f7fffff, 0x05
  TEST_FRR fmul, s, rdn, 0xff7fffff, 0x40000000, 0xff800000, 0x05
  TEST_FRR fmul, s, rup, 0xff7fffff, 0x40000000, 0xff7fffff, 0x05
  TEST_FRR fadd, s, rne, 0x7f7fffff, 0x7f7fffff, 0x7f800000, 0x05
  TEST_FRR fmul, s, rne, 0x00000001, 0x3f000000, 0x00000000, 0x03
  TEST_FRR fmul, s, rup, 0x00000001, 0x3f000000, 0x00000001, 0x03
  TEST_FRR fmul, s, rne, 0x00000003, 0x3f400000, 0x00000002, 0x03
  TEST_FRR fmul, s, rne, 0x04800000, 0x35800000, 0x00000800, 0x00

  /* signed zeros: x - x = +0 (rdn: -0), -0 + -0 = -0 */
  TEST_FRR fsub, s, rne, 0x40400000, 0x40400000, 0x00000000, 0x00
  TEST_FRR fsub, s, rdn, 0x40400000, 0x40400000, 0x80000000, 0x00
  TEST_FRR fadd, s, rne, 0x80000000, 0x80000000, 0x80000000, 0x00
  TEST_FRR fadd, s, rne, 0x80000000, 0x00000000, 0x00000000, 0x00

  /* NaN inputs give the canonical NaN (11.3); only signaling NaNs raise NV */
  TEST_FRR fadd, s, rne, 0x7f800001, 0x3f800000, 0x7fc00000, 0x10
  TEST_FRR fmul, s, rne, 0x3f800000, 0xff800001, 0x7fc00000, 0x10
  TEST_FRR fadd, s, rne, 0x7fc00123, 0x3f800000, 0x7fc00000, 0x00
  TEST_FRR fsub, s, rne, 0x3f800000, 0xffc00123, 0x7fc00000, 0x00

  /* fused multiply-add (11.6): one rounding. (1+u)(1+u) = 1+2u+u^2 exactly, so fmadd with c = -(1+2u)
     gives u^2, while a separately rounded multiply would give 0 */
  TEST_FRRR fmadd, s, rne, 0x3f800001, 0x3f800001, 0xbf800002, 0x28800000, 0x00
  TEST_FRRR fmsub, s, rne, 0x3f800001, 0x3f800001, 0x3f800002, 0x28800000, 0x00
  TEST_FRRR fnmadd, s, rne, 0x3f800001, 0x3f800001, 0xbf800002, 0xa8800000, 0x00
  TEST_FRRR fnmsub, s, rne, 0x3f800001, 0x3f800001, 0x3f800002, 0xa8800000, 0x00

  /* fmadd/fmsub/fnmadd/fnmsub sign conventions: (a*b)+c, (a*b)-c, -(a*b)-c, -(a*b)+c */
  TEST_FRRR fmadd, s, rne, 0x40000000, 0x40400000, 0x3f800000, 0x40e00000, 0x00
  TEST_FRRR fmsub, s, rne, 0x40000000, 0x40400000, 0x3f800000, 0x40a00000, 0x00
  TEST_FRRR fnmadd, s, rne, 0x40000000, 0x40400000, 0x3f800000, 0xc0e00000, 0x00
  TEST_FRRR fnmsub, s, rne, 0x40000000, 0x40400000, 0x3f800000, 0xc0a00000, 0x00

  /* fma invalid cases: inf*0 + qNaN raises NV (11.6); inf*1 - inf; NaN addend alone is quiet */
  TEST_FRRR fmadd, s, rne, 0x7f800000, 0x00000000, 0x7fc00000, 0x7fc00000, 0x10
  TEST_FRRR fmadd, s, rne, 0x7f800000, 0x3f800000, 0xff800000, 0x7fc00000, 0x10
  TEST_FRRR fmadd, s, rne, 0x3f800000, 0x3f800000, 0x7fc00123, 0x7fc00000, 0x00
  TEST_FRRR fmadd, s, rne, 0x3f800000, 0x3f800000, 0x7f800001, 0x7fc00000, 0x10

  /* fsqrt (11.6): exact, inexact, -0 -> -0, +inf, negative/-inf -> canonical NaN + NV, sNaN */
  TEST_FR fsqrt, s, rne, 0x40800000, 0x40000000, 0x00
  TEST_FR fsqrt, s, rne, 0x40000000, 0x3fb504f3, 0x01
  TEST_FR fsqrt, s, rne, 0x80000000, 0x80000000, 0x00
  TEST_FR fsqrt, s, rne, 0x7f800000, 0x7f800000, 0x00
  TEST_FR fsqrt, s, rne, 0xbf800000, 0x7fc00000, 0x10
  TEST_FR fsqrt, s, rne, 0xff800000, 0x7fc00000, 0x10
  TEST_FR fsqrt, s, rne, 0x7f800001, 0x7fc00000, 0x10
  TEST_FR fsqrt, s, rne, 0x7fc00123, 0x7fc00000, 0x00
  TEST_FR fsqrt, s, rne, 0x3e800000, 0x3f000000, 0x00

  /* flags accumulate: later operations do not clear earlier flags */
  csrwi fflags, 0
  FLI fa1, 0x3f800000, s
  FLI fa2, 0x00000000, s
  FLI fa3, 0x40400000, s
  fdiv.s fa0, fa1, fa2      /* DZ */
  fdiv.s fa0, fa1, fa3      /* NX */
  CHECK_CSR fflags, FF_DZ | FF_NX
  fadd.s fa0, fa1, fa1      /* exact: no change */
  CHECK_CSR fflags, FF_DZ | FF_NX
  fmul.s fa0, fa2, fa0      /* 0 * 2: exact */
  fsqrt.s fa0, fa3          /* NX again */
  CHECK_FFLAGS FF_DZ | FF_NX

TEST_END
