// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284_life: lpt1284.ko's object lifetime and concurrency, for the
 * lptrig guest tests (tests/guest/test_driver_lifetime.py).  Every line it
 * prints is "NAME VALUE" (VALUE an errno name, "ok" or a number); the test
 * compares them with what the contract (shared/DRIVER-ABI.md) and the
 * header (<linux/lpt1284.h>) say.
 *
 *   lpt1284_life gone PORT DEV SYSDIR
 *	open PORT and DEV, print "open", wait until SYSDIR (the port's class
 *	directory) is gone - the port was unbound - then try every operation
 *	on both files (all must fail with ENODEV) and close them
 *   lpt1284_life select-nonblock PORT
 *	SELECT device 4 (queued like an allocate) on an O_NONBLOCK file
 *   lpt1284_life nonblock-io DEV SYSDIR
 *	thread 1 writes a line on DEV, waiting for the port (a busy time-out
 *	of an hour), which someone else holds; once it is queued (SYSDIR's
 *	waiters) the file is made O_NONBLOCK and the main thread writes,
 *	reads and sets the modes: each must fail with EAGAIN at once rather
 *	than wait behind thread 1.  Then "waiting" is printed, and thread 1's
 *	result once the port is let go
 *   lpt1284_life unlock-during-write DEV BYTES SYSDEV
 *	LOCK DEV, thread 1 writes BYTES from a pattern; once SYSDEV's
 *	bytes_written moves, the main thread UNLOCKs: the UNLOCK must wait
 *	for the write ("after-unlock BYTES": bytes_written when it returned)
 *   lpt1284_life set-timeout DEV MS
 *	SET_BUSY_TIMEOUT straight to the driver: "set-timeout ENAME"
 *   lpt1284_life bigwrite DEV BYTES
 *	one write() of BYTES zero bytes (from an untouched anonymous
 *	mapping: the zero page, no memory needed): "wrote N" or the error
 *
 * Exit status: 0 when it ran to the end, 1 on a setup failure (message on
 * stderr), 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/lpt1284.h>

static const char *ename(int err)
{
	switch (err) {
	case 0: return "ok";
	case EPERM: return "EPERM";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENODATA: return "ENODATA";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EDEADLK: return "EDEADLK";
	default: return "E?";
	}
}

static void check(const char *name, long ret)
{
	printf("%s %s\n", name, ename(ret < 0 ? errno : 0));
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "lpt1284_life: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		die(path);
	return fd;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A sysfs number, or -1 when it cannot be read */
static long long read_number(const char *path)
{
	char buf[32] = "";
	long long n = -1;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		n = strtoll(buf, NULL, 10);
	close(fd);
	return n;
}

/* Poll every 10 ms until cond() holds; 0, or -1 after 120 s */
static int wait_until(int (*cond)(const char *), const char *arg)
{
	int i;

	for (i = 0; i < 12000; i++) {
		if (cond(arg))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

/* A sysfs counter above 0: someone queued, a write moved bytes */
static int is_positive(const char *path)
{
	return read_number(path) > 0;
}

static int is_gone(const char *path)
{
	return access(path, F_OK) < 0 && errno == ENOENT;
}

static int gone(const char *port_path, const char *dev_path,
		const char *sysdir)
{
	struct lpt1284_alloc alloc = { 0 };
	struct lpt1284_select sel = { .device = LPT1284_END_DEVICE };
	struct lpt1284_port_info info;
	struct lpt1284_modes modes = { LPT1284_MODE_COMPAT,
				       LPT1284_MODE_NIBBLE };
	struct lpt1284_device_id id;
	char buf[64];
	__u64 ms = 1000;
	__u32 n;
	int port, dev;

	port = open_or_die(port_path, O_RDWR);
	dev = open_or_die(dev_path, O_RDWR);
	printf("open ok\n");
	fflush(stdout);
	if (wait_until(is_gone, sysdir)) {
		fprintf(stderr, "lpt1284_life: %s is still there\n", sysdir);
		return 1;
	}
	check("alloc", ioctl(port, LPT1284_IOC_ALLOCATE, &alloc));
	check("try", ioctl(port, LPT1284_IOC_TRY_ALLOCATE));
	check("free", ioctl(port, LPT1284_IOC_FREE));
	check("waiters", ioctl(port, LPT1284_IOC_QUERY_WAITERS, &n));
	check("select", ioctl(port, LPT1284_IOC_SELECT, &sel));
	check("deselect", ioctl(port, LPT1284_IOC_DESELECT, &sel));
	check("port-info", ioctl(port, LPT1284_IOC_PORT_INFO, &info));
	check("rescan", ioctl(port, LPT1284_IOC_RESCAN));
	check("port-write", write(port, "x", 1));
	check("lock", ioctl(dev, LPT1284_IOC_LOCK));
	check("unlock", ioctl(dev, LPT1284_IOC_UNLOCK));
	check("set-modes", ioctl(dev, LPT1284_IOC_SET_MODES, &modes));
	check("get-modes", ioctl(dev, LPT1284_IOC_GET_MODES, &modes));
	check("set-timeout", ioctl(dev, LPT1284_IOC_SET_BUSY_TIMEOUT, &ms));
	check("get-timeout", ioctl(dev, LPT1284_IOC_GET_BUSY_TIMEOUT, &ms));
	id.buf = (unsigned long)buf;
	id.size = sizeof(buf);
	check("device-id", ioctl(dev, LPT1284_IOC_DEVICE_ID, &id));
	check("write", write(dev, "x", 1));
	check("read", read(dev, buf, sizeof(buf)));
	check("close-port", close(port));
	check("close-dev", close(dev));
	return 0;
}

static int select_nonblock(const char *port_path)
{
	struct lpt1284_select sel = { .device = LPT1284_END_DEVICE };
	int port = open_or_die(port_path, O_RDWR | O_NONBLOCK);

	check("select-nonblock", ioctl(port, LPT1284_IOC_SELECT, &sel));
	return 0;
}

struct writer {
	int fd;
	const char *buf;
	size_t len;
	ssize_t ret;
	int err;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;

	w->ret = write(w->fd, w->buf, w->len);
	w->err = errno;
	return NULL;
}

static int nonblock_io(const char *dev_path, const char *sysdir)
{
	struct lpt1284_modes modes = { LPT1284_MODE_COMPAT,
				       LPT1284_MODE_NIBBLE };
	struct writer w = { .buf = "first\n", .len = 6 };
	__u64 ms = 3600 * 1000;
	char path[256], buf[16];
	pthread_t t;
	int flags;

	w.fd = open_or_die(dev_path, O_RDWR);
	if (ioctl(w.fd, LPT1284_IOC_SET_BUSY_TIMEOUT, &ms) < 0)
		die("SET_BUSY_TIMEOUT");
	snprintf(path, sizeof(path), "%s/waiters", sysdir);
	if (pthread_create(&t, NULL, write_thread, &w))
		die("pthread_create");
	if (wait_until(is_positive, path)) {
		fprintf(stderr, "lpt1284_life: the first write never queued\n");
		return 1;
	}
	flags = fcntl(w.fd, F_GETFL);
	if (flags < 0 || fcntl(w.fd, F_SETFL, flags | O_NONBLOCK) < 0)
		die("F_SETFL");
	check("second-write", write(w.fd, "second\n", 7));
	check("read", read(w.fd, buf, sizeof(buf)));
	check("set-modes", ioctl(w.fd, LPT1284_IOC_SET_MODES, &modes));
	printf("waiting ok\n");
	fflush(stdout);
	pthread_join(t, NULL);
	if (w.ret < 0)
		printf("first-write %s\n", ename(w.err));
	else
		printf("first-write %zd\n", w.ret);
	return 0;
}

static int unlock_during_write(const char *dev_path, const char *bytes,
			       const char *sysdev)
{
	struct writer w = { 0 };
	char path[256];
	long long after;
	pthread_t t;
	char *buf;
	size_t i;

	w.len = strtoul(bytes, NULL, 0);
	buf = malloc(w.len);
	if (!buf)
		die("malloc");
	for (i = 0; i < w.len; i++)
		buf[i] = 'a' + i % 26;
	w.buf = buf;
	w.fd = open_or_die(dev_path, O_RDWR);
	if (ioctl(w.fd, LPT1284_IOC_LOCK) < 0)
		die("LOCK");
	snprintf(path, sizeof(path), "%s/bytes_written", sysdev);
	if (read_number(path) != 0) {
		fprintf(stderr, "lpt1284_life: %s is not 0\n", path);
		return 1;
	}
	if (pthread_create(&t, NULL, write_thread, &w))
		die("pthread_create");
	if (wait_until(is_positive, path)) {
		fprintf(stderr, "lpt1284_life: the write never started\n");
		return 1;
	}
	check("unlock", ioctl(w.fd, LPT1284_IOC_UNLOCK));
	/*
	 * What the write had moved when UNLOCK returned: all of it when the
	 * UNLOCK waited for the write (the write counts its bytes before it
	 * lets go of the file's lock); the user-space order of the two
	 * returns would prove nothing, a thread may be preempted in between.
	 */
	after = read_number(path);
	pthread_join(t, NULL);
	printf("wrote %zd\n", w.ret);
	printf("after-unlock %lld\n", after);
	return 0;
}

static int set_timeout(const char *dev_path, const char *ms_text)
{
	__u64 ms = strtoull(ms_text, NULL, 0);
	int fd = open_or_die(dev_path, O_RDWR);

	check("set-timeout", ioctl(fd, LPT1284_IOC_SET_BUSY_TIMEOUT, &ms));
	return 0;
}

static int bigwrite(const char *dev_path, const char *bytes)
{
	size_t len = strtoul(bytes, NULL, 0);
	void *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	int fd = open_or_die(dev_path, O_WRONLY);
	ssize_t n;

	if (buf == MAP_FAILED)
		die("mmap");
	n = write(fd, buf, len);
	if (n < 0)
		printf("write %s\n", ename(errno));
	else
		printf("wrote %zd\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (!strcmp(cmd, "gone") && argc == 5)
		return gone(argv[2], argv[3], argv[4]);
	if (!strcmp(cmd, "select-nonblock") && argc == 3)
		return select_nonblock(argv[2]);
	if (!strcmp(cmd, "nonblock-io") && argc == 4)
		return nonblock_io(argv[2], argv[3]);
	if (!strcmp(cmd, "set-timeout") && argc == 4)
		return set_timeout(argv[2], argv[3]);
	if (!strcmp(cmd, "bigwrite") && argc == 4)
		return bigwrite(argv[2], argv[3]);
	if (!strcmp(cmd, "unlock-during-write") && argc == 5)
		return unlock_during_write(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: lpt1284_life gone PORT DEV SYSDIR | "
		"select-nonblock PORT | nonblock-io DEV SYSDIR | "
		"unlock-during-write DEV BYTES SYSDEV | set-timeout DEV MS | "
		"bigwrite DEV BYTES\n");
	return 2;
}
