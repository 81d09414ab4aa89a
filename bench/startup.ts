// Startup costs: core.wasm compile time, instance creation, and Vm.create → load hello → first instruction.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { add, configure, suite } from "benny";
import { Vm } from "../host/vm.js";
import { coreModule } from "../host/core-module.js";
import { makeImports } from "../host/core-imports.js";
import { median, percentile, min, round } from "./stats.js";

export interface StartupResult {
  /** One cold `new WebAssembly.Module(bytes)` of build/core.wasm, in ms. */
  compileMs: number;
  /** Own loop, one timing per iteration: Vm.create() + loadElf(hello) + run(1). */
  firstInsn: {
    iterations: number;
    medianMs: number;
    minMs: number;
    p90Ms: number;
    /** Medians of the three phases of the same iterations. */
    phases: { createMs: number; loadElfMs: number; run1Ms: number };
  };
  /** benny (benchmark.js) cross-checks: mean time per operation and ops/s. */
  benny: { name: string; opsPerSec: number; meanMs: number; medianMs: number; rmePct: number; samples: number }[];
}

export async function benchStartup(corePath: string, helloPath: string, quick: boolean): Promise<StartupResult> {
  const bytes = readFileSync(corePath);
  const hello = readFileSync(helloPath);

  // Compile once, cold (before anything else compiles the same bytes, so V8's module cache cannot help).
  const t0 = performance.now();
  const module = new WebAssembly.Module(bytes);
  const compileMs = performance.now() - t0;
  coreModule(); // the host's own cached module: Vm.create() below reuses it, so the loop measures no compilation

  const once = () => {
    const a = performance.now();
    const vm = Vm.create();
    const b = performance.now();
    vm.loadElf(hello, "hello.elf");
    const c = performance.now();
    const stop = vm.run(1);
    const d = performance.now();
    if (stop !== "budget" || vm.instret !== 1n) throw new Error(`hello.elf: run(1) stopped with '${stop}' after ${vm.instret} instructions`);
    return [d - a, b - a, c - b, d - c];
  };
  const warmup = quick ? 2 : 20;
  const iterations = quick ? 10 : 200;
  for (let i = 0; i < warmup; i++) once();
  const total: number[] = [], create: number[] = [], load: number[] = [], run1: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const [t, c, l, r] = once();
    total.push(t); create.push(c); load.push(l); run1.push(r);
  }

  // benny: the pieces of Vm.create() (guest memory allocation; a fresh instance over one pre-allocated memory;
  // Vm.create() as a whole), and the full path again as a cross-check of the loop above.
  const pages = Vm.create().memory.buffer.byteLength / 65536; // the size Vm.create() allocates: core state + default RAM
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 32, shared: true });
  const imports = makeImports(memory);
  const log = console.log;
  console.log = (...a: unknown[]) => console.error(...a); // benny's progress line: keep stdout for the report
  let summary;
  try {
    summary = await suite(
      "startup",
      configure({ cases: quick ? { minSamples: 2, maxTime: 0.1, delay: 0 } : { minSamples: 10, maxTime: 1.5 } }),
      add(`WebAssembly.Memory(${pages * 64 / 1024} MiB, shared)`, () => { new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }); }),
      add("WebAssembly.Instance(core)", () => { new WebAssembly.Instance(module, imports); }),
      add("Vm.create()", () => { Vm.create(); }),
      add("Vm.create + loadElf(hello) + run(1)", () => { once(); }),
    );
  } finally {
    console.log = log;
  }
  const benny = summary.results.map((r) => ({
    name: r.name,
    opsPerSec: round(r.ops, 1),
    meanMs: round(r.details.mean * 1000, 4),
    medianMs: round(r.details.median * 1000, 4),
    rmePct: round(r.details.relativeMarginOfError, 2),
    samples: r.samples,
  }));

  return {
    compileMs: round(compileMs, 3),
    firstInsn: {
      iterations,
      medianMs: round(median(total), 4),
      minMs: round(min(total), 4),
      p90Ms: round(percentile(total, 90), 4),
      phases: { createMs: round(median(create), 4), loadElfMs: round(median(load), 4), run1Ms: round(median(run1), 4) },
    },
    benny,
  };
}
