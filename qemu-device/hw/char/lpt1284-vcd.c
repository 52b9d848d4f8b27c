/*
 * IEEE 1284 cable traces in the Value Change Dump format
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Every line of the cable is a 1-bit wire of its own (sigrok's VCD input
 * skips vectors): D0-D7 as they are on the cable (driven by the host, or
 * by the peripheral when the host's drivers are off), nStrobe, nAutoFd,
 * nInit, nSelectIn, nAck, Busy, PError, Select, nFault, and "reverse"
 * (the host's data drivers off); then the chain's state as named 1-bit
 * signals: selected0-3 (that daisy device is selected), dot3_packet (a
 * 1284.3 command packet under way) and phase_* (the IEEE 1284 phase of
 * the answering device: compat, negotiation, nibble_byte, ecp_forward,
 * ecp_reverse, epp, termination).  No vectors: Debian's sigrok-cli 0.7.2
 * decodes nothing from a file with one.  Time stamps are QEMU's virtual
 * clock in ns.  A wire that changes again within the same nanosecond
 * (a pulse the vCPU made between two clock ticks) gets the next
 * nanosecond, so every transition stays in the trace.  Only changes are
 * written, through a large stdio buffer; the file is complete when QEMU
 * exits.
 *
 * Caveat: what the controller moves in hardware a block at a time (FIFO,
 * DMA and EPP transfers) is not expanded into pin waveforms: the trace
 * shows the lines before and after such a block.
 */

#include "qemu/osdep.h"
#include "hw/char/lpt1284-chain.h"
#include "qapi/error.h"
#include "qemu/notify.h"
#include "qemu/timer.h"
#include "sysemu/sysemu.h"

#define LPT1284_VCD_LINES       18
#define LPT1284_VCD_WIRES       (LPT1284_VCD_LINES + LPT1284_VCD_STATES)
#define LPT1284_VCD_BUFSIZE     (1 << 20)

struct Lpt1284Vcd {
    FILE *f;
    char *buf;
    Notifier exit;
    bool started;
    int64_t last_time;
    uint32_t last;          /* wire levels, bit i = wire i */
    uint32_t last_changed;  /* wires that changed at last_time */
};

static const char *const lpt1284_vcd_names[LPT1284_VCD_WIRES] = {
    "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7",
    "nStrobe", "nAutoFd", "nInit", "nSelectIn",
    "nAck", "Busy", "PError", "Select", "nFault", "reverse",
    /* the chain's state, as named signals */
    "selected0", "selected1", "selected2", "selected3", "dot3_packet",
    "phase_compat", "phase_negotiation", "phase_nibble_byte",
    "phase_ecp_forward", "phase_ecp_reverse", "phase_epp", "phase_termination",
};

/* Identifier of wire i: one printable character each */
static char lpt1284_vcd_id(int i)
{
    return 'A' + i;
}

static uint32_t lpt1284_vcd_levels(uint8_t data, uint8_t ctrl, bool reverse,
                                   uint8_t status, uint32_t state)
{
    return (state << LPT1284_VCD_LINES) | data |
           (ctrl & LPT1284_NSTROBE ? 1u << 8 : 0) |
           (ctrl & LPT1284_NAUTOFD ? 1u << 9 : 0) |
           (ctrl & LPT1284_NINIT ? 1u << 10 : 0) |
           (ctrl & LPT1284_NSELECTIN ? 1u << 11 : 0) |
           (status & LPT1284_NACK ? 1u << 12 : 0) |
           (status & LPT1284_BUSY ? 1u << 13 : 0) |
           (status & LPT1284_PERROR ? 1u << 14 : 0) |
           (status & LPT1284_SELECT ? 1u << 15 : 0) |
           (status & LPT1284_NFAULT ? 1u << 16 : 0) |
           (reverse ? 1u << 17 : 0);
}

void lpt1284_vcd_sample(Lpt1284Vcd *vcd, int64_t time, uint8_t data,
                        uint8_t ctrl, bool reverse, uint8_t status,
                        uint32_t state)
{
    uint32_t now = lpt1284_vcd_levels(data, ctrl, reverse, status, state);
    uint32_t changed;
    int i;

    if (!vcd->f) {
        return;
    }
    if (!vcd->started) {
        vcd->started = true;
        fprintf(vcd->f, "#%" PRId64 "\n$dumpvars\n", time);
        for (i = 0; i < LPT1284_VCD_WIRES; i++) {
            fprintf(vcd->f, "%c%c\n", now & (1u << i) ? '1' : '0',
                    lpt1284_vcd_id(i));
        }
        fputs("$end\n", vcd->f);
        vcd->last = now;
        vcd->last_time = time;
        return;
    }
    changed = now ^ vcd->last;
    if (!changed) {
        return;
    }
    time = MAX(time, vcd->last_time);
    if (time == vcd->last_time && (changed & vcd->last_changed)) {
        time++;
    }
    if (time > vcd->last_time) {
        fprintf(vcd->f, "#%" PRId64 "\n", time);
        vcd->last_time = time;
        vcd->last_changed = 0;
    }
    vcd->last_changed |= changed;
    for (i = 0; i < LPT1284_VCD_WIRES; i++) {
        if (changed & (1u << i)) {
            fprintf(vcd->f, "%c%c\n", now & (1u << i) ? '1' : '0',
                    lpt1284_vcd_id(i));
        }
    }
    vcd->last = now;
}

static void lpt1284_vcd_exit(Notifier *n, void *data)
{
    Lpt1284Vcd *vcd = container_of(n, Lpt1284Vcd, exit);

    if (vcd->f) {
        /* The trace lasts until now: the last change gets its length */
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

        if (vcd->started && now > vcd->last_time) {
            fprintf(vcd->f, "#%" PRId64 "\n", now);
        }
        fclose(vcd->f);
        vcd->f = NULL;
    }
}

Lpt1284Vcd *lpt1284_vcd_open(const char *path, const char *scope,
                             Error **errp)
{
    Lpt1284Vcd *vcd;
    FILE *f = fopen(path, "w");
    int i;

    if (!f) {
        error_setg_errno(errp, errno, "cannot write the VCD trace '%s'",
                         path);
        return NULL;
    }
    vcd = g_new0(Lpt1284Vcd, 1);
    vcd->f = f;
    vcd->buf = g_malloc(LPT1284_VCD_BUFSIZE);
    setvbuf(f, vcd->buf, _IOFBF, LPT1284_VCD_BUFSIZE);
    fprintf(f, "$comment lptrig IEEE 1284 cable %s $end\n"
            "$timescale 1ns $end\n$scope module %s $end\n", scope, scope);
    for (i = 0; i < LPT1284_VCD_WIRES; i++) {
        fprintf(f, "$var wire 1 %c %s $end\n", lpt1284_vcd_id(i),
                lpt1284_vcd_names[i]);
    }
    fputs("$upscope $end\n$enddefinitions $end\n", f);
    vcd->exit.notify = lpt1284_vcd_exit;
    qemu_add_exit_notifier(&vcd->exit);
    return vcd;
}
