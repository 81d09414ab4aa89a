// The IOMMU (assembly/iommu.ts) through the core's exports: translation, permissions, windows, invalidation, the
// fault queue — and DMA by a real virtio device against a guest that tries to reach outside its domain.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Vm } from "../host/vm.js";
import { VirtioDevices } from "../host/virtio/devices.js";
import { createVm } from "../host/api.js";
import { guestPath } from "./helpers";

const RAM = 0x8000_0000;

function vm(mem = 64 << 20): Vm { return Vm.create({ memBytes: mem }); }
function faults(v: Vm) {
  const k = v.core.k, dv = new DataView(v.memory.buffer);
  const out: { cause: number; ttyp: number; did: number; iova: bigint; gpa: bigint }[] = [];
  let head = dv.getUint32(k.IOMMU_FQ_HEAD, true);
  const tail = dv.getUint32(k.IOMMU_FQ_TAIL, true);
  for (; head !== tail; head++) {
    const r = k.IOMMU_FQ + (head % k.IOMMU_FQ_ENTRIES) * 32, w = dv.getBigUint64(r, true);
    out.push({ cause: Number(w & 0xfffn), ttyp: Number((w >> 34n) & 0x3fn), did: Number(w >> 40n), iova: dv.getBigUint64(r + 16, true), gpa: dv.getBigUint64(r + 24, true) });
  }
  dv.setUint32(k.IOMMU_FQ_HEAD, head, true);
  return out;
}

describe("IOMMU: translation and checks", () => {
  it("a device without a context is refused with cause 258 (DDT entry not valid)", () => {
    const v = vm(), fn = v.core.fn, k = v.core.k;
    expect(fn.iommu_translate(3, RAM + 0x1000, 0)).toBe(0);
    expect(faults(v)).toEqual([{ cause: k.IOMMU_CAUSE_DDT_INVALID, ttyp: 2, did: 3, iova: BigInt(RAM + 0x1000), gpa: 0n }]);
  });

  it("identity domain: IOVA = GPA over RAM, the same frames the guest sees", () => {
    const v = vm(), fn = v.core.fn;
    expect(fn.iommu_attach(0, 1)).toBe(0);
    v.writePhys(BigInt(RAM + 0x12345), new TextEncoder().encode("dma!"));
    const p = fn.iommu_translate(0, RAM + 0x12345, 0);
    expect(p).not.toBe(0);
    expect(new TextDecoder().decode(new Uint8Array(v.memory.buffer, p, 4))).toBe("dma!");
    // A write translation lands in the same frame, and is logged dirty.
    v.takeDirtyPages();
    const w = fn.iommu_translate(0, RAM + 0x12345, 1);
    expect(w).toBe(p);
    new Uint8Array(v.memory.buffer)[w] = 0x44;
    expect(v.readPhys(BigInt(RAM + 0x12345), 1)[0]).toBe(0x44);
    expect(v.takeDirtyPages()).toEqual([BigInt(RAM + 0x12000)]);
    // Outside RAM (MMIO, beyond the end) is a guest-page fault (second stage).
    expect(fn.iommu_translate(0, 0x1000_0000, 0)).toBe(0);
    expect(fn.iommu_translate(0, RAM + (64 << 20), 1)).toBe(0);
    expect(fn.iommu_translate(0, 2 ** 45, 0)).toBe(0);
    const f = faults(v);
    expect(f.map((x) => x.cause)).toEqual([13, 15, 13]); // outside the domain's table: first-stage page faults
  });

  it("windows: only mapped IOVAs translate, with their permissions; remapping invalidates the IOTLB", () => {
    const v = vm(), fn = v.core.fn, k = v.core.k;
    expect(fn.iommu_attach(1, 2)).toBe(0);
    expect(fn.iommu_map(1, 0x1000_0000, RAM + 0x20_0000, 0x2000, 1)).toBe(0); // read-only window at a different IOVA
    const p = fn.iommu_translate(1, 0x1000_0010, 0);
    expect(p).not.toBe(0);
    v.writePhys(BigInt(RAM + 0x20_0010), Uint8Array.of(0xab));
    expect(new Uint8Array(v.memory.buffer)[p]).toBe(0xab);
    expect(fn.iommu_translate(1, 0x1000_0010, 1)).toBe(0);                  // write to a read-only mapping
    expect(fn.iommu_translate(1, 0x1000_2000, 0)).toBe(0);                  // just past the window
    expect(fn.iommu_translate(1, RAM + 0x20_0000, 0)).toBe(0);              // the GPA itself is not an IOVA here
    expect(faults(v).map((f) => [f.cause, f.ttyp, f.did])).toEqual([[k.IOMMU_CAUSE_WRITE_PAGE, 3, 1], [13, 2, 1], [13, 2, 1]]);
    // Unmapping drops the cached translation at once.
    expect(fn.iommu_translate(1, 0x1000_0000, 0)).not.toBe(0);
    expect(fn.iommu_map(1, 0x1000_0000, RAM + 0x20_0000, 0x1000, 0)).toBe(0);
    expect(fn.iommu_translate(1, 0x1000_0000, 0)).toBe(0);
    expect(fn.iommu_translate(1, 0x1000_1000, 0)).not.toBe(0);              // the other page stays mapped
    // A domain mapping pointing outside RAM faults in the second stage, reporting the GPA.
    expect(fn.iommu_map(1, 0x2000_0000, 0x0c00_0000, 0x1000, 3)).toBe(0);
    faults(v);
    expect(fn.iommu_translate(1, 0x2000_0004, 1)).toBe(0);
    expect(faults(v)).toEqual([{ cause: k.IOMMU_CAUSE_WRITE_GUEST_PAGE, ttyp: 3, did: 1, iova: 0x2000_0004n, gpa: 0x0c00_0004n }]);
  });

  it("invalidation by domain: a stale IOTLB entry is used until invalidated, then the new mapping is", () => {
    const v = vm(), fn = v.core.fn, k = v.core.k, dv = new DataView(v.memory.buffer);
    expect(fn.iommu_attach(2, 2)).toBe(0);
    expect(fn.iommu_map(2, 0x4000_0000, RAM + 0x1000, 0x1000, 3)).toBe(0);
    const a = fn.iommu_translate(2, 0x4000_0000, 0);
    const dc = k.IOMMU_DC + 2 * k.IOMMU_DC_STRIDE;
    const misses = () => Number(dv.getBigUint64(dc + k.DC_STAT_MISS, true));
    const m0 = misses();
    expect(fn.iommu_translate(2, 0x4000_0000, 0)).toBe(a); // cached: no walk
    expect(misses()).toBe(m0);
    fn.iommu_invalidate(2, 0x4000_0000, 0x1000);
    expect(fn.iommu_translate(2, 0x4000_0000, 0)).toBe(a);
    expect(misses()).toBe(m0 + 1);
    // With the IOTLB disabled every access walks.
    fn.iommu_set_iotlb_disabled(1);
    fn.iommu_translate(2, 0x4000_0000, 0); fn.iommu_translate(2, 0x4000_0000, 0);
    expect(misses()).toBe(m0 + 3);
    fn.iommu_set_iotlb_disabled(0);
  });

  it("the fault queue keeps 64 records, counts what it drops, and never blocks", () => {
    const v = vm(), fn = v.core.fn, k = v.core.k, dv = new DataView(v.memory.buffer);
    for (let i = 0; i < 100; i++) expect(fn.iommu_translate(5, i * 4096, i & 1)).toBe(0);
    expect(fn.iommu_faults_pending()).toBe(64);
    expect(dv.getUint32(k.IOMMU_FQ_DROPPED, true)).toBe(36);
    const f = faults(v);
    expect(f).toHaveLength(64);
    expect(f[63]).toMatchObject({ did: 5, iova: BigInt(63 * 4096), ttyp: 3 });
    expect(Number(dv.getBigUint64(k.IOMMU_DC + 5 * k.IOMMU_DC_STRIDE + k.DC_STAT_FAULTS, true))).toBe(100);
  });
});

describe("IOMMU: a virtio device's DMA against the guest", () => {
  it("a guest restricted to a window gets IOERR outside it, its memory and disk untouched, rings outside -> broken", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wv-iommu-"));
    try {
      const disk = join(dir, "d.img");
      writeFileSync(disk, new Uint8Array(1 << 20));
      const m = createVm({ image: guestPath("vdma-window.elf"), devices: [{ kind: "blk", path: disk, dmaWindow: { base: 0x8100_0000, bytes: 0x10_0000 } }] });
      m.vm.writePhys(0x80ff_f000n, Uint8Array.of(1, 0, 0, 0)); // the guest's knob: expect the restriction
      let text = "";
      m.on("output", (b) => { text += new TextDecoder().decode(b); });
      const r = await m.start();
      expect(text).toContain("vdma: PASS");
      expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
      const f = faults(m.vm);
      expect(f.length).toBeGreaterThanOrEqual(3);
      for (const x of f) {
        expect(x.did).toBe(0);
        expect(x.iova < 0x8100_0000n || x.iova >= 0x8110_0000n).toBe(true);
        expect([13, 15]).toContain(x.cause);
      }
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe("IOMMU commands on a live device", () => {
  it("restricting a running device goes through its I/O thread; the guest's later DMA is refused and recorded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wv-iommu-"));
    try {
      const disk = join(dir, "d.img");
      writeFileSync(disk, new Uint8Array(1 << 20));
      const m = createVm({ image: guestPath("vblk.elf"), devices: [{ kind: "blk", path: disk }] });
      let text = "";
      m.on("output", (b) => { text += new TextDecoder().decode(b); });
      const done = m.start();
      while (!m.vm.devices) await new Promise((r) => setTimeout(r, 1));
      // vblk keeps its rings and buffers in [0x8100_0000, 0x8110_0000): a window elsewhere shuts it out.
      await m.vm.devices.restrict(0, 0x8200_0000n, 0x10_0000);
      const f = m.vm.devices.faults;
      const r = await done;
      expect(text).toContain("vblk: FAIL");
      expect(r.exit?.code).not.toBe(0);
      const recs = f.call(m.vm.devices);
      expect(recs.length).toBeGreaterThan(0);
      expect(recs.every((x) => x.device === 0 && (x.iova < 0x8200_0000n || x.iova >= 0x8210_0000n))).toBe(true);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe("VirtioDevices: bad configuration", () => {
  it("refuses missing, tiny and doubly-opened images, bad MACs and too many devices with one-line errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wv-dev-"));
    try {
      const disk = join(dir, "d.img");
      writeFileSync(disk, new Uint8Array(4096));
      writeFileSync(join(dir, "tiny.img"), new Uint8Array(100));
      await expect(VirtioDevices.attach(vm(), [{ kind: "blk", path: join(dir, "none.img") }])).rejects.toThrow(/no such file/);
      await expect(VirtioDevices.attach(vm(), [{ kind: "blk", path: join(dir, "tiny.img") }])).rejects.toThrow(/smaller than one 512-byte sector/);
      await expect(VirtioDevices.attach(vm(), [{ kind: "net", mac: "nope" }])).rejects.toThrow(/bad MAC address/);
      await expect(VirtioDevices.attach(vm(), Array(9).fill({ kind: "rng" }))).rejects.toThrow(/at most 8/);
      const a = await VirtioDevices.attach(vm(), [{ kind: "blk", path: disk }]);
      await expect(VirtioDevices.attach(vm(), [{ kind: "blk", path: disk }])).rejects.toThrow(/already open for writing/);
      const ro = await VirtioDevices.attach(vm(), [{ kind: "blk", path: disk, readonly: true }]); // readers are fine
      await ro.close();
      await a.close();
      const b = await VirtioDevices.attach(vm(), [{ kind: "blk", path: disk }]); // released at close
      await b.close();
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});
