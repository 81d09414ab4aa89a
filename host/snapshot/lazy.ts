// Lazy restore, the host's half (the core's is assembly/lazy.ts): the restored VM runs at once; a page it touches
// before it is back stops run() with "page", and this loader fills it (with the rest of its chunk); between run
// slices it fills the remaining chunks in file order. Devices stay frozen until every page is back, and anything
// that must see all of memory (snapshots, digests, migration) calls complete() first.
import type { Vm } from "../vm.js";
import type { SnapshotView } from "./format.js";
import { WasmvisorError } from "../errors.js";

export class LazyLoader {
  private readonly index = new Map<number, number>(); // page number -> index in the snapshot's page list
  private nextChunkStart = 0;
  private done = false;
  private abandoned = false;
  readonly started = performance.now();
  /** Pages filled because the guest needed them (the rest were prefetched). */
  faults = 0;

  constructor(private readonly vm: Vm, private readonly snap: SnapshotView, private readonly onDone: () => Promise<void>) {
    snap.pages.gpns.forEach((g, i) => this.index.set(g, i));
  }

  /** Marks every saved RAM page pending in the core. */
  begin(): void {
    const k = this.vm.core.k, u8 = new Uint8Array(this.vm.memory.buffer);
    const first = Number(this.vm.ramBase >> 12n);
    for (const g of this.snap.pages.gpns) {
      const bit = g - first;
      u8[k.LAYOUT_LAZY_BITMAP + (bit >> 3)] |= 1 << (bit & 7);
    }
    if (this.vm.core.fn.lazy_begin(this.snap.pages.gpns.length) !== 0) throw new WasmvisorError("lazy restore needs RAM of at most 2 GiB", 70);
  }

  get active(): boolean { return !this.done; }

  /** Fills page i of the snapshot (its chunk stays unpacked in the reader's cache for the neighbours). */
  private async fill(i: number): Promise<void> {
    const data = await this.snap.pages.get(i);
    const p = this.vm.core.fn.lazy_fill(this.snap.pages.gpns[i] * 4096) >>> 0;
    if (p !== 0) new Uint8Array(this.vm.memory.buffer).set(data, p);
  }

  /** The guest stopped on a missing page: bring it (and its chunk) back. */
  async fault(): Promise<void> {
    const miss = this.vm.core.fn.lazy_miss();
    if (miss === 0) return;
    const g = Math.floor((miss - 1) / 4096);
    const i = this.index.get(g);
    if (i === undefined) throw new WasmvisorError(`lazy restore: the guest needs page 0x${(g * 4096).toString(16)}, which the snapshot does not hold`, 70);
    this.faults++;
    await this.fill(i);
    await this.finishIfDone();
  }

  /** Background work between run slices: fills the next chunk's worth of pending pages. */
  async step(): Promise<void> {
    const gpns = this.snap.pages.gpns;
    while (this.nextChunkStart < gpns.length && (this.vm.core.fn.lazy_pending() > 0)) {
      const start = this.nextChunkStart;
      this.nextChunkStart = Math.min(gpns.length, start + 256);
      const fn = this.vm.core.fn, u8 = new Uint8Array(this.vm.memory.buffer);
      let any = false;
      for (let j = start; j < this.nextChunkStart; j++) {
        const p = fn.lazy_fill(gpns[j] * 4096) >>> 0;
        if (p !== 0) { u8.set(await this.snap.pages.get(j), p); any = true; }
      }
      if (any) break; // one chunk per call: the guest runs in between
    }
    await this.finishIfDone();
  }

  /** Fills everything still pending. */
  async complete(): Promise<void> {
    if (this.abandoned) throw new WasmvisorError("this VM stopped before its memory was back from its snapshot: it cannot be saved or inspected", 70);
    while (!this.done) {
      if (this.nextChunkStart >= this.snap.pages.gpns.length && this.vm.core.fn.lazy_pending() > 0) {
        throw new WasmvisorError("lazy restore: pages are pending that the snapshot does not list", 70);
      }
      await this.step();
    }
  }

  /**
   * The VM's run ended before every page was back (a restore run for a few instructions): closes the snapshot
   * rather than leave its file open until garbage collection. The VM can no longer be completed.
   */
  async abandon(): Promise<void> {
    if (this.done) return;
    this.done = this.abandoned = true;
    await this.snap.close();
  }

  private async finishIfDone(): Promise<void> {
    if (this.done || this.vm.core.fn.lazy_pending() > 0) return;
    this.done = true;
    await this.snap.close();
    await this.onDone();
  }
}
