// The live-migration channel (host/migrate/channel.ts) on loopback: large messages with backpressure, wrong keys,
// and a man-in-the-middle proxy that flips bits, cuts the connection, replays, reorders and inflates frames.
import { describe, it, expect, afterEach, vi } from "vitest";
import { createServer, connect, type Server, type Socket, type AddressInfo } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Channel, readPsk, type ChannelOptions } from "../host/migrate/channel.js";
import { WasmvisorError } from "../host/errors.js";
import { migrateIn } from "../host/migrate/migrate.js";
import { acceptSource, refusedReporter, REFUSED_LINES, REFUSED_WINDOW_MS } from "../host/migrate/accept.js";

const PSK = "correct horse battery staple, 2024";
/** Bytes each side sends before the first message: hello (8 + 32) and proof (32). */
const HANDSHAKE = 72;

const cleanup: (() => void)[] = [];
afterEach(() => { while (cleanup.length) cleanup.pop()!(); });

function listen(onConn?: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  return new Promise((res) => {
    const server = createServer(onConn);
    server.listen(0, "127.0.0.1", () => res({ server, port: (server.address() as AddressInfo).port }));
    cleanup.push(() => server.close());
  });
}

/** Server and client channels over loopback, optionally through a proxy in between. */
async function pair(opts: { clientPsk?: string; serverPsk?: string; via?: (target: number) => Promise<number>; o?: ChannelOptions } = {}) {
  const { server, port } = await listen();
  const target = opts.via ? await opts.via(port) : port;
  const accepted = Channel.accept(server, opts.serverPsk ?? PSK, opts.o);
  const connected = Channel.connect("127.0.0.1", target, opts.clientPsk ?? PSK, opts.o);
  const [a, c] = await Promise.allSettled([accepted, connected]);
  for (const r of [a, c]) if (r.status === "fulfilled") cleanup.push(() => { void r.value.close(); });
  return { server: a, client: c };
}

async function message(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (e) {
    expect(e).toBeInstanceOf(WasmvisorError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error("expected a rejection");
}

const ok = <T>(r: PromiseSettledResult<T>): T => {
  if (r.status === "rejected") throw r.reason;
  return r.value;
};

/**
 * A TCP proxy to `target`; `c2s` sees the client-to-server byte stream after the handshake as whole frames
 * (header, body, tag) and returns what to forward (or "cut" to drop both connections).
 */
async function proxy(target: number, c2s: (frame: Buffer, index: number) => Buffer[] | "cut"): Promise<number> {
  const { port } = await listen((down) => {
    const up = connect(target, "127.0.0.1");
    cleanup.push(() => { down.destroy(); up.destroy(); });
    up.on("data", (d) => down.write(d));
    up.on("end", () => down.end());
    up.on("error", () => down.destroy());
    down.on("error", () => up.destroy());
    down.on("end", () => up.end());
    let pending = Buffer.alloc(0);
    let handshake = HANDSHAKE;
    let index = 0;
    down.on("data", (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      if (handshake > 0) {
        const k = Math.min(handshake, pending.length);
        up.write(pending.subarray(0, k));
        pending = pending.subarray(k);
        handshake -= k;
      }
      while (pending.length >= 5) {
        const len = pending.readUInt32BE(0);
        const total = 5 + len + 16;
        const r = c2s(pending.subarray(0, Math.min(total, pending.length)), index);
        if (r === "cut") { up.destroy(); down.destroy(); return; }
        if (pending.length < total) break;
        index++;
        for (const b of r) up.write(b);
        pending = pending.subarray(total);
      }
    });
  });
  return port;
}

describe("migration channel", () => {
  it("happy path: authenticated both ways, large and empty messages in order, backpressure, orderly close", async () => {
    const { server, client } = await pair();
    const s = ok(server), c = ok(client);
    expect(c.role).toBe("client");
    expect(s.role).toBe("server");
    const sizes = [0, 1, 4096, 1 << 20, 20 << 20, 37, 64 << 20];
    const msgs = sizes.map((n, i) => ({ type: i * 17, payload: randomBytes(n) }));
    const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    // The receiver starts late: sends must wait for the socket to drain rather than queue everything.
    let sent = 0;
    const sending = (async () => { for (const m of msgs) { await c.send(m.type, m.payload); sent++; } })();
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toBeLessThan(msgs.length);
    for (const m of msgs) {
      const got = await s.recv();
      expect(got.type).toBe(m.type);
      expect(got.payload.length).toBe(m.payload.length);
      expect(digest(got.payload)).toBe(digest(m.payload));
    }
    await sending;
    // And the other direction, interleaved.
    await s.send(3, Buffer.from("ack"));
    expect((await c.recv()).payload.toString()).toBe("ack");
    expect(c.bytesSent).toBeGreaterThan(85 << 20);
    s.phase = "stop-and-copy";
    await c.close();
    expect(await message(s.recv())).toBe("migration peer closed the channel during stop-and-copy");
    expect(await message(c.send(1, Buffer.alloc(1)))).toBe("migration channel is closed");
  });

  it("a wrong key on either side fails authentication on both sides; a short key is refused", async () => {
    for (const wrong of ["client", "server"] as const) {
      const other = "a different key, equally long enough";
      const r = await pair(wrong === "client" ? { clientPsk: other } : { serverPsk: other });
      expect(await message(Promise.reject(r.server.status === "rejected" ? r.server.reason : new Error("server accepted")))).toBe("migration peer failed authentication");
      expect(await message(Promise.reject(r.client.status === "rejected" ? r.client.reason : new Error("client accepted")))).toBe("migration peer failed authentication");
    }
    expect(await message(Channel.connect("127.0.0.1", 1, "short"))).toBe("migration key is too short (5 bytes; at least 16)");
  });

  it("a peer that reflects our own bytes back, or is not a wasmvisor endpoint, is refused", async () => {
    const echo = await listen((s) => { s.on("data", (d) => s.write(d)); s.on("error", () => {}); });
    expect(await message(Channel.connect("127.0.0.1", echo.port, PSK))).toBe("migration peer failed authentication");
    const http = await listen((s) => { s.end("HTTP/1.1 400 Bad Request\r\n\r\n" + "x".repeat(64)); s.on("error", () => {}); });
    expect(await message(Channel.connect("127.0.0.1", http.port, PSK))).toBe("migration peer is not a wasmvisor migration endpoint");
    const silent = await listen((s) => { s.on("error", () => {}); cleanup.push(() => s.destroy()); });
    expect(await message(Channel.connect("127.0.0.1", silent.port, PSK, { timeoutMs: 300 })))
      .toBe("migration channel: nothing received from the peer for 0.3 s during authentication");
    const refused = echo.port;
    echo.server.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await message(Channel.connect("127.0.0.1", refused, PSK))).toBe(`migration: cannot connect to 127.0.0.1:${refused}: connection refused`);
  });

  it("a flipped bit anywhere in a frame (length, type, body, tag) is detected and kills the channel", async () => {
    for (const at of ["type", "body", "tag", "length"] as const) {
      const r = await pair({
        via: (t) => proxy(t, (f, i) => {
          if (i !== 1 || f.length < 5 + 1000 + 16) return [Buffer.from(f)];
          const b = Buffer.from(f);
          const pos = { length: 3, type: 4, body: 5 + 500, tag: b.length - 3 }[at];
          b[pos] ^= 0x04;
          return [b];
        }),
        o: { timeoutMs: 1000 },
      });
      const s = ok(r.server), c = ok(r.client);
      await c.send(1, Buffer.from("first"));
      await c.send(2, randomBytes(1000));
      await c.send(3, Buffer.from("third"));
      expect((await s.recv()).payload.toString()).toBe("first");
      const m = await message(s.recv());
      // A longer length waits for bytes that never come; a shorter one ends the frame early: neither passes.
      if (at === "length") expect(m).toMatch(/^migration channel: (message 2 failed its integrity check|nothing received from the peer for 1 s during migration)$/);
      else expect(m).toBe("migration channel: message 2 failed its integrity check");
      expect(await message(s.recv())).toBe(m); // dead from now on
    }
  });

  it("a replayed, reordered or dropped frame is detected", async () => {
    const cases: [string, (f: Buffer, i: number, saved: Buffer[]) => Buffer[], number][] = [
      ["replay", (f, i, saved) => { saved[i] = Buffer.from(f); return i === 2 ? [Buffer.from(f), saved[1]] : [Buffer.from(f)]; }, 4],
      ["reorder", (f, i, saved) => { if (i === 1) { saved[1] = Buffer.from(f); return []; } return i === 2 ? [Buffer.from(f), saved[1]] : [Buffer.from(f)]; }, 2],
      ["drop", (f, i) => (i === 1 ? [] : [Buffer.from(f)]), 2],
    ];
    for (const [, rewrite, bad] of cases) {
      const saved: Buffer[] = [];
      const r = await pair({ via: (t) => proxy(t, (f, i) => (f.length >= 5 + f.readUInt32BE(0) + 16 ? rewrite(f, i, saved) : [Buffer.from(f)])) });
      const s = ok(r.server), c = ok(r.client);
      for (let i = 0; i < 5; i++) await c.send(i, Buffer.from(`message ${i + 1}`));
      for (let n = 1; n < bad; n++) expect((await s.recv()).payload.toString()).toBe(`message ${n}`);
      expect(await message(s.recv())).toBe(`migration channel: message ${bad} failed its integrity check`);
    }
  });

  it("a connection cut in the middle of a message, or between messages, names the phase", async () => {
    const r = await pair({ via: (t) => proxy(t, (f, i) => (i === 1 && f.length > 5000 ? "cut" : [Buffer.from(f)])) });
    const s = ok(r.server), c = ok(r.client);
    s.phase = "pre-copy round 3";
    await c.send(1, Buffer.from("ok"));
    void c.send(2, randomBytes(1 << 20)).catch(() => {});
    expect((await s.recv()).payload.toString()).toBe("ok");
    expect(await message(s.recv())).toMatch(/^migration connection closed by peer during pre-copy round 3( \(in the middle of message 2\))?$/);

    const r2 = await pair();
    const s2 = ok(r2.server), c2 = ok(r2.client);
    s2.phase = "stop-and-copy";
    const pending = s2.recv();
    (c2 as unknown as { socket: Socket }).socket.destroy(); // the source process dies
    expect(await message(pending)).toBe("migration connection closed by peer during stop-and-copy");
    expect(await message(c2.send(1))).toBe("migration connection closed by peer during migration");
  });

  it("a message over the size limit is refused before it is allocated, on both ends", async () => {
    const r = await pair({ via: (t) => proxy(t, (f, i) => { const b = Buffer.from(f); if (i === 0) b.writeUInt32BE(0xffff_fff0, 0); return [b]; }) });
    const s = ok(r.server), c = ok(r.client);
    await c.send(1, Buffer.from("hello"));
    expect(await message(s.recv())).toBe("migration channel: message 1 is 4096 MiB, over the 64 MiB limit");
    const small = await pair({ o: { maxMessage: 1000 } });
    expect(await message(ok(small.client).send(1, Buffer.alloc(1001)))).toBe("migration channel: a message of 1001 bytes is over the 1000 bytes limit");
  });

  it("a target refuses a source that speaks another migration protocol, telling it why", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-psk-"));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    writeFileSync(join(d, "key"), PSK);
    const { server, port } = await listen();
    const target = migrateIn(server, join(d, "key"));
    target.catch(() => {});
    const src = await Channel.connect("127.0.0.1", port, PSK);
    cleanup.push(() => { void src.close(); });
    // HELLO (type 1) as a protocol-1 source sends it: no "proto".
    await src.send(1, Buffer.from(JSON.stringify({ abi: 1, config: { memBytes: 1 << 20, ramBase: "0x80000000", devices: [], disks: [] } })));
    const answer = await src.recv();
    expect(answer.type).toBe(6); // ABORT
    expect(JSON.parse(answer.payload.toString()).error).toBe("migration source speaks protocol 1, this wasmvisor 2");
    expect(await message(target)).toBe("migration source speaks protocol 1, this wasmvisor 2");
  });

  it("a target takes the first connection that authenticates: others are refused and reported, a silent one does not hold it up, later ones are closed", async () => {
    const { server, port } = await listen();
    const refused: string[] = [];
    const accepted = acceptSource(server, Buffer.from(PSK), (who, why) => refused.push(`${who.replace(/:\d+$/, "")} ${why}`));
    server.emit("error", new Error("too many open files")); // a failed accept: reported, the wait goes on
    const silent = connect(port, "127.0.0.1");
    silent.on("error", () => {}).resume(); // (reads, so that it sees the target close it)
    const silentClosed = new Promise((r) => silent.once("close", () => r(true)));
    cleanup.push(() => silent.destroy());
    expect(await message(Channel.connect("127.0.0.1", port, "another key, long enough to use"))).toBe("migration peer failed authentication");
    const src = await Channel.connect("127.0.0.1", port, PSK);
    cleanup.push(() => { void src.close(); });
    const { ch, release } = await accepted;
    cleanup.push(() => { void ch.close(); });
    expect(refused).toEqual(["(listener) could not accept a connection: too many open files", "127.0.0.1 migration peer failed authentication"]);
    expect(await silentClosed).toBe(true); // dropped once the source was found
    // The channel works; a connection made while it is in use is closed at once, without a report.
    await src.send(9, Buffer.from("hi"));
    expect((await ch.recv()).payload.toString()).toBe("hi");
    expect(await message(Channel.connect("127.0.0.1", port, PSK))).toMatch(/closed by peer during authentication/);
    expect(refused).toHaveLength(2);
    release();
  });

  it("a flood of refused connections is summed up in the log, not echoed line by line", () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const report = refusedReporter((l) => lines.push(l));
      for (let i = 0; i < REFUSED_LINES + 7; i++) report(`10.0.0.${i}:4000`, "migration peer failed authentication");
      expect(lines).toHaveLength(REFUSED_LINES);
      expect(lines[0]).toBe("refused a connection from 10.0.0.0:4000: migration peer failed authentication");
      vi.advanceTimersByTime(REFUSED_WINDOW_MS);
      expect(lines.at(-1)).toBe(`7 more connection(s) refused in the last ${REFUSED_WINDOW_MS / 1000} s`);
      report("10.0.0.99:4000", "it did not authenticate within 10 s"); // a new window: reported again
      expect(lines.at(-1)).toBe("refused a connection from 10.0.0.99:4000: it did not authenticate within 10 s");
      vi.advanceTimersByTime(REFUSED_WINDOW_MS);
      expect(lines).toHaveLength(REFUSED_LINES + 2); // (nothing held back: no count line)
    } finally { vi.useRealTimers(); }
  });

  it("readPsk reads a key file, dropping a trailing newline, and refuses a short one", () => {
    const d = mkdtempSync(join(tmpdir(), "wv-psk-"));
    cleanup.push(() => rmSync(d, { recursive: true, force: true }));
    writeFileSync(join(d, "key"), PSK + "\n");
    expect(readPsk(join(d, "key")).toString()).toBe(PSK);
    writeFileSync(join(d, "short"), "abc\n");
    expect(() => readPsk(join(d, "short"))).toThrow(`migration key ${join(d, "short")} is too short (3 bytes; at least 16)`);
    expect(() => readPsk(join(d, "none"))).toThrow(`migration key ${join(d, "none")}: no such file`);
  });
});
