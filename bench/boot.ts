// Linux boot time: process start → the first line /init prints (`wasmvisor-init: up`), on wasmvisor (the CLI, as
// a child process) and on qemu-system-riscv64 (its default OpenSBI), with the images guests/fetch-images.sh caches.
import { spawn, spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { QEMU } from "./speed.js";
import { min, round } from "./stats.js";
import { cachedImages } from "../host/files.js";

const UP = "wasmvisor-init: up";
const WV_TIMEOUT_MS = 300_000;
const QEMU_TIMEOUT_MS = 120_000;
export const BOOT_VARIANTS = [
  { name: "notests", extra: "cryptomgr.notests=1" },
  { name: "selftests", extra: "" },
] as const;

export interface BootRun { upMs: number; exitMs: number; instret: number | null }
export interface BootEngine { samples: BootRun[]; bestUpMs: number | null; error?: string }
export interface BootVariant {
  name: string;
  append: string;
  wasmvisor: BootEngine & { instret: number | null };
  qemu: BootEngine | null;
  /** wasmvisor / QEMU, best time to `wasmvisor-init: up`. */
  ratioBest: number | null;
}
export interface BootResult {
  skipped?: string; kernel?: string; initrd?: string;
  /** QEMU's version line, or why it is not available. */
  qemu?: { available: boolean; version?: string; reason?: string };
  variants: BootVariant[];
}

/** The cached kernel and initramfs (guests/fetch-images.sh), or null. */
export function findImages(): { kernel: string; initrd: string } | null {
  const img = cachedImages();
  return img ? { kernel: img.kernel, initrd: img.initramfs } : null;
}

/** Spawns a guest, times process start → `wasmvisor-init: up`, then sends `poweroff -f` and waits for the exit. */
function bootOnce(cmd: string, args: string[], timeoutMs: number): Promise<{ upMs: number; exitMs: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let upMs: number | null = null, out = "", err = "", timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill("SIGKILL"); }, timeoutMs);
    child.stdin.on("error", () => { /* EPIPE when the guest is already gone */ });
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (s: string) => {
      if (upMs !== null) return;
      out = (out + s).slice(-4096);
      if (out.includes(UP)) {
        upMs = performance.now() - t0;
        child.stdin.write("poweroff -f\n");
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => { err = (err + s).slice(-8192); });
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const exitMs = performance.now() - t0;
      const last = (err.trim() || out.trim()).split("\n").pop() ?? "";
      if (timedOut) return reject(new Error(`killed after ${timeoutMs / 1000} s${upMs === null ? ` before '${UP}'` : " (no poweroff)"}`));
      if (upMs === null) return reject(new Error(`exited (${signal ?? code}) before '${UP}': ${last}`));
      if (code !== 0) return reject(new Error(`exit status ${signal ?? code} after poweroff: ${last}`));
      resolve({ upMs, exitMs, stderr: err });
    });
  });
}

function engine(samples: BootRun[], error?: string): BootEngine {
  return { samples, bestUpMs: samples.length ? round(min(samples.map((s) => s.upMs)), 1) : null, ...(error ? { error } : {}) };
}

/** Boots each variant `runs` times per engine, interleaved (wasmvisor, QEMU, wasmvisor, ...). */
export async function benchBoot(cliPath: string, runs: number, log: (s: string) => void): Promise<BootResult> {
  const img = findImages();
  if (!img) return { skipped: "no images; run guests/fetch-images.sh", variants: [] };
  const ver = spawnSync(QEMU, ["--version"], { encoding: "utf8" });
  const qemuAvailable = !ver.error && ver.status === 0;
  const qemu = qemuAvailable ? { available: true, version: ver.stdout.split("\n")[0].trim() }
    : { available: false, reason: `${QEMU} --version failed: ${ver.error?.message ?? ver.stderr.trim()}` };
  if (!qemuAvailable) log(`bench: boot: QEMU NOT AVAILABLE (${qemu.reason}): wasmvisor numbers only`);
  const variants: BootVariant[] = [];
  for (const v of BOOT_VARIANTS) {
    const append = v.extra ? `console=ttyS0 ${v.extra}` : "console=ttyS0";
    const wv: BootRun[] = [], qm: BootRun[] = [];
    let wvErr: string | undefined, qmErr: string | undefined;
    for (let i = 0; i < runs; i++) {
      if (!wvErr) {
        try {
          const r = await bootOnce(process.execPath,
            [cliPath, "run", "--mem", "512M", "--kernel", img.kernel, "--initrd", img.initrd, "--append", append, "--stats"], WV_TIMEOUT_MS);
          const m = /wasmvisor: (\d+) instructions in/.exec(r.stderr);
          const instret = m ? Number(m[1]) : null;
          wv.push({ upMs: round(r.upMs, 1), exitMs: round(r.exitMs, 1), instret });
          log(`  boot ${v.name} #${i + 1} wasmvisor: up after ${(r.upMs / 1000).toFixed(2)} s, exit after ${(r.exitMs / 1000).toFixed(2)} s, ` +
            `${instret ?? "?"} insns`);
        } catch (e) { wvErr = (e as Error).message; log(`  boot ${v.name} wasmvisor: ERROR ${wvErr}`); }
      }
      if (qemuAvailable && !qmErr) {
        try {
          const r = await bootOnce(QEMU,
            ["-M", "virt", "-m", "512M", "-nographic", "-kernel", img.kernel, "-initrd", img.initrd, "-append", append], QEMU_TIMEOUT_MS);
          qm.push({ upMs: round(r.upMs, 1), exitMs: round(r.exitMs, 1), instret: null });
          log(`  boot ${v.name} #${i + 1} qemu:      up after ${(r.upMs / 1000).toFixed(2)} s, exit after ${(r.exitMs / 1000).toFixed(2)} s`);
        } catch (e) { qmErr = (e as Error).message; log(`  boot ${v.name} qemu: ERROR ${qmErr}`); }
      }
    }
    // Instructions to poweroff: the best (fastest-to-up) run's count; runs differ only by timer-driven noise.
    const best = wv.length ? wv.reduce((a, b) => (b.upMs < a.upMs ? b : a)) : null;
    const wvEngine = { ...engine(wv, wvErr), instret: best?.instret ?? null };
    const qmEngine = qemuAvailable ? engine(qm, qmErr) : null;
    const ratioBest = wvEngine.bestUpMs !== null && qmEngine?.bestUpMs ? round(wvEngine.bestUpMs / qmEngine.bestUpMs, 3) : null;
    variants.push({ name: v.name, append, wasmvisor: wvEngine, qemu: qmEngine, ratioBest });
  }
  return { kernel: img.kernel, initrd: img.initrd, qemu, variants };
}
