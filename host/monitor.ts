// The console monitor (Ctrl-A C, as in QEMU): a few commands to inspect and control a running VM.
import type { Vm } from "./vm.js";

/** What the monitor's stop, cont and quit act on: the VM's controller (controller.ts). */
export interface MonitorControl { pause(): Promise<void>; resume(): void; quit(): void; readonly paused: boolean }

const ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
  "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"];
const hex = (v: bigint) => v.toString(16).padStart(16, "0");

export const MONITOR_HELP = `commands:
  info registers   pc, privilege, integer registers and the main CSRs
  info stats       counters (instructions, TLB, traps, memory)
  stop | pause     suspend the guest (its devices quiesced)
  cont | resume    resume the guest
  quit | q         end the VM (exit code 0)
  help             this text
Ctrl-A C returns to the guest console.`;

/** Runs one monitor command line; returns what to print. */
export function monitorCommand(vm: Vm, line: string, ctl: MonitorControl): string {
  const cmd = line.trim().replace(/\s+/g, " ");
  const k = vm.core.k;
  switch (cmd) {
    case "": return "";
    case "help": case "?": return MONITOR_HELP;
    case "info registers": case "info reg": {
      const lines = [`pc ${hex(vm.pc)}  priv ${["U", "S", "?", "M"][vm.priv]}  instret ${vm.instret}`];
      for (let i = 0; i < 32; i += 4) {
        lines.push([0, 1, 2, 3].map((j) => `${`x${i + j}/${ABI[i + j]}`.padEnd(8)} ${hex(vm.x(i + j))}`).join("  "));
      }
      const csr = (name: string, off: number) => `${name} ${hex(vm.hartU64(off))}`;
      lines.push([csr("mstatus", k.HART_MSTATUS), csr("mcause", k.HART_MCAUSE), csr("mepc", k.HART_MEPC), csr("mtval", k.HART_MTVAL)].join("  "));
      lines.push([csr("satp", k.HART_SATP), csr("scause", k.HART_SCAUSE), csr("sepc", k.HART_SEPC), csr("stval", k.HART_STVAL)].join("  "));
      return lines.join("\n");
    }
    case "info stats":
      return Object.entries(vm.stats()).map(([n, v]) => `${n} ${v}`).join("\n");
    case "stop": case "pause": void ctl.pause(); return "paused";
    case "cont": case "resume": case "c": ctl.resume(); return "running";
    case "quit": case "q": ctl.quit(); return "bye";
    default: return `unknown command '${cmd}' (help lists them)`;
  }
}
