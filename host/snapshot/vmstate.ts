// A VM as snapshot sections and pages, and back: what `wasmvisor snapshot`/`restore`, checkpoint policies and live
// migration share. The core's state comes from its state_save/state_restore (assembly/snapshot.ts); guest memory
// is the list of pages that have frames; the host adds its own configuration (memory, devices) so that the
// restoring process can rebuild the same machine first.
import { createHash } from "node:crypto";
import { WasmvisorError, ExitCode } from "../errors.js";
import { Vm, type VmOptions } from "../vm.js";
import type { DeviceSpec } from "../virtio/devices.js";
import type { PageSource, Section } from "./format.js";
import * as fs from "node:fs";

/** What a snapshot records about the machine, to recreate it before its state is restored. */
export interface MachineConfig {
  memBytes: number;
  ramBase: string;
  deterministic: boolean;
  insnsPerTick: number;
  romBytes: number;
  rom?: { base: string; bytes: number };
  devices: DeviceSpec[];
  /** Disk images' sizes when saved: a restore refuses images that changed size. */
  disks: { path: string; bytes: number }[];
}

export function machineConfig(vm: Vm): MachineConfig {
  const devices = vm.devices?.slots.map((s) => s.spec) ?? [];
  return {
    memBytes: vm.memBytes, ramBase: `0x${vm.ramBase.toString(16)}`, deterministic: !!vm.options.deterministic,
    insnsPerTick: vm.options.insnsPerTick ?? 10, romBytes: vm.options.romBytes ?? 0,
    rom: vm.rom ? { base: `0x${vm.rom.base.toString(16)}`, bytes: vm.rom.bytes } : undefined,
    devices,
    disks: devices.flatMap((d) => (d.kind === "blk" ? [{ path: d.path, bytes: fs.statSync(d.path).size }] : [])),
  };
}

/** Checks a stored configuration's shape (it comes from a file: it may be anything). */
export function checkMachineConfig(c: unknown): string | null {
  const m = c as MachineConfig;
  if (typeof m !== "object" || m === null) return "snapshot has no machine configuration";
  if (!Number.isSafeInteger(m.memBytes) || m.memBytes <= 0 || m.memBytes % 4096) return "snapshot's memory size is invalid";
  if (typeof m.ramBase !== "string" || !/^0x[0-9a-f]+$/.test(m.ramBase)) return "snapshot's RAM base is invalid";
  if (!Array.isArray(m.devices) || !Array.isArray(m.disks)) return "snapshot's device list is invalid";
  return null;
}

/** The core's state section. */
export function coreSection(vm: Vm): Section {
  const n = vm.core.fn.state_save();
  return { name: "core", data: new Uint8Array(vm.memory.buffer, vm.core.k.LAYOUT_STATE_BUF, n).slice() };
}

/**
 * The host side of the VM's devices, as captured when they were quiesced: the back ends' state (virtio-console
 * input the guest has not read, frames waiting for receive buffers) and console input queued for the UART (its
 * FIFO is core state), as a versioned JSON section. (Frames do not wait inside the virtual switch: it forwards
 * each one as it is sent, into the receiving back end's queue, which is saved here.) A migration also says whether
 * the user had paused the guest (`paused`: the target keeps it paused; snapshots leave it out, and a restored VM runs).
 */
export function devicesSection(vm: Vm, extra: { paused?: boolean } = {}): Section {
  const queued = vm.consoleInput.queued();
  const state = { v: 1, backends: vm.devices?.backendStates() ?? {}, ...(queued.length ? { uartInput: Buffer.from(queued).toString("base64") } : {}),
    ...(extra.paused ? { paused: true } : {}) };
  return { name: "devices", data: new TextEncoder().encode(JSON.stringify(state)) };
}

/**
 * Gives the restored back ends their state (a snapshot without the section has none to give), and queues the saved
 * console input — unless `consoleInput` is false: a VM that kept its own queue (a migration's source, resumed).
 * Call it after applyCore: it then serves what the restored transports hold pending. Returns whether the state says
 * the user had paused the guest (a migration's; see devicesSection).
 */
export async function applyDevices(vm: Vm, data: Uint8Array | undefined, consoleInput = true): Promise<{ paused: boolean }> {
  const paused = data ? await loadDevices(vm, data, consoleInput) : false;
  // Core and back ends are as saved: notifications the state holds pending are served now (unless the devices are
  // frozen: then at their thaw), not at the guest's next one, which a driver polling for a completion never makes.
  // (Snapshots written since the quiesce serves what is pending hold none; older ones may.)
  vm.devices?.kick();
  return { paused };
}

/** Validates and applies a devices section; returns its `paused`. */
async function loadDevices(vm: Vm, data: Uint8Array, consoleInput: boolean): Promise<boolean> {
  let st: { v?: number; backends?: Record<number, unknown>; uartInput?: unknown; paused?: unknown };
  try { st = JSON.parse(new TextDecoder().decode(data)); } catch { throw new WasmvisorError("snapshot's device state is not JSON"); }
  if (st?.v !== 1 || typeof st.backends !== "object" || st.backends === null) throw new WasmvisorError("snapshot's device state has an unknown version");
  if (Object.keys(st.backends).length && !vm.devices) throw new WasmvisorError("snapshot's device state names devices this VM does not have");
  if (st.uartInput !== undefined && (typeof st.uartInput !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(st.uartInput))) {
    throw new WasmvisorError("snapshot's console input is malformed");
  }
  await vm.devices?.loadBackendStates(st.backends);
  if (consoleInput && typeof st.uartInput === "string") vm.consoleInput.push(new Uint8Array(Buffer.from(st.uartInput, "base64")));
  return st.paused === true;
}

/**
 * Pages to save: every page with a frame (full), or the pages written since the dirty log was last taken
 * (incremental). Full snapshots leave out pages that are all zero (a restore reads them as zero anyway).
 */
export function pageSource(vm: Vm, gpns: number[]): PageSource {
  const zero = new Uint8Array(4096);
  return {
    gpns,
    // A view into guest memory, not a copy: the guest and its devices are stopped while a snapshot is written from
    // it (a staged capture copies it first), so the compression threads read it in place.
    get: (i) => vm.pageView(gpns[i]) ?? zero,
    stable: true,
  };
}

const ZERO_PAGE = Buffer.alloc(4096);

/** True if a page (a view into guest memory) is all zero: memcmp, not a loop over its bytes (10x faster). */
function isZeroPage(p: Uint8Array): boolean {
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(ZERO_PAGE);
}

export function fullPages(vm: Vm): number[] {
  return vm.allocatedPages().filter((g) => !isZeroPage(vm.pageView(g)!));
}

/** Pages dirtied since the log was last taken (and takes it). */
export function dirtyPages(vm: Vm): number[] {
  return vm.takeDirtyGpns();
}

/** Creates the machine a configuration describes (devices are attached by the caller, before applyCore). */
export function createMachine(cfg: MachineConfig): Vm {
  for (const d of cfg.disks) {
    let size: number;
    try { size = fs.statSync(d.path).size; } catch { throw new WasmvisorError(`snapshot needs disk image ${d.path}, which is missing`); }
    if (size !== d.bytes) throw new WasmvisorError(`disk image ${d.path} is ${size} bytes, the snapshot was taken with ${d.bytes}`);
  }
  const opts: VmOptions = { memBytes: cfg.memBytes, ramBase: BigInt(cfg.ramBase), deterministic: cfg.deterministic, insnsPerTick: cfg.insnsPerTick, romBytes: cfg.romBytes };
  return Vm.create(opts);
}

/**
 * Where saved pages go back into a VM: RAM pages straight into guest memory, ROM pages collected and declared as
 * the ROM at finish() (a ROM is declared whole). Shared by restore, lazy restore (ROM only) and migration.
 */
export class PageSink {
  private readonly romFirst: number;
  private readonly romPages: number;
  private rom: Uint8Array | undefined;
  constructor(private readonly vm: Vm, private readonly cfg: MachineConfig) {
    this.romFirst = cfg.rom ? Number(BigInt(cfg.rom.base) >> 12n) : -1;
    this.romPages = cfg.rom ? cfg.rom.bytes / 4096 : 0;
    this.rom = cfg.rom ? new Uint8Array(cfg.rom.bytes) : undefined;
  }
  /** True if guest page number g lies in the ROM. */
  isRom(g: number): boolean { return g >= this.romFirst && g < this.romFirst + this.romPages; }
  put(g: number, data: Uint8Array): void {
    if (this.rom && this.isRom(g)) this.rom.set(data, (g - this.romFirst) * 4096);
    else this.vm.writePhys(BigInt(g) * 4096n, data, "saved page");
  }
  /** Declares the ROM with the pages collected. */
  finish(): void {
    if (this.rom && this.cfg.rom) this.vm.loadRom(BigInt(this.cfg.rom.base), this.rom);
    this.rom = undefined;
  }
}

/** Writes saved pages back (ROM pages re-declare the ROM). */
export async function applyPages(vm: Vm, cfg: MachineConfig, pages: { gpns: ArrayLike<number>; get(i: number): Uint8Array | Promise<Uint8Array> }): Promise<void> {
  const sink = new PageSink(vm, cfg);
  for (let i = 0; i < pages.gpns.length; i++) sink.put(pages.gpns[i], await pages.get(i));
  sink.finish();
}

/** Applies the core's state section; nothing is changed if it does not fit. */
export function applyCore(vm: Vm, data: Uint8Array | undefined): void {
  const k = vm.core.k;
  if (!data) throw new WasmvisorError("snapshot has no core state section");
  if (data.length > k.STATE_BUF_BYTES) throw new WasmvisorError("snapshot's core state is too large");
  new Uint8Array(vm.memory.buffer).set(data, k.LAYOUT_STATE_BUF);
  const rc = vm.core.fn.state_restore(data.length);
  if (rc === k.STATE_ERR_FORMAT) throw new WasmvisorError(`snapshot's core state has another format (this core reads state version ${k.STATE_VERSION})`);
  if (rc === k.STATE_ERR_MACHINE) throw new WasmvisorError("snapshot's core state is for another machine (harts, memory, ROM or devices differ)");
  if (rc === k.STATE_ERR_VALUE) throw new WasmvisorError("snapshot's core state holds impossible values (damaged)");
  if (rc !== 0) throw new WasmvisorError(`snapshot's core state was refused (${rc})`, ExitCode.INTERNAL);
  vm.takeDirtyPages(); // a restored VM starts with a clean log: incremental snapshots of it are relative to this
}

/**
 * Digest of the VM's whole state: the core's state and every non-zero guest page (so a restored VM, which has no
 * frames for pages that were all zero, digests like the original). Equal digests = indistinguishable VMs.
 */
export function vmDigest(vm: Vm): string {
  const h = createHash("sha256");
  h.update(coreSection(vm).data);
  const num = Buffer.alloc(4);
  for (const g of vm.allocatedPages()) {
    const p = vm.pageView(g)!;
    if (isZeroPage(p)) continue;
    num.writeUInt32LE(g);
    h.update(num);
    h.update(p);
  }
  return h.digest("hex");
}
