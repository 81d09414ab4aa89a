// Why run() returned to the host. Read by the host through the exported constants (exports.ts).
export const STOP_BUDGET: u32 = 0;   // the instruction budget was spent
export const STOP_HALT: u32 = 1;     // the guest powered off or finished (VM_EXIT_KIND / VM_EXIT_CODE)
export const STOP_WFI: u32 = 2;      // the hart waits for an interrupt; the host sleeps until the next timer deadline
export const STOP_CONSOLE: u32 = 3;  // the console ring needs draining
export const STOP_HTIF: u32 = 4;     // a tohost request the core does not handle itself (VM_HTIF_VALUE)
export const STOP_FATAL: u32 = 5;    // the VM cannot continue (VM_FAULT_ADDR holds detail)
export const STOP_IO: u32 = 6;       // a virtio device served on the vCPU's thread (synchronous I/O) was notified
export const STOP_PAGE: u32 = 7;     // lazy restore: the guest needs a page still in the snapshot (VM_LAZY_MISS)
