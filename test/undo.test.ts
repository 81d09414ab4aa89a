// A disk's copy-before-write log (host/virtio/undo.ts): what a restore of a checkpoint rolls back, in which order,
// and what it does with a torn or foreign log.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UndoLog, UNDO_BLOCK, rollbackDisk, removeUndoLogsBefore, undoEpochs, undoLogPath } from "../host/virtio/undo.js";

let dir: string, image: string, base: string;
const SIZE = 3 * UNDO_BLOCK + 1536; // three whole blocks and a partial one (512-byte sectors)

/** Writes `fill` over image bytes [pos, pos+len), through the log (as the blk back end does) if one is given. */
function write(log: UndoLog | null, pos: number, len: number, fill: number): void {
  const fd = openSync(image, "r+");
  try {
    log?.before(fd, pos, len);
    writeSync(fd, new Uint8Array(len).fill(fill), 0, len, pos);
  } finally { closeSync(fd); }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "wv-undo-"));
  image = join(dir, "disk.img");
  base = join(dir, "ck.wvs.disk0.undo");
  writeFileSync(image, Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) & 0xff));
});
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

describe("disk copy-before-write log", () => {
  it("rolls a disk back to any checkpoint whose logs are kept: the newest logs first, a block's oldest copy wins", () => {
    const at0 = readFileSync(image);
    const l1 = UndoLog.open(base, 1, SIZE);
    write(l1, 100, 5000, 0xa1);            // blocks 0 and 1
    write(l1, 3 * UNDO_BLOCK, 1536, 0xa2); // the partial last block
    write(l1, 0, 512, 0xa3);               // block 0 again: saved once
    expect(l1.blocks.saved).toBe(3);
    const at1 = readFileSync(image);
    const l2 = UndoLog.open(base, 2, SIZE); // the next checkpoint (its log begun while the VM was held)
    l1.close();
    write(l2, 0, 2 * UNDO_BLOCK + 512, 0xb1); // blocks 0, 1, 2
    l2.close();
    expect(undoEpochs(base)).toEqual([1, 2]);
    // Checkpoint 2 was taken: back to it.
    const now = readFileSync(image);
    expect(rollbackDisk(image, base, 2)).toBe(3);
    expect(readFileSync(image).equals(at1)).toBe(true);
    // Checkpoint 2 never became durable: back to checkpoint 1 (log 2, then log 1), and log 2 is gone.
    writeFileSync(image, now);
    expect(rollbackDisk(image, base, 1)).toBe(6);
    expect(readFileSync(image).equals(at0)).toBe(true);
    expect(undoEpochs(base)).toEqual([1]);
    // Again (a restore interrupted and run again): the same result.
    rollbackDisk(image, base, 1);
    expect(readFileSync(image).equals(at0)).toBe(true);
    // Once checkpoint 2 is durable, log 1 goes.
    UndoLog.open(base, 2, SIZE).close();
    removeUndoLogsBefore(base, 2);
    expect(undoEpochs(base)).toEqual([2]);
  });

  it("a record torn by a crash guards a write that never happened: rollback stops there", () => {
    const at0 = readFileSync(image);
    const log = UndoLog.open(base, 1, SIZE);
    write(log, 0, 512, 0x11);
    log.close();
    const whole = statSync(undoLogPath(base, 1)).size;
    // A second record cut short (its write never went out: the image still has block 2's old bytes).
    const fd = openSync(undoLogPath(base, 1), "r+");
    writeSync(fd, new Uint8Array(100).fill(0xee), 0, 100, whole);
    closeSync(fd);
    expect(rollbackDisk(image, base, 1)).toBe(1);
    expect(readFileSync(image).equals(at0)).toBe(true);
    // A damaged record (a flipped bit) ends the log the same way.
    write(UndoLog.open(base, 1, SIZE), 0, 512, 0x22); // (continues the log: block 0 is saved already)
    const bytes = readFileSync(undoLogPath(base, 1));
    bytes[40] ^= 1;
    writeFileSync(undoLogPath(base, 1), bytes);
    expect(rollbackDisk(image, base, 1)).toBe(0);
  });

  it("a log of the same checkpoint is continued (a restored VM goes on with it); a block is saved once", () => {
    const at0 = readFileSync(image);
    const a = UndoLog.open(base, 1, SIZE);
    write(a, 0, UNDO_BLOCK, 0x31);
    a.close();
    rollbackDisk(image, base, 1); // a restore: the disk is back at the checkpoint ...
    const b = UndoLog.open(base, 1, SIZE); // ... and logs against it again
    expect(b.blocks.saved).toBe(1);
    write(b, 0, UNDO_BLOCK, 0x32);   // block 0: saved already (its copy is the checkpoint's)
    write(b, UNDO_BLOCK, 512, 0x33); // block 1: saved now
    b.close();
    rollbackDisk(image, base, 1);
    expect(readFileSync(image).equals(at0)).toBe(true);
  });

  it("refuses a log of another image, in one line; a log whose header never became durable guards nothing", () => {
    const log = UndoLog.open(base, 1, SIZE);
    write(log, 0, 512, 0x41);
    log.close();
    truncateSync(image, SIZE + 512);
    expect(() => rollbackDisk(image, base, 1)).toThrow(/undo log of a 13824-byte image; .*disk\.img has 14336 bytes/);
    truncateSync(image, SIZE);
    writeFileSync(undoLogPath(base, 1), new Uint8Array(10)); // cut inside its header
    expect(rollbackDisk(image, base, 1)).toBe(0);
    expect(existsSync(undoLogPath(base, 1))).toBe(true);
  });
});
