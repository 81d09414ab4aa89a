// The G-stage (assembly/gstage.ts), the frame allocator (frames.ts) and the dirty-page log (dirty.ts): frames are
// allocated on first touch and only for RAM/ROM, host memory follows what is touched, ROM is read/execute only,
// the dirty log is exact, VMs are isolated, and code written through the G-stage is re-decoded.
// Guests are hand-assembled (test/helpers.ts Asm) and run with vm.run().
import { describe, expect, it } from "vitest";
import { Vm } from "../host/vm.js";
import { Asm, REG, enterS, program } from "./helpers.js";

const { t0, t1, t2, a0, a1, a2, a3, s0, s1, ra } = REG;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CSR_MSTATUS = 0x300, CSR_PMPCFG0 = 0x3a0, CSR_PMPADDR0 = 0x3b0;

/** Start of the frame pool in linear memory (assembly/layout.ts FRAME_POOL; docs/architecture.md memory map). */
const FRAME_POOL = 0x90_0000;

const hex = (v: bigint | number) => "0x" + v.toString(16);
const u64le = (v: bigint) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true); return b; };
const rdU64 = (vm: Vm, pa: bigint) => new DataView(vm.readPhys(pa, 8).buffer).getBigUint64(0, true);
const frames = (vm: Vm) => ({ guest: vm.stats().guestFrames, tables: vm.stats().tableFrames });
const sorted = (xs: bigint[]) => [...xs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

function load(vm: Vm, a: Asm, at = vm.ramBase): void {
  vm.writePhys(at, a.bytes());
  vm.pc = at;
}

function trapInfo(vm: Vm) {
  const k = vm.core.k;
  return { mcause: vm.hartU64(k.HART_MCAUSE), mtval: vm.hartU64(k.HART_MTVAL), mepc: vm.hartU64(k.HART_MEPC) };
}

// ---- a minimal Sv39 page-table builder (PTEs written with writePhys) ----
const V = 1n, R = 2n, W = 4n, X = 8n, A = 64n, D = 128n;
const pte = (pa: bigint, flags: bigint) => ((pa >> 12n) << 10n) | flags;
class Sv39 {
  private next: bigint;
  readonly root: bigint;
  constructor(private vm: Vm, tablesAt: bigint) { this.next = tablesAt; this.root = this.page(); }
  page(): bigint { const p = this.next; this.next += 4096n; this.vm.writePhys(p, new Uint8Array(4096)); return p; }
  /** Maps va → pa with a leaf at `level`; returns the leaf PTE's address. */
  map(va: bigint, pa: bigint, level: number, flags: bigint): bigint {
    let t = this.root;
    for (let i = 2; i > level; i--) {
      const s = t + ((va >> BigInt(12 + 9 * i)) & 0x1ffn) * 8n;
      let e = rdU64(this.vm, s);
      if ((e & V) === 0n) { e = pte(this.page(), V); this.vm.writePhys(s, u64le(e)); }
      t = (e >> 10n) << 12n;
    }
    const s = t + ((va >> BigInt(12 + 9 * level)) & 0x1ffn) * 8n;
    this.vm.writePhys(s, u64le(pte(pa, flags)));
    return s;
  }
  get satp(): bigint { return (8n << 60n) | (this.root >> 12n); }
}

describe("frames on first touch", () => {
  it("1 GiB VM: 5120 pages in 40 scattered clusters cost exactly 5120 frames and 45 table frames", () => {
    const vm = Vm.create({ memBytes: GiB });
    expect(vm.memory.buffer.byteLength).toBeGreaterThanOrEqual(GiB); // the whole GiB is reserved up front…
    expect(frames(vm)).toEqual({ guest: 0n, tables: 4n });           // …but only the 16 KiB G-stage root is in use
    const touched: bigint[] = [];
    for (let c = 0; c < 40; c++) {
      const region = c * 12 + 5;                     // 40 distinct 2 MiB regions spread over the GiB
      const first = (c * 7) % 384;                   // 128 consecutive pages inside the region
      const pa = vm.ramBase + BigInt(region) * 0x20_0000n + BigInt(first) * 4096n;
      const data = new Uint8Array(128 * 4096);
      for (let p = 0; p < 128; p++) { data.fill(p + c, p * 4096, (p + 1) * 4096); touched.push(pa + BigInt(p) * 4096n); }
      vm.writePhys(pa, data);
    }
    expect(touched.length * 4096).toBe(20 * MiB);
    // Tables: the 4-frame Sv39x4 root, one level-1 table (all of RAM is in one GiB), one level-0 table per 2 MiB region.
    expect(frames(vm)).toEqual({ guest: 5120n, tables: 4n + 1n + 40n });
    expect(vm.stats().tableFrames).toBeLessThan(64n);
    // Frames are dense in the pool (bump allocation): every touched page lies below pool + (frames used) pages, so the
    // memory the host commits follows the touch, not the 1 GiB promised.
    const used = Number(vm.stats().guestFrames + vm.stats().tableFrames);
    const ptrs = new Set<number>();
    for (const pa of touched) {
      const p = vm.core.fn.gpa_ptr(Number(pa), 0) >>> 0;
      expect(p).toBeGreaterThanOrEqual(FRAME_POOL);
      expect(p + 4096).toBeLessThanOrEqual(FRAME_POOL + used * 4096);
      ptrs.add(p);
    }
    expect(ptrs.size).toBe(5120);
    // Contents survived (first and last byte of a few pages).
    for (const i of [0, 1, 127, 128, 2000, 5119]) {
      const b = vm.readPhys(touched[i], 4096);
      expect([b[0], b[4095]]).toEqual([(i % 128) + Math.floor(i / 128), (i % 128) + Math.floor(i / 128)]);
    }
    // Reading and zeroing untouched memory returns zeros and maps nothing.
    const before = frames(vm);
    const hole = vm.readPhys(vm.ramBase + 0x3000_0000n, 4 * MiB);
    expect(hole.every((x) => x === 0)).toBe(true);
    vm.zeroPhys(vm.ramBase + 0x3800_0000n, 4 * MiB);
    expect(frames(vm)).toEqual(before);
  });

  it("1 GiB VM: 5120 pages at a 51-page stride cost 5120 frames and one level-0 table per 2 MiB region reached", () => {
    const vm = Vm.create({ memBytes: GiB });
    const one = new Uint8Array([0x5a]);
    const regions = new Set<number>();
    for (let i = 0; i < 5120; i++) {
      const page = i * 51;
      regions.add(Math.floor(page / 512));
      vm.writePhys(vm.ramBase + BigInt(page) * 4096n + BigInt(i % 4096), one);
    }
    expect(regions.size).toBe(510); // pages 0 .. 5119 × 51 = 261,069 reach 2 MiB regions 0 .. 509
    expect(frames(vm)).toEqual({ guest: 5120n, tables: 4n + 1n + BigInt(regions.size) });
    expect(vm.readPhys(vm.ramBase + 51n * 4096n + 1n, 1)[0]).toBe(0x5a);
    expect(vm.readPhys(vm.ramBase + 52n * 4096n, 4096).every((x) => x === 0)).toBe(true);
    expect(vm.stats().guestFrames).toBe(5120n);
  });

  it("2 GiB VM touching 16 MiB: G-stage tables plus the fixed core state stay under 1 MiB", () => {
    const vm = Vm.create({ memBytes: 2 * GiB });
    for (let c = 0; c < 8; c++) {
      // 8 clusters of 2 MiB (one level-0 table each), spread over both GiBs of RAM.
      vm.writePhys(vm.ramBase + BigInt(c) * 0x1000_0000n + 0x20_0000n, new Uint8Array(2 * MiB).fill(c + 1));
    }
    const f = frames(vm);
    expect(f.guest).toBe(4096n);                       // 16 MiB
    expect(f.tables).toBe(4n + 2n + 8n);               // root, a level-1 table per GiB, a level-0 table per cluster
    const k = vm.core.k;
    // Fixed state of a 1-hart VM (assembly/layout.ts), whatever its RAM size:
    //   VM block 4 KiB + console ring 4 KiB + hart block LAYOUT_HART_STRIDE (4 KiB)
    //   + software TLB: 12 banks (fetch/load/store × U/S/M/S-with-SUM) × 256 entries × 16 B = 48 KiB
    //   + block cache: 2048-entry map × 16 B + 256 KiB arena = 288 KiB
    //   + RVC expansion table 256 KiB (filled lazily; counted whole)
    //   + code-page generations: 4 B per linear-memory page that code ran from (at most one per frame in use)
    //   + dirty bitmap: 1 bit per RAM page = dirty_bytes() (64 KiB for 2 GiB)
    const fixed = 4096 + 4096 + k.LAYOUT_HART_STRIDE + 12 * 256 * 16 + (2048 * 16 + 256 * 1024) + 256 * 1024 +
      Math.ceil((Number(f.guest + f.tables) * 4) / 4096) * 4096 + vm.core.fn.dirty_bytes();
    expect(vm.core.fn.dirty_bytes()).toBe((2 * GiB) / 4096 / 8);
    const metadata = Number(f.tables) * 4096 + fixed;
    expect(metadata).toBeLessThan(MiB);
    // And the frames themselves are exactly the touched 16 MiB: nothing scales with the 2 GiB promised.
    expect(Number(f.guest) * 4096).toBe(16 * MiB);
  });

  it("a guest storing to N new pages (and loading from M) grows the frame count by exactly N + M", () => {
    const vm = Vm.create({ memBytes: 64 * MiB });
    const N = 100, M = 20;
    const a = program(vm.ramBase, (a) => {
      a.li(t0, vm.ramBase + 0x40_0000n).li(t1, N).li(t2, 3 * 4096);
      a.label("st").sd(t1, t0, 8).add(t0, t0, t2).addi(t1, t1, -1).bne(t1, REG.zero, "st");
      a.li(t0, vm.ramBase + 0x200_0000n).li(t1, M).li(t2, 5 * 4096).li(a0, 0);
      a.label("ld").ld(a1, t0, 16).add(a0, a0, a1).add(t0, t0, t2).addi(t1, t1, -1).bne(t1, REG.zero, "ld");
    });
    load(vm, a);
    const before = vm.stats().guestFrames;
    expect(vm.run(100_000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(0n);
    // Any first touch maps a frame (a load gets a zero frame); architecture.md: "RAM pages get a frame on first touch".
    expect(vm.stats().guestFrames - before).toBe(BigInt(N + M));
    expect(vm.x(a0)).toBe(0n);
    expect(rdU64(vm, vm.ramBase + 0x40_0000n + 8n)).toBe(BigInt(N));
    expect(rdU64(vm, vm.ramBase + 0x40_0000n + BigInt((N - 1) * 3 * 4096) + 8n)).toBe(1n);
  });
});

describe("MMIO and holes never get frames", () => {
  const cases: { name: string; body: (a: Asm) => void; cause: bigint; tval: bigint }[] = [
    { name: "load from a hole (0x4000_0000)", body: (a) => a.li(t0, 0x4000_0000n).label("f").ld(a0, t0, 0), cause: 5n, tval: 0x4000_0000n },
    { name: "store to a hole (0x4000_0008)", body: (a) => a.li(t0, 0x4000_0000n).label("f").sd(a0, t0, 8), cause: 7n, tval: 0x4000_0008n },
    { name: "fetch from a hole (0x4000_0000)", body: (a) => a.li(t0, 0x4000_0000n).label("f").jalr(ra, t0, 0), cause: 1n, tval: 0x4000_0000n },
    { name: "load just past RAM", body: (a) => a.li(t0, 0x8400_0000n).label("f").lw(a0, t0, 0), cause: 5n, tval: 0x8400_0000n },
    { name: "AMO on the UART (0x1000_0000)", body: (a) => a.li(t0, 0x1000_0000n).label("f").amoaddW(a0, a1, t0), cause: 7n, tval: 0x1000_0000n },
    { name: "load beyond 41 bits (0x200_0000_0000)", body: (a) => a.li(t0, 1n << 41n).label("f").ld(a0, t0, 0), cause: 5n, tval: 1n << 41n },
    { name: "load at 2^63", body: (a) => a.li(t0, 1n << 63n).label("f").ld(a0, t0, 0), cause: 5n, tval: 1n << 63n },
  ];
  for (const c of cases) {
    it(`${c.name}: access fault ${c.cause} with mtval, no frame`, () => {
      const vm = Vm.create({ memBytes: 64 * MiB });
      const a = program(vm.ramBase, c.body);
      load(vm, a);
      const before = frames(vm);
      expect(vm.run(1000)).toBe("halt");
      const at = vm.ramBase + BigInt(a.addr("f"));
      if (c.cause === 1n) {
        // The jalr retired (ra = its successor); the fetch at its target faulted there.
        expect(trapInfo(vm)).toEqual({ mcause: 1n, mtval: c.tval, mepc: c.tval });
        expect(vm.x(ra)).toBe(at + 4n);
      } else {
        expect(trapInfo(vm)).toEqual({ mcause: c.cause, mtval: c.tval, mepc: at });
      }
      expect(frames(vm)).toEqual(before);
    });
  }

  it("an instruction straddling the end of RAM is a fetch access fault at the hole, with mepc at the instruction", () => {
    const vm = Vm.create({ memBytes: 4 * MiB });
    const end = vm.ramBase + 4n * BigInt(MiB);
    vm.writePhys(end - 2n, new Uint8Array([0x13, 0x05])); // low half of addi a0, zero, ... (a 32-bit encoding)
    const a = program(vm.ramBase, (a) => a.li(t0, end - 2n).jalr(ra, t0, 0));
    load(vm, a);
    const before = frames(vm);
    expect(vm.run(1000)).toBe("halt");
    expect(trapInfo(vm)).toEqual({ mcause: 1n, mtval: end, mepc: end - 2n });
    expect(frames(vm)).toEqual(before);
  });

  it("device loads work without frames; gpa_ptr never maps MMIO, holes or addresses past RAM", () => {
    const vm = Vm.create({ memBytes: 64 * MiB });
    const a = program(vm.ramBase, (a) => a.li(t0, 0x1000_0005n).lb(a0, t0, 0)); // UART LSR
    load(vm, a);
    const before = frames(vm);
    expect(vm.run(1000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(0n);
    expect(Number(vm.x(a0)) & 0x20).toBe(0x20); // THR empty
    for (const gpa of [0x1000_0000, 0x1000_0005, 0x200_0000, 0x10_0000, 0x4000_0000, 0, 0x1000, Number(vm.ramBase) + 64 * MiB, 2 ** 41, 2 ** 41 + Number(vm.ramBase)]) {
      expect(vm.core.fn.gpa_ptr(gpa, 1), hex(gpa)).toBe(0);
      expect(vm.core.fn.gpa_ptr(gpa, 0), hex(gpa)).toBe(0);
    }
    expect(frames(vm)).toEqual(before);
    expect(() => vm.readPhys(0x1000_0000n, 8)).toThrow(/outside guest RAM/);
  });
});

describe("ROM", () => {
  const ROM = 0x2_0000n;

  function romVm() {
    // romBytes reserves pool room for the ROM's frames (see vm_set_rom).
    const vm = Vm.create({ memBytes: 16 * MiB, romBytes: 0x2000 } as Parameters<typeof Vm.create>[0]);
    expect(vm.core.fn.vm_set_rom(Number(ROM), 0x2000)).toBe(0);
    const code = new Asm().li(t0, ROM + 0x1000n).ld(a0, t0, 0).ret().bytes();
    const mem = new Uint8Array(vm.memory.buffer);
    const put = (gpa: bigint, bytes: Uint8Array) => {
      const p = vm.core.fn.gpa_ptr(Number(gpa), 1) >>> 0;
      expect(p).not.toBe(0);
      mem.set(bytes, p);
      vm.core.fn.gpa_written(Number(gpa), bytes.length);
    };
    put(ROM, code);
    put(ROM + 0x1000n, u64le(0xfeed_face_cafe_beefn));
    const peek = (gpa: bigint) => new DataView(vm.memory.buffer).getBigUint64(vm.core.fn.gpa_ptr(Number(gpa), 0) >>> 0, true);
    return { vm, peek };
  }

  it("vm_set_rom refuses overlap with RAM and misalignment", () => {
    const vm = Vm.create({ memBytes: 16 * MiB });
    expect(vm.core.fn.vm_set_rom(Number(vm.ramBase), 0x1000)).toBe(-1);
    expect(vm.core.fn.vm_set_rom(Number(vm.ramBase) - 0x1000, 0x2000)).toBe(-1);
    expect(vm.core.fn.vm_set_rom(Number(vm.ramBase) + 16 * MiB - 0x1000, 0x1000)).toBe(-1);
    expect(vm.core.fn.vm_set_rom(0x2_0800, 0x1000)).toBe(-1);
  });

  it("a guest executes and reads ROM; a store to it is a store access fault and changes nothing", () => {
    const { vm, peek } = romVm();
    const romFrames = vm.stats().guestFrames;
    expect(romFrames).toBe(2n);
    const a = program(vm.ramBase, (a) => {
      a.li(t1, ROM).jalr(ra, t1, 0);             // call into ROM: a0 = *(ROM + 0x1000)
      a.mv(s0, a0);
      a.li(t1, ROM + 0x1000n).label("st").sd(t1, t1, 0);
    });
    load(vm, a);
    expect(vm.run(1000)).toBe("halt");
    expect(vm.x(s0)).toBe(0xfeed_face_cafe_beefn);
    expect(trapInfo(vm)).toEqual({ mcause: 7n, mtval: ROM + 0x1000n, mepc: vm.ramBase + BigInt(a.addr("st")) });
    expect(peek(ROM + 0x1000n)).toBe(0xfeed_face_cafe_beefn);
    expect(vm.takeDirtyPages()).not.toContain(ROM + 0x1000n);
  });

  it("AMOs, SC, byte stores and page-crossing stores into ROM fault too", () => {
    for (const body of [
      (a: Asm) => a.li(t1, ROM + 0x1000n).label("st").amoswapD(a0, t1, t1),
      (a: Asm) => a.li(t1, ROM + 0x1000n).lrD(a0, t1).label("st").scD(a0, t1, t1),
      (a: Asm) => a.li(t1, ROM + 0x1007n).label("st").sb(t1, t1, 0),
    ]) {
      const { vm, peek } = romVm();
      const a = program(vm.ramBase, body);
      load(vm, a);
      expect(vm.run(1000)).toBe("halt");
      const ti = trapInfo(vm);
      expect(ti.mcause).toBe(7n);
      expect(ti.mepc).toBe(vm.ramBase + BigInt(a.addr("st")));
      expect(peek(ROM + 0x1000n)).toBe(0xfeed_face_cafe_beefn);
    }
    // A store crossing from ROM's last page into the hole after it faults and writes nothing.
    const { vm, peek } = romVm();
    const a = program(vm.ramBase, (a) => a.li(t1, ROM + 0x1ffcn).li(t2, -1).label("st").sd(t2, t1, 0));
    load(vm, a);
    expect(vm.run(1000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(7n);
    expect(peek(ROM + 0x1ff8n)).toBe(0n);
  });

  it("a page table in ROM: walks read it, but an A/D update (a write) is an access fault", () => {
    const { vm } = romVm();
    // PMP must let S-level page-table reads through: open it from M-mode.
    load(vm, program(vm.ramBase, (a) => a.li(t0, -1).csrw(CSR_PMPADDR0, t0).li(t0, 0x1f).csrw(CSR_PMPCFG0, t0)));
    expect(vm.run(1000)).toBe("halt");
    // ROM page 1 becomes a root table: entry 0 = 1 GiB leaf at 0 with A=0, entry 1 with A=1 D=0, entry 2 with A=D=1.
    const mem = new DataView(vm.memory.buffer);
    const p = vm.core.fn.gpa_ptr(Number(ROM + 0x1000n), 0) >>> 0;
    mem.setBigUint64(p, pte(0n, V | R | W), true);
    mem.setBigUint64(p + 8, pte(0x4000_0000n, V | R | W | A), true);
    mem.setBigUint64(p + 16, pte(0x8000_0000n, V | R | W | A | D), true);
    new DataView(vm.memory.buffer).setBigUint64(vm.core.k.LAYOUT_HART_BASE + vm.core.k.HART_SATP, (8n << 60n) | ((ROM + 0x1000n) >> 12n), true);
    const probe = (va: number, acc: number) => vm.core.fn.translate_probe(va, 0, acc, 1);
    expect(probe(0x1234, 1)).toBe(-(5 + 1));                   // needs A: a write to ROM → load access fault
    expect(probe(0x4000_1234, 1)).toBe(0x4000_1234);           // A set: a pure read
    expect(probe(0x4000_1234, 2)).toBe(-(7 + 1));              // needs D → store access fault
    expect(probe(0x8000_1234, 2)).toBe(0x8000_1234);           // nothing to update
    expect(mem.getBigUint64(p, true)).toBe(pte(0n, V | R | W)); // ROM unchanged
  });
});

describe("dirty log", () => {
  it("records exactly the pages stored to (sd, sb, AMO, SC, FP store, page-crossing store), not those only read", () => {
    const vm = Vm.create({ memBytes: 16 * MiB });
    const page = (i: number) => vm.ramBase + 0x10_0000n + BigInt(i) * 0x3000n; // non-adjacent data pages
    const P = { sd: page(0), sb: page(1), amo: page(2), sc: page(3), fsd: page(4), cross: page(5) };
    const L = { ld: page(10), lr: page(11), fld: page(12), lb: page(13) };
    const a = program(vm.ramBase, (a) => {
      a.li(t0, 1n << 13n).csrs(CSR_MSTATUS, t0);                       // FS = Initial: FP loads/stores allowed
      a.li(t0, 0x1122_3344_5566_7788n).fmvDX(1, t0);
      a.label("stores");
      a.li(t1, P.sd + 0x10n).sd(t0, t1, 0);
      a.li(t1, P.sb + 0xfffn).sb(t0, t1, 0);
      a.li(t1, P.amo + 0x20n).li(t2, 5).amoaddW(a0, t2, t1);
      a.li(t1, P.sc + 0x30n).lrD(a0, t1).scD(a1, t0, t1);
      a.li(t1, P.fsd + 0x40n).fsd(1, t1, 0);
      a.li(t1, P.cross + 0xffcn).sd(t0, t1, 0);                         // bytes 0xffc..0x1003: two pages
      a.li(t1, L.ld).ld(a2, t1, 0);
      a.li(t1, L.lr).lrD(a2, t1);
      a.li(t1, L.fld).fld(2, t1, 0);
      a.li(t1, L.lb + 0xfffn).lb(a3, t1, 0);
    });
    load(vm, a);
    const codePage = vm.ramBase;
    // The host's own write of the program is in the log: writePhys marks pages dirty.
    expect(vm.takeDirtyPages()).toEqual([codePage]);
    expect(vm.takeDirtyPages()).toEqual([]);
    const want = sorted([P.sd, P.sb, P.amo, P.sc, P.fsd, P.cross, P.cross + 0x1000n]);
    expect(vm.run(10_000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(0n);
    expect(vm.x(a1)).toBe(0n); // the SC succeeded
    expect(vm.dirtyCount()).toBe(want.length); // counted without taking them
    expect(sorted(vm.takeDirtyPages()).map(hex)).toEqual(want.map(hex));
    expect(vm.dirtyCount()).toBe(0);
    expect(rdU64(vm, P.sd + 0x10n)).toBe(0x1122_3344_5566_7788n);
    expect(rdU64(vm, P.cross + 0xffcn)).toBe(0x1122_3344_5566_7788n);
    expect(rdU64(vm, P.fsd + 0x40n)).toBe(0x1122_3344_5566_7788n);
    // Again from the first store, with the store TLB still holding those pages: clearing the log flushed it, so
    // the TLB-hit stores (sd, sb, fsd) are caught again.
    const flushes = vm.stats().tlbFlushes;
    vm.takeDirtyPages();
    expect(vm.stats().tlbFlushes).toBeGreaterThan(flushes);
    vm.pc = vm.ramBase + BigInt(a.addr("stores"));
    expect(vm.run(10_000)).toBe("halt");
    expect(sorted(vm.takeDirtyPages()).map(hex)).toEqual(want.map(hex));
    // Host writes show up; zeroPhys of never-touched pages neither maps nor dirties them.
    vm.writePhys(page(20) + 0xff0n, new Uint8Array(0x20).fill(1)); // crosses into page(20) + 0x1000
    vm.zeroPhys(page(30), 0x2000);
    expect(sorted(vm.takeDirtyPages())).toEqual([page(20), page(20) + 0x1000n]);
    // A second consumer (a live migration) opens its own log: neither takes a page from the other.
    const g = (p: bigint) => Number(p >> 12n);
    vm.writePhys(page(19), new Uint8Array(8).fill(2)); // written before the second log opens: not in it
    const log = vm.openDirtyLog();
    vm.writePhys(page(21), new Uint8Array(8).fill(2));
    expect(log.take()).toEqual([g(page(21))]);
    expect(log.take()).toEqual([]);
    expect(vm.takeDirtyGpns()).toEqual([g(page(19)), g(page(21))]); // still there for snapshots
    vm.writePhys(page(22), new Uint8Array(8).fill(3));
    vm.writePhys(page(23), new Uint8Array(8).fill(3));
    expect(vm.takeDirtyGpns()).toEqual([g(page(22)), g(page(23))]);
    vm.writePhys(page(24), new Uint8Array(8).fill(4));
    expect(vm.dirtyCount()).toBe(1);
    expect(log.take()).toEqual([g(page(22)), g(page(23)), g(page(24))]); // (what the snapshot took too)
    expect(vm.dirtyCount()).toBe(1); // page 24, kept for the primary
    expect(vm.takeDirtyGpns()).toEqual([g(page(24))]);
    log.close();
    vm.writePhys(page(25), new Uint8Array(8).fill(5));
    expect(vm.takeDirtyGpns()).toEqual([g(page(25))]);
    expect(log.take()).toEqual([]); // (closed: it gets nothing more)
  });

  it("stores through Sv39 from S-mode dirty the physical pages, and the page-table page when D is set by the walker", () => {
    const vm = Vm.create({ memBytes: 16 * MiB });
    const base = vm.ramBase;
    const pt = new Sv39(vm, base + 0x80_0000n);
    const Xp = base + 0x20_0000n, Yp = base + 0x30_5000n, Zp = base + 0x40_0000n, RO = base + 0x50_0000n;
    pt.map(base, base, 2, V | R | W | X | A | D);             // identity gigapage: code and page tables
    pt.map(0n, 0n, 2, V | R | W | A | D);                      // devices: the test finisher
    pt.map(0xc000_0000n, Xp, 0, V | R | W | A | D);
    pt.map(0xc000_1000n, Yp, 0, V | R | W | A | D);            // virtually adjacent, physically far apart
    const zLeaf = pt.map(0xc000_2000n, Zp, 0, V | R | W | A);  // D clear: the first store sets it
    pt.map(0xc000_3000n, RO, 0, V | R | A);
    const l0 = zLeaf & ~0xfffn;
    const a = program(base, (a) => {
      enterS(a, pt.satp, base + 0x400n);
      a.org(0x400);
      a.li(t0, 0x0102_0304_0506_0708n);
      a.li(t1, 0xc000_0010n).sd(t0, t1, 0);
      a.li(t1, 0xc000_0ffcn).sd(t0, t1, 0);                    // crosses VA pages → PA pages Xp and Yp
      a.li(t1, 0xc000_2008n).sw(t0, t1, 0);
      a.li(t1, 0xc000_3000n).ld(a0, t1, 0);
    });
    load(vm, a);
    vm.takeDirtyPages();
    expect(vm.run(10_000)).toBe("halt");
    expect(vm.priv).toBe(1);
    expect(trapInfo(vm).mcause).toBe(0n);
    expect(sorted(vm.takeDirtyPages()).map(hex)).toEqual(sorted([Xp, Yp, Zp, l0]).map(hex));
    expect(rdU64(vm, zLeaf) & D).toBe(D);
    expect(rdU64(vm, Xp + 0xffcn) & 0xffff_ffffn).toBe(0x0506_0708n);
    expect(rdU64(vm, Yp) & 0xffff_ffffn).toBe(0x0102_0304n);
    // Second pass in S-mode with the TLB warm: the same data pages again, and no page-table write this time.
    vm.pc = base + 0x400n;
    expect(vm.run(10_000)).toBe("halt");
    expect(sorted(vm.takeDirtyPages()).map(hex)).toEqual(sorted([Xp, Yp, Zp]).map(hex));
  });
});

describe("faulting stores write nothing and dirty nothing", () => {
  it("a doubleword store crossing from RAM's last page into the hole after it", () => {
    const vm = Vm.create({ memBytes: 4 * MiB });
    const end = vm.ramBase + 4n * BigInt(MiB);
    vm.writePhys(end - 8n, u64le(0x0123_4567_89ab_cdefn));
    const a = program(vm.ramBase, (a) => a.li(t1, end - 4n).li(t2, -1).label("st").sd(t2, t1, 0));
    load(vm, a);
    vm.takeDirtyPages();
    expect(vm.run(1000)).toBe("halt");
    const ti = trapInfo(vm);
    expect(ti.mcause).toBe(7n);
    expect(ti.mepc).toBe(vm.ramBase + BigInt(a.addr("st")));
    // mtval: an address in the portion that faulted (§3.1.16), i.e. in [end, end + 3].
    expect(ti.mtval >= end && ti.mtval <= end + 3n, `mtval ${hex(ti.mtval)}`).toBe(true);
    expect(rdU64(vm, end - 8n)).toBe(0x0123_4567_89ab_cdefn);
    expect(vm.takeDirtyPages()).toEqual([]);
  });

  it("an S-mode store crossing into an unmapped or read-only virtual page", () => {
    for (const second of [0n, V | R | A]) {
      const vm = Vm.create({ memBytes: 16 * MiB });
      const base = vm.ramBase;
      const pt = new Sv39(vm, base + 0x80_0000n);
      const p1 = base + 0x20_0000n, p2 = base + 0x30_0000n;
      pt.map(base, base, 2, V | R | W | X | A | D);
      pt.map(0n, 0n, 2, V | R | W | A | D);
      pt.map(0xc000_0000n, p1, 0, V | R | W | A | D);
      if (second !== 0n) pt.map(0xc000_1000n, p2, 0, second);
      vm.writePhys(p1 + 0xff8n, u64le(0x1111_1111_1111_1111n));
      const a = program(base, (a) => {
        enterS(a, pt.satp, base + 0x400n);
        a.org(0x400);
        a.li(t1, 0xc000_0ffcn).li(t2, -1).label("st").sd(t2, t1, 0);
      });
      load(vm, a);
      vm.takeDirtyPages();
      expect(vm.run(1000)).toBe("halt");
      const ti = trapInfo(vm);
      expect(ti.mcause, hex(second)).toBe(15n);
      expect(ti.mtval >= 0xc000_1000n && ti.mtval <= 0xc000_1003n, `mtval ${hex(ti.mtval)}`).toBe(true);
      expect(rdU64(vm, p1 + 0xff8n)).toBe(0x1111_1111_1111_1111n);
      expect(vm.takeDirtyPages()).toEqual([]);
    }
  });
});

describe("isolation between VMs", () => {
  it("two VMs have separate memories: a host write to one is invisible in the other", () => {
    const va = Vm.create({ memBytes: 4 * MiB });
    const vb = Vm.create({ memBytes: 4 * MiB });
    expect(va.memory).not.toBe(vb.memory);
    expect(va.memory.buffer).not.toBe(vb.memory.buffer);
    va.writePhys(va.ramBase + 0x1000n, new Uint8Array(4096).fill(0xab));
    expect(vb.readPhys(vb.ramBase + 0x1000n, 4096).every((x) => x === 0)).toBe(true);
    expect(vb.stats().guestFrames).toBe(0n);
    expect(va.readPhys(va.ramBase + 0x1000n, 1)[0]).toBe(0xab);
  });

  it("a guest in VM A storing to all its RAM and to every power-of-two and GiB address leaves VM B byte-identical", () => {
    const vA = Vm.create({ memBytes: 4 * MiB });
    const vB = Vm.create({ memBytes: 4 * MiB });
    // B has some state of its own: a program, a run, data.
    load(vB, program(vB.ramBase, (a) => a.li(t0, vB.ramBase + 0x2000n).li(t1, 0x77).sd(t1, t0, 0)));
    expect(vB.run(1000)).toBe("halt");
    vB.writePhys(vB.ramBase + 0x30_0000n, new Uint8Array(0x1000).fill(0xcd));
    const snapshot = new Uint8Array(vB.memory.buffer).slice();
    const pattern = 0xa5a5_a5a5_a5a5_a5a5n;
    const a = program(vA.ramBase, (a) => {
      a.li(t2, pattern);
      // 1. Every doubleword of RAM after the code page.
      a.li(t0, vA.ramBase + 0x1000n).li(t1, vA.ramBase + 4n * BigInt(MiB));
      a.label("ram").sd(t2, t0, 0).addi(t0, t0, 8).bltu(t0, t1, "ram");
      // 2. 2^k + 0x7f8 for k = 0..63 (most fault; the trap handler skips the store). The offset keeps the stores
      //    clear of the code and trap handler at the start of RAM.
      a.li(t0, 1);
      a.label("pow").sd(t2, t0, 0x7f8).add(t0, t0, t0).bne(t0, REG.zero, "pow");
      // 3. Every GiB of the 41-bit guest-physical space, at offsets 0x7f8 and 0x3000_1ff8.
      a.li(t0, 0).li(t1, 1n << 41n).li(s1, 1n << 30n).li(s0, 0x3000_1ff8n);
      a.label("gib").sd(t2, t0, 0x7f8).add(a3, t0, s0).sd(t2, a3, 0).add(t0, t0, s1).bltu(t0, t1, "gib");
    }, "skip");
    load(vA, a);
    expect(vA.run(5_000_000)).toBe("halt");
    expect(vA.stats().traps).toBeGreaterThan(1000n);
    expect(rdU64(vA, vA.ramBase + 0x1000n)).toBe(pattern);
    expect(rdU64(vA, vA.ramBase + 4n * BigInt(MiB) - 8n)).toBe(pattern);
    const after = new Uint8Array(vB.memory.buffer);
    expect(after.length).toBe(snapshot.length);
    expect(Buffer.compare(Buffer.from(after.buffer, after.byteOffset, after.length), Buffer.from(snapshot))).toBe(0);
    expect(rdU64(vB, vB.ramBase + 0x2000n)).toBe(0x77n);
  });
});

describe("self-modifying code through the G-stage", () => {
  /** li a0, n as one addi (the instruction we patch). */
  const liA0 = (n: number) => new Asm().addi(a0, REG.zero, n).words[0];

  it("a store over executed code, then fence.i, runs the new instruction", () => {
    const vm = Vm.create({ memBytes: 16 * MiB });
    const base = vm.ramBase;
    const body = (a: Asm) => {
      a.li(s0, 0).li(s1, 0);
      // Run f several times so its block is decoded and cached, then patch its first instruction.
      a.li(a3, 5).label("warm").jal(ra, "f").add(s0, s0, a0).addi(a3, a3, -1).bne(a3, REG.zero, "warm");
      a.li(t0, base + 0x800n).li(t1, liA0(2)).sw(t1, t0, 0).fenceI();
      a.jal(ra, "f").mv(s1, a0);
    };
    const p = program(base, body);
    p.org(0x800).label("f").addi(a0, REG.zero, 1).ret();
    load(vm, p);
    expect(vm.run(10_000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(0n);
    expect(vm.x(s0)).toBe(5n);
    expect(vm.x(s1)).toBe(2n);
    // A host write (e.g. a debugger poke) is picked up as well.
    vm.writePhys(base + 0x800n, new Asm().addi(a0, REG.zero, 3).bytes());
    vm.pc = base;
    expect(vm.run(10_000)).toBe("halt");
    expect(vm.x(s0)).toBe(15n);
    expect(vm.x(s1)).toBe(2n);
  });

  it("code patched through a writable alias (another virtual page, same frame) is re-decoded", () => {
    const vm = Vm.create({ memBytes: 16 * MiB });
    const base = vm.ramBase;
    const pt = new Sv39(vm, base + 0x80_0000n);
    const fPa = base + 0x10_0000n;
    pt.map(base, base, 2, V | R | W | X | A | D);
    pt.map(0n, 0n, 2, V | R | W | A | D);
    pt.map(0xc000_0000n, fPa, 0, V | X | A);                   // execute-only view of f
    pt.map(0xd000_0000n, fPa, 0, V | R | W | A | D);           // writable alias
    vm.writePhys(fPa, new Asm().addi(a0, REG.zero, 1).ret().bytes());
    const a = program(base, (a) => {
      enterS(a, pt.satp, base + 0x400n);
      a.org(0x400);
      a.li(t2, 0xc000_0000n).li(s0, 0).li(a3, 4);
      a.label("warm").jalr(ra, t2, 0).add(s0, s0, a0).addi(a3, a3, -1).bne(a3, REG.zero, "warm");
      a.li(t0, 0xd000_0000n).li(t1, liA0(7)).sw(t1, t0, 0).fenceI();
      a.jalr(ra, t2, 0).mv(s1, a0);
    });
    load(vm, a);
    expect(vm.run(10_000)).toBe("halt");
    expect(trapInfo(vm).mcause).toBe(0n);
    expect(vm.x(s0)).toBe(4n);
    expect(vm.x(s1)).toBe(7n);
  });
});
