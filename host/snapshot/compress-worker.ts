// Entry of a snapshot compression thread: packs one memory chunk from shared memory (guest memory while the VM is
// held, or a private copy), compresses it and checksums its record, so that the main thread (the vCPU's) only
// writes finished records.
import { parentPort, threadId, workerData } from "node:worker_threads";
import { PAGE_SIZE, KIND_CHUNK, CODEC_STORED, encodeSync, recordHead, recordSum } from "./record.js";
import type { ChunkJob, ChunkDone } from "./compressor.js";

const EMPTY = new Uint8Array(0);
/** The chunk's raw bytes, reused from job to job (fresh memory costs a page fault per 4 KiB on first touch). */
let raw = Buffer.alloc(0);

/** The chunk's raw bytes (page count, page numbers, pages) gathered into the reused buffer. */
function gather(p: NonNullable<ChunkJob["pages"]>): Buffer {
  const n = p.gpns.length;
  const len = 4 + n * 4 + n * PAGE_SIZE;
  if (raw.length < len) raw = Buffer.allocUnsafe(len);
  const r = raw.subarray(0, len);
  r.writeUInt32LE(n, 0);
  for (let i = 0; i < n; i++) r.writeUInt32LE(p.gpns[i], 4 + i * 4);
  const views = p.srcs.map((s) => new Uint8Array(s));
  for (let i = 0, at = 4 + n * 4; i < n; i++, at += PAGE_SIZE) {
    const o = p.off[i], page = views[p.src[i]].subarray(o, o + PAGE_SIZE);
    if (page.length !== PAGE_SIZE) throw new Error(`page ${i} of the chunk lies outside its buffer`);
    r.set(page, at);
  }
  return r;
}

function pack(j: ChunkJob): ChunkDone {
  let r: Buffer;
  if (j.raw) {
    // Laid out already (a staged capture): compressed where it lies, no copy.
    if (j.raw.offset + j.raw.length > j.raw.buffer.byteLength) throw new Error("the chunk lies outside its buffer");
    r = Buffer.from(j.raw.buffer, j.raw.offset, j.raw.length);
  } else if (j.pages) {
    r = gather(j.pages);
  } else {
    throw new Error("a chunk job without pages");
  }
  // Compressed straight into the job's output; stored data (not made smaller) is copied there.
  const out = new Uint8Array(j.out, j.outOffset, j.outBytes);
  const { codec, stored } = encodeSync(r, j.level, out.subarray(0, Math.min(j.outBytes, Math.max(r.length - 1, 0))));
  if (codec === CODEC_STORED) {
    if (stored.length > j.outBytes) throw new Error(`chunk of ${stored.length} bytes does not fit its ${j.outBytes}-byte output`);
    out.set(stored);
  }
  const sum = recordSum(recordHead(KIND_CHUNK, codec, 0, stored.length, r.length), EMPTY, stored);
  return { id: j.id, codec, len: stored.length, rawLen: r.length, sum, thread: threadId };
}

/** The claim slots (compressor.ts): every thread is sent every job, and runs only those it claims first. */
const claims = new Int32Array((workerData as { claims: SharedArrayBuffer }).claims);

parentPort!.on("message", (j: ChunkJob) => {
  if (Atomics.compareExchange(claims, j.id % claims.length, j.id, -threadId) !== j.id) return; // another thread's
  let reply: ChunkDone | { id: number; error: string };
  try { reply = pack(j); } catch (e) { reply = { id: j.id, error: (e as Error).message }; }
  parentPort!.postMessage(reply);
});
