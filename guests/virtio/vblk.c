/* vblk: self-checking bare-metal driver test for a virtio-blk device (virtio-mmio version 2), M-mode, polling.
 *
 * Finds the first virtio-blk device in the 8 QEMU `virt` virtio-mmio slots, negotiates VERSION_1 (required),
 * INDIRECT_DESC and EVENT_IDX (used when offered) and the block features, then
 *   - reads capacity / blk_size / seg_max from config space (ConfigGeneration loop), GET_ID (the serial);
 *   - writes a deterministic pattern to every sector (several requests in flight; 1..4 data buffers per request,
 *     data crossing a page boundary, every third request through an indirect table), FLUSH, reads it all back
 *     (same mix) and compares;
 *   - checks EVENT_IDX (an interrupt when used_event is reached), InterruptStatus/InterruptACK;
 *   - writes/reads at and across the end of the disk (IOERR), an unknown request type (UNSUPP);
 *   - WRITE_ZEROES (reads back zeros) and DISCARD when offered, then restores the pattern;
 *   - read-only device (VIRTIO_BLK_F_RO): a write must fail with IOERR, reads must work;
 *   - finally writes the marker "wasmvisor-vblk-ok\n" (rest of the sector zero) into sector 0.
 * Afterwards the disk holds: sector 0 = the marker, sector s >= 1 = pattern(s) (see pattern_word) — unless RO.
 * Output: one line per check ("vblk: ok <what>" / "vblk: FAIL <what> ..."), "vblk: info ..." lines for values that
 * depend on the device implementation, and a summary; exit 0 (test device pass) or the number of failures.
 */
#include <stdint.h>
#include "platform.h"
#include "runtime.h"
#include "virtio.h"
#include "vblk.h"

static struct vdev dev;
static int checks, failures;
static uint64_t capacity;
static uint32_t seg_max = 1, size_max, blk_size = 512;

static void check(int cond, const char *what) {
  checks++;
  if (cond) { puts_("vblk: ok "); puts_(what); putch('\n'); }
  else { failures++; puts_("vblk: FAIL "); puts_(what); putch('\n'); }
}
static void fail_detail(const char *what, const char *k1, uint64_t v1, const char *k2, uint64_t v2) {
  checks++; failures++;
  puts_("vblk: FAIL "); puts_(what);
  if (k1) { putch(' '); puts_(k1); putch('='); put_dec((int64_t)v1); }
  if (k2) { putch(' '); puts_(k2); putch('='); put_dec((int64_t)v2); }
  putch('\n');
}
static void info(const char *what, uint64_t v) {
  puts_("vblk: info "); puts_(what); putch(' '); put_dec((int64_t)v); putch('\n');
}

/* The pattern: 32-bit little-endian word i (0..127) of sector s. */
static inline uint32_t pattern_word(uint64_t s, uint32_t i) { return (uint32_t)((s * 128 + i) * 2654435761u) ^ 0x5a5a5a5au; }
static void fill_pattern(uint8_t *buf, uint64_t sector, uint32_t nsec) {
  volatile uint32_t *w = (volatile uint32_t *)buf;
  for (uint32_t k = 0; k < nsec; k++) for (uint32_t i = 0; i < 128; i++) w[k * 128 + i] = pattern_word(sector + k, i);
}
/* returns the number of sectors that differ */
static uint32_t verify_pattern(const uint8_t *buf, uint64_t sector, uint32_t nsec) {
  const volatile uint32_t *w = (const volatile uint32_t *)buf;
  uint32_t bad = 0;
  for (uint32_t k = 0; k < nsec; k++) {
    for (uint32_t i = 0; i < 128; i++) if (w[k * 128 + i] != pattern_word(sector + k, i)) { bad++; break; }
  }
  return bad;
}

/* ---------------------------------------------------------------- synchronous requests */

static volatile struct virtio_blk_req_hdr *sync_hdr;
static volatile uint8_t *sync_status;

/* One request: header, nd data buffers, status. Returns the status byte, or -1 timeout, -2 NEEDS_RESET,
 * -3 queue full. */
static int blk_rq(uint32_t type, uint64_t sector, const struct vbuf *data, int nd, int indirect) {
  struct vbuf b[8];
  sync_hdr->type = type; sync_hdr->reserved = 0; sync_hdr->sector = sector;
  *sync_status = 0xee;
  b[0].addr = (uint64_t)(uintptr_t)sync_hdr; b[0].len = sizeof(struct virtio_blk_req_hdr); b[0].write = 0;
  for (int i = 0; i < nd; i++) b[1 + i] = data[i];
  b[1 + nd].addr = (uint64_t)(uintptr_t)sync_status; b[1 + nd].len = 1; b[1 + nd].write = 1;
  int h = vq_add(&dev, 0, b, nd + 2, indirect);
  if (h < 0) return -3;
  vq_kick(&dev, 0);
  int r = vq_wait(&dev, 0, h, 0, 5000);
  if (r < 0) return r;
  return *sync_status;
}
static int blk_rw1(uint32_t type, uint64_t sector, void *buf, uint32_t len) {
  struct vbuf d = { (uint64_t)(uintptr_t)buf, len, type == VIRTIO_BLK_T_IN };
  return blk_rq(type, sector, &d, 1, 0);
}

/* ---------------------------------------------------------------- pipelined whole-disk pass */

#define SLOTS 4
#define CHUNK_SECTORS 8
struct slot { volatile struct virtio_blk_req_hdr *hdr; volatile uint8_t *status; uint8_t *data; int head; uint64_t sector; uint32_t nsec; };
static struct slot slots[SLOTS];
static uint32_t req_counter;
static uint32_t multi_seg_reqs, indirect_reqs, crossing_reqs;

/* Split len bytes at data into 1..4 buffers depending on the request number. */
static int split(uint8_t *data, uint32_t len, int write, uint32_t r, struct vbuf *out) {
  static const uint32_t cuts[4][3] = { {0, 0, 0}, {1536, 0, 0}, {512, 1512, 0}, {1024, 2048, 3072} };
  int kind = (int)(r % 4), n = 0;
  uint32_t prev = 0;
  if ((uint32_t)kind + 1 > seg_max || len != CHUNK_SECTORS * SECTOR) kind = 0;
  for (int i = 0; i < kind; i++) {
    out[n].addr = (uint64_t)(uintptr_t)(data + prev); out[n].len = cuts[kind][i] - prev; out[n].write = write;
    prev = cuts[kind][i]; n++;
  }
  out[n].addr = (uint64_t)(uintptr_t)(data + prev); out[n].len = len - prev; out[n].write = write; n++;
  return n;
}

static int submit_slot(struct slot *s, uint32_t type, uint64_t sector, uint32_t nsec) {
  struct vbuf b[8];
  uint32_t r = req_counter++;
  s->hdr->type = type; s->hdr->reserved = 0; s->hdr->sector = sector;
  *s->status = 0xee;
  s->sector = sector; s->nsec = nsec;
  if (type == VIRTIO_BLK_T_OUT) fill_pattern(s->data, sector, nsec);
  else vio_memset(s->data, 0xcc, nsec * SECTOR);
  b[0].addr = (uint64_t)(uintptr_t)s->hdr; b[0].len = 16; b[0].write = 0;
  int nd = split(s->data, nsec * SECTOR, type == VIRTIO_BLK_T_IN, r, b + 1);
  b[1 + nd].addr = (uint64_t)(uintptr_t)s->status; b[1 + nd].len = 1; b[1 + nd].write = 1;
  int ind = dev.indirect && r % 3 == 0;
  s->head = vq_add(&dev, 0, b, nd + 2, ind);
  if (s->head < 0) return -1;
  if (nd > 1) multi_seg_reqs++;
  if (ind) indirect_reqs++;
  uint64_t a = (uint64_t)(uintptr_t)s->data;
  if ((a >> 12) != ((a + nsec * SECTOR - 1) >> 12)) crossing_reqs++;
  return 0;
}

/* Write (OUT) or read+verify (IN) sectors [first, first + count). Returns the number of bad sectors/requests. */
static uint64_t disk_pass(uint32_t type, uint64_t first, uint64_t count, uint32_t chunk) {
  uint64_t next = first, end = first + count, bad = 0, inflight = 0;
  for (int i = 0; i < SLOTS; i++) slots[i].head = -1;
  while (next < end || inflight) {
    int submitted = 0;
    for (int i = 0; i < SLOTS && next < end; i++) {
      if (slots[i].head >= 0) continue;
      uint32_t n = (uint32_t)(end - next < chunk ? end - next : chunk);
      if (submit_slot(&slots[i], type, next, n) < 0) { bad++; return bad; }
      next += n; inflight++; submitted = 1;
    }
    if (submitted) vq_kick(&dev, 0);
    uint64_t deadline = vio_now() + 5000 * VIO_TICKS_PER_MS;
    int progressed = 0;
    while (!progressed) {
      vq_poll(&dev, 0);
      for (int i = 0; i < SLOTS; i++) {
        struct slot *s = &slots[i];
        if (s->head < 0 || !dev.q[0].done[s->head]) continue;
        dev.q[0].done[s->head] = 0;
        s->head = -1; inflight--; progressed = 1;
        if (*s->status != VIRTIO_BLK_S_OK) {
          if (bad < 3) fail_detail(type == VIRTIO_BLK_T_IN ? "read status" : "write status", "sector", s->sector, "status", *s->status);
          bad++;
        } else if (type == VIRTIO_BLK_T_IN) {
          uint32_t b = verify_pattern(s->data, s->sector, s->nsec);
          if (b && bad < 3) fail_detail("read back differs", "sector", s->sector, "bad_sectors", b);
          bad += b;
        }
      }
      if (!progressed) {
        if (vio_status(&dev) & VIO_S_NEEDS_RESET) { fail_detail("device set NEEDS_RESET", 0, 0, 0, 0); return bad + 1; }
        if (vio_now() > deadline) { fail_detail("timeout waiting for completion", "inflight", inflight, 0, 0); return bad + 1; }
      }
    }
  }
  return bad;
}

/* ---------------------------------------------------------------- main */

static uint8_t *buf_a;   /* 16 KiB general buffer */

static void print_serial(const volatile uint8_t *id) {
  puts_("vblk: serial \"");
  for (int i = 0; i < 20 && id[i]; i++) putch(id[i] >= 32 && id[i] < 127 ? (char)id[i] : '?');
  puts_("\"\n");
}

static void test_end_of_disk(void) {
  int r = blk_rw1(VIRTIO_BLK_T_OUT, capacity, buf_a, SECTOR);
  if (r == VIRTIO_BLK_S_IOERR) check(1, "write past capacity -> IOERR");
  else fail_detail("write past capacity -> IOERR", "got", (uint64_t)(int64_t)r, 0, 0);
  r = blk_rw1(VIRTIO_BLK_T_IN, capacity, buf_a, SECTOR);
  if (r == VIRTIO_BLK_S_IOERR) check(1, "read past capacity -> IOERR");
  else fail_detail("read past capacity -> IOERR", "got", (uint64_t)(int64_t)r, 0, 0);
  r = blk_rw1(VIRTIO_BLK_T_IN, capacity - 1, buf_a, 2 * SECTOR);
  if (r == VIRTIO_BLK_S_IOERR) check(1, "read across the end -> IOERR");
  else fail_detail("read across the end -> IOERR", "got", (uint64_t)(int64_t)r, 0, 0);
}

int main(void) {
  puts_("vblk: virtio-blk driver test\n");
  if (!vio_find(&dev, VIRTIO_ID_BLOCK, 0)) {
    if (vio_scan_legacy) puts_("vblk: FAIL only a legacy (version 1) virtio-blk device: QEMU needs -global virtio-mmio.force-legacy=false\n");
    else puts_("vblk: FAIL no virtio-blk device in the 8 virtio-mmio slots\n");
    return 1;
  }
  check(1, "found virtio-blk (virtio-mmio version 2)");
  check(vio_reset(&dev) == 0, "reset: status reads 0");
  uint64_t want = FEAT(VIRTIO_RING_F_INDIRECT_DESC) | FEAT(VIRTIO_RING_F_EVENT_IDX) |
                  FEAT(VIRTIO_BLK_F_SIZE_MAX) | FEAT(VIRTIO_BLK_F_SEG_MAX) | FEAT(VIRTIO_BLK_F_GEOMETRY) |
                  FEAT(VIRTIO_BLK_F_RO) | FEAT(VIRTIO_BLK_F_BLK_SIZE) | FEAT(VIRTIO_BLK_F_FLUSH) |
                  FEAT(VIRTIO_BLK_F_TOPOLOGY) | FEAT(VIRTIO_BLK_F_DISCARD) | FEAT(VIRTIO_BLK_F_WRITE_ZEROES);
  int rc = vio_negotiate(&dev, want);
  if (rc == -1) { puts_("vblk: FAIL device does not offer VIRTIO_F_VERSION_1\n"); return 1; }
  if (rc == -2) { puts_("vblk: FAIL device did not accept FEATURES_OK\n"); return 1; }
  check(1, "features negotiated (VERSION_1, FEATURES_OK)");
  puts_("vblk: info features offered "); put_hex(dev.dev_features); puts_(" accepted "); put_hex(dev.features); putch('\n');
  uint64_t f = dev.features;

  vio_config_read(&dev, VBLK_CFG_CAPACITY, &capacity, 8);
  if (f & FEAT(VIRTIO_BLK_F_SEG_MAX)) vio_config_read(&dev, VBLK_CFG_SEG_MAX, &seg_max, 4);
  if (f & FEAT(VIRTIO_BLK_F_SIZE_MAX)) vio_config_read(&dev, VBLK_CFG_SIZE_MAX, &size_max, 4);
  if (f & FEAT(VIRTIO_BLK_F_BLK_SIZE)) vio_config_read(&dev, VBLK_CFG_BLK_SIZE, &blk_size, 4);
  if (seg_max == 0) seg_max = 1;
  puts_("vblk: capacity "); put_dec((int64_t)capacity); puts_(" sectors, blk_size "); put_dec(blk_size); putch('\n');
  info("seg_max", seg_max);
  if (f & FEAT(VIRTIO_BLK_F_SIZE_MAX)) info("size_max", size_max);
  check(capacity >= 64, "capacity read from config space (>= 64 sectors)");
  if (capacity < 64) return failures;

  check(vio_queue_setup(&dev, 0) == 0, "queue 0 set up (desc/driver/device addresses, QueueReady)");
  vio_driver_ok(&dev);
  uint32_t st = vio_status(&dev);
  check((st & (VIO_S_DRIVER_OK | VIO_S_NEEDS_RESET | VIO_S_FAILED)) == VIO_S_DRIVER_OK, "DRIVER_OK");

  /* DMA buffers */
  sync_hdr = vio_alloc(16, 16);
  sync_status = vio_alloc(1, 1);
  buf_a = vio_alloc(16384, 4096);
  for (int i = 0; i < SLOTS; i++) {
    slots[i].hdr = vio_alloc(16, 16);
    slots[i].status = vio_alloc(1, 1);
    slots[i].data = (uint8_t *)vio_alloc(0x3000, 4096) + 0x800;   /* 4 KiB of data crosses a page boundary */
  }

  /* GET_ID */
  volatile uint8_t *id = buf_a;
  vio_memset(buf_a, 0, 32);
  struct vbuf idb = { (uint64_t)(uintptr_t)id, 20, 1 };
  int r = blk_rq(VIRTIO_BLK_T_GET_ID, 0, &idb, 1, 0);
  if (r == VIRTIO_BLK_S_OK) { check(1, "GET_ID"); print_serial(id); }
  else fail_detail("GET_ID", "status", (uint64_t)(int64_t)r, 0, 0);

  if (f & FEAT(VIRTIO_BLK_F_RO)) {
    puts_("vblk: device is read-only (VIRTIO_BLK_F_RO)\n");
    r = blk_rw1(VIRTIO_BLK_T_OUT, 0, buf_a, SECTOR);
    if (r == VIRTIO_BLK_S_IOERR) check(1, "write to read-only device -> IOERR");
    else fail_detail("write to read-only device -> IOERR", "got", (uint64_t)(int64_t)r, 0, 0);
    uint64_t bad = 0;
    for (uint64_t s = 0; s < capacity; s += 8) {
      uint32_t n = capacity - s < 8 ? (uint32_t)(capacity - s) : 8;
      if (blk_rw1(VIRTIO_BLK_T_IN, s, buf_a, n * SECTOR) != VIRTIO_BLK_S_OK) bad++;
    }
    check(bad == 0, "read every sector of the read-only device");
    test_end_of_disk();
  } else {
    uint32_t chunk = CHUNK_SECTORS;
    if ((f & FEAT(VIRTIO_BLK_F_SIZE_MAX)) && size_max < CHUNK_SECTORS * SECTOR)
      chunk = size_max >= SECTOR ? size_max / SECTOR : 1;
    uint64_t bad = disk_pass(VIRTIO_BLK_T_OUT, 0, capacity, chunk);
    if (!bad) check(1, "wrote the pattern to every sector");
    if (f & FEAT(VIRTIO_BLK_F_FLUSH)) {
      r = blk_rq(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
      if (r == VIRTIO_BLK_S_OK) check(1, "FLUSH");
      else fail_detail("FLUSH", "status", (uint64_t)(int64_t)r, 0, 0);
    } else puts_("vblk: info FLUSH not offered\n");
    bad = disk_pass(VIRTIO_BLK_T_IN, 0, capacity, chunk);
    if (!bad) check(1, "read back and verified every sector");
    check(multi_seg_reqs > 0 || seg_max < 2, "multi-segment requests (header, 2-4 data buffers, status)");
    check(crossing_reqs > 0, "data buffers crossing a page boundary");
    if (dev.indirect) check(indirect_reqs > 0, "indirect descriptors (VIRTIO_RING_F_INDIRECT_DESC)");
    else puts_("vblk: info INDIRECT_DESC not offered\n");

    /* single-sector read in the middle of a page-crossing buffer, via an odd split: 100 + 412 bytes */
    {
      uint8_t *p = buf_a + 4096 - 100;
      struct vbuf two[2] = { { (uint64_t)(uintptr_t)p, 100, 1 }, { (uint64_t)(uintptr_t)(p + 100), 412, 1 } };
      if (seg_max < 2) two[0].len = 512;
      r = blk_rq(VIRTIO_BLK_T_IN, 5, two, seg_max >= 2 ? 2 : 1, 1);
      check(r == VIRTIO_BLK_S_OK && verify_pattern(p, 5, 1) == 0, "read into 100 + 412 byte buffers across a page boundary");
    }

    /* EVENT_IDX: used_event = the next used index must give an interrupt (InterruptStatus bit 0) */
    if (dev.event_idx) {
      struct vq *q = &dev.q[0];
      vq_poll(&dev, 0);
      vq_set_used_event(&dev, 0, q->last_used);
      uint32_t before = dev.irq_used;
      r = blk_rw1(VIRTIO_BLK_T_IN, 1, buf_a, SECTOR);
      check(r == VIRTIO_BLK_S_OK && dev.irq_used == before + 1, "EVENT_IDX: interrupt when used_event is reached (InterruptStatus, InterruptACK)");
      check((vio_r32(&dev, VIO_INT_STATUS) & VIO_INT_USED) == 0, "InterruptACK clears InterruptStatus");
      /* used_event far ahead: the device should not interrupt (SHOULD NOT in the spec: informational) */
      vq_set_used_event(&dev, 0, (uint16_t)(q->last_used + 0x4000));
      before = dev.irq_used;
      int h;
      struct vbuf rb[3];
      sync_hdr->type = VIRTIO_BLK_T_IN; sync_hdr->reserved = 0; sync_hdr->sector = 2; *sync_status = 0xee;
      rb[0] = (struct vbuf){ (uint64_t)(uintptr_t)sync_hdr, 16, 0 };
      rb[1] = (struct vbuf){ (uint64_t)(uintptr_t)buf_a, SECTOR, 1 };
      rb[2] = (struct vbuf){ (uint64_t)(uintptr_t)sync_status, 1, 1 };
      h = vq_add(&dev, 0, rb, 3, 0);
      vq_kick(&dev, 0);
      uint64_t end = vio_now() + 5000 * VIO_TICKS_PER_MS;
      while (q->used[1] == q->last_used && vio_now() < end) delay_us(5);
      delay_us(2000);
      uint32_t is = vio_r32(&dev, VIO_INT_STATUS);
      vq_wait(&dev, 0, h, 0, 100);
      check(*sync_status == VIRTIO_BLK_S_OK, "request completes with used_event far ahead");
      puts_(is & VIO_INT_USED ? "vblk: info EVENT_IDX: device interrupted although used_event was far ahead\n"
                              : "vblk: ok EVENT_IDX: no interrupt while used_event is far ahead\n");
      if (!(is & VIO_INT_USED)) checks++;
      (void)before;
      check(dev.notifies > 0, "EVENT_IDX: notifications follow avail_event");
    } else puts_("vblk: info EVENT_IDX not offered\n");

    test_end_of_disk();
    r = blk_rq(0xff, 0, 0, 0, 0);
    if (r == VIRTIO_BLK_S_UNSUPP) check(1, "unknown request type -> UNSUPP");
    else fail_detail("unknown request type -> UNSUPP", "got", (uint64_t)(int64_t)r, 0, 0);

    volatile struct virtio_blk_discard_wz *seg = (volatile struct virtio_blk_discard_wz *)(buf_a + 8192);
    struct vbuf sb = { (uint64_t)(uintptr_t)seg, sizeof *seg, 0 };
    if (f & FEAT(VIRTIO_BLK_F_WRITE_ZEROES)) {
      uint32_t maxs = 0; vio_config_read(&dev, VBLK_CFG_MAX_WZ_SECTORS, &maxs, 4);
      uint32_t n = maxs && maxs < 16 ? maxs : 16;
      seg->sector = 8; seg->num_sectors = n; seg->flags = 0;
      r = blk_rq(VIRTIO_BLK_T_WRITE_ZEROES, 0, &sb, 1, 0);
      if (r == VIRTIO_BLK_S_OK) check(1, "WRITE_ZEROES");
      else fail_detail("WRITE_ZEROES", "status", (uint64_t)(int64_t)r, 0, 0);
      r = blk_rw1(VIRTIO_BLK_T_IN, 7, buf_a, (n + 2) * SECTOR);
      int zero = 1;
      for (uint32_t i = SECTOR; i < (n + 1) * SECTOR; i++) if (buf_a[i]) { zero = 0; break; }
      check(r == VIRTIO_BLK_S_OK && zero && verify_pattern(buf_a, 7, 1) == 0 &&
            verify_pattern(buf_a + (n + 1) * SECTOR, 8 + n, 1) == 0, "WRITE_ZEROES range reads zeros, neighbours intact");
      if (disk_pass(VIRTIO_BLK_T_OUT, 8, n, CHUNK_SECTORS)) fail_detail("restore pattern after WRITE_ZEROES", 0, 0, 0, 0);
    } else puts_("vblk: info WRITE_ZEROES not offered\n");
    if (f & FEAT(VIRTIO_BLK_F_DISCARD)) {
      uint32_t maxs = 0, align = 0;
      vio_config_read(&dev, VBLK_CFG_MAX_DISCARD_SECTORS, &maxs, 4);
      vio_config_read(&dev, VBLK_CFG_DISCARD_ALIGN, &align, 4);
      if (align == 0) align = 1;
      uint64_t s0 = (32 + align - 1) / align * align;
      uint32_t n = align > 8 ? align : 8;
      if (maxs && n > maxs) n = maxs;
      if (s0 + n > capacity) { s0 = 0; }
      seg->sector = s0; seg->num_sectors = n; seg->flags = 0;
      r = blk_rq(VIRTIO_BLK_T_DISCARD, 0, &sb, 1, 0);
      if (r == VIRTIO_BLK_S_OK) check(1, "DISCARD");
      else fail_detail("DISCARD", "status", (uint64_t)(int64_t)r, 0, 0);
      if (disk_pass(VIRTIO_BLK_T_OUT, s0, n, CHUNK_SECTORS)) fail_detail("restore pattern after DISCARD", 0, 0, 0, 0);
    } else puts_("vblk: info DISCARD not offered\n");

    /* marker */
    static const char marker[] = "wasmvisor-vblk-ok\n";
    vio_memset(buf_a, 0, SECTOR);
    vio_memcpy(buf_a, marker, sizeof marker - 1);
    r = blk_rw1(VIRTIO_BLK_T_OUT, 0, buf_a, SECTOR);
    if (r == VIRTIO_BLK_S_OK && (f & FEAT(VIRTIO_BLK_F_FLUSH))) r = blk_rq(VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0);
    vio_memset(buf_a, 0xcc, SECTOR);
    int r2 = blk_rw1(VIRTIO_BLK_T_IN, 0, buf_a, SECTOR);
    check(r == VIRTIO_BLK_S_OK && r2 == VIRTIO_BLK_S_OK && vio_memcmp(buf_a, marker, sizeof marker - 1) == 0 &&
          buf_a[sizeof marker - 1] == 0, "marker written to sector 0");
    /* and the pattern in sectors 1.. is still intact */
    bad = disk_pass(VIRTIO_BLK_T_IN, 1, capacity - 1, CHUNK_SECTORS);
    if (!bad) check(1, "final read back of sectors 1..end");
  }
  check((vio_status(&dev) & (VIO_S_NEEDS_RESET | VIO_S_FAILED)) == 0, "no NEEDS_RESET at the end");
  vio_reset(&dev);
  if (failures) {
    puts_("vblk: FAIL ("); put_dec(failures); puts_(" of "); put_dec(checks); puts_(" checks failed)\n");
    return failures > 255 ? 255 : failures;
  }
  puts_("vblk: PASS ("); put_dec(checks); puts_(" checks)\n");
  return 0;
}
