// The guest-physical bus: frame-backed memory through the G-stage, and the MMIO devices of the QEMU virt map.
// Anything that is neither a frame-backed page nor a device is a hole: the access faults (cause chosen by the caller).
import { VM_TOHOST, H_STAT_MMIO, codeWritten } from "./layout";
import { gpaToPtr, GACC_READ, GACC_WRITE } from "./gstage";
import { markDirty } from "./dirty";
import { H } from "./state";
import { CLINT_BASE, CLINT_SIZE, clintRead, clintWrite } from "./devices/clint";
import { UART_BASE, UART_SIZE, uartRead, uartWrite } from "./devices/uart";
import { TEST_BASE, TEST_SIZE, testdevWrite } from "./devices/testdev";
import { htifCheck } from "./devices/htif";
import { PLIC_BASE, PLIC_SIZE, plicRead, plicWrite } from "./devices/plic";
import { RTC_BASE, RTC_SIZE, rtcRead, rtcWrite } from "./devices/rtc";
import { VIRTIO_MMIO_BASE, VIRTIO_MMIO_SIZE, virtioRead, virtioWrite } from "./virtio/mmio";

/**
 * Offset in linear memory of `size` bytes at guest-physical `pa` for an access of kind `acc` (GACC_*), or 0 if
 * they are not all in one frame-backed page the access may touch (see gstage.ts). Touching RAM maps it.
 */
export function ramPtrFor(pa: u64, size: u32, acc: u32): usize {
  if ((pa & 0xfff) + <u64>size > 4096) return 0;
  return gpaToPtr(pa, acc);
}

/** ramPtrFor a read. */
export function ramPtr(pa: u64, size: u32): usize { return ramPtrFor(pa, size, GACC_READ); }

/** True if a store to [pa, pa+size) touches the HTIF tohost doubleword (those stores take the slow path). */
@inline export function touchesTohost(pa: u64, size: u32): bool {
  const t = load<u64>(VM_TOHOST);
  return t != 0 && pa < t + 8 && pa + <u64>size > t;
}

/** True if the page holding tohost is [page, page+4096): such pages never enter the store TLB. */
export function isTohostPage(pagePa: u64): bool {
  const t = load<u64>(VM_TOHOST);
  return t != 0 && (t & ~<u64>0xfff) == pagePa;
}

/** True if an MMIO device answers at pa. */
export function isDevice(pa: u64): bool {
  return (pa - CLINT_BASE < CLINT_SIZE) || (pa - UART_BASE < UART_SIZE) || (pa - TEST_BASE < TEST_SIZE) ||
    (pa - PLIC_BASE < PLIC_SIZE) || (pa - RTC_BASE < RTC_SIZE) || (pa - VIRTIO_MMIO_BASE < VIRTIO_MMIO_SIZE);
}

/** Device read; the caller has checked isDevice(). Accesses are little-endian, any size 1..8. */
export function mmioRead(pa: u64, size: u32): u64 {
  store<u64>(H + H_STAT_MMIO, load<u64>(H + H_STAT_MMIO) + 1);
  if (pa - CLINT_BASE < CLINT_SIZE) return clintRead(pa - CLINT_BASE, size);
  if (pa - UART_BASE < UART_SIZE) return <u64>uartRead(pa - UART_BASE);
  if (pa - PLIC_BASE < PLIC_SIZE) return <u64>plicRead((pa - PLIC_BASE) & ~<u64>3); // 32-bit registers
  if (pa - RTC_BASE < RTC_SIZE) return <u64>rtcRead((pa - RTC_BASE) & ~<u64>3);
  if (pa - VIRTIO_MMIO_BASE < VIRTIO_MMIO_SIZE) return <u64>virtioRead(pa - VIRTIO_MMIO_BASE, size);
  return 0; // test device reads as zero
}

export function mmioWrite(pa: u64, size: u32, val: u64): void {
  store<u64>(H + H_STAT_MMIO, load<u64>(H + H_STAT_MMIO) + 1);
  if (pa - CLINT_BASE < CLINT_SIZE) clintWrite(pa - CLINT_BASE, size, val);
  else if (pa - UART_BASE < UART_SIZE) uartWrite(pa - UART_BASE, <u32>val);
  else if (pa - TEST_BASE < TEST_SIZE) testdevWrite(pa - TEST_BASE, <u32>val);
  else if (pa - PLIC_BASE < PLIC_SIZE) plicWrite((pa - PLIC_BASE) & ~<u64>3, <u32>val);
  else if (pa - RTC_BASE < RTC_SIZE) rtcWrite((pa - RTC_BASE) & ~<u64>3, <u32>val);
  else if (pa - VIRTIO_MMIO_BASE < VIRTIO_MMIO_SIZE) virtioWrite(pa - VIRTIO_MMIO_BASE, size, <u32>val);
}

/** Physical store to RAM with the HTIF check; returns false if pa is not RAM. */
export function ramStore(pa: u64, size: u32, val: u64): bool {
  const p = ramPtrFor(pa, size, GACC_WRITE);
  if (p == 0) return false;
  markDirty(pa);
  if (size == 1) store<u8>(p, <u8>val);
  else if (size == 2) store<u16>(p, <u16>val);
  else if (size == 4) store<u32>(p, <u32>val);
  else store<u64>(p, val);
  codeWritten(p);
  if (touchesTohost(pa, size)) htifCheck();
  return true;
}
