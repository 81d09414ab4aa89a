"""Writes a gzip-compressed newc (SVR4 "070701") cpio archive for a Linux initramfs, reproducibly (fixed inode
numbers, no timestamps, gzip mtime 0), without root: device nodes are just entries. Shared by fetch-images.sh
and mkinitramfs-virtio.sh.

entries: list of (name, mode, data bytes, rdev major, rdev minor); returns the uncompressed size."""
import gzip


def write_newc_gz(entries, out_path):
    buf = bytearray()

    def pad4():
        buf.extend(b"\0" * (-len(buf) % 4))

    for ino, (name, mode, data, rmaj, rmin) in enumerate(entries + [("TRAILER!!!", 0, b"", 0, 0)], 1):
        nm = name.encode() + b"\0"
        nlink = 2 if mode & 0o170000 == 0o040000 else 1
        hdr = "070701" + "".join("%08X" % v for v in (
            ino if name != "TRAILER!!!" else 0, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(nm), 0))
        buf.extend(hdr.encode())
        buf.extend(nm)
        pad4()
        buf.extend(data)
        pad4()
    buf.extend(b"\0" * (-len(buf) % 512))
    with open(out_path, "wb") as f:
        f.write(gzip.compress(bytes(buf), compresslevel=9, mtime=0))
    return len(buf)
