// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the kernel client API (include/linux/lpt1284-client.h)
 *
 * A connected kernel module is one more client of the port: it waits in
 * the same FIFO queue as the device nodes' files.
 */

#include <linux/export.h>
#include <linux/slab.h>
#include <linux/lpt1284-client.h>

#include "lpt1284-priv.h"

struct lpt1284_handle {
	struct lpt1284_client client;
};

static struct lpt1284_port *lpt1284_h_port(struct lpt1284_handle *h)
{
	return h->client.port;
}

static bool lpt1284_h_holds(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	bool holds;

	spin_lock(&port->lock);
	holds = port->holder == &h->client;
	spin_unlock(&port->lock);
	return holds;
}

static int lpt1284_h_try_allocate(struct lpt1284_handle *h)
{
	return lpt1284_try_allocate(&h->client);
}

static int lpt1284_h_allocate(struct lpt1284_handle *h, u64 timeout_ns)
{
	return lpt1284_allocate(&h->client, timeout_ns, false);
}

static int lpt1284_h_free(struct lpt1284_handle *h)
{
	return lpt1284_free(&h->client);
}

static u32 lpt1284_h_query_waiters(struct lpt1284_handle *h)
{
	return lpt1284_query_waiters(lpt1284_h_port(h));
}

static int lpt1284_h_select(struct lpt1284_handle *h, u32 device)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret;

	if (!lpt1284_h_holds(h))
		return -EPERM;
	mutex_lock(&port->chain_lock);
	ret = lpt1284_select(port, device, LPT1284_MODE_COMPAT);
	mutex_unlock(&port->chain_lock);
	if (!ret)
		h->client.selected = device;
	return ret;
}

static int lpt1284_h_deselect(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);

	if (!lpt1284_h_holds(h))
		return -EPERM;
	mutex_lock(&port->chain_lock);
	lpt1284_deselect(port);
	mutex_unlock(&port->chain_lock);
	h->client.selected = -1;
	return 0;
}

static int lpt1284_h_negotiate(struct lpt1284_handle *h, u32 mode)
{
	if (!lpt1284_h_holds(h))
		return -EPERM;
	if (mode == LPT1284_MODE_COMPAT)
		return 0;
	if (!lpt1284_mode_ok(mode, false) && !lpt1284_mode_ok(mode, true))
		return -EINVAL;
	return lpt1284_negotiate(lpt1284_h_port(h), lpt1284_mode_xb(mode));
}

static void lpt1284_h_terminate(struct lpt1284_handle *h, u32 mode)
{
	if (lpt1284_h_holds(h) && mode != LPT1284_MODE_COMPAT)
		lpt1284_terminate(lpt1284_h_port(h), mode);
}

static ssize_t lpt1284_h_write(struct lpt1284_handle *h, u32 mode,
			       const void *buf, size_t len)
{
	if (!lpt1284_h_holds(h))
		return -EPERM;
	if (!lpt1284_mode_ok(mode, true))
		return -EINVAL;
	return lpt1284_transfer_write(lpt1284_h_port(h), mode, buf, len);
}

static ssize_t lpt1284_h_read(struct lpt1284_handle *h, u32 mode, void *buf,
			      size_t len)
{
	if (!lpt1284_h_holds(h))
		return -EPERM;
	if (!lpt1284_mode_ok(mode, false))
		return -EINVAL;
	return lpt1284_transfer_read(lpt1284_h_port(h), mode, buf, len);
}

static const struct lpt1284_ops lpt1284_client_ops = {
	.try_allocate = lpt1284_h_try_allocate,
	.allocate = lpt1284_h_allocate,
	.free = lpt1284_h_free,
	.query_waiters = lpt1284_h_query_waiters,
	.select = lpt1284_h_select,
	.deselect = lpt1284_h_deselect,
	.negotiate = lpt1284_h_negotiate,
	.terminate = lpt1284_h_terminate,
	.write = lpt1284_h_write,
	.read = lpt1284_h_read,
};

/**
 * lpt1284_connect - connect a kernel client to port lptN
 * @index: N
 * @caps: filled with the port's capabilities
 * @ops: set to the ops table
 *
 * Return: a handle, or NULL when there is no such port.
 */
struct lpt1284_handle *lpt1284_connect(int index,
				       struct lpt1284_port_caps *caps,
				       const struct lpt1284_ops **ops)
{
	struct lpt1284_port *port = lpt1284_port_get(index);
	struct lpt1284_handle *h;

	if (!port)
		return NULL;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return NULL;
	h->client.port = port;
	h->client.selected = -1;
	caps->caps = port->caps;
	caps->fifo_depth = port->fifo_depth;
	caps->fifo_width = port->fifo_depth ? 1 : 0;
	caps->daisy_count = port->daisy_count;
	caps->end_device = port->end_device;
	*ops = &lpt1284_client_ops;
	return h;
}
EXPORT_SYMBOL_GPL(lpt1284_connect);

/* Disconnect: what the client holds is deselected and freed. */
void lpt1284_disconnect(struct lpt1284_handle *h)
{
	if (!h)
		return;
	lpt1284_release_client(&h->client);
	kfree(h);
}
EXPORT_SYMBOL_GPL(lpt1284_disconnect);
