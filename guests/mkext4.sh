#!/usr/bin/env bash
# Create an empty ext4 file system in a raw disk image (no root, no loop device):
#
#   guests/mkext4.sh IMAGE SIZE_MB
#
# The image is a sparse file of SIZE_MB MiB, formatted with mkfs.ext4 (e2fsprogs; installed with
# apt-get when missing and running as root). Reproducible: fixed UUID and hash seed, timestamps from
# SOURCE_DATE_EPOCH (default 1). Read a file back without mounting:
#   debugfs -R 'cat /hello.txt' IMAGE
# See guests/README.md ("Linux virtio guest jobs").
set -euo pipefail
die() { echo "mkext4: error: $*" >&2; exit 1; }
[ $# = 2 ] || die "usage: $0 IMAGE SIZE_MB"
img=$1 mb=$2
[[ $mb =~ ^[0-9]+$ ]] && [ "$mb" -ge 2 ] || die "SIZE_MB must be an integer >= 2, got '$mb'"
MKFS=$(command -v mkfs.ext4 || echo /usr/sbin/mkfs.ext4 /sbin/mkfs.ext4 | tr ' ' '\n' | while read -r p; do [ -x "$p" ] && echo "$p" && break; done)
if [ -z "$MKFS" ] && [ "$(id -u)" = 0 ]; then
    echo "mkext4: installing e2fsprogs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y e2fsprogs >&2 || die "apt-get install e2fsprogs failed"
    MKFS=$(command -v mkfs.ext4 || echo /usr/sbin/mkfs.ext4)
fi
[ -n "$MKFS" ] && [ -x "$MKFS" ] || die "mkfs.ext4 not found (apt-get install e2fsprogs)"
rm -f -- "$img"
truncate -s "${mb}M" -- "$img" || die "cannot create $img"
# -F: a regular file; no lazy init so the guest does no background zeroing.
E2FSPROGS_FAKE_TIME=${SOURCE_DATE_EPOCH:-1} \
"$MKFS" -q -F -t ext4 -L wvdisk -U 5677616d-7669-736f-7200-000000000001 \
    -E lazy_itable_init=0,lazy_journal_init=0,hash_seed=5677616d-7669-736f-7200-000000000002 \
    -- "$img" >/dev/null || die "mkfs.ext4 $img failed"
echo "$img"
