// virtio-mmio devices end to end: the bare-metal driver guests (guests/virtio) against wasmvisor's devices, through
// the CLI, on real image files — with the I/O thread and with synchronous I/O; hostile rings; read-only disks.
import { describe, it, expect } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, guestPath } from "./helpers";
import { createVm } from "../host/api.js";
import { VirtualSwitch } from "../host/virtio/switch.js";
import { VirtioDevices } from "../host/virtio/devices.js";
import { Vm } from "../host/vm.js";

function withDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "wv-virtio-"));
  try { return f(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
}

/** Sector s of vblk's pattern (guests/virtio/vblk.c pattern_word). */
function patternSector(s: number): Uint8Array {
  const w = new Uint32Array(128);
  for (let i = 0; i < 128; i++) w[i] = (Number((BigInt(s * 128 + i) * 2654435761n) & 0xffffffffn) ^ 0x5a5a5a5a) >>> 0;
  return new Uint8Array(w.buffer);
}

describe("virtio-blk", () => {
  for (const io of ["thread", "sync"]) {
    it(`vblk (${io} I/O): every request type, indirect and event-idx rings; the image holds what the guest wrote`, () => withDir((dir) => {
      const disk = join(dir, "disk.img");
      writeFileSync(disk, new Uint8Array(1 << 20));
      const r = runCli(["run", "--io", io, "--disk", `${disk},serial=WV0001`, guestPath("vblk.elf")]);
      expect(r.stdout, r.stderr).toContain("vblk: PASS (29 checks)");
      expect(r.stdout).toContain('serial "WV0001"');
      expect(r.stdout).not.toContain("FAIL");
      expect(r.status).toBe(0);
      const img = readFileSync(disk);
      expect(img.subarray(0, 18).toString()).toBe("wasmvisor-vblk-ok\n");
      for (const s of [1, 2, 77, 1000, 2047]) expect(Buffer.compare(img.subarray(s * 512, s * 512 + 512), patternSector(s)), `sector ${s}`).toBe(0);
    }));
  }

  it("a read-only disk: writes fail with IOERR, reads work, the image is unchanged", () => withDir((dir) => {
    const disk = join(dir, "ro.img");
    const data = new Uint8Array(1 << 20).map((_, i) => i * 7);
    writeFileSync(disk, data);
    const r = runCli(["run", "--disk", `${disk},ro`, guestPath("vblk.elf")]);
    expect(r.stdout, r.stderr).toMatch(/vblk: PASS \(\d+ checks\)/);
    expect(r.status).toBe(0);
    expect(Buffer.compare(readFileSync(disk), data)).toBe(0);
  }));

  it("a hostile guest's malformed rings mark the device broken, out-of-domain buffers fail with IOERR, the host survives", () => withDir((dir) => {
    const disk = join(dir, "scratch.img");
    writeFileSync(disk, new Uint8Array(1 << 20));
    const r = runCli(["run", "--disk", disk, "--stats", guestPath("vhostile.elf")]);
    expect(r.stdout, r.stderr).toContain("vhostile: device still works");
    expect(r.stdout).toContain("vhostile: PASS (25 attacks)");
    const outcome = (a: string) => new RegExp(`vhostile: ${a.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")} -> (\\S+)`).exec(r.stdout)?.[1];
    for (const a of ["desc-loop", "desc-next-out-of-range", "avail-idx-jump", "avail-head-out-of-range", "indirect-len-not-multiple-of-16",
      "indirect-len-0", "indirect-nested", "indirect-with-next", "header-len-0xffffffff", "out-data-len-0xffffffff", "status-not-writable",
      "queue-num-3-not-power-of-2", "queue-num-above-max", "queue-num-0", "queue-desc-outside-ram", "queue-used-outside-ram", "queue-avail-in-mmio"]) {
      expect(outcome(a), a).toBe("needs_reset");
    }
    for (const a of ["buffer-past-end-of-ram", "buffer-in-mmio", "buffer-at-2^63", "buffer-wraps-address-space", "header-8-bytes"]) {
      expect(outcome(a), a).toBe("ioerr");
    }
    expect(outcome("notify-nonexistent-queue")).toBe("ignored");
    expect(r.status).toBe(0);
  }));

  it("bad disk arguments are one-line errors (exit 2)", () => withDir((dir) => {
    const r = runCli(["run", "--disk", join(dir, "missing.img"), guestPath("vblk.elf")]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^wasmvisor: disk image .*missing\.img: no such file$/);
    const r2 = runCli(["run", "--disk", `${join(dir, "x")},bogus`, guestPath("vblk.elf")]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain('unknown option "bogus"');
  }));
});

describe("a fuzzing guest against every device", () => {
  for (const io of ["thread", "sync"] as const) {
    it(`random register traffic, bring-ups and rings on all slots (${io} I/O): the host survives, nothing leaks`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "wv-vfuzz-"));
      try {
        const disk = join(dir, "d.img");
        const content = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
        writeFileSync(disk, content);
        const m = createVm({ image: guestPath("vfuzz.elf"), io, timeoutMs: 60_000, memory: 128 << 20, switch: new VirtualSwitch(),
          devices: [{ kind: "blk", path: disk }, { kind: "net", mac: "52:54:00:00:00:01" }, { kind: "rng" }, { kind: "console" }] });
        let out = "";
        m.on("output", (b) => { out += new TextDecoder().decode(b); });
        let broken = 0, faults = 0;
        const r = await m.start();
        expect(out, out.slice(-500)).toMatch(/vfuzz: done: \d+ bring-ups/);
        expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
        const d = m.vm.devices!;
        for (let slot = 0; slot < 4; slot++) { const st = d.stats(slot); broken += st.broken ? 1 : 0; faults += st.iommuFaults; }
        expect(broken + faults).toBeGreaterThan(0); // the traffic did reach the rings
        // Frames: at most the guest's RAM plus tables (nothing was mapped for MMIO or addresses beyond RAM).
        expect(Number(m.vm.stats().guestFrames)).toBeLessThanOrEqual((128 << 20) / 4096);
        expect(readFileSync(disk).length).toBe(1 << 20);
      } finally { rmSync(dir, { recursive: true, force: true }); }
    }, 90_000);
  }
});

describe("back-end state for snapshots and migration", () => {
  for (const io of ["thread", "sync"] as const) {
    it(`pending console input and queued frames are captured at a quiesce and given to new back ends (${io})`, async () => {
      const mk = async () => VirtioDevices.attach(Vm.create({ memBytes: 16 << 20 }), [{ kind: "console" }, { kind: "net", mac: "52:54:00:00:00:09" }], { io });
      const a = await mk();
      a.consoleInput(new TextEncoder().encode("typed before the snapshot"));
      a.deliverFrame(1, new Uint8Array(60).fill(0xab));
      await a.quiesce();
      const st = a.backendStates();
      await a.close();
      expect(Buffer.from((st[0] as { pending: string }).pending, "base64").toString()).toBe("typed before the snapshot");
      expect((st[1] as { backlog: string[] }).backlog).toHaveLength(1);
      const b = await mk();
      await b.loadBackendStates(st);
      await b.quiesce();
      expect(b.backendStates()).toEqual(st);
      await expect(b.loadBackendStates({ 0: { v: 2 } })).rejects.toThrow(/virtio-console state is malformed/);
      await b.close();
    });
  }
});

describe("frozen devices", () => {
  for (const io of ["thread", "sync"] as const) {
    it(`a quiesce first serves what the guest notified and its server has not taken up yet (${io})`, async () => {
      const vm = Vm.create({ memBytes: 16 << 20 });
      const d = await VirtioDevices.attach(vm, [{ kind: "rng" }], { io });
      await new Promise((r) => setTimeout(r, 50)); // (the I/O thread has served its first round and sleeps)
      const k = vm.core.k, dv = new DataView(vm.memory.buffer);
      const notify = k.LAYOUT_VIRTIO_BASE + 0 * k.LAYOUT_VIRTIO_STRIDE + k.VT_NOTIFY;
      // Queue 0 notified, its doorbell's wake-up not yet seen: as when a pause comes right after a notification.
      dv.setUint32(notify, 1, true);
      await d.quiesce();
      // Nothing is left pending in the state a snapshot or migration captures now.
      expect(dv.getUint32(notify, true)).toBe(0);
      d.thaw();
      await d.close();
    });

    it(`frames and console input that arrive while frozen wait in the back ends, bounded, and are in the state a quiesce captures (${io})`, async () => {
      const d = await VirtioDevices.attach(Vm.create({ memBytes: 16 << 20 }), [{ kind: "console" }, { kind: "net", mac: "52:54:00:00:00:0a" }], { io });
      await d.quiesce(); // (a paused guest: the user's pause)
      for (let i = 0; i < 1000; i++) d.deliverFrame(1, new Uint8Array(60).fill(i & 0xff));
      d.consoleInput(new TextEncoder().encode("typed while frozen"));
      await d.quiesce(); // (a snapshot taken during the pause)
      const st = d.backendStates();
      // A NIC whose guest takes nothing keeps 256 frames and drops the rest; none is lost before that.
      const backlog = (st[1] as { backlog: string[] }).backlog;
      expect(backlog).toHaveLength(256);
      expect(Buffer.from(backlog[255], "base64")[0]).toBe(255);
      expect(Buffer.from((st[0] as { pending: string }).pending, "base64").toString()).toBe("typed while frozen");
      d.thaw();
      d.thaw();
      await d.close();
    });
  }
});

describe("virtio-rng and virtio-console", () => {
  it("vrng reads host randomness", () => {
    const r = runCli(["run", "--rng", guestPath("vrng.elf")]);
    expect(r.stdout, r.stderr).toContain("vrng: PASS");
    expect(r.status).toBe(0);
  });

  it("vcons writes a line on hvc0 that appears on stdout", () => {
    const r = runCli(["run", "--virtio-console", guestPath("vcons.elf")]);
    expect(r.stdout, r.stderr).toContain("hello from wasmvisor's vcons guest on virtio-console port 0");
    expect(r.stdout).toContain("vcons: PASS");
    expect(r.status).toBe(0);
  });
});
