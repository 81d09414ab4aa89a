// Writing snapshot files (the layout is in format.ts): sections and memory chunks packed as records, memory
// compressed on the compression threads and written as it comes, the file replaced atomically.
import { type FileHandle } from "node:fs/promises";
import { createHash, type Hash } from "node:crypto";
import { writevSync } from "node:fs";
import { deflateRaw, type InputType, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { WasmvisorError } from "../errors.js";
import { atomicWrite } from "./atomic.js";
import { BufferPool } from "./pool.js";
import { compressChunk, type ChunkJob } from "./compressor.js";
import { inflateHead } from "./deflater.js";
import { PAGE_SIZE, KIND_SECTION, KIND_CHUNK, KIND_TRAILER, CODEC_STORED, CODEC_DEFLATE, RECORD_HEAD, FORMAT_VERSION, recordHead, recordSum, recordSumBytes,
  deflateOptions, encodeSync } from "./record.js";
import { PAGE_INDEX_SECTION, DEFAULT_CHUNK_PAGES, MAX_CHUNK_PAGES, MAX_META, MAX_SECTION, MAGIC, TRAILER_BODY, checkLevel, headListsPages,
  type ParentRef, type Section, type PageSource, type StoredRecord, type Snapshot, type WriteOptions, type WriteResult } from "./format.js";

/** Records up to this size are compressed synchronously (sections, small chunks). */
const SYNC_DEFLATE_MAX = 64 << 10;
/** Snapshots of at most this many bytes of pages write their records synchronously (see Output). */
const SYNC_WRITES_MAX = 16 << 20;
/** Written bytes after which the writer syncs them in the background (see Output). */
const SYNC_EVERY = 1 << 20;
/** Unsynced bytes after which it syncs even while records keep coming (see Output). */
const SYNC_BACKLOG = 64 << 20;
/** Memory chunks in flight while writing (compress-worker.ts threads pack and compress them; the writer writes). */
const PARALLEL = 4;

const deflateRawAsync = promisify(deflateRaw) as (b: InputType, o: ZlibOptions) => Promise<Buffer>;

/**
 * Shared buffers, reused between snapshots (see pool.ts): pages that cannot be read in place are gathered into one
 * (`gathered`), and each chunk's record comes back from its compression thread in one (`outputs`).
 */
const gathered = new BufferPool(PARALLEL + 1, true);
const outputs = new BufferPool(PARALLEL + 1, true);

/** A record (see the layout above) as the buffers to write, and its checksum (the last of them). */
interface Packed {
  parts: Uint8Array[];
  sum: Buffer;
}

/**
 * Writer through a file handle: each write reserves the next range of the file at once and goes out as one
 * writev (no copy into one buffer), so writes may be in flight together; flush() waits for them all and reports
 * the first failure. `digest` is the file digest's hash list, which the writer feeds with each part's checksum.
 *
 * Written data is also synced as it goes (fdatasync once SYNC_EVERY bytes are out, one at a time, beside the
 * writes), as RocksDB's bytes_per_sync does: the caller's final fsync then has little left to flush (2.5 MB on
 * our disks: 2.2 ms alone, 1.35 ms after a sync of the first half), and a large snapshot does not pile up dirty
 * page cache until its end. Only while the writer waits for its next record, though (waiting(), or once
 * SYNC_BACKLOG bytes are unsynced): data that is all at hand at once (stored chunks) is better flushed by the one
 * final fsync than split into two flushes in a row.
 *
 * With `syncWrites` (small snapshots), each write is made at once on this thread instead: it is a copy into the page
 * cache (~0.1 ms per MiB), cheaper than a thread-pool round trip, and no pool thread is woken while the compression
 * threads hold the cores (in-process A/B over 120 paired 1,000-page incrementals: paired ratio 1.035 -> 1.022).
 * Large snapshots keep the asynchronous writes, so that a slow disk cannot stall the vCPU's thread for long.
 */
class Output {
  readonly digest: Hash = createHash("sha256");
  pos = 0;
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown = null;
  /** Bytes written since the last background sync started, and that sync. */
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  private flushing = false;
  /** The producer is waiting for its next record (see waiting()). */
  private idle = false;
  constructor(private readonly fh: FileHandle, private readonly syncWrites = false) {}

  write(parts: Uint8Array[]): Promise<void> {
    const at = this.pos, n = parts.reduce((k, b) => k + b.length, 0);
    this.pos += n;
    if (this.syncWrites && this.failure === null) {
      try {
        // (A short write, rare, finishes asynchronously below: positional writes may be repeated.)
        if (writevSync(this.fh.fd, parts, at) === n) {
          this.written(n);
          return Promise.resolve();
        }
      } catch (e) {
        this.failure = e; // (flush() reports it; the promise is marked handled, as the asynchronous ones are)
        const p = Promise.reject(e);
        p.catch(() => {});
        return p;
      }
    }
    const p = this.writeAt(parts, at);
    const tracked: Promise<void> = p.then(() => { this.pending.delete(tracked); this.written(n); },
      (e) => { this.pending.delete(tracked); this.failure ??= e; });
    this.pending.add(tracked);
    return p;
  }

  /** `n` more bytes are in the file (not yet synced). */
  private written(n: number): void {
    this.unsynced += n;
    this.syncAhead();
  }

  /** The producer is (true) or is no longer (false) waiting for its next record: a time to sync what is out. */
  waiting(idle: boolean): void {
    this.idle = idle;
    if (idle) this.syncAhead();
  }

  private syncAhead(): void {
    // (Not once flushing: the caller's fsync follows at once, a sync started now would only come before it.)
    if (this.syncing || this.flushing || this.unsynced < SYNC_EVERY || this.failure !== null) return;
    if (!this.idle && this.unsynced < SYNC_BACKLOG) return;
    this.unsynced = 0;
    const s: Promise<void> = this.fh.datasync().then(() => { this.syncing = null; this.syncAhead(); },
      (e) => { this.syncing = null; this.failure ??= e; });
    this.syncing = s;
  }

  /** Waits until at most `max` writes are in flight (so that a slow disk holds back the producer). */
  async throttle(max: number): Promise<void> {
    while (this.pending.size > max) await Promise.race(this.pending);
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for every write and the background sync (the caller's fsync makes the file durable). */
  async flush(): Promise<void> {
    this.flushing = true;
    await this.throttle(0);
    while (this.syncing) await this.syncing;
    if (this.failure !== null) throw this.failure;
  }

  private async writeAt(bufs: Uint8Array[], at: number): Promise<void> {
    for (;;) {
      const want = bufs.reduce((n, b) => n + b.length, 0);
      const { bytesWritten } = await this.fh.writev(bufs, at);
      if (bytesWritten >= want) return;
      // A short write (rare: a signal, a full disk that recovers): go on from where it stopped.
      at += bytesWritten;
      let skip = bytesWritten;
      while (skip >= bufs[0].length) { skip -= bufs[0].length; bufs = bufs.slice(1); }
      bufs = [bufs[0].subarray(skip), ...bufs.slice(1)];
    }
  }
}

/** A record (see the layout above); compression is done by the caller. */
function record(kind: number, codec: number, name: string, stored: Uint8Array, rawLen: number): Packed {
  const nameBytes = Buffer.from(name, "utf8");
  const head = recordHead(kind, codec, nameBytes.length, stored.length, rawLen);
  const sum = recordSum(head, nameBytes, stored);
  return { parts: nameBytes.length ? [head, nameBytes, stored, sum] : [head, stored, sum], sum };
}

/** A section's record (memory chunks are packed by the compression threads, see ChunkPacker). */
async function packed(kind: number, name: string, raw: Uint8Array, level: number): Promise<Packed> {
  // Small records are compressed right here: a thread-pool round trip costs more than the work.
  if (level === 0 || raw.length <= SYNC_DEFLATE_MAX) {
    const { codec, stored } = encodeSync(raw, level);
    return record(kind, codec, name, stored, raw.length);
  }
  const z = await deflateRawAsync(raw, deflateOptions(level, raw.length));
  // Incompressible data (already compressed or random) is stored as is rather than grown.
  return z.length < raw.length ? record(kind, CODEC_DEFLATE, name, z, raw.length) : record(kind, CODEC_STORED, name, raw, raw.length);
}

function metaJson(snap: Snapshot): Buffer {
  let json: string | undefined;
  try { json = JSON.stringify({ pageSize: PAGE_SIZE, config: snap.config, ...(snap.parent ? { parent: snap.parent } : {}) }); }
  catch (e) { throw new WasmvisorError(`snapshot: the VM configuration cannot be saved as JSON (${(e as Error).message})`); }
  const b = Buffer.from(json, "utf8");
  if (b.length > MAX_META) throw new WasmvisorError(`snapshot: the VM configuration is ${b.length} bytes as JSON (limit ${MAX_META})`);
  return b;
}


function checkParent(parent: ParentRef | undefined): void {
  if (parent && !/^[0-9a-f]{64}$/.test(parent.digest)) throw new WasmvisorError(`snapshot: parent digest "${parent.digest}" is not a hex SHA-256`);
}

function checkSnapshot(snap: Snapshot, chunkPages: number, level: number): void {
  const bad = (why: string) => { throw new WasmvisorError(`snapshot: ${why}`); };
  if (!Number.isInteger(snap.abi) || snap.abi < 0 || snap.abi > 0xffff_ffff) bad(`ABI version ${snap.abi} is not a u32`);
  if (!Number.isInteger(chunkPages) || chunkPages < 1 || chunkPages > MAX_CHUNK_PAGES) bad(`chunkPages ${chunkPages} is not in 1..${MAX_CHUNK_PAGES}`);
  checkLevel(level);
  checkParent(snap.parent);
  const names = new Set<string>();
  for (const s of snap.sections) {
    if (names.has(s.name)) bad(`section ${JSON.stringify(s.name)} appears twice`);
    if (s.name.length === 0 || Buffer.byteLength(s.name) > 0xffff) bad(`section name ${JSON.stringify(s.name)} is empty or too long`);
    if (s.data.length > MAX_SECTION) bad(`section ${JSON.stringify(s.name)} is ${s.data.length} bytes (limit ${MAX_SECTION})`);
    if (s.name === PAGE_INDEX_SECTION) bad(`section name ${JSON.stringify(s.name)} is reserved for the page index`);
    names.add(s.name);
  }
  // Unique: a list in ascending order (what dirty logs and full snapshots give) needs no set to tell.
  const gpns = snap.pages.gpns;
  let seen: Set<number> | null = null;
  for (let i = 0; i < gpns.length; i++) {
    const g = gpns[i];
    if (!Number.isInteger(g) || g < 0 || g > 0xffff_ffff) bad(`page number ${g} is not a u32`);
    if (!seen && i > 0 && g <= gpns[i - 1]) seen = new Set(Array.prototype.slice.call(gpns, 0, i) as number[]);
    if (seen) {
      if (seen.has(g)) bad(`page 0x${g.toString(16)} appears twice`);
      seen.add(g);
    }
  }
  if (snap.pages.gpns.length > 0xffff_ffff) bad("too many pages");
}

/** Room stagePages leaves before each chunk's pages for its header (count, page numbers): whole pages. */
function stagedHeadBytes(chunkPages: number): number {
  return Math.ceil((4 + 4 * chunkPages) / PAGE_SIZE) * PAGE_SIZE;
}

/** Bytes stagePages needs for `n` pages in chunks of `chunkPages`. */
export function stagedBytes(n: number, chunkPages: number): number {
  return Math.ceil(n / chunkPages) * stagedHeadBytes(chunkPages) + n * PAGE_SIZE;
}

/** A staged copy of pages (stagePages): a PageSource whose chunks are copied when first asked for. */
export interface StagedPages extends PageSource {
  /** Copies every chunk not yet copied. Call it before the pages' source may change (before the VM runs again). */
  complete(): void;
}

/**
 * A copy of pages laid out as the memory chunks of a file written with `chunkPages` (page count, page numbers,
 * pages): each chunk's header ends where its first page starts, on a 4 KiB boundary of `buf`, so the copy stays
 * page-aligned and a writer compresses each chunk where it lies. `copy(i, buf, at)` puts page gpns[i] into `buf` at
 * byte `at` (an offset rather than a view of each page: less garbage). Each chunk is copied when the writer first
 * asks for it, so that a writer started while the source is held (startWrite) compresses the first chunks while
 * the next are copied; complete() copies the rest, and must be called before the source may change. The source is
 * stable: `buf` must not change until the write resolves.
 */
export function stagePages(buf: Uint8Array, gpns: ArrayLike<number>, chunkPages: number, copy: (i: number, buf: Uint8Array, at: number) => void): StagedPages {
  const n = gpns.length;
  if (buf.length < stagedBytes(n, chunkPages)) throw new WasmvisorError(`snapshot: ${buf.length} bytes cannot stage ${n} pages`);
  const head = stagedHeadBytes(chunkPages), stride = head + chunkPages * PAGE_SIZE;
  const at = (i: number) => Math.floor(i / chunkPages) * stride + head + (i % chunkPages) * PAGE_SIZE;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const chunks = Math.ceil(n / chunkPages);
  const staged = new Uint8Array(chunks);
  const stage = (c: number) => {
    if (staged[c]) return;
    staged[c] = 1;
    const first = c * chunkPages, base = c * stride + head, count = Math.min(chunkPages, n - first);
    let h = base - 4 - 4 * count;
    dv.setUint32(h, count, true);
    for (let j = 0; j < count; j++) dv.setUint32(h += 4, gpns[first + j], true);
    // (Integer offsets throughout: at(i)'s division made a heap number per page in code that is rarely optimized.)
    for (let j = 0; j < count; j++) copy(first + j, buf, base + j * PAGE_SIZE);
  };
  return {
    gpns,
    get: (i) => {
      stage(Math.floor(i / chunkPages));
      return buf.subarray(at(i), at(i) + PAGE_SIZE);
    },
    stable: true,
    packed: {
      chunkPages,
      chunk: (first, count) => {
        if (first % chunkPages !== 0 || count !== Math.min(chunkPages, n - first)) throw new WasmvisorError(`snapshot: pages ${first}+${count} are not a staged chunk`);
        stage(first / chunkPages);
        return buf.subarray(at(first) - 4 - 4 * count, at(first) + count * PAGE_SIZE);
      },
    },
    complete: () => { for (let c = 0; c < chunks; c++) stage(c); },
  };
}

/**
 * A stored chunk record copied as it is (PageSource.record): its checksum was checked as it was read; here it must
 * be a memory chunk record of exactly the pages it stands for — `gpns`, in order, which the new file's page index
 * will list for it. The page list at the head of its data is read to make sure (only that much is inflated: ~5 µs
 * a chunk): a file whose checksums are valid may still hold a chunk whose pages disagree with its own index (a
 * reader finds that only when it unpacks the chunk), and a merge must not carry such a chunk into a new file.
 */
async function copyRecord(rec: StoredRecord, gpns: ArrayLike<number>, first: number): Promise<PackedChunk> {
  const b = rec.read(), SUM = recordSumBytes(FORMAT_VERSION), what = rec.name ?? "snapshot: a stored chunk";
  const ok = b.length >= RECORD_HEAD + SUM && b[0] === KIND_CHUNK && b.readUInt16LE(2) === 0 &&
    RECORD_HEAD + b.readUInt32LE(4) + SUM === b.length && b.readUInt32LE(8) === 4 + rec.count * (4 + PAGE_SIZE);
  if (!ok) throw new WasmvisorError(`${what} of ${rec.count} pages is not such a chunk's record`);
  const stored = b.subarray(RECORD_HEAD, b.length - SUM), codec = b[1];
  let head: Uint8Array = new Uint8Array(4 + 4 * rec.count);
  if (codec === CODEC_STORED) head = stored.subarray(0, head.length);
  else if (codec !== CODEC_DEFLATE) throw new WasmvisorError(`${what} uses unknown codec ${codec}`);
  else {
    let n = -1;
    try { n = inflateHead(stored, head); } catch { /* reported below */ }
    if (n !== head.length) throw new WasmvisorError(`${what} does not decompress`);
  }
  if (!headListsPages(head, gpns, first, rec.count)) throw new WasmvisorError(`${what} disagrees with the page index`);
  return { rec: { parts: [b], sum: b.subarray(b.length - SUM) }, pages: rec.count, release: () => {} };
}

/** A packed memory chunk: its record, and a release of its buffers once the record is written. */
interface PackedChunk {
  rec: Packed;
  pages: number;
  release(): void;
}

/**
 * Memory chunks being packed: each chunk's pages are handed to a compression thread (compressor.ts) as places in
 * shared memory — read in place when the source is stable (guest memory of a held VM, a staged copy), gathered
 * into a shared buffer here otherwise — and the thread packs, compresses and checksums the chunk. Up to PARALLEL
 * chunks are in flight ahead of the writer, handed out in file order.
 */
class ChunkPacker {
  private next = 0;
  private readonly inflight: Promise<PackedChunk>[] = [];
  /** The chunks of `inflight` that have settled. */
  private readonly settled = new WeakSet<Promise<PackedChunk>>();
  constructor(private readonly pages: PageSource, private readonly chunkPages: number, private readonly level: number) {}

  /** Starts chunks until `max` (at most PARALLEL) are in flight or every page is taken (callers run one fill at a time). */
  async fill(max = PARALLEL): Promise<void> {
    const n = this.pages.gpns.length;
    while (this.inflight.length < max && this.next < n) {
      const first = this.next;
      const rec = this.pages.record?.(first);
      if (rec && first + rec.count <= n) {
        this.next += rec.count;
        const p = copyRecord(rec, this.pages.gpns, first);
        p.catch(() => {});
        this.track(p);
        continue;
      }
      // (A chunk stops where a record to copy begins.)
      let count = Math.min(this.chunkPages, n - first);
      for (let j = first + 1; j < first + count; j++) if (this.pages.record?.(j)) { count = j - first; break; }
      this.next += count;
      // A chunk laid out already starts at once (no await: a writer started while the VM is held posts its first
      // chunks before the hold ends); others are gathered one after the other.
      const p = this.startLaid(first, count) ?? (await this.start(first, count)).p;
      p.catch(() => {}); // handled when taken in order; this keeps an early failure from being "unhandled"
      this.track(p);
    }
  }

  private track(p: Promise<PackedChunk>): void {
    this.inflight.push(p);
    const done = () => { this.settled.add(p); };
    p.then(done, done);
  }

  /**
   * True when take() will not wait for a compression thread: the next chunk in file order is packed, or (after
   * fill()) none is left.
   */
  ready(): boolean {
    return this.inflight.length === 0 ? this.next >= this.pages.gpns.length : this.settled.has(this.inflight[0]);
  }

  /**
   * A chunk whose raw bytes are laid out already (a staged capture: PageSource.packed), handed to a compression
   * thread, or at level 0 checksummed here; undefined for any other chunk.
   */
  private startLaid(first: number, count: number): Promise<PackedChunk> | undefined {
    const src = this.pages;
    const laid = src.stable === true && src.packed?.chunkPages === this.chunkPages ? src.packed.chunk(first, count) : undefined;
    if (!laid) return undefined;
    if (this.level === 0) {
      // Stored: the record's data is the staged bytes themselves, and only its CRC-32 is computed, here (~0.2 ms
      // per MiB): a compression thread's copy and round trip cost more.
      const head = recordHead(KIND_CHUNK, CODEC_STORED, 0, laid.length, laid.length);
      const sum = recordSum(head, new Uint8Array(0), laid);
      return Promise.resolve({ rec: { parts: [head, laid, sum], sum }, pages: count, release: () => {} });
    }
    if (!(laid.buffer instanceof SharedArrayBuffer)) return undefined;
    const outBytes = 4 + this.chunkPages * (4 + PAGE_SIZE);
    const out = outputs.take(outBytes);
    return this.finish(count, out, undefined, { level: this.level, raw: { buffer: laid.buffer, offset: laid.byteOffset, length: laid.length },
      out: out.buffer as SharedArrayBuffer, outOffset: out.byteOffset, outBytes });
  }

  /** Locates (or gathers) a chunk's pages, in order, and hands the chunk to a compression thread. */
  private async start(first: number, count: number): Promise<{ p: Promise<PackedChunk> }> {
    const src = this.pages, stable = src.stable === true;
    const gpns = new Uint32Array(count), which = new Uint8Array(count), off = new Float64Array(count);
    const srcs: SharedArrayBuffer[] = [];
    let gather: Buffer | undefined;
    const place = (j: number, page: Uint8Array) => {
      if (page.length !== PAGE_SIZE) throw new WasmvisorError(`snapshot: page 0x${gpns[j].toString(16)} has ${page.length} bytes, not ${PAGE_SIZE}`);
      if (stable && page.buffer instanceof SharedArrayBuffer) {
        let k = srcs.indexOf(page.buffer);
        if (k < 0) k = srcs.push(page.buffer) - 1;
        which[j] = k;
        off[j] = page.byteOffset;
        return;
      }
      if (!gather) {
        // (Always a full chunk's buffer, so that the last, shorter chunk does not empty the pool.)
        gather = gathered.take(this.chunkPages * PAGE_SIZE);
        srcs.push(gather.buffer as SharedArrayBuffer);
      }
      gather.set(page, j * PAGE_SIZE);
      which[j] = srcs.indexOf(gather.buffer as SharedArrayBuffer);
      off[j] = gather.byteOffset + j * PAGE_SIZE;
    };
    for (let j = 0; j < count; j++) gpns[j] = src.gpns[first + j];
    const outBytes = 4 + this.chunkPages * (4 + PAGE_SIZE); // a record's data is never longer than its raw bytes
    try {
      for (let j = 0; j < count; j++) place(j, await src.get(first + j));
    } catch (e) {
      if (gather) gathered.give(gather);
      throw e;
    }
    const out = outputs.take(outBytes);
    return { p: this.finish(count, out, gather, { level: this.level, pages: { srcs, src: which, off, gpns },
      out: out.buffer as SharedArrayBuffer, outOffset: out.byteOffset, outBytes }) };
  }

  /** Runs a chunk's job; its buffers go back to the pools once its record is written (or the job failed). */
  private finish(count: number, out: Buffer, gather: Buffer | undefined, job: Omit<ChunkJob, "id">): Promise<PackedChunk> {
    const release = () => { outputs.give(out); if (gather) gathered.give(gather); };
    return compressChunk(job).then((d) => {
      const head = recordHead(KIND_CHUNK, d.codec, 0, d.len, d.rawLen);
      const sum = Buffer.from(d.sum);
      return { rec: { parts: [head, out.subarray(0, d.len), sum], sum }, pages: count, release };
    }, (e) => { release(); throw e; });
  }

  /** The next chunk in file order (null when all are taken); release() it once its record is written. */
  async take(): Promise<PackedChunk | null> {
    await this.fill();
    const c = this.inflight.shift();
    return c ? await c : null;
  }

  /** Waits for compressions still running (after an error: before the buffers they use are reused). */
  async settle(): Promise<void> {
    const rest = this.inflight.splice(0);
    await Promise.all(rest.map((p) => p.then((c) => c.release(), () => {})));
  }
}

/**
 * Writes `snap` to `path` atomically (the previous file stays intact until the new one is complete and synced).
 * Memory is streamed: pages are fetched in order, packed `chunkPages` at a time, and compressed a few chunks in
 * parallel, so memory use does not grow with the guest. Writes go out while the next chunks compress: what a
 * snapshot costs beyond compressing and writing its pages is the header, the checksums and the atomic rename.
 */
export async function writeSnapshot(path: string, snap: Snapshot, opts: WriteOptions = {}): Promise<WriteResult> {
  return startWrite(snap, opts).write(path);
}

/** A snapshot whose first memory chunks are being compressed (startWrite); write() puts it into a file. */
export interface StartedWrite {
  /**
   * Writes the snapshot to `path` atomically, as writeSnapshot; call it once. `parent`, if given, is the parent the
   * file names (in place of the snapshot's: a parent is named relative to the file, whose path is known only now).
   */
  write(path: string, parent?: ParentRef): Promise<WriteResult>;
  /** Instead of write(): resolves once the compressions started have finished with the pages' buffers. */
  abandon(): Promise<void>;
}

/**
 * Checks `snap` and starts compressing its first `ahead` memory chunks now, before the file is named and opened
 * (the others follow when write() is called): a caller that holds the VM while it copies the pages out
 * (snapshot/ops.ts captureSnapshot, with a staged source) has a compression thread begin on the first chunk while
 * it copies the next. Throws what writeSnapshot rejects with for a bad snapshot.
 */
export function startWrite(snap: Snapshot, opts: WriteOptions = {}, ahead = PARALLEL): StartedWrite {
  const level = opts.level ?? 1;
  const chunkPages = opts.chunkPages ?? DEFAULT_CHUNK_PAGES;
  checkSnapshot(snap, chunkPages, level);
  const packer = new ChunkPacker(snap.pages, chunkPages, level);
  // Not at level 0, where this thread checksums the chunks itself: a held VM would wait for that.
  const started = level > 0 && ahead > 0 ? packer.fill(Math.min(ahead, PARALLEL)) : Promise.resolve();
  started.catch(() => {}); // reported inside the write, which then removes the temp file
  return {
    write: (path, parent) => writeStarted(path, parent ? { ...snap, parent } : snap, packer, started, opts),
    abandon: () => packer.settle(),
  };
}

async function writeStarted(path: string, snap: Snapshot, packer: ChunkPacker, started: Promise<void>, opts: WriteOptions): Promise<WriteResult> {
  const level = opts.level ?? 1;
  const n = snap.pages.gpns.length;
  const total = n * PAGE_SIZE;
  const progress = opts.onProgress ?? (() => {});
  // The compression threads start on the first chunks (those not started yet) while the temp file opens.
  const filled = started.then(() => packer.fill());
  filled.catch(() => {}); // reported inside the write, which then removes the temp file
  try {
    checkParent(snap.parent);
    const meta = metaJson(snap);
    return await atomicWrite(path, async (fh) => {
      await filled;
      const out = new Output(fh, total <= SYNC_WRITES_MAX);
      const head = Buffer.alloc(20);
      MAGIC.copy(head, 0);
      head.writeUInt32LE(FORMAT_VERSION, 8);
      head.writeUInt32LE(snap.abi, 12);
      head.writeUInt32LE(meta.length, 16);
      // The header and the sections go out in one write.
      progress({ phase: "sections", done: 0, total });
      const headSum = createHash("sha256").update(head).update(meta).digest();
      out.digest.update(headSum);
      const first: Uint8Array[] = [head, meta, headSum];
      const index: Section = { name: PAGE_INDEX_SECTION, data: new Uint8Array(Uint32Array.from(snap.pages.gpns).buffer) };
      for (const s of [...snap.sections, index]) {
        const r = await packed(KIND_SECTION, s.name, s.data, level);
        out.digest.update(r.sum);
        first.push(...r.parts);
      }
      void out.write(first); // (flush() reports a failure)

      let chunks = 0, written = 0;
      const next = async () => {
        await packer.fill();
        if (packer.ready()) return packer.take();
        out.waiting(true);
        try { return await packer.take(); } finally { out.waiting(false); }
      };
      for (let c = await next(); c; c = await next()) {
        out.digest.update(c.rec.sum);
        // The record's bytes are in the chunk's shared buffers: they go back to the pools only once written.
        void out.write(c.rec.parts).then(c.release, () => {});
        await out.throttle(PARALLEL);
        chunks++;
        written += c.pages;
        progress({ phase: "memory", done: written * PAGE_SIZE, total });
      }

      const trailer = Buffer.alloc(TRAILER_BODY);
      trailer.writeUInt8(KIND_TRAILER, 0);
      trailer.writeUInt32LE(snap.sections.length + 1, 4);
      trailer.writeUInt32LE(chunks, 8);
      trailer.writeUInt32LE(n, 12);
      out.digest.update(trailer);
      const digest = out.digest.digest();
      void out.write([trailer, digest]);
      await out.flush();
      return { digest: digest.toString("hex"), bytes: out.pos, pages: n };
    });
  } catch (e) {
    throw writeFailure(opts.reportAs ?? path, e);
  } finally {
    // On an error, let the compressions still running finish before their buffers are dropped.
    await packer.settle();
  }
}

/** What the system said when a snapshot could not be written, as one line naming the file (and its errno name). */
const WRITE_ERRORS: Record<string, string> = {
  ENOSPC: "no space left on the device", EDQUOT: "disk quota exceeded", EFBIG: "the file is too large for this system or process",
  EACCES: "permission denied", EPERM: "operation not permitted", EROFS: "read-only file system", ENOENT: "a directory in its path does not exist",
  ENOTDIR: "a part of the path is not a directory", EISDIR: "it is a directory", EIO: "I/O error",
};

function writeFailure(path: string, e: unknown): Error {
  if (e instanceof WasmvisorError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (typeof code !== "string") return e as Error;
  const why = WRITE_ERRORS[code];
  return new WasmvisorError(`${path}: cannot write the snapshot: ${why ? `${why} (${code})` : (e as Error).message}`);
}
