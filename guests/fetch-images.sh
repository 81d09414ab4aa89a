#!/usr/bin/env bash
# Fetch third-party riscv64 guest images (Debian packages) into a cache outside the repo.
#
#   guests/fetch-images.sh [--dest DIR] [--update] [--force] [--suites "forky sid trixie"] [--no-modules]
#
# Downloads from Debian's archive, with a private apt state (the host's apt state is not changed;
# of its configuration only the mirror URL, proxy and Valid-Until settings are reused): the riscv64
# kernel and its modules, busybox-static, opensbi and
# u-boot-qemu; then builds a small busybox initramfs. Prints one `name=path` line per artifact on
# stdout (progress goes to stderr), so `eval "$(guests/fetch-images.sh)"` sets $kernel, $initramfs...
# See guests/README.md ("Linux guest images").
set -euo pipefail

PROG=fetch-images
die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { echo "$PROG: $*" >&2; }

usage() {
    cat <<'EOF'
usage: guests/fetch-images.sh [options]
  --dest DIR        cache directory (default: $WASMVISOR_IMAGES, else ~/.cache/wasmvisor/images)
  --update          refresh the package indexes and fetch newer versions (default: when every
                    artifact is already in the cache, print it without touching the network)
  --force           re-download and re-unpack everything
  --suites "A B"    Debian suites to try, in order (default: "forky sid trixie")
  --no-modules      skip the (large) linux-modules package
  -h, --help        this text
Environment: WASMVISOR_IMAGES (cache dir), WASMVISOR_DEBIAN_MIRROR (archive URL; default: the
Debian mirror in /etc/apt/sources.list*, else http://deb.debian.org/debian).
EOF
}

DEST=${WASMVISOR_IMAGES:-${HOME:-/root}/.cache/wasmvisor/images}
SUITES="forky sid trixie"
FORCE=0 UPDATE=0 MODULES=1
while [ $# -gt 0 ]; do
    case $1 in
        --dest) [ $# -ge 2 ] || die "--dest needs a directory"; DEST=$2; shift 2 ;;
        --dest=*) DEST=${1#--dest=}; shift ;;
        --suites) [ $# -ge 2 ] || die "--suites needs a list"; SUITES=$2; shift 2 ;;
        --suites=*) SUITES=${1#--suites=}; shift ;;
        --force) FORCE=1; UPDATE=1; shift ;;
        --update) UPDATE=1; shift ;;
        --no-modules) MODULES=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[ -n "$DEST" ] || die "empty --dest"
[ -n "${SUITES// /}" ] || die "empty --suites"

for tool in apt-get apt-cache dpkg-deb python3 sha256sum realpath od; do
    command -v "$tool" >/dev/null || die "$tool not found (this script needs a Debian-based host)"
done

# The cache must live outside the repository (the images are large and not ours to commit).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEST=$(realpath -m -- "$DEST")
case "$DEST/" in "$REPO"/*) die "--dest $DEST is inside the repository $REPO; use a directory outside it" ;; esac
mkdir -p "$DEST" || die "cannot create $DEST"
DEST=$(cd "$DEST" && pwd -P)

MANIFEST=$DEST/manifest

# The virtio test initramfs (guests/mkinitramfs-virtio.sh: busybox + virtio/ext4 modules + job /init) needs
# the modules; it updates the manifest's initramfs_virtio= line itself and does nothing when up to date.
# A failure there is a warning: the other images are still good.
virtio_initramfs() {
    "$REPO/guests/mkinitramfs-virtio.sh" --images "$DEST" \
        || { log "warning: guests/mkinitramfs-virtio.sh failed; no initramfs_virtio"; return 0; }
}

# ---------------------------------------------------------------------------------------------
# Fast path: everything already fetched -> print it, no network.
if [ "$UPDATE" = 0 ] && [ -s "$MANIFEST" ]; then
    ok=1 want_modules=$MODULES
    while IFS='=' read -r name path; do
        case $name in ''|'#'*|initramfs_virtio) continue ;; modules) want_modules=0 ;; esac
        [ -e "$path" ] || { ok=0; break; }
    done <"$MANIFEST"
    [ "$want_modules" = 0 ] || ok=0
    if [ "$ok" = 1 ]; then
        log "all images cached in $DEST (--update to look for newer packages, --force to re-fetch)"
        grep -q '^modules=' "$MANIFEST" && virtio_initramfs >/dev/null
        grep -v '^#' "$MANIFEST"
        exit 0
    fi
fi

# ---------------------------------------------------------------------------------------------
# Mirror and keyring.
mirror=${WASMVISOR_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    srcfiles=()
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && srcfiles+=("$f")
    done
    if [ ${#srcfiles[@]} -gt 0 ]; then
        # URIs of the main archive only (not -security, -ports, snapshot comments or third parties).
        mirror=$(sed -e 's/#.*//' "${srcfiles[@]}" | grep -oE 'https?://[^][ ]+' | sed -e 's:/*$::' \
                 | grep -E '/debian$' | grep -vE 'snapshot\.' | head -n1 || true)
    fi
    mirror=${mirror:-http://deb.debian.org/debian}
fi
mirror=${mirror%/}

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
if [ ! -s "$KEYRING" ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing debian-archive-keyring"
        apt-get -qq install -y debian-archive-keyring >&2 || die "cannot install debian-archive-keyring"
    fi
    [ -s "$KEYRING" ] || die "$KEYRING missing (apt-get install debian-archive-keyring)"
fi

# Settings of the host's apt that concern reaching its mirror (proxy; Valid-Until/Date checks,
# which a frozen mirror needs turned off) carry over; nothing else of the host's apt is read.
HOST_ACQUIRE=$(apt-config dump 2>/dev/null \
    | grep -E '^Acquire::(Check-Valid-Until|Check-Date|Max-ValidTime|https?::Proxy(::[^ ]*)?) ' || true)

# ---------------------------------------------------------------------------------------------
# Private apt state, one per suite (so an out-of-sync suite index does not spoil the others).
APTROOT=$DEST/.apt
declare -A SUITE_STATE=()   # suite -> ok | bad

apt_conf() { echo "$APTROOT/$1/etc/apt/apt.conf"; }
papt_get()   { local s=$1; shift; APT_CONFIG=$(apt_conf "$s") apt-get -q "$@"; }
papt_cache() { local s=$1; shift; APT_CONFIG=$(apt_conf "$s") apt-cache -q "$@"; }

suite_ready() {   # suite_ready SUITE -> 0 when its index is usable (updates it once per run)
    local s=$1 a
    case ${SUITE_STATE[$s]:-} in ok) return 0 ;; bad) return 1 ;; esac
    a=$APTROOT/$s
    mkdir -p "$a"/etc/apt/{apt.conf.d,sources.list.d,preferences.d,trusted.gpg.d} \
             "$a"/state/lists/partial "$a"/cache/archives/partial
    : >"$a/state/status"
    echo "deb [arch=riscv64 signed-by=$KEYRING] $mirror $s main" >"$a/etc/apt/sources.list"
    cat >"$a/etc/apt/apt.conf" <<EOF
Dir::Etc "$a/etc/apt";
Dir::State "$a/state";
Dir::State::status "$a/state/status";
Dir::Cache "$a/cache";
APT::Architecture "riscv64";
APT::Architectures { "riscv64"; };
Acquire::Languages "none";
Acquire::Retries "2";
APT::Sandbox::User "root";
$HOST_ACQUIRE
EOF
    log "updating package index: $mirror $s (riscv64)"
    if papt_get "$s" update >"$a/update.log" 2>&1 && ! grep -q '^E:' "$a/update.log"; then
        SUITE_STATE[$s]=ok
        return 0
    fi
    log "  suite $s unusable (out of sync or unreachable), see $a/update.log: $(grep -m1 -E '^(E|Err):' "$a/update.log" | cut -c1-160)"
    SUITE_STATE[$s]=bad
    return 1
}

record() {    # record SUITE PKG -> the candidate's index record
    papt_cache "$1" show --no-all-versions "$2" 2>/dev/null || true
}

has_pkg() {   # has_pkg SUITE PKG
    local r; r=$(record "$1" "$2"); [[ $r == *"Package: "* ]]
}

field() {     # field SUITE PKG FIELD -> value from the candidate's index record
    local r; r=$(record "$1" "$2"); sed -n "s/^$3: //p" <<<"$r" | sed -n 1p
}

# fetch_deb SUITE PKG -> prints the path of the verified .deb in $DEST/debs (cached if present)
fetch_deb() {
    local s=$1 pkg=$2 filename size sha deb tmp got
    filename=$(field "$s" "$pkg" Filename); size=$(field "$s" "$pkg" Size); sha=$(field "$s" "$pkg" SHA256)
    [ -n "$filename" ] && [ -n "$size" ] && [ -n "$sha" ] || die "no index record for $pkg in $s"
    deb=$DEST/debs/$(basename "$filename")
    mkdir -p "$DEST/debs"
    if [ "$FORCE" = 0 ] && [ -f "$deb" ] && [ "$(stat -c %s "$deb")" = "$size" ]; then
        log "  cached $(basename "$deb")"
    else
        log "  downloading $pkg ($s, $((size / 1024)) KiB)"
        tmp=$(mktemp -d "$DEST/debs/.dl.XXXXXX")
        if ! (cd "$tmp" && papt_get "$s" download "$pkg" >"$tmp/log" 2>&1); then
            tail -n3 "$tmp/log" >&2; rm -rf "$tmp"; die "apt-get download $pkg ($s) failed"
        fi
        got=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
        [ -n "$got" ] || { rm -rf "$tmp"; die "apt-get download $pkg produced no .deb"; }
        mv -f "$got" "$deb"; rm -rf "$tmp"
    fi
    [ "$(stat -c %s "$deb")" = "$size" ] || die "$deb: size $(stat -c %s "$deb") != index size $size"
    [ "$(sha256sum "$deb" | cut -d' ' -f1)" = "$sha" ] || die "$deb: SHA256 does not match the index"
    echo "$deb"
}

# unpack DEB -> prints the directory it was unpacked into ($DEST/unpacked/<deb name>)
unpack() {
    local deb=$1 dir tmp
    dir=$DEST/unpacked/$(basename "$deb" .deb)
    if [ "$FORCE" = 1 ] || [ ! -d "$dir" ]; then
        mkdir -p "$DEST/unpacked"
        tmp=$(mktemp -d "$DEST/unpacked/.x.XXXXXX")
        dpkg-deb -x "$deb" "$tmp" || { rm -rf "$tmp"; die "dpkg-deb -x $deb failed"; }
        rm -rf "$dir"; mv "$tmp" "$dir"
    fi
    echo "$dir"
}

# pick_suite PKG [preferred suite] -> sets $S to the first usable suite that has PKG
# (not via $(...): suite_ready must record its result in this shell)
pick_suite() {
    local pkg=$1 s
    for s in ${2:-} $SUITES; do
        if suite_ready "$s" && has_pkg "$s" "$pkg"; then S=$s; return 0; fi
    done
    die "$pkg not found in any usable suite of: $SUITES"
}

link() {      # link TARGET NAME: relative symlink $DEST/NAME -> TARGET
    ln -sfn "$(realpath --relative-to="$DEST" "$1")" "$DEST/$2"
}

min_size() {  # min_size FILE BYTES WHAT
    [ -f "$1" ] || die "$3: $1 missing"
    [ "$(stat -L -c %s "$1")" -ge "$2" ] || die "$3: $1 is only $(stat -L -c %s "$1") bytes"
}

bytes_hex() { od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'; }

# ---------------------------------------------------------------------------------------------
# Kernel: linux-image-riscv64 (meta) -> linux-image-<kver> -> kernel in linux-binary-<kver>
# (Debian splits the image into linux-binary-* + linux-modules-*; older kernels ship both in
# linux-image-<kver> itself).
ksuite="" kver="" kpkg=""
for s in $SUITES; do
    suite_ready "$s" || continue
    dep=$(field "$s" linux-image-riscv64 Depends)
    v=$(tr ',' '\n' <<<"$dep" | sed -n 's/^ *linux-image-\(.*-riscv64\) .*/\1/p' | head -n1)
    if [ -z "$v" ]; then log "  $s: no linux-image-riscv64 metapackage"; continue; fi
    for p in "linux-binary-$v" "linux-image-$v"; do
        if has_pkg "$s" "$p"; then ksuite=$s kver=$v kpkg=$p; break 2; fi
    done
    log "  $s: linux-image-riscv64 wants $v, but neither linux-binary-$v nor linux-image-$v is in the index"
done
if [ -z "$kpkg" ]; then
    bad=""; for s in $SUITES; do [ "${SUITE_STATE[$s]:-}" = bad ] && bad="$bad $s"; done
    die "no usable riscv64 kernel in suites: $SUITES${bad:+ (index unusable:$bad)}"
fi
log "kernel: $kpkg $(field "$ksuite" "$kpkg" Version) from $ksuite"

deb=$(fetch_deb "$ksuite" "$kpkg")
kdir=$(unpack "$deb")
kimg=""
for c in "$kdir/usr/lib/modules/$kver/vmlinuz" "$kdir/boot/vmlinuz-$kver" "$kdir/lib/modules/$kver/vmlinuz"; do
    [ -f "$c" ] && { kimg=$c; break; }
done
[ -n "$kimg" ] || die "no vmlinuz for $kver in $kpkg (looked in usr/lib/modules/$kver/vmlinuz, boot/vmlinuz-$kver)"
min_size "$kimg" $((4 << 20)) "kernel"
# RISC-V Image header: "MZ" (EFI stub) at 0, magic "RISCV\0\0\0" at 0x30, magic2 "RSC\x05" at 0x38.
if [ "$(bytes_hex "$kimg" 0x30 8)" != 5249534356000000 ] || [ "$(bytes_hex "$kimg" 0x38 4)" != 52534305 ]; then
    case $(bytes_hex "$kimg" 0 2) in
        1f8b) die "$kimg is gzip-compressed, expected an uncompressed RISC-V Image" ;;
        4d5a) [ "$(bytes_hex "$kimg" 4 4)" = 7a696d67 ] && die "$kimg is an EFI zboot (compressed) image, expected an uncompressed RISC-V Image" ;;
    esac
    die "$kimg has no RISC-V Image header (\"RISCV\\0\\0\\0\" at 0x30, \"RSC\\x05\" at 0x38)"
fi
[ "$(bytes_hex "$kimg" 0 2)" = 4d5a ] || log "  warning: $kimg has no EFI stub (no MZ at offset 0)"
link "$kimg" "vmlinuz-$kver"
out=("kernel=$DEST/vmlinuz-$kver")

if [ "$MODULES" = 1 ]; then
    if [ -d "$kdir/usr/lib/modules/$kver/kernel" ] || [ -d "$kdir/lib/modules/$kver/kernel" ]; then
        mdir=$kdir/usr/lib/modules/$kver; [ -d "$mdir/kernel" ] || mdir=$kdir/lib/modules/$kver
    elif has_pkg "$ksuite" "linux-modules-$kver"; then
        log "modules: linux-modules-$kver"
        deb=$(fetch_deb "$ksuite" "linux-modules-$kver")
        mroot=$(unpack "$deb")
        mdir=$mroot/usr/lib/modules/$kver; [ -d "$mdir" ] || mdir=$mroot/lib/modules/$kver
    else
        die "no modules for $kver (neither in $kpkg nor linux-modules-$kver in $ksuite)"
    fi
    [ -d "$mdir/kernel" ] || die "modules tree $mdir has no kernel/ directory"
    n=$(find "$mdir/kernel" -name '*.ko*' | wc -l)
    [ "$n" -ge 100 ] || die "modules tree $mdir has only $n modules"
    link "$mdir" "modules-$kver"
    out+=("modules=$DEST/modules-$kver")
fi

# ---------------------------------------------------------------------------------------------
# busybox-static, opensbi, u-boot-qemu (prefer the kernel's suite).
pick_suite busybox-static "$ksuite"
log "busybox: busybox-static $(field "$S" busybox-static Version) from $S"
deb=$(fetch_deb "$S" busybox-static)
bdir=$(unpack "$deb")
bb=$bdir/bin/busybox; [ -f "$bb" ] || bb=$bdir/usr/bin/busybox
min_size "$bb" $((256 << 10)) "busybox"
# ELF, 64-bit, e_machine 0xf3 (RISC-V)
[ "$(bytes_hex "$bb" 0 5)" = 7f454c4602 ] && [ "$(bytes_hex "$bb" 18 2)" = f300 ] \
    || die "$bb is not a 64-bit RISC-V ELF"
link "$bb" busybox
out+=("busybox=$DEST/busybox")

pick_suite opensbi "$ksuite"
log "opensbi: $(field "$S" opensbi Version) from $S"
deb=$(fetch_deb "$S" opensbi)
odir=$(unpack "$deb")/usr/lib/riscv64-linux-gnu/opensbi/generic
for fw in fw_jump fw_dynamic; do
    min_size "$odir/$fw.bin" $((64 << 10)) "opensbi $fw"
    link "$odir/$fw.bin" "$fw.bin"
    out+=("$fw=$DEST/$fw.bin")
done

pick_suite u-boot-qemu "$ksuite"
log "u-boot: u-boot-qemu $(field "$S" u-boot-qemu Version) from $S"
deb=$(fetch_deb "$S" u-boot-qemu)
ub=$(unpack "$deb")/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin
min_size "$ub" $((256 << 10)) "u-boot"
link "$ub" u-boot-smode.bin
out+=("uboot=$DEST/u-boot-smode.bin")

# ---------------------------------------------------------------------------------------------
# initramfs: newc cpio (written here, so no cpio/root needed for /dev/console), gzip -9 -n.
log "initramfs: busybox + /init"
INIT_SCRIPT='#!/bin/busybox sh
# wasmvisor test initramfs (guests/fetch-images.sh)
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "wasmvisor-init: up"
echo "wasmvisor-init: kernel $(uname -r), shell on the console; poweroff -f to exit"
sh
echo "wasmvisor-init: shell exited, powering off"
poweroff -f
'
rd_tmp=$DEST/.initramfs.cpio.gz.tmp
PYTHONPATH="$REPO/guests" python3 - "$bb" "$rd_tmp" "$INIT_SCRIPT" <<'PY'
import sys
from newc import write_newc_gz
bb_path, out_path, init = sys.argv[1], sys.argv[2], sys.argv[3].encode()
entries = []   # (name, mode, data, rdevmajor, rdevminor)
for d in ["bin", "dev", "etc", "proc", "root", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin"]:
    entries.append((d, 0o040755, b"", 0, 0))
entries.append(("bin/busybox", 0o100755, open(bb_path, "rb").read(), 0, 0))
entries.append(("bin/sh", 0o120777, b"busybox", 0, 0))
entries.append(("dev/console", 0o020600, b"", 5, 1))
entries.append(("dev/null", 0o020666, b"", 1, 3))
entries.append(("init", 0o100755, init, 0, 0))
cpio_bytes = write_newc_gz(entries, out_path)
PY
min_size "$rd_tmp" $((256 << 10)) "initramfs"
mv -f "$rd_tmp" "$DEST/initramfs.cpio.gz"
out+=("initramfs=$DEST/initramfs.cpio.gz")

{
    echo "# written by guests/fetch-images.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) from $mirror"
    echo "# kernel $kpkg $(field "$ksuite" "$kpkg" Version) ($ksuite)"
    printf '%s\n' "${out[@]}"
} >"$MANIFEST.tmp"
mv -f "$MANIFEST.tmp" "$MANIFEST"
if [ "$MODULES" = 1 ]; then
    [ "$FORCE" = 1 ] && rm -f "$DEST/initramfs-virtio.cpio.gz"
    v=$(virtio_initramfs); [ -z "$v" ] || out+=("$v")
fi
log "done: $DEST"
printf '%s\n' "${out[@]}"
