/* Tiny runtime for C guests: console output over the UART and exit through the test device. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H
#include <stdint.h>
void putch(char c);
void puts_(const char *s);
void put_hex(uint64_t v);
void put_dec(int64_t v);
void guest_exit(int code) __attribute__((noreturn));
#endif
