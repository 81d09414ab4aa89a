// Vitest suite for assembly/fpu: compiles the library standalone with asc, replays the x86-derived vectors (gen.c) and checks RISC-V-specific rules directly.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import path from "node:path";
import asc from "assemblyscript/asc";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

type Kind = "f32" | "f64" | "i32" | "u32" | "i64" | "u64";
// [name, operand kinds, takes rm, result kind] — the index is the op number written by gen.c.
const OPS: [string, Kind[], boolean, Kind][] = [
  ["f32_add", ["f32", "f32"], true, "f32"], ["f32_sub", ["f32", "f32"], true, "f32"],
  ["f32_mul", ["f32", "f32"], true, "f32"], ["f32_div", ["f32", "f32"], true, "f32"],
  ["f32_sqrt", ["f32"], true, "f32"], ["f32_fma", ["f32", "f32", "f32"], true, "f32"],
  ["f64_add", ["f64", "f64"], true, "f64"], ["f64_sub", ["f64", "f64"], true, "f64"],
  ["f64_mul", ["f64", "f64"], true, "f64"], ["f64_div", ["f64", "f64"], true, "f64"],
  ["f64_sqrt", ["f64"], true, "f64"], ["f64_fma", ["f64", "f64", "f64"], true, "f64"],
  ["f32_eq", ["f32", "f32"], false, "u32"], ["f32_lt", ["f32", "f32"], false, "u32"],
  ["f32_le", ["f32", "f32"], false, "u32"], ["f32_min", ["f32", "f32"], false, "f32"],
  ["f32_max", ["f32", "f32"], false, "f32"], ["f32_classify", ["f32"], false, "u32"],
  ["f64_eq", ["f64", "f64"], false, "u32"], ["f64_lt", ["f64", "f64"], false, "u32"],
  ["f64_le", ["f64", "f64"], false, "u32"], ["f64_min", ["f64", "f64"], false, "f64"],
  ["f64_max", ["f64", "f64"], false, "f64"], ["f64_classify", ["f64"], false, "u32"],
  ["f32_to_i32", ["f32"], true, "u64"], ["f32_to_u32", ["f32"], true, "u64"],
  ["f32_to_i64", ["f32"], true, "u64"], ["f32_to_u64", ["f32"], true, "u64"],
  ["f64_to_i32", ["f64"], true, "u64"], ["f64_to_u32", ["f64"], true, "u64"],
  ["f64_to_i64", ["f64"], true, "u64"], ["f64_to_u64", ["f64"], true, "u64"],
  ["i32_to_f32", ["i32"], true, "f32"], ["u32_to_f32", ["u32"], true, "f32"],
  ["i64_to_f32", ["i64"], true, "f32"], ["u64_to_f32", ["u64"], true, "f32"],
  ["i32_to_f64", ["i32"], true, "f64"], ["u32_to_f64", ["u32"], true, "f64"],
  ["i64_to_f64", ["i64"], true, "f64"], ["u64_to_f64", ["u64"], true, "f64"],
  ["f32_to_f64", ["f32"], false, "f64"], ["f64_to_f32", ["f64"], true, "f32"],
];
const RM = ["rne", "rtz", "rdn", "rup", "rmm"];
const FLAGS = ["NX", "UF", "OF", "DZ", "NV"];

let ex: Record<string, any>;

/** JS value for a wasm parameter of the given kind, from the raw 64-bit operand. */
function arg(k: Kind, v: bigint): number | bigint {
  if (k === "f32" || k === "u32") return Number(v & 0xffffffffn);
  if (k === "i32") return Number(BigInt.asIntN(32, v));
  return BigInt.asIntN(64, v);
}
/** Raw result bits (unsigned) from a wasm return value of the given kind. */
function res(k: Kind, r: number | bigint): bigint {
  if (typeof r === "bigint") return BigInt.asUintN(64, r);
  return BigInt(r >>> 0);
}
const hex = (v: bigint) => "0x" + v.toString(16);
const fstr = (f: number) => FLAGS.filter((_, i) => f & (1 << i)).join("|") || "-";

/** Call op `name` and return [result bits, flags]. */
function call(name: string, ...a: (number | bigint)[]): [bigint, number] {
  const i = OPS.findIndex((o) => o[0] === name);
  const [, kinds, , rk] = OPS[i];
  const args = a.map((v, j) => (j < kinds.length ? arg(kinds[j], BigInt(v)) : Number(v)));
  ex.fflags.value = 0;
  const r = res(rk, ex[name](...args));
  return [r, ex.fflags.value];
}

/** Compiles one AssemblyScript entry file in memory and instantiates it. */
async function build(entry: string): Promise<Record<string, any>> {
  let wasm: Uint8Array | null = null;
  const errors: string[] = [];
  const { error } = await asc.main(
    [
      entry,
      "--config", path.join(here, "asconfig.json"), // keeps the repo's asconfig.json entries out
      "--baseDir", root,
      "--outFile", "fpu-test.wasm",
    ],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith(".wasm")) wasm = contents as Uint8Array;
      },
      stderr: { write: (s: string | Uint8Array) => { errors.push(String(s)); return true; } } as any,
    },
  );
  if (error) throw new Error("asc failed: " + error.message + "\n" + errors.join(""));
  if (!wasm) throw new Error("asc produced no wasm");
  const { instance } = await WebAssembly.instantiate(wasm, {
    env: { abort: () => { throw new Error("abort"); } },
  });
  return instance.exports as Record<string, any>;
}

beforeAll(async () => {
  ex = await build(path.join(root, "assembly/fpu/index.ts"));
}, 120_000);

describe("fpu vectors (gen.c, x86-64 reference)", () => {
  it("matches every vector bit-exactly, flags included", { timeout: 600_000 }, () => {
    // FPU_VECTORS=/path/file(.gz) replays another gen.c output (e.g. a large stress run).
    const file = process.env.FPU_VECTORS ?? path.join(here, "vectors.bin.gz");
    const raw = readFileSync(file);
    const buf = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    expect(buf.subarray(0, 4).toString()).toBe("FPUV");
    expect(dv.getUint32(4, true)).toBe(1);
    const n = dv.getUint32(8, true);
    let o = 12;
    const bad: string[] = [];
    let nbad = 0;
    const perOp = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const op = buf[o], rm = buf[o + 1], fl = buf[o + 2], k = buf[o + 3];
      o += 4;
      const ops: bigint[] = [];
      for (let j = 0; j < k; j++, o += 8) ops.push(dv.getBigUint64(o, true));
      const want = dv.getBigUint64(o, true);
      o += 8;
      const [name, kinds, hasRm, rk] = OPS[op];
      const args: (number | bigint)[] = ops.map((v, j) => arg(kinds[j], v));
      if (hasRm) args.push(rm);
      ex.fflags.value = 0;
      const got = res(rk, ex[name](...args));
      const gfl = ex.fflags.value;
      perOp.set(name, (perOp.get(name) ?? 0) + 1);
      if (got !== want || gfl !== fl) {
        nbad++;
        if (bad.length < 25)
          bad.push(
            `${name} ${hasRm ? RM[rm] : ""} (${ops.map(hex).join(", ")}) -> ${hex(got)} [${fstr(gfl)}], ` +
              `expected ${hex(want)} [${fstr(fl)}]`,
          );
      }
    }
    expect(o).toBe(buf.length);
    expect(perOp.size).toBe(OPS.length); // every op is covered
    if (nbad) console.error(`${nbad} of ${n} vectors failed; first ones:\n` + bad.join("\n"));
    expect(nbad).toBe(0);
  });
});

const f64b = (x: number) => { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, x); return b.getBigUint64(0); };
const f32b = (x: number) => { const b = new DataView(new ArrayBuffer(4)); b.setFloat32(0, x); return BigInt(b.getUint32(0)); };
const NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16;
const Q32 = 0x7fc00000n, Q64 = 0x7ff8000000000000n;
const S32 = 0x7f800001n, S64 = 0x7ff0000000000001n; // signaling NaNs
const MAX64 = 0x7fefffffffffffffn, INF64 = 0x7ff0000000000000n, NEG64 = 0x8000000000000000n;

describe("RISC-V rules (directed)", () => {
  it("canonical NaN results and NaN-input flags", () => {
    expect(call("f32_add", S32, f32b(1), 0)).toEqual([Q32, NV]);
    expect(call("f32_add", 0xffc12345n, f32b(1), 0)).toEqual([Q32, 0]); // quiet NaN with payload
    expect(call("f64_mul", 0xfff8000000000abcn, f64b(2), 3)).toEqual([Q64, 0]);
    expect(call("f64_sqrt", f64b(-1), 0)).toEqual([Q64, NV]);
    expect(call("f64_sqrt", f64b(-0), 1)).toEqual([f64b(-0), 0]);
    expect(call("f64_div", 0n, 0n, 0)).toEqual([Q64, NV]);
    expect(call("f64_div", f64b(1), NEG64, 0)).toEqual([INF64 | NEG64, DZ]);
    expect(call("f32_sub", 0x7f800000n, 0x7f800000n, 0)).toEqual([Q32, NV]);
    // fma(inf, 0, qNaN) is invalid on RISC-V; sign-flipped NaN operands still give the canonical NaN
    expect(call("f64_fma", INF64, 0n, Q64, 0)).toEqual([Q64, NV]);
    expect(call("f32_fma", 0n, 0xff800000n, 0xffc00000n, 2)).toEqual([Q32, NV]);
    expect(call("f64_fma", Q64 | NEG64, f64b(1), f64b(1), 0)).toEqual([Q64, 0]);
    expect(call("f32_fma", f32b(1), 0xff800001n, f32b(1), 0)).toEqual([Q32, NV]);
    expect(call("f32_to_f64", 0xff800001n)).toEqual([Q64, NV]);
    expect(call("f64_to_f32", 0xfff0000000000001n, 0)).toEqual([Q32, NV]);
    expect(call("f64_to_f32", 0xfff8000000000001n, 0)).toEqual([Q32, 0]);
  });

  it("fmin/fmax (2.2+): -0 < +0, NaN operands, NV only for sNaN", () => {
    expect(call("f64_min", 0n, NEG64)).toEqual([NEG64, 0]);
    expect(call("f64_min", NEG64, 0n)).toEqual([NEG64, 0]);
    expect(call("f64_max", NEG64, 0n)).toEqual([0n, 0]);
    expect(call("f32_max", 0x80000000n, 0n)).toEqual([0n, 0]);
    expect(call("f32_min", 0n, 0x80000000n)).toEqual([0x80000000n, 0]);
    expect(call("f64_min", Q64, f64b(3))).toEqual([f64b(3), 0]);
    expect(call("f64_max", f64b(3), 0x7ff8000000000123n)).toEqual([f64b(3), 0]);
    expect(call("f64_min", S64, f64b(3))).toEqual([f64b(3), NV]);
    expect(call("f32_max", Q32, Q32)).toEqual([Q32, 0]);
    expect(call("f32_max", 0xffc00001n, S32)).toEqual([Q32, NV]);
    expect(call("f64_min", f64b(-Infinity), f64b(1))).toEqual([f64b(-Infinity), 0]);
    expect(call("f32_max", f32b(-2), f32b(-3))).toEqual([f32b(-2), 0]);
  });

  it("feq is quiet, flt/fle signal on any NaN, -0 == +0", () => {
    expect(call("f64_eq", Q64, f64b(1))).toEqual([0n, 0]);
    expect(call("f64_eq", S64, f64b(1))).toEqual([0n, NV]);
    expect(call("f64_lt", Q64, f64b(1))).toEqual([0n, NV]);
    expect(call("f32_le", f32b(1), Q32)).toEqual([0n, NV]);
    expect(call("f32_eq", 0x80000000n, 0n)).toEqual([1n, 0]);
    expect(call("f64_le", NEG64, 0n)).toEqual([1n, 0]);
    expect(call("f64_lt", NEG64, 0n)).toEqual([0n, 0]);
    expect(call("f32_lt", f32b(-1), f32b(1))).toEqual([1n, 0]);
  });

  it("fclass mask", () => {
    const c64 = (b: bigint) => call("f64_classify", b)[0];
    const c32 = (b: bigint) => call("f32_classify", b)[0];
    expect([f64b(-Infinity), f64b(-1), 0x8000000000000001n, NEG64, 0n, 1n, f64b(1), INF64, S64, Q64].map(c64))
      .toEqual([1n, 2n, 4n, 8n, 16n, 32n, 64n, 128n, 256n, 512n]);
    expect([0xff800000n, f32b(-1), 0x80000001n, 0x80000000n, 0n, 1n, f32b(1), 0x7f800000n, S32, Q32].map(c32))
      .toEqual([1n, 2n, 4n, 8n, 16n, 32n, 64n, 128n, 256n, 512n]);
  });

  it("fcvt to integer saturates with NV (no NX), 32-bit results sign-extended", () => {
    const M = 0xffffffffffffffffn;
    expect(call("f64_to_i32", Q64, 0)).toEqual([0x7fffffffn, NV]);
    expect(call("f64_to_u32", Q64, 0)).toEqual([M, NV]); // 2^32-1 sign-extended
    expect(call("f32_to_i64", Q32, 1)).toEqual([0x7fffffffffffffffn, NV]);
    expect(call("f32_to_u64", Q32, 1)).toEqual([M, NV]);
    expect(call("f64_to_i32", f64b(-Infinity), 0)).toEqual([0xffffffff80000000n, NV]);
    expect(call("f64_to_u32", f64b(-1), 1)).toEqual([0n, NV]);
    expect(call("f64_to_u32", f64b(-0.5), 1)).toEqual([0n, NX]);
    expect(call("f64_to_u32", f64b(-0.5), 4)).toEqual([0n, NV]); // RMM rounds to -1
    expect(call("f64_to_i32", f64b(2147483648), 1)).toEqual([0x7fffffffn, NV]);
    expect(call("f64_to_i32", f64b(-2147483648.5), 1)).toEqual([0xffffffff80000000n, NX]);
    expect(call("f64_to_i32", f64b(-2147483648.5), 0)).toEqual([0xffffffff80000000n, NX]);
    expect(call("f64_to_i32", f64b(-2147483648.5), 4)).toEqual([0xffffffff80000000n, NV]);
    expect(call("f64_to_u32", f64b(3e9), 0)).toEqual([0xffffffffb2d05e00n, 0]);
    expect(call("f64_to_u64", f64b(-Infinity), 0)).toEqual([0n, NV]);
    expect(call("f32_to_u64", f32b(2 ** 64), 0)).toEqual([M, NV]);
    expect(call("f64_to_i64", f64b(-(2 ** 63)), 0)).toEqual([0x8000000000000000n, 0]);
    expect(call("f64_to_i64", f64b(2 ** 63), 0)).toEqual([0x7fffffffffffffffn, NV]);
    expect(call("f64_to_i32", f64b(2.5), 0)).toEqual([2n, NX]);
    expect(call("f64_to_i32", f64b(2.5), 4)).toEqual([3n, NX]);
    expect(call("f64_to_i32", f64b(-2.5), 4)).toEqual([0xfffffffffffffffdn, NX]);
    expect(call("f64_to_i32", f64b(-2.5), 2)).toEqual([0xfffffffffffffffdn, NX]);
    expect(call("f64_to_i32", f64b(-2.5), 3)).toEqual([0xfffffffffffffffen, NX]);
  });

  it("overflow per rounding mode, underflow detected after rounding", () => {
    const MAX = MAX64, INF = INF64, N = NEG64;
    const two = f64b(2), mtwo = f64b(-2);
    expect(call("f64_mul", MAX, two, 0)).toEqual([INF, OF | NX]);
    expect(call("f64_mul", MAX, two, 1)).toEqual([MAX, OF | NX]);
    expect(call("f64_mul", MAX, two, 2)).toEqual([MAX, OF | NX]);
    expect(call("f64_mul", MAX, two, 3)).toEqual([INF, OF | NX]);
    expect(call("f64_mul", MAX, two, 4)).toEqual([INF, OF | NX]);
    expect(call("f64_mul", MAX, mtwo, 2)).toEqual([INF | N, OF | NX]);
    expect(call("f64_mul", MAX, mtwo, 3)).toEqual([MAX | N, OF | NX]);
    expect(call("f32_add", 0x7f7fffffn, 0x7f7fffffn, 1)).toEqual([0x7f7fffffn, OF | NX]);
    // (2^54-1)*2^-1076 rounds to 2^-1022 (not tiny after rounding): NX only under RNE;
    // under RTZ the result stays subnormal: UF|NX.
    const a = f64b(0.75), b = f64b(6004799503160661 * 2 ** -1074);
    expect(call("f64_mul", a, b, 0)).toEqual([0x0010000000000000n, NX]);
    expect(call("f64_mul", a, b, 1)).toEqual([0x000fffffffffffffn, UF | NX]);
    expect(call("f64_fma", a, b, 0n, 4)).toEqual([0x0010000000000000n, NX]);
    // exact subnormal results raise nothing
    expect(call("f64_mul", f64b(2 ** -1022), f64b(0.5), 0)).toEqual([0x0008000000000000n, 0]);
    expect(call("f32_div", 0x00800000n, f32b(4), 2)).toEqual([0x00200000n, 0]);
    // underflow to zero
    expect(call("f64_mul", 1n, f64b(0.25), 0)).toEqual([0n, UF | NX]);
    expect(call("f64_mul", 1n, f64b(0.25), 3)).toEqual([1n, UF | NX]);
    expect(call("f32_mul", 1n, f32b(-0.5), 4)).toEqual([0x80000001n, UF | NX]); // tie away
    expect(call("f32_mul", 1n, f32b(-0.5), 0)).toEqual([0x80000000n, UF | NX]);
  });

  it("exactness checks of the fast paths at their boundaries", () => {
    // widest exact square roots: 27-bit odd roots of 53-bit odd squares
    for (const r of [(2 ** 26) + 1, 94906265, 67108865 * 1]) {
      expect(call("f64_sqrt", f64b(r * r), 0)).toEqual([f64b(r), 0]);
      expect(call("f64_sqrt", f64b(r * r * 2 ** -1000), 0)).toEqual([f64b(r * 2 ** -500), 0]);
    }
    expect(call("f64_sqrt", f64b(94906265 * 94906265 + 2), 0)[1]).toBe(NX);
    expect(call("f32_sqrt", f32b(4095 * 4095), 0)).toEqual([f32b(4095), 0]);
    // products of odd significands with exactly 53 and 54 bits
    expect(call("f64_mul", f64b(94906265), f64b(94906263), 0)).toEqual([f64b(94906265 * 94906263), 0]);
    expect(call("f64_mul", f64b(2 ** 27 - 1), f64b(2 ** 27 + 1), 0)).toEqual([f64b(2 ** 54), NX]);
    expect(call("f64_mul", f64b(2 ** 26 + 1), f64b(2 ** 27 + 1), 0)[1]).toBe(NX);
    // quotients: exact iff the divisor's odd part divides the dividend's
    expect(call("f64_div", f64b(3 * 94906265), f64b(3), 0)).toEqual([f64b(94906265), 0]);
    expect(call("f64_div", f64b(1), f64b(3), 0)[1]).toBe(NX);
    expect(call("f64_div", f64b(2 ** -1040 * 3), f64b(3 * 2 ** -60), 0)).toEqual([f64b(2 ** -980), 0]);
  });

  it("signed zero of exact zero sums depends on the rounding mode", () => {
    for (const [add, one, m] of [["f64_add", f64b(1), NEG64], ["f32_add", f32b(1), 0x80000000n]] as const) {
      const neg = one | m;
      for (let rm = 0; rm < 5; rm++) expect(call(add, one, neg, rm)).toEqual([rm === 2 ? m : 0n, 0]);
      expect(call(add, m, m, 0)).toEqual([m, 0]);
      expect(call(add, 0n, m, 2)).toEqual([m, 0]);
      expect(call(add, 0n, m, 3)).toEqual([0n, 0]);
    }
    expect(call("f64_fma", f64b(2), f64b(3), f64b(-6), 2)).toEqual([NEG64, 0]);
    expect(call("f32_fma", f32b(2), f32b(3), f32b(-6), 2)).toEqual([0x80000000n, 0]);
    expect(call("f32_fma", f32b(2), f32b(3), f32b(-6), 0)).toEqual([0n, 0]);
    expect(call("f64_fma", 0n, f64b(-1), NEG64, 1)).toEqual([NEG64, 0]);
    for (let rm = 0; rm < 5; rm++) {
      expect(call("f64_fma", 0n, f64b(1), NEG64, rm)).toEqual([rm === 2 ? NEG64 : 0n, 0]);
      expect(call("f32_fma", 0x80000000n, f32b(1), 0n, rm)).toEqual([rm === 2 ? 0x80000000n : 0n, 0]);
    }
  });
});

describe("RNE agrees with the host's IEEE arithmetic on random operands", () => {
  // JS numbers are binary64 with round-to-nearest-even; Math.fround of a binary64 +,-,*,/,sqrt of two
  // binary32 values is the correctly rounded binary32 result (53 >= 2*24+2).
  const rand64 = (s: { x: bigint }) => {
    s.x = (s.x * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return s.x ^ (s.x >> 29n);
  };
  const isNaN64 = (b: bigint) => (b & 0x7fffffffffffffffn) > INF64;
  const isNaN32 = (b: bigint) => (b & 0x7fffffffn) > 0x7f800000n;
  const f64v = (b: bigint) => { const d = new DataView(new ArrayBuffer(8)); d.setBigUint64(0, b); return d.getFloat64(0); };
  const f32v = (b: bigint) => { const d = new DataView(new ArrayBuffer(4)); d.setUint32(0, Number(b)); return d.getFloat32(0); };

  it("binary64 and binary32 add/sub/mul/div/sqrt results", () => {
    const s = { x: 12345n };
    const ops: [string, (a: number, b: number) => number][] = [
      ["add", (a, b) => a + b], ["sub", (a, b) => a - b], ["mul", (a, b) => a * b],
      ["div", (a, b) => a / b], ["sqrt", (a) => Math.sqrt(a)],
    ];
    let bad = 0;
    const msgs: string[] = [];
    for (let i = 0; i < 4000; i++) {
      // random bit patterns, or random values with exponents clustered so results stay interesting
      let a = rand64(s), b = rand64(s);
      if (i & 1) {
        a = (a & 0x800fffffffffffffn) | (BigInt(1023 - 60 + Number(rand64(s) % 120n)) << 52n);
        b = (b & 0x800fffffffffffffn) | (BigInt(1023 - 60 + Number(rand64(s) % 120n)) << 52n);
      }
      const a32 = a >> 32n, b32 = b & 0xffffffffn;
      for (const [nm, fn] of ops) {
        const unary = nm === "sqrt";
        const w64 = f64b(fn(f64v(a), f64v(b)));
        const g64 = unary ? call("f64_" + nm, a, 0)[0] : call("f64_" + nm, a, b, 0)[0];
        const w32 = f32b(Math.fround(fn(f32v(a32), f32v(b32))));
        const g32 = unary ? call("f32_" + nm, a32, 0)[0] : call("f32_" + nm, a32, b32, 0)[0];
        if (!(isNaN64(w64) ? g64 === Q64 : g64 === w64)) { bad++; msgs.push(`f64_${nm} ${hex(a)} ${hex(b)}`); }
        if (!(isNaN32(w32) ? g32 === Q32 : g32 === w32)) { bad++; msgs.push(`f32_${nm} ${hex(a32)} ${hex(b32)}`); }
      }
    }
    if (bad) console.error(msgs.slice(0, 20).join("\n"));
    expect(bad).toBe(0);
  });
});

describe("fast paths agree with the software core (xcheck.ts)", () => {
  it("4M random cases, results and flags", { timeout: 300_000 }, async () => {
    const x = await build(path.join(here, "xcheck.ts"));
    x.setSeed(0x2545f4914f6cdd1dn);
    for (let i = 0; i < 4; i++) x.run(1_000_000);
    if (x.fails.value)
      console.error(`op ${x.lastOp.value} rm ${x.lastRm.value} a ${hex(BigInt.asUintN(64, x.lastA.value))} ` +
        `b ${hex(BigInt.asUintN(64, x.lastB.value))} c ${hex(BigInt.asUintN(64, x.lastC.value))}`);
    expect(x.fails.value).toBe(0);
  });
});
