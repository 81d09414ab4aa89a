// The guest-physical bus: RAM, and the MMIO devices of the QEMU virt map. Physical addresses only.
// Anything that is neither RAM nor a device is a hole: the access faults (access-fault cause chosen by the caller).
import { VM_RAM_BASE, VM_RAM_SIZE, VM_RAM_PTR, VM_TOHOST, H_STAT_MMIO, codeWritten } from "./layout";
import { H } from "./state";
import { CLINT_BASE, CLINT_SIZE, clintRead, clintWrite } from "./devices/clint";
import { UART_BASE, UART_SIZE, uartRead, uartWrite } from "./devices/uart";
import { TEST_BASE, TEST_SIZE, testdevWrite } from "./devices/testdev";
import { htifCheck } from "./devices/htif";

/** Offset in linear memory of `size` bytes of RAM at guest-physical `pa`, or 0 if not entirely RAM. */
export function ramPtr(pa: u64, size: u32): usize {
  const off = pa - load<u64>(VM_RAM_BASE);
  const ramSize = load<u64>(VM_RAM_SIZE);
  if (off >= ramSize || ramSize - off < <u64>size) return 0;
  return <usize>load<u32>(VM_RAM_PTR) + <usize>off;
}

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
  return (pa - CLINT_BASE < CLINT_SIZE) || (pa - UART_BASE < UART_SIZE) || (pa - TEST_BASE < TEST_SIZE);
}

/** Device read; the caller has checked isDevice(). Accesses are little-endian, any size 1..8. */
export function mmioRead(pa: u64, size: u32): u64 {
  store<u64>(H + H_STAT_MMIO, load<u64>(H + H_STAT_MMIO) + 1);
  if (pa - CLINT_BASE < CLINT_SIZE) return clintRead(pa - CLINT_BASE, size);
  if (pa - UART_BASE < UART_SIZE) return <u64>uartRead(pa - UART_BASE);
  return 0; // test device reads as zero
}

export function mmioWrite(pa: u64, size: u32, val: u64): void {
  store<u64>(H + H_STAT_MMIO, load<u64>(H + H_STAT_MMIO) + 1);
  if (pa - CLINT_BASE < CLINT_SIZE) clintWrite(pa - CLINT_BASE, size, val);
  else if (pa - UART_BASE < UART_SIZE) uartWrite(pa - UART_BASE, <u32>val);
  else if (pa - TEST_BASE < TEST_SIZE) testdevWrite(pa - TEST_BASE, <u32>val);
}

/** Physical store to RAM with the HTIF check; returns false if pa is not RAM. */
export function ramStore(pa: u64, size: u32, val: u64): bool {
  const p = ramPtr(pa, size);
  if (p == 0) return false;
  if (size == 1) store<u8>(p, <u8>val);
  else if (size == 2) store<u16>(p, <u16>val);
  else if (size == 4) store<u32>(p, <u32>val);
  else store<u64>(p, val);
  codeWritten(p);
  if (touchesTohost(pa, size)) htifCheck();
  return true;
}
