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
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/lpt1284.h>

#define LPT1284_MAX_PORTS	4
/* Minors per port: the port node, then devices 0-4 */
#define LPT1284_MINORS_PER_PORT	8
#define LPT1284_DEVICES		(LPT1284_DAISY_MAX + 1)
/* IEEE 1284: a Device ID is at most 65535 bytes, its length field included */
#define LPT1284_DEVICE_ID_MAX	65533
/* Transfer loops check for signals and reschedule every chunk of bytes */
#define LPT1284_CHUNK		256

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
 * struct lpt1284_client - one open file of a port or device node, or a
 *	kernel client's handle
 * @port: the port
 * @selected: the device this client selected (0-4), -1 none
 */
struct lpt1284_client {
	struct lpt1284_port *port;
	int selected;
};

/**
 * struct lpt1284_waiter - a queued request for the port, on its task's stack
 * @node: in the port's queue
 * @client: who asks
 * @task: woken alone when granted (and by the port's removal)
 * @pid: the asking process, the port's owner once granted
 * @granted: set under the port's lock
 */
struct lpt1284_waiter {
	struct list_head node;
	struct lpt1284_client *client;
	struct task_struct *task;
	pid_t pid;
	bool granted;
};

/**
 * struct lpt1284_device - a device on the chain: /dev/lptN.D
 * @port: its port
 * @number: D, 0-3 daisy address, 4 end of chain
 * @present: found at the last scan (4: always); chain_lock
 * @gone: another device took this address while open: I/O fails with
 *	ENODEV; chain_lock
 * @open: one open at a time; chain_lock
 * @dev: the class device, NULL when the node is not there; chain_lock
 * @io_lock: serialises read(), write(), the modes and LOCK/UNLOCK of the
 *	open file
 * @device_id: the IEEE 1284 Device ID (without its length bytes); id_lock
 * @device_id_len: its length, 0 for none
 * @write_mode: LPT1284_MODE_* of write(); io_lock
 * @read_mode: LPT1284_MODE_* of read(); io_lock
 * @busy_timeout_ms: READ_ONCE/WRITE_ONCE
 */
struct lpt1284_device {
	struct lpt1284_port *port;
	int number;
	bool present;
	bool gone;
	bool open;
	struct device *dev;
	struct mutex io_lock;	/* read(), write(), modes, LOCK/UNLOCK */
	char *device_id;
	size_t device_id_len;
	u32 write_mode;
	u32 read_mode;
	u64 busy_timeout_ms;
	u64 bytes_written;
	u64 bytes_read;
};

/**
 * struct lpt1284_port - a parallel port: /dev/lptN
 * @dev: the class device of /dev/lptN; the port is freed when its last
 *	reference goes (open files hold one through @cdev, kernel clients
 *	their own)
 * @cdev: the character device of /dev/lptN and /dev/lptN.D
 * @alive: every operation holds it for reading; removal takes it for
 *	writing once @dead is set, and then gives the hardware back
 * @dead: the port was removed: every operation fails with ENODEV
 * @lock: protects the allocation state (@dead .. @nwaiters)
 * @holder: the client holding the port, NULL when free
 * @holder_pid: the holder's process, for sysfs
 * @lazy: the holder kept the port after a read()/write() only because
 *	nobody waited; anyone who asks gets it as if it were free
 * @queue: struct lpt1284_waiter in arrival order
 * @nwaiters: entries in @queue
 * @ctr: the control register as last written (holder only)
 * @ecr: the ECR as last written (holder only)
 * @phase: LPT1284_MODE_* the peripheral was negotiated into (holder only)
 * @selected: device selected on the chain, -1 none (holder only)
 * @irq_wq: woken by the port's interrupt and by its removal
 * @dma_buf: ISA DMA bounce page, NULL without DMA
 * @chain_lock: presence, nodes, opens and the select state of @devs
 * @id_lock: the Device IDs of @devs
 */
struct lpt1284_port {
	struct device dev;
	struct cdev cdev;
	struct rw_semaphore alive;
	int index;
	unsigned long base;
	unsigned long base_hi;
	bool hi_region;
	int irq;
	int dma;
	u32 caps;
	u32 fifo_depth;

	spinlock_t lock;	/* @dead .. @nwaiters */
	bool dead;
	struct lpt1284_client *holder;
	pid_t holder_pid;
	bool lazy;
	struct list_head queue;
	u32 nwaiters;

	u8 ctr;
	u8 ecr;
	u32 phase;
	int selected;
	wait_queue_head_t irq_wq;
	u8 *dma_buf;

	struct mutex chain_lock;	/* @devs' presence, nodes, opens */
	struct mutex id_lock;		/* @devs' Device IDs */
	u32 daisy_count;
	bool end_device;
	struct lpt1284_device devs[LPT1284_DEVICES];
};

/*
 * Every operation on a port runs between lpt1284_port_enter() and
 * lpt1284_port_exit(): -ENODEV once the port is removed.  Never nested.
 */
static inline int lpt1284_port_enter(struct lpt1284_port *port)
{
	down_read(&port->alive);
	if (READ_ONCE(port->dead)) {
		up_read(&port->alive);
		return -ENODEV;
	}
	return 0;
}

static inline void lpt1284_port_exit(struct lpt1284_port *port)
{
	up_read(&port->alive);
}

/* lpt1284-main.c */
extern struct class *lpt1284_class;
struct lpt1284_port *lpt1284_port_get(int index);

/* lpt1284-port.c: hardware (the holder's, between enter and exit) */
u8 lpt1284_read_status(struct lpt1284_port *port);
void lpt1284_write_data(struct lpt1284_port *port, u8 val);
void lpt1284_write_control(struct lpt1284_port *port, u8 val);
void lpt1284_frob_control(struct lpt1284_port *port, u8 mask, u8 val);
void lpt1284_port_reset(struct lpt1284_port *port);
void lpt1284_port_probe(struct lpt1284_port *port);
int lpt1284_negotiate(struct lpt1284_port *port, u8 xb);
void lpt1284_terminate(struct lpt1284_port *port, u32 mode);
ssize_t lpt1284_read_nibble(struct lpt1284_port *port, u8 *buf, size_t len,
			    bool byte_mode);
int lpt1284_io_yield(struct lpt1284_port *port);
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
bool lpt1284_holds(struct lpt1284_client *client);
u32 lpt1284_query_waiters(struct lpt1284_port *port);
void lpt1284_release_client(struct lpt1284_client *client);
void lpt1284_port_kill(struct lpt1284_port *port);

/* lpt1284-chain.c */
int lpt1284_select(struct lpt1284_port *port, int device, u32 mode);
void lpt1284_deselect(struct lpt1284_port *port);
int lpt1284_scan(struct lpt1284_port *port);

/* lpt1284-dev.c */
extern const struct file_operations lpt1284_fops;
extern const struct attribute_group *lpt1284_port_groups[];
void lpt1284_devices_init(struct lpt1284_port *port);
void lpt1284_device_nodes_update(struct lpt1284_port *port);
void lpt1284_device_nodes_remove(struct lpt1284_port *port);

#endif /* _LPT1284_PRIV_H */
