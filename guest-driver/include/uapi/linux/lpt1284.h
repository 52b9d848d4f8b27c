/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * lpt1284: the Windows parallel-port sharing model on Linux
 *
 * /dev/lptN is port N: any number of opens; it is allocated, freed and
 * queried with the port ioctls below.  /dev/lptN.D is device D on port N
 * (D = 0-3 the IEEE 1284.3 daisy device with that address, D = 4 the
 * end-of-chain device): one open at a time.  Allocate, select and lock
 * requests of every client, and read()/write() requests waiting for the
 * port, are served strictly in arrival order.
 *
 * Choices this header makes where the contract leaves them open:
 *  - ioctl numbers: type 'p', 0xC0-0xD2 as listed;
 *  - reserved fields must be 0 (EINVAL otherwise);
 *  - the default busy time-out of read()/write() is
 *    LPT1284_DEFAULT_BUSY_TIMEOUT_MS, the largest one accepted (ioctl and
 *    sysfs; EINVAL above it) LPT1284_MAX_BUSY_TIMEOUT_MS, a week; the I/O
 *    time-out (no handshake from the peripheral) is LPT1284_IO_TIMEOUT_MS;
 *  - read() and write() stop for a signal: they return the bytes already
 *    moved, or fail with EINTR (or restart) when none were; on a port
 *    that was removed (unbind, PnP remove, module unload) every operation
 *    of a file still open fails with ENODEV;
 *  - a Device ID is the whole ID (up to IEEE 1284's 65533 bytes): a
 *    length field below 2 means none (ENODATA);
 *  - SELECT on device 4 (the end-of-chain device) sends a deselect-all
 *    packet: the end device answers when no daisy device is selected.
 */
#ifndef _UAPI_LINUX_LPT1284_H
#define _UAPI_LINUX_LPT1284_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LPT1284_IOC_MAGIC		'p'

/* Devices on a port */
#define LPT1284_DAISY_MAX		4	/* daisy devices 0-3 */
#define LPT1284_END_DEVICE		4	/* the end-of-chain device */

#define LPT1284_DEFAULT_BUSY_TIMEOUT_MS	5000
#define LPT1284_MAX_BUSY_TIMEOUT_MS	(7ULL * 24 * 60 * 60 * 1000)
#define LPT1284_IO_TIMEOUT_MS		5000

/* LPT1284_IOC_ALLOCATE */
struct lpt1284_alloc {
	__u64 timeout_ns;	/* 0: no limit */
	__u32 flags;		/* none defined: 0 */
	__u32 reserved;		/* 0 */
};

/* LPT1284_IOC_SELECT, LPT1284_IOC_DESELECT */
struct lpt1284_select {
	__u32 device;		/* 0-3 daisy, 4 end of chain */
	__u32 flags;		/* LPT1284_SELECT_* / LPT1284_DESELECT_* */
	__u64 timeout_ns;	/* SELECT without HAVE_PORT: 0 = no limit */
};

#define LPT1284_SELECT_HAVE_PORT	(1U << 0) /* caller holds the port */
#define LPT1284_DESELECT_KEEP_PORT	(1U << 0) /* deselect, keep the port */

/* LPT1284_IOC_PORT_INFO */
struct lpt1284_port_info {
	__u64 base;		/* I/O base */
	__u64 base_hi;		/* ECP block, 0 none */
	__s32 irq;		/* -1 none */
	__s32 dma;		/* -1 none */
	__u32 caps;		/* LPT1284_CAP_* the hardware has */
	__u32 fifo_depth;	/* bytes, 0 no FIFO */
	__u32 fifo_width;	/* bytes */
	__u32 daisy_count;	/* 1284.3 daisy devices found */
	__u32 end_device;	/* 1 if an end-of-chain device answered */
	__u32 reserved;
};

#define LPT1284_CAP_SPP			(1U << 0)
#define LPT1284_CAP_PS2			(1U << 1)
#define LPT1284_CAP_EPP			(1U << 2)
#define LPT1284_CAP_EPP32		(1U << 3)
#define LPT1284_CAP_ECP			(1U << 4)
#define LPT1284_CAP_FIFO		(1U << 5)
#define LPT1284_CAP_DMA			(1U << 6)

/* LPT1284_IOC_SET_MODES, LPT1284_IOC_GET_MODES */
struct lpt1284_modes {
	__u32 write_mode;	/* COMPAT (default), ECP, EPP */
	__u32 read_mode;	/* NIBBLE (default), BYTE, ECP, EPP */
};

#define LPT1284_MODE_COMPAT		1
#define LPT1284_MODE_NIBBLE		2
#define LPT1284_MODE_BYTE		3
#define LPT1284_MODE_ECP		4
#define LPT1284_MODE_EPP		5

/* LPT1284_IOC_DEVICE_ID */
struct lpt1284_device_id {
	__u64 buf;		/* user pointer */
	__u32 size;		/* bytes at buf */
	__u32 length;		/* out: the ID's full length */
};

/* Port ioctls (/dev/lptN) */
#define LPT1284_IOC_ALLOCATE \
	_IOW(LPT1284_IOC_MAGIC, 0xC0, struct lpt1284_alloc)
#define LPT1284_IOC_TRY_ALLOCATE	_IO(LPT1284_IOC_MAGIC, 0xC1)
#define LPT1284_IOC_FREE		_IO(LPT1284_IOC_MAGIC, 0xC2)
#define LPT1284_IOC_QUERY_WAITERS	_IOR(LPT1284_IOC_MAGIC, 0xC3, __u32)
#define LPT1284_IOC_SELECT \
	_IOW(LPT1284_IOC_MAGIC, 0xC4, struct lpt1284_select)
#define LPT1284_IOC_DESELECT \
	_IOW(LPT1284_IOC_MAGIC, 0xC5, struct lpt1284_select)
#define LPT1284_IOC_PORT_INFO \
	_IOR(LPT1284_IOC_MAGIC, 0xC6, struct lpt1284_port_info)
#define LPT1284_IOC_RESCAN		_IO(LPT1284_IOC_MAGIC, 0xC7)

/* Device ioctls (/dev/lptN.D) */
#define LPT1284_IOC_LOCK		_IO(LPT1284_IOC_MAGIC, 0xC8)
#define LPT1284_IOC_UNLOCK		_IO(LPT1284_IOC_MAGIC, 0xC9)
#define LPT1284_IOC_LOCK_NO_SELECT	_IO(LPT1284_IOC_MAGIC, 0xCA)
#define LPT1284_IOC_UNLOCK_NO_DESELECT	_IO(LPT1284_IOC_MAGIC, 0xCB)
#define LPT1284_IOC_SET_MODES \
	_IOW(LPT1284_IOC_MAGIC, 0xCC, struct lpt1284_modes)
#define LPT1284_IOC_GET_MODES \
	_IOR(LPT1284_IOC_MAGIC, 0xCD, struct lpt1284_modes)
#define LPT1284_IOC_SET_BUSY_TIMEOUT	_IOW(LPT1284_IOC_MAGIC, 0xCE, __u64)
#define LPT1284_IOC_GET_BUSY_TIMEOUT	_IOR(LPT1284_IOC_MAGIC, 0xCF, __u64)
#define LPT1284_IOC_DEVICE_ID \
	_IOWR(LPT1284_IOC_MAGIC, 0xD0, struct lpt1284_device_id)

#endif /* _UAPI_LINUX_LPT1284_H */
