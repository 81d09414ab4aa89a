// Argument parsing shared by the wasmvisor commands: sizes, addresses, numbers, limits, compression levels, and
// a subcommand's own options; one-line errors naming the flag.
import { parseArgs } from "node:util";
import { writeFileSync, openSync, fsyncSync, closeSync, renameSync } from "node:fs";
import { resolve } from "node:path";
import { WasmvisorError } from "../errors.js";

export function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(s.trim());
  if (!m) throw new WasmvisorError(`--mem: cannot parse size '${s}' (use e.g. 128M or 1G)`);
  const mult = { "": 1024 * 1024, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 }[m[2].toUpperCase() as "" | "K" | "M" | "G"];
  return Number(m[1]) * mult;
}

export function parseAddr(s: string, flag: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s.trim())) throw new WasmvisorError(`${flag}: '${s}' is not a number`);
  return BigInt(s.trim());
}

export function parseNumber(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new WasmvisorError(`${flag}: '${s}' is not a positive number`);
  return n;
}

/** --timeout and --max-insns, shared by run, restore and incoming. */
export function parseLimits(o: { timeout?: string; "max-insns"?: string }): { timeoutMs?: number; maxInsns?: bigint } {
  return {
    timeoutMs: o.timeout !== undefined ? parseNumber(o.timeout, "--timeout") * 1000 : undefined,
    maxInsns: o["max-insns"] !== undefined ? BigInt(Math.floor(parseNumber(o["max-insns"], "--max-insns"))) : undefined,
  };
}

/** --compress-level N: an integer 0 (stored, no compression) to 9 (smallest); undefined if not given. */
export function parseLevel(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]$/.test(s)) throw new WasmvisorError(`--compress-level: want 0 (none) to 9 (smallest) (got ${s})`);
  return Number(s);
}

export function parseSub(argv: string[], usage: string, options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>) {
  try {
    const r = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...options, help: { type: "boolean", short: "h" } } });
    if (r.values.help) { process.stdout.write(usage + "\n"); return null; }
    return r;
  } catch (e) {
    throw new WasmvisorError(`${(e as Error).message.split("\n")[0]} (see wasmvisor --help)`);
  }
}

/** Atomic file write: temp file, fsync, rename. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, "r+");
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
}

export function resolvePath(p: string): string { return resolve(p); }
