// SiFive test / syscon device (QEMU virt at 0x0010_0000): the guest writes here to power off or reboot.
import { VM_EXIT_CODE, VM_EXIT_KIND, EXIT_KIND_POWEROFF, EXIT_KIND_RESET } from "../layout";
import { requestStop } from "../state";
import { STOP_HALT } from "../stop";

export const TEST_BASE: u64 = 0x0010_0000;
export const TEST_SIZE: u64 = 0x1000;
const FINISHER_FAIL: u32 = 0x3333;  // exit with code (value >> 16)
const FINISHER_PASS: u32 = 0x5555;  // exit with code 0
const FINISHER_RESET: u32 = 0x7777; // reboot

export function testdevWrite(off: u64, val: u32): void {
  if (off != 0) return;
  const cmd = val & 0xffff;
  if (cmd == FINISHER_PASS) halt(EXIT_KIND_POWEROFF, 0);
  else if (cmd == FINISHER_FAIL) halt(EXIT_KIND_POWEROFF, val >> 16);
  else if (cmd == FINISHER_RESET) halt(EXIT_KIND_RESET, 0);
}

export function halt(kind: u32, code: u32): void {
  store<u32>(VM_EXIT_KIND, kind);
  store<u32>(VM_EXIT_CODE, code);
  requestStop(STOP_HALT);
}
