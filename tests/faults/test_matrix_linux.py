"""The fault matrix against Linux's own stack: lp, and ppdev through
parport_pc (the FIFO build, so ECP goes by the FIFO and DMA).

One guest per fault on loopback@0,printer@end; the knob is set on both
devices, ppdev works on daisy device 0 (ppdev_xfer -s 0, the 1284.3
select as daisy.c sends it) and lp on the end device.  Each operation
ends within its time-out (lp, which waits for a printer by design, is
killed after 8 s: "waits"), a ppdev write reports exactly the bytes the
loopback counted, and after the fault the next transfer is byte-exact.
"""

import re
import time
from pathlib import Path
from typing import Callable, Dict

import pytest

from lptrig import progs, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

from test_matrix import FAULTS

pytestmark = pytest.mark.guest

DEVICES = ("/machine/peripheral/loopback-0", "/machine/peripheral/printer-end")
OPS: Dict[str, str] = {
    "lp write": "timeout -s KILL 8 sh -c 'cat /root/payload > /dev/lp0'",
    "write compat": "ppdev_xfer -t 3 -s 0 write compat /root/payload",
    "write ecp": "ppdev_xfer -t 3 -s 0 write ecp /root/payload",
    "write epp": "ppdev_xfer -t 3 -s 0 write epp /root/payload",
    "read nibble": "ppdev_xfer -n -s 0 read nibble 1000 /root/got",
    "read byte": "ppdev_xfer -n -s 0 read byte 1000 /root/got",
    "read ecp": "ppdev_xfer -n -t 3 -s 0 read ecp 1000 /root/got",
    "read epp": "ppdev_xfer -n -t 3 -s 0 read epp 1000 /root/got",
    "device id": "ppdev_xfer -n -s 0 read deviceid-nibble 300 /root/id",
    "select": "ppdev_xfer -s 0 status",
}


def counts(vm: Machine) -> int:
    return (qmp.qom_get(vm.qmp(), DEVICES[0], "received")
            + qmp.qom_get(vm.qmp(), DEVICES[0], "dropped"))


def outcome(text: str, status: int) -> str:
    if status == 137:
        return "waits"
    if status == 0:
        return "ok"
    for pattern, name in ((r"rejected", "rejected"), (r"EIO|no IEEE 1284 answer", "EIO"),
                          (r"select 0 failed", "no select"), (r"timed out", "timed out")):
        if re.search(pattern, text):
            return name
    return f"exit {status}"


@pytest.mark.parametrize("knob", sorted(FAULTS))
def test_fault_matrix_linux(make_machine: Callable[..., Machine], knob: str,
                            tmp_path: Path, record_property: Callable[..., None]) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(bytes(range(256)) * 2)
    vm = make_machine(Chain.parse("loopback@0,printer@end"),
                      modules="parport_pc_fifo,lp,ppdev",
                      add_files=[(payload, "/root/payload"), progs.add_file("ppdev_xfer")])
    on, off = FAULTS[knob]
    row: Dict[str, str] = {}
    for op, cmd in OPS.items():
        vm.console.run("ppdev_xfer -n -s 0 read nibble 100000 /dev/null", 60)
        if op.startswith("read"):
            vm.console.check("ppdev_xfer -s 0 write compat /root/payload", 60)
        before = counts(vm)
        for path in DEVICES:
            qmp.qom_set(vm.qmp(), path, knob, on)
        result = vm.console.run(cmd, 60)
        for path in DEVICES:
            qmp.qom_set(vm.qmp(), path, knob, off)
        got = outcome(result.output, result.status)
        wrote = re.search(r"^wrote (\d+)$", result.output, re.MULTILINE)
        if op.startswith("write") and wrote:
            n = int(wrote.group(1))
            deadline = time.monotonic() + 3
            while counts(vm) - before != n and time.monotonic() < deadline:
                time.sleep(0.05)
            assert n == counts(vm) - before, (knob, op, n, counts(vm) - before)
            if n < 512:
                got = f"{got} after {n}" if got != "ok" else f"short {n}"
        row[op] = got
        # the fault cleared, the next transfer is byte-exact
        vm.console.run("ppdev_xfer -n -s 0 read nibble 100000 /dev/null", 60)
        vm.console.check("ppdev_xfer -s 0 write compat /root/payload", 60)
        out = vm.console.check("ppdev_xfer -n -s 0 read nibble 1000 /root/back && "
                               "cmp /root/payload /root/back && echo same", 60)
        assert out.strip().splitlines()[-1] == "same", (knob, op, out)
    # lp prints on after the fault
    vm.console.check("echo after > /dev/lp0", 60)
    record_property("fault_matrix_row", ("Linux's lp and ppdev", knob, row))
    width = max(len(o) for o in OPS)
    print(f"\nlinux fault matrix row: {knob}")
    for op in OPS:
        print(f"  {op:{width}}  {row[op]}")
