/*
 * lptrig IEEE 1284 chain: what its three files call in each other
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Not for controllers or concrete peripherals: they use
 * hw/char/lpt1284-chain.h.
 */

#ifndef HW_CHAR_LPT1284_CHAIN_INTERNAL_H
#define HW_CHAR_LPT1284_CHAIN_INTERNAL_H

#include "hw/char/lpt1284-chain.h"

/*
 * The class of a peripheral without QOM's checked cast: this is on the
 * path of every byte, and the checked casts (a type lookup by name each)
 * were the largest cost of the compatibility handshake.
 */
static inline Lpt1284PeripheralClass *
lpt1284_peripheral_class(Lpt1284Peripheral *p)
{
    return (Lpt1284PeripheralClass *)object_get_class(OBJECT(p));
}

/* lpt1284-chain.c */
static inline Lpt1284Chain *lpt1284_peripheral_chain(Lpt1284Peripheral *p)
{
    return p->chain;
}

/* Daisy device at position @i, NULL if none or disconnected */
static inline Lpt1284Peripheral *lpt1284_chain_daisy(Lpt1284Chain *chain,
                                                     int i)
{
    Lpt1284Peripheral *p = chain->daisy[i];

    return p && !p->disconnect ? p : NULL;
}

void lpt1284_chain_reconnect(Lpt1284Chain *chain, Lpt1284Peripheral *p);

void lpt1284_chain_update(Lpt1284Chain *chain);
void lpt1284_chain_attach(Lpt1284Chain *chain, Lpt1284Peripheral *p);
void lpt1284_chain_detach(Lpt1284Chain *chain, Lpt1284Peripheral *p);

/* lpt1284-dot3.c */
bool lpt1284_dot3_host_changed(Lpt1284Chain *chain, uint8_t old_data,
                               uint8_t old_ctrl, bool old_reverse);
bool lpt1284_dot3_answering(Lpt1284Peripheral *p);
uint8_t lpt1284_dot3_status(Lpt1284Chain *chain, Lpt1284Peripheral *p);
void lpt1284_dot3_reset(Lpt1284Peripheral *p);
bool lpt1284_dot3_post_load(Lpt1284Peripheral *p);
extern const char *const lpt1284_dot3_mode_name[];

/* lpt1284-fault.c */
#define LPT1284_FAULT_KNOBS 8   /* "arm" values: none, then the on/off knobs */
void lpt1284_fault_class_init(ObjectClass *klass);
void lpt1284_fault_update_condition(Lpt1284Peripheral *p);
bool lpt1284_fault_filters(Lpt1284Peripheral *p);
size_t lpt1284_fault_forward(Lpt1284Peripheral *p, const uint8_t *buf,
                             size_t len,
                             size_t (*deliver)(Lpt1284Peripheral *p,
                                               const uint8_t *buf,
                                               size_t len));

/* lpt1284-peripheral.c: the protocol engine */
void lpt1284_peripheral_host_changed(Lpt1284Peripheral *p,
                                     Lpt1284Chain *chain, uint8_t old_ctrl);
void lpt1284_peripheral_catch_up(Lpt1284Peripheral *p, int64_t now);
bool lpt1284_peripheral_ninit_is_protocol(Lpt1284Peripheral *p);
bool lpt1284_peripheral_select(Lpt1284Peripheral *p, Lpt1284Dot3Mode mode);
void lpt1284_peripheral_deselect(Lpt1284Peripheral *p);
size_t lpt1284_peripheral_compat_write(Lpt1284Peripheral *p,
                                       const uint8_t *buf, size_t len);
size_t lpt1284_peripheral_ecp_write(Lpt1284Peripheral *p, const uint8_t *buf,
                                    size_t len, bool command);
bool lpt1284_peripheral_ecp_read(Lpt1284Peripheral *p, uint8_t *byte,
                                 bool *command);
bool lpt1284_peripheral_epp_write(Lpt1284Peripheral *p, bool addr,
                                  uint8_t val);
bool lpt1284_peripheral_epp_read(Lpt1284Peripheral *p, bool addr,
                                 uint8_t *val);

#endif /* HW_CHAR_LPT1284_CHAIN_INTERNAL_H */
