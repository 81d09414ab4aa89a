// `wasmvisor run`: boots a VM from an ELF image, a raw image, a kernel or a VM configuration file, and runs it.
import { parseArgs } from "node:util";
import { ExitCode, WasmvisorError } from "../errors.js";
import { Vm, DEFAULT_RAM_BASE, DEFAULT_MEM_BYTES } from "../vm.js";
import { isElf, type ElfImage } from "../elf.js";
import { bootKernel } from "../boot.js";
import { loadVmConfig } from "../config.js";
import { readInputFile } from "../files.js";
import { attachDevices, parseDiskSpec, type DeviceSpec } from "../virtio/devices.js";
import { parseSize, parseAddr, parseNumber, parseLimits } from "./args.js";
import { openBridges, runAndReport, consoleOut } from "./session.js";

export const USAGE = `usage: wasmvisor run [options] <image>
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
  wasmvisor pause | resume CONTROL-SOCKET               suspend a VM started with --control (devices quiesced) / resume it
  wasmvisor info | quit CONTROL-SOCKET                  where that VM is (instructions, pc, paused) / end it (exit 0)

exit codes: 0 guest passed / powered off with 0; 1 guest reported failure; N the guest's own
poweroff code; 2 usage or bad input; 3 timeout; 4 guest error; 70 internal error`;

export async function cmdRun(argv: string[]): Promise<number> {
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
