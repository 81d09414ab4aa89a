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

// ---- A tiny RV64 assembler for hand-made guests (test/mmu.test.ts, test/gstage.test.ts) ----
// Emits 32-bit words; labels are resolved at the end (branches and jal). `li` materializes any 64-bit constant.

export const REG = { zero: 0, ra: 1, sp: 2, t0: 5, t1: 6, t2: 7, s0: 8, s1: 9, a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, t3: 28, t4: 29, t5: 30, t6: 31 } as const;

const sext12 = (v: bigint): bigint => BigInt.asIntN(12, v);

export class Asm {
  readonly words: number[] = [];
  private labels = new Map<string, number>();
  private fixups: { at: number; label: string; kind: "b" | "j" }[] = [];

  /** Byte offset of the next instruction. */
  get here(): number { return this.words.length * 4; }
  label(name: string): this { this.labels.set(name, this.here); return this; }
  addr(name: string): number { const a = this.labels.get(name); if (a === undefined) throw new Error(`no label ${name}`); return a; }
  word(w: number): this { this.words.push(w >>> 0); return this; }
  /** Pads with nops up to byte offset `off`. */
  org(off: number): this { if (off < this.here) throw new Error(`org ${off}: already at ${this.here}`); while (this.here < off) this.addi(0, 0, 0); return this; }

  private r(f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) { return this.word((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op); }
  private i(imm: number, rs1: number, f3: number, rd: number, op: number) { return this.word(((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op); }
  private s(imm: number, rs2: number, rs1: number, f3: number, op: number) {
    return this.word((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op);
  }

  lui(rd: number, imm20: number) { return this.word(((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37); }
  addi(rd: number, rs1: number, imm: number) { return this.i(imm, rs1, 0, rd, 0x13); }
  addiw(rd: number, rs1: number, imm: number) { return this.i(imm, rs1, 0, rd, 0x1b); }
  slli(rd: number, rs1: number, sh: number) { return this.i(sh & 63, rs1, 1, rd, 0x13); }
  add(rd: number, rs1: number, rs2: number) { return this.r(0, rs2, rs1, 0, rd, 0x33); }
  mv(rd: number, rs: number) { return this.addi(rd, rs, 0); }
  /** Any 64-bit constant (the usual lui/addiw/slli/addi expansion). */
  li(rd: number, value: bigint | number): this {
    const v = BigInt.asIntN(64, BigInt(value));
    if (v >= -2048n && v < 2048n) return this.addi(rd, 0, Number(v));
    const lo = sext12(v);
    if (v >= -(1n << 31n) && v < (1n << 31n)) {
      this.lui(rd, Number(((v - lo) >> 12n) & 0xfffffn));
      return lo !== 0n ? this.addiw(rd, rd, Number(lo)) : this;
    }
    let hi = (v - lo) >> 12n;
    let shift = 12;
    while ((hi & 1n) === 0n) { hi >>= 1n; shift++; }
    this.li(rd, hi).slli(rd, rd, shift);
    return lo !== 0n ? this.addi(rd, rd, Number(lo)) : this;
  }
  lb(rd: number, rs1: number, imm = 0) { return this.i(imm, rs1, 0, rd, 0x03); }
  lw(rd: number, rs1: number, imm = 0) { return this.i(imm, rs1, 2, rd, 0x03); }
  ld(rd: number, rs1: number, imm = 0) { return this.i(imm, rs1, 3, rd, 0x03); }
  sb(rs2: number, rs1: number, imm = 0) { return this.s(imm, rs2, rs1, 0, 0x23); }
  sw(rs2: number, rs1: number, imm = 0) { return this.s(imm, rs2, rs1, 2, 0x23); }
  sd(rs2: number, rs1: number, imm = 0) { return this.s(imm, rs2, rs1, 3, 0x23); }
  fld(frd: number, rs1: number, imm = 0) { return this.i(imm, rs1, 3, frd, 0x07); }
  fsd(frs2: number, rs1: number, imm = 0) { return this.s(imm, frs2, rs1, 3, 0x27); }
  fsw(frs2: number, rs1: number, imm = 0) { return this.s(imm, frs2, rs1, 2, 0x27); }
  fmvDX(frd: number, rs1: number) { return this.r(0x79, 0, rs1, 0, frd, 0x53); }
  /** funct5: 0 amoadd, 1 amoswap, 2 lr, 3 sc, 8 amoor …; width 2 = .w, 3 = .d. */
  amo(f5: number, width: number, rd: number, rs1: number, rs2: number) { return this.r(f5 << 2, rs2, rs1, width, rd, 0x2f); }
  amoaddW(rd: number, rs2: number, rs1: number) { return this.amo(0x00, 2, rd, rs1, rs2); }
  amoswapD(rd: number, rs2: number, rs1: number) { return this.amo(0x01, 3, rd, rs1, rs2); }
  lrD(rd: number, rs1: number) { return this.amo(0x02, 3, rd, rs1, 0); }
  scD(rd: number, rs2: number, rs1: number) { return this.amo(0x03, 3, rd, rs1, rs2); }
  csrrw(rd: number, csr: number, rs1: number) { return this.i(csr, rs1, 1, rd, 0x73); }
  csrrs(rd: number, csr: number, rs1: number) { return this.i(csr, rs1, 2, rd, 0x73); }
  csrw(csr: number, rs1: number) { return this.csrrw(0, csr, rs1); }
  csrr(rd: number, csr: number) { return this.csrrs(rd, csr, 0); }
  csrs(csr: number, rs1: number) { return this.csrrs(0, csr, rs1); }
  csrc(csr: number, rs1: number) { return this.i(csr, rs1, 3, 0, 0x73); }
  ecall() { return this.word(0x00000073); }
  mret() { return this.word(0x30200073); }
  sret() { return this.word(0x10200073); }
  fenceI() { return this.word(0x0000100f); }
  sfenceVma(rs1 = 0, rs2 = 0) { return this.word((0x09 << 25) | (rs2 << 20) | (rs1 << 15) | 0x73); }
  jalr(rd: number, rs1: number, imm = 0) { return this.i(imm, rs1, 0, rd, 0x67); }
  ret() { return this.jalr(0, REG.ra, 0); }
  jal(rd: number, label: string) { this.fixups.push({ at: this.words.length, label, kind: "j" }); return this.word((rd << 7) | 0x6f); }
  j(label: string) { return this.jal(0, label); }
  private br(f3: number, rs1: number, rs2: number, label: string) {
    this.fixups.push({ at: this.words.length, label, kind: "b" });
    return this.word((rs2 << 20) | (rs1 << 15) | (f3 << 12) | 0x63);
  }
  beq(rs1: number, rs2: number, label: string) { return this.br(0, rs1, rs2, label); }
  bne(rs1: number, rs2: number, label: string) { return this.br(1, rs1, rs2, label); }
  bltu(rs1: number, rs2: number, label: string) { return this.br(6, rs1, rs2, label); }
  /** jal x0, 0: a branch to itself. */
  spin() { return this.word(0x0000006f); }
  /** Powers the VM off through the SiFive test device at 0x10_0000 (run() stops with "halt"); clobbers t5, t6. */
  halt() { return this.li(REG.t6, 0x10_0000).li(REG.t5, 0x5555).sw(REG.t5, REG.t6, 0).spin(); }

  /** The program's bytes, labels resolved. */
  bytes(): Uint8Array {
    for (const f of this.fixups) {
      const off = this.addr(f.label) - f.at * 4;
      let w = this.words[f.at];
      if (f.kind === "j") {
        w |= (((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) | (((off >> 12) & 0xff) << 12);
      } else {
        w |= (((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7);
      }
      this.words[f.at] = w >>> 0;
    }
    this.fixups = [];
    return words(this.words);
  }
}

export const CSR = { sstatus: 0x100, satp: 0x180, mstatus: 0x300, mtvec: 0x305, mepc: 0x341, pmpcfg0: 0x3a0, pmpaddr0: 0x3b0 } as const;

/**
 * A guest for RAM base `base`: `j main`; a trap handler at base+4 (halts, or skips the faulting 4-byte instruction);
 * main sets mtvec and runs `body`, then halts. mcause/mepc/mtval tell whether and where it trapped.
 */
export function program(base: bigint, body: (a: Asm) => void, onTrap: "halt" | "skip" = "halt"): Asm {
  const a = new Asm();
  a.j("main");
  a.label("trap");
  if (onTrap === "halt") a.halt();
  else a.csrr(REG.t6, CSR.mepc).addi(REG.t6, REG.t6, 4).csrw(CSR.mepc, REG.t6).mret();
  a.label("main").li(REG.t0, base + 4n).csrw(CSR.mtvec, REG.t0);
  body(a);
  a.label("end").halt();
  return a;
}

/** M-mode code that opens PMP to S/U (entry 0: NAPOT over everything, RWX), installs satp and mrets to S at `entry`. */
export function enterS(a: Asm, satp: bigint, entry: bigint): Asm {
  a.li(REG.t0, -1).csrw(CSR.pmpaddr0, REG.t0).li(REG.t0, 0x1f).csrw(CSR.pmpcfg0, REG.t0);
  a.li(REG.t0, satp).csrw(CSR.satp, REG.t0);
  a.li(REG.t0, 1n << 11n).csrs(CSR.mstatus, REG.t0); // MPP = S
  return a.li(REG.t0, entry).csrw(CSR.mepc, REG.t0).mret();
}
