// Running a prepared VM from the command line (run, restore, incoming): the console and its monitor, the control
// socket, the checkpoint policy, and what is printed and returned when the run ends.
import { writeSync, openSync, closeSync } from "node:fs";
import { ExitCode, WasmvisorError } from "../errors.js";
import type { Vm } from "../vm.js";
import { runToExit, type RunResult, type InputQueue } from "../runner.js";
import { formatSignature } from "../signature.js";
import { monitorCommand, type MonitorControl } from "../monitor.js";
import { defaultSwitch, udpBridge } from "../virtio/switch.js";
import { VmController } from "../controller.js";
import { progressReporter } from "../progress.js";
import { checkPolicy, startCheckpointPolicy, type CheckpointPolicy } from "../policy.js";
import { vmDigest } from "../snapshot/vmstate.js";
import { parseNumber, parseLevel, writeFileAtomic } from "./args.js";

/** Options shared by run, restore and incoming: what happens while and after the guest runs. */
export interface RunFlags {
  trace?: boolean; "trace-file"?: string; stats?: boolean; signature?: string;
  control?: string; checkpoint?: string; "checkpoint-every"?: string; "time-slot"?: string; "checkpoint-on"?: string;
  "snapshot-on-exit"?: string; digest?: boolean; "compress-level"?: string;
}
export const RUN_FLAG_OPTIONS = {
  trace: { type: "boolean" }, "trace-file": { type: "string" }, stats: { type: "boolean" },
  control: { type: "string" }, checkpoint: { type: "string" }, "checkpoint-every": { type: "string" },
  "time-slot": { type: "string" }, "checkpoint-on": { type: "string" }, "snapshot-on-exit": { type: "string" }, digest: { type: "boolean" },
  timeout: { type: "string" }, "max-insns": { type: "string" }, "compress-level": { type: "string" },
} as const;

/**
 * Feeds stdin to the guest's console. A terminal is switched to raw mode (keys go to the guest as typed) and
 * Ctrl-A X quits, as in QEMU; a pipe or file is passed through until its end. Returns a function that detaches.
 */
function attachConsole(input: InputQueue, vm: Vm, mon: MonitorControl): () => void {
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

/** Joins this process's virtual switch to others over UDP (--bridge, repeatable). */
export async function openBridges(specs: string[] | undefined): Promise<{ close(): void }[]> {
  const out: { close(): void }[] = [];
  for (const b of specs ?? []) out.push(await udpBridge(defaultSwitch, b));
  return out;
}

/** Writes guest console output to stdout; once the reader has gone (EPIPE, e.g. `| head`) output is dropped. */
let stdoutGone = false;
export function consoleOut(b: Uint8Array): void {
  if (stdoutGone) return;
  try { writeSync(1, b); } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EPIPE") stdoutGone = true;
    else if ((e as NodeJS.ErrnoException).code === "EAGAIN") { /* a non-blocking terminal is full: drop, as a serial line would */ }
    else throw e;
  }
}

/**
 * Runs a prepared VM with the console attached, the control socket and checkpoint policy if asked, then prints
 * what was asked (stats, digest, signature) and maps the outcome to an exit code.
 */
export async function runAndReport(vm: Vm, o: RunFlags, x: {
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
  const detach = attachConsole(input, vm, ctl);
  // (The control socket, and the migration it can start, are loaded only when asked for.)
  const control = o.control !== undefined
    ? await (await import("../control.js")).serveControl(o.control, ctl,
      async (h, p, psk, prog, policy) => (await import("../migrate/migrate.js")).migrateOut(ctl, h, p, psk, prog, policy))
    : undefined;
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
  let result: RunResult;
  ctl.running = true;
  try {
    result = await runToExit(vm, {
      timeoutMs, maxInsns, trace: traceOut, input, ...ctl.runOptions(),
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
