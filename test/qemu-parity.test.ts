// Differential test: every guest written here must print exactly the same console output and exit with the same
// status under wasmvisor and under QEMU's virt machine (the reference), so the guests are proven against real
// hardware semantics and wasmvisor is proven against the guests.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { guestPath, listGuests, runCli } from "./helpers";

const QEMU = process.env.QEMU ?? "qemu-system-riscv64";

function runQemu(elf: string, exactCounters: boolean): { status: number | null; stdout: string } {
  // -cpu rv64,h=false: wasmvisor implements no H extension, and the guests print misa.
  // -icount shift=0 makes QEMU's minstret exact (without it QEMU reports host ticks), for guests that print it.
  const extra = exactCounters ? ["-icount", "shift=0"] : [];
  const r = spawnSync(QEMU, ["-M", "virt", "-cpu", "rv64,h=false", ...extra, "-bios", "none", "-nographic", "-kernel", elf],
    { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`cannot run ${QEMU}: ${r.error.message} (CI installs qemu-system-misc)`);
  return { status: r.status, stdout: r.stdout };
}

// Guests that exit through the sifive test device and print over the UART (tohost guests are HTIF-only).
const guests = ["hello.elf", "wl-int.elf", "wl-int-sv39.elf", ...listGuests(/^(isa|pg)-.*\.elf$/)];

describe("QEMU parity", () => {
  it("finds the ISA guests", () => expect(listGuests(/^isa-.*\.elf$/).length).toBeGreaterThan(10));
  for (const g of guests) {
    it(g, () => {
      const elf = guestPath(g);
      const q = runQemu(elf, g.startsWith("wl-"));
      const w = runCli(["run", "--timeout", "60", elf], { timeoutMs: 90_000 });
      expect(w.stdout).toBe(q.stdout);
      expect(w.status).toBe(q.status);
    });
  }
});
