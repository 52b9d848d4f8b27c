/*
 * lptrig IEEE 1284 parallel port controller: register model
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A SuperIO-class PC parallel port: data, status and control registers at
 * the base, and the ECP block (FIFO/CNFGA, CNFGB, ECR) 0x400 above it.
 * Register writes become levels on the cable (lpt1284-chain.c); reads
 * return what the cable carries.
 *
 * ECR modes (bits 7:5): 000 SPP, 001 PS/2, 010 parallel-port FIFO
 * (compatibility mode with the handshake done by the port), 011 ECP, 100
 * EPP, 110 FIFO test and 111 configuration.  Which of them the port offers
 * is configurable; with none but SPP it has no ECR at all and poses as a
 * plain SPP port.  An ECR write selecting a mode the port does not offer
 * is logged and leaves the port as it was.
 *
 * The FIFO holds fifo_depth entries.  In the FIFO modes it drains into, or
 * fills from, the answering peripheral a whole block at a time through the
 * chain's transaction-level calls; ISA DMA (dmaEn) moves whole blocks per
 * transfer callback and sets serviceIntr at terminal count.  Service
 * interrupts follow the ECP register spec: with dmaEn clear, serviceIntr
 * is set (and the IRQ pulsed) when at least fifo_depth / 2 entries are free
 * (forward) or filled (reverse).  EPP cycles at +3 (address) and +4..+7
 * (data; 16/32-bit accesses are 2/4 cycles) go to the peripheral in ECR
 * mode 100; a peripheral that is not in EPP mode leaves the cycle
 * unanswered and the EPP time-out bit (status bit 0) is set, cleared by
 * writing 1 to it.
 *
 * Caveat: the port moves bytes as fast as the peripheral takes them; the
 * cable timing of a real FIFO is not modelled.
 */

#include "qemu/osdep.h"
#include "hw/char/lpt1284.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "sysemu/runstate.h"
#include "trace.h"

static const char *const lpt1284_base_reg_name[LPT1284_BASE_SIZE] = {
    "data", "status", "control", "epp-addr",
    "epp-data0", "epp-data1", "epp-data2", "epp-data3",
};

static const char *const lpt1284_ecp_reg_name[LPT1284_ECP_SIZE] = {
    "ecp-fifo/cnfga", "cnfgb", "ecr",
};

static const char *lpt1284_base_reg(hwaddr addr)
{
    return addr < LPT1284_BASE_SIZE ? lpt1284_base_reg_name[addr] : "?";
}

static const char *lpt1284_ecp_reg(hwaddr addr)
{
    return addr < LPT1284_ECP_SIZE ? lpt1284_ecp_reg_name[addr] : "?";
}

static const char *const lpt1284_mode_name[8] = {
    "spp", "ps2", "ppfifo", "ecp", "epp", "reserved", "test", "config",
};

static Lpt1284EcrMode lpt1284_mode(Lpt1284State *s)
{
    return s->ecr >> LPT1284_ECR_MODE_SHIFT;
}

bool lpt1284_has_ecr(Lpt1284State *s)
{
    return s->modes & ~LPT1284_MODE_BIT(LPT1284_MODE_SPP);
}

static bool lpt1284_forward(Lpt1284State *s)
{
    return !(s->ctrl & LPT1284_CTR_DIR);
}

/* Does the direction bit turn the data drivers off in this mode? */
static bool lpt1284_reverse(Lpt1284State *s)
{
    switch (lpt1284_mode(s)) {
    case LPT1284_MODE_PS2:
    case LPT1284_MODE_ECP:
    case LPT1284_MODE_EPP:
        return !lpt1284_forward(s);
    default:
        /* SPP, compatibility FIFO, test and configuration: always driven */
        return false;
    }
}

static void lpt1284_update_lines(Lpt1284State *s)
{
    uint8_t pins = (s->ctrl ^ LPT1284_CTR_INVERTED) & LPT1284_CTRL_LINES;

    lpt1284_chain_drive(s->chain, s->data, pins, lpt1284_reverse(s));
}

/* The FIFO */

static bool lpt1284_fifo_full(Lpt1284State *s)
{
    return s->fifo_count >= s->fifo_depth;
}

static void lpt1284_fifo_push(Lpt1284State *s, uint16_t entry)
{
    if (lpt1284_fifo_full(s)) {
        qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: FIFO overrun, 0x%03x lost\n",
                      entry);
        return;
    }
    s->fifo[(s->fifo_head + s->fifo_count) % s->fifo_depth] = entry;
    s->fifo_count++;
}

static uint16_t lpt1284_fifo_peek(Lpt1284State *s, uint32_t i)
{
    return s->fifo[(s->fifo_head + i) % s->fifo_depth];
}

static void lpt1284_fifo_drop(Lpt1284State *s, uint32_t n)
{
    s->fifo_head = (s->fifo_head + n) % s->fifo_depth;
    s->fifo_count -= n;
}

static void lpt1284_fifo_reset(Lpt1284State *s)
{
    s->fifo_head = 0;
    s->fifo_count = 0;
}

static void lpt1284_set_service(Lpt1284State *s)
{
    if (!(s->ecr & LPT1284_ECR_SERVICEINTR)) {
        s->ecr |= LPT1284_ECR_SERVICEINTR;
        trace_lpt1284_service_irq(s->fifo_count);
        qemu_irq_pulse(s->irq);
    }
}

/* What the port's hardware handshake hands over in a FIFO mode */
static size_t lpt1284_cable_write(Lpt1284State *s, Lpt1284EcrMode mode,
                                  const uint8_t *buf, size_t len, bool command)
{
    size_t taken = mode == LPT1284_MODE_PPFIFO ?
                   lpt1284_chain_compat_write(s->chain, buf, len) :
                   lpt1284_chain_ecp_write(s->chain, buf, len, command);

    if (taken) {
        /* The lines keep the last byte sent */
        s->data = buf[taken - 1];
    }
    return taken;
}

/* Hand FIFO entries to the peripheral, a run of one kind at a time. */
static void lpt1284_fifo_drain(Lpt1284State *s, Lpt1284EcrMode mode)
{
    uint8_t buf[LPT1284_FIFO_MAX];

    while (s->fifo_count) {
        bool command = lpt1284_fifo_peek(s, 0) & LPT1284_FIFO_COMMAND;
        uint32_t n = 0;
        size_t taken;

        while (n < s->fifo_count &&
               !!(lpt1284_fifo_peek(s, n) & LPT1284_FIFO_COMMAND) == command) {
            buf[n] = lpt1284_fifo_peek(s, n);
            n++;
        }
        taken = lpt1284_cable_write(s, mode, buf, n, command);
        trace_lpt1284_fifo_drain(n, taken);
        lpt1284_fifo_drop(s, taken);
        if (taken < n) {
            break;
        }
    }
}

static void lpt1284_fifo_fill(Lpt1284State *s)
{
    uint8_t byte;
    bool command;

    while (!lpt1284_fifo_full(s) &&
           lpt1284_chain_ecp_read(s->chain, &byte, &command)) {
        lpt1284_fifo_push(s, byte | (command ? LPT1284_FIFO_COMMAND : 0));
    }
}

static bool lpt1284_dma_wanted(Lpt1284State *s)
{
    Lpt1284EcrMode mode = lpt1284_mode(s);

    return s->dma && (s->ecr & LPT1284_ECR_DMAEN) &&
           !(s->ecr & LPT1284_ECR_SERVICEINTR) &&
           (mode == LPT1284_MODE_PPFIFO || mode == LPT1284_MODE_ECP);
}

static void lpt1284_set_dreq(Lpt1284State *s, bool dreq)
{
    IsaDmaClass *k;

    if (!s->dma || s->dreq == dreq) {
        return;
    }
    s->dreq = dreq;
    trace_lpt1284_dreq(dreq);
    k = ISADMA_GET_CLASS(s->dma);
    if (dreq) {
        k->hold_DREQ(s->dma, s->dma_chan);
    } else {
        k->release_DREQ(s->dma, s->dma_chan);
    }
}

/*
 * Move data between the FIFO and the cable as the mode asks, then update
 * the DMA request and the service interrupt.  Called after every register
 * write and whenever a peripheral can take more.
 */
static void lpt1284_run_once(Lpt1284State *s)
{
    Lpt1284EcrMode mode = lpt1284_mode(s);
    uint32_t threshold = MAX(s->fifo_depth / 2, 1);

    switch (mode) {
    case LPT1284_MODE_PPFIFO:
        lpt1284_fifo_drain(s, mode);
        break;
    case LPT1284_MODE_ECP:
        if (lpt1284_forward(s)) {
            lpt1284_fifo_drain(s, mode);
        } else {
            lpt1284_fifo_fill(s);
        }
        break;
    default:
        break;
    }

    lpt1284_set_dreq(s, lpt1284_dma_wanted(s));

    if ((s->ecr & (LPT1284_ECR_SERVICEINTR | LPT1284_ECR_DMAEN)) == 0 &&
        (mode == LPT1284_MODE_PPFIFO || mode == LPT1284_MODE_ECP ||
         mode == LPT1284_MODE_TEST)) {
        if (lpt1284_forward(s) ?
            s->fifo_depth - s->fifo_count >= threshold :
            s->fifo_count >= threshold) {
            lpt1284_set_service(s);
        }
    }
}

static void lpt1284_run(Lpt1284State *s)
{
    /*
     * A peripheral may call back (ready) from inside a transfer this
     * started: note it and go round again rather than nest.
     */
    if (s->running) {
        s->rerun = true;
        return;
    }
    s->running = true;
    do {
        s->rerun = false;
        lpt1284_run_once(s);
    } while (s->rerun);
    s->running = false;
}

/* One ISA DMA callback: move as much of the block as the peripheral takes. */
static int lpt1284_dma_transfer(void *opaque, int nchan, int pos, int size)
{
    Lpt1284State *s = opaque;
    IsaDmaClass *k = ISADMA_GET_CLASS(s->dma);
    Lpt1284EcrMode mode = lpt1284_mode(s);
    /* i8257 calls back from hold_DREQ, so possibly from inside lpt1284_run */
    bool outer = !s->running;
    uint8_t buf[4096];

    if (!lpt1284_dma_wanted(s)) {
        lpt1284_set_dreq(s, false);
        return pos;
    }
    s->running = true;
    while (pos < size) {
        int n = MIN(size - pos, (int)sizeof(buf));
        size_t done;

        if (lpt1284_forward(s)) {
            /* What is already queued goes first */
            lpt1284_fifo_drain(s, mode);
            if (s->fifo_count) {
                break;
            }
            k->read_memory(s->dma, nchan, buf, pos, n);
            done = lpt1284_cable_write(s, mode, buf, n, false);
        } else {
            uint8_t byte;
            bool command;

            for (done = 0; done < n; done++) {
                if (s->fifo_count) {
                    byte = lpt1284_fifo_peek(s, 0);
                    lpt1284_fifo_drop(s, 1);
                } else if (!lpt1284_chain_ecp_read(s->chain, &byte,
                                                   &command)) {
                    break;
                }
                buf[done] = byte;
            }
            k->write_memory(s->dma, nchan, buf, pos, done);
        }
        trace_lpt1284_dma_transfer(pos, size, done);
        pos += done;
        if (done < n) {
            break;
        }
    }
    if (outer) {
        s->running = false;
    }
    /* At terminal count, or to wait for the peripheral instead of spinning */
    lpt1284_set_dreq(s, false);
    if (pos >= size) {
        lpt1284_set_service(s);
    } else if (outer && s->rerun) {
        lpt1284_run(s);
    }
    return pos;
}

static void lpt1284_status_changed(void *opaque, uint8_t old, uint8_t new)
{
    Lpt1284State *s = opaque;

    /* The PC port interrupts on the rising edge of nAck */
    if (!(old & LPT1284_NACK) && (new & LPT1284_NACK) &&
        (s->ctrl & LPT1284_CTR_IRQ_EN)) {
        trace_lpt1284_irq_pulse(new);
        qemu_irq_pulse(s->irq);
    }
    /* ... and, with nErrIntrEn clear, in ECP mode on a falling nFault */
    if ((old & LPT1284_NFAULT) && !(new & LPT1284_NFAULT) &&
        !(s->ecr & LPT1284_ECR_NERRINTREN) &&
        lpt1284_mode(s) == LPT1284_MODE_ECP) {
        trace_lpt1284_irq_pulse(new);
        qemu_irq_pulse(s->irq);
    }
}

static void lpt1284_peripheral_ready_cb(void *opaque)
{
    lpt1284_run(opaque);
}

static const Lpt1284ChainOps lpt1284_chain_ops = {
    .status_changed = lpt1284_status_changed,
    .ready = lpt1284_peripheral_ready_cb,
};

static uint8_t lpt1284_read_status(Lpt1284State *s)
{
    uint8_t val;

    lpt1284_chain_sync(s->chain);
    val = lpt1284_chain_status(s->chain) & LPT1284_STATUS_LINES;

    /* The Busy bit is the inverse of the Busy pin */
    val ^= LPT1284_STR_BUSY;
    val |= LPT1284_STR_RESERVED;
    /* The EPP time-out bit only means something in EPP mode */
    if (lpt1284_mode(s) != LPT1284_MODE_EPP || s->epp_timeout) {
        val |= LPT1284_STR_EPP_TIMEOUT;
    }
    return val;
}

static uint8_t lpt1284_read_ecr(Lpt1284State *s)
{
    uint8_t val = s->ecr;

    if (s->fifo_count == 0) {
        val |= LPT1284_ECR_EMPTY;
    }
    if (lpt1284_fifo_full(s)) {
        val |= LPT1284_ECR_FULL;
    }
    return val;
}

static void lpt1284_write_ecr(Lpt1284State *s, uint8_t val)
{
    Lpt1284EcrMode old = lpt1284_mode(s);
    Lpt1284EcrMode mode = val >> LPT1284_ECR_MODE_SHIFT;

    if (!(s->modes & LPT1284_MODE_BIT(mode))) {
        qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: ECR mode %s (0x%02x) is not "
                      "offered by this port; staying in mode %s\n",
                      lpt1284_mode_name[mode], val, lpt1284_mode_name[old]);
        return;
    }
    if (mode != old) {
        trace_lpt1284_mode(lpt1284_mode_name[old], lpt1284_mode_name[mode]);
    }
    s->ecr = val & LPT1284_ECR_WRITABLE;
    /* Modes 000 and 001 reset the FIFO */
    if (mode == LPT1284_MODE_SPP || mode == LPT1284_MODE_PS2) {
        lpt1284_fifo_reset(s);
    }
    lpt1284_update_lines(s);
    lpt1284_run(s);
}

static uint8_t lpt1284_epp_read(Lpt1284State *s, bool addr)
{
    uint8_t val;

    if (s->epp_timeout || !lpt1284_chain_epp_read(s->chain, addr, &val)) {
        s->epp_timeout = true;
        return 0xff;
    }
    return val;
}

static void lpt1284_epp_write(Lpt1284State *s, bool addr, uint8_t val)
{
    if (s->epp_timeout || !lpt1284_chain_epp_write(s->chain, addr, val)) {
        s->epp_timeout = true;
    }
}

static uint64_t lpt1284_base_read(void *opaque, hwaddr addr, unsigned size)
{
    Lpt1284State *s = opaque;
    bool epp = lpt1284_mode(s) == LPT1284_MODE_EPP;
    uint8_t val;

    switch (addr) {
    case LPT1284_REG_DATA:
        val = lpt1284_chain_data(s->chain);
        break;
    case LPT1284_REG_STATUS:
        val = lpt1284_read_status(s);
        break;
    case LPT1284_REG_CONTROL:
        val = s->ctrl | LPT1284_CTR_RESERVED;
        break;
    case LPT1284_REG_EPP_ADDR:
        val = epp ? lpt1284_epp_read(s, true) : 0xff;
        break;
    default:
        val = epp ? lpt1284_epp_read(s, false) : 0xff;
        break;
    }
    trace_lpt1284_read(lpt1284_base_reg(addr), addr, val);
    return val;
}

static void lpt1284_base_write(void *opaque, hwaddr addr, uint64_t val64,
                               unsigned size)
{
    Lpt1284State *s = opaque;
    Lpt1284EcrMode mode = lpt1284_mode(s);
    uint8_t val = val64;

    trace_lpt1284_write(lpt1284_base_reg(addr), addr, val);
    switch (addr) {
    case LPT1284_REG_DATA:
        if (mode == LPT1284_MODE_ECP && lpt1284_forward(s)) {
            /* ecpAFifo: a channel address or run-length count */
            lpt1284_fifo_push(s, val | LPT1284_FIFO_COMMAND);
            lpt1284_run(s);
            break;
        }
        s->data = val;
        lpt1284_update_lines(s);
        break;
    case LPT1284_REG_STATUS:
        /* Writing a 1 to bit 0 clears the EPP time-out (SMC style) */
        if (val & LPT1284_STR_EPP_TIMEOUT) {
            s->epp_timeout = false;
        }
        break;
    case LPT1284_REG_CONTROL:
        s->ctrl = val & LPT1284_CTR_MASK;
        lpt1284_update_lines(s);
        lpt1284_run(s);
        break;
    case LPT1284_REG_EPP_ADDR:
        if (mode == LPT1284_MODE_EPP) {
            lpt1284_epp_write(s, true, val);
        }
        break;
    default:
        if (mode == LPT1284_MODE_EPP) {
            lpt1284_epp_write(s, false, val);
        }
        break;
    }
}

static uint64_t lpt1284_ecp_read(void *opaque, hwaddr addr, unsigned size)
{
    Lpt1284State *s = opaque;
    Lpt1284EcrMode mode = lpt1284_mode(s);
    uint8_t val = 0xff;

    switch (addr) {
    case LPT1284_REG_ECP_FIFO:
        if (mode == LPT1284_MODE_CONFIG) {
            val = LPT1284_CNFGA_8BIT;
        } else if (mode == LPT1284_MODE_TEST ||
                   (mode == LPT1284_MODE_ECP && !lpt1284_forward(s))) {
            if (s->fifo_count) {
                val = lpt1284_fifo_peek(s, 0);
                lpt1284_fifo_drop(s, 1);
                lpt1284_run(s);
            } else {
                qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: read from an empty "
                              "FIFO\n");
            }
        }
        break;
    case LPT1284_REG_CNFGB:
        if (mode == LPT1284_MODE_CONFIG) {
            val = s->cnfgb;
        }
        break;
    default:
        val = lpt1284_read_ecr(s);
        break;
    }
    trace_lpt1284_read(lpt1284_ecp_reg(addr), LPT1284_ECP_OFFSET + addr, val);
    return val;
}

static void lpt1284_ecp_write(void *opaque, hwaddr addr, uint64_t val64,
                              unsigned size)
{
    Lpt1284State *s = opaque;
    Lpt1284EcrMode mode = lpt1284_mode(s);
    uint8_t val = val64;

    trace_lpt1284_write(lpt1284_ecp_reg(addr), LPT1284_ECP_OFFSET + addr, val);
    switch (addr) {
    case LPT1284_REG_ECP_FIFO:
        if (mode == LPT1284_MODE_PPFIFO || mode == LPT1284_MODE_TEST ||
            (mode == LPT1284_MODE_ECP && lpt1284_forward(s))) {
            lpt1284_fifo_push(s, val);
            lpt1284_run(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: FIFO write 0x%02x in "
                          "mode %s ignored\n", val, lpt1284_mode_name[mode]);
        }
        break;
    case LPT1284_REG_ECR:
        lpt1284_write_ecr(s, val);
        break;
    default:
        /* CNFGB's IRQ and DMA fields are read-only here */
        qemu_log_mask(LOG_GUEST_ERROR, "lpt1284: write 0x%02x to %s in "
                      "mode %s ignored\n", val, lpt1284_ecp_reg(addr),
                      lpt1284_mode_name[mode]);
        break;
    }
}

const MemoryRegionOps lpt1284_base_ops = {
    .read = lpt1284_base_read,
    .write = lpt1284_base_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 1,
    },
};

const MemoryRegionOps lpt1284_ecp_ops = {
    .read = lpt1284_ecp_read,
    .write = lpt1284_ecp_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 1,
    },
};

uint32_t lpt1284_modes(bool ps2, bool epp, bool ecp)
{
    uint32_t m = LPT1284_MODE_BIT(LPT1284_MODE_SPP);

    if (ps2) {
        m |= LPT1284_MODE_BIT(LPT1284_MODE_PS2);
    }
    if (epp) {
        m |= LPT1284_MODE_BIT(LPT1284_MODE_EPP);
    }
    if (ecp) {
        m |= LPT1284_MODE_BIT(LPT1284_MODE_PPFIFO) |
             LPT1284_MODE_BIT(LPT1284_MODE_ECP) |
             LPT1284_MODE_BIT(LPT1284_MODE_TEST);
    }
    if (m != LPT1284_MODE_BIT(LPT1284_MODE_SPP)) {
        /* An ECR, and its configuration mode, come with any of them */
        m |= LPT1284_MODE_BIT(LPT1284_MODE_CONFIG);
    }
    return m;
}

uint8_t lpt1284_cnfgb(uint32_t irq, int32_t dma)
{
    /* CNFGB bits 5:3 encode the IRQ line, bits 2:0 the DMA channel */
    static const uint8_t irq_code[16] = {
        [7] = 1, [9] = 2, [10] = 3, [11] = 4, [14] = 5, [15] = 6, [5] = 7,
    };

    return (irq_code[irq & 15] << 3) | (dma < 0 ? 0 : dma & 7);
}

/*
 * Nothing moves on the cable while state is loading: the peripherals'
 * state may come after ours.  The cable levels were loaded with the
 * chain; the FIFO and the DMA request start again when the VM runs.
 */
static void lpt1284_vm_state_change(void *opaque, bool running,
                                    RunState state)
{
    Lpt1284State *s = opaque;

    if (running && s->resume) {
        s->resume = false;
        lpt1284_run(s);
    }
}

void lpt1284_init(Lpt1284State *s, Lpt1284Chain *chain, qemu_irq irq,
                  IsaDma *dma, int dma_chan)
{
    s->chain = chain;
    s->irq = irq;
    s->dma = dma;
    s->dma_chan = dma_chan;
    lpt1284_chain_set_ops(chain, &lpt1284_chain_ops, s);
    qemu_add_vm_change_state_handler(lpt1284_vm_state_change, s);
    if (dma) {
        ISADMA_GET_CLASS(dma)->register_channel(dma, dma_chan,
                                                lpt1284_dma_transfer, s);
    }
}

void lpt1284_reset(Lpt1284State *s)
{
    s->data = 0;
    s->ctrl = LPT1284_CTR_NINIT | LPT1284_CTR_SELECTIN;
    s->ecr = (LPT1284_MODE_SPP << LPT1284_ECR_MODE_SHIFT) |
             LPT1284_ECR_NERRINTREN | LPT1284_ECR_SERVICEINTR;
    s->epp_timeout = false;
    lpt1284_fifo_reset(s);
    lpt1284_set_dreq(s, false);
    lpt1284_chain_reset(s->chain);
    lpt1284_update_lines(s);
}

static int lpt1284_post_load(void *opaque, int version_id)
{
    Lpt1284State *s = opaque;

    if ((s->ctrl & ~LPT1284_CTR_MASK) ||
        !(s->modes & LPT1284_MODE_BIT(lpt1284_mode(s))) ||
        s->fifo_head >= s->fifo_depth || s->fifo_count > s->fifo_depth) {
        return -EINVAL;
    }
    s->dreq = false;
    s->resume = true;
    return 0;
}

const VMStateDescription vmstate_lpt1284 = {
    .name = "lpt1284",
    .version_id = 2,
    .minimum_version_id = 2,
    .post_load = lpt1284_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(data, Lpt1284State),
        VMSTATE_UINT8(ctrl, Lpt1284State),
        VMSTATE_UINT8(ecr, Lpt1284State),
        VMSTATE_BOOL(epp_timeout, Lpt1284State),
        VMSTATE_UINT16_ARRAY(fifo, Lpt1284State, LPT1284_FIFO_MAX),
        VMSTATE_UINT32(fifo_head, Lpt1284State),
        VMSTATE_UINT32(fifo_count, Lpt1284State),
        VMSTATE_STRUCT_POINTER(chain, Lpt1284State, vmstate_lpt1284_chain,
                               Lpt1284Chain),
        VMSTATE_END_OF_LIST()
    }
};
