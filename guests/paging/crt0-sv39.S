/* Start-up code that runs a C guest's main in S-mode under Sv39 (bin/wl-int-sv39.elf: the integer workload with
 * paging on, for comparing MIPS against the Bare build bin/wl-int.elf).
 *
 * M-mode: stack, FPU, .bss cleared, PMP opened (S/U accesses fail without a matching PMP entry), mcounteren = 7
 * (S may read cycle/time/instret), no delegation. It then builds Sv39 page tables in .bss that identity-map,
 * with 4 KiB pages only (no superpages), the whole image from 0x8000_0000 to _end (code, data, .bss, the page
 * tables themselves and the stack: R W X, A and D preset) and one page each for the sifive test device and the
 * UART (R W, A D), sets satp (ASID 0) and mrets into main in S-mode. main's return value goes to guest_exit,
 * still in S-mode, through the mapped test device. Nothing is delegated: any trap (a page fault means the
 * mapping is wrong) reaches M-mode, which prints mcause/mepc/mtval and exits with code 99.
 */
#include "platform.h"

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_A 0x40
#define PTE_D 0x80
#define LEAF_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define LEAF_RW  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)
#define RAM_BASE 0x80000000
#define RAM_L0_TABLES 8            /* leaf tables for RAM: images up to 16 MiB */
#define SATP_SV39 (8 << 60)

  .section .text.init, "ax", @progbits
  .globl _start
_start:
  csrr t0, mhartid
  bnez t0, park               /* only hart 0 runs the program */
  la sp, __stack_top
  la t0, m_trap
  csrw mtvec, t0
  li t0, 0x6000               /* mstatus.FS = dirty: enable the FPU */
  csrs mstatus, t0
  csrwi fcsr, 0
  la t0, __bss_start
  la t1, __bss_end
1: bgeu t0, t1, 2f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
2:
  li t0, -1                   /* PMP entry 0: NAPOT over everything, R W X */
  csrw pmpaddr0, t0
  li t0, 0x1f
  csrw pmpcfg0, t0
  csrwi mcounteren, 7
  csrw medeleg, zero
  csrw mideleg, zero
  csrw mie, zero

  /* ---- page tables: pt_root[0] -> pt_l1_io; pt_root[2] -> pt_l1_ram ---- */
  la s0, pt_root
  la s1, pt_l1_io
  la s2, pt_l1_ram
  la s3, pt_l0_test
  la s4, pt_l0_uart
  la s5, pt_l0_ram
  mv a0, s1
  call ptr_pte
  sd a0, ((0 >> 30) & 511) * 8(s0)
  mv a0, s2
  call ptr_pte
  sd a0, ((RAM_BASE >> 30) & 511) * 8(s0)
  mv a0, s3
  call ptr_pte
  sd a0, ((TEST_BASE >> 21) & 511) * 8(s1)
  mv a0, s4
  call ptr_pte
  sd a0, ((UART0_BASE >> 21) & 511) * 8(s1)
  li t0, (TEST_BASE >> 12 << 10) | LEAF_RW
  li t1, ((TEST_BASE >> 12) & 511) * 8
  add t1, s3, t1
  sd t0, 0(t1)
  li t0, (UART0_BASE >> 12 << 10) | LEAF_RW
  sd t0, ((UART0_BASE >> 12) & 511) * 8(s4)
  /* RAM: every 4 KiB page of [RAM_BASE, _end) */
  li s6, RAM_BASE             /* physical (= virtual) address of the page */
  la s7, _end
  li t0, RAM_BASE + RAM_L0_TABLES * 0x200000
  bgtu s7, t0, too_big
3:
  bgeu s6, s7, 4f
  li t0, RAM_BASE
  sub t0, s6, t0
  srli t0, t0, 21
  slli t0, t0, 12
  add s8, s5, t0              /* leaf table for this megapage */
  mv a0, s8
  call ptr_pte
  srli t0, s6, 21
  andi t0, t0, 511
  slli t0, t0, 3
  add t0, s2, t0
  sd a0, 0(t0)                /* pt_l1_ram[VPN[1]] -> s8 (rewritten once per page: harmless) */
  srli t0, s6, 12
  slli t1, t0, 10
  ori t1, t1, LEAF_RWX
  andi t0, t0, 511
  slli t0, t0, 3
  add t0, s8, t0
  sd t1, 0(t0)                /* s8[VPN[0]] = leaf for s6 */
  li t0, 4096
  add s6, s6, t0
  j 3b
4:
  srli t0, s0, 12
  li t1, SATP_SV39
  or t0, t0, t1
  csrw satp, t0
  sfence.vma

  /* ---- mret into main in S-mode; its return lands on s_exit (still S-mode) ---- */
  li t0, 0x1800               /* mstatus.MPP = S, MPIE = 0 */
  csrc mstatus, t0
  li t0, 0x0800
  csrs mstatus, t0
  li t0, 0x80
  csrc mstatus, t0
  la t0, main
  csrw mepc, t0
  la ra, s_exit
  li a0, 0
  li a1, 0
  mret

s_exit:
  call guest_exit             /* a0 = main's result */

park:
  wfi
  j park

/* a0 = physical address of a page table -> a0 = pointer (non-leaf) PTE */
ptr_pte:
  srli a0, a0, 12
  slli a0, a0, 10
  ori a0, a0, PTE_V
  ret

too_big:
  la a0, msg_too_big
  call puts_
  li a0, 98
  call guest_exit

/* Any trap is unexpected: report it from M-mode (no translation there) and exit with 99. */
  .balign 4
m_trap:
  la sp, __stack_top
  la a0, msg_trap
  call puts_
  csrr a0, mcause
  call put_hex
  la a0, msg_mepc
  call puts_
  csrr a0, mepc
  call put_hex
  la a0, msg_mtval
  call puts_
  csrr a0, mtval
  call put_hex
  li a0, '\n'
  call putch
  li a0, 99
  call guest_exit

  .section .rodata
msg_trap:    .asciz "crt0-sv39: unexpected trap, mcause="
msg_mepc:    .asciz " mepc="
msg_mtval:   .asciz " mtval="
msg_too_big: .asciz "crt0-sv39: image too large for the page tables\n"

  .section .bss
  .balign 4096
pt_root:    .skip 4096
pt_l1_io:   .skip 4096
pt_l1_ram:  .skip 4096
pt_l0_test: .skip 4096
pt_l0_uart: .skip 4096
pt_l0_ram:  .skip 4096 * RAM_L0_TABLES
