/*
 * IEEE 1284 cable and IEEE 1284.3 daisy chain of virtual peripherals
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The chain models the cable, not a byte pipe.  A controller drives the
 * host-side lines (D0-D7, nStrobe, nAutoFd, nInit, nSelectIn) with
 * lpt1284_chain_drive() and reads back the peripheral-side lines (nAck,
 * Busy, PError, Select, nFault, and D0-D7 when the host has turned its
 * data drivers off) with lpt1284_chain_status() and lpt1284_chain_data().
 *
 * Peripherals sit on the chain in the order of their "addr" property:
 * 0-3 are IEEE 1284.3 daisy positions (0 nearest the host), and a device
 * with "addr" unset (-1) is the end-of-chain device.  Every change of the
 * host lines is offered to the daisy devices' IEEE 1284.3 command packet
 * decoders, then to the peripheral that answers: the selected daisy
 * device, or the end-of-chain device when none is selected.  That one
 * drives the status lines, except while a command packet is under way,
 * when the daisy devices answer it.
 *
 * The code is in three files, one concern each:
 *  - lpt1284-chain.c: the bus, the cable and the 1284.3 routing (who
 *    sees the host's lines, who drives the status lines), hot-plug;
 *  - lpt1284-dot3.c: the IEEE 1284.3 command packet decoder every daisy
 *    device has, and what the commands do;
 *  - lpt1284-peripheral.c: the abstract TYPE_LPT1284_PERIPHERAL class and
 *    the peripheral side of IEEE 1284 (the protocol engine), once for
 *    every peripheral; a concrete peripheral only implements the hooks in
 *    Lpt1284PeripheralClass.
 */

#ifndef HW_CHAR_LPT1284_CHAIN_H
#define HW_CHAR_LPT1284_CHAIN_H

#include "hw/qdev-core.h"
#include "qom/object.h"

/*
 * Cable levels, 1 = the pin is electrically high.  Host-driven control
 * lines use the bit positions of the PC control register, peripheral-driven
 * status lines those of the PC status register, so that a controller only
 * has to apply the inversions of its own register bits.
 */
#define LPT1284_NSTROBE     0x01
#define LPT1284_NAUTOFD     0x02
#define LPT1284_NINIT       0x04
#define LPT1284_NSELECTIN   0x08
#define LPT1284_CTRL_LINES  0x0f

#define LPT1284_NFAULT      0x08
#define LPT1284_SELECT      0x10
#define LPT1284_PERROR      0x20
#define LPT1284_NACK        0x40
#define LPT1284_BUSY        0x80
#define LPT1284_STATUS_LINES 0xf8

/* Every line released: what the cable reads with nothing attached. */
#define LPT1284_LINES_IDLE  0xff

/* Chain positions */
#define LPT1284_DAISY_MAX   4
#define LPT1284_ADDR_END    (-1)

/*
 * IEEE 1284.3 command packet: AA 55 00 FF 87 78, then command bytes, each
 * strobed, then FF.  Commands (the low bits carry a 1284.3 address a):
 */
#define LPT1284_DOT3_ASSIGN         0x00    /* + a: assign address a */
#define LPT1284_DOT3_QUERY_INT      0x08
#define LPT1284_DOT3_EPP_SELECT     0x20    /* + a: select a for EPP */
#define LPT1284_DOT3_DESELECT       0x30    /* deselect all */
#define LPT1284_DOT3_DISABLE_INT    0x40
#define LPT1284_DOT3_ENABLE_INT     0x48
#define LPT1284_DOT3_ECP_SELECT     0xd0    /* + a: select a for ECP */
#define LPT1284_DOT3_SELECT         0xe0    /* + a: compatibility/nibble/byte */
#define LPT1284_DOT3_COMMAND_FILTER 0xf8

/* Phases of a daisy device's command packet decoder */
typedef enum Lpt1284Dot3Phase {
    LPT1284_DOT3_IDLE = 0,      /* watching the data lines */
    LPT1284_DOT3_AA,            /* AA seen */
    LPT1284_DOT3_55,            /* AA 55 seen */
    LPT1284_DOT3_00,            /* AA 55 00 seen */
    LPT1284_DOT3_FF,            /* AA 55 00 FF: answering, packet under way */
    LPT1284_DOT3_87,            /* ... 87 */
    LPT1284_DOT3_COMMAND,       /* ... 78: command bytes until FF */
    LPT1284_DOT3__MAX,
} Lpt1284Dot3Phase;

/* How a daisy device was selected: the mode it answers in */
typedef enum Lpt1284Dot3Mode {
    LPT1284_DOT3_MODE_COMPAT = 0,   /* compatibility, nibble, byte */
    LPT1284_DOT3_MODE_EPP,
    LPT1284_DOT3_MODE_ECP,
} Lpt1284Dot3Mode;

/*
 * Compatibility-mode handshake timing of a peripheral ("busy-ns" and
 * "ack-ns"), in ns of virtual time.  0 completes each step at once, still
 * in order: Busy high, the byte taken, nAck low, nAck high (the host's
 * interrupt), Busy low.
 */
#define LPT1284_BUSY_NS_DEFAULT 0
#define LPT1284_ACK_NS_DEFAULT  0
#define LPT1284_TIMING_MAX_NS   1000000000

#define TYPE_LPT1284_CHAIN "lpt1284-chain"
OBJECT_DECLARE_SIMPLE_TYPE(Lpt1284Chain, LPT1284_CHAIN)

#define TYPE_LPT1284_PERIPHERAL "lpt1284-peripheral"
OBJECT_DECLARE_TYPE(Lpt1284Peripheral, Lpt1284PeripheralClass,
                    LPT1284_PERIPHERAL)

/* IEEE 1284 extensibility bytes (event 0) */
#define IEEE1284_XB_NIBBLE      0x00
#define IEEE1284_XB_BYTE        0x01
#define IEEE1284_XB_DEVICEID    0x04
#define IEEE1284_XB_ECP         0x10
#define IEEE1284_XB_ECP_RLE     0x30
#define IEEE1284_XB_EPP         0x40
#define IEEE1284_XB_EXT_LINK    0x80

/* Transfer modes a peripheral supports (Lpt1284PeripheralClass.modes) */
#define LPT1284_CAP_NIBBLE      0x01    /* every peripheral has it */
#define LPT1284_CAP_BYTE        0x02
#define LPT1284_CAP_ECP         0x04
#define LPT1284_CAP_ECP_RLE     0x08
#define LPT1284_CAP_EPP         0x10

/* Phases of the peripheral side of IEEE 1284 */
typedef enum Lpt1284Phase {
    LPT1284_PHASE_COMPAT_IDLE = 0,  /* compatibility mode, ready */
    LPT1284_PHASE_COMPAT_BUSY,      /* byte latched, Busy high */
    LPT1284_PHASE_COMPAT_ACK,       /* byte taken, nAck low */
    LPT1284_PHASE_NEGOTIATION,      /* event 2 given, waiting for event 4 */
    LPT1284_PHASE_REJECTED,         /* mode refused, waiting termination */
    LPT1284_PHASE_REV_IDLE,         /* nibble/byte mode, between transfers */
    LPT1284_PHASE_REV_DATA,         /* nibble/byte on the lines, nAck low */
    LPT1284_PHASE_ECP_SETUP,        /* ECP accepted, waiting for event 30 */
    LPT1284_PHASE_ECP_FWD_IDLE,
    LPT1284_PHASE_ECP_FWD_BUSY,     /* byte latched, PeriphAck high */
    LPT1284_PHASE_ECP_REV_IDLE,
    LPT1284_PHASE_ECP_REV_DATA,     /* byte on the lines, PeriphClk low */
    LPT1284_PHASE_EPP_IDLE,
    LPT1284_PHASE_TERM_ACK,         /* event 24 given, waiting for event 25 */
    LPT1284_PHASE_TERM_END,         /* event 27 given, waiting for event 29 */
    LPT1284_PHASE__MAX,
} Lpt1284Phase;

/* A VCD trace of the cable (lpt1284-vcd.c) */
typedef struct Lpt1284Vcd Lpt1284Vcd;

Lpt1284Vcd *lpt1284_vcd_open(const char *path, const char *scope,
                             Error **errp);
void lpt1284_vcd_sample(Lpt1284Vcd *vcd, int64_t time, uint8_t data,
                        uint8_t ctrl, bool reverse, uint8_t status,
                        uint32_t state);

/* The chain's state in a VCD trace: named 1-bit signals */
#define LPT1284_VCD_SELECTED(n) (1u << (n))     /* daisy device n selected */
#define LPT1284_VCD_PACKET      (1u << 4)       /* a 1284.3 packet */
#define LPT1284_VCD_COMPAT      (1u << 5)       /* the answering device's */
#define LPT1284_VCD_NEGOTIATION (1u << 6)       /* IEEE 1284 phase ... */
#define LPT1284_VCD_NIBBLE_BYTE (1u << 7)
#define LPT1284_VCD_ECP_FORWARD (1u << 8)
#define LPT1284_VCD_ECP_REVERSE (1u << 9)
#define LPT1284_VCD_EPP         (1u << 10)
#define LPT1284_VCD_TERMINATION (1u << 11)
#define LPT1284_VCD_STATES      12

typedef struct Lpt1284ChainOps {
    /* The answering peripheral changed the status lines */
    void (*status_changed)(void *opaque, uint8_t old_status,
                           uint8_t new_status);
    /* A peripheral that refused data can take more again */
    void (*ready)(void *opaque);
} Lpt1284ChainOps;

struct Lpt1284Chain {
    /*< private >*/
    BusState parent_obj;

    /*< public >*/
    /* Host-driven lines, as last offered by the controller */
    uint8_t host_data;
    uint8_t host_ctrl;
    bool host_reverse;

    /* What the controller last saw of the peripheral side */
    uint8_t status;

    /*
     * The selected daisy device was unplugged: the host talks to nobody
     * (the lines float) until its next command packet, or nInit.
     */
    bool orphaned;
    uint8_t orphan_phase;   /* Lpt1284Dot3Phase of the chain's own watch */

    /* The cable's VCD trace, NULL when off */
    Lpt1284Vcd *vcd;

    /* Realized peripherals by position; not migrated (the command line) */
    struct Lpt1284Peripheral *daisy[LPT1284_DAISY_MAX];
    struct Lpt1284Peripheral *end;

    const Lpt1284ChainOps *ops;
    void *opaque;
};

struct Lpt1284Peripheral {
    /*< private >*/
    DeviceState parent_obj;

    /*< public >*/
    Lpt1284Chain *chain;    /* the bus it sits on, from realize */
    int32_t addr;           /* 0-3 daisy position, -1 end of chain */
    char *device_id;

    /* Peripheral-driven lines */
    uint8_t status;         /* LPT1284_{BUSY,NACK,PERROR,SELECT,NFAULT} */
    uint8_t steady;         /* PERROR, SELECT, NFAULT as the device sets them */
    bool hold_busy;         /* the device cannot take data at all */
    uint8_t data;           /* D0-D7 while it drives them */
    bool drives_data;

    /* IEEE 1284 peripheral side */
    uint8_t phase;          /* Lpt1284Phase */
    uint8_t xb;             /* extensibility byte of the current mode */
    bool neg_strobed;       /* event 3 seen during negotiation */
    uint8_t latch;          /* last byte strobed in */
    bool latch_command;     /* ... an ECP command byte (nAutoFd low) */
    bool stalled;           /* forward() refused latch: waiting for room */
    uint16_t rle_left;      /* ECP RLE: copies of latch still to deliver */
    uint8_t rle_count;      /* ECP RLE: count for the next data byte */
    bool rle_pending;
    uint8_t rev_byte;       /* next reverse byte, fetched ahead */
    bool rev_valid;
    bool rev_high_nibble;   /* nibble mode: the high nibble is next */
    uint32_t devid_pos;     /* Device ID mode: next byte of the ID */
    uint8_t epp_addr;       /* EPP address register */
    QEMUTimer *timer;

    /* Compatibility handshake timing, ns ("busy-ns", "ack-ns") */
    uint32_t busy_ns;
    uint32_t ack_ns;

    /* IEEE 1284.3, daisy devices only (lpt1284-dot3.c) */
    uint8_t dot3_phase;     /* Lpt1284Dot3Phase */
    int8_t dot3_addr;       /* assigned 1284.3 address, -1 none yet */
    bool dot3_passing;      /* took its address in this packet: passes on */
    bool dot3_ack;          /* the command being strobed was acknowledged */
    bool selected;
    uint8_t dot3_mode;      /* Lpt1284Dot3Mode it was selected for */
    bool irq_enabled;       /* 1284.3 interrupts enabled (command 0x48) */

    /* Faults (lpt1284-fault.c) */
    bool paper_out;
    bool offline;
    bool fault;
    bool disconnect;
    bool select_fail;
    bool negotiation_reject;
    bool no_ack;
    uint32_t drop;          /* every Nth forward byte lost, 0 off */
    uint32_t corrupt;       /* every Nth forward byte inverted, 0 off */
    uint64_t seed;          /* != 0: with probability 1/N instead */
    uint64_t rng;
    uint64_t fault_index;   /* forward bytes through the filters */
    uint64_t received;
    uint64_t dropped;
    uint64_t corrupted;
    int32_t busy_stall;     /* us Busy is held per byte, -1 for ever */
    uint8_t devid_error;    /* Lpt1284DevidError */
    uint8_t arm;            /* knob (1-7) set once arm_after more bytes came */
    uint64_t arm_after;
    uint64_t arm_at;        /* received count that sets it, 0 disarmed */
};

typedef enum Lpt1284DevidError {
    LPT1284_DEVID_OK = 0,
    LPT1284_DEVID_LENGTH,       /* the length bytes claim 16 more */
    LPT1284_DEVID_TRUNCATED,    /* the ID stops halfway */
} Lpt1284DevidError;

/**
 * Lpt1284PeripheralClass:
 * @modes: LPT1284_CAP_* transfer modes the peripheral accepts in
 *   negotiation; nibble mode (and Device ID through each accepted mode)
 *   comes with every peripheral.
 * @realize: realize the concrete peripheral, after the base class has
 *   checked its chain position.  Optional.
 * @unrealize: undo @realize.  Optional.
 * @forward: take bytes the host sent forward (compatibility, ECP or EPP
 *   data).  Returns how many were taken; when it takes fewer than offered
 *   the peripheral stays busy until it calls lpt1284_peripheral_ready().
 *   Must not block.
 * @reverse: hand over up to @len bytes for the host to read back (nibble,
 *   byte, ECP or EPP reads).  Returns how many; 0 means no data.  Optional.
 * @ecp_channel: an ECP channel address command arrived.  Optional.
 * @reset: put the peripheral's own state back to power-on (nInit pulse and
 *   system reset).  Optional.
 * @default_device_id: the IEEE 1284 Device ID string used when the
 *   "device-id" property is not set.
 * @lines: set by a line-level peripheral, one that is not an IEEE 1284
 *   device but wires the port's pins to something else (a LapLink cable,
 *   a bit-banged I2C adapter, a PPS source).  It is called on every change
 *   of the host's lines, whose levels are in @p->chain (host_data,
 *   host_ctrl, host_reverse), in place of the protocol engine; the
 *   peripheral drives the status lines itself with
 *   lpt1284_peripheral_set_lines().  The transaction level (the
 *   controller's FIFO, DMA and EPP hardware) finds no IEEE 1284 handshake
 *   there and moves nothing.  Line-level peripherals are not IEEE 1284.3
 *   aware: each is the end-of-chain device.  @modes, @forward and
 *   @reverse are unused.
 * @sync: a line-level peripheral catches up with virtual time @now before
 *   the host samples the status lines.  Optional.
 * @line_faults: the fault knobs (lpt1284-fault.c) a line-level peripheral
 *   has besides "disconnect", NULL-terminated; setting any other is an
 *   error.  Optional.
 */
struct Lpt1284PeripheralClass {
    /*< private >*/
    DeviceClass parent_class;

    /*< public >*/
    uint32_t modes;
    void (*realize)(Lpt1284Peripheral *p, Error **errp);
    void (*unrealize)(Lpt1284Peripheral *p);
    size_t (*forward)(Lpt1284Peripheral *p, const uint8_t *buf, size_t len);
    size_t (*reverse)(Lpt1284Peripheral *p, uint8_t *buf, size_t len);
    void (*ecp_channel)(Lpt1284Peripheral *p, uint8_t channel);
    void (*reset)(Lpt1284Peripheral *p);
    const char *default_device_id;
    void (*lines)(Lpt1284Peripheral *p);
    void (*sync)(Lpt1284Peripheral *p, int64_t now);
    const char *const *line_faults;
};

/* Controller side */
Lpt1284Chain *lpt1284_chain_new(DeviceState *controller);
void lpt1284_chain_set_ops(Lpt1284Chain *chain, const Lpt1284ChainOps *ops,
                           void *opaque);
void lpt1284_chain_drive(Lpt1284Chain *chain, uint8_t data, uint8_t ctrl,
                         bool reverse);
void lpt1284_chain_sync(Lpt1284Chain *chain);
uint8_t lpt1284_chain_status(Lpt1284Chain *chain);
uint8_t lpt1284_chain_data(Lpt1284Chain *chain);
Lpt1284Peripheral *lpt1284_chain_responder(Lpt1284Chain *chain);
void lpt1284_chain_reset(Lpt1284Chain *chain);
void lpt1284_chain_ready(Lpt1284Chain *chain);

/*
 * Transaction level: what a controller does in hardware hands whole
 * buffers to the answering peripheral.  Each returns how much the
 * peripheral took (or gave); a peripheral that is not in the right mode
 * takes nothing, as a real one would leave the handshake hanging.
 */
size_t lpt1284_chain_compat_write(Lpt1284Chain *chain, const uint8_t *buf,
                                  size_t len);
size_t lpt1284_chain_ecp_write(Lpt1284Chain *chain, const uint8_t *buf,
                               size_t len, bool command);
bool lpt1284_chain_ecp_read(Lpt1284Chain *chain, uint8_t *byte,
                            bool *command);
bool lpt1284_chain_epp_write(Lpt1284Chain *chain, bool addr, uint8_t val);
bool lpt1284_chain_epp_read(Lpt1284Chain *chain, bool addr, uint8_t *val);

/* Peripheral side */
void lpt1284_peripheral_ready(Lpt1284Peripheral *p);
void lpt1284_peripheral_set_condition(Lpt1284Peripheral *p, uint8_t steady,
                                      bool hold_busy);
void lpt1284_peripheral_set_lines(Lpt1284Peripheral *p, uint8_t status);
const char *lpt1284_peripheral_device_id(Lpt1284Peripheral *p);

extern const VMStateDescription vmstate_lpt1284_peripheral;
extern const VMStateDescription vmstate_lpt1284_chain;

#define VMSTATE_LPT1284_PERIPHERAL(_field, _state) {                 \
    .name       = (stringify(_field)),                               \
    .size       = sizeof(Lpt1284Peripheral),                         \
    .vmsd       = &vmstate_lpt1284_peripheral,                       \
    .flags      = VMS_STRUCT,                                        \
    .offset     = vmstate_offset_value(_state, _field,               \
                                       Lpt1284Peripheral),           \
}

#endif /* HW_CHAR_LPT1284_CHAIN_H */
