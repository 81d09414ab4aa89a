/* RV64F conversions: fcvt between single and int32/uint32/int64/uint64, rounding, saturation, NV vs NX. */
#include "fptest.h"

TEST_BEGIN rv64f-cvt
  FP_ENABLE

  /* fcvt.w.s (11.7): every rounding mode; 2.5 and -1.5 are ties */
  TEST_FCVT_XF fcvt.w.s, rne, 0x40200000, s, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.s, rtz, 0x40200000, s, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.s, rdn, 0x40200000, s, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.w.s, rup, 0x40200000, s, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.w.s, rmm, 0x40200000, s, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.w.s, rne, 0xbfc00000, s, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.w.s, rtz, 0xbfc00000, s, 0xffffffffffffffff, 0x01
  TEST_FCVT_XF fcvt.w.s, rdn, 0xbfc00000, s, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.w.s, rup, 0xbfc00000, s, 0xffffffffffffffff, 0x01
  TEST_FCVT_XF fcvt.w.s, rmm, 0xbfc00000, s, 0xfffffffffffffffe, 0x01

  /* fcvt.w.s: exact (no NX), -0, 0.5; invalid (NV, no NX): NaN -> 2^31-1, +-inf, out of range; results sign-extended */
  TEST_FCVT_XF fcvt.w.s, rne, 0x3f800000, s, 0x0000000000000001, 0x00
  TEST_FCVT_XF fcvt.w.s, rne, 0xc0e00000, s, 0xfffffffffffffff9, 0x00
  TEST_FCVT_XF fcvt.w.s, rne, 0x3f000000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.w.s, rtz, 0xbf600000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.w.s, rne, 0x80000000, s, 0x0000000000000000, 0x00
  TEST_FCVT_XF fcvt.w.s, rne, 0x7fc00000, s, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.s, rne, 0x7f800001, s, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.s, rne, 0xffc00000, s, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.s, rne, 0x7f800000, s, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.s, rne, 0xff800000, s, 0xffffffff80000000, 0x10
  TEST_FCVT_XF fcvt.w.s, rtz, 0x4f000000, s, 0x000000007fffffff, 0x10
  TEST_FCVT_XF fcvt.w.s, rtz, 0xcf000000, s, 0xffffffff80000000, 0x00
  TEST_FCVT_XF fcvt.w.s, rtz, 0xcf000001, s, 0xffffffff80000000, 0x10
  TEST_FCVT_XF fcvt.w.s, rtz, 0x4effffff, s, 0x000000007fffff80, 0x00

  /* fcvt.wu.s: negative values that round to 0 are valid (NX only); below that NV and 0; NaN -> 2^32-1
     (sign-extended like every 32-bit result) */
  TEST_FCVT_XF fcvt.wu.s, rne, 0x40200000, s, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.wu.s, rmm, 0x40200000, s, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.wu.s, rtz, 0xbf000000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.s, rne, 0xbf000000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.s, rdn, 0xbf000000, s, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.wu.s, rup, 0xbf600000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.wu.s, rne, 0xbf800000, s, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.wu.s, rne, 0x4f800000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.s, rne, 0x4f7fffff, s, 0xffffffffffffff00, 0x00
  TEST_FCVT_XF fcvt.wu.s, rne, 0x4f32d05e, s, 0xffffffffb2d05e00, 0x00
  TEST_FCVT_XF fcvt.wu.s, rne, 0x3f800000, s, 0x0000000000000001, 0x00
  TEST_FCVT_XF fcvt.wu.s, rne, 0x7fc00000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.s, rne, 0x7f800001, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.s, rne, 0x7f800000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.wu.s, rne, 0xff800000, s, 0x0000000000000000, 0x10

  /* fcvt.l.s / fcvt.lu.s: 64-bit results and saturation */
  TEST_FCVT_XF fcvt.l.s, rne, 0x40200000, s, 0x0000000000000002, 0x01
  TEST_FCVT_XF fcvt.l.s, rmm, 0x40200000, s, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.l.s, rdn, 0xc0200000, s, 0xfffffffffffffffd, 0x01
  TEST_FCVT_XF fcvt.l.s, rup, 0xc0200000, s, 0xfffffffffffffffe, 0x01
  TEST_FCVT_XF fcvt.l.s, rup, 0xbf000000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.l.s, rne, 0x5f000000, s, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.s, rne, 0xdf000000, s, 0x8000000000000000, 0x00
  TEST_FCVT_XF fcvt.l.s, rne, 0x5e800000, s, 0x4000000000000000, 0x00
  TEST_FCVT_XF fcvt.l.s, rne, 0xdf800000, s, 0x8000000000000000, 0x10
  TEST_FCVT_XF fcvt.l.s, rne, 0x501502f9, s, 0x00000002540be400, 0x00
  TEST_FCVT_XF fcvt.l.s, rne, 0x7fc00000, s, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.s, rne, 0x7f800001, s, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.s, rne, 0x7f800000, s, 0x7fffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.l.s, rne, 0xff800000, s, 0x8000000000000000, 0x10
  TEST_FCVT_XF fcvt.lu.s, rmm, 0x40200000, s, 0x0000000000000003, 0x01
  TEST_FCVT_XF fcvt.lu.s, rtz, 0xbf000000, s, 0x0000000000000000, 0x01
  TEST_FCVT_XF fcvt.lu.s, rup, 0x3f400000, s, 0x0000000000000001, 0x01
  TEST_FCVT_XF fcvt.lu.s, rne, 0xbf800000, s, 0x0000000000000000, 0x10
  TEST_FCVT_XF fcvt.lu.s, rne, 0x5f800000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.s, rne, 0x5f000000, s, 0x8000000000000000, 0x00
  TEST_FCVT_XF fcvt.lu.s, rne, 0x5f7fffff, s, 0xffffff0000000000, 0x00
  TEST_FCVT_XF fcvt.lu.s, rne, 0x7fc00000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.s, rne, 0x7f800001, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.s, rne, 0x7f800000, s, 0xffffffffffffffff, 0x10
  TEST_FCVT_XF fcvt.lu.s, rne, 0xff800000, s, 0x0000000000000000, 0x10

  /* fcvt.s.w/wu/l/lu: integer -> float, rounded by rm when inexact; W forms use bits 31:0 only */
  TEST_FCVT_FX fcvt.s.w, rne, 0xffffffffffffffff, s, 0xbf800000, 0x00
  TEST_FCVT_FX fcvt.s.w, rne, 0x0000000000000000, s, 0x00000000, 0x00
  TEST_FCVT_FX fcvt.s.w, rne, 0x0000000080000000, s, 0xcf000000, 0x00
  TEST_FCVT_FX fcvt.s.w, rne, 0x0000000100000001, s, 0x3f800000, 0x00
  TEST_FCVT_FX fcvt.s.w, rne, 0x000000007fffffff, s, 0x4f000000, 0x01
  TEST_FCVT_FX fcvt.s.w, rtz, 0x000000007fffffff, s, 0x4effffff, 0x01
  TEST_FCVT_FX fcvt.s.w, rne, 0x0000000001000001, s, 0x4b800000, 0x01
  TEST_FCVT_FX fcvt.s.w, rup, 0x0000000001000001, s, 0x4b800001, 0x01
  TEST_FCVT_FX fcvt.s.wu, rne, 0x00000000ffffffff, s, 0x4f800000, 0x01
  TEST_FCVT_FX fcvt.s.wu, rtz, 0x00000000ffffffff, s, 0x4f7fffff, 0x01
  TEST_FCVT_FX fcvt.s.wu, rne, 0x0000000080000000, s, 0x4f000000, 0x00
  TEST_FCVT_FX fcvt.s.wu, rne, 0xffffffff00000003, s, 0x40400000, 0x00
  TEST_FCVT_FX fcvt.s.l, rne, 0x7fffffffffffffff, s, 0x5f000000, 0x01
  TEST_FCVT_FX fcvt.s.l, rtz, 0x7fffffffffffffff, s, 0x5effffff, 0x01
  TEST_FCVT_FX fcvt.s.l, rne, 0x8000000000000000, s, 0xdf000000, 0x00
  TEST_FCVT_FX fcvt.s.l, rne, 0xffffffffffffffff, s, 0xbf800000, 0x00
  TEST_FCVT_FX fcvt.s.l, rne, 0x0020000000000001, s, 0x5a000000, 0x01
  TEST_FCVT_FX fcvt.s.l, rup, 0x0020000000000001, s, 0x5a000001, 0x01
  TEST_FCVT_FX fcvt.s.l, rne, 0x0000000001000001, s, 0x4b800000, 0x01
  TEST_FCVT_FX fcvt.s.l, rup, 0x0000000001000001, s, 0x4b800001, 0x01
  TEST_FCVT_FX fcvt.s.l, rdn, 0xfffffffffeffffff, s, 0xcb800001, 0x01
  TEST_FCVT_FX fcvt.s.lu, rne, 0xffffffffffffffff, s, 0x5f800000, 0x01
  TEST_FCVT_FX fcvt.s.lu, rdn, 0xffffffffffffffff, s, 0x5f7fffff, 0x01
  TEST_FCVT_FX fcvt.s.lu, rne, 0x8000000000000000, s, 0x5f000000, 0x00
  TEST_FCVT_FX fcvt.s.lu, rne, 0x0000000000003039, s, 0x4640e400, 0x00

TEST_END
