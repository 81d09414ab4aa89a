// Raw DEFLATE into a caller's buffer through zlib engines kept for the thread's life: the compression of snapshot
// chunks (compress-worker.ts) without the fresh memory that Node's one-shot zlib calls take for every call; and the
// first bytes of a compressed chunk without inflating the rest (a merge checks a copied chunk's page list).
import { constants, createDeflateRaw, createInflateRaw, deflateRawSync, inflateRawSync, type DeflateRaw, type InflateRaw } from "node:zlib";

/** The part of a Node zlib engine's handle used here (lib/zlib.js: processChunkSync drives it the same way). */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
}

interface Engine {
  stream: DeflateRaw | InflateRaw;
  handle: ZlibHandle;
  /** [output bytes left, input bytes left] after each writeSync (the engine's _writeState). */
  state: Uint32Array;
}

/** Per level; null where this Node's engines do not have the expected handle (then deflateRawSync is used). */
const engines = new Map<number, Engine | null>();

/** The handle of a zlib stream, if it has the shape Node's own synchronous calls use; else null (and it is destroyed). */
function handleOf(stream: DeflateRaw | InflateRaw): Engine | null {
  // An error is seen synchronously by the caller (the stream is destroyed); its asynchronous 'error' event must
  // not go unhandled.
  stream.on("error", () => {});
  const inner = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
  const h = inner._handle, state = inner._writeState;
  const e = h && typeof h.writeSync === "function" && typeof h.reset === "function" && state instanceof Uint32Array && state.length >= 2
    ? { stream, handle: h as ZlibHandle, state } : null;
  if (!e) stream.destroy();
  return e;
}

function engine(level: number): Engine | null {
  let e = engines.get(level);
  if (e !== undefined) return e;
  e = handleOf(createDeflateRaw({ level }));
  engines.set(level, e);
  return e;
}

/** True when deflateInto writes in place on this Node (for the tests: the fallback would hide a lost speed-up). */
export function deflatesInPlace(level = 1): boolean {
  return engine(level) !== null;
}

/**
 * Compresses `src` with raw DEFLATE (RFC 1951) at `level` (1..9) into `dst` and returns the compressed length, or
 * -1 when the result does not fit in `dst` (a caller that passes `src.length - 1` bytes of room learns that
 * compression would not make the data smaller). The output is byte for byte that of deflateRawSync.
 *
 * Why: Node's one-shot zlib calls allocate a new zlib state and a new output buffer for every call, and fresh
 * memory costs a page fault per 4 KiB when first touched (~15–35 µs each on our CI machines: 170–260 faults per
 * 1 MiB chunk at level 1, a fifth of its compression time: 12.4 ms → 9.5 ms per 1 MiB). Node has no public call
 * that compresses into a given buffer, so this drives an engine's handle as Node's own deflateRawSync does
 * (writeSync with Z_FINISH, then the engine's write state), after a reset; where a future Node lacks that handle,
 * it falls back to deflateRawSync and a copy (deflatesInPlace() says which, and a test requires the fast path).
 */
export function deflateInto(src: Uint8Array, dst: Uint8Array, level: number): number {
  const e = engine(level);
  if (!e) {
    const z = deflateRawSync(src, { level, chunkSize: Math.max(src.length + 1024, 16 << 10) });
    if (z.length > dst.length) return -1;
    dst.set(z);
    return z.length;
  }
  e.handle.reset();
  e.handle.writeSync(constants.Z_FINISH, src, 0, src.length, dst, 0, dst.length);
  if (e.stream.destroyed) {
    // zlib reported an error (the engine's onerror destroyed it): never reached with valid options.
    engines.delete(level);
    throw new Error(`DEFLATE failed at level ${level}`);
  }
  const outLeft = e.state[0], inLeft = e.state[1];
  // With Z_FINISH the stream is complete exactly when zlib stopped with output room left (zlib.h: "If deflate
  // returns with avail_out == 0, this function must be called again with Z_FINISH"); a full dst may be incomplete.
  if (inLeft !== 0 || outLeft === 0) return -1;
  return dst.length - outLeft;
}

/** The inflating engine for inflateHead (undefined: not made yet; null: this Node lacks the handle). */
let inflater: Engine | null | undefined;

/**
 * Inflates raw DEFLATE data `src` until `dst` is full or the data ends, and returns the bytes produced; throws if
 * the data is not valid DEFLATE as far as it was read. Only as much is decompressed as `dst` holds: a merge reads
 * the page list at the head of a 1 MiB chunk it copies (1 KiB) without inflating the chunk.
 */
export function inflateHead(src: Uint8Array, dst: Uint8Array): number {
  if (inflater === undefined) inflater = handleOf(createInflateRaw());
  const e = inflater;
  if (!e) {
    // (Without the handle: all of it, then the head — slower, the same answer; bounded, as a chunk is at most
    // 16 MiB, so that a DEFLATE bomb is refused rather than inflated.)
    const all = inflateRawSync(src, { maxOutputLength: 32 << 20 });
    const n = Math.min(all.length, dst.length);
    dst.set(all.subarray(0, n));
    return n;
  }
  e.handle.reset();
  // Z_SYNC_FLUSH: as much as fits; a full dst is not an error (Node reports Z_BUF_ERROR only with room left).
  e.handle.writeSync(constants.Z_SYNC_FLUSH, src, 0, src.length, dst, 0, dst.length);
  if (e.stream.destroyed) {
    inflater = undefined; // (a new engine next time)
    throw new Error("the data is not valid DEFLATE");
  }
  return dst.length - e.state[0];
}
