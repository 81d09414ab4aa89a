#!/usr/bin/env bash
# Run every wv.job of the virtio initramfs under QEMU (the reference) and check the result lines.
#
#   guests/linux/check-qemu.sh [--images DIR] [--work DIR] [--port N]
#
# Needs qemu-system-riscv64, debugfs/mkfs.ext4 (e2fsprogs) and the image cache of fetch-images.sh with
# initramfs_virtio= (guests/mkinitramfs-virtio.sh). Scratch files go to --work (default: a temporary
# directory, removed at the end). The two network VMs talk over TCP on 127.0.0.1:N and N+1 (default 40123).
# Prints one `ok JOB (..s wall)` / `FAIL JOB: ...` line per job, the wv-bench lines, and at the end
# `N passed, N failed`; exit status 1 when anything failed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
IMAGES=${WASMVISOR_IMAGES:-${HOME:-/root}/.cache/wasmvisor/images}
WORK="" PORT=40123
while [ $# -gt 0 ]; do
    case $1 in
        --images) IMAGES=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        *) echo "usage: $0 [--images DIR] [--work DIR] [--port N]" >&2; exit 2 ;;
    esac
done
M=$IMAGES/manifest
kernel=$(sed -n 's/^kernel=//p' "$M" | tail -n1)
rd=$(sed -n 's/^initramfs_virtio=//p' "$M" | tail -n1)
[ -f "$kernel" ] && [ -f "$rd" ] || { echo "check-qemu: no kernel= / initramfs_virtio= in $M" >&2; exit 2; }
if [ -z "$WORK" ]; then WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"; cd "$WORK" || exit 2

Q=(qemu-system-riscv64 -M virt -m 512M -nographic -bios default -kernel "$kernel" -initrd "$rd"
   -global virtio-mmio.force-legacy=false)
pass=0 fail=0
t() { date +%s.%N; }
result() {   # result NAME LOG START PATTERN...: every pattern must match a line of LOG, no "wv: FAIL"
    local name=$1 log=$2 s=$3 p; shift 3
    local wall; wall=$(awk -v a="$s" -v b="$(t)" 'BEGIN { printf "%.1f", b - a }')
    sed -i 's/\r$//' "$log"    # the serial console ends lines with CR LF
    if grep -q '^wv: FAIL' "$log"; then
        echo "FAIL $name: $(grep -m1 '^wv: FAIL' "$log")"; fail=$((fail + 1)); return
    fi
    for p in "$@"; do
        grep -qE "$p" "$log" || { echo "FAIL $name: no line matching '$p' (see $WORK/$log)"; fail=$((fail + 1)); return; }
    done
    echo "ok $name (${wall}s wall; $(grep -m1 -o 'init up at [0-9.]*s' "$log"))"
    grep '^wv-bench' "$log" | sed 's/^/    /'
    pass=$((pass + 1))
}

"$HERE/../mkext4.sh" disk.img 64 >/dev/null
s=$(t); timeout 120 "${Q[@]}" -append 'console=ttyS0 wv.job=blk-write wv.msg="hello from qemu"' \
    -drive file=disk.img,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 </dev/null >blk-write.log 2>&1
result blk-write blk-write.log "$s" '^wv: blk-write ok'
got=$(debugfs -R 'cat /hello.txt' disk.img 2>/dev/null)
[ "$got" = "hello from qemu" ] && { echo "ok debugfs hello.txt"; pass=$((pass + 1)); } \
    || { echo "FAIL debugfs hello.txt: '$got'"; fail=$((fail + 1)); }

s=$(t); timeout 120 "${Q[@]}" -append 'console=ttyS0 wv.job=blk-read' \
    -drive file=disk.img,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 </dev/null >blk-read.log 2>&1
result blk-read blk-read.log "$s" '^wv: hello.txt: hello from qemu$' '^wv: blk-read ok'

truncate -s 256M scratch.img
s=$(t); timeout 300 "${Q[@]}" -append 'console=ttyS0 wv.job=blk-bench' \
    -drive file=disk.img,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0 \
    -drive file=scratch.img,format=raw,if=none,id=d1,cache=none -device virtio-blk-device,drive=d1 </dev/null >blk-bench.log 2>&1
result blk-bench blk-bench.log "$s" '^wv-bench seq-write-MBps=[0-9.]+$' '^wv-bench seq-read-MBps=[0-9.]+$' \
    '^wv-bench randread-iops=[0-9]+$' '^wv: blk-bench ok'

s=$(t); timeout 120 "${Q[@]}" -append 'console=ttyS0 wv.job=rng' \
    -object rng-random,id=r0,filename=/dev/urandom -device virtio-rng-device,rng=r0 </dev/null >rng.log 2>&1
result rng rng.log "$s" '^wv: rng virtio[^ ]* [0-9a-f]{128}$' '^wv: rng ok'

rm -f hvc.out
s=$(t); timeout 120 "${Q[@]}" -append 'console=ttyS0 wv.job=console' -device virtio-serial-device \
    -chardev file,id=c0,path=hvc.out -device virtconsole,chardev=c0 </dev/null >console.log 2>&1
cat hvc.out >>console.log 2>/dev/null
result console console.log "$s" '^wv: hvc ok' '^wv: hello on hvc0'

for job in net net-bench; do
    if [ $job = net ]; then a1='wv.serve=1 wv.stay=12' a2=''; else a1='wv.role=server' a2='wv.role=client'; fi
    s=$(t)
    timeout 120 "${Q[@]}" -append "console=ttyS0 wv.job=$job wv.ip=10.0.0.1/24 $a1" \
        -netdev socket,id=n0,listen=127.0.0.1:$PORT -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:01 \
        </dev/null >$job-1.log 2>&1 &
    pid=$!
    sleep 0.5
    timeout 120 "${Q[@]}" -append "console=ttyS0 wv.job=$job wv.ip=10.0.0.2/24 wv.peer=10.0.0.1 $a2" \
        -netdev socket,id=n0,connect=127.0.0.1:$PORT -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:02 \
        </dev/null >$job-2.log 2>&1
    wait "$pid"
    cat $job-1.log $job-2.log >$job.log
    if [ $job = net ]; then
        result net net.log "$s" '^wv: ping ok' '^wv-bench ping-avg-ms=' '^wv: serving for 12s' '^wv: net done'
    else
        result net-bench net-bench.log "$s" '^wv-bench net-MBps=[0-9.]+$' '^wv: nc client sent'
    fi
    PORT=$((PORT + 1))
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
