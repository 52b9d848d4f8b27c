/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpt1284: the Windows parallel-port sharing model on Linux (internal)
 *
 * Split as the Windows stack is:
 *  - lpt1284-port.c: the port's hardware (registers, IEEE 1284 modes) and
 *    the strictly FIFO queue of allocate, select and lock requests;
 *  - lpt1284-chain.c: IEEE 1284.3 command packets, enumeration, Device
 *    IDs, select and deselect;
 *  - lpt1284-dev.c: the device nodes, their ioctls, read() and write();
 *  - lpt1284-main.c: binding to ports (PnP or module parameters), the
 *    class and the character device numbers.
 */
#ifndef _LPT1284_PRIV_H
#define _LPT1284_PRIV_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/lpt1284.h>

#define LPT1284_MAX_PORTS	4
/* Minors per port: the port node, then devices 0-4 */
#define LPT1284_MINORS_PER_PORT	8
#define LPT1284_DEVICES		(LPT1284_DAISY_MAX + 1)
#define LPT1284_DEVICE_ID_MAX	1024

/* Registers (offsets from base, and from base_hi for the ECP block) */
#define LPT_DATA	0
#define LPT_STATUS	1
#define LPT_CONTROL	2
#define LPT_EPP_ADDR	3
#define LPT_EPP_DATA	4
#define LPT_ECP_FIFO	0	/* base_hi + */
#define LPT_ECP_CNFGB	1
#define LPT_ECP_ECR	2

#define LPT_STR_BUSY	0x80	/* 1 when the Busy line is low */
#define LPT_STR_ACK	0x40
#define LPT_STR_PERROR	0x20
#define LPT_STR_SELECT	0x10
#define LPT_STR_ERROR	0x08	/* nFault line level */
#define LPT_STR_TIMEOUT	0x01	/* EPP */

#define LPT_CTR_STROBE	0x01
#define LPT_CTR_AUTOFD	0x02
#define LPT_CTR_INIT	0x04
#define LPT_CTR_SELECT	0x08
#define LPT_CTR_IRQ	0x10
#define LPT_CTR_DIR	0x20

#define LPT_ECR_SPP	0x00
#define LPT_ECR_PS2	0x20
#define LPT_ECR_PPFIFO	0x40
#define LPT_ECR_ECP	0x60
#define LPT_ECR_EPP	0x80
#define LPT_ECR_TEST	0xc0
#define LPT_ECR_CONFIG	0xe0
#define LPT_ECR_MODE	0xe0
#define LPT_ECR_NERRINTR 0x10
#define LPT_ECR_DMAEN	0x08
#define LPT_ECR_SERVICE	0x04
#define LPT_ECR_FULL	0x02
#define LPT_ECR_EMPTY	0x01

struct lpt1284_port;

/**
 * struct lpt1284_client - one open file of a port or device node
 * @port: the port
 * @holds: this client holds the port
 * @selected: the device this client selected (0-4), -1 none
 * @waiting: the client's queued request, while it waits
 */
struct lpt1284_client {
	struct lpt1284_port *port;
	bool holds;
	int selected;
	struct lpt1284_waiter *waiting;
};

/* A queued request for the port */
struct lpt1284_waiter {
	struct list_head node;
	struct lpt1284_client *client;
	bool granted;
};

/**
 * struct lpt1284_device - a device on the chain: /dev/lptN.D
 * @port: its port
 * @number: D, 0-3 daisy address, 4 end of chain
 * @present: found at the last scan (4: always)
 * @gone: removed by a rescan while open; I/O fails with ENODEV
 * @open: one open at a time
 * @client: the open file's client
 * @io_lock: one read() or write() at a time
 */
struct lpt1284_device {
	struct lpt1284_port *port;
	int number;
	bool present;
	bool gone;
	bool open;
	struct lpt1284_client *client;
	struct device *dev;
	struct mutex io_lock;	/* one read() or write() at a time */
	char device_id[LPT1284_DEVICE_ID_MAX];
	size_t device_id_len;
	u32 write_mode;
	u32 read_mode;
	u64 busy_timeout_ms;
	u64 bytes_written;
	u64 bytes_read;
};

/**
 * struct lpt1284_port - a parallel port: /dev/lptN
 * @lock: protects the allocation state (@holder .. @queue)
 * @holder: the client holding the port, NULL when free
 * @lazy: the holder kept the port after a read()/write() only because
 *	nobody waited; anyone who asks gets it as if it were free
 * @queue: struct lpt1284_waiter in arrival order
 * @nwaiters: entries in @queue
 * @wq: woken when a waiter is granted the port
 * @chain_lock: protects @devs' presence and the node list
 */
struct lpt1284_port {
	int index;
	unsigned long base;
	unsigned long base_hi;
	int irq;
	int dma;
	u32 caps;
	u32 fifo_depth;
	struct device *parent;

	spinlock_t lock;	/* the allocation state, below */
	struct lpt1284_client *holder;
	pid_t holder_pid;
	bool lazy;
	struct list_head queue;
	u32 nwaiters;
	wait_queue_head_t wq;

	/* Hardware state; touched only by the holder (or at bind) */
	u8 ctr;
	u8 ecr;
	int selected;		/* device selected on the chain, -1 none */
	wait_queue_head_t irq_wq;
	unsigned long irq_count;
	u8 *dma_buf;		/* ISA DMA bounce page, NULL without DMA */

	struct mutex chain_lock;	/* presence, nodes, select state */
	u32 daisy_count;
	bool end_device;
	struct lpt1284_device devs[LPT1284_DEVICES];

	struct device *dev;	/* /dev/lptN */
	struct cdev cdev;
	dev_t devt;		/* of /dev/lptN; devices follow */
};

/* lpt1284-main.c */
extern struct class *lpt1284_class;
struct lpt1284_port *lpt1284_port_get(int index);

/* lpt1284-port.c: hardware */
u8 lpt1284_read_status(struct lpt1284_port *port);
void lpt1284_write_data(struct lpt1284_port *port, u8 val);
u8 lpt1284_read_data(struct lpt1284_port *port);
void lpt1284_write_control(struct lpt1284_port *port, u8 val);
void lpt1284_frob_control(struct lpt1284_port *port, u8 mask, u8 val);
void lpt1284_set_ecr_mode(struct lpt1284_port *port, u8 mode);
void lpt1284_port_reset(struct lpt1284_port *port);
void lpt1284_port_probe(struct lpt1284_port *port);
int lpt1284_negotiate(struct lpt1284_port *port, u8 xb);
void lpt1284_terminate(struct lpt1284_port *port, u32 mode);
ssize_t lpt1284_read_nibble(struct lpt1284_port *port, u8 *buf, size_t len,
			    bool byte_mode);
ssize_t lpt1284_write_compat(struct lpt1284_port *port, const u8 *buf,
			     size_t len);
ssize_t lpt1284_write_epp(struct lpt1284_port *port, const u8 *buf,
			  size_t len);
ssize_t lpt1284_read_epp(struct lpt1284_port *port, u8 *buf, size_t len);
ssize_t lpt1284_write_ecp(struct lpt1284_port *port, const u8 *buf,
			  size_t len);
ssize_t lpt1284_read_ecp(struct lpt1284_port *port, u8 *buf, size_t len);
bool lpt1284_mode_ok(u32 mode, bool write);
u8 lpt1284_mode_xb(u32 mode);
int lpt1284_write_begin(struct lpt1284_port *port, u32 mode);
ssize_t lpt1284_write_bytes(struct lpt1284_port *port, u32 mode, const u8 *buf,
			    size_t len);
void lpt1284_write_end(struct lpt1284_port *port, u32 mode);
ssize_t lpt1284_transfer_write(struct lpt1284_port *port, u32 mode,
			       const u8 *buf, size_t len);
ssize_t lpt1284_transfer_read(struct lpt1284_port *port, u32 mode, u8 *buf,
			      size_t len);

/* lpt1284-port.c: the allocate queue */
int lpt1284_allocate(struct lpt1284_client *client, u64 timeout_ns,
		     bool nonblock);
int lpt1284_try_allocate(struct lpt1284_client *client);
int lpt1284_free(struct lpt1284_client *client);
bool lpt1284_keep_or_free(struct lpt1284_client *client);
u32 lpt1284_query_waiters(struct lpt1284_port *port);
void lpt1284_release_client(struct lpt1284_client *client);

/* lpt1284-chain.c */
int lpt1284_cpp(struct lpt1284_port *port, u8 command);
int lpt1284_select(struct lpt1284_port *port, int device, u32 mode);
void lpt1284_deselect(struct lpt1284_port *port);
int lpt1284_scan(struct lpt1284_port *port);

/* lpt1284-dev.c */
int lpt1284_port_nodes_add(struct lpt1284_port *port);
void lpt1284_port_nodes_remove(struct lpt1284_port *port);
void lpt1284_device_nodes_update(struct lpt1284_port *port);
extern const struct attribute_group *lpt1284_port_groups[];

#endif /* _LPT1284_PRIV_H */
