// Compression threads for snapshot memory chunks (compress-worker.ts): the packing, DEFLATE and checksum of a
// chunk run beside the vCPU's thread, which only writes the finished records. Started on first use, one per core
// (at most 4), and stopped after a minute without work, so that an idle host process keeps its small footprint.
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WasmvisorError } from "../errors.js";

/**
 * One memory chunk to pack, either as pages (page i of gpns is 4096 bytes at srcs[src[i]] + off[i]) or as its raw
 * bytes already laid out (count, page numbers, pages) at raw + rawOffset; its record's data goes to out + outOffset.
 */
export interface ChunkJob {
  id: number;
  level: number;
  pages?: { srcs: SharedArrayBuffer[]; src: Uint8Array; off: Float64Array; gpns: Uint32Array };
  raw?: { buffer: SharedArrayBuffer; offset: number; length: number };
  out: SharedArrayBuffer;
  outOffset: number;
  outBytes: number;
}

/** A packed chunk: its stored bytes are out[outOffset, +len). */
export interface ChunkDone {
  id: number;
  codec: number;
  len: number;
  rawLen: number;
  sum: Uint8Array;
  /** The thread that ran it (its threadId). */
  thread: number;
}

const IDLE_MS = 60_000;

/**
 * Claim slots shared with the threads. Every job is posted to every thread, and the first thread that reaches it
 * claims it (compress-worker.ts: compareExchange of the job's slot from its id to minus the thread's id) and runs it;
 * the others skip it. So a thread that lost its core to another process (this host's neighbours), or to the main
 * thread writing, no longer holds up the jobs queued behind its current one: the free thread takes them. (Jobs were
 * dealt out when posted before: a 1,000-page snapshot's last chunk then waited up to a whole chunk for a thread
 * that had stalled, 10–25 ms, while the other sat idle.) A slot is reused CLAIM_SLOTS jobs later; ids are unique
 * up to ID_WRAP, so a stale message never matches a newer job's slot.
 */
const CLAIM_SLOTS = 1 << 12;
const ID_WRAP = 1 << 30;
const claims = new Int32Array(new SharedArrayBuffer(CLAIM_SLOTS * 4));

interface Thread {
  worker: Worker;
  /** Its thread id, as it claims (minus it, in the claim slot). */
  id: number;
}

let threads: Thread[] = [];
const pending = new Map<number, { resolve: (d: ChunkDone) => void; reject: (e: Error) => void }>();
let nextId = 1;
let idleTimer: NodeJS.Timeout | undefined;

function script(): string {
  // From the compiled host the thread's script sits beside this file; from the TypeScript sources (tests) it is the
  // compiled one in dist/ (npm run build).
  const here = fileURLToPath(new URL("./compress-worker.js", import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL("../../dist/host/snapshot/compress-worker.js", import.meta.url));
}

function settle(id: number): { resolve: (d: ChunkDone) => void; reject: (e: Error) => void } | undefined {
  const p = pending.get(id);
  pending.delete(id);
  if (pending.size === 0) {
    for (const t of threads) t.worker.unref(); // referenced only while there is work (a waiting snapshot keeps the process alive)
    armIdle();
  }
  return p;
}

function start(): Thread {
  const worker = new Worker(script(), { workerData: { claims: claims.buffer } });
  const t: Thread = { worker, id: worker.threadId };
  if (pending.size === 0) worker.unref();
  let failed = false;
  const fail = (why: string) => {
    if (failed) return;
    failed = true;
    threads = threads.filter((x) => x !== t);
    // The jobs it claimed fail, and so do those no thread has claimed yet: they are withdrawn first (their slot
    // cleared, so that no thread can take them later and write into buffers that go back to the pools now). Jobs
    // other threads are running go on.
    for (const id of [...pending.keys()]) {
      const slot = id % CLAIM_SLOTS;
      if (Atomics.load(claims, slot) === -t.id || Atomics.compareExchange(claims, slot, id, 0) === id) {
        settle(id)?.reject(new WasmvisorError(`snapshot compression thread failed: ${why}`));
      }
    }
  };
  worker.on("message", (m: ChunkDone | { id: number; error: string }) => {
    const p = settle(m.id);
    if (!p) return;
    if ("error" in m) p.reject(new WasmvisorError(`snapshot: ${m.error}`));
    else p.resolve(m);
  });
  worker.on("error", (e) => fail(e.message));
  worker.on("exit", (code) => fail(`it exited (status ${code})`));
  return t;
}

function armIdle(): void {
  clearTimeout(idleTimer);
  if (pending.size > 0) return;
  idleTimer = setTimeout(() => { void stopCompressors(); }, IDLE_MS).unref();
}

/** How many compression threads run: one per core, at most 4. */
export function compressionThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism()));
}

/** Packs, compresses and checksums one chunk on whichever compression thread is free first. */
export function compressChunk(job: Omit<ChunkJob, "id">): Promise<ChunkDone> {
  clearTimeout(idleTimer);
  const want = compressionThreads();
  while (threads.length < want) threads.push(start());
  const id = nextId;
  nextId = nextId + 1 >= ID_WRAP ? 1 : nextId + 1;
  const slot = id % CLAIM_SLOTS;
  // (The job CLAIM_SLOTS before this one must have been claimed: a slot holding an id is a job no thread took yet.)
  if (Atomics.load(claims, slot) > 0 && pending.has(Atomics.load(claims, slot))) {
    return Promise.reject(new WasmvisorError(`snapshot: more than ${CLAIM_SLOTS} chunks waiting for compression`));
  }
  Atomics.store(claims, slot, id);
  return new Promise<ChunkDone>((resolve, reject) => {
    if (pending.size === 0) for (const t of threads) t.worker.ref();
    pending.set(id, { resolve, reject });
    for (const t of threads) t.worker.postMessage({ ...job, id } satisfies ChunkJob);
  });
}

/** Stops the compression threads (work in progress fails with a clear error); the next snapshot starts new ones. */
export async function stopCompressors(): Promise<void> {
  const all = threads;
  threads = [];
  clearTimeout(idleTimer);
  await Promise.all(all.map((t) => t.worker.terminate()));
}
