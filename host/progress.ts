// Progress of long operations (snapshots, merges, migration): one redrawn status line on a terminal, nothing
// elsewhere, and a small typed event emitter so that the embedding API can deliver the same objects as events.
import { EventEmitter } from "node:events";

/** How far a long operation is. `done`/`total` are bytes (total 0 when not known in advance). */
export interface Progress {
  phase: string;
  done: number;
  total: number;
}

/** The part of a stream the reporter uses (a process.stderr, or a fake in tests). */
export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

/** Callable with each Progress (so it can be passed as an onProgress callback); finish() ends the line. */
export interface ProgressReporter {
  (p: Progress): void;
  finish(): void;
}

const MiB = 1024 * 1024;
const mib = (n: number) => (n / MiB).toFixed(1);

/**
 * A reporter that redraws one line `label: phase done/total MiB (pct%) rate MiB/s` on a TTY at most once per
 * `intervalMs` (default 100: faster redraws only cost the terminal time) and ends it with a newline on finish().
 * On anything that is not a TTY (a pipe, a log file, null) it prints nothing, so logs are not filled with `\r`.
 */
export function progressReporter(stream: ProgressStream | null, label: string,
  opts: { intervalMs?: number; now?: () => number } = {}): ProgressReporter {
  const tty = stream !== null && stream.isTTY === true;
  const now = opts.now ?? (() => performance.now());
  const interval = opts.intervalMs ?? 100;
  const start = now();
  let lastDraw = -Infinity;
  let last: Progress | null = null;
  let drawn = false;
  let finished = false;

  const draw = (p: Progress, t: number) => {
    const secs = (t - start) / 1000;
    const rate = secs > 0 ? `${mib(p.done / secs)} MiB/s` : "";
    const amount = p.total > 0
      ? `${mib(p.done)}/${mib(p.total)} MiB (${Math.floor((100 * p.done) / p.total)}%)`
      : `${mib(p.done)} MiB`;
    // \r returns to column 0; ESC[K clears what a longer previous line left behind.
    stream!.write(`\r${label}: ${p.phase} ${amount}${rate ? " " + rate : ""}\x1b[K`);
    drawn = true;
    lastDraw = t;
  };

  const report = ((p: Progress) => {
    if (!tty || finished) return;
    last = { ...p };
    const t = now();
    if (t - lastDraw >= interval) draw(last, t);
  }) as ProgressReporter;
  report.finish = () => {
    if (!tty || finished) return;
    finished = true;
    if (last !== null) draw(last, now()); // the final state, even if the last update fell inside the interval
    if (drawn) stream!.write("\n");
  };
  return report;
}

/**
 * EventEmitter with typed event names and arguments: `new TypedEmitter<{ progress: [Progress]; done: [] }>()`.
 * A thin wrapper rather than a subclass, so the untyped overloads of EventEmitter cannot be called by mistake.
 */
export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly ee = new EventEmitter();
  on<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.ee.on(event, fn as (...a: unknown[]) => void);
    return this;
  }
  once<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.ee.once(event, fn as (...a: unknown[]) => void);
    return this;
  }
  off<K extends keyof E & string>(event: K, fn: (...args: E[K]) => void): this {
    this.ee.off(event, fn as (...a: unknown[]) => void);
    return this;
  }
  emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.ee.emit(event, ...args);
  }
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }
}
