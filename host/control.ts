// The control socket of a running VM (`wasmvisor run --control PATH`): JSON lines over a Unix socket, so other
// commands (`wasmvisor snapshot`, `wasmvisor migrate`) and tools can pause, snapshot, migrate or stop it.
//   request:  {"cmd": "snapshot", "path": "...", "incremental": false, "level": 1 (optional, 0..9)} | {"cmd": "pause"}
//             | {"cmd": "resume"}
//             | {"cmd": "info"} | {"cmd": "quit"}
//             | {"cmd": "migrate", "host": "...", "port": N, "psk": "<file>", "autoConverge": true (default),
//                "downtimeMs": 60 (default), "maxRounds": 30 (default)}
//   replies:  {"progress": {...}} lines while working, then {"ok": true, ...} or {"ok": false, "error": "..."};
//             pause, resume and info answer {"ok": true, "instret": "N", "paused": bool, "pc": "0x..."}, pause once
//             the guest is suspended (at an instruction boundary, its devices quiesced)
import * as net from "node:net";
import * as fs from "node:fs";
import { resolve } from "node:path";
import { WasmvisorError } from "./errors.js";
import type { VmController } from "./controller.js";
import type { Progress } from "./progress.js";
import type { MigrationPolicy } from "./migrate/migrate.js";

export type MigrateFn = (host: string, port: number, pskFile: string, progress: (p: Progress) => void, policy: MigrationPolicy) => Promise<Record<string, unknown>>;

/** handle()'s result when it has answered already. */
const SENT = Symbol("sent");

/** Serves the control socket at path until closed. */
export async function serveControl(path: string, ctl: VmController, migrate?: MigrateFn): Promise<{ close(): void }> {
  try { if (fs.statSync(path).isSocket()) fs.unlinkSync(path); } catch { /* absent */ }
  const server = net.createServer((sock) => {
    let buf = "";
    const reply = (o: unknown) => { if (!sock.destroyed) sock.write(JSON.stringify(o, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n"); };
    sock.on("data", (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i); buf = buf.slice(i + 1);
        void handle(line).then((r) => { if (r !== SENT) reply({ ok: true, ...r }); }, (e: Error) => reply({ ok: false, error: e.message }));
      }
    });
    sock.on("error", () => { /* the client went away */ });
    const where = () => ({ instret: ctl.vm.instret.toString(), paused: ctl.paused, pc: `0x${ctl.vm.pc.toString(16)}` });
    const handle = async (line: string): Promise<Record<string, unknown> | typeof SENT> => {
      let req: { cmd?: string; path?: string; incremental?: boolean; level?: number; host?: string; port?: number; psk?: string; autoConverge?: boolean; downtimeMs?: number; maxRounds?: number };
      try { req = JSON.parse(line); } catch { throw new WasmvisorError("control: not a JSON request"); }
      switch (req.cmd) {
        case "snapshot": {
          if (typeof req.path !== "string" || !req.path) throw new WasmvisorError("control: snapshot needs a path");
          if (req.level !== undefined && typeof req.level !== "number") throw new WasmvisorError("control: snapshot's level is a number 0..9");
          const r = await ctl.snapshot(resolve(req.path), { incremental: !!req.incremental, level: req.level, onProgress: (p) => reply({ progress: p }) });
          return { path: resolve(req.path), bytes: r.bytes, pages: r.pages, digest: r.digest, pausedMs: r.pausedMs };
        }
        case "pause": await ctl.pause(); return where(); // (answered once the guest is suspended)
        case "resume":
          // Answered before the run loop, woken by the resume, runs its next slice (it would delay the answer by one).
          ctl.resume();
          reply({ ok: true, ...where() });
          return SENT;
        case "quit": ctl.quit(); return {};
        case "info": return where();
        case "migrate":
          if (!migrate) throw new WasmvisorError("control: this VM cannot migrate");
          if (typeof req.host !== "string" || !Number.isInteger(req.port) || typeof req.psk !== "string") throw new WasmvisorError("control: migrate needs host, port and psk");
          if (req.autoConverge !== undefined && typeof req.autoConverge !== "boolean") throw new WasmvisorError("control: migrate's autoConverge is true or false");
          if (req.downtimeMs !== undefined && !(typeof req.downtimeMs === "number" && req.downtimeMs > 0 && req.downtimeMs <= 60_000)) throw new WasmvisorError("control: migrate's downtimeMs is a number of milliseconds in (0, 60000]");
          if (req.maxRounds !== undefined && !(Number.isInteger(req.maxRounds) && req.maxRounds! >= 1 && req.maxRounds! <= 1000)) throw new WasmvisorError("control: migrate's maxRounds is an integer in 1..1000");
          return migrate(req.host, req.port!, req.psk, (p) => reply({ progress: p }), { autoConverge: req.autoConverge, downtimeMs: req.downtimeMs, maxRounds: req.maxRounds });
        default: throw new WasmvisorError(`control: unknown command ${JSON.stringify(req.cmd)}`);
      }
    };
  });
  await new Promise<void>((res, rej) => {
    server.once("error", (e) => rej(new WasmvisorError(`--control ${path}: ${e.message}`)));
    server.listen(path, () => res());
  });
  server.unref();
  return { close: () => { server.close(); try { fs.unlinkSync(path); } catch { /* gone */ } } };
}

/** Why a control socket cannot be reached, in words (with the errno name). */
function unreachable(e: NodeJS.ErrnoException): string {
  const why: Record<string, string> = {
    ENOENT: "no such socket (is a VM running with --control at this path?)",
    ECONNREFUSED: "nobody listens there (a socket left by a VM that has ended, or not a socket)",
    ENOTSOCK: "it is not a socket", EACCES: "permission denied",
  };
  return e.code && why[e.code] ? `${why[e.code]} (${e.code})` : e.code ?? e.message;
}

/** Client side: sends one request, reports progress lines, resolves with the final reply. */
export function controlRequest(path: string, req: Record<string, unknown>, onProgress?: (p: Progress) => void): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const sock = net.connect(path);
    let buf = "", done = false;
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const m = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
        if (m.progress) { onProgress?.(m.progress); continue; }
        done = true;
        sock.end();
        if (m.ok) res(m); else rej(new WasmvisorError(m.error));
      }
    });
    sock.on("error", (e) => { if (!done) rej(new WasmvisorError(`cannot reach the VM's control socket ${path}: ${unreachable(e as NodeJS.ErrnoException)}`)); });
    sock.on("close", () => { if (!done) rej(new WasmvisorError(`the VM's control socket ${path} closed before replying`)); });
  });
}
