// The built-in SBI faces an untrusted kernel: every extension and function is called with hostile arguments.
// The host must never throw, every call must return (a0 = an SBI error code or success) or end the VM as asked.
import { describe, it, expect } from "vitest";
import { Vm } from "../host/vm.js";

const EIDS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10, 0x54494d45, 0x735049, 0x52464e43, 0x48534d,
  0x53525354, 0x4442434e, 0x504d55, 0xdeadbeef];
const ERRORS = new Set([0n, -1n, -2n, -3n, -4n, -5n, -6n, -7n, -8n, -9n].map((v) => BigInt.asUintN(64, v)));

function sVm(): Vm {
  const vm = Vm.create({ memBytes: 1 << 20 });
  vm.writePhys(vm.ramBase, new Uint8Array([0x73, 0, 0, 0])); // ecall
  vm.core.fn.vm_direct_boot(0, Number(vm.ramBase), 0);
  return vm;
}

describe("built-in SBI under hostile arguments", () => {
  it("20,000 random calls: no host exception; each returns or ends the VM as its extension defines", () => {
    let s = 0x5b1c0de;
    const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s; };
    const big = () => (BigInt(rnd()) << 32n) | BigInt(rnd());
    const arg = () => { const r = rnd() % 4; return r === 0 ? big() : r === 1 ? BigInt(rnd() % 16) : r === 2 ? 0x8000_0000n + BigInt(rnd() % (1 << 20)) : BigInt.asUintN(64, -1n); };
    let vm = sVm();
    let calls = 0, halts = 0;
    for (let i = 0; i < 20_000; i++) {
      vm.pc = vm.ramBase;
      const eid = BigInt(EIDS[rnd() % EIDS.length]);
      vm.setX(17, eid);
      vm.setX(16, BigInt(rnd() % 8));
      for (let r = 10; r <= 15; r++) vm.setX(r, arg());
      const stop = vm.run(1);
      if (stop === "halt") { halts++; vm = sVm(); continue; }
      expect(["budget", "wfi", "console"]).toContain(stop);
      expect(vm.pc).toBe(vm.ramBase + 4n);      // the ecall retired, no trap into the (absent) M-mode
      expect(vm.priv).toBe(1);
      if (eid >= 0x10n) expect(ERRORS.has(vm.x(10))).toBe(true);
      vm.drainConsole();
      calls++;
    }
    expect(calls).toBeGreaterThan(15_000);
    expect(halts).toBeGreaterThan(0); // SRST and legacy shutdown do end the VM
  });

  it("BASE reports spec 2.0 and probes only what exists", () => {
    const vm = sVm();
    const call = (eid: number, fid: number, a0 = 0n) => { vm.pc = vm.ramBase; vm.setX(17, BigInt(eid)); vm.setX(16, BigInt(fid)); vm.setX(10, a0); vm.run(1); return [vm.x(10), vm.x(11)]; };
    expect(call(0x10, 0)).toEqual([0n, 0x0200_0000n]);
    expect(call(0x10, 3, 0x54494d45n)).toEqual([0n, 1n]);       // TIME
    expect(call(0x10, 3, 0x504d55n)).toEqual([0n, 0n]);         // PMU: not implemented
    expect(call(0x504d55, 0)[0]).toBe(BigInt.asUintN(64, -2n)); // SBI_ERR_NOT_SUPPORTED
  });
});
