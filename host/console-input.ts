// Console input waiting for the guest's UART: bytes typed (or written through the API) queue here and are handed to
// the UART as its receive FIFO drains. Part of the VM's state: a snapshot or a migration carries what is queued.

/** What the queue hands bytes to (the VM's UART: Vm.input returns how many bytes its FIFO took). */
export interface ConsoleSink { input(bytes: Uint8Array): number }

export class InputQueue {
  private chunks: Uint8Array[] = [];
  private ended = false;
  push(b: Uint8Array): void { if (b.length) this.chunks.push(b); }
  end(): void { this.ended = true; }
  /** True while more input may arrive or some is still queued. */
  get live(): boolean { return !this.ended || this.chunks.length > 0; }
  get pending(): boolean { return this.chunks.length > 0; }
  /** A copy of the bytes still queued (what a snapshot saves; the queue keeps them). */
  queued(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) { out.set(c, at); at += c.length; }
    return out;
  }
  /** Gives as much as the VM takes. */
  deliver(vm: ConsoleSink): void {
    while (this.chunks.length) {
      const c = this.chunks[0];
      const n = vm.input(c);
      if (n === c.length) this.chunks.shift(); else { this.chunks[0] = c.subarray(n); return; }
    }
  }
}
