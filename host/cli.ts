#!/usr/bin/env node
// The `wasmvisor` command line: dispatches to a command (host/cli/), each loaded only when it is asked for, and maps
// the outcome to an exit code; errors are one line.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ExitCode, WasmvisorError } from "./errors.js";
import { packageRoot } from "./core-module.js";

/** The commands, each in its own module: a command loads only what it uses (a control-socket client no VM code). */
const COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  run: async () => (await import("./cli/run.js")).cmdRun,
  restore: async () => (await import("./cli/restore.js")).cmdRestore,
  snapshot: async () => (await import("./cli/snapshot.js")).cmdSnapshot,
  merge: async () => (await import("./cli/merge.js")).cmdMerge,
  inspect: async () => (await import("./cli/inspect.js")).cmdInspect,
  migrate: async () => (await import("./cli/migrate.js")).cmdMigrate,
  incoming: async () => (await import("./cli/incoming.js")).cmdIncoming,
  pause: async () => (await import("./cli/control.js")).controlCommand("pause"),
  resume: async () => (await import("./cli/control.js")).controlCommand("resume"),
  info: async () => (await import("./cli/control.js")).controlCommand("info"),
  quit: async () => (await import("./cli/control.js")).controlCommand("quit"),
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    process.stdout.write((await import("./cli/run.js")).USAGE + "\n");
    return cmd === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (cmd === "--version") {
    process.stdout.write(JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version + "\n");
    return ExitCode.OK;
  }
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load) throw new WasmvisorError(`unknown command '${cmd}' (see wasmvisor --help)`);
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    if (e instanceof WasmvisorError) {
      process.stderr.write(`wasmvisor: ${e.message}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`wasmvisor: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = ExitCode.INTERNAL;
    }
  },
);
