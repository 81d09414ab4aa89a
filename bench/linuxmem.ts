// Footprint of booted Linux VMs in one process: what a VM costs beyond the guest pages it touched (G-stage tables
// and core state), and how much the process grows for a second and a tenth booted VM.
import { createVm, type VirtualMachine } from "../host/api.js";
import { findImages } from "./boot.js";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** A full garbage collection, so RSS deltas are not inflated by the kernel image buffers that boot left behind. */
function collect(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

export interface LinuxMemResult {
  vms: number;
  guestMiB: number;          // pages the first guest touched
  overheadKiB: number;       // first VM: G-stage tables + committed core state (layout arithmetic, see memory.ts)
  rssFirstMiB: number;       // process growth for the first booted VM
  rssSecondMiB: number;      // ... for the second
  rssLastMiB: number;        // ... for the last (the tenth by default)
}

const CORE_STATE_KIB = 64 + 48 + 32 + 256 + 16; // VM/hart blocks, TLB banks, block map, RVC table, dirty bitmap (512 MiB)

/** Boots one VM to /init's first line and leaves it idling in its shell. */
async function bootToInit(kernel: string, initrd: string): Promise<VirtualMachine> {
  const vm = createVm({ kernel, initrd, memory: 512 << 20, append: "console=ttyS0 cryptomgr.notests=1", timeoutMs: 300_000 });
  let out = "";
  const up = new Promise<void>((resolve, reject) => {
    vm.on("output", (b) => { out += Buffer.from(b).toString("latin1"); if (out.includes("wasmvisor-init: up")) resolve(); });
    vm.on("exit", () => reject(new Error("the guest ended before /init")));
    vm.on("error", reject);
  });
  vm.start().catch(() => { /* reported through the events */ });
  await up;
  return vm;
}

export async function benchLinuxMemory(count: number, log: (s: string) => void): Promise<LinuxMemResult | null> {
  const img = findImages();
  if (!img) return null;
  const vms: VirtualMachine[] = [];
  const rss: number[] = [];
  collect();
  let last = process.memoryUsage().rss;
  for (let i = 0; i < count; i++) {
    log(`bench: booting Linux VM ${i + 1}/${count}...`);
    vms.push(await bootToInit(img.kernel, img.initrd));
    collect();
    const now = process.memoryUsage().rss;
    rss.push(now - last);
    last = now;
  }
  const s = vms[0].counters();
  const result: LinuxMemResult = {
    vms: count,
    guestMiB: Math.round(Number(s.guestFrames) * 4 / 1024 * 10) / 10,
    overheadKiB: Number(s.tableFrames) * 4 + CORE_STATE_KIB,
    rssFirstMiB: Math.round(rss[0] / 2 ** 20 * 10) / 10,
    rssSecondMiB: Math.round((rss[1] ?? 0) / 2 ** 20 * 10) / 10,
    rssLastMiB: Math.round(rss[rss.length - 1] / 2 ** 20 * 10) / 10,
  };
  for (const vm of vms) vm.stop();
  return result;
}
