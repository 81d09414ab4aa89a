// Entry of a snapshot compression thread: packs one memory chunk from shared memory (guest memory while the VM is
// held, or a private copy), compresses it and checksums its record, so that the main thread (the vCPU's) only
// writes finished records.
import { parentPort } from "node:worker_threads";
import { PAGE_SIZE, KIND_CHUNK, encodeSync, recordHead, recordSum } from "./record.js";
import type { ChunkJob, ChunkDone } from "./compressor.js";

const EMPTY = new Uint8Array(0);
/** The chunk's raw bytes, reused from job to job (fresh memory costs a page fault per 4 KiB on first touch). */
let raw = Buffer.alloc(0);

function pack(j: ChunkJob): ChunkDone {
  const n = j.gpns.length;
  const len = 4 + n * 4 + n * PAGE_SIZE;
  if (raw.length < len) raw = Buffer.allocUnsafe(len);
  const r = raw.subarray(0, len);
  r.writeUInt32LE(n, 0);
  for (let i = 0; i < n; i++) r.writeUInt32LE(j.gpns[i], 4 + i * 4);
  const views = j.srcs.map((s) => new Uint8Array(s));
  for (let i = 0, at = 4 + n * 4; i < n; i++, at += PAGE_SIZE) {
    const o = j.off[i], page = views[j.src[i]].subarray(o, o + PAGE_SIZE);
    if (page.length !== PAGE_SIZE) throw new Error(`page ${i} of the chunk lies outside its buffer`);
    r.set(page, at);
  }
  const { codec, stored } = encodeSync(r, j.level);
  if (stored.length > j.outBytes) throw new Error(`chunk of ${stored.length} bytes does not fit its ${j.outBytes}-byte output`);
  const sum = recordSum(recordHead(KIND_CHUNK, codec, 0, stored.length, len), EMPTY, stored);
  new Uint8Array(j.out, j.outOffset, stored.length).set(stored);
  return { id: j.id, codec, len: stored.length, rawLen: len, sum };
}

parentPort!.on("message", (j: ChunkJob) => {
  let reply: ChunkDone | { id: number; error: string };
  try { reply = pack(j); } catch (e) { reply = { id: j.id, error: (e as Error).message }; }
  parentPort!.postMessage(reply);
});
