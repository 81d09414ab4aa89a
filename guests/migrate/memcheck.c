/*
 * memcheck: a guest that keeps dirtying its memory and checks it, for snapshot and live-migration tests.
 *
 * It owns MEM_MIB MiB at 0x8100_0000. Generation g rewrites every page with words that depend on (g, page,
 * word) at a steady rate (RATE pages between two progress checks), then verifies the whole area holds exactly
 * generation g before starting g+1. Any word lost or stale in a snapshot or a migration shows up as a mismatch.
 * Prints "memcheck: gen N ok" per generation and "memcheck: PASS" after at least GENS generations and MIN_SECONDS
 * of guest time (mtime at 10 MHz; so a test has time to snapshot or migrate it while it runs), exit 0, or
 * "memcheck: FAIL ..." (exit 1).
 */
#include <stdint.h>
#include "runtime.h"

#define AREA     ((volatile uint64_t *)0x81000000UL)
#define MEM_MIB  16
#define PAGES    (MEM_MIB * 256)
#define WORDS    512           /* per 4 KiB page */
#define GENS     40
#ifndef MIN_SECONDS
#define MIN_SECONDS 5          /* memcheck-long.elf: 40 */
#endif
#define TIMEBASE 10000000ULL

static inline uint64_t rdtime(void) { uint64_t t; __asm__ volatile("csrr %0, time" : "=r"(t)); return t; }

static inline uint64_t word(uint64_t g, uint64_t p, uint64_t w) {
  uint64_t x = (g << 40) ^ (p << 12) ^ w;
  x ^= x >> 31; x *= 0x9e3779b97f4a7c15ULL; x ^= x >> 29;
  return x;
}

int main(void) {
  puts_("memcheck: dirtying and checking ");
  put_dec(MEM_MIB);
  puts_(" MiB\n");
  uint64_t t0 = rdtime();
  for (uint64_t g = 1; g <= GENS || rdtime() - t0 < MIN_SECONDS * TIMEBASE; g++) {
    for (uint64_t p = 0; p < PAGES; p++)
      for (uint64_t w = 0; w < WORDS; w += 8) AREA[p * WORDS + w] = word(g, p, w); /* one word per 64 bytes */
    for (uint64_t p = 0; p < PAGES; p++)
      for (uint64_t w = 0; w < WORDS; w += 8)
        if (AREA[p * WORDS + w] != word(g, p, w)) {
          puts_("memcheck: FAIL generation "); put_dec((int64_t)g); puts_(" page "); put_dec((int64_t)p);
          puts_(" word "); put_dec((int64_t)w); puts_("\n");
          guest_exit(1);
        }
    puts_("memcheck: gen "); put_dec((int64_t)g); puts_(" ok\n");
  }
  puts_("memcheck: PASS\n");
  return 0;
}
