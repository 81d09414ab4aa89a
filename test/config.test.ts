// VM configuration files: a valid file boots its guest; every kind of mistake is one line naming the field.
import { describe, it, expect } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli, tempDir, guestPath } from "./helpers";

function withConfig(cfg: unknown, raw?: string) {
  const t = tempDir();
  const p = join(t.dir, "vm.json");
  writeFileSync(p, raw ?? JSON.stringify(cfg));
  const r = runCli(["run", "--config", p]);
  t.cleanup();
  return r;
}

describe("wasmvisor run --config", () => {
  it("boots the image a valid configuration names", () => {
    const r = withConfig({ $schema: "../schema/vm-config.schema.json", memory: "64M", image: guestPath("hello.elf"), timeout: 20 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Hello from a wasmvisor guest!");
  });

  it("passes the guest's exit code and honours maxInsns from the file", () => {
    const r = withConfig({ memory: 67108864, image: guestPath("test-loop.elf"), maxInsns: 5000 });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain("stopped after 5000 instructions");
  });

  const bad: [string, unknown, RegExp][] = [
    ["unknown field", { image: "x", colour: 1 }, /\(top level\): unknown field 'colour'$/m],
    ["bad memory size", { image: "x", memory: "64Q" }, /\/memory: must be a number of bytes/],
    ["memory not a multiple of 4 KiB", { image: "x", memory: 5000 }, /\/memory: must be a number of bytes/],
    ["negative timeout", { image: "x", timeout: -1 }, /\/timeout: must be > 0/],
    ["wrong type", { image: "x", htif: "yes" }, /\/htif: must be boolean/],
    ["neither image nor kernel", { memory: "64M" }, /needs exactly one of 'image'/],
    ["both image and kernel", { image: "x", kernel: "y" }, /needs exactly one of 'image'/],
    ["initrd with a bare-metal image", { image: "x", initrd: "y" }, /needs exactly one of 'image'/],
  ];
  for (const [name, cfg, re] of bad) {
    it(`refuses ${name} with one line naming the field`, () => {
      const r = withConfig(cfg);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  }

  it("refuses a file that is not JSON", () => {
    const r = withConfig(undefined, '{"memory": 64');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
  });
});
