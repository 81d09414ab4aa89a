// Linux boot support: the RISC-V Image header (Documentation/arch/riscv/boot-image-header.rst) and the placement
// of kernel, initrd and device tree in guest RAM as the RISC-V Linux boot protocol expects them.
import { WasmvisorError } from "./errors.js";

export interface LinuxImage {
  /** Offset from the start of RAM where the image must be loaded (2 MiB-aligned for RV64). */
  textOffset: bigint;
  /** Bytes of memory the kernel occupies once loaded (including its BSS). */
  imageSize: bigint;
  version: number;
}

const MAGIC2 = 0x05435352; // "RSC\x05"

/** True if buf starts with a RISC-V Linux Image header. */
export function isLinuxImage(buf: Uint8Array): boolean {
  if (buf.length < 64) return false;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return dv.getUint32(56, true) === MAGIC2 ||
    new TextDecoder().decode(buf.subarray(48, 53)) === "RISCV";
}

export function parseLinuxImage(buf: Uint8Array, name = "kernel"): LinuxImage {
  if (!isLinuxImage(buf)) throw new WasmvisorError(`${name}: not a RISC-V Linux Image (no "RSC\\x05" magic at 0x38)`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const textOffset = dv.getBigUint64(8, true);
  let imageSize = dv.getBigUint64(16, true);
  const version = dv.getUint32(32, true);
  if (imageSize === 0n) imageSize = BigInt(buf.length); // header version 0.1 allows 0: use the file size
  if (imageSize < BigInt(buf.length)) throw new WasmvisorError(`${name}: image_size ${imageSize} is smaller than the file`);
  if (textOffset % 4096n !== 0n) throw new WasmvisorError(`${name}: text_offset 0x${textOffset.toString(16)} is not page-aligned`);
  return { textOffset, imageSize, version };
}

export interface BootLayout { kernel: bigint; kernelEnd: bigint; initrd?: { start: bigint; end: bigint }; dtb: bigint }

const MiB = 1024n * 1024n;
const alignDown = (v: bigint, a: bigint) => v - (v % a);
const alignUp = (v: bigint, a: bigint) => alignDown(v + a - 1n, a);

/**
 * Where things go, as QEMU's virt machine does it: the kernel at RAM + text_offset, the device tree in the last
 * 2 MiB-aligned slot of RAM (below 4 GiB of RAM), the initrd below it, and never overlapping the kernel image.
 */
export function layoutBoot(ramBase: bigint, ramBytes: bigint, img: LinuxImage, initrdBytes: number | undefined, dtbBytes: number): BootLayout {
  const kernel = ramBase + img.textOffset;
  const kernelEnd = kernel + img.imageSize;
  const top = ramBase + (ramBytes < 3072n * MiB ? ramBytes : 3072n * MiB);
  const dtb = alignDown(top - BigInt(dtbBytes), 2n * MiB);
  if (dtb < alignUp(kernelEnd, 2n * MiB)) throw new WasmvisorError(`guest RAM is too small for this kernel (${ramBytes / MiB} MiB)`);
  if (initrdBytes === undefined) return { kernel, kernelEnd, dtb };
  const start = alignDown(dtb - BigInt(initrdBytes), 4096n);
  if (start < alignUp(kernelEnd, 2n * MiB)) throw new WasmvisorError(`guest RAM is too small for this kernel and initrd (${ramBytes / MiB} MiB)`);
  return { kernel, kernelEnd, initrd: { start, end: start + BigInt(initrdBytes) }, dtb };
}
