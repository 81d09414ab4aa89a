// The console monitor's commands (the Ctrl-A C key handling needs a terminal and was checked under tmux; the
// commands and the runner's pause/quit control are tested here directly).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Vm } from "../host/vm.js";
import { runToExit } from "../host/runner.js";
import { VmController } from "../host/controller.js";
import { monitorCommand } from "../host/monitor.js";
import { guestPath } from "./helpers";

function helloVm(): Vm {
  const vm = Vm.create({ memBytes: 16 << 20 });
  vm.loadElf(readFileSync(guestPath("hello.elf")));
  return vm;
}

describe("monitor", () => {
  it("info registers shows pc, privilege and every register", () => {
    const vm = helloVm();
    vm.run(10);
    const out = monitorCommand(vm, "info registers", new VmController(vm));
    expect(out).toContain(`pc ${vm.pc.toString(16).padStart(16, "0")}  priv M  instret 10`);
    expect(out).toContain(`x2/sp    ${vm.x(2).toString(16).padStart(16, "0")}`);
    expect(out.split("\n")).toHaveLength(11);
  });

  it("stop/cont/quit act on the VM's controller; unknown commands say so", () => {
    const vm = helloVm();
    const ctl = new VmController(vm);
    const control = ctl.runOptions().control!;
    expect(monitorCommand(vm, "stop", ctl)).toBe("paused");
    expect(ctl.paused).toBe(true);
    expect(control()).toBe("pause");
    expect(monitorCommand(vm, " cont ", ctl)).toBe("running");
    expect(ctl.paused).toBe(false);
    expect(control()).toBe("run");
    expect(monitorCommand(vm, "frobnicate", ctl)).toMatch(/unknown command 'frobnicate'/);
    expect(monitorCommand(vm, "info stats", ctl)).toMatch(/^instret \d+$/m);
    monitorCommand(vm, "quit", ctl);
    expect(control()).toBe("quit");
  });

  it("a paused guest does not run, and quit ends the run", async () => {
    const vm = helloVm();
    let calls = 0;
    const r = await runToExit(vm, { control: () => (++calls < 5 ? "pause" : "quit") });
    expect(vm.instret).toBe(0n);
    expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
  });

  it("a paused guest waits for its controller to release it (no polling), then runs on at once", async () => {
    const vm = helloVm();
    const ctl = new VmController(vm);
    const opts = ctl.runOptions();
    let looks = 0;
    void ctl.pause();
    const run = runToExit(vm, { ...opts, control: () => { looks++; return opts.control!(); } });
    await new Promise((r) => setTimeout(r, 250));
    expect(vm.instret).toBe(0n);
    // Polled every 5 ms this was ~50 looks; waiting, one (plus one per 1 s safety recheck).
    expect(looks).toBeLessThanOrEqual(2);
    ctl.resume();
    const r = await run;
    expect(r.exit).toEqual({ kind: "poweroff", code: 0 });
    expect(r.wallMs).toBeLessThan(1000 + 250); // released by resume(), not by the recheck after a second
  });

  it("while host work waits (hostBusy), the run loop runs short slices and yields after each", async () => {
    const run = async (busy: boolean) => {
      const vm = Vm.create({ memBytes: 64 << 20 });
      vm.loadElf(readFileSync(guestPath("wl-int.elf")));
      let turns = 0;
      const tick = setInterval(() => { turns++; }, 0);
      try {
        const r = await runToExit(vm, { maxInsns: 12_000_000n, hostBusy: () => busy });
        return { budget: r.exits.budget ?? 0, turns, instret: r.instret };
      } finally { clearInterval(tick); }
    };
    const idle = await run(false), busy = await run(true);
    expect(idle.instret).toBe(12_000_000n);
    expect(busy.instret).toBe(12_000_000n);
    expect(idle.budget).toBeLessThanOrEqual(12); // 1M-instruction slices
    expect(busy.budget).toBeGreaterThanOrEqual(39); // 300k-instruction slices
    expect(busy.turns).toBeGreaterThan(idle.turns); // the event loop got turns between them
  });
});
