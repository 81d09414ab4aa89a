// Integer helpers the M extension needs beyond WebAssembly's i64 ops: the high halves of 64×64-bit products,
// and division with RISC-V's defined results for division by zero and overflow (unprivileged spec §7.2).

/** High 64 bits of the unsigned 128-bit product a*b. */
export function mulhu(a: u64, b: u64): u64 {
  const aLo = a & 0xffff_ffff, aHi = a >> 32;
  const bLo = b & 0xffff_ffff, bHi = b >> 32;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >> 32) + (lh & 0xffff_ffff) + (hl & 0xffff_ffff);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/** High 64 bits of the signed 128-bit product. */
export function mulh(a: i64, b: i64): i64 {
  let r = <i64>mulhu(<u64>a, <u64>b);
  if (a < 0) r -= b;
  if (b < 0) r -= a;
  return r;
}

/** High 64 bits of signed a times unsigned b. */
export function mulhsu(a: i64, b: u64): i64 {
  let r = <i64>mulhu(<u64>a, b);
  if (a < 0) r -= <i64>b;
  return r;
}

@inline export function div(a: i64, b: i64): i64 {
  if (b == 0) return -1;
  if (a == i64.MIN_VALUE && b == -1) return a;
  return a / b;
}
@inline export function divu(a: u64, b: u64): u64 { return b == 0 ? 0xffff_ffff_ffff_ffff : a / b; }
@inline export function rem(a: i64, b: i64): i64 {
  if (b == 0) return a;
  if (a == i64.MIN_VALUE && b == -1) return 0;
  return a % b;
}
@inline export function remu(a: u64, b: u64): u64 { return b == 0 ? a : a % b; }
@inline export function divw(a: i32, b: i32): i32 {
  if (b == 0) return -1;
  if (a == i32.MIN_VALUE && b == -1) return a;
  return a / b;
}
@inline export function divuw(a: u32, b: u32): u32 { return b == 0 ? 0xffff_ffff : a / b; }
@inline export function remw(a: i32, b: i32): i32 {
  if (b == 0) return a;
  if (a == i32.MIN_VALUE && b == -1) return 0;
  return a % b;
}
@inline export function remuw(a: u32, b: u32): u32 { return b == 0 ? a : a % b; }
