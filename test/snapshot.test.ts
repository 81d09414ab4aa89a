// Checkpoint/restart through the CLI, in fresh processes: deterministic continuation (state digests equal an
// uninterrupted run), full and incremental snapshots of a running guest that keeps dirtying memory, chains and
// merge, policies (time slot, periodic), atomic replacement under SIGKILL, and refusal of bad snapshots.
import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync, statSync, existsSync, truncateSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runCli, guestPath, CLI, ROOT } from "./helpers";
import { cachedImages } from "../host/files.js";
import { restoreVm, createVm } from "../host/api.js";
import { restoreSnapshot, saveSnapshot } from "../host/snapshot/ops.js";
import { vmDigest } from "../host/snapshot/vmstate.js";
import { Vm } from "../host/vm.js";
import { VmController } from "../host/controller.js";
import { migrateOut } from "../host/migrate/migrate.js";
import { readChain } from "../host/snapshot/chain.js";

const digestOf = (s: string) => /state digest ([0-9a-f]{64}) at instret (\d+)/.exec(s)?.slice(1);
function tmp(): string { return mkdtempSync(join(tmpdir(), "wv-snap-")); }

/** Runs fn with a fresh temporary directory, removed afterwards whatever happens. */
async function inTmp(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const d = tmp();
  try { await fn(d); } finally { rmSync(d, { recursive: true, force: true }); }
}

/** Starts the CLI in the background; resolves `line(re)` when stdout shows a match. */
function bg(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  const waiters: { re: RegExp; r: () => void }[] = [];
  child.stdout.on("data", (d: Buffer) => { out += d.toString(); for (const w of waiters.filter((w) => w.re.test(out))) { waiters.splice(waiters.indexOf(w), 1); w.r(); } });
  child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
  const closed = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  return {
    child, closed, get out() { return out; }, get err() { return err; },
    line: (re: RegExp) => new Promise<void>((r) => { if (re.test(out)) r(); else waiters.push({ re, r }); }),
  };
}

describe("deterministic checkpoint/restart", () => {
  it("memcheck: run to N, snapshot, restore in a fresh process, continue to M == uninterrupted run to M", async () => {
    await inTmp(async (d) => {
      const snap = join(d, "n.wvs");
      const a = runCli(["run", "--deterministic", "--max-insns", "30000000", "--snapshot-on-exit", snap, "--digest", guestPath("memcheck.elf")]);
      expect(a.status, a.stderr).toBe(3);
      expect(existsSync(snap)).toBe(true);
      const b = runCli(["restore", "--max-insns", "40000000", "--digest", snap]);
      const c = runCli(["run", "--deterministic", "--max-insns", "70000000", "--digest", guestPath("memcheck.elf")]);
      expect(digestOf(b.stderr), b.stderr).toEqual(digestOf(c.stderr));
      expect(digestOf(c.stderr)![1]).toBe("70000000");
      // The guest's own output continues where it left off.
      expect(a.stdout + b.stdout).toBe(c.stdout);
    });
  });

  const img = cachedImages();
  it.skipIf(!img)("Debian Linux: the same check across a snapshot taken mid-boot", async () => {
    await inTmp(async (d) => {
      const snap = join(d, "lx.wvs");
      const base = ["--kernel", img!.kernel, "--initrd", img!.initramfs, "--append", "console=ttyS0", "--mem", "256M", "--deterministic"];
      const a = runCli(["run", ...base, "--max-insns", "150000000", "--snapshot-on-exit", snap], { timeoutMs: 120_000 });
      expect(a.status, a.stderr).toBe(3);
      const b = runCli(["restore", "--max-insns", "150000000", "--digest", snap], { timeoutMs: 120_000 });
      const c = runCli(["run", ...base, "--max-insns", "300000000", "--digest"], { timeoutMs: 120_000 });
      expect(digestOf(b.stderr), b.stderr).toEqual(digestOf(c.stderr));
      expect(digestOf(c.stderr)![1]).toBe("300000000");
    });
  }, 300_000);
});

/**
 * Restores `snap` lazily and eagerly, runs both `insns` instructions (the lazy one stops for pages, which retire
 * nothing), lets the lazy one finish, and checks that both reach the same state. Returns the eager VM's digest
 * right after the restore.
 */
async function lazyMatchesEager(snap: string, insns: number): Promise<string> {
  const lazy = await restoreSnapshot(snap, Vm.abiVersion(), {});
  const eager = await restoreSnapshot(snap, Vm.abiVersion(), { lazy: false });
  expect(lazy.vm.lazy?.active).toBe(true);
  expect(eager.vm.lazy).toBeUndefined();
  expect(lazy.vm.core.fn.lazy_pending()).toBeGreaterThan(4000); // memcheck's 16 MiB are still in the file(s)
  const restored = vmDigest(eager.vm);
  const loader = lazy.vm.lazy!;
  for (const r of [lazy, eager]) {
    let left = insns;
    while (left > 0) {
      const before = r.vm.instret;
      const stop = r.vm.run(Math.min(left, 100_000));
      if (stop === "page") await loader.fault();
      left -= Number(r.vm.instret - before);
    }
  }
  expect(loader.faults).toBeGreaterThan(100);
  await loader.complete();
  expect(lazy.vm.lazy).toBeUndefined();
  expect(vmDigest(lazy.vm)).toBe(vmDigest(eager.vm));
  return restored;
}

describe("lazy restore", () => {
  it("a full snapshot restores lazily: the guest runs before its memory is back, faults bring pages, the state equals an eager restore", async () => {
    await inTmp(async (d) => {
      const snap = join(d, "lazy.wvs");
      expect(runCli(["run", "--deterministic", "--max-insns", "20000000", "--snapshot-on-exit", snap, guestPath("memcheck.elf")]).status).toBe(3);
      await lazyMatchesEager(snap, 3_000_000);
    });
  });

  it("a chain (full + two incrementals) restores lazily too, each page from the newest file that holds it", async () => {
    await inTmp(async (d) => {
      const vm = Vm.create({ memBytes: 64 << 20, deterministic: true });
      vm.loadElf(readFileSync(guestPath("memcheck.elf")));
      const files = [join(d, "c0.wvs"), join(d, "c1.wvs"), join(d, "c2.wvs")];
      let parent: { path: string; digest: string } | undefined;
      for (const f of files) {
        vm.run(8_000_000); // memcheck keeps rewriting its 16 MiB: each layer holds pages the older ones hold too
        const r = await saveSnapshot(vm, f, { parent });
        parent = { path: f, digest: r.digest };
      }
      expect(await lazyMatchesEager(files[2], 2_000_000)).toBe(vmDigest(vm));
    });
  });
});

describe("a guest that has ended", () => {
  it("stays ended across a snapshot: the restored run ends at once with the guest's exit; migration refuses it", async () => {
    await inTmp(async (d) => {
      const vm = Vm.create({ memBytes: 16 << 20 });
      vm.loadElf(readFileSync(guestPath("test-exit7.elf")));
      let stop;
      for (let i = 0; i < 100 && stop !== "halt"; i++) stop = vm.run(1_000_000);
      expect(stop).toBe("halt");
      expect(vm.exited).toBe(true);
      await saveSnapshot(vm, join(d, "ended.wvs"));
      const r = await restoreVm(join(d, "ended.wvs"));
      const res = await r.start();
      expect(res.reason).toBe("exit");
      expect(res.exit).toEqual({ kind: "poweroff", code: 7 });
      expect(res.instret).toBe(0n); // (it did not run on past its poweroff)
      await expect(migrateOut(new VmController(vm), "127.0.0.1", 1, join(d, "no-key"))).rejects.toThrow("the guest has already ended (it powered off): there is nothing to migrate");
    });
  });
});

/**
 * memcheck in a deterministic VM that the test runs itself (vm.run) between snapshot steps, so that every step sees
 * a known dirty log. asIfRunning: the controller believes a run loop drives the guest and sits at a slice boundary
 * (as under runToExit), so snapshots take the running guest's paths.
 */
function memcheckVm(asIfRunning: boolean): { vm: Vm; ctl: VmController } {
  const vm = Vm.create({ memBytes: 64 << 20, deterministic: true });
  vm.loadElf(readFileSync(guestPath("memcheck.elf")));
  const ctl = new VmController(vm);
  if (asIfRunning) {
    ctl.running = true;
    ctl.runOptions().onPaused();
  }
  return { vm, ctl };
}

describe("snapshot writes", () => {
  it("an incremental snapshot whose write fails loses nothing: its pages go back to the dirty log for the next one", async () => {
    await inTmp(async (d) => {
      const { vm, ctl } = memcheckVm(false);
      vm.run(6_000_000);
      const full = await ctl.snapshot(join(d, "s0.wvs"));
      expect(full.pausedMs).toBeGreaterThan(0);
      vm.run(6_000_000);
      const bad = join(d, "no-such-dir", "s1.wvs");
      await expect(ctl.snapshot(bad, { incremental: true })).rejects.toThrow(/no-such-dir/);
      vm.run(1_000_000);
      const inc = await ctl.snapshot(join(d, "s1.wvs"), { incremental: true });
      // Staged: the guest was held only while its pages were copied, not while they were compressed and written.
      expect(inc.pages).toBeGreaterThan(1000);
      const back = await restoreSnapshot(join(d, "s1.wvs"), Vm.abiVersion(), { lazy: false });
      expect(vmDigest(back.vm)).toBe(vmDigest(vm));
    });
  });
});

describe("full snapshots of a running guest (pre-copy)", () => {
  it("memory written while the guest runs, then the increment: the merge restores the guest; a failure loses no page", async () => {
    await inTmp(async (d) => {
      const { vm, ctl } = memcheckVm(true);
      vm.run(6_000_000);
      const a = await ctl.snapshot(join(d, "a.wvs"));
      expect(a.pages).toBeGreaterThan(4000);
      const backA = await restoreSnapshot(join(d, "a.wvs"), Vm.abiVersion(), { lazy: false });
      expect(vmDigest(backA.vm)).toBe(vmDigest(vm));
      // Fails at its merge (the target is a directory), after both passes took pages out of the dirty log.
      vm.run(6_000_000);
      mkdirSync(join(d, "adir"));
      await expect(ctl.snapshot(join(d, "adir"))).rejects.toThrow();
      expect(readdirSync(d).sort()).toEqual(["a.wvs", "adir"]);
      // Fails at its first pass: the message names the file asked for, not the pass's internal one.
      const missing = join(d, "no-such-dir", "b.wvs");
      await expect(ctl.snapshot(missing)).rejects.toThrow(`${missing}: cannot write the snapshot: a directory in its path does not exist (ENOENT)`);
      vm.run(1_000_000);
      await ctl.snapshot(join(d, "c.wvs"), { incremental: true }); // against a.wvs: must hold all since then
      const back = await restoreSnapshot(join(d, "c.wvs"), Vm.abiVersion(), { lazy: false });
      expect(vmDigest(back.vm)).toBe(vmDigest(vm));
    });
  });
});

describe("snapshots of a running guest", () => {
  it("full + two incremental snapshots over the control socket; the chain and its merge both restore and finish", async () => {
    await inTmp(async (d) => {
      const sock = join(d, "ctl.sock"), s0 = join(d, "full.wvs"), s1 = join(d, "inc1.wvs"), s2 = join(d, "inc2.wvs"), m = join(d, "merged.wvs");
      const vm = bg(["run", "--control", sock, "--timeout", "120", guestPath("memcheck.elf")]);
      await vm.line(/gen 2 ok/);
      const r0 = runCli(["snapshot", sock, s0]);
      expect(r0.status, r0.stderr).toBe(0);
      await vm.line(/gen 4 ok/);
      const r1 = runCli(["snapshot", "--incremental", sock, s1]);
      expect(r1.status, r1.stderr).toBe(0);
      const r2 = runCli(["snapshot", "--incremental", sock, s2]);
      expect(r2.status, r2.stderr).toBe(0);
      vm.child.kill("SIGKILL");
      await vm.closed;
      // The second incremental was taken right after the first: it holds far fewer pages than the full one.
      const pages = (s: string) => Number(/(\d+) pages/.exec(s)![1]);
      expect(pages(r0.stdout)).toBeGreaterThan(4000);
      expect(pages(r2.stdout)).toBeLessThan(pages(r0.stdout));
      // inspect: the chain, newest first, each file naming its parent; --memory unpacks every chunk of every file.
      const ins = runCli(["inspect", s2]);
      expect(ins.status, ins.stderr).toBe(0);
      expect(ins.stdout).toContain(`${s2}: a chain of 3 snapshots, intact`);
      expect(ins.stdout).toMatch(/ 1\. .*inc2\.wvs: format 3, .* parent inc1\.wvs\n {2}2\. .*inc1\.wvs: .* parent full\.wvs\n {2}3\. .*full\.wvs: format 3, /);
      const insJ = runCli(["inspect", "--memory", "--json", s2]);
      expect(insJ.status, insJ.stderr).toBe(0);
      const rep = JSON.parse(insJ.stdout) as { layers: { pages: number; digest: string }[]; verifiedMemory: boolean; pages: number };
      expect(rep.layers.map((l) => l.pages)).toEqual([pages(r2.stdout), pages(r1.stdout), pages(r0.stdout)]);
      expect(rep.layers[2].digest).toBe(/digest ([0-9a-f]{64})/.exec(r0.stdout)![1]);
      expect(rep.verifiedMemory).toBe(true);
      expect(rep.pages).toBeGreaterThanOrEqual(pages(r0.stdout));
      const chain = runCli(["restore", "--timeout", "120", s2], { timeoutMs: 130_000 });
      expect(chain.stdout, chain.stderr).toContain("memcheck: PASS");
      expect(chain.status).toBe(0);
      const mg = runCli(["merge", s2, m]);
      expect(mg.status, mg.stderr).toBe(0);
      const merged = runCli(["restore", "--timeout", "120", m], { timeoutMs: 130_000 });
      expect(merged.stdout, merged.stderr).toContain("memcheck: PASS");
      // A chain whose parent was replaced is refused, naming the problem.
      writeFileSync(s1, readFileSync(s0));
      const bad = runCli(["restore", s2]);
      expect(bad.status).toBe(2);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
      expect(bad.stderr).toMatch(/parent|digest/);
      const badIns = runCli(["inspect", s2]);
      expect(badIns.status).toBe(2);
      expect(badIns.stderr).toBe(bad.stderr); // (the same check, the same line)
    });
  }, 200_000);

  it("--compress-level: 0 stores memory as it is (a larger file), 9 packs it smallest; both are intact and restore; a bad level is refused first", async () => {
    await inTmp(async (d) => {
      const sock = join(d, "ctl.sock"), s0 = join(d, "level0.wvs"), s9 = join(d, "level9.wvs"), bad = join(d, "bad.wvs");
      const vm = bg(["run", "--control", sock, "--timeout", "120", guestPath("memcheck.elf")]);
      await vm.line(/gen 2 ok/);
      const r0 = runCli(["snapshot", "--compress-level", "0", sock, s0]);
      expect(r0.status, r0.stderr).toBe(0);
      const r9 = runCli(["snapshot", "--compress-level", "9", sock, s9]);
      expect(r9.status, r9.stderr).toBe(0);
      for (const level of ["12", "1.5", "x", ""]) {
        const r = runCli(["snapshot", "--compress-level", level, sock, bad]);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`wasmvisor: --compress-level: want 0 (none) to 9 (smallest) (got ${level})\n`);
      }
      expect(existsSync(bad)).toBe(false);
      vm.child.kill("SIGKILL");
      await vm.closed;
      const pages = (s: string) => Number(/(\d+) pages/.exec(s)![1]);
      // (memcheck's memory is mostly pseudo-random: DEFLATE gains little on it; the API test below shows the level
      // on data that compresses)
      expect(statSync(s0).size).toBeGreaterThan(pages(r0.stdout) * 4096);
      expect(statSync(s9).size).toBeLessThan(statSync(s0).size);
      for (const s of [s0, s9]) {
        const ins = runCli(["inspect", "--memory", s]);
        expect(ins.status, ins.stderr).toBe(0);
        // (inspect says which chunks are stored as they are: all of them at level 0)
        if (s === s0) expect(ins.stdout).toMatch(/ pages in [\d,]+ chunks \(all stored uncompressed\), digest /);
      }
      const back = runCli(["restore", "--timeout", "120", s0], { timeoutMs: 130_000 });
      expect(back.stdout, back.stderr).toContain("memcheck: PASS");
      // merge packs again at the level asked: a chain of one stored file merges into a small one.
      const m = join(d, "merged.wvs");
      const mg = runCli(["merge", "--compress-level", "6", s0, m]);
      expect(mg.status, mg.stderr).toBe(0);
      expect(statSync(m).size).toBeLessThan(statSync(s0).size);
      expect(runCli(["inspect", "--memory", m]).status).toBe(0);
    });
  }, 200_000);

  it("API: the level of a snapshot is the level of its file (stored pages at 0, packed at 9), and the VM's default applies", async () => {
    await inTmp(async (d) => {
      const vm = createVm({ image: guestPath("memcheck.elf"), timeoutMs: 120_000 });
      const done = vm.start();
      vm.pause();
      await vm.controller.hold(async () => {});
      // 512 pages of text-like data (a repeated sentence): DEFLATE packs it to a small fraction.
      const page = new TextEncoder().encode("The quick brown fox jumps over the lazy dog. ".repeat(92).slice(0, 4096));
      const base = vm.vm.ramBase + 0x400_0000n;
      const write = () => { for (let i = 0; i < 512; i++) vm.vm.writePhys(base + BigInt(i * 4096), page); };
      await vm.snapshot(join(d, "full.wvs"));
      write();
      const inc0 = await vm.snapshot(join(d, "inc0.wvs"), { incremental: true, level: 0 });
      write();
      vm.controller.level = 9; // the VM's default, for calls that give none
      const inc9 = await vm.snapshot(join(d, "inc9.wvs"), { incremental: true });
      expect(inc0.pages).toBe(512);
      expect(inc9.pages).toBe(512);
      expect(inc0.bytes).toBeGreaterThan(512 * 4096);
      expect(inc9.bytes).toBeLessThan(inc0.bytes / 20);
      for (const f of ["inc0.wvs", "inc9.wvs"]) {
        const { vm: back } = await restoreSnapshot(join(d, f), Vm.abiVersion(), { lazy: false });
        for (const i of [0n, 255n, 256n, 511n]) expect(Buffer.from(back.readPhys(base + i * 4096n, 4096))).toEqual(Buffer.from(page));
      }
      vm.stop();
      await done;
    });
  });

  it("a control socket that is not there, or that nobody listens on, is named in one line (exit 2)", async () => {
    await inTmp(async (d) => {
      const stale = join(d, "stale.sock");
      writeFileSync(stale, ""); // (connecting to it is refused, as to a socket whose VM has ended)
      for (const [sock, why] of [[join(d, "none.sock"), "no such socket (is a VM running with --control at this path?) (ENOENT)"],
        [stale, "nobody listens there (a socket left by a VM that has ended, or not a socket) (ECONNREFUSED)"]]) {
        const r = runCli(["snapshot", sock, join(d, "x.wvs")]);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`wasmvisor: cannot reach the VM's control socket ${sock}: ${why}\n`);
      }
    });
  });

  it("policy: --time-slot checkpoints and stops (exit 3); restore continues the guest to the end", async () => {
    await inTmp(async (d) => {
      const ck = join(d, "slot.wvs");
      const a = runCli(["run", "--checkpoint", ck, "--time-slot", "1", guestPath("memcheck.elf")], { timeoutMs: 60_000 });
      expect(a.status, a.stderr).toBe(3);
      expect(a.stderr).toContain("stopped at the end of its time slot");
      expect(a.stdout).not.toContain("memcheck: PASS");
      const b = runCli(["restore", "--timeout", "120", ck], { timeoutMs: 130_000 });
      expect(b.stdout, b.stderr).toContain("memcheck: PASS");
      expect(b.status).toBe(0);
    });
  }, 200_000);

  it("policy: SIGTERM (the default) or a chosen signal checkpoints the paused guest and stops (exit 3); the restore goes on from the next step", async () => {
    await inTmp(async (d) => {
      const gen = (s: string) => [...s.matchAll(/memcheck: gen (\d+) ok/g)].map((m) => Number(m[1]));
      for (const [sig, extra] of [["SIGTERM", []], ["SIGUSR1", ["--checkpoint-on", "usr1,SIGUSR2"]]] as const) {
        const ck = join(d, `${sig}.wvs`);
        const a = bg(["run", "--checkpoint", ck, ...extra, guestPath("memcheck-long.elf")]);
        await a.line(/gen 20 ok/);
        a.child.kill(sig);
        const ended = await a.closed;
        expect(ended, a.err).toEqual({ code: 3, signal: null });
        expect(a.err).toMatch(new RegExp(`${sig} received: checkpoint .* full; guest paused`));
        expect(a.err).toContain(`stopped on ${sig}; resume with: wasmvisor restore ${ck}`);
        // The guest was paused before the checkpoint and never ran again: the restored one goes on from the very
        // next generation (nothing done twice, and a disk image would match the file).
        const last = gen(a.out).at(-1)!;
        const b = runCli(["restore", "--timeout", "1", ck], { timeoutMs: 60_000 });
        expect(b.status, b.stderr).toBe(3);
        expect(gen(b.stdout)[0]).toBe(last + 1);
      }
      // none: SIGTERM ends the process at once, as without a checkpoint file; no file is written.
      const ck = join(d, "none.wvs");
      const c = bg(["run", "--checkpoint", ck, "--checkpoint-on", "none", guestPath("memcheck-long.elf")]);
      await c.line(/gen 5 ok/);
      c.child.kill("SIGTERM");
      expect(await c.closed).toEqual({ code: null, signal: "SIGTERM" });
      expect(existsSync(ck)).toBe(false);
      // Refused in one line before the guest runs.
      for (const [args, msg] of [
        [["--checkpoint-on", "SIGTERM"], "--checkpoint-every, --time-slot and --checkpoint-on need --checkpoint FILE"],
        [["--checkpoint", ck, "--checkpoint-on", "SIGFOO"], 'checkpoint policy: "SIGFOO" is not a signal name'],
        [["--checkpoint", ck, "--checkpoint-on", "TERM,KILL"], "checkpoint policy: SIGKILL cannot be caught"],
      ] as const) {
        const r = runCli(["run", ...args, guestPath("memcheck-long.elf")], { timeoutMs: 30_000 });
        expect(r.status).toBe(2);
        expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(msg)]);
      }
    });
  }, 200_000);

  it("a checkpoint's disks are put back as they were at it: restored after the guest wrote on, the disk matches the checkpoint", async () => {
    await inTmp(async (d) => {
      const disk = join(d, "v.img"), ck = join(d, "ck.wvs");
      writeFileSync(disk, new Uint8Array(4 << 20));
      const vm = createVm({ image: guestPath("vblk.elf"), devices: [{ kind: "blk", path: disk }], timeoutMs: 120_000 });
      let out = "";
      vm.on("output", (b) => { out += new TextDecoder().decode(b); });
      const done = vm.start();
      // Two checkpoints, the guest paused for each so that the test can copy the disk as it is at that moment.
      const at: Buffer[] = [];
      for (const line of [/ok GET_ID/, /ok wrote the pattern to every sector/]) {
        while (!line.test(out)) await new Promise((r) => setTimeout(r, 1));
        vm.pause();
        await vm.checkpoint(ck);
        at.push(readFileSync(disk));
        vm.resume();
      }
      expect((await done).exit).toEqual({ kind: "poweroff", code: 0 });
      expect(out).toContain("vblk: PASS");
      const end = readFileSync(disk);
      expect(end.equals(at[1])).toBe(false); // the guest wrote after the last checkpoint
      expect(at[0].equals(at[1])).toBe(false);
      // Only the newest checkpoint's log is kept.
      expect(readdirSync(d).filter((n) => n.startsWith("ck.wvs.disk0.undo."))).toEqual(["ck.wvs.disk0.undo.2"]);
      const back = await restoreVm(ck, { timeoutMs: 120_000 });
      expect(readFileSync(disk).equals(at[1])).toBe(true);
      let out2 = "";
      back.on("output", (b) => { out2 += new TextDecoder().decode(b); });
      expect((await back.start()).exit).toEqual({ kind: "poweroff", code: 0 });
      expect(out2).toContain("vblk: PASS");
      expect(readFileSync(disk).equals(end)).toBe(true);
      // Restored again from the same checkpoint (the restored VM logged against it): back to it once more.
      const again = await restoreVm(ck, { timeoutMs: 120_000 });
      expect(readFileSync(disk).equals(at[1])).toBe(true);
      // Not to run: close() lets go of the disk (its lock) and of the snapshot files; it cannot start after.
      const other = () => createVm({ image: guestPath("vblk.elf"), devices: [{ kind: "blk", path: disk }], timeoutMs: 120_000 });
      await expect(other().start()).rejects.toThrow(/disk image .* is already open for writing by another VM/);
      await again.close();
      expect(again.state).toBe("stopped");
      await expect(again.start()).rejects.toThrow("this VM was closed before it ran: it cannot start");
      expect((await other().start()).exit).toEqual({ kind: "poweroff", code: 0 });
    });
  }, 200_000);

  it("API: a listed signal checkpoints and stops the run (reason \"signal\"), then lets go of the signal; restoreVm continues", async () => {
    await inTmp(async (d) => {
      const ck = join(d, "sig.wvs");
      expect(() => createVm({ image: guestPath("memcheck.elf"), checkpoint: { file: ck, signals: ["SIGSTOP"] } })).toThrow("checkpoint policy: SIGSTOP cannot be caught");
      const before = process.listenerCount("SIGUSR2");
      const vm = createVm({ image: guestPath("memcheck.elf"), timeoutMs: 120_000, checkpoint: { file: ck, signals: ["SIGUSR2"] } });
      let out = "";
      vm.on("output", (b) => { out += new TextDecoder().decode(b); });
      const events: { why: string; signal?: string; error?: string }[] = [];
      vm.on("checkpoint", (e) => events.push({ why: e.why, signal: e.signal, error: e.error?.message }));
      const done = vm.start();
      while (!/gen 3 ok/.test(out)) await new Promise((res) => setTimeout(res, 10));
      expect(process.listenerCount("SIGUSR2")).toBe(before + 1);
      process.kill(process.pid, "SIGUSR2");
      const r = await done;
      expect(r.reason).toBe("signal");
      expect(r.exit).toBeNull();
      expect(events).toEqual([{ why: "signal", signal: "SIGUSR2", error: undefined }]);
      expect(process.listenerCount("SIGUSR2")).toBe(before);
      expect(out).not.toContain("memcheck: PASS");
      const back = await restoreVm(ck, { timeoutMs: 120_000 });
      let out2 = "";
      back.on("output", (b) => { out2 += new TextDecoder().decode(b); });
      expect((await back.start()).exit).toEqual({ kind: "poweroff", code: 0 });
      expect(out2).toContain("memcheck: PASS");
    });
  }, 200_000);

  it("policy: periodic checkpoints after the first are incremental, folded into the checkpoint file while the guest runs", async () => {
    await inTmp(async (d) => {
      const ck = join(d, "ck.wvs");
      const r = runCli(["run", "--checkpoint", ck, "--checkpoint-every", "0.3", "--timeout", "4", guestPath("memcheck-long.elf")], { timeoutMs: 30_000 });
      expect(r.status, r.stderr).toBe(3); // stopped by --timeout
      const lines = r.stderr.split("\n").filter((l) => l.includes("periodic: checkpoint"));
      expect(lines.length, r.stderr).toBeGreaterThanOrEqual(3);
      expect(lines[0]).toMatch(/; full; guest paused [\d.]+ ms\)$/);
      for (const l of lines.slice(1)) expect(l).toMatch(/; incremental, folded in; guest paused [\d.]+ ms\)$/);
      expect(existsSync(`${ck}.inc`)).toBe(false);
      // The file is one full snapshot of the newest checkpoint: it restores on its own and the guest carries on.
      const back = runCli(["restore", "--max-insns", "20000000", ck]);
      expect(back.status, back.stderr).toBe(3);
      expect(back.stdout).toMatch(/memcheck: gen \d+ ok/);
    });
  });

  it("an incremental snapshot names its parent relative to its own directory, whatever the caller's paths are relative to", async () => {
    await inTmp(async (d) => {
      const vm = Vm.create({ memBytes: 16 << 20 });
      vm.loadElf(readFileSync(guestPath("memcheck.elf")));
      const ctl = new VmController(vm);
      const rel = (f: string) => relative(process.cwd(), join(d, "sub", f)); // e.g. ../../tmp/wv-snap-x/sub/a.wvs
      mkdirSync(join(d, "sub"));
      vm.run(2_000_000);
      await ctl.snapshot(rel("a.wvs"));
      vm.run(2_000_000);
      await ctl.snapshot(rel("b.wvs"), { incremental: true });
      const chain = await readChain(join(d, "sub", "b.wvs"));
      expect(chain.layers.map((l) => l.path)).toEqual([join(d, "sub", "b.wvs"), join(d, "sub", "a.wvs")]);
      await chain.close();
    });
  });

  it("policy: periodic checkpoints; SIGKILL at random moments always leaves a loadable checkpoint", async () => {
    await inTmp(async (d) => {
      const ck = join(d, "periodic.wvs");
      for (let i = 0; i < 4; i++) {
        const vm = bg(["run", "--checkpoint", ck, "--checkpoint-every", "0.15", "--timeout", "60", guestPath("memcheck.elf")]);
        await vm.line(/gen 1 ok/);
        // After the first checkpoint exists, kill while later ones overwrite it (each takes ~100 ms).
        while (!/periodic: checkpoint/.test(vm.err)) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, Math.random() * 600));
        vm.child.kill("SIGKILL");
        await vm.closed;
        expect(existsSync(ck), vm.err).toBe(true);
        const r = runCli(["restore", "--max-insns", "1000000", ck]);
        expect(r.status, r.stderr).toBe(3); // loads and runs (stopped by the limit)
      }
    });
  }, 200_000);

  it("API: the checkpoint policy (periodic, then the time slot) and vm.checkpoint; restoreVm continues the guest to the end", async () => {
    await inTmp(async (d) => {
      const ck = join(d, "policy.wvs");
      expect(() => createVm({ image: guestPath("memcheck.elf"), checkpoint: { file: ck, everyMs: 0 } }))
        .toThrow("checkpoint policy: everyMs is not a positive number of milliseconds (0)");
      expect(() => createVm({ image: guestPath("memcheck.elf"), compressLevel: 12 })).toThrow("compression level 12 is not one of 0 (none) to 9 (smallest)");
      const vm = createVm({ image: guestPath("memcheck.elf"), timeoutMs: 120_000, checkpoint: { file: ck, everyMs: 250, timeSlotMs: 2500 } }); // (memcheck runs ~5 s)
      let out = "";
      vm.on("output", (b) => { out += new TextDecoder().decode(b); });
      const events: { why: string; incremental?: boolean; error?: string }[] = [];
      vm.on("checkpoint", (e) => events.push({ why: e.why, incremental: e.result?.incremental, error: e.error?.message }));
      const r = await vm.start();
      expect(r.reason).toBe("time-slot");
      expect(r.exit).toBeNull();
      expect(out).not.toContain("memcheck: PASS");
      expect(events.filter((e) => e.error)).toEqual([]);
      expect(events.at(-1)!.why).toBe("time-slot");
      const periodic = events.filter((e) => e.why === "periodic");
      expect(periodic.length).toBeGreaterThanOrEqual(2);
      expect(periodic[0].incremental).toBe(false); // the first is a full snapshot; the rest are folded in
      for (const e of events.slice(1)) expect(e.incremental).toBe(true);
      expect(existsSync(`${ck}.inc`)).toBe(false);
      // The file alone continues the guest; a manual checkpoint of the restored VM into it is incremental.
      const back = await restoreVm(ck, { timeoutMs: 120_000 });
      let out2 = "";
      back.on("output", (b) => { out2 += new TextDecoder().decode(b); });
      const done = back.start();
      while (!/gen \d+ ok/.test(out2)) await new Promise((res) => setTimeout(res, 20));
      const manual = await back.checkpoint(ck);
      expect(manual.incremental).toBe(true);
      expect((await done).exit).toEqual({ kind: "poweroff", code: 0 });
      expect(out2).toContain("memcheck: PASS");
    });
  }, 200_000);

  it("API: suspend/resume, snapshot of a running VM, restoreVm continues it", async () => {
    await inTmp(async (d) => {
      const snap = join(d, "api.wvs");
      const vm = createVm({ image: guestPath("memcheck.elf"), timeoutMs: 120_000 });
      let out = "";
      vm.on("output", (b) => { out += new TextDecoder().decode(b); });
      const progress: string[] = [];
      vm.on("progress", (p) => progress.push(p.phase));
      const done = vm.start();
      while (!out.includes("gen 2 ok")) await new Promise((r) => setTimeout(r, 20));
      vm.pause();
      await new Promise((r) => setTimeout(r, 50));
      const held = vm.vm.instret;
      await new Promise((r) => setTimeout(r, 100));
      expect(vm.vm.instret).toBe(held);
      // Console input typed while paused waits in the VM's queue (the UART gets it as the guest runs): a snapshot
      // carries it, and a restored VM queues it again.
      const typed = "typed while paused: ".repeat(15);
      vm.input.write(typed);
      await new Promise((r) => setTimeout(r, 20));
      await vm.snapshot(join(d, "typed.wvs"));
      expect(new TextDecoder().decode(vm.vm.consoleInput.queued())).toBe(typed);
      const t = await restoreVm(join(d, "typed.wvs"));
      expect(new TextDecoder().decode(t.vm.consoleInput.queued())).toBe(typed);
      await t.vm.lazy?.abandon();
      vm.resume();
      await expect(vm.snapshot(join(d, "bad-level.wvs"), { level: 10 })).rejects.toThrow("compression level 10 is not one of 0 (none) to 9 (smallest)");
      expect(existsSync(join(d, "bad-level.wvs"))).toBe(false);
      const w = await vm.snapshot(snap);
      expect(w.pages).toBeGreaterThan(4000);
      vm.stop();
      await done;
      const r = await restoreVm(snap, { timeoutMs: 120_000 });
      let out2 = "";
      r.on("output", (b) => { out2 += new TextDecoder().decode(b); });
      const res = await r.start();
      expect(out2).toContain("memcheck: PASS");
      expect(res.exit).toEqual({ kind: "poweroff", code: 0 });
    });
  }, 200_000);
});

const imgs = cachedImages();
const withDisk = !!imgs?.initramfs_virtio && spawnSync("sh", ["-c", "PATH=$PATH:/usr/sbin:/sbin command -v debugfs"]).status === 0;
describe.skipIf(!withDisk)("a Linux VM using virtio-blk, snapshotted while running and restored in a new process", () => {
  it("the restored kernel keeps using its mounted ext4 disk: data before and after the snapshot lands in the image", async () => {
    await inTmp(async (d) => {
      const disk = join(d, "fs.img"), sock = join(d, "ctl.sock"), snap = join(d, "lx.wvs");
      expect(spawnSync("bash", [join(ROOT, "guests", "mkext4.sh"), disk, "32"]).status).toBe(0);
      const src = spawn(process.execPath, [CLI, "run", "--control", sock, "--mem", "256M", "--disk", disk, "--timeout", "150",
        "--kernel", imgs!.kernel, "--initrd", imgs!.initramfs_virtio, "--append", "console=ttyS0 quiet cryptomgr.notests=1"], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      src.stdout.on("data", (b: Buffer) => { out += b.toString("latin1"); });
      const until = async (re: RegExp) => { const t0 = Date.now(); while (!re.test(out)) { if (Date.now() - t0 > 120_000) throw new Error(out.slice(-1500)); await new Promise((r) => setTimeout(r, 20)); } };
      await until(/wv: ready/);
      src.stdin.write("mount -t ext4 /dev/vda /mnt && echo before-snapshot > /mnt/a && sync && echo step-one-$((1+1))\n");
      await until(/step-one-2/);
      const r = runCli(["snapshot", sock, snap]);
      expect(r.status, r.stderr).toBe(0);
      src.kill("SIGKILL");
      await new Promise((res) => src.on("close", res));
      const dst = spawn(process.execPath, [CLI, "restore", "--timeout", "120", snap], { stdio: ["pipe", "pipe", "pipe"] });
      let out2 = "";
      dst.stdout.on("data", (b: Buffer) => { out2 += b.toString("latin1"); });
      const closed = new Promise<number | null>((res) => dst.on("close", res));
      dst.stdin.write("cat /mnt/a; echo after-restore >> /mnt/a; sync; umount /mnt; echo step-two-$((2+2)); poweroff -f\n");
      expect(await closed, out2.slice(-1500)).toBe(0);
      expect(out2).toContain("before-snapshot");
      expect(out2).toContain("step-two-4");
      const cat = spawnSync("sh", ["-c", `PATH=$PATH:/usr/sbin:/sbin debugfs -R 'cat /a' '${disk}'`], { encoding: "utf8" });
      expect(cat.stdout).toBe("before-snapshot\nafter-restore\n");
    });
  }, 300_000);
});

describe("bad snapshots are refused with one line, nothing half-restored", () => {
  it("corrupt, truncated, wrong version, not a snapshot, missing disk", async () => {
    await inTmp(async (d) => {
      const s = join(d, "s.wvs");
      expect(runCli(["run", "--deterministic", "--max-insns", "2000000", "--snapshot-on-exit", s, guestPath("memcheck.elf")]).status).toBe(3);
      const good = readFileSync(s);
      const check = (name: string, data: Uint8Array, re: RegExp) => {
        const p = join(d, name);
        writeFileSync(p, data);
        const r = runCli(["restore", p]);
        expect(r.status, `${name}: ${r.stderr}`).toBe(2);
        expect(r.stderr.trim().split("\n"), name).toHaveLength(1);
        expect(r.stderr, name).toMatch(re);
      };
      const flip = Uint8Array.from(good); flip[Math.floor(good.length / 2)] ^= 0x10;
      check("flip.wvs", flip, /checksum|integrity|digest/i);
      check("trunc.wvs", good.subarray(0, good.length - 100), /truncated/);
      const ver = Uint8Array.from(good); ver[8] = 99;
      check("ver.wvs", ver, /format version 99/);
      check("text.wvs", new TextEncoder().encode("hello"), /not a wasmvisor snapshot/);
      // A snapshot with a disk whose image changed size.
      const disk = join(d, "disk.img");
      writeFileSync(disk, new Uint8Array(1 << 20));
      const s2 = join(d, "disk.wvs");
      expect(runCli(["run", "--deterministic", "--max-insns", "100000", "--disk", disk, "--snapshot-on-exit", s2, guestPath("vblk.elf")]).status).toBe(3);
      truncateSync(disk, 1 << 19);
      const r = runCli(["restore", s2]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`disk image ${disk} is ${1 << 19} bytes, the snapshot was taken with ${1 << 20}`);
      expect(statSync(s).size).toBe(good.length);
    });
  }, 120_000);
});
