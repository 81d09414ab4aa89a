// Suspend/resume (host/controller.ts pause/resume): the guest stops at an instruction boundary with its devices
// quiesced — nothing reaches its memory until it is resumed — through the API, and through the control socket
// from the command line (`wasmvisor pause | resume | info | quit`).
import { describe, it, expect } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createVm } from "../host/api.js";
import { createHash } from "node:crypto";
import { coreSection } from "../host/snapshot/vmstate.js";
import type { Vm } from "../host/vm.js";
import { CLI, guestPath, runCli } from "./helpers";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The VM's state but for the clock: the core's saved state (harts, devices' transport state) with its mtime
 * (bytes 56..63, read from the host's clock when saved: a paused guest's time goes on) blanked, and every page.
 */
function picture(vm: Vm): string {
  const h = createHash("sha256");
  const core = coreSection(vm).data;
  core.fill(0, 56, 64);
  h.update(core);
  for (const g of vm.allocatedPages()) h.update(new Uint32Array([g])).update(vm.pageView(g)!);
  return h.digest("hex");
}

describe("suspend/resume", () => {
  it("API: a paused guest's devices are quiesced: console input sent meanwhile reaches its memory only once resumed", async () => {
    for (const io of ["thread", "sync"] as const) {
      // vcons listens for 2 s of guest time after its line. With --io sync the time is the instruction count
      // (deterministic), which a pause does not advance. With the I/O thread it is the host's clock, which does: on
      // a machine loaded enough that the pause and what follows outlast the window, the guest stops listening
      // first (it says "0 bytes received") and the run is repeated, up to three times.
      for (let attempt = 1; ; attempt++) {
        const vm = createVm({ image: guestPath("vcons.elf"), devices: [{ kind: "console" }], io, deterministic: io === "sync", timeoutMs: 60_000 });
        let out = "";
        vm.on("output", (b) => { out += new TextDecoder().decode(b); });
        const done = vm.start();
        // vcons has posted its receive buffers and listens.
        while (!/ok line written on transmitq/.test(out)) await sleep(1);
        await vm.pause();
        expect(vm.state).toBe("paused");
        const at = picture(vm.vm);
        vm.hvcInput(new TextEncoder().encode("typed while paused"));
        await sleep(150);
        // Neither the guest nor the device moved: registers, transport state and every page are as they were.
        expect(picture(vm.vm), `${io}: ${out.slice(-300)}`).toBe(at);
        expect(out).not.toContain("typed while paused");
        vm.resume();
        expect((await done).exit, `${io}: ${out.slice(-300)}`).toEqual({ kind: "poweroff", code: 0 });
        if (io === "thread" && attempt < 3 && out.includes("vcons: 0 bytes received")) continue;
        expect(out, io).toContain('vcons: received 18 bytes: "typed while paused"');
        expect(out).toContain("vcons: PASS");
        break;
      }
    }
  }, 120_000);

  it("CLI: pause answers once the guest is suspended, info reports it, resume continues it, quit ends the run (exit 0)", async () => {
    const d = mkdtempSync(join(tmpdir(), "wv-suspend-"));
    try {
      const sock = join(d, "ctl.sock");
      const child = spawn(process.execPath, [CLI, "run", "--control", sock, "--timeout", "120", guestPath("memcheck-long.elf")], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "", err = "";
      child.stdout.on("data", (b: Buffer) => { out += b.toString(); });
      child.stderr.on("data", (b: Buffer) => { err += b.toString(); });
      const closed = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      while (!/gen 2 ok/.test(out)) { await sleep(10); if (child.exitCode !== null) throw new Error(err); }
      const p = runCli(["pause", sock]);
      expect(p.status, p.stderr).toBe(0);
      const m = /^paused at instruction (\d+), pc 0x[0-9a-f]+\n$/.exec(p.stdout);
      expect(m, p.stdout).not.toBeNull();
      await sleep(100); // (output the guest wrote before it stopped may still be in the pipe)
      const shown = out;
      await sleep(300);
      const i = runCli(["info", sock]);
      expect(i.stdout).toBe(p.stdout); // not one instruction since
      expect(out).toBe(shown);
      const r = runCli(["resume", sock]);
      expect(r.stdout).toBe(`running at instruction ${m![1]}, pc ${/pc (0x[0-9a-f]+)/.exec(p.stdout)![1]}\n`);
      const gens = (s: string) => (s.match(/gen \d+ ok/g) ?? []).length;
      const before = gens(out);
      while (gens(out) < before + 2) { await sleep(10); if (child.exitCode !== null) throw new Error(err); }
      const q = runCli(["quit", sock]);
      expect(q.stdout).toBe("the VM is ending\n");
      expect(await closed, err).toBe(0);
      // Bad input: one line, exit 2.
      for (const [args, msg] of [
        [["pause"], "pause: expected CONTROL-SOCKET"],
        [["resume", sock, "x"], "resume: expected CONTROL-SOCKET"],
        [["info", sock], "no such socket"],
      ] as const) {
        const b = runCli([...args]);
        expect(b.status).toBe(2);
        expect(b.stderr.trim().split("\n")).toEqual([expect.stringContaining(msg)]);
      }
    } finally { rmSync(d, { recursive: true, force: true }); }
  }, 120_000);
});
