"""The fault matrix against Linux's own stack: lp, and ppdev through
parport_pc (the FIFO build, so ECP goes by the FIFO and DMA).

One guest per fault on loopback@0,printer@end; the knob is set on both
devices, ppdev works on daisy device 0 (ppdev_xfer -s 0, the 1284.3
select as daisy.c sends it) and lp on the end device.  Each cell's outcome
is the one EXPECTED names (the README's "Fault knobs" table for Linux's
stack) and is asserted; "ok" means all of it: every byte taken and
counted by the device, a read or a Device ID byte-exact.  Every write's
count - also of a stalled one - is what the device counted.  After the
fault the next transfer is byte-exact.

Waiting is by progress, never by a fixed window: a ppdev transfer is
"stalled" when the device took no byte for IDLE seconds (ppdev_xfer -t),
and lp, which waits for a printer by design, "waits" when the printer has
taken no byte for IDLE seconds while lp still writes; then the fault is
cleared and the print must go on by itself and arrive exactly.
"""

import re
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from lptrig import progs, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

from test_matrix import FAULTS, PAYLOAD

pytestmark = pytest.mark.guest

LOOPBACK, PRINTER = "/machine/peripheral/loopback-0", "/machine/peripheral/printer-end"
#: the loopback's Device ID as a nibble-mode read gives it: two length
#: bytes (big-endian, counting themselves), then the ID
_ID = b"MFG:lptrig;MDL:Loopback;CMD:RAW;CLS:LOOPBACK;DES:lptrig IEEE 1284 loopback;"
LOOPBACK_ID = (len(_ID) + 2).to_bytes(2, "big") + _ID
#: no byte taken for this long (seconds) is a stall: a device that takes
#: bytes at all takes one every few microseconds of guest time (2 ms under
#: busy-stall), so only a guest starved of the host's CPU for 5 s on end
#: could look stalled; every stalled cell costs this much
IDLE = 5
#: a guest command that has not ended after this long hangs
HANG = 300

OPS: Dict[str, str] = {
    "lp write": "",                     # lp_write(): in the background
    "write compat": f"ppdev_xfer -t {IDLE} -s 0 write compat /root/payload",
    "write ecp": f"ppdev_xfer -t {IDLE} -s 0 write ecp /root/payload",
    "write epp": f"ppdev_xfer -t {IDLE} -s 0 write epp /root/payload",
    "read nibble": "ppdev_xfer -n -s 0 read nibble 1000 /root/got",
    "read byte": "ppdev_xfer -n -s 0 read byte 1000 /root/got",
    "read ecp": f"ppdev_xfer -n -t {IDLE} -s 0 read ecp 1000 /root/got",
    "read epp": f"ppdev_xfer -n -t {IDLE} -s 0 read epp 1000 /root/got",
    "device id": "ppdev_xfer -n -s 0 read deviceid-nibble 300 /root/id",
    "select": "ppdev_xfer -s 0 status",
}

#: The outcome of every cell (README, "Fault knobs": the table for Linux's
#: stack).  ok: see above; "waits": lp waited, and printed everything once
#: the fault was cleared; "stalled": the device took nothing for IDLE s;
#: "rejected": the peripheral refused the IEEE 1284 mode; "no select": the
#: 1284.3 select was not acknowledged; "no data": a read that got nothing;
#: "short id": the Device ID stops early.
_OK = {op: "ok" for op in OPS}
_HELD = {"lp write": "waits", "write compat": "stalled", "write ecp": "stalled",
         "write epp": "stalled"}
_UNSELECTABLE = {op: "no select" for op in OPS}
EXPECTED: Dict[str, Dict[str, str]] = {
    "busy-stall": _OK, "no-ack": _OK, "drop": _OK, "corrupt": _OK,
    "device-id-error": {**_OK, "device id": "short id"},
    "paper-out": {**_OK, **_HELD}, "offline": {**_OK, **_HELD}, "fault": {**_OK, **_HELD},
    # Linux never takes no for nibble mode (ieee1284.c: XFlag is checked
    # for every mode but 0), so it reads on from a peripheral that said no
    "negotiation-reject": {**_OK, **{op: "rejected" for op in (
        "write ecp", "write epp", "read byte", "read ecp", "read epp", "device id")},
        "read nibble": "no data"},
    # select-fail is a 1284.3 fault: the end printer, which lp prints to,
    # is never selected
    "select-fail": {**_UNSELECTABLE, "lp write": "ok"},
    "disconnect": {**_UNSELECTABLE, "lp write": "waits"},
}
assert all(list(row) == list(OPS) for row in EXPECTED.values()) and set(EXPECTED) == set(FAULTS)


def counter(vm: Machine, path: str, name: str) -> int:
    return int(qmp.qom_get(vm.qmp(), path, name))


def counts(vm: Machine, path: str = LOOPBACK) -> int:
    return counter(vm, path, "received") + counter(vm, path, "dropped")


def printed(vm: Machine) -> bytes:
    return Path(vm.chain.output_files(vm.rundir)["printer@end"]).read_bytes()


def outcome(text: str, status: int) -> str:
    if status == 0:
        return "ok"
    for pattern, name in ((r"select 0 failed", "no select"),
                          (r"rejected by the peripheral", "rejected"),
                          (r"no IEEE 1284 answer", "no answer"),
                          (r"stalled: (\d+) of the bytes taken", "stalled")):
        match = re.search(pattern, text)
        if match:
            if name == "stalled" and int(match.group(1)):
                return f"stalled after {match.group(1)}"
            return name
    return f"exit {status}"


def lp_write(vm: Machine) -> str:
    """Start ``cat payload > /dev/lp0`` (lp's blocking write) and follow
    it: "ok" when it ends with status 0, "exit N" otherwise, "waits" when
    the printer has taken no byte for IDLE seconds while it writes."""
    vm.console.check("rm -f /tmp/lp.rc; (cat /root/payload > /dev/lp0; echo $? > /tmp/lp.rc) "
                     "</dev/null >/dev/null 2>&1 &")
    deadline = time.monotonic() + HANG
    last, since = counts(vm, PRINTER), time.monotonic()
    while True:
        rc = vm.console.run("cat /tmp/lp.rc 2>/dev/null", 60).output.strip()
        if rc:
            return "ok" if rc == "0" else f"exit {rc}"
        now, taken = time.monotonic(), counts(vm, PRINTER)
        if taken != last:
            last, since = taken, now
        elif now - since > IDLE:
            return "waits"
        assert now < deadline, f"lp still printing after {HANG} s"
        time.sleep(0.2)


def lp_goes_on(vm: Machine) -> str:
    """After "waits" and the fault cleared: lp must finish by itself."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        rc = vm.console.run("cat /tmp/lp.rc 2>/dev/null", 60).output.strip()
        if rc:
            return "waits" if rc == "0" else f"waits, then exit {rc}"
        time.sleep(0.2)
    return "waits for ever"


def run_op(vm: Machine, op: str) -> Tuple[str, str]:
    """Run a ppdev operation: (outcome, its output)."""
    cmd = OPS[op]
    if op.startswith("read"):
        cmd += " && { cmp -s /root/payload /root/got && echo data=same || echo data=different; }"
    elif op == "device id":
        cmd += " && echo \"id=$(od -An -v -tx1 /root/id | tr -d ' \\n')\""
    result = vm.console.run(cmd, HANG)
    got = outcome(result.output, result.status)
    text = result.output
    if got != "ok":
        return got, text
    if op.startswith("read"):
        n = int(re.search(r"^read (\d+)$", text, re.MULTILINE).group(1))  # type: ignore
        if "data=same" in text:
            return "ok", text
        return ("no data" if n == 0 else f"short {n}" if n < len(PAYLOAD)
                else "wrong data"), text
    if op == "device id":
        ident = bytes.fromhex(re.search(r"^id=([0-9a-f]*)$", text, re.MULTILINE).group(1))  # type: ignore
        if ident == LOOPBACK_ID:
            return "ok", text
        return ("no id" if not ident else "short id" if LOOPBACK_ID.startswith(ident)
                else f"wrong id {ident!r}"), text
    return got, text


def moved(text: str) -> int:
    """The bytes a ppdev write reported taken, stalled or not."""
    match = re.search(r"^wrote (\d+)$|stalled: (\d+) of the bytes taken", text, re.MULTILINE)
    return int(match.group(1) or match.group(2)) if match else 0


@pytest.mark.parametrize("knob", sorted(FAULTS))
def test_fault_matrix_linux(make_machine: Callable[..., Machine], knob: str,
                            tmp_path: Path, record_property: Callable[..., None]) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(PAYLOAD)
    vm = make_machine(Chain.parse("loopback@0,printer@end"),
                      modules="parport_pc_fifo,lp,ppdev",
                      add_files=[(payload, "/root/payload"), progs.add_file("ppdev_xfer")])
    on, off = FAULTS[knob]
    row: Dict[str, str] = {}
    wrong: List[str] = []
    for op in OPS:
        vm.console.run("ppdev_xfer -n -s 0 read nibble 100000 /dev/null", HANG)
        if op.startswith("read"):
            vm.console.check("ppdev_xfer -s 0 write compat /root/payload", HANG)
        before, on_paper = counts(vm), len(printed(vm))
        lp_before = counter(vm, PRINTER, "received"), counter(vm, PRINTER, "dropped")
        for path in (LOOPBACK, PRINTER):
            qmp.qom_set(vm.qmp(), path, knob, on)
        if op == "lp write":
            got, text = lp_write(vm), ""
        else:
            got, text = run_op(vm, op)
        for path in (LOOPBACK, PRINTER):
            qmp.qom_set(vm.qmp(), path, knob, off)
        if got == "waits":
            got = lp_goes_on(vm)
        if op == "lp write" and got in ("ok", "waits"):
            # every byte reached the printer once, in order (drop and
            # corrupt: every byte was taken, counted, some lost or changed)
            received = counter(vm, PRINTER, "received") - lp_before[0]
            dropped = counter(vm, PRINTER, "dropped") - lp_before[1]
            new = printed(vm)[on_paper:]
            assert (received + dropped, len(new)) == (len(PAYLOAD), received), (knob, op)
            if knob not in ("drop", "corrupt"):
                assert new == PAYLOAD, (knob, op, "the printer got other bytes")
            else:
                assert new != PAYLOAD, (knob, op, "the fault hit no byte")
        if op.startswith("write"):
            # what ppdev reported taken is what the loopback counted, also
            # when the write stalled or never started
            n = moved(text)
            deadline = time.monotonic() + 60
            while counts(vm) - before != n and time.monotonic() < deadline:
                time.sleep(0.05)
            assert n == counts(vm) - before, (knob, op, n, counts(vm) - before, text)
        row[op] = got
        if got != EXPECTED[knob][op]:
            wrong.append(f"{op}: {got}, expected {EXPECTED[knob][op]}\n{text}")
        # the fault cleared, the next transfer is byte-exact
        vm.console.run("ppdev_xfer -n -s 0 read nibble 100000 /dev/null", HANG)
        vm.console.check("ppdev_xfer -s 0 write compat /root/payload", HANG)
        out = vm.console.check("ppdev_xfer -n -s 0 read nibble 1000 /root/back && "
                               "cmp /root/payload /root/back && echo same", HANG)
        assert out.strip().splitlines()[-1] == "same", (knob, op, out)
    # lp prints on after the fault
    vm.console.check("echo after > /dev/lp0", HANG)
    record_property("fault_matrix_row", ("Linux's lp and ppdev", knob, row))
    width = max(len(o) for o in OPS)
    print(f"\nlinux fault matrix row: {knob}")
    for op in OPS:
        print(f"  {op:{width}}  {row[op]}")
    assert not wrong, f"{knob}: outcomes other than the README's:\n" + "\n".join(wrong)
