/*
 * IEEE 1284.3 daisy chain: the command packet decoder of a daisy device
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Every daisy device (a peripheral at chain position 0-3) watches the data
 * lines for the command packet prefix AA 55 00 FF 87 78.  The prefix is
 * written without strobes: a strobe before the command phase means the
 * bytes were data, and the decoder starts over.  What the devices show
 * the host, as Linux's drivers/parport/daisy.c samples it:
 *
 *   after AA 55 00 FF  Busy low, PError high, Select high, nFault high
 *   after 87           Busy high, PError low, Select high, nFault high
 *   after 78           PError high, Select high, nFault high, and Busy
 *                      high on the last daisy device of the chain, low on
 *                      the others (the "last device" indication)
 *   command strobed    as after 78, with nFault high while nStrobe is low
 *                      when the command was acknowledged, low when not
 *
 * nAck stays high throughout: a packet never interrupts the host.  The
 * packet ends when the data lines go to FF; until then every strobe is
 * one more command byte, and none reaches a peripheral's data path or
 * the end-of-chain device.
 *
 * Commands (a = 1284.3 address 0-3):
 *   0x00+a  assign address a to the first device that has not taken one
 *           in this packet (the first assignment of a packet clears the
 *           old addresses); that device passes the rest of the packet on,
 *           so the next one answers the next assignment
 *   0x30    deselect all
 *   0xE0+a  select device a for compatibility, nibble and byte mode
 *   0x20+a  select device a in EPP mode (if it has EPP)
 *   0xD0+a  select device a in ECP mode (if it has ECP)
 *   0x48 / 0x40  enable / disable 1284.3 interrupts
 *   0x08    query interrupt: acknowledged when a device has one pending
 *   0xF8    command filter: acknowledged, no effect
 * A select deselects every other device.  Acknowledged is nFault high,
 * the way Linux's share.c reads parport_daisy_select(): 0 (nFault high)
 * is success and sets port->daisy.
 *
 * Selection lasts until deselect, another select, or an nInit pulse
 * (unless the selected device is in EPP or ECP mode, where nInit ends EPP
 * (event 68) or is ECP's nReverseRequest).  Address assignment lasts
 * until the next scan or a system reset.
 *
 * A port multiplexer probe (AA 55 F0 0F 52 AD ...) is not a daisy packet:
 * the decoder drops it at F0, the status lines stay the answering
 * device's, and Linux's mux_present() sees no multiplexer.
 *
 * Caveat: no peripheral raises a 1284.3 interrupt yet, so query interrupt
 * is never acknowledged; the command filter is accepted and ignored.
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
#include "qemu/log.h"
#include "trace.h"

static const char *const lpt1284_dot3_phase_name[LPT1284_DOT3__MAX] = {
    [LPT1284_DOT3_IDLE] = "idle",
    [LPT1284_DOT3_AA] = "aa",
    [LPT1284_DOT3_55] = "aa55",
    [LPT1284_DOT3_00] = "aa5500",
    [LPT1284_DOT3_FF] = "aa5500ff",
    [LPT1284_DOT3_87] = "aa5500ff87",
    [LPT1284_DOT3_COMMAND] = "command",
};

const char *const lpt1284_dot3_mode_name[] = {
    [LPT1284_DOT3_MODE_COMPAT] = "compatibility",
    [LPT1284_DOT3_MODE_EPP] = "epp",
    [LPT1284_DOT3_MODE_ECP] = "ecp",
};

static void lpt1284_dot3_set_phase(Lpt1284Peripheral *p,
                                   Lpt1284Dot3Phase phase)
{
    if (p->dot3_phase != phase) {
        trace_lpt1284_dot3_phase(p->addr, lpt1284_dot3_phase_name[phase]);
        p->dot3_phase = phase;
    }
}

/* Is the device answering a command packet itself (not passing it on)? */
bool lpt1284_dot3_answering(Lpt1284Peripheral *p)
{
    return p->dot3_phase >= LPT1284_DOT3_FF &&
           !(p->dot3_phase == LPT1284_DOT3_COMMAND && p->dot3_passing);
}

static bool lpt1284_dot3_is_last(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    int i;

    for (i = p->addr + 1; i < LPT1284_DAISY_MAX; i++) {
        if (lpt1284_chain_daisy(chain, i)) {
            return false;
        }
    }
    return true;
}

uint8_t lpt1284_dot3_status(Lpt1284Chain *chain, Lpt1284Peripheral *p)
{
    uint8_t status = LPT1284_NACK | LPT1284_SELECT | LPT1284_NFAULT;

    switch (p->dot3_phase) {
    case LPT1284_DOT3_FF:
        return status | LPT1284_PERROR;
    case LPT1284_DOT3_87:
        return status | LPT1284_BUSY;
    default:
        status |= LPT1284_PERROR;
        if (lpt1284_dot3_is_last(chain, p)) {
            status |= LPT1284_BUSY;
        }
        if (!(chain->host_ctrl & LPT1284_NSTROBE) && !p->dot3_ack) {
            status &= ~LPT1284_NFAULT;
        }
        return status;
    }
}

/* The next prefix phase after @data, or where a wrong byte leaves it */
static Lpt1284Dot3Phase lpt1284_dot3_next(Lpt1284Dot3Phase phase,
                                          uint8_t data)
{
    static const uint8_t prefix[] = { 0xaa, 0x55, 0x00, 0xff, 0x87, 0x78 };

    if (data == prefix[phase]) {
        return phase + 1;
    }
    return data == prefix[0] ? LPT1284_DOT3_AA : LPT1284_DOT3_IDLE;
}

/*
 * Where a decoder goes back to after a strobe or nInit ended its packet:
 * idle, or already past the first prefix byte when the host leaves 0xAA on
 * the lines.  Linux's cpp_daisy() writes 0xAA again after a data byte 0xAA:
 * the lines do not change, and without this the whole packet would be
 * missed.
 */
static Lpt1284Dot3Phase lpt1284_dot3_restart(Lpt1284Chain *chain)
{
    return !chain->host_reverse && chain->host_data == 0xaa ?
           LPT1284_DOT3_AA : LPT1284_DOT3_IDLE;
}

static void lpt1284_dot3_deselect(Lpt1284Peripheral *p)
{
    if (p->selected) {
        trace_lpt1284_dot3_deselect(p->addr);
        p->selected = false;
        lpt1284_peripheral_deselect(p);
    }
}

static Lpt1284Dot3Mode lpt1284_dot3_select_mode(uint8_t cmd)
{
    switch (cmd & 0xf0) {
    case LPT1284_DOT3_EPP_SELECT:
        return LPT1284_DOT3_MODE_EPP;
    case LPT1284_DOT3_ECP_SELECT:
        return LPT1284_DOT3_MODE_ECP;
    default:
        return LPT1284_DOT3_MODE_COMPAT;
    }
}

static bool lpt1284_dot3_is_select(uint8_t cmd)
{
    uint8_t kind = cmd & 0xf0;

    return (cmd & 0x0f) < LPT1284_DAISY_MAX &&
           (kind == LPT1284_DOT3_SELECT || kind == LPT1284_DOT3_EPP_SELECT ||
            kind == LPT1284_DOT3_ECP_SELECT);
}

/* One strobed command byte, seen by every device in the command phase. */
static void lpt1284_dot3_command(Lpt1284Chain *chain, uint8_t cmd)
{
    Lpt1284Peripheral *in_packet[LPT1284_DAISY_MAX];
    int n = 0, i;
    bool ack = false;

    for (i = 0; i < LPT1284_DAISY_MAX; i++) {
        Lpt1284Peripheral *p = lpt1284_chain_daisy(chain, i);

        if (p && p->dot3_phase == LPT1284_DOT3_COMMAND) {
            in_packet[n++] = p;
        }
    }
    if (cmd < LPT1284_DAISY_MAX) {
        bool first = true;

        for (i = 0; i < n; i++) {
            first &= !in_packet[i]->dot3_passing;
        }
        for (i = 0; i < n; i++) {
            Lpt1284Peripheral *p = in_packet[i];

            if (first) {
                /* A new scan: what the last one assigned is void */
                p->dot3_addr = -1;
            }
            if (!ack && !p->dot3_passing) {
                p->dot3_addr = cmd;
                p->dot3_passing = true;
                ack = true;
                trace_lpt1284_dot3_assign(p->addr, cmd);
            }
        }
    } else if (cmd == LPT1284_DOT3_DESELECT) {
        for (i = 0; i < n; i++) {
            lpt1284_dot3_deselect(in_packet[i]);
        }
        chain->orphaned = false;
        ack = true;
    } else if (lpt1284_dot3_is_select(cmd)) {
        Lpt1284Dot3Mode mode = lpt1284_dot3_select_mode(cmd);
        int target = cmd & 0x0f;

        for (i = 0; i < n; i++) {
            Lpt1284Peripheral *p = in_packet[i];

            if (!ack && p->dot3_addr == target && !p->select_fail &&
                lpt1284_peripheral_select(p, mode)) {
                p->selected = true;
                p->dot3_mode = mode;
                ack = true;
                trace_lpt1284_dot3_select(p->addr, target,
                                          lpt1284_dot3_mode_name[mode]);
            } else {
                lpt1284_dot3_deselect(p);
            }
        }
        chain->orphaned = false;
    } else if (cmd == LPT1284_DOT3_ENABLE_INT ||
               cmd == LPT1284_DOT3_DISABLE_INT) {
        for (i = 0; i < n; i++) {
            in_packet[i]->irq_enabled = cmd == LPT1284_DOT3_ENABLE_INT;
        }
        ack = true;
    } else if (cmd == LPT1284_DOT3_QUERY_INT) {
        ack = false;                /* no device has an interrupt pending */
    } else if (cmd == LPT1284_DOT3_COMMAND_FILTER) {
        ack = true;
    } else {
        qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: IEEE 1284.3 command 0x%02x "
                      "is not one a daisy device knows\n", cmd);
    }
    for (i = 0; i < n; i++) {
        in_packet[i]->dot3_ack = ack;
    }
    trace_lpt1284_dot3_command(cmd, ack);
}

/*
 * Feed one change of the host's lines to every daisy device's decoder.
 * Returns true when the change belongs to a command packet, so that no
 * peripheral's data path sees it.
 */
bool lpt1284_dot3_host_changed(Lpt1284Chain *chain, uint8_t old_data,
                               uint8_t old_ctrl, bool old_reverse)
{
    uint8_t data = chain->host_data;
    uint8_t ctrl = chain->host_ctrl;
    uint8_t fell = old_ctrl & ~ctrl;
    bool data_changed = !chain->host_reverse &&
                        (data != old_data || old_reverse);
    bool in_packet = false, command = false, ended = false;
    int i;

    /*
     * The host lost its selected device: its next command packet (or
     * nInit) ends that, even when no daisy device is left to decode it.
     */
    if (chain->orphaned) {
        if (fell & LPT1284_NINIT) {
            chain->orphaned = false;
        } else if (data_changed) {
            chain->orphan_phase = lpt1284_dot3_next(chain->orphan_phase, data);
            if (chain->orphan_phase >= LPT1284_DOT3_FF) {
                chain->orphaned = false;
            }
        }
        if (!chain->orphaned) {
            chain->orphan_phase = LPT1284_DOT3_IDLE;
        }
    }

    for (i = 0; i < LPT1284_DAISY_MAX; i++) {
        Lpt1284Peripheral *p = lpt1284_chain_daisy(chain, i);
        Lpt1284Dot3Phase phase;

        if (!p) {
            continue;
        }
        phase = p->dot3_phase;

        if (fell & LPT1284_NINIT) {
            /* nInit resets the chain, except as part of EPP or ECP */
            if (!(p->selected && lpt1284_peripheral_ninit_is_protocol(p))) {
                lpt1284_dot3_deselect(p);
            }
            phase = lpt1284_dot3_restart(chain);
            p->dot3_passing = false;
        } else if ((fell & LPT1284_NSTROBE) && phase != LPT1284_DOT3_IDLE) {
            if (phase == LPT1284_DOT3_COMMAND) {
                command = true;
            } else {
                /* A strobed byte is data: no command packet after all */
                phase = lpt1284_dot3_restart(chain);
            }
        }
        if (data_changed) {
            if (phase == LPT1284_DOT3_COMMAND) {
                if (data == 0xff) {
                    /* End of the packet */
                    ended = true;
                    phase = LPT1284_DOT3_IDLE;
                    p->dot3_passing = false;
                    p->dot3_ack = false;
                }
            } else {
                phase = lpt1284_dot3_next(phase, data);
                if (phase == LPT1284_DOT3_COMMAND) {
                    p->dot3_passing = false;
                    p->dot3_ack = false;
                }
            }
        }
        lpt1284_dot3_set_phase(p, phase);
        in_packet |= phase >= LPT1284_DOT3_FF;
    }
    if (command) {
        lpt1284_dot3_command(chain, data);
    }
    /* A strobe that cut a prefix short was a data strobe: it goes on */
    return (in_packet || command || ended) && !(fell & LPT1284_NINIT);
}

void lpt1284_dot3_reset(Lpt1284Peripheral *p)
{
    p->dot3_phase = LPT1284_DOT3_IDLE;
    p->dot3_addr = -1;
    p->dot3_passing = false;
    p->dot3_ack = false;
    p->selected = false;
    p->dot3_mode = LPT1284_DOT3_MODE_COMPAT;
    p->irq_enabled = false;
}

bool lpt1284_dot3_post_load(Lpt1284Peripheral *p)
{
    bool daisy = p->addr >= 0;

    return p->dot3_phase < LPT1284_DOT3__MAX &&
           p->dot3_addr >= -1 && p->dot3_addr < LPT1284_DAISY_MAX &&
           p->dot3_mode <= LPT1284_DOT3_MODE_ECP &&
           (daisy || (p->dot3_phase == LPT1284_DOT3_IDLE && !p->selected));
}
