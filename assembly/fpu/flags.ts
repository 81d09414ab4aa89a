// FPU exception-flag accumulator and shared constants (RISC-V fflags bit layout, rounding-mode encodings).
//
// RISC-V unprivileged spec, "F" chapter, "Floating-Point Control and Status Register":
//   fflags bits: NV(4) DZ(3) OF(2) UF(1) NX(0); rm encodings: 000 RNE, 001 RTZ, 010 RDN, 011 RUP, 100 RMM.
// The caller clears `fflags`, calls one operation, then ORs `fflags` into fcsr. Operations only OR bits in.

/** Accrued exception flags of the last operation(s), RISC-V fflags layout. */
export let fflags: u32 = 0;

export const NX: u32 = 1; // inexact
export const UF: u32 = 2; // underflow
export const OF: u32 = 4; // overflow
export const DZ: u32 = 8; // divide by zero
export const NV: u32 = 16; // invalid operation

export const RNE: u32 = 0; // round to nearest, ties to even
export const RTZ: u32 = 1; // round towards zero
export const RDN: u32 = 2; // round down (towards -inf)
export const RUP: u32 = 3; // round up (towards +inf)
export const RMM: u32 = 4; // round to nearest, ties to max magnitude

/** Canonical quiet NaNs (RISC-V F chapter, "NaN Generation and Propagation"). */
export const F32_QNAN: u32 = 0x7fc00000;
export const F64_QNAN: u64 = 0x7ff8000000000000;
