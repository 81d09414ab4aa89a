// `wasmvisor incoming`: waits for a live-migrated VM, then runs it as `run` does.
import type { AddressInfo } from "node:net";
import { ExitCode, WasmvisorError } from "../errors.js";
import { VmController } from "../controller.js";
import { receiveMigration } from "../migrate/migrate.js";
import { listenForMigration, refusedReporter } from "../migrate/accept.js";
import { parseSub, parseNumber, parseLimits, resolvePath } from "./args.js";
import { RUN_FLAG_OPTIONS, openBridges, runAndReport, consoleOut, type RunFlags } from "./session.js";

export async function cmdIncoming(argv: string[]): Promise<number> {
  const usage = `usage: wasmvisor incoming --listen [HOST:]PORT --psk FILE [--wait SECONDS] [run options]
Waits for a live migration ('wasmvisor migrate'), then runs the VM as 'run' does (same options as restore).
A connection that does not prove the key, and a migration that fails, are reported and the waiting goes on;
--wait gives up after SECONDS without a migration under way (exit 2).`;
  const r = parseSub(argv, usage, { ...RUN_FLAG_OPTIONS, listen: { type: "string" }, psk: { type: "string" }, io: { type: "string" }, bridge: { type: "string", multiple: true }, wait: { type: "string" } });
  if (!r) return ExitCode.OK;
  const o = r.values as RunFlags & { listen?: string; psk?: string; io?: string; bridge?: string[]; timeout?: string; "max-insns"?: string; wait?: string };
  const waitS = o.wait !== undefined ? parseNumber(o.wait, "--wait") : undefined;
  const giveUp = waitS !== undefined ? AbortSignal.timeout(waitS * 1000) : undefined;
  if (!o.listen || !o.psk) throw new WasmvisorError("incoming: needs --listen [HOST:]PORT and --psk FILE");
  const m = /^(?:(.+):)?(\d+)$/.exec(o.listen);
  if (!m) throw new WasmvisorError(`--listen: '${o.listen}' is not [HOST:]PORT`);
  const psk = resolvePath(o.psk);
  const server = await listenForMigration(m[1] ?? "127.0.0.1", Number(m[2]), psk, `--listen ${o.listen}`);
  let bridges;
  try { bridges = await openBridges(o.bridge); } catch (e) { server.close(); throw e; }
  const where = `${m[1] ?? "127.0.0.1"}:${(server.address() as AddressInfo).port}`;
  process.stderr.write(`wasmvisor: waiting for a migration on ${where}\n`);
  // Until a migration succeeds: a connection that does not authenticate, or a migration that fails (the source
  // keeps its VM), leaves this process waiting for the next, with a line saying why.
  const onRefused = refusedReporter((line) => process.stderr.write(`wasmvisor: ${line}\n`));
  let got;
  try {
    got = await receiveMigration(server, psk, {
      io: o.io as "thread" | "sync" | undefined, onConsole: consoleOut, onRefused, signal: giveUp,
      onFailed: (e) => process.stderr.write(`wasmvisor: migration failed: ${e.message}; waiting for another on ${where}\n`),
    });
  } catch (e) {
    if (giveUp?.aborted) throw new WasmvisorError(`incoming: no migration came within ${waitS} s (--wait)`);
    throw e;
  } finally {
    server.close();
  }
  const ctl = new VmController(got.vm);
  await got.confirm();
  if (got.paused) {
    // As it was at the source: it runs when resumed (`wasmvisor resume`, or the monitor's cont on a terminal).
    void ctl.pause();
    const how = o.control !== undefined ? `resume it with: wasmvisor resume ${o.control}`
      : process.stdin.isTTY ? "resume it with the monitor's cont (Ctrl-A C)"
        : "nothing here can resume it (no --control, no terminal): end this process, and give incoming --control next time";
    process.stderr.write(`wasmvisor: the VM arrived paused, as it was at the source; ${how}\n`);
  }
  return runAndReport(got.vm, o, {
    ctl, bridges,
    ...parseLimits(o),
  });
}
