// Booting S-mode kernels: the direct path (the core serves SBI) and the firmware path (a boot ROM starts M-mode
// firmware such as OpenSBI with the kernel as its next stage). Shared by the CLI and the embedding API.
import { WasmvisorError } from "./errors.js";
import type { Vm } from "./vm.js";
import { isElf } from "./elf.js";
import { buildFdt, defaultVirtConfig } from "./fdt.js";
import { parseLinuxImage, isLinuxImage, layoutBoot, type LinuxImage } from "./linux.js";

/**
 * Boots a kernel. Direct (no firmware): the core serves SBI and the kernel starts in S-mode with a0 = hart id,
 * a1 = device tree. Firmware path: the firmware is loaded at the start of RAM and started in M-mode from the
 * reset vector (a boot ROM at 0x1000 as QEMU virt has), which passes a0 = hart id, a1 = device tree and
 * a2 = OpenSBI's fw_dynamic_info naming the kernel (at RAM + 2 MiB) as the next stage, in S-mode.
 */
export function bootKernel(vm: Vm, kernel: Uint8Array, name: string, initrd: Uint8Array | undefined, bootargs: string,
  firmware?: Uint8Array, firmwareName?: string): void {
  let entry: bigint;
  let image: LinuxImage;
  if (firmware) {
    if (isElf(firmware)) vm.loadElf(firmware, firmwareName); else vm.loadRaw(firmware, vm.ramBase, firmwareName);
  }
  if (isElf(kernel)) {
    const e = vm.loadElf(kernel, name);
    entry = e.entry;
    const end = e.segments.reduce((m, s) => (s.paddr + s.memsz > m ? s.paddr + s.memsz : m), 0n);
    image = { textOffset: 0n, imageSize: end - vm.ramBase, version: 0 };
  } else if (isLinuxImage(kernel)) {
    image = parseLinuxImage(kernel, name);
    entry = vm.ramBase + image.textOffset;
    vm.checkRam(entry, Number(image.imageSize), `${name}: kernel at`);
    vm.writePhys(entry, kernel);
  } else if (firmware) {
    // A raw payload (e.g. U-Boot) for the firmware: at RAM + 2 MiB, where OpenSBI's generic platform expects it.
    image = { textOffset: 0x20_0000n, imageSize: BigInt(kernel.length), version: 0 };
    entry = vm.ramBase + image.textOffset;
    vm.writePhys(entry, kernel, `${name}: payload at`);
  } else {
    throw new WasmvisorError(`${name}: neither a RISC-V Linux Image nor an ELF (raw payloads need --bios)`);
  }
  const cfg = defaultVirtConfig(vm.ramBase, BigInt(vm.memBytes), 1);
  cfg.bootargs = bootargs;
  // All eight virtio-mmio transports are described, as on QEMU virt: empty slots read DeviceID 0 and drivers skip them.
  // Size the tree with a placeholder initrd range first, then place everything and build it for real.
  const probeDtb = buildFdt({ ...cfg, initrd: initrd ? { start: vm.ramBase, end: vm.ramBase + 1n } : undefined });
  const layout = layoutBoot(vm.ramBase, BigInt(vm.memBytes), image, initrd?.length, probeDtb.length);
  if (initrd && layout.initrd) {
    vm.writePhys(layout.initrd.start, initrd, `${name}: initrd at`);
    cfg.initrd = layout.initrd;
  }
  vm.writePhys(layout.dtb, buildFdt(cfg), "device tree at");
  if (!firmware) { vm.core.fn.vm_direct_boot(0, Number(entry), Number(layout.dtb)); return; }
  vm.loadRom(RESET_VECTOR, resetVector(vm.ramBase, layout.dtb, entry));
  vm.pc = RESET_VECTOR;
}

const RESET_VECTOR = 0x1000n;

/**
 * The boot ROM at the reset vector, as QEMU virt's (hw/riscv/boot.c): jump to the firmware at the start of RAM
 * with a0 = mhartid, a1 = device tree, a2 = &fw_dynamic_info { magic "OSBI", version 2, next_addr, next_mode S,
 * options 0, boot_hart 0 } (OpenSBI docs/firmware/fw_dynamic.md).
 */
function resetVector(start: bigint, dtb: bigint, next: bigint): Uint8Array {
  const b = new DataView(new ArrayBuffer(40 + 48));
  const code = [0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283, 0x00028067];
  code.forEach((w, i) => b.setUint32(i * 4, w, true));
  b.setBigUint64(24, start, true);
  b.setBigUint64(32, dtb, true);
  const info = [0x4942534fn, 2n, next, 1n, 0n, 0n];
  info.forEach((v, i) => b.setBigUint64(40 + i * 8, v, true));
  return new Uint8Array(b.buffer);
}

