// Goldfish RTC (google,goldfish-rtc, as in QEMU virt at 0x0010_1000): nanoseconds since the Unix epoch.
// The wall-clock origin is given by the host at VM creation; time then advances with mtime, so deterministic
// runs read a deterministic clock. The alarm is accepted but never fires (no guest we run arms it).
import { VM_RTC_EPOCH_NS, VM_RTC_LATCH } from "../layout";
import { mtimeNow } from "./clint";

export const RTC_BASE: u64 = 0x0010_1000;
export const RTC_SIZE: u64 = 0x1000;
// Register offsets (goldfish RTC, QEMU hw/rtc/goldfish_rtc.c)
const RTC_TIME_LOW: u64 = 0x00;  // reading latches TIME_HIGH
const RTC_TIME_HIGH: u64 = 0x04;
const RTC_ALARM_STATUS: u64 = 0x18;

function nowNs(): u64 {
  // mtime is 10 MHz: 100 ns per tick.
  return <u64>load<f64>(VM_RTC_EPOCH_NS) + mtimeNow() * 100;
}

export function rtcRead(off: u64): u32 {
  if (off == RTC_TIME_LOW) {
    const t = nowNs();
    store<u32>(VM_RTC_LATCH, <u32>(t >> 32));
    return <u32>t;
  }
  if (off == RTC_TIME_HIGH) return load<u32>(VM_RTC_LATCH);
  if (off == RTC_ALARM_STATUS) return 0;
  return 0;
}

export function rtcWrite(off: u64, v: u32): void {
  // Setting the time (TIME_LOW/HIGH writes) and the alarm registers are ignored: the host clock is authoritative.
}
