/*
 * ioctl fuzzing of lptrig's lpt1284.ko (the Windows parallel-port sharing
 * model: /dev/lptN and /dev/lptN.D, char major "lpt1284" in /proc/devices).
 * Every ioctl of <linux/lpt1284.h> with its argument structure: mostly
 * valid values (devices 0-4, the modes, short time-outs, zero flags and
 * reserved fields, writable buffers), sometimes random ones, so that both
 * the handlers' work and their argument checks are reached.
 *
 * Part of lptrig (GPL-2.0), in trinity's ioctls/ format; scripts/trinity.sh
 * copies it into trinity's tree.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/lpt1284.h>
#include "arch.h"
#include "files.h"
#include "ioctls.h"
#include "random.h"
#include "sanitise.h"
#include "syscall.h"
#include "utils.h"

/* The port node's ioctls first (PORT_IOCTLS of them), then the devices' */
#define PORT_IOCTLS	8
static const struct ioctl lpt1284_ioctls[] = {
	IOCTL(LPT1284_IOC_ALLOCATE),
	IOCTL(LPT1284_IOC_TRY_ALLOCATE),
	IOCTL(LPT1284_IOC_FREE),
	IOCTL(LPT1284_IOC_QUERY_WAITERS),
	IOCTL(LPT1284_IOC_SELECT),
	IOCTL(LPT1284_IOC_DESELECT),
	IOCTL(LPT1284_IOC_PORT_INFO),
	IOCTL(LPT1284_IOC_RESCAN),
	IOCTL(LPT1284_IOC_LOCK),
	IOCTL(LPT1284_IOC_UNLOCK),
	IOCTL(LPT1284_IOC_LOCK_NO_SELECT),
	IOCTL(LPT1284_IOC_UNLOCK_NO_DESELECT),
	IOCTL(LPT1284_IOC_SET_MODES),
	IOCTL(LPT1284_IOC_GET_MODES),
	IOCTL(LPT1284_IOC_SET_BUSY_TIMEOUT),
	IOCTL(LPT1284_IOC_GET_BUSY_TIMEOUT),
	IOCTL(LPT1284_IOC_DEVICE_ID),
};

static const char *const lpt1284_devs[] = {
	"lpt1284",
};

/*
 * Our nodes, by their major's name in /proc/devices.  An fd_test of our
 * own: in this trinity, once any group's fd_test matches an fd (btrfs's
 * and ext's match more than their test files), groups without one are
 * never looked at by name, and every ioctl on our nodes was random.
 */
static int lpt1284_fd_test(int fd, const struct stat *st)
{
	const char *name;

	(void)fd;
	if (!S_ISCHR(st->st_mode))
		return -1;
	name = map_dev(st->st_rdev, st->st_mode);
	return name && !strcmp(name, "lpt1284") ? 0 : -1;
}

/* A time-out in ns: mostly 1-50 ms, sometimes none (0) or anything */
static __u64 lpt1284_timeout_ns(void)
{
	if (ONE_IN(8))
		return 0;
	if (ONE_IN(16))
		return ((__u64)rand32() << 32) | rand32();
	return (__u64)RAND_RANGE(1, 50) * 1000000;
}

/* Mostly 0 (the contract's value for flags and reserved fields) */
static __u32 lpt1284_mostly_zero(void)
{
	return ONE_IN(8) ? rand32() : 0;
}

/* A device number: mostly 0-4, sometimes beyond */
static __u32 lpt1284_device(void)
{
	return ONE_IN(8) ? rand32() : (__u32)RAND_RANGE(0, LPT1284_END_DEVICE);
}

/* A mode: mostly an LPT1284_MODE_*, sometimes anything */
static __u32 lpt1284_mode(void)
{
	return ONE_IN(8) ? rand32() : (__u32)RAND_RANGE(LPT1284_MODE_COMPAT,
							LPT1284_MODE_EPP);
}

static void lpt1284_sanitise(const struct ioctl_group *grp,
			     struct syscallrecord *rec)
{
	struct lpt1284_alloc *alloc;
	struct lpt1284_select *sel;
	struct lpt1284_modes *modes;
	struct lpt1284_device_id *id;
	struct stat st;
	unsigned int i;
	__u64 *ms;
	__u32 size;

	pick_random_ioctl(grp, rec);
	if (ONE_IN(16))
		return;		/* any command, the random argument */
	/*
	 * A command of the node's kind: /dev/lptN (minor 0 of its 8) takes
	 * the port's, /dev/lptN.D the device's (the others get ENOTTY, which
	 * the line above still tries now and then); QUERY_WAITERS both.
	 */
	if (fstat(rec->a1, &st) == 0 && S_ISCHR(st.st_mode)) {
		if (minor(st.st_rdev) % 8 == 0)
			i = rnd() % PORT_IOCTLS;
		else if (ONE_IN(10))
			i = 3;		/* QUERY_WAITERS */
		else
			i = PORT_IOCTLS + rnd() % (grp->ioctls_cnt - PORT_IOCTLS);
		rec->a2 = grp->ioctls[i].request;
	}

	switch (rec->a2) {
	case LPT1284_IOC_ALLOCATE:
		alloc = get_writable_address(sizeof(*alloc));
		alloc->timeout_ns = lpt1284_timeout_ns();
		alloc->flags = lpt1284_mostly_zero();
		alloc->reserved = lpt1284_mostly_zero();
		rec->a3 = (unsigned long) alloc;
		break;
	case LPT1284_IOC_SELECT:
	case LPT1284_IOC_DESELECT:
		sel = get_writable_address(sizeof(*sel));
		sel->device = lpt1284_device();
		sel->flags = ONE_IN(8) ? rand32() : (__u32)RAND_BOOL();
		sel->timeout_ns = lpt1284_timeout_ns();
		rec->a3 = (unsigned long) sel;
		break;
	case LPT1284_IOC_SET_MODES:
		modes = get_writable_address(sizeof(*modes));
		modes->write_mode = lpt1284_mode();
		modes->read_mode = lpt1284_mode();
		rec->a3 = (unsigned long) modes;
		break;
	case LPT1284_IOC_SET_BUSY_TIMEOUT:
		ms = get_writable_address(sizeof(*ms));
		*ms = ONE_IN(8) ? (((__u64)rand32() << 32) | rand32()) :
				  (__u64)RAND_RANGE(0, 200);
		rec->a3 = (unsigned long) ms;
		break;
	case LPT1284_IOC_DEVICE_ID:
		size = RAND_RANGE(0, 4096);
		id = get_writable_address(sizeof(*id));
		id->buf = (unsigned long) get_writable_address(size ? size : 1);
		id->size = ONE_IN(16) ? rand32() : size;
		id->length = lpt1284_mostly_zero();
		rec->a3 = (unsigned long) id;
		break;
	case LPT1284_IOC_QUERY_WAITERS:
	case LPT1284_IOC_PORT_INFO:
	case LPT1284_IOC_GET_MODES:
	case LPT1284_IOC_GET_BUSY_TIMEOUT:
		rec->a3 = (unsigned long) get_writable_address(page_size);
		break;
	default:
		break;
	}
}

static const struct ioctl_group lpt1284_grp = {
	.name = "lpt1284",
	.devtype = DEV_CHAR,
	.devs = lpt1284_devs,
	.devs_cnt = ARRAY_SIZE(lpt1284_devs),
	.fd_test = lpt1284_fd_test,
	.sanitise = lpt1284_sanitise,
	.ioctls = lpt1284_ioctls,
	.ioctls_cnt = ARRAY_SIZE(lpt1284_ioctls),
};

REG_IOCTL_GROUP(lpt1284_grp)
