/* Shared macros for the self-checking ISA tests (filled in by the ISA test suite). */
