// Compression threads for snapshot memory chunks (compress-worker.ts): the packing, DEFLATE and SHA-256 of a
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
}

const IDLE_MS = 60_000;

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (d: ChunkDone) => void; reject: (e: Error) => void }>;
}

let threads: Thread[] = [];
let nextId = 1;
let idleTimer: NodeJS.Timeout | undefined;

function script(): string {
  // From the compiled host the thread's script sits beside this file; from the TypeScript sources (tests) it is the
  // compiled one in dist/ (npm run build).
  const here = fileURLToPath(new URL("./compress-worker.js", import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL("../../dist/host/snapshot/compress-worker.js", import.meta.url));
}

function start(): Thread {
  const worker = new Worker(script());
  const t: Thread = { worker, pending: new Map() };
  worker.unref(); // referenced only while it has work (a waiting snapshot must keep the process alive)
  const fail = (why: string) => {
    threads = threads.filter((x) => x !== t);
    for (const p of t.pending.values()) p.reject(new WasmvisorError(`snapshot compression thread failed: ${why}`));
    t.pending.clear();
  };
  worker.on("message", (m: ChunkDone | { id: number; error: string }) => {
    const p = t.pending.get(m.id);
    if (!p) return;
    t.pending.delete(m.id);
    if (t.pending.size === 0) worker.unref();
    if ("error" in m) p.reject(new WasmvisorError(`snapshot: ${m.error}`));
    else p.resolve(m);
    armIdle();
  });
  worker.on("error", (e) => fail(e.message));
  worker.on("exit", (code) => fail(`it exited (status ${code})`));
  return t;
}

function armIdle(): void {
  clearTimeout(idleTimer);
  if (threads.some((t) => t.pending.size > 0)) return;
  idleTimer = setTimeout(() => { void stopCompressors(); }, IDLE_MS).unref();
}

/** Packs, compresses and checksums one chunk on the least busy compression thread. */
export function compressChunk(job: Omit<ChunkJob, "id">): Promise<ChunkDone> {
  clearTimeout(idleTimer);
  const want = Math.min(4, Math.max(1, availableParallelism()));
  let t = threads.find((x) => x.pending.size === 0);
  if (!t && threads.length < want) threads.push(t = start());
  t ??= threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  const id = nextId++;
  const thread = t;
  return new Promise<ChunkDone>((resolve, reject) => {
    if (thread.pending.size === 0) thread.worker.ref();
    thread.pending.set(id, { resolve, reject });
    thread.worker.postMessage({ ...job, id } satisfies ChunkJob);
  });
}

/** Stops the compression threads (work in progress fails with a clear error); the next snapshot starts new ones. */
export async function stopCompressors(): Promise<void> {
  const all = threads;
  threads = [];
  clearTimeout(idleTimer);
  await Promise.all(all.map((t) => t.worker.terminate()));
}
