/* virtio-blk definitions (VIRTIO 1.2 §5.2) shared by the block guests. */
#ifndef GUEST_VBLK_H
#define GUEST_VBLK_H
#include <stdint.h>

#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK           0
#define VIRTIO_BLK_S_IOERR        1
#define VIRTIO_BLK_S_UNSUPP       2

/* config space offsets */
#define VBLK_CFG_CAPACITY         0
#define VBLK_CFG_SIZE_MAX         8
#define VBLK_CFG_SEG_MAX          12
#define VBLK_CFG_BLK_SIZE         20
#define VBLK_CFG_MAX_DISCARD_SECTORS   36
#define VBLK_CFG_MAX_DISCARD_SEG       40
#define VBLK_CFG_DISCARD_ALIGN         44
#define VBLK_CFG_MAX_WZ_SECTORS        48
#define VBLK_CFG_MAX_WZ_SEG            52

struct virtio_blk_req_hdr { uint32_t type; uint32_t reserved; uint64_t sector; };
struct virtio_blk_discard_wz { uint64_t sector; uint32_t num_sectors; uint32_t flags; };

#define SECTOR 512u
#endif
