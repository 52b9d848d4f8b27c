// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the kernel client API (include/linux/lpt1284-client.h)
 *
 * A connected kernel module is one more client of the port: it waits in
 * the same FIFO queue as the device nodes' files.  Its handle holds a
 * reference to the port: when the port is removed every op fails with
 * -ENODEV, and lpt1284_disconnect() still frees the handle.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

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

/* Enter the port and check that the handle holds it */
static int lpt1284_h_enter_held(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_port_enter(port);

	if (ret)
		return ret;
	if (!lpt1284_holds(&h->client)) {
		lpt1284_port_exit(port);
		return -EPERM;
	}
	return 0;
}

static int lpt1284_h_try_allocate(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_port_enter(port);

	if (ret)
		return ret;
	ret = lpt1284_try_allocate(&h->client);
	lpt1284_port_exit(port);
	return ret;
}

static int lpt1284_h_allocate(struct lpt1284_handle *h, u64 timeout_ns)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_port_enter(port);

	if (ret)
		return ret;
	ret = lpt1284_allocate(&h->client, timeout_ns, false);
	lpt1284_port_exit(port);
	return ret;
}

static int lpt1284_h_free(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_port_enter(port);

	if (ret)
		return ret;
	ret = lpt1284_free(&h->client);
	lpt1284_port_exit(port);
	return ret;
}

static u32 lpt1284_h_query_waiters(struct lpt1284_handle *h)
{
	return lpt1284_query_waiters(lpt1284_h_port(h));
}

static int lpt1284_h_select(struct lpt1284_handle *h, u32 device)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_h_enter_held(h);

	if (ret)
		return ret;
	mutex_lock(&port->chain_lock);
	ret = lpt1284_select(port, device, LPT1284_MODE_COMPAT);
	mutex_unlock(&port->chain_lock);
	if (!ret)
		h->client.selected = device;
	lpt1284_port_exit(port);
	return ret;
}

static int lpt1284_h_deselect(struct lpt1284_handle *h)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret = lpt1284_h_enter_held(h);

	if (ret)
		return ret;
	mutex_lock(&port->chain_lock);
	lpt1284_deselect(port);
	mutex_unlock(&port->chain_lock);
	h->client.selected = -1;
	lpt1284_port_exit(port);
	return 0;
}

static int lpt1284_h_negotiate(struct lpt1284_handle *h, u32 mode)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	int ret;

	if (!lpt1284_mode_ok(mode, false) && !lpt1284_mode_ok(mode, true))
		return -EINVAL;
	ret = lpt1284_h_enter_held(h);
	if (ret)
		return ret;
	if (mode != LPT1284_MODE_COMPAT)
		ret = lpt1284_negotiate(port, lpt1284_mode_xb(mode));
	lpt1284_port_exit(port);
	return ret;
}

static void lpt1284_h_terminate(struct lpt1284_handle *h, u32 mode)
{
	struct lpt1284_port *port = lpt1284_h_port(h);

	if (lpt1284_h_enter_held(h))
		return;
	if (mode != LPT1284_MODE_COMPAT)
		lpt1284_terminate(port, mode);
	lpt1284_port_exit(port);
}

static ssize_t lpt1284_h_write(struct lpt1284_handle *h, u32 mode,
			       const void *buf, size_t len)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	ssize_t ret;

	if (!lpt1284_mode_ok(mode, true))
		return -EINVAL;
	ret = lpt1284_h_enter_held(h);
	if (ret)
		return ret;
	ret = lpt1284_transfer_write(port, mode, buf, len);
	lpt1284_port_exit(port);
	return ret;
}

static ssize_t lpt1284_h_read(struct lpt1284_handle *h, u32 mode, void *buf,
			      size_t len)
{
	struct lpt1284_port *port = lpt1284_h_port(h);
	ssize_t ret;

	if (!lpt1284_mode_ok(mode, false))
		return -EINVAL;
	ret = lpt1284_h_enter_held(h);
	if (ret)
		return ret;
	ret = lpt1284_transfer_read(port, mode, buf, len);
	lpt1284_port_exit(port);
	return ret;
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
 * Return: a handle, ERR_PTR(-ENODEV) when there is no such port, or
 * ERR_PTR(-ENOMEM).
 */
struct lpt1284_handle *lpt1284_connect(int index,
				       struct lpt1284_port_caps *caps,
				       const struct lpt1284_ops **ops)
{
	struct lpt1284_port *port = lpt1284_port_get(index);
	struct lpt1284_handle *h;

	if (!port)
		return ERR_PTR(-ENODEV);
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h) {
		put_device(&port->dev);
		return ERR_PTR(-ENOMEM);
	}
	h->client.port = port;
	h->client.selected = -1;
	caps->caps = port->caps;
	caps->fifo_depth = port->fifo_depth;
	caps->fifo_width = port->fifo_depth ? 1 : 0;
	mutex_lock(&port->chain_lock);
	caps->daisy_count = port->daisy_count;
	caps->end_device = port->end_device;
	mutex_unlock(&port->chain_lock);
	*ops = &lpt1284_client_ops;
	return h;
}
EXPORT_SYMBOL_GPL(lpt1284_connect);

/*
 * Disconnect: what the client holds is deselected and freed (on a
 * removed port only forgotten), and its reference to the port goes.
 */
void lpt1284_disconnect(struct lpt1284_handle *h)
{
	struct lpt1284_port *port;

	if (IS_ERR_OR_NULL(h))
		return;
	port = lpt1284_h_port(h);
	down_read(&port->alive);
	lpt1284_release_client(&h->client);
	up_read(&port->alive);
	kfree(h);
	put_device(&port->dev);
}
EXPORT_SYMBOL_GPL(lpt1284_disconnect);
