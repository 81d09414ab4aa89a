// Reading snapshot files (the layout is in format.ts): a file is validated completely — header, every record's
// checksum and structure, the trailer and the digest — before anything in it is used; its pages are then read on
// demand, a chunk at a time.
import { open, type FileHandle } from "node:fs/promises";
import { createHash, type Hash } from "node:crypto";
import { readSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { WasmvisorError } from "../errors.js";
import { PAGE_SIZE, KIND_SECTION, KIND_CHUNK, KIND_TRAILER, CODEC_STORED, CODEC_DEFLATE, HASH, RECORD_HEAD, FORMAT_VERSION, recordSumBytes, RecordCheck } from "./record.js";
import { FORMAT_VERSION_1, FORMAT_VERSION_2, PAGE_INDEX_SECTION, MAX_CHUNK_PAGES, MAX_META, MAX_SECTION, MAGIC, TRAILER_BODY, u32, headListsPages,
  type ParentRef, type Section, type ReadOptions, type LoadedSnapshot, type FilePages } from "./format.js";

/** Unpacked memory chunks kept from validation for the page reads that follow (see validate). */
const KEEP_RAW_BYTES = 256 << 20;
/** Bytes read at a time while validating: a full snapshot's records (64-page chunks, at most ~257 KiB) fit. */
const READ_AHEAD = 512 << 10;

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
