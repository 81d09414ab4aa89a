// A VM's virtio devices as the VM's thread sees them: slots programmed in the core, IOMMU contexts, and the
// I/O thread that serves them (or, in synchronous mode, serving on the vCPU's thread at STOP_IO).
import { Worker } from "node:worker_threads";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { WasmvisorError } from "../errors.js";
import type { Vm } from "../vm.js";
import { coreModule, packageRoot } from "../core-module.js";
import { join } from "node:path";
import { DeviceServer } from "./engine.js";
import { makeBackend, setupSlot, type DeviceSpec, type FromIo } from "./backends.js";
import type { ToIo } from "./io-thread.js";
import { parseMac, type NetBackend } from "./net.js";
import type { ConsoleBackend } from "./console.js";
import { lockImage } from "./lock.js";
import { rollbackDisk } from "./undo.js";
import { defaultSwitch, type SwitchPort, type VirtualSwitch } from "./switch.js";

export type { DeviceSpec } from "./backends.js";

export interface DeviceOptions {
  /** "thread" (default): an I/O thread serves the devices while the vCPU runs; "sync": the vCPU's thread does. */
  io?: "thread" | "sync";
  /** Output of virtio-console devices. */
  onConsole?: (b: Uint8Array) => void;
  /** Frames a virtio-net device transmits (slot, frame): connect to a switch. */
  onFrame?: (slot: number, frame: Uint8Array) => void;
  /**
   * Restoring a checkpoint: each listed disk (slot → its copy-before-write logs' name) is rolled back to checkpoint
   * `epoch` (undo.ts rollbackDisk) once its image is locked, before anything reads it.
   */
  rollback?: DiskUndo;
}

/** A checkpoint's copy-before-write logs: its epoch, and each writable disk's logs' name (`name`.epoch), by slot. */
export interface DiskUndo { epoch: number; logs: Record<number, string> }

/** One record of the IOMMU's fault queue (RISC-V IOMMU spec §4.2). */
export interface IommuFault { device: number; cause: number; write: boolean; iova: bigint; gpa: bigint }

export class VirtioDevices {
  private worker: Worker | null = null;
  private servers: DeviceServer[] = [];
  private releases: (() => void)[] = [];
  private quiesceId = 0;
  private waiters = new Map<number, () => void>();
  private iommuWaiters = new Map<number, (ok: boolean) => void>();
  private undoWaiters = new Map<number, (error: string | null) => void>();
  /** The copy-before-write logs begun last (beginUndo). */
  undo: DiskUndo | null = null;
  private loadWaiters = new Map<number, (error: string | null) => void>();
  private frozenStates: Record<number, unknown> = {};
  private failure: string | null = null;
  private closers: (() => void)[] = [];
  readonly slots: { slot: number; spec: DeviceSpec }[];

  private constructor(private readonly vm: Vm, specs: DeviceSpec[], private readonly opts: DeviceOptions) {
    this.slots = specs.map((spec, slot) => ({ slot, spec }));
  }

  /** Validates the specifications, programs the core and starts serving. Throws one-line errors. */
  static async attach(vm: Vm, specs: DeviceSpec[], opts: DeviceOptions = {}): Promise<VirtioDevices> {
    const k = vm.core.k;
    if (specs.length > k.VIRTIO_SLOTS) throw new WasmvisorError(`at most ${k.VIRTIO_SLOTS} virtio devices (got ${specs.length})`);
    const d = new VirtioDevices(vm, specs, opts);
    try {
      for (const { slot, spec } of d.slots) {
        if (spec.kind === "blk") {
          let st: fs.Stats;
          try { st = fs.statSync(spec.path); } catch { throw new WasmvisorError(`disk image ${spec.path}: no such file`); }
          if (!st.isFile()) throw new WasmvisorError(`disk image ${spec.path} is not a regular file`);
          if (st.size < 512) throw new WasmvisorError(`disk image ${spec.path} is smaller than one 512-byte sector`);
          if (!spec.readonly) {
            d.releases.push(lockImage(spec.path));
            const log = opts.rollback?.logs[slot];
            if (log !== undefined) rollbackDisk(spec.path, log, opts.rollback!.epoch);
          }
        }
        if (spec.kind === "net" && !parseMac(spec.mac)) throw new WasmvisorError(`bad MAC address ${JSON.stringify(spec.mac)} (want 52:54:00:12:34:56)`);
        setupSlot(vm.core, new Uint8Array(vm.memory.buffer), slot, spec, opts.io === "sync");
        if (vm.core.fn.iommu_attach(slot, 1) !== 0) throw new WasmvisorError("out of memory for the IOMMU's tables", 70);
        if (spec.dmaWindow && !d.restrictHere(slot, BigInt(spec.dmaWindow.base), spec.dmaWindow.bytes)) {
          throw new WasmvisorError(`device ${slot}: bad dmaWindow (page-aligned base and size inside 2^41 expected)`);
        }
      }
      if (opts.io === "sync") {
        d.servers = d.slots.map(({ slot, spec }) => new DeviceServer(vm.core, vm.memory, slot, makeBackend(spec, slot, {
          frame: (s, f) => opts.onFrame?.(s, f),
          console: (_s, b) => opts.onConsole?.(b),
        })));
      } else if (specs.length) {
        await d.startThread();
      }
    } catch (e) {
      d.closeSync();
      throw e;
    }
    vm.devices = d;
    return d;
  }

  private startThread(): Promise<void> {
    // From the compiled host the thread's script sits beside this file; from the TypeScript sources (tests) it is
    // the compiled one in dist/ (npm run build).
    let script = fileURLToPath(new URL("./io-thread.js", import.meta.url));
    if (!fs.existsSync(script)) script = join(packageRoot(), "dist", "host", "virtio", "io-thread.js");
    const w = new Worker(script, { workerData: { module: coreModule(), memory: this.vm.memory, devices: this.slots } });
    this.worker = w;
    w.unref();
    return new Promise((resolve, reject) => {
      w.on("message", (m: FromIo) => {
        switch (m.type) {
          case "ready": resolve(); break;
          case "frame": this.opts.onFrame?.(m.slot, m.frame); break;
          case "console": this.opts.onConsole?.(m.data); break;
          case "quiesced": this.frozenStates = m.states; this.waiters.get(m.id)?.(); this.waiters.delete(m.id); break;
          case "loaded": this.loadWaiters.get(m.id)?.(m.error); this.loadWaiters.delete(m.id); break;
          case "iommu-done": this.iommuWaiters.get(m.id)?.(m.ok); this.iommuWaiters.delete(m.id); break;
          case "undo-begun": this.undoWaiters.get(m.id)?.(m.error); this.undoWaiters.delete(m.id); break;
          case "error": this.failure = m.message; break;
        }
      });
      w.on("error", (e) => { this.failure = e.message; reject(new WasmvisorError(`I/O thread failed: ${e.message}`, 70)); });
    });
  }

  /** True when an I/O thread serves the devices (interrupts can arrive while the vCPU sleeps). */
  get threaded(): boolean { return this.worker !== null; }

  /** The error an I/O thread reported, if any (the runner ends the VM with it). */
  get error(): string | null { return this.failure; }

  /**
   * The transport state was put back (a restore, a migration, devices attached again after a failed one): serve
   * what it holds pending now, rather than at the guest's next notification, which may never come (a driver
   * polling for the completion of what it already asked).
   */
  kick(): void {
    if (!this.worker) { this.serviceSync(); return; }
    const i32 = new Int32Array(this.vm.memory.buffer), at = this.vm.core.k.VM_IO_DOORBELL >> 2;
    Atomics.add(i32, at, 1);
    Atomics.notify(i32, at);
  }

  /** Synchronous mode: serves whatever the guest notified (the runner calls this at STOP_IO). */
  serviceSync(): void { if (!this.frozen) for (const s of this.servers) s.service(); }

  private frozen = false;
  /** How many quiesce() calls no thaw() has ended yet (a snapshot inside the user's pause: two). */
  private freezes = 0;

  /** Delivers a frame to the virtio-net device in slot. */
  deliverFrame(slot: number, frame: Uint8Array): void {
    if (this.worker) this.worker.postMessage({ type: "frame", slot, frame } satisfies ToIo);
    else (this.servers.find((s) => s.slot === slot)?.backend as NetBackend | undefined)?.receive(frame);
  }

  /** Input for the virtio-console device (the first one). */
  consoleInput(data: Uint8Array): void {
    const c = this.slots.find((s) => s.spec.kind === "console");
    if (!c) return;
    if (this.worker) this.worker.postMessage({ type: "input", slot: c.slot, data } satisfies ToIo);
    else (this.servers.find((s) => s.slot === c.slot)?.backend as ConsoleBackend | undefined)?.input(data);
  }

  /**
   * Resolves once every request the guest had made is complete, and freezes the devices: nothing more is served
   * or delivered into guest memory until thaw() (snapshots and migration capture a still picture; a paused guest
   * gets nothing while it is paused; frames and console input wait in their back ends). Counted: the devices thaw
   * at the thaw() that ends the last quiesce(). Each call captures the back ends' state anew (a snapshot taken
   * during a pause holds what arrived since the pause began).
   */
  quiesce(): Promise<void> {
    this.freezes++;
    return this.freeze();
  }

  private freeze(): Promise<void> {
    if (!this.worker) {
      this.serviceSync();
      this.frozen = true;
      for (const s of this.servers) s.backend.hold?.(true);
      this.frozenStates = {};
      for (const s of this.servers) if (s.backend.saveState) this.frozenStates[s.slot] = s.backend.saveState();
      return Promise.resolve();
    }
    const id = ++this.quiesceId;
    return new Promise((r) => { this.waiters.set(id, r); this.worker!.postMessage({ type: "quiesce", id } satisfies ToIo); });
  }

  /**
   * The back ends' host-side state (pending console input, frames waiting for receive buffers) as captured by the
   * last quiesce, by slot: plain data for snapshots and migration.
   */
  backendStates(): Record<number, unknown> { return this.frozenStates; }

  /** Gives back ends the state backendStates() returned (before the guest runs). Throws one line if malformed. */
  async loadBackendStates(states: Record<number, unknown>): Promise<void> {
    if (typeof states !== "object" || states === null) throw new WasmvisorError("device state is malformed");
    let error: string | null = null;
    if (this.worker) {
      const id = ++this.quiesceId, w = this.worker;
      error = await new Promise<string | null>((r) => { this.loadWaiters.set(id, r); w.postMessage({ type: "load", id, states } satisfies ToIo); });
    } else {
      try {
        for (const s of this.servers) if (s.backend.loadState && states[s.slot] !== undefined) s.backend.loadState(states[s.slot]);
      } catch (e) { error = (e as Error).message; }
    }
    if (error) throw new WasmvisorError(`snapshot's ${error}`);
  }

  /**
   * A checkpoint is taken (call it while quiesced, so that no write falls between the checkpoint and its log):
   * each listed disk starts the copy-before-write log of checkpoint `undo.epoch` (undo.ts). Throws one line if a
   * log cannot be made: the checkpoint then fails, as its disks could not be put back.
   */
  async beginUndo(undo: DiskUndo): Promise<void> {
    this.undo = undo;
    let error: string | null = null;
    if (this.worker) {
      const id = ++this.quiesceId, w = this.worker;
      error = await new Promise<string | null>((r) => { this.undoWaiters.set(id, r); w.postMessage({ type: "undo", id, epoch: undo.epoch, logs: undo.logs } satisfies ToIo); });
    } else {
      try {
        for (const s of this.servers) if (undo.logs[s.slot] !== undefined) s.backend.beginUndo?.(undo.logs[s.slot], undo.epoch);
      } catch (e) { error = (e as Error).message; }
    }
    if (error) throw new WasmvisorError(`cannot start a disk's copy-before-write log: ${error}`);
  }

  /** Ends a quiesce: held frames and input are delivered, notifications served. */
  thaw(): void {
    if (this.freezes === 0 || --this.freezes > 0) return;
    if (this.worker) { this.worker.postMessage({ type: "thaw" } satisfies ToIo); return; }
    this.frozen = false;
    for (const s of this.servers) s.backend.hold?.(false);
    this.serviceSync();
  }

  /**
   * Restricts device `slot`'s DMA to guest-physical [base, base+bytes) (identity-mapped; everything else faults),
   * at any time: the change and its IOTLB invalidation are carried out by the thread serving the device, between
   * two of its requests, and the promise resolves when they are complete (the fence).
   */
  async restrict(slot: number, base: bigint, bytes: number): Promise<void> {
    let ok: boolean;
    if (this.worker) {
      const id = ++this.quiesceId, w = this.worker;
      ok = await new Promise<boolean>((r) => { this.iommuWaiters.set(id, r); w.postMessage({ type: "iommu", id, slot, base: Number(base), bytes } satisfies ToIo); });
    } else {
      ok = this.restrictHere(slot, base, bytes);
    }
    if (!ok) throw new WasmvisorError(`cannot restrict device ${slot} to 0x${base.toString(16)}+0x${bytes.toString(16)} (page-aligned, inside 2^41)`);
  }

  private restrictHere(slot: number, base: bigint, bytes: number): boolean {
    const fn = this.vm.core.fn;
    return fn.iommu_attach(slot, 2) === 0 && fn.iommu_map(slot, Number(base), Number(base), bytes, 3) === 0;
  }

  /** Drains the IOMMU's fault queue. */
  faults(): IommuFault[] {
    const k = this.vm.core.k, dv = new DataView(this.vm.memory.buffer);
    const out: IommuFault[] = [];
    let head = dv.getUint32(k.IOMMU_FQ_HEAD, true);
    const tail = Atomics.load(new Uint32Array(this.vm.memory.buffer), k.IOMMU_FQ_TAIL >> 2);
    for (; head !== tail; head = (head + 1) >>> 0) {
      const r = k.IOMMU_FQ + (head & (k.IOMMU_FQ_ENTRIES - 1)) * 32;
      const w0 = dv.getBigUint64(r, true);
      out.push({
        cause: Number(w0 & 0xfffn), write: Number((w0 >> 34n) & 0x3fn) === 3, device: Number(w0 >> 40n),
        iova: dv.getBigUint64(r + 16, true), gpa: dv.getBigUint64(r + 24, true),
      });
    }
    dv.setUint32(k.IOMMU_FQ_HEAD, head, true);
    return out;
  }

  /** Per-device counters: notifications, interrupts, IOMMU translations/misses/faults, why it broke (0: never). */
  stats(slot: number): Record<string, number> {
    const k = this.vm.core.k, dv = new DataView(this.vm.memory.buffer);
    const t = k.LAYOUT_VIRTIO_BASE + slot * k.LAYOUT_VIRTIO_STRIDE, dc = k.IOMMU_DC + slot * k.IOMMU_DC_STRIDE;
    return {
      notifies: Number(dv.getBigUint64(t + k.VT_STAT_NOTIFIES, true)),
      interrupts: Number(dv.getBigUint64(t + k.VT_STAT_IRQS, true)),
      broken: dv.getUint32(t + k.VT_STAT_BROKEN, true),
      status: dv.getUint32(t + k.VT_STATUS, true),
      dmaTranslations: Number(dv.getBigUint64(dc + k.DC_STAT_XLATE, true)),
      iotlbMisses: Number(dv.getBigUint64(dc + k.DC_STAT_MISS, true)),
      iommuFaults: Number(dv.getBigUint64(dc + k.DC_STAT_FAULTS, true)),
    };
  }

  /** What attachDevices was called with: to attach the same devices again (a migration that failed late). */
  reattach?: () => Promise<VirtioDevices>;

  /** Registers something to undo at close (switch ports). */
  onClose(f: () => void): void { this.closers.push(f); }

  /** Stops the I/O thread and releases files and image locks. */
  async close(): Promise<void> {
    for (const f of this.closers.splice(0)) f();
    if (this.worker) {
      const w = this.worker;
      this.worker = null;
      const exited = new Promise((r) => w.once("exit", r));
      w.postMessage({ type: "stop" } satisfies ToIo);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 1000); })]);
      clearTimeout(timer);
      await w.terminate();
    }
    this.closeSync();
  }

  private closeSync(): void {
    for (const s of this.servers) s.backend.close?.();
    this.servers = [];
    for (const r of this.releases) r();
    this.releases = [];
  }
}

/**
 * Attaches devices to a VM and connects its virtio-net devices to a switch (the process's default one unless
 * given). What the CLI and the embedding API use.
 */
export async function attachDevices(vm: Vm, specs: DeviceSpec[], opts: DeviceOptions & { sw?: VirtualSwitch } = {}): Promise<VirtioDevices> {
  const sw = opts.sw ?? defaultSwitch;
  const sends = new Map<number, (f: Uint8Array) => void>();
  const d = await VirtioDevices.attach(vm, specs, { ...opts, onFrame: (slot, f) => sends.get(slot)?.(f) });
  for (const { slot, spec } of d.slots) {
    if (spec.kind !== "net") continue;
    const port: SwitchPort = { deliver: (f) => d.deliverFrame(slot, f) };
    sends.set(slot, sw.connect(port));
    d.onClose(() => sw.disconnect(port));
  }
  d.reattach = async () => {
    // (Attached again after a failed migration: nothing is rolled back, and the current checkpoint's logs go on.)
    const again = await attachDevices(vm, specs, { ...opts, rollback: undefined });
    if (d.undo) await again.beginUndo(d.undo);
    return again;
  };
  return d;
}

/** Parses the CLI's --disk value: FILE[,ro][,serial=S]. */
export function parseDiskSpec(s: string): DeviceSpec {
  const [path, ...opts] = s.split(",");
  if (!path) throw new WasmvisorError(`--disk: missing file name in ${JSON.stringify(s)}`);
  const spec: DeviceSpec = { kind: "blk", path };
  for (const o of opts) {
    if (o === "ro" || o === "readonly") spec.readonly = true;
    else if (o.startsWith("serial=")) spec.serial = o.slice(7);
    else throw new WasmvisorError(`--disk: unknown option ${JSON.stringify(o)} (want ro or serial=S)`);
  }
  return spec;
}
