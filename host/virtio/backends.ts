// Builds back ends from plain device specifications (what crosses to an I/O thread) and sets up their slots.
import type { Core } from "../core-exports.js";
import type { Backend } from "./engine.js";
import { BlkBackend, blkConfig, blkFeatures, BLK_QUEUE_SIZE, VIRTIO_ID_BLOCK } from "./blk.js";
import { NetBackend, netConfig, netFeatures, parseMac, NET_QUEUE_SIZE, VIRTIO_ID_NET } from "./net.js";
import { RngBackend, VIRTIO_ID_RNG } from "./rng.js";
import { ConsoleBackend, VIRTIO_ID_CONSOLE } from "./console.js";
import * as fs from "node:fs";

/** A virtio device as configured (plain data: it is sent to the I/O thread). */
export type DeviceSpec = (
  | { kind: "blk"; path: string; readonly?: boolean; serial?: string }
  | { kind: "net"; mac: string }
  | { kind: "rng" }
  | { kind: "console" }
) & {
  /** Restricts the device's DMA to guest-physical [base, base+bytes) (default: all of RAM, identity-mapped). */
  dmaWindow?: { base: number; bytes: number };
};

/** Messages an I/O thread sends to the VM's thread. */
export type FromIo =
  | { type: "frame"; slot: number; frame: Uint8Array }
  | { type: "console"; slot: number; data: Uint8Array }
  | { type: "ready" }
  | { type: "quiesced"; id: number; states: Record<number, unknown> }
  | { type: "loaded"; id: number; error: string | null }
  | { type: "iommu-done"; id: number; ok: boolean }
  | { type: "undo-begun"; id: number; error: string | null }
  | { type: "error"; message: string };

/** Sinks a back end needs on the thread where it runs. */
export interface BackendSinks {
  frame(slot: number, f: Uint8Array): void;
  console(slot: number, b: Uint8Array): void;
}

export function makeBackend(spec: DeviceSpec, slot: number, sinks: BackendSinks): Backend {
  switch (spec.kind) {
    case "blk": return new BlkBackend(spec);
    case "net": return new NetBackend((f) => sinks.frame(slot, f));
    case "rng": return new RngBackend();
    case "console": return new ConsoleBackend((b) => sinks.console(slot, b));
  }
}

/** Programs slot's transport in the core (device type, features, queues, configuration space). */
export function setupSlot(core: Core, mem: Uint8Array, slot: number, spec: DeviceSpec, syncIo: boolean): void {
  let id: number, features: bigint, nq: number, qmax: number, cfg: Uint8Array;
  switch (spec.kind) {
    case "blk":
      id = VIRTIO_ID_BLOCK; features = blkFeatures(spec); nq = 1; qmax = BLK_QUEUE_SIZE;
      cfg = blkConfig(fs.statSync(spec.path).size);
      break;
    case "net":
      id = VIRTIO_ID_NET; features = netFeatures(); nq = 2; qmax = NET_QUEUE_SIZE;
      cfg = netConfig(parseMac(spec.mac)!);
      break;
    case "rng": id = VIRTIO_ID_RNG; features = (1n << 28n) | (1n << 29n); nq = 1; qmax = 64; cfg = new Uint8Array(0); break;
    case "console": id = VIRTIO_ID_CONSOLE; features = (1n << 28n) | (1n << 29n); nq = 2; qmax = 64; cfg = new Uint8Array(12); break;
  }
  const lo = Number(features & 0xffffffffn), hi = Number(features >> 32n);
  if (core.fn.virtio_setup(slot, id, lo, hi, nq, qmax, cfg.length, syncIo ? 1 : 0) !== 0) throw new Error(`core refused virtio slot ${slot}`);
  mem.set(cfg, core.k.LAYOUT_VIRTIO_BASE + slot * core.k.LAYOUT_VIRTIO_STRIDE + core.k.VT_CONFIG);
}
