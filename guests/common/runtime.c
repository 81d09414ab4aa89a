/* Tiny runtime for C guests: console output over the UART and exit through the test device. */
#include "platform.h"
#include "runtime.h"

void putch(char c) {
  volatile uint8_t *uart = (volatile uint8_t *)UART0_BASE;
  while ((uart[UART_LSR] & UART_LSR_THRE) == 0) {}
  uart[UART_THR] = (uint8_t)c;
}

void puts_(const char *s) { while (*s) putch(*s++); }

void put_hex(uint64_t v) {
  puts_("0x");
  for (int i = 60; i >= 0; i -= 4) putch("0123456789abcdef"[(v >> i) & 15]);
}

void put_dec(int64_t v) {
  char buf[24]; int n = 0; uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
  if (v < 0) putch('-');
  do { buf[n++] = (char)('0' + u % 10); u /= 10; } while (u);
  while (n) putch(buf[--n]);
}

void guest_exit(int code) {
  volatile uint32_t *test = (volatile uint32_t *)TEST_BASE;
  *test = code == 0 ? TEST_PASS : ((uint32_t)code << 16) | TEST_FAIL;
  for (;;) __asm__ volatile("wfi");
}
