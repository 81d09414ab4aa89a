/* RV64M multiply/divide: mul/mulh/mulhsu/mulhu/div/divu/rem/remu and W forms, divide by zero, overflow. */
#include "test.h"

TEST_BEGIN rv64m
  .option norvc

  /* mul (M 13.1): low 64 bits, identical for signed and unsigned */
  TEST_RR mul    0x3, 0x7, 0x15
  TEST_RR mul    0xffffffffffffffff, 0xffffffffffffffff, 0x1
  TEST_RR mul    0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000
  TEST_RR mul    0x100000001, 0x100000001, 0x200000001
  TEST_RR mul    0x7fffffffffffffff, 0x7fffffffffffffff, 0x1
  TEST_RR mul    0xfffffffffffffffd, 0x5, 0xfffffffffffffff1
  TEST_RR mul    0x0, 0x8000000000000000, 0x0

  /* mulh: high 64 bits of signed x signed */
  TEST_RR mulh   0xffffffffffffffff, 0xffffffffffffffff, 0x0
  TEST_RR mulh   0x8000000000000000, 0x8000000000000000, 0x4000000000000000
  TEST_RR mulh   0x8000000000000000, 0x7fffffffffffffff, 0xc000000000000000
  TEST_RR mulh   0xffffffffffffffff, 0x1, 0xffffffffffffffff
  TEST_RR mulh   0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff
  TEST_RR mulh   0xfffffffffffffffd, 0x5, 0xffffffffffffffff
  TEST_RR mulh   0x100000000, 0x100000000, 0x1

  /* mulhu: high 64 bits of unsigned x unsigned */
  TEST_RR mulhu  0xffffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe
  TEST_RR mulhu  0x8000000000000000, 0x2, 0x1
  TEST_RR mulhu  0x100000000, 0x100000000, 0x1
  TEST_RR mulhu  0xffffffffffffffff, 0x1, 0x0
  TEST_RR mulhu  0xdeadbeefcafebabe, 0x123456789abcdef0, 0xfd5bdeeeb2a01d7

  /* mulhsu: high 64 bits of signed rs1 x unsigned rs2 */
  TEST_RR mulhsu 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff
  TEST_RR mulhsu 0x1, 0xffffffffffffffff, 0x0
  TEST_RR mulhsu 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000
  TEST_RR mulhsu 0x7fffffffffffffff, 0xffffffffffffffff, 0x7ffffffffffffffe
  TEST_RR mulhsu 0xfffffffffffffffe, 0x3, 0xffffffffffffffff
  TEST_RR mulhsu 0xffffffffffffffff, 0x1, 0xffffffffffffffff
  TEST_RR mulhsu 0xdeadbeefcafebabe, 0x123456789abcdef0, 0xfda16776506d22e7

  /* mulw (RV64M): low 32 bits of the product, sign-extended; upper source bits ignored */
  TEST_RR mulw   0x7fffffff, 0x2, 0xfffffffffffffffe
  TEST_RR mulw   0x100000003, 0x7, 0x15
  TEST_RR mulw   0xffffffffffffffff, 0xffffffffffffffff, 0x1
  TEST_RR mulw   0x80000000, 0x80000000, 0x0
  TEST_RR mulw   0x12345678, 0x9abcdef0, 0x242d2080
  TEST_RR mulw   0xffffffff00000006, 0xfffffffffffffff9, 0xffffffffffffffd6

  /* div/divu (13.2): round toward zero; x/0 = all ones (divu: 2^64-1, div: -1); MIN/-1 = MIN (overflow) */
  TEST_RR div    0x14, 0x6, 0x3
  TEST_RR div    0xffffffffffffffec, 0x6, 0xfffffffffffffffd
  TEST_RR div    0x14, 0xfffffffffffffffa, 0xfffffffffffffffd
  TEST_RR div    0xffffffffffffffec, 0xfffffffffffffffa, 0x3
  TEST_RR div    0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000
  TEST_RR div    0x14, 0x0, 0xffffffffffffffff
  TEST_RR div    0xffffffffffffffff, 0x0, 0xffffffffffffffff
  TEST_RR div    0x8000000000000000, 0x1, 0x8000000000000000
  TEST_RR div    0x0, 0x5, 0x0
  TEST_RR div    0x7fffffffffffffff, 0xfffffffffffffffe, 0xc000000000000001
  TEST_RR divu   0x14, 0x6, 0x3
  TEST_RR divu   0xffffffffffffffff, 0x2, 0x7fffffffffffffff
  TEST_RR divu   0x14, 0x0, 0xffffffffffffffff
  TEST_RR divu   0x8000000000000000, 0x7fffffffffffffff, 0x1
  TEST_RR divu   0x8000000000000000, 0xffffffffffffffff, 0x0
  TEST_RR divu   0xffffffffffffffff, 0xffffffffffffffff, 0x1
  TEST_RR divu   0x0, 0x0, 0xffffffffffffffff

  /* rem/remu: sign of the dividend; x%0 = x; MIN%-1 = 0 */
  TEST_RR rem    0x14, 0x6, 0x2
  TEST_RR rem    0xffffffffffffffec, 0x6, 0xfffffffffffffffe
  TEST_RR rem    0x14, 0xfffffffffffffffa, 0x2
  TEST_RR rem    0xffffffffffffffec, 0xfffffffffffffffa, 0xfffffffffffffffe
  TEST_RR rem    0x8000000000000000, 0xffffffffffffffff, 0x0
  TEST_RR rem    0x14, 0x0, 0x14
  TEST_RR rem    0xffffffffffffffec, 0x0, 0xffffffffffffffec
  TEST_RR rem    0x8000000000000000, 0x0, 0x8000000000000000
  TEST_RR remu   0x14, 0x6, 0x2
  TEST_RR remu   0xffffffffffffffff, 0x0, 0xffffffffffffffff
  TEST_RR remu   0x14, 0x0, 0x14
  TEST_RR remu   0xffffffffffffffff, 0xa, 0x5
  TEST_RR remu   0x8000000000000000, 0x7fffffffffffffff, 0x1

  /* divw/divuw/remw/remuw: 32-bit operands, results sign-extended from bit 31 (also for the unsigned forms) */
  TEST_RR divw   0x80000000, 0xffffffffffffffff, 0xffffffff80000000
  TEST_RR divw   0x14, 0x0, 0xffffffffffffffff
  TEST_RR divw   0xffffffffffffffec, 0x6, 0xfffffffffffffffd
  TEST_RR divw   0x100000014, 0xffffffff00000006, 0x3
  TEST_RR divw   0xffffffff80000000, 0x2, 0xffffffffc0000000
  TEST_RR divw   0x7, 0xfffffffffffffffe, 0xfffffffffffffffd
  TEST_RR divuw  0xffffffff, 0x2, 0x7fffffff
  TEST_RR divuw  0x80000000, 0x1, 0xffffffff80000000
  TEST_RR divuw  0x14, 0x0, 0xffffffffffffffff
  TEST_RR divuw  0x100000005, 0x100000002, 0x2
  TEST_RR divuw  0xffffffff, 0x1, 0xffffffffffffffff
  TEST_RR remw   0xffffffffffffffec, 0x6, 0xfffffffffffffffe
  TEST_RR remw   0x80000000, 0xffffffffffffffff, 0x0
  TEST_RR remw   0x180000000, 0x0, 0xffffffff80000000
  TEST_RR remw   0x14, 0xfffffffffffffffa, 0x2
  TEST_RR remw   0x100000014, 0x100000006, 0x2
  TEST_RR remuw  0x80000000, 0x0, 0xffffffff80000000
  TEST_RR remuw  0xffffffff, 0xa, 0x5
  TEST_RR remuw  0x14, 0x6, 0x2
  TEST_RR remuw  0x1fffffff7, 0x100000000, 0xfffffffffffffff7

  /* rd aliasing a source, and rd = x0 */
  li a1, 12
  mul a1, a1, a1
  CHECK a1, 144
  li a2, 100
  li a3, 7
  div a2, a2, a3
  CHECK a2, 14
  rem a3, a3, a3
  CHECK a3, 0
  li a1, 5
  divu x0, a1, a1
  mul x0, a1, a1
  CHECK zero, 0

  /* the usual mulh + mul pair gives the full 128-bit product */
  li a1, 0xfedcba9876543210
  li a2, 0x0f0f0f0f0f0f0f0f
  mulhu a3, a1, a2
  mul a4, a1, a2
  CHECK a3, 0x0efdecdbcab9a897
  CHECK a4, 0x78899aabbccddef0

TEST_END
