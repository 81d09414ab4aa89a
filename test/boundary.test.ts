// The core/host boundary: build/core.wasm imports exactly CORE_IMPORTS and exports exactly CORE_EXPORTS
// (an unlisted import or export fails), kinds match, and the memory it imports is shared.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { CORE_IMPORTS, makeImports } from "../host/core-imports.js";
import { CORE_EXPORTS, CORE_FUNCTIONS, CORE_CONSTANTS } from "../host/core-exports.js";
import { CORE_WASM } from "./helpers.js";

const bytes = readFileSync(CORE_WASM);
const mod = new WebAssembly.Module(bytes);

interface MemoryImport { module: string; name: string; flags: number; min: number; max?: number }

/** Reads the memory imports (with their limits flags) from the binary's import section. */
function memoryImports(b: Uint8Array): MemoryImport[] {
  let p = 8;
  const leb = (): number => {
    let r = 0, shift = 0, byte: number;
    do { byte = b[p++]; r += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return r;
  };
  const str = (): string => { const n = leb(); const s = Buffer.from(b.subarray(p, p + n)).toString("utf8"); p += n; return s; };
  const limits = () => { const flags = b[p++]; const min = leb(); const max = flags & 1 ? leb() : undefined; return { flags, min, max }; };
  const out: MemoryImport[] = [];
  while (p < b.length) {
    const id = b[p++];
    const size = leb();
    const end = p + size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        const module = str(), name = str(), kind = b[p++];
        if (kind === 0) leb();
        else if (kind === 1) { p++; limits(); }
        else if (kind === 2) out.push({ module, name, ...limits() });
        else if (kind === 3) p += 2;
        else if (kind === 4) { p++; leb(); }
        else throw new Error(`unknown import kind ${kind}`);
      }
    }
    p = end;
  }
  return out;
}

describe("core.wasm boundary", () => {
  it("is a valid module", () => {
    expect(WebAssembly.validate(bytes)).toBe(true);
  });

  it("imports exactly CORE_IMPORTS", () => {
    const got = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`).sort();
    expect(got).toEqual([...CORE_IMPORTS].sort());
  });

  it("gives each import the kind the host provides", () => {
    const provided = makeImports(new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })) as Record<string, Record<string, unknown>>;
    for (const i of WebAssembly.Module.imports(mod)) {
      const v = provided[i.module]?.[i.name];
      expect(v, `${i.module}.${i.name} is not provided by makeImports`).toBeDefined();
      if (i.kind === "memory") expect(v).toBeInstanceOf(WebAssembly.Memory);
      else expect(i.kind, `${i.module}.${i.name}`).toBe("function");
      if (i.kind === "function") expect(typeof v).toBe("function");
    }
  });

  it("exports exactly CORE_EXPORTS", () => {
    const got = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
    expect(got).toEqual([...CORE_EXPORTS].sort());
    expect(new Set(CORE_EXPORTS).size).toBe(CORE_EXPORTS.length); // no duplicates in the host list
  });

  it("exports functions as functions and constants as globals", () => {
    const kinds = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
    for (const f of CORE_FUNCTIONS) expect(kinds.get(f), f).toBe("function");
    for (const c of CORE_CONSTANTS) expect(kinds.get(c), c).toBe("global");
    expect(kinds.get("_initialize")).toBe("function");
  });

  it("imports its memory as shared (threads)", () => {
    const mems = memoryImports(bytes);
    expect(mems.map((m) => `${m.module}.${m.name}`)).toEqual(["env.memory"]);
    expect(mems[0].flags & 2, `limits flags 0x${mems[0].flags.toString(16)}: not shared`).toBe(2);
    expect(mems[0].max, "a shared memory needs a maximum").toBeDefined();
    // And the engine agrees: an unshared memory does not link.
    const unshared = new WebAssembly.Memory({ initial: mems[0].min, maximum: mems[0].max });
    expect(() => new WebAssembly.Instance(mod, makeImports(unshared))).toThrow(WebAssembly.LinkError);
  });
});
