/* vcons: virtio-console (device id 3, no MULTIPORT: port 0 only) over virtio-mmio version 2, M-mode, polling.
 * Writes a line on transmitq (queue 1), then for a bounded time (VCONS_LISTEN_MS of mtime) echoes whatever
 * arrives on receiveq (queue 0) back on transmitq, prefixed "echo: ", and prints it on the UART (non-printable
 * bytes as '.'). Passes when the transmissions complete; receiving nothing is fine (printed). */
#include <stdint.h>
#include "platform.h"
#include "runtime.h"
#include "virtio.h"

#define VCONS_LISTEN_MS 2000
#define RXBUFS 4
#define RXLEN 64

static struct vdev dev;
static int failures;
static void check(int c, const char *what) {
  puts_(c ? "vcons: ok " : "vcons: FAIL "); puts_(what); putch('\n');
  if (!c) failures++;
}

static uint8_t *txbuf;
static int tx(const uint8_t *p, uint32_t n) {
  vio_memcpy(txbuf, p, n);
  struct vbuf b = { (uint64_t)(uintptr_t)txbuf, n, 0 };
  int h = vq_add(&dev, 1, &b, 1, 0);
  if (h < 0) return -1;
  vq_kick(&dev, 1);
  return vq_wait(&dev, 1, h, 0, 2000);
}

int main(void) {
  puts_("vcons: virtio-console test\n");
  if (!vio_find(&dev, VIRTIO_ID_CONSOLE, 0)) {
    puts_(vio_scan_legacy ? "vcons: FAIL only a legacy (version 1) virtio-console device: QEMU needs -global virtio-mmio.force-legacy=false\n"
                          : "vcons: FAIL no virtio-console device\n");
    return 1;
  }
  check(vio_reset(&dev) == 0, "reset: status reads 0");
  check(vio_negotiate(&dev, 0) == 0, "features negotiated (VERSION_1, FEATURES_OK)");
  check(vio_queue_setup(&dev, 0) == 0 && vio_queue_setup(&dev, 1) == 0, "receiveq and transmitq set up");
  vio_driver_ok(&dev);
  txbuf = vio_alloc(256, 64);
  uint8_t *rx[RXBUFS];
  int rxhead[RXBUFS];
  for (int i = 0; i < RXBUFS; i++) {
    rx[i] = vio_alloc(RXLEN, 64);
    struct vbuf b = { (uint64_t)(uintptr_t)rx[i], RXLEN, 1 };
    rxhead[i] = vq_add(&dev, 0, &b, 1, 0);
  }
  vq_kick(&dev, 0);
  static const char hello[] = "hello from wasmvisor's vcons guest on virtio-console port 0\n";
  check(tx((const uint8_t *)hello, sizeof hello - 1) == 0, "line written on transmitq");
  uint64_t end = vio_now() + VCONS_LISTEN_MS * VIO_TICKS_PER_MS;
  uint32_t total = 0;
  while (vio_now() < end) {
    vq_poll(&dev, 0);
    for (int i = 0; i < RXBUFS; i++) {
      struct vq *q = &dev.q[0];
      if (rxhead[i] < 0 || !q->done[rxhead[i]]) continue;
      q->done[rxhead[i]] = 0;
      uint32_t n = q->done_len[rxhead[i]];
      if (n > RXLEN) n = RXLEN;
      total += n;
      puts_("vcons: received "); put_dec(n); puts_(" bytes: \"");
      for (uint32_t k = 0; k < n; k++) putch(rx[i][k] >= 32 && rx[i][k] < 127 ? (char)rx[i][k] : '.');
      puts_("\"\n");
      uint8_t line[RXLEN + 8];
      vio_memcpy(line, "echo: ", 6);
      vio_memcpy(line + 6, rx[i], n);
      if (tx(line, n + 6) != 0) { check(0, "echo on transmitq"); }
      struct vbuf b = { (uint64_t)(uintptr_t)rx[i], RXLEN, 1 };   /* give the buffer back */
      rxhead[i] = vq_add(&dev, 0, &b, 1, 0);
      vq_kick(&dev, 0);
    }
    delay_us(100);
  }
  puts_("vcons: "); put_dec(total); puts_(" bytes received in "); put_dec(VCONS_LISTEN_MS); puts_(" ms\n");
  vio_reset(&dev);
  puts_(failures ? "vcons: FAIL\n" : "vcons: PASS\n");
  return failures;
}
