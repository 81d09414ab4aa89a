/* Sv39 translation faults: page faults 12/13/15, permissions, SUM, MXR, MPRV, sfence.vma, delegation to S. */
#include "test.h"

/* MKPTE reg, label, flags: reg = leaf/pointer PTE for the physical page at label */
.macro MKPTE reg:req, label:req, flags:req
  la \reg, \label
  srli \reg, \reg, 12
  slli \reg, \reg, 10
  ori \reg, \reg, \flags
.endm

/* RUN_U va: run the U-mode code at virtual address va; it ends with an ecall (or faults) and
   execution continues here in M-mode, the trap recorded */
.macro RUN_U va:req
  TRAP_ARM .Lres\@
  li t0, MSTATUS_MPP | MSTATUS_MPIE
  csrc mstatus, t0
  li t0, \va
  csrw mepc, t0
  mret
.Lres\@:
  TRAP_DISARM
.endm

/* MPRV_ON mpp: mstatus.MPRV = 1 with MPP = mpp (M-mode loads/stores then translate as mpp) */
.macro MPRV_ON mpp:req
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPRV | \mpp
  csrs mstatus, t0
.endm
.macro MPRV_OFF
  li t0, MSTATUS_MPRV
  csrc mstatus, t0
.endm

#define VA_U    0x1000   /* U, R W */
#define VA_WO   0x2000   /* W without R: reserved */
#define VA_XO   0x3000   /* execute-only */
#define VA_RO   0x4000   /* read-only */
#define VA_INV  0x5000   /* invalid (V = 0) */
#define VA_UX   0x6000   /* U, R X: U-mode code */
#define VA_S    0x8000   /* R W */
#define VA_MISALIGNED_MEGA 0x200000
#define VA_NONCANON 0x0000004000000000

TEST_BEGIN traps-vm
  /* build the page tables (4.3, 4.4): RAM identity-mapped by a gigapage (S only), and 4 KiB test
     pages at VA 0x1000..0x8000 */
  la s0, root
  la s1, l1
  la s2, l0
  MKPTE t0, l1, PTE_V
  sd t0, 0(s0)
  li t0, (0x80000000 >> 12 << 10) | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  sd t0, 2*8(s0)
  MKPTE t0, l0, PTE_V
  sd t0, 0(s1)
  MKPTE t0, page_s, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D    /* megapage with PPN[0] != 0 */
  sd t0, 1*8(s1)
  MKPTE t0, page_u, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
  sd t0, 1*8(s2)
  MKPTE t0, page_wo, PTE_V | PTE_W | PTE_A | PTE_D
  sd t0, 2*8(s2)
  MKPTE t0, page_xo, PTE_V | PTE_X | PTE_A
  sd t0, 3*8(s2)
  MKPTE t0, page_ro, PTE_V | PTE_R | PTE_A
  sd t0, 4*8(s2)
  sd zero, 5*8(s2)
  MKPTE t0, page_ux, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A
  sd t0, 6*8(s2)
  MKPTE t0, page_s, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  sd t0, 8*8(s2)
  /* page contents */
  la t1, page_u
  li t0, 0x1111111111111111
  sd t0, 0(t1)
  la t1, page_ro
  li t0, 0x4444444444444444
  sd t0, 0(t1)
  la t1, page_s
  li t0, 0x8888888888888888
  sd t0, 0(t1)
  la t0, root
  srli t0, t0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  sfence.vma

  /* M-mode is not translated (4.1.11): physical addresses work as before */
  la t1, page_s
  ld a0, 0(t1)
  CHECK a0, 0x8888888888888888

  /* S-mode through the identity gigapage and through 4 KiB pages */
  ENTER_S
  la t1, page_ro
  ld a0, 0(t1)
  CHECK a0, 0x4444444444444444
  li t1, VA_S
  ld a0, 0(t1)
  CHECK a0, 0x8888888888888888
  li t0, 0x5a5a
  sd t0, 8(t1)
  ld a0, 8(t1)
  CHECK a0, 0x5a5a
  li t1, VA_RO
  ld a0, 0(t1)
  CHECK a0, 0x4444444444444444
  li t1, VA_XO
  jalr ra, 0(t1)             /* execute-only page: runs (a0 = 0x3c) */
  CHECK a0, 0x3c
  ENTER_M
  la t1, page_s
  ld a0, 8(t1)
  CHECK a0, 0x5a5a           /* the S store reached the physical page */

  /* 13 / 15 / 12 on an invalid PTE; mtval = the virtual address */
  li s3, VA_INV
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_INV + 8, ld a0, 8(s3)
  ENTER_S
  TRAP_EXPECT CAUSE_STORE_PAGE, VA_INV + 16, sd a0, 16(s3)
  ENTER_S
  TRAP_BEGIN
  jalr ra, 0(s3)
  TRAP_END
  CHECK_MTRAP CAUSE_FETCH_PAGE, VA_INV
  LOAD_MREC TA_EPC
  CHECK t5, VA_INV

  /* permissions: store to read-only, execute from non-executable, W without R is reserved */
  li s3, VA_RO
  ENTER_S
  TRAP_EXPECT CAUSE_STORE_PAGE, VA_RO + 4, sw a0, 4(s3)
  ENTER_S
  TRAP_BEGIN
  jalr ra, 0(s3)
  TRAP_END
  CHECK_MTRAP CAUSE_FETCH_PAGE, VA_RO
  li s3, VA_S
  ENTER_S
  TRAP_BEGIN
  jalr ra, 8(s3)
  TRAP_END
  CHECK_MTRAP CAUSE_FETCH_PAGE, VA_S + 8
  li s3, VA_WO
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_WO, ld a0, 0(s3)
  ENTER_S
  TRAP_EXPECT CAUSE_STORE_PAGE, VA_WO, sd a0, 0(s3)

  /* MXR (4.1.1): loads from an execute-only page fault unless MXR = 1; stores always fault */
  li s3, VA_XO
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_XO, lw a0, 0(s3)
  ENTER_S
  li t0, MSTATUS_MXR
  csrs sstatus, t0
  lw a0, 0(s3)
  la t1, page_xo
  lw a1, 0(t1)
  CHECK_REG a0, a1           /* the instruction bits */
  TRAP_EXPECT CAUSE_STORE_PAGE, VA_XO, sw a0, 0(s3)
  li t0, MSTATUS_MXR
  csrc mstatus, t0

  /* SUM (4.1.1): S loads/stores to U pages fault unless SUM = 1; S never executes U pages */
  li s3, VA_U
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_U, ld a0, 0(s3)
  ENTER_S
  TRAP_EXPECT CAUSE_STORE_PAGE, VA_U + 8, sd a0, 8(s3)
  ENTER_S
  li t0, MSTATUS_SUM
  csrs sstatus, t0
  ld a0, 0(s3)
  CHECK a0, 0x1111111111111111
  li t0, 0x77
  sd t0, 8(s3)
  ld a0, 8(s3)
  CHECK a0, 0x77
  li s3, VA_UX
  TRAP_BEGIN
  jalr ra, 0(s3)
  TRAP_END
  CHECK_MTRAP CAUSE_FETCH_PAGE, VA_UX
  li t0, MSTATUS_SUM
  csrc mstatus, t0

  /* U-mode: runs its own pages, may not touch S pages, may not execute S pages */
  li a1, VA_U
  RUN_U VA_UX                /* ld a0, 0(a1); ecall */
  CHECK_MTRAP CAUSE_ECALL_U, 0
  CHECK a0, 0x1111111111111111
  li a1, VA_S
  RUN_U VA_UX
  CHECK_MTRAP CAUSE_LOAD_PAGE, VA_S
  li a1, VA_XO               /* not a U page either */
  RUN_U VA_UX
  CHECK_MTRAP CAUSE_LOAD_PAGE, VA_XO
  li a1, VA_U
  RUN_U VA_UX + 8            /* sd a1, 16(a1); ecall */
  CHECK_MTRAP CAUSE_ECALL_U, 0
  la t1, page_u
  ld a0, 16(t1)
  CHECK a0, VA_U
  li a1, VA_RO
  RUN_U VA_UX + 8
  CHECK_MTRAP CAUSE_STORE_PAGE, VA_RO + 16
  RUN_U VA_S                 /* fetch from a page without U (and without X) */
  CHECK_MTRAP CAUSE_FETCH_PAGE, VA_S
  RUN_U 0x80000000           /* identity gigapage: no U */
  CHECK_MTRAP CAUSE_FETCH_PAGE, 0x80000000

  /* a misaligned superpage (PPN[0] != 0 in a megapage PTE) and a non-canonical address fault (4.4) */
  li s3, VA_MISALIGNED_MEGA
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_MISALIGNED_MEGA, ld a0, 0(s3)
  li s3, VA_NONCANON
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_NONCANON, ld a0, 0(s3)

  /* sfence.vma (4.2.1): a PTE made valid (and then invalid again) takes effect after sfence.vma */
  MKPTE t0, page_ro, PTE_V | PTE_R | PTE_A
  sd t0, 5*8(s2)
  sfence.vma
  li s3, VA_INV
  ENTER_S
  ld a0, 0(s3)
  CHECK a0, 0x4444444444444444
  ENTER_M
  sd zero, 5*8(s2)
  sfence.vma
  ENTER_S
  TRAP_EXPECT CAUSE_LOAD_PAGE, VA_INV, ld a0, 0(s3)
  MKPTE t0, page_s, PTE_V | PTE_R | PTE_A       /* valid again, now onto page_s; S flushes */
  sd t0, 5*8(s2)
  ENTER_S
  sfence.vma s3, zero
  ld a0, 0(s3)
  CHECK a0, 0x8888888888888888
  ENTER_M
  sd zero, 5*8(s2)
  sfence.vma

  /* MPRV (3.1.6.3): M-mode loads/stores translate and check permissions as mode MPP */
  li s3, VA_S
  TRAP_ARM 1f
  MPRV_ON MPP_S
  ld a0, 0(s3)               /* VA 0x8000 -> page_s (physical 0x8000 is unmapped) */
  MPRV_OFF
1:
  TRAP_DISARM
  CHECK_NO_MTRAP
  CHECK a0, 0x8888888888888888
  TRAP_ARM 2f
  MPRV_ON MPP_U
  ld a0, 0(s3)               /* S page, as U: page fault */
  MPRV_OFF
2:
  MPRV_OFF
  TRAP_DISARM
  CHECK_MTRAP CAUSE_LOAD_PAGE, VA_S
  li s3, VA_U
  TRAP_ARM 3f
  MPRV_ON MPP_U
  ld a0, 0(s3)
  li t0, 0x99
  sd t0, 24(s3)
  MPRV_OFF
3:
  TRAP_DISARM
  CHECK_NO_MTRAP
  CHECK a0, 0x1111111111111111
  la t1, page_u
  ld a0, 24(t1)
  CHECK a0, 0x99
  TRAP_ARM 4f
  MPRV_ON MPP_S              /* U page as S without SUM: fault */
  sd a0, 0(s3)
  MPRV_OFF
4:
  MPRV_OFF
  TRAP_DISARM
  CHECK_MTRAP CAUSE_STORE_PAGE, VA_U
  TRAP_ARM 5f
  li t0, MSTATUS_SUM
  csrs mstatus, t0
  MPRV_ON MPP_S              /* ...with SUM: fine */
  ld a0, 0(s3)
  MPRV_OFF
5:
  TRAP_DISARM
  li t0, MSTATUS_SUM
  csrc mstatus, t0
  CHECK_NO_MTRAP
  CHECK a0, 0x1111111111111111
  li s3, VA_XO
  TRAP_ARM 6f
  li t0, MSTATUS_MXR
  csrs mstatus, t0
  MPRV_ON MPP_S              /* MXR applies to MPRV accesses too */
  lw a0, 0(s3)
  MPRV_OFF
6:
  TRAP_DISARM
  li t0, MSTATUS_MXR
  csrc mstatus, t0
  CHECK_NO_MTRAP
  la t1, page_xo
  lw a1, 0(t1)
  CHECK_REG a0, a1
  la s3, page_ro             /* MPP = M: no translation even with MPRV = 1 */
  MPRV_ON MPP_M
  ld a0, 0(s3)
  MPRV_OFF
  CHECK a0, 0x4444444444444444

  /* page faults delegated to S (medeleg): scause/stval/sepc, from S and from U */
  li t0, (1 << CAUSE_FETCH_PAGE) | (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)
  csrw medeleg, t0
  li s3, VA_INV
  ENTER_S
  STRAP_EXPECT CAUSE_LOAD_PAGE, VA_INV + 8, ld a0, 8(s3)
  STRAP_EXPECT CAUSE_STORE_PAGE, VA_INV, sb a0, 0(s3)
  TRAP_BEGIN
  jalr ra, 0(s3)
  TRAP_END
  CHECK_STRAP CAUSE_FETCH_PAGE, VA_INV
  CHECK_NO_MTRAP
  ENTER_M
  li a1, VA_S
  RUN_U VA_UX                /* U load from an S page: to the S handler, resumes in S */
  CHECK_STRAP CAUSE_LOAD_PAGE, VA_S
  LOAD_SREC TA_EPC
  CHECK t5, VA_UX
  LOAD_SREC TA_STATUS
  andi t5, t5, MSTATUS_SPP
  CHECK t5, 0                /* SPP = U */
  ENTER_M
  csrw medeleg, zero
  csrw satp, zero
  sfence.vma

TEST_END

  /* code pages (physical; mapped at VA_XO and VA_UX) */
  .balign 4096
page_xo:
  li a0, 0x3c
  ret
  .balign 4096
page_ux:
  .option push
  .option norvc
  ld a0, 0(a1)               /* VA_UX + 0 */
  ecall
  sd a1, 16(a1)              /* VA_UX + 8 */
  ecall
  .option pop
  .balign 4096

  .data
  .balign 4096
root:    .fill 4096, 1, 0
l1:      .fill 4096, 1, 0
l0:      .fill 4096, 1, 0
page_u:  .fill 4096, 1, 0
page_wo: .fill 4096, 1, 0
page_ro: .fill 4096, 1, 0
page_s:  .fill 4096, 1, 0
