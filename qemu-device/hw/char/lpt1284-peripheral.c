/*
 * The peripheral side of IEEE 1284, shared by every lptrig peripheral
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU interface:
 *  + TYPE_LPT1284_PERIPHERAL: abstract base of the peripherals on a
 *    TYPE_LPT1284_CHAIN, with the properties every peripheral has:
 *    - "addr": 0-3 for an IEEE 1284.3 daisy position (0 nearest the host),
 *      unset (-1) for the end-of-chain device
 *    - "device-id": the IEEE 1284 Device ID string (without the two length
 *      bytes); the class supplies a default
 *    - "busy-ns", "ack-ns": compatibility-mode handshake timing, ns of
 *      virtual time from the host's strobe to nAck, and the nAck pulse
 *      width.  The default 0 answers at once, as fast as QEMU's stock
 *      isa-parallel, with every step still in order (Busy high, nAck low,
 *      nAck high interrupting the host, Busy low); a real printer's timing
 *      is e.g. busy-ns=2000,ack-ns=5000.
 *
 * The protocol engine is here, once: compatibility handshake, negotiation
 * (events 0-6) with the extensibility byte and XFlag answered from the
 * class's modes, termination (events 22-29), nibble and byte reverse
 * transfers, ECP forward and reverse at pin level (events 30-49, with
 * run-length decoding and channel addresses), Device ID replies in
 * nibble, byte and ECP mode, and the transaction-level side that a
 * controller's FIFO, DMA and EPP hardware use.  The engine sees the host's
 * lines only while its device answers (lpt1284-chain.c); a daisy device
 * selected for EPP or ECP (lpt1284-dot3.c) starts in that mode.
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
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
    [LPT1284_PHASE_COMPAT_ACK] = "compat-ack",
    [LPT1284_PHASE_NEGOTIATION] = "negotiation",
    [LPT1284_PHASE_REJECTED] = "rejected",
    [LPT1284_PHASE_REV_IDLE] = "reverse-idle",
    [LPT1284_PHASE_REV_DATA] = "reverse-data",
    [LPT1284_PHASE_ECP_SETUP] = "ecp-setup",
    [LPT1284_PHASE_ECP_FWD_IDLE] = "ecp-forward-idle",
    [LPT1284_PHASE_ECP_FWD_BUSY] = "ecp-forward-busy",
    [LPT1284_PHASE_ECP_REV_IDLE] = "ecp-reverse-idle",
    [LPT1284_PHASE_ECP_REV_DATA] = "ecp-reverse-data",
    [LPT1284_PHASE_EPP_IDLE] = "epp-idle",
    [LPT1284_PHASE_TERM_ACK] = "termination-ack",
    [LPT1284_PHASE_TERM_END] = "termination-end",
};

/* The peripheral side of IEEE 1284: lines and phases */

static void lpt1284_peripheral_after(Lpt1284Peripheral *p, uint64_t ns);

static void lpt1284_peripheral_set_phase(Lpt1284Peripheral *p,
                                         Lpt1284Phase phase)
{
    if (p->phase != phase) {
        trace_lpt1284_peripheral_phase(p->addr, lpt1284_phase_name[phase]);
        p->phase = phase;
    }
}

/* Drive all five status lines (the IEEE 1284 modes use every one). */
static void lpt1284_peripheral_drive(Lpt1284Peripheral *p, uint8_t status)
{
    p->status = status & LPT1284_STATUS_LINES;
    lpt1284_chain_update(lpt1284_peripheral_chain(p));
}

/*
 * Compatibility mode: the handshake lines the phase drives (Busy, nAck)
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
    lpt1284_peripheral_drive(p, status);
}

static bool lpt1284_phase_is_compat(Lpt1284Phase phase)
{
    return phase <= LPT1284_PHASE_COMPAT_ACK;
}

static bool lpt1284_phase_is_ecp(Lpt1284Phase phase)
{
    return phase >= LPT1284_PHASE_ECP_SETUP &&
           phase <= LPT1284_PHASE_ECP_REV_DATA;
}

void lpt1284_peripheral_set_condition(Lpt1284Peripheral *p, uint8_t steady,
                                      bool hold_busy)
{
    uint8_t handshake = p->status;
    bool was_holding = p->hold_busy;

    p->steady = steady & (LPT1284_PERROR | LPT1284_SELECT | LPT1284_NFAULT);
    if (lpt1284_peripheral_class(p)->lines) {
        /* A line-level peripheral has no printer condition to show */
        p->hold_busy = false;
        return;
    }
    if (p->hold_busy && !hold_busy &&
        p->phase == LPT1284_PHASE_COMPAT_IDLE) {
        handshake &= ~LPT1284_BUSY;
    }
    p->hold_busy = hold_busy;
    if (!DEVICE(p)->realized) {
        return;
    }
    if (lpt1284_phase_is_compat(p->phase)) {
        lpt1284_peripheral_set_status(p, handshake);
    }
    if (was_holding && !hold_busy) {
        /* A transfer held up by the condition (e.g. paper-out) goes on */
        lpt1284_peripheral_ready(p);
    }
}

/* A line-level peripheral drives the status lines itself. */
void lpt1284_peripheral_set_lines(Lpt1284Peripheral *p, uint8_t status)
{
    p->status = status & LPT1284_STATUS_LINES;
    if (DEVICE(p)->realized) {
        lpt1284_chain_update(lpt1284_peripheral_chain(p));
    }
}

/*
 * Forget every IEEE 1284 mode and transfer in progress.  rev_byte stays:
 * it is the class's data, taken but not yet read by the host.
 */
static void lpt1284_peripheral_clear(Lpt1284Peripheral *p)
{
    timer_del(p->timer);
    p->stalled = false;
    p->drives_data = false;
    p->data = LPT1284_LINES_IDLE;
    p->xb = IEEE1284_XB_NIBBLE;
    p->neg_strobed = false;
    p->latch_command = false;
    p->rle_left = 0;
    p->rle_count = 0;
    p->rle_pending = false;
    p->rev_high_nibble = false;
    p->devid_pos = 0;
}

/* Back to compatibility mode, ready, nothing latched. */
static void lpt1284_peripheral_idle(Lpt1284Peripheral *p)
{
    lpt1284_peripheral_clear(p);
    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_IDLE);
    lpt1284_peripheral_set_status(p, LPT1284_HANDSHAKE_READY);
}

/*
 * Reverse data.  To show nDataAvail the next byte must be known before the
 * host asks for it: a byte taken from the class waits in rev_byte until
 * the host has read it, whatever modes come in between.  Device ID bytes
 * are worked out from devid_pos and never take that place.
 */
static bool lpt1284_peripheral_peek(Lpt1284Peripheral *p, uint8_t *byte)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);

    if (p->xb & IEEE1284_XB_DEVICEID) {
        const char *id = lpt1284_peripheral_device_id(p);
        uint32_t len = strlen(id) + 2;
        uint32_t told = len, sent = len;

        /* The "device-id-error" fault: a wrong length, or cut short */
        if (p->devid_error == LPT1284_DEVID_LENGTH) {
            told = MIN(len + 16, UINT16_MAX);
        } else if (p->devid_error == LPT1284_DEVID_TRUNCATED) {
            sent = 2 + (len - 2) / 2;
        }
        if (p->devid_pos >= sent) {
            return false;
        }
        /* A big-endian length that counts itself, then the string */
        *byte = p->devid_pos == 0 ? told >> 8 :
                p->devid_pos == 1 ? told & 0xff :
                id[p->devid_pos - 2];
        return true;
    }
    if (!p->rev_valid && pc->reverse && pc->reverse(p, &p->rev_byte, 1) == 1) {
        p->rev_valid = true;
    }
    *byte = p->rev_byte;
    return p->rev_valid;
}

static bool lpt1284_peripheral_take_reverse(Lpt1284Peripheral *p,
                                            uint8_t *byte)
{
    if (!lpt1284_peripheral_peek(p, byte)) {
        return false;
    }
    if (p->xb & IEEE1284_XB_DEVICEID) {
        p->devid_pos++;
    } else {
        p->rev_valid = false;
    }
    trace_lpt1284_peripheral_reverse(p->addr, *byte);
    return true;
}

/* Nibble/byte reverse idle: nDataAvail (nFault) and AckDataReq (PError) */
static void lpt1284_peripheral_rev_idle(Lpt1284Peripheral *p)
{
    uint8_t byte;
    bool avail = lpt1284_peripheral_peek(p, &byte);

    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_REV_IDLE);
    lpt1284_peripheral_drive(p, LPT1284_NACK | LPT1284_SELECT |
                             (avail ? 0 : LPT1284_NFAULT | LPT1284_PERROR));
}

/* ECP reverse idle: offer the next byte once HostAck (nAutoFd) is low */
static void lpt1284_peripheral_ecp_rev_offer(Lpt1284Peripheral *p,
                                             uint8_t ctrl)
{
    uint8_t byte;

    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_REV_IDLE);
    if (!(ctrl & LPT1284_NAUTOFD) && lpt1284_peripheral_peek(p, &byte)) {
        /* Event 43: data on the lines, Busy high for data, nAck low */
        p->data = byte;
        p->drives_data = true;
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_REV_DATA);
        lpt1284_peripheral_drive(p, LPT1284_BUSY | LPT1284_SELECT |
                                 LPT1284_NFAULT);
    } else {
        /* Event 40: PError low acknowledges the reverse request */
        lpt1284_peripheral_drive(p, LPT1284_NACK | LPT1284_SELECT |
                                 LPT1284_NFAULT);
    }
}

static void lpt1284_peripheral_ecp_fwd_idle(Lpt1284Peripheral *p)
{
    p->drives_data = false;
    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_FWD_IDLE);
    /* Events 31/49: PError high; PeriphAck (Busy) low: ready */
    lpt1284_peripheral_drive(p, LPT1284_NACK | LPT1284_PERROR |
                             LPT1284_SELECT | LPT1284_NFAULT);
}

/* Forward data */

/* The peripheral's own code takes forward data */
static size_t lpt1284_peripheral_deliver(Lpt1284Peripheral *p,
                                         const uint8_t *buf, size_t len)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);

    return pc->forward ? pc->forward(p, buf, len) : len;
}

/* Forward data, through the drop and corrupt faults */
static size_t lpt1284_peripheral_forward(Lpt1284Peripheral *p,
                                         const uint8_t *buf, size_t len)
{
    size_t taken = lpt1284_fault_forward(p, buf, len,
                                         lpt1284_peripheral_deliver);

    trace_lpt1284_peripheral_forward(p->addr, len, taken);
    return taken;
}

/* Deliver the copies of the latched byte that an RLE count asked for. */
static bool lpt1284_peripheral_deliver_run(Lpt1284Peripheral *p)
{
    uint8_t run[128];

    memset(run, p->latch, sizeof(run));
    while (p->rle_left) {
        size_t n = MIN(p->rle_left, sizeof(run));
        size_t taken = lpt1284_peripheral_forward(p, run, n);

        p->rle_left -= taken;
        if (taken < n) {
            return false;
        }
    }
    return true;
}

/*
 * One ECP byte, forward.  Returns false when the device has no room: the
 * byte (or the rest of its run) stays latched until lpt1284_peripheral_ready.
 */
static bool lpt1284_peripheral_ecp_byte(Lpt1284Peripheral *p, uint8_t byte,
                                        bool command)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);

    if (command) {
        if (byte & 0x80) {
            trace_lpt1284_peripheral_ecp_channel(p->addr, byte & 0x7f);
            if (pc->ecp_channel) {
                pc->ecp_channel(p, byte & 0x7f);
            }
        } else {
            /* A run-length count: the next data byte comes count + 1 times */
            p->rle_count = byte;
            p->rle_pending = true;
        }
        return true;
    }
    p->latch = byte;
    p->rle_left = p->rle_pending ? p->rle_count + 1 : 1;
    p->rle_pending = false;
    return lpt1284_peripheral_deliver_run(p);
}

/* Negotiation and termination */

static bool lpt1284_peripheral_accepts(Lpt1284Peripheral *p, uint8_t xb)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);
    uint32_t caps = pc->modes | LPT1284_CAP_NIBBLE;

    if (p->negotiation_reject) {
        return false;
    }
    switch (xb & ~IEEE1284_XB_DEVICEID) {
    case IEEE1284_XB_NIBBLE:
        return true;
    case IEEE1284_XB_BYTE:
        return caps & LPT1284_CAP_BYTE;
    case IEEE1284_XB_ECP:
        return caps & LPT1284_CAP_ECP;
    case IEEE1284_XB_ECP_RLE:
        return caps & LPT1284_CAP_ECP_RLE;
    case IEEE1284_XB_EPP:
        return !(xb & IEEE1284_XB_DEVICEID) && (caps & LPT1284_CAP_EPP);
    default:
        /* Extensibility link and anything undefined */
        return false;
    }
}

/* Events 5 and 6: answer with XFlag, raise nAck, enter the mode. */
static void lpt1284_peripheral_negotiated(Lpt1284Peripheral *p)
{
    bool ok = lpt1284_peripheral_accepts(p, p->xb);
    /* XFlag high means yes, except for plain nibble mode */
    bool xflag = p->xb == IEEE1284_XB_NIBBLE ? !ok : ok;
    uint8_t status = LPT1284_NACK | LPT1284_PERROR | LPT1284_NFAULT |
                     (xflag ? LPT1284_SELECT : 0);

    trace_lpt1284_peripheral_negotiated(p->addr, p->xb, ok);
    p->rev_high_nibble = false;
    p->devid_pos = 0;
    if (!ok) {
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_REJECTED);
        lpt1284_peripheral_drive(p, status);
        return;
    }
    switch (p->xb & ~IEEE1284_XB_DEVICEID) {
    case IEEE1284_XB_ECP:
    case IEEE1284_XB_ECP_RLE:
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_SETUP);
        lpt1284_peripheral_drive(p, status);
        break;
    case IEEE1284_XB_EPP:
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_EPP_IDLE);
        lpt1284_peripheral_drive(p, status);
        break;
    default:
        /* Nibble and byte mode start in reverse idle */
        lpt1284_peripheral_rev_idle(p);
        if (xflag != !!(p->status & LPT1284_SELECT)) {
            lpt1284_peripheral_drive(p, (p->status & ~LPT1284_SELECT) |
                                     (xflag ? LPT1284_SELECT : 0));
        }
        break;
    }
}

/* Events 1-2: the host asks for a mode; nAck low says "IEEE 1284 here". */
static void lpt1284_peripheral_negotiate(Lpt1284Peripheral *p,
                                         Lpt1284Chain *chain)
{
    lpt1284_peripheral_clear(p);
    p->xb = chain->host_data;
    p->neg_strobed = false;
    lpt1284_peripheral_set_phase(p, LPT1284_PHASE_NEGOTIATION);
    /* Event 2: nAck low, PError, Select and nFault high */
    lpt1284_peripheral_drive(p, (p->status & LPT1284_BUSY) |
                             LPT1284_PERROR | LPT1284_SELECT |
                             LPT1284_NFAULT);
}

/* The host changed its lines; @old_ctrl is what they were before. */
void lpt1284_peripheral_host_changed(Lpt1284Peripheral *p,
                                     Lpt1284Chain *chain, uint8_t old_ctrl)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);
    uint8_t ctrl = chain->host_ctrl;
    uint8_t fell = old_ctrl & ~ctrl;
    uint8_t rose = ~old_ctrl & ctrl;
    uint8_t byte;

    if (pc->lines) {
        pc->lines(p);
        return;
    }
    /* In ECP mode nInit is nReverseRequest; everywhere else it resets */
    if ((fell & LPT1284_NINIT) && !lpt1284_phase_is_ecp(p->phase)) {
        lpt1284_peripheral_idle(p);
        if (pc->reset) {
            pc->reset(p);
        }
        return;
    }
    if (!(ctrl & LPT1284_NINIT) && !lpt1284_phase_is_ecp(p->phase)) {
        return;
    }

    /* Event 22: nSelectIn low ends every IEEE 1284 mode */
    if ((fell & LPT1284_NSELECTIN) && !lpt1284_phase_is_compat(p->phase) &&
        p->phase != LPT1284_PHASE_TERM_ACK &&
        p->phase != LPT1284_PHASE_TERM_END) {
        p->drives_data = false;
        if (p->phase == LPT1284_PHASE_NEGOTIATION) {
            /* The host gave up before event 3: nothing to terminate */
            lpt1284_peripheral_idle(p);
            return;
        }
        /* Events 23-24: Busy low, nFault and Select high, nAck low */
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_TERM_ACK);
        lpt1284_peripheral_drive(p, (p->status & LPT1284_PERROR) |
                                 LPT1284_SELECT | LPT1284_NFAULT);
        return;
    }

    switch (p->phase) {
    case LPT1284_PHASE_COMPAT_IDLE:
        /* Event 1: nSelectIn high and nAutoFd low ask for a mode */
        if ((ctrl & LPT1284_NSELECTIN) && !(ctrl & LPT1284_NAUTOFD) &&
            ((rose & LPT1284_NSELECTIN) || (fell & LPT1284_NAUTOFD))) {
            lpt1284_peripheral_negotiate(p, chain);
            break;
        }
        /*
         * Compatibility mode: data is latched on the falling nStrobe edge.
         * A condition that holds Busy (paper out, offline, fault) does not
         * lose a byte the host had already decided to send: a host that
         * checks Busy first sends no more.
         */
        if (fell & LPT1284_NSTROBE) {
            p->latch = chain->host_data;
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_BUSY);
            lpt1284_peripheral_set_status(p, p->status | LPT1284_BUSY);
        }
        break;
    case LPT1284_PHASE_COMPAT_BUSY:
        /* ... and taken once nStrobe is released */
        if ((rose & LPT1284_NSTROBE) && !p->stalled) {
            /* The "busy-stall" fault holds Busy longer (or for ever) */
            lpt1284_peripheral_after(p, p->busy_ns + (p->busy_stall > 0 ?
                                     p->busy_stall * (uint64_t)SCALE_US : 0));
        }
        break;
    case LPT1284_PHASE_NEGOTIATION:
        if (fell & LPT1284_NSTROBE) {
            p->neg_strobed = true;              /* event 3 */
        }
        if (p->neg_strobed && (ctrl & LPT1284_NSTROBE) &&
            (ctrl & LPT1284_NAUTOFD)) {
            lpt1284_peripheral_negotiated(p);   /* event 4 seen */
        }
        break;
    case LPT1284_PHASE_REV_IDLE:
        /* Event 7: HostBusy (nAutoFd) low asks for data */
        if ((fell & LPT1284_NAUTOFD) && lpt1284_peripheral_peek(p, &byte)) {
            uint8_t status = p->status & LPT1284_SELECT;

            if ((p->xb & ~IEEE1284_XB_DEVICEID) == IEEE1284_XB_BYTE) {
                p->data = byte;
                p->drives_data = true;
                status = LPT1284_SELECT | LPT1284_NFAULT;
            } else {
                /* nFault, Select, PError, Busy carry bits 0-3 */
                uint8_t nib = p->rev_high_nibble ? byte >> 4 : byte & 0x0f;

                status = ((nib & 1) ? LPT1284_NFAULT : 0) |
                         ((nib & 2) ? LPT1284_SELECT : 0) |
                         ((nib & 4) ? LPT1284_PERROR : 0) |
                         ((nib & 8) ? LPT1284_BUSY : 0);
            }
            /* Event 9: nAck low */
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_REV_DATA);
            lpt1284_peripheral_drive(p, status);
        }
        break;
    case LPT1284_PHASE_REV_DATA:
        /* Event 10: nAutoFd high; event 11: nAck high */
        if (rose & LPT1284_NAUTOFD) {
            bool byte_mode =
                (p->xb & ~IEEE1284_XB_DEVICEID) == IEEE1284_XB_BYTE;

            if (!byte_mode && !p->rev_high_nibble) {
                p->rev_high_nibble = true;
                lpt1284_peripheral_set_phase(p, LPT1284_PHASE_REV_IDLE);
                lpt1284_peripheral_drive(p, p->status | LPT1284_NACK);
                break;
            }
            lpt1284_peripheral_take_reverse(p, &byte);
            p->rev_high_nibble = false;
            lpt1284_peripheral_rev_idle(p);
        }
        break;
    case LPT1284_PHASE_EPP_IDLE:
        /*
         * Selected into EPP by a 1284.3 command while the host still
         * signals compatibility mode (nSelectIn low): a host that
         * negotiates anyway (as Linux does after any select) gets a
         * negotiation.  A negotiated host holds nSelectIn high throughout.
         */
        if ((rose & LPT1284_NSELECTIN) && !(ctrl & LPT1284_NAUTOFD)) {
            lpt1284_peripheral_negotiate(p, chain);
        }
        break;
    case LPT1284_PHASE_ECP_SETUP:
        /* Event 30: nAutoFd low; event 31: PError high */
        if (!(ctrl & LPT1284_NAUTOFD)) {
            lpt1284_peripheral_ecp_fwd_idle(p);
        }
        break;
    case LPT1284_PHASE_ECP_FWD_IDLE:
        if ((rose & LPT1284_NSELECTIN) && !(ctrl & LPT1284_NAUTOFD)) {
            /* As for EPP above: selected into ECP, negotiated anyway */
            lpt1284_peripheral_negotiate(p, chain);
            break;
        }
        if ((fell & LPT1284_NINIT) && !(ctrl & LPT1284_NAUTOFD)) {
            /* Events 38-39: reverse request; event 40: PError low */
            lpt1284_peripheral_ecp_rev_offer(p, ctrl);
            break;
        }
        if (fell & LPT1284_NSTROBE) {
            /* Event 35: HostClk low; HostAck (nAutoFd) low for a command */
            p->latch = chain->host_data;
            p->latch_command = !(ctrl & LPT1284_NAUTOFD);
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_FWD_BUSY);
            /* Event 36: PeriphAck (Busy) high */
            lpt1284_peripheral_drive(p, p->status | LPT1284_BUSY);
        }
        break;
    case LPT1284_PHASE_ECP_FWD_BUSY:
        /* Event 37: HostClk high; take the byte, PeriphAck low when done */
        if ((rose & LPT1284_NSTROBE) && !p->stalled) {
            if (p->hold_busy && !p->latch_command) {
                /*
                 * Held (paper out...): the byte waits, and PeriphAck stays
                 * high, until the condition is cleared
                 */
                p->rle_left = p->rle_pending ? p->rle_count + 1 : 1;
                p->rle_pending = false;
                p->stalled = true;
                trace_lpt1284_peripheral_stall(p->addr);
            } else if (lpt1284_peripheral_ecp_byte(p, p->latch,
                                                   p->latch_command)) {
                lpt1284_peripheral_ecp_fwd_idle(p);
            } else {
                p->stalled = true;
                trace_lpt1284_peripheral_stall(p->addr);
            }
        }
        break;
    case LPT1284_PHASE_ECP_REV_IDLE:
    case LPT1284_PHASE_ECP_REV_DATA:
        if (rose & LPT1284_NINIT) {
            /* Events 47-49: back to forward, PError high */
            lpt1284_peripheral_ecp_fwd_idle(p);
            break;
        }
        if (p->phase == LPT1284_PHASE_ECP_REV_DATA &&
            (rose & LPT1284_NAUTOFD)) {
            /* Event 44: HostAck high took the byte; event 45: nAck high */
            lpt1284_peripheral_take_reverse(p, &byte);
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_ECP_REV_IDLE);
            lpt1284_peripheral_drive(p, LPT1284_NACK | LPT1284_BUSY |
                                     LPT1284_SELECT | LPT1284_NFAULT);
        } else if (p->phase == LPT1284_PHASE_ECP_REV_IDLE &&
                   (fell & LPT1284_NAUTOFD)) {
            /* Event 46: HostAck low: ready for the next byte */
            lpt1284_peripheral_ecp_rev_offer(p, ctrl);
        }
        break;
    case LPT1284_PHASE_TERM_ACK:
        /* Event 25: nAutoFd low; events 26-27: nAck high */
        if (fell & LPT1284_NAUTOFD) {
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_TERM_END);
            lpt1284_peripheral_drive(p, p->status | LPT1284_NACK);
        }
        break;
    case LPT1284_PHASE_TERM_END:
        /* Event 29: nAutoFd high: back in compatibility mode */
        if (rose & LPT1284_NAUTOFD) {
            lpt1284_peripheral_idle(p);
        }
        break;
    default:
        break;
    }
}

/* One timed step of a handshake. */
static void lpt1284_peripheral_step(Lpt1284Peripheral *p)
{
    switch (p->phase) {
    case LPT1284_PHASE_COMPAT_BUSY:
        if (p->busy_stall < 0) {
            /* Busy for ever, until the fault is cleared */
            p->stalled = true;
            trace_lpt1284_peripheral_stall(p->addr);
            return;
        }
        if (lpt1284_peripheral_forward(p, &p->latch, 1) == 0) {
            /* No room: stay Busy until lpt1284_peripheral_ready() */
            p->stalled = true;
            trace_lpt1284_peripheral_stall(p->addr);
            return;
        }
        if (p->no_ack) {
            /* Taken, but the nAck pulse never comes: just Busy low */
            lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_IDLE);
            lpt1284_peripheral_set_status(p, p->status & ~LPT1284_BUSY);
            break;
        }
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_ACK);
        lpt1284_peripheral_set_status(p, p->status & ~LPT1284_NACK);
        lpt1284_peripheral_after(p, p->ack_ns);
        break;
    case LPT1284_PHASE_COMPAT_ACK:
        /* The rising nAck edge ends the handshake (and interrupts the host) */
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_COMPAT_IDLE);
        lpt1284_peripheral_set_status(p, (p->status | LPT1284_NACK) &
                                      ~LPT1284_BUSY);
        break;
    case LPT1284_PHASE_ECP_FWD_BUSY:
        if (p->hold_busy) {
            p->stalled = true;
            break;
        }
        if (lpt1284_peripheral_deliver_run(p)) {
            lpt1284_peripheral_ecp_fwd_idle(p);
        } else {
            p->stalled = true;
        }
        break;
    default:
        break;
    }
}

/* The next handshake step, @ns from now; 0 takes it at once. */
static void lpt1284_peripheral_after(Lpt1284Peripheral *p, uint64_t ns)
{
    if (ns) {
        timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + ns);
    } else {
        timer_del(p->timer);
        lpt1284_peripheral_step(p);
    }
}

static void lpt1284_peripheral_timer(void *opaque)
{
    lpt1284_peripheral_step(opaque);
}

/* Take every handshake step whose deadline is not after @now. */
void lpt1284_peripheral_catch_up(Lpt1284Peripheral *p, int64_t now)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);
    int64_t deadline;

    if (pc->sync) {
        pc->sync(p, now);
    }
    /* Each step either finishes or arms the timer for a later deadline */
    while ((deadline = timer_expire_time_ns(p->timer)) >= 0 &&
           deadline <= now) {
        timer_del(p->timer);
        lpt1284_peripheral_step(p);
    }
}

void lpt1284_peripheral_ready(Lpt1284Peripheral *p)
{
    if (p->stalled) {
        p->stalled = false;
        timer_mod(p->timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
    lpt1284_chain_ready(lpt1284_peripheral_chain(p));
}

const char *lpt1284_peripheral_device_id(Lpt1284Peripheral *p)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);

    if (p->device_id) {
        return p->device_id;
    }
    return pc->default_device_id ? pc->default_device_id : "";
}

/* Transaction level, for the controller's FIFO, DMA and EPP hardware */

size_t lpt1284_peripheral_compat_write(Lpt1284Peripheral *p,
                                       const uint8_t *buf, size_t len)
{
    /* A line-level peripheral never answers an IEEE 1284 handshake */
    if (p->phase != LPT1284_PHASE_COMPAT_IDLE || p->hold_busy ||
        lpt1284_peripheral_class(p)->lines) {
        return 0;
    }
    return lpt1284_peripheral_forward(p, buf, len);
}

size_t lpt1284_peripheral_ecp_write(Lpt1284Peripheral *p, const uint8_t *buf,
                                    size_t len, bool command)
{
    size_t done = 0;

    /* A condition that holds Busy (paper out...) stops ECP data too */
    if (p->phase != LPT1284_PHASE_ECP_FWD_IDLE || p->stalled ||
        (p->hold_busy && !command)) {
        return 0;
    }
    if (p->rle_left && !lpt1284_peripheral_deliver_run(p)) {
        return 0;
    }
    if (!command && !p->rle_pending) {
        /* Plain data: one call for the whole block */
        return lpt1284_peripheral_forward(p, buf, len);
    }
    while (done < len) {
        if (!lpt1284_peripheral_ecp_byte(p, buf[done++], command)) {
            /* Taken, but part of its run is still waiting for room */
            break;
        }
    }
    return done;
}

bool lpt1284_peripheral_ecp_read(Lpt1284Peripheral *p, uint8_t *byte,
                                 bool *command)
{
    if ((p->phase != LPT1284_PHASE_ECP_REV_IDLE &&
               p->phase != LPT1284_PHASE_ECP_REV_DATA)) {
        return false;
    }
    *command = false;
    return lpt1284_peripheral_take_reverse(p, byte);
}

bool lpt1284_peripheral_epp_write(Lpt1284Peripheral *p, bool addr,
                                  uint8_t val)
{
    if (p->phase != LPT1284_PHASE_EPP_IDLE) {
        return false;
    }
    trace_lpt1284_peripheral_epp(p->addr, addr, 1, val);
    if (addr) {
        p->epp_addr = val;
        return true;
    }
    /* A device with no room, or held (paper out...), holds nWait */
    return !p->hold_busy && lpt1284_peripheral_forward(p, &val, 1) == 1;
}

bool lpt1284_peripheral_epp_read(Lpt1284Peripheral *p, bool addr,
                                 uint8_t *val)
{
    if (p->phase != LPT1284_PHASE_EPP_IDLE) {
        return false;
    }
    if (addr) {
        *val = p->epp_addr;
    } else if (!lpt1284_peripheral_take_reverse(p, val)) {
        return false;
    }
    trace_lpt1284_peripheral_epp(p->addr, addr, 0, *val);
    return true;
}

/* 1284.3 selection: what the device answers in from now on */
/* nInit is EPP's termination (event 68) and ECP's nReverseRequest */
bool lpt1284_peripheral_ninit_is_protocol(Lpt1284Peripheral *p)
{
    return lpt1284_phase_is_ecp(p->phase) ||
           p->phase == LPT1284_PHASE_EPP_IDLE;
}

bool lpt1284_peripheral_select(Lpt1284Peripheral *p, Lpt1284Dot3Mode mode)
{
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);

    switch (mode) {
    case LPT1284_DOT3_MODE_EPP:
        if (!(pc->modes & LPT1284_CAP_EPP)) {
            return false;
        }
        lpt1284_peripheral_clear(p);
        p->xb = IEEE1284_XB_EPP;
        lpt1284_peripheral_set_phase(p, LPT1284_PHASE_EPP_IDLE);
        lpt1284_peripheral_drive(p, LPT1284_NACK | LPT1284_PERROR |
                                 LPT1284_SELECT | LPT1284_NFAULT);
        return true;
    case LPT1284_DOT3_MODE_ECP:
        if (!(pc->modes & LPT1284_CAP_ECP)) {
            return false;
        }
        lpt1284_peripheral_clear(p);
        p->xb = IEEE1284_XB_ECP;
        lpt1284_peripheral_ecp_fwd_idle(p);
        return true;
    default:
        lpt1284_peripheral_idle(p);
        return true;
    }
}

/*
 * Deselected: back to compatibility mode, whatever was under way - but a
 * byte already strobed in (compatibility mode, Busy) was latched: the
 * device keeps it, as the host counted it sent.
 */
void lpt1284_peripheral_deselect(Lpt1284Peripheral *p)
{
    if (p->phase == LPT1284_PHASE_COMPAT_BUSY) {
        lpt1284_peripheral_forward(p, &p->latch, 1);
    }
    lpt1284_peripheral_idle(p);
}

static void lpt1284_peripheral_realize(DeviceState *dev, Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);
    Lpt1284Chain *chain = LPT1284_CHAIN(qdev_get_parent_bus(dev));
    Error *err = NULL;

    p->chain = chain;

    if (p->addr != LPT1284_ADDR_END &&
        (p->addr < 0 || p->addr >= LPT1284_DAISY_MAX)) {
        error_setg(errp, "addr %d is not a chain position: use 0-%d for a "
                   "daisy device, or leave it unset for the end of the chain",
                   p->addr, LPT1284_DAISY_MAX - 1);
        return;
    }
    if (pc->lines && p->addr != LPT1284_ADDR_END) {
        error_setg(errp, "%s is not IEEE 1284.3-aware: it can only be the "
                   "end-of-chain device (leave addr unset)",
                   object_get_typename(OBJECT(p)));
        return;
    }
    if (p->addr == LPT1284_ADDR_END && chain->end) {
        error_setg(errp, "the chain already has an end-of-chain device (%s): "
                   "a cable has one end", object_get_typename(
                       OBJECT(chain->end)));
        return;
    }
    if (p->addr >= 0 && chain->daisy[p->addr]) {
        error_setg(errp, "chain position %d is already taken (%s)", p->addr,
                   object_get_typename(OBJECT(chain->daisy[p->addr])));
        return;
    }
    if (p->device_id && strlen(p->device_id) > UINT16_MAX - 2) {
        error_setg(errp, "device-id is longer than %d bytes", UINT16_MAX - 2);
        return;
    }
    if (p->busy_ns > LPT1284_TIMING_MAX_NS ||
        p->ack_ns > LPT1284_TIMING_MAX_NS) {
        error_setg(errp, "busy-ns and ack-ns must be at most %d (1 s)",
                   LPT1284_TIMING_MAX_NS);
        return;
    }

    p->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, lpt1284_peripheral_timer, p);
    if (pc->realize) {
        pc->realize(p, &err);
        if (err) {
            error_propagate(errp, err);
            timer_free(p->timer);
            p->timer = NULL;
            return;
        }
    }
    lpt1284_chain_attach(chain, p);
}

static void lpt1284_peripheral_unrealize(DeviceState *dev)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(dev);
    Lpt1284PeripheralClass *pc = LPT1284_PERIPHERAL_GET_CLASS(p);

    lpt1284_chain_detach(lpt1284_peripheral_chain(p), p);
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

    lpt1284_peripheral_clear(p);
    lpt1284_dot3_reset(p);
    p->phase = LPT1284_PHASE_COMPAT_IDLE;
    p->epp_addr = 0;
    p->steady = LPT1284_STEADY_OK;
    p->hold_busy = false;
    /* The fault knobs are the world around the device: they stay */
    lpt1284_fault_update_condition(p);
    if (pc->lines) {
        /* Its own lines, which pc->reset sets (all floating until then) */
        p->status = LPT1284_LINES_IDLE & LPT1284_STATUS_LINES;
        if (pc->reset) {
            pc->reset(p);
        }
        return;
    }
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
        p->rle_left > 0x80 || !lpt1284_dot3_post_load(p) ||
        p->devid_error > LPT1284_DEVID_TRUNCATED || p->busy_stall < -1 ||
        p->arm >= LPT1284_FAULT_KNOBS) {
        return -EINVAL;
    }
    return 0;
}

const VMStateDescription vmstate_lpt1284_peripheral = {
    .name = "lpt1284-peripheral",
    .version_id = 3,
    .minimum_version_id = 3,
    .post_load = lpt1284_peripheral_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(status, Lpt1284Peripheral),
        VMSTATE_UINT8(steady, Lpt1284Peripheral),
        VMSTATE_BOOL(hold_busy, Lpt1284Peripheral),
        VMSTATE_UINT8(data, Lpt1284Peripheral),
        VMSTATE_BOOL(drives_data, Lpt1284Peripheral),
        VMSTATE_UINT8(phase, Lpt1284Peripheral),
        VMSTATE_UINT8(xb, Lpt1284Peripheral),
        VMSTATE_BOOL(neg_strobed, Lpt1284Peripheral),
        VMSTATE_UINT8(latch, Lpt1284Peripheral),
        VMSTATE_BOOL(latch_command, Lpt1284Peripheral),
        VMSTATE_BOOL(stalled, Lpt1284Peripheral),
        VMSTATE_UINT16(rle_left, Lpt1284Peripheral),
        VMSTATE_UINT8(rle_count, Lpt1284Peripheral),
        VMSTATE_BOOL(rle_pending, Lpt1284Peripheral),
        VMSTATE_UINT8(rev_byte, Lpt1284Peripheral),
        VMSTATE_BOOL(rev_valid, Lpt1284Peripheral),
        VMSTATE_BOOL(rev_high_nibble, Lpt1284Peripheral),
        VMSTATE_UINT32(devid_pos, Lpt1284Peripheral),
        VMSTATE_UINT8(epp_addr, Lpt1284Peripheral),
        VMSTATE_TIMER_PTR(timer, Lpt1284Peripheral),
        VMSTATE_UINT8(dot3_phase, Lpt1284Peripheral),
        VMSTATE_INT8(dot3_addr, Lpt1284Peripheral),
        VMSTATE_BOOL(dot3_passing, Lpt1284Peripheral),
        VMSTATE_BOOL(dot3_ack, Lpt1284Peripheral),
        VMSTATE_BOOL(selected, Lpt1284Peripheral),
        VMSTATE_UINT8(dot3_mode, Lpt1284Peripheral),
        VMSTATE_BOOL(irq_enabled, Lpt1284Peripheral),
        VMSTATE_BOOL(paper_out, Lpt1284Peripheral),
        VMSTATE_BOOL(offline, Lpt1284Peripheral),
        VMSTATE_BOOL(fault, Lpt1284Peripheral),
        VMSTATE_BOOL(disconnect, Lpt1284Peripheral),
        VMSTATE_BOOL(select_fail, Lpt1284Peripheral),
        VMSTATE_BOOL(negotiation_reject, Lpt1284Peripheral),
        VMSTATE_BOOL(no_ack, Lpt1284Peripheral),
        VMSTATE_UINT32(drop, Lpt1284Peripheral),
        VMSTATE_UINT32(corrupt, Lpt1284Peripheral),
        VMSTATE_UINT64(seed, Lpt1284Peripheral),
        VMSTATE_UINT64(rng, Lpt1284Peripheral),
        VMSTATE_UINT64(fault_index, Lpt1284Peripheral),
        VMSTATE_UINT64(received, Lpt1284Peripheral),
        VMSTATE_UINT64(dropped, Lpt1284Peripheral),
        VMSTATE_UINT64(corrupted, Lpt1284Peripheral),
        VMSTATE_INT32(busy_stall, Lpt1284Peripheral),
        VMSTATE_UINT8(devid_error, Lpt1284Peripheral),
        VMSTATE_UINT8(arm, Lpt1284Peripheral),
        VMSTATE_UINT64(arm_after, Lpt1284Peripheral),
        VMSTATE_UINT64(arm_at, Lpt1284Peripheral),
        VMSTATE_END_OF_LIST()
    }
};

static Property lpt1284_peripheral_properties[] = {
    DEFINE_PROP_INT32("addr", Lpt1284Peripheral, addr, LPT1284_ADDR_END),
    DEFINE_PROP_STRING("device-id", Lpt1284Peripheral, device_id),
    DEFINE_PROP_UINT32("busy-ns", Lpt1284Peripheral, busy_ns,
                       LPT1284_BUSY_NS_DEFAULT),
    DEFINE_PROP_UINT32("ack-ns", Lpt1284Peripheral, ack_ns,
                       LPT1284_ACK_NS_DEFAULT),
    DEFINE_PROP_END_OF_LIST(),
};

static void lpt1284_peripheral_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->bus_type = TYPE_LPT1284_CHAIN;
    dc->realize = lpt1284_peripheral_realize;
    dc->unrealize = lpt1284_peripheral_unrealize;
    dc->reset = lpt1284_peripheral_reset;
    dc->hotpluggable = true;
    device_class_set_props(dc, lpt1284_peripheral_properties);
    lpt1284_fault_class_init(klass);
}

static const TypeInfo lpt1284_peripheral_types[] = {
    {
        .name = TYPE_LPT1284_PERIPHERAL,
        .parent = TYPE_DEVICE,
        .instance_size = sizeof(Lpt1284Peripheral),
        .abstract = true,
        .class_size = sizeof(Lpt1284PeripheralClass),
        .class_init = lpt1284_peripheral_class_init,
    },
};

DEFINE_TYPES(lpt1284_peripheral_types)
