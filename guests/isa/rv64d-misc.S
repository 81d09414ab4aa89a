/* RV64D double precision: fmin/fmax, compares, fclass, sign injection, moves, loads/stores, reserved rm, mstatus.FS. */
#include "fptest.h"

TEST_BEGIN rv64d-misc
  FP_ENABLE
  la s0, fdata


  /* fmin/fmax (11.7, IEEE 754-2019 minimumNumber/maximumNumber): -0 < +0; a single NaN operand
     returns the other operand; two NaNs give the canonical NaN; signaling NaNs raise NV */
  TEST_FRR_NORM fmin, d, 0x8000000000000000, 0x0000000000000000, 0x8000000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0x0000000000000000, 0x8000000000000000, 0x8000000000000000, 0x00
  TEST_FRR_NORM fmax, d, 0x8000000000000000, 0x0000000000000000, 0x0000000000000000, 0x00
  TEST_FRR_NORM fmax, d, 0x0000000000000000, 0x8000000000000000, 0x0000000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0x7ff8000000000123, 0x3ff0000000000000, 0x3ff0000000000000, 0x00
  TEST_FRR_NORM fmax, d, 0x3ff0000000000000, 0x7ff8000000000123, 0x3ff0000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0x7ff8000000000000, 0x7ff8000000000123, 0x7ff8000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0x7ff0000000000001, 0x3ff0000000000000, 0x3ff0000000000000, 0x10
  TEST_FRR_NORM fmax, d, 0x3ff0000000000000, 0xfff0000000000001, 0x3ff0000000000000, 0x10
  TEST_FRR_NORM fmax, d, 0x7ff0000000000001, 0x7ff8000000000000, 0x7ff8000000000000, 0x10
  TEST_FRR_NORM fmax, d, 0xfff0000000000000, 0x4014000000000000, 0x4014000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0xbff0000000000000, 0x4000000000000000, 0xbff0000000000000, 0x00
  TEST_FRR_NORM fmax, d, 0x7ff8000000000123, 0xfff0000000000000, 0xfff0000000000000, 0x00
  TEST_FRR_NORM fmin, d, 0x7ff0000000000000, 0x7fefffffffffffff, 0x7fefffffffffffff, 0x00

  /* feq is a quiet comparison (NV only for sNaN); flt/fle are signaling (NV for any NaN) (11.8) */
  TEST_FCMP feq, d, 0x3ff0000000000000, 0x3ff0000000000000, 1, 0x00
  TEST_FCMP feq, d, 0x3ff0000000000000, 0x4000000000000000, 0, 0x00
  TEST_FCMP feq, d, 0x8000000000000000, 0x0000000000000000, 1, 0x00
  TEST_FCMP feq, d, 0x7ff8000000000000, 0x3ff0000000000000, 0, 0x00
  TEST_FCMP feq, d, 0x7ff0000000000001, 0x3ff0000000000000, 0, 0x10
  TEST_FCMP feq, d, 0x7ff8000000000123, 0x7ff8000000000123, 0, 0x00
  TEST_FCMP feq, d, 0x3ff0000000000000, 0xfff0000000000001, 0, 0x10
  TEST_FCMP flt, d, 0x3ff0000000000000, 0x4000000000000000, 1, 0x00
  TEST_FCMP flt, d, 0x4000000000000000, 0x3ff0000000000000, 0, 0x00
  TEST_FCMP flt, d, 0x8000000000000000, 0x0000000000000000, 0, 0x00
  TEST_FCMP flt, d, 0xfff0000000000000, 0x7fefffffffffffff, 1, 0x00
  TEST_FCMP flt, d, 0x7ff8000000000000, 0x3ff0000000000000, 0, 0x10
  TEST_FCMP flt, d, 0x3ff0000000000000, 0x7ff0000000000001, 0, 0x10
  TEST_FCMP flt, d, 0x3ff0000000000000, 0x3ff0000000000000, 0, 0x00
  TEST_FCMP fle, d, 0x3ff0000000000000, 0x3ff0000000000000, 1, 0x00
  TEST_FCMP fle, d, 0x4000000000000000, 0x3ff0000000000000, 0, 0x00
  TEST_FCMP fle, d, 0x8000000000000000, 0x0000000000000000, 1, 0x00
  TEST_FCMP fle, d, 0x0000000000000000, 0x8000000000000000, 1, 0x00
  TEST_FCMP fle, d, 0x3ff0000000000000, 0x7ff8000000000123, 0, 0x10
  TEST_FCMP fle, d, 0x7ff0000000000001, 0x7ff0000000000001, 0, 0x10
  TEST_FCMP fle, d, 0xc000000000000000, 0xbff0000000000000, 1, 0x00

  /* fclass (11.9): one bit for each of the ten classes; NaN classes ignore the sign */
  TEST_FCLASS d, 0xfff0000000000000, 0x1
  TEST_FCLASS d, 0xbff0000000000000, 0x2
  TEST_FCLASS d, 0x8000000000000001, 0x4
  TEST_FCLASS d, 0x8000000000000000, 0x8
  TEST_FCLASS d, 0x0000000000000000, 0x10
  TEST_FCLASS d, 0x0000000000000001, 0x20
  TEST_FCLASS d, 0x3ff0000000000000, 0x40
  TEST_FCLASS d, 0x7ff0000000000000, 0x80
  TEST_FCLASS d, 0x7ff0000000000001, 0x100
  TEST_FCLASS d, 0x7ff8000000000000, 0x200
  TEST_FCLASS d, 0xfff0000000000001, 0x100
  TEST_FCLASS d, 0xfff8000000000000, 0x200
  TEST_FCLASS d, 0x000fffffffffffff, 0x20
  TEST_FCLASS d, 0x7fefffffffffffff, 0x40

  /* fsgnj/fsgnjn/fsgnjx (11.7): sign injection only, NaN payloads kept, no flags */
  TEST_FRR_NORM fsgnj, d, 0x4008000000000000, 0xbff0000000000000, 0xc008000000000000, 0x00
  TEST_FRR_NORM fsgnjn, d, 0x4008000000000000, 0xbff0000000000000, 0x4008000000000000, 0x00
  TEST_FRR_NORM fsgnjx, d, 0x4008000000000000, 0xbff0000000000000, 0xc008000000000000, 0x00
  TEST_FRR_NORM fsgnjx, d, 0xc008000000000000, 0xbff0000000000000, 0x4008000000000000, 0x00
  TEST_FRR_NORM fsgnj, d, 0xc008000000000000, 0x3ff0000000000000, 0x4008000000000000, 0x00
  TEST_FRR_NORM fsgnjn, d, 0xc008000000000000, 0xbff0000000000000, 0x4008000000000000, 0x00
  TEST_FRR_NORM fsgnj, d, 0x7ff0000000000001, 0xbff0000000000000, 0xfff0000000000001, 0x00
  TEST_FRR_NORM fsgnjx, d, 0xfff8000000000123, 0xc000000000000000, 0x7ff8000000000123, 0x00

  /* fld/fsd, aligned and misaligned (performed, not trapped); fmv.d.x/fmv.x.d keep any bit pattern */
  fld fa0, 0(s0)
  CHECK_F64 fa0, 0x7ff0000000000001
  fld fa0, 4(s0)
  CHECK_F64 fa0, 0x89abcdef7ff00000
  fld fa0, 13(s0)
  CHECK_F64 fa0, 0x12345
  FLI fa1, 0xa1b2c3d4e5f60718, d
  fsd fa1, 21(s0)
  lbu a0, 21(s0)
  CHECK a0, 0x18
  ld a0, 24(s0)
  CHECK a0, 0xa1b2c3d4e5
  li a0, 0x7ff0000000000001
  fmv.d.x fa0, a0
  fmv.x.d a1, fa0
  CHECK a1, 0x7ff0000000000001

  /* reserved rm 5/6 (static) and frm 5..7 (dyn) are illegal (11.2) */
  TRAP_EXPECT_ILL .insn r 0x53, 5, 0x01, fa0, fa1, fa2          /* fadd.d, rm=5 */
  TRAP_EXPECT_ILL .insn r 0x53, 6, 0x0d, fa0, fa1, fa2          /* fdiv.d, rm=6 */
  TRAP_EXPECT_ILL .insn r4 0x47, 6, 1, fa0, fa1, fa2, fa3       /* fmsub.d, rm=6 */
  TRAP_EXPECT_ILL .insn r 0x53, 5, 0x2d, fa0, fa1, f0           /* fsqrt.d, rm=5 */
  TRAP_EXPECT_ILL .insn r 0x53, 6, 0x61, a0, fa1, f2            /* fcvt.l.d, rm=6 */
  csrwi frm, 5
  TRAP_EXPECT_ILL fmul.d fa0, fa1, fa2, dyn
  csrwi frm, 6
  TRAP_EXPECT_ILL fcvt.s.d fa0, fa1, dyn
  csrwi frm, 7
  TRAP_EXPECT_ILL fnmadd.d fa0, fa1, fa2, fa3, dyn
  NO_TRAP fadd.d fa0, fa1, fa2, rtz
  csrwi frm, 0

  /* mstatus.FS = Off: D instructions are illegal; FS becomes Dirty on D writes (priv 3.1.6.6) */
  li t0, MSTATUS_FS
  csrc mstatus, t0
  TRAP_EXPECT_ILL fadd.d fa0, fa1, fa2
  TRAP_EXPECT_ILL fsd fa0, 0(s0)
  TRAP_EXPECT_ILL fmv.x.d a0, fa0
  TRAP_EXPECT_ILL fcvt.d.l fa0, a0
  TRAP_EXPECT_ILL c.fsd fa0, 8(s0)
  SET_FS FS_INITIAL
  fmadd.d fa0, fa1, fa2, fa3
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_CLEAN
  fld fa0, 0(s0)
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_CLEAN
  fmv.d.x fa0, zero
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD

TEST_END

  .data
  .balign 16
fdata:
  .dword 0x7ff0000000000001, 0x0123456789abcdef
  .fill 32, 1, 0
