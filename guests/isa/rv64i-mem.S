/* RV64I loads and stores: sign/zero extension, offsets, misaligned accesses of every width, fence, fence.i. */
#include "test.h"

/* TEST_LD op, off, result: op a0, off(s0) where s0 = ldata (1 check) */
.macro TEST_LD op:req, off:req, exp:req
  \op a0, \off(s0)
  CHECK a0, \exp
.endm

TEST_BEGIN rv64i-mem
  .option norvc
  la s0, ldata
  la s1, sbuf

  /* aligned loads (2.6): lb/lh/lw sign-extend, lbu/lhu/lwu zero-extend, ld; positive/negative offsets */
  TEST_LD lb,  0, 0xffffffffffffff80
  TEST_LD lb,  1, 0x7f
  TEST_LD lbu, 0, 0x80
  TEST_LD lbu, 7, 0xfe
  TEST_LD lh,  0, 0x7f80
  TEST_LD lh,  2, 0xffffffffffffff01
  TEST_LD lhu, 2, 0xff01
  TEST_LD lhu, 6, 0xfe00
  TEST_LD lw,  0, 0xffffffffff017f80
  TEST_LD lw,  4, 0xfffffffffe001234
  TEST_LD lwu, 4, 0xfe001234
  TEST_LD lwu, 0, 0xff017f80
  TEST_LD ld,  0, 0xfe001234ff017f80
  TEST_LD ld,  8, 0x0123456789abcdef
  TEST_LD lw,  8, 0xffffffff89abcdef
  TEST_LD lw,  12, 0x01234567
  addi s2, s0, 16
  lb a0, -16(s2)
  CHECK a0, 0xffffffffffffff80
  ld a0, -8(s2)
  CHECK a0, 0x0123456789abcdef
  mv a0, s0                 /* rd == rs1 */
  ld a0, 8(a0)
  CHECK a0, 0x0123456789abcdef
  lw x0, 0(s0)              /* rd = x0: result discarded */
  CHECK zero, 0

  /* aligned stores: only the addressed bytes change */
  li a0, -1
  sd a0, 0(s1)
  sd a0, 8(s1)
  li a1, 0x1122334455667788
  sb a1, 0(s1)
  ld a0, 0(s1)
  CHECK a0, 0xffffffffffffff88
  sh a1, 2(s1)
  ld a0, 0(s1)
  CHECK a0, 0xffffffff7788ff88
  sw a1, 4(s1)
  ld a0, 0(s1)
  CHECK a0, 0x556677887788ff88
  sd a1, 8(s1)
  ld a0, 8(s1)
  CHECK a0, 0x1122334455667788
  addi s2, s1, 16
  sb zero, -1(s2)           /* negative store offset */
  ld a0, 8(s1)
  CHECK a0, 0x0022334455667788

  /* misaligned loads (2.6, 'performed'): every width at every offset within and across 8-byte
     boundaries; mdata bytes are 0x80, 0x81, ..., 0x9f */
  la s0, mdata
  TEST_LD lh,  1, 0xffffffffffff8281
  TEST_LD lh,  7, 0xffffffffffff8887
  TEST_LD lhu, 3, 0x8483
  TEST_LD lhu, 7, 0x8887
  TEST_LD lw,  1, 0xffffffff84838281
  TEST_LD lw,  2, 0xffffffff85848382
  TEST_LD lw,  3, 0xffffffff86858483
  TEST_LD lw,  5, 0xffffffff88878685
  TEST_LD lw,  6, 0xffffffff89888786
  TEST_LD lw,  7, 0xffffffff8a898887
  TEST_LD lwu, 6, 0x89888786
  TEST_LD lwu, 13, 0x908f8e8d
  TEST_LD ld,  1, 0x8887868584838281
  TEST_LD ld,  2, 0x8988878685848382
  TEST_LD ld,  3, 0x8a89888786858483
  TEST_LD ld,  4, 0x8b8a898887868584
  TEST_LD ld,  5, 0x8c8b8a8988878685
  TEST_LD ld,  6, 0x8d8c8b8a89888786
  TEST_LD ld,  7, 0x8e8d8c8b8a898887
  TEST_LD ld,  15, 0x969594939291908f

  /* misaligned stores of every width, read back with aligned loads */
  li a0, 0
  sd a0, 0(s1)
  sd a0, 8(s1)
  sd a0, 16(s1)
  li a1, 0xa1a2
  sh a1, 1(s1)
  ld a0, 0(s1)
  CHECK a0, 0xa1a200
  li a1, 0xb1b2
  sh a1, 7(s1)              /* crosses the 8-byte boundary */
  ld a0, 0(s1)
  CHECK a0, 0xb200000000a1a200
  ld a0, 8(s1)
  CHECK a0, 0xb1
  li a1, 0xc1c2c3c4
  sw a1, 13(s1)             /* 13..16: crosses */
  ld a0, 8(s1)
  CHECK a0, 0xc2c3c400000000b1
  ld a0, 16(s1)
  CHECK a0, 0xc1
  li a1, 0xd1d2d3d4d5d6d7d8
  sd a1, 3(s1)
  ld a0, 0(s1)
  CHECK a0, 0xd4d5d6d7d8a1a200
  ld a0, 8(s1)
  CHECK a0, 0xc2c3c40000d1d2d3
  li a1, 0xe1e2e3e4e5e6e7e8
  sd a1, 17(s1)
  ld a0, 16(s1)
  CHECK a0, 0xe2e3e4e5e6e7e8c1
  ld a0, 24(s1)
  li a2, 0xff
  and a0, a0, a2
  CHECK a0, 0xe1

  /* misaligned across a 4 KiB page boundary */
  la s2, pagebuf + 4096
  li a1, 0x0102030405060708
  sd a1, -3(s2)
  ld a0, -8(s2)
  srli a0, a0, 40
  CHECK a0, 0x060708
  lwu a0, 0(s2)
  CHECK a0, 0x02030405
  ld a0, -3(s2)
  CHECK a0, 0x0102030405060708
  lh a0, -1(s2)
  CHECK a0, 0x0506

  /* fence variants execute as no-ops for a single hart (2.7) */
  li a0, 5
  sw a0, 0(s1)
  fence
  fence rw, rw
  fence r, w
  fence.tso
  fence iorw, iorw
  lw a1, 0(s1)
  CHECK a1, 5

  /* fence.i (Zifencei): code modified by stores is executed after fence.i. First run the
     original instruction so that any decoded-instruction cache holds it. */
  li s3, 0
smc_loop:
  jal ra, smc_func
  bnez s3, 1f
  CHECK a0, 1
  la t0, smc_insn
  la t1, smc_new
  lw t1, 0(t1)
  sw t1, 0(t0)              /* replace "li a0, 1" with "li a0, 2" */
  fence.i
  li s3, 1
  j smc_loop
1:
  CHECK a0, 2
  /* a second patch of the same word, and one to a different instruction in the same function */
  la t0, smc_insn
  la t1, smc_new3
  lw t1, 0(t1)
  sw t1, 0(t0)
  fence.i
  jal ra, smc_func
  CHECK a0, 3

TEST_END

  .balign 4
smc_func:
smc_insn:
  li a0, 1
  ret
smc_new:
  li a0, 2
smc_new3:
  li a0, 3

  .data
  .balign 16
ldata:
  .byte 0x80, 0x7f, 0x01, 0xff, 0x34, 0x12, 0x00, 0xfe
  .dword 0x0123456789abcdef
mdata:
  .byte 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f
  .byte 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f
  .balign 16
sbuf:
  .fill 32, 1, 0
  .balign 4096
pagebuf:
  .fill 8192, 1, 0
