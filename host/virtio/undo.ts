// A disk's copy-before-write log, which makes checkpoints consistent with their disk images: the old contents of
// every 4 KiB block the guest overwrites after a checkpoint, made durable before the write, so that a restore of
// that checkpoint puts the disk back as it was then (rollbackDisk). One log per disk and checkpoint ("epoch").
//
// File layout (little-endian): a 32-byte header — magic "WVUNDO01", u64 image size, u64 epoch, u32 CRC-32 of the
// 24 bytes before it, 4 zero bytes — then records: u64 block number, u32 length (the block's bytes that exist:
// 4096, less for a last partial block), u32 CRC-32 of the block number, the length and the data, then the data.
// Records are appended and the log is synced before the write they guard, so a record that is torn or fails its
// checksum (a crash while appending) guards a write that never happened: reading stops there.
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { WasmvisorError } from "../errors.js";
import { syncDir } from "../snapshot/atomic.js";
import type { DeviceSpec } from "./backends.js";

export const UNDO_BLOCK = 4096;
const MAGIC = Buffer.from("WVUNDO01", "latin1");
const HEADER = 32;
const RECORD_HEAD = 16;

/**
 * The names of the logs of checkpoint file `checkpoint`, by slot, for each writable disk among `devices` (slot =
 * index): `checkpoint`.disk<slot>.undo (each log is that name plus ".epoch").
 */
export function checkpointUndoLogs(checkpoint: string, devices: readonly DeviceSpec[]): Record<number, string> {
  const logs: Record<number, string> = {};
  devices.forEach((d, slot) => { if (d.kind === "blk" && !d.readonly) logs[slot] = `${checkpoint}.disk${slot}.undo`; });
  return logs;
}

/** The log of checkpoint `epoch` of the disk whose logs are named `base`.N. */
export function undoLogPath(base: string, epoch: number): string {
  return `${base}.${epoch}`;
}

function header(imageBytes: number, epoch: number): Buffer {
  const h = Buffer.alloc(HEADER);
  MAGIC.copy(h, 0);
  h.writeBigUInt64LE(BigInt(imageBytes), 8);
  h.writeBigUInt64LE(BigInt(epoch), 16);
  h.writeUInt32LE(crc32(h.subarray(0, 24)), 24);
  return h;
}

/**
 * The copy-before-write log a writable disk keeps from a checkpoint on. A log of the same checkpoint that exists
 * already is continued (a restored VM goes on with the log of the checkpoint it came from, whose records hold
 * what the blocks had then; devices attached again after a failed migration go on likewise); any other file of
 * that name is replaced.
 */
export class UndoLog {
  /** Blocks already saved in this log: a block's old contents are saved once per checkpoint. */
  private readonly saved: Uint8Array;
  private readonly old = Buffer.alloc(UNDO_BLOCK);
  private readonly head = Buffer.alloc(RECORD_HEAD);
  private pos = HEADER;
  readonly blocks = { saved: 0 };

  private constructor(private readonly fd: number, readonly file: string, private readonly imageBytes: number) {
    this.saved = new Uint8Array(Math.ceil(Math.ceil(imageBytes / UNDO_BLOCK) / 8));
  }

  static open(base: string, epoch: number, imageBytes: number): UndoLog {
    const file = undoLogPath(base, epoch);
    let existing: Buffer | null = null;
    try { existing = fs.readFileSync(file); } catch { /* none yet */ }
    const mine = existing !== null && existing.length >= HEADER && existing.subarray(0, HEADER).equals(header(imageBytes, epoch));
    const fd = fs.openSync(file, mine ? "r+" : "w");
    let log: UndoLog;
    try {
      log = new UndoLog(fd, file, imageBytes);
      if (mine) {
        // Continued: the blocks it holds are saved already; a torn tail is cut off.
        log.pos = scan(existing!, (block) => { log.saved[block >> 3] |= 1 << (block & 7); log.blocks.saved++; });
        fs.ftruncateSync(fd, log.pos);
      } else {
        fs.writeSync(fd, header(imageBytes, epoch), 0, HEADER, 0);
      }
      fs.fsyncSync(fd);
      if (!mine) syncDir(path.dirname(file)); // (a new file: its directory entry too)
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return log;
  }

  /**
   * Call before writing image bytes [pos, pos + len): saves the old contents of the blocks in that range not saved
   * since the checkpoint, and makes them durable, so that the write may then go ahead.
   */
  before(imageFd: number, pos: number, len: number): void {
    if (len <= 0) return;
    const first = Math.floor(pos / UNDO_BLOCK), last = Math.floor((Math.min(pos + len, this.imageBytes) - 1) / UNDO_BLOCK);
    let added = false;
    for (let b = first; b <= last; b++) {
      if (this.saved[b >> 3] & (1 << (b & 7))) continue;
      const n = fs.readSync(imageFd, this.old, 0, Math.min(UNDO_BLOCK, this.imageBytes - b * UNDO_BLOCK), b * UNDO_BLOCK);
      const head = this.head;
      head.writeBigUInt64LE(BigInt(b), 0);
      head.writeUInt32LE(n, 8);
      head.writeUInt32LE(crc32(this.old.subarray(0, n), crc32(head.subarray(0, 12))), 12);
      this.pos += fs.writevSync(this.fd, [head, this.old.subarray(0, n)], this.pos);
      this.saved[b >> 3] |= 1 << (b & 7);
      this.blocks.saved++;
      added = true;
    }
    if (added) fs.fdatasyncSync(this.fd);
  }

  close(): void { try { fs.closeSync(this.fd); } catch { /* already closed */ } }
}

/** Epochs of the logs named `base`.N that exist, ascending. */
export function undoEpochs(base: string): number[] {
  const dir = path.dirname(base), prefix = `${path.basename(base)}.`;
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  return names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length))).filter(Number.isSafeInteger).sort((a, b) => a - b);
}

/**
 * Puts the disk image `image` back as it was at checkpoint `epoch`: the logs of that checkpoint and of every later
 * one (a later checkpoint may have begun and never been completed) are applied newest first — each block gets the
 * contents it had before the first write after each checkpoint, so the oldest such copy wins — then the image is
 * synced and the later logs are removed. Idempotent: interrupted, it can run again. Throws one line for a log of
 * another image. Returns how many blocks were written back.
 */
export function rollbackDisk(image: string, base: string, epoch: number): number {
  const logs = undoEpochs(base).filter((e) => e >= epoch).reverse();
  if (!logs.length) return 0;
  const fd = fs.openSync(image, "r+");
  let restored = 0;
  try {
    const imageBytes = fs.fstatSync(fd).size;
    for (const e of logs) restored += applyLog(undoLogPath(base, e), e, fd, imageBytes, image);
    fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
  for (const e of logs) if (e > epoch) fs.rmSync(undoLogPath(base, e), { force: true });
  return restored;
}

function applyLog(file: string, epoch: number, imageFd: number, imageBytes: number, image: string): number {
  const log = fs.readFileSync(file);
  const h = log.subarray(0, HEADER);
  // A log whose header never became durable guards nothing (the first write after it waits for its records).
  if (log.length < HEADER || !h.subarray(0, 8).equals(MAGIC) || h.readUInt32LE(24) !== crc32(h.subarray(0, 24))) return 0;
  if (Number(h.readBigUInt64LE(16)) !== epoch) throw new WasmvisorError(`${file}: an undo log of checkpoint ${h.readBigUInt64LE(16)}, not ${epoch}`);
  if (Number(h.readBigUInt64LE(8)) !== imageBytes) throw new WasmvisorError(`${file} is the undo log of a ${h.readBigUInt64LE(8)}-byte image; ${image} has ${imageBytes} bytes`);
  let n = 0;
  scan(log, (block, data) => {
    if (block * UNDO_BLOCK + data.length > imageBytes) throw new WasmvisorError(`${file}: block ${block} lies outside ${image}`);
    fs.writeSync(imageFd, data, 0, data.length, block * UNDO_BLOCK);
    n++;
  });
  return n;
}

/** Calls `each` for every whole record of a log (after its header), in order; returns where the valid records end. */
function scan(log: Buffer, each: (block: number, data: Buffer) => void): number {
  let at = HEADER;
  while (at + RECORD_HEAD <= log.length) {
    const block = Number(log.readBigUInt64LE(at)), len = log.readUInt32LE(at + 8), sum = log.readUInt32LE(at + 12);
    const data = log.subarray(at + RECORD_HEAD, at + RECORD_HEAD + len);
    if (len > UNDO_BLOCK || data.length !== len || crc32(data, crc32(log.subarray(at, at + 12))) !== sum) break; // torn tail
    each(block, data);
    at += RECORD_HEAD + len;
  }
  return at;
}

/** Removes the logs named `base`.N with N < epoch (checkpoint `epoch` is durable: older ones are not needed). */
export function removeUndoLogsBefore(base: string, epoch: number): void {
  for (const e of undoEpochs(base)) if (e < epoch) fs.rmSync(undoLogPath(base, e), { force: true });
}
