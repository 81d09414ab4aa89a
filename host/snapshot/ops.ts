// Saving a (paused) VM to a snapshot file and starting a VM from one: full and incremental snapshots, chains.
import { writeSnapshot, readChain, type WriteResult, type ParentRef } from "./format.js";
import { machineConfig, checkMachineConfig, coreSection, devicesSection, applyDevices, pageSource, fullPages, dirtyPages, createMachine, applyPages, applyCore, type MachineConfig } from "./vmstate.js";
import type { Vm } from "../vm.js";
import type { Progress } from "../progress.js";
import { attachDevices, type DeviceOptions } from "../virtio/devices.js";
import type { VirtualSwitch } from "../virtio/switch.js";
import { WasmvisorError } from "../errors.js";

export interface SaveOptions {
  /** Only the pages written since `parent` was taken (the VM's dirty log), naming it as the parent. */
  parent?: ParentRef;
  onProgress?: (p: Progress) => void;
}

/**
 * Writes a snapshot of a VM that is not running (the caller paused it and quiesced its devices). A full snapshot
 * also restarts the dirty log, so an incremental snapshot taken next holds exactly what changed since.
 */
export async function saveSnapshot(vm: Vm, path: string, opts: SaveOptions = {}): Promise<WriteResult> {
  const core = coreSection(vm);
  const gpns = opts.parent ? dirtyPages(vm) : (dirtyPages(vm), fullPages(vm));
  return writeSnapshot(path, {
    abi: vm.core.k.ABI_VERSION, config: machineConfig(vm), parent: opts.parent, sections: [core, devicesSection(vm)], pages: pageSource(vm, gpns),
  }, { onProgress: opts.onProgress });
}

export interface RestoreOptions {
  io?: DeviceOptions["io"];
  onConsole?: (b: Uint8Array) => void;
  sw?: VirtualSwitch;
  /** Overrides the saved configuration's deterministic flag (default: as saved). */
  onProgress?: (p: Progress) => void;
}

/** Starts a VM from a snapshot (or the newest file of a chain): nothing of it runs until the caller runs it. */
export async function restoreSnapshot(path: string, expectAbi: number, opts: RestoreOptions = {}): Promise<{ vm: Vm; parent: ParentRef }> {
  const chain = await readChain(path, { expectAbi, expectConfig: checkMachineConfig });
  let vm: Vm | undefined;
  try {
    const cfg = chain.config as MachineConfig;
    vm = createMachine(cfg);
    if (cfg.devices.length) {
      await attachDevices(vm, cfg.devices, { io: opts.io ?? (cfg.deterministic ? "sync" : "thread"), onConsole: opts.onConsole, sw: opts.sw });
    }
    const total = chain.pages.gpns.length;
    let n = 0;
    await applyPages(vm, cfg, {
      gpns: chain.pages.gpns,
      get: async (i) => { if (++n % 4096 === 0) opts.onProgress?.({ phase: "restore", done: n * 4096, total: total * 4096 }); return chain.pages.get(i); },
    });
    applyCore(vm, chain.section("core"));
    await applyDevices(vm, chain.section("devices"));
    return { vm, parent: { path, digest: chain.layers[0].digest } };
  } catch (e) {
    await vm?.devices?.close();
    throw e instanceof WasmvisorError ? e : new WasmvisorError(`cannot restore ${path}: ${(e as Error).message}`);
  } finally {
    await chain.close();
  }
}
