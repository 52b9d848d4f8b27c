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
 * Modes (ECR bits 7:5) implemented: 000 SPP, 001 PS/2 and 111
 * configuration.  Which of them the port offers is configurable; without
 * PS/2 the port has no ECR at all and poses as a plain SPP port.
 *
 * Caveat: the ECR modes 010 (parallel-port FIFO), 011 (ECP), 100 (EPP) and
 * 110 (FIFO test) are not implemented: an ECR write that selects one is
 * logged as unimplemented and leaves the port in the mode it was in.  The
 * EPP registers at +3..+7 read 0xff and ignore writes.
 */

#include "qemu/osdep.h"
#include "hw/char/lpt1284.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qemu/log.h"
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

/* Does the direction bit turn the data drivers off in this mode? */
static bool lpt1284_reverse(Lpt1284State *s)
{
    if (!(s->ctrl & LPT1284_CTR_DIR)) {
        return false;
    }
    switch (lpt1284_mode(s)) {
    case LPT1284_MODE_PS2:
        return true;
    default:
        /* SPP and configuration mode: the port always drives the lines */
        return false;
    }
}

static void lpt1284_update_lines(Lpt1284State *s)
{
    uint8_t pins = (s->ctrl ^ LPT1284_CTR_INVERTED) & LPT1284_CTRL_LINES;

    lpt1284_chain_drive(s->chain, s->data, pins, lpt1284_reverse(s));
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
}

static uint8_t lpt1284_read_status(Lpt1284State *s)
{
    uint8_t val = lpt1284_chain_status(s->chain) & LPT1284_STATUS_LINES;

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
    /* No FIFO traffic yet: the FIFO is always empty */
    return s->ecr | LPT1284_ECR_EMPTY;
}

static void lpt1284_write_ecr(Lpt1284State *s, uint8_t val)
{
    Lpt1284EcrMode mode = val >> LPT1284_ECR_MODE_SHIFT;

    if (!(s->modes & LPT1284_MODE_BIT(mode))) {
        qemu_log_mask(LOG_UNIMP, "lpt1284: ECR mode %s (0x%02x) is not "
                      "offered by this port; staying in mode %s\n",
                      lpt1284_mode_name[mode], val,
                      lpt1284_mode_name[lpt1284_mode(s)]);
        return;
    }
    if (mode != lpt1284_mode(s)) {
        trace_lpt1284_mode(lpt1284_mode_name[lpt1284_mode(s)],
                           lpt1284_mode_name[mode]);
    }
    s->ecr = val & LPT1284_ECR_WRITABLE;
    lpt1284_update_lines(s);
}

static uint64_t lpt1284_base_read(void *opaque, hwaddr addr, unsigned size)
{
    Lpt1284State *s = opaque;
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
    default:
        /* EPP registers: not decoded */
        val = 0xff;
        break;
    }
    trace_lpt1284_read(lpt1284_base_reg(addr), addr, val);
    return val;
}

static void lpt1284_base_write(void *opaque, hwaddr addr, uint64_t val64,
                               unsigned size)
{
    Lpt1284State *s = opaque;
    uint8_t val = val64;

    trace_lpt1284_write(lpt1284_base_reg(addr), addr, val);
    switch (addr) {
    case LPT1284_REG_DATA:
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
        break;
    default:
        break;
    }
}

static uint64_t lpt1284_ecp_read(void *opaque, hwaddr addr, unsigned size)
{
    Lpt1284State *s = opaque;
    bool config = lpt1284_mode(s) == LPT1284_MODE_CONFIG;
    uint8_t val;

    switch (addr) {
    case LPT1284_REG_ECP_FIFO:
        val = config ? LPT1284_CNFGA_8BIT : 0xff;
        break;
    case LPT1284_REG_CNFGB:
        val = config ? s->cnfgb : 0xff;
        break;
    default:
        val = lpt1284_read_ecr(s);
        break;
    }
    trace_lpt1284_read(lpt1284_ecp_reg(addr),
                       LPT1284_ECP_OFFSET + addr, val);
    return val;
}

static void lpt1284_ecp_write(void *opaque, hwaddr addr, uint64_t val64,
                              unsigned size)
{
    Lpt1284State *s = opaque;
    uint8_t val = val64;

    trace_lpt1284_write(lpt1284_ecp_reg(addr),
                        LPT1284_ECP_OFFSET + addr, val);
    switch (addr) {
    case LPT1284_REG_ECR:
        lpt1284_write_ecr(s, val);
        break;
    default:
        qemu_log_mask(LOG_UNIMP, "lpt1284: write 0x%02x to %s in mode %s "
                      "ignored\n", val, lpt1284_ecp_reg(addr),
                      lpt1284_mode_name[lpt1284_mode(s)]);
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

uint32_t lpt1284_modes(bool ps2)
{
    uint32_t m = LPT1284_MODE_BIT(LPT1284_MODE_SPP);

    if (ps2) {
        /* An ECR, and its configuration mode, come with PS/2 */
        m |= LPT1284_MODE_BIT(LPT1284_MODE_PS2) |
             LPT1284_MODE_BIT(LPT1284_MODE_CONFIG);
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

void lpt1284_init(Lpt1284State *s, Lpt1284Chain *chain, qemu_irq irq)
{
    s->chain = chain;
    s->irq = irq;
    lpt1284_chain_set_notify(chain, lpt1284_status_changed, s);
}

void lpt1284_reset(Lpt1284State *s)
{
    s->data = 0;
    s->ctrl = LPT1284_CTR_NINIT | LPT1284_CTR_SELECTIN;
    s->ecr = (LPT1284_MODE_SPP << LPT1284_ECR_MODE_SHIFT) |
             LPT1284_ECR_NERRINTREN | LPT1284_ECR_SERVICEINTR;
    s->epp_timeout = false;
    lpt1284_chain_reset(s->chain);
    lpt1284_update_lines(s);
}

static int lpt1284_post_load(void *opaque, int version_id)
{
    Lpt1284State *s = opaque;

    if ((s->ctrl & ~LPT1284_CTR_MASK) ||
        !(s->modes & LPT1284_MODE_BIT(lpt1284_mode(s)))) {
        return -EINVAL;
    }
    /* The cable levels follow from the registers */
    lpt1284_update_lines(s);
    return 0;
}

const VMStateDescription vmstate_lpt1284 = {
    .name = "lpt1284",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = lpt1284_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_UINT8(data, Lpt1284State),
        VMSTATE_UINT8(ctrl, Lpt1284State),
        VMSTATE_UINT8(ecr, Lpt1284State),
        VMSTATE_BOOL(epp_timeout, Lpt1284State),
        VMSTATE_END_OF_LIST()
    }
};
