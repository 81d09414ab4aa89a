/* wvkernel: wasmvisor's teaching kernel. An S-mode kernel started the way Linux is (a0 = hart id,
 * a1 = device tree), with SBI calls, timer and UART (PLIC) interrupts, a U-mode process and a shell. */
#include <stdarg.h>
#include <stdint.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;

#define csr_read(r) ({ u64 _v; __asm__ volatile("csrr %0, " #r : "=r"(_v)); _v; })
#define csr_write(r, v) __asm__ volatile("csrw " #r ", %0" ::"r"((u64)(v)))
#define csr_set(r, v) __asm__ volatile("csrs " #r ", %0" ::"r"((u64)(v)))
#define csr_clear(r, v) __asm__ volatile("csrc " #r ", %0" ::"r"((u64)(v)))

#define SSTATUS_SIE (1ul << 1)
#define SIE_STIE (1ul << 5)
#define SIE_SEIE (1ul << 9)

/* ---- SBI ---- */
struct sbiret { long error, value; };
static struct sbiret sbi_call(long ext, long fid, long a0, long a1, long a2) {
  register long r0 __asm__("a0") = a0, r1 __asm__("a1") = a1, r2 __asm__("a2") = a2;
  register long r6 __asm__("a6") = fid, r7 __asm__("a7") = ext;
  __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
  return (struct sbiret){r0, r1};
}
#define SBI_BASE 0x10
#define SBI_TIME 0x54494D45
#define SBI_SRST 0x53525354
static void sbi_set_timer(u64 t) { sbi_call(SBI_TIME, 0, (long)t, 0, 0); }
static long sbi_probe(long ext) { return sbi_call(SBI_BASE, 3, ext, 0, 0).value; }
static void sbi_shutdown(int failure) {
  sbi_call(SBI_SRST, 0, 0 /* shutdown */, failure ? 1 : 0, 0);
  sbi_call(0x08, 0, 0, 0, 0); /* legacy shutdown */
  for (;;) __asm__ volatile("wfi");
}

/* ---- UART (NS16550A) ---- */
#define UART ((volatile u8 *)0x10000000ul)
#define RBR 0
#define THR 0
#define IER 1
#define FCR 2
#define MCR 4
#define LSR 5
static void uart_putc_raw(char c) {
  while (!(UART[LSR] & 0x20)) {}
  UART[THR] = (u8)c;
}
static void kputc(char c) {
  if (c == '\n') uart_putc_raw('\r');
  uart_putc_raw(c);
}
static void kputs(const char *s) { while (*s) kputc(*s++); }

static void put_u(u64 v, unsigned base, int width, char pad) {
  char buf[24];
  int n = 0;
  do { buf[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
  while (n < width) buf[n++] = pad;
  while (n) kputc(buf[--n]);
}
/* %d %u %x %s %c, with optional 'l' and zero-padded width (%08x). */
static void kprintf(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  for (; *f; f++) {
    if (*f != '%') { kputc(*f); continue; }
    f++;
    char pad = ' ';
    int width = 0, lng = 0;
    if (*f == '0') { pad = '0'; f++; }
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    while (*f == 'l') { lng = 1; f++; }
    switch (*f) {
    case 'd': {
      long v = lng ? va_arg(ap, long) : va_arg(ap, int);
      if (v < 0) { kputc('-'); v = -v; }
      put_u((u64)v, 10, width, pad);
      break;
    }
    case 'u': put_u(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, width, pad); break;
    case 'x': put_u(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, width, pad); break;
    case 's': kputs(va_arg(ap, const char *)); break;
    case 'c': kputc((char)va_arg(ap, int)); break;
    default: kputc('%'); if (*f) kputc(*f); else f--; break;
    }
  }
  va_end(ap);
}

/* ---- PLIC ---- */
#define PLIC 0x0c000000ul
#define UART_IRQ 10
#define PLIC_PRIORITY(n) ((volatile u32 *)(PLIC + 4 * (n)))
#define PLIC_SENABLE ((volatile u32 *)(PLIC + 0x2080))     /* context 1: hart 0 S-mode */
#define PLIC_STHRESHOLD ((volatile u32 *)(PLIC + 0x201000))
#define PLIC_SCLAIM ((volatile u32 *)(PLIC + 0x201004))

/* Received characters: filled by the interrupt handler, drained by the shell. */
static volatile char rxbuf[256];
static volatile u32 rx_head, rx_tail;

static void uart_rx_irq(void) {
  while (UART[LSR] & 0x01) {
    char c = (char)UART[RBR];
    if (rx_head - rx_tail < sizeof rxbuf) rxbuf[rx_head++ % sizeof rxbuf] = c;
  }
}

static int getc(void) {
  for (;;) {
    csr_clear(sstatus, SSTATUS_SIE);
    if (rx_head != rx_tail) {
      char c = rxbuf[rx_tail++ % sizeof rxbuf];
      csr_set(sstatus, SSTATUS_SIE);
      return (u8)c;
    }
    __asm__ volatile("wfi"); /* wakes on a pending interrupt even with SIE off */
    csr_set(sstatus, SSTATUS_SIE);
  }
}

/* ---- timer ---- */
#define TICK_HZ 100
static u64 timebase = 10000000; /* replaced by /cpus/timebase-frequency */
static volatile u64 ticks;
static u64 rdtime(void) { u64 t; __asm__ volatile("rdtime %0" : "=r"(t)); return t; }

/* ---- device tree (flattened, big-endian) ---- */
static u32 be32(const void *p) {
  const u8 *b = p;
  return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}
static int prefix(const char *s, const char *p) {
  while (*p) if (*s++ != *p++) return 0;
  return *s == 0 || *s == '@';
}
static u64 mem_base, mem_size;
static u32 fdt_totalsize;
static void fdt_parse(const u8 *fdt) {
  if (!fdt || be32(fdt) != 0xd00dfeed) return;
  fdt_totalsize = be32(fdt + 4);
  const u8 *p = fdt + be32(fdt + 8);
  const char *strs = (const char *)fdt + be32(fdt + 12);
  int depth = 0, in_mem = 0, in_cpus = 0;
  for (;;) {
    u32 tok = be32(p);
    p += 4;
    if (tok == 1) { /* BEGIN_NODE */
      const char *name = (const char *)p;
      int n = 0;
      while (name[n]) n++;
      p += (n + 4) & ~3;
      depth++;
      if (depth == 2) { in_mem = prefix(name, "memory"); in_cpus = prefix(name, "cpus"); }
    } else if (tok == 2) { /* END_NODE */
      if (depth == 2) in_mem = in_cpus = 0;
      depth--;
    } else if (tok == 3) { /* PROP */
      u32 len = be32(p), nameoff = be32(p + 4);
      const u8 *val = p + 8;
      const char *pname = strs + nameoff;
      if (depth == 2 && in_mem && prefix(pname, "reg") && len >= 16 && !mem_size) {
        mem_base = (u64)be32(val) << 32 | be32(val + 4); /* #address-cells = #size-cells = 2 */
        mem_size = (u64)be32(val + 8) << 32 | be32(val + 12);
      }
      if (depth == 2 && in_cpus && prefix(pname, "timebase-frequency") && len == 4) timebase = be32(val);
      p += 8 + ((len + 3) & ~3u);
    } else if (tok == 4) { /* NOP */
    } else break;         /* END or garbage */
  }
}

/* ---- U-mode process ---- */
extern long user_enter(void (*entry)(long), void *sp, long arg);
extern void user_exit(long code) __attribute__((noreturn));

#define SYS_PUTS 1
#define SYS_EXIT 93
__attribute__((section(".text.user"))) static long user_syscall(long n, long a0) {
  register long r0 __asm__("a0") = a0;
  register long r7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(r0) : "r"(r7) : "memory");
  return r0;
}
__attribute__((section(".rodata.user"))) static const char user_msg[] = "  [U-mode] counting primes by trial division\n";
/* The U-mode program: counts primes below n by trial division, reports through ecalls. */
__attribute__((section(".text.user"), noinline)) static void user_main(long n) {
  user_syscall(SYS_PUTS, (long)user_msg);
  long count = 0;
  for (long i = 2; i < n; i++) {
    long prime = 1;
    for (long d = 2; d * d <= i; d++)
      if (i % d == 0) { prime = 0; break; }
    count += prime;
  }
  user_syscall(SYS_EXIT, count);
  for (;;) {}
}
static u64 user_stack[512] __attribute__((aligned(16)));
static u64 user_ecalls;

static long run_user(long arg) {
  user_ecalls = 0;
  long r = user_enter(user_main, user_stack + 512, arg);
  csr_set(sstatus, SSTATUS_SIE); /* the trap that ended the process cleared it */
  return r;
}

/* ---- traps ---- */
struct frame { u64 x[32]; u64 sepc; u64 pad; };

void trap_handler(struct frame *f) {
  u64 cause = csr_read(scause);
  if ((long)cause < 0) {
    switch (cause & 0xff) {
    case 5: /* supervisor timer */
      ticks++;
      sbi_set_timer(rdtime() + timebase / TICK_HZ);
      return;
    case 9: { /* supervisor external */
      u32 irq = *PLIC_SCLAIM;
      if (irq == UART_IRQ) uart_rx_irq();
      if (irq) *PLIC_SCLAIM = irq;
      return;
    }
    }
  } else if (cause == 8) { /* ecall from U */
    user_ecalls++;
    f->sepc += 4;
    switch (f->x[17]) {
    case SYS_PUTS: kputs((const char *)f->x[10]); f->x[10] = 0; return;
    case SYS_EXIT: user_exit((long)f->x[10]);
    }
    f->x[10] = (u64)-1;
    return;
  }
  kprintf("\nunexpected trap: scause %lx sepc %lx stval %lx\n", cause, f->sepc, csr_read(stval));
  sbi_shutdown(1);
}

/* ---- shell ---- */
static u64 hartid, dtb;
static long sbi_major, sbi_minor;

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

static void cmd_help(void) {
  kputs("commands:\n"
       "  help      this list\n"
       "  info      hart, SBI extensions, memory (from the device tree)\n"
       "  ticks     timer ticks since boot (100 Hz)\n"
       "  bench     integer loop: instructions retired, cycles, time\n"
       "  user      run a U-mode process (prime count) and print its result\n"
       "  poweroff  shut the machine down (SBI SRST)\n");
}

static void cmd_info(void) {
  kprintf("hart id:      %lu\n", hartid);
  /* The SBI version is not printed: firmware differs (QEMU's OpenSBI 1.0, wasmvisor's SBI 2.0); what the kernel
     needs is the extensions. */
  (void)sbi_major; (void)sbi_minor;
  kprintf("SBI:          TIME %s, SRST %s\n",
          sbi_probe(SBI_TIME) ? "yes" : "no", sbi_probe(SBI_SRST) ? "yes" : "no");
  if (mem_size)
    kprintf("memory:       %lu MiB at 0x%lx\n", mem_size >> 20, mem_base);
  else
    kputs("memory:       (no /memory node found)\n");
  kprintf("timebase:     %lu Hz\n", timebase);
}

static u64 rdinstret(void) { u64 v; __asm__ volatile("rdinstret %0" : "=r"(v)); return v; }
static u64 rdcycle(void) { u64 v; __asm__ volatile("rdcycle %0" : "=r"(v)); return v; }

static void cmd_bench(void) {
  const u64 n = 10000000;
  u64 t0 = rdtime(), i0 = rdinstret(), c0 = rdcycle();
  u64 x = 1, acc = 0;
  for (u64 i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17; /* xorshift64 */
    acc += x & 0xff;
    __asm__ volatile("" : "+r"(acc)); /* keep the loop */
  }
  u64 t1 = rdtime(), i1 = rdinstret(), c1 = rdcycle();
  u64 us = (t1 - t0) * 1000000 / timebase;
  kprintf("loop:         %lu iterations, checksum %lu\n", n, acc);
  kprintf("instret:      %lu\n", i1 - i0);
  kprintf("cycles:       %lu\n", c1 - c0);
  kprintf("time:         %lu us\n", us);
  if (us) kprintf("speed:        %lu MIPS\n", (i1 - i0) / us);
  u64 ui0 = rdinstret(), ut0 = rdtime();
  long r = run_user(20000);
  u64 ui1 = rdinstret(), ut1 = rdtime();
  kprintf("user process: result %ld, %lu instructions (incl. traps), %lu us\n", r, ui1 - ui0,
          (ut1 - ut0) * 1000000 / timebase);
}

static void cmd_user(void) {
  kputs("starting U-mode process (sstatus.SPP=0, sret)\n");
  long r = run_user(10000);
  kprintf("process exited via ecall: %ld primes below 10000 (%lu ecalls)\n", r, user_ecalls);
}

static void run_command(char *line) {
  while (*line == ' ') line++;
  char *e = line;
  while (*e) e++;
  while (e > line && e[-1] == ' ') *--e = 0;
  if (!*line) return;
  if (streq(line, "help")) cmd_help();
  else if (streq(line, "info")) cmd_info();
  else if (streq(line, "ticks")) kprintf("%lu ticks (%lu s)\n", ticks, ticks / TICK_HZ);
  else if (streq(line, "bench")) cmd_bench();
  else if (streq(line, "user") || streq(line, "run")) cmd_user();
  else if (streq(line, "poweroff")) { kputs("powering off\n"); sbi_shutdown(0); }
  else kprintf("unknown command: %s (try help)\n", line);
}

void kmain(u64 a0, u64 a1) {
  hartid = a0;
  dtb = a1;
  fdt_parse((const u8 *)dtb);
  long v = sbi_call(SBI_BASE, 0, 0, 0, 0).value;
  sbi_major = (v >> 24) & 0x7f;
  sbi_minor = v & 0xffffff;

  /* UART: receive interrupts (IER bit 0); FIFO on, OUT2 (the 16550's interrupt gate) on. */
  UART[FCR] = 0x01;
  UART[MCR] = 0x0b;
  UART[IER] = 0x01;
  /* PLIC: source 10 priority 1, enabled for hart 0's S-mode context, threshold 0. */
  *PLIC_PRIORITY(UART_IRQ) = 1;
  *PLIC_SENABLE |= 1u << UART_IRQ;
  *PLIC_STHRESHOLD = 0;

  sbi_set_timer(rdtime() + timebase / TICK_HZ);
  csr_set(sie, SIE_STIE | SIE_SEIE);
  csr_set(sstatus, SSTATUS_SIE);

  kputs("\nwasmvisor teaching kernel\n");
  kputs("type 'help' for a list of commands\n");

  static char line[128];
  unsigned len = 0;
  int last_cr = 0;
  kputs("wv> ");
  for (;;) {
    int c = getc();
    if (c == '\n' && last_cr) { last_cr = 0; continue; } /* CR LF from a terminal */
    last_cr = c == '\r';
    if (c == '\r' || c == '\n') {
      kputc('\n');
      line[len] = 0;
      run_command(line);
      len = 0;
      kputs("wv> ");
    } else if (c == 0x7f || c == 0x08) {
      if (len) { len--; kputs("\b \b"); }
    } else if (c >= 0x20 && c < 0x7f && len < sizeof line - 1) {
      line[len++] = (char)c;
      kputc((char)c);
    }
  }
}
