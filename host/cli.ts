#!/usr/bin/env node
// The `wasmvisor` command line: parses arguments, boots a VM from an image, and maps the outcome to an exit code.
import { parseArgs } from "node:util";
import { readFileSync, writeSync, openSync, closeSync, renameSync, fsyncSync, writeFileSync } from "node:fs";
import { ExitCode, WasmvisorError } from "./errors.js";
import { Vm, DEFAULT_RAM_BASE, DEFAULT_MEM_BYTES } from "./vm.js";
import { isElf, type ElfImage } from "./elf.js";
import { runToExit, type RunResult } from "./runner.js";
import { packageRoot } from "./core-module.js";
import { join } from "node:path";
import { formatSignature } from "./signature.js";
import { bootKernel } from "./boot.js";
import { InputQueue } from "./runner.js";
import { loadVmConfig } from "./config.js";
import { readInputFile } from "./files.js";
import { monitorCommand, type MonitorState } from "./monitor.js";
import { attachDevices, parseDiskSpec, type DeviceSpec } from "./virtio/devices.js";
import { defaultSwitch, udpBridge } from "./virtio/switch.js";
import { VmController } from "./controller.js";
import { serveControl, controlRequest } from "./control.js";
import { progressReporter } from "./progress.js";
import { checkPolicy, startCheckpointPolicy, type CheckpointPolicy } from "./policy.js";
import { vmDigest } from "./snapshot/vmstate.js";
import { migrateOut, receiveMigration } from "./migrate/migrate.js";
import { listenForMigration, refusedReporter } from "./migrate/accept.js";
import { restoreSnapshot, mergeToFull } from "./snapshot/ops.js";
import { inspectSnapshot, formatReport } from "./snapshot/inspect.js";
import { resolve } from "node:path";
import type { AddressInfo } from "node:net";

const USAGE = `usage: wasmvisor run [options] <image>
       wasmvisor run [options] --kernel <Image|ELF> [--initrd FILE] [--append ARGS]

Boots <image> (an ELF64 RISC-V executable, or a raw binary) on one RV64GC hart in M-mode and runs it until it
powers off. With --kernel, boots an S-mode kernel directly: the hypervisor provides SBI and the device tree.
Console input: stdin (a terminal is put in raw mode; Ctrl-A X quits, Ctrl-A C opens the monitor).

options:
  --kernel FILE              S-mode kernel: a RISC-V Linux Image (e.g. Debian's vmlinuz) or an ELF
  --initrd FILE              initial ramdisk for --kernel
  --append ARGS              kernel command line for --kernel (default "console=ttyS0")
  --config FILE              a VM configuration (JSON, schema/vm-config.schema.json); flags override it
  --bios FILE|none|default   M-mode firmware (e.g. OpenSBI fw_dynamic.bin or fw_jump.bin) started at the reset
                             vector, with the --kernel image (or raw payload) at RAM + 2 MiB as its next stage;
                             none or default (the default): direct boot, the hypervisor is the SBI
  --mem SIZE                 guest RAM, e.g. 128M, 1G (default 128M)
  --load-addr ADDR           where a raw binary is loaded and started (default 0x80000000)
  --htif                     riscv-tests protocol: pass/fail through the ELF's tohost symbol
  --signature FILE           after the run, write begin_signature..end_signature to FILE (spike/Sail format)
  --signature-granularity N  bytes per signature line: 4, 8 or 16 (default 4)
  --trace                    log every retired instruction to stderr in spike's commit-log format
  --trace-file FILE          write the trace to FILE instead
  --timeout SECONDS          stop the guest after this much wall time (exit 3)
  --max-insns N              stop the guest after N retired instructions (exit 3)
  --deterministic            derive time from retired instructions (reproducible runs; implies --io sync)
  --disk FILE[,ro][,serial=S]  a virtio-blk disk backed by a raw image (repeatable; ro: read-only)
  --nic MAC                  a virtio-net device on this process's virtual switch (repeatable)
  --bridge LPORT:HOST:PORT   join the virtual switch to another wasmvisor process's over UDP
  --rng                      a virtio-rng device (host randomness)
  --virtio-console           a virtio-console device (hvc0); its output goes to stdout
  --io thread|sync           who serves virtio devices: an I/O thread beside the vCPU (default) or the vCPU
                             thread itself
  --stats                    print counters (instructions, MIPS, TLB, traps) to stderr on exit
  --digest                   print the SHA-256 digest of the whole VM state at the end
  --control PATH             a Unix control socket for 'wasmvisor snapshot', 'migrate' and tools (JSON lines)
  --checkpoint FILE          where the checkpoint policy writes: FILE always holds the newest complete checkpoint
  --checkpoint-every S       checkpoint every S seconds while the guest runs (incremental after the first)
  --time-slot S              after S seconds of wall time: checkpoint, then stop (exit 3; restore continues it)
  --checkpoint-on SIGS       on any of these signals (comma-separated, e.g. SIGTERM,SIGUSR1; or none): checkpoint,
                             then stop (exit 3); default SIGTERM, the batch system's end of a job
  --snapshot-on-exit FILE    save a snapshot when the run stops at --timeout, --max-insns or quit
  --compress-level N         DEFLATE level of checkpoints and snapshots: 0 (none: fastest on a fast disk, largest
                             files) to 9 (smallest); default 1
  -h, --help                 show this help
  --version                  print the version

other commands (each with --help):
  wasmvisor restore [options] SNAPSHOT                  start a VM from a snapshot or an incremental chain
  wasmvisor snapshot [options] CONTROL-SOCKET FILE      snapshot a VM started with --control
  wasmvisor merge [--compress-level N] SNAPSHOT OUT     merge an incremental chain into one full snapshot
  wasmvisor inspect [--memory] [--json] SNAPSHOT        what a snapshot or chain holds, and whether it is intact
  wasmvisor migrate [options] --psk FILE CONTROL-SOCKET HOST:PORT  live-migrate a VM started with --control ...
  wasmvisor incoming --listen [HOST:]PORT --psk FILE [--wait S]  ... to a process waiting for it

exit codes: 0 guest passed / powered off with 0; 1 guest reported failure; N the guest's own
poweroff code; 2 usage or bad input; 3 timeout; 4 guest error; 70 internal error`;

function parseSize(s: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(s.trim());
  if (!m) throw new WasmvisorError(`--mem: cannot parse size '${s}' (use e.g. 128M or 1G)`);
  const mult = { "": 1024 * 1024, K: 1024, M: 1024 * 1024, G: 1024 * 1024 * 1024 }[m[2].toUpperCase() as "" | "K" | "M" | "G"];
  return Number(m[1]) * mult;
}

function parseAddr(s: string, flag: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s.trim())) throw new WasmvisorError(`${flag}: '${s}' is not a number`);
  return BigInt(s.trim());
}

function parseNumber(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new WasmvisorError(`${flag}: '${s}' is not a positive number`);
  return n;
}


/**
 * Feeds stdin to the guest's console. A terminal is switched to raw mode (keys go to the guest as typed) and
 * Ctrl-A X quits, as in QEMU; a pipe or file is passed through until its end. Returns a function that detaches.
 */
function attachConsole(input: InputQueue, vm: Vm, mon: MonitorState, changed: () => void): () => void {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  let ctrlA = false;
  let monitor = false; // Ctrl-A C toggles between the guest console and the monitor
  let line = "";
  const say = (s: string) => process.stderr.write(s.replace(/\n/g, "\r\n"));
  const onData = (d: Buffer) => {
    if (!tty) { input.push(new Uint8Array(d)); return; }
    const out: number[] = [];
    for (const b of d) {
      if (ctrlA) {
        ctrlA = false;
        if (b === 0x78 || b === 0x58) { say("\nwasmvisor: terminated (Ctrl-A X)\n"); process.exit(0); }
        if (b === 0x63 || b === 0x43) {
          monitor = !monitor;
          say(monitor ? "\nwasmvisor monitor (help lists commands; Ctrl-A C returns)\n(wasmvisor) " : "\n");
          continue;
        }
        if (b !== 0x01) out.push(0x01);
      } else if (b === 0x01) { ctrlA = true; continue; }
      if (!monitor) { out.push(b); continue; }
      if (b === 0x0d || b === 0x0a) {
        say("\n" + monitorCommand(vm, line, mon) + "\n(wasmvisor) ");
        changed(); // (stop, cont and quit change what the run loop's control() returns)
        line = "";
      } else if (b === 0x7f || b === 0x08) { if (line.length) { line = line.slice(0, -1); say("\b \b"); } }
      else { line += String.fromCharCode(b); say(String.fromCharCode(b)); }
    }
    input.push(new Uint8Array(out));
  };
  const onEnd = () => input.end();
  if (tty) stdin.setRawMode(true);
  stdin.on("data", onData);
  stdin.on("end", onEnd);
  stdin.on("error", onEnd);
  return () => {
    stdin.off("data", onData);
    stdin.off("end", onEnd);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  };
}

/** Atomic file write: temp file, fsync, rename. */
function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, "r+");
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
}

/** --timeout and --max-insns, shared by run, restore and incoming. */
function parseLimits(o: { timeout?: string; "max-insns"?: string }): { timeoutMs?: number; maxInsns?: bigint } {
  return {
    timeoutMs: o.timeout !== undefined ? parseNumber(o.timeout, "--timeout") * 1000 : undefined,
    maxInsns: o["max-insns"] !== undefined ? BigInt(Math.floor(parseNumber(o["max-insns"], "--max-insns"))) : undefined,
  };
}

/** Joins this process's virtual switch to others over UDP (--bridge, repeatable). */
async function openBridges(specs: string[] | undefined): Promise<{ close(): void }[]> {
  const out: { close(): void }[] = [];
  for (const b of specs ?? []) out.push(await udpBridge(defaultSwitch, b));
  return out;
}

/** Writes guest console output to stdout; once the reader has gone (EPIPE, e.g. `| head`) output is dropped. */
let stdoutGone = false;
function consoleOut(b: Uint8Array): void {
  if (stdoutGone) return;
  try { writeSync(1, b); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") stdoutGone = true;
    else if ((e as NodeJS.ErrnoException).code === "EAGAIN") { /* a non-blocking terminal is full: drop, as a serial line would */ }
    else throw e;
  }
}

async function cmdRun(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        mem: { type: "string" }, "load-addr": { type: "string" }, htif: { type: "boolean" },
        signature: { type: "string" }, "signature-granularity": { type: "string" },
        trace: { type: "boolean" }, "trace-file": { type: "string" }, timeout: { type: "string" },
        "max-insns": { type: "string" }, deterministic: { type: "boolean" }, stats: { type: "boolean" },
        kernel: { type: "string" }, initrd: { type: "string" }, append: { type: "string" }, bios: { type: "string" },
        config: { type: "string" },
        disk: { type: "string", multiple: true }, nic: { type: "string", multiple: true }, bridge: { type: "string", multiple: true },
        rng: { type: "boolean" }, "virtio-console": { type: "boolean" }, io: { type: "string" },
        control: { type: "string" }, checkpoint: { type: "string" }, "checkpoint-every": { type: "string" },
        "time-slot": { type: "string" }, "checkpoint-on": { type: "string" }, "snapshot-on-exit": { type: "string" }, digest: { type: "boolean" },
        "compress-level": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new WasmvisorError(`${(e as Error).message.split("\n")[0]} (see wasmvisor --help)`);
  }
  const o = parsed.values;
  if (o.help) { process.stdout.write(USAGE + "\n"); return ExitCode.OK; }
  if (o.config !== undefined) {
    // The file supplies defaults; flags given on the command line win.
    const f = loadVmConfig(o.config);
    if (parsed.positionals.length === 0 && f.image !== undefined && o.kernel === undefined) parsed.positionals.push(f.image);
    if (o.kernel === undefined && parsed.positionals.length === 0) o.kernel = f.kernel;
    o.initrd ??= f.initrd; o.append ??= f.append; o.bios ??= f.bios;
    o.mem ??= f.memory === undefined ? undefined : typeof f.memory === "number" ? `${f.memory / 1024}K` : f.memory;
    o["load-addr"] ??= f.loadAddr;
    o.htif ??= f.htif; o.deterministic ??= f.deterministic;
    o.timeout ??= f.timeout === undefined ? undefined : String(f.timeout);
    o["max-insns"] ??= f.maxInsns === undefined ? undefined : String(f.maxInsns);
    o.disk ??= f.disks?.map((d) => [d.path, ...(d.readonly ? ["ro"] : []), ...(d.serial ? [`serial=${d.serial}`] : [])].join(","));
    o.nic ??= f.nics?.map((n) => n.mac);
    o.bridge ??= f.bridge === undefined ? undefined : [f.bridge];
    o.rng ??= f.rng; o["virtio-console"] ??= f.virtioConsole; o.io ??= f.io;
  }
  const kernelMode = o.kernel !== undefined;
  if (!kernelMode && parsed.positionals.length !== 1) throw new WasmvisorError("run: expected exactly one image (see wasmvisor --help)");
  if (kernelMode && parsed.positionals.length !== 0) throw new WasmvisorError("run: give either an image or --kernel, not both");
  if (!kernelMode && (o.initrd !== undefined || o.append !== undefined)) throw new WasmvisorError("--initrd and --append need --kernel");
  const path = kernelMode ? o.kernel! : parsed.positionals[0];
  const memBytes = o.mem !== undefined ? parseSize(o.mem) : DEFAULT_MEM_BYTES;
  const gran = o["signature-granularity"] !== undefined ? parseNumber(o["signature-granularity"], "--signature-granularity") : 4;
  if (![4, 8, 16].includes(gran)) throw new WasmvisorError("--signature-granularity must be 4, 8 or 16");
  const { timeoutMs, maxInsns } = parseLimits(o);

  const buf = readInputFile(path);
  // "default" (QEMU's spelling for its bundled firmware) is our default too: direct boot, the hypervisor is the SBI.
  const bios = o.bios === undefined || o.bios === "none" || o.bios === "default" ? undefined : readInputFile(o.bios);
  if (bios && !kernelMode) throw new WasmvisorError("--bios needs --kernel (the payload the firmware starts)");
  const vm = Vm.create({ memBytes, deterministic: !!o.deterministic, romBytes: bios ? 4096 : 0 });
  let img: ElfImage | undefined;
  if (kernelMode) {
    if (o["load-addr"] !== undefined) throw new WasmvisorError("--load-addr does not apply to --kernel");
    bootKernel(vm, buf, path, o.initrd !== undefined ? readInputFile(o.initrd) : undefined, o.append ?? "console=ttyS0", bios, o.bios);
  } else if (isElf(buf)) {
    if (o["load-addr"] !== undefined) throw new WasmvisorError("--load-addr applies to raw binaries, not ELF images");
    img = vm.loadElf(buf, path);
  } else {
    vm.loadRaw(buf, o["load-addr"] !== undefined ? parseAddr(o["load-addr"], "--load-addr") : DEFAULT_RAM_BASE, path);
  }
  if (o.htif && !img?.symbols.has("tohost")) throw new WasmvisorError(`${path}: --htif needs an ELF with a tohost symbol`);
  let sigRange: [bigint, bigint] | undefined;
  if (o.signature !== undefined) {
    const b = img?.symbols.get("begin_signature"), e = img?.symbols.get("end_signature");
    if (b === undefined || e === undefined) throw new WasmvisorError(`${path}: --signature needs begin_signature and end_signature symbols`);
    if (e < b) throw new WasmvisorError(`${path}: end_signature lies before begin_signature`);
    vm.checkRam(b, Number(e - b), "signature");
    sigRange = [b, e];
  }

  if (o.io !== undefined && o.io !== "thread" && o.io !== "sync") throw new WasmvisorError(`--io: want thread or sync (got ${o.io})`);
  const specs: DeviceSpec[] = [
    ...(o.disk ?? []).map(parseDiskSpec),
    ...(o.nic ?? []).map((mac): DeviceSpec => ({ kind: "net", mac })),
    ...(o.rng ? [{ kind: "rng" } as DeviceSpec] : []),
    ...(o["virtio-console"] ? [{ kind: "console" } as DeviceSpec] : []),
  ];
  const bridges = await openBridges(o.bridge);
  if (specs.length) {
    await attachDevices(vm, specs, { io: o.io === "sync" || (o.io === undefined && o.deterministic) ? "sync" : "thread", onConsole: consoleOut });
  }
  return runAndReport(vm, o, { sigRange, gran, timeoutMs, maxInsns, bridges });
}

/** Options shared by run, restore and incoming: what happens while and after the guest runs. */
interface RunFlags {
  trace?: boolean; "trace-file"?: string; stats?: boolean; signature?: string;
  control?: string; checkpoint?: string; "checkpoint-every"?: string; "time-slot"?: string; "checkpoint-on"?: string;
  "snapshot-on-exit"?: string; digest?: boolean; "compress-level"?: string;
}
const RUN_FLAG_OPTIONS = {
  trace: { type: "boolean" }, "trace-file": { type: "string" }, stats: { type: "boolean" },
  control: { type: "string" }, checkpoint: { type: "string" }, "checkpoint-every": { type: "string" },
  "time-slot": { type: "string" }, "checkpoint-on": { type: "string" }, "snapshot-on-exit": { type: "string" }, digest: { type: "boolean" },
  timeout: { type: "string" }, "max-insns": { type: "string" }, "compress-level": { type: "string" },
} as const;

/** --compress-level N: an integer 0 (stored, no compression) to 9 (smallest); undefined if not given. */
function parseLevel(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9]$/.test(s)) throw new WasmvisorError(`--compress-level: want 0 (none) to 9 (smallest) (got ${s})`);
  return Number(s);
}

/**
 * Runs a prepared VM with the console attached, the control socket and checkpoint policy if asked, then prints
 * what was asked (stats, digest, signature) and maps the outcome to an exit code.
 */
async function runAndReport(vm: Vm, o: RunFlags, x: {
  sigRange?: [bigint, bigint]; gran?: number; timeoutMs?: number; maxInsns?: bigint; bridges?: { close(): void }[]; ctl?: VmController;
}): Promise<number> {
  const { sigRange, gran = 4, timeoutMs, maxInsns } = x;
  const ctl = x.ctl ?? new VmController(vm);
  ctl.level = parseLevel(o["compress-level"]);
  const everyS = o["checkpoint-every"] !== undefined ? parseNumber(o["checkpoint-every"], "--checkpoint-every") : undefined;
  const slotS = o["time-slot"] !== undefined ? parseNumber(o["time-slot"], "--time-slot") : undefined;
  if ((everyS !== undefined || slotS !== undefined || o["checkpoint-on"] !== undefined) && o.checkpoint === undefined) {
    throw new WasmvisorError("--checkpoint-every, --time-slot and --checkpoint-on need --checkpoint FILE");
  }
  // With a checkpoint file, SIGTERM (a batch system's end of the job) checkpoints and stops unless told otherwise.
  const on = o["checkpoint-on"] ?? "SIGTERM";
  const signals = on === "none" ? [] : on.split(",").map((x) => x.trim().toUpperCase()).map((x) => (x.startsWith("SIG") ? x : `SIG${x}`));
  const policyCfg: CheckpointPolicy | undefined = o.checkpoint === undefined ? undefined : {
    file: o.checkpoint, everyMs: everyS !== undefined ? everyS * 1000 : undefined, timeSlotMs: slotS !== undefined ? slotS * 1000 : undefined, signals,
  };
  if (policyCfg) checkPolicy(policyCfg); // (refused before the console and the control socket are taken)
  let traceFd: number | undefined;
  let traceOut: ((l: string) => void) | undefined;
  if (o["trace-file"] !== undefined) {
    traceFd = openSync(o["trace-file"], "w");
    traceOut = (l) => writeSync(traceFd!, l + "\n");
  } else if (o.trace) {
    traceOut = (l) => writeSync(2, l + "\n");
  }
  const input = vm.consoleInput;
  const mon: MonitorState = { paused: false, quit: false };
  const detach = attachConsole(input, vm, mon, () => ctl.nudge());
  const control = o.control !== undefined ? await serveControl(o.control, ctl, (h, p, psk, prog, policy) => migrateOut(ctl, h, p, psk, prog, policy)) : undefined;
  const say = (m: string) => process.stderr.write(`wasmvisor: ${m}\n`);
  const policy = policyCfg ? startCheckpointPolicy(ctl, policyCfg,
    (e) => {
      const why = e.why === "periodic" ? "periodic" : e.why === "signal" ? `${e.signal} received` : `time slot of ${slotS} s used`;
      if (e.result) {
        const r = e.result;
        say(`${why}: checkpoint ${e.file} (${r.pages} pages, ${(r.bytes / 1048576).toFixed(1)} MiB; ` +
          `${r.incremental ? "incremental, folded in" : "full"}; guest paused ${r.pausedMs.toFixed(1)} ms)`);
      } else if (e.why === "periodic") say(`checkpoint failed: ${e.error!.message}`);
      else say(`${why}: the checkpoint failed, stopping anyway: ${e.error!.message}`);
    }, progressReporter(process.stderr, "checkpoint")) : undefined;
  // Disk images are not in checkpoints: a restore from a periodic one finds each disk as the guest left it later.
  const writable = vm.devices?.slots.filter((x) => x.spec.kind === "blk" && !x.spec.readonly).map((x) => (x.spec as { path: string }).path) ?? [];
  if (policyCfg?.everyMs !== undefined && writable.length) {
    say(`note: periodic checkpoints do not contain disk images (${writable.join(", ")}): restored from one after a crash, ` +
      "the guest finds its disk as it later left it; a checkpoint at the time slot or on a signal matches its disks");
  }
  let result: RunResult;
  const monCtl = ctl.runOptions();
  ctl.running = true;
  try {
    result = await runToExit(vm, {
      timeoutMs, maxInsns, trace: traceOut, input, ...monCtl,
      control: () => (mon.quit ? "quit" : mon.paused ? "pause" : monCtl.control!()),
      onConsole: consoleOut,
    });
  } finally {
    ctl.running = false;
    detach();
    policy?.stop();
    control?.close();
    if (traceFd !== undefined) closeSync(traceFd);
  }
  try {
    if (o["snapshot-on-exit"] !== undefined && result.reason !== "detached") {
      const r = await ctl.snapshot(o["snapshot-on-exit"], { onProgress: progressReporter(process.stderr, "snapshot") });
      say(`snapshot ${o["snapshot-on-exit"]} (${r.pages} pages, ${(r.bytes / 1048576).toFixed(1)} MiB)`);
    }
    if (o.digest) { await vm.lazy?.complete(); say(`state digest ${vmDigest(vm)} at instret ${vm.instret}`); }
  } finally {
    await vm.lazy?.abandon();
    await vm.devices?.close();
    for (const b of x.bridges ?? []) b.close();
  }
  if (result.reason === "detached") { say("the VM migrated; this process is done"); return ExitCode.OK; }
  const stopped = policy?.stopped;
  if (stopped) {
    say(`stopped ${stopped.why === "signal" ? `on ${stopped.signal}` : "at the end of its time slot"}; resume with: wasmvisor restore ${o.checkpoint}`);
    return ExitCode.TIMEOUT;
  }
  if (sigRange) writeFileAtomic(o.signature!, formatSignature(vm.readPhys(sigRange[0], Number(sigRange[1] - sigRange[0])), gran));
  if (o.stats) {
    const s = vm.stats();
    const mips = Number(result.instret) / (result.wallMs * 1000);
    const hitRate = s.memAccesses > 0n ? `${(100 * (1 - Number(s.tlbMisses) / Number(s.memAccesses))).toFixed(2)}%` : "n/a";
    process.stderr.write(`wasmvisor: ${result.instret} instructions in ${result.wallMs.toFixed(1)} ms (${mips.toFixed(1)} MIPS); ` +
      `tlb misses ${s.tlbMisses} (data hit rate ${hitRate}), page walks ${s.pageWalks}, tlb flushes ${s.tlbFlushes}, traps ${s.traps}, mmio ${s.mmio}; ` +
      `guest memory ${Number(s.guestFrames) * 4} KiB in use, G-stage tables ${Number(s.tableFrames) * 4} KiB; ` +
      `exits to the host: ${Object.entries(result.exits).map(([k, v]) => `${k} ${v}`).join(", ") || "none"}\n`);
  }
  const where = () => {
    const k = vm.core.k, h = (o: number) => vm.hartU64(o).toString(16);
    return `pc 0x${vm.pc.toString(16)}, priv ${vm.priv}, mcause 0x${h(k.HART_MCAUSE)} mepc 0x${h(k.HART_MEPC)}, ` +
      `scause 0x${h(k.HART_SCAUSE)} sepc 0x${h(k.HART_SEPC)}`;
  };
  if (result.reason === "timeout") { process.stderr.write(`wasmvisor: timeout after ${(timeoutMs! / 1000)} s (${where()})\n`); return ExitCode.TIMEOUT; }
  if (result.reason === "max-insns") { process.stderr.write(`wasmvisor: stopped after ${maxInsns} instructions (pc 0x${vm.pc.toString(16)})\n`); return ExitCode.TIMEOUT; }
  const exit = result.exit!;
  if (exit.kind === "htif") {
    if (exit.code === 0) return ExitCode.OK;
    process.stderr.write(`wasmvisor: FAIL: test ${exit.code}\n`);
    return ExitCode.GUEST_FAIL;
  }
  if (exit.kind === "reset") {
    process.stderr.write("wasmvisor: the guest asked for a reboot, which is not supported yet\n");
    return ExitCode.GUEST_ERROR;
  }
  if (exit.code !== 0) {
    process.stderr.write(`wasmvisor: guest powered off with exit code ${exit.code}\n`);
    return (exit.code & 0xff) || ExitCode.GUEST_FAIL;
  }
  return ExitCode.OK;
}

function parseSub(argv: string[], usage: string, options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>) {
  try {
    const r = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...options, help: { type: "boolean", short: "h" } } });
    if (r.values.help) { process.stdout.write(usage + "\n"); return null; }
    return r;
  } catch (e) {
    throw new WasmvisorError(`${(e as Error).message.split("\n")[0]} (see wasmvisor --help)`);
  }
}

const RESTORE_USAGE = `usage: wasmvisor restore [options] SNAPSHOT
Starts the VM saved in SNAPSHOT (a full snapshot, or the newest of an incremental chain) in this process and runs
it as 'run' does. Options: --io thread|sync, --bridge LPORT:HOST:PORT, --timeout S, --max-insns N, --stats,
--digest, --control PATH, --checkpoint FILE, --checkpoint-every S, --time-slot S, --checkpoint-on SIGS, --snapshot-on-exit FILE,
--compress-level N.`;

async function cmdRestore(argv: string[]): Promise<number> {
  const r = parseSub(argv, RESTORE_USAGE, { ...RUN_FLAG_OPTIONS, io: { type: "string" }, bridge: { type: "string", multiple: true } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 1) throw new WasmvisorError("restore: expected one snapshot file (see wasmvisor restore --help)");
  const o = r.values as RunFlags & { io?: string; bridge?: string[]; timeout?: string; "max-insns"?: string };
  if (o.io !== undefined && o.io !== "thread" && o.io !== "sync") throw new WasmvisorError(`--io: want thread or sync (got ${o.io})`);
  const bridges = await openBridges(o.bridge);
  const t0 = performance.now();
  const { vm, parent } = await restoreSnapshot(resolvePath(r.positionals[0]), Vm.abiVersion(), { io: o.io as "thread" | "sync" | undefined, onConsole: consoleOut });
  if (process.env.WASMVISOR_VERBOSE) process.stderr.write(`wasmvisor: restored in ${(performance.now() - t0).toFixed(1)} ms\n`);
  const ctl = new VmController(vm);
  ctl.last = parent;
  return runAndReport(vm, o, {
    ctl, bridges,
    ...parseLimits(o),
  });
}

async function cmdSnapshot(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor snapshot [--incremental] [--compress-level N] CONTROL-SOCKET FILE
Snapshots the VM started with 'wasmvisor run --control CONTROL-SOCKET' (it pauses, is saved, and resumes).
--incremental saves only the pages written since that VM's previous snapshot, naming it as the parent.
--compress-level N: DEFLATE level, 0 (none: fastest on a fast disk, largest file) to 9 (smallest); default: the
VM's own (its --compress-level), else 1.`;
  const r = parseSub(argv, usage, { incremental: { type: "boolean" }, "compress-level": { type: "string" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 2) throw new WasmvisorError("snapshot: expected CONTROL-SOCKET and FILE (see wasmvisor snapshot --help)");
  const v = r.values as { incremental?: boolean; "compress-level"?: string };
  const level = parseLevel(v["compress-level"]);
  const rep = progressReporter(process.stderr, "snapshot");
  const res = await controlRequest(r.positionals[0], { cmd: "snapshot", path: resolvePath(r.positionals[1]), incremental: !!v.incremental, level }, rep);
  rep.finish();
  process.stdout.write(`${res.path}: ${res.pages} pages, ${res.bytes} bytes, digest ${res.digest}, guest paused ${Number(res.pausedMs).toFixed(1)} ms\n`);
  return ExitCode.OK;
}

async function cmdMerge(argv: string[]): Promise<number> {
  const r = parseSub(argv, `usage: wasmvisor merge [--compress-level N] SNAPSHOT OUT
Merges an incremental chain ending in SNAPSHOT into one full snapshot OUT. Chunks whose pages are all current are
copied as they are; the others are packed again at --compress-level N (0 none to 9 smallest; default 1).`, { "compress-level": { type: "string" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 2) throw new WasmvisorError("merge: expected SNAPSHOT and OUT (see wasmvisor merge --help)");
  const level = parseLevel((r.values as { "compress-level"?: string })["compress-level"]);
  const res = await mergeToFull(resolvePath(r.positionals[0]), resolvePath(r.positionals[1]), undefined, level);
  process.stdout.write(`${r.positionals[1]}: ${res.pages} pages, ${res.bytes} bytes, digest ${res.digest}\n`);
  return ExitCode.OK;
}

async function cmdInspect(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor inspect [--memory] [--json] SNAPSHOT
Validates SNAPSHOT and every parent it names, as a restore would (every record's checksum, the configuration,
each parent's digest), without restoring it, and prints what they hold. --memory also unpacks every memory chunk of
every file and checks its pages. --json prints the report as JSON. Exit 0 if intact, 2 (one line) if not.`;
  const r = parseSub(argv, usage, { memory: { type: "boolean" }, json: { type: "boolean" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 1) throw new WasmvisorError("inspect: expected one snapshot file (see wasmvisor inspect --help)");
  const v = r.values as { memory?: boolean; json?: boolean };
  const rep = await inspectSnapshot(resolvePath(r.positionals[0]), { memory: !!v.memory });
  process.stdout.write(v.json ? JSON.stringify(rep, null, 2) + "\n" : formatReport(rep).join("\n") + "\n");
  return ExitCode.OK;
}

async function cmdMigrate(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor migrate [--downtime MS] [--max-rounds N] [--no-throttle] --psk FILE CONTROL-SOCKET HOST:PORT
Live-migrates the VM started with 'wasmvisor run --control CONTROL-SOCKET' to 'wasmvisor incoming' listening at
HOST:PORT. Both ends prove they hold the pre-shared key in FILE. The source stops only once the target runs the VM.
A guest that dirties memory faster than it can be sent is throttled (kept off the CPU 20 % of the time, then more,
up to 90 %) until the rest fits the downtime target; --no-throttle stops and copies it as it is instead.
  --downtime MS     the downtime target: stop and copy once the rest can be sent within it (default 60)
  --max-rounds N    at most N pre-copy rounds, then stop and copy whatever is left (default 30)`;
  const r = parseSub(argv, usage, { psk: { type: "string" }, "no-throttle": { type: "boolean" }, downtime: { type: "string" }, "max-rounds": { type: "string" } });
  if (!r) return ExitCode.OK;
  const psk = (r.values as { psk?: string }).psk;
  if (r.positionals.length !== 2 || !psk) throw new WasmvisorError("migrate: expected --psk FILE, CONTROL-SOCKET and HOST:PORT");
  const m = /^(.+):(\d+)$/.exec(r.positionals[1]);
  if (!m) throw new WasmvisorError(`migrate: '${r.positionals[1]}' is not HOST:PORT`);
  const rep = progressReporter(process.stderr, "migrate");
  const v = r.values as { "no-throttle"?: boolean; downtime?: string; "max-rounds"?: string };
  const policy: Record<string, unknown> = {};
  if (v["no-throttle"]) policy.autoConverge = false;
  if (v.downtime !== undefined) {
    policy.downtimeMs = parseNumber(v.downtime, "--downtime");
    if (Number(policy.downtimeMs) > 60_000) throw new WasmvisorError(`--downtime: '${v.downtime}' is over a minute`);
  }
  if (v["max-rounds"] !== undefined) {
    const n = parseNumber(v["max-rounds"], "--max-rounds");
    if (!Number.isInteger(n) || n > 1000) throw new WasmvisorError(`--max-rounds: '${v["max-rounds"]}' is not a whole number of rounds up to 1000`);
    policy.maxRounds = n;
  }
  const res = await controlRequest(r.positionals[0], { cmd: "migrate", host: m[1], port: Number(m[2]), psk: resolvePath(psk), ...policy }, rep);
  rep.finish();
  const throttled = Number(res.maxThrottle) > 0 ? `, guest throttled up to ${Math.round(Number(res.maxThrottle) * 100)} % to converge` : "";
  process.stdout.write(`migrated: ${res.rounds} rounds, ${res.pagesSent} pages, ${res.bytesSent} bytes in ${Number(res.totalMs).toFixed(0)} ms, downtime ${Number(res.downtimeMs).toFixed(1)} ms${throttled}\n`);
  return ExitCode.OK;
}

async function cmdIncoming(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor incoming --listen [HOST:]PORT --psk FILE [--wait SECONDS] [run options]
Waits for a live migration ('wasmvisor migrate'), then runs the VM as 'run' does (same options as restore).
A connection that does not prove the key, and a migration that fails, are reported and the waiting goes on;
--wait gives up after SECONDS without a migration under way (exit 2).`;
  const r = parseSub(argv, usage, { ...RUN_FLAG_OPTIONS, listen: { type: "string" }, psk: { type: "string" }, io: { type: "string" }, bridge: { type: "string", multiple: true }, wait: { type: "string" } });
  if (!r) return ExitCode.OK;
  const o = r.values as RunFlags & { listen?: string; psk?: string; io?: string; bridge?: string[]; timeout?: string; "max-insns"?: string; wait?: string };
  const waitS = o.wait !== undefined ? parseNumber(o.wait, "--wait") : undefined;
  const giveUp = waitS !== undefined ? AbortSignal.timeout(waitS * 1000) : undefined;
  if (!o.listen || !o.psk) throw new WasmvisorError("incoming: needs --listen [HOST:]PORT and --psk FILE");
  const m = /^(?:(.+):)?(\d+)$/.exec(o.listen);
  if (!m) throw new WasmvisorError(`--listen: '${o.listen}' is not [HOST:]PORT`);
  const psk = resolvePath(o.psk);
  const server = await listenForMigration(m[1] ?? "127.0.0.1", Number(m[2]), psk, `--listen ${o.listen}`);
  let bridges;
  try { bridges = await openBridges(o.bridge); } catch (e) { server.close(); throw e; }
  const where = `${m[1] ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  process.stderr.write(`wasmvisor: waiting for a migration on ${where}\n`);
  // Until a migration succeeds: a connection that does not authenticate, or a migration that fails (the source
  // keeps its VM), leaves this process waiting for the next, with a line saying why.
  const onRefused = refusedReporter((line) => process.stderr.write(`wasmvisor: ${line}\n`));
  let got;
  try {
    got = await receiveMigration(server, psk, {
      io: o.io as "thread" | "sync" | undefined, onConsole: consoleOut, onRefused, signal: giveUp,
      onFailed: (e) => process.stderr.write(`wasmvisor: migration failed: ${e.message}; waiting for another on ${where}\n`),
    });
  } catch (e) {
    if (giveUp?.aborted) throw new WasmvisorError(`incoming: no migration came within ${waitS} s (--wait)`);
    throw e;
  } finally {
    server.close();
  }
  const ctl = new VmController(got.vm);
  await got.confirm();
  return runAndReport(got.vm, o, {
    ctl, bridges,
    ...parseLimits(o),
  });
}

function resolvePath(p: string): string { return resolve(p); }

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") { process.stdout.write(USAGE + "\n"); return cmd === undefined ? ExitCode.USAGE : ExitCode.OK; }
  if (cmd === "--version") {
    process.stdout.write(JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version + "\n");
    return ExitCode.OK;
  }
  if (cmd === "run") return cmdRun(rest);
  if (cmd === "restore") return cmdRestore(rest);
  if (cmd === "snapshot") return cmdSnapshot(rest);
  if (cmd === "merge") return cmdMerge(rest);
  if (cmd === "inspect") return cmdInspect(rest);
  if (cmd === "migrate") return cmdMigrate(rest);
  if (cmd === "incoming") return cmdIncoming(rest);
  throw new WasmvisorError(`unknown command '${cmd}' (see wasmvisor --help)`);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof WasmvisorError) {
      process.stderr.write(`wasmvisor: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`wasmvisor: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = ExitCode.INTERNAL;
    }
  },
);
