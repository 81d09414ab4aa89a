// Address translation (the seam between the interpreter and memory): Bare, Sv39 and Sv48 stage-1 walks
// (privileged spec §4.3-4.5), the software TLB that caches va page → RAM offset, and the slow paths
// for accesses the TLB cannot serve (misses, MMIO, page-crossing, HTIF).
import { H, T, raise, excPending } from "./state";
import {
  H_PRIV, H_MSTATUS, H_SATP, H_TLB_FETCH, H_TLB_LOAD, H_TLB_STORE, H_STAT_WALKS, H_STAT_FLUSHES, H_STAT_TLB_MISSES, H_TLB_SUPER, H_SUPER_LIST, SUPER_MAX,
  TLB_BANK_BYTES, TLB_ENTRIES, TLB_STRIDE,
} from "./layout";
import {
  PRV_M, PRV_S, PRV_U, MSTATUS_MPRV, MSTATUS_MPP, MSTATUS_MPP_SHIFT, MSTATUS_SUM, MSTATUS_MXR,
  SATP_MODE_SHIFT, SATP_MODE_SV39, SATP_MODE_SV48, SATP_PPN_MASK,
  PTE_V, PTE_R, PTE_W, PTE_X, PTE_U, PTE_A, PTE_D, PTE_PPN_SHIFT, PTE_PPN_MASK, PTE_RESERVED_MASK,
  CAUSE_FETCH_ACCESS, CAUSE_LOAD_ACCESS, CAUSE_STORE_ACCESS,
  CAUSE_FETCH_PAGE_FAULT, CAUSE_LOAD_PAGE_FAULT, CAUSE_STORE_PAGE_FAULT,
} from "./riscv";
import { ramPtr, ramPtrFor, isDevice, mmioRead, mmioWrite, ramStore, isTohostPage } from "./bus";
import { GACC_READ, GACC_WRITE, GACC_EXEC, gpaPeek } from "./gstage";
import { markDirty } from "./dirty";
import { codeWritten } from "./layout";
import { pmpCheck } from "./pmp";

export const ACC_FETCH: u32 = 0;
export const ACC_LOAD: u32 = 1;
export const ACC_STORE: u32 = 2; // stores and AMOs

// TLB banks: [access type][U=0, S=1, M=2, S with SUM=3]. S-mode data accesses with mstatus.SUM set get their own
// bank, so the kernel toggling SUM around every user copy (Linux does) switches banks instead of flushing.
export const TLB_BANKS: u32 = 12;
@inline function bank(acc: u32, prv: u32, sum: bool): usize {
  const idx: u32 = prv == PRV_M ? 2 : prv == PRV_S && sum ? 3 : prv;
  return T + (<usize>(acc * 4 + idx)) * TLB_BANK_BYTES;
}

/** Privilege used for data accesses: MPRV makes M-mode loads and stores use MPP's (§3.1.6.3). */
@inline export function dataPriv(): u32 {
  const prv = load<u32>(H + H_PRIV);
  const ms = load<u64>(H + H_MSTATUS);
  if (prv == PRV_M && (ms & MSTATUS_MPRV) != 0) return <u32>((ms & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
  return prv;
}

/** Points the interpreter's fetch/load/store TLB banks at the current effective privileges. */
export function tlbSelect(): void {
  const prv = load<u32>(H + H_PRIV);
  const dprv = dataPriv();
  const sum = (load<u64>(H + H_MSTATUS) & MSTATUS_SUM) != 0;
  store<u32>(H + H_TLB_FETCH, <u32>bank(ACC_FETCH, prv, false)); // SUM never lets S fetch from U pages
  store<u32>(H + H_TLB_LOAD, <u32>bank(ACC_LOAD, dprv, sum));
  store<u32>(H + H_TLB_STORE, <u32>bank(ACC_STORE, dprv, sum));
}

/** Invalidates every TLB entry of the current hart (sfence.vma, satp and mstatus changes). */
export function tlbFlush(): void {
  memory.fill(T, 0xff, TLB_STRIDE);
  store<u32>(H + H_TLB_SUPER, 0);
  store<u64>(H + H_STAT_FLUSHES, load<u64>(H + H_STAT_FLUSHES) + 1);
}

@inline function faultCause(acc: u32, page: bool): u64 {
  if (page) return acc == ACC_FETCH ? CAUSE_FETCH_PAGE_FAULT : acc == ACC_LOAD ? CAUSE_LOAD_PAGE_FAULT : CAUSE_STORE_PAGE_FAULT;
  return acc == ACC_FETCH ? CAUSE_FETCH_ACCESS : acc == ACC_LOAD ? CAUSE_LOAD_ACCESS : CAUSE_STORE_ACCESS;
}

/** Remembers that TLB entries were made from the superpage containing va (level 1: 2 MiB, 2: 1 GiB, 3: 512 GiB). */
function recordSuperpage(va: u64, level: i32): void {
  const shift = 12 + 9 * <u64>level;
  const key = ((va >> shift) << shift) | <u64>shift;
  const n = load<u32>(H + H_TLB_SUPER);
  const m = n < SUPER_MAX ? n : SUPER_MAX;
  for (let i: u32 = 0; i < m; i++) if (load<u64>(H + H_SUPER_LIST + (<usize>i << 3)) == key) return;
  if (n < SUPER_MAX) store<u64>(H + H_SUPER_LIST + (<usize>n << 3), key);
  store<u32>(H + H_TLB_SUPER, n < SUPER_MAX ? n + 1 : SUPER_MAX + 1);
}

/** True if va lies in a superpage that TLB entries were made from (or the record overflowed). */
function inRecordedSuperpage(va: u64): bool {
  const n = load<u32>(H + H_TLB_SUPER);
  if (n > SUPER_MAX) return true;
  for (let i: u32 = 0; i < n; i++) {
    const key = load<u64>(H + H_SUPER_LIST + (<usize>i << 3));
    const shift = key & 63;
    if ((va >> shift) == (key >> shift)) return true;
  }
  return false;
}

/**
 * sfence.vma with an address (§4.2.1): drops the entries for va's page from every bank. If va lies in a superpage
 * that entries were made from, its leaf PTE covers other 4 KiB pages too, so the whole TLB is flushed instead.
 */
export function tlbFlushPage(va: u64): void {
  if (inRecordedSuperpage(va)) { tlbFlush(); return; }
  const tag = va & ~<u64>0xfff;
  const idx = <usize>(<u32>(va >> 12) & (TLB_ENTRIES - 1)) << 4;
  for (let b: usize = 0; b < <usize>TLB_BANKS; b++) {
    const e = T + b * TLB_BANK_BYTES + idx;
    if (load<u64>(e) == tag) store<u64>(e, 0xffff_ffff_ffff_ffff);
  }
}

/** Raises the access-fault exception for `acc` at `va`. */
export function accessFault(acc: u32, va: u64): void { raise(faultCause(acc, false), va); }

/**
 * Translates va for an access by privilege prv. Returns the physical address, or raises and returns 0
 * (check excPending()). Walk (§4.3.2): each level indexes the table with 9 VPN bits; a PTE with R or X is a
 * leaf; A and D are set by the walker (Svadu behaviour), so the TLB only caches pages whose bits are set.
 */
export function translate(va: u64, acc: u32, prv: u32): u64 {
  for (let tries = 0; tries < 64; tries++) {
    WALK_RETRY = false;
    const pa = walk(va, acc, prv);
    if (!WALK_RETRY) return pa;
  }
  // Another hart keeps rewriting this PTE: report a page fault; the guest retries the access.
  raise(faultCause(acc, true), va);
  return 0;
}

/** Set by walk() when a concurrent PTE change made its A/D update fail: translate() walks again. */
let WALK_RETRY: bool = false;

function walk(va: u64, acc: u32, prv: u32): u64 {
  const satp = load<u64>(H + H_SATP);
  const mode = <u32>(satp >> SATP_MODE_SHIFT);
  LAST_WALK_LEVEL = 0;
  if (prv == PRV_M || mode == 0) return va;
  const levels: i32 = mode == SATP_MODE_SV48 ? 4 : 3;
  // The unused upper bits must equal the top valid bit (§4.4.1): otherwise a page fault.
  const vaBits = 12 + 9 * <u64>levels;
  const top = <i64>va >> (vaBits - 1);
  if (top != 0 && top != -1) { raise(faultCause(acc, true), va); return 0; }
  store<u64>(H + H_STAT_WALKS, load<u64>(H + H_STAT_WALKS) + 1);
  let a = (satp & SATP_PPN_MASK) << 12;
  const ms = load<u64>(H + H_MSTATUS);
  for (let i = levels - 1; i >= 0; i--) {
    const pteAddr = a + (((va >> (12 + 9 * <u64>i)) & 0x1ff) << 3);
    const p = ramPtr(pteAddr, 8);
    // Page-table reads are S-level implicit accesses, subject to PMP (§3.7.1).
    if (p == 0 || !pmpCheck(pteAddr, 8, ACC_LOAD, PRV_S)) { raise(faultCause(acc, false), va); return 0; }
    let pte = load<u64>(p);
    if ((pte & PTE_V) == 0 || ((pte & PTE_R) == 0 && (pte & PTE_W) != 0) || (pte & PTE_RESERVED_MASK) != 0) break;
    if ((pte & (PTE_R | PTE_X)) == 0) {
      // Pointer to the next level; A, D and U must be clear in non-leaf PTEs (§4.3.1).
      if (i == 0 || (pte & (PTE_A | PTE_D | PTE_U)) != 0) break;
      a = ((pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK) << 12;
      continue;
    }
    // Leaf: permission checks (§4.3.2 step 5).
    if (prv == PRV_U) { if ((pte & PTE_U) == 0) break; }
    else if ((pte & PTE_U) != 0) { if (acc == ACC_FETCH || (ms & MSTATUS_SUM) == 0) break; }
    if (acc == ACC_FETCH) { if ((pte & PTE_X) == 0) break; }
    else if (acc == ACC_LOAD) { if ((pte & PTE_R) == 0 && !((ms & MSTATUS_MXR) != 0 && (pte & PTE_X) != 0)) break; }
    else if ((pte & PTE_W) == 0) break;
    const ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
    // A misaligned superpage is a page fault (§4.3.2 step 6).
    const lowMask: u64 = (<u64>1 << (9 * <u64>i)) - 1;
    if ((ppn & lowMask) != 0) break;
    const need = PTE_A | (acc == ACC_STORE ? PTE_D : 0);
    if ((pte & need) != need) {
      // Hardware A/D update: a write to the page table, so the G-stage must allow it and the page is dirtied.
      const pw = ramPtrFor(pteAddr, 8, GACC_WRITE);
      if (pw == 0) { raise(faultCause(acc, false), va); return 0; }
      // Atomically (§4.3.2 step 7: the update must be atomic with respect to other accesses to the PTE): if
      // another hart changed the PTE since it was read, the walk starts over.
      if (atomic.cmpxchg<u64>(pw, pte, pte | need) != pte) { WALK_RETRY = true; return 0; }
      pte |= need;
      markDirty(pteAddr);
      codeWritten(pw);
    }
    LAST_WALK_LEVEL = i;
    return ((ppn & ~lowMask) << 12) | (va & ((lowMask << 12) | 0xfff));
  }
  raise(faultCause(acc, true), va);
  return 0;
}

/** Level of the leaf found by the last successful walk (0: 4 KiB page, 1+: superpage). */
export let LAST_WALK_LEVEL: i32 = 0;

/** False after fill() declined to cache a page (PMP grants only part of it): the fetch loop must not cache it either. */
export let LAST_FILL_CACHED: bool = false;

/** Inserts va's page into the given bank if it is plain RAM; returns the RAM pointer of va (0 if not RAM). */
function fill(bankPtr: usize, va: u64, pa: u64, acc: u32, prv: u32): usize {
  const pagePa = pa & ~<u64>0xfff;
  const p = ramPtrFor(pagePa, 4096, acc == ACC_FETCH ? GACC_EXEC : acc == ACC_LOAD ? GACC_READ : GACC_WRITE);
  LAST_FILL_CACHED = false;
  if (p == 0) return 0;
  // A store-TLB entry lets later stores bypass every check, so the page counts as written from now on (dirty.ts).
  if (acc == ACC_STORE) markDirty(pagePa);
  // Only pages that PMP permits whole, and not the HTIF tohost page for stores, are cached.
  if (!pmpCheck(pagePa, 4096, acc, prv) || (acc == ACC_STORE && isTohostPage(pagePa))) return p + <usize>(pa & 0xfff);
  const vpn = va >> 12;
  const e = bankPtr + (<usize>(<u32>vpn & (TLB_ENTRIES - 1)) << 4);
  if (LAST_WALK_LEVEL > 0) recordSuperpage(va, LAST_WALK_LEVEL);
  store<u64>(e, vpn << 12); // tag: the page's virtual address (see tlbPtr in hart.ts)
  store<u64>(e, <u64>p - (vpn << 12), 8);
  LAST_FILL_CACHED = true;
  return p + <usize>(pa & 0xfff);
}

/** Loads `size` bytes (1, 2, 4, 8) at va, zero-extended. Raises on fault (check excPending()). */
export function loadSlow(va: u64, size: u32): u64 {
  store<u64>(H + H_STAT_TLB_MISSES, load<u64>(H + H_STAT_TLB_MISSES) + 1);
  const prv = dataPriv();
  if (((va & 0xfff) + <u64>size) > 4096) {
    // Crosses a page: translate both pages first, then read byte by byte (misaligned access is performed).
    let v: u64 = 0;
    for (let i: u32 = 0; i < size; i++) {
      const b = loadSlowByte(va + <u64>i, prv);
      if (excPending()) return 0;
      v |= b << (<u64>i << 3);
    }
    return v;
  }
  const pa = translate(va, ACC_LOAD, prv);
  if (excPending()) return 0;
  if (!pmpCheck(pa, <u64>size, ACC_LOAD, prv)) { accessFault(ACC_LOAD, va); return 0; }
  const p = fill(load<u32>(H + H_TLB_LOAD), va, pa, ACC_LOAD, prv);
  if (p != 0) {
    if (size == 1) return <u64>load<u8>(p);
    if (size == 2) return <u64>load<u16>(p);
    if (size == 4) return <u64>load<u32>(p);
    return load<u64>(p);
  }
  if (isDevice(pa)) return mmioRead(pa, size);
  accessFault(ACC_LOAD, va);
  return 0;
}

function loadSlowByte(va: u64, prv: u32): u64 {
  const pa = translate(va, ACC_LOAD, prv);
  if (excPending()) return 0;
  if (!pmpCheck(pa, 1, ACC_LOAD, prv)) { accessFault(ACC_LOAD, va); return 0; }
  const p = ramPtr(pa, 1);
  if (p != 0) return <u64>load<u8>(p);
  if (isDevice(pa)) return mmioRead(pa, 1);
  accessFault(ACC_LOAD, va);
  return 0;
}

/** Stores `size` bytes at va. Raises on fault (check excPending()); nothing is written when it faults. */
export function storeSlow(va: u64, size: u32, val: u64): void {
  store<u64>(H + H_STAT_TLB_MISSES, load<u64>(H + H_STAT_TLB_MISSES) + 1);
  const prv = dataPriv();
  if (((va & 0xfff) + <u64>size) > 4096) {
    // Crosses a page: check both translations before writing any byte.
    const last = va + <u64>size - 1;
    const pa0 = translate(va, ACC_STORE, prv);
    if (excPending()) return;
    const pa1 = translate(last & ~<u64>0xfff, ACC_STORE, prv); // a fault reports the start of the second part
    if (excPending()) return;
    const n0 = 4096 - (va & 0xfff);
    if ((ramPtrFor(pa0, 1, GACC_WRITE) == 0 && !isDevice(pa0)) || !pmpCheck(pa0, n0, ACC_STORE, prv)) { accessFault(ACC_STORE, va); return; }
    const pa1p = pa1 & ~<u64>0xfff;
    if ((ramPtrFor(pa1, 1, GACC_WRITE) == 0 && !isDevice(pa1)) || !pmpCheck(pa1p, <u64>size - n0, ACC_STORE, prv)) {
      accessFault(ACC_STORE, last & ~<u64>0xfff); return;
    }
    for (let i: u32 = 0; i < size; i++) {
      const a = va + <u64>i;
      const pa = (a >> 12) == (va >> 12) ? pa0 + <u64>i : (pa1 & ~<u64>0xfff) + (a & 0xfff);
      const b = (val >> (<u64>i << 3)) & 0xff;
      if (!ramStore(pa, 1, b)) mmioWrite(pa, 1, b);
    }
    return;
  }
  const pa = translate(va, ACC_STORE, prv);
  if (excPending()) return;
  if (!pmpCheck(pa, <u64>size, ACC_STORE, prv)) { accessFault(ACC_STORE, va); return; }
  const p = fill(load<u32>(H + H_TLB_STORE), va, pa, ACC_STORE, prv);
  if (p != 0) { ramStore(pa, size, val); return; }
  if (isDevice(pa)) { mmioWrite(pa, size, val); return; }
  accessFault(ACC_STORE, va);
}

/**
 * Translates va for an atomic (LR/SC/AMO) and returns its RAM pointer. Atomics to MMIO are access faults.
 * Raises and returns 0 on fault. The caller has checked natural alignment.
 */
export function amoPtr(va: u64, size: u32, acc: u32): usize {
  store<u64>(H + H_STAT_TLB_MISSES, load<u64>(H + H_STAT_TLB_MISSES) + 1); // atomics always translate
  const prv = dataPriv();
  const pa = translate(va, acc, prv);
  if (excPending()) return 0;
  const p = ramPtrFor(pa, size, acc == ACC_STORE ? GACC_WRITE : GACC_READ);
  if (p == 0 || !pmpCheck(pa, <u64>size, acc, prv)) { accessFault(acc, va); return 0; }
  if (acc == ACC_STORE) markDirty(pa);
  return p;
}

/**
 * Fetch slow path: translates the page of pc for execution and returns delta = ptr - va for that page,
 * or raises (instruction access/page fault). Only RAM is executable.
 */
export function fetchPage(pc: u64): u64 {
  const prv = load<u32>(H + H_PRIV);
  const pa = translate(pc, ACC_FETCH, prv);
  if (excPending()) return 0;
  // A fetch needs PMP execute permission for its first parcel; the fetch cache covers only whole-page grants.
  if (!pmpCheck(pa, 2, ACC_FETCH, prv)) { accessFault(ACC_FETCH, pc); return 0; }
  const p = fill(load<u32>(H + H_TLB_FETCH), pc, pa, ACC_FETCH, prv);
  if (p == 0) { accessFault(ACC_FETCH, pc); return 0; }
  return <u64>p - pc;
}

/** Reads the instruction parcel (16 bits) at pc without side effects; for the debugger and tracer. 0 if unmapped. */
export function peekInsn16(pc: u64): u32 {
  const pa = translate(pc, ACC_FETCH, load<u32>(H + H_PRIV));
  if (excPending()) return 0;
  const p = (pa & 0xfff) <= 0xffe ? gpaPeek(pa) : 0;
  return p == 0 ? 0 : <u32>load<u16>(p);
}

export { PRV_S, PRV_U };
