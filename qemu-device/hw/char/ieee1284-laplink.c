/*
 * A LapLink cable from an lptrig parallel port to another one
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The "null printer" cable of LapLink, Turbo Laplink and Linux's PLIP,
 * wired as Documentation/networking/plip.rst and drivers/net/plip/plip.c
 * give it: five data lines of each end go to five status lines of the
 * other.
 *
 *   this end            far end
 *   D0 (pin 2)    ->    nFault (pin 15)
 *   D1 (pin 3)    ->    Select (pin 13)
 *   D2 (pin 4)    ->    PError (pin 12)
 *   D3 (pin 5)    ->    nAck   (pin 10)  (a rising edge interrupts the far
 *   D4 (pin 6)    ->    Busy   (pin 11)   host, as on real hardware)
 *   and the same from the far end back to this one.
 *
 * The cable itself inverts nothing: a status line is at the level of the
 * far data line.  The PC's status register inverts Busy, so a program
 * reading it sees bit 7 as the far D4 inverted and bits 3-6 as the far
 * D0-D3 (PLIP's "0x80 means ready").  D5-D7, nStrobe, nAutoFd and nInit are
 * not connected; pins 17 (nSelectIn) of the two ends are wired together on
 * the real cable, where both hosts drive them and nobody reads them: not
 * modelled.
 *
 * The far end is another ieee1284-laplink:
 *  + "peer" = ID: in this QEMU, on another port's chain; the two name each
 *    other (peer=b on a, peer=a on b), in either order.  Line changes reach
 *    the far end at once.
 *  + "chardev" = ID: in another QEMU, through a stream chardev (a socket,
 *    one end with server=on).  Each end sends every change of its D0-D4,
 *    in order, as one byte: 0x80 | D0-D4 (bit 0 = D0), and all its lines
 *    when the connection opens and after a reset; 0x00 means "this end was
 *    unplugged".
 *    Anything else is ignored.
 * With no far end (the peer unplugged, the connection closed, the other
 * QEMU gone, or nothing connected yet) the status lines float high, as on
 * an unplugged cable: status register 0x7f.  A far end that comes back
 * sends its lines again and the cable works on.
 *
 * Not an IEEE 1284 device: a line-level peripheral at the end of the chain.
 * Fault knob "disconnect" (lpt1284-fault.c) unplugs this end of the cable.
 */

#include "qemu/osdep.h"
#include "chardev/char-fe.h"
#include "chardev/char-socket.h"
#include "io/channel.h"
#include "lpt1284-chain-internal.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "sysemu/sysemu.h"
#include "trace.h"

#define TYPE_IEEE1284_LAPLINK "ieee1284-laplink"
OBJECT_DECLARE_SIMPLE_TYPE(IEEE1284LaplinkState, IEEE1284_LAPLINK)

#define IEEE1284_LAPLINK_LINES      0x1f    /* D0-D4 */
#define IEEE1284_LAPLINK_MSG_LINES  0x80    /* | D0-D4 */
#define IEEE1284_LAPLINK_MSG_GONE   0x00

struct IEEE1284LaplinkState {
    /*< private >*/
    Lpt1284Peripheral parent_obj;

    /*< public >*/
    char *peer_id;
    CharBackend chr;
    IEEE1284LaplinkState *peer;
    Notifier machine_done;

    bool far_present;       /* the far end is there */
    uint8_t far_lines;      /* its D0-D4 */
    uint8_t sent;           /* D0-D4 last sent through the chardev */
};

/* Our status lines: the far end's D0-D4, or floating without it */
static void ieee1284_laplink_drive(IEEE1284LaplinkState *s)
{
    uint8_t status = LPT1284_STATUS_LINES;

    if (s->far_present) {
        status = (s->far_lines & IEEE1284_LAPLINK_LINES) << 3;
    }
    lpt1284_peripheral_set_lines(&s->parent_obj, status);
}

static void ieee1284_laplink_far(IEEE1284LaplinkState *s, bool present,
                                 uint8_t lines)
{
    s->far_present = present;
    s->far_lines = lines & IEEE1284_LAPLINK_LINES;
    trace_ieee1284_laplink_far(present, s->far_lines);
    if (DEVICE(s)->realized) {
        ieee1284_laplink_drive(s);
    }
}

/* Our D0-D4 as the cable carries them */
static uint8_t ieee1284_laplink_own(IEEE1284LaplinkState *s)
{
    Lpt1284Chain *chain = lpt1284_peripheral_chain(&s->parent_obj);

    /* With the host's data drivers off the lines are pulled up */
    if (chain->host_reverse) {
        return IEEE1284_LAPLINK_LINES;
    }
    return chain->host_data & IEEE1284_LAPLINK_LINES;
}

static void ieee1284_laplink_send(IEEE1284LaplinkState *s, uint8_t msg)
{
    if (qemu_chr_fe_backend_open(&s->chr) &&
        qemu_chr_fe_write_all(&s->chr, &msg, 1) != 1) {
        qemu_log_mask(LOG_UNIMP, "ieee1284-laplink: the far end's "
                      "connection failed: a line change is lost\n");
    }
}

/* Tell the far end our lines, if they changed (or @always). */
static void ieee1284_laplink_push(IEEE1284LaplinkState *s, bool always)
{
    uint8_t own = ieee1284_laplink_own(s);

    if (s->peer) {
        if (always || !s->peer->far_present || s->peer->far_lines != own) {
            ieee1284_laplink_far(s->peer, true, own);
        }
        return;
    }
    if (qemu_chr_fe_backend_connected(&s->chr) &&
        (always || s->sent != own)) {
        s->sent = own;
        ieee1284_laplink_send(s, IEEE1284_LAPLINK_MSG_LINES | own);
    }
}

static void ieee1284_laplink_lines(Lpt1284Peripheral *p)
{
    ieee1284_laplink_push(IEEE1284_LAPLINK(p), false);
}

/* The chardev: the far end in another QEMU */

static int ieee1284_laplink_can_receive(void *opaque)
{
    return 64;
}

static void ieee1284_laplink_receive(void *opaque, const uint8_t *buf,
                                     int size)
{
    IEEE1284LaplinkState *s = opaque;
    int i;

    /* One change at a time, so that every edge reaches the controller */
    for (i = 0; i < size; i++) {
        if ((buf[i] & ~IEEE1284_LAPLINK_LINES) == IEEE1284_LAPLINK_MSG_LINES) {
            ieee1284_laplink_far(s, true, buf[i]);
        } else if (buf[i] == IEEE1284_LAPLINK_MSG_GONE) {
            ieee1284_laplink_far(s, false, 0);
        } else {
            qemu_log_mask(LOG_UNIMP, "ieee1284-laplink: unknown message "
                          "0x%02x from the far end ignored\n", buf[i]);
        }
    }
}

/*
 * The host is about to sample the status lines: take what the far end has
 * sent since, straight from the socket.  A host polling for a handshake
 * (PLIP does, for every nibble) spins its vCPU, and on a busy machine the
 * main loop that would read the socket waits for a CPU for a millisecond
 * or more; reading here makes a handshake step cost one poll.  Other
 * stream backends are read by the main loop only.  Everything runs under
 * the BQL, as the main loop's reads do, so the two never interleave; the
 * channel is non-blocking, and an end of file is left to the main loop.
 */
static void ieee1284_laplink_sync(Lpt1284Peripheral *p, int64_t now)
{
    IEEE1284LaplinkState *s = IEEE1284_LAPLINK(p);
    Chardev *chr = qemu_chr_fe_get_driver(&s->chr);
    SocketChardev *sock;
    uint8_t buf[64];
    ssize_t n;

    if (!chr || !object_dynamic_cast(OBJECT(chr), TYPE_CHARDEV_SOCKET)) {
        return;
    }
    sock = SOCKET_CHARDEV(chr);
    if (sock->state != TCP_CHARDEV_STATE_CONNECTED || !sock->ioc ||
        !qemu_chr_fe_backend_open(&s->chr)) {
        return;
    }
    n = qio_channel_read(sock->ioc, (char *)buf, sizeof(buf), NULL);
    if (n > 0) {
        ieee1284_laplink_receive(s, buf, n);
    }
}

static void ieee1284_laplink_event(void *opaque, QEMUChrEvent event)
{
    IEEE1284LaplinkState *s = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        /* The far end learns our lines; we wait for its own */
        ieee1284_laplink_push(s, true);
        break;
    case CHR_EVENT_CLOSED:
        ieee1284_laplink_far(s, false, 0);
        break;
    default:
        break;
    }
}

/* "peer": the far end in this QEMU */

static IEEE1284LaplinkState *ieee1284_laplink_find(const char *id)
{
    g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);
    Object *obj = object_resolve_path_type(path, TYPE_IEEE1284_LAPLINK,
                                           NULL);

    return obj && DEVICE(obj)->realized ? IEEE1284_LAPLINK(obj) : NULL;
}

/* Link to the peer if it is there already; false (and @errp) if it is wrong */
static bool ieee1284_laplink_link(IEEE1284LaplinkState *s, Error **errp)
{
    IEEE1284LaplinkState *peer = ieee1284_laplink_find(s->peer_id);

    if (!peer) {
        /* Not there yet: it links to us when it comes */
        return true;
    }
    if (!peer->peer_id || strcmp(peer->peer_id, DEVICE(s)->id)) {
        error_setg(errp, "ieee1284-laplink '%s' names '%s' as its peer, but "
                   "'%s' names '%s': the two ends name each other",
                   DEVICE(s)->id, s->peer_id, s->peer_id,
                   peer->peer_id ? peer->peer_id : "");
        return false;
    }
    if (peer->peer) {
        error_setg(errp, "ieee1284-laplink '%s' is already connected",
                   s->peer_id);
        return false;
    }
    s->peer = peer;
    peer->peer = s;
    /* Its lines now; ours reach it when we reset, right after realize */
    ieee1284_laplink_far(s, true, ieee1284_laplink_own(peer));
    return true;
}

static void ieee1284_laplink_machine_done(Notifier *notifier, void *data)
{
    IEEE1284LaplinkState *s = container_of(notifier, IEEE1284LaplinkState,
                                           machine_done);
    IEEE1284LaplinkState *peer;

    if (!s->peer_id || s->peer) {
        return;
    }
    /* DEVICE(s)->id is set: realize refuses a peer without one */
    peer = ieee1284_laplink_find(s->peer_id);
    if (peer) {
        error_report("ieee1284-laplink '%s' names '%s' as its peer, but '%s' "
                     "names '%s': the two ends name each other",
                     DEVICE(s)->id, s->peer_id, s->peer_id,
                     peer->peer_id ? peer->peer_id : "");
    } else {
        error_report("ieee1284-laplink '%s': its peer '%s' does not exist: "
                     "add -device ieee1284-laplink,id=%s,peer=%s on another "
                     "port", DEVICE(s)->id, s->peer_id, s->peer_id,
                     DEVICE(s)->id);
    }
    exit(1);
}

static void ieee1284_laplink_realize(Lpt1284Peripheral *p, Error **errp)
{
    IEEE1284LaplinkState *s = IEEE1284_LAPLINK(p);
    DeviceState *dev = DEVICE(p);
    bool has_chr = qemu_chr_fe_backend_connected(&s->chr);

    if (s->peer_id && has_chr) {
        error_setg(errp, "ieee1284-laplink has one far end: give peer (in "
                   "this QEMU) or chardev (another QEMU), not both");
        return;
    }
    if (!s->peer_id && !has_chr) {
        error_setg(errp, "ieee1284-laplink needs its far end: peer=ID (the "
                   "ieee1284-laplink on another port of this QEMU) or "
                   "chardev=ID (a socket to another QEMU)");
        return;
    }
    if (s->peer_id) {
        if (!dev->id) {
            error_setg(errp, "ieee1284-laplink with peer=%s needs an id, "
                       "for the peer to name it", s->peer_id);
            return;
        }
        if (!strcmp(s->peer_id, dev->id)) {
            error_setg(errp, "ieee1284-laplink '%s' cannot be its own peer",
                       dev->id);
            return;
        }
        if (!ieee1284_laplink_link(s, errp) || s->peer) {
            return;
        }
        if (!dev->hotplugged) {
            /* Its peer may come later on the command line */
            s->machine_done.notify = ieee1284_laplink_machine_done;
            qemu_add_machine_init_done_notifier(&s->machine_done);
        }
        return;
    }
    qemu_chr_fe_set_handlers(&s->chr, ieee1284_laplink_can_receive,
                             ieee1284_laplink_receive, ieee1284_laplink_event,
                             NULL, s, NULL, true);
}

static void ieee1284_laplink_unrealize(Lpt1284Peripheral *p)
{
    IEEE1284LaplinkState *s = IEEE1284_LAPLINK(p);

    if (s->machine_done.notify) {
        qemu_remove_machine_init_done_notifier(&s->machine_done);
        s->machine_done.notify = NULL;
    }
    if (s->peer) {
        /* The far end's lines float */
        IEEE1284LaplinkState *peer = s->peer;

        peer->peer = NULL;
        s->peer = NULL;
        ieee1284_laplink_far(peer, false, 0);
    }
    if (qemu_chr_fe_backend_connected(&s->chr)) {
        ieee1284_laplink_send(s, IEEE1284_LAPLINK_MSG_GONE);
    }
    qemu_chr_fe_deinit(&s->chr, false);
}

static void ieee1284_laplink_reset(Lpt1284Peripheral *p)
{
    IEEE1284LaplinkState *s = IEEE1284_LAPLINK(p);

    /* The host's lines are back to their reset levels: tell the far end */
    ieee1284_laplink_drive(s);
    ieee1284_laplink_push(s, true);
}

static int ieee1284_laplink_post_load(void *opaque, int version_id)
{
    IEEE1284LaplinkState *s = opaque;

    if (s->far_lines & ~IEEE1284_LAPLINK_LINES) {
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_ieee1284_laplink = {
    .name = TYPE_IEEE1284_LAPLINK,
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ieee1284_laplink_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_LPT1284_PERIPHERAL(parent_obj, IEEE1284LaplinkState),
        VMSTATE_BOOL(far_present, IEEE1284LaplinkState),
        VMSTATE_UINT8(far_lines, IEEE1284LaplinkState),
        VMSTATE_UINT8(sent, IEEE1284LaplinkState),
        VMSTATE_END_OF_LIST()
    }
};

static Property ieee1284_laplink_properties[] = {
    DEFINE_PROP_STRING("peer", IEEE1284LaplinkState, peer_id),
    DEFINE_PROP_CHR("chardev", IEEE1284LaplinkState, chr),
    DEFINE_PROP_END_OF_LIST(),
};

static void ieee1284_laplink_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_CLASS(klass);

    dc->desc = "LapLink (PLIP) cable to another port, here or in another QEMU";
    dc->vmsd = &vmstate_ieee1284_laplink;
    device_class_set_props(dc, ieee1284_laplink_properties);
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
    pc->realize = ieee1284_laplink_realize;
    pc->unrealize = ieee1284_laplink_unrealize;
    pc->reset = ieee1284_laplink_reset;
    pc->lines = ieee1284_laplink_lines;
    pc->sync = ieee1284_laplink_sync;
}

static const TypeInfo ieee1284_laplink_types[] = {
    {
        .name = TYPE_IEEE1284_LAPLINK,
        .parent = TYPE_LPT1284_PERIPHERAL,
        .instance_size = sizeof(IEEE1284LaplinkState),
        .class_init = ieee1284_laplink_class_init,
    },
};

DEFINE_TYPES(ieee1284_laplink_types)
