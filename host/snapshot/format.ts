// The snapshot file format: a versioned container of named sections and sparse, compressed guest memory, written
// atomically and streamed (a 1 GiB guest never becomes one buffer), validated completely before anything is used.
//
// Byte layout (all integers little-endian; docs/snapshot-format.md says the same with rationale):
//
//   offset  size  field
//   0       8     magic 89 57 56 53 4E 41 50 0A ("\x89WVSNAP\n": the high byte and the newline catch 7-bit
//                 and text-mode transfers, as PNG's magic does)
//   8       4     u32 format version (FORMAT_VERSION; a reader refuses any other)
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
//           32    SHA-256 of the record's bytes above (kind .. data)
//   memory chunk raw data: u32 page count n (1 .. 4096), n × u32 guest-physical page numbers (gpa >> 12, each
//                 at most once in the whole file), n × 4096 bytes of page data in the same order
//   trailer:
//           1     u8 0xFF
//           3     zero
//           4     u32 number of sections
//           4     u32 number of memory chunks
//           4     u32 number of pages
//           32    SHA-256 of every byte of the file before these 32: the snapshot's digest, which names it (an
//                 incremental child stores it as parent.digest); the file ends here.
//
// A full snapshot holds every allocated page; an incremental one only the pages dirtied since its parent, and
// names the parent. The record checksums locate damage; the file digest also catches records that were dropped,
// duplicated or reordered as a whole.
import { open, type FileHandle } from "node:fs/promises";
import { createHash, type Hash } from "node:crypto";
import { realpathSync, readSync } from "node:fs";
import { deflateRaw, deflateRawSync, inflateRawSync, type InputType, type ZlibOptions } from "node:zlib";
import { promisify } from "node:util";
import { dirname, isAbsolute, resolve } from "node:path";
import { WasmvisorError } from "../errors.js";
import { atomicWrite } from "./atomic.js";
import type { Progress } from "../progress.js";

export const FORMAT_VERSION = 1;
export const PAGE_SIZE = 4096;
/** Optional section: the page numbers of every memory chunk, in file order (u32 little-endian each). */
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
/** Bytes read at a time while validating. */
const READ_AHEAD = 4 << 20;
const MAGIC = Buffer.from([0x89, 0x57, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x0a]);
const KIND_SECTION = 1, KIND_CHUNK = 2, KIND_TRAILER = 0xff;
const CODEC_STORED = 0, CODEC_DEFLATE = 1;
const HASH = 32;
const RECORD_HEAD = 12;
const TRAILER_BODY = 16;
/** Compressions in flight while writing: zlib runs them on the libuv thread pool (4 threads by default). */
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

/** What a restore needs: configuration, sections and pages. Close it when done (it holds the file open). */
export interface SnapshotView {
  readonly abi: number;
  readonly config: unknown;
  readonly sections: readonly Section[];
  section(name: string): Uint8Array | undefined;
  readonly pages: PageReader;
  close(): Promise<void>;
}

/** One validated snapshot file. */
export interface LoadedSnapshot extends SnapshotView {
  readonly path: string;
  readonly formatVersion: number;
  readonly parent?: ParentRef;
  readonly digest: string;
  readonly bytes: number;
}

/** A chain merged: the newest file's configuration and sections, and for each page its newest copy. */
export interface ChainView extends SnapshotView {
  /** The files, newest first. */
  readonly layers: readonly { path: string; digest: string }[];
}

// ---------------------------------------------------------------------------------------------- writing

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** Sequential writer through a file handle that hashes everything it writes. */
class Output {
  readonly hash: Hash = createHash("sha256");
  pos = 0;
  constructor(private readonly fh: FileHandle) {}
  async write(b: Uint8Array): Promise<void> {
    this.hash.update(b);
    for (let off = 0; off < b.length;) {
      const { bytesWritten } = await this.fh.write(b, off, b.length - off, this.pos);
      off += bytesWritten;
      this.pos += bytesWritten;
    }
  }
}

/** A record (see the layout above) as one buffer: compression is done by the caller. */
function record(kind: number, codec: number, name: string, stored: Uint8Array, rawLen: number): Buffer {
  const nameBytes = Buffer.from(name, "utf8");
  const head = Buffer.alloc(RECORD_HEAD);
  head.writeUInt8(kind, 0);
  head.writeUInt8(codec, 1);
  head.writeUInt16LE(nameBytes.length, 2);
  head.writeUInt32LE(stored.length, 4);
  head.writeUInt32LE(rawLen, 8);
  const sum = createHash("sha256").update(head).update(nameBytes).update(stored).digest();
  return Buffer.concat([head, nameBytes, stored, sum]);
}

async function packed(kind: number, name: string, raw: Uint8Array, level: number): Promise<Buffer> {
  if (level === 0) return record(kind, CODEC_STORED, name, raw, raw.length);
  // Small records are compressed right here: a thread-pool round trip costs more than the work.
  const z = raw.length <= SYNC_DEFLATE_MAX ? deflateRawSync(raw, { level }) : await deflateRawAsync(raw, { level });
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

function checkSnapshot(snap: Snapshot, chunkPages: number, level: number): void {
  const bad = (why: string) => { throw new WasmvisorError(`snapshot: ${why}`); };
  if (!Number.isInteger(snap.abi) || snap.abi < 0 || snap.abi > 0xffff_ffff) bad(`ABI version ${snap.abi} is not a u32`);
  if (!Number.isInteger(chunkPages) || chunkPages < 1 || chunkPages > MAX_CHUNK_PAGES) bad(`chunkPages ${chunkPages} is not in 1..${MAX_CHUNK_PAGES}`);
  if (!Number.isInteger(level) || level < 0 || level > 9) bad(`compression level ${level} is not in 0..9`);
  if (snap.parent && !/^[0-9a-f]{64}$/.test(snap.parent.digest)) bad(`parent digest "${snap.parent.digest}" is not a hex SHA-256`);
  const names = new Set<string>();
  for (const s of snap.sections) {
    if (names.has(s.name)) bad(`section ${JSON.stringify(s.name)} appears twice`);
    if (s.name.length === 0 || Buffer.byteLength(s.name) > 0xffff) bad(`section name ${JSON.stringify(s.name)} is empty or too long`);
    if (s.data.length > MAX_SECTION) bad(`section ${JSON.stringify(s.name)} is ${s.data.length} bytes (limit ${MAX_SECTION})`);
    names.add(s.name);
  }
  const seen = new Set<number>();
  for (let i = 0; i < snap.pages.gpns.length; i++) {
    const g = snap.pages.gpns[i];
    if (!Number.isInteger(g) || g < 0 || g > 0xffff_ffff) bad(`page number ${g} is not a u32`);
    if (seen.has(g)) bad(`page 0x${g.toString(16)} appears twice`);
    seen.add(g);
  }
  if (snap.pages.gpns.length > 0xffff_ffff) bad("too many pages");
}

/**
 * Writes `snap` to `path` atomically (the previous file stays intact until the new one is complete and synced).
 * Memory is streamed: pages are fetched in order, packed `chunkPages` at a time, and compressed a few chunks in
 * parallel, so memory use does not grow with the guest.
 */
export async function writeSnapshot(path: string, snap: Snapshot, opts: WriteOptions = {}): Promise<WriteResult> {
  const level = opts.level ?? 1;
  const chunkPages = opts.chunkPages ?? DEFAULT_CHUNK_PAGES;
  checkSnapshot(snap, chunkPages, level);
  const meta = metaJson(snap);
  const n = snap.pages.gpns.length;
  const total = n * PAGE_SIZE;
  const progress = opts.onProgress ?? (() => {});

  return atomicWrite(path, async (fh) => {
    const out = new Output(fh);
    const head = Buffer.alloc(20);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(FORMAT_VERSION, 8);
    head.writeUInt32LE(snap.abi, 12);
    head.writeUInt32LE(meta.length, 16);
    // The header and the sections go out in one write.
    progress({ phase: "sections", done: 0, total });
    const first = [head, meta, createHash("sha256").update(head).update(meta).digest()];
    for (const s of snap.sections) first.push(await packed(KIND_SECTION, s.name, s.data, level));
    await out.write(Buffer.concat(first));

    let chunks = 0, written = 0;
    const inflight: { p: Promise<Buffer>; pages: number }[] = [];
    const flushOne = async () => {
      const c = inflight.shift()!;
      await out.write(await c.p);
      chunks++;
      written += c.pages;
      progress({ phase: "memory", done: written * PAGE_SIZE, total });
    };
    try {
      for (let first = 0; first < n; first += chunkPages) {
        const count = Math.min(chunkPages, n - first);
        const raw = Buffer.alloc(4 + count * (4 + PAGE_SIZE));
        raw.writeUInt32LE(count, 0);
        const dataAt = 4 + count * 4;
        for (let j = 0; j < count; j++) {
          raw.writeUInt32LE(snap.pages.gpns[first + j], 4 + j * 4);
          const page = await snap.pages.get(first + j);
          if (page.length !== PAGE_SIZE) {
            throw new WasmvisorError(`snapshot: page 0x${snap.pages.gpns[first + j].toString(16)} has ${page.length} bytes, not ${PAGE_SIZE}`);
          }
          raw.set(page, dataAt + j * PAGE_SIZE);
        }
        const p = packed(KIND_CHUNK, "", raw, level);
        p.catch(() => {}); // handled when awaited in order; this keeps an early failure from being "unhandled"
        inflight.push({ p, pages: count });
        if (inflight.length >= PARALLEL) await flushOne();
      }
      while (inflight.length) await flushOne();
    } finally {
      // On an error, let the compressions still running finish before the temp file is closed and removed.
      await Promise.allSettled(inflight.map((c) => c.p));
    }

    const trailer = Buffer.alloc(TRAILER_BODY);
    trailer.writeUInt8(KIND_TRAILER, 0);
    trailer.writeUInt32LE(snap.sections.length, 4);
    trailer.writeUInt32LE(chunks, 8);
    trailer.writeUInt32LE(n, 12);
    await out.write(trailer);
    const digest = out.hash.digest();
    await fh.write(digest, 0, HASH, out.pos);
    return { digest: digest.toString("hex"), bytes: out.pos + HASH, pages: n };
  });
}

// ---------------------------------------------------------------------------------------------- reading

/** Sequential reader of an open file that hashes what it reads and reports truncation with the byte and the part. */
class Input {
  pos = 0;
  readonly hash: Hash = createHash("sha256");
  // Read-ahead: one large read serves many small takes (a record's head, name, data and checksum), instead of a
  // round trip to the thread pool for each.
  private buf = Buffer.alloc(0);
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
      // Refill: what is left of the buffer plus at least READ_AHEAD more (or all of n).
      const want = Math.min(Math.max(n, READ_AHEAD), this.size - this.pos);
      const nb = Buffer.allocUnsafe(want); // every byte is read into it below (or the file is refused as truncated)
      let off = 0;
      if (have > 0) { this.buf.copy(nb, 0, this.pos - this.bufAt); off = have; }
      while (off < want) {
        const { bytesRead } = await this.fh.read(nb, off, want - off, this.pos + off);
        if (bytesRead === 0) this.fail(`snapshot truncated at byte ${this.pos + off} (${part})`);
        off += bytesRead;
      }
      this.buf = nb;
      this.bufAt = this.pos;
      b = nb.subarray(0, n);
    }
    this.pos += n;
    if (hashed) this.hash.update(b);
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
}

/** Reads one record whose head has been read; verifies its checksum. */
async function readRecordBody(inp: Input, head: Buffer, offset: number, part: (name: string) => string, verify = true): Promise<RawRecord> {
  const kind = head.readUInt8(0), codec = head.readUInt8(1);
  const nameLen = head.readUInt16LE(2), storedLen = head.readUInt32LE(4), rawLen = head.readUInt32LE(8);
  const nameBytes = await inp.take(nameLen, part("?"));
  const name = nameBytes.toString("utf8");
  const what = part(name);
  const stored = await inp.take(storedLen, what);
  const sum = await inp.take(HASH, what);
  if (verify) {
    const want = createHash("sha256").update(head).update(nameBytes).update(stored).digest();
    if (!want.equals(sum)) inp.fail(`${what} failed its checksum (at byte ${offset})`);
  }
  return { kind, codec, name, stored, rawLen, offset };
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
  try { raw = inflateRawSync(r.stored, { maxOutputLength: Math.max(r.rawLen, 1) }); }
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
  if (version !== FORMAT_VERSION) inp.fail(`snapshot format version ${version}, this wasmvisor reads ${FORMAT_VERSION}`);
  const rest = await inp.take(8, "header");
  const abi = rest.readUInt32LE(0), metaLen = rest.readUInt32LE(4);
  if (metaLen > MAX_META) inp.fail(`snapshot header is malformed (meta length ${metaLen})`);
  const metaBytes = await inp.take(metaLen, "header");
  const headSum = await inp.take(HASH, "header");
  const want = createHash("sha256").update(magic).update(u32(version)).update(rest).update(metaBytes).digest();
  if (!want.equals(headSum)) inp.fail("snapshot header failed its checksum");
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
      const fileDigest = inp.hash.digest();
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
    // Deferred chunks are not hashed twice here: the file digest (checked at the trailer, before anything is
    // returned) covers them, and each is checked against its own checksum again when it is read.
    const deferred = kind === KIND_CHUNK && opts.deferPages === true && sections.some((x) => x.name === PAGE_INDEX_SECTION);
    const r = await readRecordBody(inp, head, offset, partOf(kind), !deferred);
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
      const keep = keptBytes + raw.length <= KEEP_RAW_BYTES ? raw : undefined;
      if (keep) keptBytes += raw.length;
      chunks.push({ offset, len: inp.pos - offset, codec: r.codec, rawLen: r.rawLen, firstPage: pages, count: g.length, raw: keep });
      gpnParts.push(g);
      pages += g.length;
    }
  }
}

/** Re-reads a validated chunk from the open file; the checksum is checked again in case the file was overwritten in place. */
async function loadChunk(path: string, fh: FileHandle, c: ChunkInfo, k: number): Promise<Buffer> {
  const b = Buffer.alloc(c.len);
  // Synchronous: a lazily restored guest waits for this page, and a thread-pool round trip only adds latency.
  const bytesRead = readSync(fh.fd, b, 0, c.len, c.offset);
  const body = b.subarray(0, c.len - HASH);
  if (bytesRead !== c.len || !createHash("sha256").update(body).digest().equals(b.subarray(c.len - HASH))) {
    throw new WasmvisorError(`${path}: ${chunkName(k)} changed on disk after the snapshot was validated`);
  }
  const stored = b.subarray(RECORD_HEAD, c.len - HASH); // chunks have no name
  const raw = await unpack(path, { kind: KIND_CHUNK, codec: c.codec, name: "", stored, rawLen: c.rawLen, offset: c.offset }, chunkName(k));
  if (c.expect) {
    const g = chunkPages(path, raw, chunkName(k));
    if (g.length !== c.expect.length || g.some((v, j) => v !== c.expect![j])) {
      throw new WasmvisorError(`${path}: ${chunkName(k)} disagrees with the page index`);
    }
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
  const pages: PageReader = {
    gpns,
    async get(i: number): Promise<Uint8Array> {
      if (closed) throw new WasmvisorError(`${path}: snapshot was closed`, 70);
      if (!(i >= 0 && i < gpns.length)) throw new RangeError(`page index ${i} out of range`);
      const k = chunkOf[i];
      if (k !== cached) { cache = chunks[k].raw ?? await loadChunk(path, fh, chunks[k], k); cached = k; }
      const c = chunks[k];
      const at = 4 + c.count * 4 + (i - c.firstPage) * PAGE_SIZE;
      return new Uint8Array(cache!.buffer, cache!.byteOffset + at, PAGE_SIZE);
    },
  };
  return {
    path, formatVersion, abi, config, parent, digest, bytes, sections, pages,
    section: sectionLookup(sections),
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
        snap = await readSnapshot(cur, { expectAbi: opts.expectAbi ?? child?.abi, expectConfig: opts.expectConfig });
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
  // Owner of each page: the newest layer that holds it. Pages are listed oldest layer first and in file order
  // within a layer, so reading them in order reads each file sequentially.
  const owner = new Map<number, number>();
  for (let l = 0; l < layers.length; l++) for (const g of layers[l].pages.gpns) if (!owner.has(g)) owner.set(g, l);
  const gpns = new Uint32Array(owner.size);
  const from = new Uint32Array(owner.size * 2); // (layer, index in that layer)
  let n = 0;
  for (let l = layers.length - 1; l >= 0; l--) {
    const lg = layers[l].pages.gpns;
    for (let i = 0; i < lg.length; i++) {
      if (owner.get(lg[i]) !== l) continue;
      gpns[n] = lg[i];
      from[2 * n] = l;
      from[2 * n + 1] = i;
      n++;
    }
  }
  return {
    abi: newest.abi,
    config: newest.config,
    sections: newest.sections,
    section: newest.section,
    layers: layers.map((l) => ({ path: l.path, digest: l.digest })),
    pages: { gpns, get: (i: number) => layers[from[2 * i]].pages.get(from[2 * i + 1]) },
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
