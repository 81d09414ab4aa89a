// The IOMMU: every device access to guest memory (DMA) is translated and checked here (ARCHITECTURE.md §4),
// modelled on the RISC-V IOMMU specification v1.0:
//   - a device-context table indexed by device id (spec §2.1; here one context per virtio slot) gives each device
//     a domain: an id and the root of the domain's page table;
//   - the domain's page table has the G-stage's format (Sv39x4, privileged spec §9.5.1) and maps device addresses
//     (IOVA) to guest-physical addresses with R/W permissions; the VM's own G-stage (gstage.ts) then maps those to
//     frames, exactly like the spec's two-stage translation (first stage = the domain table, second = iohgatp);
//   - an IOTLB per device caches IOVA page -> frame; invalidation by domain and by address (IOTINVAL.VMA, §4.1.3)
//     and a fence (IOFENCE.C) are commands the host issues whenever mappings change;
//   - a refused access is recorded in the fault queue (§4.2 fault record: CAUSE, TTYP, DID, iotval, iotval2) and
//     counted, and the device's request fails; nothing outside the domain is ever read or written.
// Runs on whichever thread serves the device (the vCPU thread or the device's I/O thread): the IOTLB of a device
// is only used by the one thread serving it; the fault queue and statistics are updated atomically.
import {
  dcPtr, iotlbPtr, DC_TC, DC_DOMAIN, DC_ROOT, DC_STAT_XLATE, DC_STAT_MISS, DC_STAT_FAULTS, IOMMU_DEVICES,
  IOTLB_ENTRIES, IOTLB_STRIDE, IOMMU_CTRL, IOMMU_FQ, IOMMU_FQ_HEAD, IOMMU_FQ_TAIL, IOMMU_FQ_DROPPED, IOMMU_FQ_ENTRIES,
  VM_RAM_BASE, VM_RAM_SIZE, codeWritten,
} from "./layout";
import { PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D, PTE_PPN_SHIFT } from "./riscv";
import { gpaToPtr, GACC_READ, GACC_WRITE, GPA_BITS } from "./gstage";
import { frameAlloc } from "./frames";
import { markDirty } from "./dirty";

// Device-context translation control (spec §2.1.3 DC.tc): bit 0 V.
export const DC_TC_V: u32 = 1;

// Fault-record CAUSE codes (spec §4.2, Table 11).
export const IOMMU_CAUSE_READ_ACCESS: u32 = 5;        // read access fault
export const IOMMU_CAUSE_WRITE_ACCESS: u32 = 7;       // write/AMO access fault
export const IOMMU_CAUSE_READ_PAGE: u32 = 13;         // read page fault (first stage: the domain table)
export const IOMMU_CAUSE_WRITE_PAGE: u32 = 15;        // write/AMO page fault
export const IOMMU_CAUSE_READ_GUEST_PAGE: u32 = 21;   // read guest-page fault (second stage: the G-stage)
export const IOMMU_CAUSE_WRITE_GUEST_PAGE: u32 = 23;  // write/AMO guest-page fault
export const IOMMU_CAUSE_DDT_INVALID: u32 = 258;      // DDT entry not valid: the device has no context
// Fault-record TTYP (transaction type, spec §4.2): untranslated read / write.
export const IOMMU_TTYP_READ: u32 = 2;
export const IOMMU_TTYP_WRITE: u32 = 3;

// Domain-table leaves: V, R/W as granted, U (device accesses are checked as user accesses, like the G-stage), A/D preset.
const LEAF_BASE: u64 = PTE_V | PTE_U | PTE_A | PTE_D;
const IOTLB_W: u64 = 1; // value bit 0: writable (frame offsets are page-aligned)

/** Records a refused access in the fault queue (dropping it, counted, when the host has not drained the queue). */
function fault(dev: u32, cause: u32, write: bool, iova: u64, gpa: u64): void {
  atomic.add<u64>(dcPtr(dev) + DC_STAT_FAULTS, 1);
  for (;;) {
    const tail = atomic.load<u32>(IOMMU_FQ_TAIL);
    if (tail - atomic.load<u32>(IOMMU_FQ_HEAD) >= IOMMU_FQ_ENTRIES) { atomic.add<u32>(IOMMU_FQ_DROPPED, 1); return; }
    if (atomic.cmpxchg<u32>(IOMMU_FQ_TAIL, tail, tail + 1) != tail) continue;
    const r = IOMMU_FQ + (<usize>(tail & (IOMMU_FQ_ENTRIES - 1)) << 5);
    const ttyp: u64 = write ? IOMMU_TTYP_WRITE : IOMMU_TTYP_READ;
    store<u64>(r, <u64>cause | (ttyp << 34) | (<u64>dev << 40));
    store<u64>(r + 8, 0);
    store<u64>(r + 16, iova);  // iotval: the faulting IOVA
    store<u64>(r + 24, gpa);   // iotval2: the guest-physical address for guest-page faults
    return;
  }
}

/** Guest-physical address of the page the last successful iommuTranslate on this thread reached. */
export let LAST_GPA: u64 = 0;

/** Clears device `dev`'s IOTLB. */
function iotlbFlushDev(dev: u32): void { memory.fill(iotlbPtr(dev), 0, IOTLB_STRIDE); }

/**
 * Gives device `dev` a context. mode 0: none (every access faults with "DDT entry not valid"); 1: a domain
 * identity-mapped onto the guest's RAM (IOVA = GPA, read/write: what an unmodified guest expects); 2: an empty
 * domain the host fills with iommuMap. Returns false if the frame pool cannot hold the tables.
 */
export function iommuAttach(dev: u32, mode: u32): bool {
  if (dev >= IOMMU_DEVICES) return false;
  const dc = dcPtr(dev);
  atomic.store<u32>(dc + DC_TC, 0);
  iotlbFlushDev(dev);
  if (mode == 0) return true;
  let root = <usize>load<u32>(dc + DC_ROOT);
  if (root == 0) {
    root = frameAlloc(4, true); // Sv39x4 root: 16 KiB, 16 KiB-aligned
    if (root == 0) return false;
    store<u32>(dc + DC_ROOT, <u32>root);
  } else {
    memory.fill(root, 0, 16384); // lower-level tables of the old mappings are left unreferenced
  }
  store<u32>(dc + DC_DOMAIN, dev);
  if (mode == 1 && !iommuMap(dev, load<u64>(VM_RAM_BASE), load<u64>(VM_RAM_BASE), load<u64>(VM_RAM_SIZE), 3)) return false;
  atomic.store<u32>(dc + DC_TC, DC_TC_V);
  return true;
}

@inline function tableOf(pte: u64): usize { return <usize>((pte >> PTE_PPN_SHIFT) << 12); }

/** The PTE slot mapping iova at `level` (2: 1 GiB, 1: 2 MiB, 0: 4 KiB), creating tables; 0 if out of frames. */
function slotFor(root: usize, iova: u64, level: i32): usize {
  let t = root;
  for (let l = 2; l > level; l--) {
    const shift = 12 + 9 * <u64>l;
    const idx = l == 2 ? (iova >> shift) & 0x7ff : (iova >> shift) & 0x1ff;
    const slot = t + (<usize>idx << 3);
    let pte = load<u64>(slot);
    if ((pte & PTE_V) != 0 && (pte & (PTE_R | PTE_W | PTE_X)) != 0) {
      // A superpage leaf covers this range: split it into a table of the next level (same mappings).
      const nt = frameAlloc(1, true);
      if (nt == 0) return 0;
      const step: u64 = <u64>1 << (12 + 9 * <u64>(l - 1));
      for (let i: u64 = 0; i < 512; i++) store<u64>(nt + (<usize>i << 3), pte + ((i * step) >> 12 << PTE_PPN_SHIFT));
      pte = ((<u64>nt >> 12) << PTE_PPN_SHIFT) | PTE_V;
      store<u64>(slot, pte);
    } else if ((pte & PTE_V) == 0) {
      const nt = frameAlloc(1, true);
      if (nt == 0) return 0;
      pte = ((<u64>nt >> 12) << PTE_PPN_SHIFT) | PTE_V;
      store<u64>(slot, pte);
    }
    t = tableOf(pte);
  }
  const shift = 12 + 9 * <u64>level;
  const idx = level == 2 ? (iova >> shift) & 0x7ff : (iova >> shift) & 0x1ff;
  return t + (<usize>idx << 3);
}

/**
 * Maps device addresses [iova, iova+bytes) to guest-physical [gpa, ...) in dev's domain with perm (bit 0 read,
 * bit 1 write; 0 unmaps), using the largest pages alignment allows, then invalidates the device's IOTLB for the
 * range. All arguments page-aligned. Returns false on bad arguments or when the pool is out of frames.
 */
export function iommuMap(dev: u32, iova: u64, gpa: u64, bytes: u64, perm: u32): bool {
  if (dev >= IOMMU_DEVICES || ((iova | gpa | bytes) & 0xfff) != 0) return false;
  if (((iova + bytes - 1) >> GPA_BITS) != 0 || ((gpa + bytes - 1) >> GPA_BITS) != 0 || bytes == 0) return false;
  const root = <usize>load<u32>(dcPtr(dev) + DC_ROOT);
  if (root == 0) return false;
  let leaf: u64 = perm == 0 ? 0 : LEAF_BASE;
  if (perm & 1) leaf |= PTE_R;
  if (perm & 2) leaf |= PTE_W;
  if (perm == 2) leaf |= PTE_R; // W without R is reserved in the PTE format: grant write-only as read/write
  let off: u64 = 0;
  while (off < bytes) {
    const a = iova + off, g = gpa + off, left = bytes - off;
    let level = 0;
    if (((a | g) & 0x3fff_ffff) == 0 && left >= 0x4000_0000) level = 2;
    else if (((a | g) & 0x1f_ffff) == 0 && left >= 0x20_0000) level = 1;
    const slot = slotFor(root, a, level);
    if (slot == 0) return false;
    store<u64>(slot, leaf == 0 ? 0 : ((g >> 12) << PTE_PPN_SHIFT) | leaf);
    off += <u64>1 << (12 + 9 * <u64>level);
  }
  iommuInvalidate(dev, iova, bytes);
  return true;
}

/**
 * IOTINVAL.VMA for one device: drops cached translations of [iova, iova+bytes) (bytes 0: the whole IOTLB).
 * Mapping changes call it; the host calls it through iommu_invalidate for domain-wide invalidation.
 */
export function iommuInvalidate(dev: u32, iova: u64, bytes: u64): void {
  if (dev >= IOMMU_DEVICES) return;
  if (bytes == 0 || bytes >= (<u64>IOTLB_ENTRIES << 12)) { iotlbFlushDev(dev); return; }
  const tlb = iotlbPtr(dev);
  for (let p = iova >> 12; p <= (iova + bytes - 1) >> 12; p++) {
    const e = tlb + (<usize>(p & (IOTLB_ENTRIES - 1)) << 5);
    if (load<u64>(e) == p + 1) store<u64>(e, 0);
  }
}

/** Invalidates every device in `domain` (IOTINVAL.VMA with GV=0, AV as given). */
export function iommuInvalidateDomain(domain: u32, iova: u64, bytes: u64): void {
  for (let d: u32 = 0; d < IOMMU_DEVICES; d++) {
    if (load<u32>(dcPtr(d) + DC_DOMAIN) == domain) iommuInvalidate(d, iova, bytes);
  }
}

/** Walks dev's domain table: the leaf PTE for iova (with the in-page offset folded out), or 0 if none. */
function walk(root: usize, iova: u64): u64 {
  let t = root;
  for (let level = 2; level >= 0; level--) {
    const shift = 12 + 9 * <u64>level;
    const idx = level == 2 ? (iova >> shift) & 0x7ff : (iova >> shift) & 0x1ff;
    const pte = load<u64>(t + (<usize>idx << 3));
    if ((pte & PTE_V) == 0) return 0;
    if ((pte & (PTE_R | PTE_W | PTE_X)) != 0) {
      // Leaf at this level: the PPN of the 4 KiB page inside the superpage.
      const inPage = (iova >> 12) & ((<u64>1 << (9 * <u64>level)) - 1);
      return pte + (inPage << PTE_PPN_SHIFT);
    }
    if (level == 0) return 0;
    t = tableOf(pte);
  }
  return 0;
}

/**
 * Linear-memory offset of device address `iova` for a DMA of `len` bytes (1..4096 - (iova & 0xfff), inside one
 * page) by device `dev`, or 0 after recording the fault. Writes mark the page dirty and invalidate decoded code.
 */
export function iommuTranslate(dev: u32, iova: u64, write: bool): usize {
  const dc = dcPtr(dev);
  atomic.add<u64>(dc + DC_STAT_XLATE, 1);
  if ((atomic.load<u32>(dc + DC_TC) & DC_TC_V) == 0) { fault(dev, IOMMU_CAUSE_DDT_INVALID, write, iova, 0); return 0; }
  const page = iova >> 12;
  const e = iotlbPtr(dev) + (<usize>(page & (IOTLB_ENTRIES - 1)) << 5);
  const useTlb = (load<u32>(IOMMU_CTRL) & 1) == 0;
  let frame: usize = 0;
  let gpa: u64 = 0;
  if (useTlb && load<u64>(e) == page + 1) {
    const v = load<u64>(e + 8);
    if (!write || (v & IOTLB_W) != 0) { frame = <usize>(v & ~<u64>0xfff); gpa = load<u64>(e + 16); }
  }
  if (frame == 0) {
    atomic.add<u64>(dc + DC_STAT_MISS, 1);
    if ((iova >> GPA_BITS) != 0) { fault(dev, write ? IOMMU_CAUSE_WRITE_PAGE : IOMMU_CAUSE_READ_PAGE, write, iova, 0); return 0; }
    const pte = walk(<usize>load<u32>(dc + DC_ROOT), iova);
    if ((pte & PTE_V) == 0 || (pte & (write ? PTE_W : PTE_R)) == 0) {
      fault(dev, write ? IOMMU_CAUSE_WRITE_PAGE : IOMMU_CAUSE_READ_PAGE, write, iova, 0);
      return 0;
    }
    gpa = ((pte >> PTE_PPN_SHIFT) << 12);
    // Second stage: the VM's G-stage. Only RAM is DMA-able (a device writing the ROM or MMIO is refused).
    if (gpa - load<u64>(VM_RAM_BASE) >= load<u64>(VM_RAM_SIZE)) {
      fault(dev, write ? IOMMU_CAUSE_WRITE_GUEST_PAGE : IOMMU_CAUSE_READ_GUEST_PAGE, write, iova, gpa | (iova & 0xfff));
      return 0;
    }
    frame = gpaToPtr(gpa, write ? GACC_WRITE : GACC_READ);
    if (frame == 0) { fault(dev, write ? IOMMU_CAUSE_WRITE_ACCESS : IOMMU_CAUSE_READ_ACCESS, write, iova, gpa); return 0; }
    frame &= ~<usize>0xfff;
    if (useTlb) {
      store<u64>(e, 0);
      store<u64>(e + 8, <u64>frame | ((pte & PTE_W) != 0 ? IOTLB_W : 0));
      store<u64>(e + 16, gpa);
      store<u64>(e, page + 1);
    }
  }
  // Every write is logged (the dirty log may have been cleared since the translation was cached) and makes
  // blocks decoded from the page revalidate.
  if (write) { markDirty(gpa); codeWritten(frame); }
  LAST_GPA = gpa & ~<u64>0xfff;
  return frame + <usize>(iova & 0xfff);
}

/** Number of fault records the host has not consumed yet. */
export function iommuFaultsPending(): u32 { return atomic.load<u32>(IOMMU_FQ_TAIL) - load<u32>(IOMMU_FQ_HEAD); }

export { GACC_READ };
