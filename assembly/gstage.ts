// The G-stage: the hypervisor's own page table, in the H extension's Sv39x4 format (privileged spec §9.5.1),
// mapping guest-physical pages to frames of the VM's linear memory. It is the single source of truth for what the
// guest may touch: stage-1 walks, TLB fills, devices and the host all resolve guest-physical addresses here.
//
// Regions: RAM (frames allocated on first touch, R/W/X), ROM (frames filled by the host, R/X), everything else is
// not backed by frames: an MMIO device answers there (bus.ts) or it is a hole (access fault).
//
// Sv39x4: 41-bit guest-physical addresses; the root has 2048 entries (16 KiB, 16 KiB-aligned) indexed by
// GPA[40:30]; then GPA[29:21] and GPA[20:12]. Leaf PTEs carry U (G-stage accesses are checked as U-mode, §9.5.1)
// and A/D preset, and PPN = frame offset >> 12.
import { VM_GSTAGE_ROOT, VM_RAM_BASE, VM_RAM_SIZE, VM_ROM_BASE, VM_ROM_SIZE } from "./layout";
import { PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D, PTE_PPN_SHIFT } from "./riscv";
import { frameAlloc } from "./frames";
import { lazyMiss } from "./lazy";

export const GPA_BITS: u64 = 41;
const LEAF_RAM: u64 = PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D;
const LEAF_ROM: u64 = PTE_V | PTE_R | PTE_X | PTE_U | PTE_A;

export const GACC_READ: u32 = 0;
export const GACC_WRITE: u32 = 1;
export const GACC_EXEC: u32 = 2;

/** Allocates the root table. Returns false if the pool cannot hold it. */
export function gstageInit(): bool {
  const root = frameAlloc(4, true);
  store<u32>(VM_GSTAGE_ROOT, <u32>root);
  return root != 0;
}

/** Leaf permissions for a page of a frame-backed region at gpa, or 0 if gpa is not RAM or ROM. */
function regionLeaf(gpa: u64): u64 {
  if (gpa - load<u64>(VM_RAM_BASE) < load<u64>(VM_RAM_SIZE)) return LEAF_RAM;
  if (gpa - load<u64>(VM_ROM_BASE) < load<u64>(VM_ROM_SIZE)) return LEAF_ROM;
  return 0;
}

@inline function nextTable(pte: u64): usize { return <usize>((pte >> PTE_PPN_SHIFT) << 12); }

/**
 * The level-0 PTE slot for gpa, creating intermediate tables when `alloc`; 0 if absent (or the pool is empty).
 */
function leafSlot(gpa: u64, alloc: bool): usize {
  let t = <usize>load<u32>(VM_GSTAGE_ROOT);
  for (let level = 2; level > 0; level--) {
    const shift = 12 + 9 * <u64>level;
    const idx = level == 2 ? (gpa >> shift) & 0x7ff : (gpa >> shift) & 0x1ff;
    const slot = t + (<usize>idx << 3);
    const pte = load<u64>(slot);
    if ((pte & PTE_V) != 0) { t = nextTable(pte); continue; }
    if (!alloc) return 0;
    const nt = frameAlloc(1, true);
    if (nt == 0) return 0;
    // Installed by compare-and-swap: a device's I/O thread may map the same region concurrently. The loser's
    // frame stays allocated but unused (a rare race; frames are only returned when the VM goes away).
    const won = atomic.cmpxchg<u64>(slot, 0, ((<u64>nt >> 12) << PTE_PPN_SHIFT) | PTE_V);
    t = won == 0 ? nt : nextTable(won);
  }
  return t + (<usize>((gpa >> 12) & 0x1ff) << 3);
}

/**
 * Linear-memory offset of guest-physical `gpa` for an access of kind `acc` (GACC_*), or 0 if the access is not
 * to a frame-backed page it may make: MMIO, a hole, a write to ROM, or a GPA beyond 41 bits. A first touch of
 * RAM maps a fresh zero frame.
 */
export function gpaToPtr(gpa: u64, acc: u32): usize {
  if ((gpa >> GPA_BITS) != 0) return 0;
  let slot = leafSlot(gpa, false);
  let pte: u64 = slot != 0 ? load<u64>(slot) : 0;
  if ((pte & PTE_V) == 0) {
    // Not mapped yet: only RAM and ROM get frames (and tables); MMIO and holes leave the G-stage untouched.
    const leaf = regionLeaf(gpa);
    if (leaf == 0) return 0;
    if (lazyMiss(gpa)) return 0; // restored lazily and not back yet: the host fills it (lazy.ts)
    if (slot == 0) slot = leafSlot(gpa, true);
    if (slot == 0) return 0;
    const f = frameAlloc(1, false);
    if (f == 0) return 0;
    pte = ((<u64>f >> 12) << PTE_PPN_SHIFT) | leaf;
    const old = atomic.cmpxchg<u64>(slot, 0, pte); // see leafSlot: the vCPU and an I/O thread may race here
    if (old != 0) pte = old;
  }
  const need = acc == GACC_WRITE ? PTE_W : acc == GACC_EXEC ? PTE_X : PTE_R;
  if ((pte & need) == 0) return 0;
  return nextTable(pte) + <usize>(gpa & 0xfff);
}

/** Like gpaToPtr for reading, but never allocates: 0 if the page was never touched. For the host and debuggers. */
export function gpaPeek(gpa: u64): usize {
  if ((gpa >> GPA_BITS) != 0) return 0;
  const slot = leafSlot(gpa, false);
  if (slot == 0) return 0;
  const pte = load<u64>(slot);
  return (pte & PTE_V) == 0 ? 0 : nextTable(pte) + <usize>(gpa & 0xfff);
}
