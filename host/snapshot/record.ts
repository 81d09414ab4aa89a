// A snapshot record's fixed parts (layout in format.ts): the head, the codec choice and the checksum, shared by the
// writer on the main thread and the compression threads (compress-worker.ts), which must produce the same bytes.
import { createHash } from "node:crypto";
import type { ZlibOptions } from "node:zlib";
import { deflateInto } from "./deflater.js";

export const PAGE_SIZE = 4096;
export const KIND_SECTION = 1, KIND_CHUNK = 2, KIND_TRAILER = 0xff;
export const CODEC_STORED = 0, CODEC_DEFLATE = 1;
export const HASH = 32;
export const RECORD_HEAD = 12;

/** The 12 bytes before a record's name: kind, codec, name length, stored length, raw length. */
export function recordHead(kind: number, codec: number, nameLen: number, storedLen: number, rawLen: number): Buffer {
  const head = Buffer.alloc(RECORD_HEAD);
  head.writeUInt8(kind, 0);
  head.writeUInt8(codec, 1);
  head.writeUInt16LE(nameLen, 2);
  head.writeUInt32LE(storedLen, 4);
  head.writeUInt32LE(rawLen, 8);
  return head;
}

/** The record's checksum: SHA-256 of its bytes from the kind to the end of the data. */
export function recordSum(head: Uint8Array, name: Uint8Array, stored: Uint8Array): Buffer {
  return createHash("sha256").update(head).update(name).update(stored).digest();
}

/**
 * zlib options for compressing `n` bytes: an output buffer as large as the input, so that zlib runs once per
 * record. With the default 16 KiB, Node's asynchronous zlib makes one thread-pool round trip per 16 KiB of output
 * and joins the pieces afterwards: 4 MiB compressed in 1 MiB pieces on two cores took 38 ms instead of 26.
 * (Exported for the benchmark's baseline, which must compress the same way.)
 */
export function deflateOptions(level: number, n: number): ZlibOptions {
  return { level, chunkSize: Math.max(n + 1024, 16 << 10) };
}

/** Room for encodeSync's compressed bytes, reused from call to call (see deflater.ts for why). */
let scratch = new Uint8Array(0);

/**
 * The bytes a record stores for `raw`, compressed synchronously: raw DEFLATE at `level`, or `raw` itself when the
 * level is 0 or compression would not make it smaller (already compressed or random data is not grown). With
 * `into`, compressed bytes are written there (at least `raw.length - 1` bytes of room) and `stored` is a view of it;
 * without, `stored` is a new buffer.
 */
export function encodeSync(raw: Uint8Array, level: number, into?: Uint8Array): { codec: number; stored: Uint8Array } {
  if (level === 0 || raw.length === 0) return { codec: CODEC_STORED, stored: raw };
  let room = into;
  if (!room) {
    if (scratch.length < raw.length) scratch = new Uint8Array(raw.length);
    room = scratch;
  }
  const n = deflateInto(raw, room.subarray(0, raw.length - 1), level);
  if (n < 0) return { codec: CODEC_STORED, stored: raw };
  return { codec: CODEC_DEFLATE, stored: into ? into.subarray(0, n) : Buffer.from(room.subarray(0, n)) };
}
