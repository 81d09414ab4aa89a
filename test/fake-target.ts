// A migration target for tests that holds the key and follows the protocol until told to die: it answers HELLO
// and every round's SYNC, and drops the connection (no orderly close, as a dead process would) once `dieAt` says so.
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { Channel } from "../host/migrate/channel.js";

/** What the fake target has seen when it decides: message type (migrate.ts), page batches and rounds so far. */
export interface Seen { type: number; batches: number; syncs: number }

/** Listens on a free loopback port; resolves with it and a promise of the session's end (never rejects). */
export async function fakeTarget(pskFile: string, dieAt: (s: Seen) => boolean): Promise<{ port: number; server: Server; done: Promise<void> }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const done = (async () => {
    const ch = await Channel.accept(server, readFileSync(pskFile));
    const seen: Seen = { type: 0, batches: 0, syncs: 0 };
    for (;;) {
      const m = await ch.recv();
      seen.type = m.type;
      if (m.type === 1) await ch.send(2, Buffer.from("{}")); // HELLO -> READY
      if (m.type === 3) seen.batches++;
      if (m.type === 7) { seen.syncs++; await ch.send(8, Buffer.alloc(0)); } // SYNC -> SYNCED (a round's end)
      if (dieAt(seen)) break;
    }
    (ch as unknown as { socket: Socket }).socket.destroy();
  })().catch(() => {});
  return { port: (server.address() as AddressInfo).port, server, done };
}
