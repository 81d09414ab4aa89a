// Guest speed: timed runs of a workload ELF on wasmvisor (in-process API) and on qemu-system-riscv64, interleaved.
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { Vm } from "../host/vm.js";
import { runToExit } from "../host/runner.js";
import { median, min, max, round } from "./stats.js";

export const QEMU = process.env.QEMU ?? "qemu-system-riscv64";
const QEMU_ARGS = ["-M", "virt", "-bios", "none", "-nographic", "-kernel"];
const GUEST_TIMEOUT_MS = 120_000;

export interface WvRun { wallMs: number; instret: number; mips: number }
export interface QemuRun { wallMs: number; netMs: number; mips: number | null }

export interface EngineStats { runs: number; bestMips: number | null; medianMips: number | null; worstMips: number | null }

export interface WorkloadResult {
  name: string;
  elf: string;
  /** Instructions the whole guest retires (wasmvisor's instret; also the count used for QEMU's MIPS). */
  instret: number | null;
  /** The count the guest itself prints (`minstret:`, the measured kernels only) when run on wasmvisor. */
  guestMinstret: number | null;
  wasmvisor: EngineStats & { samples: WvRun[]; error?: string };
  qemu: (EngineStats & { samples: QemuRun[]; error?: string }) | null;
  /** wasmvisor MIPS / QEMU MIPS. */
  ratioBest: number | null;
  ratioMedian: number | null;
}

export interface QemuInfo {
  available: boolean;
  binary: string;
  version?: string;
  reason?: string;
  /** Wall time of a trivial guest (hello.elf): QEMU's startup + teardown, subtracted from every workload run. */
  baselineMs?: number;
  baselineSamplesMs?: number[];
}

/** Runs one ELF to exit in-process; throws unless it powers off with code 0 and prints PASS. */
export async function runWasmvisor(buf: Uint8Array, name: string): Promise<WvRun & { output: string }> {
  const vm = Vm.create();
  vm.loadElf(buf, name);
  const dec = new TextDecoder();
  let output = "";
  const r = await runToExit(vm, { timeoutMs: GUEST_TIMEOUT_MS, onConsole: (b) => { output += dec.decode(b, { stream: true }); } });
  if (r.reason !== "exit") throw new Error(`${name}: stopped by ${r.reason} after ${r.instret} instructions`);
  if (r.exit!.kind !== "poweroff" || r.exit!.code !== 0) throw new Error(`${name}: guest exited with ${r.exit!.kind} ${r.exit!.code}`);
  if (!/\bPASS\b/.test(output)) throw new Error(`${name}: guest did not print PASS`);
  const instret = Number(r.instret);
  return { wallMs: r.wallMs, instret, mips: instret / (r.wallMs * 1000), output };
}

/** Runs one ELF under QEMU, timing the whole process; throws on a non-zero exit, timeout or missing PASS. */
export function runQemuProcess(elf: string, expectPass: boolean): { wallMs: number; output: string } {
  const t0 = performance.now();
  const r = spawnSync(QEMU, [...QEMU_ARGS, elf], { stdio: ["ignore", "pipe", "pipe"], timeout: GUEST_TIMEOUT_MS, encoding: "utf8" });
  const wallMs = performance.now() - t0;
  if (r.error) throw r.error;
  if (r.signal) throw new Error(`${QEMU} ${elf}: killed by ${r.signal}${r.signal === "SIGTERM" ? " (timeout)" : ""}`);
  if (r.status !== 0) throw new Error(`${QEMU} ${elf}: exit status ${r.status}: ${r.stderr.trim().split("\n")[0] ?? ""}`);
  if (expectPass && !/\bPASS\b/.test(r.stdout)) throw new Error(`${QEMU} ${elf}: guest did not print PASS`);
  return { wallMs, output: r.stdout };
}

/** Checks for QEMU and measures its startup on a trivial guest (minimum of several runs: noise only adds). */
export function probeQemu(helloElf: string, quick: boolean): QemuInfo {
  const v = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) {
    const reason = (v.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
      ? `${QEMU} not found (install qemu-system-misc, or set QEMU=path)` : `${QEMU} --version failed: ${v.error?.message ?? v.stderr.trim()}`;
    return { available: false, binary: QEMU, reason };
  }
  const version = v.stdout.split("\n")[0].trim();
  try {
    runQemuProcess(helloElf, false); // warm the page cache
    const samples: number[] = [];
    for (let i = 0; i < (quick ? 1 : 5); i++) samples.push(runQemuProcess(helloElf, false).wallMs);
    return { available: true, binary: QEMU, version, baselineMs: round(min(samples), 2), baselineSamplesMs: samples.map((s) => round(s, 2)) };
  } catch (e) {
    return { available: false, binary: QEMU, version, reason: `running hello.elf failed: ${(e as Error).message}` };
  }
}

function engineStats(mips: (number | null)[]): EngineStats {
  const ok = mips.filter((m): m is number => m !== null && Number.isFinite(m));
  return {
    runs: mips.length,
    bestMips: ok.length ? round(max(ok), 2) : null,
    medianMips: ok.length ? round(median(ok), 2) : null,
    worstMips: ok.length ? round(min(ok), 2) : null,
  };
}

export interface SpeedOptions {
  /** Target runs per engine. */
  runs: number;
  /** After 2 runs, stop adding runs for one engine once its runs took this long in total (keeps the bench short). */
  budgetMs: number;
  log: (s: string) => void;
}

/** Interleaves wasmvisor and QEMU runs of one workload so both see the same background noise. */
export async function benchWorkload(name: string, elf: string, qemu: QemuInfo, o: SpeedOptions): Promise<WorkloadResult> {
  const buf = readFileSync(elf);
  const wv: WvRun[] = [];
  const qm: { wallMs: number; netMs: number }[] = [];
  let wvErr: string | undefined, qmErr: string | undefined;
  let instret: number | null = null, guestMinstret: number | null = null;
  let wvSpent = 0, qmSpent = 0;
  for (let i = 0; i < o.runs; i++) {
    const more = (spent: number) => i < 2 || spent < o.budgetMs;
    if (!wvErr && more(wvSpent)) {
      try {
        const r = await runWasmvisor(buf, elf);
        wv.push({ wallMs: round(r.wallMs, 1), instret: r.instret, mips: round(r.mips, 2) });
        wvSpent += r.wallMs;
        instret = r.instret;
        const m = /minstret:\s*(\d+)/.exec(r.output);
        if (m) guestMinstret = Number(m[1]);
        o.log(`  ${name} #${i + 1} wasmvisor: ${r.instret} insns in ${r.wallMs.toFixed(0)} ms = ${r.mips.toFixed(1)} MIPS`);
      } catch (e) { wvErr = (e as Error).message; o.log(`  ${name} wasmvisor: ERROR ${wvErr}`); }
    }
    if (qemu.available && !qmErr && more(qmSpent)) {
      try {
        const r = runQemuProcess(elf, true);
        const netMs = r.wallMs - qemu.baselineMs!;
        qm.push({ wallMs: r.wallMs, netMs });
        qmSpent += r.wallMs;
        o.log(`  ${name} #${i + 1} qemu:      ${r.wallMs.toFixed(0)} ms wall, ${netMs.toFixed(0)} ms after startup`);
      } catch (e) { qmErr = (e as Error).message; o.log(`  ${name} qemu: ERROR ${qmErr}`); }
    }
  }
  // QEMU's own minstret is not an instruction count without -icount (it reads host ticks), so MIPS uses wasmvisor's count.
  const qemuRuns: QemuRun[] = qm.map((r) => ({
    wallMs: round(r.wallMs, 1),
    netMs: round(r.netMs, 1),
    mips: instret !== null && r.netMs > 0 ? round(instret / (r.netMs * 1000), 2) : null,
  }));
  const wvStats = engineStats(wv.map((r) => r.mips));
  const qmStats = qemu.available ? engineStats(qemuRuns.map((r) => r.mips)) : null;
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 4) : null);
  return {
    name, elf, instret, guestMinstret,
    wasmvisor: { ...wvStats, samples: wv, ...(wvErr ? { error: wvErr } : {}) },
    qemu: qmStats ? { ...qmStats, samples: qemuRuns, ...(qmErr ? { error: qmErr } : {}) } : null,
    ratioBest: ratio(wvStats.bestMips, qmStats?.bestMips),
    ratioMedian: ratio(wvStats.medianMips, qmStats?.medianMips),
  };
}
