// `wasmvisor migrate`: asks the source VM's control socket to live-migrate it to a waiting `wasmvisor incoming`.
import { ExitCode, WasmvisorError } from "../errors.js";
import { controlRequest } from "../control.js";
import { progressReporter } from "../progress.js";
import { parseSub, parseNumber, resolvePath } from "./args.js";

export async function cmdMigrate(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor migrate [--downtime MS] [--max-rounds N] [--no-throttle] --psk FILE CONTROL-SOCKET HOST:PORT
Live-migrates the VM started with 'wasmvisor run --control CONTROL-SOCKET' to 'wasmvisor incoming' listening at
HOST:PORT. Both ends prove they hold the pre-shared key in FILE. The source stops only once the target runs the VM.
A guest that dirties memory faster than it can be sent is throttled (kept off the CPU 20 % of the time, then more,
up to 90 %) until the rest fits the downtime target; --no-throttle stops and copies it as it is instead.
  --downtime MS     the downtime target: stop and copy once the rest can be sent within it (default 60)
  --max-rounds N    at most N pre-copy rounds, then stop and copy whatever is left (default 30)`;
  const r = parseSub(argv, usage, { psk: { type: "string" }, "no-throttle": { type: "boolean" }, downtime: { type: "string" }, "max-rounds": { type: "string" } });
  if (!r) return ExitCode.OK;
  const psk = (r.values as { psk?: string }).psk;
  if (r.positionals.length !== 2 || !psk) throw new WasmvisorError("migrate: expected --psk FILE, CONTROL-SOCKET and HOST:PORT");
  const m = /^(.+):(\d+)$/.exec(r.positionals[1]);
  if (!m) throw new WasmvisorError(`migrate: '${r.positionals[1]}' is not HOST:PORT`);
  const rep = progressReporter(process.stderr, "migrate");
  const v = r.values as { "no-throttle"?: boolean; downtime?: string; "max-rounds"?: string };
  const policy: Record<string, unknown> = {};
  if (v["no-throttle"]) policy.autoConverge = false;
  if (v.downtime !== undefined) {
    policy.downtimeMs = parseNumber(v.downtime, "--downtime");
    if (Number(policy.downtimeMs) > 60_000) throw new WasmvisorError(`--downtime: '${v.downtime}' is over a minute`);
  }
  if (v["max-rounds"] !== undefined) {
    const n = parseNumber(v["max-rounds"], "--max-rounds");
    if (!Number.isInteger(n) || n > 1000) throw new WasmvisorError(`--max-rounds: '${v["max-rounds"]}' is not a whole number of rounds up to 1000`);
    policy.maxRounds = n;
  }
  const res = await controlRequest(r.positionals[0], { cmd: "migrate", host: m[1], port: Number(m[2]), psk: resolvePath(psk), ...policy }, rep);
  rep.finish();
  const throttled = Number(res.maxThrottle) > 0 ? `, guest throttled up to ${Math.round(Number(res.maxThrottle) * 100)} % to converge` : "";
  process.stdout.write(`migrated: ${res.rounds} rounds, ${res.pagesSent} pages, ${res.bytesSent} bytes in ${Number(res.totalMs).toFixed(0)} ms, downtime ${Number(res.downtimeMs).toFixed(1)} ms${throttled}\n`);
  return ExitCode.OK;
}
