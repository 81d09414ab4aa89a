/* pg-hostile: an S-mode guest that feeds the MMU garbage page tables (Sv39 and Sv48) and checks that every
 * access ends in the architectural outcome: the right fault cause with stval = the virtual address, or a
 * correct access, and nothing else (the host must neither crash nor hang).
 *
 *   - exhaustive sweep: all 256 combinations of a level-0 leaf's flag bits (V R W X U G A D), for load / store /
 *     fetch, from S with SUM = 0 and 1 and from U, with MXR = 0 and 1, against a reference model (Sv39, then
 *     again under Sv48);
 *   - random sweep: xorshift PTEs with random flags, RSW bits, reserved bits 54..63, and PPNs in RAM or
 *     beyond it (0x2_0000_0000, 0xffff_ffff_f000), against the same model;
 *   - structural garbage: non-leaf PTEs pointing at MMIO (the UART) or beyond RAM, leaves pointing beyond RAM
 *     (access faults) or at the UART (a legal access), non-leaf PTEs with A/D/U set, reserved bits on leaf
 *     and non-leaf PTEs, misaligned mega/giga/terapages, self-referencing tables (a root entry pointing at the
 *     root, a two-level cycle), a leaf mapping its own table (page-table edits through it), non-canonical
 *     addresses, a misaligned access straddling into an unmapped page, garbage sfence.vma operands,
 *     unsupported satp modes (WARL: the write is ignored), roots beyond RAM / at MMIO (M-mode with MPRV, since
 *     S could not even fetch its handler);
 *   - fault storms: a faulting access retried 100000 times by a handler that fixes nothing, then abandoned
 *     (S load, S fetch, S store access fault, Sv48 non-canonical load, M-mode MPRV with a root beyond RAM).
 * Output: `PASS pg-hostile (<N> faults)`, N = the faults the spec makes mandatory (accesses for which the
 * spec also allows success, e.g. A/D clear, are checked but not counted, so N is the same everywhere).
 * Failure: the ISA-test report (`FAIL pg-hostile check <n>`, see isa/test.h). For the sweeps, one check number
 * covers a whole loop and the report prints
 *     got   = cause << 56 | type << 48 | mode << 40 | mxr << 32 | accepted << 24 | outcome << 16
 *     expected = the PTE
 * (cause 0xff..: no trap; type 0 load, 1 store, 2 fetch; mode 0 S, 1 S+SUM, 2 U; accepted/outcome bits:
 * 1 success, 2 page fault, 4 access fault).
 *
 * Where QEMU 7.2 differs from the spec, both are accepted (CHECK2, spec value first): a non-leaf PTE or a root
 * outside RAM gives QEMU a page fault instead of the access fault the spec requires for a failed implicit
 * PTE access. Implementation choices: non-leaf PTEs with A/D/U set (reserved: QEMU 7.2 faults, the spec
 * does not require it), leaves with A = 0 or a store with D = 0 (hardware update as in QEMU, or a page
 * fault), stval of a misaligned access that faults in its second page (any address of the faulting part).
 */
#include "test.h"

#define PTE_RWX   (PTE_R | PTE_W | PTE_X)
#define SATP_SV48 (9 << 60)
#define SPINS     100000
#define MAGIC     0x7a7a5a5a3c3c1e1e
#define STORE_VAL 0x0123456789abcdef
#define BEYOND    0x200000000         /* beyond RAM (QEMU virt and wasmvisor: nothing there) */
#define TOP       0xfffffffff000      /* ditto, top of a 48-bit physical space */

/* virtual addresses (gigabyte 0: root39[0] -> l1a -> l0a) */
#define VA_T      0x1000              /* l0a[1]: the PTE under test (tpage) */
#define VA_TRAMP  0x2000              /* l0a[2]: U trampoline (U R X) */
#define VA_PG4    0x4000              /* l0a[4]: tpage R W, followed by... */
#define VA_INV    0x5000              /* l0a[5]: invalid */
#define VA_SELF   0x7000              /* l0a[7]: leaf mapping l0a itself */
#define VA_8      0x8000              /* l0a[8]: edited through VA_SELF */
#define VA_TOP    0x9000              /* l0a[9]: leaf at TOP */
#define VA_UART   0xa000              /* l0a[10]: leaf at the UART */
#define VA_G1     0x40000000          /* root39[1]: garbage at the root */
#define VA_G3     0xc0000000          /* root39[3] -> l1b */

/* ---- helpers ---- */
.macro MKPTE reg:req, label:req, flags:req
  la \reg, \label
  srli \reg, \reg, 12
  slli \reg, \reg, 10
  ori \reg, \reg, \flags
.endm
/* PTEPA reg, pa, flags: reg = PTE for a physical address */
.macro PTEPA reg:req, pa:req, flags:req
  li \reg, (((\pa) >> 12) << 10) | (\flags)
.endm
/* SETPTE table, index, reg: table[index] = reg; sfence.vma (uses t5, t6) */
.macro SETPTE table:req, index:req, reg:req
  la t5, \table
  li t6, (\index) * 8
  add t5, t5, t6
  sd \reg, 0(t5)
  sfence.vma
.endm
.macro CLRPTE table:req, index:req
  SETPTE \table, \index, zero
.endm
.macro COUNT_FAULTS n:req
  la t5, fault_count
  ld t6, 0(t5)
  li t5, \n
  add t6, t6, t5
  la t5, fault_count
  sd t6, 0(t5)
.endm
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

/* SFAULT cause, tval, insn: insn (S-mode) must trap to S with this cause and stval (2 checks, 1 fault) */
.macro SFAULT cause:req, tval:req, insn:vararg
  TRAP_ARM .Lr\@
  \insn
.Lr\@:
  TRAP_DISARM
  CHECK_STRAP \cause, \tval
  COUNT_FAULTS 1
.endm
/* SFAULT2 spec, qemu, tval, insn: the same, accepting either cause (QEMU 7.2 deviates from the spec) */
.macro SFAULT2 ca:req, cb:req, tval:req, insn:vararg
  TRAP_ARM .Lr\@
  \insn
.Lr\@:
  TRAP_DISARM
  LOAD_SREC TA_CAUSE
  CHECK2 t5, \ca, \cb
  LOAD_SREC TA_TVAL
  CHECK t5, \tval
  COUNT_FAULTS 1
.endm
/* SOK insn: insn must not trap (2 checks) */
.macro SOK insn:vararg
  TRAP_ARM .Lr\@
  \insn
.Lr\@:
  TRAP_DISARM
  CHECK_NO_MTRAP
  CHECK_NO_STRAP
.endm
/* SMAYBE cause, tval, insn: either no trap or this fault (the spec leaves the choice; not counted; 2 checks) */
.macro SMAYBE cause:req, tval:req, insn:vararg
  TRAP_ARM .Lr\@
  \insn
.Lr\@:
  TRAP_DISARM
  LOAD_SREC TA_CAUSE
  CHECK2 t5, NOTRAP, \cause
  LOAD_SREC TA_CAUSE
  li t6, NOTRAP
  bne t5, t6, .Lf\@
  li t5, \tval                /* no trap: nothing to compare */
  j .Lc\@
.Lf\@:
  LOAD_SREC TA_TVAL
.Lc\@:
  CHECK t5, \tval
.endm
/* MFAULT2 spec, qemu, tval, insn: in M-mode, insn with MPRV = 1, MPP = S must trap to M (2 checks, 1 fault) */
.macro MFAULT2 ca:req, cb:req, tval:req, insn:vararg
  TRAP_ARM .Lr\@
  MPRV_ON MPP_S
  \insn
.Lr\@:
  MPRV_OFF
  TRAP_DISARM
  LOAD_MREC TA_CAUSE
  CHECK2 t5, \ca, \cb
  LOAD_MREC TA_TVAL
  CHECK t5, \tval
  COUNT_FAULTS 1
.endm
/* CHECK_PHYS reg, pa: reg must equal the doubleword at physical address pa (read through the identity map) */
.macro CHECK_PHYS reg:req, pa:req
  li t6, \pa
  ld t6, 0(t6)
  CHECK_REG \reg, t6
.endm

/* SPIN_S ca, cb, tval, insn: insn (S-mode) faults; the spin handler retries it SPINS times without fixing
   anything, then gives up and continues after the macro. Every retry must fault again (the counter must run
   out) with cause ca (or cb) and this stval (3 checks, SPINS faults). */
.macro SPIN_S ca:req, cb:req, tval:req, insn:vararg
  la t5, __s_area
  li t6, SPINS
  sd t6, TA_AUX(t5)
  li t6, NOTRAP
  sd t6, TA_CAUSE(t5)
  la t6, .Ldone\@
  sd t6, TA_RESUME(t5)
  la t6, spin_s
  csrw stvec, t6
  \insn
  FAIL_NOW                     /* did not fault */
.Ldone\@:
  la t6, __s_trap
  csrw stvec, t6
  la t5, __s_area
  sd zero, TA_RESUME(t5)
  LOAD_SREC TA_AUX
  CHECK t5, 0
  LOAD_SREC TA_CAUSE
  CHECK2 t5, \ca, \cb
  LOAD_SREC TA_TVAL
  CHECK t5, \tval
  COUNT_FAULTS SPINS
.endm

/* ============================== start-up (isa/test.h's TEST_BEGIN, own name) ============================== */
  .pushsection .rodata
__test_name:
  .asciz "pg-hostile"
s_pass:   .asciz "PASS pg-hostile ("
s_faults: .asciz " faults)\n"
  .popsection
  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, __park
  la sp, __stack_top
  la t0, 1f
  csrw mtvec, t0
  li t0, -1                    /* PMP: everything R W X for S/U */
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  .balign 4
1:
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
  csrw mideleg, zero
  csrw mie, zero
  csrw mip, zero
  csrw satp, zero
  li t0, MPP_M
  csrw mstatus, t0
  li gp, 0
  /* access and page faults and U ecalls go to S; S ecalls (ENTER_M, failure reports) stay in M */
  li t0, (1 << CAUSE_FETCH_ACCESS) | (1 << CAUSE_LOAD_ACCESS) | (1 << CAUSE_STORE_ACCESS) | \
         (1 << CAUSE_ECALL_U) | (1 << CAUSE_FETCH_PAGE) | (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)
  csrw medeleg, t0
  j main_body

  .text
main_body:
  /* ---- Sv39 tables: root39[2] identity gigapage (S code and data), root39[0] -> l1a -> l0a ---- */
  PTEPA t0, 0x80000000, PTE_V | PTE_RWX | PTE_A | PTE_D
  SETPTE root39, 2, t0
  MKPTE t0, l1a, PTE_V
  SETPTE root39, 0, t0
  MKPTE t0, l0a, PTE_V
  SETPTE l1a, 0, t0
  MKPTE t0, tramp, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A
  SETPTE l0a, 2, t0
  MKPTE t0, tpage, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SETPTE l0a, 4, t0
  MKPTE t0, l0a, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SETPTE l0a, 7, t0
  PTEPA t0, TOP, PTE_V | PTE_RWX | PTE_A | PTE_D
  SETPTE l0a, 9, t0
  PTEPA t0, UART0_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  SETPTE l0a, 10, t0
  PTEPA t0, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D   /* VA 0xffff_ffc0_0000_0000 (Sv39) */
  SETPTE root39, 256, t0
  la t0, root39
  srli t0, t0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  ENTER_S

  /* =============================== Sv39 =============================== */
  CHECK_SEQ                    /* one check number for each sweep */
  call sweep_exhaustive
  CHECK_SEQ
  call sweep_random

  /* -- non-leaf root entry at MMIO (the walker reads "PTEs" from UART registers) or beyond RAM.
        Spec: a failed implicit PTE access is an access fault; QEMU 7.2 raises a page fault (both accepted,
        spec first). The UART "PTE" has V = 0 (RBR empty) on QEMU: page fault either way. -- */
  li s3, VA_G1
  PTEPA t0, UART0_BASE, PTE_V
  SETPTE root39, 1, t0
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_G1, ld a0, 0(s3)
  SFAULT2 CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE, VA_G1 + 8, sd a0, 8(s3)
  PTEPA t0, BEYOND, PTE_V
  SETPTE root39, 1, t0
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_G1, ld a0, 0(s3)
  SFAULT2 CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE, VA_G1, sd a0, 0(s3)
  SFAULT2 CAUSE_FETCH_ACCESS, CAUSE_FETCH_PAGE, VA_G1, jalr ra, 0(s3)
  PTEPA t0, TOP, PTE_V
  SETPTE root39, 1, t0
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_G1, ld a0, 0(s3)
  /* ...the same at the middle level (l1b[0]) */
  MKPTE t0, l1b, PTE_V
  SETPTE root39, 3, t0
  li s3, VA_G3
  PTEPA t0, BEYOND, PTE_V
  SETPTE l1b, 0, t0
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_G3 + 0x18, ld a0, 0x18(s3)
  PTEPA t0, UART0_BASE, PTE_V
  SETPTE l1b, 0, t0
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_G3, ld a0, 0(s3)
  CLRPTE l1b, 0

  /* -- leaves beyond RAM: the translation succeeds, the access faults (access fault, stval = VA) -- */
  li s3, VA_G1
  PTEPA t0, BEYOND, PTE_V | PTE_RWX | PTE_A | PTE_D        /* an aligned gigapage */
  SETPTE root39, 1, t0
  SFAULT CAUSE_LOAD_ACCESS, VA_G1 + 0x123, lb a0, 0x123(s3)
  SFAULT CAUSE_STORE_ACCESS, VA_G1 + 8, sd a0, 8(s3)
  SFAULT CAUSE_FETCH_ACCESS, VA_G1, jalr ra, 0(s3)
  CLRPTE root39, 1
  li s3, VA_TOP
  SFAULT CAUSE_LOAD_ACCESS, VA_TOP + 8, ld a0, 8(s3)
  SFAULT CAUSE_STORE_ACCESS, VA_TOP + 0x7f8, sd a0, 0x7f8(s3)
  SFAULT CAUSE_FETCH_ACCESS, VA_TOP, jalr ra, 0(s3)
  /* -- a leaf at the UART: a legal access (LSR: transmitter empty) -- */
  li s3, VA_UART
  SOK lbu a0, UART_LSR(s3)
  andi a0, a0, UART_LSR_THRE
  CHECK a0, UART_LSR_THRE

  /* -- non-leaf PTEs with A, D or U set: reserved (QEMU 7.2 faults; the spec allows either); G is legal -- */
  li s3, VA_G3 + 0x400000
  PTEPA t0, 0x80000000, PTE_V | PTE_R | PTE_A
  SETPTE l1b, 2, t0                                       /* VA_G3 + 4 MiB: megapage at 0x8000_0000 */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  MKPTE t0, l1b, PTE_V | PTE_A
  SETPTE root39, 3, t0
  SMAYBE CAUSE_LOAD_PAGE, VA_G3 + 0x400010, ld a0, 0x10(s3)
  MKPTE t0, l1b, PTE_V | PTE_D
  SETPTE root39, 3, t0
  SMAYBE CAUSE_LOAD_PAGE, VA_G3 + 0x400010, ld a0, 0x10(s3)
  MKPTE t0, l1b, PTE_V | PTE_U
  SETPTE root39, 3, t0
  SMAYBE CAUSE_LOAD_PAGE, VA_G3 + 0x400010, ld a0, 0x10(s3)
  MKPTE t0, l1b, PTE_V | PTE_G
  SETPTE root39, 3, t0
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  MKPTE t0, l1b, PTE_V
  SETPTE root39, 3, t0
  MKPTE t0, l0b, PTE_V | PTE_U | PTE_A | PTE_D            /* ...at the middle level */
  SETPTE l1b, 3, t0
  MKPTE t0, tpage, PTE_V | PTE_R | PTE_A
  SETPTE l0b, 0, t0
  li s3, VA_G3 + 0x600000
  SMAYBE CAUSE_LOAD_PAGE, VA_G3 + 0x600010, ld a0, 0x10(s3)

  /* -- reserved bits 54..63 on leaf and non-leaf PTEs: page fault -- */
  CHECK_SEQ                    /* one check for the loop */
  li s4, 54
1:
  li s5, 1
  sll s5, s5, s4
  MKPTE t0, l0b, PTE_V
  or t0, t0, s5
  SETPTE l1b, 3, t0            /* non-leaf with the bit */
  li s3, VA_G3 + 0x600010
  TRAP_ARM 2f
  ld a0, 0(s3)
2:
  TRAP_DISARM
  LOAD_SREC TA_CAUSE
  li t6, CAUSE_LOAD_PAGE
  bne t5, t6, rsv_fail
  LOAD_SREC TA_TVAL
  bne t5, s3, rsv_fail
  MKPTE t0, l0b, PTE_V
  SETPTE l1b, 3, t0
  MKPTE t0, tpage, PTE_V | PTE_R | PTE_A
  or t0, t0, s5
  SETPTE l0b, 0, t0            /* leaf with the bit */
  TRAP_ARM 3f
  sd a0, 0(s3)
3:
  TRAP_DISARM
  LOAD_SREC TA_CAUSE
  li t6, CAUSE_STORE_PAGE
  bne t5, t6, rsv_fail
  LOAD_SREC TA_TVAL
  bne t5, s3, rsv_fail
  MKPTE t0, tpage, PTE_V | PTE_R | PTE_A
  SETPTE l0b, 0, t0
  COUNT_FAULTS 2
  addi s4, s4, 1
  li t0, 64
  bltu s4, t0, 1b
  j 4f
rsv_fail:
  mv t6, s4                    /* got = cause or stval, expected = the bit number */
  j __fail_value
4:
  /* ...bits 8 and 9 (RSW) are free for software */
  MKPTE t0, tpage, PTE_V | PTE_R | PTE_A | (3 << 8)
  SETPTE l0b, 0, t0
  li s3, VA_G3 + 0x600000
  SOK ld a0, 0x10(s3)
  CHECK a0, MAGIC

  /* -- misaligned superpages: page fault; the aligned megapage above works -- */
  li s3, VA_G3 + 0x200000
  PTEPA t0, 0x80001000, PTE_V | PTE_R | PTE_A             /* megapage, PPN[0] != 0 */
  SETPTE l1b, 1, t0
  SFAULT CAUSE_LOAD_PAGE, VA_G3 + 0x200000, ld a0, 0(s3)
  li s3, VA_G1
  PTEPA t0, 0x80200000, PTE_V | PTE_R | PTE_A             /* gigapage, PPN[1] != 0 */
  SETPTE root39, 1, t0
  SFAULT CAUSE_LOAD_PAGE, VA_G1 + 0x10, ld a0, 0x10(s3)
  PTEPA t0, 0x80001000, PTE_V | PTE_RWX | PTE_A | PTE_D   /* gigapage, PPN[0] != 0 */
  SETPTE root39, 1, t0
  SFAULT CAUSE_FETCH_PAGE, VA_G1, jalr ra, 0(s3)
  CLRPTE root39, 1

  /* -- self-referencing tables: root39[4] -> root39; root39[5] -> l1c, l1c[0] -> root39 -- */
  MKPTE t0, root39, PTE_V
  SETPTE root39, 4, t0
  MKPTE t0, l1c, PTE_V
  SETPTE root39, 5, t0
  MKPTE t0, root39, PTE_V
  SETPTE l1c, 0, t0
  li s3, (4 << 30) | (4 << 21) | (2 << 12)               /* level 0 reads root39[2] as a 4 KiB leaf */
  SOK ld a0, 8(s3)
  CHECK_PHYS a0, 0x80000008
  li s3, (4 << 30) | (2 << 21) | (5 << 12)               /* level 1 reads root39[2] as a megapage */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80005010
  li s3, (4 << 30) | (4 << 21) | (4 << 12)               /* level 0 reads root39[4]: a pointer -> fault */
  SFAULT CAUSE_LOAD_PAGE, (4 << 30) | (4 << 21) | (4 << 12), ld a0, 0(s3)
  SFAULT CAUSE_STORE_PAGE, (4 << 30) | (4 << 21) | (4 << 12), sd a0, 0(s3)
  SFAULT CAUSE_FETCH_PAGE, (4 << 30) | (4 << 21) | (4 << 12), jalr ra, 0(s3)
  li s3, (4 << 30) | (4 << 21) | (1 << 12)               /* root39[1]: empty */
  SFAULT CAUSE_LOAD_PAGE, (4 << 30) | (4 << 21) | (1 << 12), ld a0, 0(s3)
  li s3, (5 << 30) | (0 << 21) | (2 << 12)               /* the two-level cycle */
  SOK ld a0, 0x18(s3)
  CHECK_PHYS a0, 0x80000018
  li s3, (5 << 30) | (0 << 21) | (5 << 12)
  SFAULT CAUSE_LOAD_PAGE, (5 << 30) | (5 << 12), ld a0, 0(s3)
  CLRPTE root39, 4
  CLRPTE root39, 5

  /* -- a leaf mapping its own table (l0a[7] -> l0a): page-table edits through it -- */
  li s3, VA_SELF
  SOK ld a0, 4 * 8(s3)         /* reads l0a[4] */
  la t0, l0a
  ld t0, 4 * 8(t0)
  CHECK_REG a0, t0
  MKPTE a1, tpage, PTE_V | PTE_R | PTE_A
  SOK sd a1, 8 * 8(s3)         /* writes l0a[8] */
  sfence.vma
  li s4, VA_8
  SOK ld a0, 0x10(s4)
  CHECK a0, MAGIC
  SOK sd zero, 8 * 8(s3)
  sfence.vma
  SFAULT CAUSE_LOAD_PAGE, VA_8 + 0x10, ld a0, 0x10(s4)

  /* -- non-canonical addresses (bits 63..39 must equal bit 38) and the top of the address space -- */
  li s3, 0x4000000000
  SFAULT CAUSE_LOAD_PAGE, 0x4000000000, ld a0, 0(s3)
  li s3, 0x8000000000000000
  SFAULT CAUSE_STORE_PAGE, 0x8000000000000000, sd a0, 0(s3)
  li s3, 0x7ffffffffffff000
  SFAULT CAUSE_FETCH_PAGE, 0x7ffffffffffff000, jalr ra, 0(s3)
  li s3, 0xffffffc000000000                              /* canonical: root39[256] */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  li s3, 0xfffffffffffffff8                              /* canonical: root39[511], empty */
  SFAULT CAUSE_LOAD_PAGE, 0xfffffffffffffff8, ld a0, 0(s3)

  /* -- a misaligned load/store whose second half is unmapped: stval anywhere in that half -- */
  li s3, VA_INV - 4
  TRAP_ARM 1f
  ld a0, 0(s3)
1:
  TRAP_DISARM
  CHECK_STRAP CAUSE_LOAD_PAGE, any
  LOAD_SREC TA_TVAL
  li t6, VA_INV
  sub t5, t5, t6
  sltiu t5, t5, 4
  CHECK t5, 1
  COUNT_FAULTS 1
  TRAP_ARM 1f
  sd a0, 0(s3)
1:
  TRAP_DISARM
  CHECK_STRAP CAUSE_STORE_PAGE, any
  LOAD_SREC TA_TVAL
  li t6, VA_INV
  sub t5, t5, t6
  sltiu t5, t5, 4
  CHECK t5, 1
  COUNT_FAULTS 1

  /* -- sfence.vma with garbage operands is just a fence -- */
  li t0, 0x8000000000000123
  li t1, -1
  SOK sfence.vma t0, t1

  /* -- fault storms -- */
  li s3, VA_INV
  SPIN_S CAUSE_LOAD_PAGE, CAUSE_LOAD_PAGE, VA_INV + 8, ld a0, 8(s3)
  SPIN_S CAUSE_FETCH_PAGE, CAUSE_FETCH_PAGE, VA_INV, jalr ra, 0(s3)
  li s3, VA_G1
  PTEPA t0, BEYOND, PTE_V | PTE_RWX | PTE_A | PTE_D
  SETPTE root39, 1, t0
  SPIN_S CAUSE_STORE_ACCESS, CAUSE_STORE_ACCESS, VA_G1 + 0x40, sd a0, 0x40(s3)
  CLRPTE root39, 1

  /* =============================== Sv48 =============================== */
  /* root48[0] -> root39 (as the level-2 table): below 2^38 the Sv39 mappings stay in force */
  MKPTE t0, root39, PTE_V
  SETPTE root48, 0, t0
  PTEPA t0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D          /* terapage at physical 0 */
  SETPTE root48, 1, t0
  PTEPA t0, 0x80000000, PTE_V | PTE_R | PTE_A                 /* misaligned terapage */
  SETPTE root48, 2, t0
  MKPTE t0, root48, PTE_V                                     /* root48[3] -> root48 */
  SETPTE root48, 3, t0
  PTEPA t0, BEYOND, PTE_V                                     /* non-leaf beyond RAM */
  SETPTE root48, 4, t0
  MKPTE t0, root39, PTE_V                                     /* the top 512 GiB */
  SETPTE root48, 511, t0
  la s0, root48
  srli s0, s0, 12
  li t0, SATP_SV48
  or s0, s0, t0
  csrw satp, s0
  sfence.vma
  csrr a0, satp
  CHECK_REG a0, s0             /* Sv48 is implemented (both QEMU and wasmvisor) */

  CHECK_SEQ
  call sweep_exhaustive

  li s3, 0x8000000000 + 0x80000000                           /* through the terapage */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  li s3, 0x10000000000
  SFAULT CAUSE_LOAD_PAGE, 0x10000000010, ld a0, 0x10(s3)
  li s3, (3 << 39) | (0 << 30) | (2 << 21) | (5 << 12)      /* via root48[3] -> root48[0] -> root39[2] */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80005010
  li s3, (3 << 39) | (3 << 30) | (3 << 21) | (3 << 12)      /* the cycle ends at level 0 on a pointer */
  SFAULT CAUSE_LOAD_PAGE, (3 << 39) | (3 << 30) | (3 << 21) | (3 << 12), ld a0, 0(s3)
  li s3, 4 << 39
  SFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, 4 << 39, ld a0, 0(s3)
  li s3, 0x4000000000                                        /* non-canonical in Sv39, fine in Sv48 */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  li s3, 0xffffff8080000000                                  /* canonical, root48[511] */
  SOK ld a0, 0x10(s3)
  CHECK_PHYS a0, 0x80000010
  li s3, 0xffff800000000000                                  /* canonical, root48[256]: empty */
  SFAULT CAUSE_LOAD_PAGE, 0xffff800000000000, ld a0, 0(s3)
  li s3, 0x0000800000000000                                  /* non-canonical (bit 47 without 63..48) */
  SFAULT CAUSE_LOAD_PAGE, 0x0000800000000000, ld a0, 0(s3)
  li s3, 0x8000000000000000
  SFAULT CAUSE_STORE_PAGE, 0x8000000000000000, sd a0, 0(s3)
  li s3, 0x0001000000000000
  SFAULT CAUSE_FETCH_PAGE, 0x0001000000000000, jalr ra, 0(s3)
  li s3, 0x0000800000000000
  SPIN_S CAUSE_LOAD_PAGE, CAUSE_LOAD_PAGE, 0x0000800000000008, ld a0, 8(s3)

  /* -- satp WARL: a write with an unsupported mode (1..7, 11..15) has no effect at all -- */
  CHECK_SEQ
  li s4, 1
1:
  slli t0, s4, 60
  li t1, 0x0000fffffffff123    /* ASID and PPN garbage */
  or t0, t0, t1
  csrw satp, t0
  csrr t5, satp
  beq t5, s0, 2f
  mv t6, s0
  j __fail_value
2:
  addi s4, s4, 1
  li t0, 8
  bne s4, t0, 3f
  li s4, 11                    /* skip 8 (Sv39), 9 (Sv48), 10 (Sv57: optional) */
3:
  li t0, 16
  bltu s4, t0, 1b

  ENTER_M
  /* =============================== roots S cannot live with (M-mode, MPRV = 1, MPP = S) =============================== */
  li s3, VA_T
  li t0, SATP_SV39 | (BEYOND >> 12)
  csrw satp, t0
  sfence.vma
  MFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_T, ld a0, 0(s3)
  MFAULT2 CAUSE_STORE_ACCESS, CAUSE_STORE_PAGE, VA_T, sd a0, 0(s3)
  li t0, SATP_SV39 | (TOP >> 12)
  csrw satp, t0
  sfence.vma
  MFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_T, ld a0, 0(s3)
  li t0, SATP_SV39 | 0xfffffffffff                          /* PPN all ones */
  csrw satp, t0
  sfence.vma
  MFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_T, ld a0, 0(s3)
  li t0, SATP_SV48 | (BEYOND >> 12)
  csrw satp, t0
  sfence.vma
  MFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, VA_T, ld a0, 0(s3)
  li t0, SATP_SV39 | (UART0_BASE >> 12)                      /* root at the UART */
  csrw satp, t0
  sfence.vma
  li s3, 0x10
  MFAULT2 CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE, 0x10, ld a0, 0(s3)
  /* -- fault storm in M: the M handler retries without fixing anything (after the first mret, MPP = U:
        the retries translate as U, which fails the same way) -- */
  li s3, VA_T
  li t0, SATP_SV39 | (BEYOND >> 12)
  csrw satp, t0
  sfence.vma
  la t5, __m_area
  li t6, SPINS
  sd t6, TA_AUX(t5)
  li t6, NOTRAP
  sd t6, TA_CAUSE(t5)
  la t6, 1f
  sd t6, TA_RESUME(t5)
  la t6, spin_m
  csrw mtvec, t6
  MPRV_ON MPP_S
  ld a0, 0(s3)
  MPRV_OFF
  FAIL_NOW
1:
  MPRV_OFF
  la t6, __m_trap
  csrw mtvec, t6
  la t5, __m_area
  sd zero, TA_RESUME(t5)
  LOAD_MREC TA_AUX
  CHECK t5, 0
  LOAD_MREC TA_CAUSE
  CHECK2 t5, CAUSE_LOAD_ACCESS, CAUSE_LOAD_PAGE
  LOAD_MREC TA_TVAL
  CHECK t5, VA_T
  COUNT_FAULTS SPINS
  csrw satp, zero
  sfence.vma

  /* ---- end (M-mode): all checks ran -> PASS with the number of faults ---- */
  li t6, __chk
  beq gp, t6, 1f
  mv t5, gp
  addi gp, gp, 1
  j __fail_seq
1:
  la a0, s_pass
  jal ra, __puts
  la a0, fault_count
  ld a0, 0(a0)
  jal ra, print_dec
  la a0, s_faults
  jal ra, __puts
  li a0, TEST_PASS
  j __exit

/* print_dec: a0 = unsigned value, in decimal (M-mode; clobbers a0-a5, t3, t4) */
print_dec:
  mv t4, ra
  addi sp, sp, -32
  addi a2, sp, 31
  sb zero, 0(a2)
  li a3, 10
1:
  remu a1, a0, a3
  divu a0, a0, a3
  addi a1, a1, '0'
  addi a2, a2, -1
  sb a1, 0(a2)
  bnez a0, 1b
  mv a0, a2
  jal ra, __puts
  addi sp, sp, 32
  mv ra, t4
  ret

/* ================================ sweeps (S-mode) ================================ */

/* sweep_exhaustive: every flag byte x {S, S+SUM, U} x MXR x {load, store, fetch} on l0a[1] -> tpage
   (the caller reserves one check number). Uses s2, s4-s7, s11 (run_case). */
sweep_exhaustive:
  mv s7, ra
  li s4, 0                     /* flags */
1:
  li s5, 0                     /* mode */
2:
  li s6, 0                     /* mxr */
3:
  li s2, 0                     /* type */
4:
  MKPTE a0, tpage, 0
  or a0, a0, s4
  mv a1, s2
  mv a2, s5
  mv a3, s6
  call model
  call run_case
  addi s2, s2, 1
  li t0, 3
  bltu s2, t0, 4b
  addi s6, s6, 1
  li t0, 2
  bltu s6, t0, 3b
  addi s5, s5, 1
  li t0, 3
  bltu s5, t0, 2b
  addi s4, s4, 1
  li t0, 256
  bltu s4, t0, 1b
  mv ra, s7
  ret

/* sweep_random: 3000 xorshift64 PTEs (flags, RSW, sometimes reserved bits 54..63; PPN = tpage, BEYOND or
   TOP) with a random access type, mode and MXR (the caller reserves one check number). */
sweep_random:
  mv s7, ra
  li s4, 3000
  li s5, 0x9e3779b97f4a7c15    /* xorshift64 state */
1:
  slli t0, s5, 13
  xor s5, s5, t0
  srli t0, s5, 7
  xor s5, s5, t0
  slli t0, s5, 17
  xor s5, s5, t0
  andi a0, s5, 0x3ff           /* flags and RSW */
  srli t0, s5, 10
  andi t0, t0, 3
  bnez t0, 2f
  srli t0, s5, 54              /* 1 in 4: random reserved bits */
  slli t0, t0, 54
  or a0, a0, t0
2:
  srli s6, s5, 12
  andi s6, s6, 3               /* 0, 1: tpage; 2: BEYOND; 3: TOP */
  li t1, 2
  la t0, tpage
  bltu s6, t1, 4f
  li t0, BEYOND
  beq s6, t1, 4f
  li t0, TOP
4:
  srli t0, t0, 12
  slli t0, t0, 10
  or a0, a0, t0
  srli a1, s5, 14
  andi a1, a1, 3
  li t0, 3
  bne a1, t0, 5f
  li a1, 0
5:
  srli a2, s5, 16
  andi a2, a2, 3
  bne a2, t0, 6f
  li a2, 0
6:
  srli a3, s5, 18
  andi a3, a3, 1
  call model
  li t0, 2
  bltu s6, t0, 7f
  andi t0, a4, 1               /* beyond RAM: success becomes an access fault */
  slli t0, t0, 2
  andi a4, a4, 2
  or a4, a4, t0
7:
  call run_case
  addi s4, s4, -1
  bnez s4, 1b
  mv ra, s7
  ret

/* model: a0 = PTE (level-0 leaf), a1 = type (0 load, 1 store, 2 fetch), a2 = mode (0 S, 1 S + SUM, 2 U),
   a3 = MXR -> a4 = accepted outcomes (1 success, 2 page fault; 3 = either: A clear, or D clear on a store).
   Privileged spec 4.3.2 / 4.4.1. Clobbers t0, t1. */
model:
  srli t0, a0, 54
  bnez t0, 9f                  /* reserved bits */
  andi t0, a0, PTE_V
  beqz t0, 9f
  andi t0, a0, PTE_RWX
  beqz t0, 9f                  /* a pointer at the last level */
  andi t0, a0, PTE_R | PTE_W
  li t1, PTE_W
  beq t0, t1, 9f               /* W without R: reserved */
  andi t0, a0, PTE_U
  li t1, 2
  bne a2, t1, 1f
  beqz t0, 9f                  /* U-mode needs U */
  j 2f
1:
  beqz t0, 2f
  beq a1, t1, 9f               /* S never executes U pages */
  beqz a2, 9f                  /* S reads/writes U pages only with SUM */
2:
  li t1, 1
  beq a1, t1, 3f
  li t1, 2
  beq a1, t1, 4f
  andi t0, a0, PTE_R           /* load: R, or X with MXR */
  bnez t0, 5f
  beqz a3, 9f
  andi t0, a0, PTE_X
  bnez t0, 5f
  j 9f
3:
  andi t0, a0, PTE_W
  beqz t0, 9f
  j 5f
4:
  andi t0, a0, PTE_X
  beqz t0, 9f
5:
  andi t0, a0, PTE_A
  beqz t0, 8f
  li t1, 1
  bne a1, t1, 6f
  andi t0, a0, PTE_D
  beqz t0, 8f
6:
  li a4, 1
  ret
8:
  li a4, 3
  ret
9:
  li a4, 2
  ret

/* run_case: install a0 in l0a[1] (VA_T), perform access a1 in mode a2 with MXR a3 and check the outcome is
   one of a4 (see model). On success also checks the data (load: MAGIC, fetch: 0x5a, store: reached tpage)
   and the A/D bits the hardware left (A set, D set by a store, D not set by a load/fetch). Counts the fault
   when the model made it mandatory. On failure reports through __fail_value with the caller's check number
   in gp. Clobbers a0-a7, t0-t6, s11. */
run_case:
  mv s11, ra
  mv a7, a0                    /* the PTE */
  la t0, l0a
  sd a0, 1 * 8(t0)
  li a6, VA_T
  sfence.vma a6, zero
  la t0, tpage
  li t1, MAGIC
  sd t1, 16(t0)
  li t0, MSTATUS_SUM | MSTATUS_MXR
  csrc sstatus, t0
  li t0, 1
  bne a2, t0, 1f
  li t0, MSTATUS_SUM
  csrs sstatus, t0
1:
  beqz a3, 2f
  li t0, MSTATUS_MXR
  csrs sstatus, t0
2:
  li a5, STORE_VAL
  li a0, 0
  TRAP_ARM rc_resume
  li t0, 2
  beq a2, t0, rc_user
  beqz a1, rc_load
  li t0, 1
  beq a1, t0, rc_store
  jalr ra, 0(a6)               /* fetch: tpage's code sets a0 = 0x5a */
  j rc_resume
rc_load:
  ld a0, 16(a6)
  j rc_resume
rc_store:
  sd a5, 16(a6)
  j rc_resume
rc_user:                       /* the trampoline does the access, then ecall */
  li t0, VA_TRAMP
  slli t1, a1, 3
  add t0, t0, t1
  csrw sepc, t0
  li t0, MSTATUS_SPP
  csrc sstatus, t0
  sret
rc_resume:
  TRAP_DISARM
  li t0, MSTATUS_SUM | MSTATUS_MXR
  csrc sstatus, t0
  LOAD_MREC TA_CAUSE
  li t6, NOTRAP
  bne t5, t6, rc_fail0         /* nothing may reach M */
  LOAD_SREC TA_CAUSE
  /* success: S no trap, U ecall */
  li t0, 2
  li t6, NOTRAP
  bne a2, t0, 3f
  li t6, CAUSE_ECALL_U
3:
  beq t5, t6, rc_success
  la t0, pf_cause
  add t0, t0, a1
  lbu t0, 0(t0)
  beq t5, t0, rc_pf
  la t0, af_cause
  add t0, t0, a1
  lbu t0, 0(t0)
  beq t5, t0, rc_af
rc_fail0:
  li t4, 0
  j rc_fail
rc_pf:
  li t4, 2
  j rc_tval
rc_af:
  li t4, 4
rc_tval:
  LOAD_SREC TA_TVAL
  li t0, VA_T + 16
  li t1, 2
  bne a1, t1, 4f
  li t0, VA_T
4:
  bne t5, t0, rc_fail
  and t0, t4, a4
  beqz t0, rc_fail
  andi t0, a4, 1
  bnez t0, rc_done             /* success was allowed too: not a mandatory fault */
  COUNT_FAULTS 1
  j rc_done
rc_success:
  li t4, 1
  andi t0, a4, 1
  beqz t0, rc_fail
  beqz a1, 5f
  li t0, 1
  beq a1, t0, 6f
  li t0, 0x5a                  /* fetch ran tpage's code */
  bne a0, t0, rc_fail
  j 7f
5:
  li t0, MAGIC
  bne a0, t0, rc_fail
  j 7f
6:
  la t0, tpage
  ld t0, 16(t0)
  bne t0, a5, rc_fail
7:
  la t0, l0a                   /* A/D left by the hardware */
  ld t0, 1 * 8(t0)
  andi t1, t0, PTE_A
  beqz t1, rc_fail
  andi t1, t0, PTE_D
  li t2, 1
  bne a1, t2, 8f
  beqz t1, rc_fail             /* a store sets D */
  j rc_done
8:
  andi t2, a7, PTE_D
  bne t1, t2, rc_fail          /* a load or fetch leaves D alone */
rc_done:
  mv ra, s11
  ret
rc_fail:                       /* t5 = cause (or NOTRAP), t4 = outcome */
  LOAD_SREC TA_CAUSE
  slli t5, t5, 56
  slli t0, a1, 48
  or t5, t5, t0
  slli t0, a2, 40
  or t5, t5, t0
  slli t0, a3, 32
  or t5, t5, t0
  slli t0, a4, 24
  or t5, t5, t0
  slli t0, t4, 16
  or t5, t5, t0
  mv t6, a7
  j __fail_value

/* ================================ fault-storm handlers ================================ */
/* Retry the faulting instruction (return to the same epc) until TA_AUX runs out, then continue at
   TA_RESUME. Record every cause/tval. */
  .balign 4
spin_s:
  csrrw sp, sscratch, sp       /* __s_area */
  sd t0, TA_T0(sp)
  csrr t0, scause
  sd t0, TA_CAUSE(sp)
  csrr t0, stval
  sd t0, TA_TVAL(sp)
  ld t0, TA_AUX(sp)
  addi t0, t0, -1
  sd t0, TA_AUX(sp)
  bnez t0, 1f
  ld t0, TA_RESUME(sp)
  csrw sepc, t0
1:
  ld t0, TA_T0(sp)
  csrrw sp, sscratch, sp
  sret

  .balign 4
spin_m:
  csrrw sp, mscratch, sp       /* __m_area */
  sd t0, TA_T0(sp)
  csrr t0, mcause
  sd t0, TA_CAUSE(sp)
  csrr t0, mtval
  sd t0, TA_TVAL(sp)
  ld t0, TA_AUX(sp)
  addi t0, t0, -1
  sd t0, TA_AUX(sp)
  bnez t0, 1f
  ld t0, TA_RESUME(sp)
  csrw mepc, t0
1:
  ld t0, TA_T0(sp)
  csrrw sp, mscratch, sp
  mret

  .section .rodata
pf_cause: .byte CAUSE_LOAD_PAGE, CAUSE_STORE_PAGE, CAUSE_FETCH_PAGE
af_cause: .byte CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS, CAUSE_FETCH_ACCESS

/* ================================ pages ================================ */
  .text
  .balign 4096
tramp:                         /* U trampoline at VA_TRAMP: access VA_T (a6) by type, then ecall */
  .option push
  .option norvc
  ld a0, 16(a6)                /* +0: load */
  ecall
  sd a5, 16(a6)                /* +8: store */
  ecall
  jalr ra, 0(a6)               /* +16: fetch */
  ecall
  .option pop
  .balign 4096

  .data
  .balign 4096
tpage:                         /* the page under test: code at 0, MAGIC at 16 */
  .option push
  .option norvc
  li a0, 0x5a
  ret
  .option pop
  .balign 16
  .dword MAGIC
  .balign 4096
root39: .fill 4096, 1, 0
root48: .fill 4096, 1, 0
l1a:    .fill 4096, 1, 0
l0a:    .fill 4096, 1, 0
l1b:    .fill 4096, 1, 0
l0b:    .fill 4096, 1, 0
l1c:    .fill 4096, 1, 0
  .balign 8
fault_count: .dword 0
