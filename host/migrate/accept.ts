// A migration target's listening socket: the first connection that authenticates is the source; the others are
// dropped, so that a stray or hostile connection can neither end nor stall a target waiting for its migration.
import { createServer, type Server, type Socket } from "node:net";
import { Channel, readPsk } from "./channel.js";
import { WasmvisorError } from "../errors.js";

/**
 * How long a connection may take to authenticate (two short messages each way) before it is dropped. Handshakes
 * run side by side, so a peer that connects and says nothing holds only its own connection, not the source's.
 */
export const HANDSHAKE_MS = 10_000;
/** Connections authenticating at once; more are dropped on arrival (each costs a socket and a timer until then). */
export const MAX_HANDSHAKES = 16;
/** A wait for the authenticated source's next message that sees no data for this long fails the migration. */
const SOURCE_TIMEOUT_MS = 120_000;

/**
 * A migration target's server, listening on host:port (port 0: any free one) once the pre-shared key has been read:
 * a missing or short key fails here, before any waiting. `what` begins the one-line error if it cannot listen.
 * `wasmvisor incoming` and incomingVm both start here; the caller closes the server.
 */
export async function listenForMigration(host: string, port: number, pskFile: string, what: string): Promise<Server> {
  readPsk(pskFile);
  const server = createServer();
  await new Promise<void>((res, rej) => {
    server.once("error", (e) => rej(new WasmvisorError(`${what}: ${e.message}`)));
    server.listen(port, host, () => res());
  });
  return server;
}

export interface Accepted {
  ch: Channel;
  /** Stops turning away the connections that arrive while this migration runs (call when it has ended). */
  release(): void;
}

/**
 * Waits on `server` for a connection that authenticates with `key`. Each one that fails (another key, not a
 * wasmvisor endpoint, silence for HANDSHAKE_MS) is closed and reported through `onRefused` (who, why); waiting
 * goes on. Connections that arrive once the source is found are closed at once until release().
 */
export function acceptSource(server: Server, key: Buffer, onRefused?: (who: string, why: string) => void, signal?: AbortSignal): Promise<Accepted> {
  return new Promise((resolve, reject) => {
    const pending = new Set<Socket>();
    let won = false;
    // A wait that is given up (signal): nothing is accepted any more, connections being authenticated are closed.
    const cancel = () => {
      if (won) return;
      won = true;
      server.off("connection", onConnection);
      server.off("error", onServerError);
      for (const s of pending) s.destroy();
      pending.clear();
      reject(new WasmvisorError("the wait for a migration was cancelled"));
    };
    const busy = (socket: Socket) => { socket.destroy(); };
    const onConnection = (socket: Socket) => {
      const who = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
      if (won || pending.size >= MAX_HANDSHAKES) {
        socket.destroy();
        if (!won) onRefused?.(who, `${MAX_HANDSHAKES} connections are already authenticating`);
        return;
      }
      pending.add(socket);
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; socket.destroy(); }, HANDSHAKE_MS);
      Channel.accept(socket, key, { timeoutMs: SOURCE_TIMEOUT_MS }).then((ch) => {
        clearTimeout(timer);
        pending.delete(socket);
        if (won) { void ch.close().catch(() => {}); return; }
        won = true;
        signal?.removeEventListener("abort", cancel);
        server.off("connection", onConnection);
        server.off("error", onServerError);
        server.on("connection", busy);
        for (const s of pending) s.destroy();
        pending.clear();
        resolve({ ch, release: () => { server.off("connection", busy); } });
      }, (e: Error) => {
        clearTimeout(timer);
        pending.delete(socket);
        socket.destroy();
        if (!won) onRefused?.(who, timedOut ? `it did not authenticate within ${HANDSHAKE_MS / 1000} s` : e.message);
      });
    };
    // (A failed accept, such as running out of file descriptors, is reported; the server listens on.)
    const onServerError = (e: Error) => { onRefused?.("(listener)", `could not accept a connection: ${e.message}`); };
    server.on("connection", onConnection);
    server.on("error", onServerError);
    if (signal?.aborted) cancel();
    else signal?.addEventListener("abort", cancel, { once: true });
  });
}

/** Lines per REFUSED_WINDOW_MS about refused connections, at most: a flood of them is summed up, not echoed. */
export const REFUSED_LINES = 5, REFUSED_WINDOW_MS = 10_000;

/**
 * An onRefused for a log: one line per refused connection, up to REFUSED_LINES in a window of REFUSED_WINDOW_MS
 * from the first; the rest are counted, and the count is written when the window ends. (Anyone who can reach the
 * port can be refused: a flood must not flood the log.)
 */
export function refusedReporter(write: (line: string) => void): (who: string, why: string) => void {
  let lines = 0, held = 0, timer: NodeJS.Timeout | undefined;
  const endWindow = () => {
    if (held > 0) write(`${held} more connection(s) refused in the last ${REFUSED_WINDOW_MS / 1000} s`);
    lines = 0; held = 0; timer = undefined;
  };
  return (who, why) => {
    timer ??= setTimeout(endWindow, REFUSED_WINDOW_MS).unref();
    if (lines++ < REFUSED_LINES) write(`refused a connection from ${who}: ${why}`);
    else held++;
  };
}
