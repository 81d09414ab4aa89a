// Entry of a VM's I/O thread: an instance of the core over the VM's shared memory serves the VM's virtio devices
// while the vCPU keeps running (VMM-bypass: back ends move data between host resources and guest memory here).
import { parentPort, workerData } from "node:worker_threads";
import { makeImports } from "../core-imports.js";
import { bindCore } from "../core-exports.js";
import { DeviceServer } from "./engine.js";
import { makeBackend, type DeviceSpec, type FromIo } from "./backends.js";
import type { NetBackend } from "./net.js";
import type { ConsoleBackend } from "./console.js";

interface Init { module: WebAssembly.Module; memory: WebAssembly.Memory; devices: { slot: number; spec: DeviceSpec }[] }
/** Messages the VM's thread sends to its I/O thread. */
export type ToIo =
  | { type: "frame"; slot: number; frame: Uint8Array }
  | { type: "input"; slot: number; data: Uint8Array }
  | { type: "quiesce"; id: number }
  | { type: "thaw" }
  | { type: "load"; id: number; states: Record<number, unknown> }
  | { type: "iommu"; id: number; slot: number; base: number; bytes: number }
  | { type: "undo"; id: number; epoch: number; logs: Record<number, string> }
  | { type: "stop" };

const init = workerData as Init;
const port = parentPort!;
const post = (m: FromIo, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer ?? []);
const core = bindCore(new WebAssembly.Instance(init.module, makeImports(init.memory)));
const i32 = new Int32Array(init.memory.buffer);
const servers = init.devices.map(({ slot, spec }) => new DeviceServer(core, init.memory, slot, makeBackend(spec, slot, {
  frame: (s, f) => post({ type: "frame", slot: s, frame: f }, [f.buffer as ArrayBuffer]),
  console: (s, b) => post({ type: "console", slot: s, data: b }, [b.buffer as ArrayBuffer]),
})));
const bySlot = new Map(servers.map((s) => [s.slot, s]));
let stopping = false;
// Frozen (between quiesce and thaw): no request is served and no frame or input is delivered, so guest memory and
// the rings stay exactly as a snapshot or migration captures them; frames and input arriving meanwhile wait in
// their back ends' bounded queues (Backend.hold), which the state a quiesce captures holds.
let frozen = false;
let wakeStop: () => void = () => {};
const stopped = new Promise<void>((r) => { wakeStop = r; });

port.on("message", (m: ToIo) => {
  switch (m.type) {
    case "frame": (bySlot.get(m.slot)?.backend as NetBackend | undefined)?.receive(m.frame); break;
    case "input": (bySlot.get(m.slot)?.backend as ConsoleBackend | undefined)?.input(m.data); break;
    case "quiesce":
      // Requests are served whole between messages, so reaching this point means none is half done; those the
      // guest notified that this thread has not taken up yet (the doorbell's wake-up still queued behind this
      // message) are served now, so that no notification is left pending in the state a snapshot or a migration
      // captures. (Left pending, a migration that failed after the stop re-attached devices whose new thread
      // served them before the captured transport state was put back over its work: the guest then waited
      // forever for completions the rolled-back used index hid.)
      if (!frozen) serve();
      frozen = true;
      for (const s of servers) s.backend.hold?.(true); // (frames and input arriving now wait in their back ends)
      post({ type: "quiesced", id: m.id, states: saveStates() });
      break;
    case "load":
      try { loadStates(m.states); post({ type: "loaded", id: m.id, error: null }); }
      catch (e) { post({ type: "loaded", id: m.id, error: (e as Error).message }); }
      break;
    case "thaw":
      frozen = false;
      for (const s of servers) s.backend.hold?.(false);
      Atomics.add(i32, core.k.VM_IO_DOORBELL >> 2, 1); // serve what was notified meanwhile
      Atomics.notify(i32, core.k.VM_IO_DOORBELL >> 2);
      break;
    case "iommu": {
      // The IOMMU's command queue: mapping changes and their invalidation run on the thread that owns the
      // device's IOTLB, between two requests; the reply is the fence's completion (IOFENCE.C).
      const ok = core.fn.iommu_attach(m.slot, 2) === 0 && core.fn.iommu_map(m.slot, m.base, m.base, m.bytes, 3) === 0;
      post({ type: "iommu-done", id: m.id, ok });
      break;
    }
    case "undo":
      try {
        for (const s of servers) if (m.logs[s.slot] !== undefined) s.backend.beginUndo?.(m.logs[s.slot], m.epoch);
        post({ type: "undo-begun", id: m.id, error: null });
      } catch (e) { post({ type: "undo-begun", id: m.id, error: (e as Error).message }); }
      break;
    case "stop":
      stopping = true;
      for (const s of servers) s.backend.close?.();
      wakeStop();
      process.exit(0); // ends this thread only

  }
});

function saveStates(): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  for (const s of servers) if (s.backend.saveState) out[s.slot] = s.backend.saveState();
  return out;
}
function loadStates(states: Record<number, unknown>): void {
  for (const s of servers) if (s.backend.loadState && states[s.slot] !== undefined) s.backend.loadState(states[s.slot]);
}

/** Serves every notification pending in the transport state (an error is reported, and ends the VM). */
function serve(): void {
  try {
    for (const s of servers) s.service();
  } catch (e) {
    post({ type: "error", message: (e as Error).message });
  }
}

async function loop(): Promise<void> {
  post({ type: "ready" });
  while (!stopping) {
    // Read the doorbell before serving: a notification that arrives during service changes it, and the wait below
    // then returns at once instead of sleeping through it.
    const seen = Atomics.load(i32, core.k.VM_IO_DOORBELL >> 2);
    if (!frozen) serve();
    const w = Atomics.waitAsync(i32, core.k.VM_IO_DOORBELL >> 2, seen);
    if (w.async) await Promise.race([w.value, stopped]);
  }
}
void loop();
