/*
 * A bit-banged I2C adapter on an lptrig parallel port
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The Philips adapter, Linux's i2c-parport "type=0": open-collector
 * drivers on two port outputs pull the bus lines low, and two status
 * inputs read the bus lines back.
 *
 *   bus line   pulled low while        read back on
 *   SDA        D7 (pin 9) is high      Busy (pin 11), inverted: Busy is
 *                                      high while SDA is low
 *   SCL        nSelectIn (pin 17) is   nFault (pin 15), as it is
 *              high
 *
 * so with the PC's register inversions i2c-parport writes SDA as data
 * bit 7 inverted and SCL as control bit 3, and reads SDA as status bit 7
 * and SCL as status bit 3.  nAck, PError and Select are not connected and
 * float high.  Not an IEEE 1284 device: a line-level peripheral at the end
 * of the chain.
 *
 * The bus is QEMU's own I2C bus, driven by QEMU's bitbang_i2c engine, so
 * every QEMU I2C device plugs into it:
 *   -device ieee1284-i2c,id=i2cad,bus=lpt0.0
 *   -device tmp105,bus=i2cad.0,address=0x48
 *   -device at24c-eeprom,bus=i2cad.0,address=0x50,rom-size=256
 *
 * QEMU interface:
 *  + sits on a TYPE_LPT1284_CHAIN as its end-of-chain device
 *  + an I2C bus named "<id>.0"
 *  + "stretch-ns": clock stretching, the ns of virtual time a device holds
 *    SCL low after the adapter releases it during a transfer (default 0:
 *    none, as QEMU's I2C devices never stretch); Linux's i2c-algo-bit
 *    waits for SCL to rise, reading it back through nFault
 *  + fault knob "disconnect" (lpt1284-fault.c): the adapter is off the
 *    cable, its two inputs float high (SDA reads low, SCL high)
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
#include "hw/i2c/bitbang_i2c.h"
#include "hw/i2c/i2c.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "trace.h"

#define TYPE_IEEE1284_I2C "ieee1284-i2c"
OBJECT_DECLARE_SIMPLE_TYPE(IEEE1284I2CState, IEEE1284_I2C)

/* Linux's i2c-algo-bit waits up to a second for SCL (adap->timeout) */
#define IEEE1284_I2C_STRETCH_MAX NANOSECONDS_PER_SECOND

/* Type 0 (Philips) wiring, as cable levels */
#define IEEE1284_I2C_SDA_OUT    0x80    /* D7 high pulls SDA low */
#define IEEE1284_I2C_SCL_OUT    LPT1284_NSELECTIN  /* high pulls SCL low */
#define IEEE1284_I2C_SDA_IN     LPT1284_BUSY       /* high while SDA low */
#define IEEE1284_I2C_SCL_IN     LPT1284_NFAULT     /* SCL as it is */

struct IEEE1284I2CState {
    /*< private >*/
    Lpt1284Peripheral parent_obj;

    /*< public >*/
    I2CBus *bus;
    bitbang_i2c_interface bitbang;
    uint64_t stretch_ns;
    QEMUTimer *timer;

    bool sda_released;      /* the adapter's own SDA output */
    bool scl_released;      /* the adapter's own SCL output */
    bool sda;               /* the bus lines */
    bool scl;
    int64_t scl_rise_at;    /* a device stretches SCL until then; -1 not */

    /* The bitbang engine's state, for migration */
    int32_t bb_state;
    int32_t bb_last_data;
    int32_t bb_last_clock;
    int32_t bb_device_out;
    int32_t bb_current_addr;
    uint8_t bb_buffer;
};

static void ieee1284_i2c_drive(IEEE1284I2CState *s)
{
    uint8_t status = LPT1284_STATUS_LINES &
                     ~(IEEE1284_I2C_SDA_IN | IEEE1284_I2C_SCL_IN);

    if (!s->sda) {
        status |= IEEE1284_I2C_SDA_IN;
    }
    if (s->scl) {
        status |= IEEE1284_I2C_SCL_IN;
    }
    trace_ieee1284_i2c(s->scl, s->sda);
    lpt1284_peripheral_set_lines(&s->parent_obj, status);
}

static void ieee1284_i2c_scl_rise(IEEE1284I2CState *s)
{
    s->scl_rise_at = -1;
    timer_del(s->timer);
    s->scl = true;
    s->sda = bitbang_i2c_set(&s->bitbang, BITBANG_I2C_SCL, 1);
}

static void ieee1284_i2c_lines(Lpt1284Peripheral *p)
{
    IEEE1284I2CState *s = IEEE1284_I2C(p);
    Lpt1284Chain *chain = lpt1284_peripheral_chain(p);
    /* With the host's data drivers off the lines are pulled up */
    uint8_t data = chain->host_reverse ? 0xff : chain->host_data;
    bool sda_released = !(data & IEEE1284_I2C_SDA_OUT);
    bool scl_released = !(chain->host_ctrl & IEEE1284_I2C_SCL_OUT);

    if (!scl_released && s->scl_released) {
        s->scl_released = false;
        s->scl_rise_at = -1;
        timer_del(s->timer);
        if (s->scl) {
            s->scl = false;
            s->sda = bitbang_i2c_set(&s->bitbang, BITBANG_I2C_SCL, 0);
        }
    }
    if (sda_released != s->sda_released) {
        s->sda_released = sda_released;
        s->sda = bitbang_i2c_set(&s->bitbang, BITBANG_I2C_SDA, sda_released);
    }
    if (scl_released && !s->scl_released) {
        s->scl_released = true;
        if (s->stretch_ns && s->bitbang.state != STOPPED) {
            /* A device holds SCL low a while longer */
            s->scl_rise_at = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                             s->stretch_ns;
            timer_mod(s->timer, s->scl_rise_at);
        } else {
            ieee1284_i2c_scl_rise(s);
        }
    }
    ieee1284_i2c_drive(s);
}

static void ieee1284_i2c_sync(Lpt1284Peripheral *p, int64_t now)
{
    IEEE1284I2CState *s = IEEE1284_I2C(p);

    if (s->scl_rise_at >= 0 && s->scl_rise_at <= now) {
        ieee1284_i2c_scl_rise(s);
        ieee1284_i2c_drive(s);
    }
}

static void ieee1284_i2c_timer(void *opaque)
{
    ieee1284_i2c_sync(opaque, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
}

static void ieee1284_i2c_reset(Lpt1284Peripheral *p)
{
    IEEE1284I2CState *s = IEEE1284_I2C(p);

    /* The bus idle, both lines high; the devices reset themselves */
    bitbang_i2c_init(&s->bitbang, s->bus);
    s->bitbang.state = STOPPED;
    s->bitbang.current_addr = -1;
    s->sda_released = s->scl_released = true;
    s->sda = s->scl = true;
    s->scl_rise_at = -1;
    timer_del(s->timer);
    ieee1284_i2c_drive(s);
}

static void ieee1284_i2c_realize(Lpt1284Peripheral *p, Error **errp)
{
    IEEE1284I2CState *s = IEEE1284_I2C(p);

    if (s->stretch_ns > IEEE1284_I2C_STRETCH_MAX) {
        error_setg(errp, "stretch-ns %" PRIu64 " is more than a second, "
                   "longer than Linux's i2c-algo-bit waits for SCL",
                   s->stretch_ns);
        return;
    }
    /* Named "<id>.0"; I2C buses cannot be unplugged, hence no hot-plug */
    s->bus = i2c_init_bus(DEVICE(s), NULL);
    bitbang_i2c_init(&s->bitbang, s->bus);
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, ieee1284_i2c_timer, s);
}

static int ieee1284_i2c_pre_save(void *opaque)
{
    IEEE1284I2CState *s = opaque;

    s->bb_state = s->bitbang.state;
    s->bb_last_data = s->bitbang.last_data;
    s->bb_last_clock = s->bitbang.last_clock;
    s->bb_device_out = s->bitbang.device_out;
    s->bb_current_addr = s->bitbang.current_addr;
    s->bb_buffer = s->bitbang.buffer;
    return 0;
}

static int ieee1284_i2c_post_load(void *opaque, int version_id)
{
    IEEE1284I2CState *s = opaque;

    if (s->bb_state < STOPPED || s->bb_state > SENT_NACK ||
        (s->bb_last_data & ~1) || (s->bb_last_clock & ~1) ||
        (s->bb_device_out & ~1) || s->bb_current_addr < -1 ||
        s->bb_current_addr > 0xff) {
        return -EINVAL;
    }
    s->bitbang.state = s->bb_state;
    s->bitbang.last_data = s->bb_last_data;
    s->bitbang.last_clock = s->bb_last_clock;
    s->bitbang.device_out = s->bb_device_out;
    s->bitbang.current_addr = s->bb_current_addr;
    s->bitbang.buffer = s->bb_buffer;
    return 0;
}

static const VMStateDescription vmstate_ieee1284_i2c = {
    .name = TYPE_IEEE1284_I2C,
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = ieee1284_i2c_pre_save,
    .post_load = ieee1284_i2c_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_LPT1284_PERIPHERAL(parent_obj, IEEE1284I2CState),
        VMSTATE_BOOL(sda_released, IEEE1284I2CState),
        VMSTATE_BOOL(scl_released, IEEE1284I2CState),
        VMSTATE_BOOL(sda, IEEE1284I2CState),
        VMSTATE_BOOL(scl, IEEE1284I2CState),
        VMSTATE_INT64(scl_rise_at, IEEE1284I2CState),
        VMSTATE_TIMER_PTR(timer, IEEE1284I2CState),
        VMSTATE_INT32(bb_state, IEEE1284I2CState),
        VMSTATE_INT32(bb_last_data, IEEE1284I2CState),
        VMSTATE_INT32(bb_last_clock, IEEE1284I2CState),
        VMSTATE_INT32(bb_device_out, IEEE1284I2CState),
        VMSTATE_INT32(bb_current_addr, IEEE1284I2CState),
        VMSTATE_UINT8(bb_buffer, IEEE1284I2CState),
        VMSTATE_END_OF_LIST()
    }
};

static Property ieee1284_i2c_properties[] = {
    DEFINE_PROP_UINT64("stretch-ns", IEEE1284I2CState, stretch_ns, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void ieee1284_i2c_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_CLASS(klass);

    dc->desc = "Bit-banged I2C adapter (Linux's i2c-parport type=0, Philips)";
    dc->vmsd = &vmstate_ieee1284_i2c;
    /* i2c_init_bus() registers the bus's VMState for good */
    dc->hotpluggable = false;
    device_class_set_props(dc, ieee1284_i2c_properties);
    set_bit(DEVICE_CATEGORY_BRIDGE, dc->categories);
    pc->realize = ieee1284_i2c_realize;
    pc->reset = ieee1284_i2c_reset;
    pc->lines = ieee1284_i2c_lines;
    pc->sync = ieee1284_i2c_sync;
}

static const TypeInfo ieee1284_i2c_types[] = {
    {
        .name = TYPE_IEEE1284_I2C,
        .parent = TYPE_LPT1284_PERIPHERAL,
        .instance_size = sizeof(IEEE1284I2CState),
        .class_init = ieee1284_i2c_class_init,
    },
};

DEFINE_TYPES(ieee1284_i2c_types)
