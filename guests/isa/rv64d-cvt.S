/* RV64D conversions: fcvt between double and int32/uint32/int64/uint64, fcvt.s.d and fcvt.d.s, NaNs. */
#include "fptest.h"

TEST_BEGIN rv64d-cvt
  FP_ENABLE

  /* fcvt.w.d (11.7): every rounding mode; 2.5 and -1.5 are ties */
  TEST_FCVT_XF fcvt.w.d, rne, 0x4004000000000000, d, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.d, rtz, 0x4004000000000000, d, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.d, rdn, 0x4004000000000000, d, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.d, rup, 0x4004000000000000, d, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.w.d, rmm, 0x4004000000000000, d, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.w.d, rne, 0xbff8000000000000, d, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.w.d, rtz, 0xbff8000000000000, d, 0xffffffffffffffff, 0x01
  TEST_FCVT_XF fcvt.w.d, rdn, 0xbff8000000000000, d, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.w.d, rup, 0xbff8000000000000, d, 0xffffffffffffffff, 0x01
  TEST_FCVT_XF fcvt.w.d, rmm, 0xbff8000000000000, d, 0xfffffffffffffffe, 0x01

  /* fcvt.w.d: exact (no NX), -0, 0.5; invalid (NV, no NX): NaN -> 2^31-1, +-inf, out of range; results sign-extended */
  TEST_FCVT_XF fcvt.w.d, rne, 0x3ff0000000000000, d, 0x0000000000000001, 0x00
  TEST_FCVT_XF fcvt.w.d, rne, 0xc01c000000000000, d, 0xfffffffffffffff9, 0x00
  TEST_FCVT_XF fcvt.w.d, rne, 0x3fe0000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.w.d, rtz, 0xbfec000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.w.d, rne, 0x8000000000000000, d, 0x0000000000000000, 0x00
  TEST_FCVT_XF fcvt.w.d, rne, 0x7ff8000000000000, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rne, 0x7ff0000000000001, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rne, 0xfff8000000000000, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rne, 0x7ff0000000000000, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rne, 0xfff0000000000000, d, 0xffffffff80000000, 0x10
  TEST_FCVT_XF fcvt.w.d, rtz, 0x41e0000000000000, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rtz, 0xc1e0000000000000, d, 0xffffffff80000000, 0x00
  TEST_FCVT_XF fcvt.w.d, rtz, 0xc1e0000000200000, d, 0xffffffff80000000, 0x10
  TEST_FCVT_XF fcvt.w.d, rtz, 0x41dfffffffc00000, d, 0x000000007fffffff, 0x00

  /* fcvt.w.d: rounding can push an in-range value out of range (and the other way) */
  TEST_FCVT_XF fcvt.w.d, rne, 0x41dfffffffe00000, d, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.d, rtz, 0x41dfffffffe00000, d, 0x000000007fffffff, 0x01
  TEST_FCVT_XF fcvt.w.d, rne, 0xc1e0000000100000, d, 0xffffffff80000000, 0x01
  TEST_FCVT_XF fcvt.w.d, rdn, 0xc1e0000000100000, d, 0xffffffff80000000, 0x10

  /* fcvt.wu.d: negative values that round to 0 are valid (NX only); below that NV and 0; NaN -> 2^32-1
     (sign-extended like every 32-bit result) */
  TEST_FCVT_XF fcvt.wu.d, rne, 0x4004000000000000, d, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.wu.d, rmm, 0x4004000000000000, d, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.wu.d, rtz, 0xbfe0000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.d, rne, 0xbfe0000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.d, rdn, 0xbfe0000000000000, d, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.wu.d, rup, 0xbfec000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.d, rne, 0xbff0000000000000, d, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.wu.d, rne, 0x41f0000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.d, rne, 0x41efffffe0000000, d, 0xffffffffffffff00, 0x00
  TEST_FCVT_XF fcvt.wu.d, rne, 0x41e65a0bc0000000, d, 0xffffffffb2d05e00, 0x00
  TEST_FCVT_XF fcvt.wu.d, rne, 0x3ff0000000000000, d, 0x0000000000000001, 0x00
  TEST_FCVT_XF fcvt.wu.d, rne, 0x7ff8000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.d, rne, 0x7ff0000000000001, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.d, rne, 0x7ff0000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.d, rne, 0xfff0000000000000, d, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.wu.d, rup, 0x41effffffff00000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.d, rdn, 0x41effffffff00000, d, 0xffffffffffffffff, 0x01

  /* fcvt.l.d / fcvt.lu.d: 64-bit results and saturation */
  TEST_FCVT_XF fcvt.l.d, rne, 0x4004000000000000, d, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.l.d, rmm, 0x4004000000000000, d, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.l.d, rdn, 0xc004000000000000, d, 0xfffffffffffffffd, 0x01
  TEST_FCVT_XF fcvt.l.d, rup, 0xc004000000000000, d, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.l.d, rup, 0xbfe0000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.l.d, rne, 0x43e0000000000000, d, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.d, rne, 0xc3e0000000000000, d, 0x8000000000000000, 0x00
  TEST_FCVT_XF fcvt.l.d, rne, 0x43d0000000000000, d, 0x4000000000000000, 0x00
  TEST_FCVT_XF fcvt.l.d, rne, 0xc3f0000000000000, d, 0x8000000000000000, 0x10
  TEST_FCVT_XF fcvt.l.d, rne, 0x4202a05f20000000, d, 0x00000002540be400, 0x00
  TEST_FCVT_XF fcvt.l.d, rne, 0x7ff8000000000000, d, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.d, rne, 0x7ff0000000000001, d, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.d, rne, 0x7ff0000000000000, d, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.d, rne, 0xfff0000000000000, d, 0x8000000000000000, 0x10
  TEST_FCVT_XF fcvt.lu.d, rmm, 0x4004000000000000, d, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.lu.d, rtz, 0xbfe0000000000000, d, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.lu.d, rup, 0x3fe8000000000000, d, 0x0000000000000001, 0x01
  TEST_FCVT_XF fcvt.lu.d, rne, 0xbff0000000000000, d, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.lu.d, rne, 0x43f0000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.d, rne, 0x43e0000000000000, d, 0x8000000000000000, 0x00
  TEST_FCVT_XF fcvt.lu.d, rne, 0x43efffffe0000000, d, 0xffffff0000000000, 0x00
  TEST_FCVT_XF fcvt.lu.d, rne, 0x7ff8000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.d, rne, 0x7ff0000000000001, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.d, rne, 0x7ff0000000000000, d, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.d, rne, 0xfff0000000000000, d, 0x0000000000000000, 0x10

  /* fcvt.d.w/wu/l/lu: integer -> float, rounded by rm when inexact; W forms use bits 31:0 only */
  TEST_FCVT_FX fcvt.d.w, none, 0xffffffffffffffff, d, 0xbff0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x0000000000000000, d, 0x0000000000000000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x0000000080000000, d, 0xc1e0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x0000000100000001, d, 0x3ff0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x000000007fffffff, d, 0x41dfffffffc00000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x000000007fffffff, d, 0x41dfffffffc00000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x0000000001000001, d, 0x4170000010000000, 0x00
  TEST_FCVT_FX fcvt.d.w, none, 0x0000000001000001, d, 0x4170000010000000, 0x00
  TEST_FCVT_FX fcvt.d.wu, none, 0x00000000ffffffff, d, 0x41efffffffe00000, 0x00
  TEST_FCVT_FX fcvt.d.wu, none, 0x00000000ffffffff, d, 0x41efffffffe00000, 0x00
  TEST_FCVT_FX fcvt.d.wu, none, 0x0000000080000000, d, 0x41e0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.wu, none, 0xffffffff00000003, d, 0x4008000000000000, 0x00
  TEST_FCVT_FX fcvt.d.l, rne, 0x7fffffffffffffff, d, 0x43e0000000000000, 0x01
  TEST_FCVT_FX fcvt.d.l, rtz, 0x7fffffffffffffff, d, 0x43dfffffffffffff, 0x01
  TEST_FCVT_FX fcvt.d.l, rne, 0x8000000000000000, d, 0xc3e0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.l, rne, 0xffffffffffffffff, d, 0xbff0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.l, rne, 0x0020000000000001, d, 0x4340000000000000, 0x01
  TEST_FCVT_FX fcvt.d.l, rup, 0x0020000000000001, d, 0x4340000000000001, 0x01
  TEST_FCVT_FX fcvt.d.l, rne, 0x0000000001000001, d, 0x4170000010000000, 0x00
  TEST_FCVT_FX fcvt.d.l, rup, 0x0000000001000001, d, 0x4170000010000000, 0x00
  TEST_FCVT_FX fcvt.d.l, rdn, 0xfffffffffeffffff, d, 0xc170000010000000, 0x00
  TEST_FCVT_FX fcvt.d.lu, rne, 0xffffffffffffffff, d, 0x43f0000000000000, 0x01
  TEST_FCVT_FX fcvt.d.lu, rdn, 0xffffffffffffffff, d, 0x43efffffffffffff, 0x01
  TEST_FCVT_FX fcvt.d.lu, rne, 0x8000000000000000, d, 0x43e0000000000000, 0x00
  TEST_FCVT_FX fcvt.d.lu, rne, 0x0000000000003039, d, 0x40c81c8000000000, 0x00

  /* fcvt.s.d (11.7/12.5): rounded by rm; overflow; NaNs become the canonical single NaN (NV for sNaN) */
  TEST_FCVT_FF fcvt.s.d, rne, 0x3fd5555555555555, d, s, 0x3eaaaaab, 0x01
  TEST_FCVT_FF fcvt.s.d, rtz, 0x3fd5555555555555, d, s, 0x3eaaaaaa, 0x01
  TEST_FCVT_FF fcvt.s.d, rup, 0x3fd5555555555555, d, s, 0x3eaaaaab, 0x01
  TEST_FCVT_FF fcvt.s.d, rne, 0x3ff8000000000000, d, s, 0x3fc00000, 0x00
  TEST_FCVT_FF fcvt.s.d, rne, 0x7e37e43c8800759c, d, s, 0x7f800000, 0x05
  TEST_FCVT_FF fcvt.s.d, rtz, 0x7e37e43c8800759c, d, s, 0x7f7fffff, 0x05
  TEST_FCVT_FF fcvt.s.d, rne, 0xfe37e43c8800759c, d, s, 0xff800000, 0x05
  TEST_FCVT_FF fcvt.s.d, rne, 0x35f0000000000000, d, s, 0x00000000, 0x03
  TEST_FCVT_FF fcvt.s.d, rne, 0x3730000000000000, d, s, 0x00000200, 0x00
  TEST_FCVT_FF fcvt.s.d, rne, 0x8000000000000000, d, s, 0x80000000, 0x00
  TEST_FCVT_FF fcvt.s.d, rne, 0x7ff8000000012345, d, s, 0x7fc00000, 0x00
  TEST_FCVT_FF fcvt.s.d, rne, 0x7ff0000000000001, d, s, 0x7fc00000, 0x10
  TEST_FCVT_FF fcvt.s.d, rne, 0xfff0000000000000, d, s, 0xff800000, 0x00

  /* fcvt.d.s: exact; NaNs become the canonical double NaN (NV for sNaN); an improperly NaN-boxed
     single is the canonical NaN (quiet: no NV) */
  TEST_FCVT_FF fcvt.d.s, none, 0x3eaaaaab, s, d, 0x3fd5555560000000, 0x00
  TEST_FCVT_FF fcvt.d.s, none, 0x00000001, s, d, 0x36a0000000000000, 0x00
  TEST_FCVT_FF fcvt.d.s, none, 0x80000000, s, d, 0x8000000000000000, 0x00
  TEST_FCVT_FF fcvt.d.s, none, 0xff800000, s, d, 0xfff0000000000000, 0x00
  TEST_FCVT_FF fcvt.d.s, none, 0x7fc12345, s, d, 0x7ff8000000000000, 0x00
  TEST_FCVT_FF fcvt.d.s, none, 0x7f800001, s, d, 0x7ff8000000000000, 0x10
  TEST_FCVT_FF fcvt.d.s, none, 0x7f7fffff, s, d, 0x47efffffe0000000, 0x00
  li a0, 0x000000003f800000 /* 1.0f without the NaN box */
  fmv.d.x fa1, a0
  csrwi fflags, 0
  fcvt.d.s fa0, fa1
  CHECK_F64 fa0, CANON_D
  CHECK_FFLAGS 0
  li a0, 0x7ff0000000000001 /* fcvt.s.d of an sNaN (NV), result NaN-boxed */
  fmv.d.x fa1, a0
  fcvt.s.d fa0, fa1
  fmv.x.d a0, fa0
  CHECK a0, 0xffffffff7fc00000
  CHECK_FFLAGS FF_NV

TEST_END
