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
//
// This file holds the layout's constants and types; writer.ts writes files, reader.ts validates and reads one,
// chain.ts follows and merges incremental chains.
import { WasmvisorError } from "../errors.js";
import { PAGE_SIZE, FORMAT_VERSION, deflateOptions } from "./record.js";
import type { Progress } from "../progress.js";

export { PAGE_SIZE, FORMAT_VERSION, deflateOptions };
/** Earlier versions, still read: 2 (records checked by SHA-256), 1 (also a digest of the bytes, not a hash list). */
export const FORMAT_VERSION_2 = 2, FORMAT_VERSION_1 = 1;
/**
 * Section the writer adds to every snapshot (callers cannot supply it): the page numbers of every memory chunk, in
 * file order (u32 little-endian each). It lets a reader validate chunks by their checksums without unpacking them.
 */
export const PAGE_INDEX_SECTION = "pages";
/** 256 pages = 1 MiB per chunk: large enough to compress well, small enough to keep memory use flat. */
export const DEFAULT_CHUNK_PAGES = 256;
export const MAX_CHUNK_PAGES = 4096;
export const MAX_META = 16 << 20;
export const MAX_SECTION = 256 << 20;
export const MAGIC = Buffer.from([0x89, 0x57, 0x56, 0x53, 0x4e, 0x41, 0x50, 0x0a]);
export const TRAILER_BODY = 16;


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
   * pages are all still current (chain.ts mergedView).
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


export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/**
 * True if a memory chunk's raw data, from its start (page count, page numbers; the head alone will do), lists
 * exactly pages[first, first + count) in order: what a page index promises for that chunk.
 */
export function headListsPages(head: Uint8Array, pages: ArrayLike<number>, first: number, count: number): boolean {
  if (head.length < 4 + 4 * count) return false;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (dv.getUint32(0, true) !== count) return false;
  for (let j = 0; j < count; j++) if (dv.getUint32(4 + 4 * j, true) !== pages[first + j]) return false;
  return true;
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
