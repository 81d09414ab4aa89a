// Random instruction streams through the core. Each campaign runs in a worker thread (a run() that never returns
// cannot be interrupted from inside the thread; a watchdog here terminates the worker and reports a hang).
//
// Per attempt: hart_reset (M-mode), a fixed prologue at the start of RAM (mtvec := handler, FPU on, random fcsr,
// random FP registers, jump to a random RAM address), a fixed trap handler that skips 2 bytes past the trapping
// instruction, random x registers, then run(budget) over RAM filled with random code. The handler sits below the
// code and no register points at it, so random stores rarely clobber it; CSRs that would make every later trap
// fault again (mtvec, medeleg, mideleg, pmpcfg) are left to the fully random words: that case (run() must still
// honour its budget) has its own minimal tests at the end. Generated code never writes mcycle/minstret (the budget
// check reads minstret). Checked after every run():
// it did not throw, returned a STOP_* code, retired at most `budget` instructions, pc is even and 64-bit, the
// privilege is U/S/M and x0 is 0.
//
// The seed is printed; reproduce with FUZZ_SEED=<seed> npx vitest run test/fuzz.test.ts.
import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { HOST_INDEX_URL } from "./helpers.js";

const BASE_SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) >>> 0 : 0x5eed_2026;
console.log(`fuzz: base seed ${BASE_SEED} (set FUZZ_SEED to change)`);

/** How long one run() call (budget <= 2000 instructions, normally microseconds) may take before it counts as hung. */
const WATCHDOG_MS = 2500;
/** Campaigns stop after this many hangs (each costs WATCHDOG_MS). */
const MAX_HANGS = 2;

// Worker source (plain JS: workers cannot load TypeScript).
const FUZZ_WORKER = String.raw`
const { workerData: d, parentPort } = require("node:worker_threads");
(async () => {
  const { Vm } = await import(d.hostUrl);
  const progress = new Int32Array(d.progress, 0, 2);   // [0] attempts finished, [1] attempt running
  const totals = new Float64Array(d.progress, 8, 4);    // retired, traps, MMIO accesses, console bytes
  const byStop = new Int32Array(d.progress, 40, 8);     // run() results by STOP_* code
  let s = d.seed >>> 0 || 1;
  const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
  const pick = (a) => a[rnd() % a.length];
  const MEM = 1 << 20;
  const vm = Vm.create({ memBytes: MEM, deterministic: d.deterministic });
  const k = vm.core.k, fn = vm.core.fn;
  const BASE = Number(vm.ramBase);
  // The guest's RAM image, written into the VM through the G-stage (vm.writePhys) after every change.
  const ram = new Uint32Array(MEM / 4);
  const STOPS = new Map([[k.STOP_BUDGET, "budget"], [k.STOP_HALT, "halt"], [k.STOP_WFI, "wfi"], [k.STOP_CONSOLE, "console"], [k.STOP_HTIF, "htif"], [k.STOP_FATAL, "fatal"]]);
  const HANDLER = 0x1000, CODE = 0x2000; // byte offsets in RAM

  // ---- instruction generators ----
  const CSRS = [0x001, 0x002, 0x003, 0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180,
    0x300, 0x301, 0x304, 0x306, 0x30a, 0x320, 0x340, 0x341, 0x342, 0x343, 0x344,
    0x3b0, 0x3b1, 0x3bf, 0x7a0, 0x7a1, 0xb03, 0xc00, 0xc01, 0xc02, 0xf11, 0xf12, 0xf13, 0xf14, 0xf15];
  const FP_F7 = [0x00, 0x01, 0x04, 0x05, 0x08, 0x09, 0x0c, 0x0d, 0x2c, 0x2d, 0x10, 0x11, 0x14, 0x15, 0x50, 0x51,
    0x60, 0x61, 0x68, 0x69, 0x70, 0x71, 0x78, 0x79, 0x20, 0x21];
  const AMO_F5 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c];
  const SYS_F12 = [0x000, 0x001, 0x102, 0x105, 0x302, 0x7b2];
  const OPCODES = [
    [0x03, 4], [0x23, 4], [0x2f, 4], [0x73, 4], [0x53, 4], [0x07, 2], [0x27, 2], [0x43, 1], [0x47, 1], [0x4b, 1],
    [0x4f, 1], [0x33, 1], [0x3b, 1], [0x13, 1], [0x1b, 1], [0x37, 1], [0x17, 1], [0x6f, 1], [0x67, 1], [0x63, 1], [0x0f, 1]];
  const OPC_TABLE = OPCODES.flatMap(([op, w]) => Array(w).fill(op));
  function validOpcodeWord() {
    const op = pick(OPC_TABLE);
    let w = (rnd() & ~0x7f) | op;
    switch (op) {
      case 0x2f: // AMO: mostly W/D and a defined funct5
        if (rnd() & 3) w = (w & ~(7 << 12)) | ((2 + (rnd() & 1)) << 12);
        if (rnd() & 3) w = (w & 0x07ffffff) | (pick(AMO_F5) << 27);
        break;
      case 0x73: // SYSTEM: mostly a real CSR, sometimes a privileged instruction
        if (rnd() % 4 === 0) w = (pick(SYS_F12) << 20) | (rnd() % 8 === 0 ? w & (0x1f << 15) : 0) | 0x73;
        else if (rnd() % 5) w = (w & 0x000fffff) | (pick(CSRS) << 20);
        break;
      case 0x53: // OP-FP: mostly a defined funct7
        if (rnd() % 4) w = (w & 0x01ffffff) | (pick(FP_F7) << 25);
        break;
      case 0x03: case 0x23: case 0x07: case 0x27: // memory: small immediates so RAM/MMIO bases stay in range
        if (rnd() & 1) w = op === 0x23 || op === 0x27 ? w & ~0xfe000f80 | ((rnd() & 0x1f) << 7) : w & 0x000fffff | ((rnd() & 0x3f) << 20);
        break;
    }
    return w >>> 0;
  }
  const MMIO_BASES = [0x1000_0000, 0x1000_0000, 0x1000_0005, 0x0200_0000, 0x0200_4000, 0x0200_bff8, 0x0010_0000, 0x0010_1000];
  function mmioWord() {
    const op = pick([0x03, 0x03, 0x23, 0x23, 0x23, 0x2f, 0x07, 0x27]);
    const rs1 = 1 + (rnd() % 31), rd = rnd() & 31, rs2 = rnd() & 31, f3 = rnd() & 7, imm = rnd() & 7;
    if (op === 0x23 || op === 0x27) return ((imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 31) << 7 | op) >>> 0;
    if (op === 0x2f) return (pick(AMO_F5) << 27 | rs2 << 20 | rs1 << 15 | (2 + (rnd() & 1)) << 12 | rd << 7 | op) >>> 0;
    return (imm << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op) >>> 0;
  }
  function fill() {
    for (let i = CODE / 4; i < ram.length; i++) {
      switch (d.phase) {
        case "rand32": ram[i] = rnd(); break;
        case "rvc": { // two 16-bit parcels, mostly compressed (low bits != 11)
          const p = () => { const v = rnd() & 0xffff; return rnd() % 10 === 0 ? v : (v & ~3) | (rnd() % 3); };
          ram[i] = (p() | (p() << 16)) >>> 0; break;
        }
        case "opcodes": ram[i] = rnd() % 16 === 0 ? rnd() : validOpcodeWord(); break;
        case "mmio": ram[i] = rnd() % 4 === 0 ? validOpcodeWord() : mmioWord(); break;
      }
    }
    // No CSR writes to mcycle/minstret at any parcel boundary: the budget check measures minstret.
    const half = new Uint16Array(ram.buffer, ram.byteOffset, MEM / 2);
    for (let j = CODE / 2; j + 1 < half.length; j++) {
      const w = (half[j] | (half[j + 1] << 16)) >>> 0;
      const csr = w >>> 20;
      if ((w & 0x7f) === 0x73 && ((w >>> 12) & 7) !== 0 && (csr === 0xb00 || csr === 0xb02)) half[j + 1] ^= 0x4000; // -> 0xf0x
    }
    vm.writePhys(BigInt(BASE + CODE), new Uint8Array(ram.buffer, CODE, MEM - CODE));
  }
  function reg() {
    const r = rnd() % 8;
    if (d.phase === "mmio" && r < 5) return BigInt(pick(MMIO_BASES) + (rnd() & 7));
    if (d.phase === "mmio" && r === 5) return BigInt(pick([0x5555, 0x73333, 0x7777, 0x41, 0x80])); // test device commands, bytes
    if (r < 3) return BigInt(BASE + CODE + (rnd() % (MEM - CODE - 64)));      // inside RAM
    if (r === 3) return BigInt(rnd() & 0xfff);                                // small
    if (r === 4) return BigInt.asUintN(64, -BigInt(rnd() & 0xfff));           // small negative
    if (r === 5) return BigInt(pick(MMIO_BASES));
    return (BigInt(rnd()) << 32n) | BigInt(rnd());                            // anything
  }
  const enc = {
    csrw: (csr, rs1) => (csr << 20 | rs1 << 15 | 1 << 12 | 0x73) >>> 0,
    csrs: (csr, rs1) => (csr << 20 | rs1 << 15 | 2 << 12 | 0x73) >>> 0,
    fmvdx: (rd, rs1) => (0x79 << 25 | rs1 << 15 | rd << 7 | 0x53) >>> 0,
    fmvwx: (rd, rs1) => (0x78 << 25 | rs1 << 15 | rd << 7 | 0x53) >>> 0,
  };
  // Prologue at RAM+0: mtvec <-> t0 (handler; t0 = old mtvec = 0), mstatus |= t2 (FS), fcsr := t3,
  // f8..f23 := x8..x23, jr t1.
  const prologue = [(0x305 << 20 | 5 << 15 | 1 << 12 | 5 << 7 | 0x73) >>> 0, enc.csrs(0x300, 7), enc.csrw(0x003, 28)];
  for (let r = 8; r < 16; r++) prologue.push(enc.fmvdx(r, r));
  for (let r = 16; r < 24; r++) prologue.push(enc.fmvwx(r, r));
  prologue.push(0x00030067);
  // Handler: mepc += 2 (the next parcel: a 32-bit instruction's upper half is just more random code); mret.
  const handler = [0x34102ff3, 0x002f8f93, 0x341f9073, 0x30200073];

  const findings = [];
  const note = (f) => { if (findings.length < 20) findings.push(f); };
  const trapsOff = k.HART_STAT_TRAPS, mmioOff = k.HART_STAT_MMIO;
  fill();
  for (let a = d.first; a < d.first + d.attempts; a++) {
    if (d.refill && a % d.refill === 0 && a !== d.first) fill();
    fn.hart_reset(0, BASE);
    prologue.forEach((w, i) => { ram[i] = w; });
    handler.forEach((w, i) => { ram[HANDLER / 4 + i] = w; });
    vm.writePhys(BigInt(BASE), new Uint8Array(ram.buffer, 0, CODE));
    for (let r = 1; r < 32; r++) vm.setX(r, reg());
    vm.setX(5, BigInt(BASE + HANDLER));
    vm.setX(7, 0x6000n);
    vm.setX(6, BigInt(BASE + CODE + ((rnd() % (MEM - CODE)) & (d.phase === "rvc" ? ~1 : ~3))));
    const budget = 1 + (rnd() % 2000);
    const before = vm.instret;
    progress[1] = a;
    let code;
    try {
      code = fn.run(budget);
    } catch (e) {
      note({ attempt: a, what: "run() threw: " + String(e && e.stack || e).split("\n").slice(0, 3).join(" | ") });
      break; // the instance may be unusable after a trap inside Wasm
    }
    const retired = vm.instret - before;
    const reason = STOPS.get(code);
    const pc = vm.pc, priv = vm.priv;
    if (reason === undefined) note({ attempt: a, what: "unknown stop code " + code });
    else if (reason === "htif") note({ attempt: a, what: "STOP_HTIF without tohost (value 0x" + vm.htifValue().toString(16) + ")" });
    if (retired < 0n || retired > BigInt(budget)) note({ attempt: a, what: "retired " + retired + " > budget " + budget });
    if (typeof pc !== "bigint" || pc < 0n || pc >= (1n << 64n) || (pc & 1n) !== 0n) note({ attempt: a, what: "pc 0x" + pc.toString(16) + " is odd or out of range" });
    if (priv !== 0 && priv !== 1 && priv !== 3) note({ attempt: a, what: "privilege " + priv });
    if (vm.x(0) !== 0n) note({ attempt: a, what: "x0 = 0x" + vm.x(0).toString(16) });
    try { totals[3] += vm.drainConsole().length; } catch (e) { note({ attempt: a, what: "drainConsole threw " + e }); }
    totals[0] += Number(retired);
    totals[1] += Number(vm.hartU64(trapsOff));
    totals[2] += Number(vm.hartU64(mmioOff));
    if (code >= 0 && code < 8) byStop[code]++;
    progress[0] = a + 1;
  }
  parentPort.postMessage({ done: true, findings });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

interface Campaign {
  phase: "rand32" | "rvc" | "opcodes" | "mmio";
  /** Time from retired instructions (reproducible; the default) or from the host clock. */
  deterministic: boolean;
  attempts: number;
  /** Re-randomize RAM every this many attempts (0: never). */
  refill: number;
}

interface Outcome {
  findings: string[];
  attempts: number;
  retired: number;
  traps: number;
  mmio: number;
  consoleBytes: number;
  byStop: number[];
  hangs: number;
}

interface WorkerResult { hung: boolean; at: number; done: number; findings: { attempt: number; what: string }[]; error?: string }

/** One worker run of `attempts` attempts from `first`; adds its counters to `out`; resolves with a hang or the end. */
function runWorker(c: Campaign, seed: number, first: number, attempts: number, out: Outcome): Promise<WorkerResult> {
  return new Promise((resolve) => {
    const sab = new SharedArrayBuffer(8 + 4 * 8 + 8 * 4);
    const progress = new Int32Array(sab, 0, 2), totals = new Float64Array(sab, 8, 4), byStop = new Int32Array(sab, 40, 8);
    progress[0] = first;
    progress[1] = first;
    const w = new Worker(FUZZ_WORKER, {
      eval: true,
      workerData: { hostUrl: HOST_INDEX_URL, phase: c.phase, deterministic: c.deterministic, seed, first, attempts, refill: c.refill, progress: sab },
    });
    let settled = false;
    let last = -1, lastChange = performance.now();
    const finish = (r: Omit<WorkerResult, "at" | "done">) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void w.terminate();
      out.attempts += progress[0] - first;
      out.retired += totals[0];
      out.traps += totals[1];
      out.mmio += totals[2];
      out.consoleBytes += totals[3];
      byStop.forEach((n, i) => { out.byStop[i] += n; });
      resolve({ ...r, at: progress[1], done: progress[0] - first });
    };
    const timer = setInterval(() => {
      const now = performance.now();
      if (progress[0] !== last) { last = progress[0]; lastChange = now; return; }
      // Allow for start-up (compiling the core, filling RAM) before the first attempt finishes.
      const limit = last === first ? WATCHDOG_MS + 10_000 : WATCHDOG_MS;
      if (now - lastChange > limit) finish({ hung: true, findings: [] });
    }, 50);
    w.on("message", (m) => {
      if (m.error) finish({ hung: false, findings: [], error: m.error });
      else if (m.done) finish({ hung: false, findings: m.findings });
    });
    w.on("error", (e) => finish({ hung: false, findings: [], error: String(e?.stack ?? e) }));
    w.on("exit", (code) => finish({ hung: false, findings: [], error: `worker exited (${code})` }));
  });
}

/** Runs a campaign to its attempt count, restarting with a derived seed after a hang (up to MAX_HANGS). */
async function campaign(c: Campaign, seed: number): Promise<Outcome> {
  const out: Outcome = { findings: [], attempts: 0, retired: 0, traps: 0, mmio: 0, consoleBytes: 0, byStop: Array(8).fill(0), hangs: 0 };
  let first = 0;
  let s = seed;
  while (first < c.attempts) {
    const r = await runWorker(c, s, first, c.attempts - first, out);
    for (const f of r.findings) out.findings.push(`${c.phase} seed ${s} attempt ${f.attempt}: ${f.what}`);
    if (r.error) { out.findings.push(`${c.phase} seed ${s}: worker failed: ${r.error.split("\n").slice(0, 4).join(" | ")}`); break; }
    if (!r.hung) break;
    out.hangs++;
    out.findings.push(`${c.phase} seed ${s} first ${first} attempt ${r.at}: run() did not return within ${WATCHDOG_MS} ms (budget <= 2000)`);
    if (out.hangs >= MAX_HANGS) break;
    first = r.at + 1;
    s = (s + 0x9e3779b9) >>> 0; // a fresh stream for the rest (attempts replay from the seed and the first index)
  }
  console.log(`fuzz ${c.phase}${c.deterministic ? "" : " (host time)"}: ${out.attempts} attempts, ${out.retired} instructions retired, ${out.traps} traps, ` +
    `${out.mmio} MMIO accesses, ${out.consoleBytes} console bytes, run() results by STOP code ${JSON.stringify(out.byStop.slice(0, 6))}, ${out.hangs} hangs`);
  return out;
}

const CAMPAIGNS: Campaign[] = [
  { phase: "rand32", deterministic: true, attempts: 25_000, refill: 5000 },
  { phase: "rvc", deterministic: true, attempts: 25_000, refill: 5000 },
  { phase: "opcodes", deterministic: true, attempts: 25_000, refill: 5000 },
  { phase: "mmio", deterministic: true, attempts: 25_000, refill: 5000 },
  { phase: "mmio", deterministic: false, attempts: 15_000, refill: 5000 },
];

describe("fuzz: random instruction streams", () => {
  CAMPAIGNS.forEach((c, i) => {
    it(`${c.phase}${c.deterministic ? "" : " (host time)"}: run() always returns a stop reason within its budget`, async () => {
      const seed = (BASE_SEED + i * 0x1000193) >>> 0;
      const o = await campaign(c, seed);
      expect(o.findings, o.findings.join("\n")).toEqual([]);
      expect(o.attempts).toBe(c.attempts);
      expect(o.traps, "random code should trap a lot").toBeGreaterThan(c.attempts);
      if (c.phase === "mmio") expect(o.mmio, "MMIO accesses should reach devices").toBeGreaterThan(c.attempts);
    });
  });
});

// Minimal reproductions of the liveness property the campaigns check (cases the campaigns found): a trap whose
// handler traps again at once, and WFI with a timer that can never wake the hart. Each runs in a worker; run() must
// come back (budget spent, or STOP_WFI), not spin forever.
const STORM_WORKER = String.raw`
const { workerData: d, parentPort } = require("node:worker_threads");
(async () => {
  const { Vm } = await import(d.hostUrl);
  const vm = Vm.create({ memBytes: 1 << 20, deterministic: d.deterministic });
  const b = new Uint8Array(d.words.length * 4);
  const dv = new DataView(b.buffer);
  d.words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  vm.writePhys(vm.ramBase, b);
  for (const [r, v] of d.regs) vm.setX(r, BigInt(v));
  parentPort.postMessage({ started: true });
  const before = vm.instret;
  const stop = vm.run(1000);
  parentPort.postMessage({ stop, retired: String(vm.instret - before), pc: vm.pc.toString(16), traps: String(vm.hartU64(vm.core.k.HART_STAT_TRAPS)) });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

function storm(words: number[], regs: [number, number][], deterministic = true): Promise<{ hung: boolean; stop?: string; retired?: string; error?: string }> {
  return new Promise((resolve) => {
    const w = new Worker(STORM_WORKER, { eval: true, workerData: { hostUrl: HOST_INDEX_URL, words, regs, deterministic } });
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: { hung: boolean; stop?: string; retired?: string; error?: string }) => { clearTimeout(timer); void w.terminate(); resolve(r); };
    w.on("message", (m) => {
      if (m.started) timer = setTimeout(() => finish({ hung: true }), WATCHDOG_MS);
      else if (m.error) finish({ hung: false, error: m.error });
      else finish({ hung: false, stop: m.stop, retired: m.retired });
    });
    w.on("error", (e) => finish({ hung: false, error: String(e) }));
  });
}

describe("fuzz: liveness of run() (minimal cases)", () => {
  it("an illegal instruction with mtvec = 0 (reset value, not RAM): run(1000) returns", async () => {
    const r = await storm([0x00000000], []);
    expect(r.error).toBeUndefined();
    expect(r.hung, "run(1000) never returned: a trap loop that retires nothing ignores the budget").toBe(false);
    expect(["budget", "wfi", "halt", "fatal"]).toContain(r.stop);
  });

  it("a trap handler whose first instruction is illegal: run(1000) returns", async () => {
    // csrw mtvec, t0 (t0 = RAM base + 8); then an illegal instruction at +4 and at the handler (+8).
    const r = await storm([0x30529073, 0x00000000, 0x00000000], [[5, 0x8000_0008]]);
    expect(r.error).toBeUndefined();
    expect(r.hung, "run(1000) never returned: a trap loop that retires nothing ignores the budget").toBe(false);
    expect(["budget", "wfi", "halt", "fatal"]).toContain(r.stop);
  });

  // lui t0, 0x2004 (CLINT mtimecmp); li t1, 100; sd t1, 0(t0); wfi; j .   -- mie = 0: the timer can never wake it.
  const WFI_DISABLED_TIMER = [0x020042b7, 0x06400313, 0x0062b023, 0x10500073, 0x0000006f];

  it("WFI with mtimecmp armed but MTIE off, deterministic time: run(1000) returns", async () => {
    const r = await storm(WFI_DISABLED_TIMER, [], true);
    expect(r.error).toBeUndefined();
    expect(r.hung, "run(1000) never returned: the idle skip spins when the armed timer cannot wake the hart").toBe(false);
    expect(["wfi", "budget"]).toContain(r.stop);
  });

  it("WFI with mtimecmp armed but MTIE off, host time: run(1000) returns", async () => {
    const r = await storm(WFI_DISABLED_TIMER, [], false);
    expect(r.error).toBeUndefined();
    expect(r.hung).toBe(false);
    expect(["wfi", "budget"]).toContain(r.stop);
  });
});
