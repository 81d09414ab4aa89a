// Lazy restore: a VM restored from a snapshot starts running before its memory is back. Pages still waiting in
// the snapshot have their bit set in LAZY_BITMAP; the first guest access to one (which is always the access that
// would give it a frame, gstage.ts) records the page in VM_LAZY_MISS and stops run() with STOP_PAGE instead of
// faulting: the instruction did not retire, so after the host has filled the page it simply executes again.
// Devices stay frozen until every page is back (the host's loader), so DMA never meets a missing page.
import { LAZY_BITMAP, LAZY_BITMAP_BYTES, VM_LAZY_PENDING, VM_LAZY_MISS, VM_RAM_BASE, VM_RAM_SIZE } from "./layout";
import { requestStop } from "./state";
import { STOP_PAGE } from "./stop";

/** True if the RAM page at gpa still waits for its contents (then the access stops for the host). */
export function lazyMiss(gpa: u64): bool {
  if (load<u32>(VM_LAZY_PENDING) == 0) return false;
  const off = gpa - load<u64>(VM_RAM_BASE);
  if (off >= load<u64>(VM_RAM_SIZE)) return false;
  const bit = off >> 12;
  if ((load<u8>(LAZY_BITMAP + <usize>(bit >> 3)) & <u8>(<u32>1 << <u32>(bit & 7))) == 0) return false;
  store<u64>(VM_LAZY_MISS, (gpa & ~<u64>0xfff) + 1);
  requestStop(STOP_PAGE);
  return true;
}

/** Host: marks `count` pages pending (their bits are already set in LAZY_BITMAP). False if RAM is too large. */
export function lazyBegin(count: u32): bool {
  if ((load<u64>(VM_RAM_SIZE) >> 15) > <u64>LAZY_BITMAP_BYTES) return false;
  store<u32>(VM_LAZY_PENDING, count);
  store<u64>(VM_LAZY_MISS, 0);
  return true;
}

/** Host: page gpa is about to be filled: clears its bit (returns false if it was not pending). */
export function lazyTake(gpa: u64): bool {
  const off = gpa - load<u64>(VM_RAM_BASE);
  if (off >= load<u64>(VM_RAM_SIZE) || load<u32>(VM_LAZY_PENDING) == 0) return false;
  const bit = off >> 12;
  const p = LAZY_BITMAP + <usize>(bit >> 3), m = <u8>(<u32>1 << <u32>(bit & 7));
  if ((load<u8>(p) & m) == 0) return false;
  store<u8>(p, load<u8>(p) & ~m);
  store<u32>(VM_LAZY_PENDING, load<u32>(VM_LAZY_PENDING) - 1);
  if ((load<u64>(VM_LAZY_MISS) & ~<u64>0xfff) == (gpa & ~<u64>0xfff)) store<u64>(VM_LAZY_MISS, 0);
  return true;
}
