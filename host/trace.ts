// Instruction tracer: runs one instruction at a time and prints spike's commit-log format
// ("core   0: 3 0x<pc> (0x<insn>) x5  0x<value>"), so a run can be diffed against `spike --log-commits`.
// It costs the interpreter nothing: the destination register is decoded here and read back after the step.
import type { Vm } from "./vm.js";

const hex = (v: bigint, w: number) => "0x" + v.toString(16).padStart(w, "0");

/** Which register an instruction (32-bit form) writes: ["x", n], ["f", n] or null. */
export function destination(insn: number): ["x" | "f", number] | null {
  const op = insn & 0x7f, rd = (insn >>> 7) & 31, f3 = (insn >>> 12) & 7, f7 = insn >>> 25;
  switch (op) {
    case 0x37: case 0x17: case 0x6f: case 0x67: case 0x03: case 0x13: case 0x1b: case 0x33: case 0x3b: case 0x2f:
      return rd ? ["x", rd] : null;
    case 0x73: return f3 !== 0 && rd ? ["x", rd] : null;
    case 0x07: case 0x43: case 0x47: case 0x4b: case 0x4f: return ["f", rd];
    case 0x53: {
      const grp = f7 >>> 2;
      // FCMP, FCVT.int.fp, FMV.X / FCLASS write an integer register.
      if (grp === 0x14 || grp === 0x18 || grp === 0x1c) return rd ? ["x", rd] : null;
      return ["f", rd];
    }
    default: return null;
  }
}

const CAUSES: Record<number, string> = {
  0: "trap_instruction_address_misaligned", 1: "trap_instruction_access_fault", 2: "trap_illegal_instruction",
  3: "trap_breakpoint", 4: "trap_load_address_misaligned", 5: "trap_load_access_fault",
  6: "trap_store_address_misaligned", 7: "trap_store_access_fault", 8: "trap_user_ecall", 9: "trap_supervisor_ecall",
  11: "trap_machine_ecall", 12: "trap_instruction_page_fault", 13: "trap_load_page_fault", 15: "trap_store_page_fault",
};

/**
 * Executes one instruction under trace; returns the core's stop reason and calls `out` with the log line(s).
 */
export function traceStep(vm: Vm, out: (line: string) => void): ReturnType<Vm["run"]> {
  const pc = vm.pc, priv = vm.priv, before = vm.instret;
  const raw = vm.insnAtPc();
  const traps = vm.hartU64(vm.core.k.HART_STAT_TRAPS);
  const stop = vm.run(1);
  const trapped = vm.hartU64(vm.core.k.HART_STAT_TRAPS) !== traps;
  if (vm.instret !== before) {
    const compressed = (raw & 3) !== 3;
    const full = compressed ? vm.core.fn.expand_c(raw) >>> 0 : raw;
    let line = `core   0: ${priv} ${hex(pc, 16)} (${hex(BigInt(raw), compressed ? 4 : 8)})`;
    const d = destination(full);
    if (d) {
      const v = d[0] === "x" ? vm.x(d[1]) : vm.f(d[1]);
      line += ` ${(d[0] + d[1]).padEnd(3)} ${hex(v, 16)}`;
    }
    out(line);
  }
  if (trapped) {
    // A trap was taken before or instead of the instruction: mcause/scause tell which.
    const k = vm.core.k;
    const toS = vm.priv === 1;
    const cause = vm.hartU64(toS ? k.HART_SCAUSE : k.HART_MCAUSE);
    const epc = vm.hartU64(toS ? k.HART_SEPC : k.HART_MEPC);
    const tval = vm.hartU64(toS ? k.HART_STVAL : k.HART_MTVAL);
    const intr = cause >> 63n === 1n;
    const name = intr ? `interrupt #${cause & 63n}` : `exception ${CAUSES[Number(cause)] ?? `cause ${cause}`}`;
    out(`core   0: ${name}, epc ${hex(epc, 16)}`);
    if (!intr) out(`core   0:           tval ${hex(tval, 16)}`);
  }
  return stop;
}
