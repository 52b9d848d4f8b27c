/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpt1284: the kernel client API - what the Windows parallel-port stack's
 * "connect", "get port info" and "get PnP info" requests give a driver.
 *
 * lpt1284_connect(index) returns a handle for port index (lptN) with the
 * port's capabilities and an ops table, or an ERR_PTR (-ENODEV: no such
 * port); every call goes through the same FIFO allocate queue as the
 * device nodes' clients.  Calls sleep: process context only.  The handle
 * holds the port: when the port is removed (unbind, PnP remove) every op
 * fails with -ENODEV, and lpt1284_disconnect() must still be called.
 * Disconnect frees the port (after a deselect) if held.
 */
#ifndef _LINUX_LPT1284_CLIENT_H
#define _LINUX_LPT1284_CLIENT_H

#include <linux/types.h>

struct lpt1284_handle;

/**
 * struct lpt1284_ops - what a connected kernel client can do
 * @try_allocate: take the port if free and nobody waits; -EBUSY otherwise
 * @allocate: queue for the port (timeout_ns 0: no limit); -ETIMEDOUT,
 *	-ERESTARTSYS, -ENODEV
 * @free: give the port up; -EPERM if not held
 * @query_waiters: queued requests for the port
 * @select: select device 0-4 (the port must be held); -ENODEV, -EIO
 * @deselect: deselect every daisy device (the port must be held)
 * @negotiate: IEEE 1284 negotiation to an LPT1284_MODE_* read/write mode
 * @terminate: back to compatibility mode from that mode
 * @write: write in an LPT1284_MODE_* mode to the selected device; returns
 *	the bytes taken or -ENOSPC, -EIO, -ETIMEDOUT, -ERESTARTSYS (a signal
 *	before the first byte), -ENODEV
 * @read: read in an LPT1284_MODE_* mode; the bytes read, 0 for none, or
 *	-ERESTARTSYS, -ENODEV
 */
struct lpt1284_ops {
	int (*try_allocate)(struct lpt1284_handle *h);
	int (*allocate)(struct lpt1284_handle *h, u64 timeout_ns);
	int (*free)(struct lpt1284_handle *h);
	u32 (*query_waiters)(struct lpt1284_handle *h);
	int (*select)(struct lpt1284_handle *h, u32 device);
	int (*deselect)(struct lpt1284_handle *h);
	int (*negotiate)(struct lpt1284_handle *h, u32 mode);
	void (*terminate)(struct lpt1284_handle *h, u32 mode);
	ssize_t (*write)(struct lpt1284_handle *h, u32 mode, const void *buf,
			 size_t len);
	ssize_t (*read)(struct lpt1284_handle *h, u32 mode, void *buf,
			size_t len);
};

/**
 * struct lpt1284_port_caps - the port's capabilities ("get port info")
 * @caps: LPT1284_CAP_* bits the hardware has
 * @fifo_depth: bytes, 0 without a FIFO
 * @fifo_width: bytes
 * @daisy_count: IEEE 1284.3 daisy devices on the chain
 * @end_device: an end-of-chain device answered
 */
struct lpt1284_port_caps {
	u32 caps;
	u32 fifo_depth;
	u32 fifo_width;
	u32 daisy_count;
	bool end_device;
};

struct lpt1284_handle *lpt1284_connect(int index,
				       struct lpt1284_port_caps *caps,
				       const struct lpt1284_ops **ops);
void lpt1284_disconnect(struct lpt1284_handle *h);

#endif /* _LINUX_LPT1284_CLIENT_H */
