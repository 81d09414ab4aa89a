// A VM: one shared WebAssembly.Memory holding all its state, and an instance of the core over it.
// Loads images, runs the hart in slices, and exposes registers, console output and exit status to the host.
import { WasmvisorError, ExitCode } from "./errors.js";
import { makeImports } from "./core-imports.js";
import { bindCore, type Core } from "./core-exports.js";
import { coreModule } from "./core-module.js";
import { parseElf, type ElfImage } from "./elf.js";
import type { VirtioDevices } from "./virtio/devices.js";
import type { LazyLoader } from "./snapshot/lazy.js";
import { InputQueue } from "./console-input.js";

export const DEFAULT_RAM_BASE = 0x8000_0000n;
export const DEFAULT_MEM_BYTES = 128 * 1024 * 1024;
const WASM_PAGE = 65536;
/** Wasm32 caps linear memory at 4 GiB; the core's own state sits below RAM. */
export const MAX_MEM_BYTES = 4 * 1024 * 1024 * 1024 - 2 * 1024 * 1024;

export interface VmOptions {
  /** Guest RAM in bytes (multiple of 4 KiB). */
  memBytes?: number;
  /** Guest-physical address of RAM. */
  ramBase?: bigint;
  /** Derive mtime from retired instructions instead of the host clock: runs are reproducible. */
  deterministic?: boolean;
  /** In deterministic mode: retired instructions per 10 MHz tick. */
  insnsPerTick?: number;
  /** Room for a read-only region (boot ROM) to be added with loadRom(), in bytes. */
  romBytes?: number;
}

export type StopReason = "budget" | "halt" | "wfi" | "console" | "htif" | "fatal" | "io" | "page";

export interface ExitStatus {
  kind: "poweroff" | "reset" | "htif";
  code: number;
}

const probeCache = new WeakMap<WebAssembly.Module, Core>();

/** A throwaway instance over a minimal memory, to ask the core about its layout before sizing a VM's memory. */
function probe(module: WebAssembly.Module): Core {
  let c = probeCache.get(module);
  if (c === undefined) {
    const mem = new WebAssembly.Memory({ initial: 16, maximum: 16, shared: true });
    c = bindCore(new WebAssembly.Instance(module, makeImports(mem)));
    probeCache.set(module, c);
  }
  return c;
}

/** The core's exported constants (layout, enums, the platform's device map), without creating a VM. */
export function coreConstants(): Core["k"] { return probe(coreModule()).k; }

/** The largest dirty log drained into an array made at its size (drainDirtyLog). */
const PRESIZED_MAX = 50_000;

export class Vm {
  readonly memory: WebAssembly.Memory;
  readonly core: Core;
  readonly ramBase: bigint;
  readonly memBytes: number;
  private u8: Uint8Array;
  private dv: DataView;
  private hart: number;
  /** The VM's virtio devices, once attached (virtio/devices.ts). */
  devices?: VirtioDevices;
  /** How it was created (what a snapshot records to recreate it). */
  options: VmOptions = {};
  /** While a lazy restore is bringing memory back (snapshot/lazy.ts). */
  lazy?: LazyLoader;
  /** Console input not yet taken by the UART (console-input.ts): part of the VM's state, saved by snapshots. */
  readonly consoleInput = new InputQueue();
  /** The boot ROM's place, once loaded. */
  rom?: { base: bigint; bytes: number };

  private constructor(memory: WebAssembly.Memory, core: Core, ramBase: bigint, memBytes: number) {
    this.memory = memory;
    this.core = core;
    this.ramBase = ramBase;
    this.memBytes = memBytes;
    this.u8 = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.hart = core.k.LAYOUT_HART_BASE;
  }

  /** The core's ABI version (what snapshots and migrations must match). */
  static abiVersion(): number { return probe(coreModule()).k.ABI_VERSION; }

  static create(opts: VmOptions = {}): Vm {
    const memBytes = opts.memBytes ?? DEFAULT_MEM_BYTES;
    const ramBase = opts.ramBase ?? DEFAULT_RAM_BASE;
    if (!Number.isSafeInteger(memBytes) || memBytes <= 0 || memBytes % 4096 !== 0) {
      throw new WasmvisorError(`memory size must be a positive multiple of 4 KiB (got ${memBytes})`);
    }
    if (memBytes > MAX_MEM_BYTES) throw new WasmvisorError(`memory size ${memBytes} exceeds the 4 GiB Wasm32 limit`);
    const module = coreModule();
    // Size the memory once (initial = maximum) so views never detach: the core says how much its layout, the
    // RAM's frames and the G-stage tables need. Memory that the guest never touches is never committed.
    const need = probe(module).fn.memory_bytes_needed(memBytes, opts.romBytes ?? 0);
    if (need > 65536 * WASM_PAGE) throw new WasmvisorError(`memory size ${memBytes} exceeds the 4 GiB Wasm32 limit`);
    const pages = Math.ceil(need / WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const instance = new WebAssembly.Instance(module, makeImports(memory));
    const core = bindCore(instance);
    const vm = new Vm(memory, core, ramBase, memBytes);
    vm.options = { ...opts };
    const mode = opts.deterministic ? core.k.TIME_MODE_INSNS : core.k.TIME_MODE_HOST;
    const rc = core.fn.vm_init(1, Number(ramBase), memBytes, mode, opts.insnsPerTick ?? 10, Number(ramBase));
    if (rc !== 0) throw new WasmvisorError("core refused the VM configuration", ExitCode.INTERNAL);
    // The RTC reads wall-clock time; a deterministic VM starts at a fixed date so runs stay reproducible.
    core.fn.vm_set_rtc_epoch(opts.deterministic ? 1.7e18 : Date.now() * 1e6);
    return vm;
  }

  // ---- guest-physical memory ----
  /** Throws a one-line error unless guest-physical [pa, pa+len) lies inside RAM. */
  checkRam(pa: bigint, len: number, what = "address range"): void {
    const off = pa - this.ramBase;
    if (off < 0n || off + BigInt(len) > BigInt(this.memBytes)) {
      throw new WasmvisorError(`${what} 0x${pa.toString(16)}+0x${len.toString(16)} lies outside guest RAM ` +
        `(0x${this.ramBase.toString(16)}..0x${(this.ramBase + BigInt(this.memBytes)).toString(16)})`);
    }
  }

  /**
   * Calls fn for each page-sized piece of guest-physical [pa, pa+len): its offset in linear memory (0 if the page
   * was never touched and alloc is false), its offset within the range, and its length. With alloc the page is
   * mapped on first touch (RAM or ROM).
   */
  private forEachPage(pa: bigint, len: number, alloc: boolean, fn: (ptr: number, done: number, n: number) => void): void {
    for (let done = 0; done < len;) {
      const a = pa + BigInt(done);
      const n = Math.min(len - done, 4096 - Number(a & 0xfffn));
      const p = this.core.fn.gpa_ptr(Number(a), alloc ? 1 : 0) >>> 0;
      if (alloc && p === 0) throw new WasmvisorError(`guest memory exhausted at 0x${a.toString(16)}`, ExitCode.INTERNAL);
      fn(p, done, n);
      done += n;
    }
  }

  /** Writes guest-physical memory through the G-stage, a page at a time (mapping pages on first touch). */
  writePhys(pa: bigint, data: Uint8Array, what?: string): void {
    this.checkRam(pa, data.length, what);
    this.forEachPage(pa, data.length, true, (p, done, n) => this.u8.set(data.subarray(done, done + n), p));
    this.core.fn.gpa_written(Number(pa), data.length); // dirty, and decoded blocks from these pages are revalidated
  }

  /** Reads guest-physical memory; pages never touched read as zero (and stay unallocated). */
  readPhys(pa: bigint, len: number): Uint8Array {
    this.checkRam(pa, len);
    const out = new Uint8Array(len);
    this.forEachPage(pa, len, false, (p, done, n) => { if (p !== 0) out.set(this.u8.subarray(p, p + n), done); });
    return out;
  }

  /** Zeroes guest-physical memory; pages never touched are already zero and stay unallocated. */
  zeroPhys(pa: bigint, len: number): void {
    this.checkRam(pa, len);
    this.forEachPage(pa, len, false, (p, _done, n) => { if (p !== 0) this.u8.fill(0, p, p + n); });
    this.core.fn.gpa_written(Number(pa), len);
  }

  /**
   * Declares guest-physical [base, base+data.length rounded up to 4 KiB) as ROM (read/execute only for the guest)
   * and fills it with data. The VM must have been created with romBytes at least that large.
   */
  loadRom(base: bigint, data: Uint8Array): void {
    const bytes = Math.ceil(Math.max(data.length, 1) / 4096) * 4096;
    if (this.core.fn.vm_set_rom(Number(base), bytes) !== 0) {
      throw new WasmvisorError(`ROM at 0x${base.toString(16)} (${bytes} bytes) overlaps RAM or exceeds the VM's romBytes`);
    }
    this.forEachPage(base, data.length, true, (p, done, n) => this.u8.set(data.subarray(done, done + n), p));
    this.core.fn.gpa_written(Number(base), data.length);
    this.rom = { base, bytes };
  }

  /** Guest-physical page numbers (gpa >> 12) of every page that has a frame (RAM touched so far, ROM), ascending. */
  allocatedPages(): number[] {
    const out: number[] = [];
    const scan = (base: bigint, bytes: number) => {
      const first = Number(base >> 12n);
      for (let i = 0; i < bytes / 4096; i++) if (this.core.fn.gpa_ptr((first + i) * 4096, 0) !== 0) out.push(first + i);
    };
    if (this.rom) scan(this.rom.base, this.rom.bytes);
    scan(this.ramBase, this.memBytes);
    return out;
  }

  /** Where guest page gpn (gpa >> 12) lies in guest memory (a byte offset into memory.buffer); 0 if never touched. */
  frameOffset(gpn: number): number {
    return this.core.fn.gpa_ptr(gpn * 4096, 0) >>> 0;
  }

  /** The frame holding guest page gpn (gpa >> 12), as a view into guest memory; null if never touched. */
  pageView(gpn: number): Uint8Array | null {
    const p = this.frameOffset(gpn);
    return p === 0 ? null : this.u8.subarray(p, p + 4096);
  }

  /** Loads an ELF image's segments at their physical addresses; sets pc to the entry. Returns the parsed image. */
  loadElf(buf: Uint8Array, name = "image"): ElfImage {
    const img = parseElf(buf, name);
    for (const s of img.segments) {
      this.checkRam(s.paddr, Number(s.memsz), `${name}: segment at`);
      this.writePhys(s.paddr, s.data);
      const zero = Number(s.memsz) - s.data.length;
      if (zero > 0) this.zeroPhys(s.paddr + BigInt(s.data.length), zero);
    }
    this.pc = img.entry;
    const tohost = img.symbols.get("tohost");
    if (tohost !== undefined) this.setHtif(tohost, img.symbols.get("fromhost") ?? 0n);
    return img;
  }

  /** Loads a raw binary at `addr` and starts there. */
  loadRaw(buf: Uint8Array, addr: bigint, name = "image"): void {
    if (buf.length === 0) throw new WasmvisorError(`${name}: empty image`);
    this.writePhys(addr, buf, `${name}: loaded at`);
    this.pc = addr;
  }

  setHtif(tohost: bigint, fromhost: bigint): void {
    this.checkRam(tohost, 8, "tohost");
    this.core.fn.set_htif(Number(tohost), Number(fromhost));
  }

  // ---- hart state (hart 0) ----
  get pc(): bigint { return this.dv.getBigUint64(this.hart + this.core.k.HART_PC, true); }
  set pc(v: bigint) { this.dv.setBigUint64(this.hart + this.core.k.HART_PC, v, true); }
  get priv(): number { return this.dv.getUint32(this.hart + this.core.k.HART_PRIV, true); }
  get instret(): bigint { return this.dv.getBigUint64(this.hart + this.core.k.HART_INSTRET, true); }
  x(i: number): bigint { return this.dv.getBigUint64(this.hart + this.core.k.HART_X + i * 8, true); }
  setX(i: number, v: bigint): void { if (i !== 0) this.dv.setBigUint64(this.hart + this.core.k.HART_X + i * 8, BigInt.asUintN(64, v), true); }
  f(i: number): bigint { return this.dv.getBigUint64(this.hart + this.core.k.HART_F + i * 8, true); }
  hartU64(off: number): bigint { return this.dv.getBigUint64(this.hart + off, true); }
  hartU32(off: number): number { return this.dv.getUint32(this.hart + off, true); }

  // ---- running ----
  /** Runs up to `budget` instructions; returns why the core stopped. */
  run(budget: number): StopReason {
    const r = this.core.fn.run(budget);
    const k = this.core.k;
    switch (r) {
      case k.STOP_BUDGET: return "budget";
      case k.STOP_HALT: return "halt";
      case k.STOP_WFI: return "wfi";
      case k.STOP_CONSOLE: return "console";
      case k.STOP_HTIF: return "htif";
      case k.STOP_IO: return "io";
      case k.STOP_PAGE: return "page";
      default: return "fatal";
    }
  }

  /** Console bytes the guest wrote since the last call. */
  drainConsole(): Uint8Array {
    const k = this.core.k;
    const head = this.dv.getUint32(k.CONSOLE_HEAD, true);
    const tail = this.dv.getUint32(k.CONSOLE_TAIL, true);
    const n = (head - tail) >>> 0;
    if (n === 0) return new Uint8Array(0);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u8[k.CONSOLE_DATA + ((tail + i) & (k.CONSOLE_SIZE - 1))];
    this.dv.setUint32(k.CONSOLE_TAIL, head, true);
    return out;
  }

  /** Exit status after a "halt" stop. */
  /**
   * True once the guest has ended (powered off, asked for a reboot, or reported through HTIF). Part of the saved
   * state: a VM restored or migrated after its guest ended has ended too.
   */
  get exited(): boolean { return this.dv.getUint32(this.core.k.VM_EXIT_KIND, true) !== this.core.k.EXIT_KIND_NONE; }

  exitStatus(): ExitStatus {
    const k = this.core.k;
    const kind = this.dv.getUint32(k.VM_EXIT_KIND, true);
    const code = this.dv.getUint32(k.VM_EXIT_CODE, true);
    if (kind === k.EXIT_KIND_HTIF) return { kind: "htif", code };
    if (kind === k.EXIT_KIND_RESET) return { kind: "reset", code };
    return { kind: "poweroff", code };
  }

  /** Offers console input to the guest's UART; returns how many bytes it took (its FIFO holds 256). */
  input(bytes: Uint8Array): number {
    const k = this.core.k;
    let taken = 0;
    while (taken < bytes.length) {
      const n = Math.min(bytes.length - taken, k.INPUT_SCRATCH_BYTES);
      this.u8.set(bytes.subarray(taken, taken + n), k.INPUT_SCRATCH);
      const t = this.core.fn.uart_input(k.INPUT_SCRATCH, n);
      taken += t;
      if (t < n) break;
    }
    return taken;
  }

  htifValue(): bigint { return this.dv.getBigUint64(this.core.k.VM_HTIF_VALUE, true); }

  /** The word devices' I/O threads bump (and notify) when they raise an interrupt: WFI sleeps wait on it. */
  get wakeWord(): { view: Int32Array; index: number } {
    return { view: new Int32Array(this.memory.buffer), index: this.core.k.VM_WAKE >> 2 };
  }

  /** Ticks until the hart's timer fires (-1: none armed). */
  nextTimerTicks(): number { return this.core.fn.next_timer_ticks(); }

  /** The instruction at pc (16-bit ones zero-extended), 0 if not fetchable. */
  insnAtPc(): number { return this.core.fn.insn_at_pc() >>> 0; }

  /**
   * Puts pages (numbers gpa >> 12) back into the dirty log: a snapshot that took them and then failed to be
   * written, so that the next incremental snapshot still holds them. Atomic, as the core's own marks.
   */
  remarkDirty(gpns: ArrayLike<number>): void {
    const u8 = new Uint8Array(this.memory.buffer), base = this.core.k.LAYOUT_DIRTY_BITMAP;
    const first = Number(this.ramBase >> 12n), pages = this.memBytes / 4096;
    for (let i = 0; i < gpns.length; i++) {
      const bit = gpns[i] - first;
      if (bit >= 0 && bit < pages) Atomics.or(u8, base + (bit >> 3), 1 << (bit & 7));
    }
  }

  /** How many RAM pages the dirty log holds now, without taking them (at most: a page may be counted twice). */
  dirtyCount(): number {
    const bits = new Uint8Array(this.memory.buffer, this.core.k.LAYOUT_DIRTY_BITMAP, Math.ceil(this.memBytes / 4096 / 8));
    let n = this.pendingPrimary.size;
    for (let i = 0; i < bits.length; i++) for (let b = bits[i]; b; b &= b - 1) n++;
    return n;
  }

  /**
   * The core keeps one dirty log; its consumers are several. The primary one — snapshots, whose incremental chain
   * must hold every page written since its parent — takes it with takeDirtyGpns(). Others (a live migration's
   * rounds) open their own log here: from then on every page the core's log yields, whoever drains it, goes to
   * every open log, and what a secondary log drains is kept for the primary. So a migration that fails, or a
   * checkpoint taken while a migration runs, takes no page from the other. A new log starts empty: what the core's
   * log holds when it opens is moved to the primary first (a migration's second round resent every page written
   * since the last snapshot — for a guest never snapshotted, since boot: 49 MiB of a 512 MiB Linux guest's 96).
   */
  openDirtyLog(): { take(): number[]; close(): void } {
    this.drainForPrimary();
    const log = new Set<number>();
    this.secondaryLogs.add(log);
    return {
      take: () => {
        this.drainForPrimary();
        const out = Array.from(log).sort((a, b) => a - b);
        log.clear();
        return out;
      },
      close: () => { this.secondaryLogs.delete(log); },
    };
  }
  /** Open secondary logs (openDirtyLog), and pages a secondary take drained that the primary has not taken yet. */
  private readonly secondaryLogs = new Set<Set<number>>();
  private readonly pendingPrimary = new Set<number>();

  /** Guest-physical RAM pages written since the last call (exact; see assembly/dirty.ts), then clears the log. */
  takeDirtyPages(): bigint[] {
    return Array.from(this.takeDirtyGpns(), (g) => BigInt(g) << 12n);
  }

  /**
   * The same as page numbers (gpa >> 12), ascending: what snapshots and migration use (no BigInt per page; a
   * 1,000-page snapshot's capture made 90 KB of garbage with them).
   */
  takeDirtyGpns(): number[] {
    if (this.pendingPrimary.size === 0) return this.drainDirtyLog();
    this.drainForPrimary();
    const all = Array.from(this.pendingPrimary).sort((a, b) => a - b);
    this.pendingPrimary.clear();
    return all;
  }

  /** Drains the core's log into the pages kept for the primary (and, as every drain, the open secondary logs). */
  private drainForPrimary(): void {
    for (const g of this.drainDirtyLog()) this.pendingPrimary.add(g);
  }

  /** Takes the core's log (ascending page numbers) and hands a copy to every open secondary log. */
  private drainDirtyLog(): number[] {
    const n = this.core.fn.dirty_bytes();
    this.core.fn.dirty_take(); // atomic against DMA on I/O threads
    const base = this.core.k.LAYOUT_DIRTY_COPY, first = Number(this.ramBase >> 12n);
    // Counted first, so that the array is made at its size (grown push by push, a 1,000-page log made ~28 KB of
    // garbage: V8 collects on this thread, in whatever runs next — often the snapshot that took the log). Only up
    // to PRESIZED_MAX: V8 makes a larger `new Array(n)` a slow dictionary-mode array.
    let count = 0;
    for (let i = 0; i < n; i++) for (let b = this.u8[base + i]; b; b &= b - 1) count++;
    const presized = count <= PRESIZED_MAX;
    const pages: number[] = presized ? new Array<number>(count) : [];
    for (let i = 0, k = 0; i < n; i++) {
      const b = this.u8[base + i];
      if (b === 0) continue;
      for (let j = 0; j < 8; j++) {
        if (!(b & (1 << j))) continue;
        if (presized) pages[k++] = first + i * 8 + j;
        else pages.push(first + i * 8 + j);
      }
    }
    for (const log of this.secondaryLogs) for (const g of pages) log.add(g);
    return pages;
  }

  stats(): Record<string, bigint> {
    const k = this.core.k;
    return {
      instret: this.instret,
      memAccesses: this.hartU64(k.HART_STAT_MEM_ACCESSES),
      tlbMisses: this.hartU64(k.HART_STAT_TLB_MISSES),
      pageWalks: this.hartU64(k.HART_STAT_WALKS),
      tlbFlushes: this.hartU64(k.HART_STAT_FLUSHES),
      traps: this.hartU64(k.HART_STAT_TRAPS),
      mmio: this.hartU64(k.HART_STAT_MMIO),
      guestFrames: BigInt(this.core.fn.frames_used(0)),
      tableFrames: BigInt(this.core.fn.frames_used(1)),
    };
  }
}
