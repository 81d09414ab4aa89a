// The host side of the core's exports (assembly/index.ts): their types, and a checked lookup so a missing or
// unexpected symbol fails at load time rather than mid-run.

export interface CoreFunctions {
  vm_init(nharts: number, ramBase: number, ramBytes: number, timeMode: number, insnsPerTick: number, resetPc: number): number;
  hart_reset(id: number, pc: number): void;
  hart_select(id: number): number;
  set_htif(tohost: number, fromhost: number): void;
  run(budget: number): number;
  next_timer_ticks(): number;
  insn_at_pc(): number;
  tlb_flush(): void;
  expand_c(raw: number): number;
  gpa_written(gpa: number, len: number): void;
  memory_bytes_needed(ramBytes: number, romBytes: number): number;
  vm_set_rom(base: number, bytes: number): number;
  gpa_ptr(gpa: number, alloc: number): number;
  frames_used(what: number): number;
  dirty_bytes(): number;
  translate_probe(vaLo: number, vaHi: number, acc: number, prv: number): number;
  vm_direct_boot(id: number, entry: number, dtb: number): void;
  uart_input(ptr: number, len: number): number;
  vm_set_rtc_epoch(ns: number): void;
  dirty_take(): void;
  iommu_attach(dev: number, mode: number): number;
  iommu_map(dev: number, iova: number, gpa: number, bytes: number, perm: number): number;
  iommu_invalidate(domain: number, iova: number, bytes: number): void;
  iommu_set_iotlb_disabled(off: number): void;
  iommu_translate(dev: number, iova: number, write: number): number;
  iommu_faults_pending(): number;
  virtio_setup(slot: number, id: number, featLo: number, featHi: number, nq: number, qmax: number, cfgSize: number, syncIo: number): number;
  virtio_take_notify(slot: number): number;
  virtio_reset(slot: number): void;
  virtio_config_changed(slot: number): void;
  virtio_broken(slot: number, why: number): void;
  virtio_interrupt(slot: number): void;
  vq_pop(slot: number, q: number): number;
  vq_push(slot: number, q: number, head: number, len: number): number;
  state_save(): number;
  state_restore(len: number): number;
  lazy_begin(count: number): number;
  lazy_fill(gpa: number): number;
  lazy_miss(): number;
  lazy_pending(): number;
}

/** Exported constants (offsets into the VM's memory and enum values), defined once in the core. */
export const CORE_CONSTANTS = [
  "ABI_VERSION", "LAYOUT_HART_BASE", "LAYOUT_HART_STRIDE", "LAYOUT_DIRTY_BITMAP",
  "HART_X", "HART_F", "HART_PC", "HART_PRIV", "HART_WFI", "HART_INSTRET", "HART_FCSR", "HART_MSTATUS",
  "HART_MCAUSE", "HART_MEPC", "HART_MTVAL", "HART_SCAUSE", "HART_SEPC", "HART_STVAL", "HART_SATP",
  "HART_STAT_MEM_ACCESSES", "HART_STAT_TLB_MISSES", "HART_STAT_WALKS", "HART_STAT_FLUSHES", "HART_STAT_TRAPS", "HART_STAT_MMIO",
  "VM_EXIT_KIND", "VM_EXIT_CODE", "VM_HTIF_VALUE", "VM_FAULT_ADDR", "VM_FAULT_CAUSE",
  "CONSOLE_HEAD", "CONSOLE_TAIL", "CONSOLE_DATA", "CONSOLE_SIZE", "INPUT_SCRATCH", "INPUT_SCRATCH_BYTES",
  "STOP_BUDGET", "STOP_HALT", "STOP_WFI", "STOP_CONSOLE", "STOP_HTIF", "STOP_FATAL",
  "EXIT_KIND_NONE", "EXIT_KIND_POWEROFF", "EXIT_KIND_RESET", "EXIT_KIND_HTIF",
  "TIME_MODE_HOST", "TIME_MODE_INSNS", "STOP_IO", "LAYOUT_DIRTY_COPY",
  "IOMMU_FQ", "IOMMU_FQ_HEAD", "IOMMU_FQ_TAIL", "IOMMU_FQ_DROPPED", "IOMMU_FQ_ENTRIES", "IOMMU_DC", "IOMMU_DC_STRIDE",
  "DC_STAT_XLATE", "DC_STAT_MISS", "DC_STAT_FAULTS", "IOMMU_CAUSE_READ_PAGE", "IOMMU_CAUSE_WRITE_PAGE",
  "IOMMU_CAUSE_READ_GUEST_PAGE", "IOMMU_CAUSE_WRITE_GUEST_PAGE", "IOMMU_CAUSE_READ_ACCESS", "IOMMU_CAUSE_WRITE_ACCESS",
  "IOMMU_CAUSE_DDT_INVALID",
  "VIRTIO_SLOTS", "VIRTIO_MMIO_BASE_LO", "VIRTIO_MMIO_STRIDE_B", "VIRTIO_IRQ_BASE_N", "LAYOUT_VIRTIO_BASE", "LAYOUT_VIRTIO_STRIDE",
  "VT_STATUS", "VT_DRV_FEATURES", "VT_CONFIG", "VT_STAT_NOTIFIES", "VT_STAT_IRQS", "VT_STAT_BROKEN", "VT_NOTIFY", "VM_WAKE", "VM_IO_DOORBELL",
  "LAYOUT_CHAIN_BASE", "LAYOUT_CHAIN_STRIDE", "CHAIN_HEAD", "CHAIN_NSEG", "CHAIN_FLAGS", "CHAIN_READABLE", "CHAIN_WRITABLE",
  "CHAIN_SEGS", "CHAIN_F_FAULT", "CHAIN_F_TOOBIG", "VIRTIO_NOTIFY_RESET", "VIRTIO_NOTIFY_DRIVER_OK",
  "LAYOUT_STATE_BUF", "STATE_BUF_BYTES", "STATE_VERSION", "STATE_ERR_FORMAT", "STATE_ERR_MACHINE", "STATE_ERR_VALUE",
  "LAYOUT_LAZY_BITMAP", "LAZY_BITMAP_BYTES", "STOP_PAGE",
  "DEV_UART_BASE", "DEV_UART_IRQ", "DEV_CLINT_BASE", "DEV_PLIC_BASE", "DEV_PLIC_NDEV", "DEV_TEST_BASE", "DEV_RTC_BASE",
] as const;

export const CORE_FUNCTIONS = [
  "vm_init", "hart_reset", "hart_select", "set_htif", "run", "next_timer_ticks", "insn_at_pc", "tlb_flush", "expand_c", "gpa_written",
  "memory_bytes_needed", "vm_set_rom", "gpa_ptr", "frames_used", "dirty_bytes", "translate_probe", "vm_direct_boot", "uart_input", "vm_set_rtc_epoch",
  "dirty_take", "iommu_attach", "iommu_map", "iommu_invalidate", "iommu_set_iotlb_disabled", "iommu_translate", "iommu_faults_pending",
  "virtio_setup", "virtio_take_notify", "virtio_reset", "virtio_config_changed", "virtio_broken", "virtio_interrupt", "vq_pop", "vq_push",
  "state_save", "state_restore", "lazy_begin", "lazy_fill", "lazy_miss", "lazy_pending",
] as const;

/** Every export the core may have: its functions, constants, AssemblyScript's start function, and the (imported,
 * shared) memory, which asc re-exports. */
export const CORE_EXPORTS: readonly string[] = [...CORE_FUNCTIONS, ...CORE_CONSTANTS, "_initialize", "memory"];

export type CoreConstants = Record<(typeof CORE_CONSTANTS)[number], number>;

export interface Core {
  fn: CoreFunctions;
  k: CoreConstants;
}

/** Looks up every listed export of an instance; throws if one is missing. */
export function bindCore(instance: WebAssembly.Instance): Core {
  const ex = instance.exports as Record<string, unknown>;
  const fn: Record<string, unknown> = {};
  for (const name of CORE_FUNCTIONS) {
    if (typeof ex[name] !== "function") throw new Error(`core.wasm lacks export ${name}: rebuild with npm run build`);
    fn[name] = ex[name];
  }
  const k: Record<string, number> = {};
  for (const name of CORE_CONSTANTS) {
    const g = ex[name];
    if (!(g instanceof WebAssembly.Global)) throw new Error(`core.wasm lacks constant ${name}: rebuild with npm run build`);
    k[name] = Number(g.value);
  }
  return { fn: fn as unknown as CoreFunctions, k: k as CoreConstants };
}
