/* RV64F single precision: NaN boxing, fmin/fmax, compares, fclass, sign injection, moves, loads/stores, reserved rm, mstatus.FS. */
#include "fptest.h"

TEST_BEGIN rv64f-misc
  FP_ENABLE
  la s0, fdata

  /* NaN boxing (D 12.2): a 32-bit transfer into an f register sets bits 63:32; 32-bit transfers out
     (fmv.x.w, fsw) use bits 31:0 only; fmv.x.w sign-extends; arithmetic treats an operand that
     is not properly boxed as the canonical NaN */
  fmv.d.x fa0, zero
  flw fa0, 0(s0)
  fmv.x.d a1, fa0
  CHECK a1, 0xffffffff3f800000
  li a0, 0x80000001
  fmv.w.x fa1, a0
  fmv.x.d a1, fa1
  CHECK a1, 0xffffffff80000001
  fmv.x.w a1, fa1
  CHECK a1, 0xffffffff80000001
  li a0, 0x7f800000
  fmv.w.x fa1, a0
  fmv.x.w a1, fa1
  CHECK a1, 0x7f800000
  li a0, 0x123456783f800000 /* 1.0f, not NaN-boxed */
  fmv.d.x fa2, a0
  fmv.x.w a1, fa2
  CHECK a1, 0x3f800000
  fsw fa2, 24(s0)
  lwu a1, 24(s0)
  CHECK a1, 0x3f800000
  FLI fa3, 0x3f800000, s
  csrwi fflags, 0
  fadd.s fa0, fa2, fa3
  CHECK_F32 fa0, CANON_S
  li a0, 0xfffffffe3f800000 /* one upper bit clear: also not boxed */
  fmv.d.x fa4, a0
  fmul.s fa0, fa3, fa4
  CHECK_F32 fa0, CANON_S
  CHECK_FFLAGS 0             /* the canonical NaN is quiet: no NV */
  fclass.s a1, fa2
  CHECK a1, 0x200
  fsgnj.s fa0, fa2, fa3     /* magnitude of the canonical NaN, sign of +1.0 */
  CHECK_F32 fa0, CANON_S
  fsgnjn.s fa0, fa3, fa2    /* sign = not(sign of the canonical NaN) */
  CHECK_F32 fa0, 0xbf800000
  feq.s a1, fa2, fa2
  CHECK a1, 0
  fmin.s fa0, fa2, fa3
  CHECK_F32 fa0, 0x3f800000
  CHECK_FFLAGS 0


  /* fmin/fmax (11.7, IEEE 754-2019 minimumNumber/maximumNumber): -0 < +0; a single NaN operand
     returns the other operand; two NaNs give the canonical NaN; signaling NaNs raise NV */
  TEST_FRR_NORM fmin, s, 0x80000000, 0x00000000, 0x80000000, 0x00
  TEST_FRR_NORM fmin, s, 0x00000000, 0x80000000, 0x80000000, 0x00
  TEST_FRR_NORM fmax, s, 0x80000000, 0x00000000, 0x00000000, 0x00
  TEST_FRR_NORM fmax, s, 0x00000000, 0x80000000, 0x00000000, 0x00
  TEST_FRR_NORM fmin, s, 0x7fc00123, 0x3f800000, 0x3f800000, 0x00
  TEST_FRR_NORM fmax, s, 0x3f800000, 0x7fc00123, 0x3f800000, 0x00
  TEST_FRR_NORM fmin, s, 0x7fc00000, 0x7fc00123, 0x7fc00000, 0x00
  TEST_FRR_NORM fmin, s, 0x7f800001, 0x3f800000, 0x3f800000, 0x10
  TEST_FRR_NORM fmax, s, 0x3f800000, 0xff800001, 0x3f800000, 0x10
  TEST_FRR_NORM fmax, s, 0x7f800001, 0x7fc00000, 0x7fc00000, 0x10
  TEST_FRR_NORM fmax, s, 0xff800000, 0x40a00000, 0x40a00000, 0x00
  TEST_FRR_NORM fmin, s, 0xbf800000, 0x40000000, 0xbf800000, 0x00
  TEST_FRR_NORM fmax, s, 0x7fc00123, 0xff800000, 0xff800000, 0x00
  TEST_FRR_NORM fmin, s, 0x7f800000, 0x7f7fffff, 0x7f7fffff, 0x00

  /* feq is a quiet comparison (NV only for sNaN); flt/fle are signaling (NV for any NaN) (11.8) */
  TEST_FCMP feq, s, 0x3f800000, 0x3f800000, 1, 0x00
  TEST_FCMP feq, s, 0x3f800000, 0x40000000, 0, 0x00
  TEST_FCMP feq, s, 0x80000000, 0x00000000, 1, 0x00
  TEST_FCMP feq, s, 0x7fc00000, 0x3f800000, 0, 0x00
  TEST_FCMP feq, s, 0x7f800001, 0x3f800000, 0, 0x10
  TEST_FCMP feq, s, 0x7fc00123, 0x7fc00123, 0, 0x00
  TEST_FCMP feq, s, 0x3f800000, 0xff800001, 0, 0x10
  TEST_FCMP flt, s, 0x3f800000, 0x40000000, 1, 0x00
  TEST_FCMP flt, s, 0x40000000, 0x3f800000, 0, 0x00
  TEST_FCMP flt, s, 0x80000000, 0x00000000, 0, 0x00
  TEST_FCMP flt, s, 0xff800000, 0x7f7fffff, 1, 0x00
  TEST_FCMP flt, s, 0x7fc00000, 0x3f800000, 0, 0x10
  TEST_FCMP flt, s, 0x3f800000, 0x7f800001, 0, 0x10
  TEST_FCMP flt, s, 0x3f800000, 0x3f800000, 0, 0x00
  TEST_FCMP fle, s, 0x3f800000, 0x3f800000, 1, 0x00
  TEST_FCMP fle, s, 0x40000000, 0x3f800000, 0, 0x00
  TEST_FCMP fle, s, 0x80000000, 0x00000000, 1, 0x00
  TEST_FCMP fle, s, 0x00000000, 0x80000000, 1, 0x00
  TEST_FCMP fle, s, 0x3f800000, 0x7fc00123, 0, 0x10
  TEST_FCMP fle, s, 0x7f800001, 0x7f800001, 0, 0x10
  TEST_FCMP fle, s, 0xc0000000, 0xbf800000, 1, 0x00

  /* fclass (11.9): one bit for each of the ten classes; NaN classes ignore the sign */
  TEST_FCLASS s, 0xff800000, 0x1
  TEST_FCLASS s, 0xbf800000, 0x2
  TEST_FCLASS s, 0x80000001, 0x4
  TEST_FCLASS s, 0x80000000, 0x8
  TEST_FCLASS s, 0x00000000, 0x10
  TEST_FCLASS s, 0x00000001, 0x20
  TEST_FCLASS s, 0x3f800000, 0x40
  TEST_FCLASS s, 0x7f800000, 0x80
  TEST_FCLASS s, 0x7f800001, 0x100
  TEST_FCLASS s, 0x7fc00000, 0x200
  TEST_FCLASS s, 0xff800001, 0x100
  TEST_FCLASS s, 0xffc00000, 0x200
  TEST_FCLASS s, 0x007fffff, 0x20
  TEST_FCLASS s, 0x7f7fffff, 0x40

  /* fsgnj/fsgnjn/fsgnjx (11.7): sign injection only, NaN payloads kept, no flags */
  TEST_FRR_NORM fsgnj, s, 0x40400000, 0xbf800000, 0xc0400000, 0x00
  TEST_FRR_NORM fsgnjn, s, 0x40400000, 0xbf800000, 0x40400000, 0x00
  TEST_FRR_NORM fsgnjx, s, 0x40400000, 0xbf800000, 0xc0400000, 0x00
  TEST_FRR_NORM fsgnjx, s, 0xc0400000, 0xbf800000, 0x40400000, 0x00
  TEST_FRR_NORM fsgnj, s, 0xc0400000, 0x3f800000, 0x40400000, 0x00
  TEST_FRR_NORM fsgnjn, s, 0xc0400000, 0xbf800000, 0x40400000, 0x00
  TEST_FRR_NORM fsgnj, s, 0x7f800001, 0xbf800000, 0xff800001, 0x00
  TEST_FRR_NORM fsgnjx, s, 0xffc00123, 0xc0000000, 0x7fc00123, 0x00

  /* flw/fsw, aligned and misaligned (performed, not trapped), fmv.w.x/fmv.x.w keep any bit pattern */
  flw fa0, 4(s0)
  CHECK_F32 fa0, 0x7f800001
  flw fa0, 1(s0)
  CHECK_F32 fa0, 0x013f8000
  flw fa0, 6(s0)            /* crosses the 8-byte boundary */
  CHECK_F32 fa0, 0x45677f80
  FLI fa1, 0xc1d2e3f4, s
  fsw fa1, 19(s0)
  lbu a0, 19(s0)
  CHECK a0, 0xf4
  lwu a0, 20(s0)
  CHECK a0, 0xc1d2e3
  li a0, 0x7f800001         /* a signaling NaN passes through moves unchanged */
  fmv.w.x fa0, a0
  fmv.x.w a1, fa0
  CHECK a1, 0x7f800001

  /* rm values 5 and 6 are reserved: illegal as a static rm; rm = dyn (7) with frm = 5..7 is
     illegal too; mtval = the instruction (11.2) */
  TRAP_EXPECT_ILL .insn r 0x53, 5, 0x00, fa0, fa1, fa2          /* fadd.s, rm=5 */
  TRAP_EXPECT_ILL .insn r 0x53, 6, 0x08, fa0, fa1, fa2          /* fmul.s, rm=6 */
  TRAP_EXPECT_ILL .insn r4 0x43, 5, 0, fa0, fa1, fa2, fa3       /* fmadd.s, rm=5 */
  TRAP_EXPECT_ILL .insn r 0x53, 6, 0x2c, fa0, fa1, f0           /* fsqrt.s, rm=6 */
  TRAP_EXPECT_ILL .insn r 0x53, 5, 0x60, a0, fa1, f0            /* fcvt.w.s, rm=5 */
  csrwi frm, 5
  TRAP_EXPECT_ILL fadd.s fa0, fa1, fa2, dyn
  csrwi frm, 6
  TRAP_EXPECT_ILL fdiv.s fa0, fa1, fa2, dyn
  csrwi frm, 7
  TRAP_EXPECT_ILL fcvt.s.w fa0, a0, dyn
  NO_TRAP fadd.s fa0, fa1, fa2, rne                             /* a valid static rm ignores frm */
  NO_TRAP fsgnj.s fa0, fa1, fa2                                 /* no rounding: frm not used */
  CHECK_CSR frm, 7
  csrwi frm, 0

  /* mstatus.FS = Off: FP instructions and fcsr accesses are illegal (priv 3.1.6.6) */
  li t0, MSTATUS_FS
  csrc mstatus, t0
  TRAP_EXPECT_ILL fadd.s fa0, fa1, fa2
  TRAP_EXPECT_ILL flw fa0, 0(s0)
  TRAP_EXPECT_ILL fsw fa0, 0(s0)
  TRAP_EXPECT_ILL fmv.x.w a0, fa0
  TRAP_EXPECT_ILL fmv.w.x fa0, a0
  TRAP_EXPECT_ILL feq.s a0, fa0, fa1
  TRAP_EXPECT_ILL fld fa0, 0(s0)
  TRAP_EXPECT_ILL fcvt.d.s fa0, fa1
  TRAP_EXPECT_ILL csrr a0, fcsr
  TRAP_EXPECT_ILL csrwi fflags, 1
  TRAP_EXPECT_ILL csrr a0, frm
  TRAP_EXPECT_ILL c.fldsp fa0, 8(sp)                            /* 16-bit: mtval zero-extended */
  csrr a0, mstatus
  li a1, MSTATUS_FS | MSTATUS_SD
  and a0, a0, a1
  CHECK a0, 0

  /* FS = Initial/Clean: writing FP state makes FS Dirty (3), and SD (bit 63) reflects it */
  li t0, FS_INITIAL
  csrs mstatus, t0
  CHECK_FS_SD FS_INITIAL
  fadd.s fa0, fa1, fa2
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_CLEAN
  CHECK_FS_SD FS_CLEAN
  flw fa0, 0(s0)
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_INITIAL
  csrwi fflags, 0
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_CLEAN
  fmv.w.x fa0, zero
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  SET_FS FS_INITIAL
  fcvt.s.w fa0, a0
  CHECK_FS_SD FS_DIRTY | MSTATUS_SD
  csrr a0, sstatus          /* sstatus shows the same FS and SD */
  li a1, MSTATUS_FS | MSTATUS_SD
  and a0, a0, a1
  CHECK a0, FS_DIRTY | MSTATUS_SD

TEST_END

  .data
  .balign 16
fdata:
  .word 0x3f800000, 0x7f800001, 0x01234567, 0x89abcdef
  .fill 32, 1, 0
