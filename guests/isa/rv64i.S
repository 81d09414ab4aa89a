/* RV64I integer computational instructions: register/immediate ALU ops, W forms, shifts, lui/auipc. */
#include "test.h"

TEST_BEGIN rv64i
  .option norvc             /* test the 32-bit encodings (RV64C has its own suite) */

  /* add/sub (RV64I 4.2.2 / 2.4.2): 64-bit wrap, no 32-bit truncation */
  TEST_RR add    0x1, 0x1, 0x2
  TEST_RR add    0x7fffffffffffffff, 0x1, 0x8000000000000000
  TEST_RR add    0xffffffffffffffff, 0x1, 0x0
  TEST_RR add    0xffffffff, 0x1, 0x100000000
  TEST_RR add    0x123456789abcdef0, 0xfedcba987654321, 0x2222222222222211
  TEST_RR sub    0x0, 0x1, 0xffffffffffffffff
  TEST_RR sub    0x8000000000000000, 0x1, 0x7fffffffffffffff
  TEST_RR sub    0x5, 0x7, 0xfffffffffffffffe
  TEST_RR sub    0x100000000, 0x1, 0xffffffff

  /* sll/srl/sra: shift amounts 0/1/31/32/63, only rs2[5:0] used (64 -> 0, 65 -> 1, -1 -> 63) */
  TEST_RR sll    0x8000000000000001, 0x0, 0x8000000000000001
  TEST_RR sll    0x81, 0x1, 0x102
  TEST_RR sll    0x81, 0x1f, 0x4080000000
  TEST_RR sll    0x81, 0x20, 0x8100000000
  TEST_RR sll    0x81, 0x3f, 0x8000000000000000
  TEST_RR sll    0x81, 0x40, 0x81
  TEST_RR sll    0x81, 0x41, 0x102
  TEST_RR sll    0x81, 0xffffffffffffffff, 0x8000000000000000
  TEST_RR srl    0x8000000000000080, 0x0, 0x8000000000000080
  TEST_RR srl    0x8000000000000080, 0x1, 0x4000000000000040
  TEST_RR srl    0x8000000000000080, 0x1f, 0x100000000
  TEST_RR srl    0x8000000000000080, 0x20, 0x80000000
  TEST_RR srl    0x8000000000000080, 0x3f, 0x1
  TEST_RR srl    0x8000000000000080, 0x40, 0x8000000000000080
  TEST_RR srl    0x8000000000000080, 0xffffffffffffffff, 0x1
  TEST_RR sra    0x8000000000000080, 0x0, 0x8000000000000080
  TEST_RR sra    0x8000000000000080, 0x1, 0xc000000000000040
  TEST_RR sra    0x8000000000000080, 0x1f, 0xffffffff00000000
  TEST_RR sra    0x8000000000000080, 0x20, 0xffffffff80000000
  TEST_RR sra    0x8000000000000080, 0x3f, 0xffffffffffffffff
  TEST_RR sra    0x8000000000000080, 0x40, 0x8000000000000080
  TEST_RR sra    0x8000000000000080, 0xffffffffffffffff, 0xffffffffffffffff
  TEST_RR sra    0x4000000000000000, 0x3e, 0x1

  /* slt/sltu: signed vs unsigned ordering at the edges */
  TEST_RR slt    0xffffffffffffffff, 0x0, 0x1
  TEST_RR slt    0x0, 0xffffffffffffffff, 0x0
  TEST_RR slt    0x8000000000000000, 0x7fffffffffffffff, 0x1
  TEST_RR slt    0x7fffffffffffffff, 0x8000000000000000, 0x0
  TEST_RR slt    0x5, 0x5, 0x0
  TEST_RR slt    0xfffffffffffffffb, 0xfffffffffffffffc, 0x1
  TEST_RR sltu   0xffffffffffffffff, 0x0, 0x0
  TEST_RR sltu   0x0, 0xffffffffffffffff, 0x1
  TEST_RR sltu   0x8000000000000000, 0x7fffffffffffffff, 0x0
  TEST_RR sltu   0x7fffffffffffffff, 0x8000000000000000, 0x1
  TEST_RR sltu   0x5, 0x5, 0x0
  TEST_RR sltu   0x0, 0x1, 0x1

  /* xor/or/and */
  TEST_RR xor    0xff00ff00f0f0cc33, 0xff00ff0ff00aa55, 0xf0f0f0f00ff06666
  TEST_RR or     0xff00ff00f0f0cc33, 0xff00ff0ff00aa55, 0xfff0fff0fff0ee77
  TEST_RR and    0xff00ff00f0f0cc33, 0xff00ff0ff00aa55, 0xf000f00f0008811

  /* immediate forms (2.4.1): 12-bit immediates are sign-extended */
  TEST_RI addi   0x5, -1, 0x4
  TEST_RI addi   0x5, 2047, 0x804
  TEST_RI addi   0x5, -2048, 0xfffffffffffff805
  TEST_RI addi   0x7fffffffffffffff, 1, 0x8000000000000000
  TEST_RI slti   0xffffffffffffffff, 0, 0x1
  TEST_RI slti   0xfffffffffffffffd, -2, 0x1
  TEST_RI slti   0xfffffffffffff800, -2048, 0x0
  TEST_RI slti   0x0, -2048, 0x0
  TEST_RI slti   0x5, 6, 0x1
  TEST_RI sltiu  0x5, -1, 0x1
  TEST_RI sltiu  0xffffffffffffffff, -1, 0x0
  TEST_RI sltiu  0x0, 1, 0x1
  TEST_RI sltiu  0x1, 1, 0x0
  TEST_RI sltiu  0x7ff, -2048, 0x1
  TEST_RI xori   0xff00ff00f0f0cc33, -1, 0xff00ff0f0f33cc
  TEST_RI xori   0xff00ff00f0f0cc33, 2047, 0xff00ff00f0f0cbcc
  TEST_RI xori   0xff00ff00f0f0cc33, -2048, 0xff00ff0f0f3433
  TEST_RI ori    0xff00ff00f0f0cc33, -2048, 0xfffffffffffffc33
  TEST_RI ori    0xff00ff00f0f0cc33, 1365, 0xff00ff00f0f0cd77
  TEST_RI andi   0xff00ff00f0f0cc33, -2048, 0xff00ff00f0f0c800
  TEST_RI andi   0xff00ff00f0f0cc33, 2047, 0x433
  TEST_RI andi   0xff00ff00f0f0cc33, -1, 0xff00ff00f0f0cc33

  /* slli/srli/srai with 6-bit shamt (RV64I 5.2) */
  TEST_RI slli   0x8000000000000081, 0, 0x8000000000000081
  TEST_RI slli   0x81, 1, 0x102
  TEST_RI slli   0x81, 31, 0x4080000000
  TEST_RI slli   0x81, 32, 0x8100000000
  TEST_RI slli   0x81, 63, 0x8000000000000000
  TEST_RI srli   0x8000000000000080, 0, 0x8000000000000080
  TEST_RI srli   0x8000000000000080, 1, 0x4000000000000040
  TEST_RI srli   0x8000000000000080, 31, 0x100000000
  TEST_RI srli   0x8000000000000080, 32, 0x80000000
  TEST_RI srli   0x8000000000000080, 63, 0x1
  TEST_RI srai   0x8000000000000080, 0, 0x8000000000000080
  TEST_RI srai   0x8000000000000080, 1, 0xc000000000000040
  TEST_RI srai   0x8000000000000080, 31, 0xffffffff00000000
  TEST_RI srai   0x8000000000000080, 32, 0xffffffff80000000
  TEST_RI srai   0x8000000000000080, 63, 0xffffffffffffffff

  /* W forms (5.2): operate on the low 32 bits, result sign-extended from bit 31 */
  TEST_RR addw   0x7fffffff, 0x1, 0xffffffff80000000
  TEST_RR addw   0x100000001, 0x100000000, 0x1
  TEST_RR addw   0xffffffff, 0x1, 0x0
  TEST_RR addw   0x12345678, 0x80000000, 0xffffffff92345678
  TEST_RR subw   0x0, 0x1, 0xffffffffffffffff
  TEST_RR subw   0x80000000, 0x1, 0x7fffffff
  TEST_RR subw   0x100000000, 0x1, 0xffffffffffffffff
  TEST_RR subw   0xffffffff00000005, 0x3, 0x2
  TEST_RR sllw   0xffffffff00000001, 0x0, 0x1
  TEST_RR sllw   0x3, 0x1, 0x6
  TEST_RR sllw   0x3, 0x1f, 0xffffffff80000000
  TEST_RR sllw   0x3, 0x20, 0x3
  TEST_RR sllw   0x3, 0x21, 0x6
  TEST_RR sllw   0x3, 0xffffffffffffffff, 0xffffffff80000000
  TEST_RR srlw   0xffffffff80000000, 0x0, 0xffffffff80000000
  TEST_RR srlw   0xffffffff80000000, 0x1, 0x40000000
  TEST_RR srlw   0xffffffff80000000, 0x1f, 0x1
  TEST_RR srlw   0xffffffff80000000, 0x20, 0xffffffff80000000
  TEST_RR sraw   0x180000000, 0x0, 0xffffffff80000000
  TEST_RR sraw   0x180000000, 0x1, 0xffffffffc0000000
  TEST_RR sraw   0x180000000, 0x1f, 0xffffffffffffffff
  TEST_RR sraw   0x180000000, 0x20, 0xffffffff80000000
  TEST_RR sraw   0x180000000, 0xffffffffffffffff, 0xffffffffffffffff
  TEST_RR sraw   0x7fffffff, 0x1f, 0x0
  TEST_RI addiw  0x7fffffff, 1, 0xffffffff80000000
  TEST_RI addiw  0xffffffff80000000, 0, 0xffffffff80000000
  TEST_RI addiw  0x123456789, 0, 0x23456789
  TEST_RI addiw  0x1, -2, 0xffffffffffffffff
  TEST_RI addiw  0xffffffff, 2047, 0x7fe
  TEST_RI slliw  0x80000001, 0, 0xffffffff80000001
  TEST_RI slliw  0x3, 1, 0x6
  TEST_RI slliw  0x3, 31, 0xffffffff80000000
  TEST_RI srliw  0xffffffff80000000, 0, 0xffffffff80000000
  TEST_RI srliw  0xffffffff80000000, 1, 0x40000000
  TEST_RI srliw  0xffffffff80000000, 31, 0x1
  TEST_RI sraiw  0x180000000, 0, 0xffffffff80000000
  TEST_RI sraiw  0x180000000, 1, 0xffffffffc0000000
  TEST_RI sraiw  0x180000000, 31, 0xffffffffffffffff

  /* lui (2.4.1): imm20 << 12, sign-extended from bit 31 on RV64 */
  lui a0, 0x7ffff
  CHECK a0, 0x7ffff000
  lui a0, 0x80000
  CHECK a0, 0xffffffff80000000
  lui a0, 0xfffff
  CHECK a0, 0xfffffffffffff000
  lui a0, 0
  CHECK a0, 0

  /* auipc: pc + (imm20 << 12) sign-extended */
1:
  auipc a0, 0
  CHECK_LA a0, 1b
2:
  auipc a0, 1
  la a1, 2b
  sub a0, a0, a1
  CHECK a0, 0x1000
3:
  auipc a0, 0x80000
  la a1, 3b
  sub a0, a0, a1
  CHECK a0, 0xffffffff80000000

  /* x0 is hard-wired to zero: writes are discarded (2.1) */
  li a1, 5
  li a2, 7
  add x0, a1, a2
  CHECK x0, 0
  addi x0, x0, 1
  CHECK zero, 0
  lui x0, 0x12345
  mv a0, x0
  CHECK a0, 0

  /* source and destination may be the same register */
  li a1, 21
  add a1, a1, a1
  CHECK a1, 42
  li a2, 0x100
  sub a3, a2, a2
  CHECK a3, 0
  li a4, 3
  sllw a4, a4, a4
  CHECK a4, 24

  /* every register x1..x31 holds a value independently (writes to one don't disturb others) */
  li x1, 1
  li x2, 2
  li x4, 4
  li x5, 5
  li x6, 6
  li x7, 7
  li x8, 8
  li x9, 9
  li x10, 10
  li x11, 11
  li x12, 12
  li x13, 13
  li x14, 14
  li x15, 15
  li x16, 16
  li x17, 17
  li x18, 18
  li x19, 19
  li x20, 20
  li x21, 21
  li x22, 22
  li x23, 23
  li x24, 24
  li x25, 25
  li x26, 26
  li x27, 27
  li x28, 28
  li x29, 29
  add a0, x1, x2
  add a0, a0, x4
  add a0, a0, x5
  add a0, a0, x6
  add a0, a0, x7
  add a0, a0, x8
  add a0, a0, x9
  add a0, a0, x11
  add a0, a0, x12
  add a0, a0, x13
  add a0, a0, x14
  add a0, a0, x15
  add a0, a0, x16
  add a0, a0, x17
  add a0, a0, x18
  add a0, a0, x19
  add a0, a0, x20
  add a0, a0, x21
  add a0, a0, x22
  add a0, a0, x23
  add a0, a0, x24
  add a0, a0, x25
  add a0, a0, x26
  add a0, a0, x27
  add a0, a0, x28
  add a0, a0, x29
  CHECK a0, (29*30/2 - 3 - 10)        /* sum of 1..29 without x3 (gp) and x10 (a0, the accumulator) */
  la sp, __stack_top

TEST_END
