// Dirty-page log: the set of guest-physical RAM pages written since the log was last cleared, for incremental
// snapshots and live migration. Exact and free on the store fast path: a store either hits a store-TLB entry,
// which only a store miss creates (marking the page here), or takes a slow path that marks the page. Clearing
// the log flushes every hart's TLB, so the next store to any page marks it again.
import { DIRTY_BITMAP, DIRTY_COPY, VM_RAM_BASE, VM_RAM_SIZE } from "./layout";

/** Records a write to guest-physical page gpa (ignored outside RAM). */
@inline export function markDirty(gpa: u64): void {
  const off = gpa - load<u64>(VM_RAM_BASE);
  if (off >= load<u64>(VM_RAM_SIZE)) return;
  const bit = off >> 12;
  const p = DIRTY_BITMAP + <usize>(bit >> 3);
  // Atomic: devices' I/O threads mark pages they write by DMA, and a lost bit would be a page a migration misses.
  atomic.or<u8>(p, <u8>(<u32>1 << <u32>(bit & 7)));
}

/** Bytes of the bitmap that cover RAM. */
export function dirtyBytes(): u32 { return <u32>(((load<u64>(VM_RAM_SIZE) >> 12) + 7) >> 3); }

export function dirtyClear(): void { memory.fill(DIRTY_BITMAP, 0, <usize>dirtyBytes()); }

/** Moves the log into DIRTY_COPY word by word with atomic exchanges, so no bit set concurrently is lost. */
export function dirtyTake(): void {
  const n = (<usize>dirtyBytes() + 3) & ~<usize>3;
  for (let i: usize = 0; i < n; i += 4) {
    const w = atomic.load<u32>(DIRTY_BITMAP + i);
    store<u32>(DIRTY_COPY + i, w == 0 ? 0 : atomic.xchg<u32>(DIRTY_BITMAP + i, 0));
  }
}
