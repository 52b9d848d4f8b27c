/*
 * Faults every lptrig peripheral can be given, on cue
 *
 * Copyright (c) 2026 The lptrig authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QOM properties of TYPE_LPT1284_PERIPHERAL, so every kind has them; each
 * can be set on the command line (-device ...,KNOB=V) and at run time
 * (qom-set on /machine/peripheral/<id>).  What each does on the wire:
 *  - "paper-out": PError high, Busy held high (no data taken)
 *  - "offline": Select low, Busy held high
 *  - "fault": nFault low, Busy held high
 *  - "disconnect": the peripheral is off the cable; every line it drove
 *    floats high (status register 0x7f), it sees nothing the host does
 *  - "select-fail": a daisy device ignores the 1284.3 selects of its
 *    address (nobody acknowledges them)
 *  - "negotiation-reject": every IEEE 1284 negotiation is answered "no"
 *  - "no-ack": a compatibility-mode byte is taken and Busy drops, but the
 *    nAck pulse (and with it the host's interrupt) never comes
 *  - "drop" = N, "corrupt" = N: every Nth forward byte is lost, or has its
 *    bits inverted, before the peripheral's own code sees it (0: off).
 *    With "seed" != 0 it is each byte with a probability of 1/N instead,
 *    from a generator seeded with it, so a run repeats exactly.
 *  - "busy-stall" = N: Busy held N us longer for every compatibility
 *    byte; -1: for ever (the byte is taken when the fault is cleared)
 *  - "device-id-error": "length" (the two length bytes claim 16 bytes
 *    more than follow) or "truncated" (the ID stops halfway); "off"
 *  - "arm" = KNOB and "arm-after" = N: the on/off KNOB (paper-out,
 *    offline, fault, disconnect, select-fail, negotiation-reject, no-ack)
 *    turns on by itself once N more bytes have come (set arm first; a new
 *    arm-after re-arms)
 * Counters, read-only: "received" (bytes the peripheral's own code got),
 * "dropped", "corrupted".
 *
 * A line-level peripheral (a LapLink cable, an I2C adapter, a PPS source)
 * has no IEEE 1284 handshake and no bytes to count: it has "disconnect"
 * and the knobs its class lists in line_faults; setting any other knob is
 * an error.
 */

#include "qemu/osdep.h"
#include "lpt1284-chain-internal.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "trace.h"

/* The steady lines and Busy hold follow from the condition knobs */
void lpt1284_fault_update_condition(Lpt1284Peripheral *p)
{
    uint8_t steady = 0;

    if (p->paper_out) {
        steady |= LPT1284_PERROR;
    }
    if (!p->offline) {
        steady |= LPT1284_SELECT;
    }
    if (!p->fault) {
        steady |= LPT1284_NFAULT;
    }
    lpt1284_peripheral_set_condition(p, steady,
                                     p->paper_out || p->offline || p->fault);
}

/* xorshift64*: small, and the same sequence for the same seed anywhere */
static uint64_t lpt1284_fault_random(Lpt1284Peripheral *p)
{
    uint64_t x = p->rng ? p->rng : p->seed;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Does the next forward byte get fault @every (drop or corrupt)? */
static bool lpt1284_fault_hits(Lpt1284Peripheral *p, uint32_t every)
{
    if (!every) {
        return false;
    }
    if (p->seed) {
        return lpt1284_fault_random(p) % every == 0;
    }
    return (p->fault_index + 1) % every == 0;
}

static const char *const lpt1284_fault_knob_names[LPT1284_FAULT_KNOBS] = {
    "none", "paper-out", "offline", "fault", "disconnect", "select-fail",
    "negotiation-reject", "no-ack",
};

/* An armed knob turns on once enough bytes have come */
static void lpt1284_fault_check_arm(Lpt1284Peripheral *p)
{
    if (p->arm_at && p->received >= p->arm_at) {
        p->arm_at = 0;
        object_property_set_bool(OBJECT(p), lpt1284_fault_knob_names[p->arm],
                                 true, &error_abort);
    }
}

bool lpt1284_fault_filters(Lpt1284Peripheral *p)
{
    return p->drop || p->corrupt;
}

/*
 * Forward data through the drop and corrupt faults, a byte at a time;
 * @deliver hands bytes to the peripheral's own code.  A dropped byte
 * counts as taken: the host never knows.
 */
size_t lpt1284_fault_forward(Lpt1284Peripheral *p, const uint8_t *buf,
                             size_t len,
                             size_t (*deliver)(Lpt1284Peripheral *p,
                                               const uint8_t *buf,
                                               size_t len))
{
    size_t i;

    if (!lpt1284_fault_filters(p)) {
        size_t taken = deliver(p, buf, len);

        p->received += taken;
        lpt1284_fault_check_arm(p);
        return taken;
    }
    for (i = 0; i < len; i++) {
        uint64_t rng = p->rng;
        uint8_t byte = buf[i];
        bool drop = lpt1284_fault_hits(p, p->drop);
        bool corrupt = !drop && lpt1284_fault_hits(p, p->corrupt);

        if (drop) {
            p->dropped++;
            trace_lpt1284_fault_byte(p->addr, byte, "dropped");
        } else {
            if (corrupt) {
                byte = ~byte;
            }
            if (deliver(p, &byte, 1) != 1) {
                /* No room: the same byte, and the same dice, next time */
                p->rng = rng;
                break;
            }
            p->received++;
            if (corrupt) {
                p->corrupted++;
                trace_lpt1284_fault_byte(p->addr, buf[i], "corrupted");
            }
        }
        p->fault_index++;
    }
    lpt1284_fault_check_arm(p);
    return i;
}

/* Has @p the knob @name?  Every IEEE 1284 peripheral has every knob. */
static bool lpt1284_fault_supported(Object *obj, const char *name,
                                    Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);
    Lpt1284PeripheralClass *pc = lpt1284_peripheral_class(p);
    const char *const *knob;

    if (!pc->lines || !strcmp(name, "disconnect")) {
        return true;
    }
    for (knob = pc->line_faults; knob && *knob; knob++) {
        if (!strcmp(*knob, name)) {
            return true;
        }
    }
    error_setg(errp, "%s has no fault '%s': it is not an IEEE 1284 device; "
               "its faults are disconnect%s%s", object_get_typename(obj), name,
               pc->line_faults && pc->line_faults[0] ? " and " : "",
               pc->line_faults && pc->line_faults[0] ? pc->line_faults[0] : "");
    return false;
}

/* An on/off knob; @then runs after a change (the condition knobs' lines) */
#define LPT1284_FAULT_BOOL(field, name, then)                                \
static bool lpt1284_fault_get_##field(Object *obj, Error **errp)            \
{                                                                           \
    return LPT1284_PERIPHERAL(obj)->field;                                  \
}                                                                           \
                                                                            \
static void lpt1284_fault_set_##field(Object *obj, bool value, Error **errp) \
{                                                                           \
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);                         \
                                                                            \
    if (!lpt1284_fault_supported(obj, name, errp)) {                        \
        return;                                                             \
    }                                                                       \
    p->field = value;                                                       \
    trace_lpt1284_fault(p->addr, name, value);                              \
    then;                                                                   \
}

LPT1284_FAULT_BOOL(paper_out, "paper-out", lpt1284_fault_update_condition(p))
LPT1284_FAULT_BOOL(offline, "offline", lpt1284_fault_update_condition(p))
LPT1284_FAULT_BOOL(fault, "fault", lpt1284_fault_update_condition(p))
LPT1284_FAULT_BOOL(select_fail, "select-fail", (void)0)
LPT1284_FAULT_BOOL(negotiation_reject, "negotiation-reject", (void)0)
LPT1284_FAULT_BOOL(no_ack, "no-ack", (void)0)

static bool lpt1284_fault_get_disconnect(Object *obj, Error **errp)
{
    return LPT1284_PERIPHERAL(obj)->disconnect;
}

static void lpt1284_fault_set_disconnect(Object *obj, bool value,
                                         Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);

    if (p->disconnect == value) {
        return;
    }
    p->disconnect = value;
    trace_lpt1284_fault(p->addr, "disconnect", value);
    if (DEVICE(p)->realized) {
        lpt1284_chain_reconnect(p->chain, p);
    }
}

static void lpt1284_fault_set_seed(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);
    uint64_t seed;

    if (!lpt1284_fault_supported(obj, name, errp) ||
        !visit_type_uint64(v, name, &seed, errp)) {
        return;
    }
    /* A new seed starts its sequence afresh */
    p->seed = seed;
    p->rng = 0;
}

static void lpt1284_fault_get_u64(Object *obj, Visitor *v, const char *name,
                                  void *opaque, Error **errp)
{
    uint64_t value = *(uint64_t *)((char *)obj + (uintptr_t)opaque);

    visit_type_uint64(v, name, &value, errp);
}

static void lpt1284_fault_set_every(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    uint32_t *field = (uint32_t *)((char *)obj + (uintptr_t)opaque);
    uint32_t value;

    if (!lpt1284_fault_supported(obj, name, errp) ||
        !visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    *field = value;
    trace_lpt1284_fault(LPT1284_PERIPHERAL(obj)->addr, name, value);
}

static void lpt1284_fault_get_every(Object *obj, Visitor *v, const char *name,
                                    void *opaque, Error **errp)
{
    uint32_t value = *(uint32_t *)((char *)obj + (uintptr_t)opaque);

    visit_type_uint32(v, name, &value, errp);
}

static void lpt1284_fault_get_busy_stall(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    int32_t value = LPT1284_PERIPHERAL(obj)->busy_stall;

    visit_type_int32(v, name, &value, errp);
}

static void lpt1284_fault_set_busy_stall(Object *obj, Visitor *v,
                                         const char *name, void *opaque,
                                         Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);
    int32_t value;

    if (!lpt1284_fault_supported(obj, name, errp) ||
        !visit_type_int32(v, name, &value, errp)) {
        return;
    }
    if (value < -1) {
        error_setg(errp, "busy-stall %d is not a stall: use microseconds, "
                   "0 for none, or -1 for ever", value);
        return;
    }
    p->busy_stall = value;
    trace_lpt1284_fault(p->addr, name, value);
    if (value >= 0 && DEVICE(p)->realized) {
        /* A byte held for ever is taken now */
        lpt1284_peripheral_ready(p);
    }
}

static const char *const lpt1284_devid_error_names[] = {
    [LPT1284_DEVID_OK] = "off",
    [LPT1284_DEVID_LENGTH] = "length",
    [LPT1284_DEVID_TRUNCATED] = "truncated",
};

static int lpt1284_fault_lookup(const char *const *names, int n,
                                const char *value)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!strcmp(names[i], value)) {
            return i;
        }
    }
    return -1;
}

static char *lpt1284_fault_get_devid_error(Object *obj, Error **errp)
{
    return g_strdup(lpt1284_devid_error_names[
                        LPT1284_PERIPHERAL(obj)->devid_error]);
}

static void lpt1284_fault_set_devid_error(Object *obj, const char *value,
                                          Error **errp)
{
    int i = lpt1284_fault_lookup(lpt1284_devid_error_names,
                                 ARRAY_SIZE(lpt1284_devid_error_names), value);

    if (!lpt1284_fault_supported(obj, "device-id-error", errp)) {
        return;
    }
    if (i < 0) {
        error_setg(errp, "device-id-error '%s' is not one: use off, length "
                   "or truncated", value);
        return;
    }
    LPT1284_PERIPHERAL(obj)->devid_error = i;
}

static char *lpt1284_fault_get_arm(Object *obj, Error **errp)
{
    return g_strdup(lpt1284_fault_knob_names[LPT1284_PERIPHERAL(obj)->arm]);
}

static void lpt1284_fault_set_arm(Object *obj, const char *value,
                                  Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);
    int i = lpt1284_fault_lookup(lpt1284_fault_knob_names,
                                 LPT1284_FAULT_KNOBS, value);

    if (!lpt1284_fault_supported(obj, "arm", errp)) {
        return;
    }
    if (i < 0) {
        error_setg(errp, "arm '%s' is not an on/off fault: use paper-out, "
                   "offline, fault, disconnect, select-fail, "
                   "negotiation-reject, no-ack or none", value);
        return;
    }
    p->arm = i;
    p->arm_at = i && p->arm_after ? p->received + p->arm_after : 0;
}

static void lpt1284_fault_set_arm_after(Object *obj, Visitor *v,
                                        const char *name, void *opaque,
                                        Error **errp)
{
    Lpt1284Peripheral *p = LPT1284_PERIPHERAL(obj);
    uint64_t value;

    if (!lpt1284_fault_supported(obj, name, errp) ||
        !visit_type_uint64(v, name, &value, errp)) {
        return;
    }
    p->arm_after = value;
    p->arm_at = p->arm && value ? p->received + value : 0;
}

void lpt1284_fault_class_init(ObjectClass *klass)
{
    object_class_property_add(klass, "busy-stall", "int32",
                              lpt1284_fault_get_busy_stall,
                              lpt1284_fault_set_busy_stall, NULL, NULL);
    object_class_property_add_str(klass, "device-id-error",
                                  lpt1284_fault_get_devid_error,
                                  lpt1284_fault_set_devid_error);
    object_class_property_add_str(klass, "arm", lpt1284_fault_get_arm,
                                  lpt1284_fault_set_arm);
    object_class_property_add(klass, "arm-after", "uint64",
                              lpt1284_fault_get_u64,
                              lpt1284_fault_set_arm_after, NULL,
                              (void *)offsetof(Lpt1284Peripheral, arm_after));
    object_class_property_add_bool(klass, "paper-out",
                                   lpt1284_fault_get_paper_out,
                                   lpt1284_fault_set_paper_out);
    object_class_property_add_bool(klass, "offline",
                                   lpt1284_fault_get_offline,
                                   lpt1284_fault_set_offline);
    object_class_property_add_bool(klass, "fault", lpt1284_fault_get_fault,
                                   lpt1284_fault_set_fault);
    object_class_property_add_bool(klass, "disconnect",
                                   lpt1284_fault_get_disconnect,
                                   lpt1284_fault_set_disconnect);
    object_class_property_add_bool(klass, "select-fail",
                                   lpt1284_fault_get_select_fail,
                                   lpt1284_fault_set_select_fail);
    object_class_property_add_bool(klass, "negotiation-reject",
                                   lpt1284_fault_get_negotiation_reject,
                                   lpt1284_fault_set_negotiation_reject);
    object_class_property_add_bool(klass, "no-ack",
                                   lpt1284_fault_get_no_ack,
                                   lpt1284_fault_set_no_ack);
    object_class_property_add(klass, "drop", "uint32",
                              lpt1284_fault_get_every,
                              lpt1284_fault_set_every, NULL,
                              (void *)offsetof(Lpt1284Peripheral, drop));
    object_class_property_add(klass, "corrupt", "uint32",
                              lpt1284_fault_get_every,
                              lpt1284_fault_set_every, NULL,
                              (void *)offsetof(Lpt1284Peripheral, corrupt));
    object_class_property_add(klass, "seed", "uint64",
                              lpt1284_fault_get_u64, lpt1284_fault_set_seed,
                              NULL,
                              (void *)offsetof(Lpt1284Peripheral, seed));
    object_class_property_add(klass, "received", "uint64",
                              lpt1284_fault_get_u64, NULL, NULL,
                              (void *)offsetof(Lpt1284Peripheral, received));
    object_class_property_add(klass, "dropped", "uint64",
                              lpt1284_fault_get_u64, NULL, NULL,
                              (void *)offsetof(Lpt1284Peripheral, dropped));
    object_class_property_add(klass, "corrupted", "uint64",
                              lpt1284_fault_get_u64, NULL, NULL,
                              (void *)offsetof(Lpt1284Peripheral, corrupted));
}
