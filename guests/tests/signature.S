/* Fills a begin_signature..end_signature region (riscof convention) and powers off with 0:
 * words 0-3 are stored by code, words 4-7 keep their initial ELF data. */
#include "platform.h"
  .section .text.init
  .globl _start
_start:
  la a0, begin_signature
  li t0, 0x11223344
  sw t0, 0(a0)
  li t0, -1
  sw t0, 4(a0)
  li t1, 0x0123456789abcdef
  sd t1, 8(a0)
  li t0, TEST_BASE
  li t1, TEST_PASS
  sw t1, 0(t0)
1:
  wfi
  j 1b

  .data
  .balign 16
  .globl begin_signature
begin_signature:
  .word 0, 0, 0, 0
  .word 0xdeadbeef, 0xcafef00d, 0x00000000, 0x80000000
  .globl end_signature
end_signature:
  .word 0x5a5a5a5a          /* just past the signature: must not be dumped */
