// Suspend/resume of a Linux guest at its shell, idle and busy, side by side with QEMU: each engine runs as a child
// process driven over its control socket as a management tool would (wasmvisor `run --control`, JSON lines:
// pause/resume; QEMU `-qmp`: stop/cont). Measured from the client: request → reply (wasmvisor answers once the guest
// is at an instruction boundary with its devices quiesced; QEMU's stop once its vCPUs are paused and its block
// requests drained), and the CPU the whole process uses while the guest is suspended (/proc/PID/stat).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { QEMU } from "./speed.js";
import { round } from "./stats.js";
import { findImages } from "./boot.js";

const APPEND = "console=ttyS0 quiet cryptomgr.notests=1";
const UP = "wasmvisor-init: up";
const BOOT_TIMEOUT_MS = 180_000;
/** How long each suspension lasts (the CPU the process uses is measured over it). */
export const HOLD_MS = 1000;
/** A busy guest: a shell loop on its one CPU, in the background (the shell still answers). */
const BUSY = "while :; do :; done &\n";

export interface SuspendSide { pauseMs: number[]; resumeMs: number[]; cpuPausedPct: number[]; error?: string }
export interface SuspendCase { name: "idle" | "busy"; wasmvisor: SuspendSide; qemu: SuspendSide | null }
export interface SuspendResult { skipped?: string; runs?: number; qemu?: string; cases: SuspendCase[] }

/** One JSON-lines request/reply connection (both protocols answer each request with one line; others are events). */
class Lines {
  private buf = "";
  private waiting: ((o: Record<string, unknown>) => void)[] = [];
  constructor(private readonly sock: Socket, private readonly isReply: (o: Record<string, unknown>) => boolean) {
    sock.setEncoding("utf8");
    sock.on("data", (s: string) => {
      this.buf += s;
      let i;
      while ((i = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const o = JSON.parse(line) as Record<string, unknown>;
        if (this.isReply(o)) this.waiting.shift()?.(o);
      }
    });
  }
  next(): Promise<Record<string, unknown>> { return new Promise((r) => this.waiting.push(r)); }
  async request(o: unknown): Promise<Record<string, unknown>> {
    const reply = this.next();
    this.sock.write(JSON.stringify(o) + "\n");
    return reply;
  }
  close(): void { this.sock.destroy(); }
}

async function connectUnix(path: string, deadline: number): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((res, rej) => { const s = connect(path); s.once("connect", () => res(s)); s.once("error", rej); });
    } catch (e) {
      if (performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** User + system CPU time of a process so far, in ms (/proc/PID/stat: utime, stime in clock ticks). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  const tick = 1000 / clockTicks;
  return (Number(rest[11]) + Number(rest[12])) * tick;
}
const clockTicks = (() => { const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }); return Number(r.stdout) || 100; })();

interface Engine { child: ChildProcess; ctl: Lines; pause: unknown; resume: unknown }

/** Starts an engine on the Linux guest and waits for its shell; busy: starts the loop. */
async function startEngine(kind: "wasmvisor" | "qemu", cli: string, img: { kernel: string; initrd: string }, dir: string, busy: boolean): Promise<Engine> {
  const sock = join(dir, `${kind}.sock`);
  const child = kind === "wasmvisor"
    ? spawn(process.execPath, [cli, "run", "--mem", "128M", "--kernel", img.kernel, "--initrd", img.initrd, "--append", APPEND, "--control", sock], { stdio: ["pipe", "pipe", "pipe"] })
    : spawn(QEMU, ["-M", "virt", "-m", "128M", "-nographic", "-kernel", img.kernel, "-initrd", img.initrd, "-append", APPEND, "-qmp", `unix:${sock},server=on,wait=off`], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (s: string) => { out = (out + s).slice(-4096); });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (s: string) => { err = (err + s).slice(-4096); });
  child.stdin!.on("error", () => { /* gone */ });
  const deadline = performance.now() + BOOT_TIMEOUT_MS;
  while (!out.includes(UP)) {
    if (child.exitCode !== null) throw new Error(`${kind} exited before its shell was up: ${err.trim().split("\n").pop()}`);
    if (performance.now() > deadline) { child.kill("SIGKILL"); throw new Error(`${kind}: no '${UP}' after ${BOOT_TIMEOUT_MS / 1000} s`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (busy) { child.stdin!.write(BUSY); await new Promise((r) => setTimeout(r, 1000)); }
  const s = await connectUnix(sock, deadline);
  if (kind === "wasmvisor") {
    return { child, ctl: new Lines(s, (o) => "ok" in o), pause: { cmd: "pause" }, resume: { cmd: "resume" } };
  }
  const ctl = new Lines(s, (o) => "return" in o || "error" in o || "QMP" in o);
  await ctl.next(); // the greeting
  await ctl.request({ execute: "qmp_capabilities" });
  return { child, ctl, pause: { execute: "stop" }, resume: { execute: "cont" } };
}

async function measure(e: Engine, runs: number): Promise<SuspendSide> {
  const side: SuspendSide = { pauseMs: [], resumeMs: [], cpuPausedPct: [] };
  const ok = (o: Record<string, unknown>) => { if (o.ok === false || "error" in o) throw new Error(`control reply: ${JSON.stringify(o)}`); };
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    ok(await e.ctl.request(e.pause));
    const t1 = performance.now();
    const c0 = cpuMs(e.child.pid!);
    await new Promise((r) => setTimeout(r, HOLD_MS));
    const c1 = cpuMs(e.child.pid!), t2 = performance.now();
    ok(await e.ctl.request(e.resume));
    const t3 = performance.now();
    side.pauseMs.push(round(t1 - t0, 2));
    side.cpuPausedPct.push(round(((c1 - c0) / (t2 - t1)) * 100, 1));
    side.resumeMs.push(round(t3 - t2, 2));
    await new Promise((r) => setTimeout(r, 300)); // (it runs a while between suspensions)
  }
  return side;
}

function stop(e: Engine | undefined): void {
  if (!e) return;
  e.ctl.close();
  e.child.kill("SIGKILL");
}

export async function benchSuspend(cli: string, runs: number, log: (s: string) => void): Promise<SuspendResult> {
  const img = findImages();
  if (!img) return { skipped: "no images; run guests/fetch-images.sh", cases: [] };
  const ver = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  const qemuOk = !ver.error && ver.status === 0;
  if (!qemuOk) log("bench: suspend: QEMU NOT AVAILABLE: wasmvisor numbers only");
  const dir = mkdtempSync(join(tmpdir(), "wv-suspend-"));
  const cases: SuspendCase[] = [];
  try {
    for (const name of ["idle", "busy"] as const) {
      const c: SuspendCase = { name, wasmvisor: { pauseMs: [], resumeMs: [], cpuPausedPct: [] }, qemu: qemuOk ? { pauseMs: [], resumeMs: [], cpuPausedPct: [] } : null };
      for (const kind of qemuOk ? (["wasmvisor", "qemu"] as const) : (["wasmvisor"] as const)) {
        let e: Engine | undefined;
        try {
          e = await startEngine(kind, cli, img, dir, name === "busy");
          c[kind] = await measure(e, runs);
          const s = c[kind]!;
          log(`  suspend ${name} ${kind}: pause ${fmtList(s.pauseMs)} ms, resume ${fmtList(s.resumeMs)} ms, CPU while paused ${fmtList(s.cpuPausedPct)} %`);
        } catch (err) {
          c[kind] = { pauseMs: [], resumeMs: [], cpuPausedPct: [], error: (err as Error).message };
          log(`  suspend ${name} ${kind}: ERROR ${(err as Error).message}`);
        } finally { stop(e); }
      }
      cases.push(c);
    }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  return { runs, qemu: qemuOk ? ver.stdout.split("\n")[0].trim() : undefined, cases };
}

const fmtList = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
