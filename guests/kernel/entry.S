/* wvkernel entry and trap vector. Entered in S-mode with a0 = hart id, a1 = device tree address. */
    .section .text.init
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    csrw    sscratch, zero
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  la      t0, trap_entry
    csrw    stvec, t0
    call    kmain
3:  wfi
    j       3b

/* Trap frame: 32 slots of 8 bytes, x[i] at 8*i (x0 slot unused), then sepc at 256. */
#define FRAME 272
    .text
    .balign 4
    .globl trap_entry
trap_entry:
    csrrw   sp, sscratch, sp        /* from U: sp = kernel stack; from S: sp = 0 */
    bnez    sp, 1f
    csrr    sp, sscratch            /* from S: back to the interrupted kernel sp */
1:  addi    sp, sp, -FRAME
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    csrr    t0, sscratch            /* the interrupted sp (U or S) */
    sd      t0, 16(sp)
    csrw    sscratch, zero
    csrr    t0, sepc
    sd      t0, 256(sp)
    .option push
    .option norelax
    la      gp, __global_pointer$   /* a U-mode program may have changed gp */
    .option pop
    mv      a0, sp
    call    trap_handler
    .globl trap_return
trap_return:                        /* sp = frame */
    ld      t0, 256(sp)
    csrw    sepc, t0
    csrr    t0, sstatus
    andi    t0, t0, 0x100           /* SPP: returning to S keeps sscratch 0 */
    bnez    t0, 2f
    addi    t0, sp, FRAME
    csrw    sscratch, t0            /* returning to U: its next trap uses this kernel stack */
2:  ld      x1, 8(sp)
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    ld      sp, 16(sp)
    sret

/* long user_enter(entry, user_sp, arg): runs entry(arg) in U-mode until it calls exit; returns its code.
   The kernel's callee-saved registers are kept on the kernel stack; user_exit(code) comes back here. */
    .globl user_enter
user_enter:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
    la      t0, kernel_saved_sp
    sd      sp, 0(t0)
    csrw    sepc, a0
    csrw    sscratch, sp            /* U traps land below the saved registers */
    li      t0, 0x100
    csrc    sstatus, t0             /* SPP = 0: sret goes to U */
    li      t0, 0x20
    csrs    sstatus, t0             /* SPIE = 1: interrupts stay on in U */
    mv      sp, a1
    mv      a0, a2
    sret

    .globl user_exit
user_exit:                          /* called from the trap handler; a0 = exit code */
    la      t0, kernel_saved_sp
    ld      sp, 0(t0)
    csrw    sscratch, zero
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    ld      s5, 48(sp)
    ld      s6, 56(sp)
    ld      s7, 64(sp)
    ld      s8, 72(sp)
    ld      s9, 80(sp)
    ld      s10, 88(sp)
    ld      s11, 96(sp)
    addi    sp, sp, 112
    ret

    .bss
    .balign 8
kernel_saved_sp: .dword 0
