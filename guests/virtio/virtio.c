/* Polling virtio-mmio version 2 driver layer (see virtio.h). */
#include "virtio.h"
#include "platform.h"

int vio_scan_legacy;

uint64_t vio_now(void) { return *(volatile uint64_t *)(CLINT_BASE + CLINT_MTIME); }

void delay_us(uint32_t us) {
  uint64_t end = vio_now() + (uint64_t)us * (VIO_TICKS_PER_MS / 1000);
  while (vio_now() < end) {}
}

void vio_memset(void *p, int c, uint64_t n) {
  volatile uint8_t *b = p;
  for (uint64_t i = 0; i < n; i++) b[i] = (uint8_t)c;
}
void vio_memcpy(void *dst, const void *src, uint64_t n) {
  volatile uint8_t *d = dst; const volatile uint8_t *s = src;
  for (uint64_t i = 0; i < n; i++) d[i] = s[i];
}
int vio_memcmp(const void *a, const void *b, uint64_t n) {
  const volatile uint8_t *x = a, *y = b;
  for (uint64_t i = 0; i < n; i++) if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

static uint64_t arena_next = VIO_ARENA + VIO_MAX_QUEUES * VIO_QUEUE_AREA;
void vio_alloc_reset(void) { arena_next = VIO_ARENA + VIO_MAX_QUEUES * VIO_QUEUE_AREA; }
void *vio_alloc(uint32_t size, uint32_t align) {
  uint64_t a = (arena_next + align - 1) & ~(uint64_t)(align - 1);
  if (a + size > VIO_ARENA + VIO_ARENA_SIZE) return 0;
  arena_next = a + size;
  return (void *)a;
}

int vio_find(struct vdev *d, uint32_t device_id, int nth) {
  vio_scan_legacy = 0;
  for (int i = 0; i < VIRTIO_MMIO_SLOTS; i++) {
    uintptr_t base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE;
    volatile uint32_t *r = (volatile uint32_t *)base;
    if (r[VIO_MAGIC / 4] != VIRTIO_MAGIC) continue;
    uint32_t ver = r[VIO_VERSION / 4], id = r[VIO_DEVICE_ID / 4];
    if (id == 0) continue;
    if (ver != 2) { if (id == device_id) vio_scan_legacy++; continue; }
    if (id != device_id) continue;
    if (nth-- > 0) continue;
    vio_memset(d, 0, sizeof *d);
    d->base = base; d->slot = i; d->id = id;
    return 1;
  }
  return 0;
}

uint32_t vio_status(const struct vdev *d) { return vio_r32(d, VIO_STATUS); }

uint32_t vio_reset(struct vdev *d) {
  vio_w32(d, VIO_STATUS, 0);
  vio_mb();
  /* A reset may take a moment on some devices: the spec has the driver wait until Status reads 0. */
  uint64_t end = vio_now() + 100 * VIO_TICKS_PER_MS;
  uint32_t s;
  while ((s = vio_r32(d, VIO_STATUS)) != 0 && vio_now() < end) {}
  for (int i = 0; i < VIO_MAX_QUEUES; i++) d->q[i].num = 0;
  return s;
}

int vio_negotiate(struct vdev *d, uint64_t wanted) {
  vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE);
  vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER);
  vio_w32(d, VIO_DEV_FEATURES_SEL, 0);
  uint64_t lo = vio_r32(d, VIO_DEV_FEATURES);
  vio_w32(d, VIO_DEV_FEATURES_SEL, 1);
  uint64_t hi = vio_r32(d, VIO_DEV_FEATURES);
  d->dev_features = lo | hi << 32;
  if (!(d->dev_features & FEAT(VIRTIO_F_VERSION_1))) {
    vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FAILED);
    return -1;
  }
  /* ACCESS_PLATFORM: a device behind an IOMMU may refuse drivers that do not accept it; we are fine with it. */
  d->features = d->dev_features & (wanted | FEAT(VIRTIO_F_VERSION_1) | FEAT(VIRTIO_F_ACCESS_PLATFORM));
  vio_w32(d, VIO_DRV_FEATURES_SEL, 0);
  vio_w32(d, VIO_DRV_FEATURES, (uint32_t)d->features);
  vio_w32(d, VIO_DRV_FEATURES_SEL, 1);
  vio_w32(d, VIO_DRV_FEATURES, (uint32_t)(d->features >> 32));
  vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FEATURES_OK);
  if (!(vio_r32(d, VIO_STATUS) & VIO_S_FEATURES_OK)) {
    vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FAILED);
    return -2;
  }
  d->event_idx = !!(d->features & FEAT(VIRTIO_RING_F_EVENT_IDX));
  d->indirect = !!(d->features & FEAT(VIRTIO_RING_F_INDIRECT_DESC));
  return 0;
}

void vio_queue_setup_at(struct vdev *d, int qi, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used) {
  vio_w32(d, VIO_QUEUE_SEL, (uint32_t)qi);
  vio_w32(d, VIO_QUEUE_NUM, num);
  vio_w32(d, VIO_QUEUE_DESC_LO, (uint32_t)desc);
  vio_w32(d, VIO_QUEUE_DESC_HI, (uint32_t)(desc >> 32));
  vio_w32(d, VIO_QUEUE_DRIVER_LO, (uint32_t)avail);
  vio_w32(d, VIO_QUEUE_DRIVER_HI, (uint32_t)(avail >> 32));
  vio_w32(d, VIO_QUEUE_DEVICE_LO, (uint32_t)used);
  vio_w32(d, VIO_QUEUE_DEVICE_HI, (uint32_t)(used >> 32));
  vio_mb();
  vio_w32(d, VIO_QUEUE_READY, 1);
  if (qi < VIO_MAX_QUEUES) {
    struct vq *q = &d->q[qi];
    q->index = (uint16_t)qi; q->num = (uint16_t)(num > VIO_QMAX ? VIO_QMAX : num);
    q->desc = (volatile struct vring_desc *)desc;
    q->avail = (volatile uint16_t *)avail;
    q->used = (volatile uint16_t *)used;
    q->ind = (volatile struct vring_desc *)(VIO_ARENA + qi * VIO_QUEUE_AREA + 0x3000);
    q->avail_idx = q->published = q->last_used = 0;
    q->free_head = 0; q->nfree = q->num;
    for (int i = 0; i < q->num; i++) { q->next_free[i] = (uint16_t)(i + 1); q->chain_len[i] = 0; q->done[i] = 0; }
  }
}

int vio_queue_setup(struct vdev *d, int qi) {
  if (qi >= VIO_MAX_QUEUES) return -1;
  vio_w32(d, VIO_QUEUE_SEL, (uint32_t)qi);
  if (vio_r32(d, VIO_QUEUE_READY) != 0) return -1;
  uint32_t max = vio_r32(d, VIO_QUEUE_NUM_MAX);
  if (max == 0) return -1;
  uint32_t num = max < VIO_QMAX ? max : VIO_QMAX;
  uint64_t base = VIO_ARENA + qi * VIO_QUEUE_AREA;
  vio_memset((void *)base, 0, VIO_QUEUE_AREA);
  vio_queue_setup_at(d, qi, num, base, base + 0x1000, base + 0x2000);
  if (vio_r32(d, VIO_QUEUE_READY) != 1) return -1;
  return 0;
}

void vio_driver_ok(struct vdev *d) {
  vio_mb();
  vio_w32(d, VIO_STATUS, VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK);
}

void vio_config_read(struct vdev *d, uint32_t off, void *dst, uint32_t len) {
  uint8_t *out = dst;
  for (int tries = 0; tries < 100; tries++) {
    uint32_t g1 = vio_r32(d, VIO_CONFIG_GEN);
    vio_mb();
    for (uint32_t i = 0; i < len;) {
      uintptr_t a = d->base + VIO_CONFIG + off + i;
      if ((a & 3) == 0 && len - i >= 4) {
        uint32_t v = *(volatile uint32_t *)a;
        for (int k = 0; k < 4; k++) out[i + k] = (uint8_t)(v >> (8 * k));
        i += 4;
      } else {
        out[i] = *(volatile uint8_t *)a;
        i += 1;
      }
    }
    vio_mb();
    if (vio_r32(d, VIO_CONFIG_GEN) == g1) return;
  }
}

int vq_add(struct vdev *d, int qi, const struct vbuf *bufs, int n, int indirect) {
  struct vq *q = &d->q[qi];
  if (n <= 0) return -1;
  int use_ind = indirect && d->indirect && n <= VIO_IND_ENTRIES;
  int need = use_ind ? 1 : n;
  if (q->nfree < need) return -1;
  uint16_t head = q->free_head;
  if (use_ind) {
    q->free_head = q->next_free[head];
    q->nfree--;
    volatile struct vring_desc *t = q->ind + head * VIO_IND_ENTRIES;
    for (int i = 0; i < n; i++) {
      t[i].addr = bufs[i].addr; t[i].len = bufs[i].len;
      t[i].flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
      t[i].next = (uint16_t)(i + 1 < n ? i + 1 : 0);
    }
    q->desc[head].addr = (uint64_t)(uintptr_t)t;
    q->desc[head].len = (uint32_t)(n * sizeof(struct vring_desc));
    q->desc[head].flags = VRING_DESC_F_INDIRECT;
    q->desc[head].next = 0;
    q->chain_len[head] = 1;
  } else {
    uint16_t cur = head;
    for (int i = 0; i < n; i++) {
      uint16_t nxt = q->next_free[cur];
      q->desc[cur].addr = bufs[i].addr; q->desc[cur].len = bufs[i].len;
      q->desc[cur].flags = (uint16_t)((bufs[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0));
      q->desc[cur].next = (uint16_t)(i + 1 < n ? nxt : 0);
      if (i + 1 < n) cur = nxt;
      else q->free_head = nxt;
    }
    q->nfree = (uint16_t)(q->nfree - n);
    q->chain_len[head] = (uint16_t)n;
  }
  q->done[head] = 0;
  q->avail[2 + q->avail_idx % q->num] = head;
  q->avail_idx++;
  return head;
}

uint16_t vq_avail_event(struct vdev *d, int qi) {
  struct vq *q = &d->q[qi];
  return q->used[2 + 4 * q->num];
}

void vq_set_used_event(struct vdev *d, int qi, uint16_t v) {
  struct vq *q = &d->q[qi];
  q->avail[2 + q->num] = v;
  vio_mb();
}

static int need_event(uint16_t event, uint16_t new_idx, uint16_t old) {
  return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void vq_kick(struct vdev *d, int qi) {
  struct vq *q = &d->q[qi];
  uint16_t old = q->published, nw = q->avail_idx;
  vio_mb();                 /* ring entries before idx */
  q->avail[1] = nw;
  q->published = nw;
  vio_mb();                 /* idx before reading avail_event / notifying */
  if (d->event_idx && !need_event(vq_avail_event(d, qi), nw, old)) { d->notifies_skipped++; return; }
  d->notifies++;
  vio_w32(d, VIO_QUEUE_NOTIFY, (uint32_t)qi);
}

int vq_poll(struct vdev *d, int qi) {
  struct vq *q = &d->q[qi];
  int n = 0;
  vio_mb();
  uint16_t idx = q->used[1];
  vio_mb();                 /* idx before the elements */
  while (q->last_used != idx) {
    volatile struct vring_used_elem *e = (volatile struct vring_used_elem *)(q->used + 2) + q->last_used % q->num;
    uint32_t id = e->id, len = e->len;
    q->last_used++;
    n++;
    if (id >= q->num || q->chain_len[id] == 0) continue;   /* bogus id from the device: ignore */
    q->done[id] = 1; q->done_len[id] = len;
    /* free the chain (our own descriptor table: the device does not write it) */
    uint16_t cur = (uint16_t)id, cnt = q->chain_len[id];
    for (uint16_t k = 0; k < cnt; k++) {
      uint16_t nxt = q->desc[cur].next;
      q->next_free[cur] = q->free_head;
      q->free_head = cur;
      cur = nxt;
    }
    q->nfree = (uint16_t)(q->nfree + cnt);
    q->chain_len[id] = 0;
  }
  if (d->event_idx && n) vq_set_used_event(d, qi, q->last_used);
  uint32_t is = vio_r32(d, VIO_INT_STATUS);
  if (is) {
    if (is & VIO_INT_USED) d->irq_used++;
    if (is & VIO_INT_CONFIG) d->irq_config++;
    vio_w32(d, VIO_INT_ACK, is);
  }
  return n;
}

int vq_wait(struct vdev *d, int qi, int head, uint32_t *len, uint32_t timeout_ms) {
  struct vq *q = &d->q[qi];
  uint64_t end = vio_now() + (uint64_t)timeout_ms * VIO_TICKS_PER_MS;
  for (;;) {
    vq_poll(d, qi);
    if (q->done[head]) { q->done[head] = 0; if (len) *len = q->done_len[head]; return 0; }
    if (vio_r32(d, VIO_STATUS) & VIO_S_NEEDS_RESET) return -2;
    if (vio_now() > end) return -1;
    delay_us(5);
  }
}
