/*
 * IEEE 1284 cable, IEEE 1284.3 daisy chain, and the peripheral side of
 * IEEE 1284 shared by every lptrig peripheral
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU interface:
 *  + TYPE_LPT1284_CHAIN: the bus a controller creates for its cable.
 *  + TYPE_LPT1284_PERIPHERAL: abstract base of the peripherals on it, with
 *    the properties every peripheral has:
 *    - "addr": 0-3 for an IEEE 1284.3 daisy position (0 nearest the host),
 *      unset (-1) for the end-of-chain device
 *    - "device-id": the IEEE 1284 Device ID string (without the two length
 *      bytes); the class supplies a default
 *
 *  + TYPE_LPT1284_CHAIN read-only properties showing the cable: "host-data",
 *    "host-control" (nStrobe, nAutoFd, nInit, nSelectIn levels in bits 0-3),
 *    "host-reverse" and "status" (nFault, Select, PError, nAck, Busy levels
 *    in bits 3-7)
 *
 * Caveat: daisy positions are accepted and kept in order, but the 1284.3
 * command packet decoder is not there yet, so a daisy device never gets
 * selected and the end-of-chain device always answers.
 */

#include "qemu/osdep.h"
#include "hw/char/lpt1284-chain.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "trace.h"

/* Handshake lines of a peripheral ready for data: not Busy, nAck high */
#define LPT1284_HANDSHAKE_READY LPT1284_NACK
/* Steady lines of a healthy peripheral: paper in, online, no fault */
#define LPT1284_STEADY_OK   (LPT1284_SELECT | LPT1284_NFAULT)

static const char *const lpt1284_phase_name[LPT1284_PHASE__MAX] = {
    [LPT1284_PHASE_COMPAT_IDLE] = "compat-idle",
    [LPT1284_PHASE_COMPAT_BUSY] = "compat-busy",
    [LPT1284_PHASE_COMPAT_ACK]  = "compat-ack",
};

static Lpt1284Chain *lpt1284_peripheral_chain(Lpt1284Peripheral *p)
{
    return LPT1284_CHAIN(qdev_get_parent_bus(DEVICE(p)));
}

/* The chain */

void lpt1284_chain_set_notify(Lpt1284Chain *chain, Lpt1284StatusNotify notify,
                              void *opaque)
{
    chain->notify = notify;
    chain->notify_opaque = opaque;
}

Lpt1284Peripheral *lpt1284_chain_responder(Lpt1284Chain *chain)
{
    BusChild *kid;

    QTAILQ_FOREACH(kid, &chain->parent_obj.children, sibling) {
        Lpt1284Peripheral *p = LPT1284_PERIPHERAL(kid->child);

        if (p->addr == LPT1284_ADDR_END) {
            return p;
        }
    }
    return NULL;
}

uint8_t lpt1284_chain_status(Lpt1284Chain *chain)
{
    Lpt1284Peripheral *p = lpt1284_chain_responder(chain);

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

/* Tell the controller when the answering peripheral changed its lines. */
static void lpt1284_chain_update(Lpt1284Chain *chain)
{
    uint8_t old = chain->status;
    uint8_t new = lpt1284_chain_status(chain);

    if (old == new) {
        return;
    }
    chain->status = new;
    trace_lpt1284_chain_status(old, new);
    if (chain->notify) {
        chain->notify(chain->notify_opaque, old, new);
    }
}

static void lpt1284_peripheral_host_changed(Lpt1284Peripheral *p,
                                            Lpt1284Chain *chain);

void lpt1284_chain_drive(Lpt1284Chain *chain, uint8_t data, uint8_t ctrl,
                         bool reverse)
{
    Lpt1284Peripheral *p;

    ctrl &= LPT1284_CTRL_LINES;
    if (chain->host_data == data && chain->host_ctrl == ctrl &&
        chain->host_reverse == reverse) {
        return;
    }
    trace_lpt1284_chain_drive(data, ctrl, reverse);
    chain->host_data = data;
    chain->host_ctrl = ctrl;
    chain->host_reverse = reverse;

    p = lpt1284_chain_responder(chain);
    if (p) {
        lpt1284_peripheral_host_changed(p, chain);
    }
    lpt1284_chain_update(chain);
}

void lpt1284_chain_reset(Lpt1284Chain *chain)
{
    chain->host_data = 0;
    chain->host_ctrl = LPT1284_NSTROBE | LPT1284_NAUTOFD | LPT1284_NSELECTIN;
    chain->host_reverse = false;
    chain->status = lpt1284_chain_status(chain);
}

static char *lpt1284_chain_get_dev_path(DeviceState *dev)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    BusState *bus = qdev_get_parent_bus(dev);
    g_autofree char *parent = qdev_get_dev_path(bus->parent);

    if (p->addr == LPT1284_ADDR_END) {
        return g_strdup_printf("%s/lpt1284-end", parent ? parent : "");
    }
    return g_strdup_printf("%s/lpt1284-%d", parent ? parent : "", p->addr);
}

static bool lpt1284_chain_get_host_reverse(Object *obj, Error **errp)
{
    return LPT1284_CHAIN(obj)->host_reverse;
}

static void lpt1284_chain_class_init(ObjectClass *klass, void *data)
{
    BusClass *k = BUS_CLASS(klass);

    k->get_dev_path = lpt1284_chain_get_dev_path;
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

/* The peripheral side of IEEE 1284 */

static void lpt1284_peripheral_set_phase(Lpt1284Peripheral *p,
                                         Lpt1284Phase phase)
{
    trace_lpt1284_peripheral_phase(p->addr, lpt1284_phase_name[phase]);
    p->phase = phase;
}

/*
 * The status lines are the handshake lines the phase drives (Busy, nAck)
 * over the steady lines the device sets (PError, Select, nFault); a device
 * that cannot take data holds Busy high whatever the phase.
 */
static void lpt1284_peripheral_set_status(Lpt1284Peripheral *p,
                                          uint8_t handshake)
{
    uint8_t status = (handshake & (LPT1284_BUSY | LPT1284_NACK)) | p->steady;

    if (p->hold_busy) {
        status |= LPT1284_BUSY;
    }
    p->status = status & LPT1284_STATUS_LINES;
    lpt1284_chain_update(lpt1284_peripheral_chain(p));
}

void lpt1284_peripheral_set_condition(Lpt1284Peripheral *p, uint8_t steady,
                                      bool hold_busy)
{
    uint8_t handshake = p->status;

    p->steady = steady & (LPT1284_PERROR | LPT1284_SELECT | LPT1284_NFAULT);
    if (p->hold_busy && !hold_busy &&
        p->phase == LPT1284_PHASE_COMPAT_IDLE) {
        handshake &= ~LPT1284_BUSY;
    }
    p->hold_busy = hold_busy;
    if (DEVICE(p)->realized) {
        lpt1284_peripheral_set_status(p, handshake);
    }
}

/* Back to compatibility mode, ready, nothing latched. */
static void lpt1284_peripheral_idle(Lpt1284Peripheral *p)
{
    timer_del(p->timer);
    p->stalled = false;
    p->drives_data = false;
    p->data = LPT1284_LINES_IDLE;
    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_IDLE);
    lpt1284_peripheral_set_status(p, LPT1284_HANDSHAKE_READY);
}

static void lpt1284_peripheral_host_changed(Lpt1284Peripheral *p,
                                            Lpt1284Chain *chain)
{
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);
    uint8_t ctrl = chain->host_ctrl;
    uint8_t fell = p->last_ctrl & ~ctrl;
    uint8_t rose = ~p->last_ctrl & ctrl;

    p->last_ctrl = ctrl;

    if (fell & LPT1284_NINIT) {
        /* nInit low: the host resets the peripheral */
        lpt1284_peripheral_idle(p);
        if (pc->reset) {
            pc->reset(p);
        }
        return;
    }
    if (!(ctrl & LPT1284_NINIT)) {
        return;
    }

    switch (p->phase) {
    case LPT1284_PHASE_COMPAT_IDLE:
        /* Compatibility mode: data is latched on the falling nStrobe edge */
        if (fell & LPT1284_NSTROBE) {
            p->latch = chain->host_data;
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_BUSY);
            lpt1284_peripheral_set_status(p, p->status | LPT1284_BUSY);
        }
        break;
    case LPT1284_PHASE_COMPAT_BUSY:
        /* ... and taken once nStrobe is released */
        if ((rose & LPT1284_NSTROBE) && !p->stalled) {
            timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                      LPT1284_ACK_DELAY_NS);
        }
        break;
    default:
        break;
    }
}

static void lpt1284_peripheral_timer(void *opaque)
{
    Lpt1284Peripheral *p = opaque;
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);

    switch (p->phase) {
    case LPT1284_PHASE_COMPAT_BUSY:
        if (pc->forward && pc->forward(p, &p->latch, 1) == 0) {
            /* No room: stay Busy until lpt1284_peripheral_ready() */
            p->stalled = true;
            trace_lpt1284_peripheral_stall(p->addr);
            return;
        }
        trace_lpt1284_peripheral_byte(p->addr, p->latch);
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_ACK);
        lpt1284_peripheral_set_status(p, p->status & ~LPT1284_NACK);
        timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  LPT1284_ACK_WIDTH_NS);
        break;
    case LPT1284_PHASE_COMPAT_ACK:
        /* The rising nAck edge ends the handshake (and interrupts the host) */
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_IDLE);
        lpt1284_peripheral_set_status(p, (p->status | LPT1284_NACK) &
                                      ~LPT1284_BUSY);
        break;
    default:
        break;
    }
}

void lpt1284_peripheral_ready(Lpt1284Peripheral *p)
{
    if (p->stalled) {
        p->stalled = false;
        timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}

const char *lpt1284_peripheral_device_id(Lpt1284Peripheral *p)
{
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);

    if (p->device_id) {
        return p->device_id;
    }
    return pc->default_device_id ? pc->default_device_id : "";
}

static void lpt1284_peripheral_realize(DeviceState *dev, Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);
    BusState *bus = qdev_get_parent_bus(dev);
    BusChild *kid;

    if (p->addr != LPT1284_ADDR_END &&
        (p->addr < 0 || p->addr >= LPT1284_DAISY_MAX)) {
        error_setg(errp, "addr %d is not a chain position: use 0-%d for a "
                   "daisy device, or leave it unset for the end of the chain",
                   p->addr, LPT1284_DAISY_MAX - 1);
        return;
    }
    QTAILQ_FOREACH(kid, &bus->children, sibling) {
        Lpt1284Peripheral *other = LPT1284_PERIPHERAL(kid->child);

        if (other != p && other->addr == p->addr &&
            DEVICE(other)->realized) {
            if (p->addr == LPT1284_ADDR_END) {
                error_setg(errp, "the chain already has an end-of-chain "
                           "device");
            } else {
                error_setg(errp, "chain position %d is already taken",
                           p->addr);
            }
            return;
        }
    }
    if (p->device_id && strlen(p->device_id) > UINT16_MAX - 2) {
        error_setg(errp, "device-id is longer than %d bytes", UINT16_MAX - 2);
        return;
    }

    p->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, lpt1284_peripheral_timer, p);
    if (pc->realize) {
        pc->realize(p, errp);
    }
}

static void lpt1284_peripheral_unrealize(DeviceState *dev)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);

    if (pc->unrealize) {
        pc->unrealize(p);
    }
    timer_free(p->timer);
    p->timer = NULL;
}

static void lpt1284_peripheral_reset(DeviceState *dev)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);

    p->last_ctrl = LPT1284_NSTROBE | LPT1284_NAUTOFD | LPT1284_NSELECTIN;
    timer_del(p->timer);
    p->stalled = false;
    p->drives_data = false;
    p->data = LPT1284_LINES_IDLE;
    p->phase = LPT1284_PHASE_COMPAT_IDLE;
    p->steady = LPT1284_STEADY_OK;
    p->hold_busy = false;
    if (pc->reset) {
        /* may set the steady lines through set_condition() */
        pc->reset(p);
    }
    p->status = LPT1284_HANDSHAKE_READY | p->steady |
                (p->hold_busy ? LPT1284_BUSY : 0);
}

static int lpt1284_peripheral_post_load(void *opaque, int version_id)
{
    Lpt1284Peripheral *p = opaque;

    if (p->phase >= LPT1284_PHASE__MAX ||
        (p->status & ~LPT1284_STATUS_LINES) ||
        (p->steady & ~(LPT1284_PERROR | LPT1284_SELECT | LPT1284_NFAULT)) ||
        (p->last_ctrl & ~LPT1284_CTRL_LINES)) {
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_lpt1284_peripheral = {
    .name = "lpt1284-peripheral",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = lpt1284_peripheral_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(status, Lpt1284Peripheral),
        VMSTATE_UINT8(steady, Lpt1284Peripheral),
        VMSTATE_BOOL(hold_busy, Lpt1284Peripheral),
        VMSTATE_UINT8(data, Lpt1284Peripheral),
        VMSTATE_BOOL(drives_data, Lpt1284Peripheral),
        VMSTATE_UINT8(phase, Lpt1284Peripheral),
        VMSTATE_UINT8(latch, Lpt1284Peripheral),
        VMSTATE_BOOL(stalled, Lpt1284Peripheral),
        VMSTATE_UINT8(last_ctrl, Lpt1284Peripheral),
        VMSTATE_TIMER_PTR(timer, Lpt1284Peripheral),
        VMSTATE_END_OF_LIST()
    }
};

static Property lpt1284_peripheral_properties[] = {
    DEFINE_PROP_INT32("addr", Lpt1284Peripheral, addr, LPT1284_ADDR_END),
    DEFINE_PROP_STRING("device-id", Lpt1284Peripheral, device_id),
    DEFINE_PROP_END_OF_LIST(),
};

static void lpt1284_peripheral_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_LPT1284_CHAIN;
    dc->realize = lpt1284_peripheral_realize;
    dc->unrealize = lpt1284_peripheral_unrealize;
    dc->reset = lpt1284_peripheral_reset;
    device_class_set_props(dc, lpt1284_peripheral_properties);
}

static const TypeInfo lpt1284_chain_types[] = {
    {
        .name = TYPE_LPT1284_CHAIN,
        .parent = TYPE_BUS,
        .instance_size = sizeof(Lpt1284Chain),
        .instance_init = lpt1284_chain_instance_init,
        .class_init = lpt1284_chain_class_init,
    }, {
        .name = TYPE_LPT1284_PERIPHERAL,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(Lpt1284Peripheral),
        .abstract = true,
        .class_size = sizeof(Lpt1284PeripheralClass),
        .class_init = lpt1284_peripheral_class_init,
    },
};

DEFINE_TYPES(lpt1284_chain_types)
