// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284_abi: the error numbers of lpt1284.ko's ioctls, for the lptrig
 * guest tests.  Each check prints "NAME ENAME" (or "NAME ok") on stdout,
 * whatever the outcome: the test compares the lines with the contract
 * (../../../shared/DRIVER-ABI.md).  Run with the port free and
 * /dev/lptN.0 present, /dev/lptN.3 absent.
 *
 *   lpt1284_abi [PORT]          (default /dev/lpt0)
 *
 * Exit status: 0 when every check ran, 1 when a node could not be opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/lpt1284.h>

static const char *ename(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENODATA: return "ENODATA";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EDEADLK: return "EDEADLK";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "E?";
	}
}

static void check(const char *name, int ret)
{
	printf("%s %s\n", name, ename(ret < 0 ? errno : 0));
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		fprintf(stderr, "lpt1284_abi: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *port = argc > 1 ? argv[1] : "/dev/lpt0";
	struct lpt1284_alloc alloc = { 0 };
	struct lpt1284_select sel = { 0 };
	struct lpt1284_modes modes = { 0 };
	struct lpt1284_device_id id = { 0 };
	char path[64];
	__u64 ms = 0;
	__u32 n;
	int fd, dev, dev2;

	fd = open_or_die(port, O_RDWR);
	check("unknown-ioctl", ioctl(fd, _IO(LPT1284_IOC_MAGIC, 0xDF)));
	check("ppdev-ioctl", ioctl(fd, _IO('p', 0x8F)));
	alloc.flags = 1;
	check("alloc-flags", ioctl(fd, LPT1284_IOC_ALLOCATE, &alloc));
	alloc.flags = 0;
	alloc.reserved = 1;
	check("alloc-reserved", ioctl(fd, LPT1284_IOC_ALLOCATE, &alloc));
	check("alloc-badptr", ioctl(fd, LPT1284_IOC_ALLOCATE, (void *)8));
	check("waiters-badptr", ioctl(fd, LPT1284_IOC_QUERY_WAITERS, (void *)8));
	check("free-not-held", ioctl(fd, LPT1284_IOC_FREE));
	sel.device = 7;
	check("select-7", ioctl(fd, LPT1284_IOC_SELECT, &sel));
	sel.device = 3;
	check("select-absent", ioctl(fd, LPT1284_IOC_SELECT, &sel));
	sel.device = 0;
	sel.flags = LPT1284_SELECT_HAVE_PORT;
	check("select-have-port-not-held", ioctl(fd, LPT1284_IOC_SELECT, &sel));
	sel.flags = 0x80;
	check("select-flags", ioctl(fd, LPT1284_IOC_SELECT, &sel));
	sel.flags = 0;
	check("deselect-not-held", ioctl(fd, LPT1284_IOC_DESELECT, &sel));
	alloc.reserved = 0;
	check("alloc", ioctl(fd, LPT1284_IOC_ALLOCATE, &alloc));
	check("alloc-again", ioctl(fd, LPT1284_IOC_ALLOCATE, &alloc));
	check("waiters", ioctl(fd, LPT1284_IOC_QUERY_WAITERS, &n));
	printf("waiters-count %u\n", n);
	check("rescan-while-held", ioctl(fd, LPT1284_IOC_RESCAN));
	check("free", ioctl(fd, LPT1284_IOC_FREE));
	check("try", ioctl(fd, LPT1284_IOC_TRY_ALLOCATE));
	check("free-after-try", ioctl(fd, LPT1284_IOC_FREE));
	check("lock-on-port-node", ioctl(fd, LPT1284_IOC_LOCK));

	snprintf(path, sizeof(path), "%s.0", port);
	dev = open_or_die(path, O_RDWR);
	dev2 = open(path, O_RDWR);
	check("second-open", dev2);
	check("unlock-not-locked", ioctl(dev, LPT1284_IOC_UNLOCK));
	check("timeout-zero", ioctl(dev, LPT1284_IOC_SET_BUSY_TIMEOUT, &ms));
	check("timeout-badptr", ioctl(dev, LPT1284_IOC_SET_BUSY_TIMEOUT,
				      (void *)8));
	modes.write_mode = LPT1284_MODE_NIBBLE;
	modes.read_mode = LPT1284_MODE_NIBBLE;
	check("modes-write-nibble", ioctl(dev, LPT1284_IOC_SET_MODES, &modes));
	modes.write_mode = LPT1284_MODE_COMPAT;
	modes.read_mode = LPT1284_MODE_COMPAT;
	check("modes-read-compat", ioctl(dev, LPT1284_IOC_SET_MODES, &modes));
	modes.read_mode = 99;
	check("modes-unknown", ioctl(dev, LPT1284_IOC_SET_MODES, &modes));
	id.buf = 8;
	id.size = 16;
	check("device-id-badbuf", ioctl(dev, LPT1284_IOC_DEVICE_ID, &id));
	check("alloc-on-device-node", ioctl(dev, LPT1284_IOC_ALLOCATE, &alloc));
	check("lock", ioctl(dev, LPT1284_IOC_LOCK));
	check("lock-again", ioctl(dev, LPT1284_IOC_LOCK));
	check("unlock", ioctl(dev, LPT1284_IOC_UNLOCK));
	close(dev);
	dev2 = open(path, O_RDWR);
	check("open-after-close", dev2);

	snprintf(path, sizeof(path), "%s.3", port);
	check("open-absent", open(path, O_RDWR));
	return 0;
}
