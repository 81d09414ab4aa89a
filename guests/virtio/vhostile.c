/* vhostile: attacks a virtio-blk device (virtio-mmio version 2) with malformed rings, one attack per device
 * reset, and records how the device answers each; checks that the device works again after every reset.
 *
 * For every attack: reset (Status = 0, must read back 0), re-initialize (features VERSION_1 + INDIRECT_DESC,
 * queue 0 of size min(QueueNumMax, 64) in the DMA arena, DRIVER_OK), write the malformed ring (or queue set-up),
 * notify, then poll for at most 500 ms of mtime and print
 *     vhostile: <attack> -> needs_reset | ioerr | unsupp | ok | no_status | ignored
 * needs_reset = Status.DEVICE_NEEDS_RESET (0x40) set; ioerr/unsupp/ok = the request completed with that status
 * byte; no_status = it completed but the status byte was not written; ignored = nothing within the bound.
 * Then reset and one normal read of a sector written at the start (must succeed and match), before the next.
 * Any outcome of an attack is accepted (they differ between devices; guests/README.md has QEMU's); the guest
 * fails only if a reset does not read back 0 or the device does not work after a reset. It must never hang:
 * every wait is bounded.
 *
 * Compiled with -DVDMA_WINDOW (bin/vdma-window.elf) it runs the IOMMU window test instead (see vdma_main).
 */
#include <stdint.h>
#include "platform.h"
#include "runtime.h"
#include "virtio.h"
#include "vblk.h"

#ifdef VDMA_WINDOW
#define TAG "vdma: "
#else
#define TAG "vhostile: "
#endif

#define OUTSIDE_RAM   0x200000000ull     /* 8 GiB: past the end of RAM for any RAM size wasmvisor allows */
#define MMIO_ADDR     0x0c000000ull      /* the PLIC */
#define SANITY_SECTOR 1
#define ATTACK_MS     500

static struct vdev dev;
static int failures, attacks;
static volatile struct virtio_blk_req_hdr *hdr;
static volatile uint8_t *status;
static uint8_t *data, *data2, *ind_tab __attribute__((unused)), *ind_tab2 __attribute__((unused));

enum { R_NEEDS_RESET, R_IOERR, R_UNSUPP, R_OK, R_NO_STATUS, R_IGNORED, R_BAD };
static const char *const rname[] = { "needs_reset", "ioerr", "unsupp", "ok", "no_status", "ignored", "bad_status" };

static void fail(const char *what) { failures++; puts_(TAG "FAIL "); puts_(what); putch('\n'); }

/* Reset and bring the device up to DRIVER_OK; with setup_q, also set up queue 0 normally. */
static int bring_up(int setup_q) {
  if (vio_reset(&dev) != 0) { fail("reset: status does not read back 0"); return -1; }
  int rc = vio_negotiate(&dev, FEAT(VIRTIO_RING_F_INDIRECT_DESC));
  if (rc) { fail("feature negotiation"); return -1; }
  if (setup_q) {
    if (vio_queue_setup(&dev, 0)) { fail("queue setup"); return -1; }
    vio_driver_ok(&dev);
  }
  return 0;
}

/* Write sector via a normal request (OUT) or read it (IN) into buf; returns the status or -1/-2. */
static int normal_rq(uint32_t type, uint64_t sector, uint8_t *buf) {
  struct vbuf b[3] = {
    { (uint64_t)(uintptr_t)hdr, 16, 0 }, { (uint64_t)(uintptr_t)buf, SECTOR, type == VIRTIO_BLK_T_IN },
    { (uint64_t)(uintptr_t)status, 1, 1 } };
  hdr->type = type; hdr->reserved = 0; hdr->sector = sector; *status = 0xee;
  int h = vq_add(&dev, 0, b, 3, 0);
  if (h < 0) return -3;
  vq_kick(&dev, 0);
  int r = vq_wait(&dev, 0, h, 0, 5000);
  return r < 0 ? r : *status;
}

static void fill_sector(uint8_t *p, uint32_t seed) { for (uint32_t i = 0; i < SECTOR; i++) p[i] = (uint8_t)(seed + i * 7 + (i >> 5)); }
static int check_sector(const uint8_t *p, uint32_t seed) {
  for (uint32_t i = 0; i < SECTOR; i++) if (p[i] != (uint8_t)(seed + i * 7 + (i >> 5))) return 0;
  return 1;
}

/* After an attack: reset, re-initialize, read SANITY_SECTOR and compare. */
static int sanity(void) {
  if (bring_up(1)) return 0;
  vio_memset(data, 0, SECTOR);
  int r = normal_rq(VIRTIO_BLK_T_IN, SANITY_SECTOR, data);
  if (r != VIRTIO_BLK_S_OK || !check_sector(data, 0x3c)) {
    puts_(TAG "FAIL device does not work after reset (status "); put_dec(r); puts_(")\n");
    failures++;
    return 0;
  }
  return 1;
}

/* Poll for the outcome of an attack: NEEDS_RESET, a completion (status byte), or nothing. */
static int observe(volatile uint16_t *used_idx, uint16_t before, volatile uint8_t *st, uint32_t ms) {
  uint64_t end = vio_now() + (uint64_t)ms * VIO_TICKS_PER_MS;
  for (;;) {
    uint32_t s = vio_status(&dev);
    uint32_t is = vio_r32(&dev, VIO_INT_STATUS);
    if (is) vio_w32(&dev, VIO_INT_ACK, is);
    if (s & VIO_S_NEEDS_RESET) return R_NEEDS_RESET;
    if (used_idx && *used_idx != before) {
      delay_us(1000);   /* let a late NEEDS_RESET show */
      if (vio_status(&dev) & VIO_S_NEEDS_RESET) return R_NEEDS_RESET;
      uint8_t v = *st;
      return v == 0 ? R_OK : v == 1 ? R_IOERR : v == 2 ? R_UNSUPP : v == 0xee ? R_NO_STATUS : R_BAD;
    }
    if (vio_now() > end) return R_IGNORED;
    delay_us(20);
  }
}

static void report(const char *name, int r) {
  attacks++;
  puts_(TAG); puts_(name); puts_(" -> "); puts_(rname[r]); putch('\n');
}

/* ---------------------------------------------------------------- ring-level helpers on queue 0 */

static struct vq *Q(void) { return &dev.q[0]; }
static void put_desc(int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
  volatile struct vring_desc *d = Q()->desc + i;
  d->addr = addr; d->len = len; d->flags = flags; d->next = next;
}
__attribute__((unused)) static void put_table(volatile struct vring_desc *t, int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
  t[i].addr = addr; t[i].len = len; t[i].flags = flags; t[i].next = next;
}
/* publish head with avail idx advanced by step, notify queue nq, observe */
__attribute__((unused)) static int fire(uint16_t head, uint16_t step, uint32_t nq) {
  struct vq *q = Q();
  uint16_t before = q->used[1];
  q->avail[2] = head;
  vio_mb();
  q->avail[1] = step;
  vio_mb();
  vio_w32(&dev, VIO_QUEUE_NOTIFY, nq);
  return observe(&q->used[1], before, status, ATTACK_MS);
}
static void prep_hdr(uint32_t type, uint64_t sector) { hdr->type = type; hdr->reserved = 0; hdr->sector = sector; *status = 0xee; }
#define A(x) ((uint64_t)(uintptr_t)(x))

/* a normal 3-descriptor read at descriptors 0,1,2 with the data buffer (addr, len, flags) */
static void chain3(uint32_t type, uint64_t daddr, uint32_t dlen) {
  prep_hdr(type, 0);
  put_desc(0, A(hdr), 16, VRING_DESC_F_NEXT, 1);
  put_desc(1, daddr, dlen, (uint16_t)(VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0)), 2);
  put_desc(2, A(status), 1, VRING_DESC_F_WRITE, 0);
}

/* ---------------------------------------------------------------- attacks */

#ifndef VDMA_WINDOW
static int run_chain_attack(const char *name, int kind) {
  if (bring_up(1)) return -1;
  struct vq *q = Q();
  int r;
  uint16_t n = q->num;
  volatile struct vring_desc *t = (volatile struct vring_desc *)ind_tab, *t2 = (volatile struct vring_desc *)ind_tab2;
  switch (kind) {
  case 0: /* loop: 0 -> 1 -> 2 -> 1 -> 2 ... (all device-writable after the header, so only a loop check stops it) */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(2, A(status), 1, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    r = fire(0, 1, 0); break;
  case 1: /* next >= queue size */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(1, A(data), SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, n);
    r = fire(0, 1, 0); break;
  case 2: /* avail idx jumps by more than the queue size */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    r = fire(0, (uint16_t)(n + 1), 0); break;
  case 3: /* avail ring entry (head) >= queue size */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    r = fire(n, 1, 0); break;
  case 4: case 5: case 6: case 7: case 8: /* indirect tables */
    prep_hdr(VIRTIO_BLK_T_IN, 0);
    put_table(t, 0, A(hdr), 16, VRING_DESC_F_NEXT, 1);
    put_table(t, 1, A(data), SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    put_table(t, 2, A(status), 1, VRING_DESC_F_WRITE, 0);
    if (kind == 4) put_desc(0, A(t), 40, VRING_DESC_F_INDIRECT, 0);          /* len not a multiple of 16 */
    if (kind == 5) put_desc(0, A(t), 0, VRING_DESC_F_INDIRECT, 0);           /* len 0 */
    if (kind == 6) {                                                          /* nested indirect */
      put_table(t2, 0, A(data), SECTOR, VRING_DESC_F_WRITE, 0);
      put_table(t, 1, A(t2), 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
      put_desc(0, A(t), 48, VRING_DESC_F_INDIRECT, 0);
    }
    if (kind == 7) {                                                          /* INDIRECT | NEXT */
      put_desc(1, A(data2), SECTOR, VRING_DESC_F_WRITE, 0);
      put_desc(0, A(t), 48, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    }
    if (kind == 8) put_desc(0, A(t), 0x10000 * 16u, VRING_DESC_F_INDIRECT, 0); /* table of 65536 entries */
    r = fire(0, 1, 0); break;
  case 9: /* header descriptor of length 0xffffffff */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(0, A(hdr), 0xffffffffu, VRING_DESC_F_NEXT, 1);
    r = fire(0, 1, 0); break;
  case 10: /* OUT data of length 0xffffffff */
    chain3(VIRTIO_BLK_T_OUT, A(data), 0xffffffffu);
    r = fire(0, 1, 0); break;
  case 11: /* IN data past the end of RAM */
    chain3(VIRTIO_BLK_T_IN, OUTSIDE_RAM, SECTOR);
    r = fire(0, 1, 0); break;
  case 12: /* IN data into MMIO (the PLIC) */
    chain3(VIRTIO_BLK_T_IN, MMIO_ADDR, SECTOR);
    r = fire(0, 1, 0); break;
  case 13: /* IN data at 2^63 */
    chain3(VIRTIO_BLK_T_IN, 1ull << 63, SECTOR);
    r = fire(0, 1, 0); break;
  case 14: /* IN data wrapping around the address space */
    chain3(VIRTIO_BLK_T_IN, 0xffffffffffffff00ull, SECTOR);
    r = fire(0, 1, 0); break;
  case 15: /* status descriptor not device-writable */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(2, A(status), 1, 0, 0);
    r = fire(0, 1, 0); break;
  case 16: /* no status descriptor at all (header + data) */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(1, A(data), SECTOR, VRING_DESC_F_WRITE, 0);
    r = fire(0, 1, 0); break;
  case 17: /* header shorter than 16 bytes */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    put_desc(0, A(hdr), 8, VRING_DESC_F_NEXT, 1);
    r = fire(0, 1, 0); break;
  case 18: /* a valid request, but notify queue indices that do not exist (1, 0xffff) */
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    q->avail[2] = 0; vio_mb(); q->avail[1] = 1; vio_mb();
    vio_w32(&dev, VIO_QUEUE_NOTIFY, 1);
    vio_w32(&dev, VIO_QUEUE_NOTIFY, 0xffff);
    r = observe(&q->used[1], 0, status, ATTACK_MS); break;
  default: r = R_BAD;
  }
  report(name, r);
  return r;
}

/* queue set-up attacks: the queue is set up by hand (size, addresses), then DRIVER_OK and a valid request */
static int run_queue_attack(const char *name, int kind) {
  if (bring_up(0)) return -1;
  uint64_t base = VIO_ARENA;
  vio_memset((void *)base, 0, 0x3000);
  vio_w32(&dev, VIO_QUEUE_SEL, 0);
  uint32_t max = vio_r32(&dev, VIO_QUEUE_NUM_MAX);
  uint32_t num = 8;
  uint64_t desc = base, avail = base + 0x1000, used = base + 0x2000;
  if (kind == 0) num = 3;                        /* not a power of two */
  if (kind == 1) num = max + 1;                  /* > QueueNumMax */
  if (kind == 2) num = 0;                        /* zero */
  if (kind == 3) desc = OUTSIDE_RAM;             /* descriptor table outside RAM */
  if (kind == 4) used = OUTSIDE_RAM;             /* used ring outside RAM */
  if (kind == 5) avail = MMIO_ADDR + 0x1000;     /* driver (avail) ring in MMIO (PLIC) */
  vio_queue_setup_at(&dev, 0, num, desc, avail, used);
  vio_driver_ok(&dev);
  int r;
  if (vio_status(&dev) & VIO_S_NEEDS_RESET) r = R_NEEDS_RESET;
  else {
    struct vq *q = Q();
    volatile struct vring_desc *dd = (volatile struct vring_desc *)base;   /* write ours where RAM is */
    prep_hdr(VIRTIO_BLK_T_IN, 0);
    dd[0] = (struct vring_desc){ A(hdr), 16, VRING_DESC_F_NEXT, 1 };
    dd[1] = (struct vring_desc){ A(data), SECTOR, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
    dd[2] = (struct vring_desc){ A(status), 1, VRING_DESC_F_WRITE, 0 };
    volatile uint16_t *av = (volatile uint16_t *)(kind == 5 ? base + 0x1000 : avail);
    volatile uint16_t *us = (volatile uint16_t *)(kind == 4 ? base + 0x2000 : used);
    av[2] = 0; vio_mb(); av[1] = 1; vio_mb();
    vio_w32(&dev, VIO_QUEUE_NOTIFY, 0);
    (void)q;
    r = observe(us + 1, 0, status, ATTACK_MS);
    /* used ring elsewhere: a completion shows only in the status byte */
    if (r == R_IGNORED && *status != 0xee) r = *status == 0 ? R_OK : *status == 1 ? R_IOERR : R_UNSUPP;
  }
  report(name, r);
  return r;
}

static const char *const chain_attacks[] = {
  "desc-loop", "desc-next-out-of-range", "avail-idx-jump", "avail-head-out-of-range",
  "indirect-len-not-multiple-of-16", "indirect-len-0", "indirect-nested", "indirect-with-next",
  "indirect-table-65536-entries",
  "header-len-0xffffffff", "out-data-len-0xffffffff", "buffer-past-end-of-ram", "buffer-in-mmio",
  "buffer-at-2^63", "buffer-wraps-address-space", "status-not-writable", "no-status-descriptor",
  "header-8-bytes", "notify-nonexistent-queue",
};
static const char *const queue_attacks[] = {
  "queue-num-3-not-power-of-2", "queue-num-above-max", "queue-num-0", "queue-desc-outside-ram",
  "queue-used-outside-ram", "queue-avail-in-mmio",
};

int main(void) {
  puts_(TAG "virtio-blk hostile-ring test\n");
  if (!vio_find(&dev, VIRTIO_ID_BLOCK, 0)) {
    puts_(vio_scan_legacy ? TAG "FAIL only a legacy (version 1) virtio-blk device: QEMU needs -global virtio-mmio.force-legacy=false\n"
                          : TAG "FAIL no virtio-blk device\n");
    return 1;
  }
  hdr = vio_alloc(16, 16); status = vio_alloc(1, 1);
  data = vio_alloc(SECTOR, 4096); data2 = vio_alloc(SECTOR, 4096);
  ind_tab = vio_alloc(64 * 16, 4096); ind_tab2 = vio_alloc(64 * 16, 4096);
  if (bring_up(1)) return 1;
  if (!(dev.features & FEAT(VIRTIO_RING_F_INDIRECT_DESC))) puts_(TAG "note: INDIRECT_DESC not offered (indirect attacks still sent)\n");
  if (dev.dev_features & FEAT(VIRTIO_BLK_F_RO)) { puts_(TAG "FAIL the disk is read-only: needs a writable disk\n"); return 1; }
  fill_sector(data, 0x3c);
  if (normal_rq(VIRTIO_BLK_T_OUT, SANITY_SECTOR, data) != VIRTIO_BLK_S_OK) { fail("initial write of the sanity sector"); return 1; }
  if (!sanity()) return 1;
  int broken = 0;
  for (unsigned i = 0; i < sizeof chain_attacks / sizeof *chain_attacks; i++) {
    run_chain_attack(chain_attacks[i], (int)i);
    if (!sanity()) broken++;
  }
  for (unsigned i = 0; i < sizeof queue_attacks / sizeof *queue_attacks; i++) {
    run_queue_attack(queue_attacks[i], (int)i);
    if (!sanity()) broken++;
  }
  if (!broken && !failures) {
    puts_(TAG "device still works\n");
    puts_(TAG "PASS ("); put_dec(attacks); puts_(" attacks)\n");
    vio_reset(&dev);
    return 0;
  }
  puts_(TAG "FAIL ("); put_dec(failures); puts_(" failures)\n");
  vio_reset(&dev);
  return failures ? (failures > 255 ? 255 : failures) : 1;
}
#else
/* ---------------------------------------------------------------- IOMMU window test (bin/vdma-window.elf)
 * The host restricts the device's DMA to [VIO_ARENA, VIO_ARENA + 1 MiB) = [0x8100_0000, 0x8110_0000).
 * The 32-bit knob word at VDMA_KNOB (outside the image, zero at reset) tells the guest whether to expect that:
 * 0 = no restriction expected (QEMU, no IOMMU): outcomes are only printed; 1 = restriction expected (the host
 * writes 1 before starting the guest): the out-of-window accesses must fail and memory outside stay unchanged.
 */
#define VDMA_KNOB   0x80fff000ul
#define OUT_BUF     0x82000000ull   /* in RAM, outside the window */
#define OUT_RING    0x82010000ull

static int checks;
/* publish descriptor chain 0 (written by chain3) as the next avail entry of the live queue, notify, observe */
static int submit_raw(struct vq *q) {
  q->avail[2 + q->avail_idx % q->num] = 0; q->avail_idx++;
  vio_mb(); q->avail[1] = q->avail_idx; q->published = q->avail_idx; vio_mb();
  uint16_t before = q->used[1];
  vio_w32(&dev, VIO_QUEUE_NOTIFY, 0);
  return observe(&q->used[1], before, status, ATTACK_MS);
}
static void vcheck(int expect, int cond, const char *what) {
  if (!expect) { puts_(TAG "info "); puts_(what); puts_(cond ? ": as on an IOMMU\n" : ": not restricted (no IOMMU)\n"); return; }
  checks++;
  if (cond) { puts_(TAG "ok "); puts_(what); putch('\n'); }
  else fail(what);
}

int main(void) {
  uint32_t knob = *(volatile uint32_t *)VDMA_KNOB;
  int expect = knob == 1;
  puts_(TAG "IOMMU DMA window test, window [0x81000000, 0x81100000)\n");
  puts_(expect ? TAG "knob 1: restriction expected\n" : TAG "knob 0: no restriction expected (only printed)\n");
  if (!vio_find(&dev, VIRTIO_ID_BLOCK, 0)) { puts_(TAG "FAIL no virtio-blk device (version 2)\n"); return 1; }
  hdr = vio_alloc(16, 16); status = vio_alloc(1, 1);
  data = vio_alloc(SECTOR, 4096); data2 = vio_alloc(SECTOR, 4096);
  if (bring_up(1)) return 1;
  if (dev.dev_features & FEAT(VIRTIO_BLK_F_RO)) { puts_(TAG "FAIL the disk is read-only: needs a writable disk\n"); return 1; }

  /* 1: a valid request inside the window */
  fill_sector(data, 0x3c);
  int r = normal_rq(VIRTIO_BLK_T_OUT, SANITY_SECTOR, data);
  fill_sector(data, 0x11);
  int r2 = normal_rq(VIRTIO_BLK_T_OUT, 2, data);
  vio_memset(data, 0, SECTOR);
  int r3 = normal_rq(VIRTIO_BLK_T_IN, SANITY_SECTOR, data);
  checks++;
  if (r == 0 && r2 == 0 && r3 == 0 && check_sector(data, 0x3c)) puts_(TAG "ok request inside the window\n");
  else { fail("request inside the window"); return 1; }

  /* 2: read (IN) into a buffer outside the window: IOERR, canary unchanged */
  volatile uint8_t *ob = (volatile uint8_t *)OUT_BUF;
  for (uint32_t i = 0; i < 3 * SECTOR; i++) ob[i] = 0xa5;
  struct vq *q = Q();
  chain3(VIRTIO_BLK_T_IN, OUT_BUF + SECTOR, SECTOR);
  hdr->sector = SANITY_SECTOR;
  r = submit_raw(q);
  report("read into a buffer outside the window", r);
  int canary = 1;
  for (uint32_t i = 0; i < 3 * SECTOR; i++) if (ob[i] != 0xa5) { canary = 0; break; }
  vcheck(expect, r == R_IOERR, "read into a buffer outside the window -> ioerr");
  vcheck(expect, canary, "memory outside the window unchanged");
  sanity();

  /* 3: write (OUT) from a buffer outside the window: IOERR, sector 2 unchanged */
  for (uint32_t i = 0; i < SECTOR; i++) ob[i] = 0x5a;
  q = Q();
  chain3(VIRTIO_BLK_T_OUT, OUT_BUF, SECTOR);
  hdr->sector = 2;
  r = submit_raw(q);
  report("write from a buffer outside the window", r);
  vcheck(expect, r == R_IOERR, "write from a buffer outside the window -> ioerr");
  sanity();
  vio_memset(data, 0, SECTOR);
  r2 = normal_rq(VIRTIO_BLK_T_IN, 2, data);
  vcheck(expect, r2 == 0 && check_sector(data, 0x11), "disk unchanged by the out-of-window write");

  /* 4: the rings outside the window (buffers inside): must not be processed */
  if (bring_up(0) == 0) {
    vio_memset((void *)OUT_RING, 0, 0x3000);
    vio_queue_setup_at(&dev, 0, 8, OUT_RING, OUT_RING + 0x1000, OUT_RING + 0x2000);
    vio_driver_ok(&dev);
    q = Q();
    chain3(VIRTIO_BLK_T_IN, A(data), SECTOR);
    hdr->sector = SANITY_SECTOR;
    vio_memset(data, 0x77, SECTOR);
    q->avail[2] = 0; vio_mb(); q->avail[1] = 1; vio_mb();
    vio_w32(&dev, VIO_QUEUE_NOTIFY, 0);
    r = observe(&q->used[1], 0, status, ATTACK_MS);
    if (r == R_IGNORED && *status != 0xee) r = R_OK;
    report("rings outside the window", r);
    int untouched = *status == 0xee && data[0] == 0x77 && q->used[1] == 0;
    vcheck(expect, (r == R_NEEDS_RESET || r == R_IGNORED) && untouched, "rings outside the window not processed");
  }
  if (!sanity()) { puts_(TAG "FAIL device does not work after the tests\n"); return failures ? failures : 1; }
  puts_(TAG "device still works\n");
  vio_reset(&dev);
  if (failures) { puts_(TAG "FAIL ("); put_dec(failures); puts_(" failures)\n"); return failures > 255 ? 255 : failures; }
  puts_(TAG "PASS ("); put_dec(checks); puts_(" checks)\n");
  return 0;
}
#endif
