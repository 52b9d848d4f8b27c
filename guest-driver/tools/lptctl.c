// SPDX-License-Identifier: GPL-2.0
/*
 * lptctl: the command-line client of lpt1284.ko (../shared/DRIVER-ABI.md),
 * for people and for the lptrig guest tests.  Static, no dependencies beyond
 * libc and <linux/lpt1284.h>.
 *
 *   lptctl [-p PORT] COMMAND [OPTIONS] [ARGS]
 *
 * PORT is the port node (default /dev/lpt0); -p may also follow COMMAND.
 * DEV is a device number 0-4, meaning the node PORT.DEV (/dev/lpt0.4 is the
 * end-of-chain device), or the path of a device node.  Options may come
 * before, between or after the arguments.  MS values are milliseconds.
 *
 * Results go to stdout, one per line, as "key value [key value...]".
 * t=NNN is CLOCK_MONOTONIC in nanoseconds, read right after the ioctl that
 * grants the port returns (allocated, selected, locked) and right before
 * the ioctl of the line is made (freed, unlocked, deselected), so under a
 * correct driver the hold intervals of different processes never overlap.
 * Errors go to stderr as
 *
 *   lptctl: WHAT: ENAME (strerror text)
 *
 * where WHAT names the step and its node ("open /dev/lpt0.4", "ALLOCATE
 * /dev/lpt0", "write /dev/lpt0.4"; ioctls by their name without
 * LPT1284_IOC_) and ENAME is the errno name (EBUSY, ETIMEDOUT, ...).
 * Exit status: 0 done, 1 failure (message on stderr), 2 usage error.
 *
 *   list                      "port PORT base 0xB base_hi 0xH irq I dma D
 *                             caps C daisy N end E", then for each device
 *                             node 0-4 that exists: "device D id ID" and
 *                             "device D modes write W read R", or
 *                             "device D busy" when another file has it open;
 *                             nodes that do not exist are skipped
 *   info                      PORT_INFO, one field a line: "base 0x378",
 *                             "base_hi 0x778", "irq 7", "dma 3",
 *                             "caps SPP,PS2,EPP,ECP,FIFO,DMA",
 *                             "fifo_depth 16", "fifo_width 1",
 *                             "daisy_count 2", "end_device 1"
 *   waiters                   "waiters N" (QUERY_WAITERS)
 *   alloc [-t MS] [-n] [-w] [HOLD]
 *                             ALLOCATE ("allocated t=NNN"), hold, FREE
 *                             ("freed t=NNN"); -t time-out (default none),
 *                             -n open PORT with O_NONBLOCK (EAGAIN when the
 *                             port is not free at once), -w print
 *                             "waiters N" (QUERY_WAITERS) just before
 *                             queueing
 *   try [-w] [HOLD]           TRY_ALLOCATE, then as alloc; when the port is
 *                             taken: "busy" on stdout, then "lptctl:
 *                             TRY_ALLOCATE PORT: EBUSY (...)", exit 1
 *   free                      FREE on a new file: "freed t=NNN", or (as a
 *                             new file never holds the port) EPERM
 *   select DEV [-t MS] [-n] [-w] [-k] [-a | -H] [HOLD]
 *                             SELECT device number DEV (any number: the
 *                             driver says ENODEV) through PORT, queued like
 *                             alloc: "selected t=NNN"; hold; DESELECT:
 *                             "deselected t=NNN"; with -k DESELECT keeps the
 *                             port (KEEP_PORT), then FREE: "freed t=NNN".
 *                             -a ALLOCATE first ("allocated t=NNN") and
 *                             select with HAVE_PORT; -H select with
 *                             HAVE_PORT without allocating (EPERM)
 *   lock DEV [-S] [-n] [-w] [HOLD]
 *                             LOCK ("locked t=NNN"), hold, UNLOCK
 *                             ("unlocked t=NNN"); -S LOCK_NO_SELECT and
 *                             UNLOCK_NO_DESELECT; -n O_NONBLOCK; -w as alloc
 *   unlock DEV [-S]           UNLOCK on a new file: "unlocked t=NNN", or
 *                             EPERM
 *   write DEV FILE [-m MODE] [-b MS] [-c BYTES] [-n] [-l [-S]]
 *                             write FILE (- = stdin) to DEV, continuing
 *                             short writes, stopping at the first error:
 *                             "wrote N"; on an error "wrote N" (the bytes
 *                             taken so far) comes first, then the error.
 *                             -m compat|ecp|epp SET_MODES, -b
 *                             SET_BUSY_TIMEOUT, -c bytes per write() call
 *                             (default 65536), -n O_NONBLOCK, -l LOCK before
 *                             ("locked t=NNN") and UNLOCK after ("unlocked
 *                             t=NNN"), with -S the NO_SELECT variants
 *   read DEV N OUTFILE [-m MODE] [-b MS] [-c BYTES] [-n] [-l [-S]]
 *                             read() until N bytes or a read() of 0 (no
 *                             more data) into OUTFILE: "read N"; on an error
 *                             "read N" first, as write.  -m nibble|byte|
 *                             ecp|epp, the rest as write
 *   id DEV [-z SIZE]          DEVICE_ID: "length L" (the ID's full length),
 *                             then "id ID"; "id none" when the device has
 *                             none (ENODATA).  -z buffer size (default
 *                             65536): the driver copies at most SIZE bytes
 *   modes DEV [WRITE READ]    GET_MODES, or SET_MODES then GET_MODES:
 *                             "write compat read nibble"
 *   timeout DEV [MS]          GET_BUSY_TIMEOUT, or SET then GET:
 *                             "timeout MS"
 *   rescan                    RESCAN, then PORT_INFO: "rescanned daisy N
 *                             end E"
 *   stress [-P PROCS] [-s SECONDS] [-r SEED] [-L DEV] [-F] DEV...
 *                             PROCS children (default 16) for SECONDS
 *                             (default 10) mix at random: ALLOCATE (1-50 ms
 *                             time-out) or TRY_ALLOCATE, hold 0-2 ms, FREE
 *                             (sometimes close() instead); LOCK (or
 *                             LOCK_NO_SELECT), write 1-3 records, UNLOCK;
 *                             a plain write() of one record; SELECT of the
 *                             device number (DEV a number or a path ending
 *                             in .D), hold, DESELECT; SIGUSR1 to a
 *                             sibling (and a timer's SIGUSR1 to itself
 *                             while waiting, which is how LOCK, having no
 *                             time-out, ends); reopening PORT, opening and
 *                             closing a device node; one plain write in
 *                             four on an O_NONBLOCK file, and ALLOCATE on
 *                             an O_NONBLOCK file of PORT (EAGAIN allowed);
 *                             with -L DEV (a loopback), LOCK it, read out
 *                             what is queued, write a record and read it
 *                             back exactly, UNLOCK; with -F a write's
 *                             EIO, ENOSPC or ETIMEDOUT (a printer fault the
 *                             host switches) is waited out and the record
 *                             finished, not an error.  Each hold is reported
 *                             to the parent through a pipe as [t1, t2], t1
 *                             read after the grant, t2 before the release,
 *                             so a correct driver never gives two holds
 *                             that overlap.  Output, the last line last:
 *                               "seed S"
 *                               "device DEV records R bytes B" per DEV
 *                               "outcomes holds H timedout T interrupted I
 *                                busy B open_busy O signals S again A
 *                                faulted F loops L errors E"
 *                               "ops N violations V bytes B"
 *                             N: operations started, whatever came of
 *                             them; H: holds checked; T: ETIMEDOUT; I:
 *                             EINTR; B: EBUSY of TRY_ALLOCATE or write();
 *                             O: EBUSY of opening a device node; S:
 *                             SIGUSR1 sent to siblings; A: EAGAIN with
 *                             O_NONBLOCK; F: faults waited out; L: loopback
 *                             round trips that came back right; E: unexpected
 *                             errors; B (last line): all bytes written.
 *                             Exit 1 if V > 0 or E > 0 (each overlap and
 *                             each unexpected errno reported on stderr).
 *                             Children still running 30 s after the end
 *                             (a wait the driver never ends) are killed,
 *                             which counts as an error.
 *
 * HOLD is how long the port is held, in ms (default 0), or "-": until
 * SIGTERM, SIGINT or SIGHUP, or end of file on stdin when stdin is a pipe,
 * socket or terminal (a shell gives a background job /dev/null, which is
 * ignored: use a signal or a pipe then).  Those signals end any hold early
 * and the port is still freed; while the tool waits for the port they make
 * the wait fail with EINTR (exit 1).  SIGUSR1 is caught by a handler that
 * does nothing, installed without SA_RESTART: it interrupts a wait (EINTR,
 * exit 1) and leaves a hold alone.
 *
 * stress records are "lptctl stress PID SEQ\n", each sent in one write()
 * (continued after a short write until whole), so a device's captured
 * output can be checked record by record.  SEQ counts from 0 per child,
 * over all devices, and moves on once a record is at least partly written:
 * each child's SEQs 0..n-1 are on the devices exactly once.  "device DEV
 * records R bytes B" counts whole records and all bytes that went to DEV.
 * Expected outcomes (counted, not errors): ETIMEDOUT of ALLOCATE/SELECT,
 * EINTR of a wait or write(), EBUSY of TRY_ALLOCATE, of write() without a
 * lock (busy time-out) and of opening a device node another child has
 * open.  Anything else, and a record left cut short, is an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/lpt1284.h>

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(n)		(1U << (n))

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL
#define MAX_MS		(1000ULL * 86400 * 365)	/* a year */
#define HOLD_SIGNAL	(-1LL)		/* HOLD "-" */
#define DEVICE_ID_MAX	65536		/* 16-bit length field */

static const char *const prog = "lptctl";

static struct {
	const char *port;		/* -p */
	unsigned long long timeout_ms;	/* -t, 0 = no limit */
	unsigned long long busy_ms;	/* -b */
	const char *mode;		/* -m */
	size_t chunk;			/* -c */
	size_t id_size;			/* -z */
	unsigned int procs;		/* -P */
	unsigned int seconds;		/* -s */
	unsigned long long seed;	/* -r */
	bool have_busy, have_seed, nonblock, waiters, keep, no_select, lock;
	bool alloc_first, have_port;
} opt = {
	.port = "/dev/lpt0",
	.chunk = 65536,
	.id_size = DEVICE_ID_MAX,
	.procs = 16,
	.seconds = 10,
};

static volatile sig_atomic_t stop_signal;	/* SIGTERM, SIGINT, SIGHUP */

static const struct {
	const char *name;
	__u32 mode;
} modes[] = {
	{ "compat", LPT1284_MODE_COMPAT },
	{ "nibble", LPT1284_MODE_NIBBLE },
	{ "byte", LPT1284_MODE_BYTE },
	{ "ecp", LPT1284_MODE_ECP },
	{ "epp", LPT1284_MODE_EPP },
};

static const char *const cap_names[] = {
	"SPP", "PS2", "EPP", "EPP32", "ECP", "FIFO", "DMA",
};

static void usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, " (see '%s -h')\n", prog);
		exit(EXIT_USAGE);
	}
	fprintf(stderr,
		"usage: %s [-p PORT] COMMAND [OPTIONS] [ARGS]\n"
		"  list | info | waiters | free | rescan\n"
		"  alloc [-t MS] [-n] [-w] [HOLD]\n"
		"  try [-w] [HOLD]\n"
		"  select DEV [-t MS] [-n] [-w] [-k] [-a | -H] [HOLD]\n"
		"  lock DEV [-S] [-n] [-w] [HOLD]\n"
		"  unlock DEV [-S]\n"
		"  write DEV FILE [-m MODE] [-b MS] [-c BYTES] [-n] [-l [-S]]\n"
		"  read DEV N OUTFILE [-m MODE] [-b MS] [-c BYTES] [-n] [-l [-S]]\n"
		"  id DEV [-z SIZE]\n"
		"  modes DEV [WRITE READ]\n"
		"  timeout DEV [MS]\n"
		"  stress [-P PROCS] [-s SECONDS] [-r SEED] [-L DEV] [-F] DEV...\n"
		"PORT: port node (default /dev/lpt0)\n"
		"DEV: device 0-4 (the node PORT.DEV) or a device node path\n"
		"HOLD: ms to hold the port (default 0), or - until SIGTERM\n"
		"      or end of stdin\n"
		"  -t MS     ALLOCATE/SELECT time-out (default 0 = none)\n"
		"  -n        open with O_NONBLOCK\n"
		"  -w        print QUERY_WAITERS before queueing\n"
		"  -k        DESELECT with KEEP_PORT, then FREE\n"
		"  -a        ALLOCATE, then SELECT with HAVE_PORT\n"
		"  -H        SELECT with HAVE_PORT without allocating\n"
		"  -S        LOCK_NO_SELECT / UNLOCK_NO_DESELECT\n"
		"  -l        LOCK before the transfer, UNLOCK after\n"
		"  -m MODE   compat, nibble, byte, ecp, epp or a number\n"
		"  -b MS     SET_BUSY_TIMEOUT\n"
		"  -c BYTES  bytes per read()/write() call (default 65536)\n"
		"  -z SIZE   DEVICE_ID buffer size (default 65536)\n"
		"  -P PROCS  stress children (default 16)\n"
		"  -s SECS   stress duration (default 10)\n"
		"  -r SEED   stress random seed (default from the clock)\n"
		"  -L DEV    stress: also LOCK, write and read back DEV (a loopback)\n"
		"  -F        stress: the host switches printer faults (EIO, ENOSPC,\n"
		"            ETIMEDOUT from a write are waited out, not errors)\n",
		prog);
	exit(EXIT_USAGE);
}

static const char *errname(int err)
{
	static char buf[32];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno%d", err);
	return buf;
}

/*
 * "lptctl: WHAT[: ENAME (text)]" in one write(), so that the lines of
 * concurrent stress children stay whole.  err 0: no errno part.
 */
static void vreport(int err, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;
	ssize_t r;

	snprintf(buf, sizeof(buf), "%s: ", prog);
	len = strlen(buf);
	vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	len = strlen(buf);
	if (err)
		snprintf(buf + len, sizeof(buf) - len, ": %s (%s)",
			 errname(err), strerror(err));
	len = strlen(buf);
	if (len == sizeof(buf) - 1)
		len--;
	buf[len++] = '\n';
	r = write(STDERR_FILENO, buf, len);
	(void)r;
}

static void report(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err, fmt, ap);
	va_end(ap);
}

/* report(), exit 1 */
static void fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err, fmt, ap);
	va_end(ap);
	exit(EXIT_FAIL);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* A decimal number 0..max, or a usage error naming what it is. */
static unsigned long long parse_num(const char *s, unsigned long long max,
				    const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v > max)
		usage("bad %s '%s' (0-%llu)", what, s, max);
	return v;
}

static __u32 parse_mode(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i].name))
			return modes[i].mode;
	return (__u32)parse_num(s, UINT32_MAX, "mode");
}

static const char *mode_name(__u32 mode, char buf[16])
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(modes); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	snprintf(buf, 16, "%u", mode);
	return buf;
}

static void print_modes(const char *prefix, const struct lpt1284_modes *m)
{
	char wbuf[16], rbuf[16];

	printf("%swrite %s read %s\n", prefix, mode_name(m->write_mode, wbuf),
	       mode_name(m->read_mode, rbuf));
}

/* "SPP,PS2,...", "none" for 0, unknown bits as "bitN" */
static const char *caps_str(__u32 caps, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int bit;

	buf[0] = '\0';
	for (bit = 0; bit < 32; bit++) {
		char unknown[8];

		if (!(caps & (1U << bit)))
			continue;
		snprintf(unknown, sizeof(unknown), "bit%u", bit);
		len += snprintf(buf + len, size - len, "%s%s", len ? "," : "",
				bit < ARRAY_SIZE(cap_names) ? cap_names[bit] : unknown);
		if (len >= size)
			break;
	}
	return caps ? buf : "none";
}

/* The node of DEV: PORT.D for a number 0-4, DEV itself otherwise. */
static char *dev_path(const char *dev)
{
	char *path;

	if (dev[0] >= '0' && dev[0] <= '9') {
		unsigned long long d = parse_num(dev, LPT1284_END_DEVICE,
						 "device number");

		if (asprintf(&path, "%s.%llu", opt.port, d) < 0)
			fail(ENOMEM, "device path");
		return path;
	}
	path = strdup(dev);
	if (!path)
		fail(ENOMEM, "device path");
	return path;
}

static int open_node(const char *path, bool nonblock)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));

	if (fd < 0)
		fail(errno, "open %s", path);
	return fd;
}

/* ioctl(), or exit 1 with "NAME PATH: ENAME (...)" */
#define xioctl(fd, path, name, arg) \
	do_ioctl(fd, path, #name, LPT1284_IOC_##name, arg)

static void do_ioctl(int fd, const char *path, const char *name,
		     unsigned long req, void *arg)
{
	if (ioctl(fd, req, arg) < 0)
		fail(errno, "%s %s", name, path);
}

/* -w: the number of queued requests, printed before this one queues */
static void print_waiters(int fd)
{
	__u32 n;

	if (!opt.waiters)
		return;
	xioctl(fd, opt.port, QUERY_WAITERS, &n);
	printf("waiters %u\n", n);
}

static void print_waiters_of_port(void)
{
	int fd;

	if (!opt.waiters)
		return;
	fd = open_node(opt.port, false);
	print_waiters(fd);
	close(fd);
}

/* HOLD: ms, or HOLD_SIGNAL for "-"; the optional last argument */
static long long hold_arg(int argc, char **argv, int fixed, const char *cmd)
{
	if (argc > fixed + 1)
		usage("%s: too many arguments", cmd);
	if (argc == fixed)
		return 0;
	if (!strcmp(argv[fixed], "-"))
		return HOLD_SIGNAL;
	return (long long)parse_num(argv[fixed], MAX_MS, "hold time");
}

/* A pipe, socket or terminal on stdin can tell us when to stop holding. */
static bool stdin_tells_end(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return false;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
	       isatty(STDIN_FILENO);
}

/*
 * Keep the port for ms milliseconds, or (HOLD_SIGNAL) until end of stdin,
 * ending early on SIGTERM, SIGINT or SIGHUP.  The stop signals are blocked
 * outside ppoll() so that one arriving between the check and the wait is
 * not lost; SIGUSR1 (no-op) only restarts the wait.
 */
static void hold(long long ms)
{
	unsigned long long deadline = now_ns() + (ms > 0 ? ms : 0) * NSEC_PER_MSEC;
	bool watch = ms == HOLD_SIGNAL && stdin_tells_end();
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	sigset_t stops, old;

	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, &old);
	while (!stop_signal) {
		struct timespec ts, *tsp = NULL;
		char buf[256];
		ssize_t r;
		int n;

		if (ms != HOLD_SIGNAL) {
			unsigned long long t = now_ns();

			if (t >= deadline)
				break;
			ts.tv_sec = (deadline - t) / NSEC_PER_SEC;
			ts.tv_nsec = (deadline - t) % NSEC_PER_SEC;
			tsp = &ts;
		}
		n = ppoll(watch ? &pfd : NULL, watch ? 1 : 0, tsp, &old);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(errno, "ppoll");
		if (n == 0)
			continue;
		if (pfd.revents & POLLNVAL)
			break;
		r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void get_port_info(int fd, struct lpt1284_port_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	xioctl(fd, opt.port, PORT_INFO, pi);
}

static void no_args(int argc, const char *cmd)
{
	if (argc)
		usage("%s takes no arguments", cmd);
}

static int cmd_info(int argc, char **argv)
{
	struct lpt1284_port_info pi;
	char caps[128];
	int fd;

	(void)argv;
	no_args(argc, "info");
	fd = open_node(opt.port, false);
	get_port_info(fd, &pi);
	printf("base 0x%llx\n", (unsigned long long)pi.base);
	printf("base_hi 0x%llx\n", (unsigned long long)pi.base_hi);
	printf("irq %d\n", pi.irq);
	printf("dma %d\n", pi.dma);
	printf("caps %s\n", caps_str(pi.caps, caps, sizeof(caps)));
	printf("fifo_depth %u\n", pi.fifo_depth);
	printf("fifo_width %u\n", pi.fifo_width);
	printf("daisy_count %u\n", pi.daisy_count);
	printf("end_device %u\n", pi.end_device);
	return 0;
}

/*
 * The Device ID of the device open on fd, into a buffer of size bytes
 * (NUL-terminated after what the driver copied).  0 or an errno.
 */
static int read_device_id(int fd, size_t size, char **id, size_t *copied,
			  __u32 *length)
{
	char *buf = calloc(1, size + 1);
	struct lpt1284_device_id di = {
		.buf = (uintptr_t)buf,
		.size = (__u32)size,
	};

	if (!buf)
		fail(ENOMEM, "Device ID buffer of %zu bytes", size);
	if (ioctl(fd, LPT1284_IOC_DEVICE_ID, &di) < 0) {
		int err = errno;

		free(buf);
		return err;
	}
	*id = buf;
	*copied = di.length < size ? di.length : size;
	*length = di.length;
	return 0;
}

/* A Device ID is ASCII; anything else as \xNN, a backslash as \\. */
static void print_id(const char *prefix, const char *id, size_t len)
{
	size_t i;

	fputs(prefix, stdout);
	for (i = 0; i < len; i++) {
		unsigned char c = id[i];

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

static int cmd_list(int argc, char **argv)
{
	struct lpt1284_port_info pi;
	int fd, d, status = 0;
	char caps[128];

	(void)argv;
	no_args(argc, "list");
	fd = open_node(opt.port, false);
	get_port_info(fd, &pi);
	close(fd);
	printf("port %s base 0x%llx base_hi 0x%llx irq %d dma %d caps %s daisy %u end %u\n",
	       opt.port, (unsigned long long)pi.base,
	       (unsigned long long)pi.base_hi, pi.irq, pi.dma,
	       caps_str(pi.caps, caps, sizeof(caps)), pi.daisy_count,
	       pi.end_device);

	for (d = 0; d <= LPT1284_END_DEVICE; d++) {
		struct lpt1284_modes m;
		char *path, prefix[32], *id;
		size_t copied;
		__u32 length;
		int err;

		if (asprintf(&path, "%s.%d", opt.port, d) < 0)
			fail(ENOMEM, "device path");
		snprintf(prefix, sizeof(prefix), "device %d ", d);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			if (err == EBUSY)
				printf("%sbusy\n", prefix);
			if (err != ENOENT && err != EBUSY) {
				report(err, "open %s", path);
				status = EXIT_FAIL;
			}
			free(path);
			continue;
		}
		err = read_device_id(fd, DEVICE_ID_MAX, &id, &copied, &length);
		if (!err) {
			strcat(prefix, "id ");
			print_id(prefix, id, copied);
			free(id);
		} else if (err == ENODATA) {
			printf("%sid none\n", prefix);
		} else {
			report(err, "DEVICE_ID %s", path);
			status = EXIT_FAIL;
		}
		snprintf(prefix, sizeof(prefix), "device %d modes ", d);
		if (ioctl(fd, LPT1284_IOC_GET_MODES, &m) == 0) {
			print_modes(prefix, &m);
		} else {
			report(errno, "GET_MODES %s", path);
			status = EXIT_FAIL;
		}
		close(fd);
		free(path);
	}
	return status;
}

static int cmd_waiters(int argc, char **argv)
{
	__u32 n;
	int fd;

	(void)argv;
	no_args(argc, "waiters");
	fd = open_node(opt.port, false);
	xioctl(fd, opt.port, QUERY_WAITERS, &n);
	printf("waiters %u\n", n);
	return 0;
}

static void free_port(int fd)
{
	unsigned long long t = now_ns();

	xioctl(fd, opt.port, FREE, NULL);
	printf("freed t=%llu\n", t);
}

static int cmd_alloc(int argc, char **argv)
{
	struct lpt1284_alloc a = { .timeout_ns = opt.timeout_ms * NSEC_PER_MSEC };
	long long ms = hold_arg(argc, argv, 0, "alloc");
	int fd = open_node(opt.port, opt.nonblock);

	print_waiters(fd);
	xioctl(fd, opt.port, ALLOCATE, &a);
	printf("allocated t=%llu\n", now_ns());
	hold(ms);
	free_port(fd);
	return 0;
}

static int cmd_try(int argc, char **argv)
{
	long long ms = hold_arg(argc, argv, 0, "try");
	int fd = open_node(opt.port, false);

	print_waiters(fd);
	if (ioctl(fd, LPT1284_IOC_TRY_ALLOCATE) < 0) {
		int err = errno;

		if (err == EBUSY)
			printf("busy\n");
		fail(err, "TRY_ALLOCATE %s", opt.port);
	}
	printf("allocated t=%llu\n", now_ns());
	hold(ms);
	free_port(fd);
	return 0;
}

static int cmd_free(int argc, char **argv)
{
	(void)argv;
	no_args(argc, "free");
	free_port(open_node(opt.port, false));
	return 0;
}

static int cmd_select(int argc, char **argv)
{
	struct lpt1284_select sel = {
		.timeout_ns = opt.timeout_ms * NSEC_PER_MSEC,
	};
	long long ms;
	unsigned long long t;
	int fd;

	if (argc < 1)
		usage("select needs DEV (a device number)");
	sel.device = (__u32)parse_num(argv[0], UINT32_MAX, "device number");
	ms = hold_arg(argc, argv, 1, "select");
	if (opt.alloc_first && opt.have_port)
		usage("select: -a and -H do not go together");

	fd = open_node(opt.port, opt.nonblock);
	print_waiters(fd);
	if (opt.alloc_first) {
		struct lpt1284_alloc a = { .timeout_ns = sel.timeout_ns };

		xioctl(fd, opt.port, ALLOCATE, &a);
		printf("allocated t=%llu\n", now_ns());
	}
	if (opt.alloc_first || opt.have_port)
		sel.flags = LPT1284_SELECT_HAVE_PORT;
	xioctl(fd, opt.port, SELECT, &sel);
	printf("selected t=%llu\n", now_ns());
	hold(ms);

	sel.flags = opt.keep ? LPT1284_DESELECT_KEEP_PORT : 0;
	sel.timeout_ns = 0;
	t = now_ns();
	xioctl(fd, opt.port, DESELECT, &sel);
	printf("deselected t=%llu\n", t);
	if (opt.keep)
		free_port(fd);
	return 0;
}

static void lock_dev(int fd, const char *path)
{
	if (opt.no_select)
		xioctl(fd, path, LOCK_NO_SELECT, NULL);
	else
		xioctl(fd, path, LOCK, NULL);
	printf("locked t=%llu\n", now_ns());
}

static void unlock_dev(int fd, const char *path)
{
	unsigned long long t = now_ns();

	if (opt.no_select)
		xioctl(fd, path, UNLOCK_NO_DESELECT, NULL);
	else
		xioctl(fd, path, UNLOCK, NULL);
	printf("unlocked t=%llu\n", t);
}

static int cmd_lock(int argc, char **argv)
{
	long long ms;
	char *path;
	int fd;

	if (argc < 1)
		usage("lock needs DEV");
	path = dev_path(argv[0]);
	ms = hold_arg(argc, argv, 1, "lock");
	fd = open_node(path, opt.nonblock);
	print_waiters_of_port();
	lock_dev(fd, path);
	hold(ms);
	unlock_dev(fd, path);
	return 0;
}

static int cmd_unlock(int argc, char **argv)
{
	char *path;

	if (argc != 1)
		usage("unlock needs DEV");
	path = dev_path(argv[0]);
	unlock_dev(open_node(path, false), path);
	return 0;
}

/* -m, -b: the transfer settings of write and read */
static void setup_transfer(int fd, const char *path, bool writing)
{
	if (opt.mode) {
		struct lpt1284_modes m;
		__u32 mode = parse_mode(opt.mode);

		xioctl(fd, path, GET_MODES, &m);
		if (writing)
			m.write_mode = mode;
		else
			m.read_mode = mode;
		xioctl(fd, path, SET_MODES, &m);
	}
	if (opt.have_busy) {
		__u64 ms = opt.busy_ms;

		xioctl(fd, path, SET_BUSY_TIMEOUT, &ms);
	}
}

static int cmd_write(int argc, char **argv)
{
	size_t total = 0;
	char *path, *buf;
	int fd, in;

	if (argc != 2)
		usage("write needs DEV FILE");
	if (opt.mode)
		parse_mode(opt.mode);
	path = dev_path(argv[0]);
	buf = malloc(opt.chunk);
	if (!buf)
		fail(ENOMEM, "buffer of %zu bytes", opt.chunk);
	if (!strcmp(argv[1], "-")) {
		in = STDIN_FILENO;
	} else {
		in = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (in < 0)
			fail(errno, "open %s", argv[1]);
	}

	fd = open_node(path, opt.nonblock);
	setup_transfer(fd, path, true);
	if (opt.lock)
		lock_dev(fd, path);
	for (;;) {
		ssize_t n = read(in, buf, opt.chunk), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			printf("wrote %zu\n", total);
			fail(errno, "read %s", argv[1]);
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(fd, buf + off, n - off);

			if (w <= 0) {
				printf("wrote %zu\n", total);
				if (w == 0)
					fail(0, "write %s: wrote nothing",
					     path);
				fail(errno, "write %s", path);
			}
			off += w;
			total += w;
		}
	}
	printf("wrote %zu\n", total);
	if (opt.lock)
		unlock_dev(fd, path);
	return 0;
}

static int cmd_read(int argc, char **argv)
{
	unsigned long long want;
	size_t total = 0;
	char *path, *buf;
	int fd, out;

	if (argc != 3)
		usage("read needs DEV N OUTFILE");
	if (opt.mode)
		parse_mode(opt.mode);
	path = dev_path(argv[0]);
	want = parse_num(argv[1], 1ULL << 30, "byte count");
	buf = malloc(opt.chunk);
	if (!buf)
		fail(ENOMEM, "buffer of %zu bytes", opt.chunk);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		fail(errno, "open %s", argv[2]);

	fd = open_node(path, opt.nonblock);
	setup_transfer(fd, path, false);
	if (opt.lock)
		lock_dev(fd, path);
	while (total < want) {
		size_t len = want - total < opt.chunk ? want - total : opt.chunk;
		ssize_t n = read(fd, buf, len), off = 0;

		if (n < 0) {
			printf("read %zu\n", total);
			fail(errno, "read %s", path);
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(out, buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				printf("read %zu\n", total);
				fail(errno, "write %s", argv[2]);
			}
			off += w;
		}
		total += n;
	}
	if (close(out) < 0) {
		printf("read %zu\n", total);
		fail(errno, "close %s", argv[2]);
	}
	printf("read %zu\n", total);
	if (opt.lock)
		unlock_dev(fd, path);
	return 0;
}

static int cmd_id(int argc, char **argv)
{
	size_t copied;
	__u32 length;
	char *path, *id;
	int fd, err;

	if (argc != 1)
		usage("id needs DEV");
	path = dev_path(argv[0]);
	fd = open_node(path, false);
	err = read_device_id(fd, opt.id_size, &id, &copied, &length);
	if (err == ENODATA) {
		printf("id none\n");
		return 0;
	}
	if (err)
		fail(err, "DEVICE_ID %s", path);
	printf("length %u\n", length);
	print_id("id ", id, copied);
	return 0;
}

static int cmd_modes(int argc, char **argv)
{
	struct lpt1284_modes m;
	char *path;
	int fd;

	if (argc != 1 && argc != 3)
		usage("modes needs DEV, or DEV WRITE READ");
	path = dev_path(argv[0]);
	if (argc == 3) {
		m.write_mode = parse_mode(argv[1]);
		m.read_mode = parse_mode(argv[2]);
	}
	fd = open_node(path, false);
	if (argc == 3)
		xioctl(fd, path, SET_MODES, &m);
	xioctl(fd, path, GET_MODES, &m);
	print_modes("", &m);
	return 0;
}

static int cmd_timeout(int argc, char **argv)
{
	char *path;
	__u64 ms;
	int fd;

	if (argc != 1 && argc != 2)
		usage("timeout needs DEV, or DEV MS");
	path = dev_path(argv[0]);
	if (argc == 2)
		ms = parse_num(argv[1], LPT1284_MAX_BUSY_TIMEOUT_MS, "busy time-out");
	fd = open_node(path, false);
	if (argc == 2)
		xioctl(fd, path, SET_BUSY_TIMEOUT, &ms);
	xioctl(fd, path, GET_BUSY_TIMEOUT, &ms);
	printf("timeout %llu\n", (unsigned long long)ms);
	return 0;
}

static int cmd_rescan(int argc, char **argv)
{
	struct lpt1284_port_info pi;
	int fd;

	(void)argv;
	no_args(argc, "rescan");
	fd = open_node(opt.port, false);
	xioctl(fd, opt.port, RESCAN, NULL);
	get_port_info(fd, &pi);
	printf("rescanned daisy %u end %u\n", pi.daisy_count, pi.end_device);
	return 0;
}

/*
 * stress: children mix every way of taking the port and report each hold
 * through a pipe; the parent checks that no two holds overlap.
 */

#define STRESS_MAX_DEVS		8
#define STRESS_MAX_PROCS	1024
#define STRESS_MAX_TOLD		20	/* errors reported per child */
#define STRESS_RECORD_TRIES	100	/* to finish a partly written record */
#define STRESS_GRACE_SEC	30	/* after the end, then SIGKILL */

enum stress_count {
	SC_OPS,
	SC_HOLDS,		/* the "outcomes" line: SC_HOLDS.. */
	SC_TIMEDOUT,
	SC_INTERRUPTED,
	SC_BUSY,
	SC_OPEN_BUSY,
	SC_SIGNALS,
	SC_AGAIN,
	SC_FAULTED,
	SC_LOOPS,
	SC_ERRORS,
	SC_NR
};

static const char *const count_names[SC_NR] = {
	[SC_OPS] = "ops",
	[SC_HOLDS] = "holds",
	[SC_TIMEDOUT] = "timedout",
	[SC_INTERRUPTED] = "interrupted",
	[SC_BUSY] = "busy",
	[SC_OPEN_BUSY] = "open_busy",
	[SC_SIGNALS] = "signals",
	[SC_AGAIN] = "again",
	[SC_FAULTED] = "faulted",
	[SC_LOOPS] = "loops",
	[SC_ERRORS] = "errors",
};

/* errors a step may give without it being a failure */
#define OK_TIMEDOUT	BIT(0)
#define OK_INTR		BIT(1)
#define OK_BUSY		BIT(2)
#define OK_AGAIN	BIT(3)	/* O_NONBLOCK */

enum stress_how {
	HOW_ALLOCATE,
	HOW_TRY,
	HOW_CLOSE,
	HOW_LOCK,
	HOW_LOCK_NO_SELECT,
	HOW_SELECT,
	HOW_LOOPBACK,
};

static const char *const how_names[] = {
	[HOW_ALLOCATE] = "ALLOCATE",
	[HOW_TRY] = "TRY_ALLOCATE",
	[HOW_CLOSE] = "ALLOCATE+close",
	[HOW_LOCK] = "LOCK",
	[HOW_LOCK_NO_SELECT] = "LOCK_NO_SELECT",
	[HOW_SELECT] = "SELECT",
	[HOW_LOOPBACK] = "LOCK+loopback",
};

enum { MSG_HOLD, MSG_DONE };

/* One pipe message, smaller than PIPE_BUF so that writes stay atomic. */
struct stress_msg {
	uint32_t type;
	int32_t pid;
	union {
		struct {
			uint64_t grant, release;
			uint32_t how;
		} hold;
		struct {
			uint64_t count[SC_NR];
			uint64_t records[STRESS_MAX_DEVS];
			uint64_t bytes[STRESS_MAX_DEVS];
		} done;
	};
};

struct stress_dev {
	const char *arg;	/* as given */
	char *path;
	long number;		/* for SELECT; -1 unknown */
};

static struct {
	struct stress_dev dev[STRESS_MAX_DEVS];
	unsigned int ndevs;
	pid_t *pids;		/* shared with the children, 0 not yet forked */
	unsigned long long deadline;
	const char *loop_path;	/* -L: the loopback for round trips, or NULL */
	bool faults;		/* -F: the host switches printer faults */
} stress;

struct stress_child {
	unsigned int idx;
	pid_t pid;
	uint64_t rng;
	int port_fd;
	int out;		/* pipe to the parent */
	timer_t timer;
	bool have_timer;
	unsigned long long seq;
	unsigned long long loop_seq;
	unsigned int told;
	struct stress_msg done;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0..n-1 */
static unsigned int rnd(struct stress_child *c, unsigned int n)
{
	return (unsigned int)(splitmix64(&c->rng) % n);
}

static void st_error(struct stress_child *c, int err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	c->done.done.count[SC_ERRORS]++;
	if (c->told++ >= STRESS_MAX_TOLD)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	report(err, "stress %d: %s", (int)c->pid, what);
	if (c->told == STRESS_MAX_TOLD)
		report(0, "stress %d: no more errors reported", (int)c->pid);
}

/* Count an expected err; true if it was one. */
static bool st_expected(struct stress_child *c, int err, unsigned int ok)
{
	if (err == ETIMEDOUT && (ok & OK_TIMEDOUT))
		c->done.done.count[SC_TIMEDOUT]++;
	else if (err == EINTR && (ok & OK_INTR))
		c->done.done.count[SC_INTERRUPTED]++;
	else if (err == EBUSY && (ok & OK_BUSY))
		c->done.done.count[SC_BUSY]++;
	else if (err == EAGAIN && (ok & OK_AGAIN))
		c->done.done.count[SC_AGAIN]++;
	else
		return false;
	return true;
}

static void st_send(struct stress_child *c, const struct stress_msg *m)
{
	ssize_t n;

	do {
		n = write(c->out, m, sizeof(*m));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*m))
		st_error(c, n < 0 ? errno : 0, "pipe to the parent");
}

static void st_hold(struct stress_child *c, enum stress_how how,
		    unsigned long long grant, unsigned long long release)
{
	struct stress_msg m = {
		.type = MSG_HOLD,
		.pid = c->pid,
		.hold = { .grant = grant, .release = release, .how = how },
	};

	c->done.done.count[SC_HOLDS]++;
	st_send(c, &m);
}

/* SIGUSR1 to itself after ms (0: disarm), to end a wait with EINTR */
static void st_alarm(struct stress_child *c, unsigned int ms)
{
	struct itimerspec its = {
		.it_value = {
			.tv_sec = ms / 1000,
			.tv_nsec = (long)(ms % 1000) * NSEC_PER_MSEC,
		},
	};

	if (c->have_timer)
		timer_settime(c->timer, 0, &its, NULL);
}

static void st_sleep_us(unsigned int us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000,
		.tv_nsec = (long)(us % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int st_open_flags(struct stress_child *c, const char *path, int flags)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | flags);

	if (fd < 0) {
		if (errno == EBUSY)
			c->done.done.count[SC_OPEN_BUSY]++;
		else
			st_error(c, errno, "open %s", path);
	}
	return fd;
}

static int st_open(struct stress_child *c, const char *path)
{
	return st_open_flags(c, path, 0);
}

/* With -F: a printer fault the host switched on (the write waits it out). */
static bool st_fault(struct stress_child *c, int err)
{
	if (!stress.faults || (err != EIO && err != ENOSPC && err != ETIMEDOUT))
		return false;
	c->done.done.count[SC_FAULTED]++;
	st_sleep_us(1000 + rnd(c, 20000));
	return true;
}

/*
 * One record "lptctl stress PID SEQ\n" in one write(); a short write is
 * continued so that the record lands whole (on an O_NONBLOCK file the rest
 * is written blocking).  Without a lock the driver may give EBUSY (busy
 * time-out) before the first byte; EINTR may come at any time.
 */
static void st_write_record(struct stress_child *c, int fd, unsigned int d,
			    bool locked, bool nonblock)
{
	const unsigned int ok = (locked ? OK_INTR : OK_INTR | OK_BUSY) |
				(nonblock ? OK_AGAIN : 0);
	const char *path = stress.dev[d].path;
	unsigned int tries = 0;
	bool restore = false;
	ssize_t len, done = 0;
	char rec[64];

	len = snprintf(rec, sizeof(rec), "lptctl stress %d %llu\n",
		       (int)c->pid, c->seq);
	while (done < len) {
		ssize_t n = write(fd, rec + done, len - done);
		int err = errno;

		if (n > 0) {
			done += n;
			c->done.done.bytes[d] += n;
			continue;
		}
		if (n == 0) {
			st_error(c, 0, "write %s: wrote nothing", path);
			break;
		}
		/* a fault: try again, also before the first byte (same SEQ) */
		if (st_fault(c, err)) {
			if (++tries == STRESS_RECORD_TRIES * 10)
				break;
			continue;
		}
		if (!st_expected(c, err, ok)) {
			st_error(c, err, "write %s", path);
			break;
		}
		if (!done)
			break;	/* nothing of it went: the SEQ is reused */
		if (err == EAGAIN && nonblock) {
			/*
			 * The rest of a record waits for the port: on an
			 * O_NONBLOCK file its EAGAINs come back at once, as
			 * fast as they are retried, while another child holds
			 * the port longer than that
			 */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			nonblock = false;
			restore = true;
			continue;
		}
		if (++tries == STRESS_RECORD_TRIES)
			break;
	}
	if (restore)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (done == len)
		c->done.done.records[d]++;
	else if (done)
		st_error(c, 0, "write %s: record %llu cut short at %zd of %zd bytes",
			 path, c->seq, done, len);
	if (done)
		c->seq++;
}

/* ALLOCATE with a short time-out, hold, FREE (or close() the file) */
static void st_allocate(struct stress_child *c, bool by_close)
{
	struct lpt1284_alloc a = {
		.timeout_ns = (1 + rnd(c, 50)) * NSEC_PER_MSEC,
	};
	unsigned long long grant, release;
	int fd = c->port_fd, err;
	__u32 waiters;

	if (by_close) {
		fd = st_open(c, opt.port);
		if (fd < 0)
			return;
	}
	if (!rnd(c, 4))
		st_alarm(c, 1 + rnd(c, 20));
	err = ioctl(fd, LPT1284_IOC_ALLOCATE, &a) < 0 ? errno : 0;
	grant = now_ns();
	st_alarm(c, 0);
	if (err) {
		if (!st_expected(c, err, OK_TIMEDOUT | OK_INTR))
			st_error(c, err, "ALLOCATE %s", opt.port);
		goto out;
	}
	if (!rnd(c, 4) && ioctl(fd, LPT1284_IOC_QUERY_WAITERS, &waiters) < 0)
		st_error(c, errno, "QUERY_WAITERS %s", opt.port);
	st_sleep_us(rnd(c, 2000));
	release = now_ns();
	if (by_close) {
		close(fd);
		fd = -1;
	} else if (ioctl(fd, LPT1284_IOC_FREE) < 0) {
		st_error(c, errno, "FREE %s", opt.port);
	}
	st_hold(c, by_close ? HOW_CLOSE : HOW_ALLOCATE, grant, release);
out:
	if (by_close && fd >= 0)
		close(fd);
}

static void st_try(struct stress_child *c)
{
	unsigned long long grant, release;

	if (ioctl(c->port_fd, LPT1284_IOC_TRY_ALLOCATE) < 0) {
		if (!st_expected(c, errno, OK_BUSY))
			st_error(c, errno, "TRY_ALLOCATE %s", opt.port);
		return;
	}
	grant = now_ns();
	st_sleep_us(rnd(c, 2000));
	release = now_ns();
	if (ioctl(c->port_fd, LPT1284_IOC_FREE) < 0)
		st_error(c, errno, "FREE %s", opt.port);
	st_hold(c, HOW_TRY, grant, release);
}

/* LOCK (ended by the timer if it takes too long), 1-3 records, UNLOCK */
static void st_lock_write(struct stress_child *c)
{
	unsigned int d = rnd(c, stress.ndevs), i, n;
	const char *path = stress.dev[d].path;
	bool no_select = !rnd(c, 6);
	unsigned long long grant, release;
	int fd = st_open(c, path), err;

	if (fd < 0)
		return;
	st_alarm(c, 2 + rnd(c, 100));
	err = ioctl(fd, no_select ? LPT1284_IOC_LOCK_NO_SELECT
				  : LPT1284_IOC_LOCK) < 0 ? errno : 0;
	grant = now_ns();
	st_alarm(c, 0);
	if (err) {
		if (!st_expected(c, err, OK_INTR))
			st_error(c, err, "%s %s",
				 no_select ? "LOCK_NO_SELECT" : "LOCK", path);
		close(fd);
		return;
	}
	/* without a select the bytes would go to whichever device listens */
	if (no_select) {
		st_sleep_us(rnd(c, 1000));
	} else {
		n = 1 + rnd(c, 3);
		for (i = 0; i < n; i++)
			st_write_record(c, fd, d, true, false);
	}
	release = now_ns();
	if (ioctl(fd, no_select ? LPT1284_IOC_UNLOCK_NO_DESELECT
				: LPT1284_IOC_UNLOCK) < 0)
		st_error(c, errno, "%s %s",
			 no_select ? "UNLOCK_NO_DESELECT" : "UNLOCK", path);
	st_hold(c, no_select ? HOW_LOCK_NO_SELECT : HOW_LOCK, grant, release);
	close(fd);
}

/* a plain write(), one time in four on an O_NONBLOCK file (EAGAIN) */
static void st_plain_write(struct stress_child *c)
{
	unsigned int d = rnd(c, stress.ndevs);
	bool nonblock = !rnd(c, 4);
	int fd = st_open_flags(c, stress.dev[d].path, nonblock ? O_NONBLOCK : 0);

	if (fd < 0)
		return;
	st_write_record(c, fd, d, false, nonblock);
	close(fd);
}

/* ALLOCATE on an O_NONBLOCK file of the port: granted at once or EAGAIN */
static void st_allocate_nonblock(struct stress_child *c)
{
	struct lpt1284_alloc a = { .timeout_ns = 0 };
	unsigned long long grant, release;
	int fd = st_open_flags(c, opt.port, O_NONBLOCK);

	if (fd < 0)
		return;
	if (ioctl(fd, LPT1284_IOC_ALLOCATE, &a) < 0) {
		if (!st_expected(c, errno, OK_AGAIN | OK_INTR))
			st_error(c, errno, "ALLOCATE (O_NONBLOCK) %s", opt.port);
		close(fd);
		return;
	}
	grant = now_ns();
	st_sleep_us(rnd(c, 1000));
	release = now_ns();
	if (ioctl(fd, LPT1284_IOC_FREE) < 0)
		st_error(c, errno, "FREE (O_NONBLOCK) %s", opt.port);
	st_hold(c, HOW_ALLOCATE, grant, release);
	close(fd);
}

/* read() until n bytes or end of data; EINTR retried.  Bytes read. */
static ssize_t st_read_all(int fd, char *buf, size_t n)
{
	size_t got = 0;
	unsigned int tries = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r > 0) {
			got += r;
			continue;
		}
		if (r < 0 && errno == EINTR && ++tries < STRESS_RECORD_TRIES)
			continue;
		if (r < 0)
			return -1;
		break;
	}
	return (ssize_t)got;
}

/*
 * -L: LOCK the loopback, read out what an interrupted earlier round trip
 * left, write a record "lptctl loop PID SEQ\n", read it back: it must come
 * back exactly; UNLOCK.
 */
static void st_loopback(struct stress_child *c)
{
	char rec[64], back[64], junk[256];
	unsigned long long grant, release;
	ssize_t len, n;
	int fd, err;

	fd = st_open(c, stress.loop_path);
	if (fd < 0)
		return;
	st_alarm(c, 2 + rnd(c, 100));
	err = ioctl(fd, LPT1284_IOC_LOCK) < 0 ? errno : 0;
	grant = now_ns();
	st_alarm(c, 0);
	if (err) {
		if (!st_expected(c, err, OK_INTR))
			st_error(c, err, "LOCK %s", stress.loop_path);
		close(fd);
		return;
	}
	while ((n = st_read_all(fd, junk, sizeof(junk))) > 0)
		;
	if (n < 0) {
		st_error(c, errno, "read %s (draining)", stress.loop_path);
		goto unlock;
	}
	len = snprintf(rec, sizeof(rec), "lptctl loop %d %llu\n",
		       (int)c->pid, c->loop_seq++);
	n = 0;
	while (n < len) {
		ssize_t w = write(fd, rec + n, len - n);

		if (w > 0) {
			n += w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		st_error(c, w < 0 ? errno : 0, "write %s", stress.loop_path);
		goto unlock;
	}
	n = st_read_all(fd, back, len);
	if (n < 0)
		st_error(c, errno, "read %s", stress.loop_path);
	else if (n != len || memcmp(rec, back, len))
		st_error(c, 0, "loopback %s: wrote %zd bytes \"%.*s\", read back %zd \"%.*s\"",
			 stress.loop_path, len, (int)len - 1, rec, n,
			 (int)(n > 0 ? n - 1 : 0), back);
	else
		c->done.done.count[SC_LOOPS]++;
unlock:
	release = now_ns();
	if (ioctl(fd, LPT1284_IOC_UNLOCK) < 0)
		st_error(c, errno, "UNLOCK %s", stress.loop_path);
	st_hold(c, HOW_LOOPBACK, grant, release);
	close(fd);
}

/* SELECT through the port, hold, DESELECT (sometimes KEEP_PORT + FREE) */
static void st_select(struct stress_child *c)
{
	const struct stress_dev *dev = &stress.dev[rnd(c, stress.ndevs)];
	struct lpt1284_select sel = {
		.timeout_ns = (1 + rnd(c, 50)) * NSEC_PER_MSEC,
	};
	unsigned long long grant, release;
	bool keep = !rnd(c, 3);
	int err;

	if (dev->number < 0) {
		st_allocate(c, false);
		return;
	}
	sel.device = (__u32)dev->number;
	if (!rnd(c, 4))
		st_alarm(c, 1 + rnd(c, 20));
	err = ioctl(c->port_fd, LPT1284_IOC_SELECT, &sel) < 0 ? errno : 0;
	grant = now_ns();
	st_alarm(c, 0);
	if (err) {
		if (!st_expected(c, err, OK_TIMEDOUT | OK_INTR))
			st_error(c, err, "SELECT %s device %ld", opt.port,
				 dev->number);
		return;
	}
	st_sleep_us(rnd(c, 1000));
	release = now_ns();
	sel.flags = keep ? LPT1284_DESELECT_KEEP_PORT : 0;
	sel.timeout_ns = 0;
	if (ioctl(c->port_fd, LPT1284_IOC_DESELECT, &sel) < 0)
		st_error(c, errno, "DESELECT %s device %ld", opt.port,
			 dev->number);
	else if (keep && ioctl(c->port_fd, LPT1284_IOC_FREE) < 0)
		st_error(c, errno, "FREE %s", opt.port);
	st_hold(c, HOW_SELECT, grant, release);
}

/* SIGUSR1 to a sibling, which may be waiting for the port */
static void st_signal(struct stress_child *c)
{
	unsigned int j = rnd(c, opt.procs);
	pid_t pid = stress.pids[j];

	if (j == c->idx || pid <= 0)
		return;
	/* siblings are reaped only after all have exited: pid is ours */
	if (kill(pid, SIGUSR1) == 0)
		c->done.done.count[SC_SIGNALS]++;
	else if (errno != ESRCH)
		st_error(c, errno, "kill %d", (int)pid);
}

static void st_reopen(struct stress_child *c)
{
	int fd;

	close(c->port_fd);
	c->port_fd = st_open(c, opt.port);
	if (c->port_fd < 0)
		_exit(EXIT_FAIL);
	fd = st_open(c, stress.dev[rnd(c, stress.ndevs)].path);
	if (fd >= 0)
		close(fd);
}

static void stress_child(unsigned int idx, uint64_t seed, int out)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
		.sigev_signo = SIGUSR1,
	};
	struct stress_child c = {
		.idx = idx,
		.pid = getpid(),
		.rng = seed + idx,
		.out = out,
	};

	splitmix64(&c.rng);
	c.done.type = MSG_DONE;
	c.done.pid = c.pid;
	c.have_timer = timer_create(CLOCK_MONOTONIC, &sev, &c.timer) == 0;
	if (!c.have_timer)
		st_error(&c, errno, "timer_create");
	c.port_fd = st_open(&c, opt.port);
	if (c.port_fd < 0)
		_exit(EXIT_FAIL);

	while (now_ns() < stress.deadline && !stop_signal) {
		unsigned int op = rnd(&c, 100);

		c.done.done.count[SC_OPS]++;
		if (op < 4 && stress.loop_path)
			st_loopback(&c);
		else if (op < 7)
			st_allocate_nonblock(&c);
		else if (op < 22)
			st_allocate(&c, false);
		else if (op < 30)
			st_try(&c);
		else if (op < 50)
			st_lock_write(&c);
		else if (op < 70)
			st_plain_write(&c);
		else if (op < 78)
			st_select(&c);
		else if (op < 83)
			st_allocate(&c, true);
		else if (op < 93)
			st_signal(&c);
		else
			st_reopen(&c);
	}
	st_send(&c, &c.done);
	_exit(0);
}

struct stress_hold {
	unsigned long long grant, release;
	pid_t pid;
	uint32_t how;
};

static int cmp_grant(const void *a, const void *b)
{
	const struct stress_hold *x = a, *y = b;

	return x->grant < y->grant ? -1 : x->grant > y->grant;
}

static const char *how_name(uint32_t how)
{
	return how < ARRAY_SIZE(how_names) ? how_names[how] : "?";
}

/* Overlapping holds, each reported (the first few) on stderr */
static unsigned long long count_overlaps(struct stress_hold *h, size_t n)
{
	unsigned long long violations = 0;
	size_t i, last = 0;

	qsort(h, n, sizeof(*h), cmp_grant);
	for (i = 1; i < n; i++) {
		if (h[i].grant < h[last].release) {
			if (violations++ < 10)
				report(0, "stress: overlap: %d %s %llu..%llu, %d %s %llu..%llu",
				       (int)h[last].pid, how_name(h[last].how),
				       h[last].grant, h[last].release,
				       (int)h[i].pid, how_name(h[i].how),
				       h[i].grant, h[i].release);
		}
		if (h[i].release > h[last].release)
			last = i;
	}
	return violations;
}

/* The device number of a DEV argument ("3", "/dev/lpt0.3"), or -1. */
static long dev_number(const char *arg)
{
	const char *dot = strrchr(arg, '.');
	const char *s = arg[0] >= '0' && arg[0] <= '9' ? arg : dot ? dot + 1 : "";
	char *end;
	long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 || v > LPT1284_END_DEVICE ? -1 : v;
}

static int cmd_stress(int argc, char **argv)
{
	uint64_t records[STRESS_MAX_DEVS] = { 0 }, bytes[STRESS_MAX_DEVS] = { 0 };
	uint64_t count[SC_NR] = { 0 }, total = 0, seed;
	struct stress_hold *holds = NULL;
	size_t nholds = 0, cap = 0;
	unsigned long long violations;
	unsigned int i, forked, done = 0;
	struct stress_msg m;
	int p[2], status = 0;
	bool killed = false;

	if (argc < 1)
		usage("stress needs at least one DEV");
	if (argc > STRESS_MAX_DEVS)
		usage("stress takes at most %d DEVs", STRESS_MAX_DEVS);
	for (i = 0; i < (unsigned int)argc; i++) {
		int fd;

		stress.dev[i].arg = argv[i];
		stress.dev[i].path = dev_path(argv[i]);
		stress.dev[i].number = dev_number(argv[i]);
		/* a wrong DEV is one error here, not one per child and op */
		fd = open(stress.dev[i].path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno != EBUSY)
			fail(errno, "open %s", stress.dev[i].path);
		if (fd >= 0)
			close(fd);
	}
	stress.ndevs = argc;
	if (stress.loop_path) {
		int fd;

		stress.loop_path = dev_path(stress.loop_path);
		fd = open(stress.loop_path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno != EBUSY)
			fail(errno, "open %s", stress.loop_path);
		if (fd >= 0)
			close(fd);
	}
	seed = opt.have_seed ? opt.seed : now_ns() ^ ((uint64_t)getpid() << 32);

	stress.pids = mmap(NULL, opt.procs * sizeof(pid_t),
			   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	if (stress.pids == MAP_FAILED)
		fail(errno, "mmap");
	if (pipe2(p, O_CLOEXEC) < 0)
		fail(errno, "pipe");
	printf("seed %llu\n", (unsigned long long)seed);
	fflush(stdout);

	stress.deadline = now_ns() + opt.seconds * NSEC_PER_SEC;
	for (forked = 0; forked < opt.procs; forked++) {
		pid_t pid = fork();

		if (pid < 0) {
			report(errno, "stress: fork");
			status = EXIT_FAIL;
			break;
		}
		if (pid == 0) {
			close(p[0]);
			stress_child(forked, seed, p[1]);
		}
		stress.pids[forked] = pid;
	}
	close(p[1]);

	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		unsigned long long t = now_ns();
		int wait_ms = -1;
		ssize_t n;

		if (!killed) {
			unsigned long long end = stress.deadline +
						 STRESS_GRACE_SEC * NSEC_PER_SEC;

			wait_ms = t < end ? (end - t) / NSEC_PER_MSEC + 1 : 0;
		}
		n = poll(&pfd, 1, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(errno, "stress: poll");
		if (n == 0) {
			/* a child stuck in a wait the driver never ends */
			report(0, "stress: children still running %d s after the end: killed",
			       STRESS_GRACE_SEC);
			for (i = 0; i < forked; i++)
				kill(stress.pids[i], SIGKILL);
			count[SC_ERRORS]++;
			killed = true;
			continue;
		}
		n = read(p[0], &m, sizeof(m));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(errno, "stress: pipe");
		if (n == 0)
			break;
		if (n != (ssize_t)sizeof(m))
			fail(0, "stress: a message of %zd bytes", n);
		if (m.type == MSG_HOLD) {
			if (nholds == cap) {
				cap = cap ? 2 * cap : 4096;
				holds = realloc(holds, cap * sizeof(*holds));
				if (!holds)
					fail(ENOMEM, "stress: holds");
			}
			holds[nholds++] = (struct stress_hold) {
				.grant = m.hold.grant,
				.release = m.hold.release,
				.pid = m.pid,
				.how = m.hold.how,
			};
			continue;
		}
		done++;
		for (i = 0; i < SC_NR; i++)
			count[i] += m.done.count[i];
		for (i = 0; i < stress.ndevs; i++) {
			records[i] += m.done.records[i];
			bytes[i] += m.done.bytes[i];
		}
	}
	for (i = 0; i < forked; i++) {
		int ws;

		while (waitpid(stress.pids[i], &ws, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
			continue;
		count[SC_ERRORS]++;
		if (WIFSIGNALED(ws))
			report(0, "stress: child %d killed by %s",
			       (int)stress.pids[i], sigabbrev_np(WTERMSIG(ws)));
		else
			report(0, "stress: child %d exited with status %d",
			       (int)stress.pids[i], WEXITSTATUS(ws));
	}
	if (done != forked) {
		report(0, "stress: %u of %u children reported", done, forked);
		count[SC_ERRORS]++;
	}

	violations = count_overlaps(holds, nholds);
	for (i = 0; i < stress.ndevs; i++) {
		printf("device %s records %llu bytes %llu\n", stress.dev[i].arg,
		       (unsigned long long)records[i],
		       (unsigned long long)bytes[i]);
		total += bytes[i];
	}
	printf("outcomes");
	for (i = SC_HOLDS; i < SC_NR; i++)
		printf(" %s %llu", count_names[i],
		       (unsigned long long)count[i]);
	printf("\n");
	printf("ops %llu violations %llu bytes %llu\n",
	       (unsigned long long)count[SC_OPS], violations,
	       (unsigned long long)total);
	if (violations || count[SC_ERRORS])
		status = EXIT_FAIL;
	return status;
}

static const struct command {
	const char *name;
	const char *opts;	/* getopt letters besides -p and -h */
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "list", "", cmd_list },
	{ "info", "", cmd_info },
	{ "waiters", "", cmd_waiters },
	{ "alloc", "t:nw", cmd_alloc },
	{ "try", "w", cmd_try },
	{ "free", "", cmd_free },
	{ "select", "t:nwkaH", cmd_select },
	{ "lock", "Snw", cmd_lock },
	{ "unlock", "S", cmd_unlock },
	{ "write", "m:b:c:nlS", cmd_write },
	{ "read", "m:b:c:nlS", cmd_read },
	{ "id", "z:", cmd_id },
	{ "modes", "", cmd_modes },
	{ "timeout", "", cmd_timeout },
	{ "rescan", "", cmd_rescan },
	{ "stress", "P:s:r:L:F", cmd_stress },
};

/*
 * Options of the command in argv[0], anywhere among its arguments (or with
 * global, only those before the command); returns where the arguments start.
 */
static int parse_opts(int argc, char **argv, const char *letters, bool global)
{
	char optstring[32];
	int c;

	snprintf(optstring, sizeof(optstring), "%s:hp:%s", global ? "+" : "",
		 letters);
	opterr = 0;
	optind = 0;	/* glibc: start again, permuting */
	while ((c = getopt(argc, argv, optstring)) != -1) {
		switch (c) {
		case 'p':
			opt.port = optarg;
			break;
		case 't':
			opt.timeout_ms = parse_num(optarg, MAX_MS, "time-out");
			break;
		case 'b':
			opt.busy_ms = parse_num(optarg, LPT1284_MAX_BUSY_TIMEOUT_MS,
						 "busy time-out");
			opt.have_busy = true;
			break;
		case 'm':
			opt.mode = optarg;
			break;
		case 'c':
			opt.chunk = parse_num(optarg, 1 << 30, "chunk size");
			if (!opt.chunk)
				usage("bad chunk size '0'");
			break;
		case 'z':
			opt.id_size = parse_num(optarg, UINT32_MAX,
						"buffer size");
			break;
		case 'P':
			opt.procs = parse_num(optarg, STRESS_MAX_PROCS,
					      "process count");
			if (!opt.procs)
				usage("bad process count '0'");
			break;
		case 's':
			opt.seconds = parse_num(optarg, 86400, "seconds");
			break;
		case 'r':
			opt.seed = parse_num(optarg, ULLONG_MAX, "seed");
			opt.have_seed = true;
			break;
		case 'L':
			stress.loop_path = optarg;
			break;
		case 'F':
			stress.faults = true;
			break;
		case 'n':
			opt.nonblock = true;
			break;
		case 'w':
			opt.waiters = true;
			break;
		case 'k':
			opt.keep = true;
			break;
		case 'a':
			opt.alloc_first = true;
			break;
		case 'H':
			opt.have_port = true;
			break;
		case 'S':
			opt.no_select = true;
			break;
		case 'l':
			opt.lock = true;
			break;
		case 'h':
			usage(NULL);
			break;
		case ':':
			usage("-%c needs a value", optopt);
			break;
		default:
			usage("unknown option -%c", optopt);
		}
	}
	return optind;
}

static void on_wake(int sig)
{
	(void)sig;
}

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* No SA_RESTART: a signal ends a wait for the port with EINTR. */
static void catch(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	const struct command *cmd = NULL;
	size_t i;
	int first;

	setvbuf(stdout, NULL, _IOLBF, 0);
	first = parse_opts(argc, argv, "", true);
	if (first >= argc)
		usage("no command");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[first], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		usage("unknown command '%s'", argv[first]);

	catch(SIGUSR1, on_wake);
	catch(SIGTERM, on_stop);
	catch(SIGINT, on_stop);
	catch(SIGHUP, on_stop);

	argc -= first;
	argv += first;
	first = parse_opts(argc, argv, cmd->opts, false);
	return cmd->run(argc - first, argv + first);
}
