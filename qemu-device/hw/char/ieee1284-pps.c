/*
 * A pulse-per-second source on an lptrig parallel port
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The signal a GPS receiver's PPS output gives, wired to pin 10 (nAck) as
 * Linux's pps_parport expects: nAck rises at the start of every period
 * (the assert edge, which interrupts the host) and falls again after
 * "width-ns" (the clear edge, which pps_parport polls for).  The other
 * status lines are not connected and float high.  Not an IEEE 1284 device:
 * a line-level peripheral at the end of the chain.
 *
 * QEMU interface:
 *  + sits on a TYPE_LPT1284_CHAIN as its end-of-chain device
 *  + "period-ns": time between assert edges, ns of virtual time
 *    (default 1 s); pulse k asserts at k * period + "phase-ns", moved by a
 *    random offset in [-"jitter-ns", +"jitter-ns"] from a generator seeded
 *    with "jitter-seed" (the same seed, the same offsets)
 *  + "width-ns": how long nAck stays high (default 1 ms)
 *  + fault knobs (lpt1284-fault.c): "no-ack" stops the pulses (nAck stays
 *    low) until it is cleared, "disconnect" takes the source off the cable
 *  + read-only "pulses": assert edges given so far
 *
 * Edges fall on their exact virtual time: a timer gives each one, and a
 * host that reads the status lines first sees it at once.
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/timer.h"
#include "trace.h"

#define TYPE_IEEE1284_PPS "ieee1284-pps"
OBJECT_DECLARE_SIMPLE_TYPE(IEEE1284PpsState, IEEE1284_PPS)

#define IEEE1284_PPS_PERIOD_MAX (3600 * NANOSECONDS_PER_SECOND)

struct IEEE1284PpsState {
    /*< private >*/
    Lpt1284Peripheral parent_obj;

    /*< public >*/
    uint64_t period_ns;
    uint64_t phase_ns;
    uint64_t width_ns;
    uint64_t jitter_ns;
    uint64_t jitter_seed;

    QEMUTimer *timer;
    uint64_t index;         /* the pulse whose edges come next */
    int64_t assert_at;      /* its assert edge, virtual ns */
    bool high;              /* nAck high: between its assert and clear */
    uint64_t rng;
    uint64_t pulses;
};

static void ieee1284_pps_drive(IEEE1284PpsState *s)
{
    /* Only pin 10 is connected: every other status line floats high */
    uint8_t status = LPT1284_STATUS_LINES & ~LPT1284_NACK;

    lpt1284_peripheral_set_lines(&s->parent_obj,
                                 status | (s->high ? LPT1284_NACK : 0));
}

/* xorshift64*, as the faults use: the same offsets for the same seed */
static int64_t ieee1284_pps_jitter(IEEE1284PpsState *s)
{
    uint64_t x = s->rng ? s->rng : s->jitter_seed | 1;

    if (!s->jitter_ns) {
        return 0;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (int64_t)((x * 0x2545f4914f6cdd1dULL) % (2 * s->jitter_ns + 1)) -
           (int64_t)s->jitter_ns;
}

/* Pulse @index: when it asserts */
static void ieee1284_pps_schedule(IEEE1284PpsState *s, uint64_t index)
{
    s->index = index;
    s->assert_at = (int64_t)(index * s->period_ns + s->phase_ns) +
                   ieee1284_pps_jitter(s);
}

static int64_t ieee1284_pps_next_edge(IEEE1284PpsState *s)
{
    return s->high ? s->assert_at + (int64_t)s->width_ns : s->assert_at;
}

/* Give every edge due by @now, then wait for the next one. */
static void ieee1284_pps_run(IEEE1284PpsState *s, int64_t now)
{
    Lpt1284Peripheral *p = &s->parent_obj;

    while (ieee1284_pps_next_edge(s) <= now) {
        if (s->high) {
            s->high = false;
            ieee1284_pps_drive(s);
            ieee1284_pps_schedule(s, s->index + 1);
        } else if (p->no_ack) {
            /* The fault: this pulse never comes */
            trace_ieee1284_pps(s->index, s->assert_at, "missing");
            ieee1284_pps_schedule(s, s->index + 1);
        } else {
            s->high = true;
            s->pulses++;
            trace_ieee1284_pps(s->index, s->assert_at, "assert");
            ieee1284_pps_drive(s);
        }
    }
    timer_mod(s->timer, ieee1284_pps_next_edge(s));
}

static void ieee1284_pps_timer(void *opaque)
{
    IEEE1284PpsState *s = opaque;

    ieee1284_pps_run(s, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
}

static void ieee1284_pps_sync(Lpt1284Peripheral *p, int64_t now)
{
    ieee1284_pps_run(IEEE1284_PPS(p), now);
}

/* The host's lines go nowhere: a PPS source only talks. */
static void ieee1284_pps_lines(Lpt1284Peripheral *p)
{
}

/* The first pulse not yet due: the source runs whatever the host does. */
static void ieee1284_pps_start(IEEE1284PpsState *s)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    uint64_t first = now > (int64_t)s->phase_ns ?
                     (now - s->phase_ns) / s->period_ns + 1 : 0;

    s->rng = 0;
    s->high = false;
    ieee1284_pps_schedule(s, first);
    ieee1284_pps_drive(s);
    timer_mod(s->timer, ieee1284_pps_next_edge(s));
}

static void ieee1284_pps_reset(Lpt1284Peripheral *p)
{
    ieee1284_pps_start(IEEE1284_PPS(p));
}

static void ieee1284_pps_realize(Lpt1284Peripheral *p, Error **errp)
{
    IEEE1284PpsState *s = IEEE1284_PPS(p);

    if (s->period_ns == 0 || s->period_ns > IEEE1284_PPS_PERIOD_MAX) {
        error_setg(errp, "period-ns %" PRIu64 " is out of range: use 1 to "
                   "%" PRId64 " (an hour)", s->period_ns,
                   (int64_t)IEEE1284_PPS_PERIOD_MAX);
        return;
    }
    if (s->phase_ns >= s->period_ns) {
        error_setg(errp, "phase-ns %" PRIu64 " must be less than period-ns "
                   "%" PRIu64, s->phase_ns, s->period_ns);
        return;
    }
    if (s->width_ns == 0 || s->jitter_ns > s->period_ns / 2 ||
        s->width_ns + 2 * s->jitter_ns >= s->period_ns) {
        error_setg(errp, "width-ns %" PRIu64 " and jitter-ns %" PRIu64
                   " do not fit in period-ns %" PRIu64 ": width-ns must be "
                   "at least 1 and width + 2 * jitter less than the period",
                   s->width_ns, s->jitter_ns, s->period_ns);
        return;
    }
    s->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, ieee1284_pps_timer, s);
}

static void ieee1284_pps_unrealize(Lpt1284Peripheral *p)
{
    IEEE1284PpsState *s = IEEE1284_PPS(p);

    timer_free(s->timer);
    s->timer = NULL;
}

static int ieee1284_pps_post_load(void *opaque, int version_id)
{
    IEEE1284PpsState *s = opaque;

    /* The next edge must be one this source's settings can give */
    if (s->assert_at < (int64_t)(s->index * s->period_ns + s->phase_ns) -
                       (int64_t)s->jitter_ns ||
        s->assert_at > (int64_t)(s->index * s->period_ns + s->phase_ns) +
                       (int64_t)s->jitter_ns) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_ieee1284_pps = {
    .name = TYPE_IEEE1284_PPS,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ieee1284_pps_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_LPT1284_PERIPHERAL(parent_obj, IEEE1284PpsState),
        VMSTATE_UINT64_EQUAL(period_ns, IEEE1284PpsState, NULL),
        VMSTATE_UINT64_EQUAL(phase_ns, IEEE1284PpsState, NULL),
        VMSTATE_UINT64_EQUAL(width_ns, IEEE1284PpsState, NULL),
        VMSTATE_UINT64_EQUAL(jitter_ns, IEEE1284PpsState, NULL),
        VMSTATE_TIMER_PTR(timer, IEEE1284PpsState),
        VMSTATE_UINT64(index, IEEE1284PpsState),
        VMSTATE_INT64(assert_at, IEEE1284PpsState),
        VMSTATE_BOOL(high, IEEE1284PpsState),
        VMSTATE_UINT64(rng, IEEE1284PpsState),
        VMSTATE_UINT64(pulses, IEEE1284PpsState),
        VMSTATE_END_OF_LIST()
    }
};

static Property ieee1284_pps_properties[] = {
    DEFINE_PROP_UINT64("period-ns", IEEE1284PpsState, period_ns,
                       NANOSECONDS_PER_SECOND),
    DEFINE_PROP_UINT64("phase-ns", IEEE1284PpsState, phase_ns, 0),
    DEFINE_PROP_UINT64("width-ns", IEEE1284PpsState, width_ns, 1000000),
    DEFINE_PROP_UINT64("jitter-ns", IEEE1284PpsState, jitter_ns, 0),
    DEFINE_PROP_UINT64("jitter-seed", IEEE1284PpsState, jitter_seed, 1),
    DEFINE_PROP_END_OF_LIST(),
};

static const char *const ieee1284_pps_faults[] = { "no-ack", NULL };

static void ieee1284_pps_instance_init(Object *obj)
{
    IEEE1284PpsState *s = IEEE1284_PPS(obj);

    object_property_add_uint64_ptr(obj, "pulses", &s->pulses,
                                   OBJ_PROP_FLAG_READ);
}

static void ieee1284_pps_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_CLASS(klass);

    dc->desc = "Pulse-per-second source on nAck (Linux's pps_parport)";
    dc->vmsd = &vmstate_ieee1284_pps;
    device_class_set_props(dc, ieee1284_pps_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pc->realize = ieee1284_pps_realize;
    pc->unrealize = ieee1284_pps_unrealize;
    pc->reset = ieee1284_pps_reset;
    pc->lines = ieee1284_pps_lines;
    pc->sync = ieee1284_pps_sync;
    pc->line_faults = ieee1284_pps_faults;
}

static const TypeInfo ieee1284_pps_types[] = {
    {
        .name = TYPE_IEEE1284_PPS,
        .parent = TYPE_LPT1284_PERIPHERAL,
        .instance_size = sizeof(IEEE1284PpsState),
        .instance_init = ieee1284_pps_instance_init,
        .class_init = ieee1284_pps_class_init,
    },
};

DEFINE_TYPES(ieee1284_pps_types)
