// A snapshot record's fixed parts (layout in format.ts): the head, the codec choice and the checksum, shared by the
// writer on the main thread and the compression threads (compress-worker.ts), which must produce the same bytes.
import { createHash, type Hash } from "node:crypto";
import * as zlib from "node:zlib";
import type { ZlibOptions } from "node:zlib";
import { deflateInto } from "./deflater.js";

export const PAGE_SIZE = 4096;
export const KIND_SECTION = 1, KIND_CHUNK = 2, KIND_TRAILER = 0xff;
export const CODEC_STORED = 0, CODEC_DEFLATE = 1;
/** The format version this wasmvisor writes (format.ts: it also reads versions 1 and 2). */
export const FORMAT_VERSION = 3;
/** SHA-256: the header's checksum and the file digest (every version), and records' checksums before version 3. */
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

/**
 * Bytes of a record's checksum in format `version`: CRC-32 (4) from version 3 on, SHA-256 (32) before. A record's
 * checksum guards against damage, not forgery (anyone who can change the file can recompute any checksum; a
 * hostile file is caught by validation, not by its checksums), so it need not be cryptographic: CRC-32 (ISO-HDLC,
 * as gzip's and PNG's) costs 0.3 ms per MiB here where SHA-256 cost 0.65 (with the CPU's SHA instructions), and a
 * snapshot checksums every byte it writes, on the path of every incremental snapshot and every chunk a restore
 * reads. The file digest, which names a snapshot to its children, stays SHA-256 (of the checksums: a hash list).
 */
export function recordSumBytes(version: number): number {
  return version >= 3 ? 4 : HASH;
}

/** A record's checksum in format `version`, computed as its bytes come (kind .. data). */
export class RecordCheck {
  private crc = 0;
  private readonly sha: Hash | null;
  constructor(readonly version: number) {
    this.sha = version >= 3 ? null : createHash("sha256");
  }
  update(b: Uint8Array): this {
    if (this.sha) this.sha.update(b);
    // (Never an empty view: over an empty buffer its data pointer is null, and zlib's crc32(crc, NULL, 0) returns the
    // initial value 0 — not crc — by design.)
    else if (b.length > 0) this.crc = crc32(b, this.crc);
    return this;
  }
  digest(): Buffer {
    if (this.sha) return this.sha.digest();
    const out = Buffer.alloc(4);
    out.writeUInt32LE(this.crc, 0);
    return out;
  }
}

function crc32(b: Uint8Array, crc: number): number {
  // (zlib.crc32 came with Node 20.15: package.json's engines asks for it.)
  if (typeof zlib.crc32 !== "function") throw new Error("this Node has no zlib.crc32 (Node >= 20.15 is needed)");
  return zlib.crc32(b, crc);
}

/** The record's checksum as this wasmvisor writes it (FORMAT_VERSION). */
export function recordSum(head: Uint8Array, name: Uint8Array, stored: Uint8Array): Buffer {
  return new RecordCheck(FORMAT_VERSION).update(head).update(name).update(stored).digest();
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
