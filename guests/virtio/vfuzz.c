/*
 * vfuzz: a hostile guest that throws random, half-plausible traffic at every virtio-mmio slot: register writes
 * (any offset, any value, any width), status sequences that reach DRIVER_OK, queue setups pointing at a scratch
 * area it keeps filling with random descriptors and ring indices (and sometimes at MMIO, ROM-less holes or the
 * end of RAM), notifications, resets, config-space reads. Nothing is checked about the devices' answers: the
 * point is that the host neither crashes nor hangs nor lets a device write outside the guest's RAM. It prints a
 * summary and exits 0 after ROUNDS rounds (so the test sees it finish within its time limit).
 */
#include <stdint.h>
#include "runtime.h"
#include "virtio.h"

#define ROUNDS   20000
#define SCRATCH  ((volatile uint8_t *)0x81000000UL)   /* 64 KiB of rings, descriptors, buffers */
#define SCRATCH_PA 0x81000000UL

static uint64_t s = 0x9e3779b97f4a7c15ULL;
static inline uint64_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }

static uint64_t addr(void) {
  switch (rnd() % 8) {
    case 0: return 0x0c000000UL + (rnd() & 0xfff0);          /* PLIC */
    case 1: return 0x88000000UL - (rnd() & 0xff) * 16;        /* the end of 128 MiB RAM */
    case 2: return rnd();                                      /* anywhere */
    default: return SCRATCH_PA + (rnd() & 0xfff0);             /* the scratch area (aligned) */
  }
}

static inline volatile uint32_t *reg(unsigned slot, unsigned off) {
  return (volatile uint32_t *)(VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE + off);
}

int main(void) {
  static const unsigned offs[] = { VIO_DEV_FEATURES_SEL, VIO_DRV_FEATURES, VIO_DRV_FEATURES_SEL, VIO_QUEUE_SEL,
    VIO_QUEUE_NUM, VIO_QUEUE_READY, VIO_QUEUE_NOTIFY, VIO_INT_ACK, VIO_STATUS, VIO_QUEUE_DESC_LO, VIO_QUEUE_DESC_HI,
    VIO_QUEUE_DRIVER_LO, VIO_QUEUE_DRIVER_HI, VIO_QUEUE_DEVICE_LO, VIO_QUEUE_DEVICE_HI };
  uint64_t writes = 0, reads = 0, notifies = 0, bring_ups = 0;
  puts_("vfuzz: random traffic on all virtio-mmio slots\n");
  for (unsigned r = 0; r < ROUNDS; r++) {
    unsigned slot = rnd() % 8;
    /* Keep the scratch area churning: random descriptors, avail indices, ring entries. */
    for (int k = 0; k < 8; k++) SCRATCH[rnd() & 0xffff] = (uint8_t)rnd();
    if ((rnd() & 7) == 0) ((volatile uint16_t *)SCRATCH)[(rnd() & 0x7fff)] = (uint16_t)(rnd() & 0x3ff);
    switch (rnd() % 6) {
      case 0: {   /* a plausible bring-up with random queue addresses, then a notify */
        *reg(slot, VIO_STATUS) = 0;
        *reg(slot, VIO_STATUS) = VIO_S_ACKNOWLEDGE | VIO_S_DRIVER;
        *reg(slot, VIO_DRV_FEATURES_SEL) = 1; *reg(slot, VIO_DRV_FEATURES) = 1;          /* VERSION_1 */
        *reg(slot, VIO_DRV_FEATURES_SEL) = 0; *reg(slot, VIO_DRV_FEATURES) = (uint32_t)rnd() & 0x30000000u;
        *reg(slot, VIO_STATUS) = VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FEATURES_OK;
        for (unsigned q = 0; q < 2; q++) {
          uint64_t d = addr(), a = addr(), u = addr();
          *reg(slot, VIO_QUEUE_SEL) = q;
          *reg(slot, VIO_QUEUE_NUM) = 1u << (rnd() % 9);
          *reg(slot, VIO_QUEUE_DESC_LO) = (uint32_t)d; *reg(slot, VIO_QUEUE_DESC_HI) = (uint32_t)(d >> 32);
          *reg(slot, VIO_QUEUE_DRIVER_LO) = (uint32_t)a; *reg(slot, VIO_QUEUE_DRIVER_HI) = (uint32_t)(a >> 32);
          *reg(slot, VIO_QUEUE_DEVICE_LO) = (uint32_t)u; *reg(slot, VIO_QUEUE_DEVICE_HI) = (uint32_t)(u >> 32);
          *reg(slot, VIO_QUEUE_READY) = 1;
        }
        *reg(slot, VIO_STATUS) = VIO_S_ACKNOWLEDGE | VIO_S_DRIVER | VIO_S_FEATURES_OK | VIO_S_DRIVER_OK;
        *reg(slot, VIO_QUEUE_NOTIFY) = (uint32_t)(rnd() % 3);
        bring_ups++; notifies++;
        break;
      }
      case 1: *reg(slot, VIO_QUEUE_NOTIFY) = (uint32_t)(rnd() % 4); notifies++; break;
      case 2: *reg(slot, offs[rnd() % (sizeof offs / sizeof *offs)]) = (uint32_t)rnd(); writes++; break;
      case 3: {  /* any offset, any width, read or write */
        uintptr_t a = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_STRIDE + (rnd() & 0xfff);
        unsigned w = rnd() % 4;
        if (rnd() & 1) {
          if (w == 0) *(volatile uint8_t *)a = (uint8_t)rnd();
          else if (w == 1) *(volatile uint16_t *)(a & ~1UL) = (uint16_t)rnd();
          else if (w == 2) *(volatile uint32_t *)(a & ~3UL) = (uint32_t)rnd();
          else *(volatile uint64_t *)(a & ~7UL) = rnd();
          writes++;
        } else {
          if (w == 0) (void)*(volatile uint8_t *)a;
          else if (w == 1) (void)*(volatile uint16_t *)(a & ~1UL);
          else if (w == 2) (void)*(volatile uint32_t *)(a & ~3UL);
          else (void)*(volatile uint64_t *)(a & ~7UL);
          reads++;
        }
        break;
      }
      case 4: (void)*reg(slot, VIO_INT_STATUS); *reg(slot, VIO_INT_ACK) = (uint32_t)rnd(); reads++; break;
      default: (void)*reg(slot, VIO_CONFIG + (rnd() & 0xfc)); (void)*reg(slot, VIO_STATUS); reads += 2; break;
    }
  }
  puts_("vfuzz: done: "); put_dec((int64_t)bring_ups); puts_(" bring-ups, "); put_dec((int64_t)notifies);
  puts_(" notifies, "); put_dec((int64_t)writes); puts_(" writes, "); put_dec((int64_t)reads); puts_(" reads\n");
  return 0;
}
