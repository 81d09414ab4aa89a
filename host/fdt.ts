// Flattened device tree (DTB v17) generator: describes the VM to QEMU-virt-compatible guests (Linux, OpenSBI, U-Boot).
import { WasmvisorError } from "./errors.js";
import { platform, type Platform } from "./platform.js";

/** What the device tree describes. Absent devices get no node; defaultVirtConfig() fills in QEMU virt's layout. */
export interface FdtConfig {
  memBase: bigint;
  memBytes: bigint;
  harts: number; // 1..8
  isa: string; // e.g. "rv64imafdc_zicntr_zicsr_zifencei"; a "g" is expanded to imafd_zicsr_zifencei
  mmuType: "riscv,sv39" | "riscv,sv48";
  timebaseHz: number; // 10_000_000 on QEMU virt
  bootargs?: string;
  initrd?: { start: bigint; end: bigint }; // [start, end), inside RAM
  uart?: { base: bigint; irq: number }; // NS16550A, 0x100 bytes, clock-frequency 3.6864 MHz
  clint?: { base: bigint }; // 0x10000 bytes
  plic?: { base: bigint; ndev: number }; // 0x600000 bytes
  test?: { base: bigint }; // sifive,test1 syscon (0x1000 bytes) plus /poweroff (0x5555) and /reboot (0x7777)
  rtc?: { base: bigint; irq: number }; // google,goldfish-rtc, 0x1000 bytes
  virtio?: { base: bigint; irq: number }[]; // virtio,mmio, 0x1000 bytes each
  stdoutPath?: string; // default: the UART's node path
}

// The device addresses and interrupt sources come from the core (platform.ts). The RTC's interrupt is the one
// number only the tree has: QEMU virt wires source 11 to it, and the core's RTC never raises its alarm.
const RTC_IRQ = 11;

const SIZE_UART = 0x100n;
const SIZE_CLINT = 0x1_0000n;
const SIZE_PLIC = 0x60_0000n;
const SIZE_TEST = 0x1000n;
const SIZE_RTC = 0x1000n;
const SIZE_VIRTIO = 0x1000n;
const UART_CLOCK_HZ = 3_686_400;
const FINISHER_PASS = 0x5555;
const FINISHER_RESET = 0x7777;
const CBO_BLOCK_SIZE = 64;

// Hart-local interrupt numbers (mip bits).
const IRQ_M_SOFT = 3;
const IRQ_M_TIMER = 7;
const IRQ_S_EXT = 9;
const IRQ_M_EXT = 11;

const MAX_HARTS = 8;
const PAGE = 0x1000n;
const U64_LIMIT = 1n << 64n;

// Devicetree Specification v0.4, chapter 5.
const FDT_MAGIC = 0xd00dfeed;
const FDT_VERSION = 17;
const FDT_LAST_COMP_VERSION = 16;
const FDT_HEADER_SIZE = 40;
const FDT_BEGIN_NODE = 0x1;
const FDT_END_NODE = 0x2;
const FDT_PROP = 0x3;
const FDT_END = 0x9;
/** Free space at the end of the blob, for a bootloader's in-place additions (OpenSBI, U-Boot). */
const FDT_FREE_SPACE = 4096;

/**
 * QEMU `virt` with `-m memBytes -smp harts`: RV64IMAFDC, Sv48, 10 MHz timebase, every device where the core's
 * platform puts it (QEMU virt's addresses).
 */
export function defaultVirtConfig(memBase: bigint, memBytes: bigint, harts = 1, p: Platform = platform()): FdtConfig {
  const virtio: { base: bigint; irq: number }[] = [];
  for (let i = 0; i < p.virtio.slots; i++) virtio.push({ base: p.virtio.base + BigInt(i) * p.virtio.stride, irq: p.virtio.irq + i });
  return {
    memBase,
    memBytes,
    harts,
    isa: "rv64imafdc_zicntr_zicsr_zifencei",
    mmuType: "riscv,sv48",
    timebaseHz: 10_000_000,
    uart: { ...p.uart },
    clint: { base: p.clint },
    plic: { ...p.plic },
    test: { base: p.test },
    rtc: { base: p.rtc, irq: RTC_IRQ },
    virtio,
  };
}

/** The device tree blob for `cfg`; throws a one-line WasmvisorError if the configuration is inconsistent. */
export function buildFdt(cfg: FdtConfig): Uint8Array {
  const isa = validate(cfg);
  return encode(buildTree(cfg, isa));
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

function fail(why: string): never {
  throw new WasmvisorError(`device tree: ${why}`);
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function checkAddr(what: string, v: unknown): bigint {
  if (typeof v !== "bigint" || v < 0n || v >= U64_LIMIT) fail(`${what} must be a bigint in [0, 2^64)`);
  return v;
}

function checkInt(what: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) fail(`${what} must be an integer in ${lo}..${hi} (got ${String(v)})`);
  return v;
}

function checkString(what: string, v: unknown, allowEmpty: boolean): string {
  if (typeof v !== "string") fail(`${what} must be a string`);
  if (v.includes("\0")) fail(`${what} must not contain a NUL character`);
  if (!allowEmpty && v.length === 0) fail(`${what} must not be empty`);
  return v;
}

interface ParsedIsa { isa: string; base: string; extensions: string[] }

// Single-letter extensions in canonical order (unprivileged spec, "ISA Extension Naming Conventions").
const ISA_LETTERS = "imafdqlcbkjtpvh";

function parseIsa(isa: unknown): ParsedIsa {
  const s = checkString("isa", isa, false);
  const m = /^rv64([a-z]+)((?:_[a-z][a-z0-9]*)*)$/.exec(s);
  if (!m) fail(`isa "${s}" is not an RV64 ISA string like rv64imafdc_zicsr_zifencei (lower case, "_" between multi-letter extensions)`);
  const head = m[1];
  if (head[0] !== "i" && head[0] !== "g") fail(`isa "${s}" must start with rv64i or rv64g`);
  const letters = new Set<string>();
  const multi: string[] = [];
  for (const ch of head) {
    if (ch === "g") {
      for (const l of "imafd") letters.add(l);
      multi.push("zicsr", "zifencei");
    } else if (ISA_LETTERS.includes(ch)) {
      letters.add(ch);
    } else {
      fail(`isa "${s}": unknown single-letter extension "${ch}"`);
    }
  }
  for (const ext of m[2].split("_").slice(1)) {
    if (!/^[zsxh]/.test(ext) || ext.length < 2) fail(`isa "${s}": multi-letter extension "${ext}" must start with z, s, x or h`);
    multi.push(ext);
  }
  const singles = [...ISA_LETTERS].filter((l) => letters.has(l));
  const multis = [...new Set(multi)];
  return {
    isa: `rv64${singles.join("")}${multis.map((e) => `_${e}`).join("")}`,
    base: "rv64i",
    extensions: [...singles, ...multis],
  };
}

interface Region { what: string; base: bigint; size: bigint }

function validate(cfg: FdtConfig): ParsedIsa {
  if (typeof cfg !== "object" || cfg === null) fail("configuration must be an object");
  checkInt("harts", cfg.harts, 1, MAX_HARTS);
  checkInt("timebaseHz", cfg.timebaseHz, 1, 0xffff_ffff);
  if (cfg.mmuType !== "riscv,sv39" && cfg.mmuType !== "riscv,sv48") fail(`mmuType must be "riscv,sv39" or "riscv,sv48" (got ${String(cfg.mmuType)})`);
  const isa = parseIsa(cfg.isa);

  const memBase = checkAddr("memBase", cfg.memBase);
  const memBytes = checkAddr("memBytes", cfg.memBytes);
  if (memBytes === 0n) fail("memBytes must not be 0");
  if (memBase % PAGE !== 0n || memBytes % PAGE !== 0n) fail(`RAM [${hex(memBase)}, +${hex(memBytes)}) must be 4 KiB aligned`);

  const regions: Region[] = [{ what: "RAM", base: memBase, size: memBytes }];
  const irqs: { what: string; irq: number }[] = [];
  const add = (what: string, base: unknown, size: bigint): void => {
    regions.push({ what, base: checkAddr(`${what} base`, base), size });
  };
  if (cfg.clint !== undefined) add("CLINT", cfg.clint.base, SIZE_CLINT);
  let ndev = 0;
  if (cfg.plic !== undefined) {
    add("PLIC", cfg.plic.base, SIZE_PLIC);
    ndev = checkInt("plic.ndev", cfg.plic.ndev, 1, 1023);
  }
  const irqDevice = (what: string, dev: { base: bigint; irq: number }, size: bigint): void => {
    add(what, dev.base, size);
    if (cfg.plic === undefined) fail(`${what} needs a PLIC for its interrupt`);
    irqs.push({ what, irq: checkInt(`${what} irq`, dev.irq, 1, ndev) });
  };
  if (cfg.uart !== undefined) irqDevice("UART", cfg.uart, SIZE_UART);
  if (cfg.test !== undefined) add("test device", cfg.test.base, SIZE_TEST);
  if (cfg.rtc !== undefined) irqDevice("RTC", cfg.rtc, SIZE_RTC);
  if (cfg.virtio !== undefined) {
    if (!Array.isArray(cfg.virtio)) fail("virtio must be an array");
    cfg.virtio.forEach((v, i) => irqDevice(`virtio[${i}]`, v, SIZE_VIRTIO));
  }

  for (const r of regions) {
    if (r.base + r.size > U64_LIMIT) fail(`${r.what} [${hex(r.base)}, +${hex(r.size)}) runs past the end of the address space`);
  }
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i], b = regions[j];
      if (a.base < b.base + b.size && b.base < a.base + a.size) {
        fail(`${b.what} [${hex(b.base)}, ${hex(b.base + b.size)}) overlaps ${a.what} [${hex(a.base)}, ${hex(a.base + a.size)})`);
      }
    }
  }
  for (let i = 0; i < irqs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (irqs[i].irq === irqs[j].irq) fail(`${irqs[i].what} and ${irqs[j].what} both use PLIC interrupt ${irqs[i].irq}`);
    }
  }

  if (cfg.bootargs !== undefined) checkString("bootargs", cfg.bootargs, true);
  if (cfg.stdoutPath !== undefined) checkString("stdoutPath", cfg.stdoutPath, false);
  if (cfg.initrd !== undefined) {
    const start = checkAddr("initrd start", cfg.initrd.start);
    const end = checkAddr("initrd end", cfg.initrd.end);
    if (start >= end) fail(`initrd [${hex(start)}, ${hex(end)}) is empty or reversed`);
    if (start < memBase || end > memBase + memBytes) {
      fail(`initrd [${hex(start)}, ${hex(end)}) is not inside RAM [${hex(memBase)}, ${hex(memBase + memBytes)})`);
    }
  }
  return isa;
}

// ---------------------------------------------------------------------------------------------------------------
// The tree

interface Node { name: string; props: [string, Uint8Array][]; children: Node[] }

const utf8 = new TextEncoder();

function u32(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => dv.setUint32(i * 4, c >>> 0));
  return out;
}

function u64(...values: bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, v));
  return out;
}

/** One string, or a string list: each NUL-terminated. */
function str(...list: string[]): Uint8Array {
  return utf8.encode(list.map((s) => `${s}\0`).join(""));
}

const EMPTY = new Uint8Array(0);

/** `reg` of one region under #address-cells = #size-cells = 2. */
const reg = (base: bigint, size: bigint): Uint8Array => u64(base, size);

function node(name: string, props: [string, Uint8Array][], children: Node[] = []): Node {
  return { name, props, children };
}

const unit = (v: bigint): string => v.toString(16);

function buildTree(cfg: FdtConfig, isa: ParsedIsa): Node {
  // Phandles in QEMU's order: each hart (highest first) then its interrupt controller, then the PLIC, then the test
  // device, so the numbers match `qemu-system-riscv64 -M virt`'s own tree.
  let next = 1;
  const cpuPh: number[] = [];
  const intcPh: number[] = [];
  for (let h = cfg.harts - 1; h >= 0; h--) {
    cpuPh[h] = next++;
    intcPh[h] = next++;
  }
  const plicPh = cfg.plic !== undefined ? next++ : 0;
  const testPh = cfg.test !== undefined ? next++ : 0;

  const cpuProps = (h: number): [string, Uint8Array][] => {
    const p: [string, Uint8Array][] = [
      ["device_type", str("cpu")],
      ["reg", u32(h)],
      ["status", str("okay")],
      ["compatible", str("riscv")],
      ["riscv,isa", str(isa.isa)],
      ["riscv,isa-base", str(isa.base)],
      ["riscv,isa-extensions", str(...isa.extensions)],
      ["mmu-type", str(cfg.mmuType)],
    ];
    if (isa.extensions.includes("zicbom")) p.push(["riscv,cbom-block-size", u32(CBO_BLOCK_SIZE)]);
    if (isa.extensions.includes("zicboz")) p.push(["riscv,cboz-block-size", u32(CBO_BLOCK_SIZE)]);
    if (isa.extensions.includes("zicbop")) p.push(["riscv,cbop-block-size", u32(CBO_BLOCK_SIZE)]);
    p.push(["phandle", u32(cpuPh[h])]);
    return p;
  };
  const cpus: Node[] = [];
  const cores: Node[] = [];
  for (let h = 0; h < cfg.harts; h++) {
    const intc = node("interrupt-controller", [
      ["#address-cells", u32(0)],
      ["#interrupt-cells", u32(1)],
      ["interrupt-controller", EMPTY],
      ["compatible", str("riscv,cpu-intc")],
      ["phandle", u32(intcPh[h])],
    ]);
    cpus.push(node(`cpu@${h}`, cpuProps(h), [intc]));
    cores.push(node(`core${h}`, [["cpu", u32(cpuPh[h])]]));
  }
  const cpusNode = node("cpus", [
    ["#address-cells", u32(1)],
    ["#size-cells", u32(0)],
    ["timebase-frequency", u32(cfg.timebaseHz)],
  ], [...cpus, node("cpu-map", [], [node("cluster0", [], cores)])]);

  const perHart = (a: number, b: number): Uint8Array => {
    const cells: number[] = [];
    for (let h = 0; h < cfg.harts; h++) cells.push(intcPh[h], a, intcPh[h], b);
    return u32(...cells);
  };
  const soc: { base: bigint; node: Node }[] = [];
  if (cfg.clint !== undefined) {
    const b = cfg.clint.base;
    soc.push({ base: b, node: node(`clint@${unit(b)}`, [
      ["compatible", str("sifive,clint0", "riscv,clint0")],
      ["reg", reg(b, SIZE_CLINT)],
      ["interrupts-extended", perHart(IRQ_M_SOFT, IRQ_M_TIMER)],
    ]) });
  }
  if (cfg.plic !== undefined) {
    const b = cfg.plic.base;
    soc.push({ base: b, node: node(`plic@${unit(b)}`, [
      ["#address-cells", u32(0)],
      ["#interrupt-cells", u32(1)],
      ["compatible", str("sifive,plic-1.0.0", "riscv,plic0")],
      ["interrupt-controller", EMPTY],
      ["interrupts-extended", perHart(IRQ_M_EXT, IRQ_S_EXT)],
      ["reg", reg(b, SIZE_PLIC)],
      ["riscv,ndev", u32(cfg.plic.ndev)],
      ["phandle", u32(plicPh)],
    ]) });
  }
  const irqProps = (irq: number): [string, Uint8Array][] => [["interrupt-parent", u32(plicPh)], ["interrupts", u32(irq)]];
  let uartPath: string | undefined;
  if (cfg.uart !== undefined) {
    const b = cfg.uart.base;
    uartPath = `/soc/serial@${unit(b)}`;
    soc.push({ base: b, node: node(`serial@${unit(b)}`, [
      ["compatible", str("ns16550a")],
      ["reg", reg(b, SIZE_UART)],
      ["clock-frequency", u32(UART_CLOCK_HZ)],
      ...irqProps(cfg.uart.irq),
    ]) });
  }
  if (cfg.test !== undefined) {
    const b = cfg.test.base;
    soc.push({ base: b, node: node(`test@${unit(b)}`, [
      ["compatible", str("sifive,test1", "sifive,test0", "syscon")],
      ["reg", reg(b, SIZE_TEST)],
      ["phandle", u32(testPh)],
    ]) });
  }
  if (cfg.rtc !== undefined) {
    const b = cfg.rtc.base;
    soc.push({ base: b, node: node(`rtc@${unit(b)}`, [
      ["compatible", str("google,goldfish-rtc")],
      ["reg", reg(b, SIZE_RTC)],
      ...irqProps(cfg.rtc.irq),
    ]) });
  }
  for (const v of cfg.virtio ?? []) {
    soc.push({ base: v.base, node: node(`virtio_mmio@${unit(v.base)}`, [
      ["compatible", str("virtio,mmio")],
      ["reg", reg(v.base, SIZE_VIRTIO)],
      ...irqProps(v.irq),
    ]) });
  }
  soc.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));

  const chosen: [string, Uint8Array][] = [];
  if (cfg.bootargs !== undefined) chosen.push(["bootargs", str(cfg.bootargs)]);
  const stdout = cfg.stdoutPath ?? uartPath;
  if (stdout !== undefined) chosen.push(["stdout-path", str(stdout)]);
  if (cfg.initrd !== undefined) {
    chosen.push(["linux,initrd-start", u64(cfg.initrd.start)], ["linux,initrd-end", u64(cfg.initrd.end)]);
  }

  const root: Node[] = [
    node("chosen", chosen),
    node(`memory@${unit(cfg.memBase)}`, [["device_type", str("memory")], ["reg", reg(cfg.memBase, cfg.memBytes)]]),
    cpusNode,
    node("soc", [
      ["#address-cells", u32(2)],
      ["#size-cells", u32(2)],
      ["compatible", str("simple-bus")],
      ["ranges", EMPTY],
    ], soc.map((s) => s.node)),
  ];
  if (cfg.test !== undefined) {
    const syscon = (compatible: string, value: number): [string, Uint8Array][] => [
      ["compatible", str(compatible)],
      ["regmap", u32(testPh)],
      ["offset", u32(0)],
      ["value", u32(value)],
    ];
    root.push(node("poweroff", syscon("syscon-poweroff", FINISHER_PASS)));
    root.push(node("reboot", syscon("syscon-reboot", FINISHER_RESET)));
  }
  return node("", [
    ["#address-cells", u32(2)],
    ["#size-cells", u32(2)],
    ["compatible", str("riscv-virtio")],
    ["model", str("riscv-virtio,qemu")],
  ], root);
}

// ---------------------------------------------------------------------------------------------------------------
// The encoder (big-endian throughout)

class ByteWriter {
  private buf = new Uint8Array(4096);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  u32(v: number): void {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.length, v >>> 0);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Zero padding up to a multiple of 4 (tokens are 4-byte aligned). */
  align4(): void {
    const pad = (4 - (this.length % 4)) % 4;
    this.reserve(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function encode(root: Node): Uint8Array {
  const struct = new ByteWriter();
  const strings = new ByteWriter();
  const nameOffsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let off = nameOffsets.get(name);
    if (off === undefined) {
      off = strings.length;
      strings.bytes(str(name));
      nameOffsets.set(name, off);
    }
    return off;
  };
  const emit = (n: Node): void => {
    struct.u32(FDT_BEGIN_NODE);
    struct.bytes(str(n.name));
    struct.align4();
    for (const [name, value] of n.props) {
      struct.u32(FDT_PROP);
      struct.u32(value.length);
      struct.u32(nameOffset(name));
      struct.bytes(value);
      struct.align4();
    }
    for (const c of n.children) emit(c);
    struct.u32(FDT_END_NODE);
  };
  emit(root);
  struct.u32(FDT_END);

  const structBytes = struct.result();
  const stringBytes = strings.result();
  const offRsvmap = FDT_HEADER_SIZE; // 8-byte aligned
  const offStruct = offRsvmap + 16; // the reservation block holds only its terminating {0, 0} entry
  const offStrings = offStruct + structBytes.length;
  const used = offStrings + stringBytes.length;
  const total = Math.ceil(used / 8) * 8 + FDT_FREE_SPACE;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, offStruct, offStrings, offRsvmap, FDT_VERSION, FDT_LAST_COMP_VERSION,
    0 /* boot_cpuid_phys */, stringBytes.length, structBytes.length];
  header.forEach((v, i) => dv.setUint32(i * 4, v));
  out.set(structBytes, offStruct);
  out.set(stringBytes, offStrings);
  return out;
}
