/*
 * IEEE 1284 loopback peripheral on an lptrig chain
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What the host sends forward, in any mode (compatibility, ECP, EPP data),
 * comes back in order when it reads in reverse, in any mode (nibble, byte,
 * ECP, EPP data).  It negotiates nibble, byte, ECP, ECP with RLE and EPP;
 * its EPP address register reads back what was written.
 *
 * QEMU interface:
 *  + sits on a TYPE_LPT1284_CHAIN ("addr", "device-id" from the base class)
 *  + property "chardev" (optional): a copy of every byte received forward,
 *    written without blocking (what the backend cannot take is dropped)
 *  + property "size": how many bytes it holds before it stays busy
 *    (default 65536)
 *
 * The bytes it holds are the world outside the port: neither an nInit
 * pulse nor a system reset drops them.
 */

#include "qemu/osdep.h"
#include "chardev/char-fe.h"
#include "hw/char/lpt1284-chain.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "trace.h"

#define TYPE_IEEE1284_LOOPBACK "ieee1284-loopback"
OBJECT_DECLARE_SIMPLE_TYPE(IEEE1284LoopbackState, IEEE1284_LOOPBACK)

#define IEEE1284_LOOPBACK_MAX (1 << 20)

struct IEEE1284LoopbackState {
    /*< private >*/
    Lpt1284Peripheral parent_obj;

    /*< public >*/
    CharBackend chr;
    uint32_t size;
    uint32_t head;
    uint32_t len;
    uint8_t *buf;
};

static size_t ieee1284_loopback_forward(Lpt1284Peripheral *p,
                                        const uint8_t *buf, size_t len)
{
    IEEE1284LoopbackState *s = container_of(p, IEEE1284LoopbackState,
                                            parent_obj);
    size_t n = MIN(len, s->size - s->len);
    size_t i;

    for (i = 0; i < n; i++) {
        s->buf[(s->head + s->len + i) % s->size] = buf[i];
    }
    s->len += n;
    if (n && qemu_chr_fe_backend_connected(&s->chr) &&
        qemu_chr_fe_write(&s->chr, buf, n) < (int)n) {
        qemu_log_mask(LOG_UNIMP, "ieee1284-loopback: chardev backend full, "
                      "part of the copy dropped\n");
    }
    trace_ieee1284_loopback(n, s->len);
    return n;
}

static size_t ieee1284_loopback_reverse(Lpt1284Peripheral *p, uint8_t *buf,
                                        size_t len)
{
    IEEE1284LoopbackState *s = container_of(p, IEEE1284LoopbackState,
                                            parent_obj);
    bool was_full = s->len == s->size;
    size_t n = MIN(len, s->len);
    size_t i;

    for (i = 0; i < n; i++) {
        buf[i] = s->buf[(s->head + i) % s->size];
    }
    s->head = (s->head + n) % s->size;
    s->len -= n;
    if (was_full && n) {
        lpt1284_peripheral_ready(p);
    }
    return n;
}

static void ieee1284_loopback_realize(Lpt1284Peripheral *p, Error **errp)
{
    IEEE1284LoopbackState *s = IEEE1284_LOOPBACK(p);

    if (s->size == 0 || s->size > IEEE1284_LOOPBACK_MAX) {
        error_setg(errp, "size %u is out of range: use 1-%d", s->size,
                   IEEE1284_LOOPBACK_MAX);
        return;
    }
    s->buf = g_malloc0(s->size);
}

static void ieee1284_loopback_unrealize(Lpt1284Peripheral *p)
{
    IEEE1284LoopbackState *s = IEEE1284_LOOPBACK(p);

    qemu_chr_fe_deinit(&s->chr, false);
    g_free(s->buf);
    s->buf = NULL;
}

static int ieee1284_loopback_post_load(void *opaque, int version_id)
{
    IEEE1284LoopbackState *s = opaque;

    if (s->head >= s->size || s->len > s->size) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_ieee1284_loopback = {
    .name = TYPE_IEEE1284_LOOPBACK,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ieee1284_loopback_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_LPT1284_PERIPHERAL(parent_obj, IEEE1284LoopbackState),
        VMSTATE_UINT32_EQUAL(size, IEEE1284LoopbackState, NULL),
        VMSTATE_UINT32(head, IEEE1284LoopbackState),
        VMSTATE_UINT32(len, IEEE1284LoopbackState),
        VMSTATE_VBUFFER_UINT32(buf, IEEE1284LoopbackState, 0, NULL, size),
        VMSTATE_END_OF_LIST()
    }
};

static Property ieee1284_loopback_properties[] = {
    DEFINE_PROP_CHR("chardev", IEEE1284LoopbackState, chr),
    DEFINE_PROP_UINT32("size", IEEE1284LoopbackState, size, 65536),
    DEFINE_PROP_END_OF_LIST(),
};

static void ieee1284_loopback_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_CLASS(klass);

    dc->desc = "IEEE 1284 loopback: forward data comes back in reverse";
    dc->vmsd = &vmstate_ieee1284_loopback;
    device_class_set_props(dc, ieee1284_loopback_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pc->modes = LPT1284_CAP_NIBBLE | LPT1284_CAP_BYTE | LPT1284_CAP_ECP |
                LPT1284_CAP_ECP_RLE | LPT1284_CAP_EPP;
    pc->realize = ieee1284_loopback_realize;
    pc->unrealize = ieee1284_loopback_unrealize;
    pc->forward = ieee1284_loopback_forward;
    pc->reverse = ieee1284_loopback_reverse;
    pc->default_device_id =
        "MFG:lptrig;MDL:Loopback;CMD:RAW;CLS:LOOPBACK;"
        "DES:lptrig IEEE 1284 loopback;";
}

static const TypeInfo ieee1284_loopback_types[] = {
    {
        .name = TYPE_IEEE1284_LOOPBACK,
        .parent = TYPE_LPT1284_PERIPHERAL,
        .instance_size = sizeof(IEEE1284LoopbackState),
        .class_init = ieee1284_loopback_class_init,
    },
};

DEFINE_TYPES(ieee1284_loopback_types)
