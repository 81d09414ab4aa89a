/*
 * dirtier: a guest that rewrites its memory at a fixed rate, for live-migration benchmarks (bench/snapshot.ts).
 *
 * It owns MEM_MIB MiB at 0x8100_0000, fills it once (generation 0), then rewrites one page after another, in
 * order and round and round, at RATE pages per second of guest time (mtime at 10 MHz): every 10 ms it writes the
 * pages due by then and sleeps in WFI until the next 10 ms (mtimecmp; mstatus.MIE stays 0, so the timer only ends
 * the WFI). The rate is the u32 knob at 0x80ff_f000 if nonzero (an embedder can set it with writePhys; it is read
 * every 10 ms), else DEFAULT_RATE. A page's n-th rewrite stores words that depend on (n, page, word), one per
 * 64 bytes, so after every full pass (and at the end) the whole area is checked against what each page must hold:
 * a page lost or stale in a snapshot or a migration shows up as a mismatch. Prints "dirtier: pass N ok" per pass
 * and "dirtier: PASS" after MIN_SECONDS of guest time (exit 0), or "dirtier: FAIL ..." (exit 1).
 */
#include <stdint.h>
#include "runtime.h"

#define AREA         ((volatile uint64_t *)0x81000000UL)
#define KNOB         ((volatile uint32_t *)0x80fff000UL)
#define MTIMECMP     ((volatile uint64_t *)0x02004000UL)
#define MEM_MIB      64
#define PAGES        (MEM_MIB * 256)
#define WORDS        512           /* per 4 KiB page */
#define DEFAULT_RATE 2000          /* pages per second of guest time */
#define MIN_SECONDS  60
#define TIMEBASE     10000000ULL
#define TICK         (TIMEBASE / 100) /* 10 ms */

static inline uint64_t rdtime(void) { uint64_t t; __asm__ volatile("csrr %0, time" : "=r"(t)); return t; }

static inline uint64_t word(uint64_t g, uint64_t p, uint64_t w) {
  uint64_t x = (g << 40) ^ (p << 12) ^ w ^ 0x5bd1e995ULL;
  x ^= x >> 31; x *= 0x9e3779b97f4a7c15ULL; x ^= x >> 29;
  return x;
}

static void write_page(uint64_t g, uint64_t p) {
  for (uint64_t w = 0; w < WORDS; w += 8) AREA[p * WORDS + w] = word(g, p, w); /* one word per 64 bytes */
}

/* After `n` paced rewrites, page p holds generation n / PAGES + (p < n % PAGES). */
static void verify(uint64_t n) {
  for (uint64_t p = 0; p < PAGES; p++) {
    uint64_t g = n / PAGES + (p < n % PAGES ? 1 : 0);
    for (uint64_t w = 0; w < WORDS; w += 8)
      if (AREA[p * WORDS + w] != word(g, p, w)) {
        puts_("dirtier: FAIL page "); put_dec((int64_t)p); puts_(" word "); put_dec((int64_t)w);
        puts_(" generation "); put_dec((int64_t)g); puts_("\n");
        guest_exit(1);
      }
  }
}

static void sleep_until(uint64_t t) {
  *MTIMECMP = t;
  while (rdtime() < t) __asm__ volatile("wfi");
}

int main(void) {
  uint32_t rate = *KNOB ? *KNOB : DEFAULT_RATE;
  puts_("dirtier: ");
  put_dec(MEM_MIB);
  puts_(" MiB, ");
  put_dec(rate);
  puts_(" pages/s\n");
  for (uint64_t p = 0; p < PAGES; p++) write_page(0, p);
  verify(0);
  puts_("dirtier: filled\n");
  __asm__ volatile("csrs mie, %0" : : "r"(1UL << 7)); /* MTIE: the timer ends a WFI (not taken: MIE is 0) */
  uint64_t n = 0, acc = 0, t0 = rdtime(), last = t0, next = t0;
  for (;;) {
    uint64_t now = rdtime();
    rate = *KNOB ? *KNOB : DEFAULT_RATE;
    acc += (now - last) * rate;
    last = now;
    uint64_t due = acc / TIMEBASE;
    acc -= due * TIMEBASE;
    if (due > PAGES) due = PAGES; /* after a long stop (host paused), catch up by one pass at most */
    for (uint64_t i = 0; i < due; i++, n++) {
      write_page(n / PAGES + 1, n % PAGES);
      if ((n + 1) % PAGES == 0) {
        verify(n + 1);
        puts_("dirtier: pass "); put_dec((int64_t)((n + 1) / PAGES)); puts_(" ok\n");
      }
    }
    if (now - t0 >= MIN_SECONDS * TIMEBASE) break;
    next += TICK;
    if (next <= now) next = now + TICK;
    sleep_until(next);
  }
  *MTIMECMP = ~0ULL;
  verify(n);
  puts_("dirtier: ");
  put_dec((int64_t)n);
  puts_(" pages rewritten in ");
  put_dec((int64_t)((rdtime() - t0) / (TIMEBASE / 1000)));
  puts_(" ms\ndirtier: PASS\n");
  return 0;
}
