// Built-in SBI (RISC-V Supervisor Binary Interface v2.0) for the direct boot path: an S-mode kernel's ecalls are
// served by the core itself, as a hypervisor does for its guests, so no M-mode firmware runs in the guest.
// Extensions: BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy console/timer/shutdown calls.
import * as L from "./layout";
import { H, requestBreak } from "./state";
import { MIP_SSIP, MIP_STIP } from "./riscv";
import { consolePut, uartTakeRx, uartRxAvailable } from "./devices/uart";
import { halt } from "./devices/testdev";
import { clintUpdate } from "./devices/clint";
import { tlbFlush } from "./mmu";
import { gpaPeek, gpaToPtr, GACC_WRITE } from "./gstage";
import { markDirty } from "./dirty";

// Error codes (SBI spec §3.2)
const SBI_SUCCESS: i64 = 0;
const SBI_ERR_FAILED: i64 = -1;
const SBI_ERR_NOT_SUPPORTED: i64 = -2;
const SBI_ERR_INVALID_PARAM: i64 = -3;
const SBI_ERR_INVALID_ADDRESS: i64 = -5;
const SBI_ERR_ALREADY_AVAILABLE: i64 = -6;

// Extension IDs
const EXT_LEGACY_SET_TIMER: u64 = 0x00;
const EXT_LEGACY_PUTCHAR: u64 = 0x01;
const EXT_LEGACY_GETCHAR: u64 = 0x02;
const EXT_LEGACY_CLEAR_IPI: u64 = 0x03;
const EXT_LEGACY_SHUTDOWN: u64 = 0x08;
const EXT_BASE: u64 = 0x10;
const EXT_TIME: u64 = 0x54494d45;   // "TIME"
const EXT_IPI: u64 = 0x735049;     // "sPI"
const EXT_RFENCE: u64 = 0x52464e43; // "RFNC"
const EXT_HSM: u64 = 0x48534d;     // "HSM"
const EXT_SRST: u64 = 0x53525354;   // "SRST"
const EXT_DBCN: u64 = 0x4442434e;   // "DBCN"

const SPEC_VERSION: i64 = 0x0200_0000; // v2.0
const IMPL_ID: i64 = 0x7776_6973;      // "wvis": not a registered implementation ID
const IMPL_VERSION: i64 = 1;

@inline function reg(r: u32): u64 { return load<u64>(H + (<usize>r << 3)); }
@inline function ret(err: i64, val: i64): void { store<i64>(H + (10 << 3), err); store<i64>(H + (11 << 3), val); }

export function sbiEnabled(): bool { return load<u32>(L.VM_SBI) != 0; }

/** Sets the calling hart's supervisor timer (TIME.set_timer): STIP is raised when mtime reaches it. */
function setTimer(t: u64): void {
  const id = load<u32>(H + L.H_HARTID);
  store<u64>(L.VM_SBI_STIMECMP + (<usize>id << 3), t);
  store<u64>(H + L.H_MIP_EXT, load<u64>(H + L.H_MIP_EXT) & ~MIP_STIP);
  clintUpdate();
  requestBreak();
}

function supported(eid: u64): bool {
  return eid == EXT_BASE || eid == EXT_TIME || eid == EXT_IPI || eid == EXT_RFENCE || eid == EXT_HSM ||
    eid == EXT_SRST || eid == EXT_DBCN || eid <= 0x08;
}

/** Hart mask (hart_mask, hart_mask_base) selects hart id? (SBI §3.1: base -1 means all harts) */
@inline function selects(mask: u64, base: u64, id: u32): bool {
  if (base == 0xffff_ffff_ffff_ffff) return true;
  const d = <u64>id - base;
  return d < 64 && ((mask >> d) & 1) != 0;
}

/** Console bytes from guest-physical memory (DBCN takes physical addresses). Returns bytes written or -1. */
function consoleWrite(n: u64, pa: u64): i64 {
  let done: u64 = 0;
  while (done < n) {
    const p = gpaPeek(pa + done);
    if (p == 0) return done == 0 ? -1 : <i64>done;
    consolePut(<u32>load<u8>(p));
    done++;
    if ((load<u32>(L.CONSOLE_HEAD) - load<u32>(L.CONSOLE_TAIL)) >= L.CONSOLE_SIZE - 1) break; // partial: the guest retries
  }
  return <i64>done;
}

/** Serves the ecall in a7/a6/a0..a5 of the current (S-mode) hart. */
export function sbiCall(): void {
  const eid = reg(17), fid = reg(16), a0 = reg(10), a1 = reg(11), a2 = reg(12);
  const id = load<u32>(H + L.H_HARTID);
  switch (<u32>eid) {
    case <u32>EXT_LEGACY_SET_TIMER: setTimer(a0); store<i64>(H + (10 << 3), 0); return;
    case <u32>EXT_LEGACY_PUTCHAR: consolePut(<u32>a0 & 0xff); store<i64>(H + (10 << 3), 0); return;
    case <u32>EXT_LEGACY_GETCHAR: store<i64>(H + (10 << 3), uartRxAvailable() ? <i64>uartTakeRx() : -1); return;
    case <u32>EXT_LEGACY_CLEAR_IPI: store<u64>(H + L.H_MIP, load<u64>(H + L.H_MIP) & ~MIP_SSIP); store<i64>(H + (10 << 3), 0); return;
    case <u32>EXT_LEGACY_SHUTDOWN: halt(L.EXIT_KIND_POWEROFF, 0); return;
    default: break;
  }
  if (eid == EXT_BASE) {
    switch (<u32>fid) {
      case 0: ret(SBI_SUCCESS, SPEC_VERSION); return;
      case 1: ret(SBI_SUCCESS, IMPL_ID); return;
      case 2: ret(SBI_SUCCESS, IMPL_VERSION); return;
      case 3: ret(SBI_SUCCESS, supported(a0) ? 1 : 0); return;
      case 4: case 5: case 6: ret(SBI_SUCCESS, 0); return; // mvendorid, marchid, mimpid
      default: ret(SBI_ERR_NOT_SUPPORTED, 0); return;
    }
  }
  if (eid == EXT_TIME && fid == 0) { setTimer(a0); ret(SBI_SUCCESS, 0); return; }
  if (eid == EXT_IPI && fid == 0) {
    const n = load<u32>(L.VM_NHARTS);
    for (let i: u32 = 0; i < n; i++) {
      if (!selects(a0, a1, i)) continue;
      const hp = L.hartPtr(i);
      store<u64>(hp + L.H_MIP, load<u64>(hp + L.H_MIP) | MIP_SSIP);
    }
    requestBreak();
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EXT_RFENCE) {
    // One hart today: remote fences are local. fence.i needs nothing (decoded blocks revalidate themselves).
    if (fid <= 6) { if (fid != 0) tlbFlush(); requestBreak(); ret(SBI_SUCCESS, 0); return; }
    ret(SBI_ERR_NOT_SUPPORTED, 0);
    return;
  }
  if (eid == EXT_HSM) {
    const n = load<u32>(L.VM_NHARTS);
    switch (<u32>fid) {
      case 0: ret(a0 == <u64>id ? SBI_ERR_ALREADY_AVAILABLE : a0 < <u64>n ? SBI_ERR_FAILED : SBI_ERR_INVALID_PARAM, 0); return; // hart_start
      case 2: ret(a0 < <u64>n ? SBI_SUCCESS : SBI_ERR_INVALID_PARAM, a0 == <u64>id ? 0 : 1); return; // get_status: STARTED / STOPPED
      default: ret(SBI_ERR_NOT_SUPPORTED, 0); return;
    }
  }
  if (eid == EXT_SRST && fid == 0) {
    if (a0 > 2 || a1 > 1) { ret(SBI_ERR_INVALID_PARAM, 0); return; }
    // type 0 shutdown (reason 1 = system failure → exit code 1); 1 cold / 2 warm reboot
    if (a0 == 0) halt(L.EXIT_KIND_POWEROFF, <u32>a1); else halt(L.EXIT_KIND_RESET, 0);
    ret(SBI_SUCCESS, 0);
    return;
  }
  if (eid == EXT_DBCN) {
    if (fid == 0) { // console_write(num_bytes, base_lo, base_hi)
      const w = consoleWrite(a0, a1 | (a2 << 32));
      if (w < 0) ret(SBI_ERR_INVALID_ADDRESS, 0); else ret(SBI_SUCCESS, w);
      return;
    }
    if (fid == 1) { // console_read(num_bytes, base_lo, base_hi)
      let n: u64 = 0;
      const pa = a1 | (a2 << 32);
      while (n < a0 && uartRxAvailable()) {
        const p = gpaToPtr(pa + n, GACC_WRITE);
        if (p == 0) break;
        store<u8>(p, <u8>uartTakeRx());
        markDirty(pa + n);
        L.codeWritten(p);
        n++;
      }
      ret(SBI_SUCCESS, <i64>n);
      return;
    }
    if (fid == 2) { consolePut(<u32>a0 & 0xff); ret(SBI_SUCCESS, 0); return; }
  }
  ret(SBI_ERR_NOT_SUPPORTED, 0);
}
