// virtio-console back end (VIRTIO 1.2 §5.3), a single port without multiport: transmitq output goes to the host's
// console sink, host input waits in a queue until the guest posts receive buffers.
import type { Backend, DeviceContext } from "./engine.js";

export const VIRTIO_ID_CONSOLE = 3;
const RX = 0, TX = 1;
const INPUT_LIMIT = 1 << 20; // bytes of pending input kept while the guest reads nothing

export class ConsoleBackend implements Backend {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ctx: DeviceContext | null = null;
  private held = false;
  constructor(private readonly output: (b: Uint8Array) => void) {}

  onQueue(ctx: DeviceContext, q: number): void {
    this.ctx = ctx;
    if (q === TX) {
      for (let c = ctx.pop(TX); c !== null; c = ctx.pop(TX)) {
        if (!c.failed && c.readable > 0) {
          const b = new Uint8Array(c.readable);
          c.read(ctx.mem, 0, b);
          this.output(b);
        }
        ctx.push(TX, c, 0);
      }
    } else if (q === RX) this.deliver();
  }

  activated(ctx: DeviceContext): void { this.ctx = ctx; this.deliver(); }

  /** Host input for the guest. */
  input(b: Uint8Array): void {
    if (this.pendingBytes + b.length > INPUT_LIMIT) return; // the guest is not reading: drop, as a serial line would
    this.pending.push(b.slice());
    this.pendingBytes += b.length;
    this.deliver();
  }

  hold(on: boolean): void { this.held = on; if (!on) this.deliver(); }

  private deliver(): void {
    const ctx = this.ctx;
    if (this.held || !ctx || !ctx.live()) return;
    while (this.pending.length) {
      const c = ctx.pop(RX);
      if (c === null) return;
      if (c.failed) { ctx.push(RX, c, 0); continue; }
      let n = 0;
      while (this.pending.length && n < c.writable) {
        const head = this.pending[0], take = Math.min(head.length, c.writable - n);
        c.write(ctx.mem, n, head.subarray(0, take));
        n += take;
        this.pendingBytes -= take;
        if (take === head.length) this.pending.shift(); else this.pending[0] = head.subarray(take);
      }
      ctx.push(RX, c, n);
    }
  }

  reset(): void { this.ctx = null; }

  /** Input the guest has not read yet. */
  saveState(): unknown { return { v: 1, pending: Buffer.concat(this.pending).toString("base64") }; }
  loadState(st: unknown): void {
    const s = st as { v?: number; pending?: unknown };
    if (s?.v !== 1 || typeof s.pending !== "string") throw new Error("virtio-console state is malformed");
    const b = new Uint8Array(Buffer.from(s.pending, "base64"));
    this.pending = b.length ? [b] : [];
    this.pendingBytes = b.length;
  }
}
