/* Spins forever (counting in a0): for the CLI's --timeout and --max-insns tests. */
  .section .text.init
  .globl _start
_start:
  li a0, 0
1:
  addi a0, a0, 1
  j 1b
