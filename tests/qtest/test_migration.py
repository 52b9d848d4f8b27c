"""qtest: every piece of device state survives migration (VMState).

The source QEMU is migrated to a file; a second QEMU loads it with
-incoming and must read back the same registers, FIFO contents, cable
levels, and peripheral state (the loopback's queued bytes, the printer's
fault knobs).

A corrupted stream is refused: a field of the controller's, the chain's or
a peripheral's section set to an impossible value (found by name in the
stream's own JSON description, so the tests follow the VMState layout)
makes the destination fail the load - QEMU 7.2 then exits with status 1
and "load of migration failed" - and never crash; random bytes in a random
field are refused or leave a port that still works: the chain answers a
scan and selects, and each printer gets exactly the bytes sent to it.  A
load that neither completes nor fails (a hang) fails the test, as does a
migration that does not finish within DEADLINE.  The unchanged stream must
complete and go on exactly where the source stopped.
"""

import json
import random
import re
import struct
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from lptrig import qmp
from lptrig.chain import Chain, Peripheral
from lptrig.qtest import QTest

from host1284 import (CONTROL, DATA, DESELECT_ALL, ECR, FIFO, NIBBLE, PPFIFO, PS2, S_BUSY,
                      S_ERROR, SELECT, STATUS, STEP, TEST, CppFailed, Host, assign_addrs, cpp,
                      print_compat, select)

CHAIN = "/machine/peripheral/lpt0/lpt0.0"


#: how long a migration of these few-KiB streams may take before the test
#: calls it a hang: it takes a fraction of a second, so only a hang (or a
#: host stalled for minutes) comes near this
DEADLINE = 120.0


def wait_status(mon: Any, what: str, done: Tuple[str, ...], bad: Tuple[str, ...] = ()) -> str:
    """Poll query-migrate until its status is one of ``done`` (returned) or
    ``bad`` (an AssertionError), within DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    status = None
    while time.monotonic() < deadline:
        status = mon.command("query-migrate").get("status")
        if status in done:
            return status
        assert status not in bad, f"{what}: migration status {status!r}"
        time.sleep(0.05)
    raise AssertionError(f"{what}: still {status!r} after {DEADLINE:g} s")


def migrate_to(qt: QTest, path: Path) -> None:
    mon = qt.qmp()
    mon.command("migrate", uri=f"exec:cat > {path}")
    wait_status(mon, "outgoing migration", ("completed",), ("failed", "cancelled"))


@contextmanager
def load_from(rundir: Path, chain: Optional[Chain], image: Path,
              extra_args: Optional[List[str]] = None) -> Iterator[QTest]:
    """A second QEMU with the same devices, loaded from ``image``."""
    with QTest(rundir, chain, extra_args=["-incoming", "defer"] + (extra_args or [])) as dst:
        mon = dst.qmp()
        mon.command("migrate-incoming", uri=f"exec:cat {image}")
        wait_status(mon, "incoming migration", ("completed",), ("failed",))
        yield dst


def test_two_ports_with_the_same_peripherals(tmp_path: Path) -> None:
    """Each peripheral's migration id names its own port: no clash, no abort."""
    args = ["-device", "isa-lpt1284,id=lpt0",
            "-device", "ieee1284-printer,bus=lpt0.0",
            "-device", "ieee1284-loopback,bus=lpt0.0,addr=0",
            "-device", "isa-lpt1284,id=lpt1,iobase=0x278,irq=5,dma=1",
            "-device", "ieee1284-printer,bus=lpt1.0",
            "-device", "ieee1284-loopback,bus=lpt1.0,addr=0",
            # and a third port without an id
            "-device", "isa-lpt1284,iobase=0x260,irq=6,dma=-1",
            "-device", "ieee1284-printer,bus=lpt1284-chain.0"]
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", None, extra_args=args) as src:
        host = Host(src)
        assert host.negotiate(NIBBLE)           # port 0x378 is alive
        host.terminate()
        assert src.inb(0x279) & 0xF8 == 0xD8    # so is 0x278: idle printer
        migrate_to(src, image)
    with load_from(tmp_path / "dst", None, image, args) as dst:
        assert dst.inb(0x279) & 0xF8 == 0xD8


def test_fifo_bytes_survive_migration(tmp_path: Path) -> None:
    """Bytes still queued in the FIFO are neither run into the peripheral
    while it loads (and then overwritten) nor lost."""
    chain = Chain((Peripheral("loopback", None, (("size", "4"),)),))
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", chain) as src:
        src.outb(ECR, PS2 | 0x14)
        src.outb(CONTROL, 0x0C)
        src.outb(ECR, PPFIFO | 0x14)
        for byte in b"abcdefgh":
            src.outb(FIFO, byte)
        ecr = src.inb(ECR)
        assert ecr & 0x01 == 0                  # 4 bytes queued: loopback full
        migrate_to(src, image)
    with load_from(tmp_path / "dst", chain, image) as dst:
        dst.clock_step(1_000_000)
        assert dst.inb(ECR) == ecr              # still queued, not run away
        host = Host(dst)                        # PS/2 mode: resets the FIFO
        assert host.negotiate(NIBBLE)
        assert host.read_nibble(64) == b"abcd"


def test_selection_survives_migration(tmp_path: Path) -> None:
    chain = Chain.parse("printer@0,printer@1,printer@end")
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", chain) as src:
        src.outb(ECR, PS2 | 0x14)
        assert assign_addrs(src) == 2
        assert select(src, 1)
        print_compat(src, b"before ")
        migrate_to(src, image)
    with load_from(tmp_path / "dst", chain, image) as dst:
        print_compat(dst, b"after")             # still device 1
        assert select(dst, 0)                   # and the addresses stayed
        print_compat(dst, b"zero")
        out = {name: path.read_bytes()
               for name, path in chain.output_files(dst.rundir).items()}
        assert out == {"printer@0": b"zero", "printer@1": b"after", "printer@end": b""}


def test_state_survives_migration(tmp_path: Path) -> None:
    chain = Chain.parse("loopback@end")
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", chain) as src:
        host = Host(src)
        for byte in b"migrate me":              # queued in the loopback
            src.outb(DATA, byte)
            host.frob(0x01, 0x01)
            host.frob(0x01, 0x00)
            assert host.wait(0x80, 0x80)
        src.outb(ECR, TEST | 0x14)
        for byte in (1, 2, 3):                  # in the FIFO
            src.outb(FIFO, byte)
        src.outb(DATA, 0x99)
        src.outb(CONTROL, 0x0E)
        before = [src.inb(p) for p in (DATA, STATUS, CONTROL, ECR)]
        lines = [qmp.qom_get(src.qmp(), CHAIN, p) for p in ("host-data", "host-control")]
        migrate_to(src, image)

    with load_from(tmp_path / "dst", chain, image) as dst:
        assert [dst.inb(p) for p in (DATA, STATUS, CONTROL, ECR)] == before
        assert [qmp.qom_get(dst.qmp(), CHAIN, p)
                for p in ("host-data", "host-control")] == lines
        assert [dst.inb(FIFO) for _ in range(3)] == [1, 2, 3]
        dst.outb(ECR, 0x34)
        dst.outb(CONTROL, 0x0C)
        host = Host(dst)
        assert host.negotiate(NIBBLE)
        assert host.read_nibble(64) == b"migrate me"


# -- the data lines hold 0xAA at the switch ------------------------------------

@pytest.mark.parametrize("packet", ["deselect", "select"])
def test_a_command_packet_after_data_ending_in_0xaa(tmp_path: Path, packet: str) -> None:
    """The last byte printed before the switch was 0xAA, the first byte of
    the 1284.3 prefix, so the data lines still hold it when the next command
    packet begins: Linux's cpp_daisy() writes AA again and the lines do not
    change.  After the load that packet is still seen: a deselect (after
    bytes to a selected daisy device), and the end device gets the next
    bytes; or a select (after bytes to the end device), and the daisy device
    gets them.  (Not specific to migration: the same sequence fails without
    one when the devices miss the packet.)"""
    chain = Chain.parse("printer@0,printer@end")
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", chain) as src:
        src.outb(ECR, PS2 | 0x14)
        assert assign_addrs(src) == 1
        if packet == "deselect":
            assert select(src, 0)
        print_compat(src, b"before \xaa")
        assert qmp.qom_get(src.qmp(), CHAIN, "host-data") == 0xAA
        migrate_to(src, image)
    with load_from(tmp_path / "dst", chain, image) as dst:
        try:
            status = cpp(dst, DESELECT_ALL if packet == "deselect" else SELECT + 0)
        except CppFailed as exc:
            raise AssertionError(
                f"the {packet} packet after a data byte 0xAA was not answered ({exc}): "
                "the daisy devices missed its AA, already on the lines") from None
        if packet == "select":
            assert status & S_ERROR, f"select 0 not acknowledged (status {status:#04x})"
        print_compat(dst, b"after")
        out = {name: path.read_bytes()
               for name, path in chain.output_files(dst.rundir).items()}
        assert out == ({"printer@0": b"", "printer@end": b"after"} if packet == "deselect"
                       else {"printer@0": b"after", "printer@end": b""})
    src_out = {name: path.read_bytes()
               for name, path in chain.output_files(tmp_path / "src").items()}
    assert src_out == ({"printer@0": b"before \xaa", "printer@end": b""}
                       if packet == "deselect"
                       else {"printer@0": b"", "printer@end": b"before \xaa"})


# -- a corrupted stream is refused ----------------------------------------------

#: the chain of the corrupted-stream tests: a daisy printer, a daisy
#: loopback and an end printer, with some state in each
CORRUPT_SPEC = "printer@0,loopback@1,printer@end"
#: what a refusal leaves in qemu.log, and what a crash or a sanitizer would
REFUSED = "load of migration failed"
CRASHED = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
           "Assertion", "Aborted", "Segmentation fault", "core dumped", "LeakSanitizer")


def stream_description(stream: bytes) -> Tuple[int, Dict[str, Any]]:
    """Where the stream's JSON description (QEMU_VM_VMDESCRIPTION, last)
    starts, and what it says: each device's fields with their sizes."""
    start = stream.rfind(b'{"page_size"')
    assert start > 5 and stream[start - 5] == 0x06, "no VM description at the end"
    assert struct.unpack(">I", stream[start - 4:start])[0] == len(stream) - start
    return start, json.loads(stream[start:].decode())


def section_fields(stream: bytes, idstr: str) -> Tuple[int, List[Dict[str, Any]]]:
    """The offset of the fields of device section ``idstr`` in the stream
    (after its QEMU_VM_SECTION_FULL header) and their description."""
    end, desc = stream_description(stream)
    (device,) = [d for d in desc["devices"] if d["name"] == idstr]
    name = idstr.encode()
    header = (bytes([len(name)]) + name + struct.pack(">II", device["instance_id"],
                                                      device["version"]))
    found = [m.start() for m in re.finditer(re.escape(header), stream[:end])
             if stream[m.start() - 5] == 0x04]   # QEMU_VM_SECTION_FULL, section id
    assert len(found) == 1, f"section {idstr}: {len(found)} headers"
    return found[0] + len(header), device["fields"]


def field_span(fields: List[Dict[str, Any]], path: List[str]) -> Tuple[int, int]:
    """Offset (within the fields) and element size of field ``path``
    ("state", "chain", "orphan_phase"); an array gives its first element."""
    offset = 0
    for entry in fields:
        if entry["name"] == path[0]:
            if len(path) == 1:
                return offset, entry["size"]
            inner, size = field_span(entry["struct"]["fields"], path[1:])
            return offset + inner, size
        offset += entry["size"] * entry.get("array_len", 1)
    raise KeyError(f"no field {path[0]} in {[f['name'] for f in fields]}")


def corrupted(stream: bytes, idstr: str, path: str, value: int) -> bytes:
    """``stream`` with field ``path`` of device ``idstr`` set to ``value``
    (big-endian, as VMState writes it; negative values two's complement)."""
    base, fields = section_fields(stream, idstr)
    offset, size = field_span(fields, path.split("."))
    raw = (value % (1 << (8 * size))).to_bytes(size, "big")
    at = base + offset
    return stream[:at] + raw + stream[at + size:]


def device_ids(stream: bytes) -> Dict[str, str]:
    """Section name of each device of the chain by spec name
    (``isa-lpt1284``, ``printer@0``, ``loopback@1``, ``printer@end``)."""
    _, desc = stream_description(stream)
    names = [d["name"] for d in desc["devices"]]
    ids = {"isa-lpt1284": next(n for n in names if n.endswith("isa-lpt1284"))}
    for name in names:
        match = re.search(r"lpt1284-(\d|end)/ieee1284-(printer|loopback)$", name)
        if match:
            ids[f"{match.group(2)}@{match.group(1)}"] = name
    return ids


@pytest.fixture(scope="module")
def busy_stream(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A migration stream of the CORRUPT_SPEC chain with state in each
    section: 1284.3 addresses assigned, the loopback selected and holding
    bytes, three bytes in the FIFO (test mode)."""
    rundir = tmp_path_factory.mktemp("stream")
    chain = Chain.parse(CORRUPT_SPEC)
    with QTest(rundir / "src", chain) as src:
        src.outb(ECR, PS2 | 0x14)
        assert assign_addrs(src) == 2
        assert select(src, 1)
        print_compat(src, b"queued in the loopback")
        src.outb(ECR, TEST | 0x14)
        for byte in (1, 2, 3):
            src.outb(FIFO, byte)
        migrate_to(src, rundir / "vmstate.bin")
    return (rundir / "vmstate.bin").read_bytes()


#: the fault knobs of every peripheral at their defaults (qom-set values)
KNOBS_OFF = {"paper-out": False, "offline": False, "fault": False, "disconnect": False,
             "select-fail": False, "negotiation-reject": False, "no-ack": False,
             "drop": 0, "corrupt": 0, "busy-stall": 0, "device-id-error": "off",
             "arm": "none"}


def outputs(qt: QTest) -> Dict[str, bytes]:
    """What each peripheral of ``qt``'s chain has written to its file."""
    assert qt.chain is not None
    return {name: path.read_bytes() for name, path in qt.chain.output_files(qt.rundir).items()}


def print_checked(host: Host, data: bytes) -> None:
    """Compatibility-mode bytes as lp sends them: wait until the device is
    not Busy (time passing), strobe, and fail if it stays Busy."""
    for byte in data:
        assert host.wait(S_BUSY, S_BUSY), f"Busy before {byte:#04x} (status {host.status():#04x})"
        print_compat(host.qt, bytes([byte]))
    assert host.wait(S_BUSY, S_BUSY), f"Busy after the last byte (status {host.status():#04x})"


def the_busy_state_goes_on(dst: QTest) -> None:
    """After the unchanged stream: exactly where busy_stream stopped - the
    FIFO in test mode with 1, 2, 3, the loopback selected and holding what
    was printed to it - and the port works on from there."""
    assert dst.inb(ECR) & 0xE0 == TEST
    assert [dst.inb(FIFO) for _ in range(3)] == [1, 2, 3]
    host = Host(dst)                       # PS/2 mode, as the driver sets it
    print_checked(host, b", and more")      # still to the selected loopback
    assert host.negotiate(NIBBLE), "the loopback refused nibble mode"
    assert host.read_nibble(64) == b"queued in the loopback, and more"
    host.terminate()
    assert outputs(dst) == {"printer@0": b"", "loopback@1": b", and more", "printer@end": b""}


def the_port_works(dst: QTest) -> None:
    """After a stream with a random byte changed was taken: once the fault
    knobs are back at their defaults (a flipped knob is a valid state) and
    the host resets the cable (nInit) and scans as Linux does, the chain
    answers and each printer gets exactly the bytes sent to it.  What a
    printer had buffered (a flipped length) is flushed at the load: only
    what comes after it counts."""
    before = outputs(dst)
    for name in ("printer-0", "loopback-1", "printer-end"):
        for knob, value in KNOBS_OFF.items():
            qmp.qom_set(dst.qmp(), f"/machine/peripheral/{name}", knob, value)
    host = Host(dst)
    host.control(0x08)                     # nInit low: every device back to compat
    dst.clock_step(STEP)
    host.control(0x0C)
    assert assign_addrs(dst) == 2, "the daisy chain does not answer a scan"
    assert select(dst, 0), "select 0 not acknowledged"
    print_checked(host, b"to zero")
    assert select(dst, 1), "select 1 not acknowledged"
    assert host.negotiate(NIBBLE), "the loopback refused nibble mode"
    host.terminate()
    cpp(dst, DESELECT_ALL)
    print_checked(host, b"to the end")
    assert host.negotiate(NIBBLE), "the end printer refused nibble mode"
    host.terminate()
    after = outputs(dst)
    new = {name: after[name][len(before[name]):] for name in after}
    assert after["printer@0"].startswith(before["printer@0"])
    assert after["printer@end"].startswith(before["printer@end"])
    assert (new["printer@0"], new["printer@end"]) == (b"to zero", b"to the end"), new


def load(rundir: Path, stream: bytes, check: Callable[[QTest], None]) -> Tuple[str, str]:
    """Load ``stream`` into a fresh QEMU with the same chain.  Returns
    ("refused", log) when QEMU reported that the load failed (status
    "failed" and exit status 1 with "load of migration failed": QEMU 7.2's
    way), or ("completed", log) when it took the stream, after ``check``
    passed on the loaded machine and QEMU stayed up.  A load that does
    neither within DEADLINE is a hang: an AssertionError, never a refusal."""
    image = rundir / "corrupt.bin"
    rundir.mkdir(parents=True, exist_ok=True)
    image.write_bytes(stream)
    dst = QTest(rundir / "dst", Chain.parse(CORRUPT_SPEC), extra_args=["-incoming", "defer"])
    with dst:
        mon = dst.qmp()
        mon.command("migrate-incoming", uri=f"exec:cat {image}")
        proc = dst._proc  # pylint: disable=protected-access
        assert proc is not None
        deadline = time.monotonic() + DEADLINE
        status = None
        while proc.poll() is None and status not in ("completed", "failed"):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the load neither completed nor failed within {DEADLINE:g} s "
                    f"(incoming migration status {status!r}): QEMU hangs on this stream")
            try:
                status = mon.command("query-migrate").get("status")
            except Exception:  # pylint: disable=broad-except
                pass        # QEMU exits when a load fails: the monitor goes
            time.sleep(0.05)
        if status == "completed" and proc.poll() is None:
            check(dst)
            assert proc.poll() is None, "QEMU died after taking the stream"
            outcome = "completed"
        else:
            try:
                proc.wait(max(deadline - time.monotonic(), 1.0))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the load failed (status {status!r}) but QEMU is "
                                     f"still running after {DEADLINE:g} s") from None
            outcome = "refused"
        code = proc.poll()
    log = (rundir / "dst" / "qemu.log").read_text(errors="replace")
    assert not any(bad in log for bad in CRASHED), f"QEMU crashed:\n{log}"
    if outcome == "refused":
        assert code == 1 and REFUSED in log, \
            f"QEMU ended (exit status {code}, last status {status!r}) without refusing:\n{log}"
    return outcome, log


# (device, field, value, what is wrong)
IMPOSSIBLE = [
    ("isa-lpt1284", "state.ecr", 0xA0, "ECR mode 5, a reserved mode"),
    ("isa-lpt1284", "state.ctrl", 0xFF, "control bits 6-7, which the register lacks"),
    ("isa-lpt1284", "state.fifo_count", 17, "a FIFO count beyond the 16-entry FIFO"),
    ("isa-lpt1284", "state.fifo_count", 0xFFFFFFFF, "a FIFO count of 2^32-1"),
    ("isa-lpt1284", "state.fifo_head", 16, "a FIFO head outside the FIFO"),
    ("isa-lpt1284", "state.fifo_head", 0x80000000, "a FIFO head of 2^31"),
    ("isa-lpt1284", "state.chain.host_ctrl", 0xF0, "control lines the cable lacks"),
    ("isa-lpt1284", "state.chain.status", 0x07, "status lines the cable lacks"),
    ("isa-lpt1284", "state.chain.orphan_phase", 0xFF, "a 1284.3 prefix phase > 6"),
    ("printer@0", "parent_obj.phase", 0xFF, "an IEEE 1284 phase beyond the last"),
    ("printer@0", "parent_obj.phase", 15, "the first phase past the last"),
    ("printer@0", "parent_obj.dot3_addr", 4, "a 1284.3 address > 3"),
    ("printer@0", "parent_obj.dot3_addr", -2, "a 1284.3 address < -1"),
    ("printer@0", "parent_obj.dot3_phase", 7, "a 1284.3 packet phase > 6"),
    ("printer@0", "parent_obj.dot3_mode", 3, "a 1284.3 select mode > ECP"),
    ("printer@0", "parent_obj.rle_left", 0x81, "an RLE run > 128"),
    ("printer@0", "parent_obj.devid_error", 3, "device-id-error beyond truncated"),
    ("printer@0", "parent_obj.arm", 0xFF, "an arm knob that does not exist"),
    ("printer@0", "parent_obj.busy_stall", -2, "busy-stall < -1"),
    ("printer@0", "parent_obj.status", 0x07, "status lines the cable lacks"),
    ("printer@0", "parent_obj.steady", 0x80, "Busy as a steady line"),
    ("printer@0", "len", 4097, "more buffered bytes than the 4 KiB buffer"),
    ("printer@end", "parent_obj.selected", 1, "the end device selected (not 1284.3)"),
    ("printer@end", "parent_obj.dot3_phase", 1, "the end device in a 1284.3 packet"),
    ("loopback@1", "head", 65536, "a loopback head outside its buffer"),
    ("loopback@1", "len", 65537, "a loopback holding more than its size"),
    ("loopback@1", "size", 4, "a loopback of another size"),
]


@pytest.mark.parametrize("device,path,value,what", IMPOSSIBLE,
                         ids=[f"{d}:{p}={v}" for d, p, v, _ in IMPOSSIBLE])
def test_an_impossible_value_is_refused(tmp_path: Path, busy_stream: bytes, device: str,
                                        path: str, value: int, what: str) -> None:
    idstr = device_ids(busy_stream)[device]
    outcome, log = load(tmp_path, corrupted(busy_stream, idstr, path, value),
                        the_port_works)
    assert outcome == "refused", f"{what} was taken:\n{log}"
    assert f"of device '{idstr}'" in log, f"{what}: refused, but not by {idstr}:\n{log}"


def test_the_unchanged_stream_loads(tmp_path: Path, busy_stream: bytes) -> None:
    """The control for the tests above: the same stream, not corrupted,
    completes, and the port goes on exactly where the source stopped."""
    outcome, log = load(tmp_path, busy_stream, the_busy_state_goes_on)
    assert outcome == "completed", f"the good stream was refused:\n{log}"


def random_flip(stream: bytes, seed: int) -> Tuple[bytes, str]:
    """``stream`` with one random byte of a random field of a random device
    of the chain set to a random value, and what was changed."""
    rng = random.Random(seed)
    ids = device_ids(stream)
    device = rng.choice(sorted(ids))
    base, fields = section_fields(stream, ids[device])

    def leaves(entries: List[Dict[str, Any]], prefix: str, offset: int) -> \
            List[Tuple[str, int, int]]:
        out = []
        for entry in entries:
            size = entry["size"] * entry.get("array_len", 1)
            if entry.get("type") == "struct" and "struct" in entry:
                out += leaves(entry["struct"]["fields"], prefix + entry["name"] + ".", offset)
            else:
                out.append((prefix + entry["name"], offset, size))
            offset += size
        return out

    name, offset, size = rng.choice(leaves(fields, "", 0))
    at = base + offset + rng.randrange(size)
    value = rng.randrange(256)
    what = (f"seed {seed}: {device} field {name} byte {at - base - offset}: "
            f"{stream[at]:#04x} -> {value:#04x}")
    return stream[:at] + bytes([value]) + stream[at + 1:], what


@pytest.mark.parametrize("seed", range(32))
def test_random_bytes_in_the_device_sections(tmp_path: Path, busy_stream: bytes,
                                             seed: int) -> None:
    """A random field of a random device of the chain gets a random byte:
    the destination refuses the stream, or takes it and the port still
    works (the_port_works); it never crashes or hangs."""
    stream, what = random_flip(busy_stream, seed)
    print(what)
    outcome, _ = load(tmp_path, stream, the_port_works)
    print(f"{what}: {outcome}")
