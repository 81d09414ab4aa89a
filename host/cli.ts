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
  -h, --help                 show this help
  --version                  print the version

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
function attachConsole(input: InputQueue, vm: Vm, mon: MonitorState): () => void {
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

/** Atomic file write: temp file, fsync, rename. */
function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, "r+");
  try { fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, path);
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
  const timeoutMs = o.timeout !== undefined ? parseNumber(o.timeout, "--timeout") * 1000 : undefined;
  const maxInsns = o["max-insns"] !== undefined ? BigInt(Math.floor(parseNumber(o["max-insns"], "--max-insns"))) : undefined;

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

  let traceFd: number | undefined;
  let traceOut: ((l: string) => void) | undefined;
  if (o["trace-file"] !== undefined) {
    traceFd = openSync(o["trace-file"], "w");
    traceOut = (l) => writeSync(traceFd!, l + "\n");
  } else if (o.trace) {
    traceOut = (l) => writeSync(2, l + "\n");
  }
  if (o.io !== undefined && o.io !== "thread" && o.io !== "sync") throw new WasmvisorError(`--io: want thread or sync (got ${o.io})`);
  const specs: DeviceSpec[] = [
    ...(o.disk ?? []).map(parseDiskSpec),
    ...(o.nic ?? []).map((mac): DeviceSpec => ({ kind: "net", mac })),
    ...(o.rng ? [{ kind: "rng" } as DeviceSpec] : []),
    ...(o["virtio-console"] ? [{ kind: "console" } as DeviceSpec] : []),
  ];
  const bridges = [];
  for (const b of o.bridge ?? []) bridges.push(await udpBridge(defaultSwitch, b));
  if (specs.length) {
    await attachDevices(vm, specs, { io: o.io === "sync" || (o.io === undefined && o.deterministic) ? "sync" : "thread", onConsole: consoleOut });
  }
  const input = new InputQueue();
  const mon: MonitorState = { paused: false, quit: false };
  const detach = attachConsole(input, vm, mon);
  let result: RunResult;
  try {
    result = await runToExit(vm, {
      timeoutMs, maxInsns, trace: traceOut, input,
      control: () => (mon.quit ? "quit" : mon.paused ? "pause" : "run"),
      onConsole: consoleOut,
    });
  } finally {
    detach();
    if (traceFd !== undefined) closeSync(traceFd);
    await vm.devices?.close();
    for (const b of bridges) b.close();
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

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") { process.stdout.write(USAGE + "\n"); return cmd === undefined ? ExitCode.USAGE : ExitCode.OK; }
  if (cmd === "--version") {
    process.stdout.write(JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version + "\n");
    return ExitCode.OK;
  }
  if (cmd === "run") return cmdRun(rest);
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
