// The core's exports: every function and constant the host may use. The host's matching file is host/core-exports.ts;
// test/boundary.test.ts fails when an export appears that is not listed there. Only numbers cross; 64-bit values
// cross as f64 (exact below 2^53) or through memory at the offsets exported here.
import * as L from "./layout";
import * as R from "./riscv";
import * as S from "./stop";
import { H, T, setHart, clearStop, clearEvents, STOP, EVENTS, EV_EXC, EXC_CAUSE } from "./state";
import { framesInit } from "./frames";
import { gstageInit, gpaToPtr, gpaPeek, GACC_READ } from "./gstage";
import { dirtyClear, dirtyBytes, markDirty } from "./dirty";
import { execute } from "./hart";
import { checkInterrupts } from "./trap";
import { clintReset, clintUpdate, mtimeNow, CLINT_BASE } from "./devices/clint";
import { hostNowTicks } from "./imports";
import { uartReset, uartUpdate, UART_RX_HEAD, UART_RX_TAIL, UART_RX_DATA, UART_RX_SIZE, UART_BASE, UART_IRQ } from "./devices/uart";
import { plicReset, PLIC_BASE, PLIC_NDEV } from "./devices/plic";
import { TEST_BASE } from "./devices/testdev";
import { RTC_BASE } from "./devices/rtc";
import { tlbFlush, tlbSelect, peekInsn16, translate } from "./mmu";
import { clearExc } from "./state";
import { expandCompressed } from "./rvc";
import { blockFlush } from "./block";
import { codeWritten } from "./layout";
import { dirtyTake } from "./dirty";
import { iommuAttach, iommuMap, iommuInvalidateDomain, iommuTranslate, iommuFaultsPending } from "./iommu";
import * as IO from "./iommu";
import {
  virtioSetup, virtioReset, virtioConfigChanged, virtioUpdate, virtioBroken, virtioInterrupt, ISR_USED,
  VIRTIO_MMIO_BASE, VIRTIO_MMIO_STRIDE, VIRTIO_IRQ_BASE,
} from "./virtio/mmio";
import { vqPop, vqPush } from "./virtio/queue";
import * as Q from "./virtio/queue";
import * as SN from "./snapshot";
import * as LZ from "./lazy";

// ---- constants: layout offsets, enums ----
export const ABI_VERSION: u32 = 1;
export const LAYOUT_HART_BASE: u32 = <u32>L.HART_BASE;
export const LAYOUT_HART_STRIDE: u32 = <u32>L.HART_STRIDE;
export const LAYOUT_DIRTY_BITMAP: u32 = <u32>L.DIRTY_BITMAP;
export const HART_X: u32 = <u32>L.H_X;
export const HART_F: u32 = <u32>L.H_F;
export const HART_PC: u32 = <u32>L.H_PC;
export const HART_PRIV: u32 = <u32>L.H_PRIV;
export const HART_WFI: u32 = <u32>L.H_WFI;
export const HART_INSTRET: u32 = <u32>L.H_INSTRET;
export const HART_FCSR: u32 = <u32>L.H_FCSR;
export const HART_MSTATUS: u32 = <u32>L.H_MSTATUS;
export const HART_MCAUSE: u32 = <u32>L.H_MCAUSE;
export const HART_MEPC: u32 = <u32>L.H_MEPC;
export const HART_MTVAL: u32 = <u32>L.H_MTVAL;
export const HART_SCAUSE: u32 = <u32>L.H_SCAUSE;
export const HART_SEPC: u32 = <u32>L.H_SEPC;
export const HART_STVAL: u32 = <u32>L.H_STVAL;
export const HART_SATP: u32 = <u32>L.H_SATP;
export const HART_STAT_MEM_ACCESSES: u32 = <u32>L.H_STAT_MEM_ACCESSES;
export const HART_STAT_TLB_MISSES: u32 = <u32>L.H_STAT_TLB_MISSES;
export const HART_STAT_WALKS: u32 = <u32>L.H_STAT_WALKS;
export const HART_STAT_FLUSHES: u32 = <u32>L.H_STAT_FLUSHES;
export const HART_STAT_TRAPS: u32 = <u32>L.H_STAT_TRAPS;
export const HART_STAT_MMIO: u32 = <u32>L.H_STAT_MMIO;
export const VM_EXIT_KIND: u32 = <u32>L.VM_EXIT_KIND;
export const VM_EXIT_CODE: u32 = <u32>L.VM_EXIT_CODE;
export const VM_HTIF_VALUE: u32 = <u32>L.VM_HTIF_VALUE;
export const VM_FAULT_ADDR: u32 = <u32>L.VM_FAULT_ADDR;
export const VM_FAULT_CAUSE: u32 = <u32>L.VM_FAULT_CAUSE;
export const CONSOLE_HEAD: u32 = <u32>L.CONSOLE_HEAD;
export const CONSOLE_TAIL: u32 = <u32>L.CONSOLE_TAIL;
export const CONSOLE_DATA: u32 = <u32>L.CONSOLE_DATA;
export const CONSOLE_SIZE: u32 = L.CONSOLE_SIZE;
export const STOP_BUDGET: u32 = S.STOP_BUDGET;
export const STOP_HALT: u32 = S.STOP_HALT;
export const STOP_WFI: u32 = S.STOP_WFI;
export const STOP_CONSOLE: u32 = S.STOP_CONSOLE;
export const STOP_HTIF: u32 = S.STOP_HTIF;
export const STOP_FATAL: u32 = S.STOP_FATAL;
export const STOP_IO: u32 = S.STOP_IO;
export const EXIT_KIND_NONE: u32 = L.EXIT_KIND_NONE;
export const EXIT_KIND_POWEROFF: u32 = L.EXIT_KIND_POWEROFF;
export const EXIT_KIND_RESET: u32 = L.EXIT_KIND_RESET;
export const EXIT_KIND_HTIF: u32 = L.EXIT_KIND_HTIF;
export const TIME_MODE_HOST: u32 = L.TIME_MODE_HOST;
export const TIME_MODE_INSNS: u32 = L.TIME_MODE_INSNS;

// Instructions per inner-loop call: bounds the latency of timer interrupts in host-time mode (~0.2 ms).
const CHUNK: i32 = 1 << 16;

/** Bytes of linear memory the host must give a VM with this much RAM and ROM (f64: exact integers). */
export function memory_bytes_needed(ramBytes: f64, romBytes: f64): f64 {
  return <f64>L.memoryBytesNeeded(<u64>ramBytes, <u64>romBytes);
}

/**
 * Initializes the VM block, the frame pool, the G-stage and every hart (reset state, M-mode, pc = resetPc).
 * ramBase/ramBytes/resetPc are f64 (exact integers). Returns 0, or -1 if the arguments are invalid or the memory
 * is smaller than memory_bytes_needed(ramBytes, 0).
 */
export function vm_init(nharts: u32, ramBase: f64, ramBytes: f64, timeMode: u32, insnsPerTick: u32, resetPc: f64): i32 {
  if (nharts == 0 || nharts > L.MAX_HARTS || ramBytes <= 0 || ramBytes % 4096 != 0 || ramBase % 4096 != 0) return -1;
  if (ramBase + ramBytes > <f64>(<u64>1 << 41)) return -1; // beyond Sv39x4's guest-physical space
  // Frames are handed out from memory assumed never used (hence zero): a memory is initialized once. A VM that
  // needs a fresh start gets a new memory.
  if (load<u32>(L.VM_MAGIC) == L.VM_MAGIC_VALUE) return -1;
  const memBytes = <f64>memory.size() * 65536;
  if (<f64>L.memoryBytesNeeded(<u64>ramBytes, 0) > memBytes) return -1;
  // Only the VM block, the console ring and the hart blocks need clearing here; each configured hart's TLB and
  // block cache are reset by hart_reset. The RVC table and code-page generations need no clearing: the first is a
  // pure function of the parcel, and a stale generation only causes a revalidation. Untouched memory stays
  // uncommitted, which keeps VM creation fast and its footprint proportional to use.
  memory.fill(L.VM_BASE, 0, L.TLB_BASE - L.VM_BASE);
  store<u32>(L.VM_MAGIC, L.VM_MAGIC_VALUE);
  store<u64>(L.VM_RAM_BASE, <u64>ramBase);
  store<u64>(L.VM_RAM_SIZE, <u64>ramBytes);
  store<u32>(L.VM_NHARTS, nharts);
  store<u32>(L.VM_TIME_MODE, timeMode);
  store<u32>(L.VM_INSNS_PER_TICK, insnsPerTick == 0 ? 1 : insnsPerTick);
  store<f64>(L.VM_TIME_OFFSET, timeMode == L.TIME_MODE_HOST ? hostNowTicks() : 0); // mtime starts at 0, as on a fresh board
  framesInit(<u32>L.FRAME_POOL, memBytes >= 4294967296.0 ? 0xffff_f000 : <u32>memBytes);
  if (!gstageInit()) return -1;
  dirtyClear();
  clintReset();
  uartReset();
  plicReset();
  for (let i: u32 = 0; i < nharts; i++) hart_reset(i, resetPc);
  return 0;
}

/**
 * Declares a read-only, executable region (a boot ROM) at guest-physical [base, base+bytes). The host then fills
 * it through gpa_ptr. Returns 0, or -1 if it overlaps RAM or the pool lacks frames.
 */
export function vm_set_rom(base: f64, bytes: f64): i32 {
  const b = <u64>base, n = <u64>bytes;
  const rb = load<u64>(L.VM_RAM_BASE), rn = load<u64>(L.VM_RAM_SIZE);
  if (n == 0 || (b & 0xfff) != 0 || b + n > (<u64>1 << 41) || (b < rb + rn && rb < b + n)) return -1;
  // The pool must still hold every RAM page promised to the guest, the ROM's pages and their tables.
  const free = <u64>(load<u32>(L.VM_FRAME_END) - load<u32>(L.VM_FRAME_NEXT)) >> 12;
  const promised = (rn >> 12) - <u64>load<u32>(L.VM_FRAMES_DATA);
  if (free < promised + (n >> 12) + 8) return -1;
  store<u64>(L.VM_ROM_BASE, b);
  store<u64>(L.VM_ROM_SIZE, n);
  return 0;
}

/**
 * Linear-memory offset of guest-physical `gpa` (within its page) for the host, or 0 if it is not frame-backed
 * memory. alloc=1 maps a RAM or ROM page on first touch (for writing images); alloc=0 never allocates (reads of
 * never-touched memory are zero). The host must call mem_written after writing through the pointer.
 */
export function gpa_ptr(gpa: f64, alloc: u32): u32 {
  const g = <u64>gpa;
  if (alloc == 0) return <u32>gpaPeek(g);
  // The host writes ROM too: look it up as a read (ROM has no W), which also allocates.
  return <u32>gpaToPtr(g, GACC_READ);
}

/** Frames in use: guest pages (what = 0) or G-stage tables (what = 1). */
export function frames_used(what: u32): u32 { return load<u32>(what == 0 ? L.VM_FRAMES_DATA : L.VM_FRAMES_TABLE); }

/**
 * Bytes of the dirty log (bit i = RAM page i written since the last dirty_take), as dirty_take copies it to LAYOUT_DIRTY_COPY.
 */
export function dirty_bytes(): u32 { return dirtyBytes(); }

/** Puts hart `id` in its reset state (privileged spec §3.4) and selects it for this instance. */
export function hart_reset(id: u32, pc: f64): void {
  hart_select(id);
  memory.fill(H, 0, L.HART_STRIDE);
  store<u64>(H + L.H_PC, <u64>pc);
  store<u32>(H + L.H_PRIV, R.PRV_M);
  store<u32>(H + L.H_HARTID, id);
  store<u64>(H + L.H_MSTATUS, R.MSTATUS_XL64);
  tlbFlush();
  store<u64>(H + L.H_STAT_FLUSHES, 0);
  tlbSelect();
  blockFlush(L.bcPtr(id));
}

/** Makes this instance run hart `id`; returns the hart block's offset. */
export function hart_select(id: u32): u32 {
  setHart(L.hartPtr(id), L.tlbPtr(id));
  return <u32>H;
}

/** Sets the HTIF tohost/fromhost addresses (0 = none). Stores to that page then take the slow path. */
export function set_htif(tohost: f64, fromhost: f64): void {
  store<u64>(L.VM_TOHOST, <u64>tohost);
  store<u64>(L.VM_FROMHOST, <u64>fromhost);
  tlbFlush();
}

/**
 * Runs the selected hart for up to `budget` instructions. Returns STOP_*: the budget is spent, or something needs
 * the host. Interrupts are checked between chunks and whenever an instruction changes interrupt state; in
 * deterministic time mode a chunk ends exactly at the timer deadline, so runs are reproducible.
 */
export function run(budget: i32): u32 {
  clearStop();
  const h = H;
  let left = budget;
  while (left > 0) {
    clearEvents();
    clintUpdate();
    uartUpdate(); // input may have arrived from the host since the last chunk
    virtioUpdate(); // and device interrupts from I/O threads
    checkInterrupts();
    if (load<u32>(h + L.H_WFI) != 0) {
      if ((L.mipOf(h) & load<u64>(h + L.H_MIE)) != 0) store<u32>(h + L.H_WFI, 0);
      else if (!skipIdle()) return S.STOP_WFI;
      else continue;
    }
    let chunk = left < CHUNK ? left : CHUNK;
    if (load<u32>(L.VM_TIME_MODE) == L.TIME_MODE_INSNS) chunk = limitToDeadline(chunk);
    clearEvents();
    left -= execute(chunk);
    if (STOP != 0) return STOP;
  }
  return S.STOP_BUDGET;
}

/** The selected hart's CLINT mtimecmp. */
@inline function hartTimerCmp(): u64 { return load<u64>(L.VM_CLINT_MTIMECMP + (<usize>load<u32>(H + L.H_HARTID) << 3)); }

/**
 * The mtime at which the selected hart's next timer interrupt becomes pending: the CLINT's mtimecmp, or the
 * built-in SBI's supervisor timer when it is earlier. Deterministic runs end chunks exactly there, so interrupts
 * are taken at the same instruction however the run is sliced (a restored snapshot is sliced differently).
 */
function hartDeadline(): u64 {
  let cmp = hartTimerCmp();
  if (load<u32>(L.VM_SBI) != 0) {
    const s = load<u64>(L.VM_SBI_STIMECMP + (<usize>load<u32>(H + L.H_HARTID) << 3));
    if (s < cmp) cmp = s;
  }
  return cmp;
}

/** Deterministic mode: how many instructions until this hart's timer fires (at least 1, at most `chunk`). */
function limitToDeadline(chunk: i32): i32 {
  const per = <u64>load<u32>(L.VM_INSNS_PER_TICK);
  const cmp = hartDeadline();
  if (cmp >= 0xffff_ffff_ffff_ffff / per) return chunk;
  const target = cmp * per;
  const now = load<u64>(H + L.H_INSTRET) + load<u64>(L.VM_IDLE_INSNS);
  if (target <= now) return chunk;
  const d = target - now;
  return d < <u64>chunk ? <i32>d : chunk;
}

/**
 * Deterministic time: a hart idling in WFI with its timer armed skips ahead to the deadline (time advances by
 * crediting idle instruction-times, not by retiring instructions). Returns false when nothing can wake it
 * (host-time mode, or no timer armed): the host then waits.
 */
function skipIdle(): bool {
  if (load<u32>(L.VM_TIME_MODE) != L.TIME_MODE_INSNS) return false;
  const per = <u64>load<u32>(L.VM_INSNS_PER_TICK);
  const cmp = hartDeadline();
  if (cmp >= 0xffff_ffff_ffff_ffff / per) return false;
  const now = load<u64>(H + L.H_INSTRET) + load<u64>(L.VM_IDLE_INSNS);
  const target = cmp * per;
  // Already due: the timer is pending but masked, so skipping time cannot wake the hart.
  if (target <= now) return false;
  store<u64>(L.VM_IDLE_INSNS, load<u64>(L.VM_IDLE_INSNS) + (target - now));
  return true;
}

/**
 * Ticks (10 MHz) until a timer interrupt that can wake the selected hart becomes pending (0: already due), or -1
 * if none can: none armed with its interrupt enabled in mie. For the host's WFI sleep.
 */
export function next_timer_ticks(): f64 {
  const id = <usize>load<u32>(H + L.H_HARTID);
  const mie = load<u64>(H + L.H_MIE);
  // Only timers whose interrupt is enabled in mie can end a WFI (§3.3.3): the CLINT's (MTIE) and, with the
  // built-in SBI, the supervisor timer (STIE).
  let cmp: u64 = 0xffff_ffff_ffff_ffff;
  if ((mie & R.MIP_MTIP) != 0) cmp = hartTimerCmp();
  if (load<u32>(L.VM_SBI) != 0 && (mie & R.MIP_STIP) != 0) {
    const s = load<u64>(L.VM_SBI_STIMECMP + (id << 3));
    if (s < cmp) cmp = s;
  }
  if (cmp == 0xffff_ffff_ffff_ffff) return -1;
  const now = mtimeNow();
  return cmp <= now ? 0 : <f64>(cmp - now); // 0: due now, the next run() takes it
}

/** The instruction at the selected hart's pc (32-bit, or 16-bit compressed zero-extended); 0 if not fetchable. */
export function insn_at_pc(): u32 {
  const pc = load<u64>(H + L.H_PC);
  const lo = peekInsn16(pc);
  let r = lo;
  if ((EVENTS & EV_EXC) == 0 && (lo & 3) == 3) r |= peekInsn16(pc + 2) << 16;
  const bad = (EVENTS & EV_EXC) != 0;
  clearExc();
  return bad ? 0 : r;
}

/** Invalidates the selected hart's TLB (after the host changed guest memory mappings or page tables). */
export function tlb_flush(): void { tlbFlush(); }

/** The 32-bit equivalent of a compressed instruction (0 if illegal); lets the tracer decode without duplicating RVC. */
export function expand_c(raw: u32): u32 { return expandCompressed(raw & 0xffff); }

/**
 * The host wrote guest-physical [gpa, gpa+len) (an image, a DMA buffer, a restored page): the pages are marked
 * dirty, and blocks decoded from them are revalidated before they run again.
 */
export function gpa_written(gpa: f64, len: f64): void {
  if (len <= 0) return;
  if (len > <f64>load<u64>(L.VM_RAM_SIZE) + 8192) len = <f64>load<u64>(L.VM_RAM_SIZE) + 8192; // beyond RAM nothing is frame-backed
  const start = <u64>gpa & ~<u64>0xfff;
  const end = <u64>gpa + <u64>len - 1;
  for (let g = start; g <= end; g += 4096) {
    const p = gpaPeek(g);
    if (p == 0) continue;
    markDirty(g);
    codeWritten(p);
  }
}

/**
 * Stage-1 translation of the 64-bit virtual address vaHi:vaLo for an access (0 fetch, 1 load, 2 store/AMO) at
 * privilege prv (0 U, 1 S, 3 M), exactly as the selected hart performs it (satp, SUM, MXR, A/D updates, PMP on
 * the page-table reads; no TLB, no PMP check of the final address). Returns the guest-physical address, or -(cause + 1) for the exception it raises. For tests/debuggers.
 */
export function translate_probe(vaLo: u32, vaHi: u32, acc: u32, prv: u32): f64 {
  clearExc();
  const pa = translate((<u64>vaHi << 32) | <u64>vaLo, acc, prv);
  if ((EVENTS & EV_EXC) != 0) { clearExc(); return -(<f64>EXC_CAUSE + 1); }
  return <f64>pa;
}

/**
 * Direct boot (how KVM starts guests): the core becomes the SBI implementation and hart `id` starts an S-mode
 * kernel at `entry` with a0 = hart id and a1 = the device tree's guest-physical address (Linux boot protocol).
 * M-mode state is set as firmware would leave it: exceptions and S interrupts delegated, counters readable,
 * PMP granting everything.
 */
export function vm_direct_boot(id: u32, entry: f64, dtb: f64): void {
  store<u32>(L.VM_SBI, 1);
  hart_reset(id, entry);
  const h = H;
  store<u64>(h + L.H_X + (10 << 3), <u64>id);
  store<u64>(h + L.H_X + (11 << 3), <u64>dtb);
  // Every delegable exception except ecall from S (the SBI interface), and the S-level interrupts.
  store<u64>(h + L.H_MEDELEG, R.MEDELEG_WRITABLE & ~(<u64>1 << R.CAUSE_SUPERVISOR_ECALL));
  store<u64>(h + L.H_MIDELEG, R.S_INTERRUPTS);
  store<u64>(h + L.H_MCOUNTEREN, 7);
  store<u64>(h + L.H_PMPADDR, 0x003f_ffff_ffff_ffff); // NAPOT over the whole physical space
  store<u8>(h + L.H_PMPCFG, 0x1f);                     // A=NAPOT, R, W, X
  store<u32>(h + L.H_PMP_ACTIVE, 1);
  store<u32>(h + L.H_PRIV, R.PRV_S);
  tlbFlush();
  tlbSelect();
}

/**
 * Offers console input to the UART: copies up to len bytes from ptr into its receive FIFO and returns how many
 * were taken (the rest must be offered again later). The receive interrupt follows at the next chunk.
 */
export function uart_input(ptr: u32, len: u32): u32 {
  let n: u32 = 0;
  while (n < len) {
    const head = load<u32>(UART_RX_HEAD);
    if (head - load<u32>(UART_RX_TAIL) >= UART_RX_SIZE) break;
    store<u8>(UART_RX_DATA + <usize>(head & (UART_RX_SIZE - 1)), load<u8>(<usize>ptr + <usize>n));
    store<u32>(UART_RX_HEAD, head + 1);
    n++;
  }
  return n;
}

/** Scratch area the host may use to pass byte strings to uart_input (INPUT_SCRATCH_BYTES long). */
export const INPUT_SCRATCH: u32 = <u32>L.INPUT_SCRATCH;
export const INPUT_SCRATCH_BYTES: u32 = 256;

/** Sets the goldfish RTC's wall-clock origin: Unix time in ns at mtime 0 (f64; the host passes Date.now()-based time). */
export function vm_set_rtc_epoch(ns: f64): void { store<f64>(L.VM_RTC_EPOCH_NS, ns); }

/**
 * Moves the dirty log into the host's copy at LAYOUT_DIRTY_COPY (dirty_bytes() bytes, bit i = RAM page i written
 * since the last take) and empties it; every hart's TLB is flushed so the next store to each page is logged again.
 * Atomic against DMA by I/O threads.
 */
export function dirty_take(): void {
  dirtyTake();
  const saveH = H, saveT = T;
  const n = load<u32>(L.VM_NHARTS);
  for (let i: u32 = 0; i < n; i++) { setHart(L.hartPtr(i), L.tlbPtr(i)); tlbFlush(); }
  setHart(saveH, saveT);
}
export const LAYOUT_DIRTY_COPY: u32 = <u32>L.DIRTY_COPY;

// ---- IOMMU (iommu.ts) ----
/** Device `dev`'s context: mode 0 none, 1 identity over RAM, 2 empty domain (fill with iommu_map). 0 or -1. */
export function iommu_attach(dev: u32, mode: u32): i32 { return iommuAttach(dev, mode) ? 0 : -1; }
/** Maps [iova, iova+bytes) -> guest-physical gpa in dev's domain (perm bit 0 R, bit 1 W; 0 unmaps). 0 or -1. */
export function iommu_map(dev: u32, iova: f64, gpa: f64, bytes: f64, perm: u32): i32 {
  return iommuMap(dev, <u64>iova, <u64>gpa, <u64>bytes, perm) ? 0 : -1;
}
/** IOTINVAL.VMA: drops cached translations of [iova, iova+bytes) (bytes 0: all) for every device of `domain`. */
export function iommu_invalidate(domain: u32, iova: f64, bytes: f64): void { iommuInvalidateDomain(domain, <u64>iova, <u64>bytes); }
/** Turns the IOTLB off (1) or on (0): off, every DMA access walks the tables (to measure what caching buys). */
export function iommu_set_iotlb_disabled(off: u32): void { store<u32>(L.IOMMU_CTRL, off & 1); }
/** One DMA translation by device dev (1 byte at iova): linear offset, or 0 after recording a fault. For tests. */
export function iommu_translate(dev: u32, iova: f64, write: u32): u32 { return <u32>iommuTranslate(dev, <u64>iova, write != 0); }
export function iommu_faults_pending(): u32 { return iommuFaultsPending(); }
export const IOMMU_FQ: u32 = <u32>L.IOMMU_FQ;
export const IOMMU_FQ_HEAD: u32 = <u32>L.IOMMU_FQ_HEAD;
export const IOMMU_FQ_TAIL: u32 = <u32>L.IOMMU_FQ_TAIL;
export const IOMMU_FQ_DROPPED: u32 = <u32>L.IOMMU_FQ_DROPPED;
export const IOMMU_FQ_ENTRIES: u32 = L.IOMMU_FQ_ENTRIES;
export const IOMMU_DC: u32 = <u32>L.IOMMU_DC;
export const IOMMU_DC_STRIDE: u32 = <u32>L.IOMMU_DC_STRIDE;
export const DC_STAT_XLATE: u32 = <u32>L.DC_STAT_XLATE;
export const DC_STAT_MISS: u32 = <u32>L.DC_STAT_MISS;
export const DC_STAT_FAULTS: u32 = <u32>L.DC_STAT_FAULTS;
export const IOMMU_CAUSE_READ_PAGE: u32 = IO.IOMMU_CAUSE_READ_PAGE;
export const IOMMU_CAUSE_WRITE_PAGE: u32 = IO.IOMMU_CAUSE_WRITE_PAGE;
export const IOMMU_CAUSE_READ_GUEST_PAGE: u32 = IO.IOMMU_CAUSE_READ_GUEST_PAGE;
export const IOMMU_CAUSE_WRITE_GUEST_PAGE: u32 = IO.IOMMU_CAUSE_WRITE_GUEST_PAGE;
export const IOMMU_CAUSE_READ_ACCESS: u32 = IO.IOMMU_CAUSE_READ_ACCESS;
export const IOMMU_CAUSE_WRITE_ACCESS: u32 = IO.IOMMU_CAUSE_WRITE_ACCESS;
export const IOMMU_CAUSE_DDT_INVALID: u32 = IO.IOMMU_CAUSE_DDT_INVALID;

// ---- virtio-mmio (virtio/mmio.ts, virtio/queue.ts) ----
/**
 * Puts a device in slot: virtio device type id, offered features (two u32 halves; VERSION_1 is added), nq queues
 * of at most qmax entries, cfgSize bytes of configuration space at VIRTIO_CONFIG of the slot (the host fills it).
 * syncIo 1: notifications stop run() with STOP_IO (the host serves the device on the vCPU's thread); 0: they wake
 * the thread waiting on the slot's doorbell. 0 or -1.
 */
export function virtio_setup(slot: u32, id: u32, featLo: u32, featHi: u32, nq: u32, qmax: u32, cfgSize: u32, syncIo: u32): i32 {
  return virtioSetup(slot, id, (<u64>featHi << 32) | <u64>featLo, nq, qmax, cfgSize, syncIo) ? 0 : -1;
}
/** Serving thread: the notifications since the last call (bit q: queue q; VIRTIO_NOTIFY_RESET, _DRIVER_OK). */
export function virtio_take_notify(slot: u32): u32 { return atomic.xchg<u32>(L.vtPtr(slot) + L.VT_NOTIFY, 0); }
/** Serving thread: completes the reset the driver asked for. */
export function virtio_reset(slot: u32): void { virtioReset(slot); }
/** Host: the configuration space changed. */
export function virtio_config_changed(slot: u32): void { virtioConfigChanged(slot); }
/** Serving thread: marks the device broken (DEVICE_NEEDS_RESET) with reason `why`. */
export function virtio_broken(slot: u32, why: u32): void { virtioBroken(slot, why); }
/** Serving thread: raises a used-buffer interrupt (for back ends that batch completions). */
export function virtio_interrupt(slot: u32): void { virtioInterrupt(slot, ISR_USED); }
/** Serving thread: the next chain of queue q, translated at LAYOUT_CHAIN_BASE + slot * CHAIN_STRIDE; head, -1 empty, -2 broken. */
export function vq_pop(slot: u32, q: u32): i32 { return slot < L.VIRTIO_SLOTS ? vqPop(slot, q) : -2; }
/** Serving thread: returns chain head with len bytes written; 1 if the driver was interrupted, 0 if not, -2 broken. */
export function vq_push(slot: u32, q: u32, head: u32, len: u32): i32 { return slot < L.VIRTIO_SLOTS ? vqPush(slot, q, head, len) : -2; }
// The platform's device addresses and interrupt sources (QEMU virt's), for the host's device tree: defined here once.
export const DEV_UART_BASE: u32 = <u32>UART_BASE;
export const DEV_UART_IRQ: u32 = UART_IRQ;
export const DEV_CLINT_BASE: u32 = <u32>CLINT_BASE;
export const DEV_PLIC_BASE: u32 = <u32>PLIC_BASE;
export const DEV_PLIC_NDEV: u32 = PLIC_NDEV;
export const DEV_TEST_BASE: u32 = <u32>TEST_BASE;
export const DEV_RTC_BASE: u32 = <u32>RTC_BASE;
export const VIRTIO_SLOTS: u32 = L.VIRTIO_SLOTS;
export const VIRTIO_MMIO_BASE_LO: u32 = <u32>VIRTIO_MMIO_BASE;
export const VIRTIO_MMIO_STRIDE_B: u32 = <u32>VIRTIO_MMIO_STRIDE;
export const VIRTIO_IRQ_BASE_N: u32 = VIRTIO_IRQ_BASE;
export const LAYOUT_VIRTIO_BASE: u32 = <u32>L.VIRTIO_BASE;
export const LAYOUT_VIRTIO_STRIDE: u32 = <u32>L.VIRTIO_STRIDE;
export const VT_STATUS: u32 = <u32>L.VT_STATUS;
export const VT_DRV_FEATURES: u32 = <u32>L.VT_DRV_FEATURES;
export const VT_CONFIG: u32 = <u32>L.VT_CONFIG;
export const VT_STAT_NOTIFIES: u32 = <u32>L.VT_STAT_NOTIFIES;
export const VT_STAT_IRQS: u32 = <u32>L.VT_STAT_IRQS;
export const VT_STAT_BROKEN: u32 = <u32>L.VT_STAT_BROKEN;
export const VT_NOTIFY: u32 = <u32>L.VT_NOTIFY;
export const VM_WAKE: u32 = <u32>L.VM_WAKE;
export const VM_IO_DOORBELL: u32 = <u32>L.VM_IO_DOORBELL;
export const LAYOUT_CHAIN_BASE: u32 = <u32>L.CHAIN_BASE;
export const LAYOUT_CHAIN_STRIDE: u32 = <u32>L.CHAIN_STRIDE;
export const CHAIN_HEAD: u32 = <u32>Q.CHAIN_HEAD;
export const CHAIN_NSEG: u32 = <u32>Q.CHAIN_NSEG;
export const CHAIN_FLAGS: u32 = <u32>Q.CHAIN_FLAGS;
export const CHAIN_READABLE: u32 = <u32>Q.CHAIN_READABLE;
export const CHAIN_WRITABLE: u32 = <u32>Q.CHAIN_WRITABLE;
export const CHAIN_SEGS: u32 = <u32>L.CHAIN_SEGS;
export const CHAIN_F_FAULT: u32 = Q.CHAIN_F_FAULT;
export const CHAIN_F_TOOBIG: u32 = Q.CHAIN_F_TOOBIG;
export const VIRTIO_NOTIFY_RESET: u32 = 1 << 31;
export const VIRTIO_NOTIFY_DRIVER_OK: u32 = 1 << 30;

// ---- plain-data state (snapshot.ts) ----
/** Writes the core's state (all but guest memory) to LAYOUT_STATE_BUF; returns its length. */
export function state_save(): u32 { return SN.stateSave(); }
/** Validates and applies the state at LAYOUT_STATE_BUF (len bytes): 0, or STATE_ERR_* (nothing changed). */
export function state_restore(len: u32): i32 { return SN.stateRestore(len); }
export const LAYOUT_STATE_BUF: u32 = <u32>L.STATE_BUF;
export const STATE_BUF_BYTES: u32 = L.STATE_BUF_BYTES;
export const STATE_VERSION: u32 = SN.STATE_VERSION;
export const STATE_ERR_FORMAT: i32 = SN.STATE_ERR_FORMAT;
export const STATE_ERR_MACHINE: i32 = SN.STATE_ERR_MACHINE;
export const STATE_ERR_VALUE: i32 = SN.STATE_ERR_VALUE;

// ---- lazy restore (lazy.ts) ----
/** Host: begins a lazy restore of `count` pages whose bits it set at LAYOUT_LAZY_BITMAP. 0, or -1 (RAM > 2 GiB). */
export function lazy_begin(count: u32): i32 { return LZ.lazyBegin(count) ? 0 : -1; }
/**
 * Host: takes pending page gpa for filling: clears its bit and returns the offset of a fresh frame for it (0 if
 * it was not pending). The host copies the contents there; the page is not logged dirty (it is the snapshot's).
 */
export function lazy_fill(gpa: f64): u32 {
  const g = <u64>gpa & ~<u64>0xfff;
  if (!LZ.lazyTake(g)) return 0;
  return <u32>gpaToPtr(g, GACC_READ);
}
/** The page the guest waits for (+1), 0 if none; and how many are still pending. */
export function lazy_miss(): f64 { return <f64>load<u64>(L.VM_LAZY_MISS); }
export function lazy_pending(): u32 { return load<u32>(L.VM_LAZY_PENDING); }
export const LAYOUT_LAZY_BITMAP: u32 = <u32>L.LAZY_BITMAP;
export const LAZY_BITMAP_BYTES: u32 = L.LAZY_BITMAP_BYTES;
export const STOP_PAGE: u32 = S.STOP_PAGE;
