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
field are refused or leave a port that still works.
"""

import json
import random
import re
import struct
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from lptrig import qmp
from lptrig.chain import Chain, Peripheral
from lptrig.qtest import QTest

from host1284 import (CONTROL, DATA, DESELECT_ALL, ECR, FIFO, NIBBLE, PPFIFO, PS2, S_ERROR,
                      SELECT, STATUS, TEST, CppFailed, Host, assign_addrs, cpp, print_compat,
                      select)

CHAIN = "/machine/peripheral/lpt0/lpt0.0"


def migrate_to(qt: QTest, path: Path) -> None:
    mon = qt.qmp()
    mon.command("migrate", uri=f"exec:cat > {path}")
    for _ in range(200):
        status = mon.command("query-migrate").get("status")
        if status == "completed":
            return
        assert status not in ("failed", "cancelled"), status
        time.sleep(0.05)
    raise AssertionError("migration did not complete")


@contextmanager
def load_from(rundir: Path, chain: Optional[Chain], image: Path,
              extra_args: Optional[List[str]] = None) -> Iterator[QTest]:
    """A second QEMU with the same devices, loaded from ``image``."""
    with QTest(rundir, chain, extra_args=["-incoming", "defer"] + (extra_args or [])) as dst:
        mon = dst.qmp()
        mon.command("migrate-incoming", uri=f"exec:cat {image}")
        for _ in range(200):
            if mon.command("query-migrate").get("status") == "completed":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("incoming migration did not complete")
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


def load_refused(rundir: Path, stream: bytes) -> Tuple[Optional[int], str]:
    """Load ``stream`` into a fresh QEMU with the same chain: its exit status
    (None if it is still running: the stream was taken) and its log."""
    image = rundir / "corrupt.bin"
    rundir.mkdir(parents=True, exist_ok=True)
    image.write_bytes(stream)
    dst = QTest(rundir / "dst", Chain.parse(CORRUPT_SPEC), extra_args=["-incoming", "defer"])
    with dst:
        mon = dst.qmp()
        mon.command("migrate-incoming", uri=f"exec:cat {image}")
        proc = dst._proc  # pylint: disable=protected-access
        assert proc is not None
        deadline = time.monotonic() + 30
        status = None
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                status = mon.command("query-migrate").get("status")
            except Exception:  # pylint: disable=broad-except
                pass        # QEMU exits when a load fails: the monitor goes
            if status in ("completed", "failed"):
                break
            time.sleep(0.05)
        if status == "completed":
            # taken: the port must still work, and QEMU stay up
            host = Host(dst)
            for _ in range(3):
                dst.inb(STATUS)
            host.negotiate(NIBBLE)
            host.terminate()
            print_compat(dst, b"after")
            dst.clock_step(10_000_000)
            assert proc.poll() is None, "QEMU died after taking the stream"
        else:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        code = proc.poll()
    log = (rundir / "dst" / "qemu.log").read_text(errors="replace")
    return code, log


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
    code, log = load_refused(tmp_path, corrupted(busy_stream, idstr, path, value))
    assert not any(bad in log for bad in CRASHED), f"{what}: QEMU crashed:\n{log}"
    assert code == 1, f"{what} was not refused (exit status {code}):\n{log}"
    assert REFUSED in log, log
    assert f"of device '{idstr}'" in log, f"{what}: refused, but not by {idstr}:\n{log}"


def test_the_unchanged_stream_loads(tmp_path: Path, busy_stream: bytes) -> None:
    """The control for the tests above: the same stream, not corrupted, loads."""
    code, log = load_refused(tmp_path, busy_stream)
    assert code is None, f"the good stream was refused (exit status {code}):\n{log}"


@pytest.mark.parametrize("seed", range(32))
def test_random_bytes_in_the_device_sections(tmp_path: Path, busy_stream: bytes,
                                             seed: int) -> None:
    """A random field of a random device of the chain gets random bytes: the
    destination refuses the stream, or takes it and the port still works;
    it never crashes."""
    rng = random.Random(seed)
    ids = device_ids(busy_stream)
    device = rng.choice(sorted(ids))
    base, fields = section_fields(busy_stream, ids[device])

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
    stream = busy_stream[:at] + bytes([value]) + busy_stream[at + 1:]
    code, log = load_refused(tmp_path, stream)
    what = f"seed {seed}: {device} field {name} byte {at - base - offset} = {value:#04x}"
    assert not any(bad in log for bad in CRASHED), f"{what}: QEMU crashed:\n{log}"
    if code is not None:
        assert code == 1 and REFUSED in log, f"{what}: exit status {code}:\n{log}"
