/* A minimal polling virtio-mmio (version 2, "modern", VIRTIO 1.2 §4.2.2) driver layer for bare-metal guests.
 *
 * Devices: the QEMU `virt` slots at VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_STRIDE (i = 0..7, PLIC IRQ 1 + i).
 * Memory the device reads or writes (rings, indirect tables, buffers) comes from the DMA arena at
 * VIO_ARENA (1 MiB, guest-physical = what the device sees; no IOMMU translation, identity). The arena is the
 * window wasmvisor's IOMMU test restricts DMA to, [0x8100_0000, 0x8110_0000): everything a well-behaved guest
 * hands to a device lies inside it.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H
#include <stdint.h>

/* There is no libc: keep GCC from turning fill/copy loops into memset/memcpy calls. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#define VIRTIO_MMIO_BASE    0x10001000ul
#define VIRTIO_MMIO_STRIDE  0x1000ul
#define VIRTIO_MMIO_SLOTS   8
#define VIRTIO_MAGIC        0x74726976u  /* "virt" */

/* register offsets (virtio-mmio version 2) */
#define VIO_MAGIC           0x000
#define VIO_VERSION         0x004
#define VIO_DEVICE_ID       0x008
#define VIO_VENDOR_ID       0x00c
#define VIO_DEV_FEATURES    0x010
#define VIO_DEV_FEATURES_SEL 0x014
#define VIO_DRV_FEATURES    0x020
#define VIO_DRV_FEATURES_SEL 0x024
#define VIO_QUEUE_SEL       0x030
#define VIO_QUEUE_NUM_MAX   0x034
#define VIO_QUEUE_NUM       0x038
#define VIO_QUEUE_READY     0x044
#define VIO_QUEUE_NOTIFY    0x050
#define VIO_INT_STATUS      0x060
#define VIO_INT_ACK         0x064
#define VIO_STATUS          0x070
#define VIO_QUEUE_DESC_LO   0x080
#define VIO_QUEUE_DESC_HI   0x084
#define VIO_QUEUE_DRIVER_LO 0x090
#define VIO_QUEUE_DRIVER_HI 0x094
#define VIO_QUEUE_DEVICE_LO 0x0a0
#define VIO_QUEUE_DEVICE_HI 0x0a4
#define VIO_CONFIG_GEN      0x0fc
#define VIO_CONFIG          0x100

/* device status */
#define VIO_S_ACKNOWLEDGE   1
#define VIO_S_DRIVER        2
#define VIO_S_DRIVER_OK     4
#define VIO_S_FEATURES_OK   8
#define VIO_S_NEEDS_RESET   0x40
#define VIO_S_FAILED        0x80

/* InterruptStatus bits */
#define VIO_INT_USED        1
#define VIO_INT_CONFIG      2

/* feature bits */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33
#define FEAT(b)  (1ull << (b))

/* device ids */
#define VIRTIO_ID_BLOCK     2
#define VIRTIO_ID_CONSOLE   3
#define VIRTIO_ID_RNG       4

/* split virtqueue */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4

struct vring_desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct vring_used_elem { uint32_t id; uint32_t len; };

/* DMA arena: queues first (VIO_QUEUE_AREA each), then buffers handed out by vio_alloc. */
#define VIO_ARENA        0x81000000ul
#define VIO_ARENA_SIZE   0x00100000ul
#define VIO_QUEUE_AREA   0x8000ul   /* desc page, avail page, used page, 16 KiB of indirect tables */
#define VIO_MAX_QUEUES   2
#define VIO_QMAX         64         /* queue size used (QueueNumMax permitting) */
#define VIO_IND_ENTRIES  16         /* descriptors per indirect table (one table per head) */

struct vq {
  uint16_t index;          /* queue number */
  uint16_t num;            /* queue size */
  volatile struct vring_desc *desc;
  volatile uint16_t *avail;   /* [0] flags, [1] idx, [2..2+num) ring, [2+num] used_event */
  volatile uint16_t *used;    /* [0] flags, [1] idx, then elems at +4 bytes, avail_event after them */
  volatile struct vring_desc *ind; /* VIO_IND_ENTRIES per head */
  uint16_t avail_idx;      /* driver's copy of avail->idx */
  uint16_t published;      /* avail->idx as last published by vq_kick */
  uint16_t last_used;      /* next used index to consume */
  uint16_t free_head, nfree;
  uint16_t chain_len[VIO_QMAX];
  uint16_t next_free[VIO_QMAX];
  uint8_t  done[VIO_QMAX];
  uint32_t done_len[VIO_QMAX];
};

struct vdev {
  uintptr_t base;
  int slot;
  uint32_t id;
  uint64_t dev_features, features;  /* offered, negotiated */
  int event_idx, indirect;
  uint32_t irq_used, irq_config;    /* InterruptStatus bits seen (and acknowledged) */
  uint32_t notifies, notifies_skipped;
  struct vq q[VIO_MAX_QUEUES];
};

/* One buffer of a request: address, length, device-writable? */
struct vbuf { uint64_t addr; uint32_t len; int write; };

/* MMIO helpers */
static inline uint32_t vio_r32(const struct vdev *d, uint32_t off) {
  return *(volatile uint32_t *)(d->base + off);
}
static inline void vio_w32(const struct vdev *d, uint32_t off, uint32_t v) {
  *(volatile uint32_t *)(d->base + off) = v;
}
static inline void vio_mb(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

/* time (CLINT mtime, 10 MHz on QEMU virt and wasmvisor) */
uint64_t vio_now(void);
#define VIO_TICKS_PER_MS 10000ull

/* Find the n-th (0-based) version-2 device with this id; 0 if none. Prints nothing. */
int vio_find(struct vdev *d, uint32_t device_id, int nth);
/* Legacy/other-version devices seen by the last scan (diagnostics). */
extern int vio_scan_legacy;

/* Reset (Status = 0): returns the value read back (must be 0). */
uint32_t vio_reset(struct vdev *d);
/* ACKNOWLEDGE, DRIVER, features (wanted & offered, VERSION_1 required), FEATURES_OK.
 * Returns 0 or a negative error: -1 no VERSION_1, -2 FEATURES_OK not accepted. */
int vio_negotiate(struct vdev *d, uint64_t wanted);
/* Set up queue qi with size min(QueueNumMax, VIO_QMAX) in the arena; 0 or -1 (QueueNumMax 0 / ready stuck). */
int vio_queue_setup(struct vdev *d, int qi);
/* Queue setup at explicit addresses and size (hostile tests); does not check anything. */
void vio_queue_setup_at(struct vdev *d, int qi, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used);
void vio_driver_ok(struct vdev *d);
uint32_t vio_status(const struct vdev *d);

/* Config space with the ConfigGeneration loop: copy len bytes (32-bit accesses where aligned). */
void vio_config_read(struct vdev *d, uint32_t off, void *dst, uint32_t len);

/* Add a request (bufs in order: device-readable ones first) and return its head, or -1 when the queue is
 * full. indirect: put the chain into the head's indirect table (only if negotiated and n <= VIO_IND_ENTRIES).
 * Does not notify. */
int vq_add(struct vdev *d, int qi, const struct vbuf *bufs, int n, int indirect);
/* Publish added requests and notify the device (honouring avail_event with EVENT_IDX). */
void vq_kick(struct vdev *d, int qi);
/* Consume used entries; returns how many. Marks q->done[head], q->done_len[head]; frees the chains.
 * Acknowledges InterruptStatus. */
int vq_poll(struct vdev *d, int qi);
/* Wait (bounded, timeout in ms) for head to complete; returns 0 ok (done_len in *len), -1 timeout,
 * -2 NEEDS_RESET seen. */
int vq_wait(struct vdev *d, int qi, int head, uint32_t *len, uint32_t timeout_ms);
/* Set used_event (EVENT_IDX): interrupt when the used index passes this value. */
void vq_set_used_event(struct vdev *d, int qi, uint16_t v);
uint16_t vq_avail_event(struct vdev *d, int qi);

/* Bump allocator over the arena after the queue area. */
void *vio_alloc(uint32_t size, uint32_t align);
void vio_alloc_reset(void);

/* small libc stand-ins */
void vio_memset(void *p, int c, uint64_t n);
void vio_memcpy(void *dst, const void *src, uint64_t n);
int vio_memcmp(const void *a, const void *b, uint64_t n);
void delay_us(uint32_t us);

#endif
