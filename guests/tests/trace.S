/* A fixed instruction sequence whose spike-format trace test/cli.test.ts checks line by line; powers off with 0. */
#include "platform.h"
  .section .text.init
  .globl _start
_start:
  .option push
  .option norvc
  addi a0, zero, 0x123      /* 0x80000000: x10 = 0x123 */
  lui a1, 0x12345           /* 0x80000004: x11 = 0x12345000 */
  add a2, a0, a1            /* 0x80000008: x12 = 0x12345123 */
  .option rvc
  c.addi a2, 1              /* 0x8000000c: x12 = 0x12345124 (compressed) */
  .option norvc
  li t0, TEST_BASE          /* 0x8000000e: lui t0, 0x100 */
  li t1, TEST_PASS          /* 0x80000012: lui t1, 5; 0x80000016: addi t1, t1, 0x555 */
  sw t1, 0(t0)              /* 0x8000001a: no register written */
  .option pop
1:
  wfi
  j 1b
