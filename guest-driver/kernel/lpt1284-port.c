// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the port - its hardware and the allocate queue
 *
 * The queue is the heart of the Windows model: allocate, select and lock
 * requests of every client, and read()/write() requests that need the
 * port, wait in one list and are granted strictly in arrival order.  A
 * request leaves the list when it is granted, when it times out, when a
 * signal interrupts it, or when its file is closed; the others keep their
 * order.  Only the holder touches the hardware, so the hardware code needs
 * no lock of its own.
 *
 * The IEEE 1284 sequences follow Linux's drivers/parport/ieee1284.c and
 * ieee1284_ops.c event by event.  Waits poll briefly, then sleep on the
 * port's interrupt with a short tick as the fallback (a late interrupt),
 * or poll with short sleeps when the port has no IRQ.  Every wait and
 * every transfer loop stops for a signal (-ERESTARTSYS) and for the
 * port's removal (-ENODEV), and transfers reschedule every chunk, as
 * ppdev does: a transfer returns the bytes already moved, or the error
 * when none were.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <asm/dma.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "lpt1284-priv.h"

/* Registers */

u8 lpt1284_read_status(struct lpt1284_port *port)
{
	return inb(port->base + LPT_STATUS);
}

void lpt1284_write_data(struct lpt1284_port *port, u8 val)
{
	outb(val, port->base + LPT_DATA);
}

static u8 lpt1284_read_data(struct lpt1284_port *port)
{
	return inb(port->base + LPT_DATA);
}

void lpt1284_write_control(struct lpt1284_port *port, u8 val)
{
	port->ctr = val;
	outb(val, port->base + LPT_CONTROL);
}

void lpt1284_frob_control(struct lpt1284_port *port, u8 mask, u8 val)
{
	lpt1284_write_control(port, (port->ctr & ~mask) | val);
}

static void lpt1284_write_ecr(struct lpt1284_port *port, u8 val)
{
	port->ecr = val;
	outb(val, port->base_hi + LPT_ECP_ECR);
}

static u8 lpt1284_read_ecr(struct lpt1284_port *port)
{
	return inb(port->base_hi + LPT_ECP_ECR);
}

/* Change the ECR mode; FIFO modes are entered from PS/2, as the spec asks */
static void lpt1284_set_ecr_mode(struct lpt1284_port *port, u8 mode)
{
	u8 ecr = LPT_ECR_NERRINTR | LPT_ECR_SERVICE;

	if (!port->base_hi)
		return;
	if ((port->ecr & LPT_ECR_MODE) > LPT_ECR_PS2 && mode > LPT_ECR_PS2)
		lpt1284_write_ecr(port, ecr | LPT_ECR_PS2);
	lpt1284_write_ecr(port, ecr | mode);
}

static void lpt1284_data_forward(struct lpt1284_port *port)
{
	lpt1284_frob_control(port, LPT_CTR_DIR, 0);
}

static void lpt1284_data_reverse(struct lpt1284_port *port)
{
	lpt1284_frob_control(port, LPT_CTR_DIR, LPT_CTR_DIR);
}

/* Compatibility mode, forward idle: nInit high, nSelectIn low */
void lpt1284_port_reset(struct lpt1284_port *port)
{
	lpt1284_set_ecr_mode(port, port->caps & LPT1284_CAP_PS2 ?
			     LPT_ECR_PS2 : LPT_ECR_SPP);
	lpt1284_write_control(port, LPT_CTR_SELECT | LPT_CTR_INIT |
			      (port->irq >= 0 ? LPT_CTR_IRQ : 0));
}

/*
 * Between two waits and every LPT1284_CHUNK bytes of a transfer: -ENODEV
 * once the port is removed, -ERESTARTSYS when a signal is pending, else
 * reschedule if needed and 0.
 */
int lpt1284_io_yield(struct lpt1284_port *port)
{
	if (READ_ONCE(port->dead))
		return -ENODEV;
	if (signal_pending(current))
		return -ERESTARTSYS;
	cond_resched();
	return 0;
}

/*
 * Wait until cond(port, mask, val) holds: a fast poll of about 50 us,
 * then sleeps - woken by the port's interrupt with a 1-jiffy tick for a
 * late one, or 50-100 us at a time when the port has no IRQ - up to
 * timeout_ms.  Returns 0, -ETIMEDOUT, -ENODEV, or -ERESTARTSYS when
 * @stoppable and a signal is pending.
 */
static int lpt1284_wait_for(struct lpt1284_port *port,
			    bool (*cond)(struct lpt1284_port *, u8, u8),
			    u8 mask, u8 val, unsigned int timeout_ms,
			    bool stoppable)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	int i, ret;

	for (i = 0; i < 50; i++) {
		if (cond(port, mask, val))
			return 0;
		udelay(1);
	}
	for (;;) {
		if (stoppable) {
			ret = lpt1284_io_yield(port);
			if (ret)
				return ret;
		} else if (READ_ONCE(port->dead)) {
			return -ENODEV;
		}
		if (port->irq < 0)
			usleep_range(50, 100);
		else if (stoppable)
			wait_event_interruptible_timeout(port->irq_wq,
							 cond(port, mask, val) ||
							 READ_ONCE(port->dead),
							 1);
		else
			wait_event_timeout(port->irq_wq,
					   cond(port, mask, val) ||
					   READ_ONCE(port->dead), 1);
		if (cond(port, mask, val))
			return 0;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
	}
}

static bool lpt1284_status_is(struct lpt1284_port *port, u8 mask, u8 val)
{
	return (lpt1284_read_status(port) & mask) == val;
}

/* Wait until (status & mask) == val; a signal stops it */
static int lpt1284_wait(struct lpt1284_port *port, u8 mask, u8 val,
			unsigned int timeout_ms)
{
	return lpt1284_wait_for(port, lpt1284_status_is, mask, val,
				timeout_ms, true);
}

/* The same for terminations: bounded, but a signal does not stop it */
static int lpt1284_wait_end(struct lpt1284_port *port, u8 mask, u8 val,
			    unsigned int timeout_ms)
{
	return lpt1284_wait_for(port, lpt1284_status_is, mask, val,
				timeout_ms, false);
}

static bool lpt1284_ecr_is(struct lpt1284_port *port, u8 bit, u8 set)
{
	return !!(lpt1284_read_ecr(port) & bit) == !!set;
}

/* Wait until an ECR bit is @set, up to the I/O time-out */
static int lpt1284_wait_ecr(struct lpt1284_port *port, u8 bit, bool set)
{
	return lpt1284_wait_for(port, lpt1284_ecr_is, bit, set,
				LPT1284_IO_TIMEOUT_MS, true);
}

/* What the port hardware has: ECR, PS/2, EPP, ECP and the FIFO depth */
void lpt1284_port_probe(struct lpt1284_port *port)
{
	u8 r;
	int n;

	port->caps = LPT1284_CAP_SPP;
	port->fifo_depth = 0;
	port->phase = LPT1284_MODE_COMPAT;
	lpt1284_write_control(port, LPT_CTR_SELECT | LPT_CTR_INIT);

	/* ECR: low bits 01 (FIFO empty) and 0x34 reads back as 0x35 */
	if (port->base_hi) {
		r = lpt1284_read_ecr(port);
		if ((r & 0x03) == LPT_ECR_EMPTY) {
			lpt1284_write_ecr(port, 0x34);
			if (lpt1284_read_ecr(port) != 0x35)
				port->base_hi = 0;
		} else {
			port->base_hi = 0;
		}
	}
	if (port->base_hi) {
		port->ecr = 0x34;
		lpt1284_set_ecr_mode(port, LPT_ECR_PS2);
	}

	/* PS/2: with the direction bit set, written data does not read back */
	lpt1284_data_reverse(port);
	lpt1284_write_data(port, 0x55);
	r = lpt1284_read_data(port);
	lpt1284_write_data(port, 0xaa);
	if (r != 0x55 && lpt1284_read_data(port) != 0xaa)
		port->caps |= LPT1284_CAP_PS2;
	lpt1284_data_forward(port);

	if (port->base_hi) {
		/* EPP: in ECR mode 100 the time-out bit clears */
		lpt1284_set_ecr_mode(port, LPT_ECR_EPP);
		r = lpt1284_read_status(port);
		outb(r | LPT_STR_TIMEOUT, port->base + LPT_STATUS);
		outb(r & ~LPT_STR_TIMEOUT, port->base + LPT_STATUS);
		if (!(lpt1284_read_status(port) & LPT_STR_TIMEOUT))
			port->caps |= LPT1284_CAP_EPP | LPT1284_CAP_EPP32;

		/* ECP with a FIFO: its depth in test mode */
		lpt1284_set_ecr_mode(port, LPT_ECR_TEST);
		if ((lpt1284_read_ecr(port) & LPT_ECR_MODE) == LPT_ECR_TEST) {
			for (n = 0; n < 1024; n++) {
				if (lpt1284_read_ecr(port) & LPT_ECR_FULL)
					break;
				outb(0xaa, port->base_hi + LPT_ECP_FIFO);
			}
			if (n && n < 1024) {
				port->fifo_depth = n;
				port->caps |= LPT1284_CAP_ECP | LPT1284_CAP_FIFO;
				if (port->dma >= 0)
					port->caps |= LPT1284_CAP_DMA;
			}
		}
		/* Modes 000 and 001 empty the FIFO */
		lpt1284_set_ecr_mode(port, LPT_ECR_PS2);
	}
	lpt1284_port_reset(port);
}

/* The phase an extensibility byte negotiates */
static u32 lpt1284_xb_mode(u8 xb)
{
	if (xb & 0x10)
		return LPT1284_MODE_ECP;
	if (xb & 0x40)
		return LPT1284_MODE_EPP;
	if (xb & 0x01)
		return LPT1284_MODE_BYTE;
	return LPT1284_MODE_NIBBLE;
}

/*
 * IEEE 1284 negotiation, events 0-6 (and 30-31 for ECP).  Returns 0,
 * -ENXIO when the peripheral refused the mode, -EIO when it did not
 * answer, or the wait's -ERESTARTSYS/-ENODEV.  On every error the port
 * is back in compatibility mode.
 */
int lpt1284_negotiate(struct lpt1284_port *port, u8 xb)
{
	bool xflag, ok;
	int ret;

	lpt1284_frob_control(port, LPT_CTR_STROBE | LPT_CTR_AUTOFD |
			     LPT_CTR_SELECT, LPT_CTR_SELECT);
	udelay(1);
	lpt1284_data_forward(port);
	lpt1284_write_data(port, xb);			/* event 0 */
	udelay(1);
	lpt1284_frob_control(port, LPT_CTR_SELECT | LPT_CTR_AUTOFD,
			     LPT_CTR_AUTOFD);		/* event 1 */
	ret = lpt1284_wait(port, LPT_STR_ERROR | LPT_STR_SELECT |
			   LPT_STR_PERROR | LPT_STR_ACK,
			   LPT_STR_ERROR | LPT_STR_SELECT | LPT_STR_PERROR,
			   35);				/* event 2 */
	if (ret) {
		lpt1284_frob_control(port, LPT_CTR_SELECT | LPT_CTR_AUTOFD,
				     LPT_CTR_SELECT);
		return ret == -ETIMEDOUT ? -EIO : ret;
	}
	lpt1284_frob_control(port, LPT_CTR_STROBE, LPT_CTR_STROBE); /* 3 */
	udelay(5);
	lpt1284_frob_control(port, LPT_CTR_STROBE | LPT_CTR_AUTOFD, 0); /* 4 */
	ret = lpt1284_wait(port, LPT_STR_ACK, LPT_STR_ACK, 35);	/* event 6 */
	if (ret) {
		lpt1284_frob_control(port, LPT_CTR_SELECT, LPT_CTR_SELECT);
		return ret == -ETIMEDOUT ? -EIO : ret;
	}
	port->phase = lpt1284_xb_mode(xb);
	/* XFlag high means yes, except for plain nibble mode */
	xflag = lpt1284_read_status(port) & LPT_STR_SELECT;
	ok = xb == 0 ? !xflag : xflag;
	if (!ok) {
		lpt1284_terminate(port, LPT1284_MODE_NIBBLE);
		return -ENXIO;
	}
	if (xb & 0x10) {
		/* ECP: event 30, nAutoFd low; event 31, PError high */
		lpt1284_frob_control(port, LPT_CTR_AUTOFD, LPT_CTR_AUTOFD);
		ret = lpt1284_wait(port, LPT_STR_PERROR, LPT_STR_PERROR, 35);
		if (ret) {
			lpt1284_terminate(port, LPT1284_MODE_ECP);
			return ret == -ETIMEDOUT ? -EIO : ret;
		}
	}
	return 0;
}

/*
 * Back to compatibility mode (events 22-29; EPP: events 68-69).  Its
 * waits are bounded and not stopped by signals: a termination is always
 * attempted in full.
 */
void lpt1284_terminate(struct lpt1284_port *port, u32 mode)
{
	port->phase = LPT1284_MODE_COMPAT;
	lpt1284_set_ecr_mode(port, port->caps & LPT1284_CAP_PS2 ?
			     LPT_ECR_PS2 : LPT_ECR_SPP);
	if (mode == LPT1284_MODE_EPP) {
		lpt1284_frob_control(port, LPT_CTR_INIT, 0);
		usleep_range(50, 100);
		lpt1284_frob_control(port, LPT_CTR_SELECT | LPT_CTR_INIT,
				     LPT_CTR_SELECT | LPT_CTR_INIT);
		return;
	}
	lpt1284_data_forward(port);
	lpt1284_frob_control(port, LPT_CTR_SELECT | LPT_CTR_AUTOFD |
			     LPT_CTR_STROBE | LPT_CTR_INIT,
			     LPT_CTR_SELECT | LPT_CTR_INIT);	/* event 22 */
	if (lpt1284_wait_end(port, LPT_STR_ACK, 0, 35))		/* event 24 */
		goto out;
	lpt1284_frob_control(port, LPT_CTR_AUTOFD, LPT_CTR_AUTOFD); /* 25 */
	lpt1284_wait_end(port, LPT_STR_ACK, LPT_STR_ACK, 35);	/* event 27 */
out:
	lpt1284_frob_control(port, LPT_CTR_AUTOFD, 0);		/* event 29 */
}

/* What a short transfer returns: the bytes moved, else the error */
static ssize_t lpt1284_moved(size_t done, int err)
{
	return done ? done : err;
}

/*
 * Nibble or byte mode reverse transfer (events 7-11, 14-17): the bytes
 * read; 0 when the peripheral had none or stopped answering; an error
 * only for a signal or the port's removal before the first byte.
 */
ssize_t lpt1284_read_nibble(struct lpt1284_port *port, u8 *buf, size_t len,
			    bool byte_mode)
{
	size_t i;
	u8 st, byte;
	int half, err = 0;

	for (i = 0; i < len; i++) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		/* nDataAvail high: the peripheral has nothing more */
		if (lpt1284_read_status(port) & LPT_STR_ERROR)
			break;
		if (byte_mode) {
			lpt1284_data_reverse(port);
			lpt1284_frob_control(port, LPT_CTR_AUTOFD,
					     LPT_CTR_AUTOFD);	/* event 7 */
			err = lpt1284_wait(port, LPT_STR_ACK, 0, 35);
			if (err)
				break;				/* event 9 */
			buf[i] = lpt1284_read_data(port);
			lpt1284_frob_control(port, LPT_CTR_AUTOFD, 0);
			err = lpt1284_wait(port, LPT_STR_ACK, LPT_STR_ACK, 35);
			if (err)
				break;				/* event 11 */
			lpt1284_frob_control(port, LPT_CTR_STROBE,
					     LPT_CTR_STROBE);	/* event 16 */
			lpt1284_frob_control(port, LPT_CTR_STROBE, 0);
			continue;
		}
		byte = 0;
		for (half = 0; half < 2; half++) {
			lpt1284_frob_control(port, LPT_CTR_AUTOFD,
					     LPT_CTR_AUTOFD);	/* event 7 */
			err = lpt1284_wait(port, LPT_STR_ACK, 0, 35);
			if (err)
				goto out;			/* event 9 */
			st = lpt1284_read_status(port);
			byte |= (((st >> 3) & 7) |
				 (st & LPT_STR_BUSY ? 0 : 8)) << (4 * half);
			lpt1284_frob_control(port, LPT_CTR_AUTOFD, 0);
			err = lpt1284_wait(port, LPT_STR_ACK, LPT_STR_ACK, 35);
			if (err)
				goto out;			/* event 11 */
		}
		buf[i] = byte;
	}
out:
	lpt1284_data_forward(port);
	return lpt1284_moved(i, err == -ETIMEDOUT ? 0 : err);
}

/* Why a peripheral holding Busy stopped: ENOSPC, EIO, or still waiting */
static int lpt1284_stop_reason(u8 st)
{
	if (st & LPT_STR_PERROR)
		return -ENOSPC;
	if (!(st & LPT_STR_SELECT) || !(st & LPT_STR_ERROR))
		return -EIO;
	return 0;
}

/* Compatibility mode, the SPP handshake (Centronics) */
static ssize_t lpt1284_write_compat(struct lpt1284_port *port, const u8 *buf,
				    size_t len)
{
	unsigned long deadline;
	size_t i;
	int err = 0;
	u8 st;

	lpt1284_data_forward(port);
	for (i = 0; i < len; i++) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		deadline = jiffies + msecs_to_jiffies(LPT1284_IO_TIMEOUT_MS);
		for (;;) {
			st = lpt1284_read_status(port);
			if (st & LPT_STR_BUSY)		/* Busy line low */
				break;
			err = lpt1284_stop_reason(st);
			if (err)
				goto out;
			err = lpt1284_wait(port, LPT_STR_BUSY, LPT_STR_BUSY, 10);
			if (!err)
				break;
			if (err != -ETIMEDOUT)
				goto out;
			if (time_after(jiffies, deadline))
				goto out;
		}
		lpt1284_write_data(port, buf[i]);
		udelay(1);
		lpt1284_frob_control(port, LPT_CTR_STROBE, LPT_CTR_STROBE);
		udelay(1);
		lpt1284_frob_control(port, LPT_CTR_STROBE, 0);
	}
out:
	return lpt1284_moved(i, err);
}

/* EPP data cycles through the port's EPP registers */
static int lpt1284_epp_check(struct lpt1284_port *port)
{
	u8 r = lpt1284_read_status(port);

	if (!(r & LPT_STR_TIMEOUT))
		return 0;
	/* Clear the time-out: both known ways */
	outb(r | LPT_STR_TIMEOUT, port->base + LPT_STATUS);
	outb(r & ~LPT_STR_TIMEOUT, port->base + LPT_STATUS);
	return -ETIMEDOUT;
}

static ssize_t lpt1284_write_epp(struct lpt1284_port *port, const u8 *buf,
				 size_t len)
{
	size_t i;
	int err = 0;

	lpt1284_data_forward(port);
	lpt1284_set_ecr_mode(port, LPT_ECR_EPP);
	for (i = 0; i < len; i++) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		outb(buf[i], port->base + LPT_EPP_DATA);
		err = lpt1284_epp_check(port);
		if (err)
			break;
	}
	return lpt1284_moved(i, err);
}

static ssize_t lpt1284_read_epp(struct lpt1284_port *port, u8 *buf,
				size_t len)
{
	size_t i;
	int err = 0;

	lpt1284_data_reverse(port);
	lpt1284_set_ecr_mode(port, LPT_ECR_EPP);
	for (i = 0; i < len; i++) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		buf[i] = inb(port->base + LPT_EPP_DATA);
		if (lpt1284_epp_check(port))
			break;
	}
	lpt1284_data_forward(port);
	return lpt1284_moved(i, err);
}

/*
 * How many bytes the FIFO still holds, as parport_pc counts them after a
 * time-out: in test mode (the FIFO kept) fill it up and count the free
 * entries.  Leaves the port in PS/2 mode, the FIFO emptied.
 */
static size_t lpt1284_fifo_residue(struct lpt1284_port *port)
{
	size_t free_entries = 0;

	lpt1284_write_ecr(port, LPT_ECR_TEST | LPT_ECR_NERRINTR |
			  LPT_ECR_SERVICE);
	while (free_entries < port->fifo_depth &&
	       !(lpt1284_read_ecr(port) & LPT_ECR_FULL)) {
		outb(0, port->base_hi + LPT_ECP_FIFO);
		free_entries++;
	}
	lpt1284_set_ecr_mode(port, LPT_ECR_PS2);
	return port->fifo_depth - free_entries;
}

/*
 * Wait until the FIFO is empty (bounded by the I/O time-out).  What it
 * still holds then was not taken: @done, the bytes put into the FIFO,
 * less those.
 */
static ssize_t lpt1284_ecp_drain(struct lpt1284_port *port, size_t done,
				 int err)
{
	int ret;

	ret = lpt1284_wait_ecr(port, LPT_ECR_EMPTY, true);
	if (ret) {
		done -= min(done, lpt1284_fifo_residue(port));
		if (!err)
			err = ret;
		return lpt1284_moved(done, err);
	}
	/* PS/2 mode empties the FIFO */
	lpt1284_set_ecr_mode(port, LPT_ECR_PS2);
	return lpt1284_moved(done, err);
}

/*
 * ECP forward through the FIFO by programmed I/O: the port does the
 * handshake; a full FIFO waits for the service interrupt (half empty).
 */
static ssize_t lpt1284_write_ecp_pio(struct lpt1284_port *port, const u8 *buf,
				     size_t len)
{
	size_t i = 0;
	int err = 0;

	while (i < len) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		if (!(lpt1284_read_ecr(port) & LPT_ECR_FULL)) {
			outb(buf[i++], port->base_hi + LPT_ECP_FIFO);
			continue;
		}
		/* serviceIntr cleared: set again, with an IRQ, at half empty */
		lpt1284_write_ecr(port, LPT_ECR_ECP | LPT_ECR_NERRINTR);
		err = lpt1284_wait_ecr(port, LPT_ECR_FULL, false);
		if (err)
			break;
	}
	return lpt1284_ecp_drain(port, i, err);
}

/*
 * ECP forward by ISA DMA, a bounce page at a time: the port asks for the
 * bytes (dmaEn, serviceIntr clear) and sets serviceIntr at terminal count.
 */
static ssize_t lpt1284_write_ecp_dma(struct lpt1284_port *port, const u8 *buf,
				     size_t len)
{
	size_t done = 0, count, residue;
	unsigned long flags;
	int err = 0;

	while (done < len) {
		if (done) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		count = min_t(size_t, len - done, PAGE_SIZE);
		memcpy(port->dma_buf, buf + done, count);
		flags = claim_dma_lock();
		disable_dma(port->dma);
		clear_dma_ff(port->dma);
		set_dma_mode(port->dma, DMA_MODE_WRITE);
		set_dma_addr(port->dma, isa_virt_to_bus(port->dma_buf));
		set_dma_count(port->dma, count);
		lpt1284_write_ecr(port, LPT_ECR_ECP | LPT_ECR_NERRINTR |
				  LPT_ECR_DMAEN);
		enable_dma(port->dma);
		release_dma_lock(flags);

		err = lpt1284_wait_ecr(port, LPT_ECR_SERVICE, true);

		flags = claim_dma_lock();
		disable_dma(port->dma);
		clear_dma_ff(port->dma);
		residue = get_dma_residue(port->dma);
		release_dma_lock(flags);
		lpt1284_write_ecr(port, LPT_ECR_ECP | LPT_ECR_NERRINTR |
				  LPT_ECR_SERVICE);
		done += count - min(residue, count);
		if (residue && !err)
			err = -ETIMEDOUT;
		if (err)
			break;
	}
	return lpt1284_ecp_drain(port, done, err);
}

/* ECP forward through the FIFO, by DMA when the port has a channel */
static ssize_t lpt1284_write_ecp(struct lpt1284_port *port, const u8 *buf,
				 size_t len)
{
	lpt1284_data_forward(port);
	lpt1284_set_ecr_mode(port, LPT_ECR_ECP);
	if (port->dma_buf)
		return lpt1284_write_ecp_dma(port, buf, len);
	return lpt1284_write_ecp_pio(port, buf, len);
}

/* ECP reverse at pin level (events 38-49) */
static ssize_t lpt1284_read_ecp(struct lpt1284_port *port, u8 *buf,
				size_t len)
{
	size_t i = 0;
	int err;

	lpt1284_set_ecr_mode(port, LPT_ECR_PS2);
	lpt1284_frob_control(port, LPT_CTR_AUTOFD, LPT_CTR_AUTOFD); /* 38 */
	lpt1284_data_reverse(port);
	lpt1284_frob_control(port, LPT_CTR_INIT, 0);		/* event 39 */
	err = lpt1284_wait(port, LPT_STR_PERROR, 0, 35);	/* event 40 */
	if (err)
		goto back;
	while (i < len) {
		if (i && !(i % LPT1284_CHUNK)) {
			err = lpt1284_io_yield(port);
			if (err)
				break;
		}
		err = lpt1284_wait(port, LPT_STR_ACK, 0, 10);	/* event 43 */
		if (err)
			break;
		if (!(lpt1284_read_status(port) & LPT_STR_BUSY))
			buf[i++] = lpt1284_read_data(port);
		lpt1284_frob_control(port, LPT_CTR_AUTOFD, 0);	/* event 44 */
		err = lpt1284_wait(port, LPT_STR_ACK, LPT_STR_ACK, 35);
		if (err)
			break;					/* event 45 */
		lpt1284_frob_control(port, LPT_CTR_AUTOFD,
				     LPT_CTR_AUTOFD);		/* event 46 */
	}
back:
	lpt1284_frob_control(port, LPT_CTR_INIT | LPT_CTR_AUTOFD,
			     LPT_CTR_INIT | LPT_CTR_AUTOFD);	/* event 47 */
	lpt1284_wait_end(port, LPT_STR_PERROR, LPT_STR_PERROR, 35); /* 49 */
	lpt1284_data_forward(port);
	return lpt1284_moved(i, err == -ETIMEDOUT ? 0 : err);
}

/*
 * A write request in a mode: lpt1284_write_begin() negotiates it (nothing
 * for compatibility mode), lpt1284_write_bytes() moves the bytes, as many
 * times as needed, lpt1284_write_end() terminates - once per request, not
 * once per buffer.
 */
int lpt1284_write_begin(struct lpt1284_port *port, u32 mode)
{
	int ret;

	if (mode == LPT1284_MODE_COMPAT)
		return 0;
	ret = lpt1284_negotiate(port, lpt1284_mode_xb(mode));
	return ret == -ENXIO ? -EIO : ret;
}

ssize_t lpt1284_write_bytes(struct lpt1284_port *port, u32 mode, const u8 *buf,
			    size_t len)
{
	switch (mode) {
	case LPT1284_MODE_ECP:
		return lpt1284_write_ecp(port, buf, len);
	case LPT1284_MODE_EPP:
		return lpt1284_write_epp(port, buf, len);
	default:
		return lpt1284_write_compat(port, buf, len);
	}
}

void lpt1284_write_end(struct lpt1284_port *port, u32 mode)
{
	if (mode != LPT1284_MODE_COMPAT)
		lpt1284_terminate(port, mode);
}

/* One write request in a mode, negotiation and termination included */
ssize_t lpt1284_transfer_write(struct lpt1284_port *port, u32 mode,
			       const u8 *buf, size_t len)
{
	ssize_t n;
	int ret;

	ret = lpt1284_write_begin(port, mode);
	if (ret)
		return ret;
	n = lpt1284_write_bytes(port, mode, buf, len);
	lpt1284_write_end(port, mode);
	return n;
}

/* Is @mode an LPT1284_MODE_* for write() (@write) or for read()? */
bool lpt1284_mode_ok(u32 mode, bool write)
{
	switch (mode) {
	case LPT1284_MODE_COMPAT:
		return write;
	case LPT1284_MODE_NIBBLE:
	case LPT1284_MODE_BYTE:
		return !write;
	case LPT1284_MODE_ECP:
	case LPT1284_MODE_EPP:
		return true;
	default:
		return false;
	}
}

/* The IEEE 1284 extensibility byte that negotiates @mode (not COMPAT) */
u8 lpt1284_mode_xb(u32 mode)
{
	switch (mode) {
	case LPT1284_MODE_BYTE:
		return 0x01;
	case LPT1284_MODE_ECP:
		return 0x10;
	case LPT1284_MODE_EPP:
		return 0x40;
	default:
		return 0x00;		/* nibble */
	}
}

/* One read request in a mode: the bytes the peripheral had, 0 for none */
ssize_t lpt1284_transfer_read(struct lpt1284_port *port, u32 mode, u8 *buf,
			      size_t len)
{
	ssize_t n;
	int ret;

	ret = lpt1284_negotiate(port, lpt1284_mode_xb(mode));
	if (ret)
		return ret == -ENXIO ? -EIO : ret;
	switch (mode) {
	case LPT1284_MODE_BYTE:
		n = lpt1284_read_nibble(port, buf, len, true);
		break;
	case LPT1284_MODE_ECP:
		n = lpt1284_read_ecp(port, buf, len);
		break;
	case LPT1284_MODE_EPP:
		n = lpt1284_read_epp(port, buf, len);
		break;
	default:
		n = lpt1284_read_nibble(port, buf, len, false);
		break;
	}
	lpt1284_terminate(port, mode);
	return n;
}

/* The allocate queue */

static void lpt1284_grant(struct lpt1284_port *port,
			  struct lpt1284_client *client, pid_t pid)
{
	port->holder = client;
	port->holder_pid = pid;
	port->lazy = false;
}

/*
 * The port went free: the first queued request gets it, and only its
 * task is woken.  A removed port is granted to nobody.  Under lock.
 */
static void lpt1284_grant_next(struct lpt1284_port *port)
{
	struct lpt1284_waiter *w;

	port->holder = NULL;
	port->holder_pid = 0;
	port->lazy = false;
	if (port->dead)
		return;
	w = list_first_entry_or_null(&port->queue, struct lpt1284_waiter,
				     node);
	if (!w)
		return;
	list_del_init(&w->node);
	port->nwaiters--;
	lpt1284_grant(port, w->client, w->pid);
	WRITE_ONCE(w->granted, true);
	wake_up_process(w->task);
}

/* A holder that only kept the port after a read()/write() yields it. */
static void lpt1284_take_from_lazy(struct lpt1284_port *port)
{
	if (port->holder && port->lazy) {
		port->holder = NULL;
		port->holder_pid = 0;
		port->lazy = false;
	}
}

/**
 * lpt1284_allocate - queue for the port and wait until it is granted
 * @client: the file asking
 * @timeout_ns: 0 for no limit
 * @nonblock: do not wait: -EAGAIN unless the port is free at once
 *
 * Return: 0 when granted, -EDEADLK if @client holds it already,
 * -ETIMEDOUT, -EAGAIN, -ERESTARTSYS on a signal, or -ENODEV when the port
 * is removed (the request has left the queue in every error case).
 */
int lpt1284_allocate(struct lpt1284_client *client, u64 timeout_ns,
		     bool nonblock)
{
	struct lpt1284_port *port = client->port;
	struct lpt1284_waiter w = {
		.client = client,
		.task = current,
		.pid = task_tgid_nr(current),
	};
	long timeout = timeout_ns ? nsecs_to_jiffies64(timeout_ns) + 1 :
				    MAX_SCHEDULE_TIMEOUT;
	int ret = 0;

	spin_lock(&port->lock);
	if (port->dead) {
		spin_unlock(&port->lock);
		return -ENODEV;
	}
	if (port->holder == client) {
		if (port->lazy) {
			port->lazy = false;	/* it asks for it for real */
			spin_unlock(&port->lock);
			return 0;
		}
		spin_unlock(&port->lock);
		return -EDEADLK;
	}
	lpt1284_take_from_lazy(port);
	if (!port->holder && list_empty(&port->queue)) {
		lpt1284_grant(port, client, w.pid);
		spin_unlock(&port->lock);
		return 0;
	}
	if (nonblock) {
		spin_unlock(&port->lock);
		return -EAGAIN;
	}
	list_add_tail(&w.node, &port->queue);
	port->nwaiters++;
	spin_unlock(&port->lock);

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (READ_ONCE(w.granted) || READ_ONCE(port->dead))
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!timeout) {
			ret = -ETIMEDOUT;
			break;
		}
		timeout = schedule_timeout(timeout);
	}
	__set_current_state(TASK_RUNNING);

	spin_lock(&port->lock);
	if (!w.granted) {
		list_del(&w.node);
		port->nwaiters--;
		if (port->dead)
			ret = -ENODEV;
	} else if (port->dead) {
		lpt1284_grant_next(port);	/* nobody holds a removed port */
		ret = -ENODEV;
	} else {
		ret = 0;
	}
	spin_unlock(&port->lock);
	return ret;
}

/* Take the port only if it is free and nobody waits. */
int lpt1284_try_allocate(struct lpt1284_client *client)
{
	struct lpt1284_port *port = client->port;
	int ret = -EBUSY;

	spin_lock(&port->lock);
	if (port->dead) {
		ret = -ENODEV;
	} else if (port->holder == client && port->lazy) {
		port->lazy = false;
		ret = 0;
	} else if (port->holder != client) {
		lpt1284_take_from_lazy(port);
		if (!port->holder && list_empty(&port->queue)) {
			lpt1284_grant(port, client, task_tgid_nr(current));
			ret = 0;
		}
	}
	spin_unlock(&port->lock);
	return ret;
}

/* Does @client hold the port?  If it kept it lazily, it is in use again. */
bool lpt1284_holds(struct lpt1284_client *client)
{
	struct lpt1284_port *port = client->port;
	bool holds;

	spin_lock(&port->lock);
	holds = port->holder == client;
	if (holds)
		port->lazy = false;
	spin_unlock(&port->lock);
	return holds;
}

/*
 * Before the port goes to another holder: whatever mode the peripheral
 * was negotiated into is terminated and the ECR and control register are
 * reset, so that nobody inherits a mode.  The holder only.
 */
static void lpt1284_port_idle(struct lpt1284_port *port)
{
	if (READ_ONCE(port->dead))
		return;
	if (port->phase != LPT1284_MODE_COMPAT)
		lpt1284_terminate(port, port->phase);
	lpt1284_port_reset(port);
}

/* Give the port up: the next queued request gets it. */
int lpt1284_free(struct lpt1284_client *client)
{
	struct lpt1284_port *port = client->port;

	if (!lpt1284_holds(client))
		return -EPERM;
	lpt1284_port_idle(port);
	spin_lock(&port->lock);
	if (port->holder == client)
		lpt1284_grant_next(port);
	spin_unlock(&port->lock);
	return 0;
}

/*
 * After a read()/write() that allocated the port itself: free it if
 * anyone waits, else keep it lazily (anyone who asks gets it at once).
 * The request ended its mode itself: nothing to reset.  Returns true
 * when the port was kept.
 */
bool lpt1284_keep_or_free(struct lpt1284_client *client)
{
	struct lpt1284_port *port = client->port;
	bool kept = false;

	spin_lock(&port->lock);
	if (port->holder == client) {
		if (list_empty(&port->queue)) {
			port->lazy = true;
			kept = true;
		} else {
			lpt1284_grant_next(port);
		}
	}
	spin_unlock(&port->lock);
	return kept;
}

u32 lpt1284_query_waiters(struct lpt1284_port *port)
{
	u32 n;

	spin_lock(&port->lock);
	n = port->nwaiters;
	spin_unlock(&port->lock);
	return n;
}

/*
 * The file is closed or the kernel client disconnects: free what it
 * holds (after a deselect).  On a removed port only the state goes.
 */
void lpt1284_release_client(struct lpt1284_client *client)
{
	struct lpt1284_port *port = client->port;
	bool holds;

	spin_lock(&port->lock);
	holds = port->holder == client;
	if (holds && port->dead)
		lpt1284_grant_next(port);
	spin_unlock(&port->lock);
	if (!holds || READ_ONCE(port->dead)) {
		client->selected = -1;
		return;
	}
	if (client->selected >= 0 && client->selected < LPT1284_DAISY_MAX &&
	    port->selected == client->selected) {
		mutex_lock(&port->chain_lock);
		lpt1284_deselect(port);
		mutex_unlock(&port->chain_lock);
	}
	client->selected = -1;
	lpt1284_free(client);
}

/*
 * The port is being removed: from now on every operation fails with
 * -ENODEV, and every sleeper - queued requests, transfers waiting for
 * the peripheral - wakes to see it.
 */
void lpt1284_port_kill(struct lpt1284_port *port)
{
	struct lpt1284_waiter *w;

	spin_lock(&port->lock);
	WRITE_ONCE(port->dead, true);
	list_for_each_entry(w, &port->queue, node)
		wake_up_process(w->task);
	spin_unlock(&port->lock);
	wake_up_all(&port->irq_wq);
}
