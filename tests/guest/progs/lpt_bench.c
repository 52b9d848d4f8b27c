// SPDX-License-Identifier: GPL-2.0
/*
 * lpt_bench: timings of port allocation for bench/driver.py, in the guest.
 * Static, libc and the uapi headers only (<linux/lpt1284.h>,
 * <linux/ppdev.h>).  Times are CLOCK_MONOTONIC in ns.
 *
 *   lpt_bench [-d DEV] [-n N] alloc     N x (LPT1284_IOC_ALLOCATE + FREE)
 *                                       on DEV (default /dev/lpt0)
 *   lpt_bench [-d DEV] [-n N] try       N x (LPT1284_IOC_TRY_ALLOCATE + FREE)
 *   lpt_bench [-d DEV] [-n N] ppdev     N x (PPCLAIM + PPRELEASE) on DEV
 *                                       (default /dev/parport0)
 *   lpt_bench [-d DEV] [-P PROCS] [-H MS] contend
 *                                       allocation waits under contention
 *
 * Round trips (alloc, try, ppdev): one file, opened once; WARMUP round
 * trips first (ppdev registers its pardevice at the first PPCLAIM), then N
 * timed in BATCHES batches of N/BATCHES (N is rounded up to a multiple).
 * One line:
 *
 *   OP n N total_ns T per_ns P best_per_ns B
 *
 * P = T / N, B = the fastest batch's ns per round trip (less disturbed by
 * other work on the host).
 *
 * contend: this process allocates the port (the first holder), then forks
 * PROCS (default 8) contenders one at a time, each with its own file: a
 * contender reads the clock ("queued"), calls ALLOCATE (no time-out), reads
 * the clock again ("granted"), holds the port until granted + MS (default
 * 100; an absolute clock_nanosleep), reads the clock ("freed") and FREEs.
 * The next contender is forked only once QUERY_WAITERS shows the one before
 * it queued, so the queue order is the fork order; once all PROCS are
 * queued the first holder FREEs.  Lines:
 *
 *   holder granted G freed F
 *   contender I queued Q granted G freed F      (I = 1..PROCS, queue order)
 *   contend procs PROCS hold_ms MS
 *
 * What the numbers mean (waits, order, hand-overs) is worked out by the
 * caller.
 *
 * Exit status: 0 done, 1 failure (message on stderr), 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/lpt1284.h>
#include <linux/parport.h>
#include <linux/ppdev.h>

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL
#define WARMUP		100
#define BATCHES		10
#define MAX_PROCS	64
/* how long contend waits for a contender to show in QUERY_WAITERS */
#define QUEUE_TIMEOUT_NS (10 * NSEC_PER_SEC)
/* a contender's ALLOCATE time-out: far beyond any sane wait */
#define ALLOC_TIMEOUT_NS (120 * NSEC_PER_SEC)

static const char *const prog = "lpt_bench";
static const char *dev;
static unsigned long iterations = 20000;
static unsigned long procs = 8;
static unsigned long hold_ms = 100;

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
		"usage: %s [-d DEV] [-n N] alloc|try    (DEV default /dev/lpt0)\n"
		"       %s [-d DEV] [-n N] ppdev        (DEV default /dev/parport0)\n"
		"       %s [-d DEV] [-P PROCS] [-H MS] contend\n"
		"  -n N      timed round trips (default 20000)\n"
		"  -P PROCS  contenders (default 8, at most %d)\n"
		"  -H MS     how long each contender holds the port (default 100)\n",
		prog, prog, prog, MAX_PROCS);
	exit(EXIT_USAGE);
}

static void fail(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s (%s)", strerrorname_np(err) ?: "E?", strerror(err));
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / NSEC_PER_SEC, .tv_nsec = t % NSEC_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static unsigned long parse_ulong(const char *s, unsigned long min, unsigned long max,
				 const char *what)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		usage("bad %s '%s' (%lu-%lu)", what, s, min, max);
	return v;
}

static int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail(errno, "open %s", path);
	return fd;
}

enum op { OP_ALLOC, OP_TRY, OP_PPDEV };

static const char *const op_names[] = { "alloc", "try", "ppdev" };

/* One round trip: take the port, give it up. */
static void round_trip(int fd, enum op op)
{
	static const struct lpt1284_alloc a = { .timeout_ns = 0 };

	switch (op) {
	case OP_ALLOC:
		if (ioctl(fd, LPT1284_IOC_ALLOCATE, &a) < 0)
			fail(errno, "ALLOCATE %s", dev);
		if (ioctl(fd, LPT1284_IOC_FREE) < 0)
			fail(errno, "FREE %s", dev);
		break;
	case OP_TRY:
		if (ioctl(fd, LPT1284_IOC_TRY_ALLOCATE) < 0)
			fail(errno, "TRY_ALLOCATE %s", dev);
		if (ioctl(fd, LPT1284_IOC_FREE) < 0)
			fail(errno, "FREE %s", dev);
		break;
	case OP_PPDEV:
		if (ioctl(fd, PPCLAIM) < 0)
			fail(errno, "PPCLAIM %s", dev);
		if (ioctl(fd, PPRELEASE) < 0)
			fail(errno, "PPRELEASE %s", dev);
		break;
	}
}

static int cmd_round_trips(enum op op)
{
	unsigned long batch = (iterations + BATCHES - 1) / BATCHES, i, b;
	uint64_t total = 0, best = UINT64_MAX;
	int fd;

	if (!dev)
		dev = op == OP_PPDEV ? "/dev/parport0" : "/dev/lpt0";
	fd = open_dev(dev);
	for (i = 0; i < WARMUP; i++)
		round_trip(fd, op);
	for (b = 0; b < BATCHES; b++) {
		uint64_t t0 = now_ns(), t;

		for (i = 0; i < batch; i++)
			round_trip(fd, op);
		t = now_ns() - t0;
		total += t;
		if (t < best)
			best = t;
	}
	close(fd);
	printf("%s n %lu total_ns %llu per_ns %.1f best_per_ns %.1f\n", op_names[op],
	       batch * BATCHES, (unsigned long long)total,
	       (double)total / (double)(batch * BATCHES), (double)best / (double)batch);
	return 0;
}

struct stamp {
	uint64_t queued, granted, freed;
	int done;
};

static uint32_t waiters(int fd)
{
	uint32_t n;

	if (ioctl(fd, LPT1284_IOC_QUERY_WAITERS, &n) < 0)
		fail(errno, "QUERY_WAITERS %s", dev);
	return n;
}

static void contender(struct stamp *s)
{
	struct lpt1284_alloc a = { .timeout_ns = ALLOC_TIMEOUT_NS };
	int fd = open_dev(dev);

	s->queued = now_ns();
	if (ioctl(fd, LPT1284_IOC_ALLOCATE, &a) < 0)
		fail(errno, "contender ALLOCATE %s", dev);
	s->granted = now_ns();
	sleep_until(s->granted + hold_ms * NSEC_PER_MSEC);
	s->freed = now_ns();
	if (ioctl(fd, LPT1284_IOC_FREE) < 0)
		fail(errno, "contender FREE %s", dev);
	s->done = 1;
	_exit(0);
}

static int cmd_contend(void)
{
	struct lpt1284_alloc a = { .timeout_ns = 10 * NSEC_PER_SEC };
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 100000 };
	pid_t pids[MAX_PROCS];
	uint64_t granted, freed;
	struct stamp *st;
	unsigned long i;
	int fd, rc = 0;

	if (!dev)
		dev = "/dev/lpt0";
	st = mmap(NULL, sizeof(*st) * procs, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		fail(errno, "mmap");
	memset(st, 0, sizeof(*st) * procs);
	fd = open_dev(dev);
	if (waiters(fd) != 0)
		fail(0, "%s: somebody is already waiting for the port", dev);
	if (ioctl(fd, LPT1284_IOC_ALLOCATE, &a) < 0)
		fail(errno, "ALLOCATE %s (the first holder)", dev);
	granted = now_ns();
	for (i = 0; i < procs; i++) {
		uint64_t deadline;

		fflush(stdout);
		pids[i] = fork();
		if (pids[i] < 0)
			fail(errno, "fork");
		if (pids[i] == 0) {
			close(fd);
			contender(&st[i]);
		}
		deadline = now_ns() + QUEUE_TIMEOUT_NS;
		while (waiters(fd) != i + 1) {
			if (now_ns() > deadline) {
				for (unsigned long j = 0; j <= i; j++)
					kill(pids[j], SIGKILL);
				fail(0, "contender %lu did not queue within %llu s "
				     "(QUERY_WAITERS %u)", i + 1,
				     QUEUE_TIMEOUT_NS / NSEC_PER_SEC, waiters(fd));
			}
			nanosleep(&tick, NULL);
		}
	}
	freed = now_ns();
	if (ioctl(fd, LPT1284_IOC_FREE) < 0)
		fail(errno, "FREE %s (the first holder)", dev);
	for (i = 0; i < procs; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) < 0)
			fail(errno, "waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !st[i].done) {
			fprintf(stderr, "%s: contender %lu failed (status 0x%x)\n",
				prog, i + 1, status);
			rc = EXIT_FAIL;
		}
	}
	close(fd);
	printf("holder granted %llu freed %llu\n", (unsigned long long)granted,
	       (unsigned long long)freed);
	for (i = 0; i < procs; i++)
		printf("contender %lu queued %llu granted %llu freed %llu\n", i + 1,
		       (unsigned long long)st[i].queued, (unsigned long long)st[i].granted,
		       (unsigned long long)st[i].freed);
	printf("contend procs %lu hold_ms %lu\n", procs, hold_ms);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int opt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "+d:n:P:H:h")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'n':
			iterations = parse_ulong(optarg, 1, 100000000, "iteration count");
			break;
		case 'P':
			procs = parse_ulong(optarg, 1, MAX_PROCS, "contender count");
			break;
		case 'H':
			hold_ms = parse_ulong(optarg, 0, 60000, "hold time");
			break;
		default:
			usage(NULL);
		}
	}
	if (optind != argc - 1)
		usage(optind >= argc ? "no command" : "one command only");
	cmd = argv[optind];
	if (!strcmp(cmd, "alloc"))
		return cmd_round_trips(OP_ALLOC);
	if (!strcmp(cmd, "try"))
		return cmd_round_trips(OP_TRY);
	if (!strcmp(cmd, "ppdev"))
		return cmd_round_trips(OP_PPDEV);
	if (!strcmp(cmd, "contend"))
		return cmd_contend();
	usage("unknown command '%s'", cmd);
	return EXIT_USAGE;
}
