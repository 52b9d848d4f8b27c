// SPDX-License-Identifier: GPL-2.0
/*
 * ppdev_xfer: IEEE 1284 transfers through Linux's ppdev (/dev/parportN),
 * for the lptrig guest tests.  Static, no dependencies beyond libc and the
 * kernel's uapi headers (<linux/ppdev.h>, <linux/parport.h>).
 *
 *   ppdev_xfer [OPTIONS] negot MODE...        try each mode, print "MODE ok",
 *                                             "MODE rejected" or "MODE error E"
 *   ppdev_xfer [OPTIONS] write MODE FILE      send FILE, print "wrote N"
 *   ppdev_xfer [OPTIONS] read MODE N OUTFILE  receive up to N bytes into
 *                                             OUTFILE, print "read N"
 *   ppdev_xfer [OPTIONS] epp-addr write BYTE  one EPP address write cycle
 *   ppdev_xfer [OPTIONS] epp-addr read        one EPP address read cycle,
 *                                             print "addr 0xNN"
 *   ppdev_xfer [OPTIONS] status               print "status 0xNN" (PPRSTATUS)
 *
 * Options: -d DEV (default /dev/parport0), -t SECONDS (idle time-out of a
 * transfer, default 5, 0 = none), -n (open with O_NONBLOCK).
 *
 * Exit status: 0 done, 1 failure (message on stderr), 2 usage error.
 * Results go to stdout, one per line.
 *
 * How ppdev behaves (drivers/char/ppdev.c, drivers/parport/ieee1284.c in
 * Linux 6.1), and what this tool does about it:
 *
 * - PPNEGOT runs the IEEE 1284 negotiation (parport_negotiate).  It returns
 *   0 when the peripheral accepted, -1/ENXIO when the handshake worked but
 *   the peripheral rejected the mode (XFlag; inverted for plain nibble), and
 *   -1/EIO when the handshake itself failed (no event 2: the peripheral is
 *   not IEEE 1284 capable, or nothing is there).  "negot" prints ENXIO as
 *   "rejected" and everything else as "error ENAME", so "error EIO" means
 *   "nobody answered the negotiation".  Negotiating to compat terminates
 *   the current mode and always succeeds.
 * - PPSETMODE does not talk to the peripheral at all: it only sets the mode
 *   ppdev's read()/write() use (and the phase), so it must follow a PPNEGOT
 *   that put the peripheral in that mode.  This tool does PPNEGOT then
 *   PPSETMODE.  IEEE1284_ADDR in the PPSETMODE mode selects EPP address
 *   cycles instead of data cycles.
 * - read() never returns 0 on a blocking descriptor: when the peripheral
 *   has no data (nFault high in nibble/byte mode) ppdev retries until data
 *   comes or a signal arrives.  So a blocking read ends on the idle
 *   time-out (-t): SIGALRM interrupts it (EINTR) and the bytes read so far
 *   are the result.  With -n (O_NONBLOCK) read() fails with EAGAIN when
 *   there is no data, which also ends the read, and ppdev uses no slow
 *   polling (PARPORT_INACTIVITY_O_NONBLOCK) inside transfers.
 * - write() returns what the port took; 0 when it timed out (printer busy).
 *   Partial writes are continued until the idle time-out.
 * - Nibble/byte reads of a Device ID (deviceid-*) return the two length
 *   bytes first, as the peripheral sends them.
 * - The alarm is armed only around read()/write(): a signal during PPNEGOT
 *   makes parport_negotiate give up and report EIO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/parport.h>
#include <linux/ppdev.h>

#define EXIT_FAIL 1
#define EXIT_USAGE 2

static const char *prog = "ppdev_xfer";
static const char *dev = "/dev/parport0";
static unsigned int idle_timeout = 5;
static int nonblock;
static volatile sig_atomic_t timed_out;

static const struct {
	const char *name;
	int mode;
} modes[] = {
	{ "compat", IEEE1284_MODE_COMPAT },
	{ "nibble", IEEE1284_MODE_NIBBLE },
	{ "byte", IEEE1284_MODE_BYTE },
	{ "ecp", IEEE1284_MODE_ECP },
	{ "ecprle", IEEE1284_MODE_ECPRLE },
	{ "epp", IEEE1284_MODE_EPP },
	{ "deviceid-nibble", IEEE1284_MODE_NIBBLE | IEEE1284_DEVICEID },
	{ "deviceid-byte", IEEE1284_MODE_BYTE | IEEE1284_DEVICEID },
	{ "deviceid-ecp", IEEE1284_MODE_ECP | IEEE1284_DEVICEID },
};

static void usage(const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, " (see '%s -h')\n", prog);
		exit(EXIT_USAGE);
	}
	fprintf(stderr,
		"usage: %s [-d DEV] [-t SECONDS] [-n] negot MODE...\n"
		"       %s [-d DEV] [-t SECONDS] [-n] write MODE FILE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] read MODE N OUTFILE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] epp-addr write BYTE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] epp-addr read\n"
		"       %s [-d DEV] status\n"
		"  -d DEV      ppdev device (default /dev/parport0)\n"
		"  -t SECONDS  idle time-out of a read or write (default 5, 0 = none)\n"
		"  -n          open with O_NONBLOCK\n"
		"MODE:", prog, prog, prog, prog, prog, prog);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, " %s", modes[i].name);
	fprintf(stderr, ", or a number (IEEE1284_* bits, e.g. 0x10)\n");
	exit(EXIT_USAGE);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
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

/* A mode name or number; -1 if it is neither. */
static int parse_mode(const char *s)
{
	size_t i;
	char *end;
	long v;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(s, modes[i].name))
			return modes[i].mode;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static int mode_arg(const char *s)
{
	int mode = parse_mode(s);

	if (mode < 0)
		usage("unknown mode '%s'", s);
	return mode;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* (Re)start the idle time-out; its SIGALRM interrupts read()/write(). */
static void arm(void)
{
	if (idle_timeout)
		alarm(idle_timeout);
}

static void disarm(void)
{
	alarm(0);
}

static int open_port(void)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));

	if (fd < 0)
		fail("cannot open %s: %s", dev, strerror(errno));
	if (ioctl(fd, PPCLAIM) < 0)
		fail("PPCLAIM on %s: %s", dev, strerror(errno));
	return fd;
}

/* Back to compatibility mode (terminating whatever was negotiated). */
static void to_compat(int fd)
{
	int mode = IEEE1284_MODE_COMPAT;

	if (ioctl(fd, PPNEGOT, &mode) < 0)
		fail("PPNEGOT back to compat: %s", strerror(errno));
	if (ioctl(fd, PPSETMODE, &mode) < 0)
		fail("PPSETMODE compat: %s", strerror(errno));
}

static void release_port(int fd)
{
	if (ioctl(fd, PPRELEASE) < 0)
		fail("PPRELEASE: %s", strerror(errno));
	if (close(fd) < 0)
		fail("close %s: %s", dev, strerror(errno));
}

/* PPNEGOT to mode then PPSETMODE; fails unless the peripheral accepted. */
static void enter_mode(int fd, const char *name, int mode, int setmode)
{
	if (ioctl(fd, PPNEGOT, &mode) < 0) {
		if (errno == ENXIO)
			fail("negotiation of %s: rejected by the peripheral", name);
		if (errno == EIO)
			fail("negotiation of %s: no IEEE 1284 answer (EIO)", name);
		fail("negotiation of %s: %s", name, strerror(errno));
	}
	if (ioctl(fd, PPSETMODE, &setmode) < 0)
		fail("PPSETMODE %s: %s", name, strerror(errno));
}

static int cmd_negot(int argc, char **argv)
{
	int fd, i;

	if (argc < 1)
		usage("negot needs at least one MODE");
	for (i = 0; i < argc; i++)
		mode_arg(argv[i]);

	fd = open_port();
	for (i = 0; i < argc; i++) {
		int mode = parse_mode(argv[i]);

		if (ioctl(fd, PPNEGOT, &mode) == 0)
			printf("%s ok\n", argv[i]);
		else if (errno == ENXIO)
			printf("%s rejected\n", argv[i]);
		else
			printf("%s error %s\n", argv[i], errname(errno));
		to_compat(fd);
	}
	release_port(fd);
	return 0;
}

/* write() all of buf, continuing partial writes; returns bytes written. */
static size_t write_all(int fd, const unsigned char *buf, size_t len)
{
	size_t done = 0;

	while (done < len && !timed_out) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n > 0) {
			done += n;
			arm();
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			fail("write to %s after %zu bytes: %s", dev, done, strerror(errno));
		/* 0 (the port timed out) or EAGAIN: the peripheral is busy */
		if (!timed_out)
			usleep(1000);
	}
	return done;
}

static int cmd_write(int argc, char **argv)
{
	static unsigned char buf[65536];
	size_t total = 0;
	int fd, in, mode;

	if (argc != 2)
		usage("write needs MODE FILE");
	mode = mode_arg(argv[0]);
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail("cannot open %s: %s", argv[1], strerror(errno));

	fd = open_port();
	enter_mode(fd, argv[0], mode, mode);
	arm();
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		size_t w;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read %s: %s", argv[1], strerror(errno));
		if (n == 0)
			break;
		w = write_all(fd, buf, n);
		total += w;
		if (w < (size_t)n) {
			disarm();
			fail("write to %s stalled: %zu of the bytes taken, none for %u s",
			     dev, total, idle_timeout);
		}
	}
	disarm();
	close(in);
	to_compat(fd);
	release_port(fd);
	printf("wrote %zu\n", total);
	return 0;
}

/*
 * read() up to len bytes.  Ends early when read() returns 0, fails with
 * EAGAIN (O_NONBLOCK, no data) or is interrupted by the idle time-out.
 */
static size_t read_upto(int fd, unsigned char *buf, size_t len)
{
	size_t done = 0;

	arm();
	while (done < len && !timed_out) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n > 0) {
			done += n;
			arm();
			continue;
		}
		if (n == 0 || errno == EAGAIN || (errno == EINTR && timed_out))
			break;
		if (errno == EINTR)
			continue;
		disarm();
		fail("read from %s after %zu bytes: %s", dev, done, strerror(errno));
	}
	disarm();
	return done;
}

static int cmd_read(int argc, char **argv)
{
	unsigned char *buf;
	unsigned long long want;
	size_t got, off = 0;
	char *end;
	int fd, out, mode;

	if (argc != 3)
		usage("read needs MODE N OUTFILE");
	mode = mode_arg(argv[0]);
	errno = 0;
	want = strtoull(argv[1], &end, 0);
	if (errno || end == argv[1] || *end || argv[1][0] == '-' || want > (1ULL << 30))
		usage("bad byte count '%s'", argv[1]);
	buf = malloc(want ? want : 1);
	if (!buf)
		fail("out of memory for %llu bytes", want);
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		fail("cannot create %s: %s", argv[2], strerror(errno));

	fd = open_port();
	enter_mode(fd, argv[0], mode, mode);
	got = read_upto(fd, buf, want);
	to_compat(fd);
	release_port(fd);

	while (off < got) {
		ssize_t n = write(out, buf + off, got - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("write %s: %s", argv[2], strerror(errno));
		off += n;
	}
	if (close(out) < 0)
		fail("close %s: %s", argv[2], strerror(errno));
	free(buf);
	printf("read %zu\n", got);
	return 0;
}

static int cmd_epp_addr(int argc, char **argv)
{
	const int mode = IEEE1284_MODE_EPP;
	unsigned char byte = 0;
	int fd;

	if (argc == 2 && !strcmp(argv[0], "write")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(argv[1], &end, 0);
		if (errno || end == argv[1] || *end || v < 0 || v > 0xff)
			usage("bad byte '%s' (0-255, e.g. 0x2a)", argv[1]);
		byte = (unsigned char)v;
		fd = open_port();
		enter_mode(fd, "epp", mode, mode | IEEE1284_ADDR);
		arm();
		if (write_all(fd, &byte, 1) != 1) {
			disarm();
			fail("EPP address write to %s: no cycle within %u s", dev,
			     idle_timeout);
		}
		disarm();
		to_compat(fd);
		release_port(fd);
		printf("wrote 1\n");
		return 0;
	}
	if (argc == 1 && !strcmp(argv[0], "read")) {
		fd = open_port();
		enter_mode(fd, "epp", mode, mode | IEEE1284_ADDR);
		if (read_upto(fd, &byte, 1) != 1)
			fail("EPP address read from %s: no data within %u s", dev,
			     idle_timeout);
		to_compat(fd);
		release_port(fd);
		printf("addr 0x%02x\n", byte);
		return 0;
	}
	usage("epp-addr needs 'write BYTE' or 'read'");
	return EXIT_USAGE;
}

static int cmd_status(int argc, char **argv)
{
	unsigned char status;
	int fd;

	(void)argv;
	if (argc != 0)
		usage("status takes no arguments");
	fd = open_port();
	if (ioctl(fd, PPRSTATUS, &status) < 0)
		fail("PPRSTATUS: %s", strerror(errno));
	release_port(fd);
	printf("status 0x%02x\n", status);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	const char *cmd;
	int opt;

	if (argv[0] && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	else if (argv[0] && *argv[0])
		prog = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "+d:t:nh")) != -1) {
		char *end;
		unsigned long v;

		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 't':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v > 86400)
				usage("bad time-out '%s' (seconds, 0-86400)", optarg);
			idle_timeout = (unsigned int)v;
			break;
		case 'n':
			nonblock = 1;
			break;
		case 'h':
			usage(NULL);
			break;
		default:
			usage(NULL);
		}
	}
	if (optind >= argc)
		usage("no command");

	/* No SA_RESTART: the alarm must interrupt ppdev's read and write. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	if (!strcmp(cmd, "negot"))
		return cmd_negot(argc, argv);
	if (!strcmp(cmd, "write"))
		return cmd_write(argc, argv);
	if (!strcmp(cmd, "read"))
		return cmd_read(argc, argv);
	if (!strcmp(cmd, "epp-addr"))
		return cmd_epp_addr(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	usage("unknown command '%s'", cmd);
	return EXIT_USAGE;
}
