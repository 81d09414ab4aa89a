// `wasmvisor merge`: folds an incremental chain into one full snapshot.
import { ExitCode, WasmvisorError } from "../errors.js";
import { mergeToFull } from "../snapshot/ops.js";
import { parseSub, parseLevel, resolvePath } from "./args.js";

export async function cmdMerge(argv: string[]): Promise<number> {
  const r = parseSub(argv, `usage: wasmvisor merge [--compress-level N] SNAPSHOT OUT
Merges an incremental chain ending in SNAPSHOT into one full snapshot OUT. Chunks whose pages are all current are
copied as they are; the others are packed again at --compress-level N (0 none to 9 smallest; default 1).`, { "compress-level": { type: "string" } });
  if (!r) return ExitCode.OK;
  if (r.positionals.length !== 2) throw new WasmvisorError("merge: expected SNAPSHOT and OUT (see wasmvisor merge --help)");
  const level = parseLevel((r.values as { "compress-level"?: string })["compress-level"]);
  const res = await mergeToFull(resolvePath(r.positionals[0]), resolvePath(r.positionals[1]), undefined, level);
  process.stdout.write(`${r.positionals[1]}: ${res.pages} pages, ${res.bytes} bytes, digest ${res.digest}\n`);
  return ExitCode.OK;
}
