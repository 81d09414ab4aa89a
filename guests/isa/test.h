/* Shared macros for the self-checking ISA tests: start-up, checks, trap expectation, UART pass/fail report. */
/*
 * Usage (see guests/README.md):
 *     #include "test.h"
 *     TEST_BEGIN rv64i          // emits _start (M-mode), prints "isa-rv64i" in the result line
 *       li a0, 1
 *       CHECK a0, 1             // check #1
 *     TEST_END                  // prints "PASS isa-rv64i (<K> checks)", exits 0
 *
 * Register conventions (all suites):
 *   gp (x3)      number of the last check that passed (checks are numbered 1.. in source order and
 *                must also run in that order: every CHECK verifies gp == its number - 1, so a wrong
 *                branch/jump that skips checks is detected).
 *   t5, t6       scratch for every macro (clobbered). CHECK's register may not be t6 or gp.
 *   sp           stack (__stack_top); the trap handlers do not use it (they use mscratch/sscratch).
 *   mscratch     address of the M trap record (__m_area), sscratch the S one (__s_area).
 *   Local label 9 is used by TRAP_BEGIN/TRAP_END.
 *
 * Failure: "FAIL isa-NAME check N" (N decimal), preceded by a diagnostic line, and an exit through
 * the test device with (N << 16) | 0x3333 (N clamped to 1..255). Failures detected in S/U mode reach
 * M-mode with an ecall while gp has bit 63 set (both trap handlers forward such traps to the reporter).
 *
 * Trap handling: the default M handler (__m_trap) and S handler (__s_trap, used for traps delegated
 * through medeleg/mideleg) record cause, tval, epc and status into their area; if a resume address
 * is armed (TRAP_ARM), they disarm it and return there, in M-mode (resp. S-mode); otherwise the trap
 * is unexpected and the test fails. After an interrupt they resume with MIE (resp. SIE) = 0, since
 * they do not clear the interrupt source. ENTER_S/ENTER_U/ENTER_M leave mstatus.MIE = 0.
 * Every expected trap resumes in the handler's mode: re-enter S/U before the next case there.
 * Do not delegate ecalls from S (medeleg bit 9): ENTER_M and the failure path rely on them.
 */
#ifndef ISA_TEST_H
#define ISA_TEST_H
#include "platform.h"

/* ---- CSR fields ---- */
#define MSTATUS_SIE   (1 << 1)
#define MSTATUS_MIE   (1 << 3)
#define MSTATUS_SPIE  (1 << 5)
#define MSTATUS_MPIE  (1 << 7)
#define MSTATUS_SPP   (1 << 8)
#define MSTATUS_MPP   (3 << 11)
#define MPP_U         (0 << 11)
#define MPP_S         (1 << 11)
#define MPP_M         (3 << 11)
#define MSTATUS_FS    (3 << 13)
#define FS_INITIAL    (1 << 13)
#define FS_CLEAN      (2 << 13)
#define FS_DIRTY      (3 << 13)
#define MSTATUS_XS    (3 << 15)
#define MSTATUS_MPRV  (1 << 17)
#define MSTATUS_SUM   (1 << 18)
#define MSTATUS_MXR   (1 << 19)
#define MSTATUS_TVM   (1 << 20)
#define MSTATUS_TW    (1 << 21)
#define MSTATUS_TSR   (1 << 22)
#define MSTATUS_UXL   (3 << 32)
#define MSTATUS_SXL   (3 << 34)
#define MSTATUS_SD    (1 << 63)

#define IRQ_SSI 1
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_MEI 11
#define MIP_SSIP (1 << IRQ_SSI)
#define MIP_MSIP (1 << IRQ_MSI)
#define MIP_STIP (1 << IRQ_STI)
#define MIP_MTIP (1 << IRQ_MTI)
#define MIP_SEIP (1 << IRQ_SEI)
#define MIP_MEIP (1 << IRQ_MEI)
#define CAUSE_INTR    (1 << 63)

#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_FETCH_ACCESS     1
#define CAUSE_ILLEGAL          2
#define CAUSE_BREAKPOINT       3
#define CAUSE_MISALIGNED_LOAD  4
#define CAUSE_LOAD_ACCESS      5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS     7
#define CAUSE_ECALL_U          8
#define CAUSE_ECALL_S          9
#define CAUSE_ECALL_M          11
#define CAUSE_FETCH_PAGE       12
#define CAUSE_LOAD_PAGE        13
#define CAUSE_STORE_PAGE       15

/* Sv39 PTE bits */
#define PTE_V (1 << 0)
#define PTE_R (1 << 1)
#define PTE_W (1 << 2)
#define PTE_X (1 << 3)
#define PTE_U (1 << 4)
#define PTE_G (1 << 5)
#define PTE_A (1 << 6)
#define PTE_D (1 << 7)
#define SATP_SV39 (8 << 60)

#define NOTRAP (-1)               /* cause slot value while no trap has been recorded */
#define UNMAPPED_ADDR 0x800       /* unmapped on virt and wasmvisor (0x4000_0000 is PCIe MMIO on QEMU virt) */

/* ---- trap record layout (one for M, one for S) ---- */
#define TA_T0     0
#define TA_T1     8
#define TA_RESUME 16   /* where to continue after the next trap (0 = trap unexpected) */
#define TA_CAUSE  24
#define TA_TVAL   32
#define TA_EPC    40
#define TA_STATUS 48   /* mstatus/sstatus as seen by the handler */
#define TA_COUNT  56   /* number of traps handled */
#define TA_VEC    64   /* free for vectored-mode stubs: which vector entry was used */
#define TA_AUX    72   /* free for custom handlers */
#define TA_SIZE   128

/* gp encoding when failing: bit 63 set, kind in bits 56..59, check number in bits 0..15 */
#define FAILF        (1 << 63)
#define FK_VALUE     (1 << 56)   /* t5 = value got, t6 = value expected */
#define FK_SEQ       (2 << 56)   /* t5 = number of the last check that passed */
#define FK_STRAP     (3 << 56)   /* t5 = scause, t6 = sepc: unexpected trap taken in S */
#define ENTER_M_MAGIC 0x6d2d6d6f64652121

/* =============================== checks =============================== */

.set __chk, 0

/* CHECK_SEQ: gp must be __chk - 1 (the previous check ran); sets gp = __chk. Uses no register
   but gp, so the registers under test are intact afterwards. */
.macro CHECK_SEQ
  .set __chk, __chk + 1
  .if __chk > 255
    .error "more than 255 checks in one suite: split the file"
  .endif
  addi gp, gp, -(__chk - 1)
  beqz gp, .Lseq\@
  addi gp, gp, (__chk - 1)
  mv t5, gp
  li gp, __chk
  j __fail_seq
.Lseq\@:
  li gp, __chk
.endm

/* CHECK reg, value: fails with the check number unless reg == value (64-bit compare).
   reg may be t5 but not t6 or gp. */
.macro CHECK reg:req, exp:req
  .ifc \reg, t6
    .error "CHECK: register t6 is reserved for the macro"
  .endif
  .ifc \reg, gp
    .error "CHECK: gp holds the check number"
  .endif
  CHECK_SEQ
  li t6, \exp
  beq \reg, t6, .Lok\@
  mv t5, \reg
  j __fail_value
.Lok\@:
.endm

/* CHECK_REG reg, reg2: like CHECK with the expected value in a register (reg not t6 or gp;
   reg2 may be t5 or t6). */
.macro CHECK_REG reg:req, exp:req
  .ifc \reg, t6
    .error "CHECK_REG: register t6 is reserved for the macro"
  .endif
  .ifc \reg, gp
    .error "CHECK_REG: gp holds the check number"
  .endif
  CHECK_SEQ
  beq \reg, \exp, .Lok\@
  mv t6, \exp
  mv t5, \reg
  j __fail_value
.Lok\@:
.endm

/* CHECK_LA reg, symbol: expected value is an address (reg not t6). */
.macro CHECK_LA reg:req, sym:req
  la t6, \sym
  CHECK_REG \reg, t6
.endm

/* CHECK2 reg, a, b: either value is accepted (only for points where the spec allows both). */
.macro CHECK2 reg:req, a:req, b:req
  li t6, \b
  bne \reg, t6, .Lnb\@
  li t6, \a
  mv t5, t6
  j .Lc\@
.Lnb\@:
  mv t5, \reg
.Lc\@:
  CHECK t5, \a
.endm

/* CHECK_F32 freg, bits: fmv.x.d must give the NaN-boxed single (upper 32 bits all ones). */
.macro CHECK_F32 freg:req, bits:req
  fmv.x.d t5, \freg
  CHECK t5, (0xffffffff00000000 | (\bits))
.endm

/* CHECK_F64 freg, bits */
.macro CHECK_F64 freg:req, bits:req
  fmv.x.d t5, \freg
  CHECK t5, \bits
.endm

/* CHECK_CSR csr, value */
.macro CHECK_CSR csr:req, exp:req
  csrr t5, \csr
  CHECK t5, \exp
.endm

/* CHECK_FFLAGS value: checks fflags and clears them */
.macro CHECK_FFLAGS exp:req
  csrrw t5, fflags, zero
  CHECK t5, \exp
.endm

/* FAIL_NOW: unconditional failure, reported as the next check (for paths that must not be reached;
   does not consume a check number) */
.macro FAIL_NOW
  li t5, 0
  li t6, 1
  addi gp, gp, 1
  j __fail_value
.endm

/* TEST_RR op, a, b, result: op a0, a1(=a), a2(=b) (1 check) */
.macro TEST_RR op:req, a:req, b:req, exp:req
  li a1, \a
  li a2, \b
  \op a0, a1, a2
  CHECK a0, \exp
.endm
/* TEST_RI op, a, imm, result: op a0, a1(=a), imm (1 check) */
.macro TEST_RI op:req, a:req, imm:req, exp:req
  li a1, \a
  \op a0, a1, \imm
  CHECK a0, \exp
.endm

/* ============================ privilege moves ============================ */

/* From M: continue with the next instruction in S (ENTER_S) or U (ENTER_U) mode, via mret.
   MPIE is cleared first, so mret leaves mstatus.MIE = 0. */
.macro ENTER_MODE mpp
  li t6, MSTATUS_MPP | MSTATUS_MPIE
  csrc mstatus, t6
  li t6, \mpp
  csrs mstatus, t6
  la t6, .Lnext\@
  csrw mepc, t6
  mret
.Lnext\@:
.endm
#define ENTER_S ENTER_MODE MPP_S
#define ENTER_U ENTER_MODE MPP_U

/* From S: continue with the next instruction in U mode, via sret. */
.macro SENTER_U
  li t6, MSTATUS_SPP
  csrc sstatus, t6
  la t6, .Lnext\@
  csrw sepc, t6
  sret
.Lnext\@:
.endm

/* From any mode: continue with the next instruction in M mode, with mstatus.MIE = 0 (ecall with a
   magic value in t6; both handlers honour it, whatever the delegation of ecalls). */
.macro ENTER_M
  la t5, .Lnext\@
  li t6, ENTER_M_MAGIC
  ecall
  FAIL_NOW
.Lnext\@:
.endm

/* =============================== traps =============================== */

/* TRAP_ARM label: the next trap (M or S handler) records itself and resumes at label. */
.macro TRAP_ARM label:req
  la t6, __m_area
  la t5, \label
  sd t5, TA_RESUME(t6)
  li t5, NOTRAP
  sd t5, TA_CAUSE(t6)
  sd t5, TA_TVAL(t6)
  sd t5, TA_EPC(t6)
  la t6, __s_area
  la t5, \label
  sd t5, TA_RESUME(t6)
  li t5, NOTRAP
  sd t5, TA_CAUSE(t6)
  sd t5, TA_TVAL(t6)
  sd t5, TA_EPC(t6)
.endm

.macro TRAP_DISARM
  la t6, __m_area
  sd zero, TA_RESUME(t6)
  la t6, __s_area
  sd zero, TA_RESUME(t6)
.endm

/* TRAP_BEGIN ... TRAP_END: code in between is expected to trap; execution continues after
   TRAP_END (in M-mode if M took the trap, S-mode if S did). */
.macro TRAP_BEGIN
  TRAP_ARM 9f
.endm
.macro TRAP_END
9:
  TRAP_DISARM
.endm

/* Load a field of a trap record into t5 */
.macro LOAD_MREC field:req
  la t5, __m_area
  ld t5, \field(t5)
.endm
.macro LOAD_SREC field:req
  la t5, __s_area
  ld t5, \field(t5)
.endm

/* CHECK_MTRAP cause, tval: the M handler recorded this trap (tval "any": not checked). */
.macro CHECK_MTRAP cause:req, tval:req
  LOAD_MREC TA_CAUSE
  CHECK t5, \cause
  .ifnc \tval, any
  LOAD_MREC TA_TVAL
  CHECK t5, \tval
  .endif
.endm
.macro CHECK_STRAP cause:req, tval:req
  LOAD_SREC TA_CAUSE
  CHECK t5, \cause
  .ifnc \tval, any
  LOAD_SREC TA_TVAL
  CHECK t5, \tval
  .endif
.endm
.macro CHECK_MEPC label:req
  LOAD_MREC TA_EPC
  CHECK_LA t5, \label
.endm
.macro CHECK_SEPC label:req
  LOAD_SREC TA_EPC
  CHECK_LA t5, \label
.endm
/* CHECK_NO_MTRAP / CHECK_NO_STRAP: that handler recorded nothing since TRAP_ARM */
.macro CHECK_NO_MTRAP
  LOAD_MREC TA_CAUSE
  CHECK t5, NOTRAP
.endm
.macro CHECK_NO_STRAP
  LOAD_SREC TA_CAUSE
  CHECK t5, NOTRAP
.endm

/* TRAP_EXPECT cause, tval, insn...: insn must trap into M with this cause/tval and mepc = insn
   (3 checks, 2 with tval "any"). tval "pc" (for breakpoints) means tval must equal the instruction
   address, or be 0 (the spec allows both; wasmvisor gives the pc, QEMU 7.2 gives 0). */
.macro TRAP_EXPECT cause:req, tval:req, insn:vararg
  TRAP_ARM .Lres\@
.Lepc\@:
  \insn
.Lres\@:
  TRAP_DISARM
  .ifc \tval, pc
    CHECK_MTRAP \cause, any
    LOAD_MREC TA_TVAL
    bnez t5, .Lnz\@
    la t5, .Lepc\@           /* 0 is accepted too (spec: pc or 0; QEMU 7.2 gives 0) */
.Lnz\@:
    CHECK_LA t5, .Lepc\@
  .else
    CHECK_MTRAP \cause, \tval
  .endif
  CHECK_MEPC .Lepc\@
.endm

/* Same, for a trap delegated to S (S handler records; execution continues in S-mode). */
.macro STRAP_EXPECT cause:req, tval:req, insn:vararg
  TRAP_ARM .Lres\@
.Lepc\@:
  \insn
.Lres\@:
  TRAP_DISARM
  .ifc \tval, pc
    CHECK_STRAP \cause, any
    LOAD_SREC TA_TVAL
    bnez t5, .Lnz\@
    la t5, .Lepc\@           /* 0 is accepted too (spec: pc or 0; QEMU 7.2 gives 0) */
.Lnz\@:
    CHECK_LA t5, .Lepc\@
  .else
    CHECK_STRAP \cause, \tval
  .endif
  CHECK_SEPC .Lepc\@
.endm

/* Load the instruction bits at label into t5 (16-bit encodings zero-extended), via halfwords. */
.macro LOAD_INSN label:req
  la t6, \label
  lhu t5, 0(t6)
  andi t6, t5, 3
  addi t6, t6, -3
  bnez t6, .Ldone\@
  la t6, \label
  lhu t6, 2(t6)
  slli t6, t6, 16
  or t5, t5, t6
.Ldone\@:
.endm

/* TRAP_EXPECT_ILL insn...: illegal instruction into M, mtval = the instruction bits (3 checks). */
.macro TRAP_EXPECT_ILL insn:vararg
  TRAP_ARM .Lres\@
.Lepc\@:
  \insn
.Lres\@:
  TRAP_DISARM
  CHECK_MTRAP CAUSE_ILLEGAL, any
  LOAD_INSN .Lepc\@
  mv t6, t5
  LOAD_MREC TA_TVAL
  CHECK_REG t5, t6
  CHECK_MEPC .Lepc\@
.endm
/* Same for an illegal instruction delegated to S (stval = bits). */
.macro STRAP_EXPECT_ILL insn:vararg
  TRAP_ARM .Lres\@
.Lepc\@:
  \insn
.Lres\@:
  TRAP_DISARM
  CHECK_STRAP CAUSE_ILLEGAL, any
  LOAD_INSN .Lepc\@
  mv t6, t5
  LOAD_SREC TA_TVAL
  CHECK_REG t5, t6
  CHECK_SEPC .Lepc\@
.endm

/* TRAP_WAIT_BEGIN ... TRAP_WAIT_END: the code in between enables an interrupt; TRAP_WAIT_END waits
   (at most 0.5 s of CLINT mtime) until a trap resumes execution after it. Uses label 9, t5/t6. */
.macro TRAP_WAIT_BEGIN
  TRAP_ARM 9f
.endm
.macro TRAP_WAIT_END
  WAIT_TICKS 5000000
9:
  TRAP_DISARM
.endm

/* WAIT_TICKS n: busy-wait until CLINT mtime has advanced by n ticks (10 MHz); uses t5/t6 */
.macro WAIT_TICKS n:req
  li t6, CLINT_BASE + CLINT_MTIME
  ld t5, 0(t6)
  li t6, \n
  add t5, t5, t6
.Lwait\@:
  li t6, CLINT_BASE + CLINT_MTIME
  ld t6, 0(t6)
  bltu t6, t5, .Lwait\@
.endm

/* NO_TRAP insn...: insn must complete without trapping (1 check). */
.macro NO_TRAP insn:vararg
  TRAP_ARM .Lres\@
  \insn
.Lres\@:
  TRAP_DISARM
  CHECK_NO_MTRAP
.endm

.macro FP_ENABLE
  li t6, MSTATUS_FS
  csrs mstatus, t6
  csrwi fcsr, 0
.endm

/* ====================== start-up and end of a suite ====================== */

.macro TEST_BEGIN name:req
  .pushsection .rodata
__test_name:
  .asciz "isa-\name"
  .popsection
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, __park
  la sp, __stack_top
  /* If PMP exists, open it (S/U accesses fail with no PMP entry); if not, the write traps to .Lpmp. */
  la t0, .Lpmp\@
  csrw mtvec, t0
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f             /* NAPOT, R W X */
  csrw pmpcfg0, t0
  .balign 4
.Lpmp\@:
  la t0, __m_trap
  csrw mtvec, t0
  la t0, __m_area
  csrw mscratch, t0
  sd zero, TA_RESUME(t0)
  sd zero, TA_COUNT(t0)
  la t0, __s_trap
  csrw stvec, t0
  la t0, __s_area
  csrw sscratch, t0
  sd zero, TA_RESUME(t0)
  sd zero, TA_COUNT(t0)
  csrw medeleg, zero
  csrw mideleg, zero
  csrw mie, zero
  csrw mip, zero
  csrw satp, zero
  li t0, MPP_M            /* MIE=SIE=0, MPRV=0, FS=0 (FP off), TVM/TW/TSR=0 */
  csrw mstatus, t0
  li gp, 0
  j __test_body
  .text
__test_body:
.endm

/* TEST_END: all checks ran in order -> PASS. Must be reached in M-mode. */
.macro TEST_END
  li t6, __chk
  beq gp, t6, __pass
  mv t5, gp
  addi gp, gp, 1
  j __fail_seq
.endm

/* ============================== runtime ============================== */
  .text
  .balign 4
__park:
  wfi
  j __park

/* ---- failure entry points (any mode): t5/t6 hold details, gp the check number ---- */
__fail_value:
  li a0, FAILF | FK_VALUE
  j __fail_escape
__fail_seq:
  li a0, FAILF | FK_SEQ
__fail_escape:
  or gp, gp, a0
  ecall                    /* handlers send gp<0 to __report (in M-mode) */
  j __report               /* ecall did not trap: try to report from here */

/* ---- default M-mode trap handler (direct mode; vectored tables can jump here) ---- */
  .balign 4
  .globl __m_trap
__m_trap:
  bltz gp, __report
  csrrw sp, mscratch, sp
  sd t0, TA_T0(sp)
  sd t1, TA_T1(sp)
  li t0, ENTER_M_MAGIC
  bne t6, t0, 1f
  csrr t0, mcause          /* ENTER_M: an ecall (8, 9, 11) with the magic value */
  addi t0, t0, -8
  li t1, 3
  bgtu t0, t1, 1f
  csrw mepc, t5
  li t0, MSTATUS_MPIE      /* continue with mstatus.MIE = 0 */
  csrc mstatus, t0
  j 2f
1:
  csrr t0, mcause
  sd t0, TA_CAUSE(sp)
  csrr t0, mtval
  sd t0, TA_TVAL(sp)
  csrr t0, mepc
  sd t0, TA_EPC(sp)
  csrr t0, mstatus
  sd t0, TA_STATUS(sp)
  ld t0, TA_COUNT(sp)
  addi t0, t0, 1
  sd t0, TA_COUNT(sp)
  ld t0, TA_RESUME(sp)
  beqz t0, __m_unexpected
  sd zero, TA_RESUME(sp)
  csrw mepc, t0
  csrr t0, mcause          /* interrupt: resume with MIE = 0 (the source is still pending) */
  bgez t0, 2f
  li t0, MSTATUS_MPIE
  csrc mstatus, t0
2:
  li t0, MSTATUS_MPP       /* resume in M-mode */
  csrs mstatus, t0
  ld t0, TA_T0(sp)
  ld t1, TA_T1(sp)
  csrrw sp, mscratch, sp
  mret

__m_unexpected:
  li a0, MSTATUS_MPRV
  csrc mstatus, a0
  la a0, __s_unexp_m
  jal ra, __puts
  csrr a0, mcause
  jal ra, __puthex
  la a0, __s_mepc
  jal ra, __puts
  csrr a0, mepc
  jal ra, __puthex
  la a0, __s_mtval
  jal ra, __puts
  csrr a0, mtval
  jal ra, __puthex
  li a0, 0xffff
  and gp, gp, a0
  addi gp, gp, 1           /* the check being prepared when it happened */
  j __report_fail_line

/* ---- default S-mode trap handler ---- */
  .balign 4
  .globl __s_trap
__s_trap:
  bltz gp, 3f              /* failing: forward to M */
  csrrw sp, sscratch, sp
  sd t0, TA_T0(sp)
  sd t1, TA_T1(sp)
  li t0, ENTER_M_MAGIC
  bne t6, t0, 1f
  ld t0, TA_T0(sp)         /* ENTER_M: forward the request to M */
  ld t1, TA_T1(sp)
  csrrw sp, sscratch, sp
  ecall
1:
  csrr t0, scause
  sd t0, TA_CAUSE(sp)
  csrr t0, stval
  sd t0, TA_TVAL(sp)
  csrr t0, sepc
  sd t0, TA_EPC(sp)
  csrr t0, sstatus
  sd t0, TA_STATUS(sp)
  ld t0, TA_COUNT(sp)
  addi t0, t0, 1
  sd t0, TA_COUNT(sp)
  ld t0, TA_RESUME(sp)
  beqz t0, 2f
  sd zero, TA_RESUME(sp)
  csrw sepc, t0
  li t0, MSTATUS_SPP       /* resume in S-mode */
  csrs sstatus, t0
  csrr t0, scause          /* interrupt: resume with SIE = 0 */
  bgez t0, 4f
  li t0, MSTATUS_SPIE
  csrc sstatus, t0
4:
  ld t0, TA_T0(sp)
  ld t1, TA_T1(sp)
  csrrw sp, sscratch, sp
  sret
2:                         /* unexpected trap in S */
  csrr t5, scause
  csrr t6, sepc
  li t0, 0xffff
  and gp, gp, t0
  addi gp, gp, 1
  li t0, FAILF | FK_STRAP
  or gp, gp, t0
3:
  ecall
  j 3b

/* ---- reporter (M-mode): gp = FAILF | kind | number ---- */
__report:
  li a0, MSTATUS_MPRV
  csrc mstatus, a0
  srli a1, gp, 56
  andi a1, a1, 15
  li a0, 0xffff
  and gp, gp, a0
  mv s0, t5
  mv s1, t6
  li a2, 1
  beq a1, a2, 1f
  li a2, 2
  beq a1, a2, 2f
  li a2, 3
  beq a1, a2, 3f
  j __report_fail_line
1:
  la a0, __s_got
  jal ra, __puts
  mv a0, s0
  jal ra, __puthex
  la a0, __s_exp
  jal ra, __puts
  mv a0, s1
  jal ra, __puthex
  j __report_fail_line
2:
  la a0, __s_seq
  jal ra, __puts
  mv a0, s0
  jal ra, __putdec
  j __report_fail_line
3:
  la a0, __s_unexp_s
  jal ra, __puts
  mv a0, s0
  jal ra, __puthex
  la a0, __s_sepc
  jal ra, __puts
  mv a0, s1
  jal ra, __puthex
__report_fail_line:
  li a0, '\n'
  jal ra, __putc
  la a0, __s_fail
  jal ra, __puts
  la a0, __test_name
  jal ra, __puts
  la a0, __s_check
  jal ra, __puts
  mv a0, gp
  jal ra, __putdec
  li a0, '\n'
  jal ra, __putc
  mv a0, gp
  li a1, 255
  bleu a0, a1, 4f
  mv a0, a1
4:
  bnez a0, 5f
  li a0, 255
5:
  slli a0, a0, 16
  li a1, TEST_FAIL
  or a0, a0, a1
  j __exit

__pass:
  la a0, __s_pass
  jal ra, __puts
  la a0, __test_name
  jal ra, __puts
  la a0, __s_open
  jal ra, __puts
  li a0, 0xffff
  and a0, gp, a0
  jal ra, __putdec
  la a0, __s_close
  jal ra, __puts
  li a0, TEST_PASS
__exit:
  li a1, TEST_BASE
  sw a0, 0(a1)
1:
  j 1b

/* ---- UART output (M-mode; clobber a0-a5) ---- */
__putc:                    /* a0 = byte */
  li a5, UART0_BASE
1:
  lbu a4, UART_LSR(a5)
  andi a4, a4, UART_LSR_THRE
  beqz a4, 1b
  sb a0, UART_THR(a5)
  ret
__puts:                    /* a0 = NUL-terminated string */
  mv a3, ra
  mv a2, a0
1:
  lbu a0, 0(a2)
  beqz a0, 2f
  jal ra, __putc
  addi a2, a2, 1
  j 1b
2:
  mv ra, a3
  ret
__puthex:                  /* a0 = value, printed as 0x + 16 digits */
  mv a3, ra
  mv a2, a0
  li a0, '0'
  jal ra, __putc
  li a0, 'x'
  jal ra, __putc
  li a1, 60
1:
  srl a0, a2, a1
  andi a0, a0, 15
  addi a0, a0, '0'
  li a4, '9'
  bleu a0, a4, 2f
  addi a0, a0, 'a' - '0' - 10
2:
  jal ra, __putc
  addi a1, a1, -4
  bgez a1, 1b
  mv ra, a3
  ret
__putdec:                  /* a0 = value < 100000, decimal (no division: the M extension may be under test) */
  mv a3, ra
  mv a2, a0
  la s2, __pow10
  li s3, 0                 /* printed a digit already */
1:
  ld a1, 0(s2)
  beqz a1, 4f
  li a0, '0'
2:
  bltu a2, a1, 3f
  sub a2, a2, a1
  addi a0, a0, 1
  j 2b
3:
  addi s2, s2, 8
  li a4, '0'
  bne a0, a4, 5f
  bnez s3, 5f
  li a4, 1
  bne a1, a4, 1b           /* skip leading zeros, but print the last digit */
5:
  li s3, 1
  jal ra, __putc
  j 1b
4:
  mv ra, a3
  ret

  .section .rodata
  .balign 8
__pow10: .dword 10000, 1000, 100, 10, 1, 0
__s_got:     .asciz "  got "
__s_exp:     .asciz " expected "
__s_seq:     .asciz "  check sequence broken: last check that passed was "
__s_unexp_m: .asciz "  unexpected trap into M: mcause="
__s_mepc:    .asciz " mepc="
__s_mtval:   .asciz " mtval="
__s_unexp_s: .asciz "  unexpected trap into S: scause="
__s_sepc:    .asciz " sepc="
__s_fail:    .asciz "FAIL "
__s_check:   .asciz " check "
__s_pass:    .asciz "PASS "
__s_open:    .asciz " ("
__s_close:   .asciz " checks)\n"

  .data
  .balign 64
  .globl __m_area, __s_area
__m_area: .fill TA_SIZE, 1, 0
__s_area: .fill TA_SIZE, 1, 0
  .text
#endif
