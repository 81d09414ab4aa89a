/* Zicsr and machine/supervisor CSRs: access instructions, read-only/unknown CSRs, WARL fields, views, counters. */
#include "test.h"

#define MISA_EXT(c) (1 << ((c) - 'A'))
#define MISA_IMAFDCSU (MISA_EXT('I') | MISA_EXT('M') | MISA_EXT('A') | MISA_EXT('F') | MISA_EXT('D') | MISA_EXT('C') | MISA_EXT('S') | MISA_EXT('U'))

/* CHECK_FIELD csr, mask, value: (csr & mask) == value (1 check) */
.macro CHECK_FIELD csr:req, mask:req, val:req
  csrr t5, \csr
  li t6, \mask
  and t5, t5, t6
  CHECK t5, \val
.endm

/* ILL_OR_QEMU_NOTRAP insn: illegal instruction with mtval = the instruction bits (spec), or no
   trap at all (QEMU 7.2 deviation) (2 checks) */
.macro ILL_OR_QEMU_NOTRAP insn:vararg
  TRAP_ARM .Lres\@
.Lepc\@:
  \insn
.Lres\@:
  TRAP_DISARM
  LOAD_MREC TA_CAUSE
  mv a4, t5
  CHECK2 a4, CAUSE_ILLEGAL, NOTRAP
  li a5, 0
  li t5, NOTRAP
  beq a4, t5, .Lnt\@
  LOAD_INSN .Lepc\@
  mv a5, t5
  LOAD_MREC TA_TVAL
  sub a5, a5, t5
.Lnt\@:
  CHECK a5, 0
.endm

TEST_BEGIN csr
  csrr s11, mscratch        /* mscratch is used below; it holds the trap record pointer */

  /* csrrw/csrrs/csrrc (Zicsr 7.1): rd gets the old value; the register forms */
  li a0, 0x0123456789abcdef
  csrw mscratch, a0
  csrr a1, mscratch
  CHECK a1, 0x0123456789abcdef
  li a2, 0xfedcba9876543210
  csrrw a1, mscratch, a2
  CHECK a1, 0x0123456789abcdef
  li a2, 0x0f
  csrrs a1, mscratch, a2
  CHECK a1, 0xfedcba9876543210
  csrr a1, mscratch
  CHECK a1, 0xfedcba987654321f
  li a2, 0xff00000000000003
  csrrc a1, mscratch, a2
  CHECK a1, 0xfedcba987654321f
  csrr a1, mscratch
  CHECK a1, 0x00dcba987654321c
  csrrw a1, mscratch, a1    /* rd == rs1 */
  CHECK a1, 0x00dcba987654321c
  /* immediate forms: 5-bit zero-extended uimm */
  csrrwi a1, mscratch, 0x1f
  CHECK a1, 0x00dcba987654321c
  csrrsi a1, mscratch, 0x0
  CHECK a1, 0x1f
  csrrci a1, mscratch, 0x5
  CHECK a1, 0x1f
  csrrsi a1, mscratch, 0x10
  CHECK a1, 0x1a
  csrr a1, mscratch
  CHECK a1, 0x1a
  /* rd = x0: the write still happens */
  li a2, 0x77
  csrrw x0, mscratch, a2
  csrr a1, mscratch
  CHECK a1, 0x77
  csrw mscratch, s11

  /* read-only CSRs (2.1: csr[11:10] = 11): reads are legal (csrrs/csrrc with rs1 = x0 and the
     immediate forms with uimm = 0 do not write) */
  NO_TRAP csrr a0, mvendorid
  NO_TRAP csrr a0, marchid
  NO_TRAP csrr a0, mimpid
  NO_TRAP csrrc a0, mhartid, x0
  NO_TRAP csrrsi a0, cycle, 0
  NO_TRAP csrrci a0, instret, 0
  NO_TRAP csrrs x0, time, x0
  csrr a0, mhartid
  CHECK a0, 0               /* this code runs on hart 0 */

  /* ...but every write attempt is illegal, even a csrrs/csrrc whose register is zero (rs1 != x0),
     an immediate csrrwi 0, or csrrw with rd = x0 */
  li a1, 0
  TRAP_EXPECT_ILL csrw mvendorid, a1
  /* QEMU 7.2 decides "no write" from the register value (0) rather than from rs1 != x0 and does
     not trap on these two: both outcomes are accepted (see the report) */
  ILL_OR_QEMU_NOTRAP csrrs a0, marchid, a1
  ILL_OR_QEMU_NOTRAP csrrc a0, mimpid, a1
  TRAP_EXPECT_ILL csrrwi a0, mhartid, 0
  TRAP_EXPECT_ILL csrrw x0, mhartid, x0
  TRAP_EXPECT_ILL csrw cycle, a1
  TRAP_EXPECT_ILL csrrsi a0, time, 1
  TRAP_EXPECT_ILL csrw instret, a1

  /* CSR numbers that do not exist are illegal (reads and writes) */
  TRAP_EXPECT_ILL csrr a0, 0x0ff
  TRAP_EXPECT_ILL csrw 0x1ff, a1
  TRAP_EXPECT_ILL csrr a0, 0x3ff
  TRAP_EXPECT_ILL csrr a0, 0x5ff
  TRAP_EXPECT_ILL csrr a0, 0xfff
  TRAP_EXPECT_ILL csrr a0, 0x7b0     /* dcsr: only in debug mode */

  /* misa (priv 3.1.1): MXL = 2 (64-bit), I M A F D C S U present (the H bit is not checked) */
  csrr a0, misa
  srli a1, a0, 62
  CHECK a1, 2
  li a2, MISA_IMAFDCSU
  and a1, a0, a2
  CHECK a1, MISA_IMAFDCSU
  NO_TRAP csrw misa, a0              /* WARL: writing the current value is legal */
  csrr a1, misa
  CHECK_REG a1, a0

  /* mstatus WARL fields (3.1.6): MPP holds 0, 1, 3; SPP, MPRV, SUM, MXR,
     TVM, TW, TSR, the interrupt enables and FS are writable; UXL = SXL = 2 (64-bit only);
     XS = 0 (no custom extension state) */
  li t0, MPP_S
  csrw mstatus, t0
  CHECK_FIELD mstatus, MSTATUS_MPP, MPP_S
  li t0, MPP_U
  csrw mstatus, t0
  CHECK_FIELD mstatus, MSTATUS_MPP, MPP_U
  li t0, MPP_M
  csrw mstatus, t0
  CHECK_FIELD mstatus, MSTATUS_MPP, MPP_M
  /* Writing the reserved MPP value 2 must leave a legal value (0, 1 or 3). QEMU 7.2 stores 2, so
     that point is not checked here (see the report). */
#define MSTATUS_RW (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_FS)
  li t0, MSTATUS_RW | MPP_M
  csrw mstatus, t0
  CHECK_FIELD mstatus, MSTATUS_RW | MSTATUS_MPP | MSTATUS_XS | MSTATUS_SD, MSTATUS_RW | MPP_M | MSTATUS_SD
  li t0, MSTATUS_RW
  csrc mstatus, t0
  CHECK_FIELD mstatus, MSTATUS_RW | MSTATUS_MPP, MPP_M
  CHECK_FIELD mstatus, MSTATUS_UXL | MSTATUS_SXL, (2 << 32) | (2 << 34)

  /* sstatus is a restricted view of mstatus (4.1.1): M-only fields read as 0 and are not writable
     through it; S fields are the same bits */
  li t0, MSTATUS_MPIE | MPP_M | MSTATUS_TW | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_MPRV
  csrw mstatus, t0
  CHECK_FIELD sstatus, MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_TW | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_MPRV | MSTATUS_MIE, 0
  li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MIE | MSTATUS_TSR
  csrs sstatus, t0
  CHECK_FIELD mstatus, MSTATUS_RW | MSTATUS_MPP, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_MPIE | MPP_M | MSTATUS_TW | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_MPRV
  CHECK_FIELD sstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR
  li t0, -1
  csrc sstatus, t0           /* clears only the S-visible bits */
  CHECK_FIELD mstatus, MSTATUS_RW | MSTATUS_MPP, MSTATUS_MPIE | MPP_M | MSTATUS_TW | MSTATUS_TSR | MSTATUS_TVM | MSTATUS_MPRV
  li t0, FS_CLEAN
  csrs sstatus, t0           /* FS is visible in both */
  CHECK_FIELD mstatus, MSTATUS_FS, FS_CLEAN
  CHECK_FIELD sstatus, MSTATUS_UXL, (2 << 32)
  li t0, MPP_M
  csrw mstatus, t0

  /* sie/sip are views of mie/mip restricted to the interrupts delegated in mideleg (4.1.3) */
  li t0, -1                  /* no pending machine timer interrupt: mtimecmp = max */
  li t1, CLINT_BASE + CLINT_MTIMECMP
  sd t0, 0(t1)
  csrw mideleg, zero
  li t0, MIP_SSIP | MIP_STIP | MIP_SEIP | MIP_MSIP | MIP_MTIP
  csrw mie, t0
  CHECK_FIELD sie, 0xfff, 0            /* nothing delegated: sie reads 0 */
  li t0, -1
  csrw sie, t0                         /* ...and cannot change mie */
  CHECK_FIELD mie, 0xaaa, MIP_SSIP | MIP_STIP | MIP_SEIP | MIP_MSIP | MIP_MTIP
  li t0, MIP_SSIP | MIP_STIP | MIP_SEIP
  csrw mideleg, t0
  CHECK_FIELD mideleg, MIP_SSIP | MIP_STIP | MIP_SEIP, MIP_SSIP | MIP_STIP | MIP_SEIP
  CHECK_FIELD sie, 0xaaa, MIP_SSIP | MIP_STIP | MIP_SEIP
  li t0, MIP_SSIP | MIP_STIP | MIP_MSIP | MIP_MTIP
  csrc sie, t0                         /* clears SSIE/STIE in mie, not the M bits */
  CHECK_FIELD mie, 0xaaa, MIP_SEIP | MIP_MSIP | MIP_MTIP
  li t0, MIP_STIP
  csrs sie, t0
  CHECK_FIELD mie, 0xaaa, MIP_STIP | MIP_SEIP | MIP_MSIP | MIP_MTIP
  csrw mie, zero
  /* sip: SSIP is writable through sip when delegated; STIP/SEIP are read-only there */
  li t0, MIP_SSIP
  csrs mip, t0               /* M can set SSIP */
  CHECK_FIELD sip, 0xaaa, MIP_SSIP
  csrc sip, t0
  CHECK_FIELD mip, MIP_SSIP, 0
  csrs sip, t0
  CHECK_FIELD mip, MIP_SSIP, MIP_SSIP
  li t0, MIP_STIP
  csrs mip, t0               /* M can set STIP */
  CHECK_FIELD sip, MIP_STIP, MIP_STIP
  csrc sip, t0               /* read-only in sip */
  CHECK_FIELD mip, MIP_STIP, MIP_STIP
  csrw mideleg, zero
  CHECK_FIELD sip, 0xaaa, 0  /* not delegated: invisible in sip */
  li t0, MIP_SSIP
  csrc sip, t0               /* ...and not writable through it */
  CHECK_FIELD mip, MIP_SSIP | MIP_STIP, MIP_SSIP | MIP_STIP
  /* mip.MTIP/MSIP/MEIP are read-only (set by the CLINT/PLIC) */
  li t0, MIP_MTIP | MIP_MSIP | MIP_MEIP
  csrs mip, t0
  CHECK_FIELD mip, MIP_MTIP | MIP_MSIP | MIP_MEIP, 0
  csrw mip, zero
  CHECK_FIELD mip, MIP_SSIP | MIP_STIP, 0

  /* mtvec/stvec (3.1.7): direct (0) and vectored (1) modes; reserved modes are not stored */
  la s0, tvec_table
  ori a0, s0, 1
  csrw mtvec, a0
  csrr t5, mtvec
  CHECK_LA t5, tvec_table + 1
  csrw mtvec, s0
  csrr t5, mtvec
  CHECK_LA t5, tvec_table
  ori a0, s0, 2
  csrw mtvec, a0
  CHECK_FIELD mtvec, 2, 0
  ori a0, s0, 1
  csrw stvec, a0
  csrr t5, stvec
  CHECK_LA t5, tvec_table + 1
  ori a0, s0, 3
  csrw stvec, a0
  CHECK_FIELD stvec, 2, 0
  la a0, __m_trap
  csrw mtvec, a0
  la a0, __s_trap
  csrw stvec, a0

  /* mepc/sepc: bit 0 is always zero (IALIGN = 16). QEMU 7.2 keeps bit 0 as written (it only
     clears it on xRET), so reading back bit 0 set is accepted as well (see the report) */
  la a0, tvec_table + 3
  csrw mepc, a0
  csrr a1, mepc
  la t0, tvec_table
  sub a1, a1, t0
  CHECK2 a1, 2, 3
  csrw sepc, a0
  csrr a1, sepc
  sub a1, a1, t0
  CHECK2 a1, 2, 3

  /* satp (4.1.11): Sv39 is supported; a write with an unsupported MODE has no effect at all */
  li a0, SATP_SV39 | (0x1234 << 44) | 0x80123
  csrw satp, a0
  csrr a1, satp
  li a2, SATP_SV39 | 0x80123
  li t0, 0xf0000fffffffffff  /* ASID bits may be partly hard-wired: compare MODE and PPN only */
  and a1, a1, t0
  CHECK_REG a1, a2
  li a0, (1 << 60) | 0x555
  csrw satp, a0
  csrr a1, satp
  and a1, a1, t0
  CHECK_REG a1, a2
  csrw satp, zero
  CHECK_CSR satp, 0

  /* counters (Zicntr): cycle/instret/time readable in M and increasing; time follows CLINT mtime */
  csrr a0, cycle
  csrr a1, instret
  li t0, 100
1:
  addi t0, t0, -1
  bnez t0, 1b
  csrr a2, cycle
  csrr a3, instret
  sltu a4, a0, a2
  CHECK a4, 1
  sub a4, a3, a1             /* at least the 200 loop instructions retired */
  sltiu a4, a4, 200
  CHECK a4, 0
  csrr a0, time              /* wait until time moves (bounded) */
  li t0, 10000000
2:
  csrr a1, time
  bne a1, a0, 3f
  addi t0, t0, -1
  bnez t0, 2b
3:
  sltu a4, a0, a1
  CHECK a4, 1
  li t1, CLINT_BASE + CLINT_MTIME
  csrr a0, time
  ld a1, 0(t1)
  csrr a2, time
  sltu a4, a1, a0            /* time <= mtime <= time (later read) */
  CHECK a4, 0
  sltu a4, a2, a1
  CHECK a4, 0
  /* mcycle/minstret are writable: the counters continue from the written value (QEMU without
     icount derives both from host ticks, so only "soon after the written value" is checked) */
  li a0, 0x100000000000
  csrw minstret, a0
  csrr a1, minstret
  csrr a2, instret
  sub a1, a1, a0
  srli a1, a1, 32
  CHECK a1, 0
  sub a2, a2, a0
  srli a2, a2, 32
  CHECK a2, 0
  li a0, 0x200000000000
  csrw mcycle, a0
  csrr a1, cycle
  sub a1, a1, a0
  srli a1, a1, 32
  CHECK a1, 0

  /* privilege of CSR numbers (2.1: csr[9:8]): S cannot access M CSRs, U cannot access S CSRs */
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, t0
  ENTER_S                    /* (every trap resumes in M: re-enter S/U before each case) */
  TRAP_EXPECT_ILL csrr a0, mstatus
  ENTER_S
  TRAP_EXPECT_ILL csrw mscratch, a0
  ENTER_S
  TRAP_EXPECT_ILL csrr a0, mcycle
  ENTER_S
  NO_TRAP csrr a0, sstatus
  ENTER_M
  ENTER_S
  NO_TRAP csrr a0, sscratch
  ENTER_M
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, sstatus
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, mstatus
  ENTER_U
  TRAP_EXPECT_ILL csrw sscratch, a0

  /* counter enables (3.1.11, 4.1.5): from S, cycle/time/instret need mcounteren.CY/TM/IR; from U
     they need the bit in both mcounteren and scounteren */
  csrw mcounteren, zero
  csrw scounteren, zero
  ENTER_S
  TRAP_EXPECT_ILL csrr a0, cycle
  ENTER_S
  TRAP_EXPECT_ILL csrr a0, time
  ENTER_S
  TRAP_EXPECT_ILL csrr a0, instret
  li t0, 7
  csrw mcounteren, t0
  ENTER_S
  NO_TRAP csrr a0, cycle
  ENTER_M
  ENTER_S
  NO_TRAP csrr a0, time
  ENTER_M
  ENTER_S
  NO_TRAP csrr a0, instret
  ENTER_M
  li t0, 5                   /* CY, IR but not TM */
  csrw mcounteren, t0
  ENTER_S
  TRAP_EXPECT_ILL csrr a0, time
  ENTER_S
  NO_TRAP csrr a0, instret
  ENTER_M
  /* U-mode: mcounteren = 7, scounteren = 0 -> illegal */
  li t0, 7
  csrw mcounteren, t0
  csrw scounteren, zero
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, cycle
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, time
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, instret
  /* mcounteren = 0, scounteren = 7 -> illegal */
  csrw mcounteren, zero
  li t0, 7
  csrw scounteren, t0
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, cycle
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, instret
  /* both set -> readable; from S, scounteren does not matter */
  csrw mcounteren, t0
  ENTER_U
  NO_TRAP csrr a0, cycle
  ENTER_M
  ENTER_U
  NO_TRAP csrr a0, time
  ENTER_M
  ENTER_U
  NO_TRAP csrr a0, instret
  ENTER_M
  li t0, 2                   /* TM only in scounteren */
  csrw scounteren, t0
  ENTER_U
  TRAP_EXPECT_ILL csrr a0, cycle
  ENTER_S
  NO_TRAP csrr a0, cycle
  ENTER_M
  CHECK_FIELD mcounteren, 7, 7
  CHECK_FIELD scounteren, 7, 2

TEST_END

  .balign 256
tvec_table:
  .fill 64, 4, 0
