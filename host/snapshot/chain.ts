// Incremental chains (the layout is in format.ts): a file and its ancestors, validated together and seen as one
// snapshot (each page from the newest file that holds it), and merged into one full file.
import { realpathSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { WasmvisorError } from "../errors.js";
import { type ParentRef, type ReadOptions, type LoadedSnapshot, type ChainView, type WriteResult, type WriteOptions, type StoredRecord } from "./format.js";
import { readSnapshot } from "./reader.js";
import { writeSnapshot } from "./writer.js";

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
