// The C workloads (guests/workloads/*.c) run to PASS and power off with 0, through the embedding API.
import { describe, expect, it } from "vitest";
import { describeGuestRun, guestPath, runGuestInWorker } from "./helpers.js";

describe("workloads", () => {
  for (const name of ["wl-int.elf", "wl-fp.elf"]) {
    it(`${name} runs to PASS`, async () => {
      const r = await runGuestInWorker(guestPath(name), { timeoutMs: 90_000, memBytes: 128 * 1024 * 1024 });
      const why = describeGuestRun(name, r);
      expect(r.hung, why).toBe(false);
      expect(r.ok, why).toBe(true);
      expect(r.reason, why).toBe("exit");
      expect(r.exit, why).toEqual({ kind: "poweroff", code: 0 });
      expect(r.console, why).toContain(`${name.replace(/\.elf$/, "")}: PASS`);
      expect(r.console, why).not.toMatch(/FAIL/);
      expect(r.instret!, why).toBeGreaterThan(1_000_000n);
    });
  }
});
