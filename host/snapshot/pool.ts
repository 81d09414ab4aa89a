// Buffers kept between snapshots: on the machines this project runs on, a fresh megabyte costs the kernel a page
// fault per 4 KiB when first touched (13 ms per 4 MiB measured on CI, a third of a 1,000-page incremental
// snapshot), while a reused one costs nothing. A pool holds a few, and lets them go after a minute of disuse so
// that an idle host process returns to its small footprint.

const IDLE_MS = 60_000;
/**
 * A buffer given back less than this long ago is taken to be still in place (warm does not touch it again): the
 * reclaim warm guards against was seen after seconds of disuse, and touching 4 MiB a byte per page cost ~0.35 ms
 * of the main thread before every snapshot taken in a row.
 */
const RECENT_MS = 1000;

export class BufferPool {
  private free: Buffer[] = [];
  /** When each kept buffer was given back. */
  private readonly givenAt = new WeakMap<Buffer, number>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * keep: how many buffers the pool holds at most. shared: buffers over SharedArrayBuffers, which the compression
   * threads read and write without a copy.
   */
  constructor(private readonly keep: number, private readonly shared = false) {}

  /**
   * A buffer of at least `size` bytes (uninitialised: callers set every byte they use): a kept one that fits, or a
   * new one. Give it back when done.
   */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].length >= size && (best < 0 || this.free[i].length < this.free[best].length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0];
    return this.shared ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafe(size);
  }

  /**
   * Makes sure the pool keeps a buffer of at least `size` bytes whose memory is in place, so that a take() of that
   * size later costs no page faults (done ahead of a moment that must be short). A kept buffer is touched again
   * too (its first `size` bytes, a byte per 4 KiB) unless it was given back within RECENT_MS: the host may have
   * reclaimed memory that went unused for a while (these microVMs' kernels reclaim cold pages), and faulting it back
   * in cost a running guest's first incremental snapshot after a few idle seconds 14–24 ms of pause instead of ~1.5.
   */
  warm(size: number): void {
    const b = this.take(size);
    if (!(performance.now() - (this.givenAt.get(b) ?? -Infinity) < RECENT_MS)) {
      for (let i = 0; i < Math.min(size, b.length); i += 4096) b[i] = 0;
    }
    this.give(b);
  }

  give(b: Buffer): void {
    this.free.push(b);
    this.givenAt.set(b, performance.now());
    // Over the limit: the smallest go (the large ones are the expensive ones to fault in again).
    if (this.free.length > this.keep) this.free.sort((x, y) => y.length - x.length).length = this.keep;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.free = []; }, IDLE_MS).unref();
  }
}
