// The benchmark's statistics helpers: the bootstrap interval of a median (bench/stats.ts).
import { describe, it, expect } from "vitest";
import { median, medianInterval } from "../bench/stats.js";

describe("medianInterval", () => {
  it("brackets the median and narrows as samples are added", () => {
    let x = 12345;
    const noise = () => { x = (x * 1103515245 + 12345) >>> 0; return (x / 2 ** 32 - 0.5) * 0.2; };
    const few = Array.from({ length: 15 }, () => 1.05 + noise());
    const many = Array.from({ length: 301 }, () => 1.05 + noise());
    const [lo, hi] = medianInterval(few), [lo2, hi2] = medianInterval(many);
    expect(lo).toBeLessThanOrEqual(median(few));
    expect(hi).toBeGreaterThanOrEqual(median(few));
    expect(hi2 - lo2).toBeLessThan((hi - lo) / 2);
    expect(lo2).toBeLessThan(1.05);
    expect(hi2).toBeGreaterThan(1.05);
  });

  it("is the same from run to run (fixed seed), and a point for identical samples", () => {
    const xs = [1.2, 0.9, 1.0, 1.1, 1.05, 0.98, 1.3];
    expect(medianInterval(xs)).toEqual(medianInterval(xs));
    expect(medianInterval([2, 2, 2])).toEqual([2, 2]);
    expect(medianInterval([]).every(Number.isNaN)).toBe(true);
  });
});
