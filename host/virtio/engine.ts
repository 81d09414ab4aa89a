// Serves virtio devices on one thread (an I/O thread, or the vCPU's thread in synchronous mode): takes the
// notifications the core recorded, completes resets, and hands queue work to the back ends. Back ends move data
// straight between their resource and guest memory through the chains the core translated (VMM-bypass).
import type { Core } from "../core-exports.js";

/** One segment of a translated descriptor chain: linear-memory offset and length, device-writable or not. */
export interface Segment { ptr: number; len: number; writable: boolean }

/** A descriptor chain taken from a queue (see assembly/virtio/queue.ts). */
export class Chain {
  constructor(
    readonly head: number,
    readonly segs: Segment[],
    /** A buffer lay outside the device's IOMMU domain (its segments have ptr 0), or the chain was too long: fail the request. */
    readonly failed: boolean,
    readonly readable: number,
    readonly writable: number,
  ) {}

  /** Copies up to out.length device-readable bytes starting at byte `off` of the readable part. Returns the count. */
  read(mem: Uint8Array, off: number, out: Uint8Array): number {
    let pos = 0, n = 0;
    for (const s of this.segs) {
      if (s.writable) break;
      if (off < pos + s.len) {
        const from = Math.max(off - pos, 0) + s.ptr, take = Math.min(s.ptr + s.len - from, out.length - n);
        if (s.ptr !== 0) out.set(mem.subarray(from, from + take), n); // ptr 0: refused by the IOMMU, reads as zero
        n += take;
        off += take;
        if (n === out.length) break;
      }
      pos += s.len;
    }
    return n;
  }

  /** Segments covering the readable bytes [off, off+len) (those with ptr 0 were refused by the IOMMU). */
  readableRange(off: number, len: number): Segment[] { return range(this.segs.filter((s) => !s.writable), off, len); }
  /** Segments covering the writable bytes [off, off+len). */
  writableRange(off: number, len: number): Segment[] { return range(this.segs.filter((s) => s.writable), off, len); }

  /** Writes data into the device-writable part starting at byte `off`. Returns the count written. */
  write(mem: Uint8Array, off: number, data: Uint8Array): number {
    let n = 0;
    for (const s of this.writableRange(off, data.length)) {
      if (s.ptr !== 0) mem.set(data.subarray(n, n + s.len), s.ptr); // ptr 0: refused by the IOMMU, never written
      n += s.len;
    }
    return n;
  }
}

function range(segs: Segment[], off: number, len: number): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  for (const s of segs) {
    if (len <= 0) break;
    if (off < pos + s.len) {
      const skip = Math.max(off - pos, 0), take = Math.min(s.len - skip, len);
      out.push({ ptr: s.ptr + skip, len: take, writable: s.writable });
      off += take;
      len -= take;
    }
    pos += s.len;
  }
  return out;
}

/** What a back end is given: the queues of its slot, and guest memory. */
export interface DeviceContext {
  readonly mem: Uint8Array;
  readonly slot: number;
  /** The next chain of queue q; null when empty or the device is broken. */
  pop(q: number): Chain | null;
  /** Returns a chain with `len` bytes written into its device-writable buffers. */
  push(q: number, chain: Chain, len: number): void;
  /** True when the driver has set DRIVER_OK and the device is not broken. */
  live(): boolean;
}

/** A device back end (block, net, console, entropy): the host half of a virtio device. */
export interface Backend {
  /** Queue q was notified (or may have work). */
  onQueue(ctx: DeviceContext, q: number): void;
  /** The driver reset the device: drop in-flight state. */
  reset?(): void;
  /** The driver set DRIVER_OK. */
  activated?(ctx: DeviceContext): void;
  /** Releases host resources (files, sockets). */
  close?(): void;
  /** Host-side state that is not in guest memory or the core (plain data, for snapshots and migration). */
  saveState?(): unknown;
  /** Takes back what saveState returned (the device is not running yet). Throws on malformed state. */
  loadState?(state: unknown): void;
  /** A checkpoint is taken (the device is quiesced): a disk starts its copy-before-write log (undo.ts). */
  beginUndo?(base: string, epoch: number): void;
  /**
   * The devices are frozen (on) or thawed (off): while frozen, host input (frames, console bytes) waits in the back
   * end's own bounded queue, which its saveState() holds, and nothing is written into guest memory; thawed, what
   * waits is delivered.
   */
  hold?(on: boolean): void;
}

/** Binds a back end to its slot on the current thread's core instance. */
export class DeviceServer implements DeviceContext {
  readonly mem: Uint8Array;
  private readonly dv: DataView;
  private readonly chainBase: number;
  constructor(private readonly core: Core, memory: WebAssembly.Memory, readonly slot: number, readonly backend: Backend) {
    this.mem = new Uint8Array(memory.buffer);
    this.dv = new DataView(memory.buffer);
    this.chainBase = core.k.LAYOUT_CHAIN_BASE + slot * core.k.LAYOUT_CHAIN_STRIDE;
  }

  private status(): number {
    return this.dv.getUint32(this.core.k.LAYOUT_VIRTIO_BASE + this.slot * this.core.k.LAYOUT_VIRTIO_STRIDE + this.core.k.VT_STATUS, true);
  }

  live(): boolean { const s = this.status(); return (s & 4) !== 0 && (s & 64) === 0; }

  pop(q: number): Chain | null {
    const k = this.core.k;
    const head = this.core.fn.vq_pop(this.slot, q);
    if (head < 0) return null;
    const c = this.chainBase, dv = this.dv;
    const n = dv.getUint32(c + k.CHAIN_NSEG, true), flags = dv.getUint32(c + k.CHAIN_FLAGS, true);
    const segs: Segment[] = [];
    for (let i = 0; i < n; i++) {
      const s = c + k.CHAIN_SEGS + i * 16;
      segs.push({ ptr: dv.getUint32(s, true), len: dv.getUint32(s + 4, true), writable: dv.getUint32(s + 8, true) !== 0 });
    }
    return new Chain(head, segs, flags !== 0, dv.getUint32(c + k.CHAIN_READABLE, true), dv.getUint32(c + k.CHAIN_WRITABLE, true));
  }

  push(q: number, chain: Chain, len: number): void { this.core.fn.vq_push(this.slot, q, chain.head, len >>> 0); }

  /** Handles everything notified since the last call. Returns true if there was anything. */
  service(): boolean {
    const bits = this.core.fn.virtio_take_notify(this.slot) >>> 0;
    if (bits === 0) return false;
    const k = this.core.k;
    if (bits & k.VIRTIO_NOTIFY_RESET) {
      this.backend.reset?.();
      this.core.fn.virtio_reset(this.slot);
      return true; // queue notifications from before the reset are void
    }
    if (bits & k.VIRTIO_NOTIFY_DRIVER_OK) this.backend.activated?.(this);
    for (let q = 0; q < 30; q++) if (bits & (1 << q)) this.backend.onQueue(this, q);
    return true;
  }
}
