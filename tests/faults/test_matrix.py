"""The fault matrix: every fault knob x every lpt1284.ko operation.

One guest per fault, on the chain loopback@0,printer@end with lpt1284.ko;
the device under test is the loopback at daisy address 0 (it speaks every
mode).  For each operation the fault is set (qom-set), the operation runs,
the fault is cleared, and then:
  - the operation's outcome is the one EXPECTED names for the cell (the
    README's "Fault knobs" table for lpt1284.ko, from the knob's effect on
    the wire and the driver's error contract); "ok" means all of it: a
    write took all 512 bytes, a read gave back exactly what was sent, the
    Device ID is whole, a select or lock was granted;
  - a write reported exactly the bytes the loopback counted (received +
    dropped), and drop and corrupt really hit some of them;
  - after the fault, the next write and read back are byte-exact;
and the guest console shows no BUG/Oops/WARNING/hung task (the fixture).
Nothing here is timed by the host: an operation ends by itself (the
driver's own time-outs), and a generous deadline only catches a hang.  The
outcomes are printed as a table (fault x operation) at the end.
"""

import re
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from lptrig import qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

LOOPBACK = "/machine/peripheral/loopback-0"
#: the loopback's Device ID (ieee1284-loopback.c), as sysfs shows it
LOOPBACK_ID = ("MFG:lptrig;MDL:Loopback;CMD:RAW;CLS:LOOPBACK;"
               "DES:lptrig IEEE 1284 loopback;")
#: bytes written, and read back, in each transfer
PAYLOAD = bytes(range(256)) * 2
#: knob -> (value when set, value when cleared)
FAULTS: Dict[str, Tuple[object, object]] = {
    "paper-out": (True, False), "offline": (True, False), "fault": (True, False),
    # a stall of 2 ms a byte (for ever, -1, is in test_fault_knobs: here a
    # write() would take one byte per I/O time-out, and lptctl goes on)
    "busy-stall": (2000, 0), "no-ack": (True, False), "drop": (3, 0), "corrupt": (3, 0),
    "select-fail": (True, False), "negotiation-reject": (True, False),
    "device-id-error": ("truncated", "off"), "disconnect": (True, False),
}
OPS = ["write compat", "write ecp", "write epp", "read nibble", "read byte", "read ecp",
       "read epp", "device id", "select", "lock"]

#: The outcome of every cell (README, "Fault knobs": the lpt1284.ko table).
#: ok: see above; ENAME: the call failed with that errno having moved no
#: byte ("ENAME after N": after N); "short id": the Device ID stops early;
#: "no id": the device is there but its ID could not be read; "gone": after
#: a rescan device 0 has no node.
_OK = {op: "ok" for op in OPS}
_HELD = {"write ecp": "ETIMEDOUT", "write epp": "ETIMEDOUT"}   # no handshake within 5 s
_UNSELECTABLE = {op: "EIO" for op in OPS}
EXPECTED: Dict[str, Dict[str, str]] = {
    "busy-stall": _OK, "no-ack": _OK, "drop": _OK, "corrupt": _OK,
    "device-id-error": {**_OK, "device id": "short id"},
    "paper-out": {**_OK, **_HELD, "write compat": "ENOSPC"},
    "offline": {**_OK, **_HELD, "write compat": "EIO"},
    "fault": {**_OK, **_HELD, "write compat": "EIO"},
    "negotiation-reject": {**_OK, **{op: "EIO" for op in OPS[1:7]}, "device id": "no id"},
    # a rescan keeps no node for a daisy device it cannot select (the
    # driver's lpt1284_scan, as Windows enumerates what it can identify)
    "select-fail": {**_UNSELECTABLE, "device id": "gone"},
    "disconnect": {**_UNSELECTABLE, "device id": "gone"},
}
assert all(list(row) == OPS for row in EXPECTED.values()) and set(EXPECTED) == set(FAULTS)

#: an operation that has not ended after this long (guest seconds) hangs:
#: the driver gives up by itself after its 5 s time-outs
HANG = 120
#: how long the loopback's counters may take to catch up with what the
#: driver reported (host seconds; they agree within milliseconds)
SETTLE = 60.0


def counter(vm: Machine, name: str) -> int:
    return int(qmp.qom_get(vm.qmp(), LOOPBACK, name))


def counts(vm: Machine) -> int:
    return counter(vm, "received") + counter(vm, "dropped")


def errno_of(text: str) -> str:
    err = re.search(r": (E[A-Z]+) \(", text)
    return err.group(1) if err else ""


def drain(vm: Machine) -> None:
    vm.console.check("lptctl read 0 100000 /dev/null >/dev/null; true", HANG)


def run_op(vm: Machine, op: str) -> Tuple[str, int, str]:
    """Run one operation on device 0: (outcome, bytes it reported moving,
    its output)."""
    if op.startswith("write"):
        cmd = f"lptctl write 0 /root/payload -m {op.split()[1]}"
    elif op.startswith("read"):
        cmd = (f"lptctl read 0 1000 /root/got -m {op.split()[1]} && "
               "{ cmp -s /root/payload /root/got && echo data=same || echo data=different; }")
    elif op == "device id":
        cmd = ("lptctl rescan && if [ -e /sys/class/lpt1284/lpt0.0 ]; then "
               "echo \"id=[$(cat /sys/class/lpt1284/lpt0.0/device_id)]\"; else echo gone; fi")
    elif op == "select":
        cmd = "lptctl select 0"         # SELECT through the port, then DESELECT
    else:
        cmd = "lptctl lock 0"           # LOCK on the device node, then UNLOCK
    result = vm.console.run(f"timeout -s KILL {HANG} sh -c '{cmd}'", HANG + 60)
    text, status = result.output, result.status
    if status in (124, 137, 143):
        return "HANG", 0, text
    moved = re.search(r"^(?:wrote|read) (\d+)$", text, re.MULTILINE)
    n = int(moved.group(1)) if moved else 0
    if status != 0:
        err = errno_of(text) or f"exit {status}"
        return (f"{err} after {n}" if n else err), n, text
    if op.startswith("write"):
        return ("ok" if n == len(PAYLOAD) else f"short {n}"), n, text
    if op.startswith("read"):
        if "data=same" in text:
            return "ok", n, text
        return (f"short {n}" if n < len(PAYLOAD) else "wrong data"), n, text
    if op == "device id":
        if "gone" in text.split():
            return "gone", 0, text
        got = re.search(r"^id=\[(.*)\]$", text, re.MULTILINE)
        assert got, text
        ident = got.group(1)
        if ident == LOOPBACK_ID:
            return "ok", 0, text
        if not ident:
            return "no id", 0, text
        return ("short id" if LOOPBACK_ID.startswith(ident) else f"wrong id {ident!r}"), 0, text
    granted = "selected t=" if op == "select" else "locked t="
    return ("ok" if granted in text else f"not granted: {text.strip()!r}"), 0, text


def prepare(vm: Machine, op: str) -> None:
    """What an operation needs before the fault: data to read back."""
    drain(vm)
    if op.startswith("read"):
        vm.console.check("lptctl write 0 /root/payload", HANG)


def settled_counts(vm: Machine, before: int, n: int) -> int:
    """The loopback's count since ``before`` once it reaches ``n`` (the
    last byte may still be in its handshake when write() returns), or
    what it is after SETTLE seconds."""
    deadline = time.monotonic() + SETTLE
    while counts(vm) - before != n and time.monotonic() < deadline:
        time.sleep(0.05)
    return counts(vm) - before


@pytest.mark.parametrize("knob", sorted(FAULTS))
def test_fault_matrix(make_machine: Callable[..., Machine], knob: str,
                      tmp_path: Path, record_property: Callable[..., None]) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(PAYLOAD)
    vm = make_machine(Chain.parse("loopback@0,printer@end"), modules="lpt1284",
                      add_files=[(payload, "/root/payload")])
    on, off = FAULTS[knob]
    row: Dict[str, str] = {}
    wrong: List[str] = []
    for op in OPS:
        prepare(vm, op)
        before = counts(vm)
        hits = counter(vm, "dropped") + counter(vm, "corrupted")
        qmp.qom_set(vm.qmp(), LOOPBACK, knob, on)
        got, n, text = run_op(vm, op)
        qmp.qom_set(vm.qmp(), LOOPBACK, knob, off)
        row[op] = got
        assert got != "HANG", (knob, op, text)
        if op.startswith("write"):
            # what the driver reported is what the loopback counted
            counted = settled_counts(vm, before, n)
            assert n == counted, (knob, op, f"reported {n}, counted {counted}", text)
            if knob in ("drop", "corrupt") and n:
                assert counter(vm, "dropped") + counter(vm, "corrupted") > hits, \
                    (knob, op, "the fault hit no byte", text)
        if got != EXPECTED[knob][op]:
            wrong.append(f"{op}: {got}, expected {EXPECTED[knob][op]}\n{text}")
        # the fault cleared, the next transfer is byte-exact
        if op in ("device id", "select", "lock"):
            vm.console.check("lptctl rescan", HANG)
        drain(vm)
        vm.console.check("lptctl write 0 /root/payload", HANG)
        out = vm.console.check("lptctl read 0 1000 /root/back; cmp /root/payload /root/back "
                               "&& echo same", HANG)
        assert out.strip().splitlines()[-1] == "same", (knob, op, out)
    record_property("fault_matrix_row", ("lpt1284.ko", knob, row))
    width = max(len(o) for o in OPS)
    print(f"\nfault matrix row: {knob}")
    for op in OPS:
        print(f"  {op:{width}}  {row[op]}")
    assert not wrong, f"{knob}: outcomes other than the README's:\n" + "\n".join(wrong)
