/* Assembly side of pg-vmdemo (see vmdemo.c): privilege switches, the S-mode trap vector with its user/kernel
 * split, the scheduler's context switch, and fault probes for the kernel's own accesses.
 *
 * sscratch convention (S-mode): 0 while the kernel runs, the current process's trap frame while a process
 * runs. A trap from U therefore finds its frame in sscratch; a trap from S finds 0 and is a kernel fault,
 * which must have been armed by one of the probe_* functions (else it is reported and the guest exits).
 */
#define TF_SP    (2 * 8)
#define TF_SEPC  (32 * 8)
#define KF_FIXUP 0
#define KF_CAUSE 8
#define KF_TVAL  16
#define KF_EPC   24
#define SSTATUS_SPP (1 << 8)

/* ---------------------------------------------------------------- M-mode */

  .text
  .balign 4
/* void enter_s(void (*fn)(void)): continue at fn in S-mode on the current stack (mret, MPIE = 0). */
  .globl enter_s
enter_s:
  csrw mepc, a0
  li t0, (3 << 11) | (1 << 7)
  csrc mstatus, t0
  li t0, (1 << 11)
  csrs mstatus, t0
  mret

/* M-mode trap vector: nothing is expected to reach M (U ecalls and page faults are delegated). */
  .balign 4
  .globl m_trap_entry
m_trap_entry:
  la sp, m_stack_top
  j m_trap_unexpected

/* ---------------------------------------------------------------- S-mode trap vector */

  .balign 4
  .globl s_trap_entry
s_trap_entry:
  csrrw sp, sscratch, sp        /* from U: sp = trap frame, sscratch = user sp */
  bnez sp, from_user
  csrrw sp, sscratch, sp        /* from S: restore sp, sscratch = 0 again */
  addi sp, sp, -16
  sd t0, 0(sp)
  sd t1, 8(sp)
  la t0, kfault
  ld t1, KF_FIXUP(t0)
  beqz t1, 1f
  csrr t1, scause
  sd t1, KF_CAUSE(t0)
  csrr t1, stval
  sd t1, KF_TVAL(t0)
  csrr t1, sepc
  sd t1, KF_EPC(t0)
  ld t1, KF_FIXUP(t0)           /* resume after the probing access */
  csrw sepc, t1
  sd zero, KF_FIXUP(t0)         /* one trap per arming */
  ld t0, 0(sp)
  ld t1, 8(sp)
  addi sp, sp, 16
  sret
1:
  j s_trap_unexpected           /* C, does not return */

from_user:
  sd x1, 1*8(sp)
  sd x3, 3*8(sp)
  sd x4, 4*8(sp)
  sd x5, 5*8(sp)
  sd x6, 6*8(sp)
  sd x7, 7*8(sp)
  sd x8, 8*8(sp)
  sd x9, 9*8(sp)
  sd x10, 10*8(sp)
  sd x11, 11*8(sp)
  sd x12, 12*8(sp)
  sd x13, 13*8(sp)
  sd x14, 14*8(sp)
  sd x15, 15*8(sp)
  sd x16, 16*8(sp)
  sd x17, 17*8(sp)
  sd x18, 18*8(sp)
  sd x19, 19*8(sp)
  sd x20, 20*8(sp)
  sd x21, 21*8(sp)
  sd x22, 22*8(sp)
  sd x23, 23*8(sp)
  sd x24, 24*8(sp)
  sd x25, 25*8(sp)
  sd x26, 26*8(sp)
  sd x27, 27*8(sp)
  sd x28, 28*8(sp)
  sd x29, 29*8(sp)
  sd x30, 30*8(sp)
  sd x31, 31*8(sp)
  csrr t0, sscratch
  sd t0, TF_SP(sp)
  csrr t0, sepc
  sd t0, TF_SEPC(sp)
  csrw sscratch, zero           /* in the kernel now */
  mv a0, sp
  la sp, trap_stack_top
  call s_trap_user              /* returns the trap frame of the process to run next */
  /* fall through */

/* user_resume(tf): run the process whose trap frame is tf (satp already set), in U-mode. */
  .globl user_resume
user_resume:
  ld t0, TF_SEPC(a0)
  csrw sepc, t0
  li t0, SSTATUS_SPP
  csrc sstatus, t0
  csrw sscratch, a0
  ld x1, 1*8(a0)
  ld x2, 2*8(a0)
  ld x3, 3*8(a0)
  ld x4, 4*8(a0)
  ld x5, 5*8(a0)
  ld x6, 6*8(a0)
  ld x7, 7*8(a0)
  ld x8, 8*8(a0)
  ld x9, 9*8(a0)
  ld x11, 11*8(a0)
  ld x12, 12*8(a0)
  ld x13, 13*8(a0)
  ld x14, 14*8(a0)
  ld x15, 15*8(a0)
  ld x16, 16*8(a0)
  ld x17, 17*8(a0)
  ld x18, 18*8(a0)
  ld x19, 19*8(a0)
  ld x20, 20*8(a0)
  ld x21, 21*8(a0)
  ld x22, 22*8(a0)
  ld x23, 23*8(a0)
  ld x24, 24*8(a0)
  ld x25, 25*8(a0)
  ld x26, 26*8(a0)
  ld x27, 27*8(a0)
  ld x28, 28*8(a0)
  ld x29, 29*8(a0)
  ld x30, 30*8(a0)
  ld x31, 31*8(a0)
  ld x10, 10*8(a0)
  sret

/* ---------------------------------------------------------------- scheduler context */

/* void sched_enter(struct trapframe *tf): save the kernel's callee-saved context, run tf's process.
   Returns when the trap handler calls sched_return() (no process left to run). */
  .globl sched_enter
sched_enter:
  la t0, kctx
  sd ra, 0(t0)
  sd sp, 8(t0)
  sd s0, 16(t0)
  sd s1, 24(t0)
  sd s2, 32(t0)
  sd s3, 40(t0)
  sd s4, 48(t0)
  sd s5, 56(t0)
  sd s6, 64(t0)
  sd s7, 72(t0)
  sd s8, 80(t0)
  sd s9, 88(t0)
  sd s10, 96(t0)
  sd s11, 104(t0)
  j user_resume

  .globl sched_return
sched_return:
  la t0, kctx
  ld ra, 0(t0)
  ld sp, 8(t0)
  ld s0, 16(t0)
  ld s1, 24(t0)
  ld s2, 32(t0)
  ld s3, 40(t0)
  ld s4, 48(t0)
  ld s5, 56(t0)
  ld s6, 64(t0)
  ld s7, 72(t0)
  ld s8, 80(t0)
  ld s9, 88(t0)
  ld s10, 96(t0)
  ld s11, 104(t0)
  ret

/* ---------------------------------------------------------------- kernel fault probes */
/* Each arms kfault (cause = -1, resume = the instruction after the access) and performs one access.
   A fault resumes there with kfault.cause/tval/epc recorded; the caller checks kfault.cause. */

.macro ARM resume:req
  la t0, kfault
  li t1, -1
  sd t1, KF_CAUSE(t0)
  sd t1, KF_TVAL(t0)
  sd t1, KF_EPC(t0)
  la t1, \resume
  sd t1, KF_FIXUP(t0)
.endm
.macro DISARM
  la t0, kfault
  sd zero, KF_FIXUP(t0)
.endm

/* uint64_t probe_load(uint64_t va): the doubleword at va (a0 unchanged = va if it faulted) */
  .globl probe_load
probe_load:
  ARM 1f
  ld a0, 0(a0)
1:
  DISARM
  ret

/* void probe_store(uint64_t va, uint64_t value) */
  .globl probe_store
probe_store:
  ARM 1f
  sd a1, 0(a0)
1:
  DISARM
  ret

/* uint64_t probe_exec(uint64_t va): calls the function at va (returns its result) */
  .globl probe_exec
probe_exec:
  addi sp, sp, -16
  sd ra, 0(sp)
  ARM 1f
  jalr ra, 0(a0)
1:
  DISARM
  ld ra, 0(sp)
  addi sp, sp, 16
  ret

  .bss
  .balign 16
kctx:         .skip 14 * 8
  .balign 16
trap_stack:   .skip 4096
  .globl trap_stack_top
trap_stack_top:
m_stack:      .skip 2048
m_stack_top:
