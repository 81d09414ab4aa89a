// Live migration through the embedding API, both ends in one process: vm.migrate() and incomingVm().
import { describe, it, expect } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createVm, incomingVm, restoreVm, type VirtualMachine, type VmConfig } from "../host/api.js";
import type { RunResult } from "../host/runner.js";
import { guestPath } from "./helpers";
import type { Server } from "node:net";
import { fakeTarget } from "./fake-target";
import { restoreSnapshot } from "../host/snapshot/ops.js";
import { vmDigest } from "../host/snapshot/vmstate.js";
import { Vm } from "../host/vm.js";

/** All the VM's console output so far (its console stream keeps what came before anyone read it). */
const text = (vm: VirtualMachine) => { let s = ""; vm.console.on("data", (b: Buffer) => { s += b.toString(); }); return () => s; };

/** A fresh directory with a pre-shared key file in it (remove it when done). */
function keyDir(): { d: string; psk: string } {
  const d = mkdtempSync(join(tmpdir(), "wv-migapi-")), psk = join(d, "psk");
  writeFileSync(psk, randomBytes(32));
  return { d, psk };
}

/** A migration's source: the VM started, once its console shows `line`; its output so far, and its run's promise. */
async function sourceAt(config: VmConfig, line: string): Promise<{ src: VirtualMachine; srcOut: () => string; srcRun: Promise<RunResult> }> {
  const src = createVm({ memory: 64 << 20, timeoutMs: 120_000, ...config });
  const srcOut = text(src);
  const srcRun = src.start();
  while (!srcOut().includes(line)) await new Promise((r) => setTimeout(r, 10));
  return { src, srcOut, srcRun };
}

describe("live migration through the API", () => {
  it("vm.migrate() to incomingVm(): the guest finds its memory intact on the target; a wrong key is refused and the wait goes on", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-migapi-"));
    try {
      const psk = join(d, "psk"), other = join(d, "other");
      writeFileSync(psk, randomBytes(32));
      writeFileSync(other, randomBytes(32));
      const { src, srcOut, srcRun } = await sourceAt({ image: guestPath("memcheck.elf") }, "gen 2 ok");

      const refused: string[] = [], progress: string[] = [];
      let target!: Promise<VirtualMachine>;
      let listening!: (port: number) => void;
      const port = await new Promise<number>((r) => {
        listening = r;
        target = incomingVm({ port: 0, pskFile: psk, timeoutMs: 120_000, onListening: listening,
          onRefused: (_who, why) => refused.push(why), onProgress: (p) => progress.push(p.phase) });
      });

      // A source with another key: refused on both ends, and nothing changes for either VM.
      await expect(src.migrate("127.0.0.1", port, other)).rejects.toThrow(/authentication/);
      expect(src.state).toBe("running");
      while (refused.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(refused).toEqual(["migration peer failed authentication"]);

      const migrating = src.migrate("127.0.0.1", port, psk, { downtimeMs: 60 });
      // A second migration while the first runs is refused at once; the first goes on.
      await expect(src.migrate("127.0.0.1", port, psk)).rejects.toThrow("migration failed: this VM is already being migrated; the VM keeps running here");
      const report = await migrating;
      expect(Number(report.downtimeMs)).toBeGreaterThan(0);
      expect((await srcRun).reason).toBe("detached");
      const vm = await target;
      const out = text(vm);
      expect(vm.state).toBe("running");
      expect(progress).toContain("receiving memory");
      const r = await vm.start(); // (the run incomingVm started)
      expect(out(), srcOut()).toContain("memcheck: PASS");
      expect(out()).not.toContain("FAIL");
      expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 180_000);

  it("pages written before a migration are sent once: its second round holds only what the guest wrote during the first", async () => {
    const { d, psk } = keyDir();
    try {
      // The teaching kernel, idle at its prompt: it writes almost nothing while it waits.
      const { src, srcOut, srcRun } = await sourceAt({ kernel: guestPath("wvkernel.elf") }, "wv> ");
      // 2,000 pages written (from the host) since boot, and no snapshot ever taken: the dirty log holds them all.
      const at = src.vm.ramBase + (16n << 20n), page = new Uint8Array(4096).fill(0x5a);
      for (let i = 0; i < 2000; i++) src.vm.writePhys(at + BigInt(i) * 4096n, page);
      const before = src.vm.allocatedPages().length;
      let target!: Promise<VirtualMachine>;
      const port = await new Promise<number>((r) => { target = incomingVm({ port: 0, pskFile: psk, timeoutMs: 120_000, onListening: r }); });
      const report = await src.migrate("127.0.0.1", port, psk);
      expect((await srcRun).reason).toBe("detached");
      // Round one sends every page the guest has (at most `before`); the rest is what it wrote meanwhile. Resending
      // the pages written before the migration began (the log's old content) would add 2,000 and more.
      expect(report.pagesSent).toBeLessThanOrEqual(before + 200);
      const vm = await target;
      expect(Buffer.from(vm.vm.readPhys(at + 1999n * 4096n, 4096))).toEqual(Buffer.from(page));
      await vm.stop();
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 120_000);

  it("incomingVm gives up its wait when its signal aborts, and frees the port", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-migapi-"));
    try {
      writeFileSync(join(d, "psk"), randomBytes(32));
      const ac = new AbortController();
      let port = 0;
      const waiting = incomingVm({ port: 0, pskFile: join(d, "psk"), signal: ac.signal, onListening: (p) => { port = p; ac.abort(); } });
      await expect(waiting).rejects.toThrow("the wait for a migration was cancelled");
      const again = await incomingVm({ port, pskFile: join(d, "psk"), signal: AbortSignal.abort() }).catch((e: Error) => e.message);
      expect(again).toBe("the wait for a migration was cancelled"); // (it could listen on the same port)
    } finally { rmSync(d, { recursive: true, force: true }); }
  });

  it("a migration that fails after its rounds began takes no page from the snapshot chain: the next incremental snapshot restores the guest exactly", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-migapi-"));
    const servers: Server[] = [];
    try {
      const psk = join(d, "psk");
      writeFileSync(psk, randomBytes(32));
      // (Deterministic time: the digest of a VM restored in this process then equals the source's, clock included.)
      const { src, srcOut, srcRun } = await sourceAt({ image: guestPath("memcheck.elf"), deterministic: true }, "gen 2 ok");
      await src.snapshot(join(d, "s0.wvs"));
      // A page written once, outside the area memcheck keeps rewriting: after the snapshot, before the migration.
      // Its round 2 takes the dirty log; if that took it from the snapshots too, s1 would lack it.
      src.vm.writePhys(0x8300_0000n, new Uint8Array(4096).fill(0x5a));
      // A target that holds the key, takes the first round whole, and dies early in the second (the guest runs
      // on meanwhile, dirtying its area): the migration's log has been taken at least once.
      const { port, server, done: fake } = await fakeTarget(psk, (seen) => seen.type === 3 && seen.syncs >= 1); // a page batch of round 2
      servers.push(server);
      await expect(src.migrate("127.0.0.1", port, psk)).rejects.toThrow(/the VM keeps running here/);
      await fake;
      await new Promise((r) => setTimeout(r, 200)); // (it dirties more)
      src.pause();
      await src.snapshot(join(d, "s1.wvs"), { incremental: true });
      const back = await restoreSnapshot(join(d, "s1.wvs"), Vm.abiVersion(), { lazy: false });
      expect(vmDigest(back.vm)).toBe(vmDigest(src.vm));
      src.resume();
      src.stop();
      await srcRun;
    } finally { for (const s of servers) s.close(); rmSync(d, { recursive: true, force: true }); }
  }, 120_000);

  it("auto-converge's throttle keeps a busy guest off the CPU for its share of the time", async () => {
    const vm = createVm({ image: guestPath("test-loop.elf"), timeoutMs: 60_000 });
    const run = vm.start();
    const rate = async (throttle: number) => {
      vm.controller.throttle = throttle;
      await new Promise((r) => setTimeout(r, 100)); // (settle)
      const i0 = vm.vm.instret, t0 = performance.now();
      await new Promise((r) => setTimeout(r, 600));
      return Number(vm.vm.instret - i0) / (performance.now() - t0);
    };
    const full = await rate(0), throttled = await rate(0.9), again = await rate(0);
    // 0.9 leaves the guest a tenth of the time: far below half of either unthrottled rate, whatever the host's load.
    expect(throttled).toBeLessThan(Math.min(full, again) / 2);
    expect(throttled).toBeGreaterThan(0); // (it still runs)
    vm.stop();
    await run;
  });

  for (const io of ["thread", "sync"] as const) {
    it(`a migration that fails after the disks were let go leaves their checkpoint log going on: restored, the disk is the checkpoint's (${io})`, async () => {
      const { d, psk } = keyDir();
      const servers: Server[] = [];
      try {
        const disk = join(d, "v.img"), ck = join(d, "ck.wvs");
        writeFileSync(disk, new Uint8Array(4 << 20));
        // (sync: the devices served on the vCPU's thread, with deterministic time. thread: the I/O thread, whose
        // re-attached instance once served notifications left pending at the stop before the captured transport
        // state was put back over its work, and the guest then waited for ever: a quiesce now serves them first.)
        const vm = createVm({ image: guestPath("vblk.elf"), devices: [{ kind: "blk", path: disk }], timeoutMs: 120_000, io, deterministic: io === "sync" });
        const out = text(vm);
        const run = vm.start();
        while (!/ok GET_ID/.test(out())) await new Promise((r) => setTimeout(r, 1));
        // Paused from the checkpoint to the end of the migration: every write the guest makes to its disk after the
        // checkpoint goes through the back end attached again after the failure, which must log it.
        void vm.pause();
        await vm.checkpoint(ck);
        const at = readFileSync(disk);
        // A target that takes the final state (the source has closed its devices by then) and dies before resuming.
        const { port, server, done: fake } = await fakeTarget(psk, (seen) => seen.type === 4);
        servers.push(server);
        await expect(vm.migrate("127.0.0.1", port, psk)).rejects.toThrow(/failed after the stop.*the VM keeps running here/);
        await fake;
        vm.resume();
        expect((await run).exit, out().slice(-400)).toEqual({ kind: "poweroff", code: 0 });
        expect(out()).toContain("vblk: PASS");
        expect(readFileSync(disk).equals(at)).toBe(false); // (it wrote after the checkpoint, all of it after the failure)
        const back = await restoreVm(ck, { timeoutMs: 120_000 });
        expect(readFileSync(disk).equals(at)).toBe(true);
        await back.close();
      } finally { for (const s of servers) s.close(); rmSync(d, { recursive: true, force: true }); }
    }, 120_000);
  }

  it("a VM the user paused at the source arrives paused: not one instruction runs there until resume()", async () => {
    const { d, psk } = keyDir();
    try {
      const { src, srcOut, srcRun } = await sourceAt({ image: guestPath("memcheck.elf") }, "gen 2 ok");
      await src.pause();
      const at = src.vm.instret;
      let target!: Promise<VirtualMachine>;
      const port = await new Promise<number>((r) => { target = incomingVm({ port: 0, pskFile: psk, timeoutMs: 120_000, onListening: r }); });
      await src.migrate("127.0.0.1", port, psk);
      expect((await srcRun).reason).toBe("detached");
      const vm = await target;
      expect(vm.state).toBe("paused");
      await new Promise((r) => setTimeout(r, 200));
      expect(vm.vm.instret).toBe(at);
      const out = text(vm);
      vm.resume();
      expect(vm.state).toBe("running");
      expect((await vm.start()).exit).toEqual({ kind: "poweroff", code: 0 });
      expect(vm.vm.instret > at).toBe(true);
      expect(out()).toContain("memcheck: PASS");
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 180_000);

  it("incomingVm refuses a missing key at once, before listening", async () => {
    await expect(incomingVm({ port: 0, pskFile: "/nonexistent/psk" })).rejects.toThrow("migration key /nonexistent/psk: no such file");
  });
});
