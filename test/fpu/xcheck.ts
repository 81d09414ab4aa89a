// xcheck.ts — AssemblyScript harness (built by fpu.test.ts) comparing every fast path of assembly/fpu with the integer software core on random operands.
//
// The native-WebAssembly RNE fast paths (binary64 add/sub/mul/div/sqrt, binary32 div/sqrt, fcvt
// fast paths) and the binary32 round-to-odd paths (add/mul/fma in all modes) are checked bit-for-bit,
// flags included, against softAdd/softMul/softDiv/softSqrt/softFma/cvtToInt, which share no code with
// them except roundPack. Operands mix random bits, few-bit significands, subnormals, values near
// overflow and clustered exponents.
import * as F from "../../assembly/fpu/index";
import { softAdd, softMul, softDiv, softSqrt, softFma, cvtToInt } from "../../assembly/fpu/soft";
let seed: u64 = 0x9e3779b97f4a7c15;
export function setSeed(s: u64): void { seed = s; }
@inline function rnd(): u64 {
  seed += 0x9e3779b97f4a7c15;
  let z = seed;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}
/** mixture of distributions, binary64 (F) or binary32 (!F) */
function val(F: bool, center: i32): u64 {
  const r = rnd();
  const k = <i32>(r & 7);
  const s: u64 = (r >> 3) & 1;
  const P: i32 = F ? 53 : 24, BIAS: i32 = F ? 1023 : 127, MAXBE: i32 = F ? 2046 : 254;
  const fm: u64 = F ? 0xfffffffffffff : 0x7fffff;
  let be: i32, m: u64;
  if (k == 0) return F ? rnd() : rnd() & 0xffffffff;
  if (k <= 2) { // few significant bits
    const bits = <i32>(rnd() % <u64>P) + 1;
    m = (rnd() >> <u64>(64 - bits)) | 1;
    m = (m << <u64>(P - bits)) & fm;
    if ((rnd() & 1) != 0) m = (fm ^ m) & fm; // many ones
  } else m = rnd() & fm;
  if (k == 3) be = <i32>(rnd() % 6); // subnormal / tiny
  else if (k == 4) be = MAXBE - <i32>(rnd() % 6);
  else if (k == 5) be = <i32>(rnd() % <u64>(MAXBE + 2));
  else be = center + <i32>(rnd() % 9) - 4;
  if (be < 0) be = 0;
  if (be > MAXBE + 1) be = MAXBE + 1;
  return (s << (F ? 63 : 31)) | (<u64>be << <u64>(P - 1)) | m;
}
export let fails: i32 = 0;
export let lastOp: i32 = 0;
export let lastA: u64 = 0;
export let lastB: u64 = 0;
export let lastC: u64 = 0;
export let lastRm: u32 = 0;
function fail(op: i32, a: u64, b: u64, c: u64, rm: u32): void { fails++; lastOp = op; lastA = a; lastB = b; lastC = c; lastRm = rm; }

/** Runs n random cases; mismatches are counted in `fails`, the last one kept in last*. */
export function run(n: i32): void {
  for (let i = 0; i < n; i++) {
    const F64 = (i & 1) == 0;
    const cen: i32 = F64 ? 1023 : 127;
    const c1 = cen + <i32>(rnd() % 120) - 60;
    const a = val(F64, c1), b = val(F64, (rnd() & 3) == 0 ? cen * 2 - c1 : c1), c0 = val(F64, c1 + c1 - cen);
    const rm = <u32>(rnd() % 5);
    const op = <i32>(rnd() % 7);
    let r1: u64, r2: u64, f1: u32, f2: u32;
    const c = c0; // addend (fma)
    if (F64) {
      if (op == 0) { F.fflags = 0; r1 = F.f64_add(a, b, 0); f1 = F.fflags; F.fflags = 0; r2 = softAdd(a, b, 0, true); f2 = F.fflags; }
      else if (op == 1) { F.fflags = 0; r1 = F.f64_mul(a, b, 0); f1 = F.fflags; F.fflags = 0; r2 = softMul(a, b, 0, true); f2 = F.fflags; }
      else if (op == 2) { F.fflags = 0; r1 = F.f64_div(a, b, 0); f1 = F.fflags; F.fflags = 0; r2 = softDiv(a, b, 0, true); f2 = F.fflags; }
      else if (op == 3) { F.fflags = 0; r1 = F.f64_sqrt(a, 0); f1 = F.fflags; F.fflags = 0; r2 = softSqrt(a, 0, true); f2 = F.fflags; }
      else if (op == 4) { F.fflags = 0; r1 = F.f64_to_i64(a, rm); f1 = F.fflags; F.fflags = 0; r2 = cvtToInt(a, true, rm, 2); f2 = F.fflags; }
      else if (op == 5) { F.fflags = 0; r1 = F.f64_to_u32(a, rm); f1 = F.fflags; F.fflags = 0; r2 = cvtToInt(a, true, rm, 1); f2 = F.fflags; }
      else { F.fflags = 0; r1 = F.f64_sub(a, b, 0); f1 = F.fflags; F.fflags = 0; r2 = softAdd(a, b ^ 0x8000000000000000, 0, true); f2 = F.fflags; }
    } else {
      if (op == 0) { F.fflags = 0; r1 = F.f32_add(<u32>a, <u32>b, rm); f1 = F.fflags; F.fflags = 0; r2 = softAdd(a, b, rm, false); f2 = F.fflags; }
      else if (op == 1) { F.fflags = 0; r1 = F.f32_mul(<u32>a, <u32>b, rm); f1 = F.fflags; F.fflags = 0; r2 = softMul(a, b, rm, false); f2 = F.fflags; }
      else if (op == 2) { F.fflags = 0; r1 = F.f32_div(<u32>a, <u32>b, 0); f1 = F.fflags; F.fflags = 0; r2 = softDiv(a, b, 0, false); f2 = F.fflags; }
      else if (op == 3) { F.fflags = 0; r1 = F.f32_sqrt(<u32>a, 0); f1 = F.fflags; F.fflags = 0; r2 = softSqrt(a, 0, false); f2 = F.fflags; }
      else if (op == 4) { F.fflags = 0; r1 = F.f32_to_i32(<u32>a, rm); f1 = F.fflags; F.fflags = 0; r2 = cvtToInt(a, false, rm, 0); f2 = F.fflags; }
      else if (op == 5) { F.fflags = 0; r1 = F.f32_to_u64(<u32>a, rm); f1 = F.fflags; F.fflags = 0; r2 = cvtToInt(a, false, rm, 3); f2 = F.fflags; }
      else { F.fflags = 0; r1 = F.f32_fma(<u32>a, <u32>b, <u32>c, rm); f1 = F.fflags; F.fflags = 0; r2 = softFma(a, b, c, rm, false); f2 = F.fflags; }
    }
    if (r1 != r2 || f1 != f2) fail(op + (F64 ? 0 : 100), a, b, c, rm);
  }
}
