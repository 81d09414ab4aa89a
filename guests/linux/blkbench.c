/*
 * blkbench: raw block-device benchmark for the wasmvisor virtio initramfs (wv.job=blk-bench).
 *
 *   blkbench DEVICE [SEQ_MIB [BLOCK_KIB [RAND_OPS [RAND_SPAN_MIB]]]]
 *
 * DESTROYS the first SEQ_MIB MiB of DEVICE: it is meant for a scratch disk.
 * With O_DIRECT (no page cache), CLOCK_MONOTONIC timing and page-aligned buffers:
 *   1. sequential write of SEQ_MIB MiB in BLOCK_KIB KiB requests, then fdatasync (timed with it);
 *   2. sequential read of the same range;
 *   3. RAND_OPS random 4 KiB reads at 4 KiB-aligned offsets within the first RAND_SPAN_MIB MiB
 *      (default: the whole device), offsets from a fixed-seed 64-bit LCG (same sequence every run).
 * Prints one machine-readable line per metric:
 *   wv-bench dev-MiB=N
 *   wv-bench seq-write-MBps=X   (MB = 10^6 bytes)
 *   wv-bench seq-read-MBps=X
 *   wv-bench randread-iops=X
 * and `wv-bench done`. Errors: one line `blkbench: ...` on stderr, exit status 1.
 * Defaults: SEQ_MIB 64, BLOCK_KIB 1024, RAND_OPS 2000. SEQ_MIB is clamped to the device size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "blkbench: %s: %s\n", what, errno ? strerror(errno) : "error");
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long arg(int argc, char **argv, int i, long def) {
    if (argc <= i) return def;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || v <= 0) { errno = EINVAL; die(argv[i]); }
    return v;
}

static void full_pwrite(int fd, const void *buf, size_t n, off_t off) {
    while (n) {
        ssize_t r = pwrite(fd, buf, n, off);
        if (r < 0) { if (errno == EINTR) continue; die("pwrite"); }
        if (r == 0) { errno = ENOSPC; die("pwrite"); }
        buf = (const char *)buf + r; n -= (size_t)r; off += r;
    }
}

static void full_pread(int fd, void *buf, size_t n, off_t off) {
    while (n) {
        ssize_t r = pread(fd, buf, n, off);
        if (r < 0) { if (errno == EINTR) continue; die("pread"); }
        if (r == 0) { errno = EIO; die("pread: unexpected end of device"); }
        buf = (char *)buf + r; n -= (size_t)r; off += r;
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 6) {
        fprintf(stderr, "usage: blkbench DEVICE [SEQ_MIB [BLOCK_KIB [RAND_OPS [RAND_SPAN_MIB]]]]\n");
        return 2;
    }
    const char *dev = argv[1];
    long seq_mib = arg(argc, argv, 2, 64);
    long blk_kib = arg(argc, argv, 3, 1024);
    long rand_ops = arg(argc, argv, 4, 2000);
    long span_mib = arg(argc, argv, 5, 0x7fffffffL);
    if (blk_kib % 4) { errno = EINVAL; die("BLOCK_KIB must be a multiple of 4"); }

    int fd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
    if (fd < 0) die(dev);
    uint64_t size = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat");
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0) die("BLKGETSIZE64");
    } else {
        size = (uint64_t)st.st_size;
    }
    uint64_t dev_mib = size >> 20;
    if (dev_mib < 1) { errno = ENOSPC; die("device smaller than 1 MiB"); }
    printf("wv-bench dev-MiB=%llu\n", (unsigned long long)dev_mib);
    fflush(stdout);

    uint64_t seq_bytes = (uint64_t)(seq_mib > (long)dev_mib ? (long)dev_mib : seq_mib) << 20;
    size_t bs = (size_t)blk_kib << 10;
    if (bs > seq_bytes) bs = (size_t)seq_bytes;
    void *buf;
    if (posix_memalign(&buf, 4096, bs) != 0) { errno = ENOMEM; die("posix_memalign"); }
    /* A non-zero, position-dependent pattern (no zero-page shortcuts anywhere). */
    for (size_t i = 0; i < bs; i += 8) *(uint64_t *)((char *)buf + i) = 0x9e3779b97f4a7c15ULL * (i + 1);

    /* 1. sequential write */
    double t0 = now();
    for (uint64_t off = 0; off < seq_bytes; off += bs) {
        size_t n = seq_bytes - off < bs ? (size_t)(seq_bytes - off) : bs;
        full_pwrite(fd, buf, n, (off_t)off);
    }
    if (fdatasync(fd) < 0) die("fdatasync");
    double t1 = now();
    printf("wv-bench seq-write-MBps=%.1f\n", (double)seq_bytes / 1e6 / (t1 - t0));
    fflush(stdout);

    /* 2. sequential read */
    t0 = now();
    for (uint64_t off = 0; off < seq_bytes; off += bs) {
        size_t n = seq_bytes - off < bs ? (size_t)(seq_bytes - off) : bs;
        full_pread(fd, buf, n, (off_t)off);
    }
    t1 = now();
    printf("wv-bench seq-read-MBps=%.1f\n", (double)seq_bytes / 1e6 / (t1 - t0));
    fflush(stdout);

    /* 3. 4 KiB random reads, deterministic LCG (Knuth's MMIX constants) */
    uint64_t pages = ((uint64_t)span_mib < dev_mib ? (uint64_t)span_mib : dev_mib) << 8;
    uint64_t x = 0x2545f4914f6cdd1dULL;
    t0 = now();
    for (long i = 0; i < rand_ops; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t page = (x >> 16) % pages;
        full_pread(fd, buf, 4096, (off_t)(page << 12));
    }
    t1 = now();
    printf("wv-bench randread-iops=%.0f\n", (double)rand_ops / (t1 - t0));
    printf("wv-bench done\n");
    fflush(stdout);
    free(buf);
    close(fd);
    return 0;
}
