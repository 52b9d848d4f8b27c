// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the device nodes - /dev/lptN (the port, any number of opens)
 * and /dev/lptN.D (device D on its chain, one open at a time) - with
 * their ioctls, read() and write(), and sysfs attributes.
 *
 * read() and write() on a device node are served one at a time.  A file
 * that does not hold the port queues for it like everyone else, within
 * the device's busy time-out (EBUSY after it; EAGAIN at once with
 * O_NONBLOCK), selects the device for the request, deselects after it,
 * and frees the port if anyone waits - otherwise keeps it lazily, and
 * anyone who asks gets it at once.
 *
 * Every file operation runs between lpt1284_port_enter() and lpt1284_port_exit():
 * once the port is removed (PnP remove, unbind, module unload) it fails
 * with ENODEV, and the port's memory stays until the last file is closed.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "lpt1284-priv.h"

/**
 * struct lpt1284_file - an open port or device node
 * @client: its part in the port's allocate queue
 * @device: the device for /dev/lptN.D, NULL for /dev/lptN
 * @locked: LOCK or LOCK_NO_SELECT took the port for this file (io_lock)
 */
struct lpt1284_file {
	struct lpt1284_client client;
	struct lpt1284_device *device;
	bool locked;
};

static int lpt1284_open(struct inode *inode, struct file *file)
{
	struct lpt1284_port *port = container_of(inode->i_cdev,
						 struct lpt1284_port, cdev);
	unsigned int n = iminor(inode) - MINOR(port->dev.devt);
	struct lpt1284_device *d = NULL;
	struct lpt1284_file *f;
	int ret;

	if (n > LPT1284_DEVICES)
		return -ENODEV;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	ret = lpt1284_port_enter(port);
	if (ret)
		goto err_free;
	if (n) {
		d = &port->devs[n - 1];
		mutex_lock(&port->chain_lock);
		if (!d->present || d->gone)
			ret = -ENODEV;
		else if (d->open)
			ret = -EBUSY;
		else
			d->open = true;
		mutex_unlock(&port->chain_lock);
	}
	lpt1284_port_exit(port);
	if (ret)
		goto err_free;
	f->client.port = port;
	f->client.selected = -1;
	f->device = d;
	file->private_data = f;
	return nonseekable_open(inode, file);

err_free:
	kfree(f);
	return ret;
}

static int lpt1284_release(struct inode *inode, struct file *file)
{
	struct lpt1284_file *f = file->private_data;
	struct lpt1284_port *port = f->client.port;
	struct lpt1284_device *d = f->device;
	struct device *gone = NULL;

	/* Also on a removed port: what the file had must go */
	down_read(&port->alive);
	lpt1284_release_client(&f->client);
	if (d) {
		mutex_lock(&port->chain_lock);
		d->open = false;
		if (d->gone) {
			/*
			 * Another device took the address while open: its
			 * node comes back for it now (the end device's node
			 * stays: it is always there).
			 */
			d->gone = false;
			if (d->number != LPT1284_END_DEVICE &&
			    !READ_ONCE(port->dead)) {
				gone = d->dev;
				d->dev = NULL;
			}
		}
		mutex_unlock(&port->chain_lock);
		if (gone) {
			device_unregister(gone);
			mutex_lock(&port->chain_lock);
			lpt1284_device_nodes_update(port);
			mutex_unlock(&port->chain_lock);
		}
	}
	up_read(&port->alive);
	kfree(f);
	return 0;
}

/* Port ioctls */

static int lpt1284_ioc_select(struct lpt1284_file *f, void __user *argp,
			      bool nonblock)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port *port = client->port;
	struct lpt1284_select sel;
	bool allocated = false;
	int ret;

	if (copy_from_user(&sel, argp, sizeof(sel)))
		return -EFAULT;
	if (sel.flags & ~LPT1284_SELECT_HAVE_PORT)
		return -EINVAL;
	if (sel.device > LPT1284_END_DEVICE ||
	    !READ_ONCE(port->devs[sel.device].present))
		return -ENODEV;
	if (sel.flags & LPT1284_SELECT_HAVE_PORT) {
		if (!lpt1284_holds(client))
			return -EPERM;
	} else {
		ret = lpt1284_allocate(client, sel.timeout_ns, nonblock);
		if (ret)
			return ret;
		allocated = true;
	}
	mutex_lock(&port->chain_lock);
	ret = lpt1284_select(port, sel.device, LPT1284_MODE_COMPAT);
	mutex_unlock(&port->chain_lock);
	if (ret) {
		if (allocated)
			lpt1284_free(client);
		return ret;
	}
	client->selected = sel.device;
	return 0;
}

static int lpt1284_ioc_deselect(struct lpt1284_file *f, void __user *argp)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port *port = client->port;
	struct lpt1284_select sel;

	if (copy_from_user(&sel, argp, sizeof(sel)))
		return -EFAULT;
	if (sel.flags & ~LPT1284_DESELECT_KEEP_PORT)
		return -EINVAL;
	if (!lpt1284_holds(client))
		return -EPERM;
	mutex_lock(&port->chain_lock);
	lpt1284_deselect(port);
	mutex_unlock(&port->chain_lock);
	client->selected = -1;
	if (!(sel.flags & LPT1284_DESELECT_KEEP_PORT))
		lpt1284_free(client);
	return 0;
}

static void lpt1284_port_info(struct lpt1284_port *port,
			      struct lpt1284_port_info *info)
{
	memset(info, 0, sizeof(*info));
	info->base = port->base;
	info->base_hi = port->base_hi;
	info->irq = port->irq;
	info->dma = port->dma;
	info->caps = port->caps;
	info->fifo_depth = port->fifo_depth;
	info->fifo_width = port->fifo_depth ? 1 : 0;
	mutex_lock(&port->chain_lock);
	info->daisy_count = port->daisy_count;
	info->end_device = port->end_device;
	mutex_unlock(&port->chain_lock);
}

static int lpt1284_ioc_rescan(struct lpt1284_file *f)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port *port = client->port;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (lpt1284_try_allocate(client))
		return -EBUSY;
	mutex_lock(&port->chain_lock);
	lpt1284_scan(port);
	lpt1284_device_nodes_update(port);
	mutex_unlock(&port->chain_lock);
	lpt1284_free(client);
	return 0;
}

static long lpt1284_port_ioctl(struct lpt1284_file *f, unsigned int cmd,
			       void __user *argp, bool nonblock)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port_info info;
	struct lpt1284_alloc alloc;

	switch (cmd) {
	case LPT1284_IOC_ALLOCATE:
		if (copy_from_user(&alloc, argp, sizeof(alloc)))
			return -EFAULT;
		if (alloc.flags || alloc.reserved)
			return -EINVAL;
		return lpt1284_allocate(client, alloc.timeout_ns, nonblock);
	case LPT1284_IOC_TRY_ALLOCATE:
		return lpt1284_try_allocate(client);
	case LPT1284_IOC_FREE:
		return lpt1284_free(client);
	case LPT1284_IOC_SELECT:
		return lpt1284_ioc_select(f, argp, nonblock);
	case LPT1284_IOC_DESELECT:
		return lpt1284_ioc_deselect(f, argp);
	case LPT1284_IOC_PORT_INFO:
		lpt1284_port_info(client->port, &info);
		return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
	case LPT1284_IOC_RESCAN:
		return lpt1284_ioc_rescan(f);
	default:
		return -ENOTTY;
	}
}

/* Device ioctls */

static bool lpt1284_mode_supported(struct lpt1284_port *port, u32 mode)
{
	switch (mode) {
	case LPT1284_MODE_BYTE:
		return port->caps & LPT1284_CAP_PS2;
	case LPT1284_MODE_ECP:
		return port->caps & LPT1284_CAP_ECP;
	case LPT1284_MODE_EPP:
		return port->caps & LPT1284_CAP_EPP;
	default:
		return true;
	}
}

/* Has the device gone from the chain while this file had it open? */
static bool lpt1284_device_gone(struct lpt1284_device *d)
{
	bool gone;

	mutex_lock(&d->port->chain_lock);
	gone = d->gone;
	mutex_unlock(&d->port->chain_lock);
	return gone;
}

/* io_lock held */
static int lpt1284_ioc_lock(struct lpt1284_file *f, bool select,
			    bool nonblock)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port *port = client->port;
	int ret;

	if (lpt1284_device_gone(f->device))
		return -ENODEV;
	ret = lpt1284_allocate(client, 0, nonblock);
	if (ret)
		return ret;
	if (select) {
		mutex_lock(&port->chain_lock);
		ret = lpt1284_select(port, f->device->number,
				     LPT1284_MODE_COMPAT);
		mutex_unlock(&port->chain_lock);
		if (ret) {
			lpt1284_free(client);
			return ret;
		}
		client->selected = f->device->number;
	}
	f->locked = true;
	return 0;
}

/* io_lock held */
static int lpt1284_ioc_unlock(struct lpt1284_file *f, bool deselect)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_port *port = client->port;

	if (!f->locked || !lpt1284_holds(client))
		return -EPERM;
	if (deselect && client->selected >= 0) {
		mutex_lock(&port->chain_lock);
		lpt1284_deselect(port);
		mutex_unlock(&port->chain_lock);
		client->selected = -1;
	}
	f->locked = false;
	return lpt1284_free(client);
}

static int lpt1284_ioc_device_id(struct lpt1284_device *d, void __user *argp)
{
	struct lpt1284_port *port = d->port;
	struct lpt1284_device_id id;
	int ret = 0;

	if (copy_from_user(&id, argp, sizeof(id)))
		return -EFAULT;
	mutex_lock(&port->id_lock);
	if (!d->device_id_len) {
		ret = -ENODATA;
	} else if (copy_to_user(u64_to_user_ptr(id.buf), d->device_id,
				min_t(size_t, id.size, d->device_id_len))) {
		ret = -EFAULT;
	} else {
		id.length = d->device_id_len;
	}
	mutex_unlock(&port->id_lock);
	if (ret)
		return ret;
	return copy_to_user(argp, &id, sizeof(id)) ? -EFAULT : 0;
}

/* A new busy time-out: 1 ms to LPT1284_MAX_BUSY_TIMEOUT_MS */
static int lpt1284_set_busy_timeout(struct lpt1284_device *d, u64 ms)
{
	if (!ms || ms > LPT1284_MAX_BUSY_TIMEOUT_MS)
		return -EINVAL;
	WRITE_ONCE(d->busy_timeout_ms, ms);
	return 0;
}

/* io_lock, or -EAGAIN at once when it is taken and @nonblock */
static int lpt1284_io_lock(struct lpt1284_device *d, bool nonblock)
{
	if (nonblock)
		return mutex_trylock(&d->io_lock) ? 0 : -EAGAIN;
	return mutex_lock_interruptible(&d->io_lock);
}

static long lpt1284_device_ioctl(struct lpt1284_file *f, unsigned int cmd,
				 void __user *argp, bool nonblock)
{
	struct lpt1284_device *d = f->device;
	struct lpt1284_port *port = d->port;
	struct lpt1284_modes modes;
	long ret;
	u64 ms;

	switch (cmd) {
	case LPT1284_IOC_LOCK:
	case LPT1284_IOC_LOCK_NO_SELECT:
	case LPT1284_IOC_UNLOCK:
	case LPT1284_IOC_UNLOCK_NO_DESELECT:
		ret = lpt1284_io_lock(d, nonblock);
		if (ret)
			return ret;
		if (cmd == LPT1284_IOC_LOCK)
			ret = lpt1284_ioc_lock(f, true, nonblock);
		else if (cmd == LPT1284_IOC_LOCK_NO_SELECT)
			ret = lpt1284_ioc_lock(f, false, nonblock);
		else
			ret = lpt1284_ioc_unlock(f, cmd == LPT1284_IOC_UNLOCK);
		mutex_unlock(&d->io_lock);
		return ret;
	case LPT1284_IOC_SET_MODES:
		if (copy_from_user(&modes, argp, sizeof(modes)))
			return -EFAULT;
		if (!lpt1284_mode_ok(modes.write_mode, true) ||
		    !lpt1284_mode_ok(modes.read_mode, false))
			return -EINVAL;
		if (!lpt1284_mode_supported(port, modes.write_mode) ||
		    !lpt1284_mode_supported(port, modes.read_mode))
			return -EOPNOTSUPP;
		ret = lpt1284_io_lock(d, nonblock);
		if (ret)
			return ret;
		WRITE_ONCE(d->write_mode, modes.write_mode);
		WRITE_ONCE(d->read_mode, modes.read_mode);
		mutex_unlock(&d->io_lock);
		return 0;
	case LPT1284_IOC_GET_MODES:
		modes.write_mode = READ_ONCE(d->write_mode);
		modes.read_mode = READ_ONCE(d->read_mode);
		return copy_to_user(argp, &modes, sizeof(modes)) ? -EFAULT : 0;
	case LPT1284_IOC_SET_BUSY_TIMEOUT:
		if (get_user(ms, (u64 __user *)argp))
			return -EFAULT;
		return lpt1284_set_busy_timeout(d, ms);
	case LPT1284_IOC_GET_BUSY_TIMEOUT:
		return put_user(READ_ONCE(d->busy_timeout_ms),
				(u64 __user *)argp);
	case LPT1284_IOC_DEVICE_ID:
		return lpt1284_ioc_device_id(d, argp);
	default:
		return -ENOTTY;
	}
}

static long lpt1284_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct lpt1284_file *f = file->private_data;
	struct lpt1284_port *port = f->client.port;
	void __user *argp = (void __user *)arg;
	bool nonblock = file->f_flags & O_NONBLOCK;
	long ret;

	ret = lpt1284_port_enter(port);
	if (ret)
		return ret;
	if (cmd == LPT1284_IOC_QUERY_WAITERS)
		ret = put_user(lpt1284_query_waiters(port), (u32 __user *)argp);
	else if (f->device)
		ret = lpt1284_device_ioctl(f, cmd, argp, nonblock);
	else
		ret = lpt1284_port_ioctl(f, cmd, argp, nonblock);
	lpt1284_port_exit(port);
	return ret;
}

/* read() and write() */

/*
 * Get the port and the device for one request.  Returns 1 when this
 * request allocated the port itself (and selected the device), 0 when the
 * file held it already, or an error: EBUSY after the busy time-out,
 * EAGAIN with O_NONBLOCK, EIO when the device did not answer its select.
 */
static int lpt1284_io_begin(struct lpt1284_file *f, u32 mode, bool nonblock)
{
	struct lpt1284_client *client = &f->client;
	struct lpt1284_device *d = f->device;
	struct lpt1284_port *port = client->port;
	u64 ms = READ_ONCE(d->busy_timeout_ms);
	int ret;

	/*
	 * A port this file keeps lazily from its last request is not held
	 * in the contract's sense: the request selects its device again.
	 */
	spin_lock(&port->lock);
	if (port->holder == client && !port->lazy) {
		spin_unlock(&port->lock);
		return 0;
	}
	spin_unlock(&port->lock);
	/* ms <= LPT1284_MAX_BUSY_TIMEOUT_MS: no overflow */
	ret = lpt1284_allocate(client, ms * NSEC_PER_MSEC, nonblock);
	if (ret == -ETIMEDOUT)
		return -EBUSY;
	if (ret)
		return ret;
	mutex_lock(&port->chain_lock);
	if (d->number < LPT1284_DAISY_MAX || port->selected >= 0)
		ret = lpt1284_select(port, d->number, mode);
	mutex_unlock(&port->chain_lock);
	if (ret) {
		lpt1284_free(client);
		return ret;
	}
	return 1;
}

static void lpt1284_io_end(struct lpt1284_file *f, bool allocated)
{
	struct lpt1284_port *port = f->client.port;

	if (!allocated)
		return;
	mutex_lock(&port->chain_lock);
	if (port->selected >= 0)
		lpt1284_deselect(port);
	mutex_unlock(&port->chain_lock);
	lpt1284_keep_or_free(&f->client);
}

/*
 * Start a read() or write(): the port alive, the file's io_lock (not
 * waited for with O_NONBLOCK), the device still on the chain.
 */
static int lpt1284_rw_enter(struct lpt1284_file *f, bool nonblock)
{
	struct lpt1284_device *d = f->device;
	struct lpt1284_port *port = f->client.port;
	int ret;

	ret = lpt1284_port_enter(port);
	if (ret)
		return ret;
	if (!d) {
		ret = -EINVAL;
		goto exit;
	}
	ret = lpt1284_io_lock(d, nonblock);
	if (ret)
		goto exit;
	ret = lpt1284_device_gone(d) ? -ENODEV : 0;
	if (!ret)
		return 0;
	mutex_unlock(&d->io_lock);
exit:
	lpt1284_port_exit(port);
	return ret;
}

static void lpt1284_rw_exit(struct lpt1284_file *f)
{
	mutex_unlock(&f->device->io_lock);
	lpt1284_port_exit(f->client.port);
}

static ssize_t lpt1284_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct lpt1284_file *f = file->private_data;
	struct lpt1284_device *d = f->device;
	struct lpt1284_port *port = f->client.port;
	size_t done = 0;
	ssize_t n = 0;
	int allocated;
	u8 *kbuf;
	u32 mode;

	if (!count)
		return 0;
	kbuf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	n = lpt1284_rw_enter(f, file->f_flags & O_NONBLOCK);
	if (n)
		goto out_free;
	mode = d->write_mode;		/* once: SET_MODES waits for io_lock */
	allocated = lpt1284_io_begin(f, mode, file->f_flags & O_NONBLOCK);
	if (allocated < 0) {
		n = allocated;
		goto out;
	}
	n = lpt1284_write_begin(port, mode);
	if (!n) {
		while (done < count) {
			size_t len = min_t(size_t, count - done, PAGE_SIZE);
			ssize_t took;

			if (done) {
				n = lpt1284_io_yield(port);
				if (n)
					break;
			}
			if (copy_from_user(kbuf, ubuf + done, len)) {
				n = -EFAULT;
				break;
			}
			took = lpt1284_write_bytes(port, mode, kbuf, len);
			if (took <= 0) {
				n = took;
				break;
			}
			done += took;
			d->bytes_written += took;
			if (took < len)
				break;
		}
		lpt1284_write_end(port, mode);
	}
	lpt1284_io_end(f, allocated);
out:
	lpt1284_rw_exit(f);
out_free:
	kfree(kbuf);
	return done ? done : n;
}

static ssize_t lpt1284_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct lpt1284_file *f = file->private_data;
	struct lpt1284_device *d = f->device;
	ssize_t n;
	int allocated;
	u8 *kbuf;
	u32 mode;

	count = min_t(size_t, count, PAGE_SIZE);
	if (!count)
		return 0;
	kbuf = kzalloc(count, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	n = lpt1284_rw_enter(f, file->f_flags & O_NONBLOCK);
	if (n)
		goto out_free;
	mode = d->read_mode;		/* once: SET_MODES waits for io_lock */
	allocated = lpt1284_io_begin(f, mode, file->f_flags & O_NONBLOCK);
	if (allocated < 0) {
		n = allocated;
		goto out;
	}
	n = lpt1284_transfer_read(f->client.port, mode, kbuf, count);
	lpt1284_io_end(f, allocated);
	if (n > 0) {
		if (copy_to_user(ubuf, kbuf, n))
			n = -EFAULT;
		else
			d->bytes_read += n;
	}
out:
	lpt1284_rw_exit(f);
out_free:
	kfree(kbuf);
	return n;
}

const struct file_operations lpt1284_fops = {
	.owner = THIS_MODULE,
	.open = lpt1284_open,
	.release = lpt1284_release,
	.read = lpt1284_read,
	.write = lpt1284_write,
	.unlocked_ioctl = lpt1284_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/* sysfs */

static const char *const lpt1284_cap_names[] = {
	"SPP", "PS2", "EPP", "EPP32", "ECP", "FIFO", "DMA",
};

static const char *const lpt1284_mode_names[] = {
	[LPT1284_MODE_COMPAT] = "compat", [LPT1284_MODE_NIBBLE] = "nibble",
	[LPT1284_MODE_BYTE] = "byte", [LPT1284_MODE_ECP] = "ecp",
	[LPT1284_MODE_EPP] = "epp",
};

static ssize_t owner_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct lpt1284_port *port = dev_get_drvdata(dev);
	pid_t pid = 0;

	spin_lock(&port->lock);
	if (port->holder)
		pid = port->holder_pid;
	spin_unlock(&port->lock);
	return pid ? sysfs_emit(buf, "%d\n", pid) : sysfs_emit(buf, "none\n");
}
static DEVICE_ATTR_RO(owner);

static ssize_t waiters_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct lpt1284_port *port = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", lpt1284_query_waiters(port));
}
static DEVICE_ATTR_RO(waiters);

static ssize_t daisy_count_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct lpt1284_port *port = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(port->daisy_count));
}
static DEVICE_ATTR_RO(daisy_count);

static ssize_t capabilities_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct lpt1284_port *port = dev_get_drvdata(dev);
	int len = 0, i;

	for (i = 0; i < ARRAY_SIZE(lpt1284_cap_names); i++)
		if (port->caps & BIT(i))
			len += sysfs_emit_at(buf, len, "%s%s", len ? "," : "",
					     lpt1284_cap_names[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}
static DEVICE_ATTR_RO(capabilities);

static struct attribute *lpt1284_port_attrs[] = {
	&dev_attr_owner.attr,
	&dev_attr_waiters.attr,
	&dev_attr_daisy_count.attr,
	&dev_attr_capabilities.attr,
	NULL,
};

static const struct attribute_group lpt1284_port_group = {
	.attrs = lpt1284_port_attrs,
};

const struct attribute_group *lpt1284_port_groups[] = {
	&lpt1284_port_group,
	NULL,
};

static ssize_t address_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", d->number);
}
static DEVICE_ATTR_RO(address);

static ssize_t device_id_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);
	struct lpt1284_port *port = d->port;
	ssize_t len;

	/* id_lock is never held while a node is removed */
	mutex_lock(&port->id_lock);
	len = sysfs_emit(buf, "%.*s\n", (int)d->device_id_len,
			 d->device_id ?: "");
	mutex_unlock(&port->id_lock);
	return len;
}
static DEVICE_ATTR_RO(device_id);

static ssize_t modes_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "write %s read %s\n",
			  lpt1284_mode_names[READ_ONCE(d->write_mode)],
			  lpt1284_mode_names[READ_ONCE(d->read_mode)]);
}
static DEVICE_ATTR_RO(modes);

static ssize_t busy_timeout_ms_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", READ_ONCE(d->busy_timeout_ms));
}

static ssize_t busy_timeout_ms_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);
	u64 ms;
	int ret = kstrtou64(buf, 0, &ms);

	if (!ret)
		ret = lpt1284_set_busy_timeout(d, ms);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(busy_timeout_ms);

static ssize_t bytes_written_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", READ_ONCE(d->bytes_written));
}
static DEVICE_ATTR_RO(bytes_written);

static ssize_t bytes_read_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct lpt1284_device *d = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%llu\n", READ_ONCE(d->bytes_read));
}
static DEVICE_ATTR_RO(bytes_read);

static struct attribute *lpt1284_device_attrs[] = {
	&dev_attr_address.attr,
	&dev_attr_device_id.attr,
	&dev_attr_modes.attr,
	&dev_attr_busy_timeout_ms.attr,
	&dev_attr_bytes_written.attr,
	&dev_attr_bytes_read.attr,
	NULL,
};

static const struct attribute_group lpt1284_device_group = {
	.attrs = lpt1284_device_attrs,
};

static const struct attribute_group *lpt1284_device_groups[] = {
	&lpt1284_device_group,
	NULL,
};

/* Nodes */

void lpt1284_devices_init(struct lpt1284_port *port)
{
	int i;

	for (i = 0; i < LPT1284_DEVICES; i++) {
		struct lpt1284_device *d = &port->devs[i];

		d->port = port;
		d->number = i;
		mutex_init(&d->io_lock);
		d->write_mode = LPT1284_MODE_COMPAT;
		d->read_mode = LPT1284_MODE_NIBBLE;
		d->busy_timeout_ms = LPT1284_DEFAULT_BUSY_TIMEOUT_MS;
	}
}

/*
 * Add nodes for devices found, remove those gone (at close if open).
 * chain_lock held: no sysfs attribute takes it, so removing a node here
 * cannot wait for one that waits for us.
 */
void lpt1284_device_nodes_update(struct lpt1284_port *port)
{
	int i;

	if (READ_ONCE(port->dead))
		return;
	for (i = 0; i < LPT1284_DEVICES; i++) {
		struct lpt1284_device *d = &port->devs[i];
		struct device *dev;

		if (d->present && !d->dev) {
			dev = device_create_with_groups(lpt1284_class,
							&port->dev,
							port->dev.devt + 1 + i,
							d,
							lpt1284_device_groups,
							"lpt%d.%d",
							port->index, i);
			if (IS_ERR(dev))
				dev_warn(&port->dev, "no node for device %d: %ld\n",
					 i, PTR_ERR(dev));
			else
				d->dev = dev;
		} else if (!d->present && d->dev) {
			if (d->open) {
				d->gone = true;
			} else {
				device_unregister(d->dev);
				d->dev = NULL;
			}
		}
	}
}

/* The port goes: every device node with it (open files keep the port). */
void lpt1284_device_nodes_remove(struct lpt1284_port *port)
{
	int i;

	mutex_lock(&port->chain_lock);
	for (i = 0; i < LPT1284_DEVICES; i++) {
		if (port->devs[i].dev) {
			device_unregister(port->devs[i].dev);
			port->devs[i].dev = NULL;
		}
	}
	mutex_unlock(&port->chain_lock);
}
