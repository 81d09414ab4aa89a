/* Floating-point test macros shared by the F/D suites (fmt is s or d; values are raw IEEE bit patterns). */
#ifndef ISA_FPTEST_H
#define ISA_FPTEST_H
#include "test.h"

#define FF_NX 0x01
#define FF_UF 0x02
#define FF_OF 0x04
#define FF_DZ 0x08
#define FF_NV 0x10

#define RM_RNE 0
#define RM_RTZ 1
#define RM_RDN 2
#define RM_RUP 3
#define RM_RMM 4

#define CANON_S 0x7fc00000
#define CANON_D 0x7ff8000000000000

/* FLI freg, bits, fmt: load a raw value (singles are NaN-boxed by fmv.w.x) */
.macro FLI freg:req, bits:req, fmt:req
  li t5, \bits
  .ifc \fmt, s
  fmv.w.x \freg, t5
  .else
  fmv.d.x \freg, t5
  .endif
.endm

/* CHECK_FP freg, bits, fmt: singles must also be NaN-boxed (1 check) */
.macro CHECK_FP freg:req, bits:req, fmt:req
  .ifc \fmt, s
  CHECK_F32 \freg, \bits
  .else
  CHECK_F64 \freg, \bits
  .endif
.endm

/* TEST_FRR op, fmt, rm, a, b, result, flags: op.fmt fa0, fa1, fa2, rm (2 checks: value, fflags) */
.macro TEST_FRR op:req, fmt:req, rm:req, a:req, b:req, res:req, flags:req
  FLI fa1, \a, \fmt
  FLI fa2, \b, \fmt
  csrwi fflags, 0
  \op\().\fmt fa0, fa1, fa2, \rm
  CHECK_FP fa0, \res, \fmt
  CHECK_FFLAGS \flags
.endm

/* TEST_FRR_NORM op, fmt, a, b, result, flags: same without a rounding-mode operand */
.macro TEST_FRR_NORM op:req, fmt:req, a:req, b:req, res:req, flags:req
  FLI fa1, \a, \fmt
  FLI fa2, \b, \fmt
  csrwi fflags, 0
  \op\().\fmt fa0, fa1, fa2
  CHECK_FP fa0, \res, \fmt
  CHECK_FFLAGS \flags
.endm

/* TEST_FR op, fmt, rm, a, result, flags: op.fmt fa0, fa1, rm (2 checks) */
.macro TEST_FR op:req, fmt:req, rm:req, a:req, res:req, flags:req
  FLI fa1, \a, \fmt
  csrwi fflags, 0
  \op\().\fmt fa0, fa1, \rm
  CHECK_FP fa0, \res, \fmt
  CHECK_FFLAGS \flags
.endm

/* TEST_FRRR op, fmt, rm, a, b, c, result, flags: op.fmt fa0, fa1, fa2, fa3, rm (2 checks) */
.macro TEST_FRRR op:req, fmt:req, rm:req, a:req, b:req, c:req, res:req, flags:req
  FLI fa1, \a, \fmt
  FLI fa2, \b, \fmt
  FLI fa3, \c, \fmt
  csrwi fflags, 0
  \op\().\fmt fa0, fa1, fa2, fa3, \rm
  CHECK_FP fa0, \res, \fmt
  CHECK_FFLAGS \flags
.endm

/* TEST_FCMP op, fmt, a, b, result, flags: op.fmt a0, fa1, fa2 (2 checks) */
.macro TEST_FCMP op:req, fmt:req, a:req, b:req, res:req, flags:req
  FLI fa1, \a, \fmt
  FLI fa2, \b, \fmt
  csrwi fflags, 0
  li a0, 0x55
  \op\().\fmt a0, fa1, fa2
  CHECK a0, \res
  CHECK_FFLAGS \flags
.endm

/* TEST_FCLASS fmt, a, result (1 check) */
.macro TEST_FCLASS fmt:req, a:req, res:req
  FLI fa1, \a, \fmt
  fclass.\fmt a0, fa1
  CHECK a0, \res
.endm

/* TEST_FCVT_XF op, rm, a, fmt, result, flags: op a0, fa1, rm with fa1 = a in fmt (2 checks) */
.macro TEST_FCVT_XF op:req, rm:req, a:req, fmt:req, res:req, flags:req
  FLI fa1, \a, \fmt
  csrwi fflags, 0
  \op a0, fa1, \rm
  CHECK a0, \res
  CHECK_FFLAGS \flags
.endm

/* TEST_FCVT_FX op, rm, a, fmt, result, flags: op fa0, a1, rm with a1 = a; fa0 in fmt (2 checks);
   rm "none" for the exact conversions that take no rm operand */
.macro TEST_FCVT_FX op:req, rm:req, a:req, fmt:req, res:req, flags:req
  li a1, \a
  csrwi fflags, 0
  .ifc \rm, none
  \op fa0, a1
  .else
  \op fa0, a1, \rm
  .endif
  CHECK_FP fa0, \res, \fmt
  CHECK_FFLAGS \flags
.endm

/* TEST_FCVT_FF op, rm, a, fa_fmt, res_fmt, result, flags: op fa0, fa1, rm (2 checks) */
.macro TEST_FCVT_FF op:req, rm:req, a:req, afmt:req, rfmt:req, res:req, flags:req
  FLI fa1, \a, \afmt
  csrwi fflags, 0
  .ifc \rm, none
  \op fa0, fa1
  .else
  \op fa0, fa1, \rm
  .endif
  CHECK_FP fa0, \res, \rfmt
  CHECK_FFLAGS \flags
.endm

/* SET_FS value: mstatus.FS = value */
.macro SET_FS v:req
  li t6, MSTATUS_FS
  csrc mstatus, t6
  li t6, \v
  csrs mstatus, t6
.endm

/* CHECK_FS_SD value: (mstatus & (FS | SD)) == value (1 check) */
.macro CHECK_FS_SD v:req
  csrr t5, mstatus
  li t6, MSTATUS_FS | MSTATUS_SD
  and t5, t5, t6
  CHECK t5, \v
.endm

#endif
