// `wasmvisor restore`: starts the VM saved in a snapshot (or an incremental chain) in this process and runs it.
import { ExitCode, WasmvisorError } from "../errors.js";
import { VmController } from "../controller.js";
import { Vm } from "../vm.js";
import { restoreSnapshot } from "../snapshot/ops.js";
import { parseSub, parseLimits, resolvePath } from "./args.js";
import { RUN_FLAG_OPTIONS, openBridges, runAndReport, consoleOut, type RunFlags } from "./session.js";

const RESTORE_USAGE = `usage: wasmvisor restore [options] SNAPSHOT
Starts the VM saved in SNAPSHOT (a full snapshot, or the newest of an incremental chain) in this process and runs
it as 'run' does. Options: --io thread|sync, --bridge LPORT:HOST:PORT, --timeout S, --max-insns N, --stats,
--digest, --control PATH, --checkpoint FILE, --checkpoint-every S, --time-slot S, --checkpoint-on SIGS, --snapshot-on-exit FILE,
--compress-level N.`;

export async function cmdRestore(argv: string[]): Promise<number> {
  const r = parseSub(argv, RESTORE_USAGE, { ...RUN_FLAG_OPTIONS, io: { type: "string" }, bridge: { type: "string", multiple: true } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 1) throw new WasmvisorError("restore: expected one snapshot file (see wasmvisor restore --help)");
  const o = r.values as RunFlags & { io?: string; bridge?: string[]; timeout?: string; "max-insns"?: string };
  if (o.io !== undefined && o.io !== "thread" && o.io !== "sync") throw new WasmvisorError(`--io: want thread or sync (got ${o.io})`);
  const bridges = await openBridges(o.bridge);
  const t0 = performance.now();
  const restored = await restoreSnapshot(resolvePath(r.positionals[0]), Vm.abiVersion(), { io: o.io as "thread" | "sync" | undefined, onConsole: consoleOut });
  if (process.env.WASMVISOR_VERBOSE) process.stderr.write(`wasmvisor: restored in ${(performance.now() - t0).toFixed(1)} ms\n`);
  const ctl = new VmController(restored.vm);
  ctl.restoredFrom(restored);
  return runAndReport(restored.vm, o, {
    ctl, bridges,
    ...parseLimits(o),
  });
}
