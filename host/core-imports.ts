// The host side of the core's imports (assembly/imports.ts): exactly these functions, nothing else.
import { performance } from "node:perf_hooks";

/** mtime ticks per second (QEMU virt timebase, 10 MHz). */
export const TIMEBASE_HZ = 10_000_000;

/**
 * Import names the release core requests; test/boundary.test.ts compares this list with the compiled module.
 * (makeImports also provides env.abort, which only debug builds import: release builds use noAssert.)
 */
export const CORE_IMPORTS = ["env.memory", "host.now_ticks"] as const;

export function makeImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      // AssemblyScript's abort: only reachable through a bug in the core (it has no assertions in release builds).
      abort(_msg: number, _file: number, line: number, col: number): never {
        throw new Error(`wasmvisor core aborted at line ${line}:${col}`);
      },
    },
    host: {
      now_ticks: (): number => performance.now() * (TIMEBASE_HZ / 1000),
    },
  };
}
