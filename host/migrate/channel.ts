// The live-migration channel: a TCP connection on which both ends prove knowledge of a pre-shared key, then
// exchange typed messages that are encrypted and authenticated, numbered per direction, and bounded in size.
//
// Protocol (version 1):
//   1. Each side sends a hello: 8-byte magic "WVMIGR" 00 01 (the last byte is the version), then a random
//      32-byte nonce. The connecting side is the client (C), the accepting side the server (S).
//   2. Each side sends its proof HMAC-SHA256(psk, "wasmvisor-migrate-v1 " || role || nonceC || nonceS) with role
//      "client" or "server", and checks the peer's proof for the peer's role. Roles are distinct, so a proof
//      reflected back to its sender fails; fresh nonces on both sides make a recorded handshake useless. Proofs
//      are sent before checking, so both ends learn of a key mismatch ("migration peer failed authentication").
//   3. Keys: HKDF-SHA256(ikm = psk, salt = nonceC || nonceS, info = "wasmvisor-migrate-v1 c2s" / "… s2c"), one
//      32-byte key per direction, so a frame cannot be reflected to its sender either.
//   4. Messages: [u32 length L][u8 type][L bytes AES-256-GCM ciphertext][16-byte GCM tag], big-endian length;
//      nonce = 4 zero bytes || u64 sequence number (1, 2, … per direction; never reused under one key);
//      additional data = u64 sequence || u8 type || u32 L. A replayed, reordered, dropped, truncated or altered
//      frame fails its tag ("message N failed its integrity check"). L is checked against the size limit
//      before anything is allocated. Type 255 is reserved: an orderly close.
// AES-256-GCM rather than an HMAC over plaintext: guest memory crosses the network, and it may hold secrets;
// GCM gives confidentiality and integrity in one pass and is hardware-accelerated in OpenSSL.
import { connect as netConnect, type Server, type Socket } from "node:net";
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { WasmvisorError } from "../errors.js";
import { readInputFile } from "../files.js";

export const PROTOCOL_VERSION = 1;
const MAGIC = Buffer.from([0x57, 0x56, 0x4d, 0x49, 0x47, 0x52, 0x00, PROTOCOL_VERSION]); // "WVMIGR" 0 1
const NONCE = 32, PROOF = 32, TAG = 16, FRAME_HEAD = 5;
const TYPE_CLOSE = 255;
export const DEFAULT_MAX_MESSAGE = 64 << 20;
/** A key shorter than this could be guessed offline from a recorded handshake. */
export const MIN_PSK_BYTES = 16;
/** Bytes read ahead of the consumer before the socket is paused (TCP then pushes back on the sender). */
const READ_AHEAD = 4 << 20;

export interface ChannelOptions {
  /** Largest message accepted or sent, in bytes (default 64 MiB): bounds what a hostile peer can make us allocate. */
  maxMessage?: number;
  /** A wait for the peer (connecting, authenticating, receiving) that sees no data for this long fails; 0 = never. Default 30 s. */
  timeoutMs?: number;
}

export interface Message {
  type: number;
  payload: Buffer;
}

type Role = "client" | "server";

/** The pre-shared key from a file (a trailing newline is dropped, so `echo key > file` works on both ends). */
export function readPsk(path: string): Buffer {
  const b = Buffer.from(readInputFile(path, "migration key"));
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  const key = b.subarray(0, end);
  if (key.length < MIN_PSK_BYTES) throw new WasmvisorError(`migration key ${path} is too short (${key.length} bytes; at least ${MIN_PSK_BYTES})`);
  return key;
}

function pskBytes(psk: Buffer | Uint8Array | string): Buffer {
  const b = typeof psk === "string" ? Buffer.from(psk, "utf8") : Buffer.from(psk);
  if (b.length < MIN_PSK_BYTES) throw new WasmvisorError(`migration key is too short (${b.length} bytes; at least ${MIN_PSK_BYTES})`);
  return b;
}

function proof(psk: Buffer, role: Role, nonceC: Buffer, nonceS: Buffer): Buffer {
  return createHmac("sha256", psk).update(`wasmvisor-migrate-v1 ${role}`).update(nonceC).update(nonceS).digest();
}

function sessionKey(psk: Buffer, nonceC: Buffer, nonceS: Buffer, dir: "c2s" | "s2c"): Buffer {
  return Buffer.from(hkdfSync("sha256", psk, Buffer.concat([nonceC, nonceS]), `wasmvisor-migrate-v1 ${dir}`, 32));
}

function ivFor(seq: bigint): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(seq, 4);
  return iv;
}

function aadFor(seq: bigint, type: number, len: number): Buffer {
  const a = Buffer.alloc(13);
  a.writeBigUInt64BE(seq, 0);
  a.writeUInt8(type, 8);
  a.writeUInt32BE(len, 9);
  return a;
}

const size = (n: number) => (n < 1 << 20 ? `${n} bytes` : `${+(n / (1 << 20)).toFixed(1)} MiB`);

export class Channel {
  /** What the migration is doing, for error messages ("… closed by peer during <phase>"). Set it as you go. */
  phase = "authentication";
  bytesSent = 0;
  bytesReceived = 0;

  private readonly maxMessage: number;
  private readonly timeoutMs: number;
  private sendKey: Buffer | null = null;
  private recvKey: Buffer | null = null;
  private sendSeq = 0n;
  private recvSeq = 0n;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needing = 0;
  private eof = false;
  private waiter: (() => void) | null = null;
  private error: WasmvisorError | null = null;
  private closed = false;
  private readonly failListeners = new Set<(e: WasmvisorError) => void>();
  private recvChain: Promise<unknown> = Promise.resolve();
  /** Set while a message is partly read, so a cut connection can say so. */
  private partial = "";

  private constructor(private readonly socket: Socket, readonly role: Role, opts: ChannelOptions) {
    this.maxMessage = opts.maxMessage ?? DEFAULT_MAX_MESSAGE;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => {
      this.chunks.push(b);
      this.buffered += b.length;
      this.bytesReceived += b.length;
      if (this.buffered >= READ_AHEAD && this.buffered >= this.needing) socket.pause();
      this.wake();
    });
    socket.on("end", () => { this.eof = true; this.wake(); });
    socket.on("close", () => {
      this.eof = true;
      this.wake();
      // A send waiting for the socket to drain would otherwise wait forever.
      if (this.failListeners.size > 0 && !this.closed) this.fail(`migration connection closed by peer during ${this.phase}`);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET" || e.code === "EPIPE") { this.eof = true; this.wake(); return; }
      this.fail(`migration connection failed during ${this.phase}: ${e.message}`);
    });
  }

  /** Connects to a migration peer and authenticates (this side is the client). */
  static async connect(host: string, port: number, psk: Buffer | Uint8Array | string, opts: ChannelOptions = {}): Promise<Channel> {
    const key = pskBytes(psk);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const socket = await new Promise<Socket>((res, rej) => {
      const s = netConnect({ host, port });
      const timer = timeoutMs > 0 ? setTimeout(() => {
        s.destroy();
        rej(new WasmvisorError(`migration: cannot connect to ${host}:${port}: no answer in ${timeoutMs / 1000} s`));
      }, timeoutMs) : null;
      s.once("connect", () => { if (timer) clearTimeout(timer); s.removeAllListeners("error"); res(s); });
      s.once("error", (e: NodeJS.ErrnoException) => {
        if (timer) clearTimeout(timer);
        rej(new WasmvisorError(`migration: cannot connect to ${host}:${port}: ${e.code === "ECONNREFUSED" ? "connection refused" : e.message}`));
      });
    });
    const ch = new Channel(socket, "client", opts);
    await ch.handshake(key);
    return ch;
  }

  /**
   * Authenticates an incoming connection (this side is the server): a connected socket, or a listening server
   * whose next connection is taken (a connection that fails authentication rejects; call accept again to wait
   * for another).
   */
  static async accept(from: Server | Socket, psk: Buffer | Uint8Array | string, opts: ChannelOptions = {}): Promise<Channel> {
    const key = pskBytes(psk);
    const socket = "listen" in from
      ? await new Promise<Socket>((res) => from.once("connection", res))
      : from;
    const ch = new Channel(socket, "server", opts);
    await ch.handshake(key);
    return ch;
  }

  private async handshake(psk: Buffer): Promise<void> {
    this.phase = "authentication";
    const mine = randomBytes(NONCE);
    this.socket.write(Buffer.concat([MAGIC, mine]));
    const hello = await this.readExact(MAGIC.length + NONCE);
    if (!hello.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw this.fail("migration peer is not a wasmvisor migration endpoint");
    if (!hello.subarray(0, 8).equals(MAGIC)) {
      throw this.fail(`migration peer speaks protocol version ${hello.readUInt16BE(6)}, this wasmvisor speaks ${PROTOCOL_VERSION}`);
    }
    const theirs = Buffer.from(hello.subarray(MAGIC.length));
    // Our own nonce coming back means the bytes are being reflected to us: nobody else can know it.
    if (theirs.equals(mine)) throw this.fail("migration peer failed authentication");
    const [nonceC, nonceS] = this.role === "client" ? [mine, theirs] : [theirs, mine];
    const peerRole: Role = this.role === "client" ? "server" : "client";
    this.socket.write(proof(psk, this.role, nonceC, nonceS));
    const got = await this.readExact(PROOF);
    if (!timingSafeEqual(got, proof(psk, peerRole, nonceC, nonceS))) throw this.fail("migration peer failed authentication");
    const c2s = sessionKey(psk, nonceC, nonceS, "c2s"), s2c = sessionKey(psk, nonceC, nonceS, "s2c");
    [this.sendKey, this.recvKey] = this.role === "client" ? [c2s, s2c] : [s2c, c2s];
    this.phase = "migration";
  }

  /** Records the first failure (later ones are consequences), drops the connection, and wakes every waiter. */
  private fail(message: string): WasmvisorError {
    if (this.error === null) {
      this.error = new WasmvisorError(message);
      this.socket.destroy();
      this.wake();
      for (const f of this.failListeners) f(this.error);
      this.failListeners.clear();
    }
    return this.error;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The next n bytes from the peer; fails on end of stream, on a failure, or after timeoutMs without data. */
  private async readExact(n: number): Promise<Buffer> {
    this.needing = n;
    while (this.buffered < n) {
      if (this.error) throw this.error;
      if (this.closed) throw new WasmvisorError("migration channel is closed");
      if (this.eof) throw this.fail(`migration connection closed by peer during ${this.phase}${this.partial}`);
      this.socket.resume();
      await new Promise<void>((res) => {
        const timer = this.timeoutMs > 0 ? setTimeout(() => {
          this.fail(`migration channel: nothing received from the peer for ${this.timeoutMs / 1000} s during ${this.phase}`);
        }, this.timeoutMs) : null;
        this.waiter = () => { if (timer) clearTimeout(timer); res(); };
      });
    }
    if (this.error) throw this.error;
    this.needing = 0;
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
      if (this.chunks[0].length === n) this.chunks.shift(); else this.chunks[0] = this.chunks[0].subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    if (this.buffered < READ_AHEAD) this.socket.resume();
    return out;
  }

  /**
   * Sends one message (type 0..254). Resolves once the socket has room again (TCP backpressure), so a sender
   * that awaits each send never queues more than one message in memory. Rejects if the channel has failed.
   */
  send(type: number, payload: Uint8Array = Buffer.alloc(0)): Promise<void> {
    if (!Number.isInteger(type) || type < 0 || type >= TYPE_CLOSE) return Promise.reject(new RangeError(`message type ${type} is not in 0..254`));
    if (payload.length > this.maxMessage) {
      return Promise.reject(new WasmvisorError(`migration channel: a message of ${size(payload.length)} is over the ${size(this.maxMessage)} limit`));
    }
    return this.sendFrame(type, payload);
  }

  private sendFrame(type: number, payload: Uint8Array): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    if (this.closed || this.sendKey === null) return Promise.reject(new WasmvisorError("migration channel is closed"));
    if (this.eof || this.socket.destroyed) return Promise.reject(this.fail(`migration connection closed by peer during ${this.phase}`));
    const seq = ++this.sendSeq;
    const head = Buffer.alloc(FRAME_HEAD);
    head.writeUInt32BE(payload.length, 0);
    head.writeUInt8(type, 4);
    const c = createCipheriv("aes-256-gcm", this.sendKey, ivFor(seq));
    c.setAAD(aadFor(seq, type, payload.length));
    const body = c.update(payload);
    c.final();
    const tag = c.getAuthTag();
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(body);
    const room = this.socket.write(tag);
    this.socket.uncork();
    this.bytesSent += FRAME_HEAD + body.length + TAG;
    if (room) return Promise.resolve();
    return new Promise<void>((res, rej) => {
      const onFail = (e: WasmvisorError) => { this.socket.off("drain", onDrain); rej(e); };
      const onDrain = () => { this.failListeners.delete(onFail); res(); };
      this.failListeners.add(onFail);
      this.socket.once("drain", onDrain);
    });
  }

  /**
   * The next message. Rejects, with one line, when the connection is cut ("closed by peer during <phase>"), a
   * frame fails its check, a message is over the limit, the peer closed the channel, or nothing arrives for
   * timeoutMs. After a rejection the channel is dead: the connection is dropped and every later call rejects.
   */
  recv(): Promise<Message> {
    const p = this.recvChain.then(() => this.recvOne());
    this.recvChain = p.catch(() => {});
    return p;
  }

  private async recvOne(): Promise<Message> {
    if (this.error) throw this.error;
    if (this.recvKey === null || this.closed) throw new WasmvisorError("migration channel is closed");
    const seq = this.recvSeq + 1n;
    const head = await this.readExact(FRAME_HEAD);
    const len = head.readUInt32BE(0), type = head.readUInt8(4);
    // The length is not authenticated until the tag arrives, so it is bounded before anything is allocated.
    if (len > this.maxMessage) throw this.fail(`migration channel: message ${seq} is ${size(len)}, over the ${size(this.maxMessage)} limit`);
    this.partial = ` (in the middle of message ${seq})`;
    const rest = await this.readExact(len + TAG);
    this.partial = "";
    const d = createDecipheriv("aes-256-gcm", this.recvKey, ivFor(seq));
    d.setAAD(aadFor(seq, type, len));
    d.setAuthTag(rest.subarray(len));
    let payload: Buffer;
    try {
      payload = Buffer.concat([d.update(rest.subarray(0, len)), d.final()]);
    } catch {
      throw this.fail(`migration channel: message ${seq} failed its integrity check`);
    }
    this.recvSeq = seq;
    if (type === TYPE_CLOSE) {
      this.socket.end();
      throw this.fail(`migration peer closed the channel during ${this.phase}`);
    }
    return { type, payload };
  }

  /**
   * Ends the channel in order: tells the peer (its recv rejects with "closed the channel"), finishes sending,
   * and waits briefly for the peer's end before dropping the socket (dropping it with data in flight could
   * make the peer lose what we sent last).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const healthy = this.error === null && this.sendKey !== null;
    if (healthy) await this.sendFrame(TYPE_CLOSE, Buffer.alloc(0)).catch(() => {});
    this.closed = true;
    this.wake();
    if (healthy && !this.socket.destroyed) {
      this.socket.end();
      this.socket.resume(); // discard anything still arriving so the peer's end is seen
      await new Promise<void>((res) => {
        const t = setTimeout(res, 2000);
        this.socket.once("close", () => { clearTimeout(t); res(); });
      });
    }
    this.socket.destroy();
  }
}
