// `wasmvisor pause | resume | info | quit CONTROL-SOCKET`: one request to a running VM's control socket (suspend it,
// resume it, ask where it is, end it), for people and batch scripts that hold a VM started with --control.
import { ExitCode, WasmvisorError } from "../errors.js";
import { controlRequest } from "../control.js";
import { parseSub } from "./args.js";

const WHAT: Record<string, string> = {
  pause: `Suspends the VM: it stops at an instruction boundary, its devices complete what it asked of them, and
nothing more reaches its memory (network frames and console input wait) until 'wasmvisor resume'. Returns once
that holds. A suspended VM uses no CPU; the guest notices only the time that passed.`,
  resume: "Resumes a VM suspended by 'wasmvisor pause' (or the monitor's stop).",
  info: "Prints where the VM is: retired instructions, pc, and whether it is paused.",
  quit: "Ends the VM's run as a poweroff with code 0 (its 'wasmvisor run' then exits 0).",
};

/** The command for one control request (`cmd` is also the socket's request name). */
export function controlCommand(cmd: "pause" | "resume" | "info" | "quit"): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const usage = `usage: wasmvisor ${cmd} CONTROL-SOCKET\n${WHAT[cmd]}\nCONTROL-SOCKET: the path given to 'wasmvisor run --control'.`;
    const r = parseSub(argv, usage, {});
    if (!r) return ExitCode.OK;
    if (r.positionals.length !== 1) throw new WasmvisorError(`${cmd}: expected CONTROL-SOCKET (see wasmvisor ${cmd} --help)`);
    const res = await controlRequest(r.positionals[0], { cmd });
    if (cmd === "quit") process.stdout.write("the VM is ending\n");
    else process.stdout.write(`${res.paused ? "paused" : "running"} at instruction ${res.instret}, pc ${res.pc}\n`);
    return ExitCode.OK;
  };
}
