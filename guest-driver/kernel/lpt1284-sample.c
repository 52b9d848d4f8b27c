// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284-sample: a kernel client of lpt1284
 *
 * At load it connects to port lpt<port>, allocates it, selects device
 * <device> (0-3 a daisy device, 4 the end-of-chain device), writes
 * <message> in compatibility mode, deselects, frees, and reports the
 * outcome in the kernel log ("lpt1284-sample: wrote N bytes to lpt0.D" or
 * the error).  Load fails with that error too.
 *
 * With stay=1 it stays connected until it is unloaded; then it tries to
 * allocate the port once more, reports what that returned ("lpt1284-sample:
 * at unload: try_allocate N" - -ENODEV once the port was removed) and
 * disconnects.
 */

#define pr_fmt(fmt) "lpt1284-sample: " fmt

#include <linux/module.h>
#include <linux/string.h>
#include <linux/lpt1284.h>
#include <linux/lpt1284-client.h>

static int port;
module_param(port, int, 0444);
MODULE_PARM_DESC(port, "port index N of /dev/lptN (default 0)");
static int device;
module_param(device, int, 0444);
MODULE_PARM_DESC(device, "device: 0-3 daisy address, 4 end of chain");
static char *message = "lpt1284-sample\n";
module_param(message, charp, 0444);
MODULE_PARM_DESC(message, "what to write");
static unsigned int timeout_ms = 5000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "how long to wait for the port");
static bool stay;
module_param(stay, bool, 0444);
MODULE_PARM_DESC(stay, "stay connected until unloaded");

static struct lpt1284_handle *handle;
static const struct lpt1284_ops *handle_ops;

static int __init lpt1284_sample_init(void)
{
	const struct lpt1284_ops *ops;
	struct lpt1284_port_caps caps;
	struct lpt1284_handle *h;
	ssize_t n;
	int ret;

	h = lpt1284_connect(port, &caps, &ops);
	if (IS_ERR(h)) {
		pr_err("no port lpt%d: %ld\n", port, PTR_ERR(h));
		return PTR_ERR(h);
	}
	pr_info("lpt%d caps 0x%x, %u daisy devices, %u waiters\n",
		port, caps.caps, caps.daisy_count, ops->query_waiters(h));
	ret = ops->allocate(h, (u64)timeout_ms * NSEC_PER_MSEC);
	if (ret)
		goto out;
	ret = ops->select(h, device);
	if (ret)
		goto free;
	n = ops->write(h, LPT1284_MODE_COMPAT, message, strlen(message));
	ops->deselect(h);
	if (n < 0)
		ret = n;
	else
		pr_info("wrote %zd bytes to lpt%d.%d\n", n,
			port, device);
free:
	ops->free(h);
out:
	if (ret)
		pr_err("lpt%d.%d: error %d\n", port, device, ret);
	if (stay && !ret) {
		handle = h;
		handle_ops = ops;
		return 0;
	}
	lpt1284_disconnect(h);
	return ret;
}

static void __exit lpt1284_sample_exit(void)
{
	int ret;

	if (!handle)
		return;
	ret = handle_ops->try_allocate(handle);
	pr_info("at unload: try_allocate %d\n", ret);
	if (!ret)
		handle_ops->free(handle);
	lpt1284_disconnect(handle);
}

module_init(lpt1284_sample_init);
module_exit(lpt1284_sample_exit);

MODULE_DESCRIPTION("lpt1284 kernel client sample: allocate, select, write, free");
MODULE_AUTHOR("The lptrig authors");
MODULE_LICENSE("GPL");
