// Every function the core imports from the host. The host's matching file is host/core-imports.ts;
// test/boundary.test.ts fails when an import appears that is not listed in both.

// Host monotonic clock in mtime ticks (10 MHz) as f64: no BigInt on the boundary (ARCHITECTURE.md §7).
// Called only when the guest reads the time or a timer deadline is checked, never per instruction.
@external("host", "now_ticks")
export declare function hostNowTicks(): f64;
