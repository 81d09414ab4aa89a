// Per-thread scratch (Wasm globals): which hart this instance runs, and the event channel of the run loop.
// Globals are NOT shared between instances; nothing here may outlive a call into the core (ARCHITECTURE.md §1).

// Offset of the current hart's block and of its TLBs (set by the exported entry points).
export let H: usize = 0;
export let T: usize = 0;

// EVENTS != 0 makes the interpreter leave its inner loop after the current instruction:
//   EV_EXC   a slow path raised an exception (EXC_CAUSE/EXC_TVAL); the instruction does not retire
//   EV_BREAK the instruction retired but changed something the loop caches (privilege, interrupts, TLB, stop)
export const EV_EXC: u32 = 1;
export const EV_BREAK: u32 = 2;
export let EVENTS: u32 = 0;
export let EXC_CAUSE: u64 = 0;
export let EXC_TVAL: u64 = 0;
// Why run() must return to the host (STOP_* in stop.ts), 0 = keep going.
export let STOP: u32 = 0;

export function setHart(h: usize, t: usize): void { H = h; T = t; }
@inline export function excPending(): bool { return (EVENTS & EV_EXC) != 0; }
@inline export function raise(cause: u64, tval: u64): void { EVENTS |= EV_EXC; EXC_CAUSE = cause; EXC_TVAL = tval; }
@inline export function clearExc(): void { EVENTS &= ~EV_EXC; }
@inline export function requestBreak(): void { EVENTS |= EV_BREAK; }
@inline export function clearEvents(): void { EVENTS = 0; }
@inline export function requestStop(reason: u32): void { STOP = reason; EVENTS |= EV_BREAK; }
@inline export function clearStop(): void { STOP = 0; }
