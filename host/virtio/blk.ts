// virtio-blk back end (VIRTIO 1.2 §5.2) over a raw image file: reads and writes go straight between the file and
// guest memory (readv/writev on the translated segments), flush is a real fsync, discard and write-zeroes write
// zeroes, GET_ID returns the serial number.
import * as fs from "node:fs";
import type { Backend, Chain, DeviceContext } from "./engine.js";
import { UndoLog } from "./undo.js";

export const VIRTIO_ID_BLOCK = 2;
// Feature bits (§5.2.3)
const F_SIZE_MAX = 1, F_SEG_MAX = 2, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13, F_WRITE_ZEROES = 14;
export const F_RING_INDIRECT_DESC = 28, F_RING_EVENT_IDX = 29;
// Request types and status (§5.2.6)
const T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13;
const S_OK = 0, S_IOERR = 1, S_UNSUPP = 2;
const SECTOR = 512;
export const BLK_SEG_MAX = 126;
export const BLK_SIZE_MAX = 65536;
const MAX_ZERO_SECTORS = 32768; // per discard/write-zeroes range: 16 MiB
export const BLK_QUEUE_SIZE = 256;

export interface BlkOptions { path: string; readonly?: boolean; serial?: string }

/** Feature bits offered, as a bigint. */
export function blkFeatures(o: BlkOptions): bigint {
  let f = (1n << BigInt(F_SIZE_MAX)) | (1n << BigInt(F_SEG_MAX)) | (1n << BigInt(F_BLK_SIZE)) | (1n << BigInt(F_FLUSH)) |
    (1n << BigInt(F_RING_INDIRECT_DESC)) | (1n << BigInt(F_RING_EVENT_IDX));
  if (o.readonly) f |= 1n << BigInt(F_RO);
  else f |= (1n << BigInt(F_DISCARD)) | (1n << BigInt(F_WRITE_ZEROES));
  return f;
}

/** The configuration space (§5.2.4) for an image of `bytes` bytes. */
export function blkConfig(bytes: number): Uint8Array {
  const c = new Uint8Array(60), dv = new DataView(c.buffer);
  dv.setBigUint64(0, BigInt(Math.floor(bytes / SECTOR)), true); // capacity in 512-byte sectors
  dv.setUint32(8, BLK_SIZE_MAX, true);                           // size_max
  dv.setUint32(12, BLK_SEG_MAX, true);                           // seg_max
  dv.setUint32(20, SECTOR, true);                                // blk_size
  dv.setUint32(36, MAX_ZERO_SECTORS, true);                      // max_discard_sectors
  dv.setUint32(40, 1, true);                                     // max_discard_seg
  dv.setUint32(44, 1, true);                                     // discard_sector_alignment
  dv.setUint32(48, MAX_ZERO_SECTORS, true);                      // max_write_zeroes_sectors
  dv.setUint32(52, 1, true);                                     // max_write_zeroes_seg
  return c;
}

export class BlkBackend implements Backend {
  private readonly fd: number;
  private readonly sectors: bigint;
  private readonly ro: boolean;
  private readonly serial: Uint8Array;
  private readonly zeros = new Uint8Array(1 << 20);
  /** The copy-before-write log of the current checkpoint (undo.ts), if the VM is checkpointed: see beginUndo. */
  private undo: UndoLog | null = null;
  readonly stats = { reads: 0, writes: 0, flushes: 0, bytesRead: 0, bytesWritten: 0, errors: 0 };

  constructor(o: BlkOptions) {
    this.ro = !!o.readonly;
    this.fd = fs.openSync(o.path, this.ro ? "r" : "r+");
    this.sectors = BigInt(Math.floor(fs.fstatSync(this.fd).size / SECTOR));
    this.serial = new Uint8Array(20);
    this.serial.set(new TextEncoder().encode((o.serial ?? "").slice(0, 20)));
  }

  onQueue(ctx: DeviceContext, q: number): void {
    if (q !== 0) return;
    for (let c = ctx.pop(0); c !== null; c = ctx.pop(0)) {
      const written = this.request(ctx.mem, c);
      ctx.push(0, c, written);
    }
  }

  /** Serves one request; returns the bytes written into the guest's buffers (data + status byte). */
  private request(mem: Uint8Array, c: Chain): number {
    // Layout (§5.2.6): 16-byte header (type, reserved, sector) readable, data, 1-byte status writable at the end.
    if (c.writable < 1) { this.stats.errors++; return 0; } // nowhere to put the status: drop it
    const status = (s: number, data = 0): number => {
      c.write(mem, c.writable - 1, Uint8Array.of(s));
      if (s !== S_OK) this.stats.errors++;
      return data + 1;
    };
    if (c.failed || c.readable < 16) return status(S_IOERR);
    const hdr = new Uint8Array(16);
    c.read(mem, 0, hdr);
    const dv = new DataView(hdr.buffer);
    const type = dv.getUint32(0, true), sector = dv.getBigUint64(8, true);
    try {
      switch (type) {
        case T_IN: {
          const len = c.writable - 1;
          if (!this.inRange(sector, len)) return status(S_IOERR);
          const bufs = c.writableRange(0, len).map((s) => mem.subarray(s.ptr, s.ptr + s.len));
          if (bufs.length) fs.readvSync(this.fd, bufs, Number(sector) * SECTOR);
          this.stats.reads++; this.stats.bytesRead += len;
          return status(S_OK, len);
        }
        case T_OUT: {
          const len = c.readable - 16;
          if (this.ro) return status(S_IOERR);
          if (!this.inRange(sector, len)) return status(S_IOERR);
          const bufs = c.readableRange(16, len).map((s) => mem.subarray(s.ptr, s.ptr + s.len));
          this.undo?.before(this.fd, Number(sector) * SECTOR, len); // (a failure fails the write: IOERR)
          if (bufs.length) fs.writevSync(this.fd, bufs, Number(sector) * SECTOR);
          this.stats.writes++; this.stats.bytesWritten += len;
          return status(S_OK);
        }
        case T_FLUSH:
          if (!this.ro) fs.fsyncSync(this.fd);
          this.stats.flushes++;
          return status(S_OK);
        case T_GET_ID: {
          const n = Math.min(20, c.writable - 1);
          c.write(mem, 0, this.serial.subarray(0, n));
          return status(S_OK, n);
        }
        case T_DISCARD: case T_WRITE_ZEROES: {
          if (this.ro) return status(S_IOERR);
          if ((c.readable - 16) % 16 !== 0 || c.readable === 16) return status(S_IOERR);
          const seg = new Uint8Array(c.readable - 16);
          c.read(mem, 16, seg);
          const sv = new DataView(seg.buffer);
          for (let o = 0; o < seg.length; o += 16) {
            const s = sv.getBigUint64(o, true), n = sv.getUint32(o + 8, true), flags = sv.getUint32(o + 12, true);
            if (n > MAX_ZERO_SECTORS || (flags & ~1) !== 0 || !this.inRange(s, n * SECTOR)) return status(S_IOERR);
            this.zero(Number(s) * SECTOR, n * SECTOR);
          }
          return status(S_OK);
        }
        default: return status(S_UNSUPP);
      }
    } catch {
      return status(S_IOERR); // the host file failed (EIO, ENOSPC): the guest sees an I/O error, the host goes on
    }
  }

  private inRange(sector: bigint, len: number): boolean {
    return len % SECTOR === 0 && sector + BigInt(len / SECTOR) <= this.sectors;
  }

  private zero(pos: number, len: number): void {
    this.undo?.before(this.fd, pos, len);
    while (len > 0) {
      const n = Math.min(len, this.zeros.length);
      fs.writeSync(this.fd, this.zeros, 0, n, pos);
      pos += n; len -= n;
    }
  }

  /**
   * A checkpoint is being taken (the device is quiesced): from now on the old contents of each block are saved in
   * the log of checkpoint `epoch` before the block is first overwritten. Nothing for a read-only disk.
   */
  beginUndo(base: string, epoch: number): void {
    if (this.ro) return;
    const next = UndoLog.open(base, epoch, fs.fstatSync(this.fd).size);
    this.undo?.close();
    this.undo = next;
  }

  close(): void {
    this.undo?.close();
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
  }
}
