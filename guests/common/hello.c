/* The bundled default guest: greets, reports what hart it runs on, and powers off cleanly. */
#include <stdint.h>
#include "runtime.h"

static uint64_t csr_misa(void) { uint64_t v; __asm__ volatile("csrr %0, misa" : "=r"(v)); return v; }

int main(void) {
  puts_("Hello from a wasmvisor guest!\n");
  uint64_t misa = csr_misa();
  puts_("misa: RV64");
  for (int i = 0; i < 26; i++) if (misa & (1ull << i)) putch((char)('A' + i));
  puts_("\n");
  uint64_t sum = 0;
  for (uint64_t i = 1; i <= 1000; i++) sum += i * i;
  puts_("sum of squares 1..1000 = "); put_dec((int64_t)sum); puts_("\n");
  puts_("Goodbye.\n");
  return 0;
}
