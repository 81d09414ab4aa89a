/* Interrupts: CLINT software/timer, S-level software/timer, delegation, priorities, global enables, wfi. */
#include "test.h"

#define MTIMECMP (CLINT_BASE + CLINT_MTIMECMP)
#define MTIME    (CLINT_BASE + CLINT_MTIME)
#define MSIP     (CLINT_BASE + CLINT_MSIP)

/* TIMER_IN ticks: mtimecmp = mtime + ticks (clobbers t0, t1) */
.macro TIMER_IN ticks:req
  li t1, MTIME
  ld t0, 0(t1)
  li t1, \ticks
  add t0, t0, t1
  li t1, MTIMECMP
  sd t0, 0(t1)
.endm
.macro TIMER_OFF
  li t0, -1
  li t1, MTIMECMP
  sd t0, 0(t1)
.endm
.macro SET_MSIP v:req
  li t0, \v
  li t1, MSIP
  sw t0, 0(t1)
.endm
.macro CHECK_MSTATUS_REC mask:req, val:req
  LOAD_MREC TA_STATUS
  li t6, \mask
  and t5, t5, t6
  CHECK t5, \val
.endm
.macro CHECK_FIELD csr:req, mask:req, val:req
  csrr t5, \csr
  li t6, \mask
  and t5, t5, t6
  CHECK t5, \val
.endm
/* SPIN n: busy loop (no trap expected) */
.macro SPIN n:req
  li t0, \n
.Ls\@:
  addi t0, t0, -1
  bnez t0, .Ls\@
.endm
/* WAIT_MIP bit: wait (at most 0.5 s of mtime) until mip has the bit; uses t0, t1, t5, t6 */
.macro WAIT_MIP bit:req
  li t6, MTIME
  ld t5, 0(t6)
  li t6, 5000000
  add t5, t5, t6
.Lw\@:
  csrr t1, mip
  andi t1, t1, \bit
  bnez t1, .Ld\@
  li t6, MTIME
  ld t6, 0(t6)
  bltu t6, t5, .Lw\@
.Ld\@:
.endm

/* PRIO_STEP: take one interrupt (MIE = 1), append its cause to s1, clear its source */
.macro PRIO_STEP
  TRAP_WAIT_BEGIN
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  LOAD_MREC TA_CAUSE
  andi a0, t5, 0xff
  slli s1, s1, 8
  or s1, s1, a0
  jal ra, clear_source
.endm
/* PRIO_PAIR irq: the next interrupt taken is irq; all sources are then cleared (1 check) */
.macro PRIO_PAIR irq:req
  TRAP_WAIT_BEGIN
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  LOAD_MREC TA_CAUSE
  CHECK t5, CAUSE_INTR | \irq
  SET_MSIP 0
.endm

TEST_BEGIN interrupts
  TIMER_OFF
  csrci mstatus, MSTATUS_MIE

  /* machine software interrupt (priv 3.1.9, CLINT msip): mip.MSIP follows msip; taken with
     mcause = 2^63 + 3, mtval = 0 */
  SET_MSIP 1
  CHECK_FIELD mip, MIP_MSIP, MIP_MSIP
  li t0, MIP_MSIP
  csrw mie, t0
  TRAP_WAIT_BEGIN
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_MSI, 0
  CHECK_FIELD mstatus, MSTATUS_MIE, 0   /* the default handler resumed with MIE = 0 */
  SET_MSIP 0
  CHECK_FIELD mip, MIP_MSIP, 0
  csrw mie, zero

  /* machine timer interrupt: MTIP while mtime >= mtimecmp; taken with mcause = 2^63 + 7;
     cleared by writing mtimecmp */
  TIMER_IN 100000000         /* 10 s away: not pending */
  CHECK_FIELD mip, MIP_MTIP, 0
  li t0, MIP_MTIP
  csrw mie, t0
  TRAP_WAIT_BEGIN
  TIMER_IN 1000
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_MTI, 0
  CHECK_FIELD mip, MIP_MTIP, MIP_MTIP
  TIMER_OFF
  CHECK_FIELD mip, MIP_MTIP, 0
  /* the same, waiting in wfi (timer 10 ms away): mepc = the instruction after the wfi (or a later
     one, if the wfi returned early, which the spec allows) but never the wfi itself */
  TRAP_ARM 2f
  TIMER_IN 100000
  csrsi mstatus, MSTATUS_MIE
wfi_insn:
  wfi
  WAIT_TICKS 5000000
2:
  TRAP_DISARM
  CHECK_MTRAP CAUSE_INTR | IRQ_MTI, 0
  LOAD_MREC TA_EPC
  la t1, 2b
  sltu a3, t5, t1
  xori a3, a3, 1             /* bad if mepc >= 2b */
  la t1, wfi_insn
  sltu a4, t1, t5
  xori a4, a4, 1             /* bad if mepc <= wfi_insn */
  or a3, a3, a4
  CHECK a3, 0
  TIMER_OFF
  csrw mie, zero

  /* wfi returns when an enabled interrupt is pending even if mstatus.MIE = 0 (3.3.3); no trap */
  li t0, MIP_MTIP
  csrw mie, t0
  TRAP_ARM 3f
  TIMER_IN 1000
  wfi
  WAIT_MIP MIP_MTIP
3:
  TRAP_DISARM
  CHECK_NO_MTRAP
  CHECK_FIELD mip, MIP_MTIP, MIP_MTIP
  TIMER_OFF
  csrw mie, zero

  /* vectored mtvec: the timer interrupt goes to BASE + 4 * 7 */
  la t0, mvec_table + 1
  csrw mtvec, t0
  li t0, MIP_MTIP
  csrw mie, t0
  TRAP_WAIT_BEGIN
  TIMER_IN 100
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  TIMER_OFF
  CHECK_MTRAP CAUSE_INTR | IRQ_MTI, 0
  LOAD_MREC TA_VEC
  CHECK t5, IRQ_MTI
  la t0, __m_trap
  csrw mtvec, t0
  csrw mie, zero

  /* interrupts for M are not taken in M with MIE = 0, but always from S and U (3.1.6.1) */
  SET_MSIP 1
  li t0, MIP_MSIP
  csrw mie, t0
  TRAP_ARM 4f
  SPIN 100000
4:
  TRAP_DISARM
  CHECK_NO_MTRAP
  TRAP_WAIT_BEGIN
  ENTER_S                    /* MIE = 0: still taken */
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_MSI, 0
  CHECK_MSTATUS_REC MSTATUS_MPP, MPP_S
  TRAP_WAIT_BEGIN
  ENTER_U
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_MSI, 0
  CHECK_MSTATUS_REC MSTATUS_MPP, MPP_U
  SET_MSIP 0
  csrw mie, zero

  /* supervisor software interrupt (4.1.3): S sets sip.SSIP; delegated, it is taken in S when
     sstatus.SIE = 1 with scause = 2^63 + 1; not taken in S with SIE = 0 */
  li t0, MIP_SSIP
  csrw mideleg, t0
  csrw mie, t0
  ENTER_S
  csrci sstatus, MSTATUS_SIE
  li t0, MIP_SSIP
  csrs sip, t0
  TRAP_ARM 5f
  SPIN 100000
5:
  TRAP_DISARM
  CHECK_NO_STRAP
  CHECK_NO_MTRAP
  TRAP_WAIT_BEGIN
  csrsi sstatus, MSTATUS_SIE
  TRAP_WAIT_END
  CHECK_STRAP CAUSE_INTR | IRQ_SSI, 0
  CHECK_NO_MTRAP
  li t0, MIP_SSIP
  csrc sip, t0
  CHECK_FIELD sip, MIP_SSIP, 0
  ENTER_M
  li t0, MIP_SSIP            /* from U, S interrupts are taken even with SIE = 0 */
  csrs mip, t0
  csrci mstatus, MSTATUS_SIE
  TRAP_WAIT_BEGIN
  ENTER_U
  TRAP_WAIT_END
  CHECK_STRAP CAUSE_INTR | IRQ_SSI, 0
  LOAD_SREC TA_STATUS
  andi t5, t5, MSTATUS_SPP
  CHECK t5, 0                /* came from U */
  ENTER_M
  /* a delegated interrupt is never taken in M, even with MIE = 1 (3.1.9) */
  li t0, MIP_SSIP
  csrs mip, t0
  TRAP_ARM 6f
  csrsi mstatus, MSTATUS_MIE | MSTATUS_SIE
  SPIN 100000
6:
  csrci mstatus, MSTATUS_MIE | MSTATUS_SIE
  TRAP_DISARM
  CHECK_NO_MTRAP
  CHECK_NO_STRAP
  /* not delegated, SSIP is an M interrupt: taken in M with MIE = 1, mcause = 2^63 + 1 */
  csrw mideleg, zero
  TRAP_WAIT_BEGIN
  csrsi mstatus, MSTATUS_MIE
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_SSI, 0
  CHECK_NO_STRAP
  li t0, MIP_SSIP
  csrc mip, t0
  csrw mie, zero

  /* supervisor timer interrupt: M sets mip.STIP; delegated to S; S cannot clear it (M does) */
  li t0, MIP_STIP
  csrw mideleg, t0
  csrw mie, t0
  csrs mip, t0
  csrci mstatus, MSTATUS_SIE
  ENTER_S
  CHECK_FIELD sip, MIP_STIP, MIP_STIP
  TRAP_WAIT_BEGIN
  csrsi sstatus, MSTATUS_SIE
  TRAP_WAIT_END
  CHECK_STRAP CAUSE_INTR | IRQ_STI, 0
  CHECK_FIELD sip, MIP_STIP, MIP_STIP
  ENTER_M
  li t0, MIP_STIP
  csrc mip, t0
  CHECK_FIELD sip, MIP_STIP, 0
  csrw mie, zero
  csrw mideleg, zero

  /* priority (3.1.9): with MSI, MTI, SEI, SSI, STI all pending for M, they must be taken in the
     order MSI > MTI > SEI > SSI > STI (MEI needs the PLIC and is not used). Each step takes one
     interrupt and clears its source; the causes are packed one byte each into s1.
     QEMU 7.2 (without AIA) takes the lowest-numbered pending interrupt instead
     (SSI, MSI, STI, MTI, SEI): that sequence is accepted as well (see the report). */
  SET_MSIP 1
  TIMER_IN 0
  li t0, MIP_SEIP | MIP_SSIP | MIP_STIP
  csrs mip, t0
  li t0, MIP_MSIP | MIP_MTIP | MIP_SEIP | MIP_SSIP | MIP_STIP
  csrw mie, t0
  WAIT_MIP MIP_MTIP
  li s1, 0
  PRIO_STEP
  PRIO_STEP
  PRIO_STEP
  PRIO_STEP
  PRIO_STEP
  CHECK2 s1, 0x0307090105, 0x0103050709
  CHECK_FIELD mip, MIP_MSIP | MIP_MTIP | MIP_SEIP | MIP_SSIP | MIP_STIP, 0
  /* the two orders agree on these pairs: MSI > MTI, MTI > SEI, SSI > STI */
  SET_MSIP 1
  TIMER_IN 0
  li t0, MIP_MSIP | MIP_MTIP
  csrw mie, t0
  WAIT_MIP MIP_MTIP
  PRIO_PAIR IRQ_MSI
  TIMER_OFF
  TIMER_IN 0
  li t0, MIP_SEIP
  csrs mip, t0
  li t0, MIP_MTIP | MIP_SEIP
  csrw mie, t0
  WAIT_MIP MIP_MTIP
  PRIO_PAIR IRQ_MTI
  TIMER_OFF
  li t0, MIP_SEIP
  csrc mip, t0
  li t0, MIP_SSIP | MIP_STIP
  csrs mip, t0
  csrw mie, t0
  PRIO_PAIR IRQ_SSI
  li t0, MIP_SSIP | MIP_STIP
  csrc mip, t0
  csrw mie, zero
  /* M-level interrupts before S-level ones even when the S one is delegated and the hart is in S */
  li t0, MIP_SSIP
  csrw mideleg, t0
  csrs mip, t0
  SET_MSIP 1
  li t0, MIP_MSIP | MIP_SSIP
  csrw mie, t0
  csrsi mstatus, MSTATUS_SIE
  TRAP_WAIT_BEGIN
  ENTER_S
  TRAP_WAIT_END
  CHECK_MTRAP CAUSE_INTR | IRQ_MSI, 0
  CHECK_NO_STRAP
  SET_MSIP 0
  csrsi mstatus, MSTATUS_SIE
  TRAP_WAIT_BEGIN
  ENTER_S                    /* now only the delegated SSI: to S */
  TRAP_WAIT_END
  CHECK_STRAP CAUSE_INTR | IRQ_SSI, 0
  ENTER_M
  li t0, MIP_SSIP
  csrc mip, t0
  csrw mie, zero
  csrw mideleg, zero

TEST_END

/* clear_source: a0 = interrupt cause number; clears that interrupt's source */
clear_source:
  li t0, IRQ_MSI
  bne a0, t0, 1f
  li t1, MSIP
  sw zero, 0(t1)
  ret
1:
  li t0, IRQ_MTI
  bne a0, t0, 2f
  li t0, -1
  li t1, MTIMECMP
  sd t0, 0(t1)
  ret
2:
  li t0, 1
  sll t0, t0, a0
  csrc mip, t0               /* SEIP, SSIP, STIP are software-writable in mip */
  ret

/* vectored table: entry n records n, then the default handler */
  .option push
  .option norvc
  .balign 256
mvec_table:
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  j mvec_\n
  .endr
  .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
mvec_\n:
  csrrw sp, mscratch, sp
  sd t0, TA_T0(sp)
  li t0, \n
  sd t0, TA_VEC(sp)
  ld t0, TA_T0(sp)
  csrrw sp, mscratch, sp
  j __m_trap
  .endr
  .option pop
