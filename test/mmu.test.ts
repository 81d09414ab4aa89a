// Stage-1 address translation (assembly/mmu.ts `translate`), probed through the core's translate_probe export:
// page tables are built in guest RAM with vm.writePhys, satp and mstatus are written into the hart block, and the
// result (guest-physical address or exception cause) is compared with what the privileged spec (v1.12, §4.3-4.5,
// SUM/MXR in §4.1.1) prescribes. A few CSR-level checks run tiny hand-assembled guests.
import { describe, expect, it } from "vitest";
import { Vm } from "../host/vm.js";
import { Asm, CSR, REG, enterS, program } from "./helpers.js";

// ---- PTE bits (§4.3.1), satp modes (§4.1.11), mstatus bits (§3.1.6) ----
const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, G = 32n, A = 64n, D = 128n;
const PPN_MASK = (1n << 44n) - 1n;
const BARE = 0n, SV39 = 8n, SV48 = 9n;
const SUM = 1n << 18n, MXR = 1n << 19n, MPRV = 1n << 17n;
const MSTATUS_XL64 = (2n << 32n) | (2n << 34n);

type Acc = 0 | 1 | 2;
const FETCH: Acc = 0, LOAD: Acc = 1, STORE: Acc = 2;
const ACCS: Acc[] = [FETCH, LOAD, STORE];
const ACC_NAME = ["fetch", "load", "store"];
const PRV_U = 0, PRV_S = 1, PRV_M = 3;
const PAGE_FAULT = [12, 13, 15];   // instruction / load / store-AMO page fault (§3.1.15)
const ACCESS_FAULT = [1, 5, 7];    // instruction / load / store-AMO access fault

const hex = (v: bigint) => "0x" + v.toString(16);
const pageFault = (acc: Acc) => `fault ${PAGE_FAULT[acc]}`;
const accessFault = (acc: Acc) => `fault ${ACCESS_FAULT[acc]}`;
const pte = (ppn: bigint, flags: bigint) => (ppn << 10n) | flags;
const vpn = (va: bigint, level: number) => (va >> BigInt(12 + 9 * level)) & 0x1ffn;

/** A VM plus page-table plumbing. Page tables are allocated from RAM + 1 MiB upwards (RAM is fresh, so zeroed). */
class Mmu {
  readonly vm: Vm;
  private readonly dv: DataView;
  private readonly hart: number;
  private next: bigint;

  constructor(memBytes = 16 << 20, openPmp = true) {
    this.vm = Vm.create({ memBytes });
    this.dv = new DataView(this.vm.memory.buffer);
    this.hart = this.vm.core.k.LAYOUT_HART_BASE;
    this.next = this.vm.ramBase + 0x10_0000n;
    // Page-table reads are S-level implicit accesses checked by PMP (§3.7.1), and after reset no PMP entry is
    // active, so S/U could access nothing: open PMP entry 0 to the whole address space (NAPOT, RWX) the way
    // firmware does, by running `csrw pmpaddr0, -1; csrw pmpcfg0, 0x1f` in M-mode.
    if (openPmp) {
      const a = new Asm().li(REG.t0, -1).csrw(CSR.pmpaddr0, REG.t0).li(REG.t0, 0x1f).csrw(CSR.pmpcfg0, REG.t0).halt();
      this.vm.writePhys(this.vm.ramBase + 0xf_f000n, a.bytes());
      this.vm.pc = this.vm.ramBase + 0xf_f000n;
      expect(this.vm.run(1000)).toBe("halt");
    }
  }

  /** A fresh (zero) 4 KiB page of RAM for a page table. */
  page(): bigint { const p = this.next; this.next += 4096n; return p; }
  rd(pa: bigint): bigint { return new DataView(this.vm.readPhys(pa, 8).buffer).getBigUint64(0, true); }
  wr(pa: bigint, v: bigint): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    this.vm.writePhys(pa, b);
  }
  setSatp(mode: bigint, root: bigint, asid = 0n): void {
    this.dv.setBigUint64(this.hart + this.vm.core.k.HART_SATP, (mode << 60n) | (asid << 44n) | (root >> 12n), true);
  }
  setMstatus(bits: bigint): void { this.dv.setBigUint64(this.hart + this.vm.core.k.HART_MSTATUS, MSTATUS_XL64 | bits, true); }

  /** translate_probe as a string: the guest-physical address in hex, or "fault <cause>". */
  probe(va: bigint, acc: Acc, prv: number): string {
    const v = BigInt.asUintN(64, va);
    const r = this.vm.core.fn.translate_probe(Number(v & 0xffff_ffffn), Number(v >> 32n), acc, prv);
    if (r < 0) return `fault ${-r - 1}`;
    expect(Number.isSafeInteger(r), `translate_probe returned ${r}`).toBe(true);
    return hex(BigInt(r));
  }

  /** The address of va's PTE at `level`, following the pointers from root (levels = 3 for Sv39, 4 for Sv48). */
  slot(root: bigint, va: bigint, level: number, levels = 3, create = false): bigint {
    let t = root;
    for (let i = levels - 1; i > level; i--) {
      const s = t + vpn(va, i) * 8n;
      let e = this.rd(s);
      if ((e & V) === 0n) {
        if (!create) throw new Error(`no table for ${hex(va)} at level ${i}`);
        e = pte(this.page() >> 12n, V);
        this.wr(s, e);
      }
      t = ((e >> 10n) & PPN_MASK) << 12n;
    }
    return t + vpn(va, level) * 8n;
  }

  /** Maps va → pa with a leaf PTE at `level` (0: 4 KiB, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB); returns the leaf's address. */
  map(root: bigint, va: bigint, pa: bigint, level: number, flags: bigint, levels = 3): bigint {
    const s = this.slot(root, va, level, levels, true);
    this.wr(s, pte(pa >> 12n, flags));
    return s;
  }
}

/**
 * The spec's verdict for a leaf PTE with V=1 found at the last level (§4.3.2 steps 3-5, §4.1.1), written from the
 * spec text, independently of the core: "ok" or "pf".
 */
function model(flags: bigint, acc: Acc, prv: number, sum: boolean, mxr: boolean): "ok" | "pf" {
  const r = (flags & R) !== 0n, w = (flags & W) !== 0n, x = (flags & X) !== 0n, u = (flags & U) !== 0n;
  if (!r && w) return "pf";              // step 3: W without R is reserved
  if (!r && !w && !x) return "pf";       // step 4: a pointer at the last level (i < 0)
  if (prv === PRV_U && !u) return "pf";  // U-mode may only touch U pages
  if (prv === PRV_S && u) {
    if (acc === FETCH) return "pf";      // S never executes from U pages, whatever SUM says
    if (!sum) return "pf";               // S loads/stores to U pages need SUM
  }
  if (acc === FETCH) return x ? "ok" : "pf";
  if (acc === LOAD) return r || (mxr && x) ? "ok" : "pf"; // MXR: readable if executable
  return w ? "ok" : "pf";
}

const RWX_COMBOS = [0n, R, W, R | W, X, R | X, W | X, R | W | X];
const rwxName = (f: bigint) => ((f & R ? "R" : "-") + (f & W ? "W" : "-") + (f & X ? "X" : "-"));

describe("Sv39 leaf permissions: every R/W/X × U × access × privilege × SUM × MXR", () => {
  const VA = 0x12_3456_7abcn; // vpn2 0x48, vpn1 0x1a2, vpn0 0x167, offset 0xabc
  const PA_PAGE = 0xabcde000n;

  for (const rwx of RWX_COMBOS) {
    it(`${rwxName(rwx)} (A/D preset, then A/D clear)`, () => {
      const m = new Mmu();
      const root = m.page();
      const leaf = m.map(root, VA, PA_PAGE, 0, 0n);
      m.setSatp(SV39, root);
      const wrong: string[] = [];
      let cases = 0;
      for (const adPreset of [true, false]) {
        for (const u of [0n, U]) {
          for (const prv of [PRV_U, PRV_S]) {
            for (const sum of [false, true]) {
              for (const mxr of [false, true]) {
                for (const acc of ACCS) {
                  const flags = V | rwx | u | (adPreset ? A | D : 0n);
                  m.wr(leaf, pte(PA_PAGE >> 12n, flags));
                  m.setMstatus((sum ? SUM : 0n) | (mxr ? MXR : 0n));
                  const verdict = model(rwx | u, acc, prv, sum, mxr);
                  const want = verdict === "ok" ? hex(PA_PAGE + 0xabcn) : pageFault(acc);
                  const got = m.probe(VA, acc, prv);
                  // A is set by any successful access, D by a successful store; a fault leaves the PTE alone (§4.3.2 step 7).
                  const wantPte = verdict === "pf" ? flags : flags | A | (acc === STORE ? D : 0n);
                  const gotPte = m.rd(leaf) & 0x3ffn;
                  const what = `${rwxName(rwx)}${u ? " U" : ""} ${adPreset ? "AD" : "--"} ${ACC_NAME[acc]} prv=${"USxM"[prv]}` +
                    ` SUM=${+sum} MXR=${+mxr}`;
                  if (got !== want) wrong.push(`${what}: got ${got}, want ${want}`);
                  if (gotPte !== (wantPte & 0x3ffn)) wrong.push(`${what}: PTE flags ${hex(gotPte)}, want ${hex(wantPte & 0x3ffn)}`);
                  cases++;
                }
              }
            }
          }
        }
      }
      expect(cases).toBe(2 * 2 * 2 * 2 * 2 * 3);
      expect(wrong).toEqual([]);
    });
  }

  it("the model agrees with the spec's headline rules", () => {
    // Sanity checks of the reference model itself, so that a wrong model cannot silently agree with a wrong core.
    expect(model(R | W | X | U, FETCH, PRV_S, true, true)).toBe("pf");   // S never fetches from U pages
    expect(model(R | U, LOAD, PRV_S, false, false)).toBe("pf");          // SUM=0
    expect(model(R | U, LOAD, PRV_S, true, false)).toBe("ok");           // SUM=1
    expect(model(X | U, LOAD, PRV_U, false, true)).toBe("ok");           // MXR makes X readable
    expect(model(X | U, LOAD, PRV_U, false, false)).toBe("pf");
    expect(model(W | X, FETCH, PRV_S, false, false)).toBe("pf");         // reserved encoding
    expect(model(R, LOAD, PRV_U, true, true)).toBe("pf");                // U-mode, supervisor page
  });
});

describe("superpages", () => {
  it("Sv39 2 MiB leaf: PA = PPN[2:1] of the PTE + VA[20:0]", () => {
    const m = new Mmu();
    const root = m.page();
    const va = 0x4_8775_4321n;            // vpn2 0x12, vpn1 0x3b, offset within the 2 MiB 0x15_4321 (bit 20 set)
    const pa = 0x7654n << 21n;            // 2 MiB aligned: 0xeca8_00000
    m.map(root, va, pa, 1, V | R | W | X | A | D);
    m.setSatp(SV39, root);
    for (const acc of ACCS) expect(m.probe(va, acc, PRV_S), ACC_NAME[acc]).toBe(hex(pa + 0x15_4321n));
    // The rest of the 2 MiB is covered by the same leaf; the next 2 MiB is not mapped.
    const start = va & ~0x1f_ffffn;
    expect(m.probe(start, LOAD, PRV_S)).toBe(hex(pa));
    expect(m.probe(start + 0x1f_fff8n, LOAD, PRV_S)).toBe(hex(pa + 0x1f_fff8n));
    expect(m.probe(start + 0x20_0000n, LOAD, PRV_S)).toBe(pageFault(LOAD));
  });

  it("Sv39 1 GiB leaf: PA = PPN[2] of the PTE + VA[29:0]", () => {
    const m = new Mmu();
    const root = m.page();
    const va = 0x7d_2345_6789n;           // vpn2 0x1f4
    const pa = 0x5n << 30n;               // 0x1_4000_0000
    m.map(root, va, pa, 2, V | R | W | X | A | D);
    m.setSatp(SV39, root);
    // vpn2 0x1f4 has bit 38 set: the canonical address is the sign-extended one (the zero-extended form faults).
    const canon = va | ~((1n << 39n) - 1n);
    for (const acc of ACCS) expect(m.probe(canon, acc, PRV_S), ACC_NAME[acc]).toBe(hex(pa + (va & 0x3fff_ffffn)));
    expect(m.probe(va, LOAD, PRV_S)).toBe(pageFault(LOAD));
  });

  it("misaligned superpages (PPN low bits set) are page faults and leave the PTE alone", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    const va2m = 0x0_4020_1234n, va1g = 0x0_8000_1234n; // vpn2 1 (2 MiB leaf under it), vpn2 2 (1 GiB leaf)
    const leaf2m = m.map(root, va2m, 0x4000_0000n, 1, V | R | W | X);
    const leaf1g = m.map(root, va1g, 0x8000_0000n, 2, V | R | W | X);
    // Sanity: aligned, they translate (and get A set, D for the store).
    expect(m.probe(va2m, LOAD, PRV_S)).toBe(hex(0x4000_0000n + (va2m & 0x1f_ffffn)));
    expect(m.probe(va1g, LOAD, PRV_S)).toBe(hex(0x8000_0000n + (va1g & 0x3fff_ffffn)));
    for (const [leaf, va, ppn, lowBits] of [
      [leaf2m, va2m, 0x4000_0000n >> 12n, [0, 1, 8]],
      [leaf1g, va1g, 0x8000_0000n >> 12n, [0, 1, 8, 9, 17]],
    ] as const) {
      for (const b of lowBits) {
        const bad = pte(ppn | (1n << BigInt(b)), V | R | W | X); // A=0 and D=0: a walker that updates them would show
        m.wr(leaf, bad);
        for (const acc of ACCS) {
          expect(m.probe(va, acc, PRV_S), `${hex(va)} PPN bit ${b} ${ACC_NAME[acc]}`).toBe(pageFault(acc));
          expect(m.rd(leaf), `PTE after ${ACC_NAME[acc]}`).toBe(bad);
        }
      }
    }
  });

  it("Sv48 512 GiB leaf at level 3; misaligned one faults", () => {
    const m = new Mmu();
    const root = m.page();
    const va = (1n << 39n) + 0x52_3456_789an; // vpn3 = 1; offset bit 38 set
    const pa = 3n << 39n;                     // PPN = 3 << 27
    const leaf = m.map(root, va, pa, 3, V | R | W | X | A | D, 4);
    m.setSatp(SV48, root);
    for (const acc of ACCS) expect(m.probe(va, acc, PRV_S), ACC_NAME[acc]).toBe(hex(pa + (va & ((1n << 39n) - 1n))));
    for (const b of [0, 9, 18, 26]) {
      m.wr(leaf, pte((pa >> 12n) | (1n << BigInt(b)), V | R | W | X | A | D));
      for (const acc of ACCS) expect(m.probe(va, acc, PRV_S), `PPN bit ${b}`).toBe(pageFault(acc));
    }
  });
});

describe("accessed and dirty bits", () => {
  function setup() {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    m.setMstatus(0n);
    return { m, root };
  }

  it("a load sets A but not D; a store then sets D", () => {
    const { m, root } = setup();
    const leaf = m.map(root, 0x1000n, 0x8020_0000n, 0, V | R | W);
    expect(m.probe(0x1008n, LOAD, PRV_S)).toBe(hex(0x8020_0008n));
    expect(m.rd(leaf)).toBe(pte(0x80200n, V | R | W | A));
    expect(m.probe(0x1010n, STORE, PRV_S)).toBe(hex(0x8020_0010n));
    expect(m.rd(leaf)).toBe(pte(0x80200n, V | R | W | A | D));
  });

  it("a store to a clean page sets A and D at once; a fetch sets only A", () => {
    const { m, root } = setup();
    const leafS = m.map(root, 0x2000n, 0x8020_1000n, 0, V | R | W);
    const leafX = m.map(root, 0x3000n, 0x8020_2000n, 0, V | X);
    expect(m.probe(0x2000n, STORE, PRV_S)).toBe(hex(0x8020_1000n));
    expect(m.rd(leafS)).toBe(pte(0x80201n, V | R | W | A | D));
    expect(m.probe(0x3ffen, FETCH, PRV_S)).toBe(hex(0x8020_2ffen));
    expect(m.rd(leafX)).toBe(pte(0x80202n, V | X | A));
  });

  it("A/D are set on superpage leaves too, and never on the pointer PTEs of the walk", () => {
    const { m, root } = setup();
    const leaf = m.map(root, 0x4000_0000n, 0x8000_0000n, 1, V | R | W);
    const ptr = root + 8n; // root[1] → level-1 table
    const ptrBefore = m.rd(ptr);
    expect(m.probe(0x4000_1234n, STORE, PRV_S)).toBe(hex(0x8000_1234n));
    expect(m.rd(leaf)).toBe(pte(0x80000n, V | R | W | A | D));
    expect(m.rd(ptr)).toBe(ptrBefore);
  });

  it("faulting accesses leave the PTE unchanged (permission, privilege and SUM faults)", () => {
    const { m, root } = setup();
    const leafRO = m.map(root, 0x5000n, 0x8020_3000n, 0, V | R);
    const leafU = m.map(root, 0x6000n, 0x8020_4000n, 0, V | R | W | U);
    expect(m.probe(0x5000n, STORE, PRV_S)).toBe(pageFault(STORE));
    expect(m.probe(0x5000n, FETCH, PRV_S)).toBe(pageFault(FETCH));
    expect(m.probe(0x5000n, LOAD, PRV_U)).toBe(pageFault(LOAD));
    expect(m.rd(leafRO)).toBe(pte(0x80203n, V | R));
    expect(m.probe(0x6000n, STORE, PRV_S)).toBe(pageFault(STORE)); // SUM=0
    expect(m.probe(0x6000n, FETCH, PRV_U)).toBe(pageFault(FETCH));  // no X
    expect(m.rd(leafU)).toBe(pte(0x80204n, V | R | W | U));
  });
});

describe("malformed page tables", () => {
  function setup() {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    m.setMstatus(0n);
    const va = 0x2010_3abcn; // vpn2 0, vpn1 0x100, vpn0 0x103
    const leaf = m.map(root, va, 0x8030_0000n, 0, V | R | W | X | A | D);
    return { m, root, va, leaf, l1: m.slot(root, va, 1), l2: m.slot(root, va, 2) };
  }

  it("sanity: the unmodified table translates", () => {
    const { m, va } = setup();
    for (const acc of ACCS) expect(m.probe(va, acc, PRV_S)).toBe(hex(0x8030_0000n + (va & 0xfffn)));
  });

  it("any of the reserved bits 63:54 (N, PBMT, reserved) in a leaf or pointer PTE is a page fault", () => {
    const { m, va, leaf, l1, l2 } = setup();
    for (const slot of [leaf, l1, l2]) {
      const good = m.rd(slot);
      for (let b = 54n; b <= 63n; b++) {
        m.wr(slot, good | (1n << b));
        for (const acc of ACCS) {
          expect(m.probe(va, acc, PRV_S), `bit ${b} in the PTE at ${hex(slot)}, ${ACC_NAME[acc]}`).toBe(pageFault(acc));
        }
      }
      m.wr(slot, good);
      expect(m.probe(va, LOAD, PRV_S)).toBe(hex(0x8030_0000n + (va & 0xfffn)));
    }
  });

  it("a non-leaf PTE with A, D or U set is a page fault; G is allowed", () => {
    const { m, va, l1, l2 } = setup();
    for (const slot of [l1, l2]) {
      const good = m.rd(slot);
      for (const bit of [A, D, U]) {
        m.wr(slot, good | bit);
        for (const acc of ACCS) expect(m.probe(va, acc, PRV_S), `${hex(bit)} at ${hex(slot)}`).toBe(pageFault(acc));
      }
      m.wr(slot, good | G);
      expect(m.probe(va, LOAD, PRV_S)).toBe(hex(0x8030_0000n + (va & 0xfffn)));
      m.wr(slot, good);
    }
  });

  it("V=0 at each level is a page fault, whatever the other bits say", () => {
    const { m, va, leaf, l1, l2 } = setup();
    for (const slot of [l2, l1, leaf]) {
      const good = m.rd(slot);
      m.wr(slot, good & ~V);
      for (const acc of ACCS) expect(m.probe(va, acc, PRV_S), `V=0 at ${hex(slot)}`).toBe(pageFault(acc));
      m.wr(slot, good);
    }
  });

  it("a pointer PTE (R=W=X=0) at level 0 is a page fault; W-only and W+X pointers are reserved", () => {
    const { m, va, leaf, l1 } = setup();
    m.wr(leaf, pte(m.page() >> 12n, V));
    for (const acc of ACCS) expect(m.probe(va, acc, PRV_S)).toBe(pageFault(acc));
    const good = m.rd(l1);
    for (const bits of [W, W | X]) {
      m.wr(l1, good | bits);
      for (const acc of ACCS) expect(m.probe(va, acc, PRV_S)).toBe(pageFault(acc));
    }
  });
});

describe("canonical addresses", () => {
  it("Sv39: bits 63:39 must equal bit 38, for every access type", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    const lowLeaf = m.map(root, 0x1000n, 0x8040_0000n, 0, V | R | W | X);
    const highLeaf = m.map(root, 0x40_0000_0000n, 0x8040_1000n, 0, V | R | W | X); // vpn2 0x100: the upper half
    const canon: [bigint, bigint][] = [[0x1234n, 0x8040_0234n], [0xffff_ffc0_0000_0234n, 0x8040_1234n]];
    const nonCanon = [
      0x0000_0080_0000_1234n,       // bit 39 set, bit 38 clear
      0x8000_0000_0000_1234n,       // bit 63 only
      0xffff_ff80_0000_1234n,       // 63:39 set, 38 clear (low 39 bits map vpn2 0)
      0x0000_0040_0000_0234n,       // bit 38 set, 63:39 clear (low 39 bits map the upper-half page)
      0x7fff_ffc0_0000_0234n,       // all but bit 63
    ];
    for (const acc of ACCS) {
      for (const [va, pa] of canon) expect(m.probe(va, acc, PRV_S), `${hex(va)} ${ACC_NAME[acc]}`).toBe(hex(pa));
    }
    // Reset A/D so a walk that should not happen would show.
    m.wr(lowLeaf, pte(0x80400n, V | R | W | X));
    m.wr(highLeaf, pte(0x80401n, V | R | W | X));
    for (const acc of ACCS) {
      for (const va of nonCanon) {
        for (const prv of [PRV_U, PRV_S]) expect(m.probe(va, acc, prv), `${hex(va)} ${ACC_NAME[acc]}`).toBe(pageFault(acc));
      }
    }
    expect(m.rd(lowLeaf)).toBe(pte(0x80400n, V | R | W | X));
    expect(m.rd(highLeaf)).toBe(pte(0x80401n, V | R | W | X));
  });

  it("Sv48: bits 63:48 must equal bit 47; Sv39-non-canonical addresses are fine", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV48, root);
    m.map(root, 0x0000_0080_0000_1000n, 0x8040_2000n, 0, V | R | W | X, 4);   // needs bit 39: a 4-level walk
    m.map(root, 0xffff_8000_0000_3000n, 0x8040_3000n, 0, V | R | W | X, 4);   // bit 47 set: upper half
    for (const acc of ACCS) {
      expect(m.probe(0x0000_0080_0000_1abcn, acc, PRV_S)).toBe(hex(0x8040_2abcn));
      expect(m.probe(0xffff_8000_0000_3abcn, acc, PRV_S)).toBe(hex(0x8040_3abcn));
      for (const va of [0x0001_0080_0000_1abcn, 0x0000_8000_0000_3abcn, 0x8000_0080_0000_1abcn, 0xfffe_8000_0000_3abcn]) {
        expect(m.probe(va, acc, PRV_S), `${hex(va)} ${ACC_NAME[acc]}`).toBe(pageFault(acc));
      }
    }
  });
});

describe("Sv48", () => {
  it("walks 4 levels to 4 KiB, 2 MiB and 1 GiB leaves", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV48, root);
    const va4k = 0x0000_5a5a_1234_5678n, va2m = 0x0000_7000_0060_0000n, va1g = 0xffff_c000_4000_0000n;
    const l4k = m.map(root, va4k, 0x8050_0000n, 0, V | R | W | X | A | D, 4);
    m.map(root, va2m, 0x80_0000_0000n, 1, V | R | A, 4);
    m.map(root, va1g, 0x40_0000_0000n, 2, V | X | A, 4);
    expect(m.probe(va4k, STORE, PRV_S)).toBe(hex(0x8050_0678n));
    expect(m.probe(va2m + 0x1_2345n, LOAD, PRV_S)).toBe(hex(0x80_0001_2345n));
    expect(m.probe(va2m, STORE, PRV_S)).toBe(pageFault(STORE));
    expect(m.probe(va1g + 0x3fff_fffen, FETCH, PRV_S)).toBe(hex(0x40_3fff_fffen));
    // Each of the four levels matters: invalidating the level-3 pointer breaks the walk.
    const l3 = m.slot(root, va4k, 3, 4);
    const good = m.rd(l3);
    m.wr(l3, good & ~V);
    expect(m.probe(va4k, LOAD, PRV_S)).toBe(pageFault(LOAD));
    m.wr(l3, good);
    expect(m.slot(root, va4k, 0, 4)).toBe(l4k);
    // The same satp root read as Sv39 would index with 3 levels and find nothing for va4k's low 39 bits.
    m.setSatp(SV39, root);
    expect(m.probe(va4k & ((1n << 38n) - 1n), LOAD, PRV_S)).toBe(pageFault(LOAD));
  });
});

describe("page-table addresses outside RAM", () => {
  it("a root outside RAM (beyond it, in a hole, on a device) is an access fault, not a crash", () => {
    const m = new Mmu();
    const frames = m.vm.stats().guestFrames;
    for (const root of [0x9000_0000n, m.vm.ramBase + 16n * 1024n * 1024n, 0x4000_0000n, 0x1000_0000n, 0x200_0000n, 1n << 50n]) {
      m.setSatp(SV39, root);
      for (const acc of ACCS) {
        for (const prv of [PRV_U, PRV_S]) expect(m.probe(0x1000n, acc, prv), `root ${hex(root)}`).toBe(accessFault(acc));
      }
    }
    expect(m.vm.stats().guestFrames).toBe(frames); // nothing was mapped for them
  });

  it("a pointer PTE to MMIO (0x1000_0000), a hole or beyond 41 bits is an access fault", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    const l1 = m.slot(root, 0x1000n, 1, 3, true);
    m.wr(l1, 0n); // maps the level-1 table's page before counting
    const frames = m.vm.stats().guestFrames;
    for (const target of [0x1000_0000n, 0x4000_0000n, 0x10_0000n, 1n << 41n, 1n << 55n]) {
      m.wr(l1, pte(target >> 12n, V));
      for (const acc of ACCS) expect(m.probe(0x1000n, acc, PRV_S), `pointer to ${hex(target)}`).toBe(accessFault(acc));
    }
    expect(m.vm.stats().guestFrames).toBe(frames);
  });

  it("a leaf may point anywhere: translation yields the address, the later access decides", () => {
    const m = new Mmu();
    const root = m.page();
    m.setSatp(SV39, root);
    m.map(root, 0x1000n, 0x1000_0000n, 0, V | R | W | A | D);
    expect(m.probe(0x1005n, LOAD, PRV_S)).toBe(hex(0x1000_0005n));
  });
});

describe("Bare and M-mode", () => {
  it("Bare: every address translates to itself at U and S", () => {
    const m = new Mmu();
    m.setSatp(BARE, 0n);
    for (const va of [0n, 0x8000_0000n, 0x4000_0000n, 0x0010_0000_8000_1234n, 0x1f_ffff_ffffn])
      for (const acc of ACCS) for (const prv of [PRV_U, PRV_S]) expect(m.probe(va, acc, prv)).toBe(hex(va));
  });

  it("M-mode ignores satp, SUM and MXR: identity even for Sv39/Sv48-non-canonical addresses", () => {
    const m = new Mmu();
    const root = m.page(); // empty: any S/U access faults
    for (const mode of [SV39, SV48]) {
      m.setSatp(mode, root);
      m.setMstatus(SUM | MXR);
      for (const va of [0x1000n, 0x8000_0000n, 0x0010_0000_8000_1234n]) {
        for (const acc of ACCS) {
          expect(m.probe(va, acc, PRV_M)).toBe(hex(va));
          expect(m.probe(va & 0xffff_ffffn, acc, PRV_S)).toBe(pageFault(acc));
        }
      }
    }
  });
});

// ---- CSR-level checks with tiny guests ----

function runGuest(vm: Vm, a: Asm, budget = 10_000): string {
  vm.writePhys(vm.ramBase, a.bytes());
  vm.pc = vm.ramBase;
  return vm.run(budget);
}

describe("satp and paging from a running guest", () => {
  it("a satp write with an unsupported MODE is ignored; Bare, Sv39 and Sv48 are accepted", () => {
    const m = new Mmu();
    const sv39 = (SV39 << 60n) | (0x1234n << 44n) | 0x80123n;
    const sv48 = (SV48 << 60n) | 0x80456n;
    const a = new Asm();
    a.li(REG.t0, sv39).csrw(0x180, REG.t0).csrr(REG.a0, 0x180);
    for (const [i, mode] of [[1, 10n], [2, 1n], [3, 15n], [4, 7n]] as const) {
      a.li(REG.t0, (mode << 60n) | 0x80999n).csrw(0x180, REG.t0).csrr(REG.a0 + i, 0x180);
    }
    a.li(REG.t0, sv48).csrw(0x180, REG.t0).csrr(REG.a5, 0x180);
    a.csrw(0x180, REG.zero).csrr(REG.s1, 0x180);
    a.halt();
    expect(runGuest(m.vm, a)).toBe("halt");
    expect(m.vm.x(REG.a0)).toBe(sv39);
    for (let i = 1; i <= 4; i++) expect(m.vm.x(REG.a0 + i), `a${i}`).toBe(sv39); // Sv57, mode 1, 15, 7: no effect
    expect(m.vm.x(REG.a5)).toBe(sv48);
    expect(m.vm.x(REG.s1)).toBe(0n);
  });

  it("an S-mode guest loads through Sv39 and takes a store page fault with mtval = the VA; MPRV loads translate", () => {
    const m = new Mmu();
    const root = m.page();
    const base = m.vm.ramBase;
    m.map(root, base, base, 2, V | R | W | X | A | D);                       // identity gigapage over RAM (code)
    m.map(root, 0x0n, 0x0n, 2, V | R | W | A | D);                            // devices (the test finisher at 0x10_0000)
    const data = base + 0x20_0000n;
    m.wr(data + 0x18n, 0x1122_3344_5566_7788n);
    m.map(root, 0x4000_5000n, data, 0, V | R | A);                            // read-only view of `data`
    const a = program(base, (a) => {
      a.li(REG.t0, (SV39 << 60n) | (root >> 12n)).csrw(CSR.satp, REG.t0);
      a.li(REG.t0, MPRV | (1n << 11n)).csrs(CSR.mstatus, REG.t0);            // M with MPRV, MPP = S: data as S
      a.li(REG.t1, 0x4000_5018n).ld(REG.a1, REG.t1, 0);
      a.li(REG.t0, MPRV).csrc(CSR.mstatus, REG.t0);
      enterS(a, (SV39 << 60n) | (root >> 12n), base + 0x400n);
      a.org(0x400);
      a.li(REG.t1, 0x4000_5018n).ld(REG.a0, REG.t1, 0);                     // S: load through the mapping
      a.label("store").sd(REG.a0, REG.t1, 0);                                  // S: store → page fault 15
    });
    expect(runGuest(m.vm, a)).toBe("halt");
    expect(m.vm.x(REG.a0)).toBe(0x1122_3344_5566_7788n);
    expect(m.vm.x(REG.a1)).toBe(0x1122_3344_5566_7788n);
    const k = m.vm.core.k;
    expect(m.vm.hartU64(k.HART_MCAUSE)).toBe(15n);
    expect(m.vm.hartU64(k.HART_MTVAL)).toBe(0x4000_5018n);
    expect(m.vm.hartU64(k.HART_MEPC)).toBe(base + BigInt(a.addr("store")));
  });
});

// ---- The software TLB must never serve a translation the walker would now refuse ----

describe("software TLB invalidation (guests)", () => {
  /**
   * An S-mode guest whose own code, the test finisher and the given mappings are 4 KiB pages (so no superpage
   * entry is in the TLB unless a test maps one). `alias` maps VA 0x5000_0000 onto the page table holding `leaf`, so
   * the guest can rewrite that PTE.
   */
  function sGuest(m: Mmu, root: bigint, s: (a: Asm) => void): Asm {
    const base = m.vm.ramBase;
    m.map(root, base, base, 0, V | R | W | X | A | D);
    m.map(root, 0x10_0000n, 0x10_0000n, 0, V | R | W | A | D);
    const a = program(base, (a) => { enterS(a, (SV39 << 60n) | (root >> 12n), base + 0x400n); a.org(0x400); s(a); });
    expect(runGuest(m.vm, a)).toBe("halt");
    return a;
  }
  const trap = (m: Mmu) => ({ mcause: m.vm.hartU64(m.vm.core.k.HART_MCAUSE), mtval: m.vm.hartU64(m.vm.core.k.HART_MTVAL) });

  it("sfence.vma with an address drops the page's load and store entries", () => {
    const m = new Mmu();
    const root = m.page();
    const base = m.vm.ramBase;
    const pa1 = base + 0x20_0000n, pa2 = base + 0x21_0000n;
    m.wr(pa1, 0x111n);
    m.wr(pa2, 0x222n);
    const va = 0x4000_0000n;
    const leaf = m.map(root, va, pa1, 0, V | R | W | A | D);
    m.map(root, 0x5000_0000n, leaf & ~0xfffn, 0, V | R | W | A | D);
    const alias = 0x5000_0000n + (leaf & 0xfffn);
    const { t1, t2, t3 } = REG;
    sGuest(m, root, (a) => {
      a.li(t1, va).ld(REG.a0, t1, 0).sd(REG.a0, t1, 8);                       // load and store entries for va
      a.li(t2, alias).li(t3, pte(pa2 >> 12n, V | R | W | A | D)).sd(t3, t2, 0).sfenceVma(t1, 0);
      a.ld(REG.a1, t1, 0);                                                     // now from pa2
      a.li(t3, pte(pa2 >> 12n, V | R | A)).sd(t3, t2, 0).sfenceVma(t1, 0);    // read-only
      a.sd(REG.a1, t1, 8);                                                     // store page fault
    });
    expect(m.vm.x(REG.a0)).toBe(0x111n);
    expect(m.vm.x(REG.a1)).toBe(0x222n);
    expect(trap(m)).toEqual({ mcause: 15n, mtval: va + 8n });
    expect(m.rd(pa1 + 8n)).toBe(0x111n);
    expect(m.rd(pa2 + 8n)).toBe(0n);
  });

  it("sfence.vma with any address inside a 2 MiB superpage drops the entries of its other 4 KiB pages", () => {
    const m = new Mmu();
    const root = m.page();
    const base = m.vm.ramBase;
    const r1 = base + 0x40_0000n, r2 = base + 0x60_0000n; // 2 MiB aligned
    m.wr(r1 + 0x5000n, 0xaaan);
    m.wr(r2 + 0x5000n, 0xbbbn);
    const va = 0x4020_0000n;
    const leaf = m.map(root, va, r1, 1, V | R | W | A | D);
    m.map(root, 0x5000_0000n, leaf & ~0xfffn, 0, V | R | W | A | D);
    const { t1, t2, t3 } = REG;
    sGuest(m, root, (a) => {
      a.li(t1, va + 0x5000n).ld(REG.a0, t1, 0);
      a.li(t2, 0x5000_0000n + (leaf & 0xfffn)).li(t3, pte(r2 >> 12n, V | R | W | A | D)).sd(t3, t2, 0);
      a.li(t2, va + 0x1000n).sfenceVma(t2, 0);                                 // another 4 KiB page of the same leaf
      a.ld(REG.a1, t1, 0);
    });
    expect(trap(m).mcause).toBe(0n);
    expect(m.vm.x(REG.a0)).toBe(0xaaan);
    expect(m.vm.x(REG.a1)).toBe(0xbbbn);
  });

  it("sfence.vma with an address also drops entries in banks not currently selected (SUM off at the fence)", () => {
    const m = new Mmu();
    const root = m.page();
    const base = m.vm.ramBase;
    const pa1 = base + 0x20_0000n, pa2 = base + 0x21_0000n;
    m.wr(pa1, 0x111n);
    m.wr(pa2, 0x222n);
    const va = 0x4000_0000n;
    const leaf = m.map(root, va, pa1, 0, V | R | W | U | A | D);            // a user page, read by S with SUM
    m.map(root, 0x5000_0000n, leaf & ~0xfffn, 0, V | R | W | A | D);
    const { t0, t1, t2, t3 } = REG;
    sGuest(m, root, (a) => {
      a.li(t0, SUM).csrs(CSR.sstatus, t0);
      a.li(t1, va).ld(REG.a0, t1, 0).sd(REG.a0, t1, 8);                      // cached with SUM set
      a.csrc(CSR.sstatus, t0);                                                 // SUM off: another bank is selected
      a.li(t2, 0x5000_0000n + (leaf & 0xfffn)).li(t3, pte(pa2 >> 12n, V | R | W | U | A | D)).sd(t3, t2, 0);
      a.sfenceVma(t1, 0);
      a.csrs(CSR.sstatus, t0);                                                 // back to the SUM bank
      a.ld(REG.a1, t1, 0).sd(REG.a1, t1, 16);
    });
    expect(trap(m).mcause).toBe(0n);
    expect(m.vm.x(REG.a0)).toBe(0x111n);
    expect(m.vm.x(REG.a1)).toBe(0x222n);
    expect(m.rd(pa2 + 16n)).toBe(0x222n);
    expect(m.rd(pa1 + 16n)).toBe(0n);
  });

  it("clearing SUM or MXR revokes access that the TLB had cached", () => {
    for (const [bit, flags] of [[SUM, V | R | W | U | A | D], [MXR, V | X | A]] as const) {
      const m = new Mmu();
      const root = m.page();
      const pa = m.vm.ramBase + 0x20_0000n;
      m.wr(pa, 0x5eedn);
      m.map(root, 0x4000_0000n, pa, 0, flags);
      const a = sGuest(m, root, (a) => {
        a.li(REG.t0, bit).csrs(CSR.sstatus, REG.t0);
        a.li(REG.t1, 0x4000_0000n).ld(REG.a0, REG.t1, 0);
        a.csrc(CSR.sstatus, REG.t0);
        a.label("again").ld(REG.a1, REG.t1, 0);
      });
      const what = bit === SUM ? "SUM" : "MXR";
      expect(m.vm.x(REG.a0), what).toBe(0x5eedn);
      expect(trap(m), what).toEqual({ mcause: 13n, mtval: 0x4000_0000n });
      expect(m.vm.hartU64(m.vm.core.k.HART_MEPC), what).toBe(m.vm.ramBase + BigInt(a.addr("again")));
    }
  });

  it("TLB entries are per privilege: a page S has loaded from is not readable by U afterwards", () => {
    const m = new Mmu();
    const root = m.page();
    const pa = m.vm.ramBase + 0x20_0000n, uPa = m.vm.ramBase + 0x30_0000n;
    m.wr(pa, 0x600dn);
    m.map(root, 0x4000_0000n, pa, 0, V | R | W | A | D);            // supervisor data page
    m.map(root, 0x6000_0000n, uPa, 0, V | R | X | U | A);           // user code page
    const u = new Asm().li(REG.t1, 0x4000_0000n).label("ld").ld(REG.a1, REG.t1, 0).spin();
    m.vm.writePhys(uPa, u.bytes());
    sGuest(m, root, (a) => {
      a.li(REG.t1, 0x4000_0000n).ld(REG.a0, REG.t1, 0);                     // S: cached in the S load bank
      a.li(REG.t0, 1n << 8n).csrc(CSR.sstatus, REG.t0);                      // SPP = U
      a.li(REG.t0, 0x6000_0000n).csrw(0x141, REG.t0).sret();                 // sepc; sret to U
    });
    expect(m.vm.x(REG.a0)).toBe(0x600dn);
    expect(trap(m)).toEqual({ mcause: 13n, mtval: 0x4000_0000n });
    expect(m.vm.hartU64(m.vm.core.k.HART_MEPC)).toBe(0x6000_0000n + BigInt(u.addr("ld")));
    expect(m.vm.x(REG.a1)).toBe(0n);
  });

  it("a 32-bit instruction straddling two virtual pages runs from two unrelated frames; an unmapped second page faults at its start", () => {
    for (const mapped of [true, false]) {
      const m = new Mmu();
      const root = m.page();
      const pA = m.vm.ramBase + 0x20_0000n, pB = m.vm.ramBase + 0x35_0000n;
      m.map(root, 0x4000_0000n, pA, 0, V | R | X | A);
      if (mapped) m.map(root, 0x4000_1000n, pB, 0, V | R | X | A);
      const insn = new Asm().addi(REG.a0, 0, 0x123).words[0];
      m.vm.writePhys(pA + 0xffen, new Uint8Array([insn & 0xff, (insn >> 8) & 0xff]));
      m.vm.writePhys(pB, new Uint8Array([(insn >> 16) & 0xff, insn >>> 24]));
      m.vm.writePhys(pB + 2n, new Asm().ret().bytes());
      const a = sGuest(m, root, (a) => { a.li(REG.t0, 0x4000_0ffen).label("call").jalr(REG.ra, REG.t0, 0); });
      if (mapped) {
        expect(trap(m).mcause).toBe(0n);
        expect(m.vm.x(REG.a0)).toBe(0x123n);
        expect(m.vm.x(REG.ra)).toBe(m.vm.ramBase + BigInt(a.addr("call")) + 4n);
      } else {
        // §3.1.16: for an instruction page fault on a straddling instruction, mepc is the instruction, mtval the
        // address of the portion that faulted.
        expect(trap(m)).toEqual({ mcause: 12n, mtval: 0x4000_1000n });
        expect(m.vm.hartU64(m.vm.core.k.HART_MEPC)).toBe(0x4000_0ffen);
      }
    }
  });

  it("MPRV: changing MPP switches the translation privilege of M-mode loads immediately", () => {
    const m = new Mmu();
    const root = m.page();
    const pa = m.vm.ramBase + 0x20_0000n;
    m.wr(pa, 0xabcn);
    m.map(root, 0x4000_0000n, pa, 0, V | R | W | A | D); // a supervisor page: U may not touch it
    const a = program(m.vm.ramBase, (a) => {
      a.li(REG.t0, (SV39 << 60n) | (root >> 12n)).csrw(CSR.satp, REG.t0);  // the code itself is not mapped: fetches stay M
      a.li(REG.t0, MPRV | (1n << 11n)).csrs(CSR.mstatus, REG.t0);
      a.li(REG.t1, 0x4000_0000n).ld(REG.a0, REG.t1, 0);
      a.li(REG.t0, 3n << 11n).csrc(CSR.mstatus, REG.t0);                     // MPP = U
      a.label("u").ld(REG.a1, REG.t1, 0);
    });
    expect(runGuest(m.vm, a)).toBe("halt");
    expect(m.vm.x(REG.a0)).toBe(0xabcn);
    expect(trap(m)).toEqual({ mcause: 13n, mtval: 0x4000_0000n });
    expect(m.vm.hartU64(m.vm.core.k.HART_MEPC)).toBe(m.vm.ramBase + BigInt(a.addr("u")));
  });
});

describe("PMP and the walker", () => {
  it("with no PMP entry active (reset), S/U page-table reads are access faults; M is unaffected", () => {
    const m = new Mmu(16 << 20, false);
    const root = m.page();
    m.map(root, 0x1000n, 0x8030_0000n, 0, V | R | W | X | A | D);
    m.setSatp(SV39, root);
    for (const acc of ACCS) {
      for (const prv of [PRV_U, PRV_S]) expect(m.probe(0x1000n, acc, prv)).toBe(accessFault(acc));
      expect(m.probe(0x1000n, acc, PRV_M)).toBe(hex(0x1000n));
    }
  });
});
