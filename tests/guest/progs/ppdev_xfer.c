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
 *   ppdev_xfer [OPTIONS] cpp CMD              one IEEE 1284.3 daisy-chain
 *                                             command packet (CMD 0-255),
 *                                             print "status 0xNN", or
 *                                             "aa5500ff(0xNN)" /
 *                                             "aa5500ff87(0xNN)" when the
 *                                             chain did not answer the prefix
 *   ppdev_xfer [OPTIONS] scan                 assign daisy-chain addresses,
 *                                             print "found N", then
 *                                             deselect all (CPP 0x30)
 *   ppdev_xfer [OPTIONS] mux                  port-multiplexer probe, print
 *                                             "mux rc N" or "mux EIO", then
 *                                             "mux yes" or "mux no"
 *
 * Options: -d DEV (default /dev/parport0), -t SECONDS (idle time-out of a
 * transfer, default 5, 0 = none), -n (open with O_NONBLOCK), -s ADDR (select
 * IEEE 1284.3 daisy-chain device ADDR, 0-3, for negot, write, read,
 * epp-addr and status; not allowed with cpp, scan and mux).
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
 *
 * IEEE 1284.3 (drivers/parport/daisy.c in Linux 6.1), done from user space
 * with PPDATADIR (forward), PPWDATA, PPRSTATUS and PPFCONTROL (nStrobe)
 * only, with the same bytes, status checks and order as the kernel; the
 * udelay()s are clock_nanosleep()s of the same length:
 *
 * - cpp_daisy() is daisy.c's cpp_daisy(): AA 55 00 FF, status masked with
 *   Busy|PError|Select|nFault must be all four ("aa5500ff" check), 87, the
 *   masked status must be Select|nFault ("aa5500ff87" check), 78, CMD,
 *   nStrobe low, sample the status, nStrobe high, FF.  It returns the
 *   sampled status (PPRSTATUS, raw) or -ENXIO when a check failed.  "cpp"
 *   prints the masked status of a failed check as daisy.c's pr_debug does.
 * - -s ADDR selects like parport_daisy_select(): CPP 0x20+ADDR when the
 *   command's MODE is epp (or EPP 1.7 / software EPP), 0xD0+ADDR when it is
 *   ecp or ecprle (or software ECP), 0xE0+ADDR otherwise; "negot" uses its
 *   first MODE, "epp-addr" epp, "status" compat.  The select succeeded when
 *   the sampled status has PARPORT_STATUS_ERROR (nFault, 0x08) set: that is
 *   how share.c reads parport_daisy_select() (it returns !(status & ERROR),
 *   and 0 means selected).  A select with nFault clear, or one the chain did
 *   not answer (-ENXIO), fails the command (exit 1) with nothing more sent.
 *   (Linux itself would take -ENXIO as success, as -ENXIO has bit 3 set.)
 *   The select is sent after PPCLAIM, before the command; deselect-all (CPP
 *   0x30, its answer ignored as parport_daisy_deselect_all does) after the
 *   command's return to compat mode, before PPRELEASE.
 * - "scan" is daisy.c's assign_addrs() without the Device ID requests:
 *   AA 55 00 FF and 87 with the same checks (a failed one prints
 *   "aa5500ff(0xNN)" / "aa5500ff87(0xNN)", then "found 0"), 78, read the
 *   status, then for daisy address 0..3 while PError and Select are set:
 *   write the address, nStrobe pulse, count a device, stop when Busy was
 *   clear in the status read before this address (that device is the last),
 *   read the status again.  Then FF.  Linux sends deselect-all before
 *   assign_addrs(); "scan" sends it after (run "cpp 0x30" first to do both).
 * - "mux" is daisy.c's cpp_mux(port, 0x51) as mux_present() uses it:
 *   AA 55 F0 0F 52 AD 51, read the status; nAck low gives -EIO ("mux EIO"),
 *   else rc = Select<<0 | PError<<1 | !Busy<<2 | !nFault<<3 ("mux rc N").
 *   A multiplexer is present when rc == 3 ("mux yes", else "mux no").
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
static int daisy_addr = -1;	/* -s ADDR, -1 = no daisy-chain select */
static int daisy_selected;	/* select sent: deselect-all before release */
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
		"usage: %s [-d DEV] [-t SECONDS] [-n] [-s ADDR] negot MODE...\n"
		"       %s [-d DEV] [-t SECONDS] [-n] [-s ADDR] write MODE FILE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] [-s ADDR] read MODE N OUTFILE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] [-s ADDR] epp-addr write BYTE\n"
		"       %s [-d DEV] [-t SECONDS] [-n] [-s ADDR] epp-addr read\n"
		"       %s [-d DEV] [-s ADDR] status\n"
		"       %s [-d DEV] cpp CMD\n"
		"       %s [-d DEV] scan\n"
		"       %s [-d DEV] mux\n"
		"  -d DEV      ppdev device (default /dev/parport0)\n"
		"  -t SECONDS  idle time-out of a read or write (default 5, 0 = none)\n"
		"  -n          open with O_NONBLOCK\n"
		"  -s ADDR     select IEEE 1284.3 daisy-chain device ADDR (0-3) after\n"
		"              claiming the port, deselect all before releasing it\n"
		"CMD: an IEEE 1284.3 command byte (0-255, e.g. 0x30 = deselect all)\n"
		"MODE:", prog, prog, prog, prog, prog, prog, prog, prog, prog);
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

/* A byte 0-255 (decimal, 0x hex or 0 octal); -1 if it is none. */
static int parse_byte(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < 0 || v > 0xff)
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

/* daisy.c's udelay(): the virtual device answers at once, hardware may not. */
static void udelay(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* parport_data_forward() */
static void data_forward(int fd)
{
	int dir = 0;

	if (ioctl(fd, PPDATADIR, &dir) < 0)
		fail("PPDATADIR forward: %s", strerror(errno));
}

/* parport_write_data() */
static void write_data(int fd, unsigned char byte)
{
	if (ioctl(fd, PPWDATA, &byte) < 0)
		fail("PPWDATA 0x%02x: %s", byte, strerror(errno));
}

/* parport_read_status(): the raw status register, Busy not inverted */
static unsigned char read_status(int fd)
{
	unsigned char status;

	if (ioctl(fd, PPRSTATUS, &status) < 0)
		fail("PPRSTATUS: %s", strerror(errno));
	return status;
}

/* parport_frob_control() */
static void frob_control(int fd, unsigned char mask, unsigned char val)
{
	struct ppdev_frob_struct frob = { .mask = mask, .val = val };

	if (ioctl(fd, PPFCONTROL, &frob) < 0)
		fail("PPFCONTROL: %s", strerror(errno));
}

#define DAISY_STATUS_MASK	(PARPORT_STATUS_BUSY | PARPORT_STATUS_PAPEROUT | \
				 PARPORT_STATUS_SELECT | PARPORT_STATUS_ERROR)

/* Which IEEE 1284.3 prefix check failed, with the masked status it saw. */
struct cpp_fail {
	const char *at;		/* "aa5500ff" or "aa5500ff87", as daisy.c says */
	unsigned char status;
};

/*
 * The IEEE 1284.3 prefix AA 55 00 FF, check, 87, check, as daisy.c's
 * cpp_daisy() and assign_addrs() both send it.  0, or -ENXIO with *why
 * filled in (why may be NULL) when the chain did not answer.
 */
static int daisy_prefix(int fd, struct cpp_fail *why)
{
	unsigned char s;

	data_forward(fd);
	write_data(fd, 0xaa); udelay(2);
	write_data(fd, 0x55); udelay(2);
	write_data(fd, 0x00); udelay(2);
	write_data(fd, 0xff); udelay(2);
	s = read_status(fd) & DAISY_STATUS_MASK;
	if (s != (PARPORT_STATUS_BUSY
		  | PARPORT_STATUS_PAPEROUT
		  | PARPORT_STATUS_SELECT
		  | PARPORT_STATUS_ERROR)) {
		if (why) {
			why->at = "aa5500ff";
			why->status = s;
		}
		return -ENXIO;
	}

	write_data(fd, 0x87); udelay(2);
	s = read_status(fd) & DAISY_STATUS_MASK;
	if (s != (PARPORT_STATUS_SELECT | PARPORT_STATUS_ERROR)) {
		if (why) {
			why->at = "aa5500ff87";
			why->status = s;
		}
		return -ENXIO;
	}
	return 0;
}

/*
 * Send a daisy-chain-style CPP command packet (daisy.c's cpp_daisy()):
 * the status sampled while nStrobe is low, or -ENXIO.
 */
static int cpp_daisy(int fd, int cmd, struct cpp_fail *why)
{
	unsigned char s;

	if (daisy_prefix(fd, why) < 0)
		return -ENXIO;

	write_data(fd, 0x78); udelay(2);
	write_data(fd, (unsigned char)cmd); udelay(2);
	frob_control(fd, PARPORT_CONTROL_STROBE, PARPORT_CONTROL_STROBE);
	udelay(1);
	s = read_status(fd);
	frob_control(fd, PARPORT_CONTROL_STROBE, 0);
	udelay(1);
	write_data(fd, 0xff); udelay(2);

	return s;
}

/* Send a mux-style CPP command packet (daisy.c's cpp_mux()): rc or -EIO. */
static int cpp_mux(int fd, int cmd)
{
	unsigned char s;
	int rc;

	data_forward(fd);
	write_data(fd, 0xaa); udelay(2);
	write_data(fd, 0x55); udelay(2);
	write_data(fd, 0xf0); udelay(2);
	write_data(fd, 0x0f); udelay(2);
	write_data(fd, 0x52); udelay(2);
	write_data(fd, 0xad); udelay(2);
	write_data(fd, (unsigned char)cmd); udelay(2);

	s = read_status(fd);
	if (!(s & PARPORT_STATUS_ACK))
		return -EIO;

	rc = (((s & PARPORT_STATUS_SELECT   ? 1 : 0) << 0) |
	      ((s & PARPORT_STATUS_PAPEROUT ? 1 : 0) << 1) |
	      ((s & PARPORT_STATUS_BUSY     ? 0 : 1) << 2) |
	      ((s & PARPORT_STATUS_ERROR    ? 0 : 1) << 3));

	return rc;
}

/*
 * daisy.c's assign_addrs() up to "Found %d daisy-chained devices" (no
 * Device ID requests): the number of devices given an address, or -ENXIO
 * with *why filled in when the prefix was not answered.
 */
static int assign_addrs(int fd, struct cpp_fail *why)
{
	unsigned char s;
	int daisy, detected = 0;

	if (daisy_prefix(fd, why) < 0)
		return -ENXIO;

	write_data(fd, 0x78); udelay(2);
	s = read_status(fd);

	for (daisy = 0;
	     (s & (PARPORT_STATUS_PAPEROUT | PARPORT_STATUS_SELECT))
		     == (PARPORT_STATUS_PAPEROUT | PARPORT_STATUS_SELECT)
		     && daisy < 4;
	     ++daisy) {
		write_data(fd, (unsigned char)daisy);
		udelay(2);
		frob_control(fd, PARPORT_CONTROL_STROBE, PARPORT_CONTROL_STROBE);
		udelay(1);
		frob_control(fd, PARPORT_CONTROL_STROBE, 0);
		udelay(1);

		detected++;

		/* This device thought it was the last in the chain. */
		if (!(s & PARPORT_STATUS_BUSY))
			break;

		/* Pass-through status now: the next device's. */
		s = read_status(fd);
	}

	write_data(fd, 0xff); udelay(2);
	return detected;
}

/* The select command parport_daisy_select() sends for mode. */
static int daisy_select_cmd(int mode)
{
	switch (mode) {
	case IEEE1284_MODE_EPP:
	case IEEE1284_MODE_EPPSL:
	case IEEE1284_MODE_EPPSWE:
		return 0x20;
	case IEEE1284_MODE_ECP:
	case IEEE1284_MODE_ECPRLE:
	case IEEE1284_MODE_ECPSWE:
		return 0xd0;
	default:
		return 0xe0;
	}
}

/*
 * -s ADDR: select daisy-chain device ADDR for mode, right after PPCLAIM.
 * Selected when nFault (PARPORT_STATUS_ERROR) is set in the answer, as
 * share.c reads parport_daisy_select().  No-op without -s.
 */
static void daisy_select(int fd, int mode)
{
	struct cpp_fail why;
	int s;

	if (daisy_addr < 0)
		return;
	s = cpp_daisy(fd, daisy_select_cmd(mode) + daisy_addr, &why);
	if (s < 0)
		fail("select %d failed: no 1284.3 answer at %s(0x%02x)",
		     daisy_addr, why.at, why.status);
	if (!(s & PARPORT_STATUS_ERROR))
		fail("select %d failed (status 0x%02x)", daisy_addr, s);
	daisy_selected = 1;
}

/* For the commands that send their own IEEE 1284.3 packets. */
static void no_select(const char *cmd)
{
	if (daisy_addr >= 0)
		usage("-s does not go with %s", cmd);
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
	/* After -s: deselect all, answer ignored (parport_daisy_deselect_all) */
	if (daisy_selected) {
		cpp_daisy(fd, 0x30, NULL);
		daisy_selected = 0;
	}
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
	daisy_select(fd, parse_mode(argv[0]));
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
	daisy_select(fd, mode);
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
	daisy_select(fd, mode);
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
		int v = parse_byte(argv[1]);

		if (v < 0)
			usage("bad byte '%s' (0-255, e.g. 0x2a)", argv[1]);
		byte = (unsigned char)v;
		fd = open_port();
		daisy_select(fd, mode);
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
		daisy_select(fd, mode);
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
	daisy_select(fd, IEEE1284_MODE_COMPAT);
	if (ioctl(fd, PPRSTATUS, &status) < 0)
		fail("PPRSTATUS: %s", strerror(errno));
	release_port(fd);
	printf("status 0x%02x\n", status);
	return 0;
}

static int cmd_cpp(int argc, char **argv)
{
	struct cpp_fail why;
	int fd, cmd, s;

	if (argc != 1)
		usage("cpp needs CMD");
	cmd = parse_byte(argv[0]);
	if (cmd < 0)
		usage("bad command byte '%s' (0-255, e.g. 0x30)", argv[0]);
	no_select("cpp");
	fd = open_port();
	s = cpp_daisy(fd, cmd, &why);
	release_port(fd);
	if (s < 0)
		printf("%s(0x%02x)\n", why.at, why.status);
	else
		printf("status 0x%02x\n", s);
	return 0;
}

static int cmd_scan(int argc, char **argv)
{
	struct cpp_fail why;
	int fd, n;

	(void)argv;
	if (argc != 0)
		usage("scan takes no arguments");
	no_select("scan");
	fd = open_port();
	n = assign_addrs(fd, &why);
	cpp_daisy(fd, 0x30, NULL);
	release_port(fd);
	if (n < 0) {
		printf("%s(0x%02x)\n", why.at, why.status);
		n = 0;
	}
	printf("found %d\n", n);
	return 0;
}

static int cmd_mux(int argc, char **argv)
{
	int fd, rc;

	(void)argv;
	if (argc != 0)
		usage("mux takes no arguments");
	no_select("mux");
	fd = open_port();
	rc = cpp_mux(fd, 0x51);
	release_port(fd);
	if (rc < 0)
		printf("mux EIO\n");
	else
		printf("mux rc %d\n", rc);
	printf("mux %s\n", rc == 3 ? "yes" : "no");
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

	while ((opt = getopt(argc, argv, "+d:t:ns:h")) != -1) {
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
		case 's':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v > 3)
				usage("bad daisy-chain address '%s' (0-3)", optarg);
			daisy_addr = (int)v;
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
	if (!strcmp(cmd, "cpp"))
		return cmd_cpp(argc, argv);
	if (!strcmp(cmd, "scan"))
		return cmd_scan(argc, argv);
	if (!strcmp(cmd, "mux"))
		return cmd_mux(argc, argv);
	usage("unknown command '%s'", cmd);
	return EXIT_USAGE;
}
