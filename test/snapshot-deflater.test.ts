// The snapshot writer's DEFLATE engine (host/snapshot/deflater.ts): in place, byte for byte deflateRawSync's output.
import { describe, it, expect } from "vitest";
import { randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { deflateInto, deflatesInPlace, inflateHead } from "../host/snapshot/deflater.js";
import { encodeSync, CODEC_DEFLATE, CODEC_STORED } from "../host/snapshot/record.js";

/** Compressible, not trivially: 32-bit pseudo-random values in 64-bit words (as the snapshot benchmark's pages). */
function words(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n), dv = new DataView(b.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= n; i += 8) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; dv.setUint32(i, x, true); }
  return b;
}

describe("deflateInto", () => {
  it("writes in place on this Node (the fallback would silently lose the speed-up)", () => {
    expect(deflatesInPlace(1)).toBe(true);
  });

  it("produces deflateRawSync's bytes, call after call, at several levels and sizes, inside its window only", () => {
    const room = new Uint8Array(new SharedArrayBuffer(1 << 20));
    for (const level of [1, 6, 9]) {
      for (const [n, seed] of [[1 << 19, 1], [4096, 2], [0, 3], [300_000, 4], [1 << 19, 5]]) {
        const src = words(n, seed + level * 10);
        room.fill(0xa5);
        const at = 100, win = room.subarray(at, at + n + 64);
        const len = deflateInto(src, win, level);
        expect(len).toBeGreaterThan(0);
        expect(Buffer.from(win.subarray(0, len)).equals(deflateRawSync(src, { level }))).toBe(true);
        expect(inflateRawSync(win.subarray(0, len)).equals(Buffer.from(src))).toBe(true);
        // Nothing written before the window or after the compressed bytes.
        expect(room.subarray(0, at).every((b) => b === 0xa5)).toBe(true);
        expect(room.subarray(at + len, at + len + 4096).every((b) => b === 0xa5)).toBe(true);
      }
    }
  });

  it("returns -1 when the result does not fit, and the next call is whole", () => {
    const rnd = randomBytes(64 << 10);
    expect(deflateInto(rnd, new Uint8Array(rnd.length - 1), 1)).toBe(-1); // random data is not made smaller
    const src = words(1 << 18, 7);
    const full = deflateRawSync(src, { level: 1 });
    expect(deflateInto(src, new Uint8Array(full.length), 1)).toBe(-1); // exactly full: not known to be complete
    expect(deflateInto(src, new Uint8Array(full.length - 1000), 1)).toBe(-1);
    const out = new Uint8Array(full.length + 1);
    expect(deflateInto(src, out, 1)).toBe(full.length);
    expect(Buffer.from(out.subarray(0, full.length)).equals(full)).toBe(true);
  });

  it("encodeSync stores what compression does not make smaller, and compresses into the given room", () => {
    const rnd = randomBytes(8192);
    const a = encodeSync(rnd, 1, new Uint8Array(rnd.length - 1));
    expect(a.codec).toBe(CODEC_STORED);
    expect(a.stored).toBe(rnd);
    const src = words(8192, 9), room = new Uint8Array(src.length - 1);
    const b = encodeSync(src, 1, room);
    expect(b.codec).toBe(CODEC_DEFLATE);
    expect(b.stored.buffer).toBe(room.buffer);
    expect(Buffer.from(b.stored).equals(deflateRawSync(src, { level: 1 }))).toBe(true);
    const c = encodeSync(src, 1); // without room: a buffer of its own, not the reused scratch
    const d = encodeSync(words(8192, 10), 1);
    expect(Buffer.from(c.stored).equals(deflateRawSync(src, { level: 1 }))).toBe(true);
    expect(c.stored.buffer).not.toBe(d.stored.buffer);
    expect(encodeSync(src, 0).codec).toBe(CODEC_STORED);
  });

  it("inflateHead gives the first bytes only, the whole of short data, and refuses what is not DEFLATE", () => {
    const raw = words(1 << 20, 11), z = deflateRawSync(raw, { level: 1 });
    const head = new Uint8Array(1028);
    expect(inflateHead(z, head)).toBe(1028);
    expect(Buffer.from(head).equals(Buffer.from(raw.subarray(0, 1028)))).toBe(true);
    const bad = Buffer.from(z); bad.fill(0xff, 0, 32);
    expect(() => inflateHead(bad, head)).toThrow(/not valid DEFLATE/);
    expect(inflateHead(z, head)).toBe(1028); // (a new engine after the error)
    expect(inflateHead(deflateRawSync(Buffer.from("hello")), head)).toBe(5);
    expect(Buffer.from(head.subarray(0, 5)).toString()).toBe("hello");
  });
});
