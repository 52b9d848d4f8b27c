"""qtest: the IEEE 1284.3 daisy chain at register level, without a guest.

The host side is Linux's drivers/parport/daisy.c, step for step
(host1284.cpp, assign_addrs): every status pattern of the command packet,
address assignment for 0-4 devices, select and deselect in each mode, and
that bytes written while device N is selected reach device N only.
"""

from pathlib import Path
from typing import Callable, Dict

import pytest

from lptrig import qmp
from lptrig.qtest import QTest

from host1284 import (CONTROL, DATA, DESELECT_ALL, ECP, ECP_SELECT, ECR, EPP, EPP_ADDR,
                      EPP_DATA, EPP_SELECT, FIFO, PS2, S_ACK, S_BUSY, S_ERROR, S_PERROR,
                      S_SELECT, STATUS, CppFailed, Host, assign_addrs, cpp,
                      cpp_prefix, print_compat, select)

#: status register of an idle, healthy printer at the end of the chain
PRINTER_IDLE = S_BUSY | S_ACK | S_SELECT | S_ERROR
#: status register of a cable with nothing attached: every line floats high
FLOATING = 0x7F

CHAIN4 = "printer@0,loopback@1,printer@2,loopback@3,printer@end"


def outputs(qt: QTest) -> Dict[str, bytes]:
    assert qt.chain is not None
    return {name: path.read_bytes() if path.exists() else b""
            for name, path in qt.chain.output_files(qt.rundir).items()}


def test_packet_step_by_step(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@1,printer@end")
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE

    # The first bytes of the prefix change nothing yet
    for byte in (0xAA, 0x55, 0x00):
        qt.outb(DATA, byte)
        assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    qt.outb(DATA, 0xFF)                 # Busy low, PError, Select, nFault high
    assert qt.inb(STATUS) & 0xF8 == S_BUSY | S_ACK | S_PERROR | S_SELECT | S_ERROR
    qt.outb(DATA, 0x87)                 # Busy high, PError low
    assert qt.inb(STATUS) & 0xF8 == S_ACK | S_SELECT | S_ERROR
    qt.outb(DATA, 0x78)                 # device 0 answers: not the last one
    assert qt.inb(STATUS) & 0xF8 == S_BUSY | S_ACK | S_PERROR | S_SELECT | S_ERROR

    qt.outb(DATA, 0x00)                 # assign address 0
    assert qt.inb(STATUS) & 0xF8 == S_BUSY | S_ACK | S_PERROR | S_SELECT | S_ERROR
    qt.outb(CONTROL, 0x0D)
    assert qt.inb(STATUS) & S_ERROR     # acknowledged while nStrobe is low
    qt.outb(CONTROL, 0x0C)
    # Device 0 passes on: device 1 answers, and it is the last one
    assert qt.inb(STATUS) & 0xF8 == S_ACK | S_PERROR | S_SELECT | S_ERROR

    qt.outb(DATA, 0x01)
    qt.outb(CONTROL, 0x0D)
    qt.outb(CONTROL, 0x0C)
    # Both passing on: the end device's lines come through
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    qt.outb(DATA, 0xFF)                 # end of the packet
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    # Nothing of it reached a printer
    assert outputs(qt) == {"printer@0": b"", "printer@1": b"", "printer@end": b""}


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_assign_finds_exactly_the_daisy_devices(make_qtest: Callable[..., QTest],
                                                count: int) -> None:
    spec = ",".join([f"printer@{i}" for i in range(count)] + ["loopback@end"])
    qt = make_qtest(spec)
    assert assign_addrs(qt) == count
    if count == 0:
        with pytest.raises(CppFailed):
            select(qt, 0)
        return
    # Each assigned address selects its device, and nothing else answers
    for addr in range(4):
        assert select(qt, addr) == (addr < count), addr
    cpp(qt, DESELECT_ALL)


def test_no_daisy_device_fails_the_prefix_like_linux_sees_it(qt: QTest) -> None:
    with pytest.raises(CppFailed) as failed:
        cpp_prefix(qt)
    # Linux: "assign_addrs: aa5500ff(98)"
    assert (failed.value.step, failed.value.status) == ("aa5500ff", 0x98)
    qt.outb(DATA, 0xFF)
    assert outputs(qt)["printer@end"] == b""


def test_gap_in_positions_numbers_in_chain_order(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@2,printer@end")
    assert assign_addrs(qt) == 2
    assert select(qt, 1)                    # the device at position 2
    print_compat(qt, b"two")
    cpp(qt, DESELECT_ALL)
    assert outputs(qt) == {"printer@0": b"", "printer@2": b"two", "printer@end": b""}


def test_bytes_reach_the_selected_device_only(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@1,printer@2,printer@3,printer@end")
    assert assign_addrs(qt) == 4
    print_compat(qt, b"end0 ")             # nobody selected: the end device
    for addr in (2, 0, 3, 1):
        assert select(qt, addr)
        print_compat(qt, f"to {addr} ".encode())
    assert cpp(qt, DESELECT_ALL) & S_ERROR
    print_compat(qt, b"end1")
    assert outputs(qt) == {
        "printer@0": b"to 0 ", "printer@1": b"to 1 ", "printer@2": b"to 2 ",
        "printer@3": b"to 3 ", "printer@end": b"end0 end1"}


def test_select_unknown_address_is_refused(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    assert assign_addrs(qt) == 1
    assert select(qt, 0)
    assert not select(qt, 2)                # no such device: nFault low
    print_compat(qt, b"x")                  # and device 0 was deselected
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"x"}


def test_strobed_prefix_is_data(qt: QTest) -> None:
    """Only the command byte is strobed: strobed prefix bytes are print data."""
    qt2 = qt
    data = bytes([0xAA, 0x55, 0x00, 0xFF, 0x87, 0x78, 0x30, 0xFF])
    print_compat(qt2, data)
    assert outputs(qt2)["printer@end"] == data


def test_strobed_prefix_is_data_on_a_chain(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    data = bytes([0xAA, 0x55, 0x00, 0xFF, 0x87, 0x78, 0x30, 0xFF])
    for byte in data:
        qt.outb(DATA, byte)
        status = qt.inb(STATUS) & 0xF8
        qt.outb(CONTROL, 0x0D)
        qt.outb(CONTROL, 0x0C)
        # A byte that is strobed ends any packet: the printer stays in view
        assert status in (PRINTER_IDLE, S_BUSY | S_ACK | S_PERROR | S_SELECT | S_ERROR)
    assert outputs(qt) == {"printer@0": b"", "printer@end": data}


def test_mux_probe_answers_no(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest(CHAIN4)
    qt.outb(CONTROL, 0x0C)
    for byte in (0xAA, 0x55, 0xF0, 0x0F, 0x52, 0xAD, 0x51):
        qt.outb(DATA, byte)
    status = qt.inb(STATUS)
    assert status & S_ACK                   # an answer, not -EIO ...
    rc = ((1 if status & S_SELECT else 0) | (2 if status & S_PERROR else 0) |
          (0 if status & S_BUSY else 4) | (0 if status & S_ERROR else 8))
    assert rc != 3                          # ... and not "I am a mux"
    assert assign_addrs(qt) == 4            # the daisy chain is still there


def test_ninit_deselects(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    assert assign_addrs(qt) == 1
    assert select(qt, 0)
    qt.outb(CONTROL, 0x08)                  # nInit low
    qt.outb(CONTROL, 0x0C)
    print_compat(qt, b"after init")
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"after init"}
    assert select(qt, 0)                    # the address survives nInit


def test_epp_and_ecp_select(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,loopback@1,printer@end")
    assert assign_addrs(qt) == 2
    # A printer has no EPP: refused; the loopback answers in EPP mode at once
    assert not select(qt, 0, EPP_SELECT)
    assert select(qt, 1, EPP_SELECT)
    qt.outb(ECR, EPP | 0x14)
    qt.outb(EPP_ADDR, 0x5A)
    assert qt.inb(EPP_ADDR) == 0x5A
    assert qt.inb(STATUS) & 0x01 == 0       # no EPP time-out
    qt.outb(EPP_DATA, 0x42)
    assert qt.inb(STATUS) & 0x01 == 0
    qt.outb(ECR, PS2 | 0x14)
    # ECP: the printer at 0 takes FIFO bytes with no negotiation
    assert select(qt, 0, ECP_SELECT)
    qt.outb(ECR, ECP | 0x14)
    for byte in b"ecp!":
        qt.outb(FIFO, byte)
    assert qt.inb(ECR) & 0x01               # FIFO drained to the device
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(CONTROL, 0x0C)
    cpp(qt, DESELECT_ALL)
    print_compat(qt, b"end")
    out = outputs(qt)
    assert out["printer@0"] == b"ecp!"
    assert out["loopback@1"] == b"\x42"
    assert out["printer@end"] == b"end"


def test_negotiation_and_device_id_through_the_chain(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@0,printer@end")
    assert assign_addrs(qt) == 1
    host = Host(qt)
    assert select(qt, 0)
    assert host.negotiate(0x04)             # Device ID, nibble
    ident = host.read_nibble(200)
    host.terminate()
    assert b"MDL:Loopback;" in ident
    cpp(qt, DESELECT_ALL)
    assert host.negotiate(0x04)
    ident = host.read_nibble(200)
    host.terminate()
    assert b"MDL:Virtual Printer;" in ident


def test_info_qtree_shows_the_chain_in_order(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@end,loopback@2,printer@0")
    assert assign_addrs(qt) == 2
    assert select(qt, 1)
    tree = qt.qmp().command("human-monitor-command", **{"command-line": "info qtree"})
    chain = tree[tree.index("bus: lpt0.0"):]
    positions = [line.strip() for line in chain.splitlines() if "chain position" in line]
    assert positions == ["chain position: 0, 1284.3 address: 0",
                         "chain position: 2, 1284.3 address: 1, selected (compatibility)",
                         "chain position: end"]


def test_hot_plug(make_qtest: Callable[..., QTest], tmp_path: Path) -> None:
    qt = make_qtest("printer@0,printer@end")
    mon = qt.qmp()
    assert assign_addrs(qt) == 1
    mon.command("chardev-add", id="hot", backend={
        "type": "file", "data": {"out": str(tmp_path / "hot.bin")}})
    mon.command("device_add", driver="ieee1284-printer", id="hot", chardev="hot",
                addr=1, bus="lpt0.0")
    # Not addressed until the host scans again
    assert not select(qt, 1)
    assert assign_addrs(qt) == 2
    assert select(qt, 1)
    print_compat(qt, b"hello ")
    # Unplugged while selected, in the middle of a transfer
    qt.outb(DATA, ord("x"))
    qt.outb(CONTROL, 0x0D)
    mon.command("device_del", id="hot")
    qt.outb(CONTROL, 0x0C)
    assert qt.inb(STATUS) == FLOATING       # the cable behaves as unplugged
    print_compat(qt, b"lost")               # goes nowhere, least of all the end
    assert qt.inb(STATUS) == FLOATING
    assert (tmp_path / "hot.bin").read_bytes() == b"hello "
    assert qmp.qom_get(mon, "/machine/peripheral/lpt0/lpt0.0", "status") == 0xFF
    # The next deselect brings the end device back; the scan finds one
    cpp(qt, DESELECT_ALL)
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    assert assign_addrs(qt) == 1
    print_compat(qt, b"end")
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"end"}
    # The end device can go and come back too
    mon.command("device_del", id="printer-end")
    assert qt.inb(STATUS) == FLOATING
    mon.command("device_add", driver="ieee1284-loopback", id="newend", bus="lpt0.0")
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    assert mon.command("query-status")["status"] in ("running", "paused", "prelaunch")


def test_hot_plug_refuses_what_cannot_be_on_a_cable(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    mon = qt.qmp()
    for props, message in [
            ({"addr": 0}, "chain position 0 is already taken"),
            ({}, "already has an end-of-chain device"),
            ({"addr": 7}, "addr 7 is not a chain position")]:
        with pytest.raises(Exception) as refused:
            mon.command("device_add", driver="ieee1284-loopback", bus="lpt0.0", **props)
        assert message in str(refused.value)
    # QEMU goes on, the chain as it was
    assert assign_addrs(qt) == 1
    print_compat(qt, b"ok")
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"ok"}


def test_pulling_the_only_daisy_device_while_selected(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    assert assign_addrs(qt) == 1
    assert select(qt, 0)
    qt.qmp().command("device_del", id="printer-0")
    print_compat(qt, b"lost")
    assert qt.inb(STATUS) == FLOATING
    # Linux's deselect-all: nobody answers the prefix any more, but the
    # host's packet ends its lost selection and the end device is back
    with pytest.raises(CppFailed):
        cpp(qt, DESELECT_ALL)
    qt.outb(DATA, 0xFF)
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    print_compat(qt, b"end")
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"end"}


@pytest.mark.parametrize("kind,mode", [(EPP_SELECT, 0x40), (ECP_SELECT, 0x10)])
def test_selected_into_a_mode_and_negotiated_anyway(make_qtest: Callable[..., QTest],
                                                    kind: int, mode: int) -> None:
    """Linux negotiates after any select: a device selected straight into
    EPP or ECP mode still answers that negotiation."""
    qt = make_qtest("loopback@0,printer@end")
    assert assign_addrs(qt) == 1
    assert select(qt, 0, kind)
    host = Host(qt)
    assert host.negotiate(mode)
    if mode == 0x10:
        host.terminate()                    # EPP ends with an nInit pulse


def test_hot_plug_from_hmp(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0,printer@end")
    mon = qt.qmp()

    def hmp(line: str) -> str:
        return mon.command("human-monitor-command", **{"command-line": line})

    assert hmp("device_add ieee1284-loopback,bus=lpt0.0,addr=1,id=hot") == ""
    assert assign_addrs(qt) == 2
    assert "chain position: 1, 1284.3 address: 1" in hmp("info qtree")
    assert "already taken" in hmp("device_add ieee1284-loopback,bus=lpt0.0,addr=1")
    assert hmp("device_del hot") == ""
    assert assign_addrs(qt) == 1
    assert "chain position: 1" not in hmp("info qtree")


def test_a_strobe_cuts_a_prefix_short_and_is_data(make_qtest: Callable[..., QTest]) -> None:
    """AA 55 00 FF on the lines, then a strobe: the daisy devices had begun
    to answer a packet, but a strobed byte is data and reaches the printer."""
    qt = make_qtest("printer@0,printer@end")
    for byte in (0xAA, 0x55, 0x00, 0xFF):
        qt.outb(DATA, byte)
    assert qt.inb(STATUS) & 0xF8 == S_BUSY | S_ACK | S_PERROR | S_SELECT | S_ERROR
    qt.outb(CONTROL, 0x0D)
    qt.outb(CONTROL, 0x0C)
    assert qt.inb(STATUS) & 0xF8 == PRINTER_IDLE
    assert outputs(qt) == {"printer@0": b"", "printer@end": b"\xff"}
