// host/fdt.ts: the device tree decompiles cleanly with dtc, wires every interrupt the way QEMU virt does, matches
// QEMU's own tree node for node, round-trips through dtc, boots QEMU's OpenSBI, and rejects bad configurations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFdt, defaultVirtConfig, type FdtConfig } from "../host/fdt.js";
import { WasmvisorError } from "../host/errors.js";

const QEMU = process.env.QEMU ?? "qemu-system-riscv64";
const DTC = process.env.DTC ?? "dtc";
const RAM = 0x8000_0000n;
const MiB = 1n << 20n;

let dir = "";
let fileNo = 0;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "wasmvisor-fdt-")); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function tempFile(ext: string): string {
  return join(dir, `f${fileNo++}.${ext}`);
}

/** Runs dtc; a missing dtc fails the test with a clear message. */
function dtc(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(DTC, args, { encoding: "utf8", timeout: 30_000 });
  if (r.error) throw new Error(`cannot run ${DTC}: ${r.error.message} (apt-get install device-tree-compiler; CI installs it)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The blob decompiled by `dtc -I dtb -O dts`, which must succeed without a single warning. */
function decompile(blob: Uint8Array): string {
  const f = tempFile("dtb");
  writeFileSync(f, blob);
  const r = dtc(["-I", "dtb", "-O", "dts", f]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr, "dtc warnings").toBe("");
  return r.stdout;
}

/** QEMU's own tree for `-M virt -m mem -smp harts`, decompiled. */
function qemuDts(mem: string, harts: number): string {
  const f = tempFile("dtb");
  const r = spawnSync(QEMU, ["-M", `virt,dumpdtb=${f}`, "-m", mem, "-smp", String(harts), "-nographic", "-bios", "none"],
    { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`cannot run ${QEMU}: ${r.error.message} (CI installs qemu-system-misc)`);
  expect(r.status, r.stderr).toBe(0);
  const d = dtc(["-I", "dtb", "-O", "dts", f]);
  expect(d.status, d.stderr).toBe(0);
  return d.stdout;
}

type Props = Map<string, string>; // property name -> dtc's text for the value ("" for an empty property)
type Tree = Map<string, Props>; // node path -> properties

/** Parses dtc's own dts output (one property per line, nodes opened by "name {" and closed by "};"). */
function parseDts(dts: string): Tree {
  const tree: Tree = new Map();
  const stack: string[] = [];
  for (const raw of dts.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("/dts-v1/") || line.startsWith("/memreserve/")) continue;
    const open = /^(\S+) \{$/.exec(line);
    if (open) {
      const parent = stack[stack.length - 1];
      const path = parent === undefined ? "/" : parent === "/" ? `/${open[1]}` : `${parent}/${open[1]}`;
      stack.push(path);
      tree.set(path, new Map());
      continue;
    }
    if (line === "};") { stack.pop(); continue; }
    const prop = /^([^\s=;]+)(?: = (.*))?;$/.exec(line);
    if (!prop || stack.length === 0) throw new Error(`unexpected dts line: ${line}`);
    tree.get(stack[stack.length - 1])!.set(prop[1], prop[2] ?? "");
  }
  expect(stack, "unbalanced dts").toEqual([]);
  return tree;
}

function node(t: Tree, path: string): Props {
  const n = t.get(path);
  if (!n) throw new Error(`no node ${path}; nodes: ${[...t.keys()].join(" ")}`);
  return n;
}

function prop(t: Tree, path: string, name: string): string {
  const v = node(t, path).get(name);
  if (v === undefined) throw new Error(`${path} has no property ${name}`);
  return v;
}

/** The cells of a `<...>` value. */
function cells(t: Tree, path: string, name: string): number[] {
  const v = prop(t, path, name);
  const groups = [...v.matchAll(/<([^>]*)>/g)];
  if (groups.length === 0) throw new Error(`${path} ${name} = ${v} is not cells`);
  return groups.flatMap((g) => g[1].trim().split(/\s+/).filter((s) => s !== "").map((s) => Number(s)));
}

/** The strings of a string or string-list value (dtc prints lists either as "a\0b" or as "a", "b"). */
function strings(t: Tree, path: string, name: string): string[] {
  const v = prop(t, path, name);
  const out: string[] = [];
  for (const m of v.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push(...m[1].split("\\0"));
  if (out.length === 0) throw new Error(`${path} ${name} = ${v} is not a string`);
  return out;
}

const u32be = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off);

// -----------------------------------------------------------------------------------------------------------------

describe("buildFdt: the default virt config through dtc", () => {
  const HARTS = 2;
  const cfg: FdtConfig = {
    ...defaultVirtConfig(RAM, 256n * MiB, HARTS),
    bootargs: "console=ttyS0 earlycon root=/dev/vda ro",
    initrd: { start: 0x8400_0000n, end: 0x8410_0000n },
  };
  let t: Tree;
  beforeAll(() => { t = parseDts(decompile(buildFdt(cfg))); });

  it("has the root properties and 2/2 address and size cells", () => {
    expect(cells(t, "/", "#address-cells")).toEqual([2]);
    expect(cells(t, "/", "#size-cells")).toEqual([2]);
    expect(strings(t, "/", "compatible")).toEqual(["riscv-virtio"]);
    expect(strings(t, "/", "model")).toEqual(["riscv-virtio,qemu"]);
    expect(cells(t, "/soc", "#address-cells")).toEqual([2]);
    expect(cells(t, "/soc", "#size-cells")).toEqual([2]);
    expect(strings(t, "/soc", "compatible")).toEqual(["simple-bus"]);
    expect(prop(t, "/soc", "ranges")).toBe("");
  });

  it("describes RAM as memory@80000000", () => {
    expect(strings(t, "/memory@80000000", "device_type")).toEqual(["memory"]);
    expect(cells(t, "/memory@80000000", "reg")).toEqual([0, 0x8000_0000, 0, 0x1000_0000]);
  });

  it("has one cpu node per hart with its ISA, MMU, status and interrupt controller", () => {
    expect(cells(t, "/cpus", "#address-cells")).toEqual([1]);
    expect(cells(t, "/cpus", "#size-cells")).toEqual([0]);
    expect(cells(t, "/cpus", "timebase-frequency")).toEqual([10_000_000]);
    const cpuNodes = [...t.keys()].filter((p) => /^\/cpus\/cpu@\d+$/.test(p));
    expect(cpuNodes).toEqual(["/cpus/cpu@0", "/cpus/cpu@1"]);
    const phandles = new Set<number>();
    for (let h = 0; h < HARTS; h++) {
      const cpu = `/cpus/cpu@${h}`;
      expect(strings(t, cpu, "device_type")).toEqual(["cpu"]);
      expect(cells(t, cpu, "reg")).toEqual([h]);
      expect(strings(t, cpu, "status")).toEqual(["okay"]);
      expect(strings(t, cpu, "compatible")).toEqual(["riscv"]);
      expect(strings(t, cpu, "riscv,isa")).toEqual(["rv64imafdc_zicntr_zicsr_zifencei"]);
      expect(strings(t, cpu, "riscv,isa-base")).toEqual(["rv64i"]);
      expect(strings(t, cpu, "riscv,isa-extensions")).toEqual(["i", "m", "a", "f", "d", "c", "zicntr", "zicsr", "zifencei"]);
      expect(strings(t, cpu, "mmu-type")).toEqual(["riscv,sv48"]);
      const intc = `${cpu}/interrupt-controller`;
      expect(strings(t, intc, "compatible")).toEqual(["riscv,cpu-intc"]);
      expect(prop(t, intc, "interrupt-controller")).toBe("");
      expect(cells(t, intc, "#interrupt-cells")).toEqual([1]);
      phandles.add(cells(t, cpu, "phandle")[0]);
      phandles.add(cells(t, intc, "phandle")[0]);
      expect(cells(t, `/cpus/cpu-map/cluster0/core${h}`, "cpu")).toEqual(cells(t, cpu, "phandle"));
    }
    expect(phandles.size).toBe(2 * HARTS); // all distinct
    expect(phandles.has(0)).toBe(false);
  });

  const intc = (h: number): number => cells(t, `/cpus/cpu@${h}/interrupt-controller`, "phandle")[0];

  it("wires the CLINT to each hart's MSI (3) and MTI (7)", () => {
    expect(strings(t, "/soc/clint@2000000", "compatible")).toEqual(["sifive,clint0", "riscv,clint0"]);
    expect(cells(t, "/soc/clint@2000000", "reg")).toEqual([0, 0x200_0000, 0, 0x1_0000]);
    expect(cells(t, "/soc/clint@2000000", "interrupts-extended")).toEqual([intc(0), 3, intc(0), 7, intc(1), 3, intc(1), 7]);
  });

  it("wires the PLIC to each hart's MEI (11) and SEI (9)", () => {
    const plic = "/soc/plic@c000000";
    expect(strings(t, plic, "compatible")).toEqual(["sifive,plic-1.0.0", "riscv,plic0"]);
    expect(cells(t, plic, "reg")).toEqual([0, 0xc00_0000, 0, 0x60_0000]);
    expect(cells(t, plic, "interrupts-extended")).toEqual([intc(0), 11, intc(0), 9, intc(1), 11, intc(1), 9]);
    expect(prop(t, plic, "interrupt-controller")).toBe("");
    expect(cells(t, plic, "#interrupt-cells")).toEqual([1]);
    expect(cells(t, plic, "#address-cells")).toEqual([0]);
    expect(cells(t, plic, "riscv,ndev")).toEqual([95]);
  });

  it("routes the UART, RTC and virtio interrupts to the PLIC", () => {
    const plic = cells(t, "/soc/plic@c000000", "phandle");
    const uart = "/soc/serial@10000000";
    expect(strings(t, uart, "compatible")).toEqual(["ns16550a"]);
    expect(cells(t, uart, "reg")).toEqual([0, 0x1000_0000, 0, 0x100]);
    expect(cells(t, uart, "interrupts")).toEqual([10]);
    expect(cells(t, uart, "interrupt-parent")).toEqual(plic);
    expect(cells(t, "/soc/rtc@101000", "interrupts")).toEqual([11]);
    expect(cells(t, "/soc/rtc@101000", "interrupt-parent")).toEqual(plic);
    for (let i = 0; i < 8; i++) {
      const v = `/soc/virtio_mmio@${(0x1000_1000 + i * 0x1000).toString(16)}`;
      expect(strings(t, v, "compatible")).toEqual(["virtio,mmio"]);
      expect(cells(t, v, "interrupts")).toEqual([1 + i]);
      expect(cells(t, v, "interrupt-parent")).toEqual(plic);
    }
  });

  it("points /poweroff and /reboot at the test device", () => {
    const test = cells(t, "/soc/test@100000", "phandle");
    expect(strings(t, "/soc/test@100000", "compatible")).toEqual(["sifive,test1", "sifive,test0", "syscon"]);
    expect(strings(t, "/poweroff", "compatible")).toEqual(["syscon-poweroff"]);
    expect(cells(t, "/poweroff", "regmap")).toEqual(test);
    expect(cells(t, "/poweroff", "value")).toEqual([0x5555]);
    expect(strings(t, "/reboot", "compatible")).toEqual(["syscon-reboot"]);
    expect(cells(t, "/reboot", "regmap")).toEqual(test);
    expect(cells(t, "/reboot", "value")).toEqual([0x7777]);
  });

  it("has /chosen with bootargs, stdout-path and the initrd", () => {
    expect(strings(t, "/chosen", "bootargs")).toEqual([cfg.bootargs]);
    expect(strings(t, "/chosen", "stdout-path")).toEqual(["/soc/serial@10000000"]);
    expect(cells(t, "/chosen", "linux,initrd-start")).toEqual([0, 0x8400_0000]);
    expect(cells(t, "/chosen", "linux,initrd-end")).toEqual([0, 0x8410_0000]);
  });
});

describe("buildFdt: other configurations", () => {
  it("leaves out what is not configured and honours overrides", () => {
    const cfg: FdtConfig = {
      memBase: 0x8000_0000n, memBytes: 4096n * MiB, harts: 1, isa: "rv64gc", mmuType: "riscv,sv39", timebaseHz: 1_000_000,
      uart: { base: 0x1000_0000n, irq: 10 },
      plic: { base: 0xc00_0000n, ndev: 31 },
      virtio: [{ base: 0x1000_1000n, irq: 1 }, { base: 0x1000_2000n, irq: 2 }],
      stdoutPath: "serial0:115200n8",
    };
    const t = parseDts(decompile(buildFdt(cfg)));
    expect(cells(t, "/memory@80000000", "reg")).toEqual([0, 0x8000_0000, 1, 0]); // 4 GiB: two size cells
    expect(strings(t, "/cpus/cpu@0", "riscv,isa")).toEqual(["rv64imafdc_zicsr_zifencei"]); // g expanded
    expect(strings(t, "/cpus/cpu@0", "riscv,isa-extensions")).toEqual(["i", "m", "a", "f", "d", "c", "zicsr", "zifencei"]);
    expect(strings(t, "/cpus/cpu@0", "mmu-type")).toEqual(["riscv,sv39"]);
    expect(cells(t, "/cpus", "timebase-frequency")).toEqual([1_000_000]);
    expect(cells(t, "/soc/plic@c000000", "riscv,ndev")).toEqual([31]);
    expect(strings(t, "/chosen", "stdout-path")).toEqual(["serial0:115200n8"]);
    expect(node(t, "/chosen").has("bootargs")).toBe(false);
    expect(node(t, "/chosen").has("linux,initrd-start")).toBe(false);
    const paths = [...t.keys()];
    expect(paths.filter((p) => p.startsWith("/soc/")).sort())
      .toEqual(["/soc/plic@c000000", "/soc/serial@10000000", "/soc/virtio_mmio@10001000", "/soc/virtio_mmio@10002000"]);
    expect(paths).not.toContain("/poweroff");
    expect(paths).not.toContain("/reboot");
  });

  it("describes 8 harts, each wired to the CLINT and the PLIC", () => {
    const t = parseDts(decompile(buildFdt(defaultVirtConfig(RAM, 512n * MiB, 8))));
    const clint: number[] = [], plic: number[] = [];
    for (let h = 0; h < 8; h++) {
      const ph = cells(t, `/cpus/cpu@${h}/interrupt-controller`, "phandle")[0];
      clint.push(ph, 3, ph, 7);
      plic.push(ph, 11, ph, 9);
    }
    expect(cells(t, "/soc/clint@2000000", "interrupts-extended")).toEqual(clint);
    expect(cells(t, "/soc/plic@c000000", "interrupts-extended")).toEqual(plic);
    expect(t.has("/cpus/cpu@8")).toBe(false);
  });

  it("adds cache-block sizes when the ISA has Zicbom/Zicboz", () => {
    const t = parseDts(decompile(buildFdt({ ...defaultVirtConfig(RAM, 128n * MiB), isa: "rv64imafdc_zicbom_zicboz_zicsr" })));
    expect(cells(t, "/cpus/cpu@0", "riscv,cbom-block-size")).toEqual([64]);
    expect(cells(t, "/cpus/cpu@0", "riscv,cboz-block-size")).toEqual([64]);
  });
});

describe("buildFdt: the blob itself", () => {
  const blob = buildFdt({ ...defaultVirtConfig(RAM, 256n * MiB, 2), bootargs: "console=ttyS0" });

  it("has a v17 header whose blocks lie inside an 8-byte-aligned blob with room to grow", () => {
    expect(u32be(blob, 0)).toBe(0xd00dfeed);
    const total = u32be(blob, 4), offStruct = u32be(blob, 8), offStrings = u32be(blob, 12), offRsv = u32be(blob, 16);
    const sizeStrings = u32be(blob, 32), sizeStruct = u32be(blob, 36);
    expect(total).toBe(blob.length);
    expect(total % 8).toBe(0);
    expect(u32be(blob, 20)).toBe(17); // version
    expect(u32be(blob, 24)).toBe(16); // last_comp_version
    expect(u32be(blob, 28)).toBe(0); // boot_cpuid_phys
    expect(offRsv % 8).toBe(0);
    expect(offRsv).toBeGreaterThanOrEqual(40);
    expect([...blob.subarray(offRsv, offRsv + 16)]).toEqual(new Array(16).fill(0)); // empty reservation map
    expect(offStruct % 4).toBe(0);
    expect(offStruct).toBeGreaterThanOrEqual(offRsv + 16);
    expect(offStrings).toBeGreaterThanOrEqual(offStruct + sizeStruct);
    expect(u32be(blob, offStruct)).toBe(1); // FDT_BEGIN_NODE
    expect(u32be(blob, offStruct + sizeStruct - 4)).toBe(9); // FDT_END
    expect(total - (offStrings + sizeStrings)).toBeGreaterThanOrEqual(1024); // free space for a bootloader
  });

  it("stores each property name once in the strings block", () => {
    const offStrings = u32be(blob, 12), sizeStrings = u32be(blob, 32);
    const names = new TextDecoder().decode(blob.subarray(offStrings, offStrings + sizeStrings)).split("\0").slice(0, -1);
    expect(names.length).toBeGreaterThan(20);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("interrupts-extended");
  });

  it("is deterministic", () => {
    expect(buildFdt({ ...defaultVirtConfig(RAM, 256n * MiB, 2), bootargs: "console=ttyS0" })).toEqual(blob);
  });
});

// Nodes of QEMU's tree that wasmvisor does not model (and their children).
const UNMODELLED = /^\/(soc\/)?(pci|flash|fw-cfg|platform-bus|pmu)(@[0-9a-f]+)?(\/|$)/;
// Properties whose values legitimately differ from QEMU's: its CPU has more extensions (and Sv57 in newer QEMU),
// QEMU 7.2 says riscv,ndev = 0x60 (fixed to 0x5f in 8.0), rng-seed is random.
const QEMU_ONLY_VALUES = new Set(["riscv,isa", "riscv,isa-extensions", "mmu-type", "riscv,ndev", "rng-seed",
  "riscv,cbom-block-size", "riscv,cboz-block-size", "riscv,cbop-block-size"]);
// Properties we add that QEMU 7.2 lacks: the ISA in the newer binding, and #address-cells = <0> on the hart
// interrupt controllers (dtc's interrupt_provider check warns about QEMU's tree without it).
const OUR_EXTRAS = new Set(["riscv,isa-base", "riscv,isa-extensions", "#address-cells"]);

describe("buildFdt: matches qemu-system-riscv64 -M virt", () => {
  const cases: [number, string, bigint][] = [[1, "128M", 128n * MiB], [2, "256M", 256n * MiB], [4, "1G", 1024n * MiB], [8, "8G", 8192n * MiB]];
  for (const [harts, mem, bytes] of cases) {
    it(`-smp ${harts} -m ${mem}: same nodes, reg, compatibles, phandles and interrupt wiring`, () => {
      const q = parseDts(qemuDts(mem, harts));
      const ours = parseDts(decompile(buildFdt(defaultVirtConfig(RAM, bytes, harts))));
      const modelled = [...q.keys()].filter((p) => !UNMODELLED.test(p)).sort();
      expect([...ours.keys()].sort()).toEqual(modelled);
      for (const path of modelled) {
        const qp = q.get(path)!, op = ours.get(path)!;
        for (const [name, value] of qp) {
          if (QEMU_ONLY_VALUES.has(name)) continue;
          expect(op.get(name), `${path} ${name}`).toBe(value);
        }
        for (const name of op.keys()) {
          if (!qp.has(name)) expect(OUR_EXTRAS.has(name), `${path} has ${name}, QEMU's does not`).toBe(true);
        }
      }
      expect(prop(ours, "/soc/serial@10000000", "clock-frequency")).toBe(prop(q, "/soc/serial@10000000", "clock-frequency"));
    });
  }
});

describe("buildFdt: dtc round trip", () => {
  const configs: [string, FdtConfig][] = [
    ["default, 2 harts", defaultVirtConfig(RAM, 256n * MiB, 2)],
    ["everything set", {
      ...defaultVirtConfig(RAM, 2048n * MiB, 3), bootargs: "console=ttyS0 quiet \"quoted\" back\\slash",
      initrd: { start: 0x9000_0000n, end: 0x9080_0000n }, stdoutPath: "/soc/serial@10000000:115200",
    }],
  ];
  for (const [label, cfg] of configs) {
    it(label, () => {
      const dts1 = decompile(buildFdt(cfg));
      const src = tempFile("dts");
      const dtb = tempFile("dtb");
      writeFileSync(src, dts1);
      // Recompiling decompiled source, dtc sees raw numbers where it expects &phandle references in
      // interrupts-extended; QEMU's own tree gets the same warning, so that one check is off here.
      const c = dtc(["-W", "no-interrupts_extended_property", "-I", "dts", "-O", "dtb", "-o", dtb, src]);
      expect(c.status, c.stderr).toBe(0);
      expect(c.stderr).toBe("");
      expect(decompile(new Uint8Array(readFileSync(dtb)))).toBe(dts1);
    });
  }
});

describe("buildFdt: OpenSBI boots with it", () => {
  it("QEMU's OpenSBI reads harts, console, timer and reset device from our tree, then the payload powers off", () => {
    // S-mode payload: SBI SRST system_reset(shutdown), then spin.
    const words = [
      0x535258b7, // lui  a7, 0x53525
      0x35488893, // addi a7, a7, 0x354   (a7 = "SRST")
      0x00000813, // li   a6, 0           (system_reset)
      0x00000513, // li   a0, 0           (shutdown)
      0x00000593, // li   a1, 0           (no reason)
      0x00000073, // ecall
      0x0000006f, // j    .
    ];
    const payload = new Uint8Array(words.length * 4);
    words.forEach((w, i) => new DataView(payload.buffer).setUint32(i * 4, w, true));
    const kernel = tempFile("bin");
    writeFileSync(kernel, payload);
    const dtb = tempFile("dtb");
    // An unusual timebase proves OpenSBI read our tree rather than QEMU's.
    writeFileSync(dtb, buildFdt({ ...defaultVirtConfig(RAM, 256n * MiB, 2), timebaseHz: 12_345_678 }));
    const r = spawnSync(QEMU, ["-M", "virt", "-m", "256M", "-smp", "2", "-nographic", "-bios", "default", "-dtb", dtb, "-kernel", kernel],
      { encoding: "utf8", timeout: 60_000 });
    if (r.error) throw new Error(`cannot run ${QEMU}: ${r.error.message} (CI installs qemu-system-misc)`);
    expect(r.stdout).toMatch(/Platform Name\s*: riscv-virtio,qemu/);
    expect(r.stdout).toMatch(/Platform HART Count\s*: 2\b/);
    expect(r.stdout).toMatch(/Platform Console Device\s*: uart8250/);
    expect(r.stdout).toMatch(/Platform Timer Device\s*: \S+ @ 12345678Hz/);
    expect(r.stdout).toMatch(/Platform Shutdown Device\s*: sifive_test/);
    expect(r.stdout).toMatch(/Domain0 HARTs\s*: 0\*,1\*/);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe("buildFdt: configuration errors", () => {
  const base = (): FdtConfig => defaultVirtConfig(RAM, 256n * MiB, 2);
  const cases: [string, (c: FdtConfig) => void, RegExp][] = [
    ["no harts", (c) => { c.harts = 0; }, /harts must be an integer in 1\.\.8/],
    ["9 harts", (c) => { c.harts = 9; }, /harts must be an integer in 1\.\.8/],
    ["fractional harts", (c) => { c.harts = 1.5; }, /harts/],
    ["no RAM", (c) => { c.memBytes = 0n; }, /memBytes must not be 0/],
    ["unaligned RAM", (c) => { c.memBytes = 0x1000_0800n; }, /4 KiB aligned/],
    ["negative address", (c) => { c.memBase = -4096n; }, /memBase must be a bigint/],
    ["RAM past 2^64", (c) => { c.memBase = 0xffff_ffff_ffff_f000n; c.memBytes = 0x2000n; }, /past the end of the address space/],
    ["UART on the CLINT", (c) => { c.uart = { base: 0x200_8000n, irq: 10 }; }, /UART .* overlaps CLINT/],
    ["virtio inside RAM", (c) => { c.virtio = [{ base: 0x8000_1000n, irq: 1 }]; }, /virtio\[0\] .* overlaps RAM/],
    ["two virtio at one address", (c) => { c.virtio = [{ base: 0x1000_1000n, irq: 1 }, { base: 0x1000_1000n, irq: 2 }]; }, /virtio\[1\] .* overlaps virtio\[0\]/],
    ["shared interrupt", (c) => { c.rtc = { base: 0x10_1000n, irq: 10 }; }, /RTC and UART both use PLIC interrupt 10/],
    ["interrupt above ndev", (c) => { c.uart = { base: 0x1000_0000n, irq: 96 }; }, /UART irq must be an integer in 1\.\.95/],
    ["interrupt 0", (c) => { c.uart = { base: 0x1000_0000n, irq: 0 }; }, /UART irq/],
    ["UART without a PLIC", (c) => { delete c.plic; }, /UART needs a PLIC/],
    ["initrd outside RAM", (c) => { c.initrd = { start: 0x8ff0_0000n, end: 0x9000_1000n }; }, /initrd .* is not inside RAM/],
    ["initrd below RAM", (c) => { c.initrd = { start: 0x7000_0000n, end: 0x8000_1000n }; }, /initrd .* is not inside RAM/],
    ["reversed initrd", (c) => { c.initrd = { start: 0x8400_0000n, end: 0x8300_0000n }; }, /initrd .* empty or reversed/],
    ["NUL in bootargs", (c) => { c.bootargs = "console=ttyS0\0root=/dev/vda"; }, /bootargs must not contain a NUL/],
    ["empty stdout-path", (c) => { c.stdoutPath = ""; }, /stdoutPath must not be empty/],
    ["RV32 ISA", (c) => { c.isa = "rv32imac"; }, /not an RV64 ISA string/],
    ["upper-case ISA", (c) => { c.isa = "RV64IMAC"; }, /not an RV64 ISA string/],
    ["RV64E", (c) => { c.isa = "rv64emac"; }, /must start with rv64i or rv64g/],
    ["unknown letter", (c) => { c.isa = "rv64imasu"; }, /unknown single-letter extension "s"/],
    ["bad multi-letter", (c) => { c.isa = "rv64imac_foo"; }, /"foo" must start with z, s, x or h/],
    ["bad MMU", (c) => { (c as { mmuType: string }).mmuType = "riscv,sv57"; }, /mmuType must be/],
    ["zero timebase", (c) => { c.timebaseHz = 0; }, /timebaseHz/],
    ["bad ndev", (c) => { c.plic = { base: 0xc00_0000n, ndev: 2000 }; }, /plic\.ndev/],
  ];
  for (const [label, mutate, why] of cases) {
    it(label, () => {
      const cfg = base();
      mutate(cfg);
      let err: unknown;
      try {
        buildFdt(cfg);
      } catch (e) {
        err = e;
      }
      expect(err, "buildFdt accepted a bad configuration").toBeInstanceOf(WasmvisorError);
      const msg = (err as Error).message;
      expect(msg).toMatch(why);
      expect(msg.startsWith("device tree: "), msg).toBe(true);
      expect(msg).not.toMatch(/[\r\n]/);
    });
  }

  it("accepts the default config for 1..8 harts", () => {
    for (let h = 1; h <= 8; h++) expect(() => buildFdt(defaultVirtConfig(RAM, 128n * MiB, h))).not.toThrow();
  });
});
