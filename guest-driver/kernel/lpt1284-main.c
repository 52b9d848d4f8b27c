// SPDX-License-Identifier: GPL-2.0
/*
 * lpt1284: the Windows parallel-port sharing model on Linux
 *
 * Binds to PC parallel ports described by ACPI/PnP (PNP0400, PNP0401)
 * when Linux's parport_pc does not have them, or to ports given as module
 * parameters (io=, io_hi=, irq=, dma=: up to four, comma-separated), and
 * gives each /dev/lptN and /dev/lptN.D nodes in the lpt1284 class.  The
 * module owns the hardware itself; it never sits on Linux's parport.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/pnp.h>
#include <linux/slab.h>
#include <asm/dma.h>

#include "lpt1284-priv.h"

static unsigned long io[LPT1284_MAX_PORTS];
static unsigned long io_hi[LPT1284_MAX_PORTS];
static int irq[LPT1284_MAX_PORTS] = { [0 ... LPT1284_MAX_PORTS - 1] = -1 };
static int dma[LPT1284_MAX_PORTS] = { [0 ... LPT1284_MAX_PORTS - 1] = -1 };
static int n_io, n_io_hi, n_irq, n_dma;
module_param_hw_array(io, ulong, ioport, &n_io, 0444);
MODULE_PARM_DESC(io, "base I/O port of each port not found by PnP");
module_param_hw_array(io_hi, ulong, ioport, &n_io_hi, 0444);
MODULE_PARM_DESC(io_hi, "ECP block of each port (0: none)");
module_param_hw_array(irq, int, irq, &n_irq, 0444);
MODULE_PARM_DESC(irq, "IRQ of each port (-1: none, polling)");
module_param_hw_array(dma, int, dma, &n_dma, 0444);
MODULE_PARM_DESC(dma, "ISA DMA channel of each port (-1: none)");

struct class *lpt1284_class;
static dev_t lpt1284_devt;
static DEFINE_IDA(lpt1284_ida);
/* Ports kernel clients can find: published once bound, gone at removal */
static DEFINE_MUTEX(lpt1284_ports_lock);
static struct lpt1284_port *lpt1284_ports[LPT1284_MAX_PORTS];

/**
 * lpt1284_port_get - port lptN, with a reference for the caller
 * @index: N
 *
 * Return: the port (put_device(&port->dev) when done), or NULL.
 */
struct lpt1284_port *lpt1284_port_get(int index)
{
	struct lpt1284_port *port = NULL;

	mutex_lock(&lpt1284_ports_lock);
	if (index >= 0 && index < LPT1284_MAX_PORTS && lpt1284_ports[index]) {
		port = lpt1284_ports[index];
		get_device(&port->dev);
	}
	mutex_unlock(&lpt1284_ports_lock);
	return port;
}

static irqreturn_t lpt1284_interrupt(int irq, void *dev_id)
{
	struct lpt1284_port *port = dev_id;

	wake_up_interruptible(&port->irq_wq);
	return IRQ_HANDLED;
}

/* The last reference went: open files, kernel clients, the bind's own */
static void lpt1284_port_release(struct device *dev)
{
	struct lpt1284_port *port = container_of(dev, struct lpt1284_port, dev);
	int i;

	for (i = 0; i < LPT1284_DEVICES; i++)
		kfree(port->devs[i].device_id);
	kfree(port);
}

/* Give back the DMA channel, the IRQ and the I/O ranges. */
static void lpt1284_port_free_hw(struct lpt1284_port *port)
{
	if (port->dma_buf) {
		free_page((unsigned long)port->dma_buf);
		port->dma_buf = NULL;
		free_dma(port->dma);
	}
	if (port->irq >= 0)
		free_irq(port->irq, port);
	if (port->hi_region)
		release_region(port->base_hi, 3);
	release_region(port->base, 8);
}

/*
 * cdev_device_add() for all of the port's minors (it adds one): the
 * cdev holds the port's device, so open files keep the port's memory.
 */
static int lpt1284_nodes_add(struct lpt1284_port *port)
{
	int ret;

	cdev_set_parent(&port->cdev, &port->dev.kobj);
	ret = cdev_add(&port->cdev, port->dev.devt, LPT1284_MINORS_PER_PORT);
	if (ret)
		return ret;
	ret = device_add(&port->dev);
	if (ret)
		cdev_del(&port->cdev);
	return ret;
}

static int lpt1284_port_request_hw(struct lpt1284_port *port)
{
	unsigned long base_hi = port->base_hi;

	if (!request_region(port->base, 8, "lpt1284"))
		return -EBUSY;
	if (port->base_hi)
		port->hi_region = request_region(port->base_hi, 3,
						 "lpt1284 ecp");
	if (!port->hi_region)
		port->base_hi = 0;
	if (port->irq >= 0 &&
	    request_irq(port->irq, lpt1284_interrupt, 0, "lpt1284", port))
		port->irq = -1;
	lpt1284_port_probe(port);
	if (!port->base_hi && port->hi_region) {
		/* No ECR there after all: the range is not ours to keep */
		release_region(base_hi, 3);
		port->hi_region = false;
	}
	if ((port->caps & LPT1284_CAP_DMA) &&
	    !request_dma(port->dma, "lpt1284")) {
		/* A page below 16 MiB: never crosses a 64 KiB DMA boundary */
		port->dma_buf = (u8 *)__get_free_page(GFP_KERNEL | GFP_DMA);
		if (!port->dma_buf)
			free_dma(port->dma);
	}
	if (!port->dma_buf) {
		port->caps &= ~LPT1284_CAP_DMA;
		port->dma = -1;
	}
	return 0;
}

static struct lpt1284_port *lpt1284_port_add(struct device *parent,
					     unsigned long base,
					     unsigned long base_hi, int irq,
					     int dma)
{
	struct lpt1284_client bind = { .selected = -1 };
	struct lpt1284_port *port;
	int index, ret;

	index = ida_alloc_max(&lpt1284_ida, LPT1284_MAX_PORTS - 1, GFP_KERNEL);
	if (index < 0)
		return ERR_PTR(index);
	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port) {
		ida_free(&lpt1284_ida, index);
		return ERR_PTR(-ENOMEM);
	}
	port->index = index;
	port->base = base;
	port->base_hi = base_hi;
	port->irq = irq;
	port->dma = dma;
	port->selected = -1;
	init_rwsem(&port->alive);
	spin_lock_init(&port->lock);
	INIT_LIST_HEAD(&port->queue);
	init_waitqueue_head(&port->irq_wq);
	mutex_init(&port->chain_lock);
	mutex_init(&port->id_lock);
	lpt1284_devices_init(port);

	device_initialize(&port->dev);
	port->dev.class = lpt1284_class;
	port->dev.parent = parent;
	port->dev.devt = lpt1284_devt + index * LPT1284_MINORS_PER_PORT;
	port->dev.groups = lpt1284_port_groups;
	port->dev.release = lpt1284_port_release;
	dev_set_drvdata(&port->dev, port);
	ret = dev_set_name(&port->dev, "lpt%d", index);
	if (ret)
		goto err_put;
	cdev_init(&port->cdev, &lpt1284_fops);
	port->cdev.owner = THIS_MODULE;

	ret = lpt1284_port_request_hw(port);
	if (ret)
		goto err_put;

	/*
	 * The chain scan holds the port like any client: from the moment
	 * the nodes appear, whoever asks for the port queues behind it.
	 */
	bind.port = port;
	lpt1284_try_allocate(&bind);
	mutex_lock(&port->chain_lock);
	lpt1284_scan(port);
	mutex_unlock(&port->chain_lock);
	ret = lpt1284_nodes_add(port);
	if (ret) {
		lpt1284_free(&bind);
		goto err_hw;
	}
	mutex_lock(&port->chain_lock);
	lpt1284_device_nodes_update(port);
	mutex_unlock(&port->chain_lock);
	lpt1284_free(&bind);

	dev_info(&port->dev, "lpt1284 at 0x%lx (0x%lx), irq %d, dma %d, %u-byte FIFO, caps 0x%x\n",
		 port->base, port->base_hi, port->irq, port->dma,
		 port->fifo_depth, port->caps);
	mutex_lock(&lpt1284_ports_lock);
	lpt1284_ports[index] = port;
	mutex_unlock(&lpt1284_ports_lock);
	return port;

err_hw:
	lpt1284_port_free_hw(port);
err_put:
	ida_free(&lpt1284_ida, index);
	put_device(&port->dev);
	return ERR_PTR(ret);
}

/*
 * Remove a port (PnP remove, unbind, module unload): no new client finds
 * it, every sleeper wakes with ENODEV, the nodes go, and once the
 * operations under way have ended the hardware is given back.  The memory
 * goes with the last open file or kernel client.
 */
static void lpt1284_port_remove(struct lpt1284_port *port)
{
	int index = port->index;

	mutex_lock(&lpt1284_ports_lock);
	lpt1284_ports[index] = NULL;
	mutex_unlock(&lpt1284_ports_lock);
	lpt1284_port_kill(port);
	lpt1284_device_nodes_remove(port);
	device_del(&port->dev);
	cdev_del(&port->cdev);
	down_write(&port->alive);
	lpt1284_port_free_hw(port);
	up_write(&port->alive);
	ida_free(&lpt1284_ida, index);
	put_device(&port->dev);
}

static int lpt1284_pnp_probe(struct pnp_dev *pdev,
			     const struct pnp_device_id *id)
{
	struct lpt1284_port *port;
	unsigned long base_hi = 0;
	int irq = -1, dma = -1;

	if (!pnp_port_valid(pdev, 0))
		return -ENODEV;
	if (pnp_port_valid(pdev, 1))
		base_hi = pnp_port_start(pdev, 1);
	if (pnp_irq_valid(pdev, 0))
		irq = pnp_irq(pdev, 0);
	if (pnp_dma_valid(pdev, 0))
		dma = pnp_dma(pdev, 0);
	port = lpt1284_port_add(&pdev->dev, pnp_port_start(pdev, 0), base_hi,
				irq, dma);
	if (IS_ERR(port))
		return PTR_ERR(port);
	pnp_set_drvdata(pdev, port);
	return 0;
}

static void lpt1284_pnp_remove(struct pnp_dev *pdev)
{
	lpt1284_port_remove(pnp_get_drvdata(pdev));
	pnp_set_drvdata(pdev, NULL);
}

static const struct pnp_device_id lpt1284_pnp_ids[] = {
	{ .id = "PNP0400" },
	{ .id = "PNP0401" },
	{ }
};
MODULE_DEVICE_TABLE(pnp, lpt1284_pnp_ids);

static struct pnp_driver lpt1284_pnp_driver = {
	.name = "lpt1284",
	.id_table = lpt1284_pnp_ids,
	.probe = lpt1284_pnp_probe,
	.remove = lpt1284_pnp_remove,
};

static struct lpt1284_port *lpt1284_manual[LPT1284_MAX_PORTS];

static void lpt1284_manual_remove(void)
{
	int i;

	for (i = 0; i < LPT1284_MAX_PORTS; i++) {
		if (lpt1284_manual[i])
			lpt1284_port_remove(lpt1284_manual[i]);
		lpt1284_manual[i] = NULL;
	}
}

static int __init lpt1284_init(void)
{
	struct lpt1284_port *port;
	int ret, i;

	ret = alloc_chrdev_region(&lpt1284_devt, 0, LPT1284_MAX_PORTS *
				  LPT1284_MINORS_PER_PORT, "lpt1284");
	if (ret)
		return ret;
	lpt1284_class = class_create(THIS_MODULE, "lpt1284");
	if (IS_ERR(lpt1284_class)) {
		ret = PTR_ERR(lpt1284_class);
		goto err_region;
	}
	for (i = 0; i < n_io; i++) {
		port = lpt1284_port_add(NULL, io[i], i < n_io_hi ? io_hi[i] : 0,
					i < n_irq ? irq[i] : -1,
					i < n_dma ? dma[i] : -1);
		if (IS_ERR(port)) {
			pr_err("no port at 0x%lx: %ld\n", io[i], PTR_ERR(port));
			continue;
		}
		lpt1284_manual[i] = port;
	}
	ret = pnp_register_driver(&lpt1284_pnp_driver);
	if (ret) {
		pr_err("cannot register the PnP driver: %d\n", ret);
		goto err_ports;
	}
	return 0;

err_ports:
	lpt1284_manual_remove();
	class_destroy(lpt1284_class);
err_region:
	unregister_chrdev_region(lpt1284_devt, LPT1284_MAX_PORTS *
				 LPT1284_MINORS_PER_PORT);
	return ret;
}

static void __exit lpt1284_exit(void)
{
	pnp_unregister_driver(&lpt1284_pnp_driver);
	lpt1284_manual_remove();
	class_destroy(lpt1284_class);
	unregister_chrdev_region(lpt1284_devt, LPT1284_MAX_PORTS *
				 LPT1284_MINORS_PER_PORT);
}

module_init(lpt1284_init);
module_exit(lpt1284_exit);

MODULE_DESCRIPTION("Windows parallel-port sharing model: shared ports, FIFO allocation, IEEE 1284.3 devices");
MODULE_AUTHOR("The lptrig authors");
MODULE_LICENSE("GPL");
