// The checkpoint policy an administrator sets for a VM: a checkpoint every so often while it runs, a time slot
// after which it is checkpointed and stopped (restore continues it), and signals that do the same (a batch system's
// notice that the job ends). One mechanism for `wasmvisor run --checkpoint FILE --checkpoint-every S --time-slot S
// --checkpoint-on SIGNALS` and for createVm/restoreVm({checkpoint}).
import { constants } from "node:os";
import type { VmController } from "./controller.js";
import type { WriteResult } from "./snapshot/format.js";
import type { Progress } from "./progress.js";
import { WasmvisorError } from "./errors.js";

export interface CheckpointPolicy {
  /** Where checkpoints go: it always holds the newest complete one (VmController.checkpoint). */
  file: string;
  /** A checkpoint this often while the guest runs; a tick that finds the previous one unfinished skips. */
  everyMs?: number;
  /** After this long: a checkpoint, then the run stops (whether or not the checkpoint could be written). */
  timeSlotMs?: number;
  /**
   * On any of these signals (names, e.g. "SIGTERM"): a checkpoint, then the run stops, as at the end of the time
   * slot. This is how a batch system says that a job's time is up: Slurm sends SIGTERM at the time limit (and
   * SIGKILL KillWait seconds later, 30 by default), or a chosen signal ahead of it with `--signal`. While the run
   * lasts the policy handles them for the whole process, in place of Node's default (which ends the process at once).
   */
  signals?: string[];
}

/** One checkpoint the policy took: why, and what was written or why it failed. */
export interface CheckpointEvent {
  why: "periodic" | "time-slot" | "signal";
  /** With why "signal": which. */
  signal?: string;
  file: string;
  result?: WriteResult & { pausedMs: number; incremental: boolean };
  error?: Error;
}

export interface PolicyRun {
  /** Stops the timers and lets go of the signals (the run is over). */
  stop(): void;
  /** Why the policy stopped the run (after its last checkpoint), or null if it did not. */
  readonly stopped: { why: "time-slot" } | { why: "signal"; signal: string } | null;
}

/** Signals a process cannot catch. */
const UNCATCHABLE = new Set(["SIGKILL", "SIGSTOP"]);

/** Refuses a policy whose times are not positive numbers of milliseconds (before anything runs). */
export function checkPolicy(p: CheckpointPolicy): void {
  if (typeof p.file !== "string" || !p.file) throw new WasmvisorError("checkpoint policy: needs a file");
  for (const [k, v] of [["everyMs", p.everyMs], ["timeSlotMs", p.timeSlotMs]] as const) {
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new WasmvisorError(`checkpoint policy: ${k} is not a positive number of milliseconds (${v})`);
  }
  if (p.signals !== undefined) {
    if (!Array.isArray(p.signals)) throw new WasmvisorError("checkpoint policy: signals is not a list of signal names");
    for (const sig of p.signals) {
      if (typeof sig !== "string" || !Object.hasOwn(constants.signals, sig)) throw new WasmvisorError(`checkpoint policy: ${JSON.stringify(sig)} is not a signal name (such as SIGTERM or SIGUSR1)`);
      if (UNCATCHABLE.has(sig)) throw new WasmvisorError(`checkpoint policy: ${sig} cannot be caught`);
    }
  }
}

/**
 * Starts the policy's timers for a VM that is about to run (its controller must see the run: ctl.running). Each
 * checkpoint is reported through onEvent; the time slot's end quits the run through the controller after its
 * checkpoint (or its failure).
 */
export function startCheckpointPolicy(ctl: VmController, p: CheckpointPolicy, onEvent: (e: CheckpointEvent) => void,
  onProgress?: (pr: Progress) => void): PolicyRun {
  checkPolicy(p);
  const timers: NodeJS.Timeout[] = [];
  const handlers: [string, () => void][] = [];
  let busy = false;
  let stopping: PolicyRun["stopped"] = null, stopped: PolicyRun["stopped"] = null;
  const take = async (why: CheckpointEvent["why"], signal?: string): Promise<void> => {
    busy = true;
    const e: CheckpointEvent = { why, ...(signal ? { signal } : {}), file: p.file };
    try {
      e.result = await ctl.checkpoint(p.file, { onProgress });
    } catch (err) {
      e.error = err as Error;
    } finally { busy = false; }
    onEvent(e);
  };
  // The last checkpoint, then the run stops. The guest is paused first and does not run again here, so the file
  // holds exactly where it stopped: nothing it does after the checkpoint is done twice once restored, and its disk
  // images (not in the file) are left as they were at the checkpoint. Once: a second signal, or the time slot
  // ending meanwhile, changes nothing. (Checkpoints are taken one at a time by the controller: this one waits for
  // a periodic one under way.)
  const finish = (why: NonNullable<PolicyRun["stopped"]>) => {
    if (stopping) return;
    stopping = why;
    void ctl.pause(); // (the checkpoint's hold waits for the same boundary)
    void take(why.why, why.why === "signal" ? why.signal : undefined).then(() => { stopped = why; ctl.quit(); });
  };
  if (p.everyMs !== undefined) {
    // (They do not queue up: a checkpoint still being written or folded makes the tick skip.)
    const t = setInterval(() => { if (!busy && !stopping) void take("periodic"); }, p.everyMs);
    t.unref();
    timers.push(t);
  }
  if (p.timeSlotMs !== undefined) {
    const t = setTimeout(() => finish({ why: "time-slot" }), p.timeSlotMs);
    t.unref();
    timers.push(t);
  }
  for (const signal of new Set(p.signals ?? [])) {
    const h = () => finish({ why: "signal", signal });
    process.on(signal as NodeJS.Signals, h);
    handlers.push([signal, h]);
  }
  return {
    stop: () => {
      for (const t of timers) clearTimeout(t);
      for (const [sig, h] of handlers) process.off(sig as NodeJS.Signals, h);
    },
    get stopped() { return stopped; },
  };
}
