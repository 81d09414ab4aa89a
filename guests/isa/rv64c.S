/* RV64C compressed instructions: every RV64C instruction incl. FP loads/stores, and the all-zero illegal halfword. */
#include "test.h"

TEST_BEGIN rv64c
  .option rvc
  FP_ENABLE
  mv s2, sp                 /* keep the real stack pointer; sp is an operand below */

  /* c.li / c.lui (C 16.5): 6-bit signed immediates; c.lui sign-extends bit 17 of the result */
  c.li a0, -32
  CHECK a0, -32
  c.li a0, 31
  CHECK a0, 31
  c.lui a0, 31
  CHECK a0, 0x1f000
  c.lui a0, 0xfffe0
  CHECK a0, 0xfffffffffffe0000
  c.lui a0, 0xfffff
  CHECK a0, 0xfffffffffffff000

  /* c.addi / c.addiw / c.nop: addiw sign-extends the 32-bit result */
  li a0, 10
  c.addi a0, -32
  CHECK a0, -22
  c.addi a0, 31
  CHECK a0, 9
  li a0, 0x7fffffffffffffff
  c.addi a0, 1
  CHECK a0, 0x8000000000000000
  li a0, 0x7fffffff
  c.addiw a0, 1
  CHECK a0, 0xffffffff80000000
  li a0, 0x1234567fffffffff
  c.addiw a0, 0             /* sext.w */
  CHECK a0, -1
  li a0, 5
  c.addiw a0, -32
  CHECK a0, -27
  li a0, 3
  c.nop
  CHECK a0, 3

  /* c.addi16sp (sp += nzimm*16) and c.addi4spn (rd' = sp + nzuimm*4) */
  la sp, cbuf + 1024
  c.addi16sp sp, -512
  la a0, cbuf + 512
  CHECK_REG sp, a0
  c.addi16sp sp, 496
  la a0, cbuf + 1008
  CHECK_REG sp, a0
  c.addi4spn a0, sp, 4
  la a1, cbuf + 1012
  CHECK_REG a0, a1
  la sp, cbuf
  c.addi4spn s1, sp, 1020
  la a1, cbuf + 1020
  CHECK_REG s1, a1

  /* c.slli / c.srli / c.srai with 6-bit shamt, c.andi with a sign-extended immediate */
  li a0, 0x81
  c.slli a0, 63
  CHECK a0, 0x8000000000000000
  li a0, 0x81
  c.slli a0, 32
  CHECK a0, 0x8100000000
  li a0, 0x8000000000000080
  c.srli a0, 63
  CHECK a0, 1
  li a0, 0x8000000000000080
  c.srli a0, 1
  CHECK a0, 0x4000000000000040
  li a0, 0x8000000000000080
  c.srai a0, 32
  CHECK a0, 0xffffffff80000000
  li a0, 0x8000000000000080
  c.srai a0, 63
  CHECK a0, -1
  li a0, 0x123456789abcdeff
  c.andi a0, -32
  CHECK a0, 0x123456789abcdee0
  li a0, 0x123456789abcdeff
  c.andi a0, 31
  CHECK a0, 0x1f
  li a0, 0x123456789abcdeff
  c.andi a0, 0
  CHECK a0, 0

  /* c.mv / c.add (full register set) */
  li t3, 0x1234
  c.mv t4, t3
  CHECK t4, 0x1234
  li a5, 0x7fffffffffffffff
  c.add a5, t3
  CHECK a5, 0x8000000000001233

  /* c.sub / c.xor / c.or / c.and / c.subw / c.addw (rd', rs2' in x8..x15) */
  li s0, 0xff00ff00ff00ff00
  li s1, 0x0ff00ff00ff00ff0
  mv a0, s0
  c.sub a0, s1
  CHECK a0, 0xef10ef10ef10ef10
  mv a0, s0
  c.xor a0, s1
  CHECK a0, 0xf0f0f0f0f0f0f0f0
  mv a0, s0
  c.or a0, s1
  CHECK a0, 0xfff0fff0fff0fff0
  mv a0, s0
  c.and a0, s1
  CHECK a0, 0x0f000f000f000f00
  li a1, 0x80000000
  li a2, 1
  c.subw a1, a2
  CHECK a1, 0x7fffffff
  li a1, 0x17fffffff
  c.addw a1, a2
  CHECK a1, 0xffffffff80000000
  li a3, 0x100000000
  li a4, 0x100000000
  c.subw a3, a4
  CHECK a3, 0

  /* c.lw (sign-extends) / c.ld / c.sw / c.sd with scaled offsets */
  la s0, cbuf
  li a0, 0x0123456789abcdef
  c.sd a0, 248(s0)
  c.ld a1, 248(s0)
  CHECK a1, 0x0123456789abcdef
  li a0, 0x80000001
  c.sw a0, 124(s0)
  c.lw a1, 124(s0)
  CHECK a1, 0xffffffff80000001
  ld a1, 120(s0)
  CHECK a1, 0x8000000100000000
  c.sw a0, 0(s0)
  c.ld a1, 0(s0)
  srli a1, a1, 32
  CHECK a1, 0              /* c.sw wrote only 4 bytes (offset 4 was zero) */

  /* c.lwsp / c.ldsp / c.swsp / c.sdsp (sp-relative, larger offsets) */
  la sp, cbuf
  li a0, 0xfedcba9876543210
  c.sdsp a0, 504(sp)
  c.ldsp a2, 504(sp)
  CHECK a2, 0xfedcba9876543210
  ld a2, 504(s0)
  CHECK a2, 0xfedcba9876543210
  c.swsp a0, 252(sp)
  c.lwsp a3, 252(sp)
  CHECK a3, 0x76543210
  li a0, 0xffffffff
  c.swsp a0, 8(sp)
  c.lwsp a3, 8(sp)
  CHECK a3, -1
  lwu a3, 8(s0)
  CHECK a3, 0xffffffff

  /* c.fld / c.fsd / c.fldsp / c.fsdsp */
  li a0, 0x400921fb54442d18
  sd a0, 16(s0)
  c.fld fa0, 16(s0)
  fmv.x.d a1, fa0
  CHECK a1, 0x400921fb54442d18
  c.fsd fa0, 248(s0)
  ld a1, 248(s0)
  CHECK a1, 0x400921fb54442d18
  li a0, 0xc000000000000000
  sd a0, 496(s0)
  c.fldsp fa1, 496(sp)
  fmv.x.d a1, fa1
  CHECK a1, 0xc000000000000000
  c.fsdsp fa1, 32(sp)
  ld a1, 32(s0)
  CHECK a1, 0xc000000000000000
  mv sp, s2

  /* c.j forward/backward */
  li a0, 0
  c.j 2f
1:
  li a0, 2
  c.j 3f
2:
  c.j 1b
  li a0, 99
3:
  CHECK a0, 2

  /* c.jr (no link) and c.jalr (ra = pc + 2) */
  la a1, cjr_t
  li a0, 0
  c.jr a1
  li a0, 99
cjr_t:
  CHECK a0, 0
  la a1, cjalr_t
  li ra, 0
  c.jalr a1
cjalr_ret:
  c.j 4f
cjalr_t:
  li a0, 5
  ret
4:
  CHECK a0, 5
  CHECK_LA ra, cjalr_ret

  /* c.beqz / c.bnez: full 64-bit compare with zero */
  li s0, 0
  li a0, 0
  c.beqz s0, 5f
  li a0, 1
5:
  CHECK a0, 0
  li s0, 0x100000000
  li a0, 0
  c.beqz s0, 6f
  li a0, 1
6:
  CHECK a0, 1
  li a0, 0
  c.bnez s0, 7f
  li a0, 1
7:
  CHECK a0, 0
  li s0, 0
  c.bnez s0, 8f
  li a0, 2
8:
  CHECK a0, 2
  li s1, 3                  /* backward c.bnez loop */
  li a0, 0
10:
  addi a0, a0, 1
  addi s1, s1, -1
  c.bnez s1, 10b
  CHECK a0, 3

  /* c.ebreak (16.5): breakpoint, mepc = mtval = its address (2-byte instruction) */
  TRAP_EXPECT CAUSE_BREAKPOINT, pc, c.ebreak

  /* the all-zero halfword is illegal (16.1); mtval = 0 (the 16-bit instruction, zero-extended) */
  TRAP_EXPECT CAUSE_ILLEGAL, 0, .hword 0

  /* 32-bit instructions at 2-byte aligned addresses, incl. one that straddles a 4 KiB page */
  la a1, straddle
  li a0, 0
  jalr ra, 0(a1)
  CHECK a0, 0x12345

TEST_END

  .balign 4096
  .fill 4094, 1, 0
straddle:                   /* starts 2 bytes before a page boundary */
  .option norvc
  lui a0, 0x12
  addi a0, a0, 0x345
  .option rvc
  c.jr ra

  .data
  .balign 16
cbuf:
  .fill 1024, 1, 0
