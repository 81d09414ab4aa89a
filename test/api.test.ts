// The embedding API, used as a program would: the example in examples/, and createVm's lifecycle and events.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ROOT, guestPath } from "./helpers";
import { createVm, type VmState } from "../host/index.js";

describe("embedding API", () => {
  it("examples/embed.mjs boots the bundled guest and prints its console and counters", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "examples", "embed.mjs")], { encoding: "utf8", timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("Hello from a wasmvisor guest!");
    expect(r.stderr).toMatch(/exit: \{"kind":"poweroff","code":0\}, \d+ instructions/);
  });

  it("createVm: events, console stream, counters", async () => {
    const vm = createVm({ image: guestPath("hello.elf"), memory: 16 << 20 });
    const states: VmState[] = [];
    let text = "";
    vm.on("state", (s) => states.push(s));
    vm.console.on("data", (d: Buffer) => { text += d.toString(); });
    const r = await vm.start();
    expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
    expect(states).toEqual(["running", "stopped"]);
    await new Promise((res) => setImmediate(res));
    expect(text).toContain("Goodbye.");
    expect(vm.counters().instret).toBe(r.instret);
  });

  it("pause holds the guest, resume continues it, stop ends it", async () => {
    const vm = createVm({ image: guestPath("test-loop.elf"), memory: 16 << 20 });
    const done = vm.start();
    await new Promise((res) => setTimeout(res, 50));
    vm.pause();
    expect(vm.state).toBe("paused");
    await new Promise((res) => setTimeout(res, 60));
    const held = vm.vm.instret;
    await new Promise((res) => setTimeout(res, 100));
    expect(vm.vm.instret).toBe(held);
    vm.resume();
    await new Promise((res) => setTimeout(res, 50));
    expect(vm.vm.instret > held).toBe(true);
    vm.stop();
    const r = await done;
    expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
    expect(vm.state).toBe("stopped");
  });

  it("refuses a configuration with both image and kernel", () => {
    expect(() => createVm({ image: guestPath("hello.elf"), kernel: guestPath("hello.elf") })).toThrow(/exactly one of image or kernel/);
  });
});
