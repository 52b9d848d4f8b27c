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

#include <linux/fs.h>
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
static DEFINE_MUTEX(lpt1284_ports_lock);
static struct lpt1284_port *lpt1284_ports[LPT1284_MAX_PORTS];

/* Port lptN, or NULL */
struct lpt1284_port *lpt1284_port_get(int index)
{
	struct lpt1284_port *port = NULL;

	mutex_lock(&lpt1284_ports_lock);
	if (index >= 0 && index < LPT1284_MAX_PORTS)
		port = lpt1284_ports[index];
	mutex_unlock(&lpt1284_ports_lock);
	return port;
}

static irqreturn_t lpt1284_interrupt(int irq, void *dev_id)
{
	struct lpt1284_port *port = dev_id;

	port->irq_count++;
	wake_up_interruptible(&port->irq_wq);
	return IRQ_HANDLED;
}

/* Take the port out of the list and free it. */
static void lpt1284_port_forget(struct lpt1284_port *port)
{
	mutex_lock(&lpt1284_ports_lock);
	lpt1284_ports[port->index] = NULL;
	mutex_unlock(&lpt1284_ports_lock);
	kfree(port);
}

/* Give back the DMA channel, the IRQ and the I/O ranges, then forget it. */
static void lpt1284_port_free(struct lpt1284_port *port)
{
	if (port->dma_buf) {
		free_page((unsigned long)port->dma_buf);
		free_dma(port->dma);
	}
	if (port->irq >= 0)
		free_irq(port->irq, port);
	if (port->base_hi)
		release_region(port->base_hi, 3);
	release_region(port->base, 8);
	lpt1284_port_forget(port);
}

static struct lpt1284_port *lpt1284_port_add(struct device *parent,
					     unsigned long base,
					     unsigned long base_hi, int irq,
					     int dma)
{
	struct lpt1284_port *port;
	int index, ret;

	mutex_lock(&lpt1284_ports_lock);
	for (index = 0; index < LPT1284_MAX_PORTS; index++)
		if (!lpt1284_ports[index])
			break;
	if (index == LPT1284_MAX_PORTS) {
		mutex_unlock(&lpt1284_ports_lock);
		return ERR_PTR(-ENOSPC);
	}
	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port) {
		mutex_unlock(&lpt1284_ports_lock);
		return ERR_PTR(-ENOMEM);
	}
	lpt1284_ports[index] = port;
	mutex_unlock(&lpt1284_ports_lock);

	port->index = index;
	port->parent = parent;
	port->base = base;
	port->base_hi = base_hi;
	port->irq = irq;
	port->dma = dma;
	port->selected = -1;
	port->devt = lpt1284_devt + index * LPT1284_MINORS_PER_PORT;
	spin_lock_init(&port->lock);
	INIT_LIST_HEAD(&port->queue);
	init_waitqueue_head(&port->wq);
	init_waitqueue_head(&port->irq_wq);
	mutex_init(&port->chain_lock);

	ret = -EBUSY;
	if (!request_region(base, 8, "lpt1284"))
		goto err_free;
	if (base_hi && !request_region(base_hi, 3, "lpt1284 ecp"))
		port->base_hi = 0;
	if (port->irq >= 0 &&
	    request_irq(port->irq, lpt1284_interrupt, 0, "lpt1284", port))
		port->irq = -1;
	lpt1284_port_probe(port);
	if ((port->caps & LPT1284_CAP_DMA) && !request_dma(port->dma, "lpt1284")) {
		/* A page below 16 MiB: never crosses a 64 KiB DMA boundary */
		port->dma_buf = (u8 *)__get_free_page(GFP_KERNEL | GFP_DMA);
		if (!port->dma_buf)
			free_dma(port->dma);
	}
	if (!port->dma_buf)
		port->caps &= ~LPT1284_CAP_DMA;
	ret = lpt1284_port_nodes_add(port);
	if (ret)
		goto err_release;
	mutex_lock(&port->chain_lock);
	lpt1284_scan(port);
	lpt1284_device_nodes_update(port);
	mutex_unlock(&port->chain_lock);
	dev_info(port->dev, "lpt1284 at 0x%lx (0x%lx), irq %d, dma %d, %u-byte FIFO, caps 0x%x\n",
		 port->base, port->base_hi, port->irq, port->dma,
		 port->fifo_depth, port->caps);
	return port;

err_release:
	lpt1284_port_free(port);
	return ERR_PTR(ret);
err_free:
	lpt1284_port_forget(port);
	return ERR_PTR(ret);
}

static void lpt1284_port_remove(struct lpt1284_port *port)
{
	lpt1284_port_nodes_remove(port);
	lpt1284_port_free(port);
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

static bool lpt1284_pnp_registered;
static struct lpt1284_port *lpt1284_manual[LPT1284_MAX_PORTS];

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
			pr_err("lpt1284: no port at 0x%lx: %ld\n", io[i],
			       PTR_ERR(port));
			continue;
		}
		lpt1284_manual[i] = port;
	}
	lpt1284_pnp_registered = !pnp_register_driver(&lpt1284_pnp_driver);
	return 0;

err_region:
	unregister_chrdev_region(lpt1284_devt, LPT1284_MAX_PORTS *
				 LPT1284_MINORS_PER_PORT);
	return ret;
}

static void __exit lpt1284_exit(void)
{
	int i;

	if (lpt1284_pnp_registered)
		pnp_unregister_driver(&lpt1284_pnp_driver);
	for (i = 0; i < LPT1284_MAX_PORTS; i++)
		if (lpt1284_manual[i])
			lpt1284_port_remove(lpt1284_manual[i]);
	class_destroy(lpt1284_class);
	unregister_chrdev_region(lpt1284_devt, LPT1284_MAX_PORTS *
				 LPT1284_MINORS_PER_PORT);
}

module_init(lpt1284_init);
module_exit(lpt1284_exit);

MODULE_DESCRIPTION("Windows parallel-port sharing model: shared ports, FIFO allocation, IEEE 1284.3 devices");
MODULE_AUTHOR("The lptrig authors");
MODULE_LICENSE("GPL");
