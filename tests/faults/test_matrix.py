"""The fault matrix: every fault knob x every lpt1284.ko operation.

One guest per fault, on the chain loopback@0,printer@end with lpt1284.ko;
the device under test is the loopback at daisy address 0 (it speaks every
mode).  For each operation the fault is set (qom-set), the operation runs
under a time-out, the fault is cleared, and then:
  - the operation ended within its time-out (no hang);
  - a write reported exactly the bytes the loopback counted (received +
    dropped);
  - after the fault, the next write and read back are byte-exact;
and the guest console shows no BUG/Oops/WARNING/hung task (the fixture).
The outcomes are printed as a table (fault x operation) into the log.
"""

import re
import time
from pathlib import Path
from typing import Callable, Dict, Tuple

import pytest

from lptrig import qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

LOOPBACK = "/machine/peripheral/loopback-0"
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
       "read epp", "device id", "select", "lock gone"]
#: outcomes the contract names for a few cells (the rest: any defined one)
EXPECTED = {
    ("paper-out", "write compat"): "ENOSPC", ("offline", "write compat"): "EIO",
    ("fault", "write compat"): "EIO", ("busy-stall", "write compat"): "ok",
    ("no-ack", "write compat"): "ok", ("drop", "write compat"): "ok",
    ("corrupt", "write compat"): "ok", ("select-fail", "select"): "EIO",
    ("negotiation-reject", "read nibble"): "EIO", ("disconnect", "select"): "EIO",
    ("disconnect", "lock gone"): "EIO",
}


def counts(vm: Machine) -> int:
    return (qmp.qom_get(vm.qmp(), LOOPBACK, "received")
            + qmp.qom_get(vm.qmp(), LOOPBACK, "dropped"))


def outcome(output: str, status: int) -> str:
    if status in (124, 137, 143):
        return "HANG"
    err = re.search(r": (E[A-Z]+) \(", output)
    return err.group(1) if err else ("ok" if status == 0 else f"exit {status}")


def drain(vm: Machine) -> None:
    vm.console.check("lptctl read 0 100000 /dev/null >/dev/null; true", 60)


def run_op(vm: Machine, op: str) -> Tuple[str, str]:
    """Run one operation on device 0; return (outcome, its output)."""
    if op.startswith("write"):
        cmd = f"lptctl write 0 /root/payload -m {op.split()[1]}"
    elif op.startswith("read"):
        cmd = f"lptctl read 0 1000 /root/got -m {op.split()[1]}"
    elif op == "device id":
        cmd = "lptctl rescan && cat /sys/class/lpt1284/lpt0.0/device_id"
    else:                               # select, lock gone: LOCK selects
        cmd = "lptctl lock 0"
    result = vm.console.run(f"timeout -s KILL 30 sh -c '{cmd}'", 60)
    return outcome(result.output, result.status), result.output


def prepare(vm: Machine, op: str) -> None:
    """What an operation needs before the fault: data to read back."""
    drain(vm)
    if op.startswith("read"):
        vm.console.check("lptctl write 0 /root/payload", 60)


@pytest.mark.parametrize("knob", sorted(FAULTS))
def test_fault_matrix(make_machine: Callable[..., Machine], knob: str,
                      tmp_path: Path, record_property: Callable[..., None]) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(bytes(range(256)) * 2)
    vm = make_machine(Chain.parse("loopback@0,printer@end"), modules="lpt1284",
                      add_files=[(payload, "/root/payload")])
    on, off = FAULTS[knob]
    row: Dict[str, str] = {}
    for op in OPS:
        prepare(vm, op)
        before = counts(vm)
        qmp.qom_set(vm.qmp(), LOOPBACK, knob, on)
        got, text = run_op(vm, op)
        qmp.qom_set(vm.qmp(), LOOPBACK, knob, off)
        if op == "device id" and got == "ok" and knob == "device-id-error":
            got = "short id" if "DES:lptrig IEEE 1284 loopback;" not in text else "ok"
        if op.startswith("write"):
            wrote = re.search(r"^wrote (\d+)$", text, re.MULTILINE)
            assert wrote, (knob, op, text)
            n = int(wrote.group(1))
            # what the driver reported is what the loopback counted (the
            # last byte may still be in its handshake when write() returns)
            deadline = time.monotonic() + 3
            while counts(vm) - before != n and time.monotonic() < deadline:
                time.sleep(0.05)
            assert n == counts(vm) - before, (knob, op, n, counts(vm) - before)
            if 0 < n < 512 and got == "ok":
                got = f"short {n}"
            elif got != "ok" and n:
                got = f"{got} after {n}"
        row[op] = got
        assert got != "HANG", (knob, op, text)
        if (knob, op) in EXPECTED:
            assert got.split()[0] == EXPECTED[(knob, op)], (knob, op, got, text)
        # the fault cleared, the next transfer is byte-exact
        if op == "lock gone" or op == "device id":
            vm.console.check("lptctl rescan", 60)
        drain(vm)
        vm.console.check("lptctl write 0 /root/payload", 60)
        out = vm.console.check("lptctl read 0 1000 /root/back; cmp /root/payload /root/back "
                               "&& echo same", 60)
        assert out.strip().splitlines()[-1] == "same", (knob, op, out)
    record_property("fault_matrix_row", ("lpt1284.ko", knob, row))
    width = max(len(o) for o in OPS)
    print(f"\nfault matrix row: {knob}")
    for op in OPS:
        print(f"  {op:{width}}  {row[op]}")
