// What a snapshot file (or an incremental chain) holds, and whether it is intact, without restoring it: the
// `wasmvisor inspect` command, for checking checkpoints before relying on them.
import { PAGE_SIZE } from "./format.js";
import { readChain } from "./chain.js";
import { CODEC_STORED } from "./record.js";
import { checkMachineConfig, type MachineConfig } from "./vmstate.js";

export interface LayerReport {
  path: string;
  formatVersion: number;
  abi: number;
  bytes: number;
  pages: number;
  chunks: number;
  /** Chunks stored as they are (written at compression level 0, or data that DEFLATE did not make smaller). */
  storedChunks: number;
  digest: string;
  /** The parent as the file names it (relative to its directory), and its digest. */
  parent?: { path: string; digest: string };
}

export interface SnapshotReport {
  path: string;
  /** The files, newest first. */
  layers: LayerReport[];
  memBytes: number;
  deterministic: boolean;
  devices: string[];
  disks: { path: string; bytes: number }[];
  /** Distinct pages the chain restores (a page in several files counts once). */
  pages: number;
  /** Every memory chunk was unpacked and its pages checked (not only the records' checksums). */
  verifiedMemory: boolean;
}

/**
 * Validates the file and every parent it names (the same checks a restore makes: checksums of every record, the
 * configuration, each parent's digest), and with `memory` also unpacks every memory chunk, a chunk at a time, and
 * checks its pages against the file's page index. Throws the one-line error a restore would give.
 */
export async function inspectSnapshot(path: string, opts: { memory?: boolean } = {}): Promise<SnapshotReport> {
  const chain = await readChain(path, { deferPages: true, expectConfig: checkMachineConfig });
  try {
    // With `memory`, every chunk of every file is unpacked, those whose pages a newer file replaces too: a damaged
    // one is damage all the same.
    if (opts.memory) for (const f of chain.layers) for (let p = 0; p < f.pages.gpns.length; p++) await f.pages.get(p);
    const layers: LayerReport[] = chain.layers.map((f) => ({
      path: f.path, formatVersion: f.formatVersion, abi: f.abi, bytes: f.bytes, pages: f.pages.gpns.length,
      chunks: f.pages.chunks.length, storedChunks: f.pages.chunks.filter((c) => c.codec === CODEC_STORED).length, digest: f.digest, ...(f.parent ? { parent: { ...f.parent } } : {}),
    }));
    const cfg = chain.config as MachineConfig;
    return {
      path, layers, memBytes: cfg.memBytes, deterministic: cfg.deterministic, devices: cfg.devices.map((d) => d.kind),
      disks: cfg.disks, pages: chain.pages.gpns.length, verifiedMemory: !!opts.memory,
    };
  } finally { await chain.close(); }
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const count = (n: number) => n.toLocaleString("en-US");

/** The report as lines for a terminal. */
export function formatReport(r: SnapshotReport): string[] {
  const n = r.layers.length;
  const out = [
    `${r.path}: ${n === 1 ? "a full snapshot" : `a chain of ${n} snapshots`}, intact (${r.verifiedMemory
      ? "every record's checksum, every chunk's pages" : "every record's checksum; memory not unpacked: --memory"}${n > 1 ? ", every parent's digest" : ""})`,
    `  machine: ${MiB(r.memBytes)} RAM, devices: ${r.devices.length ? r.devices.join(", ") : "none"}${r.deterministic ? ", deterministic time" : ""}, core ABI ${r.layers[0].abi}`,
  ];
  for (const d of r.disks) out.push(`  disk: ${d.path} (${count(d.bytes)} bytes when saved; not in the snapshot)`);
  r.layers.forEach((l, i) => {
    out.push(`  ${i + 1}. ${l.path}: format ${l.formatVersion}, ${count(l.bytes)} bytes, ${count(l.pages)} pages in ${count(l.chunks)} chunk${l.chunks === 1 ? "" : "s"}` +
      `${l.storedChunks ? ` (${l.storedChunks === l.chunks ? "all" : count(l.storedChunks)} stored uncompressed)` : ""}, ` +
      `digest ${l.digest}${l.parent ? `, parent ${l.parent.path}` : ""}`);
  });
  out.push(`  ${count(r.pages)} distinct pages (${MiB(r.pages * PAGE_SIZE)}) restored from ${n === 1 ? "it" : "the chain"}`);
  return out;
}
