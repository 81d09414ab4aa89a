/* riscv-tests HTIF protocol, passing: writes 1 to tohost. */
  .section .text.init
  .globl _start
_start:
  li t0, 1
  la t1, tohost
  sd t0, 0(t1)
1:
  j 1b

  .data
  .balign 64
  .globl tohost
tohost: .dword 0
  .balign 64
  .globl fromhost
fromhost: .dword 0
