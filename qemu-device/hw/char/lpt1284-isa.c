/*
 * lptrig IEEE 1284 parallel port controller: ISA wiring
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QEMU interface:
 *  + I/O ports: iobase + 0..7 (data, status, control, EPP), and, when the
 *    port has an ECR, iobase + 0x400..0x402 (ECP FIFO/CNFGA, CNFGB, ECR)
 *  + one ISA IRQ ("irq", default 7)
 *  + one 8-bit ISA DMA channel ("dma", default 3; -1 for none), reported in
 *    CNFGB and ACPI
 *  + properties:
 *    - "iobase": base port, 8-aligned (default 0x378)
 *    - "irq": ISA IRQ line 0-15 (default 7)
 *    - "dma": ISA DMA channel 0-3, or -1 for none (default 3)
 *    - "ps2", "epp", "ecp": offer PS/2 (bidirectional), EPP and ECP (with
 *      the parallel-port FIFO and FIFO test modes); all default on.  Any of
 *      them brings an ECR and its configuration mode; all off make a plain
 *      SPP port with no ECR and no ECP block
 *    - "fifo-depth": FIFO entries, 2-128 (default 16)
 *    - "trace-vcd": a file to write the cable's Value Change Dump to
 *      (lpt1284-vcd.c); unset: no trace
 *  + a TYPE_LPT1284_CHAIN bus named "<id>.0" for the peripherals
 *  + ACPI: a PNP0401 device with both I/O ranges, the IRQ and the DMA
 *    channel (PNP0400 and one I/O range for a plain SPP port), so a guest
 *    finds the port without probing
 */

#include "qemu/osdep.h"
#include "hw/acpi/acpi_aml_interface.h"
#include "hw/char/lpt1284.h"
#include "hw/isa/isa.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qapi/error.h"

#define TYPE_ISA_LPT1284 "isa-lpt1284"
OBJECT_DECLARE_SIMPLE_TYPE(ISALpt1284State, ISA_LPT1284)

#define ISA_LPT1284_IOBASE_MAX  (0x10000 - LPT1284_ECP_OFFSET - \
                                 LPT1284_BASE_SIZE)

struct ISALpt1284State {
    /*< private >*/
    ISADevice parent_obj;

    /*< public >*/
    uint32_t iobase;
    uint32_t isairq;
    int32_t dma;
    bool ps2;
    bool epp;
    bool ecp;
    uint32_t fifo_depth;
    char *trace_vcd;
    uint32_t index;

    Lpt1284State state;
    MemoryRegion io_base;
    MemoryRegion io_ecp;
};

static void isa_lpt1284_realize(DeviceState *dev, Error **errp)
{
    static uint32_t next_index;
    ISADevice *isadev = ISA_DEVICE(dev);
    ISALpt1284State *isa = ISA_LPT1284(dev);
    Lpt1284State *s = &isa->state;
    IsaDma *dma = NULL;
    Lpt1284Chain *chain;

    if (isa->iobase > ISA_LPT1284_IOBASE_MAX || (isa->iobase & 7)) {
        error_setg(errp, "iobase 0x%x is not usable: it must be 8-aligned "
                   "and at most 0x%x", isa->iobase, ISA_LPT1284_IOBASE_MAX);
        return;
    }
    if (isa->isairq >= ISA_NUM_IRQS) {
        error_setg(errp, "irq %u is not an ISA IRQ: use 0-%d", isa->isairq,
                   ISA_NUM_IRQS - 1);
        return;
    }
    if (isa->dma < -1 || isa->dma > 3) {
        error_setg(errp, "dma %d is not an 8-bit ISA DMA channel: use 0-3, "
                   "or -1 for none", isa->dma);
        return;
    }
    if (isa->fifo_depth < 2 || isa->fifo_depth > LPT1284_FIFO_MAX) {
        error_setg(errp, "fifo-depth %u is out of range: use 2-%d",
                   isa->fifo_depth, LPT1284_FIFO_MAX);
        return;
    }
    s->modes = lpt1284_modes(isa->ps2, isa->epp, isa->ecp);
    s->fifo_depth = isa->fifo_depth;
    s->cnfgb = lpt1284_cnfgb(isa->isairq, isa->dma);
    if (isa->dma >= 0) {
        dma = isa_get_dma(isa_bus_from_device(isadev), isa->dma);
        if (!dma) {
            error_setg(errp, "the ISA bus has no DMA controller for "
                       "channel %d", isa->dma);
            return;
        }
    }

    chain = lpt1284_chain_new(dev);
    if (isa->trace_vcd) {
        chain->vcd = lpt1284_vcd_open(isa->trace_vcd,
                                      dev->id ? dev->id : TYPE_ISA_LPT1284,
                                      errp);
        if (!chain->vcd) {
            return;
        }
    }
    lpt1284_init(s, chain, isa_get_irq(isadev, isa->isairq),
                 dma, isa->dma);

    memory_region_init_io(&isa->io_base, OBJECT(dev), &lpt1284_base_ops, s,
                          "lpt1284", LPT1284_BASE_SIZE);
    isa_register_ioport(isadev, &isa->io_base, isa->iobase);
    if (lpt1284_has_ecr(s)) {
        memory_region_init_io(&isa->io_ecp, OBJECT(dev), &lpt1284_ecp_ops, s,
                              "lpt1284-ecp", LPT1284_ECP_SIZE);
        isa_register_ioport(isadev, &isa->io_ecp,
                            isa->iobase + LPT1284_ECP_OFFSET);
    }
    isa->index = next_index++;
}

static void isa_lpt1284_reset(DeviceState *dev)
{
    ISALpt1284State *isa = ISA_LPT1284(dev);

    lpt1284_reset(&isa->state);
}

static void isa_lpt1284_build_aml(AcpiDevAmlIf *adev, Aml *scope)
{
    ISALpt1284State *isa = ISA_LPT1284(adev);
    bool ecr = lpt1284_has_ecr(&isa->state);
    Aml *dev;
    Aml *crs;

    crs = aml_resource_template();
    aml_append(crs, aml_io(AML_DECODE16, isa->iobase, isa->iobase, 0x08,
                           LPT1284_BASE_SIZE));
    if (ecr) {
        uint16_t hi = isa->iobase + LPT1284_ECP_OFFSET;

        aml_append(crs, aml_io(AML_DECODE16, hi, hi, 0x08, LPT1284_ECP_SIZE));
    }
    aml_append(crs, aml_irq_no_flags(isa->isairq));
    if (ecr && isa->dma >= 0) {
        aml_append(crs, aml_dma(AML_COMPATIBILITY, AML_NOTBUSMASTER,
                                AML_TRANSFER8, isa->dma));
    }

    dev = aml_device("ECP%d", isa->index);
    aml_append(dev, aml_name_decl("_HID",
                                  aml_eisaid(ecr ? "PNP0401" : "PNP0400")));
    aml_append(dev, aml_name_decl("_UID", aml_int(0x1284 + isa->index)));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(scope, dev);
}

static const VMStateDescription vmstate_isa_lpt1284 = {
    .name = TYPE_ISA_LPT1284,
    .version_id = 2,
    .minimum_version_id = 2,
    .fields = (VMStateField[]) {
        VMSTATE_STRUCT(state, ISALpt1284State, 1, vmstate_lpt1284,
                       Lpt1284State),
        VMSTATE_END_OF_LIST()
    }
};

static Property isa_lpt1284_properties[] = {
    DEFINE_PROP_UINT32("iobase", ISALpt1284State, iobase, 0x378),
    DEFINE_PROP_UINT32("irq", ISALpt1284State, isairq, 7),
    DEFINE_PROP_INT32("dma", ISALpt1284State, dma, 3),
    DEFINE_PROP_BOOL("ps2", ISALpt1284State, ps2, true),
    DEFINE_PROP_BOOL("epp", ISALpt1284State, epp, true),
    DEFINE_PROP_BOOL("ecp", ISALpt1284State, ecp, true),
    DEFINE_PROP_UINT32("fifo-depth", ISALpt1284State, fifo_depth,
                       LPT1284_FIFO_DEFAULT),
    DEFINE_PROP_STRING("trace-vcd", ISALpt1284State, trace_vcd),
    DEFINE_PROP_END_OF_LIST(),
};

static void isa_lpt1284_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    AcpiDevAmlIfClass *adevc = ACPI_DEV_AML_IF_CLASS(klass);

    dc->desc = "IEEE 1284 parallel port (SPP, PS/2, EPP, ECP with FIFO and "
               "DMA) with a 1284.3 chain";
    dc->realize = isa_lpt1284_realize;
    dc->reset = isa_lpt1284_reset;
    dc->vmsd = &vmstate_isa_lpt1284;
    adevc->build_dev_aml = isa_lpt1284_build_aml;
    device_class_set_props(dc, isa_lpt1284_properties);
    set_bit(DEVICE_CATEGORY_INPUT, dc->categories);
}

static const TypeInfo isa_lpt1284_types[] = {
    {
        .name = TYPE_ISA_LPT1284,
        .parent = TYPE_ISA_DEVICE,
        .instance_size = sizeof(ISALpt1284State),
        .class_init = isa_lpt1284_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_ACPI_DEV_AML_IF },
            { },
        },
    },
};

DEFINE_TYPES(isa_lpt1284_types)
