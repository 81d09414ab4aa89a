// The embedding API: `createVm(config)` gives a VM object that runs in the background of the event loop, with
// start/pause/resume/stop, console streams, events and counters — what the CLI uses, packaged for programs.
import { EventEmitter } from "node:events";
import { PassThrough, Writable } from "node:stream";
import { Vm, DEFAULT_MEM_BYTES } from "./vm.js";
import { runToExit, type RunResult } from "./runner.js";
import { isElf } from "./elf.js";
import { bootKernel } from "./boot.js";
import { WasmvisorError } from "./errors.js";
import { readInputFile } from "./files.js";
import { attachDevices, type DeviceSpec } from "./virtio/devices.js";
import type { VirtualSwitch } from "./virtio/switch.js";
import { VmController } from "./controller.js";
import { restoreSnapshot } from "./snapshot/ops.js";
import type { WriteResult } from "./snapshot/format.js";
import type { Progress } from "./progress.js";
import { migrateOut, receiveMigration, type MigrationPolicy } from "./migrate/migrate.js";
import { listenForMigration } from "./migrate/accept.js";
import type { AddressInfo } from "node:net";
import { checkPolicy, startCheckpointPolicy, type CheckpointEvent, type CheckpointPolicy } from "./policy.js";
import { checkLevel } from "./snapshot/format.js";

export interface VmConfig {
  /** Guest RAM in bytes (default 128 MiB). */
  memory?: number;
  /** A bare-metal program (ELF64 or raw) started in M-mode; a path or its bytes. */
  image?: string | Uint8Array;
  /** Where a raw image is loaded (default RAM base). */
  loadAddr?: bigint;
  /** An S-mode kernel (Linux Image or ELF), booted directly unless `bios` is given. */
  kernel?: string | Uint8Array;
  initrd?: string | Uint8Array;
  /** Kernel command line (default "console=ttyS0"). */
  append?: string;
  /** M-mode firmware (e.g. OpenSBI fw_dynamic.bin) for the firmware boot path. */
  bios?: string | Uint8Array;
  /** Reproducible time (derived from retired instructions). */
  deterministic?: boolean;
  /** virtio-mmio devices, in slot order (slot i: 0x1000_1000 + i * 0x1000, PLIC source 1 + i). */
  devices?: DeviceSpec[];
  /** Who serves the devices: an I/O thread (default) or the vCPU's thread ("sync"; the default when deterministic). */
  io?: "thread" | "sync";
  /** The virtual switch its virtio-net devices join (default: the process's switch). */
  switch?: VirtualSwitch;
  /** Limits. */
  timeoutMs?: number;
  maxInsns?: bigint;
  /**
   * The checkpoint policy (as `wasmvisor run --checkpoint FILE --checkpoint-every S --time-slot S --checkpoint-on
   * SIGNALS`): `file` always holds the newest complete checkpoint; one every `everyMs` while the guest runs; after
   * `timeSlotMs` a checkpoint, then the run ends with reason "time-slot", and on one of `signals` (names, as
   * "SIGTERM"; handled for the whole process while the VM runs) a checkpoint, then the run ends with reason "signal"
   * (restoreVm(file) continues it). Each is reported as a `checkpoint` event. Nothing is installed for signals unless
   * they are listed.
   */
  checkpoint?: CheckpointPolicy;
  /** DEFLATE level of this VM's snapshots and checkpoints: 0 (stored) to 9; default 1 (`--compress-level`). */
  compressLevel?: number;
}

export type VmState = "created" | "running" | "paused" | "stopped";

export interface VirtualMachineEvents {
  /** Guest console output (also on `console`). */
  output: [Uint8Array];
  state: [VmState];
  /** The first run slice has returned: the harts run (or wait in WFI, if that is where a snapshot saved them). */
  running: [];
  /** The run ended: how (poweroff code, HTIF result), or why it was stopped. */
  exit: [RunResult];
  error: [Error];
  /** Progress of a snapshot, a checkpoint or a migration (bytes, phase). */
  progress: [Progress];
  /** The checkpoint policy took a checkpoint (or failed to: `error`; a periodic failure does not stop the guest). */
  checkpoint: [CheckpointEvent];
}

const bytes = (v: string | Uint8Array, what: string): Uint8Array => (typeof v === "string" ? readInputFile(v, what) : v);

export class VirtualMachine extends EventEmitter<VirtualMachineEvents> {
  /** The guest's console output as a stream. */
  readonly console = new PassThrough();
  /** Console input: bytes written here reach the guest's UART. */
  readonly input: Writable;
  readonly vm: Vm;
  readonly controller: VmController;
  private _state: VmState = "created";
  private done: Promise<RunResult> | undefined;
  private readonly restored: boolean;

  constructor(readonly config: VmConfig, restored?: Vm) {
    super();
    // (The VM's own queue, so that snapshots and migrations carry input the guest has not read yet.)
    const q = () => this.vm.consoleInput;
    this.input = new Writable({ write(chunk: Buffer, _enc, cb) { q().push(new Uint8Array(chunk)); cb(); }, final(cb) { q().end(); cb(); } });
    if (config.checkpoint) checkPolicy(config.checkpoint);
    checkLevel(config.compressLevel);
    this.restored = restored !== undefined;
    this.vm = restored ?? VirtualMachine.boot(config);
    this.controller = new VmController(this.vm);
    this.controller.level = config.compressLevel;
  }

  /** A new machine with the config's image or kernel loaded, not yet run. */
  private static boot(config: VmConfig): Vm {
    const vm = Vm.create({ memBytes: config.memory ?? DEFAULT_MEM_BYTES, deterministic: config.deterministic, romBytes: config.bios ? 4096 : 0 });
    if ((config.image === undefined) === (config.kernel === undefined)) throw new WasmvisorError("give exactly one of image or kernel");
    if (config.kernel !== undefined) {
      bootKernel(vm, bytes(config.kernel, "kernel"), "kernel", config.initrd ? bytes(config.initrd, "initrd") : undefined,
        config.append ?? "console=ttyS0", config.bios ? bytes(config.bios, "bios") : undefined, "bios");
    } else {
      const img = bytes(config.image!, "image");
      if (isElf(img)) vm.loadElf(img); else vm.loadRaw(img, config.loadAddr ?? vm.ramBase);
    }
    return vm;
  }

  get state(): VmState { return this._state; }
  private setState(s: VmState): void { this._state = s; this.emit("state", s); }

  /** Starts the guest; resolves when it ends (also emitted as `exit`). */
  start(): Promise<RunResult> {
    if (this.done) return this.done;
    if (this._state === "stopped") return Promise.reject(new WasmvisorError("this VM was closed before it ran: it cannot start"));
    this.setState("running");
    const out = (b: Uint8Array) => { this.console.write(b); this.emit("output", b); };
    const c = this.config;
    const attached = c.devices?.length && !this.restored
      ? attachDevices(this.vm, c.devices, { io: c.io ?? (c.deterministic ? "sync" : "thread"), onConsole: out, sw: c.switch })
      : Promise.resolve(undefined);
    const ctl = this.controller;
    let policy: ReturnType<typeof startCheckpointPolicy> | undefined;
    this.done = attached.then(async () => {
      ctl.running = true;
      if (c.checkpoint) policy = startCheckpointPolicy(ctl, c.checkpoint, (e) => this.emit("checkpoint", e), (p) => this.emit("progress", p));
      const r = await runToExit(this.vm, {
        timeoutMs: this.config.timeoutMs, maxInsns: this.config.maxInsns, input: this.vm.consoleInput,
        onConsole: out, onRunning: () => this.emit("running"), ...ctl.runOptions(),
      });
      // (The policy ended the run through the controller, after its checkpoint: not the guest's poweroff.)
      const stopped = policy?.stopped;
      return stopped ? { ...r, exit: null, reason: stopped.why } : r;
    }).finally(async () => { policy?.stop(); ctl.running = false; await this.vm.lazy?.abandon(); await this.vm.devices?.close(); })
      .then((r) => { this.setState("stopped"); this.console.end(); this.emit("exit", r); return r; },
        (e: Error) => { this.setState("stopped"); this.console.end(); this.emit("error", e); throw e; });
    return this.done;
  }

  /**
   * Suspends the guest: it stops at an instruction boundary, its devices complete what it asked of them, and nothing
   * more reaches its memory (network frames and console input wait) until resume(); it notices only time passing.
   * Resolves once all that holds (at once if the VM is not running or paused).
   */
  pause(): Promise<void> {
    if (this._state !== "running" && this._state !== "paused") return Promise.resolve();
    const p = this.controller.pause();
    this.setState("paused");
    return p;
  }
  resume(): void { if (this._state === "paused") { this.controller.resume(); this.setState("running"); } }
  /** Ends the VM (as a poweroff with code 0 if it was running); one never started lets go of what it holds (close()). */
  stop(): Promise<RunResult> | undefined {
    if (!this.done) { void this.close(); return undefined; }
    this.controller.quit();
    return this.done;
  }

  /**
   * Ends the VM if it runs, and resolves once it holds nothing more: its devices (I/O thread, disk image locks) and,
   * for a restored VM, the snapshot files its memory is still read from. A VM that was started lets go of all this
   * when its run ends; one that was created or restored and is not to run must be closed (or its disks stay locked
   * until the process exits).
   */
  async close(): Promise<void> {
    if (this.done) { this.controller.quit(); await this.done.catch(() => {}); return; }
    if (this._state === "stopped") return;
    this.setState("stopped");
    this.console.end();
    try { await this.vm.lazy?.abandon(); } finally { await this.vm.devices?.close(); }
  }

  /**
   * Writes a snapshot (a running VM is paused, captured and resumed; resolves once the file is durable).
   * incremental: only the pages written since this VM's previous snapshot, which it names as its parent. A capture
   * of up to 64 MiB is copied out and written while the guest runs again; `pausedMs` says how long it was held.
   * level: DEFLATE level of the file, 0 (stored: no compression; the fastest on a fast disk, the largest file) to 9
   * (the smallest); default `vm.controller.level`, else 1. Progress is emitted as `progress` events.
   */
  snapshot(path: string, opts: { incremental?: boolean; level?: number } = {}): Promise<WriteResult & { pausedMs: number }> {
    return this.controller.snapshot(path, { ...opts, onProgress: (p) => this.emit("progress", p) });
  }

  /**
   * A checkpoint into `file`, which always holds this VM's newest complete checkpoint: the first is a full snapshot;
   * each later one an incremental snapshot (the guest held only while its dirty pages are copied) folded into `file`
   * while the guest runs, atomically. level: as snapshot's. Progress is emitted as `progress` events.
   */
  checkpoint(file: string, opts: { level?: number } = {}): Promise<WriteResult & { pausedMs: number; incremental: boolean }> {
    return this.controller.checkpoint(file, { ...opts, onProgress: (p) => this.emit("progress", p) });
  }

  /**
   * Live-migrates the running VM to `wasmvisor incoming` at host:port (pre-shared key in pskFile). On success the
   * run here ends with reason "detached"; on failure the VM keeps running here and the promise rejects.
   */
  migrate(host: string, port: number, pskFile: string, policy?: MigrationPolicy): Promise<Record<string, unknown>> {
    return migrateOut(this.controller, host, port, pskFile, (p) => this.emit("progress", p), policy);
  }
  /** Input for the virtio-console device (hvc0). */
  hvcInput(data: Uint8Array): void { this.vm.devices?.consoleInput(data); }
  /** Counters: instructions, data accesses and TLB misses, walks, flushes, traps, MMIO, frames in use. */
  counters(): Record<string, bigint> { return this.vm.stats(); }
}

/**
 * Starts a VM from a snapshot file (or the newest file of an incremental chain), not yet running: call start().
 * Its devices come from the snapshot; `config` may give limits, io, switch.
 */
export async function restoreVm(path: string, config: Omit<VmConfig, "image" | "kernel" | "devices"> = {}): Promise<VirtualMachine> {
  let m: VirtualMachine | undefined;
  const restored = await restoreSnapshot(path, Vm.abiVersion(), {
    io: config.io, sw: config.switch, onConsole: (b) => { m?.console.write(b); m?.emit("output", b); },
  });
  m = new VirtualMachine(config, restored.vm);
  m.controller.restoredFrom(restored);
  return m;
}

/** Where and how incomingVm waits. */
export interface IncomingConfig extends Omit<VmConfig, "image" | "kernel" | "devices"> {
  /** The port to listen on (0: any free one, told through onListening). */
  port: number;
  /** The address to listen on (default 127.0.0.1). */
  host?: string;
  /** The pre-shared key's file (as the source's). */
  pskFile: string;
  /** Called once listening, with the port (useful with port 0). */
  onListening?: (port: number) => void;
  /** A connection that did not prove the key was dropped (who: address:port); the wait goes on. */
  onRefused?: (who: string, why: string) => void;
  /** A migration that began failed (the source keeps its VM); the wait goes on. */
  onFailed?: (error: Error) => void;
  /** Progress of the migration being received. */
  onProgress?: (p: Progress) => void;
  /** Gives up the wait (the promise rejects; a migration already under way completes). */
  signal?: AbortSignal;
}

/**
 * The target side of a live migration, in this process: waits on host:port for `wasmvisor migrate` (or vm.migrate()
 * in another process), and resolves with the migrated VM once it runs here — already started, since the source's
 * guest stays paused until the target runs it (call start() for the run's result, or listen for `exit`); a guest
 * the user had paused at the source arrives paused (state "paused": resume() runs it). Connections
 * that do not prove the key, and migrations that fail, are reported through onRefused / onFailed while the wait goes
 * on, as `wasmvisor incoming` does. Rejects only if it cannot listen, the key cannot be read, or `signal` gives up.
 */
export async function incomingVm(config: IncomingConfig): Promise<VirtualMachine> {
  const { port, host = "127.0.0.1", pskFile, onListening, onRefused, onFailed, onProgress, signal, ...vmConfig } = config;
  const server = await listenForMigration(host, port, pskFile, `cannot listen on ${host}:${port}`);
  let m: VirtualMachine | undefined;
  try {
    onListening?.((server.address() as AddressInfo).port);
    const got = await receiveMigration(server, pskFile, {
      io: vmConfig.io, sw: vmConfig.switch, onRefused, onProgress, signal, onFailed,
      onConsole: (b) => { m?.console.write(b); m?.emit("output", b); },
    });
    m = new VirtualMachine(vmConfig, got.vm);
    await got.confirm();
    void m.start().catch(() => {}); // (the caller has the promise through start(), or the events)
    if (got.paused) void m.pause(); // (before the run loop's first look at its controller: not one instruction runs)
    return m;
  } finally {
    server.close();
  }
}

/** Creates a VM from a configuration (not started: call start()). */
export function createVm(config: VmConfig): VirtualMachine { return new VirtualMachine(config); }
