// Every self-checking ISA guest (guests/bin/isa-*.elf) runs to a clean poweroff and reports PASS, through the
// embedding API (Vm.create, vm.loadElf, runToExit; see runGuestInWorker in helpers.ts).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { GUEST_BIN, describeGuestRun, listGuests, runGuestInWorker } from "./helpers.js";

const guests = listGuests(/^isa-.*\.elf$/);

describe("ISA guests", () => {
  it("there are ISA guests to run", () => {
    expect(guests.length, `no isa-*.elf in ${GUEST_BIN}: run make -C guests`).toBeGreaterThan(0);
  });

  for (const name of guests) {
    it(name, async () => {
      const r = await runGuestInWorker(join(GUEST_BIN, name), { timeoutMs: 60_000, memBytes: 64 * 1024 * 1024 });
      const why = describeGuestRun(name, r);
      expect(r.hung, why).toBe(false);
      expect(r.ok, why).toBe(true);
      expect(r.reason, why).toBe("exit");
      expect(r.exit, why).toEqual({ kind: "poweroff", code: 0 });
      expect(r.console, why).toContain(`PASS ${name.replace(/\.elf$/, "")}`);
      expect(r.console, why).not.toMatch(/FAIL/);
    });
  }
});
