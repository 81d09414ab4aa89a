/* pg-vmdemo: a teaching-kernel-style guest for memory virtualization (Sv39).
 *
 * M-mode (main, entered from common/crt0.S): opens PMP, delegates U-mode ecalls and page faults to S, and
 * enters the S-mode kernel (kmain). The kernel
 *   - builds Sv39 tables from a pool of pages: its image identity-mapped with 2 MiB megapages (R W X, global),
 *     the UART and the test device with 4 KiB pages, and all of RAM once more at PHYSMAP_VA with a 1 GiB
 *     gigapage (R W, not executable);
 *   - runs 3 user processes, each with its own root table and ASID (1, 2, 3). All run the same program
 *     (user_main, linked into the page-aligned .user section and mapped U R X at UCODE_VA in every process,
 *     pointing at the kernel's copy). Their data/stack region UDATA_VA..+64 KiB starts unmapped: every first
 *     touch is a load/store page fault, and the kernel maps a zeroed page from its pool (with A = D = 0 for
 *     data pages, A = D = 1 preset for the stack page), then sfence.vma va, asid. The processes yield (ecall)
 *     after each page they fill, so they interleave round-robin; the kernel switches satp without flushing
 *     (the ASIDs keep the translations apart) and uses sfence.vma x0, asid when an ASID gets a new address space;
 *   - checks each result against its own computation, the A/D bits the hardware set (A on every touched page,
 *     D only on written ones), then U-mode accesses to kernel pages (13/15), a U fetch from a non-executable
 *     page (12), S-mode accesses to U pages with SUM = 0 (13/15) and SUM = 1 (work), S fetches from U and
 *     from non-executable pages (12), and reads/writes through the gigapage alias.
 * Hardware that does not update A/D (it faults instead, as the privileged spec also allows) is handled too: the
 * fault handler sets them and retries. Those faults are not part of the printed counts, so the output is the
 * same either way. Nothing printed depends on timing.
 */
#include <stdint.h>
#include "platform.h"
#include "runtime.h"

/* There is no libc: keep GCC from turning fill/copy loops into memset/memcpy calls. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

/* ------------------------------------------------------------------ constants */

#define PGSIZE     4096ul
#define PTE_V (1ul << 0)
#define PTE_R (1ul << 1)
#define PTE_W (1ul << 2)
#define PTE_X (1ul << 3)
#define PTE_U (1ul << 4)
#define PTE_G (1ul << 5)
#define PTE_A (1ul << 6)
#define PTE_D (1ul << 7)
#define PTE_PPN_SHIFT 10
#define SATP_SV39  (8ul << 60)

#define RAM_BASE     0x80000000ul
#define MEGA         0x200000ul
#define GIGA         0x40000000ul
#define UCODE_VA     0x400000ul          /* user program (VPN[1] = 2) */
#define UDATA_VA     0x20000000ul        /* user data + stack, demand-paged (VPN[1] = 256) */
#define UDATA_PAGES  16
#define UDATA_END    (UDATA_VA + UDATA_PAGES * PGSIZE)
#define USTACK_TOP   UDATA_END
#define STACK_PAGE   (UDATA_PAGES - 1)
#define PHYSMAP_VA   0x2000000000ul      /* gigapage alias of RAM (VPN[2] = 128) */
#define NONCANON_VA  0x4000000000ul      /* bit 38 set, bits 63..39 clear: not a valid Sv39 address */

#define CAUSE_ECALL_U    8
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE  13
#define CAUSE_STORE_PAGE 15
#define SSTATUS_SUM      (1ul << 18)

#define SYS_EXIT  1
#define SYS_YIELD 2

#define NPROC      3
#define POOL_PAGES 64
#define WORDS_PER_PAGE (PGSIZE / 8)

/* ------------------------------------------------------------------ CSR access */

#define csr_read(name) ({ uint64_t v_; __asm__ volatile("csrr %0, " #name : "=r"(v_)); v_; })
#define csr_write(name, v) __asm__ volatile("csrw " #name ", %0" : : "r"((uint64_t)(v)) : "memory")
#define csr_set(name, v) __asm__ volatile("csrs " #name ", %0" : : "r"((uint64_t)(v)) : "memory")
#define csr_clear(name, v) __asm__ volatile("csrc " #name ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void sfence_all(void) { __asm__ volatile("sfence.vma" : : : "memory"); }
static inline void sfence_asid(uint64_t asid) { __asm__ volatile("sfence.vma x0, %0" : : "r"(asid) : "memory"); }
static inline void sfence_va_asid(uint64_t va, uint64_t asid) {
  __asm__ volatile("sfence.vma %0, %1" : : "r"(va), "r"(asid) : "memory");
}

/* ------------------------------------------------------------------ the user program */
/* Everything reachable from user_main lives in .user (always_inline helpers, no calls, no data outside),
   so it runs unchanged at UCODE_VA: the code is position-independent (medany: pc-relative). */

#define USER   __attribute__((section(".user"), noinline, used))
#define UINLINE static inline __attribute__((always_inline))

UINLINE uint64_t u_ecall(uint64_t n, uint64_t arg) {
  register uint64_t a0 __asm__("a0") = arg;
  register uint64_t a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
  return a0;
}

/* xorshift64 (shared with the kernel's reference computation) */
UINLINE uint64_t xs64(uint64_t x) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; }

enum { MODE_COMPUTE, MODE_LOAD, MODE_STORE, MODE_EXEC_DATA, MODE_LOAD_BEYOND, MODE_EXEC };

/* a0 = seed, a1 = number of pages to fill, a2 = mode, a3 = address for the probing modes */
USER void user_main(uint64_t seed, uint64_t npages, uint64_t mode, uint64_t arg) {
  volatile uint64_t *data = (volatile uint64_t *)UDATA_VA;
  volatile uint64_t frame[4]; /* on the user stack: demand-paged like the data */
  if (mode != MODE_COMPUTE) {
    if (mode == MODE_LOAD) u_ecall(SYS_EXIT, *(volatile uint64_t *)arg);            /* kernel page */
    if (mode == MODE_STORE) *(volatile uint64_t *)arg = seed;                        /* kernel page */
    if (mode == MODE_LOAD_BEYOND) u_ecall(SYS_EXIT, *(volatile uint64_t *)UDATA_END); /* outside the region */
    if (mode == MODE_EXEC) ((void (*)(void))arg)();                                  /* kernel code */
    if (mode == MODE_EXEC_DATA) {
      if (data[0] != 0) u_ecall(SYS_EXIT, 0xbad);  /* a fresh page must read as zero */
      data[0] = 0x00000013;                        /* nop: it would run if the page were executable */
      data[1] = 0x00008067;                        /* ret */
      ((void (*)(void))UDATA_VA)();                /* RW page, not X: fetch page fault */
    }
    u_ecall(SYS_EXIT, 0xbad);
  }
  const uint64_t n = npages * WORDS_PER_PAGE;
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) frame[i] = 0;
  /* 1: fill npages pages (store faults), yielding after each one */
  for (uint64_t p = 0; p < npages; p++) {
    for (uint64_t i = 0; i < WORDS_PER_PAGE; i++) { x = xs64(x); data[p * WORDS_PER_PAGE + i] = x; }
    frame[p & 3] += x;
    u_ecall(SYS_YIELD, 0);
  }
  /* 2: read two pages nobody wrote (load faults: zero pages, which stay clean) */
  uint64_t z = 0;
  for (uint64_t i = 0; i < WORDS_PER_PAGE; i += 8) z |= data[n + i] | data[n + WORDS_PER_PAGE + i];
  /* 3: read a page, then write it (a load fault maps it clean; the store must then set D) */
  volatile uint64_t *rw = data + n + 2 * WORDS_PER_PAGE;
  u_ecall(SYS_YIELD, 0);
  uint64_t t = rw[5];      /* load fault, retried: the translation may now be cached clean... */
  rw[5] = t + npages + 1;  /* ...and the store right after it must still set D (or fault for it) */
  /* 4: checksum of the filled pages, in a scattered order (97 is odd and prime: a permutation) */
  uint64_t h = z;
  for (uint64_t k = 0; k < n; k++) h = ((h << 5) | (h >> 59)) ^ data[(k * 97) % n];
  h += rw[5] + frame[0] + 3 * frame[1] + 5 * frame[2] + 7 * frame[3];
  u_ecall(SYS_EXIT, h);
  for (;;) u_ecall(SYS_EXIT, 0xbad);
}

/* The same computation, done by the kernel (identity-mapped buffer, no paging games). */
static uint64_t ref_buf[12 * WORDS_PER_PAGE];
static uint64_t reference_result(uint64_t seed, uint64_t npages) {
  uint64_t n = npages * WORDS_PER_PAGE, x = seed, frame[4] = { 0, 0, 0, 0 };
  for (uint64_t i = 0; i < n; i++) {
    x = xs64(x);
    ref_buf[i] = x;
    if (i % WORDS_PER_PAGE == WORDS_PER_PAGE - 1) frame[(i / WORDS_PER_PAGE) & 3] += x;
  }
  uint64_t h = 0; /* the untouched pages read as zero */
  for (uint64_t k = 0; k < n; k++) h = ((h << 5) | (h >> 59)) ^ ref_buf[(k * 97) % n];
  return h + (npages + 1) + frame[0] + 3 * frame[1] + 5 * frame[2] + 7 * frame[3];
}

/* ------------------------------------------------------------------ kernel state */

struct trapframe { uint64_t x[32]; uint64_t sepc; }; /* layout used by vmdemo-asm.S */
enum { P_FREE, P_RUNNABLE, P_EXITED, P_KILLED };

struct proc {
  struct trapframe tf;
  int state;
  uint64_t pid, asid, satp;
  uint64_t *root, *l1, *l0data;
  uint64_t seed, npages, mode, arg;
  unsigned load_faults, store_faults, ad_faults, yields;
  uint64_t result, kill_cause, kill_tval, kill_epc;
};

struct kfault { uint64_t fixup, cause, tval, epc; };
struct kfault kfault; /* armed by the probe_* functions (vmdemo-asm.S) */

extern char __user_start[], __user_end[], _end[];
extern char trap_stack_top[];
void enter_s(void (*fn)(void)) __attribute__((noreturn));
void m_trap_entry(void);
void s_trap_entry(void);
void user_resume(struct trapframe *tf) __attribute__((noreturn));
void sched_enter(struct trapframe *tf);
void sched_return(void) __attribute__((noreturn));
uint64_t probe_load(uint64_t va);
void probe_store(uint64_t va, uint64_t value);
uint64_t probe_exec(uint64_t va);
void m_trap_unexpected(void) __attribute__((noreturn));
void s_trap_unexpected(void) __attribute__((noreturn));
struct trapframe *s_trap_user(struct trapframe *tf);

static uint8_t pool[POOL_PAGES][PGSIZE] __attribute__((aligned(4096)));
static unsigned pool_next, pages_in_use;
static void *free_list;
static struct proc procs[NPROC];
static struct proc *current;
static uint64_t *kroot, *kl1_low, *kl1_ram, *l0_code;
static uint64_t kernel_satp;
static unsigned failures, checks;
static volatile uint64_t kernel_secret = 0x5ec2e75ec2e7ul;

/* ------------------------------------------------------------------ helpers */

static void check(int ok, const char *what) {
  checks++;
  if (!ok) { failures++; puts_("  check failed: "); puts_(what); putch('\n'); }
}

static void check_eq(uint64_t got, uint64_t want, const char *what) {
  checks++;
  if (got != want) {
    failures++;
    puts_("  check failed: "); puts_(what); puts_(": got "); put_hex(got); puts_(" expected "); put_hex(want); putch('\n');
  }
}

static void *alloc_page(void) {
  uint64_t *p;
  if (free_list) { p = free_list; free_list = *(void **)p; }
  else if (pool_next < POOL_PAGES) p = (uint64_t *)pool[pool_next++];
  else { puts_("FAIL pg-vmdemo: out of pages\n"); guest_exit(2); }
  for (unsigned i = 0; i < WORDS_PER_PAGE; i++) p[i] = 0;
  pages_in_use++;
  return p;
}

static void free_page(void *p) { *(void **)p = free_list; free_list = p; pages_in_use--; }

static uint64_t pte_ptr(const void *table) { return ((uint64_t)table >> 12 << PTE_PPN_SHIFT) | PTE_V; }
static uint64_t pte_leaf(uint64_t pa, uint64_t flags) { return (pa >> 12 << PTE_PPN_SHIFT) | PTE_V | flags; }
static uint64_t *pte_table(uint64_t pte) { return (uint64_t *)(pte >> PTE_PPN_SHIFT << 12); }
static uint64_t vpn(uint64_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

/* Software walk: the PTE that maps va (a leaf, or the invalid entry where the walk stopped). */
static uint64_t *walk(uint64_t *root, uint64_t va) {
  uint64_t *table = root;
  for (int level = 2;; level--) {
    uint64_t *pte = &table[vpn(va, level)];
    if (!(*pte & PTE_V) || (*pte & (PTE_R | PTE_W | PTE_X)) || level == 0) return pte;
    table = pte_table(*pte);
  }
}

/* ------------------------------------------------------------------ M-mode */

void m_trap_unexpected(void) {
  puts_("FAIL pg-vmdemo: unexpected trap into M: mcause="); put_hex(csr_read(mcause));
  puts_(" mepc="); put_hex(csr_read(mepc)); puts_(" mtval="); put_hex(csr_read(mtval)); putch('\n');
  guest_exit(99);
}

static void kmain(void);

int main(void) {
  csr_write(mtvec, (uint64_t)m_trap_entry);
  csr_write(pmpaddr0, ~0ul);      /* PMP: everything R W X for S and U (needed as on real hardware) */
  csr_write(pmpcfg0, 0x1f);
  csr_write(medeleg, (1ul << CAUSE_ECALL_U) | (1ul << CAUSE_FETCH_PAGE) | (1ul << CAUSE_LOAD_PAGE) |
                     (1ul << CAUSE_STORE_PAGE));
  csr_write(mideleg, 0);
  csr_write(mie, 0);
  csr_write(satp, 0);
  enter_s(kmain);
}

/* ------------------------------------------------------------------ S-mode: traps */

void s_trap_unexpected(void) {
  puts_("FAIL pg-vmdemo: unexpected trap in the kernel: scause="); put_hex(csr_read(scause));
  puts_(" sepc="); put_hex(csr_read(sepc)); puts_(" stval="); put_hex(csr_read(stval)); putch('\n');
  guest_exit(98);
}

static void kill(struct proc *p, uint64_t cause, uint64_t tval) {
  p->state = P_KILLED;
  p->kill_cause = cause;
  p->kill_tval = tval;
  p->kill_epc = p->tf.sepc;
}

/* A page fault from U: returns 1 if resolved (retry), 0 if the process must die. */
static int page_fault(struct proc *p, uint64_t cause, uint64_t va) {
  uint64_t *pte = walk(p->root, va);
  if (*pte & PTE_V) {
    /* Mapped: only a missing A/D bit is fixable (hardware that leaves A/D to software). */
    uint64_t need = cause == CAUSE_FETCH_PAGE ? PTE_X : cause == CAUSE_LOAD_PAGE ? PTE_R : PTE_W;
    uint64_t ad = PTE_A | (cause == CAUSE_STORE_PAGE ? PTE_D : 0);
    if ((*pte & PTE_U) && (*pte & need) && (*pte & ad) != ad) {
      *pte |= ad;
      sfence_va_asid(va, p->asid);
      p->ad_faults++;
      return 1;
    }
    return 0;
  }
  if (cause == CAUSE_FETCH_PAGE || va < UDATA_VA || va >= UDATA_END) return 0;
  /* Demand paging: a zeroed page, data pages with A = D = 0 (the hardware must set them), the stack page
     with A = D = 1 preset. */
  uint64_t page = (uint64_t)alloc_page();
  int stack = ((va - UDATA_VA) / PGSIZE) == STACK_PAGE;
  *pte = pte_leaf(page, PTE_R | PTE_W | PTE_U | (stack ? PTE_A | PTE_D : 0));
  sfence_va_asid(va & ~(PGSIZE - 1), p->asid);
  if (cause == CAUSE_LOAD_PAGE) p->load_faults++; else p->store_faults++;
  return 1;
}

static void switch_to(struct proc *p) {
  current = p;
  csr_write(satp, p->satp); /* no flush: the ASID keeps this address space's translations apart */
}

/* Called by the trap vector for every trap from U; returns the trap frame to resume. */
struct trapframe *s_trap_user(struct trapframe *tf) {
  struct proc *p = current;
  uint64_t cause = csr_read(scause), tval = csr_read(stval);
  if (tf != &p->tf) { puts_("FAIL pg-vmdemo: trap frame mismatch\n"); guest_exit(97); }
  int reschedule = 0;
  if (cause == CAUSE_ECALL_U) {
    tf->sepc += 4;
    if (tf->x[17] == SYS_EXIT) { p->state = P_EXITED; p->result = tf->x[10]; }
    else if (tf->x[17] == SYS_YIELD) { p->yields++; reschedule = 1; }
    else kill(p, cause, tf->x[17]);
  } else if (cause == CAUSE_FETCH_PAGE || cause == CAUSE_LOAD_PAGE || cause == CAUSE_STORE_PAGE) {
    if (!page_fault(p, cause, tval)) kill(p, cause, tval);
  } else {
    kill(p, cause, tval);
  }
  if (p->state == P_RUNNABLE && !reschedule) return tf;
  /* round robin: the next runnable process after p (p itself if it is the only one left) */
  for (int i = 1; i <= NPROC; i++) {
    struct proc *q = &procs[(p - procs + i) % NPROC];
    if (q->state == P_RUNNABLE) { switch_to(q); return &q->tf; }
  }
  csr_write(satp, kernel_satp);
  sched_return(); /* every process has finished: back to the kernel's run_all() */
}

/* ------------------------------------------------------------------ S-mode: address spaces */

static void proc_create(struct proc *p, uint64_t pid, uint64_t asid, uint64_t seed, uint64_t npages,
                        uint64_t mode, uint64_t arg) {
  for (unsigned i = 0; i < sizeof *p / 8; i++) ((uint64_t *)p)[i] = 0;
  p->pid = pid; p->asid = asid; p->seed = seed; p->npages = npages; p->mode = mode; p->arg = arg;
  p->root = alloc_page();
  p->l1 = alloc_page();
  p->l0data = alloc_page();
  p->root[0] = pte_ptr(p->l1);
  p->root[vpn(RAM_BASE, 2)] = kroot[vpn(RAM_BASE, 2)];       /* kernel image (shared, global) */
  p->root[vpn(PHYSMAP_VA, 2)] = kroot[vpn(PHYSMAP_VA, 2)];   /* RAM alias (shared, global) */
  p->l1[vpn(TEST_BASE, 1)] = kl1_low[vpn(TEST_BASE, 1)];     /* devices (shared, global) */
  p->l1[vpn(UART0_BASE, 1)] = kl1_low[vpn(UART0_BASE, 1)];
  p->l1[vpn(UCODE_VA, 1)] = pte_ptr(l0_code);                /* user program (shared) */
  p->l1[vpn(UDATA_VA, 1)] = pte_ptr(p->l0data);              /* data: empty until touched */
  p->satp = SATP_SV39 | (asid << 44) | ((uint64_t)p->root >> 12);
  sfence_asid(asid); /* a new address space for this ASID: drop anything cached under it */
  p->tf.sepc = UCODE_VA + ((uint64_t)user_main - (uint64_t)__user_start);
  p->tf.x[2] = USTACK_TOP;
  p->tf.x[10] = seed; p->tf.x[11] = npages; p->tf.x[12] = mode; p->tf.x[13] = arg;
  p->state = P_RUNNABLE;
}

static void proc_destroy(struct proc *p) {
  csr_write(satp, kernel_satp);
  for (unsigned i = 0; i < 512; i++)
    if (p->l0data[i] & PTE_V) { free_page(pte_table(p->l0data[i])); p->l0data[i] = 0; }
  free_page(p->l0data);
  free_page(p->l1);
  free_page(p->root);
  sfence_asid(p->asid); /* the ASID may now be reused */
  p->state = P_FREE;
}

/* Runs every runnable process until none is left (the trap handler returns here via sched_return). */
static void run_all(void) {
  for (int i = 0; i < NPROC; i++)
    if (procs[i].state == P_RUNNABLE) { switch_to(&procs[i]); sched_enter(&procs[i].tf); return; }
}

/* ------------------------------------------------------------------ S-mode: kernel */

static uint64_t ret42(void) { return 42; }

static void print_fault(const char *what, uint64_t cause, uint64_t tval) {
  puts_(what); puts_(": scause "); put_dec((int64_t)cause); puts_(" stval "); put_hex(tval); putch('\n');
}

static void check_ad(struct proc *p) {
  for (unsigned i = 0; i < UDATA_PAGES; i++) {
    uint64_t pte = p->l0data[i], want;
    if (i < p->npages) want = PTE_V | PTE_A | PTE_D;                     /* filled */
    else if (i < p->npages + 2) want = PTE_V | PTE_A;                    /* only read */
    else if (i == p->npages + 2) want = PTE_V | PTE_A | PTE_D;           /* read, then written */
    else if (i == STACK_PAGE) want = PTE_V | PTE_A | PTE_D;              /* stack, preset */
    else want = 0;                                                       /* never touched */
    check_eq(pte & (PTE_V | PTE_A | PTE_D), want, "A/D bits of a data page");
  }
}

static void kmain(void) {
  csr_write(stvec, (uint64_t)s_trap_entry);
  csr_write(sscratch, 0);
  puts_("pg-vmdemo: Sv39 kernel, 3 user processes with demand paging\n");

  /* kernel address space: image as 2 MiB megapages, devices as 4 KiB pages, RAM alias as a gigapage */
  kroot = alloc_page();
  kl1_ram = alloc_page();
  kl1_low = alloc_page();
  uint64_t *l0_test = alloc_page(), *l0_uart = alloc_page();
  l0_code = alloc_page();
  kroot[vpn(RAM_BASE, 2)] = pte_ptr(kl1_ram) | PTE_G;
  uint64_t megapages = ((uint64_t)_end - RAM_BASE + MEGA - 1) / MEGA;
  for (uint64_t i = 0; i < megapages; i++)
    kl1_ram[i] = pte_leaf(RAM_BASE + i * MEGA, PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D);
  kroot[0] = pte_ptr(kl1_low);
  kl1_low[vpn(TEST_BASE, 1)] = pte_ptr(l0_test) | PTE_G;
  l0_test[vpn(TEST_BASE, 0)] = pte_leaf(TEST_BASE, PTE_R | PTE_W | PTE_G | PTE_A | PTE_D);
  kl1_low[vpn(UART0_BASE, 1)] = pte_ptr(l0_uart) | PTE_G;
  l0_uart[vpn(UART0_BASE, 0)] = pte_leaf(UART0_BASE, PTE_R | PTE_W | PTE_G | PTE_A | PTE_D);
  kroot[vpn(PHYSMAP_VA, 2)] = pte_leaf(RAM_BASE, PTE_R | PTE_W | PTE_G | PTE_A | PTE_D);
  uint64_t code_pages = (uint64_t)(__user_end - __user_start) / PGSIZE;
  for (uint64_t i = 0; i < code_pages; i++) /* U R X, A = 0: the first fetch must set it */
    l0_code[vpn(UCODE_VA, 0) + i] = pte_leaf((uint64_t)__user_start + i * PGSIZE, PTE_R | PTE_X | PTE_U);
  kernel_satp = SATP_SV39 | ((uint64_t)kroot >> 12);
  csr_write(satp, kernel_satp);
  sfence_all();
  puts_("kernel: "); put_dec((int64_t)megapages); puts_(" megapage(s) for the image, user program ");
  put_dec((int64_t)code_pages); puts_(" page(s) at "); put_hex(UCODE_VA); putch('\n');

  /* the gigapage alias: same memory as the identity mapping */
  uint64_t alias = PHYSMAP_VA + ((uint64_t)&kernel_secret - RAM_BASE);
  check_eq(*(volatile uint64_t *)alias, kernel_secret, "read through the gigapage alias");
  *(volatile uint64_t *)alias = 0x5ec2e7;
  check_eq(kernel_secret, 0x5ec2e7, "write through the gigapage alias");
  kernel_secret = 0x5ec2e75ec2e7ul;

  /* the three processes */
  static const uint64_t seeds[NPROC] = { 0x0123456789abcdeful, 0x0fedcba987654321ul, 0x00000000cafef00dul };
  static const uint64_t fill[NPROC] = { 4, 7, 10 };
  for (int i = 0; i < NPROC; i++) proc_create(&procs[i], i + 1, i + 1, seeds[i], fill[i], MODE_COMPUTE, 0);
  run_all();

  for (int i = 0; i < NPROC; i++) {
    struct proc *p = &procs[i];
    uint64_t want = reference_result(p->seed, p->npages);
    puts_("proc "); put_dec((int64_t)p->pid); puts_(" (asid "); put_dec((int64_t)p->asid); puts_("): ");
    put_dec((int64_t)p->npages); puts_(" pages filled, page faults "); put_dec(p->load_faults + p->store_faults);
    puts_(" (load "); put_dec(p->load_faults); puts_(", store "); put_dec(p->store_faults); puts_("), yields ");
    put_dec(p->yields); puts_(", result "); put_hex(p->result); putch('\n');
#ifdef VMDEMO_DEBUG
    puts_("  (A/D faults "); put_dec(p->ad_faults); puts_(")\n");
#endif
    check(p->state == P_EXITED, "process exited normally");
    check_eq(p->result, want, "process result");
    check_eq(p->load_faults, 3, "load faults");
    check_eq(p->store_faults, p->npages + 1, "store faults");
    check_ad(p);
  }
  uint64_t code_pte = l0_code[vpn(UCODE_VA, 0) + ((uint64_t)user_main - (uint64_t)__user_start) / PGSIZE];
  check_eq(code_pte & (PTE_A | PTE_D), PTE_A, "A/D bits of the user code page");

  /* S-mode accesses to U pages (in process 1's address space, still intact) */
  struct proc *p1 = &procs[0];
  csr_write(satp, p1->satp);
  uint64_t first = xs64(p1->seed);
  probe_load(UDATA_VA);
  print_fault("S load from a U page, SUM=0", kfault.cause, kfault.tval);
  check(kfault.cause == CAUSE_LOAD_PAGE && kfault.tval == UDATA_VA, "S load from U page with SUM=0 faults");
  probe_store(UDATA_VA + 8, 0x77);
  print_fault("S store to a U page, SUM=0", kfault.cause, kfault.tval);
  check(kfault.cause == CAUSE_STORE_PAGE && kfault.tval == UDATA_VA + 8, "S store to U page with SUM=0 faults");
  csr_set(sstatus, SSTATUS_SUM);
  uint64_t v = probe_load(UDATA_VA);
  check(kfault.cause == (uint64_t)-1, "S load from U page with SUM=1 works");
  check_eq(v, first, "S load from U page with SUM=1 reads the process's data");
  probe_store(UDATA_VA + 8, 0x77);
  check(kfault.cause == (uint64_t)-1, "S store to U page with SUM=1 works");
  check_eq(pte_table(p1->l0data[0])[1], 0x77, "S store to U page reached the process's page");
  probe_exec(UCODE_VA + ((uint64_t)user_main - (uint64_t)__user_start));
  print_fault("S fetch from a U page, SUM=1", kfault.cause, kfault.tval);
  check(kfault.cause == CAUSE_FETCH_PAGE, "S fetch from U page faults even with SUM=1");
  csr_clear(sstatus, SSTATUS_SUM);
  puts_("S access to U pages: SUM=1 load "); put_hex(v); puts_(", store ok\n");

  /* S fetches: identity mapping (X) works, the alias (no X) faults; a non-canonical address faults */
  check_eq(probe_exec((uint64_t)ret42), 42, "S call through the identity mapping");
  uint64_t ret42_alias = PHYSMAP_VA + ((uint64_t)ret42 - RAM_BASE);
  probe_exec(ret42_alias);
  print_fault("S fetch from the non-executable alias", kfault.cause, kfault.tval);
  check(kfault.cause == CAUSE_FETCH_PAGE && kfault.tval == ret42_alias && kfault.epc == ret42_alias,
        "S fetch from a non-X page: cause 12, stval = sepc = address");
  probe_load(NONCANON_VA);
  print_fault("S load from a non-canonical address", kfault.cause, kfault.tval);
  check(kfault.cause == CAUSE_LOAD_PAGE && kfault.tval == NONCANON_VA, "S load from a non-canonical address");

  for (int i = 0; i < NPROC; i++) proc_destroy(&procs[i]);

  /* U-mode probes, one process at a time, reusing ASID 1 (flushed when process 1 was destroyed) */
  static const struct { uint64_t mode, arg, cause; const char *what; } probes[] = {
    { MODE_LOAD, (uint64_t)&kernel_secret, CAUSE_LOAD_PAGE, "U load from a kernel page" },
    { MODE_STORE, (uint64_t)&kernel_secret, CAUSE_STORE_PAGE, "U store to a kernel page" },
    { MODE_STORE, UART0_BASE, CAUSE_STORE_PAGE, "U store to the kernel's UART page" },
    { MODE_EXEC, (uint64_t)ret42, CAUSE_FETCH_PAGE, "U fetch from a kernel page" },
    { MODE_EXEC_DATA, UDATA_VA, CAUSE_FETCH_PAGE, "U fetch from a non-executable U page" },
    { MODE_LOAD_BEYOND, UDATA_END, CAUSE_LOAD_PAGE, "U load beyond its data region" },
  };
  for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    struct proc *p = &procs[0];
    proc_create(p, 4 + i, 1, 0x1111 * (i + 1), 0, probes[i].mode, probes[i].arg);
    run_all();
    puts_("probe: "); puts_(probes[i].what); puts_(": ");
    if (p->state == P_KILLED) {
      puts_("killed, scause "); put_dec((int64_t)p->kill_cause);
      puts_(" stval "); put_hex(p->kill_tval);
    } else {
      puts_("not killed, exit "); put_hex(p->result);
    }
    puts_(", page faults "); put_dec(p->load_faults + p->store_faults); putch('\n');
    check(p->state == P_KILLED && p->kill_cause == probes[i].cause && p->kill_tval == probes[i].arg,
          "U probe faults with the expected scause and stval");
    if (probes[i].mode == MODE_EXEC_DATA) check_eq(p->kill_epc, UDATA_VA, "sepc of the fetch fault");
    proc_destroy(p);
  }
  check_eq(pages_in_use, 6, "every process page returned to the pool");

  if (failures) {
    puts_("FAIL pg-vmdemo ("); put_dec(failures); puts_(" of "); put_dec(checks); puts_(" checks failed)\n");
    guest_exit(1);
  }
  puts_("PASS pg-vmdemo ("); put_dec(checks); puts_(" checks)\n");
  guest_exit(0);
}
