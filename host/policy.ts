// The checkpoint policy an administrator sets for a VM: a checkpoint every so often while it runs, and a time slot
// after which it is checkpointed and stopped (restore continues it). One mechanism for `wasmvisor run --checkpoint
// FILE --checkpoint-every S --time-slot S` and for createVm/restoreVm({checkpoint}).
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
}

/** One checkpoint the policy took: why, and what was written or why it failed. */
export interface CheckpointEvent {
  why: "periodic" | "time-slot";
  file: string;
  result?: WriteResult & { pausedMs: number; incremental: boolean };
  error?: Error;
}

export interface PolicyRun {
  /** Stops the timers (the run is over). */
  stop(): void;
  /** The time slot ran out: the run was stopped for it. */
  readonly slotExpired: boolean;
}

/** Refuses a policy whose times are not positive numbers of milliseconds (before anything runs). */
export function checkPolicy(p: CheckpointPolicy): void {
  if (typeof p.file !== "string" || !p.file) throw new WasmvisorError("checkpoint policy: needs a file");
  for (const [k, v] of [["everyMs", p.everyMs], ["timeSlotMs", p.timeSlotMs]] as const) {
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new WasmvisorError(`checkpoint policy: ${k} is not a positive number of milliseconds (${v})`);
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
  let busy = false, slotExpired = false;
  const take = async (why: CheckpointEvent["why"]): Promise<void> => {
    busy = true;
    try {
      onEvent({ why, file: p.file, result: await ctl.checkpoint(p.file, { onProgress }) });
    } catch (e) {
      onEvent({ why, file: p.file, error: e as Error });
    } finally { busy = false; }
  };
  if (p.everyMs !== undefined) {
    // (They do not queue up: a checkpoint still being written or folded makes the tick skip.)
    const t = setInterval(() => { if (!busy) void take("periodic"); }, p.everyMs);
    t.unref();
    timers.push(t);
  }
  if (p.timeSlotMs !== undefined) {
    const t = setTimeout(() => { void take("time-slot").then(() => { slotExpired = true; ctl.quit(); }); }, p.timeSlotMs);
    t.unref();
    timers.push(t);
  }
  return {
    stop: () => { for (const t of timers) clearTimeout(t); },
    get slotExpired() { return slotExpired; },
  };
}
