/* Forced include (-include) for building workloads/int.c as wl-int-sv39 without touching its source: the workload
 * reads the M-mode-only CSR minstret with an inline `csrr %0, minstret`, which traps in S-mode. This file
 * defines an assembler macro named csrr, which GNU as expands in preference to the instruction of the same
 * name: a read of minstret becomes a read of the user-level alias instret (0xc02), which S-mode may read
 * because the start-up code sets mcounteren.IR. Every other csrr assembles unchanged. The two CSRs count
 * the same events, so the instruction counts the workload prints do not change. GCC emits top-level asm
 * before any function, so the macro is defined before the first use. */
__asm__(".macro csrr rd:req, csr:req\n"
        "  .ifc \\csr, minstret\n"
        "  csrrs \\rd, instret, x0\n"
        "  .else\n"
        "  csrrs \\rd, \\csr, x0\n"
        "  .endif\n"
        ".endm\n");
