// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the IEEE 1284.3 chain - command packets, enumeration, Device
 * IDs, select and deselect
 *
 * The command packet is sent exactly as Linux's drivers/parport/daisy.c
 * sends it (AA 55 00 FF, check, 87, check, 78, the command strobed, FF);
 * a command is acknowledged when nFault is high while it is strobed, as
 * Linux's share.c reads parport_daisy_select().  Callers hold the port
 * (the bind-time scan too, as a client of its own) and chain_lock.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/slab.h>

#include "lpt1284-priv.h"

#define CPP_MASK	(LPT_STR_BUSY | LPT_STR_PERROR | LPT_STR_SELECT | \
			 LPT_STR_ERROR)
#define CPP_DESELECT	0x30
#define CPP_SELECT	0xe0
#define CPP_SELECT_EPP	0x20
#define CPP_SELECT_ECP	0xd0

/* AA 55 00 FF, check, 87, check, 78: 0, or -ENXIO with no 1284.3 answer */
static int lpt1284_cpp_prefix(struct lpt1284_port *port)
{
	u8 s;

	lpt1284_write_control(port, LPT_CTR_SELECT | LPT_CTR_INIT |
			      (port->ctr & LPT_CTR_IRQ));
	lpt1284_write_data(port, 0xaa); udelay(2);
	lpt1284_write_data(port, 0x55); udelay(2);
	lpt1284_write_data(port, 0x00); udelay(2);
	lpt1284_write_data(port, 0xff); udelay(2);
	s = lpt1284_read_status(port) & CPP_MASK;
	if (s != CPP_MASK) {
		dev_dbg(&port->dev, "cpp: aa5500ff(%02x)\n", s);
		return -ENXIO;
	}
	lpt1284_write_data(port, 0x87); udelay(2);
	s = lpt1284_read_status(port) & CPP_MASK;
	if (s != (LPT_STR_SELECT | LPT_STR_ERROR)) {
		dev_dbg(&port->dev, "cpp: aa5500ff87(%02x)\n", s);
		return -ENXIO;
	}
	lpt1284_write_data(port, 0x78); udelay(2);
	return 0;
}

/**
 * lpt1284_cpp - send one IEEE 1284.3 command packet
 * @port: the port, held
 * @command: the command byte
 *
 * Return: the status register sampled while nStrobe is low, or -ENXIO
 * when no 1284.3 device answered the prefix.
 */
static int lpt1284_cpp(struct lpt1284_port *port, u8 command)
{
	int ret = lpt1284_cpp_prefix(port);
	u8 s;

	if (ret) {
		lpt1284_write_data(port, 0xff);
		return ret;
	}
	lpt1284_write_data(port, command); udelay(2);
	lpt1284_frob_control(port, LPT_CTR_STROBE, LPT_CTR_STROBE);
	udelay(1);
	s = lpt1284_read_status(port);
	lpt1284_frob_control(port, LPT_CTR_STROBE, 0);
	udelay(1);
	lpt1284_write_data(port, 0xff); udelay(2);
	return s;
}

/* Deselect every daisy device: the end-of-chain device answers again. */
void lpt1284_deselect(struct lpt1284_port *port)
{
	if (port->daisy_count)
		lpt1284_cpp(port, CPP_DESELECT);
	port->selected = -1;
}

/**
 * lpt1284_select - select a device for a transfer mode
 * @port: the port, held
 * @device: 0-3 a daisy device, 4 the end-of-chain device
 * @mode: LPT1284_MODE_*: ECP and EPP use their own select commands
 *
 * Return: 0, -ENODEV if the device is not on the chain, -EIO if it did
 * not acknowledge.
 */
int lpt1284_select(struct lpt1284_port *port, int device, u32 mode)
{
	u8 cmd = CPP_SELECT;
	int s;

	if (device < 0 || device > LPT1284_END_DEVICE ||
	    !port->devs[device].present)
		return -ENODEV;
	if (device == LPT1284_END_DEVICE) {
		lpt1284_deselect(port);
		return 0;
	}
	if (mode == LPT1284_MODE_EPP)
		cmd = CPP_SELECT_EPP;
	else if (mode == LPT1284_MODE_ECP)
		cmd = CPP_SELECT_ECP;
	s = lpt1284_cpp(port, cmd + device);
	if (s < 0 || !(s & LPT_STR_ERROR)) {
		port->selected = -1;
		return -EIO;
	}
	port->selected = device;
	return 0;
}

/* daisy.c's assign_addrs(): how many daisy devices took an address */
static int lpt1284_assign_addrs(struct lpt1284_port *port)
{
	int found = 0;
	u8 s;

	if (lpt1284_cpp_prefix(port)) {
		lpt1284_write_data(port, 0xff);
		return 0;
	}
	s = lpt1284_read_status(port);
	while ((s & (LPT_STR_PERROR | LPT_STR_SELECT)) ==
	       (LPT_STR_PERROR | LPT_STR_SELECT) && found < LPT1284_DAISY_MAX) {
		lpt1284_write_data(port, found); udelay(2);
		lpt1284_frob_control(port, LPT_CTR_STROBE, LPT_CTR_STROBE);
		udelay(1);
		lpt1284_frob_control(port, LPT_CTR_STROBE, 0);
		udelay(1);
		found++;
		/* The device said it was the last one */
		if (!(s & LPT_STR_BUSY))
			break;
		s = lpt1284_read_status(port);
	}
	lpt1284_write_data(port, 0xff); udelay(2);
	return found;
}

/* Replace @d's Device ID; returns whether it differs from the old one */
static bool lpt1284_set_device_id(struct lpt1284_port *port,
				  struct lpt1284_device *d, char *id,
				  size_t len)
{
	bool changed;
	char *old;

	mutex_lock(&port->id_lock);
	changed = len != d->device_id_len ||
		  (len && memcmp(d->device_id, id, len));
	old = d->device_id;
	d->device_id = id;
	d->device_id_len = len;
	mutex_unlock(&port->id_lock);
	kfree(old);
	return changed;
}

/*
 * Read the selected device's Device ID in nibble mode: the two length
 * bytes (big-endian, counting themselves; below 2 means no ID), then the
 * ID itself, all of it (IEEE 1284 allows 65533 bytes).  Returns its
 * length, 0 for none, or a negative error when no IEEE 1284 peripheral
 * answered the negotiation (-EIO) or the read was stopped.  *@changed
 * tells whether it differs from the one the device had.
 */
static int lpt1284_read_device_id(struct lpt1284_port *port,
				  struct lpt1284_device *d, bool *changed)
{
	u8 head[2];
	char *id = NULL;
	ssize_t n;
	size_t len = 0;
	int ret;

	ret = lpt1284_negotiate(port, 0x04);
	if (ret) {
		*changed = lpt1284_set_device_id(port, d, NULL, 0);
		return ret == -ENXIO ? 0 : ret;
	}
	n = lpt1284_read_nibble(port, head, sizeof(head), false);
	if (n == sizeof(head) && (head[0] << 8 | head[1]) > 2) {
		len = (head[0] << 8 | head[1]) - 2;
		/* zeroed, and one more byte: a C string for sysfs */
		id = kzalloc(len + 1, GFP_KERNEL);
		if (!id) {
			lpt1284_terminate(port, LPT1284_MODE_NIBBLE);
			return -ENOMEM;
		}
		n = lpt1284_read_nibble(port, (u8 *)id, len, false);
		len = n > 0 ? n : 0;
	}
	lpt1284_terminate(port, LPT1284_MODE_NIBBLE);
	if (!len) {
		kfree(id);
		id = NULL;
	}
	*changed = lpt1284_set_device_id(port, d, id, len);
	return len;
}

/**
 * lpt1284_scan - enumerate the chain: addresses, then every Device ID
 * @port: the port, held (or being bound), chain_lock held
 *
 * Return: the number of daisy devices.
 */
int lpt1284_scan(struct lpt1284_port *port)
{
	struct lpt1284_device *end = &port->devs[LPT1284_END_DEVICE];
	bool changed;
	int n, i;

	lpt1284_port_reset(port);
	port->daisy_count = LPT1284_DAISY_MAX;	/* so the deselect goes out */
	lpt1284_deselect(port);
	n = lpt1284_assign_addrs(port);
	port->daisy_count = n;
	for (i = 0; i < LPT1284_DAISY_MAX; i++) {
		struct lpt1284_device *d = &port->devs[i];
		bool was = d->present;

		d->present = i < n;
		if (d->present && lpt1284_select(port, i, LPT1284_MODE_COMPAT))
			d->present = false;
		if (!d->present) {
			lpt1284_set_device_id(port, d, NULL, 0);
			continue;
		}
		lpt1284_read_device_id(port, d, &changed);
		lpt1284_deselect(port);
		/*
		 * Another device now has this address (as Windows tells, by
		 * its Device ID): a file open on the old one has lost it.
		 */
		if (was && changed && d->open)
			d->gone = true;
	}
	end->present = true;
	port->end_device = lpt1284_read_device_id(port, end, &changed) >= 0;
	if (changed && end->open)
		end->gone = true;
	lpt1284_port_reset(port);
	dev_info(&port->dev, "%d daisy-chained device%s, end device %s\n", n,
		 n == 1 ? "" : "s", port->end_device ? "answered" : "silent");
	return n;
}
