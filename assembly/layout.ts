// Fixed layout of the VM's linear memory: every piece of VM state lives at a known offset (ARCHITECTURE.md §1).
//
//   0x0000_0000  AssemblyScript static data (immutable strings only; < 64 KiB)
//   0x0001_0000  VM block: configuration, device registers, stop information   (VM_*)
//   0x0001_1000  console output ring, written by the UART, drained by the host  (CONSOLE_*)
//   0x0001_2000  hart blocks, HART_STRIDE bytes each, MAX_HARTS of them           (HART_*)
//   0x0002_0000  software TLBs, TLB_STRIDE bytes per hart                        (TLB_*)
//   0x0008_0000  RVC expansion table (256 KiB)                                   (RVC_TABLE)
//   0x0010_0000  basic-block caches, BC_STRIDE bytes per hart                       (BC_*, BLOCK_*)
//   0x0040_0000  code-page generations (4 MiB, sparse)                           (CODE_GEN)
//   0x0080_0000  dirty-page bitmap (128 KiB)                                     (DIRTY_*)
//   0x0082_0000  virtio-mmio transports, VIRTIO_STRIDE bytes per slot             (VIRTIO_*, VQ_*)
//   0x0083_0000  IOMMU: device contexts, IOTLBs, fault queue                      (IOMMU_*)
//   0x0084_0000  DMA chains: the descriptor chain a device is serving, per slot   (CHAIN_*)
//   0x008C_0000  dirty-log copy · 0x008E_0000 core state buffer · 0x008F_0000 lazy-restore bitmap
//   0x0090_0000  frame pool: the G-stage tables and guest pages, allocated on first touch (FRAME_POOL)
//
// Nothing here is a Wasm global: several instances (one per thread) share this memory.

export const MAX_HARTS: u32 = 8;

// ---- VM block ----
export const VM_BASE: usize = 0x1_0000;
export const VM_MAGIC = VM_BASE + 0x00;          // u32 "WVM1" once initialized
export const VM_RAM_BASE = VM_BASE + 0x08;       // u64 guest-physical base of RAM
export const VM_RAM_SIZE = VM_BASE + 0x10;       // u64 bytes of guest RAM
export const VM_FRAME_NEXT = VM_BASE + 0x18;     // u32 next free frame (frames.ts)
export const VM_NHARTS = VM_BASE + 0x1c;         // u32
export const VM_TIME_MODE = VM_BASE + 0x20;      // u32 TIME_MODE_*
export const VM_TIME_NOW = VM_BASE + 0x28;       // u64 mtime last computed (ticks)
export const VM_TIME_OFFSET = VM_BASE + 0x30;    // f64 host ticks at which mtime was 0
export const VM_TOHOST = VM_BASE + 0x38;         // u64 guest-physical address of HTIF tohost (0: none)
export const VM_FROMHOST = VM_BASE + 0x40;       // u64 guest-physical address of HTIF fromhost (0: none)
export const VM_EXIT_CODE = VM_BASE + 0x48;      // u32 guest exit code once halted
export const VM_EXIT_KIND = VM_BASE + 0x4c;      // u32 EXIT_KIND_*
export const VM_HTIF_VALUE = VM_BASE + 0x50;     // u64 tohost value the host must handle (STOP_HTIF)
export const VM_FAULT_ADDR = VM_BASE + 0x58;     // u64 detail for STOP_FATAL: the pc
export const VM_FAULT_CAUSE = VM_BASE + 0x90;    // u64 detail for STOP_FATAL: the cause
export const VM_INSNS_PER_TICK = VM_BASE + 0x60; // u32 deterministic mode: retired instructions per mtime tick
export const VM_FRAME_END = VM_BASE + 0x70;      // u32 end of the frame pool (memory size)
export const VM_GSTAGE_ROOT = VM_BASE + 0x74;    // u32 offset of the G-stage root table
export const VM_FRAMES_DATA = VM_BASE + 0x78;    // u32 frames holding guest pages
export const VM_FRAMES_TABLE = VM_BASE + 0x7c;   // u32 frames holding G-stage tables
export const VM_ROM_BASE = VM_BASE + 0x80;       // u64 guest-physical base of the ROM region (size 0: none)
export const VM_ROM_SIZE = VM_BASE + 0x88;       // u64
export const VM_IDLE_INSNS = VM_BASE + 0x68;     // u64 deterministic mode: instruction-times skipped while all harts idled in WFI
// Devices
export const VM_CLINT_MTIMECMP = VM_BASE + 0x100; // u64 × MAX_HARTS
export const VM_CLINT_MSIP = VM_BASE + 0x140;     // u32 × MAX_HARTS
export const VM_UART = VM_BASE + 0x200;           // NS16550A registers, see devices/uart.ts
export const VM_PLIC = VM_BASE + 0x400;           // PLIC state, see devices/plic.ts (0x400 bytes)
export const VM_SBI_STIMECMP = VM_BASE + 0x800;   // u64 × MAX_HARTS: the built-in SBI's supervisor timer (sbi.ts)
export const VM_RTC_EPOCH_NS = VM_BASE + 0x848;   // f64 Unix time in ns when mtime was 0 (goldfish RTC)
export const VM_RTC_LATCH = VM_BASE + 0x850;      // u32 TIME_HIGH latched by a TIME_LOW read
export const VM_SBI = VM_BASE + 0x840;            // u32 1 when the core implements SBI for an S-mode kernel (direct boot)

export const VM_MAGIC_VALUE: u32 = 0x314d5657; // "WVM1"

export const TIME_MODE_HOST: u32 = 0;  // mtime follows the host's monotonic clock
export const TIME_MODE_INSNS: u32 = 1; // mtime derived from retired instructions: deterministic

export const EXIT_KIND_NONE: u32 = 0;
export const EXIT_KIND_POWEROFF: u32 = 1; // test device or SBI shutdown; VM_EXIT_CODE holds the code
export const EXIT_KIND_RESET: u32 = 2;    // guest asked for a reboot
export const EXIT_KIND_HTIF: u32 = 3;     // riscv-tests tohost: VM_EXIT_CODE holds the payload (0 = pass, N = test N failed)

// ---- Console ring (UART transmit) ----
export const CONSOLE_BASE: usize = 0x1_1000;
export const CONSOLE_HEAD = CONSOLE_BASE + 0;  // u32 bytes written by the core (monotonic)
export const CONSOLE_TAIL = CONSOLE_BASE + 4;  // u32 bytes consumed by the host (monotonic)
export const CONSOLE_DATA = CONSOLE_BASE + 64;
export const CONSOLE_SIZE: u32 = 2048;         // power of two
export const INPUT_SCRATCH: usize = CONSOLE_BASE + 0xe00; // 256 bytes: host → uart_input staging (per VM; the host's thread only)

// ---- Hart blocks ----
export const HART_BASE: usize = 0x1_2000;
export const HART_STRIDE: usize = 0x1000;
// Offsets inside a hart block.
export const H_X: usize = 0x000;        // x0..x31, u64 each
export const H_XSCRATCH: usize = 0x100; // writes to x0 land here
export const H_F: usize = 0x108;        // f0..f31, u64 bit patterns (NaN-boxed for binary32)
export const H_PC: usize = 0x208;
export const H_PRIV: usize = 0x210;     // u32 current privilege: 0 U, 1 S, 3 M
export const H_WFI: usize = 0x214;      // u32 1 while stalled in WFI
export const H_INSTRET: usize = 0x218;  // u64 minstret
export const H_CYCLE: usize = 0x220;    // u64 mcycle
export const H_RES_ADDR: usize = 0x228; // u64 LR reservation address
export const H_RES_VALID: usize = 0x230;// u32
export const H_HARTID: usize = 0x234;   // u32
export const H_FCSR: usize = 0x238;     // u32 frm << 5 | fflags
export const H_MSTATUS: usize = 0x240;
export const H_MEDELEG: usize = 0x248;
export const H_MIDELEG: usize = 0x250;
export const H_MIE: usize = 0x258;
export const H_MIP: usize = 0x260;      // software-writable bits (SSIP, STIP, SEIP) and the CLINT's MTIP/MSIP
export const H_MIP_EXT: usize = 0x2f0;  // u64 interrupt lines driven by devices: PLIC MEIP/SEIP, the SBI timer's STIP
export const H_MTVEC: usize = 0x268;
export const H_MSCRATCH: usize = 0x270;
export const H_MEPC: usize = 0x278;
export const H_MCAUSE: usize = 0x280;
export const H_MTVAL: usize = 0x288;
export const H_MCOUNTEREN: usize = 0x290;
export const H_MCOUNTINHIBIT: usize = 0x298;
export const H_MENVCFG: usize = 0x2a0;
export const H_STVEC: usize = 0x2a8;
export const H_SSCRATCH: usize = 0x2b0;
export const H_SEPC: usize = 0x2b8;
export const H_SCAUSE: usize = 0x2c0;
export const H_STVAL: usize = 0x2c8;
export const H_SATP: usize = 0x2d0;
export const H_SCOUNTEREN: usize = 0x2d8;
export const H_SENVCFG: usize = 0x2e0;
export const H_TSELECT: usize = 0x2e8;
export const H_BLOCK_SCRATCH: usize = 0xf00; // one op (32 bytes) + its code copy (4 bytes)
export const H_ARENA_TOP: usize = 0x494;   // u32 next free byte of this hart's block arena
export const H_TLB_SUPER: usize = 0x498;   // u32 number of superpages recorded in H_SUPER_LIST; > SUPER_MAX: overflowed
export const H_FENCE_WORD: usize = 0x49c; // u32 target of the atomic no-op that implements FENCE against I/O threads
export const H_SUPER_LIST: usize = 0x500;  // SUPER_MAX × u64: base VA | log2(size) of superpages with TLB entries
export const SUPER_MAX: u32 = 32;
export const H_PMPADDR: usize = 0x400; // u64 × 16
export const H_PMPCFG: usize = 0x480;  // 16 bytes: pmpcfg0 (entries 0-7) then pmpcfg2 (entries 8-15)
export const H_PMP_ACTIVE: usize = 0x490; // u32 number of entries with A != OFF (0: PMP imposes nothing but the default rule)
// Software TLB bank pointers for the current effective privilege (recomputed on mode changes).
export const H_TLB_FETCH: usize = 0x300; // u32
export const H_TLB_LOAD: usize = 0x304;  // u32
export const H_TLB_STORE: usize = 0x308; // u32
// Counters readable by the host.
export const H_STAT_MEM_ACCESSES: usize = 0x320; // u64 data accesses (loads, stores, AMOs); hits = accesses - misses
export const H_STAT_TLB_MISSES: usize = 0x328; // u64 data accesses served by a slow path (TLB miss, MMIO, misaligned)
export const H_STAT_WALKS: usize = 0x330;      // u64
export const H_STAT_FLUSHES: usize = 0x338;    // u64
export const H_STAT_TRAPS: usize = 0x340;      // u64 exceptions + interrupts taken
export const H_STAT_MMIO: usize = 0x348;       // u64 device accesses
export const H_STAT_INSNS: usize = H_INSTRET;

// ---- Software TLBs ----
// Per hart: 3 access types (fetch, load, store) × 4 privilege contexts (U, S, M, S with SUM) banks of TLB_ENTRIES.
// Entry: u64 tag (the page's virtual address; all ones = invalid), u64 delta (ptr = va + delta).
export const TLB_BASE: usize = 0x2_0000;
export const TLB_ENTRIES: u32 = 256;
export const TLB_ENTRY_BYTES: usize = 16;
export const TLB_BANK_BYTES: usize = <usize>TLB_ENTRIES * TLB_ENTRY_BYTES;
export const TLB_STRIDE: usize = TLB_BANK_BYTES * 12; // banks: see mmu.ts
export const TLB_INVALID: u64 = 0xffff_ffff_ffff_ffff;

// ---- RVC expansion table ----
// 65536 × u32: the 32-bit form of every 16-bit parcel, filled lazily (0 = not yet expanded, 1 = illegal).
// A pure function of the parcel, so it is shared by all harts and never needs invalidation.
export const RVC_TABLE: usize = 0x8_0000;
export const RVC_TABLE_BYTES: usize = 0x4_0000;

// ---- Basic-block caches (per hart) ----
// A block is a run of decoded instructions from one page, ending at an unconditional jump, a SYSTEM or
// FENCE instruction (a taken conditional branch leaves it early), the end of the page, or BLOCK_MAX instructions. BLOCK_MAP is direct-mapped by the offset of the
// block's first instruction in linear memory; its ops live in a bump-allocated arena that is reset (and the map
// cleared) when full. Each block keeps a copy of the code bytes it was decoded from and is revalidated against them
// on entry, so self-modifying code needs no explicit invalidation (stale blocks are only possible inside one block
// execution, which RISC-V permits without fence.i; fence.i ends a block).
//   map entry (16 bytes): +0 u32 tag (offset of first instruction, 0 = empty)  +4 u32 ops offset
//                         +8 u16 instruction count  +10 u16 code bytes  +12 u32 page generation (CODE_GEN)
//   op (32 bytes, see decode.ts): +0 u16 pc offset in block  +2 u8 length  +8 i64 imm  +16 u16 op
//                         +18 u16 rd offset  +20 u16 rs1 offset  +22 u16 rs2 offset  +24 u32 32-bit form  +28 u32 raw bits
export const BC_BASE: usize = 0x10_0000;
export const BLOCK_MAX: u32 = 64;
export const BLOCK_MAP_ENTRIES: u32 = 2048;
export const BLOCK_MAP_BYTES: usize = <usize>BLOCK_MAP_ENTRIES * 16;      // 32 KiB
export const BLOCK_ARENA_BYTES: usize = 0x4_0000;                         // 256 KiB
export const OP_BYTES: usize = 32;
export const BC_STRIDE: usize = BLOCK_MAP_BYTES + BLOCK_ARENA_BYTES;      // 288 KiB per hart
// A per-hart one-op block (in the hart block) for an instruction that straddles a page: H_BLOCK_SCRATCH.

// ---- Code-page generations (per VM) ----
// One u32 per 4 KiB page of linear memory: 0 while no block was built from the page, afterwards an odd number
// that every store to the page advances by 2. A block records its page's generation when it is built or
// revalidated; an unchanged generation proves the code bytes are unchanged, so only blocks on pages that were
// written since are compared byte by byte. Indexed by linear-memory offset >> 12 (4 GiB → 4 MiB, touched sparsely).
export const CODE_GEN: usize = 0x40_0000;
export const CODE_GEN_BYTES: usize = 0x40_0000;
@inline export function codeGenPtr(ptr: usize): usize { return CODE_GEN + ((ptr >> 12) << 2); }
/** Records a write to linear-memory offset ptr: blocks built from its page must be revalidated. */
@inline export function codeWritten(ptr: usize): void {
  const gp = codeGenPtr(ptr);
  const g = load<u32>(gp);
  if (g != 0) store<u32>(gp, g + 2);
}

// ---- Dirty log (per VM) ----
// One bit per 4 KiB guest-physical page of the RAM region, set whenever the page may have been written
// (see dirty.ts). 128 KiB covers 4 GiB of RAM.
export const DIRTY_BITMAP: usize = 0x80_0000;
export const DIRTY_BITMAP_BYTES: usize = 0x2_0000;

// ---- virtio-mmio transports (per VM; virtio/mmio.ts) ----
// One block per slot; slot i answers at VIRTIO_MMIO_BASE + i * 0x1000 with PLIC source 1 + i (QEMU virt map).
// Words marked (atomic) are shared with the device's I/O thread and only touched with atomic operations.
export const VIRTIO_SLOTS: u32 = 8;
export const VIRTIO_BASE: usize = 0x82_0000;
export const VIRTIO_STRIDE: usize = 0x400;
export const VT_DEVICE_ID: usize = 0x00;     // u32 virtio device type (0: empty slot)
export const VT_VENDOR_ID: usize = 0x04;     // u32
export const VT_DEV_FEATURES: usize = 0x08;  // u64 offered by the back end
export const VT_DRV_FEATURES: usize = 0x10;  // u64 accepted by the driver
export const VT_DEV_FSEL: usize = 0x18;      // u32 DeviceFeaturesSel
export const VT_DRV_FSEL: usize = 0x1c;      // u32 DriverFeaturesSel
export const VT_STATUS: usize = 0x20;        // u32 device status (atomic: the I/O thread sets DEVICE_NEEDS_RESET)
export const VT_QUEUE_SEL: usize = 0x24;     // u32
export const VT_ISR: usize = 0x28;           // u32 InterruptStatus (atomic)
export const VT_CONFIG_GEN: usize = 0x2c;    // u32 ConfigGeneration
export const VT_NUM_QUEUES: usize = 0x30;    // u32 queues the device has (<= VQ_MAX)
export const VT_CONFIG_SIZE: usize = 0x34;   // u32 bytes of device configuration space
export const VT_DOORBELL: usize = 0x38;      // u32 (atomic) notifications of this slot (VM_IO_DOORBELL wakes the thread)
export const VT_NOTIFY: usize = 0x3c;        // u32 (atomic) bit q: queue q was notified; bit 31: reset requested
export const VT_SYNC_IO: usize = 0x40;       // u32 1: notifications stop run() (STOP_IO) instead of waking a thread
export const VT_STAT_NOTIFIES: usize = 0x48; // u64
export const VT_STAT_IRQS: usize = 0x50;     // u64 (written by the serving thread)
export const VT_STAT_BROKEN: usize = 0x58;   // u32 why the device was marked broken (VQ_ERR_*), 0: never
export const VT_QUEUES: usize = 0x100;       // VQ_MAX × VQ_STRIDE
export const VQ_MAX: u32 = 4;
export const VQ_STRIDE: usize = 0x40;
export const VQ_NUM_MAX: usize = 0x00;       // u32 QueueNumMax (0: queue absent)
export const VQ_NUM: usize = 0x04;           // u32 QueueNum
export const VQ_READY: usize = 0x08;         // u32 QueueReady
export const VQ_DESC: usize = 0x10;          // u64 QueueDesc
export const VQ_DRIVER: usize = 0x18;        // u64 QueueDriver (available ring)
export const VQ_DEVICE: usize = 0x20;        // u64 QueueDevice (used ring)
export const VQ_LAST_AVAIL: usize = 0x28;    // u32 next available-ring index the device will read (free-running u16)
export const VQ_USED_IDX: usize = 0x2c;      // u32 next used-ring index the device will write (free-running u16)
export const VQ_SIGNALLED: usize = 0x30;     // u32 used index at the last interrupt decision (event-idx)
export const VT_CONFIG: usize = 0x200;       // device configuration space (VIRTIO_CONFIG_MAX bytes)
export const VIRTIO_CONFIG_MAX: u32 = 0x100;
// VM-wide: bit i set (atomic) when slot i's InterruptStatus changed; the run loop then updates PLIC line 1 + i.
export const VM_VIRTIO_IRQ = VM_BASE + 0x860;    // u32 (atomic)
export const VM_WAKE = VM_BASE + 0x864;          // i32 (atomic) bumped with VM_VIRTIO_IRQ: wakes a vCPU sleeping in WFI
export const VM_IO_DOORBELL = VM_BASE + 0x868;   // i32 (atomic) bumped on every notification: the VM's I/O thread waits on it
@inline export function vtPtr(slot: u32): usize { return VIRTIO_BASE + <usize>slot * VIRTIO_STRIDE; }
@inline export function vqPtr(slot: u32, q: u32): usize { return vtPtr(slot) + VT_QUEUES + <usize>q * VQ_STRIDE; }

// ---- IOMMU (per VM; iommu.ts) ----
// Device-context table (one context per device id = virtio slot), per-device IOTLBs and the fault queue.
export const IOMMU_BASE: usize = 0x83_0000;
export const IOMMU_DEVICES: u32 = VIRTIO_SLOTS;
export const IOMMU_DC: usize = IOMMU_BASE;            // device contexts, IOMMU_DC_STRIDE bytes each
export const IOMMU_DC_STRIDE: usize = 0x40;
export const DC_TC: usize = 0x00;        // u32 translation control: bit 0 V (valid)
export const DC_DOMAIN: usize = 0x04;    // u32 domain id (invalidation by domain)
export const DC_ROOT: usize = 0x08;      // u32 linear offset of the domain's Sv39x4 root table
export const DC_STAT_XLATE: usize = 0x10;// u64 translations requested
export const DC_STAT_MISS: usize = 0x18; // u64 IOTLB misses (page-table walks)
export const DC_STAT_FAULTS: usize = 0x20; // u64 refused accesses
export const IOMMU_CTRL = IOMMU_BASE + 0x3f0;     // u32 bit 0: IOTLB disabled (every access walks; for measurements)
export const IOMMU_FQ_HEAD = IOMMU_BASE + 0x3f4;  // u32 records consumed by the host (free-running)
export const IOMMU_FQ_TAIL = IOMMU_BASE + 0x3f8;  // u32 (atomic) records written (free-running)
export const IOMMU_FQ_DROPPED = IOMMU_BASE + 0x3fc; // u32 (atomic) faults not recorded because the queue was full
export const IOMMU_FQ = IOMMU_BASE + 0x400;       // fault queue: IOMMU_FQ_ENTRIES records of 32 bytes (spec §3.2)
export const IOMMU_FQ_ENTRIES: u32 = 64;
export const IOMMU_IOTLB = IOMMU_BASE + 0x1000;   // per device: IOTLB_ENTRIES × 32 bytes: u64 tag (IOVA page + 1, 0 = empty),
export const IOTLB_ENTRIES: u32 = 64;             //   u64 frame offset | 1 if writable, u64 guest-physical address of the page
export const IOTLB_STRIDE: usize = <usize>IOTLB_ENTRIES * 32;
@inline export function dcPtr(dev: u32): usize { return IOMMU_DC + <usize>dev * IOMMU_DC_STRIDE; }
@inline export function iotlbPtr(dev: u32): usize { return IOMMU_IOTLB + <usize>dev * IOTLB_STRIDE; }

// ---- DMA chains (per slot) ----
// vq_pop leaves the descriptor chain it took here, already translated by the IOMMU into (linear offset, length)
// segments split at page boundaries, so the back end moves data straight between its resource and guest memory.
//   +0 u32 head descriptor index  +4 u32 segments  +8 u32 flags (CHAIN_F_*)  +12 u32 readable bytes
//   +16 u32 writable bytes  +32.. segments: u32 offset, u32 length, u32 1 if device-writable, u32 guest page number
export const CHAIN_BASE: usize = 0x84_0000;
export const CHAIN_STRIDE: usize = 0x1_0000;
export const CHAIN_SEGS: usize = 32;
export const CHAIN_MAX_SEGS: u32 = <u32>((CHAIN_STRIDE - CHAIN_SEGS) >> 4);
@inline export function chainPtr(slot: u32): usize { return CHAIN_BASE + <usize>slot * CHAIN_STRIDE; }

// The host's copy of the dirty log, taken atomically (dirty_take): DMA on I/O threads may set bits at any time.
export const DIRTY_COPY: usize = 0x8C_0000;

// Scratch for the core's plain-data state (snapshot.ts state_save / state_restore), 128 KiB.
export const STATE_BUF: usize = 0x8E_0000;
export const STATE_BUF_BYTES: u32 = 0x1_0000;
// Lazy restore (lazy.ts): one bit per RAM page whose contents still wait in a snapshot file (64 KiB: 2 GiB of RAM).
export const LAZY_BITMAP: usize = 0x8F_0000;
export const LAZY_BITMAP_BYTES: u32 = 0x1_0000;
export const VM_LAZY_PENDING = VM_BASE + 0x870;  // u32 pages still to load (0: lazy restore not active)
export const VM_LAZY_MISS = VM_BASE + 0x878;     // u64 guest-physical page + 1 the guest needs now (0: none)

// ---- Frame pool ----
// Everything from here to the end of memory is frames handed out by frames.ts: the G-stage root table first
// (16 KiB, aligned as Sv39x4 requires), then G-stage tables and guest pages in the order they are first touched.
export const FRAME_POOL: usize = 0x90_0000;
/** Bytes of linear memory a VM with `ramBytes` of RAM (and `romBytes` of ROM) needs: layout, RAM, G-stage tables. */
export function memoryBytesNeeded(ramBytes: u64, romBytes: u64): u64 {
  const pages = (ramBytes + romBytes + 4095) >> 12;
  // root (16 KiB) + one level-1 table per GiB + one level-0 table per 2 MiB, per region, with slack for alignment
  const tables = 16384 + (((pages >> 18) + 4) << 12) + (((pages >> 9) + 8) << 12);
  return <u64>FRAME_POOL + (pages << 12) + tables;
}

/** The mip value the hart sees: software bits OR device lines (SEIP reads as the OR of both, §3.1.9). */
@inline export function mipOf(h: usize): u64 { return load<u64>(h + H_MIP) | load<u64>(h + H_MIP_EXT); }
@inline export function hartPtr(id: u32): usize { return HART_BASE + <usize>id * HART_STRIDE; }
@inline export function tlbPtr(id: u32): usize { return TLB_BASE + <usize>id * TLB_STRIDE; }
@inline export function bcPtr(id: u32): usize { return BC_BASE + <usize>id * BC_STRIDE; }
