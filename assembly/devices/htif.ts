// HTIF tohost/fromhost (Berkeley host-target interface, as used by riscv-tests and spike).
// tohost is a location in guest RAM whose address the host takes from the ELF symbol table.
// Value layout: device (63:56), command (55:48), payload (47:0).
//   device 0, payload bit 0 = 1: exit; payload >> 1 is the code (0 = pass, N = test N failed).
//   device 1, command 1: console putchar (payload low byte).
// Anything else stops the run loop with STOP_HTIF for the host to handle or refuse.
import { VM_TOHOST, VM_FROMHOST, VM_HTIF_VALUE, EXIT_KIND_HTIF } from "../layout";
import { requestStop } from "../state";
import { STOP_HTIF } from "../stop";
import { halt } from "./testdev";
import { consolePut } from "./uart";
import { ramPtr, ramPtrFor } from "../bus";
import { GACC_WRITE } from "../gstage";

/** Called after any slow-path store that overlaps the tohost doubleword. */
export function htifCheck(): void {
  const tohost = load<u64>(VM_TOHOST);
  const p = ramPtrFor(tohost, 8, GACC_WRITE);
  if (p == 0) return;
  const v = load<u64>(p);
  if (v == 0) return;
  const dev = <u32>(v >> 56);
  const cmd = <u32>(v >> 48) & 0xff;
  const payload = v & 0xffff_ffff_ffff;
  if (dev == 0 && (payload & 1) != 0) {
    store<u64>(p, 0);
    halt(EXIT_KIND_HTIF, <u32>(payload >> 1));
  } else if (dev == 1 && cmd == 1) {
    consolePut(<u32>payload & 0xff);
    store<u64>(p, 0);
    const fh = ramPtrFor(load<u64>(VM_FROMHOST), 8, GACC_WRITE);
    if (fh != 0) store<u64>(fh, (<u64>1 << 56) | (<u64>1 << 48));
  } else {
    // A proxy-kernel syscall or unknown device: the host decides.
    store<u64>(VM_HTIF_VALUE, v);
    requestStop(STOP_HTIF);
  }
}
