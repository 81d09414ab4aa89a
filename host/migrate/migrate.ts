// Live migration (pre-copy, as in Clark et al., "Live Migration of Virtual Machines", NSDI 2005): the source sends
// all memory while the guest runs, then rounds of the pages it dirtied meanwhile, until the rest can be sent within
// the downtime target (or a round limit is reached); then it stops the guest, sends the last dirty pages and the
// core's state, and the target resumes the guest. The source stops for good only after the target confirms;
// whatever goes wrong before that (cut connection, dead or refusing target), the source VM continues unharmed.
//
// Messages on the authenticated channel (channel.ts), by type:
//   HELLO  s→t  JSON {proto, abi, config}   READY  t→s  JSON {}
//   PAGES  s→t  u32 n, n × u32 page number, n × 4096 bytes      FINAL s→t  the core's state section
//   SYNC   s→t  (empty): answer once every page before it is in place       SYNCED t→s (empty)
//   RESUMED t→s JSON {at: wall-clock ms when the guest was resumed}   ABORT either way JSON {error}
// SYNC ends every pre-copy round: the round's rate then includes the target's work (writing a page it never had
// costs it a page fault), and the stop-and-copy never waits behind a backlog of earlier rounds at the target —
// without it, the final state queued behind the last round's pages and the downtime swung from 15 to 100 ms.
import * as net from "node:net";
import { Channel, readPsk } from "./channel.js";
import { acceptSource } from "./accept.js";
import { WasmvisorError } from "../errors.js";
import type { VmController } from "../controller.js";
import type { Vm } from "../vm.js";
import type { Progress } from "../progress.js";
import { machineConfig, checkMachineConfig, coreSection, devicesSection, applyDevices, fullPages, createMachine, applyCore, PageSink, type MachineConfig } from "../snapshot/vmstate.js";
import { attachDevices, type DeviceOptions } from "../virtio/devices.js";
import type { VirtualSwitch } from "../virtio/switch.js";

const T_HELLO = 1, T_READY = 2, T_PAGES = 3, T_FINAL = 4, T_RESUMED = 5, T_ABORT = 6, T_SYNC = 7, T_SYNCED = 8;
/** The message set above; a target refuses a source that speaks another. */
const PROTOCOL = 2;
const BATCH = 256; // pages per PAGES message (1 MiB)
/** Auto-converge's throttle (MigrationPolicy.autoConverge): first step, increment per stalled round, largest. */
const THROTTLE_FIRST = 0.2, THROTTLE_STEP = 0.1, THROTTLE_MAX = 0.9;
const now = () => performance.timeOrigin + performance.now(); // wall-clock ms, comparable between processes

export interface MigrationPolicy {
  /** Stop-and-copy once the remaining dirty pages can be sent within this (ms). Default 60 (the Xen paper's best case). */
  downtimeMs?: number;
  /** At most this many pre-copy rounds. Default 30. */
  maxRounds?: number;
  /**
   * Auto-converge (as QEMU's): a guest whose dirty set stops shrinking is throttled — kept off the CPU for 20 % of
   * the time, then 10 % more every round that still does not shrink, up to 90 % — so that it dirties memory
   * slower than it is sent and the stop fits the downtime target. The guest runs slower until the stop, instead
   * of pausing longer at it. Default true; false: stop and copy once the dirty set has stalled for three rounds.
   */
  autoConverge?: boolean;
}

export interface MigrationReport {
  rounds: number;
  pagesSent: number;
  bytesSent: number;
  totalMs: number;
  /** Last guest instruction on the source to first on the target (same host clock). */
  downtimeMs: number;
  lastRoundPages: number;
  /** The largest auto-converge throttle used (the share of time the guest was kept off the CPU; 0: none). */
  maxThrottle: number;
}

function pagesMessage(vm: Vm, gpns: number[]): Uint8Array {
  const m = new Uint8Array(4 + gpns.length * 4 + gpns.length * 4096);
  const dv = new DataView(m.buffer);
  dv.setUint32(0, gpns.length, true);
  gpns.forEach((g, i) => {
    dv.setUint32(4 + i * 4, g, true);
    const p = vm.pageView(g);
    if (p) m.set(p, 4 + gpns.length * 4 + i * 4096);
  });
  return m;
}

/** Sends pages in batches, several in flight (waiting for the socket to drain every INFLIGHT batches). */
async function sendPages(ch: Channel, vm: Vm, gpns: number[], progress: (n: number) => void): Promise<void> {
  const INFLIGHT = 8;
  let pending: Promise<void>[] = [];
  for (let i = 0; i < gpns.length; i += BATCH) {
    const b = gpns.slice(i, i + BATCH);
    pending.push(ch.send(T_PAGES, pagesMessage(vm, b))); // copied right before sending: the guest runs in between
    progress(b.length);
    if (pending.length >= INFLIGHT) { await Promise.all(pending); pending = []; }
  }
  await Promise.all(pending);
}

/**
 * Source side: migrates the VM under ctl to host:port. Resolves when the target runs it (ctl is then detached).
 * One migration of a VM at a time: a second one, while the first runs, is refused at once.
 */
export async function migrateOut(ctl: VmController, host: string, port: number, pskFile: string,
  onProgress: (p: Progress) => void = () => {}, policy: MigrationPolicy = {}): Promise<Record<string, unknown>> {
  if (ctl.migrating) throw new WasmvisorError("migration failed: this VM is already being migrated; the VM keeps running here");
  ctl.migrating = true;
  try {
    return await migrateOutAlone(ctl, host, port, pskFile, onProgress, policy);
  } finally {
    ctl.migrating = false;
  }
}

async function migrateOutAlone(ctl: VmController, host: string, port: number, pskFile: string,
  onProgress: (p: Progress) => void, policy: MigrationPolicy): Promise<Record<string, unknown>> {
  const vm = ctl.vm, t0 = now();
  if (vm.exited) throw new WasmvisorError("the guest has already ended (it powered off): there is nothing to migrate");
  await vm.lazy?.complete(); // pre-copy reads all of memory
  const downtimeMs = policy.downtimeMs ?? 60, maxRounds = policy.maxRounds ?? 30, autoConverge = policy.autoConverge !== false;
  let maxThrottle = 0;
  let ch: Channel;
  try { ch = await Channel.connect(host, port, readPsk(pskFile)); } catch (e) {
    throw new WasmvisorError(`migration failed: ${(e as Error).message}; the VM keeps running here`);
  }
  let sent = 0, rounds = 0, stopped = false;
  let log: ReturnType<Vm["openDirtyLog"]> | undefined;
  const ramPages = vm.memBytes / 4096;
  const prog = (phase: string) => (n: number) => { sent += n; onProgress({ phase, done: sent * 4096, total: ramPages * 4096 }); };
  try {
    ch.phase = "handshake";
    await ch.send(T_HELLO, Buffer.from(JSON.stringify({ proto: PROTOCOL, abi: vm.core.k.ABI_VERSION, config: machineConfig(vm) })));
    const ready = await ch.recv();
    if (ready.type === T_ABORT) throw new WasmvisorError(`migration target refused: ${JSON.parse(ready.payload.toString()).error}`);
    if (ready.type !== T_READY) throw new WasmvisorError("migration target answered out of protocol");
    // Round 0: everything the guest has; later rounds: what it dirtied during the previous one.
    ch.phase = "pre-copy";
    // The migration's own dirty log (vm.openDirtyLog): what it takes, snapshots of this VM still get, so a
    // migration that fails (or a checkpoint taken meanwhile) leaves the incremental snapshot chain exact.
    log = vm.openDirtyLog();
    let todo = fullPages(vm);
    let stalled = 0; // consecutive rounds whose dirty set did not shrink by a tenth
    for (;;) {
      rounds++;
      const r0 = performance.now(), bytes0 = ch.bytesSent;
      await sendPages(ch, vm, todo, prog(`pre-copy round ${rounds}`));
      await ch.send(T_SYNC, Buffer.alloc(0));
      const synced = await ch.recv();
      if (synced.type === T_ABORT) throw new WasmvisorError(`migration target failed: ${JSON.parse(synced.payload.toString()).error}`);
      if (synced.type !== T_SYNCED) throw new WasmvisorError("migration target answered out of protocol");
      const ms = Math.max(performance.now() - r0, 1), rate = Math.max((ch.bytesSent - bytes0) / ms, 1); // bytes/ms, target's work included
      const sentNow = todo.length;
      todo = log.take();
      // Stop when the rest fits the downtime target with a margin of 2. Round 0 always has a successor unless
      // almost nothing is dirty: the target's first write of a page costs a page fault, and pages re-sent in later
      // rounds are already mapped there. A guest that dirties memory as fast as it can be sent never fits: once
      // its dirty set has stopped shrinking for three rounds, more rounds only delay the stop (as in Xen's
      // pre-copy), so stop and copy the rest — the downtime then exceeds the target, which the report shows.
      const fits = (todo.length * 4096 * 2) / rate <= downtimeMs && (rounds >= 2 || todo.length < 64);
      stalled = rounds >= 2 && todo.length > 0.9 * sentNow ? stalled + 1 : 0;
      if (fits || rounds >= maxRounds) break;
      if (stalled > 0 && autoConverge && ctl.throttle < THROTTLE_MAX) {
        ctl.throttle = Math.min(THROTTLE_MAX, ctl.throttle > 0 ? ctl.throttle + THROTTLE_STEP : THROTTLE_FIRST);
        maxThrottle = Math.max(maxThrottle, ctl.throttle);
        stalled = 0; // (each throttle step gets its rounds to show an effect)
        continue;
      }
      if (stalled >= 3) break;
    }
    // Stop-and-copy.
    ch.phase = "stop-and-copy";
    const report = await ctl.hold(async () => {
      if (vm.exited) throw new WasmvisorError("the guest has already ended (it powered off): there is nothing to migrate");
      const paused = now();
      stopped = true;
      const last = [...new Set([...todo, ...log!.take()])].sort((a, b) => a - b);
      await sendPages(ch, vm, last, prog("stop-and-copy"));
      const core = coreSection(vm).data;
      const devState = devicesSection(vm, { paused: ctl.paused }).data; // (a guest the user paused stays paused there)
      const final = new Uint8Array(4 + core.length + devState.length);
      new DataView(final.buffer).setUint32(0, core.length, true);
      final.set(core, 4);
      final.set(devState, 4 + core.length);
      // The devices let go of their resources (disk locks) so the target can take them; on failure, re-attach.
      const reattach = vm.devices?.reattach;
      await vm.devices?.close();
      try {
        await ch.send(T_FINAL, final);
        ch.phase = "waiting for the target to resume";
        const m = await ch.recv();
        if (m.type === T_ABORT) throw new WasmvisorError(`migration target failed to resume: ${JSON.parse(m.payload.toString()).error}`);
        if (m.type !== T_RESUMED) throw new WasmvisorError("migration target answered out of protocol");
        const at = Number(JSON.parse(m.payload.toString()).at);
        ctl.detach(); // the guest lives on at the target
        return { rounds, pagesSent: sent, bytesSent: ch.bytesSent, totalMs: now() - t0, downtimeMs: at - paused, lastRoundPages: last.length, maxThrottle } satisfies MigrationReport;
      } catch (e) {
        if (reattach) {
          await reattach();
          applyCore(vm, core); // the transports' state, as it was at the stop
          await applyDevices(vm, devState, false); // and the back ends' pending input and frames (its console queue is its own)
        }
        throw e;
      }
    });
    return report as unknown as Record<string, unknown>;
  } catch (e) {
    try { await ch.send(T_ABORT, Buffer.from(JSON.stringify({ error: (e as Error).message }))); } catch { /* gone */ }
    throw new WasmvisorError(`migration failed${stopped ? " after the stop" : ""}: ${(e as Error).message}; the VM keeps running here`);
  } finally {
    ctl.throttle = 0; // (on success the guest runs on at the target; on failure, here at full speed again)
    log?.close();
    await ch.close().catch(() => {});
  }
}

export interface IncomingOptions {
  io?: DeviceOptions["io"];
  onConsole?: (b: Uint8Array) => void;
  sw?: VirtualSwitch;
  onProgress?: (p: Progress) => void;
  /** A connection that did not authenticate was dropped (who: its address and port); the target waits on. */
  onRefused?: (who: string, why: string) => void;
  /** Gives up waiting for a source (a migration already under way is not interrupted). */
  signal?: AbortSignal;
}

/** A migrated VM, ready to run: `confirm` tells the source it runs here; `paused`: the user had paused it there. */
export interface Incoming { vm: Vm; confirm: () => Promise<void>; paused: boolean }

/**
 * Target side, as `wasmvisor incoming` and incomingVm wait: migrateIn until a migration succeeds. One that fails
 * after it began (the source keeps its VM) is reported through `onFailed` and the wait goes on; only `signal`
 * (or an error that is not a migration's) ends it.
 */
export async function receiveMigration(server: net.Server, pskFile: string, opts: IncomingOptions & { onFailed?: (e: WasmvisorError) => void } = {}): Promise<Incoming> {
  for (;;) {
    try {
      return await migrateIn(server, pskFile, opts);
    } catch (e) {
      if (!(e instanceof WasmvisorError) || opts.signal?.aborted) throw e;
      opts.onFailed?.(e);
    }
  }
}

/**
 * Target side: accepts one migration on `server`, and returns the VM, ready to run, once the source has handed it
 * over (the caller runs it; RESUMED is sent by `confirm`, just before the first instruction). The source is the
 * first connection that authenticates (accept.ts: others are dropped and reported through `onRefused`). If the
 * migration fails after that, the partial VM is discarded and the error thrown; the caller may wait again.
 */
export async function migrateIn(server: net.Server, pskFile: string, opts: IncomingOptions = {}): Promise<Incoming> {
  const { ch, release } = await acceptSource(server, readPsk(pskFile), opts.onRefused, opts.signal);
  let vm: Vm | undefined;
  let paused = false;
  try {
    ch.phase = "handshake";
    const hello = await ch.recv();
    if (hello.type !== T_HELLO) throw new WasmvisorError("migration source spoke out of protocol");
    const h = JSON.parse(hello.payload.toString()) as { proto?: number; abi: number; config: MachineConfig };
    if (h.proto !== PROTOCOL) throw new WasmvisorError(`migration source speaks protocol ${h.proto ?? 1}, this wasmvisor ${PROTOCOL}`);
    const bad = checkMachineConfig(h.config);
    if (bad) throw new WasmvisorError(bad);
    const cfg = h.config;
    vm = createMachine(cfg);
    if (h.abi !== vm.core.k.ABI_VERSION) throw new WasmvisorError(`migration source runs core ABI ${h.abi}, this wasmvisor ${vm.core.k.ABI_VERSION}`);
    await ch.send(T_READY, Buffer.from("{}"));
    ch.phase = "receiving memory";
    const sink = new PageSink(vm, cfg);
    let received = 0;
    for (;;) {
      const m = await ch.recv();
      if (m.type === T_ABORT) throw new WasmvisorError(`migration source gave up: ${JSON.parse(m.payload.toString()).error}`);
      if (m.type === T_SYNC) { await ch.send(T_SYNCED, Buffer.alloc(0)); continue; } // (every page before it is in place)
      if (m.type === T_PAGES) {
        const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
        const n = dv.getUint32(0, true);
        if (m.payload.length !== 4 + n * 4 + n * 4096) throw new WasmvisorError("migration: malformed page batch");
        for (let i = 0; i < n; i++) {
          const g = dv.getUint32(4 + i * 4, true), data = m.payload.subarray(4 + n * 4 + i * 4096, 4 + n * 4 + (i + 1) * 4096);
          sink.put(g, data);
        }
        received += n;
        opts.onProgress?.({ phase: "receiving memory", done: received * 4096, total: cfg.memBytes });
        continue;
      }
      if (m.type !== T_FINAL) throw new WasmvisorError("migration source spoke out of protocol");
      sink.finish();
      if (m.payload.length < 4) throw new WasmvisorError("migration: malformed final state");
      const coreLen = m.payload.readUInt32LE(0);
      if (coreLen > m.payload.length - 4) throw new WasmvisorError("migration: malformed final state");
      if (cfg.devices.length) await attachDevices(vm, cfg.devices, { io: opts.io ?? (cfg.deterministic ? "sync" : "thread"), onConsole: opts.onConsole, sw: opts.sw });
      applyCore(vm, m.payload.subarray(4, 4 + coreLen));
      ({ paused } = await applyDevices(vm, m.payload.subarray(4 + coreLen)));
      break;
    }
    const done = vm;
    return {
      vm: done,
      paused,
      confirm: async () => {
        ch.phase = "confirming";
        await ch.send(T_RESUMED, Buffer.from(JSON.stringify({ at: now() })));
        await ch.close().catch(() => {});
      },
    };
  } catch (e) {
    try { await ch.send(T_ABORT, Buffer.from(JSON.stringify({ error: (e as Error).message }))); } catch { /* gone */ }
    await ch.close().catch(() => {});
    await vm?.devices?.close();
    throw e;
  } finally {
    release();
  }
}
