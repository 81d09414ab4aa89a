// The incremental-snapshot baseline's compression: 1 MiB pieces of a shared buffer compressed on worker threads
// (one per core, at most 4, as the snapshot writer's) with the writer's engine (host/snapshot/deflater.ts), so
// that "writing the dirty pages alone" does the same compression work as the snapshot, and no more. Each piece
// goes to the first free thread, as the writer's chunks do (host/snapshot/compressor.ts: posted to every thread,
// run by the one that claims it first), so that the reference schedules its work no worse than the writer.
import { Worker, isMainThread, parentPort, threadId, workerData } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { deflateInto } from "../host/snapshot/deflater.js";

interface Job { id: number; src: SharedArrayBuffer; off: number; len: number; out: SharedArrayBuffer; outOff: number; level: number }

/** Claim slots (one per piece id, reused CLAIM_SLOTS pieces later): a thread runs a piece only if it claims it first. */
const CLAIM_SLOTS = 1 << 12;

if (!isMainThread && parentPort) {
  const port = parentPort;
  const claims = new Int32Array((workerData as { claims: SharedArrayBuffer }).claims);
  port.on("message", (j: Job) => {
    if (Atomics.compareExchange(claims, j.id % CLAIM_SLOTS, j.id, -threadId) !== j.id) return;
    // (Room for raw.length - 1 bytes, as the writer's: -1 = not smaller, stored as it is.)
    const n = deflateInto(new Uint8Array(j.src, j.off, j.len), new Uint8Array(j.out, j.outOff, j.len - 1), j.level);
    port.postMessage({ id: j.id, n });
  });
}

const pending = new Map<number, (n: number) => void>();
const claims = new Int32Array(new SharedArrayBuffer(CLAIM_SLOTS * 4));
let pool: Worker[] = [];
let nextId = 1;

/** Starts the threads (outside the timed part: the snapshot writer's are started by its earlier snapshots). */
export function startDeflateThreads(): void {
  if (pool.length) return;
  const n = Math.min(4, Math.max(1, availableParallelism()));
  for (let i = 0; i < n; i++) {
    const w = new Worker(new URL(import.meta.url), { workerData: { claims: claims.buffer } });
    w.on("message", (m: { id: number; n: number }) => { pending.get(m.id)?.(m.n); pending.delete(m.id); });
    w.on("error", (e) => { throw e; });
    pool.push(w);
  }
}

export async function stopDeflateThreads(): Promise<void> {
  const all = pool;
  pool = [];
  await Promise.all(all.map((w) => w.terminate()));
}

/**
 * Data in shared memory, compressed in `piece`-byte pieces on the threads. load() (not timed) puts the bytes in
 * place, as the dirty pages already are in guest memory; both buffers are reused and touched once, so that no
 * page faults on fresh memory fall into the timed part (none fall into the snapshot writer's either).
 */
export class SharedPieces {
  private readonly src: SharedArrayBuffer;
  private readonly out: SharedArrayBuffer;
  private len = 0;
  constructor(maxBytes: number) {
    this.src = new SharedArrayBuffer(maxBytes);
    this.out = new SharedArrayBuffer(maxBytes);
    new Uint8Array(this.src).fill(1);
    new Uint8Array(this.out).fill(1);
  }

  load(data: Uint8Array): void {
    new Uint8Array(this.src).set(data);
    this.len = data.length;
  }

  /** The bytes to write, in order: each piece's DEFLATE output, or the piece itself where that is not smaller. */
  async compress(piece: number, level: number): Promise<Uint8Array[]> {
    startDeflateThreads();
    const jobs: Promise<Uint8Array>[] = [];
    for (let off = 0; off < this.len; off += piece) {
      const len = Math.min(piece, this.len - off), id = nextId++;
      jobs.push(new Promise((resolve) => {
        pending.set(id, (n) => resolve(n < 0 ? new Uint8Array(this.src, off, len) : new Uint8Array(this.out, off, n)));
      }));
      Atomics.store(claims, id % CLAIM_SLOTS, id);
      for (const w of pool) w.postMessage({ id, src: this.src, off, len, out: this.out, outOff: off, level } satisfies Job);
    }
    return Promise.all(jobs);
  }
}
