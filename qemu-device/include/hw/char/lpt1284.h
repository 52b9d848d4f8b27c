/*
 * lptrig IEEE 1284 parallel port controller: register model
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The bus-independent core of the controller, as hw/char/serial.c is for
 * the UART: it turns register accesses into cable levels on its
 * Lpt1284Chain and peripheral levels back into register reads.  The ISA
 * wiring (ports, IRQ, DMA channel, ACPI) is in lpt1284-isa.c.
 */

#ifndef HW_CHAR_LPT1284_H
#define HW_CHAR_LPT1284_H

#include "exec/memory.h"
#include "hw/char/lpt1284-chain.h"
#include "hw/irq.h"
#include "hw/isa/isa.h"

/* Base block: iobase + ... */
#define LPT1284_REG_DATA        0
#define LPT1284_REG_STATUS      1
#define LPT1284_REG_CONTROL     2
#define LPT1284_REG_EPP_ADDR    3
#define LPT1284_REG_EPP_DATA    4
#define LPT1284_BASE_SIZE       8

/* ECP block: iobase + LPT1284_ECP_OFFSET + ... */
#define LPT1284_ECP_OFFSET      0x400
#define LPT1284_REG_ECP_FIFO    0       /* CNFGA in configuration mode */
#define LPT1284_REG_CNFGB       1
#define LPT1284_REG_ECR         2
#define LPT1284_ECP_SIZE        3

/* Status register */
#define LPT1284_STR_BUSY        0x80    /* 1 when the Busy pin is low */
#define LPT1284_STR_NACK        0x40
#define LPT1284_STR_PERROR      0x20
#define LPT1284_STR_SELECT      0x10
#define LPT1284_STR_NFAULT      0x08
#define LPT1284_STR_RESERVED    0x06    /* read as 1 */
#define LPT1284_STR_EPP_TIMEOUT 0x01

/* Control register */
#define LPT1284_CTR_STROBE      0x01    /* 1 = nStrobe low */
#define LPT1284_CTR_AUTOFD      0x02    /* 1 = nAutoFd low */
#define LPT1284_CTR_NINIT       0x04    /* 1 = nInit high */
#define LPT1284_CTR_SELECTIN    0x08    /* 1 = nSelectIn low */
#define LPT1284_CTR_IRQ_EN      0x10    /* interrupt on the rising nAck edge */
#define LPT1284_CTR_DIR         0x20    /* 1 = data lines in (reverse) */
#define LPT1284_CTR_MASK        0x3f
#define LPT1284_CTR_RESERVED    0xc0    /* read as 1 */
/* Register bits whose pin is the inverse of the bit */
#define LPT1284_CTR_INVERTED    (LPT1284_CTR_STROBE | LPT1284_CTR_AUTOFD | \
                                 LPT1284_CTR_SELECTIN)

/* Extended control register */
#define LPT1284_ECR_MODE_SHIFT  5
#define LPT1284_ECR_NERRINTREN  0x10
#define LPT1284_ECR_DMAEN       0x08
#define LPT1284_ECR_SERVICEINTR 0x04
#define LPT1284_ECR_FULL        0x02
#define LPT1284_ECR_EMPTY       0x01
#define LPT1284_ECR_WRITABLE    0xfc

typedef enum Lpt1284EcrMode {
    LPT1284_MODE_SPP = 0,
    LPT1284_MODE_PS2 = 1,
    LPT1284_MODE_PPFIFO = 2,
    LPT1284_MODE_ECP = 3,
    LPT1284_MODE_EPP = 4,
    LPT1284_MODE_RESERVED = 5,
    LPT1284_MODE_TEST = 6,
    LPT1284_MODE_CONFIG = 7,
} Lpt1284EcrMode;

#define LPT1284_MODE_BIT(m)     (1u << (m))

/* CNFGA: bits 6:4 = 001, an 8-bit implementation; bit 7 = 0, pulsed IRQs */
#define LPT1284_CNFGA_8BIT      0x10

#define LPT1284_FIFO_MAX        128
#define LPT1284_FIFO_DEFAULT    16
/* A FIFO entry's bit 8 tags an ECP command (channel address or RLE count) */
#define LPT1284_FIFO_COMMAND    0x100

typedef struct Lpt1284State {
    Lpt1284Chain *chain;
    qemu_irq irq;
    IsaDma *dma;                /* NULL without a DMA channel */
    int dma_chan;

    /* Configuration, fixed at realize */
    uint32_t modes;             /* LPT1284_MODE_BIT() of each ECR mode */
    uint32_t fifo_depth;
    uint8_t cnfgb;              /* IRQ and DMA channel as CNFGB reports */

    /* Registers */
    uint8_t data;               /* data latch */
    uint8_t ctrl;               /* control register, bits 5:0 */
    uint8_t ecr;                /* ECR bits 7:2 */
    bool epp_timeout;

    /* FIFO of the ECP block */
    uint16_t fifo[LPT1284_FIFO_MAX];
    uint32_t fifo_head;
    uint32_t fifo_count;
    bool dreq;                  /* DMA request held */
    bool running;               /* inside lpt1284_run or a DMA callback */
    bool rerun;                 /* a peripheral became ready meanwhile */
    bool resume;                /* state loaded: run when the VM runs */
} Lpt1284State;

extern const MemoryRegionOps lpt1284_base_ops;
extern const MemoryRegionOps lpt1284_ecp_ops;
extern const VMStateDescription vmstate_lpt1284;

void lpt1284_init(Lpt1284State *s, Lpt1284Chain *chain, qemu_irq irq,
                  IsaDma *dma, int dma_chan);
void lpt1284_reset(Lpt1284State *s);
bool lpt1284_has_ecr(Lpt1284State *s);
uint32_t lpt1284_modes(bool ps2, bool epp, bool ecp);
uint8_t lpt1284_cnfgb(uint32_t irq, int32_t dma);

#endif /* HW_CHAR_LPT1284_H */
