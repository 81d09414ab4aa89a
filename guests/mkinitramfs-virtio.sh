#!/usr/bin/env bash
# Build the virtio test initramfs (busybox + Debian's virtio/ext4 modules + guests/linux/blkbench + /init
# with jobs selected by `wv.job=` on the kernel command line) from the image cache of fetch-images.sh.
#
#   guests/mkinitramfs-virtio.sh [--images DIR] [--force]
#
# Reads DIR/manifest (default cache: $WASMVISOR_IMAGES, else ~/.cache/wasmvisor/images) for busybox=
# and modules=, writes DIR/initramfs-virtio.cpio.gz (newc cpio written by python, gzip -9 -n: the same
# inputs give the same bytes), sets the line `initramfs_virtio=PATH` in the manifest and prints it on
# stdout (progress on stderr). Does nothing but print when the file is newer than all its inputs.
# No root needed (root is used only to apt-get install gcc-riscv64-linux-gnu when it is missing).
# See guests/README.md ("Linux virtio guest jobs").
set -euo pipefail

PROG=mkinitramfs-virtio
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

IMAGES=${WASMVISOR_IMAGES:-${HOME:-/root}/.cache/wasmvisor/images}
FORCE=0
while [ $# -gt 0 ]; do
    case $1 in
        --images) [ $# -ge 2 ] || die "--images needs a directory"; IMAGES=$2; shift 2 ;;
        --images=*) IMAGES=${1#--images=}; shift ;;
        --force) FORCE=1; shift ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $1 (usage: $0 [--images DIR] [--force])" ;;
    esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
BENCH_SRC=$HERE/linux/blkbench.c
MANIFEST=$IMAGES/manifest
[ -s "$MANIFEST" ] || die "no manifest in $IMAGES (run guests/fetch-images.sh first)"
command -v python3 >/dev/null || die "python3 not found"

mget() { sed -n "s/^$1=//p" "$MANIFEST" | tail -n1; }
BB=$(mget busybox); MODS=$(mget modules)
[ -n "$BB" ] && [ -f "$BB" ] || die "manifest has no usable busybox= ($BB)"
[ -n "$MODS" ] && [ -d "$MODS/kernel" ] \
    || die "manifest has no usable modules= (run guests/fetch-images.sh without --no-modules)"
OUT=$IMAGES/initramfs-virtio.cpio.gz

set_manifest() {   # replace or append initramfs_virtio=$OUT, keeping every other line
    local tmp=$MANIFEST.virtio.tmp
    grep -v '^initramfs_virtio=' "$MANIFEST" >"$tmp" || true
    echo "initramfs_virtio=$OUT" >>"$tmp"
    mv -f "$tmp" "$MANIFEST"
}

# Fast path: output newer than every input (this script, blkbench.c, busybox, the modules tree).
if [ "$FORCE" = 0 ] && [ -s "$OUT" ]; then
    fresh=1
    for f in "$SELF" "$BENCH_SRC" "$(readlink -f "$BB")" "$(readlink -f "$MODS")"; do
        [ "$f" -nt "$OUT" ] && { fresh=0; break; }
    done
    if [ "$fresh" = 1 ]; then
        grep -qxF "initramfs_virtio=$OUT" "$MANIFEST" || set_manifest
        log "up to date: $OUT"
        echo "initramfs_virtio=$OUT"
        exit 0
    fi
fi

WORK=$(mktemp -d "$IMAGES/.virtio-initramfs.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# blkbench (static riscv64) for wv.job=blk-bench.
CC=riscv64-linux-gnu-gcc
if ! command -v "$CC" >/dev/null && [ "$(id -u)" = 0 ]; then
    log "installing gcc-riscv64-linux-gnu (for blkbench)"
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y gcc-riscv64-linux-gnu >&2 \
        || log "  warning: apt-get install gcc-riscv64-linux-gnu failed"
fi
BENCH_BIN=""
if command -v "$CC" >/dev/null; then
    "$CC" -static -O2 -Wall -s -o "$WORK/blkbench" "$BENCH_SRC" || die "$CC failed on $BENCH_SRC"
    BENCH_BIN=$WORK/blkbench
else
    log "warning: $CC not found: the initramfs has no blkbench (wv.job=blk-bench will print wv: FAIL)"
fi

# /init (busybox ash). Every result line starts with "wv: " or "wv-bench ".
read -r -d '' INIT_SCRIPT <<'INIT' || true
#!/bin/busybox sh
# wasmvisor virtio test initramfs (guests/mkinitramfs-virtio.sh); see guests/README.md.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /mnt /tmp

off() { sync; poweroff -f; while :; do sleep 60; done; }
fail() { echo "wv: FAIL $*"; off; }
up() { cut -d' ' -f1 /proc/uptime; }
param() {   # param NAME DEFAULT -> value of wv.NAME= on the kernel command line ("..." allowed)
    local v
    v=$(sed -n "s/.*[[:space:]]wv\.$1=\"\([^\"]*\)\".*/\1/p; t; s/.*[[:space:]]wv\.$1=\([^[:space:]]*\).*/\1/p" \
        /run/cmdline)
    echo "${v:-$2}"
}
wait_for() {   # wait_for PATH SECONDS
    local i=0
    while [ ! -e "$1" ]; do
        [ "$i" -ge "$(($2 * 10))" ] && return 1
        usleep 100000; i=$((i + 1))
    done
}
mkdir -p /run; echo " $(cat /proc/cmdline) " >/run/cmdline

job=$(param job shell)
debug=$(param debug 0)
echo "wv: init up at $(up)s, kernel $(uname -r), job=$job"

# Modules, in dependency order (built-in ones are not in the list).
modfail=""
while read -r m; do
    [ -n "$m" ] || continue
    if ! err=$(insmod "/lib/modules/$m.ko" 2>&1); then
        echo "wv: FAIL insmod $m: $err"
        modfail="$modfail $m"
    fi
done </lib/modules/order
[ "$debug" = 1 ] || dmesg -n 4     # keep KERN_INFO chatter off the console from here on
echo "wv: modules loaded at $(up)s:$( [ -n "$modfail" ] && echo " failed:$modfail" || echo " all ok")"
[ -z "$modfail" ] || [ "$job" = shell ] || off

case $job in
shell)
    echo "wv: ready (shell on the console; poweroff -f to exit)"
    sh
    off ;;

blk-write|blk-read)
    d=$(param dev vda)
    wait_for "/dev/$d" 5 || fail "no /dev/$d"
    mount -t ext4 "/dev/$d" /mnt || fail "mount /dev/$d"
    if [ "$job" = blk-write ]; then
        printf '%s\n' "$(param msg written-by-wasmvisor-guest)" >/mnt/hello.txt || fail "write /mnt/hello.txt"
        sync
    else
        [ -f /mnt/hello.txt ] || fail "no /hello.txt on /dev/$d"
        echo "wv: hello.txt: $(cat /mnt/hello.txt)"
    fi
    umount /mnt || fail "umount /dev/$d"
    echo "wv: $job ok at $(up)s"
    off ;;

blk-bench)
    d=$(param dev vdb)
    [ -x /bin/blkbench ] || fail "no blkbench in this initramfs (riscv64-linux-gnu-gcc missing at build time)"
    wait_for "/dev/$d" 5 || fail "no /dev/$d"
    echo "wv: blk-bench /dev/$d start at $(up)s"
    blkbench "/dev/$d" "$(param seqmb 64)" "$(param bs 1024)" "$(param randops 2000)" || fail "blkbench /dev/$d"
    echo "wv: blk-bench ok at $(up)s"
    off ;;

net|net-bench)
    ip=$(param ip "")
    peer=$(param peer "")
    [ -n "$ip" ] || fail "no wv.ip="
    wait_for /sys/class/net/eth0 5 || fail "no eth0"
    ip link set lo up
    ip addr add "$ip" dev eth0 || fail "ip addr add $ip"
    ip link set eth0 up || fail "ip link set eth0 up"
    echo "wv: eth0 $ip up at $(up)s"
    if [ -n "$peer" ]; then
        i=0
        until ping -c 1 -W 1 "$peer" >/dev/null 2>&1; do
            i=$((i + 1)); [ "$i" -ge 20 ] && fail "ping (no answer from $peer in 20 tries)"
        done
        if out=$(ping -c 3 "$peer" 2>&1); then
            echo "wv: ping ok"
            avg=$(echo "$out" | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p')
            [ -n "$avg" ] && echo "wv-bench ping-avg-ms=$avg"
        else
            echo "$out"; fail "ping"
        fi
    fi
    if [ "$job" = net-bench ]; then
        port=$(param port 5001)
        case $(param role "") in
        server)
            # Timed on the receiving side, from the first byte to the last of wv.mb MiB (the client's
            # nc lingers after its stdin ends, so its own wall time would overstate the transfer).
            mb=$(param mb 8)
            echo "wv: nc server listening on $port for $mb MiB"
            nc -l -p "$port" | {
                dd bs=1 count=1 of=/dev/null 2>/dev/null; t0=$(up)   # exactly one read(2) of 1 byte
                n=$(head -c $((mb * 1048576 - 1)) | wc -c); t1=$(up)
                echo "wv: nc server received $((n + 1)) bytes"
                [ "$n" = $((mb * 1048576 - 1)) ] || fail "net-bench received $((n + 1)) of $((mb * 1048576)) bytes"
                echo "wv-bench net-MBps=$(awk -v b="$mb" -v a="$t0" -v c="$t1" 'BEGIN { d = c - a; if (d <= 0) d = 0.01; printf "%.1f", b * 1.048576 / d }')"
                cat >/dev/null
            } ;;
        client)
            [ -n "$peer" ] || fail "net-bench client needs wv.peer="
            mb=$(param mb 8)
            # The server listens once its eth0 is up, before it answers the pings above; retry anyway.
            i=0
            while :; do
                dd if=/dev/zero bs=1048576 count="$mb" 2>/dev/null | nc -w 5 "$peer" "$port" && break
                i=$((i + 1)); [ "$i" -ge 10 ] && fail "nc send to $peer:$port"
                sleep 1
            done
            echo "wv: nc client sent $mb MiB"
            ;;
        *) fail "net-bench needs wv.role=server|client" ;;
        esac
    fi
    if [ "$(param serve 0)" = 1 ]; then
        stay=$(param stay 30)
        echo "wv: serving for ${stay}s"
        sleep "$stay"
    fi
    echo "wv: $job done at $(up)s"
    off ;;

rng)
    wait_for /dev/hwrng 5 || fail "no /dev/hwrng"
    cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
    case $cur in virtio*) ;; *) fail "rng_current is '$cur', not virtio" ;; esac
    hex=$(head -c 64 /dev/hwrng | hexdump -v -e '/1 "%02x"')
    [ "${#hex}" = 128 ] || fail "read ${#hex} hex digits from /dev/hwrng, expected 128"
    echo "wv: rng $cur $hex"
    echo "wv: rng ok"
    off ;;

console)
    wait_for /dev/hvc0 5 || fail "no /dev/hvc0"
    echo "wv: hello on hvc0 from $(uname -n) at $(up)s" >/dev/hvc0 || fail "write /dev/hvc0"
    echo "wv: hvc ok"
    off ;;

*)
    fail "unknown wv.job=$job (shell blk-write blk-read blk-bench net net-bench rng console)" ;;
esac
INIT

log "building $OUT"
PYTHONPATH="$HERE" python3 - "$BB" "$MODS" "$OUT.tmp" "$INIT_SCRIPT" "$BENCH_BIN" <<'PY'
import lzma, os, struct, sys
from newc import write_newc_gz

bb_path, mods_dir, out_path, init, bench = sys.argv[1:6]
WANT = ["virtio_mmio", "virtio_blk", "ext4", "virtio_net", "virtio_rng", "virtio_console"]

# Index the tree by module name (file names use - or _ interchangeably).
index = {}
for root, _, files in os.walk(os.path.join(mods_dir, "kernel")):
    for f in files:
        if ".ko" in f:
            index[f.split(".ko")[0].replace("-", "_")] = os.path.join(root, f)

def load(path):
    if path.endswith(".xz"):
        return lzma.open(path).read()
    if path.endswith(".zst"):
        sys.exit("mkinitramfs-virtio: %s: zstd modules are not supported" % path)
    return open(path, "rb").read()

def modinfo(data):
    """key=value strings of the ELF64 little-endian .modinfo section."""
    if data[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not an ELF64 LE object")
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = secs[shstrndx][4]
    for s in secs:
        name = data[strtab + s[0]:data.index(b"\0", strtab + s[0])]
        if name == b".modinfo":
            return [x.decode() for x in data[s[4]:s[4] + s[5]].split(b"\0") if x]
    return []

# modules.dep is written by depmod at install time (the unpacked .deb has none), so the
# dependencies come from each module's own modinfo (depends=, which depmod uses too).
# softdep "pre:" entries name aliases (e.g. crypto-crc32c); they are resolved only when a
# module in the tree declares that alias, by looking at the modules whose name contains it.
order, data_of, seen = [], {}, set()
def resolve_alias(alias):
    stem = alias.split("-", 1)[-1].replace("-", "_")
    for n in sorted(index):
        if stem in n:
            if ("alias=" + alias) in modinfo(load(index[n])):
                return n
    return None

def visit(name, chain=()):
    if name in seen:
        return
    if name in chain:
        sys.exit("mkinitramfs-virtio: dependency cycle: %s" % " -> ".join(chain + (name,)))
    path = index.get(name)
    if path is None:
        print("mkinitramfs-virtio:   %s: not in the modules tree, assumed built in" % name, file=sys.stderr)
        seen.add(name)
        return
    data = load(path)
    info = modinfo(data)
    deps = []
    for kv in info:
        k, _, v = kv.partition("=")
        if k == "depends":
            deps += [d.replace("-", "_") for d in v.split(",") if d]
        elif k == "softdep":
            pre = v.split("post:")[0].replace("pre:", " ").split()
            for a in pre:
                m = resolve_alias(a) if a not in index else a
                if m:
                    deps.append(m)
    for d in deps:
        visit(d, chain + (name,))
    seen.add(name)
    order.append(name)
    data_of[name] = data

for w in WANT:
    visit(w)
print("mkinitramfs-virtio:   modules (load order): %s" % " ".join(order), file=sys.stderr)

entries = []   # (name, mode, data, rdevmajor, rdevminor), written in this order
for d in ["bin", "dev", "etc", "lib", "lib/modules", "mnt", "proc", "root", "run", "sbin", "sys", "tmp",
          "usr", "usr/bin", "usr/sbin"]:
    entries.append((d, 0o040755, b"", 0, 0))
entries.append(("bin/busybox", 0o100755, open(bb_path, "rb").read(), 0, 0))
entries.append(("bin/sh", 0o120777, b"busybox", 0, 0))
if bench:
    entries.append(("bin/blkbench", 0o100755, open(bench, "rb").read(), 0, 0))
entries.append(("dev/console", 0o020600, b"", 5, 1))
entries.append(("dev/null", 0o020666, b"", 1, 3))
entries.append(("init", 0o100755, init.encode() + b"\n", 0, 0))
for n in order:
    entries.append(("lib/modules/%s.ko" % n, 0o100644, data_of[n], 0, 0))
entries.append(("lib/modules/order", 0o100644, "".join(n + "\n" for n in order).encode(), 0, 0))

cpio_bytes = write_newc_gz(entries, out_path)
print("mkinitramfs-virtio:   %d entries, %d KiB cpio, %d KiB gzip" % (
    len(entries), cpio_bytes >> 10, os.path.getsize(out_path) >> 10), file=sys.stderr)
PY
mv -f "$OUT.tmp" "$OUT"
set_manifest
log "done: $OUT"
echo "initramfs_virtio=$OUT"
