// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284-sample: a kernel client of lpt1284
 *
 * At load it connects to port lpt<port>, allocates it, selects device
 * <device> (0-3 a daisy device, 4 the end-of-chain device), writes
 * <message> in compatibility mode, deselects, frees, and reports the
 * outcome in the kernel log ("lpt1284-sample: wrote N bytes to lpt0.D" or
 * the error).  Load fails with that error too.
 */

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

static int __init lpt1284_sample_init(void)
{
	const struct lpt1284_ops *ops;
	struct lpt1284_port_caps caps;
	struct lpt1284_handle *h;
	ssize_t n;
	int ret;

	h = lpt1284_connect(port, &caps, &ops);
	if (!h) {
		pr_err("lpt1284-sample: no port lpt%d\n", port);
		return -ENODEV;
	}
	pr_info("lpt1284-sample: lpt%d caps 0x%x, %u daisy devices, %u waiters\n",
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
		pr_info("lpt1284-sample: wrote %zd bytes to lpt%d.%d\n", n,
			port, device);
free:
	ops->free(h);
out:
	if (ret)
		pr_err("lpt1284-sample: lpt%d.%d: error %d\n", port, device,
		       ret);
	lpt1284_disconnect(h);
	return ret;
}

static void __exit lpt1284_sample_exit(void)
{
}

module_init(lpt1284_sample_init);
module_exit(lpt1284_sample_exit);

MODULE_DESCRIPTION("lpt1284 kernel client sample: allocate, select, write, free");
MODULE_AUTHOR("The lptrig authors");
MODULE_LICENSE("GPL");
