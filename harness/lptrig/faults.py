"""Fault knobs of the chain's peripherals, as the harness sets them.

Every peripheral has the same knobs (qemu-device/hw/char/lpt1284-fault.c;
docs/device.md "Fault knobs"): set at start as -device properties, or at run time
with QMP qom-set.  ``parse("printer@0:paper-out=on")`` checks one
``NAME:KNOB=VALUE`` and ``apply(chain, faults)`` puts them on the chain's
peripherals.
"""

import dataclasses
import re
from typing import Dict, Iterable, List, Tuple

from .chain import Chain
from .errors import LptrigError

_ONOFF = ("paper-out", "offline", "fault", "disconnect", "select-fail",
          "negotiation-reject", "no-ack")
_BOOL = {"on": "on", "off": "off", "true": "on", "false": "off", "1": "on", "0": "off",
         "yes": "on", "no": "off"}

#: knob -> what it takes
KNOBS: Dict[str, str] = {
    **{knob: "on|off" for knob in _ONOFF},
    "drop": "N (every Nth byte lost; 0 off)",
    "corrupt": "N (every Nth byte inverted; 0 off)",
    "seed": "S (0: every Nth; else with probability 1/N from this seed)",
    "busy-stall": "microseconds, or -1 for ever",
    "device-id-error": "off|length|truncated",
    "arm": "|".join(("none",) + _ONOFF),
    "arm-after": "N bytes",
    "busy-ns": "nanoseconds (0-1000000000)",
    "ack-ns": "nanoseconds (0-1000000000)",
}


def _value(knob: str, value: str) -> str:
    """``value`` checked for ``knob``, as QEMU's -device option wants it."""
    if knob in _ONOFF:
        if value.lower() in _BOOL:
            return _BOOL[value.lower()]
    elif knob == "device-id-error":
        if value in ("off", "length", "truncated"):
            return value
    elif knob == "arm":
        if value in ("none",) + _ONOFF:
            return value
    elif knob == "busy-stall":
        if re.fullmatch(r"-1|\d+", value) and int(value) <= 2**31 - 1:
            return value
    elif knob in ("busy-ns", "ack-ns"):
        if value.isdigit() and int(value) <= 10**9:
            return value
    elif value.isdigit() and int(value) < 2**64 and (
            knob in ("seed", "arm-after") or int(value) < 2**32):
        return value
    raise LptrigError(f"fault {knob}={value!r}: {knob} takes {KNOBS[knob]}")


#: the knobs of the kinds that are not IEEE 1284 devices (chain.LINE_KINDS)
LINE_KNOBS: Dict[str, Tuple[str, ...]] = {
    "laplink": ("disconnect",),
    "i2c": ("disconnect",),
    "pps": ("disconnect", "no-ack"),
}


def parse(text: str) -> Tuple[str, str, str]:
    """``NAME:KNOB=VALUE`` (e.g. ``printer@end:drop=100``) -> its parts."""
    match = re.fullmatch(r"([a-z0-9]+@(?:[0-3]|end)):([a-z-]+)=(.*)", text.strip())
    if not match:
        raise LptrigError(f"fault {text!r}: write it as KIND@ADDR:KNOB=VALUE, "
                          "e.g. printer@end:paper-out=on")
    name, knob, value = match.groups()
    if knob not in KNOBS:
        raise LptrigError(f"fault {text!r}: unknown knob {knob!r} (known: "
                          f"{', '.join(sorted(KNOBS))})")
    return name, knob, _value(knob, value)


def apply(chain: Chain, faults: Iterable[str]) -> Chain:
    """The chain with each ``NAME:KNOB=VALUE`` set on peripheral NAME."""
    by_name: Dict[str, List[Tuple[str, str]]] = {}
    for text in faults:
        name, knob, value = parse(text)
        by_name.setdefault(name, []).append((knob, value))
    if not by_name:
        return chain
    if chain.controller == "stock":
        raise LptrigError("faults need isa-lpt1284's chain, not the stock port")
    _check_names(chain, by_name, "fault")
    for p in chain.peripherals:
        for knob, _ in by_name.get(p.name, ()):
            if p.kind in LINE_KNOBS and knob not in LINE_KNOBS[p.kind]:
                article = "an" if p.kind[0] in "aeiou" else "a"
                raise LptrigError(f"fault on {p.name}: {article} {p.kind} is not an IEEE 1284 "
                                  f"device and has no {knob} (its knobs: "
                                  f"{', '.join(LINE_KNOBS[p.kind])})")
    return _add_props(chain, by_name)


def _check_names(chain: Chain, by_name: Dict[str, List[Tuple[str, str]]], what: str) -> None:
    names = {p.name for p in chain.peripherals}
    for name in by_name:
        if name not in names:
            raise LptrigError(f"{what} on {name}: no such peripheral on the chain "
                              f"({', '.join(sorted(names)) or 'none'})")


def _add_props(chain: Chain, by_name: Dict[str, List[Tuple[str, str]]]) -> Chain:
    peripherals = tuple(
        dataclasses.replace(p, props=p.props + tuple(by_name.get(p.name, ())))
        for p in chain.peripherals)
    return dataclasses.replace(chain, peripherals=peripherals)


def set_props(chain: Chain, settings: Iterable[str]) -> Chain:
    """The chain with each ``NAME:PROP=VALUE`` set on peripheral NAME.

    Any QEMU property of the device (e.g. ``pps@end:period-ns=500000000``);
    QEMU checks the value when it starts.
    """
    by_name: Dict[str, List[Tuple[str, str]]] = {}
    for text in settings:
        match = re.fullmatch(r"([a-z0-9]+@(?:[0-3]|end)):([a-z][a-z0-9-]*)=(.+)", text.strip())
        if not match:
            raise LptrigError(f"--set {text!r}: write it as KIND@ADDR:PROPERTY=VALUE, "
                              "e.g. pps@end:period-ns=500000000")
        name, prop, value = match.groups()
        by_name.setdefault(name, []).append((prop, value))
    if not by_name:
        return chain
    _check_names(chain, by_name, "--set")
    return _add_props(chain, by_name)
