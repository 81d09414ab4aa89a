// Finds, reads and compiles build/core.wasm once per process (compiling is the slow part; instantiation is cheap).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WasmvisorError, ExitCode } from "./errors.js";

/** The package root: the nearest ancestor of this file with a package.json named "wasmvisor". */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try { if (JSON.parse(readFileSync(pj, "utf8")).name === "wasmvisor") return dir; } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) throw new WasmvisorError("cannot find the wasmvisor package root", ExitCode.INTERNAL);
    dir = up;
  }
}

let cached: WebAssembly.Module | undefined;

/** build/core.wasm, or the file named by WASMVISOR_CORE (for A/B comparisons of two builds). */
export function corePath(): string { return process.env.WASMVISOR_CORE || join(packageRoot(), "build", "core.wasm"); }

export function coreModule(): WebAssembly.Module {
  if (cached) return cached;
  const p = corePath();
  if (!existsSync(p)) throw new WasmvisorError(`${p} is missing: run npm run build`, ExitCode.INTERNAL);
  cached = new WebAssembly.Module(readFileSync(p));
  return cached;
}
