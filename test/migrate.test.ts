// Live migration between two wasmvisor processes on loopback, through the CLI: a guest that keeps dirtying memory
// and checks it, the Debian Linux shell across a migration, and every way it can fail leaving the source running.
import { describe, it, expect } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { runCli, guestPath, CLI } from "./helpers";
import { fakeTarget } from "./fake-target";
import { cachedImages } from "../host/files.js";

function bg(args: string[], stdin: "ignore" | "pipe" = "ignore") {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: [stdin, "pipe", "pipe"] });
  let out = "", err = "";
  child.stdout.on("data", (d: Buffer) => { out += d.toString("latin1"); });
  child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
  const closed = new Promise<{ code: number | null; signal: string | null }>((r) => child.on("close", (code, signal) => r({ code, signal })));
  const until = async (f: () => boolean, ms = 60_000) => {
    const t0 = Date.now();
    while (!f()) { if (Date.now() - t0 > ms) throw new Error(`timed out; out: ${out.slice(-500)} err: ${err.slice(-500)}`); await new Promise((r) => setTimeout(r, 20)); }
  };
  return { child, closed, get out() { return out; }, get err() { return err; }, until };
}

const port = () => 20000 + Math.floor(Math.random() * 20000);

describe("live migration", () => {
  it("a guest dirtying 16 MiB migrates mid-run; it finds its memory intact on the target; the source stops after", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-mig-"));
    try {
      const psk = join(d, "psk"), sock = join(d, "ctl.sock"), p = port();
      writeFileSync(psk, randomBytes(32));
      const tgt = bg(["incoming", "--listen", String(p), "--psk", psk, "--timeout", "120"]);
      await tgt.until(() => tgt.err.includes("waiting for a migration"));
      const src = bg(["run", "--control", sock, "--timeout", "120", guestPath("memcheck.elf")]);
      await src.until(() => src.out.includes("gen 3 ok"));
      for (const [flag, value, why] of [["--downtime", "0", "is not a positive number"], ["--downtime", "61000", "is over a minute"],
        ["--max-rounds", "2.5", "is not a whole number of rounds up to 1000"]]) {
        const bad = runCli(["migrate", flag, value, "--psk", psk, sock, `127.0.0.1:${p}`]);
        expect(bad.status).toBe(2);
        expect(bad.stderr).toBe(`wasmvisor: ${flag}: '${value}' ${why}\n`);
      }
      const m = runCli(["migrate", "--max-rounds", "4", "--downtime", "40", "--psk", psk, sock, `127.0.0.1:${p}`], { timeoutMs: 120_000 });
      expect(m.status, m.stderr).toBe(0);
      const rep = /migrated: (\d+) rounds, (\d+) pages, (\d+) bytes in (\d+) ms, downtime ([\d.]+) ms/.exec(m.stdout);
      expect(rep, m.stdout).not.toBeNull();
      expect(Number(rep![1])).toBeLessThanOrEqual(4);
      const s = await src.closed;
      expect(s.code, src.err).toBe(0);
      expect(src.err).toContain("the VM migrated");
      expect(src.out).not.toContain("memcheck: PASS");
      const t = await tgt.closed;
      expect(tgt.out, tgt.err).toContain("memcheck: PASS");
      expect(tgt.out).not.toContain("FAIL");
      expect(t.code).toBe(0);
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 180_000);

  it("failures leave the source running unharmed: wrong key, no target, connection cut mid-transfer, target gone after the final state", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-mig-"));
    try {
      const psk = join(d, "psk"), other = join(d, "other"), sock = join(d, "ctl.sock");
      writeFileSync(psk, randomBytes(32));
      writeFileSync(other, randomBytes(32));
      // memcheck-long runs for 40 s of guest time: long enough for every failure below, then a real migration.
      const src = bg(["run", "--control", sock, "--mem", "512M", "--timeout", "150", guestPath("memcheck-long.elf")]);
      await src.until(() => src.out.includes("gen 2 ok"));
      const alive = () => {
        const r = runCli(["snapshot", sock, join(d, "probe.wvs")]); // answers only while the VM runs here
        expect(r.status, `source gone: ${r.stderr}\n${src.err}`).toBe(0);
      };
      // 1. A target that holds the key but cuts the connection mid-transfer, and 2. one that takes everything,
      // the final state included, and then vanishes without confirming: the source must resume the guest.
      for (const cutAfter of ["pages", "final"] as const) {
        const { port: fp, server, done: fake } = await fakeTarget(psk, (seen) =>
          (seen.type === 3 && cutAfter === "pages" && seen.batches === 3) || seen.type === 4); // a page batch, or FINAL
        // (Not spawnSync: the fake target runs on this process's event loop.)
        const mm = bg(["migrate", "--psk", psk, sock, `127.0.0.1:${fp}`]);
        const r = await mm.closed;
        expect(r.code, `${cutAfter}: ${mm.out} ${mm.err}`).not.toBe(0);
        expect(mm.err.trim().split("\n"), cutAfter).toHaveLength(1);
        expect(mm.err).toContain("the VM keeps running here");
        await Promise.race([fake, new Promise((res) => setTimeout(res, 5000))]);
        server.close();
        alive();
      }
      // 3. The target holds another key: both ends refuse, and the target goes on waiting. So it does for a
      // connection that is not a wasmvisor endpoint, and beside one that connects and says nothing.
      const p1 = port();
      const t1 = bg(["incoming", "--listen", String(p1), "--psk", other, "--timeout", "150"]);
      await t1.until(() => t1.err.includes("waiting"));
      const m1 = runCli(["migrate", "--psk", psk, sock, `127.0.0.1:${p1}`]);
      expect(m1.status).not.toBe(0);
      expect(m1.stderr).toMatch(/authentication/);
      await t1.until(() => /refused a connection from 127\.0\.0\.1:\d+: migration peer failed authentication/.test(t1.err));
      const stray = net.connect(p1, "127.0.0.1", () => stray.end(`GET / HTTP/1.0\r\n${"x".repeat(64)}\r\n\r\n`));
      stray.on("error", () => {});
      await t1.until(() => /refused a connection from [^\n]*: migration peer is not a wasmvisor migration endpoint/.test(t1.err));
      const silent = net.connect(p1, "127.0.0.1");
      silent.on("error", () => {});
      alive();
      // 4. Nobody listens.
      const m2 = runCli(["migrate", "--psk", psk, sock, `127.0.0.1:${port()}`]);
      expect(m2.status).not.toBe(0);
      expect(m2.stderr.trim().split("\n")).toHaveLength(1);
      alive();
      // Through all of it the guest kept running here; now it migrates for real, to the target that refused the
      // others (the silent connection still open), and finds its memory intact.
      const t5 = t1;
      const m5 = runCli(["migrate", "--psk", other, sock, `127.0.0.1:${p1}`], { timeoutMs: 60_000 });
      silent.destroy();
      expect(m5.status, m5.stderr).toBe(0);
      expect((await src.closed).code).toBe(0);
      const t = await t5.closed;
      expect(t5.out, t5.err).toContain("memcheck: PASS");
      expect(t5.out).not.toContain("FAIL");
      expect(t.code).toBe(0);
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 240_000);

  it("incoming --wait gives up when no migration comes (exit 2, one line after the waiting one)", () => {
    const d = mkdtempSync(join(tmpdir(), "wv-mig-"));
    try {
      writeFileSync(join(d, "psk"), randomBytes(32));
      const r = runCli(["incoming", "--listen", String(port()), "--psk", join(d, "psk"), "--wait", "0.5"]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^wasmvisor: waiting for a migration on 127\.0\.0\.1:\d+\nwasmvisor: incoming: no migration came within 0\.5 s \(--wait\)\n$/);
      const bad = runCli(["incoming", "--listen", String(port()), "--psk", join(d, "psk"), "--wait", "soon"]);
      expect(bad.stderr).toBe("wasmvisor: --wait: 'soon' is not a positive number\n");
    } finally { rmSync(d, { recursive: true, force: true }); }
  });

  const img = cachedImages();
  it.skipIf(!img)("the Debian Linux shell keeps running across a migration", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-mig-"));
    try {
      const psk = join(d, "psk"), sock = join(d, "ctl.sock"), p = port();
      writeFileSync(psk, randomBytes(32));
      const tgt = bg(["incoming", "--listen", String(p), "--psk", psk, "--timeout", "120"], "pipe");
      await tgt.until(() => tgt.err.includes("waiting"));
      const src = bg(["run", "--control", sock, "--mem", "256M", "--timeout", "120", "--kernel", img!.kernel, "--initrd", img!.initramfs,
        "--append", "console=ttyS0 quiet cryptomgr.notests=1"], "pipe");
      await src.until(() => src.out.includes("wasmvisor-init: up"), 120_000);
      src.child.stdin!.write("echo before-$((6*7))\n");
      await src.until(() => src.out.includes("before-42"));
      const m = runCli(["migrate", "--psk", psk, sock, `127.0.0.1:${p}`], { timeoutMs: 60_000 });
      expect(m.status, m.stderr).toBe(0);
      expect((await src.closed).code).toBe(0);
      tgt.child.stdin!.write("echo after-$((6*7)) on $(uname -m)\n");
      await tgt.until(() => tgt.out.includes("after-42 on riscv64"));
      tgt.child.stdin!.write("poweroff -f\n");
      const t = await tgt.closed;
      expect(t.code, tgt.err).toBe(0);
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 240_000);
});
