// Saving a (paused) VM to a snapshot file and starting a VM from one: full and incremental snapshots, chains.
import { DEFAULT_CHUNK_PAGES, type WriteResult, type ParentRef, type PageSource } from "./format.js";
import { writeSnapshot, startWrite, stagePages, stagedBytes, type StagedPages, type StartedWrite } from "./writer.js";
import { readChain, mergeChain } from "./chain.js";
import { LazyLoader } from "./lazy.js";
import { machineConfig, checkMachineConfig, coreSection, devicesSection, applyDevices, pageSource, fullPages, dirtyPages, createMachine, applyPages, applyCore, PageSink, type MachineConfig } from "./vmstate.js";
import type { Vm } from "../vm.js";
import type { Progress } from "../progress.js";
import { attachDevices, type DeviceOptions, type DiskUndo } from "../virtio/devices.js";
import { checkpointUndoLogs } from "../virtio/undo.js";
import type { VirtualSwitch } from "../virtio/switch.js";
import { WasmvisorError } from "../errors.js";
import { dirname, relative, resolve } from "node:path";
import { BufferPool } from "./pool.js";
import { compressionThreads } from "./compressor.js";

/**
 * Pages per memory chunk of a full snapshot: 64 (256 KiB) rather than the format's default 256, so that a lazily
 * restored guest's page fault unpacks a quarter of the data (compression loses ~1 %). Merges (checkpoint folding,
 * `wasmvisor merge`) pack the chunks they cannot copy the same way. Incremental snapshots keep the default: they
 * are small, and fewer, larger records keep their fixed cost down.
 */
const SNAPSHOT_CHUNK_PAGES = 64;

export interface SaveOptions {
  /** Only the pages written since `parent` was taken (the VM's dirty log), naming it as the parent. */
  parent?: ParentRef;
  onProgress?: (p: Progress) => void;
  /** The file a write failure names (WriteOptions.reportAs). */
  reportAs?: string;
  /** DEFLATE level of memory and sections, 0 (stored: no compression) to 9; default 1 (WriteOptions.level). */
  level?: number;
  /**
   * false: never copy the pages out; write them in place while the VM is held (for a VM that will not run during
   * the write anyway: a paused one). Default true: copy them when they fit STAGE_MAX_BYTES.
   */
  stage?: boolean;
  /**
   * With a copy: start compressing it while the VM is held, rather than once the VM is free again. The first
   * chunks, one per spare core (one fewer than the compression threads: the copy keeps a core), each go to a
   * compression thread as soon as they are copied. The snapshot is durable sooner (a 1,000-page incremental on 2
   * cores: ~0.6 ms, 2 %) but the VM is held longer (~0.25 ms: the compression and the copy share the memory bus),
   * so this is for a VM that will not run meanwhile anyway (a paused one).
   */
  startNow?: boolean;
  /**
   * A checkpoint whose disks' copy-before-write logs were begun while the VM was held (VmController.checkpoint): its
   * epoch is saved (section DISK_UNDO_SECTION), so that a restore rolls the disks back to this moment.
   */
  undoEpoch?: number;
}

/** Section of a checkpoint whose writable disks keep copy-before-write logs (virtio/undo.ts): {"epoch": N}. */
const DISK_UNDO_SECTION = "disk-undo";

/**
 * Dirty sets up to this size are copied out while the VM is held, and compressed and written after it resumes:
 * the guest pauses for a copy, not for the compression and the fsync (a 1,000-page incremental snapshot: a few
 * milliseconds instead of tens). Larger sets (full snapshots of most guests) are written while the VM is held,
 * so that a snapshot never doubles the memory a guest uses.
 */
export const STAGE_MAX_BYTES = 64 << 20;
/**
 * The copies, reused (see pool.ts); one is in use at a time when a controller takes the snapshots. Shared memory:
 * the compression threads read the pages from it in place.
 */
const stagingBuffers = new BufferPool(1, true);

/**
 * Readies a staging buffer, before the guest is held, for about as many pages as the dirty log holds now (with room
 * for those dirtied until it is held): a fresh buffer costs a page fault per 4 KiB on first touch, which otherwise
 * fell into the guest's pause (the first snapshot of a process, of a guest rewriting 16 MiB: held 57 ms, not 3).
 */
export function prepareStaging(vm: Vm): void {
  const pages = Math.min(Math.ceil(vm.dirtyCount() * 1.25) + 64, STAGE_MAX_BYTES / 4096);
  stagingBuffers.warm(stagedBytes(pages, DEFAULT_CHUNK_PAGES));
}

/** A snapshot captured while the VM was held: write() puts it into a file (after the VM resumed, if `staged`). */
export interface Capture {
  /** The pages were copied: the VM may run while write() works. */
  readonly staged: boolean;
  readonly pages: number;
  write(path: string): Promise<WriteResult>;
}

/**
 * Captures a snapshot of a VM that is not running (the caller paused it and quiesced its devices): core and device
 * state, and the page list (all pages with data, or the dirty log for an incremental one), copying the pages when
 * they fit STAGE_MAX_BYTES. A full snapshot also restarts the dirty log, so an incremental one taken next holds
 * exactly what changed since. If the write fails, the pages go back into the dirty log (nothing is lost for the
 * next incremental snapshot).
 */
export function captureSnapshot(vm: Vm, opts: SaveOptions = {}): Capture {
  const core = coreSection(vm), devices = devicesSection(vm), config = machineConfig(vm);
  const dirty = dirtyPages(vm);
  const gpns = opts.parent ? dirty : fullPages(vm);
  const chunkPages = opts.parent ? DEFAULT_CHUNK_PAGES : SNAPSHOT_CHUNK_PAGES;
  const staged = opts.stage !== false && gpns.length * 4096 <= STAGE_MAX_BYTES;
  // (The parent is named relative to the file written, so once its path is known; the writer adds the page index,
  // so that a restore can validate the file, or its chain, without unpacking memory.)
  const undo = opts.undoEpoch !== undefined ? [{ name: DISK_UNDO_SECTION, data: new TextEncoder().encode(JSON.stringify({ epoch: opts.undoEpoch })) }] : [];
  const snap = (pages: PageSource) => ({ abi: vm.core.k.ABI_VERSION, config, sections: [core, devices, ...undo], pages });
  const parent = (path: string) => opts.parent && relativeParent(path, opts.parent);
  const writeOpts = { onProgress: opts.onProgress, chunkPages, reportAs: opts.reportAs, level: opts.level };
  const failed = (e: unknown) => { vm.remarkDirty(dirty); vm.remarkDirty(gpns); throw e; };
  if (!staged) {
    return { staged, pages: gpns.length, write: (path) => writeSnapshot(path, { ...snap(pageSource(vm, gpns)), parent: parent(path) }, writeOpts).catch(failed) };
  }
  // Copied into the file's chunk layout (snapshot/writer.ts stagePages): the writer compresses it in place. Page by
  // page from its frame, by offsets (Node 20's Buffer.copy still makes a view of each source page inside: ~90 KB of
  // garbage per 1,000 pages); a page without a frame reads as zero, as pageSource's. With startNow the writer
  // starts before the copy: each of its first chunks goes to a compression thread as soon as it is copied. Every
  // chunk is copied before the VM may run again (complete()).
  const mem = Buffer.from(vm.memory.buffer);
  let copy: Buffer | undefined = stagingBuffers.take(stagedBytes(gpns.length, chunkPages));
  const give = () => { if (copy) stagingBuffers.give(copy); copy = undefined; };
  let staging: StagedPages;
  let started: StartedWrite | undefined;
  try {
    staging = stagePages(copy, gpns, chunkPages, (i, dst, at) => {
      const p = vm.frameOffset(gpns[i]);
      if (p === 0) dst.fill(0, at, at + 4096);
      else mem.copy(dst, at, p, p + 4096);
    });
    if (opts.startNow) started = startWrite(snap(staging), writeOpts, compressionThreads() - 1);
    staging.complete();
  } catch (e) {
    // (Compressions already started still read the copy: it goes back to the pool once they are done.)
    if (started) void started.abandon().finally(give);
    else give();
    return failed(e);
  }
  const pages = staging, early = started;
  return {
    staged, pages: gpns.length,
    write: (path) => (early ? early.write(path, parent(path)) : writeSnapshot(path, { ...snap(pages), parent: parent(path) }, writeOpts))
      .catch(failed).finally(give),
  };
}

/**
 * The first pass of a full snapshot of a running guest (VmController's pre-copy, as a live migration's): every
 * page with data, read in place by the compression threads while the guest runs on. Not a consistent snapshot by
 * itself — a page the guest writes meanwhile may be caught half-written — and it carries no machine state: it is
 * only ever the parent of an incremental snapshot, taken with the guest held, of the pages dirtied since this
 * began (the dirty log restarts here), and the merge of the two is the snapshot. Call it between run slices.
 */
export function writePrecopyBase(vm: Vm, path: string, onProgress?: (p: Progress) => void, reportAs?: string, level?: number): Promise<WriteResult> {
  const config = machineConfig(vm);
  vm.takeDirtyPages(); // what the guest writes from here on is in the increment
  // (pageSource is read in place though the guest writes it: a page it changes is in the increment, which the
  // merge prefers)
  return writeSnapshot(path, { abi: vm.core.k.ABI_VERSION, config, sections: [], pages: pageSource(vm, fullPages(vm)) },
    { onProgress, chunkPages: SNAPSHOT_CHUNK_PAGES, reportAs, level });
}

/**
 * Merges the chain ending at `path` into one full snapshot at `out` (atomically; `out` may be a file of the chain):
 * chunks are checked by their checksums; those whose pages are all current are copied as they are, the others
 * unpacked one at a time and packed again in chunks of a full snapshot's size — a merge neither holds the guest's
 * memory unpacked nor compresses again what did not change. expectAbi: refuse a chain of another core ABI. level:
 * the DEFLATE level of what is packed again (copied chunks keep theirs).
 */
export function mergeToFull(path: string, out: string, expectAbi?: number, level?: number): Promise<WriteResult> {
  return mergeChain(path, out, { expectAbi, deferPages: true, chunkPages: SNAPSHOT_CHUNK_PAGES, level });
}

/**
 * The parent as the child file names it: relative to the child's directory (so that a chain moves as a whole),
 * whatever directory the caller's paths are relative to.
 */
function relativeParent(childPath: string, parent: ParentRef): ParentRef {
  return { path: relative(dirname(resolve(childPath)), resolve(parent.path)), digest: parent.digest };
}

/** Captures and writes a snapshot of a VM that is not running (both before it may run again: nothing is copied out). */
export async function saveSnapshot(vm: Vm, path: string, opts: SaveOptions = {}): Promise<WriteResult> {
  return captureSnapshot(vm, { stage: false, ...opts }).write(path);
}

export interface RestoreOptions {
  io?: DeviceOptions["io"];
  onConsole?: (b: Uint8Array) => void;
  sw?: VirtualSwitch;
  onProgress?: (p: Progress) => void;
  /** false: load all memory before the first instruction (default: lazily, when the snapshot allows it). */
  lazy?: boolean;
}

/**
 * Starts a VM from a snapshot (or the newest file of a chain): nothing of it runs until the caller runs it.
 * Lazily when it can (every file of the chain has a page index, RAM up to 2 GiB, and the caller did not ask for an
 * eager restore): the chain is validated by checksums, the machine and its state set up, memory left in the files
 * — the guest's first touch of a page, and a prefetch between run slices, bring it back (snapshot/lazy.ts).
 * Otherwise every page is written back before this returns.
 */
export async function restoreSnapshot(path: string, expectAbi: number, opts: RestoreOptions = {}): Promise<{ vm: Vm; parent: ParentRef; undoEpoch: number }> {
  const chain = await readChain(path, { expectAbi, expectConfig: checkMachineConfig, deferPages: opts.lazy !== false });
  const cfg = chain.config as MachineConfig;
  const lazy = opts.lazy !== false && chain.indexed && cfg.memBytes <= 2 ** 31;
  let vm: Vm | undefined;
  let handedOver = false; // the lazy loader closes the chain when the last page is back
  let undo: DiskUndo | null = null;
  try {
    // A checkpoint of a VM with writable disks: each disk goes back to the moment of the checkpoint (its
    // copy-before-write logs, next to the file, are rolled back) and keeps logging against it.
    undo = diskUndo(path, chain.section(DISK_UNDO_SECTION), cfg);
    vm = createMachine(cfg);
    if (cfg.devices.length) {
      await attachDevices(vm, cfg.devices, { io: opts.io ?? (cfg.deterministic ? "sync" : "thread"), onConsole: opts.onConsole, sw: opts.sw, rollback: undo ?? undefined });
      if (undo) await vm.devices!.beginUndo(undo);
      if (lazy) await vm.devices!.quiesce(); // no DMA until every page is back
    }
    if (lazy) {
      // The ROM (firmware boot) comes back at once: it is small and must be declared whole.
      if (cfg.rom) {
        const sink = new PageSink(vm, cfg);
        for (let i = 0; i < chain.pages.gpns.length; i++) if (sink.isRom(chain.pages.gpns[i])) sink.put(chain.pages.gpns[i], await chain.pages.get(i));
        sink.finish();
      }
      const v = vm;
      const loader = new LazyLoader(v, chain, async () => { v.lazy = undefined; v.devices?.thaw(); });
      v.lazy = loader;
      handedOver = true;
      loader.begin();
    } else {
      const total = chain.pages.gpns.length;
      let n = 0;
      await applyPages(vm, cfg, {
        gpns: chain.pages.gpns,
        get: async (i) => { if (++n % 4096 === 0) opts.onProgress?.({ phase: "restore", done: n * 4096, total: total * 4096 }); return chain.pages.get(i); },
      });
    }
    applyCore(vm, chain.section("core"));
    await applyDevices(vm, chain.section("devices"));
    return { vm, parent: { path, digest: chain.layers[0].digest }, undoEpoch: undo?.epoch ?? 0 };
  } catch (e) {
    await vm?.devices?.close();
    if (handedOver) await chain.close();
    throw e instanceof WasmvisorError ? e : new WasmvisorError(`cannot restore ${path}: ${(e as Error).message}`);
  } finally {
    if (!handedOver) await chain.close();
  }
}

/** The copy-before-write logs of the checkpoint `path` restores, from its section (null if it has none). */
function diskUndo(path: string, section: Uint8Array | undefined, cfg: MachineConfig): DiskUndo | null {
  if (!section) return null;
  let epoch: unknown;
  try { epoch = (JSON.parse(new TextDecoder().decode(section)) as { epoch?: unknown }).epoch; } catch { /* below */ }
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 1) throw new WasmvisorError(`${path}: its disk-undo section is malformed`);
  return { epoch: epoch as number, logs: checkpointUndoLogs(path, cfg.devices) };
}
