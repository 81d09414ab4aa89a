// Small statistics and formatting helpers shared by the benchmark modules.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0..100), nearest-rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * A 95 % confidence interval of the median of `xs` (percentile bootstrap, 2,000 resamples with a fixed-seed
 * generator, so a run's figures can be recomputed from its samples): how far the median itself may be off
 * because of the noise between samples.
 */
export function medianInterval(xs: readonly number[], resamples = 2000): [number, number] {
  if (xs.length === 0) return [NaN, NaN];
  let seed = 0x9e3779b9;
  const rand = () => { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed / 2 ** 32; };
  const meds: number[] = [];
  const pick = new Array<number>(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) pick[i] = xs[Math.floor(rand() * xs.length)];
    meds.push(median(pick));
  }
  return [percentile(meds, 2.5), percentile(meds, 97.5)];
}

export const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : NaN);
export const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : NaN);

/** Rounds for JSON output (keeps files readable and diffs small). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A number for a table cell: fixed digits, or "n/a". */
export function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

/** Renders rows as a plain-text table; the first row is the header. `align` gives "l" or "r" per column (default "l"). */
export function table(rows: string[][], align: ("l" | "r")[] = []): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r.map((cell = "", c) => (align[c] === "r" ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ").trimEnd();
  const out = [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join("\n");
}

/** Best (lowest, or highest if !lowerIsBetter) and median of samples, rounded, with the samples; nulls if none. */
export interface Summary { best: number | null; median: number | null; samples: number[] }
export function summary(xs: number[], lowerIsBetter = true, digits = 2): Summary {
  return { best: xs.length ? round(lowerIsBetter ? min(xs) : max(xs), digits) : null,
    median: xs.length ? round(median(xs), digits) : null, samples: xs.map((x) => round(x, digits)) };
}
