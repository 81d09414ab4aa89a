/* RV64I control transfer: conditional branches (signed/unsigned edges, both directions), jal, jalr. */
#include "test.h"

/* TEST_BR op, a, b, taken: forward branch, then the same branch backwards (2 checks) */
.macro TEST_BR op:req, a:req, b:req, taken:req
  li a1, \a
  li a2, \b
  li a0, 0
  \op a1, a2, .Lf\@
  li a0, 1                  /* not taken: falls through to the next instruction */
  j .Lfe\@
.Lf\@:
  li a0, 2
.Lfe\@:
  CHECK a0, (1 + \taken)
  li a0, 0
  j .Lbr\@
.Lb\@:
  li a0, 2
  j .Lbe\@
.Lbr\@:
  \op a1, a2, .Lb\@
  li a0, 1
.Lbe\@:
  CHECK a0, (1 + \taken)
.endm

#define MIN 0x8000000000000000
#define MAX 0x7fffffffffffffff

TEST_BEGIN rv64i-branch
  .option norvc

  /* beq/bne (2.5.2): full 64-bit compare */
  TEST_BR beq, 0, 0, 1
  TEST_BR beq, 1, 0, 0
  TEST_BR beq, -1, -1, 1
  TEST_BR beq, 0x100000000, 0, 0
  TEST_BR beq, MIN, 0, 0
  TEST_BR bne, 0, 0, 0
  TEST_BR bne, 1, 0, 1
  TEST_BR bne, 0x100000000, 0, 1
  TEST_BR bne, -1, -1, 0

  /* blt/bge: signed */
  TEST_BR blt, -1, 0, 1
  TEST_BR blt, 0, -1, 0
  TEST_BR blt, MIN, MAX, 1
  TEST_BR blt, MAX, MIN, 0
  TEST_BR blt, 5, 5, 0
  TEST_BR blt, -2, -1, 1
  TEST_BR blt, 0xffffffff, 0x100000000, 1
  TEST_BR bge, 5, 5, 1
  TEST_BR bge, -1, 0, 0
  TEST_BR bge, 0, -1, 1
  TEST_BR bge, MIN, MAX, 0
  TEST_BR bge, MAX, MIN, 1
  TEST_BR bge, -1, -2, 1

  /* bltu/bgeu: unsigned */
  TEST_BR bltu, -1, 0, 0
  TEST_BR bltu, 0, -1, 1
  TEST_BR bltu, MIN, MAX, 0
  TEST_BR bltu, MAX, MIN, 1
  TEST_BR bltu, 5, 5, 0
  TEST_BR bltu, 0x100000000, 0xffffffff, 0
  TEST_BR bgeu, 5, 5, 1
  TEST_BR bgeu, 0, -1, 0
  TEST_BR bgeu, -1, 0, 1
  TEST_BR bgeu, MIN, MAX, 1
  TEST_BR bgeu, 0xffffffff, 0x100000000, 0

  /* jal (2.5.1): rd = pc + 4, forward and backward, rd = x0 does not link */
  li ra, 0
  li a0, 0
  jal ra, 1f
jal_ret1:
  li a0, 99                 /* must be skipped */
1:
  CHECK a0, 0
  CHECK_LA ra, jal_ret1
  j 3f
2:
  li a0, 7                  /* backward target */
  j 4f
3:
  jal t0, 2b
jal_ret2:
  li a0, 99
4:
  CHECK a0, 7
  CHECK_LA t0, jal_ret2
  li t1, 0x55
  jal x0, 5f
  li t1, 0
5:
  CHECK t1, 0x55

  /* jalr (2.5.1): target = (rs1 + imm) & ~1, rd = pc + 4 */
  la t0, jalr_t1
  li a0, 0
  jalr ra, 0(t0)
jalr_ret1:
  j 6f
jalr_t1:
  li a0, 11
  jr ra                     /* return through the link */
6:
  CHECK a0, 11
  CHECK_LA ra, jalr_ret1
  la t0, jalr_t2 + 16
  jalr ra, -16(t0)          /* negative offset */
  j 7f
jalr_t2:
  li a0, 12
  ret
7:
  CHECK a0, 12
  la t0, jalr_t3
  addi t0, t0, 1            /* bit 0 of the target is cleared */
  jalr ra, 0(t0)
  j 8f
jalr_t3:
  li a0, 13
  ret
8:
  CHECK a0, 13
  la t0, jalr_t4 - 3
  jalr ra, 3(t0)            /* odd immediate: (t0 + 3) & ~1 = jalr_t4 */
  j 10f
jalr_t4:
  li a0, 14
  ret
10:
  CHECK a0, 14
  la t1, jalr_t5
  jalr t1, 0(t1)            /* rd == rs1: target uses the old value */
jalr_ret5:
  j 11f
jalr_t5:
  li a0, 15
  jr t1
11:
  CHECK a0, 15
  CHECK_LA t1, jalr_ret5
  la t0, jalr_t6
  li a1, 0x1234
  jalr x0, 0(t0)            /* rd = x0: no link */
  li a1, 0
jalr_t6:
  CHECK a1, 0x1234

  /* a 2-byte aligned target is legal with C (IALIGN=16): jump into the middle of a 4-byte slot */
  la t0, half_t
  addi t0, t0, 2
  li a0, 0
  jalr ra, 0(t0)
  j 12f
  .balign 4
half_t:
  .option rvc
  c.li a0, 1                /* skipped */
  c.li a0, 16
  .option norvc
  ret
12:
  CHECK a0, 16

  /* a loop built from a backward bne: 10 iterations */
  li a0, 0
  li a1, 10
13:
  addi a0, a0, 3
  addi a1, a1, -1
  bnez a1, 13b
  CHECK a0, 30

TEST_END
