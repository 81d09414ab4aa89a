// The snapshot file format: a versioned container of named sections and sparse, compressed guest memory, written
// atomically and streamed (a 1 GiB guest never becomes one buffer), validated completely before anything is used.
//
// Byte layout (all integers little-endian; docs/snapshot-format.md says the same with rationale):
//
//   offset  size  field
//   0       8     magic 89 57 56 53 4E 41 50 0A ("\x89WVSNAP\n": the high byte and the newline catch 7-bit
//                 and text-mode transfers, as PNG's magic does)
//   8       4     u32 format version (FORMAT_VERSION = 3; a reader also reads version 2, whose record checksums
//                 are SHA-256, and version 1, which also differs in what the digest covers, see the trailer; it
//                 refuses any other)
//   12      4     u32 core ABI version (the core's ABI_VERSION export when the snapshot was taken)
//   16      4     u32 meta length M (at most 16 MiB)
//   20      M     meta, UTF-8 JSON: {"pageSize": 4096, "config": <VM configuration>,
//                                    "parent"?: {"path": <relative to this file's directory, or absolute>,
//                                                "digest": <hex SHA-256 digest of the parent file>}}
//   20+M    32    SHA-256 of bytes [0, 20+M)
//   then records, each:
//           1     u8 kind: 1 = section, 2 = memory chunk, 0xFF = trailer (below)
//           1     u8 codec: 0 = stored, 1 = raw DEFLATE (RFC 1951, node:zlib deflateRaw)
//           2     u16 name length N (0 for memory chunks)
//           4     u32 stored length S
//           4     u32 raw length R (after decompression; bounds what a reader allocates)
//           N     name, UTF-8 (unique among sections)
//           S     data
//           4     CRC-32 (ISO-HDLC, as gzip's; u32) of the record's bytes above (kind .. data); versions 1 and 2:
//                 32 bytes, their SHA-256 (record.ts says why the change)
//   memory chunk raw data: u32 page count n (1 .. 4096), n × u32 guest-physical page numbers (gpa >> 12, each
//                 at most once in the whole file), n × 4096 bytes of page data in the same order
//   trailer:
//           1     u8 0xFF
//           3     zero
//           4     u32 number of sections
//           4     u32 number of memory chunks
//           4     u32 number of pages
//           32    the snapshot's digest, which names it (an incremental child stores it as parent.digest): SHA-256
//                 of the header's checksum, every record's checksum in file order, and the trailer's 16 bytes
//                 above (a hash list). Version 1: SHA-256 of every byte of the file before these 32. The file ends.
//
// A full snapshot holds every allocated page; an incremental one only the pages dirtied since its parent, and
// names the parent. The record checksums locate damage; the file digest also catches records that were dropped,
// duplicated or reordered as a whole. Since each checksum covers its bytes, the hash list covers the whole file
// as a hash of it would, and writing or validating a file hashes its bytes once instead of twice.
import { open, type FileHandle } from "node:fs/promises";
import { createHash, type Hash } from "node:crypto";
import { realpathSync, readSync, writevSync } from "node:fs";
import { deflateRaw, inflateRawSync, type InputType, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { dirname, isAbsolute, resolve } from "node:path";
import { WasmvisorError } from "../errors.js";
import { atomicWrite } from "./atomic.js";
import { BufferPool } from "./pool.js";
import { compressChunk, type ChunkJob } from "./compressor.js";
import { inflateHead } from "./deflater.js";
import { PAGE_SIZE, KIND_SECTION, KIND_CHUNK, KIND_TRAILER, CODEC_STORED, CODEC_DEFLATE, HASH, RECORD_HEAD, FORMAT_VERSION, recordHead, recordSum, recordSumBytes,
  RecordCheck, deflateOptions, encodeSync } from "./record.js";
import type { Progress } from "../progress.js";

/** Earlier versions, still read: 2 (records checked by SHA-256), 1 (also a digest of the bytes, not a hash list). */
const FORMAT_VERSION_2 = 2, FORMAT_VERSION_1 = 1;
export { PAGE_SIZE, FORMAT_VERSION, deflateOptions };
/**
 * Section the writer adds to every snapshot (callers cannot supply it): the page numbers of every memory chunk, in
 * file order (u32 little-endian each). It lets a reader validate chunks by their checksums without unpacking them.
 */
export const PAGE_INDEX_SECTION = "pages";
/** 256 pages = 1 MiB per chunk: large enough to compress well, small enough to keep memory use flat. */
export const DEFAULT_CHUNK_PAGES = 256;
const MAX_CHUNK_PAGES = 4096;
const MAX_META = 16 << 20;
const MAX_SECTION = 256 << 20;
/** Unpacked memory chunks kept from validation for the page reads that follow (see validate). */
const KEEP_RAW_BYTES = 256 << 20;
/** Records up to this size are compressed synchronously (sections, small chunks). */
const SYNC_DEFLATE_MAX = 64 << 10;
/** Bytes read at a time while validating: a full snapshot's records (64-page chunks, at most ~257 KiB) fit. */
const READ_AHEAD = 512 << 10;
const MAGIC = Buffer.from([0x89, 0x57, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x0a]);
const TRAILER_BODY = 16;
/** Snapshots of at most this many bytes of pages write their records synchronously (see Output). */
const SYNC_WRITES_MAX = 16 << 20;
/** Written bytes after which the writer syncs them in the background (see Output). */
const SYNC_EVERY = 1 << 20;
/** Unsynced bytes after which it syncs even while records keep coming (see Output). */
const SYNC_BACKLOG = 64 << 20;
/** Memory chunks in flight while writing (compress-worker.ts threads pack and compress them; the writer writes). */
const PARALLEL = 4;

const deflateRawAsync = promisify(deflateRaw) as (b: InputType, o: ZlibOptions) => Promise<Buffer>;

// ---------------------------------------------------------------------------------------------- types

/** A snapshot's parent: where it is and the digest it must have. */
export interface ParentRef {
  path: string;
  digest: string;
}

/** A named blob of state (CPU, devices, …), small enough to hold in memory. */
export interface Section {
  name: string;
  data: Uint8Array;
}

/** Guest pages to save: page numbers (gpa >> 12, each once) and their contents, fetched in order. */
export interface PageSource {
  readonly gpns: ArrayLike<number>;
  /** The 4096 bytes of page gpns[i]; may be a view that is only valid until the next call. */
  get(i: number): Uint8Array | Promise<Uint8Array>;
  /**
   * True if every view this source returns stays valid until the write resolves, and unchanged (guest memory of a
   * held VM, a private copy) or changing only where the caller accounts for it (a pre-copy pass, whose changed
   * pages the dirty log brings back). Views into a SharedArrayBuffer are then read by the compression threads in
   * place (each page copied once, then packed from that copy); any other view is copied into a chunk buffer at once.
   */
  readonly stable?: boolean;
  /**
   * Optional, with `stable`: the memory chunks' raw bytes already laid out as the file stores them (see
   * stagePages), for a writer with the same chunkPages; views into a SharedArrayBuffer are compressed in place.
   */
  readonly packed?: { readonly chunkPages: number; chunk(first: number, count: number): Uint8Array };
  /**
   * Optional: an existing memory chunk record that holds exactly pages [first, first + count) of this source, in
   * this order, to be copied into the new file as it is (no unpacking, no compression); `read` returns the whole
   * record (head to checksum) after checking it against its checksum. Merging a chain copies the chunks whose
   * pages are all still current (snapshot/format.ts mergedView).
   */
  record?(first: number): StoredRecord | undefined;
}

/** A memory chunk record as stored in a file: see PageSource.record. */
export interface StoredRecord {
  readonly count: number;
  /** Where it is, for errors ("FILE: memory chunk K"). */
  readonly name?: string;
  read(): Buffer;
}

export interface Snapshot {
  /** The core's ABI_VERSION. */
  abi: number;
  /** The VM configuration (anything JSON can represent). */
  config: unknown;
  /** Set for an incremental snapshot: pages then holds only what changed since the parent. */
  parent?: ParentRef;
  sections: readonly Section[];
  pages: PageSource;
}

export interface WriteOptions {
  onProgress?: (p: Progress) => void;
  /** DEFLATE level 0..9; default 1 (the fastest: saving is on the critical path of a pause or a migration). */
  level?: number;
  /** Pages per memory chunk (1..4096, default 256). */
  chunkPages?: number;
  /**
   * The file a failure names (default: the path written): a file written on the way to another — a full snapshot's
   * pre-copy pass and its increment — is reported as the file the user asked for, not by its internal name.
   */
  reportAs?: string;
}

export interface WriteResult {
  /** Hex SHA-256 digest of the file: what an incremental child names as parent.digest. */
  digest: string;
  bytes: number;
  pages: number;
}

export interface ReadOptions {
  /**
   * With a section named PAGE_INDEX_SECTION (the page numbers of all chunks, in order, as u32), validate chunks by
   * their checksums only and unpack them when their pages are read (each chunk's own page list is then checked
   * against the index). For lazy restore: validation no longer costs a pass over all of memory.
   */
  deferPages?: boolean;
  /** The running core's ABI_VERSION; a snapshot of another ABI is refused. Omitted: any (tools such as merge). */
  expectAbi?: number;
  /** Checks the stored configuration; returns why it does not fit, or null. */
  expectConfig?: (config: unknown) => string | null;
}

/** Pages of a validated snapshot, read back from the file on demand (a chunk at a time, cached). */
export interface PageReader extends PageSource {
  readonly gpns: Uint32Array;
  get(i: number): Promise<Uint8Array>;
}

/** The pages of one file, with its memory chunks: the pages [firstPage, firstPage + count) each holds. */
export interface FilePages extends PageReader {
  /** codec: how the chunk's record stores its data (CODEC_STORED or CODEC_DEFLATE). */
  readonly chunks: readonly { readonly firstPage: number; readonly count: number; readonly codec: number }[];
}

/** What a restore needs: configuration, sections and pages. Close it when done (it holds the file open). */
export interface SnapshotView {
  /** Every file behind the view has a page index (PAGE_INDEX_SECTION): it can be restored lazily. */
  readonly indexed: boolean;
  readonly abi: number;
  readonly config: unknown;
  readonly sections: readonly Section[];
  section(name: string): Uint8Array | undefined;
  readonly pages: PageReader;
  close(): Promise<void>;
}

/** One validated snapshot file. */
export interface LoadedSnapshot extends SnapshotView {
  readonly pages: FilePages;
  readonly path: string;
  readonly formatVersion: number;
  readonly parent?: ParentRef;
  readonly digest: string;
  readonly bytes: number;
}

/** A chain merged: the newest file's configuration and sections, and for each page its newest copy. */
export interface ChainView extends SnapshotView {
  /** The files, newest first (each validated; the view closes them). */
  readonly layers: readonly LoadedSnapshot[];
}

// ---------------------------------------------------------------------------------------------- writing

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

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

/**
 * Refuses a compression level other than an integer 0..9 (undefined: the default). The writer checks it; callers
 * that pause a VM check it first, so that a bad level is refused before anything is paused or written.
 */
export function checkLevel(level: number | undefined): void {
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    throw new WasmvisorError(`compression level ${level} is not one of 0 (none) to 9 (smallest)`);
  }
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

// ---------------------------------------------------------------------------------------------- reading

/** Sequential reader of an open file that reports truncation with the byte and the part. */
class Input {
  pos = 0;
  /** Version 1's file digest: every byte read (null once the file is known to be of version 2). */
  bytes: Hash | null = createHash("sha256");
  // Read-ahead: one large read serves many small takes (a record's head, name, data and checksum). It goes through
  // two buffers allocated once and used in turn, not a new buffer per refill: fresh memory costs a page fault per
  // 4 KiB when first touched (~15 us each on our CI machines), which was most of a 16 MiB snapshot's validation
  // time and all of its variance (22–107 ms). A refill overwrites the buffer before last, so a view that take()
  // returns stays valid through the next take(), not beyond: callers that keep one longer copy it.
  private readonly ring: Buffer[] = [];
  private turn = 0;
  private buf: Buffer = Buffer.alloc(0);
  private bufAt = 0;
  constructor(readonly path: string, readonly fh: FileHandle, readonly size: number) {}

  fail(why: string): never {
    throw new WasmvisorError(`${this.path}: ${why}`);
  }

  /** The next n bytes; `hashed` false for the file digest itself, which is not part of what it covers. */
  async take(n: number, part: string, hashed = true): Promise<Buffer> {
    // Checked against the file size first, so a hostile length cannot make us allocate more than the file holds.
    if (n > this.size - this.pos) this.fail(`snapshot truncated at byte ${this.size} (${part})`);
    const have = this.bufAt + this.buf.length - this.pos;
    let b: Buffer;
    if (n <= have) {
      b = this.buf.subarray(this.pos - this.bufAt, this.pos - this.bufAt + n);
    } else {
      // Refill: what is left of the buffer plus at least READ_AHEAD more (or all of n: a take larger than the
      // ring's buffers gets a buffer of its own). Every byte up to want is read (or the file is refused as truncated).
      const want = Math.min(Math.max(n, READ_AHEAD), this.size - this.pos);
      let nb: Buffer;
      if (want <= READ_AHEAD) { nb = this.ring[this.turn] ??= Buffer.allocUnsafe(READ_AHEAD); this.turn ^= 1; }
      else nb = Buffer.allocUnsafe(want);
      let off = 0;
      if (have > 0) { this.buf.copy(nb, 0, this.pos - this.bufAt); off = have; }
      while (off < want) {
        // Synchronous, as in loadChunk: a thread-pool round trip per read only adds latency (and its variance).
        const bytesRead = readSync(this.fh.fd, nb, off, want - off, this.pos + off);
        if (bytesRead === 0) this.fail(`snapshot truncated at byte ${this.pos + off} (${part})`);
        off += bytesRead;
      }
      this.buf = nb.subarray(0, want);
      this.bufAt = this.pos;
      b = nb.subarray(0, n);
    }
    this.pos += n;
    if (hashed) this.bytes?.update(b);
    return b;
  }
}

interface RawRecord {
  kind: number;
  codec: number;
  name: string;
  stored: Buffer;
  rawLen: number;
  offset: number;
  /** The record's checksum as stored (verified unless the caller said not to). */
  sum: Buffer;
}

/** Reads one record whose head has been read; verifies its checksum. */
async function readRecordBody(inp: Input, version: number, head: Buffer, offset: number, part: (name: string) => string, verify = true): Promise<RawRecord> {
  const kind = head.readUInt8(0), codec = head.readUInt8(1);
  const nameLen = head.readUInt16LE(2), storedLen = head.readUInt32LE(4), rawLen = head.readUInt32LE(8);
  // Hashed as it comes (a view from inp.take lasts through one more take); the data and its checksum in one take.
  const check = verify ? new RecordCheck(version).update(head) : undefined;
  const nameBytes = await inp.take(nameLen, part("?"));
  check?.update(nameBytes);
  const name = nameBytes.toString("utf8");
  const what = part(name);
  const body = await inp.take(storedLen + recordSumBytes(version), what);
  const stored = body.subarray(0, storedLen), sum = body.subarray(storedLen);
  if (check && !check.update(stored).digest().equals(sum)) inp.fail(`${what} failed its checksum (at byte ${offset})`);
  return { kind, codec, name, stored, rawLen, offset, sum };
}

/** The record's raw data; errors name the part (a checksum-valid record may still be hostile). */
async function unpack(path: string, r: RawRecord, what: string): Promise<Buffer> {
  if (r.codec === CODEC_STORED) {
    if (r.stored.length !== r.rawLen) throw new WasmvisorError(`${path}: ${what} is malformed (length ${r.stored.length}, expected ${r.rawLen})`);
    return r.stored;
  }
  if (r.codec !== CODEC_DEFLATE) throw new WasmvisorError(`${path}: ${what} uses unknown codec ${r.codec}`);
  let raw: Buffer;
  // Synchronous: a reader (restore, merge) has nothing else to do meanwhile, and the thread pool's queue (shared
  // with file reads) only adds latency. A chunk is at most 16 MiB raw (MAX_CHUNK_PAGES).
  // The output buffer is exactly the announced size, so zlib runs once (not once per 16 KiB, then joins them).
  try { raw = inflateRawSync(r.stored, { maxOutputLength: Math.max(r.rawLen, 1), chunkSize: Math.max(r.rawLen, 64) }); }
  catch { throw new WasmvisorError(`${path}: ${what} does not decompress`); }
  if (raw.length !== r.rawLen) throw new WasmvisorError(`${path}: ${what} decompresses to ${raw.length} bytes, expected ${r.rawLen}`);
  return raw;
}

interface ChunkInfo {
  /** Where the chunk's record starts and how long it is (head to checksum). */
  offset: number;
  len: number;
  codec: number;
  rawLen: number;
  /** Index of the chunk's first page in the file's page list. */
  firstPage: number;
  count: number;
  /** The unpacked chunk, kept from validation while within KEEP_RAW_BYTES. */
  raw?: Buffer;
  /** Deferred validation: the page list the index promises for this chunk. */
  expect?: Uint32Array;
}

function chunkPages(path: string, raw: Buffer, what: string): Uint32Array {
  const count = raw.length >= 4 ? raw.readUInt32LE(0) : 0;
  if (count < 1 || count > MAX_CHUNK_PAGES || raw.length !== 4 + count * (4 + PAGE_SIZE)) {
    throw new WasmvisorError(`${path}: ${what} is malformed (${raw.length} bytes for ${count} pages)`);
  }
  const g = new Uint32Array(count);
  for (let j = 0; j < count; j++) g[j] = raw.readUInt32LE(4 + j * 4);
  return g;
}

/**
 * True if a memory chunk's raw data, from its start (page count, page numbers; the head alone will do), lists
 * exactly pages[first, first + count) in order: what a page index promises for that chunk.
 */
function headListsPages(head: Uint8Array, pages: ArrayLike<number>, first: number, count: number): boolean {
  if (head.length < 4 + 4 * count) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (dv.getUint32(0, true) !== count) return false;
  for (let j = 0; j < count; j++) if (dv.getUint32(4 + 4 * j, true) !== pages[first + j]) return false;
  return true;
}

function chunkName(k: number): string {
  return `memory chunk ${k}`;
}

/**
 * Opens and validates a snapshot file completely — magic, format version, header checksum, ABI, configuration,
 * every record's checksum and structure, every chunk's decompression, unique page numbers, the trailer's counts
 * and the file digest — before returning. Throws a one-line WasmvisorError naming the file and the part.
 * The result keeps the file open (pages are read on demand); close() it.
 */
export async function readSnapshot(path: string, opts: ReadOptions = {}): Promise<LoadedSnapshot> {
  let fh: FileHandle;
  try { fh = await open(path, "r"); } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new WasmvisorError(`${path}: ${why}`);
  }
  try {
    return await validate(path, fh, opts);
  } catch (e) {
    await fh.close().catch(() => {});
    throw e;
  }
}

async function validate(path: string, fh: FileHandle, opts: ReadOptions): Promise<LoadedSnapshot> {
  const size = (await fh.stat()).size;
  const inp: Input = new Input(path, fh, size); // annotated so that TS sees inp.fail() never returns
  if (size < MAGIC.length) inp.fail("not a wasmvisor snapshot");
  const magic = await inp.take(MAGIC.length, "header");
  if (!magic.equals(MAGIC)) inp.fail("not a wasmvisor snapshot");
  const version = (await inp.take(4, "header")).readUInt32LE(0);
  if (version !== FORMAT_VERSION && version !== FORMAT_VERSION_2 && version !== FORMAT_VERSION_1) {
    inp.fail(`snapshot format version ${version}, this wasmvisor reads ${FORMAT_VERSION_1} to ${FORMAT_VERSION}`);
  }
  if (version !== FORMAT_VERSION_1) inp.bytes = null;
  /** Version 2's file digest: the hash list of the header's and the records' checksums and the trailer's body. */
  const list = createHash("sha256");
  const rest = await inp.take(8, "header");
  const abi = rest.readUInt32LE(0), metaLen = rest.readUInt32LE(4);
  if (metaLen > MAX_META) inp.fail(`snapshot header is malformed (meta length ${metaLen})`);
  const metaAndSum = await inp.take(metaLen + HASH, "header"); // one take: `rest` must still be valid (see Input)
  const metaBytes = metaAndSum.subarray(0, metaLen), headSum = metaAndSum.subarray(metaLen);
  const want = createHash("sha256").update(MAGIC).update(u32(version)).update(rest).update(metaBytes).digest();
  if (!want.equals(headSum)) inp.fail("snapshot header failed its checksum");
  list.update(headSum);
  let meta: { pageSize?: unknown; config?: unknown; parent?: unknown };
  try { meta = JSON.parse(metaBytes.toString("utf8")); } catch { inp.fail("snapshot header is malformed (meta is not JSON)"); }
  if (typeof meta !== "object" || meta === null || meta.pageSize !== PAGE_SIZE) inp.fail(`snapshot header is malformed (page size ${String((meta as { pageSize?: unknown } | null)?.pageSize)})`);
  let parent: ParentRef | undefined;
  if (meta.parent !== undefined) {
    const p = meta.parent as Partial<ParentRef> | null;
    if (typeof p?.path !== "string" || typeof p.digest !== "string" || !/^[0-9a-f]{64}$/.test(p.digest)) {
      inp.fail("snapshot header is malformed (parent)");
    }
    parent = { path: p.path, digest: p.digest };
  }
  if (opts.expectAbi !== undefined && abi !== opts.expectAbi) {
    inp.fail(`snapshot is for core ABI version ${abi}, this wasmvisor's core has ABI version ${opts.expectAbi}`);
  }
  if (opts.expectConfig) {
    const why = opts.expectConfig(meta.config);
    if (why !== null) inp.fail(why);
  }

  const sections: Section[] = [];
  const names = new Set<string>();
  const chunks: ChunkInfo[] = [];
  const gpnParts: Uint32Array[] = [];
  const seen = new Set<number>();
  let pages = 0, keptBytes = 0;
  for (;;) {
    const offset = inp.pos;
    const partOf = (k: number) => k === KIND_SECTION ? (name: string) => `section ${JSON.stringify(name)}`
      : k === KIND_CHUNK ? () => chunkName(chunks.length) : () => "trailer";
    // A file that ends exactly between records was cut there: say so rather than "record 0 bytes".
    const head = await inp.take(RECORD_HEAD, inp.pos === size ? "trailer" : "record header");
    const kind = head.readUInt8(0);
    if (kind === KIND_TRAILER) {
      const counts = Buffer.concat([head, await inp.take(TRAILER_BODY - RECORD_HEAD, "trailer")]);
      const fileDigest = inp.bytes ? inp.bytes.digest() : list.update(counts).digest();
      const stored = await inp.take(HASH, "trailer", false);
      if (!fileDigest.equals(stored)) inp.fail("snapshot failed its file checksum (trailer)");
      if (inp.pos !== size) inp.fail(`snapshot has ${size - inp.pos} bytes of garbage after its trailer (at byte ${inp.pos})`);
      const nSec = counts.readUInt32LE(4), nChunks = counts.readUInt32LE(8), nPages = counts.readUInt32LE(12);
      if (counts.readUIntLE(1, 3) !== 0 || nSec !== sections.length || nChunks !== chunks.length || nPages !== pages) {
        inp.fail(`snapshot trailer does not match its contents (${nSec}/${nChunks}/${nPages} sections/chunks/pages listed, ` +
          `${sections.length}/${chunks.length}/${pages} found)`);
      }
      const idx = opts.deferPages ? sections.find((x) => x.name === PAGE_INDEX_SECTION)?.data : undefined;
      if (idx && idx.length !== pages * 4) inp.fail(`snapshot's page index lists ${idx.length / 4} pages, its chunks hold ${pages}`);
      const gpns = new Uint32Array(pages);
      let at = 0;
      for (const g of gpnParts) { gpns.set(g, at); at += g.length; }
      return makeLoaded(path, fh, version, abi, meta.config, parent, fileDigest.toString("hex"), size, sections, chunks, gpns);
    }
    if (kind !== KIND_SECTION && kind !== KIND_CHUNK) inp.fail(`snapshot has an unknown record kind ${kind} at byte ${offset}`);
    // Version 1: deferred chunks are not hashed twice here: the file digest (checked at the trailer, before
    // anything is returned) covers them, and each is checked against its own checksum again when it is read.
    const deferred = kind === KIND_CHUNK && opts.deferPages === true && sections.some((x) => x.name === PAGE_INDEX_SECTION);
    const r = await readRecordBody(inp, version, head, offset, partOf(kind), !(deferred && inp.bytes));
    list.update(r.sum);
    if (kind === KIND_SECTION) {
      const what = `section ${JSON.stringify(r.name)}`; // JSON: a damaged name cannot break the one-line message
      if (names.has(r.name)) inp.fail(`${what} appears twice`);
      if (r.rawLen > MAX_SECTION) inp.fail(`${what} is ${r.rawLen} bytes (limit ${MAX_SECTION})`);
      names.add(r.name);
      sections.push({ name: r.name, data: new Uint8Array(await unpack(path, r, what)) });
    } else {
      const what = chunkName(chunks.length);
      if (r.name !== "" || r.rawLen > 4 + MAX_CHUNK_PAGES * (4 + PAGE_SIZE)) inp.fail(`${what} is malformed`);
      const index = opts.deferPages ? sections.find((x) => x.name === PAGE_INDEX_SECTION)?.data : undefined;
      if (index) {
        // Deferred: the page list comes from the index; the chunk is unpacked (and its list compared) when read.
        const count = (r.rawLen - 4) / (4 + PAGE_SIZE);
        if (!Number.isInteger(count) || count < 1 || pages + count > index.length / 4) inp.fail(`${what} does not fit the page index`);
        const g = new Uint32Array(count);
        const dv = new DataView(index.buffer, index.byteOffset, index.byteLength);
        for (let j = 0; j < count; j++) {
          g[j] = dv.getUint32((pages + j) * 4, true);
          if (seen.has(g[j])) inp.fail(`${what} holds page 0x${g[j].toString(16)} a second time`);
          seen.add(g[j]);
        }
        chunks.push({ offset, len: inp.pos - offset, codec: r.codec, rawLen: r.rawLen, firstPage: pages, count, expect: g });
        gpnParts.push(g);
        pages += count;
        continue;
      }
      const raw = await unpack(path, r, what);
      const g = chunkPages(path, raw, what);
      for (const p of g) {
        if (seen.has(p)) inp.fail(`${what} holds page 0x${p.toString(16)} a second time`);
        seen.add(p);
      }
      // Up to KEEP_RAW_BYTES of unpacked chunks are kept for the reads that follow (a restore reads every page
      // right away: unpacking twice was half its time); beyond that, pages are read again on demand, so memory
      // does not grow with the guest.
      // (A stored chunk's raw data is a view into the read-ahead buffers: kept, it is copied.)
      const keep = keptBytes + raw.length <= KEEP_RAW_BYTES ? (r.codec === CODEC_STORED ? Buffer.from(raw) : raw) : undefined;
      if (keep) keptBytes += raw.length;
      chunks.push({ offset, len: inp.pos - offset, codec: r.codec, rawLen: r.rawLen, firstPage: pages, count: g.length, raw: keep });
      gpnParts.push(g);
      pages += g.length;
    }
  }
}

/** Re-reads a validated chunk from the open file; the checksum is checked again in case the file was overwritten in place. */
/** A chunk's whole record, read again and checked against its checksum. */
function readChunkRecord(path: string, fh: FileHandle, version: number, c: ChunkInfo, k: number): Buffer {
  const b = Buffer.alloc(c.len), SUM = recordSumBytes(version);
  // Synchronous: a lazily restored guest waits for this page, and a thread-pool round trip only adds latency.
  const bytesRead = readSync(fh.fd, b, 0, c.len, c.offset);
  const body = b.subarray(0, c.len - SUM);
  if (bytesRead !== c.len || !new RecordCheck(version).update(body).digest().equals(b.subarray(c.len - SUM))) {
    throw new WasmvisorError(`${path}: ${chunkName(k)} changed on disk after the snapshot was validated`);
  }
  return b;
}

async function loadChunk(path: string, fh: FileHandle, version: number, c: ChunkInfo, k: number): Promise<Buffer> {
  const b = readChunkRecord(path, fh, version, c, k), SUM = recordSumBytes(version);
  const stored = b.subarray(RECORD_HEAD, c.len - SUM); // chunks have no name
  const raw = await unpack(path, { kind: KIND_CHUNK, codec: c.codec, name: "", stored, rawLen: c.rawLen, offset: c.offset, sum: b.subarray(c.len - SUM) }, chunkName(k));
  if (c.expect) {
    chunkPages(path, raw, chunkName(k)); // (well formed)
    if (!headListsPages(raw, c.expect, 0, c.expect.length)) throw new WasmvisorError(`${path}: ${chunkName(k)} disagrees with the page index`);
  }
  return raw;
}

function sectionLookup(sections: readonly Section[]): (name: string) => Uint8Array | undefined {
  return (name) => sections.find((s) => s.name === name)?.data;
}

function makeLoaded(path: string, fh: FileHandle, formatVersion: number, abi: number, config: unknown,
  parent: ParentRef | undefined, digest: string, bytes: number, sections: Section[], chunks: ChunkInfo[],
  gpns: Uint32Array): LoadedSnapshot {
  // Page index → chunk, for random access; sequential access hits the one-chunk cache.
  const chunkOf = new Uint32Array(gpns.length);
  chunks.forEach((c, k) => chunkOf.fill(k, c.firstPage, c.firstPage + c.count));
  let cached = -1;
  let cache: Buffer | null = null;
  let closed = false;
  const stored = chunks.map((c, k) => ({
    firstPage: c.firstPage, count: c.count, codec: c.codec,
    record: {
      count: c.count,
      name: `${path}: ${chunkName(k)}`,
      read: () => {
        if (closed) throw new WasmvisorError(`${path}: snapshot was closed`, 70);
        return readChunkRecord(path, fh, formatVersion, c, k);
      },
    },
  }));
  const byFirst = new Map(stored.map((c) => [c.firstPage, c.record]));
  const pages: FilePages = {
    gpns,
    chunks: stored,
    // (Records are copied into files of this wasmvisor's format only: an older file's checksums are another kind.)
    record: formatVersion === FORMAT_VERSION ? (first) => byFirst.get(first) : undefined,
    async get(i: number): Promise<Uint8Array> {
      if (closed) throw new WasmvisorError(`${path}: snapshot was closed`, 70);
      if (!(i >= 0 && i < gpns.length)) throw new RangeError(`page index ${i} out of range`);
      const k = chunkOf[i];
      if (k !== cached) { cache = chunks[k].raw ?? await loadChunk(path, fh, formatVersion, chunks[k], k); cached = k; }
      const c = chunks[k];
      const at = 4 + c.count * 4 + (i - c.firstPage) * PAGE_SIZE;
      return new Uint8Array(cache!.buffer, cache!.byteOffset + at, PAGE_SIZE);
    },
  };
  // The page index is the format's own: callers see the sections they wrote.
  const own = sections.filter((s) => s.name !== PAGE_INDEX_SECTION);
  return {
    path, formatVersion, abi, config, parent, digest, bytes, sections: own, pages,
    indexed: own.length !== sections.length,
    section: sectionLookup(own),
    async close() { if (!closed) { closed = true; cache = null; for (const c of chunks) c.raw = undefined; await fh.close(); } },
  };
}

// ---------------------------------------------------------------------------------------------- chains

/** Where a parent reference points, seen from the file that holds it. */
export function parentPath(childPath: string, parent: ParentRef): string {
  return isAbsolute(parent.path) ? parent.path : resolve(dirname(childPath), parent.path);
}

function canonical(p: string): string {
  try { return realpathSync(p); } catch { return resolve(p); }
}

/** Longest chain followed: a guard against a pathological (or hostile) chain, far beyond any sensible use. */
const MAX_CHAIN = 1000;

/**
 * Opens `path` and its ancestors, validating each (and that each parent has the digest its child recorded, the same
 * ABI, and no file appears twice), and returns the merged view: the newest file's configuration and sections, and
 * every page from the newest file that holds it. Nothing is returned unless the whole chain is valid.
 */
export async function readChain(path: string, opts: ReadOptions = {}): Promise<ChainView> {
  const layers: LoadedSnapshot[] = [];
  const visited = new Set<string>();
  try {
    let cur = path;
    let expectDigest: string | null = null;
    let child: LoadedSnapshot | null = null;
    for (;;) {
      const key = canonical(cur);
      if (visited.has(key)) throw new WasmvisorError(`${child!.path}: snapshot chain has a cycle (parent ${cur} appears twice)`);
      if (layers.length >= MAX_CHAIN) throw new WasmvisorError(`${path}: snapshot chain is longer than ${MAX_CHAIN}`);
      visited.add(key);
      let snap: LoadedSnapshot;
      try {
        snap = await readSnapshot(cur, { expectAbi: opts.expectAbi ?? child?.abi, expectConfig: opts.expectConfig, deferPages: opts.deferPages });
      } catch (e) {
        if (child && e instanceof WasmvisorError && /: no such file$/.test(e.message)) {
          throw new WasmvisorError(`${child.path}: parent snapshot ${cur} is missing`);
        }
        throw e;
      }
      layers.push(snap);
      if (expectDigest !== null && snap.digest !== expectDigest) {
        throw new WasmvisorError(`${child!.path}: parent snapshot ${cur} is not the one it was taken from ` +
          `(digest ${snap.digest.slice(0, 16)}…, expected ${expectDigest.slice(0, 16)}…)`);
      }
      if (!snap.parent) break;
      child = snap;
      expectDigest = snap.parent.digest;
      cur = parentPath(cur, snap.parent);
    }
  } catch (e) {
    await Promise.all(layers.map((l) => l.close().catch(() => {})));
    throw e;
  }
  return mergedView(layers);
}

function mergedView(layers: LoadedSnapshot[]): ChainView {
  const newest = layers[0];
  const indexed = layers.every((l) => l.indexed);
  if (layers.length === 1) {
    // One file: its own pages (a restore's latency counts; the merge below costs milliseconds).
    return { abi: newest.abi, config: newest.config, sections: newest.sections, section: newest.section, indexed, layers,
      pages: newest.pages, close: () => newest.close() };
  }
  // Owner of each page: the newest layer that holds it. Pages are listed oldest layer first and in file order
  // within a layer, so reading them in order reads each file sequentially.
  const owner = new Map<number, number>();
  for (let l = 0; l < layers.length; l++) for (const g of layers[l].pages.gpns) if (!owner.has(g)) owner.set(g, l);
  const gpns = new Uint32Array(owner.size);
  const from = new Uint32Array(owner.size * 2); // (layer, index in that layer)
  // A chunk whose pages are all still current lies whole, in its order, at one place of the merged list: a merge
  // copies its record as it is (PageSource.record).
  const records = new Map<number, StoredRecord>();
  let n = 0;
  for (let l = layers.length - 1; l >= 0; l--) {
    const lp = layers[l].pages, lg = lp.gpns;
    for (const c of lp.chunks) {
      let current = true;
      for (let i = c.firstPage; i < c.firstPage + c.count && current; i++) current = owner.get(lg[i]) === l;
      if (current && lp.record) records.set(n, lp.record(c.firstPage)!);
      for (let i = c.firstPage; i < c.firstPage + c.count; i++) {
        if (owner.get(lg[i]) !== l) continue;
        gpns[n] = lg[i];
        from[2 * n] = l;
        from[2 * n + 1] = i;
        n++;
      }
    }
  }
  return {
    abi: newest.abi,
    config: newest.config,
    sections: newest.sections,
    section: newest.section,
    indexed,
    layers,
    pages: { gpns, get: (i: number) => layers[from[2 * i]].pages.get(from[2 * i + 1]), record: (first) => records.get(first) },
    async close() { await Promise.all(layers.map((l) => l.close())); },
  };
}

/**
 * Merges the chain ending at `path` into one full snapshot at `outPath` (atomically; outPath may be `path`
 * itself or any file of the chain: the chain is read through open handles, which a rename does not disturb).
 */
export async function mergeChain(path: string, outPath: string,
  opts: ReadOptions & WriteOptions = {}): Promise<WriteResult> {
  const view = await readChain(path, opts);
  try {
    return await writeSnapshot(outPath, { abi: view.abi, config: view.config, sections: view.sections, pages: view.pages }, opts);
  } finally {
    await view.close();
  }
}
