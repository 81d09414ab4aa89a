// Footprint benchmark: host memory of a VM (G-stage tables, core metadata, guest frames) for small and large
// guests that touch the same amount of memory, plus the RSS the process actually gained.
import { Vm } from "../host/vm.js";

export interface MemoryResult {
  pattern: TouchPattern;
  ramMiB: number;
  touchedMiB: number;
  guestFrameKiB: number;
  tableKiB: number;
  /** Core metadata that is committed: VM/hart blocks, TLBs, block map, RVC table, dirty bitmap, code generations. */
  coreStateKiB: number;
  /** tables + core state: the hypervisor's own overhead. */
  metadataKiB: number;
  /** Resident-set growth of the process while creating the VM and touching the memory (noisy: other allocations). */
  rssDeltaMiB: number;
}

// Committed core state, from the layout in assembly/layout.ts (all of it is touched at VM creation or first use):
const VM_AND_HARTS = 0x1_0000;      // VM block, console ring, hart blocks (0x1_0000..0x2_0000)
const TLB_PER_HART = 9 * 256 * 16;  // 36 KiB, filled at hart reset
const BLOCK_MAP_PER_HART = 32 * 1024;
const RVC_TABLE = 256 * 1024;       // upper bound: filled lazily as parcels are seen

export type TouchPattern = "clustered" | "scattered";

/**
 * Touches `touchBytes` of guest RAM. "clustered": 64 runs of touchBytes/64 spread evenly over RAM (how kernels and
 * programs use memory: contiguous runs in a few places). "scattered": single pages spread evenly — the worst case
 * for the G-stage, one level-0 table (4 KiB) per touched page once pages are 2 MiB apart.
 */
function touch(vm: Vm, ramBytes: number, touchBytes: number, pattern: TouchPattern): void {
  const runs = pattern === "clustered" ? 64 : touchBytes / 4096;
  const runBytes = touchBytes / runs;
  const stride = Math.floor(ramBytes / runs / 4096) * 4096;
  const data = new Uint8Array(runBytes).fill(0xa5);
  for (let i = 0; i < runs; i++) vm.writePhys(vm.ramBase + BigInt(i * stride), data);
}

export function benchMemory(ramMiBs: number[], touchMiB: number, pattern: TouchPattern): MemoryResult[] {
  const out: MemoryResult[] = [];
  for (const ramMiB of ramMiBs) {
    const ramBytes = ramMiB * 1024 * 1024;
    (globalThis as { gc?: () => void }).gc?.();
    const rss0 = process.memoryUsage().rss;
    const vm = Vm.create({ memBytes: ramBytes });
    touch(vm, ramBytes, touchMiB * 1024 * 1024, pattern);
    const rss1 = process.memoryUsage().rss;
    const s = vm.stats();
    const tableKiB = Number(s.tableFrames) * 4;
    const guestFrameKiB = Number(s.guestFrames) * 4;
    const dirtyBitmap = Math.ceil(ramBytes / 4096 / 8);
    const codeGens = Math.ceil((Number(s.guestFrames) * 4) / 4096) * 4096;
    const coreState = VM_AND_HARTS + TLB_PER_HART + BLOCK_MAP_PER_HART + RVC_TABLE + dirtyBitmap + codeGens;
    out.push({
      pattern, ramMiB, touchedMiB: touchMiB, guestFrameKiB, tableKiB,
      coreStateKiB: Math.round(coreState / 1024), metadataKiB: Math.round(tableKiB + coreState / 1024),
      rssDeltaMiB: Math.round(((rss1 - rss0) / 2 ** 20) * 10) / 10,
    });
  }
  return out;
}
