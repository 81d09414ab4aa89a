// Interrupt plumbing from devices to harts: PLIC contexts drive MEIP/SEIP, and mip read-modify-writes only touch
// the software-writable bits (the regression that once latched a passing external interrupt into mip.SEIP).
import { describe, it, expect } from "vitest";
import { Vm } from "../host/vm.js";
import { Asm, REG } from "./helpers";

const { t0, t1, a0, a1 } = REG;
const CSR_MIP = 0x344;
const UART = 0x1000_0000, PLIC = 0x0c00_0000;

/** Runs a tiny M-mode guest that ends with a store to the test device; returns the VM. */
function runGuest(a: Asm): Vm {
  const vm = Vm.create({ memBytes: 1 << 20 });
  a.li(t0, 0x100000).li(t1, 0x5555).sw(t1, t0, 0);
  vm.writePhys(vm.ramBase, a.bytes());
  for (let i = 0; i < 100 && vm.run(1000) !== "halt"; i++) { /* until poweroff */ }
  expect(vm.exitStatus().kind).toBe("poweroff");
  return vm;
}

describe("PLIC → SEIP and mip read-modify-write", () => {
  it("the UART's THR-empty interrupt reaches SEIP through PLIC context 1, and leaves it when the line drops", () => {
    const a = new Asm()
      .li(t0, PLIC + 4 * 10).li(t1, 1).sw(t1, t0, 0)              // priority(10) = 1
      .li(t0, PLIC + 0x2000 + 0x80 * 1).li(t1, 1 << 10).sw(t1, t0, 0) // enable source 10 for context 1 (S)
      .li(t0, UART + 1).li(t1, 2).sb(t1, t0, 0)                    // IER = ETBEI: THR empty → interrupt
      .csrr(a0, CSR_MIP)                                           // a0: SEIP expected set
      .li(t0, UART + 1).sb(REG.zero, t0, 0)                        // IER = 0: the line drops
      .csrr(a1, CSR_MIP);                                          // a1: SEIP expected clear
    const vm = runGuest(a);
    expect(vm.x(a0) & 0x200n).toBe(0x200n);
    expect(vm.x(a1) & 0x200n).toBe(0n);
  });

  it("csrs mip, STIP while the PLIC asserts SEIP does not latch SEIP into the software bit (§3.1.9)", () => {
    const a = new Asm()
      .li(t0, PLIC + 4 * 10).li(t1, 1).sw(t1, t0, 0)
      .li(t0, PLIC + 0x2000 + 0x80 * 1).li(t1, 1 << 10).sw(t1, t0, 0)
      .li(t0, UART + 1).li(t1, 2).sb(t1, t0, 0)                    // SEIP asserted by the PLIC
      .li(t1, 0x20).csrs(CSR_MIP, t1)                              // what OpenSBI does to forward a timer tick
      .li(t0, UART + 1).sb(REG.zero, t0, 0)                        // the external interrupt goes away
      .csrr(a0, CSR_MIP);
    const vm = runGuest(a);
    expect(vm.x(a0) & 0x20n).toBe(0x20n);   // STIP set by software
    expect(vm.x(a0) & 0x200n).toBe(0n);     // SEIP gone with the line
  });
});
