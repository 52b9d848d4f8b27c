/*
 * IEEE 1284 cable and IEEE 1284.3 daisy chain: the bus and its routing
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU interface:
 *  + TYPE_LPT1284_CHAIN: the bus a controller creates for its cable, with
 *    up to four IEEE 1284.3 daisy devices (positions 0-3, 0 nearest the
 *    host) and one end-of-chain device.  Peripherals can be plugged and
 *    unplugged at run time (device_add / device_del).
 *  + read-only properties showing the cable: "host-data", "host-control"
 *    (nStrobe, nAutoFd, nInit, nSelectIn levels in bits 0-3),
 *    "host-reverse" and "status" (nFault, Select, PError, nAck, Busy
 *    levels in bits 3-7)
 *
 * Routing, as on a real 1284.3 cable (the daisy devices pass their
 * downstream port through unless selected):
 *  - every change of the host's lines goes to each daisy device's command
 *    packet decoder (lpt1284-dot3.c);
 *  - while a command packet is under way the daisy devices answer it and
 *    nobody else sees the lines (no strobe of a packet reaches a printer);
 *  - otherwise the selected daisy device, or the end-of-chain device when
 *    none is selected, sees the lines and drives the status lines;
 *  - with nothing there the lines float high (status register 0x7f).
 *
 * Gaps in the positions are allowed, as a shorter cable: the guest's
 * address assignment numbers the daisy devices in chain order, so with
 * daisy devices at 0 and 2 the second one gets 1284.3 address 1.
 *
 * Hot-plug: a daisy device plugged in is unaddressed and unselected until
 * the guest scans again (a guest scan assigns it an address); an end
 * device plugged in answers at once when no daisy device is selected.  A
 * device unplugged is gone from the cable at once: a transfer to it sees
 * an unplugged cable (Busy, PError, Select and nFault float high), and if
 * it was the selected daisy device the host keeps talking to nobody, not
 * to a device further down, until its next command packet (AA 55 00 FF,
 * seen even with no daisy device left) or nInit.
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
#include "hw/hotplug.h"
#include "migration/vmstate.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "trace.h"

void lpt1284_chain_set_ops(Lpt1284Chain *chain, const Lpt1284ChainOps *ops,
                           void *opaque)
{
    chain->ops = ops;
    chain->opaque = opaque;
}

/* The peripheral that sees the host's lines outside command packets */
Lpt1284Peripheral *lpt1284_chain_responder(Lpt1284Chain *chain)
{
    int i;

    for (i = 0; i < LPT1284_DAISY_MAX; i++) {
        if (chain->daisy[i] && chain->daisy[i]->selected) {
            /* Selected, then off the cable: nobody answers */
            return chain->daisy[i]->disconnect ? NULL : chain->daisy[i];
        }
    }
    if (chain->orphaned || (chain->end && chain->end->disconnect)) {
        return NULL;
    }
    return chain->end;
}

uint8_t lpt1284_chain_status(Lpt1284Chain *chain)
{
    Lpt1284Peripheral *p;
    int i;

    /* From the host outwards: the first device that drives the lines */
    for (i = 0; i < LPT1284_DAISY_MAX; i++) {
        p = lpt1284_chain_daisy(chain, i);
        if (!p) {
            if (chain->daisy[i] && chain->daisy[i]->selected) {
                break;          /* the lines float */
            }
            continue;
        }
        if (lpt1284_dot3_answering(p)) {
            return lpt1284_dot3_status(chain, p);
        }
        if (p->selected) {
            return p->status;
        }
    }
    p = lpt1284_chain_responder(chain);
    return p ? p->status : LPT1284_LINES_IDLE;
}

uint8_t lpt1284_chain_data(Lpt1284Chain *chain)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    if (!chain->host_reverse) {
        return chain->host_data;
    }
    /* Host drivers off: the peripheral drives the lines, or pull-ups do */
    return (p && p->drives_data) ? p->data : LPT1284_LINES_IDLE;
}

/* Selection, packet and the answering device's phase, for a VCD trace */
static uint32_t lpt1284_chain_vcd_state(Lpt1284Chain *chain)
{
    static const uint32_t phase_bit[LPT1284_PHASE__MAX] = {
        [LPT1284_PHASE_COMPAT_IDLE] = LPT1284_VCD_COMPAT,
        [LPT1284_PHASE_COMPAT_BUSY] = LPT1284_VCD_COMPAT,
        [LPT1284_PHASE_COMPAT_ACK] = LPT1284_VCD_COMPAT,
        [LPT1284_PHASE_NEGOTIATION] = LPT1284_VCD_NEGOTIATION,
        [LPT1284_PHASE_REJECTED] = LPT1284_VCD_NEGOTIATION,
        [LPT1284_PHASE_REV_IDLE] = LPT1284_VCD_NIBBLE_BYTE,
        [LPT1284_PHASE_REV_DATA] = LPT1284_VCD_NIBBLE_BYTE,
        [LPT1284_PHASE_ECP_SETUP] = LPT1284_VCD_ECP_FORWARD,
        [LPT1284_PHASE_ECP_FWD_IDLE] = LPT1284_VCD_ECP_FORWARD,
        [LPT1284_PHASE_ECP_FWD_BUSY] = LPT1284_VCD_ECP_FORWARD,
        [LPT1284_PHASE_ECP_REV_IDLE] = LPT1284_VCD_ECP_REVERSE,
        [LPT1284_PHASE_ECP_REV_DATA] = LPT1284_VCD_ECP_REVERSE,
        [LPT1284_PHASE_EPP_IDLE] = LPT1284_VCD_EPP,
        [LPT1284_PHASE_TERM_ACK] = LPT1284_VCD_TERMINATION,
        [LPT1284_PHASE_TERM_END] = LPT1284_VCD_TERMINATION,
    };
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);
    uint32_t state = 0;
    int i;

    for (i = 0; i < LPT1284_DAISY_MAX; i++) {
        Lpt1284Peripheral *d = chain->daisy[i];

        if (d && d->selected) {
            state |= LPT1284_VCD_SELECTED(i);
        }
        if (d && lpt1284_dot3_answering(d)) {
            state |= LPT1284_VCD_PACKET;
        }
    }
    if (p && !lpt1284_peripheral_class(p)->lines &&
        p->phase < LPT1284_PHASE__MAX) {
        state |= phase_bit[p->phase];
    }
    return state;
}

/* Tell the controller when what it sees of the status lines changed. */
void lpt1284_chain_update(Lpt1284Chain *chain)
{
    uint8_t old = chain->status;
    uint8_t new = lpt1284_chain_status(chain);

    if (chain->vcd) {
        lpt1284_vcd_sample(chain->vcd, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL),
                           lpt1284_chain_data(chain), chain->host_ctrl,
                           chain->host_reverse, new,
                           lpt1284_chain_vcd_state(chain));
    }
    if (old == new) {
        return;
    }
    chain->status = new;
    trace_lpt1284_chain_status(old, new);
    if (chain->ops && chain->ops->status_changed) {
        chain->ops->status_changed(chain->opaque, old, new);
    }
}

void lpt1284_chain_drive(Lpt1284Chain *chain, uint8_t data, uint8_t ctrl,
                         bool reverse)
{
    uint8_t old_data = chain->host_data;
    uint8_t old_ctrl = chain->host_ctrl;
    bool old_reverse = chain->host_reverse;
    Lpt1284Peripheral *p;

    ctrl &= LPT1284_CTRL_LINES;
    if (old_data == data && old_ctrl == ctrl && old_reverse == reverse) {
        return;
    }
    trace_lpt1284_chain_drive(data, ctrl, reverse);
    chain->host_data = data;
    chain->host_ctrl = ctrl;
    chain->host_reverse = reverse;

    /* A change that belongs to a command packet goes no further */
    if (!lpt1284_dot3_host_changed(chain, old_data, old_ctrl, old_reverse)) {
        p = lpt1284_chain_responder(chain);
        if (p) {
            lpt1284_peripheral_host_changed(p, chain, old_ctrl);
        }
    }
    lpt1284_chain_update(chain);
}

/*
 * Let the answering peripheral catch up with virtual time before the host
 * samples the lines: a handshake step whose deadline has passed happens
 * now, whether or not the main loop has run its timer yet.  This is the
 * same virtual time the timer keeps, not a guess from how often the guest
 * reads, and it keeps a polling vCPU from waiting on the main loop.
 */
void lpt1284_chain_sync(Lpt1284Chain *chain)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    if (p) {
        lpt1284_peripheral_catch_up(p, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}

/* A peripheral can take data again: whatever waits on it may go on. */
void lpt1284_chain_ready(Lpt1284Chain *chain)
{
    if (chain->ops && chain->ops->ready) {
        chain->ops->ready(chain->opaque);
    }
}

void lpt1284_chain_reset(Lpt1284Chain *chain)
{
    chain->host_data = 0;
    chain->host_ctrl = LPT1284_NSTROBE | LPT1284_NAUTOFD | LPT1284_NSELECTIN;
    chain->host_reverse = false;
    chain->orphaned = false;
    chain->orphan_phase = LPT1284_DOT3_IDLE;
    chain->status = lpt1284_chain_status(chain);
}

/* Plugging and unplugging */

static int lpt1284_chain_position(Lpt1284Peripheral *p)
{
    return p->addr == LPT1284_ADDR_END ? LPT1284_DAISY_MAX : p->addr;
}

/*
 * Keep the bus's children in chain order, from the host outwards, so that
 * "info qtree" and qom-list show the cable as it is.
 */
static void lpt1284_chain_sort(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    BusState *bus = BUS(chain);
    BusChild *kid, *mine = NULL, *next = NULL;

    QTAILQ_FOREACH(kid, &bus->children, sibling) {
        if (kid->child == DEVICE(p)) {
            mine = kid;
        }
    }
    if (!mine) {
        return;
    }
    QTAILQ_REMOVE_RCU(&bus->children, mine, sibling);
    QTAILQ_FOREACH(kid, &bus->children, sibling) {
        Lpt1284Peripheral *other = LPT1284_PERIPHERAL(kid->child);

        if (lpt1284_chain_position(other) > lpt1284_chain_position(p)) {
            next = kid;
            break;
        }
    }
    if (next) {
        QTAILQ_INSERT_BEFORE_RCU(next, mine, sibling);
    } else {
        QTAILQ_INSERT_TAIL_RCU(&bus->children, mine, sibling);
    }
}

void lpt1284_chain_attach(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    if (p->addr == LPT1284_ADDR_END) {
        chain->end = p;
    } else {
        chain->daisy[p->addr] = p;
    }
    lpt1284_chain_sort(chain, p);
    trace_lpt1284_chain_attach(lpt1284_chain_position(p),
                               object_get_typename(OBJECT(p)));
    lpt1284_chain_update(chain);
}

void lpt1284_chain_detach(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    if (p->selected) {
        /* The host still thinks it is talking to it: it talks to nobody */
        chain->orphaned = true;
    }
    if (chain->end == p) {
        chain->end = NULL;
    } else if (p->addr >= 0 && p->addr < LPT1284_DAISY_MAX &&
               chain->daisy[p->addr] == p) {
        chain->daisy[p->addr] = NULL;
    }
    trace_lpt1284_chain_detach(lpt1284_chain_position(p), chain->orphaned);
    lpt1284_chain_update(chain);
    /* A transfer waiting on it waits on an unplugged cable now */
    lpt1284_chain_ready(chain);
}

/* A peripheral went off or back on the cable ("disconnect"). */
void lpt1284_chain_reconnect(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    trace_lpt1284_chain_attach(lpt1284_chain_position(p), p->disconnect ?
                               "(disconnected)" :
                               object_get_typename(OBJECT(p)));
    lpt1284_chain_update(chain);
    lpt1284_chain_ready(chain);
}

/* The migration id of a peripheral: its controller and its position */
static char *lpt1284_chain_get_dev_path(DeviceState *dev)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    BusState *bus = qdev_get_parent_bus(dev);
    g_autofree char *parent = qdev_get_dev_path(bus->parent);
    g_autofree char *where = NULL;

    /*
     * An ISA device has no device path of its own: the bus name
     * ("<controller id>.0", or a numbered default) tells two ports apart.
     */
    where = parent ? g_strdup_printf("%s/%s", parent, bus->name)
                   : g_strdup(bus->name);
    if (p->addr == LPT1284_ADDR_END) {
        return g_strdup_printf("%s/lpt1284-end", where);
    }
    return g_strdup_printf("%s/lpt1284-%d", where, p->addr);
}

static void lpt1284_chain_print_dev(Monitor *mon, DeviceState *dev,
                                    int indent)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);

    if (p->addr == LPT1284_ADDR_END) {
        monitor_printf(mon, "%*schain position: end%s\n", indent, "",
                       lpt1284_chain_responder(lpt1284_peripheral_chain(p))
                       == p ? " (answering)" : "");
        return;
    }
    monitor_printf(mon, "%*schain position: %d, 1284.3 address: ", indent, "",
                   p->addr);
    if (p->dot3_addr < 0) {
        monitor_printf(mon, "none");
    } else {
        monitor_printf(mon, "%d", p->dot3_addr);
    }
    if (p->selected) {
        monitor_printf(mon, ", selected (%s)",
                       lpt1284_dot3_mode_name[p->dot3_mode]);
    }
    monitor_printf(mon, "\n");
}

/* device_del: unrealize at once, like a cable pulled out */
static void lpt1284_chain_unplug(HotplugHandler *hotplug_dev, DeviceState *dev,
                                 Error **errp)
{
    qdev_unrealize(dev);
}

static bool lpt1284_chain_get_host_reverse(Object *obj, Error **errp)
{
    return LPT1284_CHAIN(obj)->host_reverse;
}

static void lpt1284_chain_class_init(ObjectClass *klass, void *data)
{
    BusClass *k = BUS_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    k->get_dev_path = lpt1284_chain_get_dev_path;
    k->print_dev = lpt1284_chain_print_dev;
    hc->unplug = lpt1284_chain_unplug;
    object_class_property_add_bool(klass, "host-reverse",
                                   lpt1284_chain_get_host_reverse, NULL);
}

/* The cable, readable with qom-get: what a logic analyser would show */
static void lpt1284_chain_instance_init(Object *obj)
{
    Lpt1284Chain *chain = LPT1284_CHAIN(obj);

    object_property_add_uint8_ptr(obj, "host-data", &chain->host_data,
                                  OBJ_PROP_FLAG_READ);
    object_property_add_uint8_ptr(obj, "host-control", &chain->host_ctrl,
                                  OBJ_PROP_FLAG_READ);
    object_property_add_uint8_ptr(obj, "status", &chain->status,
                                  OBJ_PROP_FLAG_READ);
}

/* The chain of a controller, named "<controller id>.0"; hot-pluggable. */
Lpt1284Chain *lpt1284_chain_new(DeviceState *controller)
{
    BusState *bus = qbus_new(TYPE_LPT1284_CHAIN, controller, NULL);

    /* The link needs the bus in the QOM tree, so not in instance_init */
    qbus_set_bus_hotplug_handler(bus);
    return LPT1284_CHAIN(bus);
}

static int lpt1284_chain_post_load(void *opaque, int version_id)
{
    Lpt1284Chain *chain = opaque;

    if ((chain->host_ctrl & ~LPT1284_CTRL_LINES) ||
        (chain->status & ~LPT1284_STATUS_LINES) ||
        chain->orphan_phase >= LPT1284_DOT3_FF) {
        return -EINVAL;
    }
    return 0;
}

/* Loaded with the controller; nothing moves on the cable while it loads */
const VMStateDescription vmstate_lpt1284_chain = {
    .name = TYPE_LPT1284_CHAIN,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = lpt1284_chain_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(host_data, Lpt1284Chain),
        VMSTATE_UINT8(host_ctrl, Lpt1284Chain),
        VMSTATE_BOOL(host_reverse, Lpt1284Chain),
        VMSTATE_UINT8(status, Lpt1284Chain),
        VMSTATE_BOOL(orphaned, Lpt1284Chain),
        VMSTATE_UINT8(orphan_phase, Lpt1284Chain),
        VMSTATE_END_OF_LIST()
    }
};

static const TypeInfo lpt1284_chain_types[] = {
    {
        .name = TYPE_LPT1284_CHAIN,
        .parent = TYPE_BUS,
        .instance_size = sizeof(Lpt1284Chain),
        .instance_init = lpt1284_chain_instance_init,
        .class_init = lpt1284_chain_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_HOTPLUG_HANDLER },
            { }
        },
    },
};

DEFINE_TYPES(lpt1284_chain_types)

/* Transaction level, for the controller's FIFO, DMA and EPP hardware */

size_t lpt1284_chain_compat_write(Lpt1284Chain *chain, const uint8_t *buf,
                                  size_t len)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    return p ? lpt1284_peripheral_compat_write(p, buf, len) : 0;
}

size_t lpt1284_chain_ecp_write(Lpt1284Chain *chain, const uint8_t *buf,
                               size_t len, bool command)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    return p ? lpt1284_peripheral_ecp_write(p, buf, len, command) : 0;
}

bool lpt1284_chain_ecp_read(Lpt1284Chain *chain, uint8_t *byte,
                            bool *command)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    return p && lpt1284_peripheral_ecp_read(p, byte, command);
}

bool lpt1284_chain_epp_write(Lpt1284Chain *chain, bool addr, uint8_t val)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    return p && lpt1284_peripheral_epp_write(p, addr, val);
}

bool lpt1284_chain_epp_read(Lpt1284Chain *chain, bool addr, uint8_t *val)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

    return p && lpt1284_peripheral_epp_read(p, addr, val);
}
