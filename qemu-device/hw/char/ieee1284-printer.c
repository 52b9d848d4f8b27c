/*
 * IEEE 1284 printer on an lptrig chain
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU interface:
 *  + sits on a TYPE_LPT1284_CHAIN ("addr", "device-id" from the base class)
 *  + property "chardev": where every received byte goes, in order.  Bytes
 *    are written without blocking the vCPU: while the backend cannot take
 *    more and the printer's buffer is full, the printer stays Busy, as a
 *    real printer whose buffer is full does.  Without a chardev the printer
 *    takes and drops everything.
 *  + the fault knobs every peripheral has (lpt1284-fault.c): "paper-out",
 *    "offline", "fault", ...; a printer in any of the first three holds
 *    Busy high, as real printers do.
 */

#include "qemu/osdep.h"
#include "chardev/char-fe.h"
#include "hw/char/lpt1284-chain.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "trace.h"

#define TYPE_IEEE1284_PRINTER "ieee1284-printer"
OBJECT_DECLARE_SIMPLE_TYPE(IEEE1284PrinterState, IEEE1284_PRINTER)

#define IEEE1284_PRINTER_BUF_SIZE 4096

struct IEEE1284PrinterState {
    /*< private >*/
    Lpt1284Peripheral parent_obj;

    /*< public >*/
    CharBackend chr;
    guint watch;
    uint32_t len;           /* bytes in buf not yet taken by the backend */
    uint8_t buf[IEEE1284_PRINTER_BUF_SIZE];
};

static void ieee1284_printer_flush(IEEE1284PrinterState *s, bool notify);

static gboolean ieee1284_printer_writable(void *do_not_use, GIOCondition cond,
                                          void *opaque)
{
    IEEE1284PrinterState *s = opaque;

    s->watch = 0;
    ieee1284_printer_flush(s, true);
    return G_SOURCE_REMOVE;
}

/*
 * Hand the buffer to the backend.  Only the watch callback, never the
 * forward hook, reports room to the port: it must not re-enter the
 * transfer it is part of.
 */
static void ieee1284_printer_flush(IEEE1284PrinterState *s, bool notify)
{
    bool was_full = s->len == sizeof(s->buf);
    int ret;

    if (!qemu_chr_fe_backend_connected(&s->chr)) {
        s->len = 0;
    } else if (s->len) {
        ret = qemu_chr_fe_write(&s->chr, s->buf, s->len);
        if (ret > 0) {
            s->len -= ret;
            memmove(s->buf, s->buf + ret, s->len);
        }
        trace_ieee1284_printer_flush(ret, s->len);
        if (s->len && !s->watch) {
            s->watch = qemu_chr_fe_add_watch(&s->chr, G_IO_OUT | G_IO_HUP,
                                             ieee1284_printer_writable, s);
            if (!s->watch) {
                /* The backend cannot tell us when it drains: drop it */
                s->len = 0;
            }
        }
    }
    if (notify && was_full && s->len < sizeof(s->buf)) {
        lpt1284_peripheral_ready(LPT1284_PERIPHERAL(s));
    }
}

static size_t ieee1284_printer_forward(Lpt1284Peripheral *p,
                                       const uint8_t *buf, size_t len)
{
    IEEE1284PrinterState *s = container_of(p, IEEE1284PrinterState, parent_obj);
    size_t n = MIN(len, sizeof(s->buf) - s->len);

    memcpy(s->buf + s->len, buf, n);
    s->len += n;
    if (!s->watch) {
        ieee1284_printer_flush(s, false);
    }
    return n;
}

static void ieee1284_printer_unrealize(Lpt1284Peripheral *p)
{
    IEEE1284PrinterState *s = IEEE1284_PRINTER(p);

    if (s->watch) {
        g_source_remove(s->watch);
        s->watch = 0;
    }
    qemu_chr_fe_deinit(&s->chr, false);
}

static int ieee1284_printer_post_load(void *opaque, int version_id)
{
    IEEE1284PrinterState *s = opaque;

    if (s->len > sizeof(s->buf)) {
        return -EINVAL;
    }
    if (s->len) {
        ieee1284_printer_flush(s, false);
    }
    return 0;
}

static const VMStateDescription vmstate_ieee1284_printer = {
    .name = TYPE_IEEE1284_PRINTER,
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = ieee1284_printer_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_LPT1284_PERIPHERAL(parent_obj, IEEE1284PrinterState),
        VMSTATE_UINT32(len, IEEE1284PrinterState),
        VMSTATE_UINT8_ARRAY(buf, IEEE1284PrinterState,
                            IEEE1284_PRINTER_BUF_SIZE),
        VMSTATE_END_OF_LIST()
    }
};

static Property ieee1284_printer_properties[] = {
    DEFINE_PROP_CHR("chardev", IEEE1284PrinterState, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void ieee1284_printer_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_CLASS(klass);

    dc->desc = "IEEE 1284 printer";
    dc->vmsd = &vmstate_ieee1284_printer;
    device_class_set_props(dc, ieee1284_printer_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    /* Like most IEEE 1284 printers: ECP forward, nibble for its Device ID */
    pc->modes = LPT1284_CAP_NIBBLE | LPT1284_CAP_ECP;
    pc->unrealize = ieee1284_printer_unrealize;
    pc->forward = ieee1284_printer_forward;
    pc->default_device_id =
        "MFG:lptrig;MDL:Virtual Printer;CMD:PCL,TXT;CLS:PRINTER;"
        "DES:lptrig IEEE 1284 printer;";
}

static const TypeInfo ieee1284_printer_types[] = {
    {
        .name = TYPE_IEEE1284_PRINTER,
        .parent = TYPE_LPT1284_PERIPHERAL,
        .instance_size = sizeof(IEEE1284PrinterState),
        .class_init = ieee1284_printer_class_init,
    },
};

DEFINE_TYPES(ieee1284_printer_types)
