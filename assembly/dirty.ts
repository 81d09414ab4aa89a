// Dirty-page log: the set of guest-physical RAM pages written since the log was last cleared, for incremental
// snapshots and live migration. Exact and free on the store fast path: a store either hits a store-TLB entry,
// which only a store miss creates (marking the page here), or takes a slow path that marks the page. Clearing
// the log flushes every hart's TLB, so the next store to any page marks it again.
import { DIRTY_BITMAP, VM_RAM_BASE, VM_RAM_SIZE } from "./layout";

/** Records a write to guest-physical page gpa (ignored outside RAM). */
@inline export function markDirty(gpa: u64): void {
  const off = gpa - load<u64>(VM_RAM_BASE);
  if (off >= load<u64>(VM_RAM_SIZE)) return;
  const bit = off >> 12;
  const p = DIRTY_BITMAP + <usize>(bit >> 3);
  store<u8>(p, load<u8>(p) | <u8>(<u32>1 << <u32>(bit & 7)));
}

/** Bytes of the bitmap that cover RAM. */
export function dirtyBytes(): u32 { return <u32>(((load<u64>(VM_RAM_SIZE) >> 12) + 7) >> 3); }

export function dirtyClear(): void { memory.fill(DIRTY_BITMAP, 0, <usize>dirtyBytes()); }
