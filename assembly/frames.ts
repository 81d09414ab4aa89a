// Frame allocator: hands out 4 KiB frames of the VM's linear memory for guest pages and G-stage tables.
// A bump pointer over the pool (frames are returned only when the whole VM is reset): frames are dense in the
// order of first touch, so host memory grows with what the guest uses, not with what it was promised.
import { VM_FRAME_NEXT, VM_FRAME_END, VM_FRAMES_DATA, VM_FRAMES_TABLE } from "./layout";

export const FRAME_BYTES: u32 = 4096;

/** Resets the pool to [start, end). */
export function framesInit(start: u32, end: u32): void {
  store<u32>(VM_FRAME_NEXT, start);
  store<u32>(VM_FRAME_END, end);
  store<u32>(VM_FRAMES_DATA, 0);
  store<u32>(VM_FRAMES_TABLE, 0);
}

/**
 * Allocates `n` contiguous zeroed frames aligned to `n` frames; returns their offset or 0 when the pool is empty.
 * Frames come from memory that was never handed out, which a fresh WebAssembly.Memory guarantees is zero.
 * `table` selects the counter (G-stage table or guest data) for the footprint statistics.
 */
export function frameAlloc(n: u32, table: bool): usize {
  const bytes = n * FRAME_BYTES;
  // A compare-and-swap loop: the vCPU and a device's I/O thread (DMA to a page never touched) may both allocate.
  for (;;) {
    const next = atomic.load<u32>(VM_FRAME_NEXT);
    const p = (next + bytes - 1) & ~(bytes - 1);
    if (<u64>p + <u64>bytes > <u64>load<u32>(VM_FRAME_END)) return 0;
    if (atomic.cmpxchg<u32>(VM_FRAME_NEXT, next, p + bytes) != next) continue;
    atomic.add<u32>(table ? VM_FRAMES_TABLE : VM_FRAMES_DATA, n);
    return <usize>p;
  }
}
