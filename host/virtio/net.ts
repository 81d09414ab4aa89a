// virtio-net back end (VIRTIO 1.2 §5.1): frames the guest transmits go to a switch port; frames from the port
// are written into the guest's receive buffers (waiting, up to a limit, while the guest has posted none).
import type { Backend, DeviceContext } from "./engine.js";

export const VIRTIO_ID_NET = 1;
const F_MAC = 5, F_STATUS = 16;
const RX = 0, TX = 1;
const HDR = 12; // struct virtio_net_hdr with num_buffers (VERSION_1, §5.1.6)
const RX_BACKLOG = 256;
export const NET_QUEUE_SIZE = 256;

export function netFeatures(): bigint { return (1n << BigInt(F_MAC)) | (1n << BigInt(F_STATUS)) | (1n << 28n) | (1n << 29n); }

/** Configuration space (§5.1.4): mac, status (LINK_UP). */
export function netConfig(mac: Uint8Array): Uint8Array {
  const c = new Uint8Array(8);
  c.set(mac, 0);
  c[6] = 1; // VIRTIO_NET_S_LINK_UP
  return c;
}

/** Parses "52:54:00:12:34:56". */
export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-f]{2})(?::([0-9a-f]{2})){5}$/i.test(s) ? s.split(":").map((h) => parseInt(h, 16)) : null;
  return m ? Uint8Array.from(m) : null;
}

export class NetBackend implements Backend {
  private backlog: Uint8Array[] = [];
  private ctx: DeviceContext | null = null;
  private held = false;
  readonly stats = { txFrames: 0, rxFrames: 0, rxDropped: 0 };
  /** send: hands a transmitted Ethernet frame to the switch. */
  constructor(private readonly send: (frame: Uint8Array) => void) {}

  onQueue(ctx: DeviceContext, q: number): void {
    this.ctx = ctx;
    if (q === TX) {
      for (let c = ctx.pop(TX); c !== null; c = ctx.pop(TX)) {
        if (!c.failed && c.readable > HDR && c.readable <= HDR + 65550) {
          const f = new Uint8Array(c.readable - HDR);
          c.read(ctx.mem, HDR, f);
          this.stats.txFrames++;
          this.send(f);
        }
        ctx.push(TX, c, 0);
      }
    } else if (q === RX) this.deliver();
  }

  activated(ctx: DeviceContext): void { this.ctx = ctx; this.deliver(); }

  /** A frame from the switch for this guest. */
  receive(frame: Uint8Array): void {
    if (this.backlog.length >= RX_BACKLOG) { this.stats.rxDropped++; return; }
    this.backlog.push(frame);
    this.deliver();
  }

  hold(on: boolean): void { this.held = on; if (!on) this.deliver(); }

  private deliver(): void {
    const ctx = this.ctx;
    if (this.held || !ctx || !ctx.live()) return;
    while (this.backlog.length) {
      const c = ctx.pop(RX);
      if (c === null) return;
      const f = this.backlog.shift()!;
      if (c.failed || c.writable < HDR + f.length) { this.stats.rxDropped++; ctx.push(RX, c, 0); continue; }
      const hdr = new Uint8Array(HDR);
      hdr[10] = 1; // num_buffers
      c.write(ctx.mem, 0, hdr);
      c.write(ctx.mem, HDR, f);
      this.stats.rxFrames++;
      ctx.push(RX, c, HDR + f.length);
    }
  }

  reset(): void { this.backlog = []; this.ctx = null; }

  /** Frames received from the switch that the guest has not taken yet. */
  saveState(): unknown { return { v: 1, backlog: this.backlog.map((f) => Buffer.from(f).toString("base64")) }; }
  loadState(st: unknown): void {
    const s = st as { v?: number; backlog?: unknown };
    if (s?.v !== 1 || !Array.isArray(s.backlog) || s.backlog.length > RX_BACKLOG || !s.backlog.every((f) => typeof f === "string")) {
      throw new Error("virtio-net state is malformed");
    }
    this.backlog = (s.backlog as string[]).map((f) => new Uint8Array(Buffer.from(f, "base64")));
  }
}
