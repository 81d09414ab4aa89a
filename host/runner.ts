// Drives a VM to completion: slices of the core's run loop, console draining, WFI sleeps, limits and tracing.
import { ExitCode, WasmvisorError } from "./errors.js";
import { TIMEBASE_HZ } from "./core-imports.js";
import type { ExitStatus, Vm } from "./vm.js";
import { traceStep } from "./trace.js";

import type { InputQueue } from "./console-input.js";
export { InputQueue } from "./console-input.js";

export interface RunOptions {
  /** Console input for the guest (usually the VM's own queue, vm.consoleInput, which snapshots carry). */
  input?: InputQueue;
  /**
   * While it returns "pause" the guest is paused (the monitor's stop, a snapshot, a migration's stop-and-copy);
   * "quit" ends the run as a poweroff; "detach" ends it without the guest ending (it lives on elsewhere: migrated).
   */
  control?: () => "run" | "pause" | "quit" | "detach";
  /** Called whenever the run loop has stopped the guest for a pause (at an instruction boundary). */
  onPaused?: () => void;
  /**
   * While paused, the loop waits on this for control() to change (resolve when it may have, or after `ms`) rather
   * than looking again every 5 ms: a paused guest then costs no CPU, and it runs again as soon as it is released
   * (a poll added up to 5 ms to every hold: a snapshot's pause, a migration's downtime).
   */
  waitControl?: (ms: number) => Promise<void>;
  /**
   * True while host work beside the guest waits on this thread's event loop (a snapshot being written or folded):
   * the loop then runs short slices and yields after each, so that every step of that work waits ~1 ms for the
   * vCPU instead of up to a 20 ms slice (a 1,000-page incremental snapshot of a running guest was durable after
   * 120–210 ms instead of its ~30 ms of work; now 47–58 ms). Costs the guest no measurable speed (wl-int: 356
   * MIPS with short slices, 361 without).
   */
  hostBusy?: () => boolean;
  /**
   * The share of wall time the guest is kept off the CPU (0 = none, at most MAX_THROTTLE): a live migration's
   * auto-converge slows a guest that dirties memory faster than it can be sent (migrate.ts). While it is above
   * zero the loop runs short slices and sleeps after each for its share of the time.
   */
  throttle?: () => number;
  /** Wall-clock limit in milliseconds. */
  timeoutMs?: number;
  /** Retired-instruction limit. */
  maxInsns?: bigint;
  /**
   * Called once, when the first run slice has returned: the harts have resumed (after a restore they execute, or
   * wait in WFI if that is where they were saved). What "restore to running" measures.
   */
  onRunning?: () => void;
  /** Called with console output as it appears. */
  onConsole?: (bytes: Uint8Array) => void;
  /** If set, every retired instruction is logged through it (slow). */
  trace?: (line: string) => void;
  /** Instructions per run() call (default 4M: run() must return regularly for V8 to tier up). */
  sliceBudget?: number;
}

export interface RunResult {
  /** How the guest ended; null when a limit stopped it. */
  exit: ExitStatus | null;
  /**
   * "exit", "timeout", "max-insns", "detached" (control said so: e.g. the VM migrated), or "time-slot" / "signal"
   * (the API's checkpoint policy stopped it after a checkpoint, at the end of the time slot or on a signal: policy.ts).
   */
  reason: "exit" | "timeout" | "max-insns" | "detached" | "time-slot" | "signal";
  instret: bigint;
  wallMs: number;
  /** How often the core returned to the host, by reason (budget, wfi, console, ...). */
  exits: Record<string, number>;
}

/**
 * Instructions per slice, and the longest time the run loop keeps the event loop waiting (then it yields). The vCPU
 * runs on the main thread (docs/architecture.md), so these bound how long a control request, a console key or a
 * timer waits while the guest computes: 1 M instructions are ~3-5 ms, and a yield every 5 ms costs no measurable
 * speed (wl-int at 1 M / 5 ms and at 4 M / 20 ms, the values before: within 1 %), while a busy guest's pause over
 * the control socket answered in 27 ms (median; up to 84) at 4 M / 20 ms.
 */
const SLICE = 1_000_000;
const YIELD_MS = 5;
/** Instructions per slice, and the longest time between yields, while hostBusy() says host work is waiting. */
const BUSY_SLICE = 300_000;
const BUSY_YIELD_MS = 1;

/** The largest throttle honoured: the guest keeps at least this share of the CPU less one (it must progress). */
export const MAX_THROTTLE = 0.95;

/** Longest wait in the pause branch without looking at control() again (a control source that forgot to say). */
const PAUSED_RECHECK_MS = 1000;

/** How long a WFI blocks the thread waiting for an I/O thread's interrupt before sleeping on the event loop. */
const SPIN_WAIT_MS = 0.5;

export async function runToExit(vm: Vm, opts: RunOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const deadline = opts.timeoutMs !== undefined ? t0 + opts.timeoutMs : Infinity;
  const slice = opts.sliceBudget ?? SLICE;
  const start = vm.instret;
  let lastYield = t0;
  let stalled = 0; // consecutive steps (traps) that retired no instruction
  let owed = 0; // ms the throttle still wants the guest off the CPU
  let ran = false; // the first slice has returned (onRunning)
  const flush = () => { const b = vm.drainConsole(); if (b.length && opts.onConsole) opts.onConsole(b); };
  const exits: Record<string, number> = {};
  const finish = (exit: ExitStatus | null, reason: RunResult["reason"]): RunResult => {
    flush();
    return { exit, reason, instret: vm.instret - start, wallMs: performance.now() - t0, exits };
  };
  for (;;) {
    // A guest that has ended (its halt was taken by another run: a snapshot or migration of a VM that had just
    // powered off) runs no further: the run ends as the guest did.
    if (vm.exited) return finish(vm.exitStatus(), "exit");
    const busy = opts.hostBusy?.() === true;
    const throttle = Math.min(Math.max(opts.throttle?.() ?? 0, 0), MAX_THROTTLE);
    let budget = busy || throttle > 0 ? Math.min(slice, BUSY_SLICE) : slice;
    if (opts.maxInsns !== undefined) {
      const left = opts.maxInsns - (vm.instret - start);
      if (left <= 0n) return finish(null, "max-insns");
      if (left < BigInt(budget)) budget = Number(left);
    }
    const ctl = opts.control?.() ?? "run";
    if (ctl === "quit") return finish({ kind: "poweroff", code: 0 }, "exit");
    if (ctl === "detach") return finish(null, "detached");
    if (ctl === "pause") {
      // Paused at an instruction boundary: the guest runs nothing; whoever paused it (monitor, snapshot,
      // migration) works on the event loop meanwhile, so wait without blocking it.
      flush();
      opts.onPaused?.();
      // (Looked at again at least every PAUSED_RECHECK_MS all the same, and at the deadline.)
      const wait = Math.max(0, Math.min(PAUSED_RECHECK_MS, deadline - performance.now()));
      await (opts.waitControl ? opts.waitControl(wait) : new Promise((r) => setTimeout(r, Math.min(wait, 5))));
      lastYield = performance.now();
      if (performance.now() >= deadline) return finish(null, "timeout");
      continue;
    }
    opts.input?.deliver(vm);
    // Lazy restore: bring back a chunk of memory per slice (not before the first: the guest runs first).
    if (vm.lazy?.active && vm.instret !== start) await vm.lazy.step();
    let stop: ReturnType<Vm["run"]>;
    const sliceStart = performance.now();
    if (opts.trace) {
      stop = "budget";
      const n = Math.min(budget, 10_000);
      for (let i = 0; i < n && stop === "budget"; i++) stop = traceStep(vm, opts.trace);
    } else {
      const before = vm.instret;
      stop = vm.run(budget);
      // A whole slice of steps without one retired instruction: every step was a trap (e.g. a trap vector that
      // faults itself). Nothing will change that; report it instead of spinning.
      stalled = stop === "budget" && vm.instret === before ? stalled + budget : 0;
      if (stalled >= 4_000_000) {
        const k = vm.core.k;
        throw new WasmvisorError(`guest is stuck in a trap loop at pc 0x${vm.pc.toString(16)} ` +
          `(mcause 0x${vm.hartU64(k.HART_MCAUSE).toString(16)}, mtval 0x${vm.hartU64(k.HART_MTVAL).toString(16)})`, ExitCode.GUEST_ERROR);
      }
    }
    flush();
    if (!ran) { ran = true; opts.onRunning?.(); }
    exits[stop] = (exits[stop] ?? 0) + 1;
    if (vm.devices?.error) throw new WasmvisorError(`virtio device failed: ${vm.devices.error}`, ExitCode.INTERNAL);
    switch (stop) {
      case "io": vm.devices?.serviceSync(); break;
      case "page": await vm.lazy?.fault(); break;
      case "halt": return finish(vm.exitStatus(), "exit");
      case "htif":
        throw new WasmvisorError(`guest made an unsupported HTIF request 0x${vm.htifValue().toString(16)}`, ExitCode.GUEST_ERROR);
      case "fatal": {
        const k = vm.core.k, dv = new DataView(vm.memory.buffer);
        const pc = dv.getBigUint64(k.VM_FAULT_ADDR, true), cause = dv.getBigUint64(k.VM_FAULT_CAUSE, true);
        throw new WasmvisorError(`the guest trapped into M-mode, which direct boot does not have (cause 0x${cause.toString(16)} at pc 0x${pc.toString(16)})`, ExitCode.GUEST_ERROR);
      }
      case "wfi": {
        const ticks = vm.nextTimerTicks();
        if (ticks < 0 && !opts.input?.live && !vm.devices?.slots.length) {
          throw new WasmvisorError(`guest waits for an interrupt that cannot arrive (WFI with no timer that can wake it) at pc 0x${vm.pc.toString(16)}`, ExitCode.GUEST_ERROR);
        }
        if (opts.input?.pending) break; // input is waiting: deliver it at once
        const ms = Math.min(ticks < 0 ? 50 : ticks / (TIMEBASE_HZ / 1000), deadline - performance.now(), 20);
        if (ms > 0) {
          // Sleep until the timer deadline or a device interrupt (an I/O thread bumps and notifies the wake word),
          // without blocking the event loop: stdin, other VMs of this process and the switch keep running.
          // (A pending waitAsync does not keep Node's event loop alive: the timer does.)
          const { view, index } = vm.wakeWord;
          const seen = Atomics.load(view, index);
          // With devices on an I/O thread, the interrupt that ends this WFI is often a request completing within
          // microseconds: wait for it briefly right here (a blocking wait, woken by the thread's notify) before
          // handing the rest of the sleep to the event loop, whose wake-up takes far longer.
          if (vm.devices?.threaded && Atomics.wait(view, index, seen, Math.min(ms, SPIN_WAIT_MS)) !== "timed-out") {
            lastYield = performance.now();
            break;
          }
          const w = Atomics.waitAsync(view, index, seen, ms);
          if (w.async) {
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([w.value, new Promise((r) => { timer = setTimeout(r, ms + 1); })]);
            clearTimeout(timer);
          }
          lastYield = performance.now();
        } else if (opts.input?.live) { lastYield = performance.now(); await new Promise((r) => setImmediate(r)); }
        break;
      }
      default: break;
    }
    const now = performance.now();
    if (now >= deadline) return finish(null, "timeout");
    if (throttle > 0 && stop !== "wfi") {
      // Off the CPU for the throttle's share of the time: after a slice of r ms, r * t / (1 - t) ms (owed until it
      // reaches a timer's resolution).
      owed += (now - sliceStart) * throttle / (1 - throttle);
      if (owed >= 1) {
        const ms = Math.min(owed, 100);
        owed = 0;
        lastYield = now;
        await new Promise((r) => setTimeout(r, ms));
        continue;
      }
    } else owed = 0;
    if (now - lastYield > (busy ? BUSY_YIELD_MS : YIELD_MS)) { lastYield = now; await new Promise((r) => setImmediate(r)); }
  }
}
