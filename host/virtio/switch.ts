// The virtual switch that connects the virtio-net devices of the VMs in one host process (a learning Ethernet
// switch), and the UDP bridge that joins switches in different host processes (a simulated cluster on one node).
import * as dgram from "node:dgram";
import { WasmvisorError } from "../errors.js";

export interface SwitchPort { deliver(frame: Uint8Array): void }

const BROADCAST = (f: Uint8Array) => (f[0] & 1) !== 0; // group bit of the destination MAC
const macKey = (f: Uint8Array, off: number) => Array.from(f.subarray(off, off + 6), (b) => b.toString(16).padStart(2, "0")).join(":");

export class VirtualSwitch {
  private ports: SwitchPort[] = [];
  private table = new Map<string, SwitchPort>(); // MAC -> port it was last seen on
  readonly stats = { frames: 0, flooded: 0, dropped: 0 };

  /** Connects a port; returns the function the port calls to send a frame into the switch. */
  connect(port: SwitchPort): (frame: Uint8Array) => void {
    this.ports.push(port);
    return (frame) => this.forward(port, frame);
  }

  disconnect(port: SwitchPort): void {
    this.ports = this.ports.filter((p) => p !== port);
    for (const [m, p] of this.table) if (p === port) this.table.delete(m);
  }

  private forward(from: SwitchPort, f: Uint8Array): void {
    if (f.length < 14) { this.stats.dropped++; return; }
    this.stats.frames++;
    if (!BROADCAST(f.subarray(6))) this.table.set(macKey(f, 6), from);
    const to = BROADCAST(f) ? undefined : this.table.get(macKey(f, 0));
    if (to !== undefined) { if (to !== from) to.deliver(f); return; }
    this.stats.flooded++;
    for (const p of this.ports) if (p !== from) p.deliver(f);
  }
}

/** The process-wide switch the CLI and API connect VMs to. */
export const defaultSwitch = new VirtualSwitch();

/**
 * Bridges `sw` to the switch of another process over UDP on loopback: every frame the switch floods or sends this
 * way goes out as one datagram, and datagrams from the peer enter the switch. "LOCALPORT:PEERHOST:PEERPORT".
 */
export async function udpBridge(sw: VirtualSwitch, spec: string): Promise<{ close(): void; port: number }> {
  const m = /^(\d+):([^:]+):(\d+)$/.exec(spec);
  if (!m) throw new WasmvisorError(`--bridge: want LOCALPORT:PEERHOST:PEERPORT (got ${JSON.stringify(spec)})`);
  const [local, host, remote] = [Number(m[1]), m[2], Number(m[3])];
  if (local > 65535 || remote < 1 || remote > 65535) throw new WasmvisorError(`--bridge: port out of range in ${spec}`);
  const sock = dgram.createSocket("udp4");
  const port: SwitchPort = { deliver: (f) => sock.send(f, remote, host) };
  await new Promise<void>((resolve, reject) => {
    sock.once("error", (e) => reject(new WasmvisorError(`--bridge: cannot bind UDP port ${local}: ${e.message}`)));
    sock.bind(local, "127.0.0.1", () => resolve());
  });
  sock.on("error", () => { /* a peer that is not up yet: ICMP unreachable; frames are lost as on a real wire */ });
  const send = sw.connect(port);
  sock.on("message", (msg) => { if (msg.length >= 14 && msg.length <= 65535) send(new Uint8Array(msg)); });
  sock.unref();
  return { close: () => { sw.disconnect(port); sock.close(); }, port: sock.address().port };
}
