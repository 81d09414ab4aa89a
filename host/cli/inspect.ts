// `wasmvisor inspect`: validates a snapshot and its chain as a restore would, and says what they hold.
import { ExitCode, WasmvisorError } from "../errors.js";
import { inspectSnapshot, formatReport } from "../snapshot/inspect.js";
import { parseSub, resolvePath } from "./args.js";

export async function cmdInspect(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor inspect [--memory] [--json] SNAPSHOT
Validates SNAPSHOT and every parent it names, as a restore would (every record's checksum, the configuration,
each parent's digest), without restoring it, and prints what they hold. --memory also unpacks every memory chunk of
every file and checks its pages. --json prints the report as JSON. Exit 0 if intact, 2 (one line) if not.`;
  const r = parseSub(argv, usage, { memory: { type: "boolean" }, json: { type: "boolean" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 1) throw new WasmvisorError("inspect: expected one snapshot file (see wasmvisor inspect --help)");
  const v = r.values as { memory?: boolean; json?: boolean };
  const rep = await inspectSnapshot(resolvePath(r.positionals[0]), { memory: !!v.memory });
  process.stdout.write(v.json ? JSON.stringify(rep, null, 2) + "\n" : formatReport(rep).join("\n") + "\n");
  return ExitCode.OK;
}
