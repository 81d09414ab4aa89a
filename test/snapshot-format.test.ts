// The snapshot container (host/snapshot/format.ts, writer.ts, reader.ts, chain.ts), atomic replacement (host/snapshot/atomic.ts) and the progress
// reporter (host/progress.ts): round trips, every kind of damage refused with its message, chains, kills mid-write.
import { describe, it, expect, beforeAll, afterAll, vi } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import ts from "typescript";
import { ROOT } from "./helpers";
import { FORMAT_VERSION, type PageSource, type Section, type Snapshot } from "../host/snapshot/format.js";
import { writeSnapshot, startWrite, stagePages, stagedBytes } from "../host/snapshot/writer.js";
import { readSnapshot } from "../host/snapshot/reader.js";
import { mergeChain, readChain } from "../host/snapshot/chain.js";
import { atomicWrite, cleanStaleTemps } from "../host/snapshot/atomic.js";
import { inspectSnapshot } from "../host/snapshot/inspect.js";
import { compressChunk, stopCompressors } from "../host/snapshot/compressor.js";
import { BufferPool } from "../host/snapshot/pool.js";
import { progressReporter, TypedEmitter, type Progress } from "../host/progress.js";
import { WasmvisorError } from "../host/errors.js";

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "wv-snap-")); });

/** The snapshot module compiled to plain JavaScript in `dir`, once, for child processes (vitest compiles in-process only). */
let compiled: string | undefined;
function compiledSnapshotModule(): string {
  if (compiled) return compiled;
  const mod = join(dir, "compiled");
  for (const f of ["host/errors.ts", "host/progress.ts", "host/snapshot/atomic.ts", "host/snapshot/pool.ts", "host/snapshot/format.ts", "host/snapshot/writer.ts",
    "host/snapshot/record.ts", "host/snapshot/deflater.ts", "host/snapshot/compressor.ts", "host/snapshot/compress-worker.ts"]) {
    const out = ts.transpileModule(readFileSync(join(ROOT, f), "utf8"),
      { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    mkdirSync(dirname(join(mod, f)), { recursive: true });
    writeFileSync(join(mod, f.replace(/\.ts$/, ".js")), out);
  }
  writeFileSync(join(mod, "package.json"), '{"type":"module"}');
  return (compiled = mod);
}
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** Deterministic page contents: a mix of random, repeated and zero bytes, different for each (gpn, version). */
function pageData(gpn: number, version = 0): Uint8Array {
  const p = new Uint8Array(4096);
  let s = (gpn * 2654435761 + version * 40503 + 1) >>> 0 || 1;
  const kind = (gpn + version) % 3;
  for (let i = 0; i < 4096; i += 4) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    if (kind === 0) { p[i] = s; p[i + 1] = s >>> 8; p[i + 2] = s >>> 16; p[i + 3] = s >>> 24; }
    else if (kind === 1 && i < 512) p.fill(s & 0xff, i, i + 4);
  }
  p[0] = gpn & 0xff; p[1] = version; // never all zero: a lost page is always visible
  return p;
}

function pagesOf(m: Map<number, Uint8Array>): PageSource {
  const gpns = [...m.keys()];
  return { gpns, get: (i) => m.get(gpns[i])! };
}

function memory(gpns: number[], version = 0): Map<number, Uint8Array> {
  return new Map(gpns.map((g) => [g, pageData(g, version)]));
}

const sections: Section[] = [
  { name: "cpu", data: new Uint8Array(Array.from({ length: 600 }, (_, i) => i & 0xff)) },
  { name: "devices", data: new TextEncoder().encode(JSON.stringify({ uart: { lsr: 0x60 }, plic: [1, 2, 3] })) },
  { name: "empty", data: new Uint8Array(0) },
];
const config = { memory: 64 << 20, kernel: "vmlinuz", append: "console=ttyS0" };
const base = (pages: Map<number, Uint8Array>, extra: Partial<Snapshot> = {}): Snapshot =>
  ({ abi: 1, config, sections, pages: pagesOf(pages), ...extra });

async function allPages(s: { pages: { gpns: ArrayLike<number>; get(i: number): Promise<Uint8Array> } }): Promise<Map<number, Uint8Array>> {
  const m = new Map<number, Uint8Array>();
  for (let i = 0; i < s.pages.gpns.length; i++) m.set(s.pages.gpns[i], new Uint8Array(await s.pages.get(i)));
  return m;
}

/** Differences between two page maps (deep toEqual on megabytes of pages is slow). */
function diffMemory(got: Map<number, Uint8Array>, want: Map<number, Uint8Array>): string[] {
  const out: string[] = [];
  for (const [g, d] of want) {
    const x = got.get(g);
    if (x === undefined) out.push(`0x${g.toString(16)} missing`);
    else if (Buffer.compare(Buffer.from(x), Buffer.from(d)) !== 0) out.push(`0x${g.toString(16)} differs`);
  }
  for (const g of got.keys()) if (!want.has(g)) out.push(`0x${g.toString(16)} extra`);
  return out;
}

async function rejects(p: Promise<unknown>): Promise<string> {
  try { await p; } catch (e) {
    expect(e).toBeInstanceOf(WasmvisorError);
    const m = (e as Error).message;
    expect(m).not.toContain("\n");
    return m;
  }
  throw new Error("expected a rejection");
}

/** Reads (and closes) expecting failure; returns the message. */
const readFails = (path: string, opts = {}) => rejects(readSnapshot(path, opts).then((s) => s.close()));

describe("snapshot format", () => {
  const gpns = [...Array.from({ length: 700 }, (_, i) => 0x80000 + i), 0x80000 + 5000, 0x90000, 0x100];
  let full: string;
  let fullDigest: string;

  it("round trip: header, sections, sparse pages across several chunks, digest, progress", async () => {
    full = join(dir, "full.wvsnap");
    const events: Progress[] = [];
    const r = await writeSnapshot(full, base(memory(gpns)), { onProgress: (p) => events.push(p) });
    fullDigest = r.digest;
    expect(r.pages).toBe(gpns.length);
    expect(r.bytes).toBe(readFileSync(full).length);
    expect(readFileSync(full).subarray(r.bytes - 32).toString("hex")).toBe(r.digest);
    // Compressed: a third of the pages are random, the rest compress well.
    expect(r.bytes).toBeLessThan(gpns.length * 4096 * 0.6);
    const mem = events.filter((e) => e.phase === "memory");
    expect(mem.length).toBe(3); // 703 pages = 3 chunks of up to 256
    expect(mem.map((e) => e.done)).toEqual([256 * 4096, 512 * 4096, 703 * 4096]);
    expect(mem.every((e) => e.total === 703 * 4096)).toBe(true);

    const s = await readSnapshot(full, { expectAbi: 1, expectConfig: () => null });
    expect(s.formatVersion).toBe(FORMAT_VERSION);
    expect(s.abi).toBe(1);
    expect(s.config).toEqual(config);
    expect(s.parent).toBeUndefined();
    expect(s.digest).toBe(r.digest);
    expect(s.sections.map((x) => x.name)).toEqual(["cpu", "devices", "empty"]);
    expect(s.section("cpu")).toEqual(sections[0].data);
    expect(s.section("empty")).toEqual(new Uint8Array(0));
    expect(s.section("nope")).toBeUndefined();
    expect([...s.pages.gpns]).toEqual(gpns);
    expect(diffMemory(await allPages(s), memory(gpns))).toEqual([]);
    // Random access across chunks, backwards.
    for (const i of [702, 3, 300, 0, 511, 512]) expect(await s.pages.get(i)).toEqual(pageData(gpns[i]));
    await s.close();
  });

  it("stores incompressible pages and level 0 without growing them; chunk size is an option", async () => {
    const p = join(dir, "stored.wvsnap");
    const r = await writeSnapshot(p, base(memory(gpns.slice(0, 40))), { level: 0, chunkPages: 7 });
    expect(r.bytes).toBeGreaterThan(40 * 4096);
    const s = await readSnapshot(p);
    expect(diffMemory(await allPages(s), memory(gpns.slice(0, 40)))).toEqual([]);
    await s.close();
  });

  it("pages are read in place only from stable shared memory; a staged copy writes the same file", async () => {
    const m = memory(gpns), want = await writeSnapshot(join(dir, "plain.wvsnap"), base(m));
    const digestOf = async (pages: PageSource, chunkPages?: number) =>
      (await writeSnapshot(join(dir, "variant.wvsnap"), base(m, { pages }), { chunkPages })).digest;
    // Staged in the file's chunk layout (compressed where it lies): the same bytes as gathered pages.
    const staged = Buffer.from(new SharedArrayBuffer(stagedBytes(gpns.length, 256)));
    const st = stagePages(staged, gpns, 256, (i, dst, at) => dst.set(m.get(gpns[i])!, at));
    expect(await digestOf(st)).toBe(want.digest);
    // At level 0 the staged chunks are written where they lie (checksummed on this thread): the same file again.
    const stored = await writeSnapshot(join(dir, "plain0.wvsnap"), base(m), { level: 0 });
    expect((await writeSnapshot(join(dir, "variant.wvsnap"), base(m, { pages: st }), { level: 0 })).digest).toBe(stored.digest);
    const back0 = await readSnapshot(join(dir, "variant.wvsnap"));
    expect(diffMemory(await allPages(back0), m)).toEqual([]);
    await back0.close();
    // A writer with other chunks reads the staged pages one by one.
    const other = await writeSnapshot(join(dir, "variant.wvsnap"), base(m, { pages: st }), { chunkPages: 100 });
    const back = await readSnapshot(join(dir, "variant.wvsnap"));
    expect(diffMemory(await allPages(back), m)).toEqual([]);
    await back.close();
    expect(other.digest).not.toBe(want.digest);
    // Guest-memory-like shared memory, stable: read in place by the compression threads.
    const shared = new Uint8Array(new SharedArrayBuffer(gpns.length * 4096 * 2));
    gpns.forEach((g, i) => shared.set(m.get(g)!, (gpns.length - 1 - i) * 8192));
    const at = (i: number) => (gpns.length - 1 - i) * 8192;
    expect(await digestOf({ gpns, get: (i) => shared.subarray(at(i), at(i) + 4096), stable: true })).toBe(want.digest);
    // A source that reuses one shared page for every call is not stable: each page must be copied when given.
    const scratch = new Uint8Array(new SharedArrayBuffer(4096));
    expect(await digestOf({ gpns, get: (i) => { scratch.set(m.get(gpns[i])!); return scratch; } })).toBe(want.digest);
  });

  it("a staged copy is made chunk by chunk as the writer asks, and a write started ahead gives the same file", async () => {
    const m = memory(gpns), want = await writeSnapshot(join(dir, "plain.wvsnap"), base(m));
    const copied: number[] = [];
    const stage = () => stagePages(Buffer.from(new SharedArrayBuffer(stagedBytes(gpns.length, 256))), gpns, 256,
      (i, dst, at) => { copied.push(i); dst.set(m.get(gpns[i])!, at); });
    // startWrite with one chunk ahead: only that chunk is copied (then compressed) before complete() copies the rest.
    const st = stage();
    const started = startWrite(base(m, { pages: st }), {}, 1);
    expect(copied).toEqual(Array.from({ length: 256 }, (_, i) => i));
    st.complete();
    expect(copied).toEqual(gpns.map((_, i) => i)); // every page once, in order
    st.complete();
    expect(copied.length).toBe(gpns.length);
    expect((await started.write(join(dir, "ahead.wvsnap"))).digest).toBe(want.digest);
    // Without complete(), the writer copies each chunk when it reaches it: the same file again.
    copied.length = 0;
    expect((await writeSnapshot(join(dir, "ahead.wvsnap"), base(m, { pages: stage() }))).digest).toBe(want.digest);
    expect(copied).toEqual(gpns.map((_, i) => i));
    // The parent is named at write time (relative to the file); a bad one is refused then.
    const orphan = startWrite(base(m, { pages: stage() }));
    await expect(orphan.write(join(dir, "bad.wvsnap"), { path: "x", digest: "nope" })).rejects.toThrow(/parent digest "nope" is not a hex SHA-256/);
    expect(existsSync(join(dir, "bad.wvsnap"))).toBe(false);
  });

  it("a chunk waits for the first free compression thread, not behind a long one", async () => {
    // One long job (32 MiB of noise, ~0.2 s) and three short ones posted after it. Dealt out as they were posted,
    // the second short job queued behind the long one on its thread; claimed by the first free thread, none does.
    const noise = (n: number) => { const b = new Uint8Array(new SharedArrayBuffer(n)); for (let i = 0; i < n; i += 65536) b.set(createHash("sha256").update(String(i)).digest().subarray(0, Math.min(32, n - i)), i); for (let i = 32; i < n; i++) b[i] ^= b[i - 32] * 31 + i; return b; };
    const job = (src: Uint8Array) => ({ level: 1, raw: { buffer: src.buffer as SharedArrayBuffer, offset: 0, length: src.length },
      out: new SharedArrayBuffer(src.length), outOffset: 0, outBytes: src.length });
    const big = noise(32 << 20), small = noise(64 << 10);
    // Every thread up and waiting first (a thread still starting, on a loaded machine, could not take anything).
    const want = Math.min(4, availableParallelism());
    const seen = new Set<number>();
    for (let round = 0; seen.size < want; round++) {
      if (round === 100) throw new Error(`only ${seen.size} of ${want} compression threads took work`);
      for (const d of await Promise.all(Array.from({ length: 8 }, () => compressChunk(job(small))))) seen.add(d.thread);
    }
    const done = await Promise.all([compressChunk(job(big)), ...[1, 2, 3].map(() => compressChunk(job(small)))]);
    expect(done[0].rawLen).toBe(32 << 20);
    expect(done.slice(1).map((d) => d.rawLen)).toEqual([65536, 65536, 65536]);
    if (want >= 2) expect(done.slice(1).map((d) => d.thread)).not.toContain(done[0].thread); // (one thread: all queue behind it)
  });

  it("a compression thread that dies fails the write in one line; the old file stays; the next write works", async () => {
    const p = join(dir, "thread-dies.wvsnap");
    const m = memory(Array.from({ length: 4096 }, (_, i) => 0x80000 + i));
    const old = await writeSnapshot(p, base(m));
    // (The rejection is awaited from the start: the write may fail at the first thread's exit, before the stop
    // returns, and a rejection left without a handler until then is an unhandled one.)
    const failed = rejects(writeSnapshot(p, base(m)));
    await new Promise((r) => setImmediate(r)); // the first chunks are with the threads
    await stopCompressors();
    expect(await failed).toMatch(/compression thread failed/);
    const kept = await readSnapshot(p);
    expect(kept.digest).toBe(old.digest);
    await kept.close();
    expect(readdirSync(dir).filter((n) => n.startsWith(".thread-dies"))).toEqual([]);
    expect((await writeSnapshot(p, base(m))).digest).toBe(old.digest);
  });

  it("writer refuses bad input before touching the target", async () => {
    const p = join(dir, "bad-input.wvsnap");
    expect(await rejects(writeSnapshot(p, base(memory([1, 2]), { pages: { gpns: [1, 1], get: () => pageData(1) } }))))
      .toBe("snapshot: page 0x1 appears twice");
    // (Ascending lists are checked without a set; a duplicate after the order breaks is still found.)
    expect(await rejects(writeSnapshot(p, base(memory([1, 2]), { pages: { gpns: [2, 5, 1, 2], get: () => pageData(1) } }))))
      .toBe("snapshot: page 0x2 appears twice");
    expect(await rejects(writeSnapshot(p, base(memory([1]), { pages: { gpns: [1], get: () => new Uint8Array(100) } }))))
      .toBe("snapshot: page 0x1 has 100 bytes, not 4096");
    expect(await rejects(writeSnapshot(p, { ...base(memory([1])), sections: [sections[0], sections[0]] })))
      .toBe('snapshot: section "cpu" appears twice');
    expect(await rejects(writeSnapshot(p, base(memory([1]), { parent: { path: "x", digest: "abc" } }))))
      .toBe('snapshot: parent digest "abc" is not a hex SHA-256');
    expect(await rejects(writeSnapshot(p, base(memory([1]), { sections: [{ name: "pages", data: new Uint8Array(4) }] }))))
      .toBe('snapshot: section name "pages" is reserved for the page index');
    expect(existsSync(p)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });

  it("not a snapshot, wrong version, wrong ABI, wrong configuration", async () => {
    const bytes = readFileSync(full);
    const p = join(dir, "damaged.wvsnap");
    for (const junk of [Buffer.alloc(0), Buffer.from("WVSN"), Buffer.from("#!/bin/sh\necho hello\n")]) {
      writeFileSync(p, junk);
      expect(await readFails(p)).toBe(`${p}: not a wasmvisor snapshot`);
    }
    const v = Buffer.from(bytes); v.writeUInt32LE(7, 8); writeFileSync(p, v);
    expect(await readFails(p)).toBe(`${p}: snapshot format version 7, this wasmvisor reads 1 to 3`);
    expect(await readFails(full, { expectAbi: 2 }))
      .toBe(`${full}: snapshot is for core ABI version 1, this wasmvisor's core has ABI version 2`);
    expect(await readFails(full, { expectConfig: (c: unknown) => `snapshot has ${(c as typeof config).memory} bytes of RAM, the VM 128 MiB` }))
      .toBe(`${full}: snapshot has 67108864 bytes of RAM, the VM 128 MiB`);
    expect(await readFails(join(dir, "missing.wvsnap"))).toBe(`${join(dir, "missing.wvsnap")}: no such file`);
  });

  it("truncation anywhere is refused, naming the byte and the part", async () => {
    const medium = join(dir, "medium.wvsnap");
    await writeSnapshot(medium, base(memory(gpns.slice(0, 40))), { chunkPages: 16 });
    const bytes = readFileSync(medium);
    const p = join(dir, "truncated.wvsnap");
    const parts = new Set<string>();
    // Every byte of the header and the small records, then a sweep through the chunks, then the end.
    const cuts = new Set<number>();
    for (let i = 8; i < 1200; i++) cuts.add(i);
    for (let i = 1200; i < bytes.length; i += 97) cuts.add(i);
    for (let i = bytes.length - 120; i < bytes.length; i++) cuts.add(i);
    for (const n of cuts) {
      writeFileSync(p, bytes.subarray(0, n));
      const m = await readFails(p);
      const r = /^.*: snapshot truncated at byte (\d+) \((header|section "(cpu|devices|empty|pages|\?)"|memory chunk [0-2]|trailer|record header)\)$/.exec(m);
      expect(r, `cut at ${n}: ${m}`).not.toBeNull();
      expect(Number(r![1])).toBe(n);
      parts.add(r![2].replace(/\d+$/, "N"));
    }
    expect([...parts].sort()).toEqual(['header', 'memory chunk N', 'record header', 'section "?"', 'section "cpu"',
      'section "devices"', 'section "empty"', 'section "pages"', 'trailer'].sort());
  });

  it("every single flipped bit in a small snapshot is detected", async () => {
    const small = join(dir, "small.wvsnap");
    // Pages that compress well keep the file small (one read per byte of it).
    await writeSnapshot(small, base(memory([0x80000, 0x80002, 0x80003])), { chunkPages: 2 });
    const bytes = readFileSync(small);
    const p = join(dir, "flipped.wvsnap");
    const kinds = new Map<string, number>();
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes);
      b[i] ^= 1 << (i % 8);
      writeFileSync(p, b);
      const m = (await readFails(p)).slice(p.length + 2);
      const k = m.replace(/\d+/g, "N");
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    // Damage is located, not just detected.
    expect([...kinds.keys()]).toEqual(expect.arrayContaining([
      "not a wasmvisor snapshot", "snapshot header failed its checksum", 'section "cpu" failed its checksum (at byte N)',
      "memory chunk N failed its checksum (at byte N)", "snapshot failed its file checksum (trailer)",
    ]));
  });

  it("damage in a big chunk names the chunk; garbage after the trailer is refused", async () => {
    const bytes = readFileSync(full);
    const p = join(dir, "damaged2.wvsnap");
    const b = Buffer.from(bytes); b[Math.floor(bytes.length * 0.6)] ^= 0x10; writeFileSync(p, b);
    expect(await readFails(p)).toMatch(/: memory chunk [12] failed its checksum \(at byte \d+\)$/);
    writeFileSync(p, Buffer.concat([bytes, Buffer.from("x")]));
    expect(await readFails(p)).toBe(`${p}: snapshot has 1 bytes of garbage after its trailer (at byte ${bytes.length})`);
  });

  it("a hostile file with valid checksums is still refused before anything is returned", async () => {
    // An independent encoder of the documented layout (docs/snapshot-format.md): if it and the reader disagree, the docs are wrong.
    const sha = (...b: Uint8Array[]) => { const h = createHash("sha256"); for (const x of b) h.update(x); return h.digest(); };
    // Record checksums: CRC-32 (u32 LE) from version 3, SHA-256 in versions 1 and 2 (still read).
    const sumLen = (version: number) => (version >= 3 ? 4 : 32);
    const rec = (kind: number, codec: number, name: string, stored: Uint8Array, rawLen: number, version = 3) => {
      const h = Buffer.alloc(12); h[0] = kind; h[1] = codec; h.writeUInt16LE(Buffer.byteLength(name), 2);
      h.writeUInt32LE(stored.length, 4); h.writeUInt32LE(rawLen, 8);
      const body = Buffer.concat([h, Buffer.from(name), stored]);
      const crc = Buffer.alloc(4); crc.writeUInt32LE(crc32(body));
      return Buffer.concat([body, version >= 3 ? crc : sha(body)]);
    };
    // From version 2 the digest is the hash list of the header's and records' checksums and the trailer's body;
    // version 1's the hash of all bytes before it.
    const craft = (records: Buffer[], counts: [number, number, number], version = 3, config: unknown = {}) => {
      const meta = Buffer.from(JSON.stringify({ pageSize: 4096, config }));
      const head = Buffer.alloc(20); Buffer.from("89575653 4e41500a".replace(" ", ""), "hex").copy(head);
      head.writeUInt32LE(version, 8); head.writeUInt32LE(1, 12); head.writeUInt32LE(meta.length, 16);
      const t = Buffer.alloc(16); t[0] = 0xff; t.writeUInt32LE(counts[0], 4); t.writeUInt32LE(counts[1], 8); t.writeUInt32LE(counts[2], 12);
      const file = Buffer.concat([head, meta, sha(head, meta), ...records, t]);
      const digest = version === 1 ? sha(file) : sha(sha(head, meta), ...records.map((r) => r.subarray(r.length - sumLen(version))), t);
      return Buffer.concat([file, digest]);
    };
    const chunk = (gpnList: number[]) => {
      const raw = Buffer.alloc(4 + gpnList.length * 4100); raw.writeUInt32LE(gpnList.length, 0);
      gpnList.forEach((g, j) => { raw.writeUInt32LE(g, 4 + j * 4); raw.set(pageData(g), 4 + gpnList.length * 4 + j * 4096); });
      return raw;
    };
    const p = join(dir, "hostile.wvsnap");
    const try1 = async (records: Buffer[], counts: [number, number, number]) => { writeFileSync(p, craft(records, counts)); return readFails(p); };

    // Sanity: the crafted encoding of a good file is accepted.
    for (const version of [3, 2, 1]) {
      const good = [rec(1, 0, "cpu", Buffer.from("abc"), 3, version), rec(2, 1, "", deflateRawSync(chunk([5, 6])), 4 + 2 * 4100, version)];
      const bytes = craft(good, [1, 1, 2], version);
      writeFileSync(p, bytes);
      const ok = await readSnapshot(p, { deferPages: true });
      expect(ok.formatVersion).toBe(version);
      expect(ok.digest).toBe(bytes.subarray(bytes.length - 32).toString("hex"));
      expect(diffMemory(await allPages(ok), memory([5, 6]))).toEqual([]);
      await ok.close();
      // A merge writes the current version; an older file's chunks (another kind of checksum) are repacked.
      const merged = join(dir, "hostile-merged.wvsnap");
      await mergeChain(p, merged);
      const m = await readSnapshot(merged);
      expect(m.formatVersion).toBe(FORMAT_VERSION);
      expect(diffMemory(await allPages(m), memory([5, 6]))).toEqual([]);
      await m.close();
      // The digest covers the order of the records: swapped, the file is refused.
      const t = craft(good, [1, 1, 2], version);
      writeFileSync(p, Buffer.concat([craft([good[1], good[0]], [1, 1, 2], version).subarray(0, t.length - 32), t.subarray(t.length - 32)]));
      expect(await readFails(p)).toMatch(/: snapshot failed its file checksum \(trailer\)$/);
    }

    // A chunk whose own page list disagrees with the file's page index (every checksum valid): validation with
    // deferred pages accepts the file (it unpacks no chunk), but a merge, which would copy the chunk's record as
    // it is, reads its page list first and refuses; nothing is written.
    const index = Buffer.alloc(8); index.writeUInt32LE(5, 0); index.writeUInt32LE(6, 4);
    writeFileSync(p, craft([rec(1, 0, "pages", index, 8), rec(2, 1, "", deflateRawSync(chunk([5, 7])), 4 + 2 * 4100)], [1, 1, 2]));
    const lying = await readSnapshot(p, { deferPages: true });
    await lying.close();
    const out = join(dir, "lying-merged.wvsnap");
    expect(await rejects(mergeChain(p, out, { deferPages: true }))).toBe(`${p}: memory chunk 0 disagrees with the page index`); // (as mergeToFull reads)
    expect(existsSync(out)).toBe(false);
    // `wasmvisor inspect` finds it only when asked to unpack memory (--memory): every checksum is valid.
    const machine = { memBytes: 1 << 20, ramBase: "0x80000000", deterministic: false, insnsPerTick: 10, romBytes: 0, devices: [], disks: [] };
    writeFileSync(p, craft([rec(1, 0, "pages", index, 8), rec(2, 1, "", deflateRawSync(chunk([5, 7])), 4 + 2 * 4100)], [1, 1, 2], 3, machine));
    expect((await inspectSnapshot(p)).pages).toBe(2);
    expect(await rejects(inspectSnapshot(p, { memory: true }))).toBe(`${p}: memory chunk 0 disagrees with the page index`);
    // The same chunk with the index it should have merges.
    index.writeUInt32LE(7, 4);
    writeFileSync(p, craft([rec(1, 0, "pages", index, 8), rec(2, 1, "", deflateRawSync(chunk([5, 7])), 4 + 2 * 4100)], [1, 1, 2]));
    await mergeChain(p, out, { deferPages: true });
    const merged = await readSnapshot(out);
    expect(diffMemory(await allPages(merged), memory([5, 7]))).toEqual([]);
    await merged.close();

    const bomb = deflateRawSync(Buffer.alloc(64 << 20)); // 64 MiB of zeros in ~64 KiB, claiming 1 MiB
    expect(await try1([rec(2, 1, "", bomb, 4 + 256 * 4100)], [0, 1, 256])).toMatch(/: memory chunk 0 does not decompress$/);
    expect(await try1([rec(2, 1, "", Buffer.from("not deflate at all"), 4 + 4100)], [0, 1, 1])).toMatch(/: memory chunk 0 does not decompress$/);
    expect(await try1([rec(2, 0, "", chunk([5, 6]), 4 + 4100)], [0, 1, 2])).toMatch(/: memory chunk 0 is malformed \(length 8204, expected 4104\)$/);
    expect(await try1([rec(2, 1, "", deflateRawSync(chunk([5, 5])), 4 + 2 * 4100)], [0, 1, 2])).toMatch(/: memory chunk 0 holds page 0x5 a second time$/);
    expect(await try1([rec(2, 1, "", deflateRawSync(chunk([5])), 4 + 4100), rec(2, 1, "", deflateRawSync(chunk([5])), 4 + 4100)], [0, 2, 2]))
      .toMatch(/: memory chunk 1 holds page 0x5 a second time$/);
    expect(await try1([rec(1, 0, "cpu", Buffer.from("a"), 1), rec(1, 0, "cpu", Buffer.from("b"), 1)], [2, 0, 0])).toMatch(/: section "cpu" appears twice$/);
    expect(await try1([rec(1, 9, "cpu", Buffer.from("a"), 1)], [1, 0, 0])).toMatch(/: section "cpu" uses unknown codec 9$/);
    expect(await try1([rec(7, 0, "x", Buffer.from("a"), 1)], [1, 0, 0])).toMatch(/: snapshot has an unknown record kind 7 at byte \d+$/);
    // A record dropped as a whole (its checksum intact) shows in the trailer's counts.
    expect(await try1([rec(1, 0, "cpu", Buffer.from("a"), 1)], [2, 0, 0])).toMatch(/: snapshot trailer does not match its contents/);
  });

  it("incremental snapshots: a chain restores the newest copy of each page; merge writes one full file", async () => {
    const cdir = join(dir, "chain");
    mkdirSync(cdir);
    const g0 = Array.from({ length: 300 }, (_, i) => 0x80000 + i);
    const r0 = await writeSnapshot(join(cdir, "s0.wvsnap"), base(memory(g0, 0)));
    // s1: 20 pages rewritten, 10 new ones; sections change.
    const d1 = new Map([...memory(g0.slice(100, 120), 1), ...memory([0x90000, 0x90001, 0x90002, 0x90003, 0x90004, 0x90005, 0x90006, 0x90007, 0x90008, 0x90009], 1)]);
    const sec1: Section[] = [{ name: "cpu", data: new Uint8Array([1, 1, 1]) }];
    const r1 = await writeSnapshot(join(cdir, "s1.wvsnap"),
      { abi: 1, config, sections: sec1, pages: pagesOf(d1), parent: { path: "s0.wvsnap", digest: r0.digest } });
    // s2 (in a subdirectory, parent by relative path): 3 pages again, one from s0 only, one new.
    mkdirSync(join(cdir, "later"));
    const d2 = new Map([...memory([0x80000 + 105, 0x90003], 2), ...memory([0x80000 + 7, 0xa0000], 2)]);
    const sec2: Section[] = [{ name: "cpu", data: new Uint8Array([2, 2]) }, { name: "devices", data: new Uint8Array([9]) }];
    const s2 = join(cdir, "later", "s2.wvsnap");
    await writeSnapshot(s2, { abi: 1, config: { ...config, note: "newest" }, sections: sec2, pages: pagesOf(d2), parent: { path: "../s1.wvsnap", digest: r1.digest } });

    const expected = new Map([...memory(g0, 0), ...d1, ...d2]);
    const view = await readChain(s2, { expectAbi: 1 });
    expect(view.layers.map((l) => l.path)).toEqual([s2, join(cdir, "s1.wvsnap"), join(cdir, "s0.wvsnap")]);
    expect(view.config).toEqual({ ...config, note: "newest" });
    expect(view.sections).toEqual(sec2);
    expect(view.pages.gpns.length).toBe(expected.size);
    expect(diffMemory(await allPages(view), expected)).toEqual([]);
    await view.close();

    // Merge to a new file, and in place over the newest file of the chain.
    const merged = join(cdir, "merged.wvsnap");
    const events: Progress[] = [];
    const mr = await mergeChain(s2, merged, { onProgress: (p) => events.push(p) });
    expect(mr.pages).toBe(expected.size);
    expect(events.at(-1)).toEqual({ phase: "memory", done: expected.size * 4096, total: expected.size * 4096 });
    for (const path of [merged, s2]) {
      if (path === s2) await mergeChain(s2, s2);
      const m = await readSnapshot(path, { expectAbi: 1 });
      expect(m.parent).toBeUndefined();
      expect(m.sections).toEqual(sec2);
      expect(m.config).toEqual({ ...config, note: "newest" });
      expect(diffMemory(await allPages(m), expected)).toEqual([]);
      await m.close();
    }
    // A single full file is a chain of one.
    const one = await readChain(full);
    expect(one.layers.map(({ path, digest }) => ({ path, digest }))).toEqual([{ path: full, digest: fullDigest }]);
    await one.close();
  });

  it("merge copies the records of chunks whose pages are all current as they are, after checking them", async () => {
    const mdir = join(dir, "reuse");
    mkdirSync(mdir);
    const g0 = Array.from({ length: 256 }, (_, i) => 0x80000 + i); // 4 chunks of 64
    const p0 = join(mdir, "s0.wvsnap"), p1 = join(mdir, "s1.wvsnap"), out = join(mdir, "merged.wvsnap");
    const r0 = await writeSnapshot(p0, base(memory(g0, 0)), { chunkPages: 64 });
    const d1 = memory([0x80000 + 70, 0x80000 + 71, 0xa0000], 1); // pages of the second chunk, and a new one
    await writeSnapshot(p1, { abi: 1, config, sections, pages: pagesOf(d1), parent: { path: "s0.wvsnap", digest: r0.digest } });
    const parent = await readSnapshot(p0, { deferPages: true });
    const records = parent.pages.chunks.map((c) => parent.pages.record!(c.firstPage)!.read());
    await parent.close();
    const child = await readSnapshot(p1, { deferPages: true });
    const childRecord = child.pages.record!(0)!.read();
    await child.close();

    await mergeChain(p1, out, { deferPages: true, chunkPages: 64 });
    const bytes = readFileSync(out);
    expect(records.map((r) => bytes.indexOf(r) >= 0)).toEqual([true, false, true, true]);
    expect(bytes.indexOf(childRecord)).toBeGreaterThan(0);
    const m = await readSnapshot(out);
    expect(diffMemory(await allPages(m), new Map([...memory(g0, 0), ...d1]))).toEqual([]);
    await m.close();

    // A record that changed on disk after the chain was validated is refused, not copied.
    const view = await readChain(p1, { deferPages: true });
    const b0 = readFileSync(p0), at = b0.indexOf(records[3]) + 40;
    b0[at] ^= 1;
    writeFileSync(p0, b0);
    const m2 = join(mdir, "merged2.wvsnap");
    expect(await rejects(writeSnapshot(m2, { abi: 1, config, sections, pages: view.pages })))
      .toMatch(/s0\.wvsnap: memory chunk 3 .*changed on disk/);
    await view.close();
    expect(existsSync(m2)).toBe(false);
  });

  it("a wrong, modified, missing or cyclic parent is refused", async () => {
    const cdir = join(dir, "chain2");
    mkdirSync(cdir);
    const p0 = join(cdir, "p0.wvsnap"), p1 = join(cdir, "p1.wvsnap");
    const r0 = await writeSnapshot(p0, base(memory([1, 2, 3])));
    await writeSnapshot(p1, base(memory([2]), { parent: { path: "p0.wvsnap", digest: r0.digest } }));
    // The parent replaced by another valid snapshot (as if re-taken): the digest no longer matches.
    await writeSnapshot(p0, base(memory([1, 2, 3], 5)));
    expect(await rejects(readChain(p1))).toMatch(new RegExp(`^${p1}: parent snapshot ${p0} is not the one it was taken from \\(digest [0-9a-f]{16}…, expected ${r0.digest.slice(0, 16)}…\\)$`));
    rmSync(p0);
    expect(await rejects(readChain(p1))).toBe(`${p1}: parent snapshot ${p0} is missing`);
    const self = join(cdir, "self.wvsnap");
    await writeSnapshot(self, base(memory([1]), { parent: { path: "self.wvsnap", digest: "0".repeat(64) } }));
    expect(await rejects(readChain(self))).toBe(`${self}: snapshot chain has a cycle (parent ${self} appears twice)`);
    // A parent of another ABI.
    const q0 = join(cdir, "q0.wvsnap"), q1 = join(cdir, "q1.wvsnap");
    const rq = await writeSnapshot(q0, { ...base(memory([1])), abi: 9 });
    await writeSnapshot(q1, base(memory([1]), { parent: { path: "q0.wvsnap", digest: rq.digest } }));
    expect(await rejects(readChain(q1))).toBe(`${q0}: snapshot is for core ABI version 9, this wasmvisor's core has ABI version 1`);
    expect(await rejects(mergeChain(q1, join(cdir, "out.wvsnap")))).toContain("ABI version 9");
    expect(existsSync(join(cdir, "out.wvsnap"))).toBe(false);
  });
});

describe("buffer pool", () => {
  it("keeps given buffers for reuse (largest first) and warms one ahead of need (touching it again after a second of disuse)", () => {
    const p = new BufferPool(1, true);
    p.warm(3 * 4096);
    const b = p.take(4096); // the warmed buffer, not a new one of the size asked
    expect(b.length).toBe(3 * 4096);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    vi.useFakeTimers({ toFake: ["performance"] });
    try {
      p.give(b);
      b.fill(0xff);
      p.warm(2 * 4096); // one that fits is kept already, and was given back just now: nothing new, nothing touched
      expect([b[0], b[4096], b[8192]]).toEqual([0xff, 0xff, 0xff]);
      vi.advanceTimersByTime(1500);
      p.warm(2 * 4096); // kept for a while (the host may have reclaimed it): its first 2 pages are touched again
      expect([b[0], b[4096], b[8192]]).toEqual([0, 0, 0xff]);
    } finally { vi.useRealTimers(); }
    expect(p.take(2 * 4096)).toBe(b);
    p.give(Buffer.alloc(4096));
    p.give(b); // over the limit of one: the smaller goes
    expect(p.take(1)).toBe(b);
  });
});

describe("atomic replacement", () => {
  it("an error in the writer leaves the old file and no temp", async () => {
    const p = join(dir, "atomic.txt");
    writeFileSync(p, "old");
    await expect(atomicWrite(p, async (fh) => { await fh.write("half"); throw new Error("boom"); })).rejects.toThrow("boom");
    expect(readFileSync(p, "utf8")).toBe("old");
    expect(readdirSync(dir).filter((n) => n.startsWith(".atomic.txt"))).toEqual([]);
    expect(await atomicWrite(p, async (fh) => { await fh.write("new"); return 42; })).toBe(42);
    expect(readFileSync(p, "utf8")).toBe("new");
  });

  it("stale temps of dead writers are removed, those of live writers kept", async () => {
    const p = join(dir, "stale.bin");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    const staleName = `.stale.bin.tmp-${dead}-0123456789ab`;
    const liveName = `.stale.bin.tmp-${process.pid}-0123456789ab`;
    const otherName = `.other.bin.tmp-${dead}-0123456789ab`;
    for (const n of [staleName, liveName, otherName]) writeFileSync(join(dir, n), "x");
    expect(await cleanStaleTemps(p)).toEqual([staleName]);
    expect(existsSync(join(dir, liveName))).toBe(true);
    expect(existsSync(join(dir, otherName))).toBe(true);
    for (const n of [liveName, otherName]) rmSync(join(dir, n));
  });

  it("a write that runs out of room (EFBIG: the file-size limit, as a full disk) fails in one line and loses nothing", async () => {
    // Both ways the writer writes: small snapshots synchronously, large ones through the thread pool.
    const mod = compiledSnapshotModule();
    const script = join(ROOT, "test", "fixtures", "snapshot-writer.mjs");
    // 4 and 32 MiB of pages (half random: 2 and 16 MiB of file) with room for 1 MiB; and no room at all (the very
    // first write, the header's, fails).
    for (const [pages, kib] of [[1024, 1024], [8192, 1024], [1024, 0]]) {
      const target = join(dir, `full-disk-${pages}-${kib}.wvsnap`);
      const old = await writeSnapshot(target, base(memory([1, 2, 3])));
      // ulimit -f: at most `kib` KiB per file; SIGXFSZ ignored (inherited by node), so the write fails with EFBIG.
      const r = spawnSync("bash", ["-c", `ulimit -f ${kib}; trap '' XFSZ; exec "$0" "$@"`, process.execPath, script, mod, target, String(pages), "5"],
        { encoding: "utf8" });
      expect(r.status, r.stderr).not.toBe(0);
      expect(r.stderr).toContain(`${target}: cannot write the snapshot: the file is too large for this system or process (EFBIG)`);
      expect(r.stderr).not.toMatch(/unhandled|ERR_UNHANDLED_REJECTION/i);
      const s = await readSnapshot(target);
      expect(s.digest).toBe(old.digest);
      await s.close();
      expect(readdirSync(dir).filter((n) => n.startsWith(`.full-disk-${pages}-${kib}.wvsnap.tmp-`))).toEqual([]);
    }
  });

  it("a writer killed at random moments while overwriting a snapshot never damages it", async () => {
    const mod = compiledSnapshotModule();
    const script = join(ROOT, "test", "fixtures", "snapshot-writer.mjs");
    const target = join(dir, "victim.wvsnap");
    const PAGES = 8192; // 32 MiB

    // Killed once the child reports having written `killAt` of its pages (plus a random few ms), so that kills land
    // throughout the write whatever the machine's load: before the first chunk, between chunks, and after the last
    // one (while the trailer is written, the file synced and renamed).
    const runChild = (seed: number, killAt: number | null) => new Promise<{ out: string; killed: boolean }>((res, rej) => {
      const c = spawn(process.execPath, [script, mod, target, String(PAGES), String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "", err = "", armed = false;
      c.stdout.on("data", (d) => {
        out += d;
        if (killAt === null || armed) return;
        const last = [...out.matchAll(/progress (\d+) (\d+)/g)].at(-1);
        const frac = out.includes("start") && killAt === 0 ? 0 : last ? Number(last[1]) / Number(last[2]) : -1;
        if (frac >= killAt) { armed = true; setTimeout(() => c.kill("SIGKILL"), Math.random() * 5); }
      });
      c.stderr.on("data", (d) => { err += d; });
      c.on("error", rej);
      c.on("exit", (code, sig) => {
        if (sig === "SIGKILL") res({ out, killed: true });
        else if (code === 0) res({ out, killed: false });
        else rej(new Error(`writer exited ${code}: ${err}`));
      });
    });

    // A complete write first: the snapshot that every killed writer must leave intact.
    const first = await runChild(1, null);
    let digest = /done ([0-9a-f]{64})/.exec(first.out)![1];
    let seed = "1";
    const check = async (killedSeed: string) => {
      const s = await readSnapshot(target, { expectAbi: 1 });
      // Killed after its rename, a writer has replaced the file with its own complete snapshot: also whole.
      if (s.config && (s.config as { seed: string }).seed === killedSeed) { seed = killedSeed; digest = s.digest; }
      expect(s.digest).toBe(digest);
      expect(s.pages.gpns.length).toBe(PAGES);
      expect(s.config).toEqual({ child: true, seed });
      await s.close();
    };
    await check("1");

    let midWrite = 0, tempsLeft = 0;
    const points = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1].map((f) => Math.min(1, f + (f > 0 && f < 1 ? (Math.random() - 0.5) * 0.1 : 0)));
    for (const [k, at] of points.entries()) {
      const r = await runChild(100 + k, at);
      if (!r.killed) { seed = String(100 + k); digest = /done ([0-9a-f]{64})/.exec(r.out)![1]; await check(seed); continue; }
      const before = seed;
      await check(String(100 + k));
      if (seed !== before) continue;
      midWrite++;
      // The killed writer's temp (if it got as far as creating it) is ignored by readers; the next writer removes it.
      if (readdirSync(dir).some((n) => n.startsWith(".victim.wvsnap.tmp-"))) tempsLeft++;
    }
    expect(midWrite, "kills that landed before the rename").toBeGreaterThanOrEqual(5);
    expect(tempsLeft, "killed writers that left their temp behind").toBeGreaterThanOrEqual(3);
    // One more writer killed mid-write if the last kill landed after its rename: the next writer must find a temp.
    const temps = () => readdirSync(dir).filter((n) => n.startsWith(".victim.wvsnap.tmp-"));
    for (let k = 0; k < 5 && temps().length === 0; k++) { await runChild(200 + k, 0.5); await check(String(200 + k)); }
    expect(temps().length).toBeGreaterThan(0);

    const last = await runChild(7, null);
    expect(readdirSync(dir).filter((n) => n.startsWith(".victim.wvsnap.tmp-"))).toEqual([]);
    const s = await readSnapshot(target);
    expect(s.digest).toBe(/done ([0-9a-f]{64})/.exec(last.out)![1]);
    await s.close();
  });
});

describe("progress reporter", () => {
  const fake = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => { writes.push(s); return true; } } };
  };

  it("on a TTY: one redrawn line, at most every 100 ms, with rate, ending in a newline", () => {
    const { writes, stream } = fake(true);
    let t = 1000;
    const r = progressReporter(stream, "snapshot", { now: () => t });
    const MiB = 1 << 20;
    t = 1500; r({ phase: "memory", done: 50 * MiB, total: 200 * MiB });
    t = 1550; r({ phase: "memory", done: 60 * MiB, total: 200 * MiB }); // within 100 ms: not drawn
    t = 1600; r({ phase: "memory", done: 100 * MiB, total: 200 * MiB });
    t = 1650; r({ phase: "memory", done: 150 * MiB, total: 200 * MiB });
    t = 2000; r.finish();
    r({ phase: "memory", done: 0, total: 1 }); // after finish: ignored
    r.finish();
    expect(writes).toEqual([
      "\rsnapshot: memory 50.0/200.0 MiB (25%) 100.0 MiB/s\x1b[K",
      "\rsnapshot: memory 100.0/200.0 MiB (50%) 166.7 MiB/s\x1b[K",
      "\rsnapshot: memory 150.0/200.0 MiB (75%) 150.0 MiB/s\x1b[K",
      "\n",
    ]);
  });

  it("prints nothing when the stream is not a TTY or absent; unknown totals show bytes only", () => {
    const { writes, stream } = fake(false);
    const r = progressReporter(stream, "x");
    r({ phase: "memory", done: 1, total: 2 });
    r.finish();
    expect(writes).toEqual([]);
    const n = progressReporter(null, "x");
    n({ phase: "memory", done: 1, total: 2 });
    n.finish();
    const tty = fake(true);
    let t = 0;
    const u = progressReporter(tty.stream, "migrate", { now: () => t });
    t = 1000; u({ phase: "pre-copy round 2", done: 3 << 20, total: 0 });
    u.finish();
    expect(tty.writes).toEqual(["\rmigrate: pre-copy round 2 3.0 MiB 3.0 MiB/s\x1b[K", "\rmigrate: pre-copy round 2 3.0 MiB 3.0 MiB/s\x1b[K", "\n"]);
  });

  it("TypedEmitter delivers the same progress objects as events", async () => {
    const e = new TypedEmitter<{ progress: [Progress]; done: [number, string] }>();
    const got: Progress[] = [];
    const f = (p: Progress) => got.push(p);
    e.on("progress", f);
    let once = 0;
    e.once("done", (n, s) => { once += n + s.length; });
    const p = join(dir, "events.wvsnap");
    await writeSnapshot(p, base(memory([1, 2, 3])), { onProgress: (x) => e.emit("progress", x) });
    expect(got.at(-1)).toEqual({ phase: "memory", done: 3 * 4096, total: 3 * 4096 });
    expect(e.emit("done", 1, "ab")).toBe(true);
    expect(e.emit("done", 1, "ab")).toBe(false);
    expect(once).toBe(3);
    e.off("progress", f);
    expect(e.listenerCount("progress")).toBe(0);
  });
});
