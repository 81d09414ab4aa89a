// The bundled teaching kernel (npm start's guest): an S-mode kernel using SBI, timer and UART interrupts through
// the PLIC, and a U-mode process. Driven through its console; its output must match QEMU virt with QEMU's own
// OpenSBI from the kernel's banner on.
import { describe, it, expect } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { CLI, guestPath } from "./helpers";

const INPUT = "help\ninfo\nuser\nbogus\npoweroff\n";
const fromBanner = (s: string) => s.slice(s.indexOf("wasmvisor teaching kernel")).replace(/\r/g, "");

/** Runs cmd, types INPUT once the kernel's first prompt is up (QEMU's UART drops input sent earlier), returns stdout. */
function session(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "", typed = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", (e) => reject(new Error(`cannot run ${cmd}: ${e.message} (CI installs qemu-system-misc)`)));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!typed && out.includes("wv> ")) { typed = true; child.stdin.write(INPUT); }
    });
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe("wvkernel (bundled interactive kernel)", () => {
  it("boots directly, runs its shell commands from the console, powers off with 0", () => {
    const r = spawnSync(process.execPath, [CLI, "run", "--timeout", "60", "--kernel", guestPath("wvkernel.elf")],
      { input: INPUT, encoding: "utf8", timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("wv> info\nhart id:      0\nSBI:          TIME yes, SRST yes\nmemory:       128 MiB at 0x80000000".replace(/\n/g, "\r\n"));
    expect(r.stdout).toMatch(/process exited via ecall: 1229 primes below 10000/);
    expect(r.stdout).toMatch(/unknown command/);
    expect(r.stdout).toContain("powering off");
  });

  it("prints exactly what it prints under QEMU with QEMU's default OpenSBI", async () => {
    const w = await session(process.execPath, [CLI, "run", "--timeout", "60", "--kernel", guestPath("wvkernel.elf")]);
    const q = await session("qemu-system-riscv64", ["-M", "virt", "-cpu", "rv64,h=false", "-nographic", "-kernel", guestPath("wvkernel.elf")]);
    expect(w.code).toBe(0);
    expect(q.code).toBe(0);
    expect(fromBanner(w.out)).toContain("powering off");
    expect(fromBanner(w.out)).toBe(fromBanner(q.out));
  }, 120_000);
});
