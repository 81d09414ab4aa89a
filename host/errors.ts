// One error type for everything the user can get wrong or the VM can hit: a one-line message and a process exit code.

/** Process exit codes of the `wasmvisor` CLI (documented in README.md). */
export const ExitCode = {
  OK: 0,            // guest powered off with code 0, or HTIF pass
  GUEST_FAIL: 1,    // guest reported failure (HTIF test number, or test-device code without its own exit code)
  USAGE: 2,         // bad command line, missing or malformed input file
  TIMEOUT: 3,       // --timeout or --max-insns reached before the guest finished
  GUEST_ERROR: 4,   // the VM cannot continue (unsupported HTIF request, fatal core stop)
  INTERNAL: 70,     // a bug in wasmvisor (EX_SOFTWARE)
} as const;

export class WasmvisorError extends Error {
  constructor(message: string, readonly exitCode: number = ExitCode.USAGE) {
    super(message);
    this.name = "WasmvisorError";
  }
}
