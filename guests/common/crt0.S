/* Start-up code for C guests: M-mode entry, stack, .bss clear, call main, exit with its result. */
#include "platform.h"
  .section .text.init
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, park               /* only hart 0 runs the program */
  la sp, __stack_top
  li t0, 0x6000               /* mstatus.FS = dirty: enable the FPU */
  csrs mstatus, t0
  csrwi fcsr, 0
  la t0, __bss_start
  la t1, __bss_end
1: bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2: call main
  call guest_exit
park:
  wfi
  j park
