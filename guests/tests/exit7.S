/* Powers off through the SiFive test device with exit code 7: for the CLI's exit-code propagation test. */
#include "platform.h"
  .section .text.init
  .globl _start
_start:
  li t0, TEST_BASE
  li t1, (7 << 16) | TEST_FAIL
  sw t1, 0(t0)
1:
  wfi
  j 1b
