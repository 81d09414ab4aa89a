// Control of a running VM from outside its run loop: pause at an instruction boundary with devices quiesced,
// resume, snapshot (pause, save, resume), and the bookkeeping incremental snapshots need. The CLI (monitor,
// control socket, checkpoint policy), the embedding API and live migration all go through it.
import type { Vm } from "./vm.js";
import type { RunOptions } from "./runner.js";
import { captureSnapshot, mergeToFull, prepareStaging, writePrecopyBase } from "./snapshot/ops.js";
import { rm } from "node:fs/promises";
import { checkLevel, type ParentRef, type WriteResult } from "./snapshot/format.js";
import type { Progress } from "./progress.js";
import { WasmvisorError } from "./errors.js";
import type { DiskUndo, VirtioDevices } from "./virtio/devices.js";
import { checkpointUndoLogs, removeUndoLogsBefore } from "./virtio/undo.js";

export class VmController {
  /** What the run loop should do next; holds (snapshots, migration) and the user's pause both pause it. */
  private userPaused = false;
  private holds = 0;
  private ending: "quit" | "detach" | null = null;
  private pausedWaiters: (() => void)[] = [];
  /** When the last hold ended (the guest free to run again): callers measure their pause up to here. */
  private releasedAt = 0;
  /** A run loop waiting in its pause branch for control() to change (see nudge). */
  private controlWaiters: (() => void)[] = [];
  /** True while the run loop sits at a boundary in its pause branch (set by onPaused, cleared when it runs on). */
  private atBoundary = false;
  /** The share of time the guest is kept off the CPU (a live migration's auto-converge: runner.ts throttle). */
  throttle = 0;
  /** A live migration of this VM is under way (migrate.ts allows one at a time). */
  migrating = false;
  private isRunning = false;
  /** The user's pause under way or in force (pause()); resume() ends it. */
  private pausing: Promise<void> | null = null;
  private pauseToken: object | null = null;
  /** The devices the user's pause froze (thawed by resume()). */
  private userFrozen: VirtioDevices | undefined;
  /** The newest snapshot of this VM: the parent of an incremental one. */
  last?: ParentRef;
  /**
   * DEFLATE level of this VM's snapshots and checkpoints unless a call gives one: 0 (stored, no compression: the
   * fastest where the disk is fast, the largest files) to 9; undefined: the writer's default, 1. (Resolved once, in
   * snapshot() and checkpoint(); the private steps below take the level they are given.)
   */
  level?: number;
  /**
   * The checkpoint whose copy-before-write logs the VM's writable disks keep now (virtio/undo.ts; 0: none): the
   * next checkpoint is this plus one. A restored VM goes on with the checkpoint it was restored from.
   */
  undoEpoch = 0;

  constructor(readonly vm: Vm) {}

  /**
   * For a VM restored from `parent` (snapshot/ops.ts restoreSnapshot): its next incremental snapshot names that
   * file, and its disks go on logging against the checkpoint it was (undoEpoch).
   */
  restoredFrom(r: { parent: ParentRef; undoEpoch: number }): void {
    this.last = r.parent;
    this.undoEpoch = r.undoEpoch;
  }

  /** For runToExit's options. */
  runOptions(): Pick<RunOptions, "control" | "onPaused" | "hostBusy" | "waitControl" | "throttle"> {
    return {
      control: () => {
        const c = this.ending ?? (this.userPaused || this.holds > 0 ? "pause" : "run");
        if (c !== "pause") this.atBoundary = false;
        return c;
      },
      onPaused: () => { this.atBoundary = true; for (const w of this.pausedWaiters.splice(0)) w(); },
      hostBusy: () => this.busy > 0,
      throttle: () => this.throttle,
      waitControl: (ms) => new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.controlWaiters = this.controlWaiters.filter((w) => w !== done); resolve(); };
        const timer = setTimeout(done, ms);
        this.controlWaiters.push(done);
      }),
    };
  }

  /** True while runToExit drives this VM (set by whoever runs it). */
  get running(): boolean { return this.isRunning; }
  set running(v: boolean) {
    this.isRunning = v;
    this.atBoundary = false;
    // A run that ended will reach no boundary: whoever waits for one goes on (the guest runs no more).
    if (!v) for (const w of this.pausedWaiters.splice(0)) w();
  }

  get paused(): boolean { return this.userPaused; }

  /**
   * Suspends the guest (the monitor's stop, a control socket's pause, vm.pause()): it stops at an instruction
   * boundary, every device request it made completes, and nothing more is delivered into its memory (network
   * frames, console input wait in the back ends) until resume(). Resolves once that holds. The guest notices only
   * the time that passed.
   */
  pause(): Promise<void> {
    if (this.userPaused) return this.pausing ?? Promise.resolve();
    this.userPaused = true;
    this.nudge();
    const token = {};
    this.pauseToken = token;
    return (this.pausing = (async () => {
      await this.atBoundaryNow();
      if (this.pauseToken !== token) return; // resumed (and maybe paused again) meanwhile
      const d = this.vm.devices;
      if (d) { this.userFrozen = d; await d.quiesce(); }
    })());
  }

  resume(): void {
    this.userPaused = false;
    this.pausing = null;
    this.pauseToken = null;
    this.userFrozen?.thaw();
    this.userFrozen = undefined;
    this.nudge();
  }
  quit(): void { this.ending = "quit"; this.nudge(); }
  /** Ends the run without the guest ending (it continues elsewhere). */
  detach(): void { this.ending = "detach"; this.nudge(); }

  /** Wakes a run loop waiting in its pause branch to look at control() again (whoever changes what it returns). */
  nudge(): void {
    for (const w of this.controlWaiters.slice()) w();
  }

  /**
   * Waits until the run loop, if one drives the guest, sits at an instruction boundary in its pause branch (the
   * caller has made control() say "pause"), or has ended.
   */
  private async atBoundaryNow(): Promise<void> {
    if (!this.running || this.atBoundary) return;
    const paused = new Promise<void>((r) => this.pausedWaiters.push(r));
    // A run loop sleeping in WFI would notice the pause only when its sleep ends: wake it now.
    const { view, index } = this.vm.wakeWord;
    Atomics.add(view, index, 1);
    Atomics.notify(view, index);
    await paused;
  }

  /**
   * Runs fn with the guest stopped at an instruction boundary and every device request complete (suspend);
   * the guest continues afterwards unless fn detached it. Works whether or not the run loop is active.
   */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    await this.vm.lazy?.complete(); // a snapshot or migration must see all of memory
    this.holds++;
    const devices = this.vm.devices;
    try {
      await this.atBoundaryNow();
      await devices?.quiesce();
      return await fn();
    } finally {
      // (A migration that succeeded closed the devices; one that failed attached new, unfrozen ones, which the
      // user's pause, if one is in force, freezes in turn.)
      if (devices && this.vm.devices === devices) devices.thaw();
      else if (this.userFrozen && this.vm.devices && this.userFrozen !== this.vm.devices) {
        this.userFrozen = this.vm.devices;
        void this.userFrozen.quiesce();
      }
      this.holds--;
      this.releasedAt = performance.now();
      // (A waiting run loop continues first — before the caller's code after its await — and may run a slice.)
      this.nudge();
    }
  }

  /**
   * Snapshot: pause, capture, resume, write. incremental: only pages written since the previous snapshot of this
   * VM. A small capture (snapshot/ops.ts STAGE_MAX_BYTES) is copied out and written after the guest resumed, so the
   * guest pauses only for the copy; a large one is written while it is held. Snapshots of one VM are taken one at a
   * time (an incremental one names its parent by the digest the parent's write produces).
   */
  async snapshot(path: string, opts: { incremental?: boolean; onProgress?: (p: Progress) => void; level?: number } = {}): Promise<WriteResult & { pausedMs: number }> {
    const level = opts.level ?? this.level;
    checkLevel(level);
    return this.serialized(() => this.snapshotNow(path, { ...opts, level }));
  }

  /**
   * A checkpoint into `file`, which always holds this VM's newest complete checkpoint. The first is a full
   * snapshot; each later one is an incremental snapshot against it (`file`.inc: the guest is held only while its
   * dirty pages are copied) that is then folded into `file` while the guest runs (a merge, which replaces `file`
   * atomically). A kill at any moment leaves `file` whole: the previous checkpoint or the new one.
   */
  async checkpoint(file: string, opts: { onProgress?: (p: Progress) => void; level?: number } = {}): Promise<WriteResult & { pausedMs: number; incremental: boolean }> {
    const level = opts.level ?? this.level;
    checkLevel(level);
    return this.serialized(async () => {
      // Writable disks keep a copy-before-write log per checkpoint, begun while the VM is held for it: a restore of
      // `file` puts them back as they were at that moment, whatever the guest wrote later (virtio/undo.ts).
      const logs = checkpointUndoLogs(file, this.vm.devices?.slots.map((s) => s.spec) ?? []);
      const undo = Object.keys(logs).length ? { epoch: this.undoEpoch + 1, logs } : undefined;
      const inc = `${file}.inc`;
      let r: WriteResult & { pausedMs: number; incremental: boolean };
      if (this.last?.path !== file) {
        await rm(inc, { force: true }); // a fold a killed process left undone: its parent is about to be replaced
        r = { ...await this.snapshotNow(file, { ...opts, level, undo }), incremental: false };
      } else {
        const i = await this.snapshotNow(inc, { ...opts, level, incremental: true, undo });
        const merged = await mergeToFull(inc, file, this.vm.core.k.ABI_VERSION, level);
        this.last = { path: file, digest: merged.digest };
        await rm(inc, { force: true });
        r = { ...merged, pausedMs: i.pausedMs, incremental: true };
      }
      // `file` now holds this checkpoint: the logs of earlier ones are not needed any more.
      if (undo) for (const base of Object.values(undo.logs)) removeUndoLogsBefore(base, undo.epoch);
      return r;
    });
  }

  /**
   * A full snapshot of a running guest, taken as a live migration is: all its memory is written while it runs
   * (`path`.precopy, ops.ts writePrecopyBase), then it is held only for an incremental snapshot of what it dirtied
   * meanwhile (`path`.precopy.inc, copied out as any incremental one), and the two are merged into `path` (the
   * merge copies the first file's untouched chunks as they are). The guest pauses for the increment's copy instead
   * of the whole save (128 MiB Linux guest: ~1 ms instead of 0.4–0.7 s). If anything fails, every page goes back
   * into the dirty log: an incremental snapshot against the previous one stays exact.
   */
  private async precopyFull(path: string, opts: { onProgress?: (p: Progress) => void; level?: number; undo?: DiskUndo }): Promise<WriteResult & { pausedMs: number }> {
    await this.vm.lazy?.complete(); // the first pass reads all of memory
    const base = `${path}.precopy`, inc = `${base}.inc`;
    const before = this.last;
    try {
      const b = await writePrecopyBase(this.vm, base, opts.onProgress, path, opts.level);
      this.last = { path: base, digest: b.digest };
      const r = await this.snapshotNow(inc, { ...opts, incremental: true, reportAs: path });
      const merged = await mergeToFull(inc, path, this.vm.core.k.ABI_VERSION, opts.level);
      this.last = { path, digest: merged.digest };
      return { ...merged, pausedMs: r.pausedMs };
    } catch (e) {
      this.last = before;
      this.vm.remarkDirty(this.vm.allocatedPages());
      throw e;
    } finally {
      await Promise.all([rm(base, { force: true }), rm(inc, { force: true })]);
    }
  }

  /** Runs snapshot work one piece at a time (an incremental snapshot names its parent by the digest its write produces). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const turn = this.snapshots.then(async () => {
      this.busy++; // (the run loop gives the writer's steps a turn every ~1 ms meanwhile: runner.ts hostBusy)
      try { return await fn(); } finally { this.busy--; }
    });
    this.snapshots = turn.catch(() => {});
    return turn;
  }

  private snapshots: Promise<unknown> = Promise.resolve();
  /** Snapshot work in progress (see serialized). */
  private busy = 0;

  private async snapshotNow(path: string, opts: { incremental?: boolean; onProgress?: (p: Progress) => void; reportAs?: string; level?: number; undo?: DiskUndo }): Promise<WriteResult & { pausedMs: number }> {
    if (opts.incremental && !this.last) throw new WasmvisorError("an incremental snapshot needs a previous snapshot of this VM (take a full one first)");
    if (!opts.incremental && this.running && !this.userPaused && !this.vm.exited) return this.precopyFull(path, opts);
    if (opts.incremental) prepareStaging(this.vm); // (before the pause: fresh memory faults page by page)
    const t0 = performance.now();
    const held = await this.hold(async () => {
      // A full snapshot of a VM that will not run meanwhile (paused, or not running) is written in place while it
      // is held: copying it out first bought nothing but a fresh buffer of up to 64 MiB to fault in (a paused
      // 128 MiB Linux guest: held 195 ms for the copy, then written). Incremental snapshots are always copied out:
      // in place measured no faster for them (docs/benchmarks.md), and a copy frees the guest at once if resumed.
      // A copy is compressed from the start of the copy when the guest would not run meanwhile anyway.
      const willRun = this.running && !this.userPaused;
      const stage = opts.incremental === true || willRun;
      if (opts.undo) {
        // (The devices are quiesced: no write falls between this capture and the disks' new logs.)
        await this.vm.devices!.beginUndo(opts.undo);
        this.undoEpoch = opts.undo.epoch;
      }
      const cap = captureSnapshot(this.vm, { parent: opts.incremental ? this.last : undefined, onProgress: opts.onProgress, reportAs: opts.reportAs, stage,
        startNow: !willRun, level: opts.level, undoEpoch: opts.undo?.epoch });
      // A staged capture is written once the guest runs again (not even its first steps while held); a large one now.
      // (A failed write leaves hold through its finally: the guest runs on either way.)
      return { cap, written: cap.staged ? undefined : await cap.write(path) };
    });
    const pausedMs = this.releasedAt - t0; // held: from the pause request to the guest free to run again
    const r = held.written ?? await held.cap.write(path);
    this.last = { path, digest: r.digest };
    return { ...r, pausedMs };
  }
}
