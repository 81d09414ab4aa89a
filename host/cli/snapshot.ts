// `wasmvisor snapshot`: asks a running VM's control socket for a snapshot (the VM pauses, is saved, resumes).
import { ExitCode, WasmvisorError } from "../errors.js";
import { controlRequest } from "../control.js";
import { progressReporter } from "../progress.js";
import { parseSub, parseLevel, resolvePath } from "./args.js";

export async function cmdSnapshot(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor snapshot [--incremental] [--compress-level N] CONTROL-SOCKET FILE
Snapshots the VM started with 'wasmvisor run --control CONTROL-SOCKET' (it pauses, is saved, and resumes).
--incremental saves only the pages written since that VM's previous snapshot, naming it as the parent.
--compress-level N: DEFLATE level, 0 (none: fastest on a fast disk, largest file) to 9 (smallest); default: the
VM's own (its --compress-level), else 1.`;
  const r = parseSub(argv, usage, { incremental: { type: "boolean" }, "compress-level": { type: "string" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 2) throw new WasmvisorError("snapshot: expected CONTROL-SOCKET and FILE (see wasmvisor snapshot --help)");
  const v = r.values as { incremental?: boolean; "compress-level"?: string };
  const level = parseLevel(v["compress-level"]);
  const rep = progressReporter(process.stderr, "snapshot");
  const res = await controlRequest(r.positionals[0], { cmd: "snapshot", path: resolvePath(r.positionals[1]), incremental: !!v.incremental, level }, rep);
  rep.finish();
  process.stdout.write(`${res.path}: ${res.pages} pages, ${res.bytes} bytes, digest ${res.digest}, guest paused ${Number(res.pausedMs).toFixed(1)} ms\n`);
  return ExitCode.OK;
}
