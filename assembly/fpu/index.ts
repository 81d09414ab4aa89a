// Public API of the wasmvisor FPU library: RISC-V F/D semantics on raw bit patterns, flags in `fflags`.
//
// Operands/results: u32 = binary32 bits, u64 = binary64 bits (NaN-boxing is the caller's business).
// rm: 0 RNE, 1 RTZ, 2 RDN, 3 RUP, 4 RMM (already resolved and validated by the caller).
// Flags are OR-ed into `fflags` (NX=1 UF=2 OF=4 DZ=8 NV=16); the caller clears it before a call.
// All NaN results are canonical (0x7fc00000 / 0x7ff8000000000000).
export { fflags, NX, UF, OF, DZ, NV, RNE, RTZ, RDN, RUP, RMM, F32_QNAN, F64_QNAN } from "./flags";
export {
  f32_add, f32_sub, f32_mul, f32_div, f32_sqrt, f32_fma,
  f64_add, f64_sub, f64_mul, f64_div, f64_sqrt, f64_fma,
} from "./arith";
export {
  f32_eq, f32_lt, f32_le, f32_min, f32_max, f32_classify,
  f64_eq, f64_lt, f64_le, f64_min, f64_max, f64_classify,
} from "./cmp";
export {
  f32_to_i32, f32_to_u32, f32_to_i64, f32_to_u64,
  f64_to_i32, f64_to_u32, f64_to_i64, f64_to_u64,
  i32_to_f32, u32_to_f32, i64_to_f32, u64_to_f32,
  i32_to_f64, u32_to_f64, i64_to_f64, u64_to_f64,
  f32_to_f64, f64_to_f32,
} from "./cvt";
