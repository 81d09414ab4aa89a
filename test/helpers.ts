// Shared helpers for the vitest suites: paths, the CLI as a subprocess, guest loading, ELF mutation, tiny encoders.
import { spawnSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const GUEST_BIN = join(ROOT, "guests", "bin");
export const CLI = join(ROOT, "dist", "host", "cli.js");
export const CORE_WASM = join(ROOT, "build", "core.wasm");

/** Absolute path of guests/bin/<name>; throws (failing the test) if the binary is missing. */
export function guestPath(name: string): string {
  const p = join(GUEST_BIN, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run make -C guests`);
  return p;
}

export function readGuest(name: string): Uint8Array {
  return new Uint8Array(readFileSync(guestPath(name)));
}

/** guests/bin files whose names match `re`, sorted. */
export function listGuests(re: RegExp): string[] {
  if (!existsSync(GUEST_BIN)) return [];
  return readdirSync(GUEST_BIN).filter((f) => re.test(f)).sort();
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node dist/host/cli.js ...args` as a real subprocess. */
export function runCli(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): CliResult {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== "ETIMEDOUT") throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? "", stderr: r.stderr ?? "", ms: performance.now() - t0 };
}

/** A fresh temporary directory; call the returned cleanup when done. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "wasmvisor-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Text for an assertion message: a subprocess's outputs, trimmed. */
export function describeRun(r: CliResult): string {
  const cut = (s: string) => (s.length > 2000 ? s.slice(0, 2000) + "…" : s);
  return `status ${r.status} signal ${r.signal} after ${r.ms.toFixed(0)} ms\n--- stdout\n${cut(r.stdout)}\n--- stderr\n${cut(r.stderr)}`;
}

// ---- ELF64 header access (for building malformed images from real ones) ----

export interface ElfView {
  buf: Uint8Array;
  dv: DataView;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
}

export function elfView(src: Uint8Array): ElfView {
  const buf = new Uint8Array(src); // a copy: tests mutate it
  const dv = new DataView(buf.buffer);
  return {
    buf, dv,
    phoff: Number(dv.getBigUint64(32, true)), phentsize: dv.getUint16(54, true), phnum: dv.getUint16(56, true),
    shoff: Number(dv.getBigUint64(40, true)), shentsize: dv.getUint16(58, true), shnum: dv.getUint16(60, true),
  };
}

export const PT_LOAD = 1;
export const SHT_SYMTAB = 2;

/** Offset of the first program header of type `type`. */
export function phdrOf(e: ElfView, type = PT_LOAD): number {
  for (let i = 0; i < e.phnum; i++) {
    const p = e.phoff + i * e.phentsize;
    if (e.dv.getUint32(p, true) === type) return p;
  }
  throw new Error(`no program header of type ${type}`);
}

/** Offset of the first section header of type `type`. */
export function shdrOf(e: ElfView, type: number): number {
  for (let i = 0; i < e.shnum; i++) {
    const s = e.shoff + i * e.shentsize;
    if (e.dv.getUint32(s + 4, true) === type) return s;
  }
  throw new Error(`no section header of type ${type}`);
}

// ---- RV64 encoders for tiny hand-made programs ----

const R = (v: number, bits: number) => v & ((1 << bits) - 1);
export const enc = {
  lui: (rd: number, imm20: number) => ((R(imm20, 20) << 12) | (rd << 7) | 0x37) >>> 0,
  addi: (rd: number, rs1: number, imm: number) => ((R(imm, 12) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0,
  sb: (rs2: number, rs1: number, imm: number) =>
    ((R(imm >> 5, 7) << 25) | (rs2 << 20) | (rs1 << 15) | (0 << 12) | (R(imm, 5) << 7) | 0x23) >>> 0,
  sw: (rs2: number, rs1: number, imm: number) =>
    ((R(imm >> 5, 7) << 25) | (rs2 << 20) | (rs1 << 15) | (2 << 12) | (R(imm, 5) << 7) | 0x23) >>> 0,
  /** jal x0, 0 (a branch to itself). */
  self: () => 0x0000006f,
  csrw: (csr: number, rs1: number) => ((csr << 20) | (rs1 << 15) | (1 << 12) | 0x73) >>> 0,
};

/** Little-endian bytes of 32-bit words. */
export function words(ws: number[]): Uint8Array {
  const b = new Uint8Array(ws.length * 4);
  const dv = new DataView(b.buffer);
  ws.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return b;
}

// ---- Running a guest through the embedding API, in a worker thread with a watchdog ----
// The package's entry point (dist/host/index.js, compiled from host/) runs in a worker so that a core that stops
// returning from run() (an endless loop inside Wasm cannot be interrupted by vitest's timeout) fails the test
// instead of hanging the suite: the watchdog terminates the worker.

export const HOST_INDEX_URL = new URL("../dist/host/index.js", import.meta.url).href;

export interface GuestRun {
  /** false: the worker threw (error holds the stack); true: runToExit returned. */
  ok: boolean;
  /** The watchdog fired: run() did not return in time. */
  hung: boolean;
  exit?: { kind: string; code: number } | null;
  reason?: string;
  instret?: bigint;
  wallMs?: number;
  console: string;
  error?: string;
}

const GUEST_WORKER = `
const { workerData: d, parentPort } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
(async () => {
  const { Vm, runToExit } = await import(d.hostUrl);
  const vm = Vm.create({ memBytes: d.memBytes, deterministic: d.deterministic });
  vm.loadElf(new Uint8Array(readFileSync(d.elf)), d.elf);
  const res = await runToExit(vm, {
    timeoutMs: d.timeoutMs,
    maxInsns: d.maxInsns === undefined ? undefined : BigInt(d.maxInsns),
    onConsole: (b) => parentPort.postMessage({ console: Buffer.from(b).toString("latin1") }),
  });
  parentPort.postMessage({ done: true, exit: res.exit, reason: res.reason, instret: String(res.instret), wallMs: res.wallMs });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

export function runGuestInWorker(elf: string, opts: { timeoutMs: number; memBytes?: number; deterministic?: boolean; maxInsns?: number; watchdogMs?: number }): Promise<GuestRun> {
  return new Promise((resolvePromise) => {
    const out: GuestRun = { ok: false, hung: false, console: "" };
    const w = new Worker(GUEST_WORKER, {
      eval: true,
      workerData: { hostUrl: HOST_INDEX_URL, elf, timeoutMs: opts.timeoutMs, memBytes: opts.memBytes ?? 64 * 1024 * 1024, deterministic: !!opts.deterministic, maxInsns: opts.maxInsns },
    });
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      resolvePromise(out);
    };
    const timer = setTimeout(() => { out.hung = true; finish(); }, opts.watchdogMs ?? opts.timeoutMs + 15_000);
    w.on("message", (m: { console?: string; done?: boolean; error?: string; exit?: GuestRun["exit"]; reason?: string; instret?: string; wallMs?: number }) => {
      if (m.console !== undefined) out.console += m.console;
      if (m.error !== undefined) { out.error = m.error; finish(); }
      if (m.done) {
        Object.assign(out, { ok: true, exit: m.exit, reason: m.reason, instret: BigInt(m.instret!), wallMs: m.wallMs });
        finish();
      }
    });
    w.on("error", (e) => { out.error = String(e?.stack ?? e); finish(); });
    w.on("exit", (code) => { if (!settled) { out.error = `worker exited with code ${code}`; finish(); } });
  });
}

/** One-paragraph description of a guest run for assertion messages. */
export function describeGuestRun(name: string, r: GuestRun): string {
  const con = r.console.length > 3000 ? "…" + r.console.slice(-3000) : r.console;
  if (r.hung) return `${name}: run() did not return (watchdog); console so far:\n${con}`;
  if (!r.ok) return `${name}: threw ${r.error}\nconsole:\n${con}`;
  return `${name}: ${r.reason}, exit ${JSON.stringify(r.exit)}, ${r.instret} instructions in ${r.wallMs?.toFixed(0)} ms; console:\n${con}`;
}
