/* vrng: virtio-rng (device id 4) over virtio-mmio version 2, M-mode, polling: reads 64 random bytes twice
 * (a request may return fewer bytes: it is repeated until 64 arrived), checks that neither block is all zero
 * and that they differ. The bytes themselves are not printed, so the output is the same on every run. */
#include <stdint.h>
#include "platform.h"
#include "runtime.h"
#include "virtio.h"

static struct vdev dev;
static int failures;
static void check(int c, const char *what) {
  puts_(c ? "vrng: ok " : "vrng: FAIL "); puts_(what); putch('\n');
  if (!c) failures++;
}

static int fill(uint8_t *buf, uint32_t n) {
  uint32_t got = 0;
  for (int tries = 0; got < n && tries < 64; tries++) {
    struct vbuf b = { (uint64_t)(uintptr_t)(buf + got), n - got, 1 };
    int h = vq_add(&dev, 0, &b, 1, 0);
    if (h < 0) return -1;
    vq_kick(&dev, 0);
    uint32_t len = 0;
    if (vq_wait(&dev, 0, h, &len, 2000) < 0) return -1;
    if (len > n - got) return -1;
    got += len;
  }
  return got == n ? 0 : -1;
}

int main(void) {
  puts_("vrng: virtio-rng test\n");
  if (!vio_find(&dev, VIRTIO_ID_RNG, 0)) {
    puts_(vio_scan_legacy ? "vrng: FAIL only a legacy (version 1) virtio-rng device: QEMU needs -global virtio-mmio.force-legacy=false\n"
                          : "vrng: FAIL no virtio-rng device\n");
    return 1;
  }
  check(vio_reset(&dev) == 0, "reset: status reads 0");
  check(vio_negotiate(&dev, 0) == 0, "features negotiated (VERSION_1, FEATURES_OK)");
  check(vio_queue_setup(&dev, 0) == 0, "requestq set up");
  vio_driver_ok(&dev);
  uint8_t *a = vio_alloc(64, 64), *b = vio_alloc(64, 64);
  vio_memset(a, 0, 64); vio_memset(b, 0, 64);
  int ra = fill(a, 64), rb = fill(b, 64);
  check(ra == 0 && rb == 0, "read 64 bytes twice");
  int za = 1, zb = 1;
  for (int i = 0; i < 64; i++) { if (a[i]) za = 0; if (b[i]) zb = 0; }
  check(!za && !zb, "neither block is all zero");
  check(vio_memcmp(a, b, 64) != 0, "the two blocks differ");
  vio_reset(&dev);
  puts_(failures ? "vrng: FAIL\n" : "vrng: PASS\n");
  return failures;
}
