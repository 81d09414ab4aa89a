// `npm run bench`: core size, startup, guest speed, Linux boot time, virtio I/O (vs QEMU in the same run), snapshots and
// live migration; prints a table, writes bench/results/latest.json.
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import { cpus, loadavg, platform, arch, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { packageRoot, corePath } from "../host/core-module.js";
import { benchStartup, type StartupResult } from "./startup.js";
import { benchWorkload, probeQemu, type QemuInfo, type WorkloadResult } from "./speed.js";
import { fmt, round, summary, table } from "./stats.js";
import { benchMemory, type MemoryResult } from "./memory.js";
import { benchLinuxMemory, type LinuxMemResult } from "./linuxmem.js";
import { benchBoot, type BootResult } from "./boot.js";
import { benchBlk, benchNet, benchIommu, BLK_PARAMS, NET_MB, type BlkResult, type NetResult, type IommuResult, type BlkEngine } from "./io.js";
import { benchSnapshot, benchMigration, benchDirtyLog, INC_PAGES, INC_RUNS, RESTORE_TARGET_MS, INC_TARGET_RATIO, DOWNTIME_TARGET_MS, DIRTYLOG_TARGET,
  type SnapshotResult, type MigrationResult, type DirtyLogResult } from "./snapshot.js";
import { benchSuspend, HOLD_MS, type SuspendResult } from "./suspend.js";
const METADATA_TARGET_KIB = 1024;

const SECTIONS = ["size", "startup", "memory", "int", "int-sv39", "fp", "boot", "linux-memory", "blk", "net", "iommu", "snapshot", "migration", "dirtylog", "suspend"] as const;
type Section = (typeof SECTIONS)[number];
const SIZE_TARGET = 128 * 1024;
const FIRST_INSN_TARGET_MS = 5;
const BOOT_RATIO_TARGET = 4;

const USAGE = `usage: npm run bench [-- options]

  --quick            one run of everything (CI smoke test)
  --only LIST        run only these sections: size, startup, memory, int, int-sv39, fp, boot, linux-memory,
                     blk, net, iommu, snapshot, migration, dirtylog, suspend (comma-separated or repeated)
  --runs N           timed runs per engine and workload (default 3; at least 2 are always made unless --quick);
                     boot, blk, net, iommu, migration: 2 runs per engine and variant (1 with --quick)
  -h, --help         this text

env: QEMU=path overrides the qemu-system-riscv64 binary; WASMVISOR_IMAGES=dir the images guests/fetch-images.sh
     cached (default ~/.cache/wasmvisor/images), which the boot, linux-memory, blk, net, iommu, snapshot and migration (idle) sections need.`;

function parseOptions(argv: string[]): { quick: boolean; only: Set<Section>; runs: number } {
  const { values } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: { quick: { type: "boolean" }, only: { type: "string", multiple: true }, runs: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) { process.stdout.write(USAGE + "\n"); process.exit(0); }
  const only = new Set<Section>();
  for (const s of (values.only ?? []).flatMap((v) => v.split(","))) {
    const t = s.trim();
    if (!(SECTIONS as readonly string[]).includes(t)) throw new Error(`--only: unknown section '${t}' (use ${SECTIONS.join(", ")})`);
    only.add(t as Section);
  }
  if (only.size === 0) SECTIONS.forEach((s) => only.add(s));
  const quick = !!values.quick;
  let runs = quick ? 1 : 3;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: '${values.runs}' is not a positive integer`);
  }
  return { quick, only, runs };
}

function gitInfo(root: string): { commit: string | null; dirty: boolean | null } {
  const rev = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" });
  if (rev.error || rev.status !== 0) return { commit: null, dirty: null };
  const st = spawnSync("git", ["status", "--porcelain", "--", "assembly", "host"], { cwd: root, encoding: "utf8" });
  return { commit: rev.stdout.trim(), dirty: st.status === 0 ? st.stdout.trim().length > 0 : null };
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const root = packageRoot();
  const core = corePath();
  const hello = join(root, "guests/bin/hello.elf");
  const rel = (p: string) => relative(root, p);
  const log = (s: string) => process.stderr.write(s + "\n");
  const t0 = performance.now();
  if (!existsSync(core)) { log(`bench: ${rel(core)} is missing: run npm run build`); return 1; }

  const cpu = cpus();
  const machine = {
    cpu: cpu[0]?.model ?? "unknown", cores: cpu.length, memGiB: round(totalmem() / 2 ** 30, 1),
    platform: `${platform()} ${arch()}`, node: process.version, loadavg1: round(loadavg()[0], 2),
  };
  const git = gitInfo(root);
  const date = new Date();
  let failed = false;

  // 1. size
  let size: { bytes: number; kib: number; targetBytes: number; ok: boolean } | null = null;
  if (opts.only.has("size")) {
    const bytes = statSync(core).size;
    size = { bytes, kib: round(bytes / 1024, 1), targetBytes: SIZE_TARGET, ok: bytes < SIZE_TARGET };
  }

  // 2. startup
  let startup: (StartupResult & { targetMs: number; ok: boolean }) | null = null;
  if (opts.only.has("startup")) {
    log("bench: startup (compile, instantiate, Vm.create → first instruction)...");
    try {
      const s = await benchStartup(core, hello, opts.quick);
      startup = { ...s, targetMs: FIRST_INSN_TARGET_MS, ok: s.firstInsn.medianMs < FIRST_INSN_TARGET_MS };
    } catch (e) { failed = true; log(`bench: startup failed: ${(e as Error).message}`); }
  }

  // 3. footprint
  let memory: MemoryResult[] | null = null;
  if (opts.only.has("memory")) {
    log("bench: memory footprint (128 MiB and 2 GiB guests touching 16 MiB)...");
    memory = [...benchMemory([128, 2048], 16, "clustered"), ...benchMemory([128, 2048], 16, "scattered")];
  }

  // 4. guest speed
  const workloads: WorkloadResult[] = [];
  let qemu: QemuInfo | null = null;
  const wanted = (["int", "int-sv39", "fp"] as const).filter((w) => opts.only.has(w));
  if (wanted.length) {
    qemu = probeQemu(hello, opts.quick);
    log(qemu.available
      ? `bench: reference ${qemu.version}; startup baseline (hello.elf) ${qemu.baselineMs} ms`
      : `bench: QEMU NOT AVAILABLE (${qemu.reason}): reporting wasmvisor numbers only`);
    for (const w of wanted) {
      const elf = join(root, `guests/bin/wl-${w}.elf`);
      log(`bench: ${rel(elf)}...`);
      const r = await benchWorkload(w, rel(elf), qemu, { runs: opts.runs, budgetMs: opts.quick ? 0 : 30_000, log });
      if (r.wasmvisor.error || r.qemu?.error) failed = true;
      workloads.push(r);
    }
  }
  // 5. Linux boot
  let boot: BootResult | null = null;
  if (opts.only.has("boot")) {
    log("bench: boot (Debian kernel + busybox initramfs: process start → 'wasmvisor-init: up')...");
    try {
      boot = await benchBoot(join(root, "dist/host/cli.js"), opts.quick ? 1 : 2, log);
      if (boot.variants.some((v) => v.wasmvisor.error || v.qemu?.error)) failed = true;
    } catch (e) { failed = true; log(`bench: boot failed: ${(e as Error).message}`); }
  }
  // Booted Linux VMs: footprint beyond touched pages, cost of more VMs
  let linuxMem: LinuxMemResult | null = null;
  if (opts.only.has("linux-memory")) {
    try {
      linuxMem = await benchLinuxMemory(opts.quick ? 2 : 10, log);
      if (!linuxMem) log("bench: linux-memory SKIPPED (no images; run guests/fetch-images.sh)");
    } catch (e) { failed = true; log(`bench: linux-memory failed: ${(e as Error).message}`); }
  }
  // 6. virtio I/O, measured inside the guest (guests/README.md "Linux virtio guest jobs")
  const ioRuns = opts.quick ? 1 : 2;
  let blk: BlkResult | null = null, net: NetResult | null = null, iommu: IommuResult | null = null;
  if (opts.only.has("blk")) {
    log(`bench: blk (wv.job=blk-bench: ${BLK_PARAMS.seqMb} MiB sequential, ${BLK_PARAMS.randOps} random 4 KiB reads; wasmvisor I/O thread, --io sync, QEMU)...`);
    try {
      blk = await benchBlk(join(root, "dist/host/cli.js"), ioRuns, log);
      if (blk.skipped) log(`bench: blk SKIPPED (${blk.skipped})`);
      if (blk.thread?.error || blk.sync?.error || blk.reference?.error) failed = true;
    } catch (e) { failed = true; log(`bench: blk failed: ${(e as Error).message}`); }
  }
  if (opts.only.has("net")) {
    log(`bench: net (wv.job=net-bench, ${NET_MB} MiB over TCP: two VMs on one VirtualSwitch in this process; two QEMUs joined by -netdev socket)...`);
    try {
      net = await benchNet(ioRuns, log);
      if (net.skipped) log(`bench: net SKIPPED (${net.skipped})`);
      if (net.wasmvisor?.error || net.reference?.error) failed = true;
    } catch (e) { failed = true; log(`bench: net failed: ${(e as Error).message}`); }
  }
  if (opts.only.has("iommu")) {
    log("bench: iommu (blk-bench with the IOTLB in use and disabled)...");
    try {
      iommu = await benchIommu(ioRuns, log);
      if (iommu.skipped) log(`bench: iommu SKIPPED (${iommu.skipped})`);
      if (iommu.cached?.error || iommu.uncached?.error) failed = true;
    } catch (e) { failed = true; log(`bench: iommu failed: ${(e as Error).message}`); }
  }
  // 7. snapshots, live migration, dirty logging (bench/snapshot.ts)
  let snapshot: SnapshotResult | null = null, migration: MigrationResult | null = null, dirtylog: DirtyLogResult | null = null;
  const cli = join(root, "dist/host/cli.js");
  if (opts.only.has("snapshot")) {
    log(`bench: snapshot (Linux at its shell, 128 MiB and 1 GiB: full save, restore to the first instruction, ${INC_PAGES}-page incrementals)...`);
    try {
      snapshot = await benchSnapshot(cli, opts.quick ? 1 : 2, log);
      if (snapshot.skipped) log(`bench: snapshot SKIPPED (${snapshot.skipped})`);
      if (snapshot.sizes?.some((s) => s.error)) failed = true;
    } catch (e) { failed = true; log(`bench: snapshot failed: ${(e as Error).message}`); }
  }
  if (opts.only.has("migration")) {
    log("bench: migration (512 MiB guests, two CLI processes on loopback: idle Linux, dirtier.elf, memcheck-long.elf with and without auto-converge)...");
    try {
      migration = await benchMigration(cli, root, opts.quick ? 1 : 2, log);
      if (migration.scenarios?.some((s) => s.error)) failed = true;
    } catch (e) { failed = true; log(`bench: migration failed: ${(e as Error).message}`); }
  }
  if (opts.only.has("dirtylog")) {
    log("bench: dirtylog (wl-int, wl-int-sv39 with the dirty log taken every >= 10 ms)...");
    try {
      dirtylog = await benchDirtyLog(root, opts.quick ? 1 : 3, log);
      if (dirtylog.workloads.some((w) => w.error)) failed = true;
    } catch (e) { failed = true; log(`bench: dirtylog failed: ${(e as Error).message}`); }
  }
  let suspend: SuspendResult | null = null;
  if (opts.only.has("suspend")) {
    log("bench: suspend (Linux at its shell, 128 MiB, idle and busy: pause/resume over the control socket, against QEMU's QMP stop/cont)...");
    try {
      suspend = await benchSuspend(cli, opts.quick ? 2 : 10, log);
      if (suspend.skipped) log(`bench: suspend SKIPPED (${suspend.skipped})`);
      if (suspend.cases.some((c) => c.wasmvisor.error || c.qemu?.error)) failed = true;
    } catch (e) { failed = true; log(`bench: suspend failed: ${(e as Error).message}`); }
  }
  const totalSeconds = round((performance.now() - t0) / 1000, 1);

  // ---- report ----
  const out: string[] = [];
  out.push("");
  out.push(`wasmvisor benchmarks  ${date.toISOString().replace(/\.\d+Z$/, "Z")}  ${opts.quick ? "(--quick)" : ""}`.trimEnd());
  out.push(`machine: ${machine.cpu} x${machine.cores}, ${machine.memGiB} GiB, ${machine.platform}, node ${machine.node}, ` +
    `load ${machine.loadavg1}; tree ${git.commit ?? "?"}${git.dirty ? " (core/host modified)" : ""}`);
  out.push("");
  const rows: string[][] = [["metric", "value", "target", ""]];
  if (size) rows.push(["core.wasm size", `${size.bytes} B (${fmt(size.kib, 1)} KiB)`, "< 128 KiB", size.ok ? "ok" : "MISSED"]);
  if (startup) {
    const f = startup.firstInsn, p = f.phases;
    rows.push(["core.wasm compile (cold, once)", `${fmt(startup.compileMs, 2)} ms`, "", ""]);
    for (const b of startup.benny) rows.push([`${b.name} (benny mean)`, `${fmt(b.meanMs, 3)} ms`, "", `±${b.rmePct}%`]);
    rows.push([`VM create → first insn (median of ${f.iterations})`, `${fmt(f.medianMs, 3)} ms`, `< ${FIRST_INSN_TARGET_MS} ms`, startup.ok ? "ok" : "MISSED"]);
    rows.push(["  min / p90", `${fmt(f.minMs, 3)} / ${fmt(f.p90Ms, 3)} ms`, "", ""]);
    rows.push(["  create / loadElf / run(1)", `${fmt(p.createMs, 3)} / ${fmt(p.loadElfMs, 3)} / ${fmt(p.run1Ms, 3)} ms`, "", ""]);
  }
  if (rows.length > 1) out.push(table(rows, ["l", "r", "l", "l"]), "");
  if (memory) {
    const mrows: string[][] = [["guest RAM", "touched", "pattern", "guest frames", "G-stage tables", "core state", "metadata", "target", "", "RSS growth"]];
    for (const m of memory) {
      const ok = m.metadataKiB < METADATA_TARGET_KIB;
      mrows.push([`${m.ramMiB} MiB`, `${m.touchedMiB} MiB`, m.pattern, `${m.guestFrameKiB} KiB`, `${m.tableKiB} KiB`, `${m.coreStateKiB} KiB`,
        `${m.metadataKiB} KiB`, m.pattern === "clustered" ? "< 1 MiB" : "(worst case)", m.pattern === "clustered" ? (ok ? "ok" : "MISSED") : "", `${m.rssDeltaMiB} MiB`]);
    }
    out.push(table(mrows, ["l", "r", "l", "r", "r", "r", "r", "l", "l", "r"]), "");
  }
  if (workloads.length) {
    const q = qemu!;
    const srows: string[][] = [["workload", "insns (M)", "wasmvisor MIPS best", "median", "QEMU MIPS best", "median", "wv/QEMU best", "median", "runs wv/qemu"]];
    for (const w of workloads) {
      srows.push([
        `wl-${w.name}`, fmt(w.instret === null ? null : w.instret / 1e6, 1),
        fmt(w.wasmvisor.bestMips), fmt(w.wasmvisor.medianMips),
        fmt(w.qemu?.bestMips), fmt(w.qemu?.medianMips),
        fmt(w.ratioBest, 3), fmt(w.ratioMedian, 3),
        `${w.wasmvisor.samples.length}/${w.qemu?.samples.length ?? "-"}`,
      ]);
    }
    out.push(table(srows, ["l", "r", "r", "r", "r", "r", "r", "r", "r"]));
    const bare = workloads.find((w) => w.name === "int"), paged = workloads.find((w) => w.name === "int-sv39");
    if (bare?.wasmvisor.bestMips && paged?.wasmvisor.bestMips) {
      const cost = 1 - paged.wasmvisor.bestMips / bare.wasmvisor.bestMips;
      out.push(`paging cost (wl-int under Sv39 with 4 KiB pages vs Bare, best runs): ${fmt(cost * 100, 1)} %  (target < 15 %: ${cost < 0.15 ? "ok" : "MISSED"})`);
    }
    out.push(q.available
      ? `QEMU: ${q.version}, TCG, startup baseline ${q.baselineMs} ms (hello.elf) subtracted; MIPS from wasmvisor's instruction count.`
      : `QEMU: NOT AVAILABLE (${q.reason}); no reference numbers.`);
    for (const w of workloads) {
      if (w.wasmvisor.error) out.push(`ERROR wl-${w.name} on wasmvisor: ${w.wasmvisor.error}`);
      if (w.qemu?.error) out.push(`ERROR wl-${w.name} on QEMU: ${w.qemu.error}`);
    }
    out.push("");
  }
  if (boot?.skipped) out.push(`boot: SKIPPED (${boot.skipped})`, "");
  else if (boot) {
    const brows: string[][] = [["boot (to 'wasmvisor-init: up')", "wasmvisor best", "QEMU best", "wv/QEMU", "target", "", "wv insns to poweroff (M)", "runs wv/qemu"]];
    for (const v of boot.variants) {
      const ok = v.ratioBest !== null ? (v.ratioBest <= BOOT_RATIO_TARGET ? "ok" : "MISSED") : "";
      brows.push([v.append, `${fmt(v.wasmvisor.bestUpMs === null ? null : v.wasmvisor.bestUpMs / 1000, 2)} s`,
        `${fmt(v.qemu?.bestUpMs == null ? null : v.qemu.bestUpMs / 1000, 2)} s`, fmt(v.ratioBest, 2), `<= ${BOOT_RATIO_TARGET}x`, ok,
        fmt(v.wasmvisor.instret === null ? null : v.wasmvisor.instret / 1e6, 0), `${v.wasmvisor.samples.length}/${v.qemu?.samples.length ?? "-"}`]);
    }
    out.push(table(brows, ["l", "r", "r", "r", "l", "l", "r", "r"]));
    out.push(`kernel ${boot.kernel}, initrd ${boot.initrd}; wasmvisor --mem 512M direct boot, ` +
      (boot.qemu?.available ? `${boot.qemu.version} (-M virt -m 512M, default OpenSBI, TCG)` : `QEMU NOT AVAILABLE (${boot.qemu?.reason})`) + ".");
    out.push("time is process start → first /init line; instructions are wasmvisor's --stats total at poweroff (boot is most of it).");
    for (const v of boot.variants) {
      if (v.wasmvisor.error) out.push(`ERROR boot '${v.append}' on wasmvisor: ${v.wasmvisor.error}`);
      if (v.qemu?.error) out.push(`ERROR boot '${v.append}' on QEMU: ${v.qemu.error}`);
    }
    out.push("");
  }
  if (linuxMem) {
    const l = linuxMem;
    out.push(table([["booted 512 MiB Linux VMs", "guest touched", "beyond touched (tables + core state)", "target", "", "RSS: 1st VM", "2nd VM", `VM ${l.vms}`],
      [String(l.vms), `${l.guestMiB} MiB`, `${l.overheadKiB} KiB`, "< 2 MiB", l.overheadKiB < 2048 ? "ok" : "MISSED", `${l.rssFirstMiB} MiB`, `${l.rssSecondMiB} MiB`, `${l.rssLastMiB} MiB`]],
      ["l", "r", "r", "l", "l", "r", "r", "r"]), "");
  }
  const b3 = (e: BlkEngine | null | undefined) => e?.best
    ? [fmt(e.best.seqWriteMBps, 1), fmt(e.best.seqReadMBps, 1), fmt(e.best.randReadIops, 0)] : ["n/a", "n/a", "n/a"];
  if (blk?.skipped) out.push(`blk: SKIPPED (${blk.skipped})`, "");
  else if (blk) {
    const r = (x: { seqWrite: number | null; seqRead: number | null; randRead: number | null } | null | undefined) =>
      x ? [fmt(x.seqWrite, 2), fmt(x.seqRead, 2), fmt(x.randRead, 2)] : ["n/a", "n/a", "n/a"];
    const runs = (e: BlkEngine | null | undefined) => String(e?.samples.length ?? "-");
    out.push(table([["virtio-blk (best of runs)", "seq write MB/s", "seq read MB/s", "4K rand read IOPS", "vs QEMU: write", "read", "IOPS", "runs"],
      ["wasmvisor (I/O thread)", ...b3(blk.thread), ...r(blk.ratioThread), runs(blk.thread)],
      ["wasmvisor --io sync", ...b3(blk.sync), ...r(blk.ratioSync), runs(blk.sync)],
      ["QEMU", ...b3(blk.reference), "1", "1", "1", runs(blk.reference)]], ["l", "r", "r", "r", "r", "r", "r", "r"]));
    out.push(`measured in the guest by blkbench (O_DIRECT, /dev/vda, fresh 256 MiB sparse image per run): '${blk.append}'; ` +
      (blk.qemu?.available ? `${blk.qemu.version}, virtio-blk-device cache=none` : `QEMU NOT AVAILABLE (${blk.qemu?.reason})`) + ".");
    const ok = blk.ratioThread && [blk.ratioThread.seqWrite, blk.ratioThread.seqRead, blk.ratioThread.randRead].every((x) => x !== null && x >= 1);
    if (blk.ratioThread) out.push(`target (at least QEMU's throughput, I/O thread): ${ok ? "ok" : "MISSED"}`);
    for (const [n, e] of [["wasmvisor", blk.thread], ["wasmvisor --io sync", blk.sync], ["QEMU", blk.reference]] as const) if (e?.error) out.push(`ERROR blk on ${n}: ${e.error}`);
    out.push("");
  }
  if (net?.skipped) out.push(`net: SKIPPED (${net.skipped})`, "");
  else if (net) {
    const w = net.wasmvisor!, q = net.reference;
    out.push(table([["virtio-net VM to VM", `TCP ${net.mb} MiB MB/s best`, "ping avg ms best", "runs"],
      ["wasmvisor (2 VMs, 1 process, VirtualSwitch)", fmt(w.bestMBps, 1), fmt(w.bestPingMs, 3), String(w.samples.length)],
      ["QEMU (2 processes, -netdev socket)", fmt(q?.bestMBps, 1), fmt(q?.bestPingMs, 3), String(q?.samples.length ?? "-")],
      ["wv/QEMU", fmt(net.ratioMBps, 2), fmt(net.ratioPing, 2), ""]], ["l", "r", "r", "r"]));
    out.push("throughput: higher is better; ping: lower is better. " +
      (net.qemu?.available ? net.qemu.version! : `QEMU NOT AVAILABLE (${net.qemu?.reason})`) + ".");
    if (w.error) out.push(`ERROR net on wasmvisor: ${w.error}`);
    if (q?.error) out.push(`ERROR net on QEMU: ${q.error}`);
    out.push("");
  }
  if (iommu?.skipped) out.push(`iommu: SKIPPED (${iommu.skipped})`, "");
  else if (iommu) {
    const c = iommu.cached!, u = iommu.uncached!, x = iommu.ratio;
    const miss = (e: typeof c) => e.missRate === null ? "n/a" : `${fmt(e.missRate * 100, 2)} % of ${e.samples.at(-1)?.dmaTranslations ?? "?"}`;
    out.push(table([["IOMMU (blk-bench, createVm, I/O thread)", "seq write MB/s", "seq read MB/s", "4K rand read IOPS", "IOTLB misses"],
      ["IOTLB in use (default)", ...b3(c), miss(c)],
      ["IOTLB disabled", ...b3(u), miss(u)],
      ["disabled / in use", fmt(x?.seqWrite, 2), fmt(x?.seqRead, 2), fmt(x?.randRead, 2), ""]], ["l", "r", "r", "r", "r"]));
    if (c.error) out.push(`ERROR iommu (IOTLB in use): ${c.error}`);
    if (u.error) out.push(`ERROR iommu (IOTLB disabled): ${u.error}`);
    out.push("");
  }
  // verdict for best / median: "ok", "MISSED", or "ok (best) / MISSED (median)"
  const verdict = (best: number | null, med: number | null, ok: (x: number) => boolean) => {
    if (best === null || med === null) return "";
    const b = ok(best), m = ok(med);
    return b === m ? (b ? "ok" : "MISSED") : `${b ? "ok" : "MISSED"} (best) / ${m ? "ok" : "MISSED"} (median)`;
  };
  if (snapshot?.skipped) out.push(`snapshot: SKIPPED (${snapshot.skipped})`, "");
  else if (snapshot?.sizes) {
    const bm = (x: { best: number | null; median: number | null }, d = 1) => `${fmt(x.best, d)} / ${fmt(x.median, d)}`;
    const rows: string[][] = [["Linux at its shell", "touched", "file", "save ms best/med", "guest paused ms", "restore→running ms", "target", "", "→1st insn ms", "restoreVm ms", "CLI restore wall ms"]];
    for (const s of snapshot.sizes) {
      const ok = s.memMiB === 128 ? verdict(s.restoreToRunningMs.best, s.restoreToRunningMs.median, (x) => x < RESTORE_TARGET_MS) : "";
      rows.push([`${s.memMiB} MiB`, `${fmt(s.touchedMiB, 1)} MiB`, `${fmt(s.fileMiB, 1)} MiB`, bm(s.saveMs), bm(s.savePausedMs), bm(s.restoreToRunningMs),
        s.memMiB === 128 ? `< ${RESTORE_TARGET_MS} ms` : "", ok, bm(s.restoreToInsnMs), bm(s.restoreMs), bm(s.cliWallMs, 0)]);
    }
    out.push(table(rows, ["l", "r", "r", "r", "r", "r", "l", "l", "r", "r", "r"]));
    const irows: string[][] = [[`incremental, ${INC_PAGES} pages`, "pages", "file", "guest paused ms", "snapshot ms best/med", "4 MiB stored", "deflate 1", "GC ms: snapshots / deflate", "ratio best/med", "paired (95 % interval)", "target", "", "running guest: pages", "paused ms", "snapshot ms"]];
    for (const s of snapshot.sizes) {
      const i = s.incremental;
      if (!i) continue;
      irows.push([`${s.memMiB} MiB guest`, String(i.pages.at(-1) ?? "?"), `${fmt(i.fileKiB, 0)} KiB`, bm(i.pausedMs), bm(i.snapshotMs), bm(i.storedMs), bm(i.deflateMs), i.gcMs ? `${fmt(i.gcMs.snapshot, 0)} / ${fmt(i.gcMs.reference, 0)}` : "",
        `${fmt(i.ratioBest, 2)} / ${fmt(i.ratioMedian, 2)}`, `${fmt(i.ratioPaired, 2)}${i.ratioPairedInterval ? ` (${fmt(i.ratioPairedInterval[0], 2)}–${fmt(i.ratioPairedInterval[1], 2)})` : ""}`, `<= ${INC_TARGET_RATIO}`, verdict(i.ratioBest, i.ratioMedian, (x) => x <= INC_TARGET_RATIO),
        i.running.pages.length ? `${Math.min(...i.running.pages)}-${Math.max(...i.running.pages)}` : "", bm(i.running.pausedMs), bm(i.running.snapshotMs)]);
    }
    if (irows.length > 1) out.push(table(irows, ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "l", "l", "r", "r", "r"]));
    const zrows: string[][] = [[`incremental at level 0 (stored), ${INC_PAGES} pages`, "file", "snapshot ms best/med", "4 MiB stored alone", "ratio best/med", "paired (95 % interval)", "target", ""]];
    for (const s of snapshot.sizes) {
      const z = s.incremental?.stored;
      if (!z) continue;
      zrows.push([`${s.memMiB} MiB guest`, `${fmt(z.fileKiB, 0)} KiB`, bm(z.snapshotMs), bm(s.incremental!.storedMs), `${fmt(z.ratioBest, 2)} / ${fmt(z.ratioMedian, 2)}`,
        `${fmt(z.ratioPaired, 2)}${z.ratioPairedInterval ? ` (${fmt(z.ratioPairedInterval[0], 2)}–${fmt(z.ratioPairedInterval[1], 2)})` : ""}`, `<= ${INC_TARGET_RATIO}`, verdict(z.ratioBest, z.ratioMedian, (x) => x <= INC_TARGET_RATIO)]);
    }
    if (zrows.length > 1) out.push(table(zrows, ["l", "r", "r", "r", "r", "r", "l", "l"]));
    out.push(`incremental: the guest paused for good, ${INC_RUNS} times exactly 1,000 host-written pages; baselines = the same 4 MiB made durable as a new file (fsync + directory sync): stored (the reference of the level-0 rows: each run also takes an incremental snapshot of another 1,000 pages with {level: 0}); deflate 1 = compressed as the writer compresses (its engine, one thread per core; the default level's reference); GC ms = V8's garbage collection inside the timed snapshots / inside the timed deflate baselines, summed over the runs. Running guest: the guest wrote a 4,000 KiB file in its tmpfs (busybox's bytes: 1,000 pages plus what its kernel dirtied) and is idle at its shell; snapshot of the running VM (its write shares the main thread with the vCPU).`);
    out.push(`files in ${snapshot.dir}; save = vm.snapshot() on the running VM (call → durable: all of memory written while the guest runs, then the guest held for what it dirtied meanwhile, then merged); restore→running = restoreVm(file, {maxInsns: 1}) + start() until the first run slice returned ('running': the hart executes, or waits in WFI as it was saved); →1st insn = until one instruction retired (an idle guest first waits for its timer).`);
    for (const s of snapshot.sizes) if (s.error) out.push(`ERROR snapshot ${s.memMiB} MiB: ${s.error}`);
    out.push("");
  }
  if (migration?.scenarios) {
    const bm = (x: { best: number | null; median: number | null }, d = 1) => `${fmt(x.best, d)} / ${fmt(x.median, d)}`;
    const rows: string[][] = [[`live migration, ${migration.memMiB} MiB guest`, "total ms best/med", "sent MiB", "guest mem on target", "rounds", "downtime ms best/med", "throttled up to", "target", "", "runs"]];
    for (const s of migration.scenarios) {
      const th = s.samples.length ? Math.max(...s.samples.map((x) => x.throttle)) : 0;
      rows.push([s.name, bm(s.totalMs, 0), bm(s.sentMiB), `${fmt(s.touchedMiB, 1)} MiB`, bm(s.rounds, 0), bm(s.downtimeMs), th ? `${Math.round(th * 100)} %` : "-",
        s.comparison ? "" : `< ${DOWNTIME_TARGET_MS} ms`, s.comparison ? "" : verdict(s.downtimeMs.best, s.downtimeMs.median, (x) => x < DOWNTIME_TARGET_MS), String(s.samples.length)]);
    }
    out.push(table(rows, ["l", "r", "r", "r", "r", "r", "r", "l", "l", "r"]));
    for (const s of migration.scenarios) out.push(`${s.name}: ${s.what}`);
    out.push("two CLI processes on loopback (run --control → incoming), wasmvisor migrate's report; 'guest mem on target' = its frames 3 s after it resumed (pages the source sent: non-zero ones; all-zero pages are not sent).");
    for (const s of migration.scenarios) if (s.error) out.push(`ERROR migration ${s.name}: ${s.error}`);
    out.push("");
  }
  if (dirtylog) {
    const rows: string[][] = [[`dirty log taken every >= ${dirtylog.intervalMs} ms`, "MIPS plain best/med", "with log best/med", "takes", "interval", "slowdown best/med", "target", ""]];
    for (const w of dirtylog.workloads) {
      rows.push([w.name, `${fmt(w.plainMips.best)} / ${fmt(w.plainMips.median)}`, `${fmt(w.loggedMips.best)} / ${fmt(w.loggedMips.median)}`, String(w.takes ?? "-"),
        `${fmt(w.meanIntervalMs, 1)} ms`, `${fmt(w.slowdownBest === null ? null : w.slowdownBest * 100, 1)} / ${fmt(w.slowdownMedian === null ? null : w.slowdownMedian * 100, 1)} %`,
        `< ${DIRTYLOG_TARGET * 100} %`, verdict(w.slowdownBest, w.slowdownMedian, (x) => x < DIRTYLOG_TARGET)]);
    }
    out.push(table(rows, ["l", "r", "r", "r", "r", "r", "l", "l"]));
    for (const w of dirtylog.workloads) if (w.error) out.push(`ERROR dirtylog ${w.name}: ${w.error}`);
    out.push("");
  }
  if (suspend?.cases.length) {
    const bm = (xs: number[], d = 1) => { const r = summary(xs); return `${fmt(r.best, d)} / ${fmt(r.median, d)}`; };
    const ratio = (a: number[], b: number[] | undefined) => {
      const x = summary(a), y = summary(b ?? []);
      return x.median !== null && y.median ? fmt(x.median / y.median, 2) : "n/a";
    };
    const rows: string[][] = [[`suspend/resume, Linux 128 MiB (${suspend.runs} each)`, "engine", "pause ms best/med", "resume ms best/med", "CPU while paused % best/med", "pause wv/QEMU (med)", "resume wv/QEMU (med)"]];
    for (const c of suspend.cases) {
      rows.push([c.name, "wasmvisor", bm(c.wasmvisor.pauseMs, 2), bm(c.wasmvisor.resumeMs, 2), bm(c.wasmvisor.cpuPausedPct), ratio(c.wasmvisor.pauseMs, c.qemu?.pauseMs), ratio(c.wasmvisor.resumeMs, c.qemu?.resumeMs)]);
      if (c.qemu) rows.push(["", "QEMU", bm(c.qemu.pauseMs, 2), bm(c.qemu.resumeMs, 2), bm(c.qemu.cpuPausedPct), "", ""]);
    }
    out.push(table(rows, ["l", "l", "r", "r", "r", "r", "r"]));
    out.push(`each engine a child process driven over its control socket, as a management tool would: wasmvisor run --control (pause / resume; pause answers once the guest is at an instruction boundary with its devices quiesced), QEMU -qmp (stop / cont); client request → reply; CPU = the whole process's user + system time over the ${HOLD_MS / 1000} s suspension (/proc/PID/stat). busy: a shell loop in the background. ${suspend.qemu ?? "QEMU not available"}`);
    for (const c of suspend.cases) for (const [k, s] of [["wasmvisor", c.wasmvisor], ["QEMU", c.qemu]] as const) if (s?.error) out.push(`ERROR suspend ${c.name} ${k}: ${s.error}`);
    out.push("");
  }
  out.push(`total bench time ${totalSeconds} s`);

  const resultsDir = join(root, "bench/results");
  mkdirSync(resultsDir, { recursive: true });
  const json = {
    date: date.toISOString(), quick: opts.quick, sections: [...opts.only], runs: opts.runs, machine, git,
    size, startup, memory, qemu, workloads, boot, linuxMem, blk, net, iommu, snapshot, migration, dirtylog, suspend, totalSeconds,
  };
  const jsonPath = join(resultsDir, "latest.json");
  writeFileSync(jsonPath, JSON.stringify(json, null, 2) + "\n");
  out.push(`results written to ${rel(jsonPath)}`);
  process.stdout.write(out.join("\n") + "\n");
  return failed ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  process.stderr.write(`bench: ${(e as Error)?.message ?? String(e)}\n`);
  process.exitCode = 2;
});
