// The platform's device map (QEMU virt's addresses and interrupt sources) as the core defines it: what the device
// tree describes must be where the core's devices answer, so the host reads it from the core instead of repeating it.
import { coreConstants } from "./vm.js";

export interface Platform {
  uart: { base: bigint; irq: number };
  clint: bigint;
  plic: { base: bigint; ndev: number };
  test: bigint;
  rtc: bigint;
  virtio: { base: bigint; stride: bigint; irq: number; slots: number };
}

export function platform(): Platform {
  const k = coreConstants();
  return {
    uart: { base: BigInt(k.DEV_UART_BASE), irq: k.DEV_UART_IRQ },
    clint: BigInt(k.DEV_CLINT_BASE),
    plic: { base: BigInt(k.DEV_PLIC_BASE), ndev: k.DEV_PLIC_NDEV },
    test: BigInt(k.DEV_TEST_BASE),
    rtc: BigInt(k.DEV_RTC_BASE),
    virtio: { base: BigInt(k.VIRTIO_MMIO_BASE_LO), stride: BigInt(k.VIRTIO_MMIO_STRIDE_B), irq: k.VIRTIO_IRQ_BASE_N, slots: k.VIRTIO_SLOTS },
  };
}
