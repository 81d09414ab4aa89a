// virtio-rng back end (VIRTIO 1.2 §5.4): fills the guest's buffers with the host's cryptographic randomness.
import { randomFillSync } from "node:crypto";
import type { Backend, DeviceContext } from "./engine.js";

export const VIRTIO_ID_RNG = 4;

export class RngBackend implements Backend {
  readonly stats = { bytes: 0 };
  onQueue(ctx: DeviceContext, q: number): void {
    if (q !== 0) return;
    for (let c = ctx.pop(0); c !== null; c = ctx.pop(0)) {
      if (c.failed) { ctx.push(0, c, 0); continue; }
      // At most 64 KiB per request: a guest asking for gigabytes gets them a request at a time.
      const segs = c.writableRange(0, Math.min(c.writable, 65536));
      let n = 0;
      for (const s of segs) { randomFillSync(ctx.mem, s.ptr, s.len); n += s.len; }
      this.stats.bytes += n;
      ctx.push(0, c, n);
    }
  }
}
