// I/O (virtio): throughput and latency measured INSIDE the Debian Linux guest by the virtio initramfs's jobs
// (guests/README.md, "Linux virtio guest jobs"), on wasmvisor and on qemu-system-riscv64 in the same run.
//   blk:   wv.job=blk-bench (guests/linux/blkbench.c, O_DIRECT on /dev/vda, a fresh sparse scratch image per run):
//          the CLI with the I/O thread (default), the CLI with --io sync, and QEMU (virtio-blk-device, cache=none).
//   net:   wv.job=net-bench, a server and a client VM: two createVm VMs on one new VirtualSwitch in this process,
//          and two QEMU processes joined by -netdev socket (listen=/connect= on loopback).
//   iommu: blk-bench on createVm VMs with the IOTLB in use (default) and disabled (every DMA access walks the
//          IOMMU's tables), plus the device's translation and IOTLB-miss counters.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createVm } from "../host/api.js";
import { VirtualSwitch } from "../host/virtio/switch.js";
import { cachedImages } from "../host/files.js";
import { QEMU } from "./speed.js";
import { max, min, round } from "./stats.js";

const BASE_APPEND = "console=ttyS0 quiet cryptomgr.notests=1";
const SCRATCH_BYTES = 256 * 2 ** 20;
/** blk-bench workload: small enough that a wasmvisor run (boot + modules + bench) stays near 15 s. */
export const BLK_PARAMS = { seqMb: 32, randOps: 1000 } as const;
/** net-bench: MiB the client sends. */
export const NET_MB = 4;
const WV_TIMEOUT_MS = 240_000;
const QEMU_TIMEOUT_MS = 120_000;

export interface QemuAvail { available: boolean; version?: string; reason?: string }
export interface IoImages { kernel: string; initrd: string }

/** The cached kernel and virtio initramfs (guests/fetch-images.sh, mkinitramfs-virtio.sh), or why not. */
export function findVirtioImages(): IoImages | string {
  const img = cachedImages();
  if (!img) return "no images; run guests/fetch-images.sh";
  if (!img.initramfs_virtio) return "no initramfs_virtio in the image manifest; run guests/mkinitramfs-virtio.sh";
  return { kernel: img.kernel, initrd: img.initramfs_virtio };
}

export function probeQemuVersion(): QemuAvail {
  const v = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  if (v.error || v.status !== 0) {
    return { available: false, reason: (v.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT"
      ? `${QEMU} not found (install qemu-system-misc, or set QEMU=path)` : `${QEMU} --version failed: ${v.error?.message ?? v.stderr.trim()}` };
  }
  return { available: true, version: v.stdout.split("\n")[0].trim() };
}

/** The `wv-bench KEY=VALUE` numbers in a guest's console output (CR LF tolerated). */
export function parseBench(out: string): Record<string, number> {
  const r: Record<string, number> = {};
  for (const m of out.replace(/\r/g, "").matchAll(/^wv-bench ([\w-]+)=([0-9.]+)\s*$/gm)) r[m[1]] = Number(m[2]);
  return r;
}

const lastLines = (s: string, n = 3) => s.replace(/\r/g, "").trim().split("\n").slice(-n).join(" | ");

/** A fresh 256 MiB sparse scratch image (nothing allocated: every run starts from the same state). */
function freshScratch(dir: string, name: string): string {
  const p = join(dir, name);
  rmSync(p, { force: true });
  writeFileSync(p, "");
  truncateSync(p, SCRATCH_BYTES);
  return p;
}

/** Runs a child process to its exit; resolves with its output and wall time, rejects on timeout or spawn error. */
function runChild(cmd: string, args: string[], timeoutMs: number, onStart?: (c: ChildProcess) => void):
  Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, timeoutMs);
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => { out += s; });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (s: string) => { err = (err + s).slice(-8192); });
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return reject(new Error(`killed after ${timeoutMs / 1000} s: ${lastLines(out)}`));
      resolve({ code, signal, out, err, wallMs: performance.now() - t0 });
    });
    onStart?.(child);
  });
}

// ---------------------------------------------------------------- blk

export interface BlkSample { seqWriteMBps: number; seqReadMBps: number; randReadIops: number; wallMs: number }
export interface BlkEngine {
  samples: BlkSample[];
  /** Best of the runs, per metric (highest). */
  best: { seqWriteMBps: number; seqReadMBps: number; randReadIops: number } | null;
  error?: string;
}
type BlkRatios = { seqWrite: number | null; seqRead: number | null; randRead: number | null };
export interface BlkResult {
  skipped?: string;
  kernel?: string; initrd?: string; append?: string;
  qemu?: QemuAvail;
  /** wasmvisor CLI, I/O thread (default); wasmvisor CLI --io sync; QEMU. */
  thread?: BlkEngine; sync?: BlkEngine; reference?: BlkEngine | null;
  /** best / best, against QEMU. */
  ratioThread?: BlkRatios | null; ratioSync?: BlkRatios | null;
}

function blkAppend(): string {
  return `${BASE_APPEND} wv.job=blk-bench wv.dev=vda wv.seqmb=${BLK_PARAMS.seqMb} wv.randops=${BLK_PARAMS.randOps}`;
}

/** One blk-bench result from a guest's output, or an error naming what is missing. */
function blkSample(out: string, wallMs: number): BlkSample {
  const b = parseBench(out);
  const w = b["seq-write-MBps"], r = b["seq-read-MBps"], i = b["randread-iops"];
  if (w === undefined || r === undefined || i === undefined || !/wv: blk-bench ok/.test(out)) {
    throw new Error(`no complete blk-bench result: ${lastLines(out)}`);
  }
  return { seqWriteMBps: w, seqReadMBps: r, randReadIops: i, wallMs: round(wallMs, 0) };
}

function blkEngine(samples: BlkSample[], error?: string): BlkEngine {
  const best = samples.length ? {
    seqWriteMBps: max(samples.map((s) => s.seqWriteMBps)), seqReadMBps: max(samples.map((s) => s.seqReadMBps)),
    randReadIops: max(samples.map((s) => s.randReadIops)),
  } : null;
  return { samples, best, ...(error ? { error } : {}) };
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a != null && b != null && b > 0 ? round(a / b, 3) : null);
function blkRatios(a: BlkEngine, b: BlkEngine | null | undefined): BlkRatios | null {
  if (!a.best || !b?.best) return null;
  return { seqWrite: ratio(a.best.seqWriteMBps, b.best.seqWriteMBps), seqRead: ratio(a.best.seqReadMBps, b.best.seqReadMBps),
    randRead: ratio(a.best.randReadIops, b.best.randReadIops) };
}

async function blkOnWasmvisor(cli: string, img: IoImages, disk: string, io: "thread" | "sync"): Promise<BlkSample> {
  const r = await runChild(process.execPath, [cli, "run", "--io", io, "--mem", "512M", "--kernel", img.kernel, "--initrd", img.initrd,
    "--disk", disk, "--append", blkAppend()], WV_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`exit status ${r.signal ?? r.code}: ${lastLines(r.err || r.out)}`);
  return blkSample(r.out, r.wallMs);
}

async function blkOnQemu(img: IoImages, disk: string): Promise<BlkSample> {
  const r = await runChild(QEMU, ["-M", "virt", "-m", "512M", "-nographic", "-bios", "default", "-global", "virtio-mmio.force-legacy=false",
    "-kernel", img.kernel, "-initrd", img.initrd, "-append", blkAppend(),
    "-drive", `file=${disk},format=raw,if=none,id=d0,cache=none`, "-device", "virtio-blk-device,drive=d0"], QEMU_TIMEOUT_MS);
  if (r.code !== 0) throw new Error(`exit status ${r.signal ?? r.code}: ${lastLines(r.err || r.out)}`);
  return blkSample(r.out, r.wallMs);
}

/** blk-bench `runs` times per engine, interleaved (thread, sync, QEMU, thread, ...), each on a fresh scratch image. */
export async function benchBlk(cli: string, runs: number, log: (s: string) => void): Promise<BlkResult> {
  const img = findVirtioImages();
  if (typeof img === "string") return { skipped: img };
  const qemu = probeQemuVersion();
  if (!qemu.available) log(`bench: blk: QEMU NOT AVAILABLE (${qemu.reason}): wasmvisor numbers only`);
  const dir = mkdtempSync(join(tmpdir(), "wv-bench-blk-"));
  const th: BlkSample[] = [], sy: BlkSample[] = [], qm: BlkSample[] = [];
  let thErr: string | undefined, syErr: string | undefined, qmErr: string | undefined;
  const show = (s: BlkSample) => `write ${s.seqWriteMBps} MB/s, read ${s.seqReadMBps} MB/s, 4K random read ${s.randReadIops} IOPS (${(s.wallMs / 1000).toFixed(1)} s wall)`;
  try {
    for (let i = 0; i < runs; i++) {
      if (!thErr) {
        try { const s = await blkOnWasmvisor(cli, img, freshScratch(dir, "wv.img"), "thread"); th.push(s); log(`  blk #${i + 1} wasmvisor:         ${show(s)}`); }
        catch (e) { thErr = (e as Error).message; log(`  blk wasmvisor: ERROR ${thErr}`); }
      }
      if (!syErr) {
        try { const s = await blkOnWasmvisor(cli, img, freshScratch(dir, "wv.img"), "sync"); sy.push(s); log(`  blk #${i + 1} wasmvisor --io sync: ${show(s)}`); }
        catch (e) { syErr = (e as Error).message; log(`  blk wasmvisor --io sync: ERROR ${syErr}`); }
      }
      if (qemu.available && !qmErr) {
        try { const s = await blkOnQemu(img, freshScratch(dir, "qemu.img")); qm.push(s); log(`  blk #${i + 1} qemu:              ${show(s)}`); }
        catch (e) { qmErr = (e as Error).message; log(`  blk qemu: ERROR ${qmErr}`); }
      }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const thread = blkEngine(th, thErr), sync = blkEngine(sy, syErr), reference = qemu.available ? blkEngine(qm, qmErr) : null;
  return { kernel: img.kernel, initrd: img.initrd, append: blkAppend(), qemu, thread, sync, reference,
    ratioThread: blkRatios(thread, reference), ratioSync: blkRatios(sync, reference) };
}

// ---------------------------------------------------------------- net

export interface NetSample { netMBps: number; pingAvgMs: number; wallMs: number }
export interface NetEngine { samples: NetSample[]; bestMBps: number | null; bestPingMs: number | null; error?: string }
export interface NetResult {
  skipped?: string; kernel?: string; initrd?: string; mb?: number; qemu?: QemuAvail;
  wasmvisor?: NetEngine; reference?: NetEngine | null;
  /** wasmvisor / QEMU: throughput (above 1: wasmvisor faster) and ping time (below 1: wasmvisor faster). */
  ratioMBps?: number | null; ratioPing?: number | null;
}

const SERVER = { ip: "10.0.0.1/24", mac: "52:54:00:12:34:01" };
const CLIENT = { ip: "10.0.0.2/24", mac: "52:54:00:12:34:02" };
const netAppend = (role: "server" | "client") => role === "server"
  ? `${BASE_APPEND} wv.job=net-bench wv.ip=${SERVER.ip} wv.role=server wv.mb=${NET_MB}`
  : `${BASE_APPEND} wv.job=net-bench wv.ip=${CLIENT.ip} wv.role=client wv.peer=10.0.0.1 wv.mb=${NET_MB}`;

function netSample(serverOut: string, clientOut: string, wallMs: number): NetSample {
  const s = parseBench(serverOut), c = parseBench(clientOut);
  if (s["net-MBps"] === undefined) throw new Error(`server: no net-MBps: ${lastLines(serverOut)}`);
  if (c["ping-avg-ms"] === undefined) throw new Error(`client: no ping-avg-ms: ${lastLines(clientOut)}`);
  return { netMBps: s["net-MBps"], pingAvgMs: c["ping-avg-ms"], wallMs: round(wallMs, 0) };
}

/** Two VMs in this process on a fresh switch; resolves when both have powered off. */
async function netOnWasmvisor(img: IoImages): Promise<NetSample> {
  const sw = new VirtualSwitch();
  const t0 = performance.now();
  const mk = (role: "server" | "client", mac: string) => {
    const vm = createVm({ kernel: img.kernel, initrd: img.initrd, memory: 512 << 20, append: netAppend(role),
      devices: [{ kind: "net", mac }], switch: sw, timeoutMs: WV_TIMEOUT_MS });
    let out = "";
    vm.on("output", (b) => { out += Buffer.from(b).toString("latin1"); });
    return { vm, out: () => out };
  };
  const server = mk("server", SERVER.mac), client = mk("client", CLIENT.mac);
  const ends = await Promise.allSettled([server.vm.start(), client.vm.start()]);
  const wallMs = performance.now() - t0;
  for (const [i, e] of ends.entries()) {
    const who = i === 0 ? "server" : "client";
    if (e.status === "rejected") throw new Error(`${who}: ${(e.reason as Error).message}`);
    const x = e.value.exit;
    if (e.value.reason !== "exit" || x?.kind !== "poweroff" || x.code !== 0) {
      throw new Error(`${who}: stopped by ${e.value.reason} (${x?.kind ?? "-"} ${x?.code ?? ""}): ${lastLines(i === 0 ? server.out() : client.out())}`);
    }
  }
  return netSample(server.out(), client.out(), wallMs);
}

/** A free TCP port on loopback (for QEMU's socket netdev; released before QEMU binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

async function netOnQemu(img: IoImages): Promise<NetSample> {
  const port = await freePort();
  const q = (role: "server" | "client", mac: string, netdev: string) => ["-M", "virt", "-m", "512M", "-nographic", "-bios", "default",
    "-global", "virtio-mmio.force-legacy=false", "-kernel", img.kernel, "-initrd", img.initrd, "-append", netAppend(role),
    "-netdev", `socket,id=n0,${netdev}`, "-device", `virtio-net-device,netdev=n0,mac=${mac}`];
  const t0 = performance.now();
  // The listening side first; it has bound its socket once it prints anything (OpenSBI's banner).
  let listening!: () => void;
  const up = new Promise<void>((r) => { listening = r; });
  let serverChild: ChildProcess | undefined;
  const server = runChild(QEMU, q("server", SERVER.mac, `listen=127.0.0.1:${port}`), QEMU_TIMEOUT_MS, (c) => {
    serverChild = c;
    c.stdout!.once("data", () => listening());
    c.once("close", () => listening());
  });
  server.catch(() => { /* awaited below */ });
  await up;
  let client;
  try {
    client = await runChild(QEMU, q("client", CLIENT.mac, `connect=127.0.0.1:${port}`), QEMU_TIMEOUT_MS);
  } catch (e) { serverChild?.kill("SIGKILL"); throw e; }
  const s = await server;
  const wallMs = performance.now() - t0;
  if (s.code !== 0) throw new Error(`server: exit status ${s.signal ?? s.code}: ${lastLines(s.err || s.out)}`);
  if (client.code !== 0) throw new Error(`client: exit status ${client.signal ?? client.code}: ${lastLines(client.err || client.out)}`);
  return netSample(s.out, client.out, wallMs);
}

function netEngine(samples: NetSample[], error?: string): NetEngine {
  return { samples, bestMBps: samples.length ? max(samples.map((s) => s.netMBps)) : null,
    bestPingMs: samples.length ? min(samples.map((s) => s.pingAvgMs)) : null, ...(error ? { error } : {}) };
}

export async function benchNet(runs: number, log: (s: string) => void): Promise<NetResult> {
  const img = findVirtioImages();
  if (typeof img === "string") return { skipped: img };
  const qemu = probeQemuVersion();
  if (!qemu.available) log(`bench: net: QEMU NOT AVAILABLE (${qemu.reason}): wasmvisor numbers only`);
  const wv: NetSample[] = [], qm: NetSample[] = [];
  let wvErr: string | undefined, qmErr: string | undefined;
  const show = (s: NetSample) => `${s.netMBps} MB/s, ping avg ${s.pingAvgMs} ms (${(s.wallMs / 1000).toFixed(1)} s wall)`;
  for (let i = 0; i < runs; i++) {
    if (!wvErr) {
      try { const s = await netOnWasmvisor(img); wv.push(s); log(`  net #${i + 1} wasmvisor: ${show(s)}`); }
      catch (e) { wvErr = (e as Error).message; log(`  net wasmvisor: ERROR ${wvErr}`); }
    }
    if (qemu.available && !qmErr) {
      try { const s = await netOnQemu(img); qm.push(s); log(`  net #${i + 1} qemu:      ${show(s)}`); }
      catch (e) { qmErr = (e as Error).message; log(`  net qemu: ERROR ${qmErr}`); }
    }
  }
  const wasmvisor = netEngine(wv, wvErr), reference = qemu.available ? netEngine(qm, qmErr) : null;
  return { kernel: img.kernel, initrd: img.initrd, mb: NET_MB, qemu, wasmvisor, reference,
    ratioMBps: ratio(wasmvisor.bestMBps, reference?.bestMBps), ratioPing: ratio(wasmvisor.bestPingMs, reference?.bestPingMs) };
}

// ---------------------------------------------------------------- iommu

export interface IommuSample extends BlkSample { dmaTranslations: number | null; iotlbMisses: number | null }
export interface IommuEngine extends BlkEngine { samples: IommuSample[]; missRate: number | null }
export interface IommuResult {
  skipped?: string; append?: string;
  cached?: IommuEngine; uncached?: IommuEngine;
  /** uncached / cached, best runs (below 1: what the IOTLB saves). */
  ratio?: BlkRatios | null;
}

/** blk-bench on a createVm VM (I/O thread), optionally with the IOTLB disabled; the device's counters at the end. */
async function blkInProcess(img: IoImages, disk: string, iotlbOff: boolean): Promise<IommuSample> {
  const vm = createVm({ kernel: img.kernel, initrd: img.initrd, memory: 512 << 20, append: blkAppend(),
    devices: [{ kind: "blk", path: disk }], timeoutMs: WV_TIMEOUT_MS });
  if (iotlbOff) vm.vm.core.fn.iommu_set_iotlb_disabled(1);
  let out = "";
  let stats: Record<string, number> | null = null;
  const readStats = () => { try { stats = vm.vm.devices?.stats(0) ?? stats; } catch { /* devices gone */ } };
  vm.on("output", (b) => {
    out += Buffer.from(b).toString("latin1");
    if (stats === null && out.includes("wv-bench done")) readStats(); // the devices are still attached here
  });
  const t0 = performance.now();
  const r = await vm.start();
  const wallMs = performance.now() - t0;
  readStats(); // after the run: the counters live in the VM's memory, which outlives the I/O thread
  if (r.reason !== "exit" || r.exit?.kind !== "poweroff" || r.exit.code !== 0) {
    throw new Error(`stopped by ${r.reason} (${r.exit?.kind ?? "-"} ${r.exit?.code ?? ""}): ${lastLines(out)}`);
  }
  const s = blkSample(out, wallMs);
  const st = stats as Record<string, number> | null;
  return { ...s, dmaTranslations: st?.dmaTranslations ?? null, iotlbMisses: st?.iotlbMisses ?? null };
}

function iommuEngine(samples: IommuSample[], error?: string): IommuEngine {
  const last = samples.at(-1);
  const missRate = last?.dmaTranslations ? round(last.iotlbMisses! / last.dmaTranslations, 4) : null;
  return { ...blkEngine(samples, error), samples, missRate };
}

export async function benchIommu(runs: number, log: (s: string) => void): Promise<IommuResult> {
  const img = findVirtioImages();
  if (typeof img === "string") return { skipped: img };
  const dir = mkdtempSync(join(tmpdir(), "wv-bench-iommu-"));
  const on: IommuSample[] = [], off: IommuSample[] = [];
  let onErr: string | undefined, offErr: string | undefined;
  const show = (s: IommuSample) => `write ${s.seqWriteMBps} MB/s, read ${s.seqReadMBps} MB/s, ${s.randReadIops} IOPS; ` +
    `${s.dmaTranslations ?? "?"} translations, ${s.iotlbMisses ?? "?"} IOTLB misses`;
  try {
    for (let i = 0; i < runs; i++) {
      if (!onErr) {
        try { const s = await blkInProcess(img, freshScratch(dir, "a.img"), false); on.push(s); log(`  iommu #${i + 1} IOTLB on:  ${show(s)}`); }
        catch (e) { onErr = (e as Error).message; log(`  iommu IOTLB on: ERROR ${onErr}`); }
      }
      if (!offErr) {
        try { const s = await blkInProcess(img, freshScratch(dir, "b.img"), true); off.push(s); log(`  iommu #${i + 1} IOTLB off: ${show(s)}`); }
        catch (e) { offErr = (e as Error).message; log(`  iommu IOTLB off: ERROR ${offErr}`); }
      }
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const cached = iommuEngine(on, onErr), uncached = iommuEngine(off, offErr);
  return { append: blkAppend(), cached, uncached, ratio: blkRatios(uncached, cached) };
}
