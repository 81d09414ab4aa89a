// Snapshots and live migration (issue 6):
//   snapshot:  a Debian Linux guest (direct boot, busybox initramfs) at 128 MiB and 1 GiB, at its shell
//              ("wasmvisor-init: up"): full snapshot size and save time; restore to the first retired instruction
//              (restoreVm with maxInsns 1, start()); the CLI's `restore --max-insns 1` (wall, process start
//              included); incremental snapshots of exactly 1,000 host-dirtied pages (written with writePhys while
//              the VM is paused) against writing the same 4 MiB alone (fsync; stored and DEFLATE level 1), and at
//              compression level 0 (stored) against the same 4 MiB stored alone.
//   migration: `wasmvisor run --control SOCK` → `wasmvisor incoming` on loopback, triggered by `wasmvisor migrate`,
//              512 MiB guests: the Linux guest idle at its shell, and guests/bin/dirtier.elf rewriting 2,000 pages/s.
//   dirtylog:  wl-int (and wl-int-sv39) in-process, normally and with the dirty log taken (takeDirtyPages, which
//              flushes the TLBs, as a pre-copy round does) every >= 10 ms.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance, PerformanceObserver } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { createVm, restoreVm, type VirtualMachine } from "../host/api.js";
import { syncDir } from "../host/snapshot/atomic.js";
import { SharedPieces, startDeflateThreads, stopDeflateThreads } from "./deflate-threads.js";
import { cachedImages } from "../host/files.js";
import { Vm } from "../host/vm.js";
import { runToExit } from "../host/runner.js";
import { median, medianInterval, round, summary, type Summary } from "./stats.js";
export type { Summary } from "./stats.js";

const APPEND = "console=ttyS0 quiet cryptomgr.notests=1";
const UP = "wasmvisor-init: up";
const BOOT_TIMEOUT_MS = 120_000;
export const INC_PAGES = 1000;
/**
 * Incremental snapshots per guest size, each paired with its baselines: odd, so the median is one of them. 61
 * rather than the 15 and then 31 of earlier rows: on this shared machine one pair's ratio varies by ±10 % or more
 * (the middle half of the pairs spans 1.00–1.15 on a busy host), and the median of 31 still moved by ~0.05 from
 * run to run (its 95 % interval is reported beside it). ~0.1 s per run.
 */
export const INC_RUNS = 61;
export const RESTORE_TARGET_MS = 50;
export const INC_TARGET_RATIO = 1.1;
export const DOWNTIME_TARGET_MS = 60;
export const DIRTYLOG_TARGET = 0.05;
export const DIRTIER_RATE = 2000;

const lastLines = (s: string, n = 3) => s.replace(/\r/g, "").trim().split("\n").slice(-n).join(" | ");
const r1 = (x: number) => round(x, 1), r2 = (x: number) => round(x, 2);


/** Time V8 spent collecting garbage inside named intervals (a PerformanceObserver of "gc" entries). */
class GcTime {
  private readonly entries: { start: number; ms: number }[] = [];
  private readonly spans: { name: string; t0: number; t1: number }[] = [];
  private readonly obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) this.entries.push({ start: e.startTime, ms: e.duration }); });
  constructor() { this.obs.observe({ entryTypes: ["gc"] }); }
  timed(name: string, t0: number, t1: number): void { this.spans.push({ name, t0, t1 }); }
  /** Per name, the collections that began inside its intervals (after the observer has been told of the last). */
  async totals(): Promise<Record<string, number>> {
    await new Promise((r) => setTimeout(r, 50));
    const out: Record<string, number> = {};
    for (const s of this.spans) {
      out[s.name] = (out[s.name] ?? 0) + this.entries.filter((e) => e.start >= s.t0 && e.start < s.t1).reduce((a, e) => a + e.ms, 0);
    }
    return out;
  }
  stop(): void { this.obs.disconnect(); }
}

function images(): { kernel: string; initrd: string } | string {
  const img = cachedImages();
  if (!img) return "no images; run guests/fetch-images.sh";
  return { kernel: img.kernel, initrd: img.initramfs };
}

// ---------------------------------------------------------------- snapshot

export interface SnapshotSize {
  memMiB: number;
  bootMs: number;
  touchedMiB: number;
  fullPages: number;
  fileMiB: number;
  /** vm.snapshot() on the running VM: call → resolved (pausing at an instruction boundary included). */
  saveMs: Summary;
  /** The same, from the writer's first progress event (the VM is paused, its core state saved) → resolved. */
  saveWriteMs: Summary;
  /** How long the guest was held (pause request → running again): a full snapshot is written while held. */
  savePausedMs: Summary;
  /**
   * restoreVm(file) alone; restoreVm + start() until running (the `running` event: the first run slice has
   * returned, the hart executes or waits in WFI as it was saved); and until the first instruction retired
   * (maxInsns 1), which for a guest saved idle in WFI also includes its wait for its next timer interrupt.
   */
  restoreMs: Summary;
  restoreToRunningMs: Summary;
  restoreToInsnMs: Summary;
  /** `node dist/host/cli.js restore --max-insns 1 FILE`: process wall time, and its own "restored in" figure. */
  cliWallMs: Summary;
  cliRestoredMs: Summary;
  /** Incremental snapshots of exactly INC_PAGES host-written pages (VM paused). */
  incremental: {
    pages: number[]; fileKiB: number;
    snapshotMs: Summary; writeMs: Summary;
    /** The guest held: the dirty pages are copied out, then compressed and written while it runs. */
    pausedMs: Summary;
    /**
     * Incremental snapshots of the running guest (INC_PAGES pages of a file the guest wrote, plus what its kernel
     * dirtied on the way): pages, guest held, and call → durable (the writer's main-thread steps share the thread
     * with the vCPU's run slices).
     */
    running: { pages: number[]; pausedMs: Summary; snapshotMs: Summary };
    /** The same bytes alone: 4 MiB written + fsync; DEFLATE level 1 as the writer compresses (1 MiB pieces, one thread per core) + write + fsync. */
    storedMs: Summary; deflateMs: Summary;
    /**
     * Garbage collection inside the timed parts, summed over the runs (ms): the snapshots' and the DEFLATE
     * baseline's. V8 collects on the main thread, in whatever runs there when a collection is due; a snapshot runs
     * JavaScript there while the baseline mostly waits for its threads, so more lands in the snapshots.
     */
    gcMs: { snapshot: number; reference: number };
    /** snapshot / deflate baseline (best runs, medians). */
    ratioBest: number | null; ratioMedian: number | null;
    /** Median over runs of snapshot / baseline of the same run (taken one after the other, so noise is shared). */
    ratioPaired: number | null;
    /** The 95 % interval of ratioPaired (bootstrap: stats.ts medianInterval). */
    ratioPairedInterval: [number, number] | null;
    /**
     * Incremental snapshots at compression level 0 (`{level: 0}`: pages stored as they are) of another INC_PAGES
     * host-written pages each run, against the 4 MiB stored alone of the same run (storedMs): writing the dirty pages
     * alone, literally.
     */
    stored: { fileKiB: number; snapshotMs: Summary; ratioBest: number | null; ratioMedian: number | null; ratioPaired: number | null; ratioPairedInterval: [number, number] | null };
  } | null;
  error?: string;
}
export interface SnapshotResult { skipped?: string; kernel?: string; initrd?: string; append?: string; dir?: string; sizes?: SnapshotSize[] }

/** Boots the Linux guest with createVm; resolves once its shell is up (the VM keeps running). */
async function bootLinux(img: { kernel: string; initrd: string }, memBytes: number): Promise<{ vm: VirtualMachine; ms: number; out: () => string }> {
  const vm = createVm({ kernel: img.kernel, initrd: img.initrd, memory: memBytes, append: APPEND, timeoutMs: 600_000 });
  let out = "";
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { vm.stop(); reject(new Error(`no '${UP}' after ${BOOT_TIMEOUT_MS / 1000} s: ${lastLines(out)}`)); }, BOOT_TIMEOUT_MS);
    vm.on("output", (b) => {
      out += Buffer.from(b).toString("latin1");
      if (out.includes(UP)) { clearTimeout(timer); resolve(); }
    });
    vm.start().then((r) => { clearTimeout(timer); reject(new Error(`guest ended before its shell was up (${r.reason}): ${lastLines(out)}`)); },
      (e: Error) => { clearTimeout(timer); reject(e); });
  });
  return { vm, ms: performance.now() - t0, out: () => out };
}

/** Times vm.snapshot(): total, and from the first progress event (VM paused, core state saved) on. */
async function timedSnapshot(vm: VirtualMachine, path: string, incremental = false, level?: number) {
  let first: number | undefined;
  const onProg = () => { first ??= performance.now(); };
  vm.on("progress", onProg);
  try {
    const t0 = performance.now();
    const r = await vm.snapshot(path, { incremental, level });
    const t1 = performance.now();
    return { ...r, ms: t1 - t0, writeMs: t1 - (first ?? t0) };
  } finally { vm.off("progress", onProg); }
}

/** Page contents for the dirtied pages: 32-bit pseudo-random values in 64-bit words (compressible, not trivially). */
function pageData(n: number, seed: number, into = new Uint8Array(n * 4096)): Uint8Array {
  const b = into.subarray(0, n * 4096), dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < b.length; i += 8) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; dv.setUint32(i, x, true); }
  return b;
}

/**
 * Has the Linux guest at its shell write `pages` pages of a file in its tmpfs (busybox's own bytes, three times
 * over, cut to size), and resolves once it has (its shell printed the marker; the marker is computed by the shell,
 * so the echo of the typed line does not match it).
 */
async function guestWrites(vm: VirtualMachine, out: () => string, pages: number, i: number): Promise<void> {
  const mark = `wv-dirtied-${1000 + i}`, from = out().length;
  vm.input.write(`cat /bin/busybox /bin/busybox /bin/busybox | head -c ${pages * 4096} > /wv-dirty; echo wv-dirtied-$((1000+${i}))\n`);
  const t0 = performance.now();
  while (!out().slice(from).includes(mark)) {
    if (performance.now() - t0 > 60_000) throw new Error(`the guest did not write its pages: ${lastLines(out())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 100)); // (back at its prompt, idle)
}

/** Writes `data` (INC_PAGES pages) from the host into pages spread evenly over RAM, shifted by `shift` pages. */
function writeSpread(vm: VirtualMachine, memMiB: number, shift: number, data: Uint8Array): void {
  const step = Math.floor((memMiB << 20) / 4096 / INC_PAGES);
  for (let p = 0; p < INC_PAGES; p++) vm.vm.writePhys(vm.vm.ramBase + BigInt((p * step + shift) * 4096), data.subarray(p * 4096, (p + 1) * 4096));
}

/** How the baseline writes the 4 MiB: as they are, or compressed as the snapshot writer does. */
type AloneHow = "stored" | "deflate";

/**
 * The baseline: the same bytes written to a new file and made durable, stored or DEFLATE level 1 in 1 MiB pieces.
 * "deflate" compresses as the snapshot writer does (its engine, deflater.ts, on one thread per core: the same
 * compression work, with the bytes already in shared memory as the dirty pages are in guest memory). (A third
 * baseline with Node's one-shot deflateRaw, the reference of rows before the writer had its own engine, was dropped
 * on 2026-11-26: its fresh 4 MiB per call made V8 collect garbage often, and the collections landed in whatever
 * ran next — mostly the snapshots, whose main thread runs JavaScript while the baselines' waits.) Durable means the
 * file and its directory entry are synced (a new file whose directory was not synced may be gone after a crash);
 * the directory is synced with the snapshot writer's own call.
 */
async function writeAlone(path: string, data: Uint8Array, how: AloneHow, shared: SharedPieces): Promise<number> {
  if (how === "deflate") shared.load(data);
  const t0 = performance.now();
  const fh = await open(path, "w");
  try {
    if (how === "deflate") {
      for (const c of await shared.compress(1 << 20, 1)) await fh.write(c);
    } else {
      await fh.write(data);
    }
    await fh.sync();
  } finally { await fh.close(); }
  syncDir(dirname(path));
  const ms = performance.now() - t0;
  rmSync(path, { force: true });
  return ms;
}

function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "", err = "";
    c.stdout.setEncoding("utf8").on("data", (s: string) => { out += s; });
    c.stderr.setEncoding("utf8").on("data", (s: string) => { err += s; });
    c.on("error", reject);
    c.on("close", (code) => resolve({ code, out, err, wallMs: performance.now() - t0 }));
  });
}

async function snapshotOneSize(cli: string, img: { kernel: string; initrd: string }, memMiB: number, runs: number, dir: string,
  log: (s: string) => void): Promise<SnapshotSize> {
  const { vm, ms: bootMs, out } = await bootLinux(img, memMiB << 20);
  const touchedMiB = Number(vm.vm.stats().guestFrames) * 4096 / 2 ** 20;
  log(`  snapshot ${memMiB} MiB: shell up after ${(bootMs / 1000).toFixed(1)} s, ${touchedMiB.toFixed(1)} MiB touched`);
  const full = join(dir, `full-${memMiB}.snap`);
  const save: number[] = [], saveW: number[] = [], savePaused: number[] = [];
  let fullPages = 0, fileBytes = 0;
  try {
    for (let i = 0; i < Math.max(runs, 2); i++) { // the first save of a process also pays for warm-up: always 2+
      const r = await timedSnapshot(vm, full);
      save.push(r.ms); saveW.push(r.writeMs); savePaused.push(r.pausedMs); fullPages = r.pages; fileBytes = r.bytes;
      log(`    full snapshot #${i + 1}: ${r.pages} pages, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.ms.toFixed(1)} ms (${r.writeMs.toFixed(1)} ms writing)`);
    }
    // Incremental snapshots of the running guest: the guest itself writes INC_PAGES pages — a 4,000 KiB file of
    // busybox's bytes (code-like data, compressible as the paused rows' pages are) in its tmpfs — and is back at
    // its shell, idle, when the snapshot is taken (the kernel adds what it dirtied on the way). Not host writes
    // into the running guest's RAM, as these rows had before: those landed in pages the kernel was using, and the
    // guest spun at 100 % CPU for the rest of the run, competing with the snapshot for the cores.
    const runPaused: number[] = [], runMs: number[] = [], runPages: number[] = [];
    for (let i = 0; i < (runs === 1 ? 1 : 5); i++) {
      await guestWrites(vm, out, INC_PAGES, i);
      const r = await timedSnapshot(vm, join(dir, `run-inc-${memMiB}-${i}.snap`), true);
      runPaused.push(r.pausedMs); runMs.push(r.ms); runPages.push(r.pages);
      log(`    incremental of the running guest #${i + 1}: ${r.pages} pages in ${r.ms.toFixed(1)} ms, guest paused ${r.pausedMs.toFixed(1)} ms`);
    }
    // Incremental: pause the guest for good (it never runs again), take a fresh full snapshot as the parent, then
    // per run dirty exactly INC_PAGES pages from the host and save them.
    vm.pause();
    await vm.controller.hold(async () => {}); // returns once the run loop has stopped at a boundary
    await vm.snapshot(join(dir, `inc-${memMiB}-base.snap`));
    const incMs: number[] = [], incW: number[] = [], incPaused: number[] = [], stored: number[] = [], defl: number[] = [], pages: number[] = [];
    const lvl0Ms: number[] = [];
    let lvl0Bytes = 0;
    const shared = new SharedPieces(INC_PAGES * 4096);
    startDeflateThreads();
    let incBytes = 0;
    // The pages' bytes are made in two buffers made once: 8 MiB of fresh memory per run made V8 collect garbage
    // every few runs, in whatever ran next.
    const data = new Uint8Array(INC_PAGES * 4096), data0 = new Uint8Array(INC_PAGES * 4096);
    const gc = new GcTime();
    for (let i = 0; i < (runs === 1 ? 1 : INC_RUNS); i++) {
      pageData(INC_PAGES, i + 1, data);
      writeSpread(vm, memMiB, i, data);
      // The order alternates, so that neither side always runs just after the other's garbage is collected.
      const alone = async () => {
        const ms: number[] = [];
        for (const how of ["stored", "deflate"] as const) {
          const t = performance.now(), m = await writeAlone(join(dir, "alone.bin"), data, how, shared);
          if (how === "deflate") gc.timed("reference", t, t + m);
          ms.push(m);
        }
        return ms;
      };
      const before = i % 2 === 1 ? await alone() : null;
      // (Each file is removed once measured, as the baseline's is: its child names it but never reads it.)
      const incFile = join(dir, `inc-${memMiB}-${i}.snap`);
      const t = performance.now(), r = await timedSnapshot(vm, incFile, true);
      gc.timed("snapshot", t, t + r.ms);
      rmSync(incFile);
      incMs.push(r.ms); incW.push(r.writeMs); incPaused.push(r.pausedMs); pages.push(r.pages); incBytes = r.bytes;
      // The same again at level 0 (stored), on another INC_PAGES pages (shifted past every shift the level-1
      // snapshots use, each page still distinct within its snapshot).
      writeSpread(vm, memMiB, INC_RUNS + i, pageData(INC_PAGES, 1000 + i, data0));
      const inc0File = join(dir, `inc0-${memMiB}-${i}.snap`);
      const r0 = await timedSnapshot(vm, inc0File, true, 0);
      rmSync(inc0File);
      if (r0.pages !== INC_PAGES) throw new Error(`a level-0 incremental snapshot held ${r0.pages} pages, not ${INC_PAGES}`);
      lvl0Ms.push(r0.ms); lvl0Bytes = r0.bytes;
      const [s, d] = before ?? await alone();
      stored.push(s); defl.push(d);
      log(`    incremental #${i + 1}: ${r.pages} pages, ${(r.bytes / 1024).toFixed(0)} KiB in ${r.ms.toFixed(1)} ms (${r.writeMs.toFixed(1)} ms writing, guest paused ${r.pausedMs.toFixed(1)} ms); ` +
        `level 0: ${(r0.bytes / 1024).toFixed(0)} KiB in ${r0.ms.toFixed(1)} ms; ` +
        `the 4 MiB alone: ${s.toFixed(1)} ms stored, ${d.toFixed(1)} ms deflated`);
    }
    const gcMs = await gc.totals();
    gc.stop();
    await vm.stop();
    await stopDeflateThreads();
    const restore: number[] = [], toRunning: number[] = [], toInsn: number[] = [];
    for (let i = 0; i < (runs === 1 ? 1 : 5); i++) {
      const t0 = performance.now();
      const m = await restoreVm(full, { maxInsns: 1n });
      const t1 = performance.now();
      let tr = NaN;
      m.once("running", () => { tr = performance.now(); });
      const res = await m.start();
      const t2 = performance.now();
      if (res.reason !== "max-insns" || res.instret !== 1n) throw new Error(`restored VM did not stop after 1 instruction (${res.reason}, ${res.instret})`);
      restore.push(t1 - t0); toRunning.push(tr - t0); toInsn.push(t2 - t0);
      log(`    restore #${i + 1}: restoreVm ${(t1 - t0).toFixed(1)} ms, running ${(tr - t0).toFixed(1)} ms, first instruction ${(t2 - t0).toFixed(1)} ms`);
    }
    const cliWall: number[] = [], cliRest: number[] = [];
    for (let i = 0; i < Math.max(runs, 2); i++) {
      const c = await runCli(cli, ["restore", "--max-insns", "1", full], { WASMVISOR_VERBOSE: "1" });
      if (c.code !== 3) throw new Error(`cli restore: exit status ${c.code}: ${lastLines(c.err)}`);
      const m = /restored in ([\d.]+) ms/.exec(c.err);
      cliWall.push(c.wallMs); if (m) cliRest.push(Number(m[1]));
      log(`    cli restore #${i + 1}: ${c.wallMs.toFixed(0)} ms wall${m ? ` (restored in ${m[1]} ms)` : ""}`);
    }
    const sm = summary(incMs), dm = summary(defl);
    return {
      memMiB, bootMs: r1(bootMs), touchedMiB: r1(touchedMiB), fullPages, fileMiB: r1(fileBytes / 2 ** 20),
      saveMs: summary(save), saveWriteMs: summary(saveW), savePausedMs: summary(savePaused), restoreMs: summary(restore), restoreToRunningMs: summary(toRunning), restoreToInsnMs: summary(toInsn),
      cliWallMs: summary(cliWall, true, 0), cliRestoredMs: summary(cliRest),
      incremental: { pages, fileKiB: r1(incBytes / 1024), snapshotMs: sm, writeMs: summary(incW), pausedMs: summary(incPaused), storedMs: summary(stored), deflateMs: dm,
        gcMs: { snapshot: r1(gcMs.snapshot ?? 0), reference: r1(gcMs.reference ?? 0) },
        running: { pages: runPages, pausedMs: summary(runPaused), snapshotMs: summary(runMs) },
        ratioBest: sm.best !== null && dm.best ? r2(sm.best / dm.best) : null,
        ratioMedian: sm.median !== null && dm.median ? r2(sm.median / dm.median) : null,
        ratioPaired: incMs.length ? r2(median(incMs.map((x, k) => x / defl[k]))) : null,
        ratioPairedInterval: incMs.length ? medianInterval(incMs.map((x, k) => x / defl[k])).map(r2) as [number, number] : null,
        stored: ratios(lvl0Ms, stored, lvl0Bytes) },
    };
  } finally {
    if (vm.state !== "stopped") await vm.stop();
  }
}

/** A snapshot series against its baseline of the same runs: best / best, median / median, paired median and its interval. */
function ratios(ms: number[], base: number[], bytes: number) {
  const a = summary(ms), b = summary(base);
  return {
    fileKiB: r1(bytes / 1024), snapshotMs: a,
    ratioBest: a.best !== null && b.best ? r2(a.best / b.best) : null,
    ratioMedian: a.median !== null && b.median ? r2(a.median / b.median) : null,
    ratioPaired: ms.length ? r2(median(ms.map((x, k) => x / base[k]))) : null,
    ratioPairedInterval: ms.length ? medianInterval(ms.map((x, k) => x / base[k])).map(r2) as [number, number] : null,
  };
}

export async function benchSnapshot(cli: string, runs: number, log: (s: string) => void): Promise<SnapshotResult> {
  const img = images();
  if (typeof img === "string") return { skipped: img };
  const dir = mkdtempSync(join(tmpdir(), "wv-bench-snap-"));
  const sizes: SnapshotSize[] = [];
  try {
    for (const mem of [128, 1024]) {
      try { sizes.push(await snapshotOneSize(cli, img, mem, runs, dir, log)); }
      catch (e) {
        log(`  snapshot ${mem} MiB: ERROR ${(e as Error).message}`);
        const none = summary([]);
        sizes.push({ memMiB: mem, bootMs: 0, touchedMiB: 0, fullPages: 0, fileMiB: 0, saveMs: none, saveWriteMs: none, savePausedMs: none, restoreMs: none,
          restoreToRunningMs: none, restoreToInsnMs: none, cliWallMs: none, cliRestoredMs: none, incremental: null, error: (e as Error).message });
      }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  return { kernel: img.kernel, initrd: img.initrd, append: APPEND, dir: tmpdir(), sizes };
}

// ---------------------------------------------------------------- migration

export interface MigrationSample {
  rounds: number; pages: number; bytes: number; totalMs: number; downtimeMs: number;
  /** The auto-converge throttle the migration reached (0..1). */
  throttle: number;
  /** `wasmvisor migrate` process wall time. */
  cliWallMs: number;
  /** Guest memory in use on the target (its --stats) after it ran the guest for a while. */
  targetTouchedMiB: number | null;
}
/**
 * idle: Linux at its shell; dirtier: dirtier.elf at DIRTIER_RATE; fast: memcheck-long.elf, rewriting 16 MiB as
 * fast as it runs (faster than loopback carries it), with auto-converge (the default) and, for comparison, without.
 */
type ScenarioName = "idle" | "dirtier" | "fast" | "fast-no-throttle";
export interface MigrationScenario {
  /** Only a comparison (a feature switched off): no target verdict. */
  comparison?: boolean;
  name: string; what: string; samples: MigrationSample[];
  totalMs: Summary; downtimeMs: Summary; rounds: Summary; sentMiB: Summary; touchedMiB: number | null;
  error?: string;
}
export interface MigrationResult { skipped?: string; memMiB?: number; scenarios?: MigrationScenario[] }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

/** A CLI child with stdin kept open (a live console: the run loop then never gives up on a WFI) and its output. */
class Child {
  readonly c: ChildProcess;
  out = ""; err = "";
  readonly done: Promise<number | null>;
  constructor(cli: string, args: string[]) {
    this.c = spawn(process.execPath, [cli, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.c.stdout!.setEncoding("utf8").on("data", (s: string) => { this.out += s; });
    this.c.stderr!.setEncoding("utf8").on("data", (s: string) => { this.err += s; });
    this.done = new Promise((resolve) => { this.c.on("close", (code) => resolve(code)); this.c.on("error", () => resolve(null)); });
  }
  /** Resolves when `re` matches stdout (or stderr); rejects if the process ends first or after timeoutMs. */
  async waitFor(re: RegExp, timeoutMs: number, where: "out" | "err" = "out"): Promise<RegExpExecArray> {
    const t0 = performance.now();
    for (;;) {
      const m = re.exec(where === "out" ? this.out : this.err);
      if (m) return m;
      if (this.c.exitCode !== null || this.c.signalCode !== null) throw new Error(`process ended before ${re}: ${lastLines(this.err || this.out)}`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`no ${re} after ${timeoutMs / 1000} s: ${lastLines(this.err || this.out)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  kill(): void { if (this.c.exitCode === null && this.c.signalCode === null) this.c.kill("SIGKILL"); }
}

async function migrateOnce(cli: string, dir: string, psk: string, scenario: ScenarioName, i: number,
  img: { kernel: string; initrd: string } | null, elf: string, fastElf: string): Promise<MigrationSample> {
  const port = await freePort(), sock = join(dir, `ctl-${scenario}-${i}.sock`);
  const target = new Child(cli, ["incoming", "--listen", `127.0.0.1:${port}`, "--psk", psk, "--timeout", "3", "--stats"]);
  const source = new Child(cli, scenario === "idle"
    ? ["run", "--mem", "512M", "--control", sock, "--kernel", img!.kernel, "--initrd", img!.initrd, "--append", APPEND]
    : ["run", "--mem", "512M", "--control", sock, scenario === "dirtier" ? elf : fastElf]);
  try {
    await target.waitFor(/waiting for a migration/, 30_000, "err");
    if (scenario === "idle") {
      await source.waitFor(new RegExp(UP), BOOT_TIMEOUT_MS);
      await new Promise((r) => setTimeout(r, 500)); // the shell prompt, then idle
    } else if (scenario === "dirtier") {
      await source.waitFor(/dirtier: filled/, 30_000);
      await new Promise((r) => setTimeout(r, 1500)); // steady state: rewriting at its rate
    } else {
      await source.waitFor(/gen 3 ok/, 30_000); // rewriting its area, generation after generation
    }
    const m = await runCli(cli, ["migrate", ...(scenario === "fast-no-throttle" ? ["--no-throttle"] : []), "--psk", psk, sock, `127.0.0.1:${port}`]);
    const x = /migrated: (\d+) rounds, (\d+) pages, (\d+) bytes in (\d+) ms, downtime ([\d.]+) ms/.exec(m.out);
    if (m.code !== 0 || !x) throw new Error(`migrate: exit status ${m.code}: ${lastLines(m.err || m.out)}`);
    const sourceCode = await source.done;
    if (sourceCode !== 0) throw new Error(`source exited with ${sourceCode} after the migration: ${lastLines(source.err)}`);
    if (scenario === "idle") {
      // The guest answers on the target.
      target.c.stdin!.write("echo wv-$((40+2))-migrated\n");
      await target.waitFor(/wv-42-migrated/, 10_000);
    }
    const code = await target.done; // --timeout 3: ends 3 s after it resumed the guest, printing its stats
    if (code !== 3) throw new Error(`target exited with ${code} (expected 3, its --timeout): ${lastLines(target.err || target.out)}`);
    if (/FAIL/.test(target.out)) throw new Error(`guest failed on the target: ${lastLines(target.out)}`);
    const mem = /guest memory (\d+) KiB in use/.exec(target.err);
    const th = /guest throttled up to (\d+) %/.exec(m.out);
    return { rounds: Number(x[1]), pages: Number(x[2]), bytes: Number(x[3]), totalMs: Number(x[4]), downtimeMs: Number(x[5]), throttle: th ? Number(th[1]) / 100 : 0,
      cliWallMs: r1(m.wallMs), targetTouchedMiB: mem ? r1(Number(mem[1]) / 1024) : null };
  } finally {
    source.kill(); target.kill();
    await Promise.all([source.done, target.done]);
  }
}

export async function benchMigration(cli: string, root: string, runs: number, log: (s: string) => void): Promise<MigrationResult> {
  const img = images();
  const elf = join(root, "guests/bin/dirtier.elf"), fastElf = join(root, "guests/bin/memcheck-long.elf");
  const dir = mkdtempSync(join(tmpdir(), "wv-bench-mig-"));
  const psk = join(dir, "psk");
  writeFileSync(psk, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  const scenarios: MigrationScenario[] = [];
  try {
    const todo: { name: ScenarioName; what: string; skip?: string; comparison?: boolean }[] = [
      { name: "idle", what: `Debian Linux at its shell (${APPEND})`, skip: typeof img === "string" ? img : undefined },
      { name: "dirtier", what: `guests/bin/dirtier.elf: 64 MiB area, ${DIRTIER_RATE} pages/s (${(DIRTIER_RATE * 4096 / 2 ** 20).toFixed(1)} MiB/s)` },
      { name: "fast", what: "guests/bin/memcheck-long.elf: rewrites 16 MiB as fast as it runs, faster than loopback carries it; auto-converge throttles it (the default)" },
      { name: "fast-no-throttle", what: "the same with `migrate --no-throttle`: stopped once its dirty set stalls (for comparison: no target)", comparison: true },
    ];
    for (const t of todo) {
      if (t.skip) { log(`  migration ${t.name}: SKIPPED (${t.skip})`); continue; }
      const samples: MigrationSample[] = [];
      let error: string | undefined;
      for (let i = 0; i < runs && !error; i++) {
        try {
          const s = await migrateOnce(cli, dir, psk, t.name, i, typeof img === "string" ? null : img, elf, fastElf);
          samples.push(s);
          log(`  migration ${t.name} #${i + 1}: ${s.rounds} rounds, ${s.pages} pages, ${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${s.totalMs} ms, ` +
            `downtime ${s.downtimeMs} ms${s.throttle ? `, throttled up to ${Math.round(s.throttle * 100)} %` : ""} (target holds ${s.targetTouchedMiB ?? "?"} MiB)`);
        } catch (e) { error = (e as Error).message; log(`  migration ${t.name}: ERROR ${error}`); }
      }
      const touched = samples.map((s) => s.targetTouchedMiB).filter((x): x is number => x !== null);
      scenarios.push({ name: t.name, what: t.what, samples, ...(t.comparison ? { comparison: true } : {}),
        totalMs: summary(samples.map((s) => s.totalMs), true, 0), downtimeMs: summary(samples.map((s) => s.downtimeMs), true, 1),
        rounds: summary(samples.map((s) => s.rounds), true, 0), sentMiB: summary(samples.map((s) => s.bytes / 2 ** 20), true, 1),
        touchedMiB: touched.length ? r1(median(touched)) : null, ...(error ? { error } : {}) });
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  return { memMiB: 512, scenarios };
}

// ---------------------------------------------------------------- dirtylog

export interface DirtyLogWorkload {
  name: string; instret: number | null;
  plainMips: Summary; loggedMips: Summary;
  /** Dirty-log takes per logged run, and the mean interval between them. */
  takes: number | null; meanIntervalMs: number | null;
  /** 1 - logged / plain (best runs; medians). */
  slowdownBest: number | null; slowdownMedian: number | null;
  error?: string;
}
export interface DirtyLogResult { intervalMs: number; workloads: DirtyLogWorkload[] }

/** Instructions per run() call in both variants (runToExit's default is 4 M). */
const SLICE = 1_000_000;

async function runWl(buf: Uint8Array, name: string, intervalMs: number | null): Promise<{ mips: number; instret: number; takes: number; wallMs: number }> {
  const vm = Vm.create();
  vm.loadElf(buf, name);
  let out = "", takes = 0, last = performance.now();
  const dec = new TextDecoder();
  // The run loop asks control() before every slice: take the log there once intervalMs passed (SLICE instructions are
  // ~3 ms at 300 MIPS, so the takes come every 10-13 ms; the default 4 M slices would space them 15-25 ms apart).
  const control = intervalMs === null ? undefined : () => {
    const now = performance.now();
    if (now - last >= intervalMs) { vm.takeDirtyPages(); takes++; last = now; }
    return "run" as const;
  };
  const r = await runToExit(vm, { timeoutMs: 120_000, control, sliceBudget: SLICE, onConsole: (b) => { out += dec.decode(b, { stream: true }); } });
  if (r.reason !== "exit" || r.exit?.kind !== "poweroff" || r.exit.code !== 0 || !/\bPASS\b/.test(out)) {
    throw new Error(`${name}: ${r.reason} ${r.exit?.kind ?? ""} ${r.exit?.code ?? ""}, no PASS`);
  }
  const instret = Number(r.instret);
  return { mips: instret / (r.wallMs * 1000), instret, takes, wallMs: r.wallMs };
}

export async function benchDirtyLog(root: string, runs: number, log: (s: string) => void, intervalMs = 10): Promise<DirtyLogResult> {
  const workloads: DirtyLogWorkload[] = [];
  for (const w of ["int", "int-sv39"]) {
    const elf = join(root, `guests/bin/wl-${w}.elf`), buf = readFileSync(elf);
    const plain: number[] = [], logged: number[] = [];
    let instret: number | null = null, takes: number | null = null, interval: number | null = null, error: string | undefined;
    try {
      for (let i = 0; i < Math.max(runs, 2); i++) {
        // Interleaved, the order alternating, so both variants see the same background load.
        const first = await runWl(buf, elf, i % 2 ? intervalMs : null), second = await runWl(buf, elf, i % 2 ? null : intervalMs);
        const [a, b] = i % 2 ? [second, first] : [first, second];
        plain.push(a.mips); logged.push(b.mips); instret = a.instret; takes = b.takes; interval = b.takes ? b.wallMs / b.takes : null;
        log(`  dirtylog wl-${w} #${i + 1}: ${a.mips.toFixed(1)} MIPS plain, ${b.mips.toFixed(1)} MIPS with the log taken ${b.takes}× (every ${interval?.toFixed(1)} ms)`);
      }
    } catch (e) { error = (e as Error).message; log(`  dirtylog wl-${w}: ERROR ${error}`); }
    const p = summary(plain, false, 1), l = summary(logged, false, 1);
    workloads.push({ name: `wl-${w}`, instret, plainMips: p, loggedMips: l, takes, meanIntervalMs: interval === null ? null : r1(interval),
      slowdownBest: p.best && l.best ? round(1 - l.best / p.best, 4) : null,
      slowdownMedian: p.median && l.median ? round(1 - l.median / p.median, 4) : null, ...(error ? { error } : {}) });
  }
  return { intervalMs, workloads };
}
