"""qtest: the FIFO, the ECR modes, DMA, EPP, and the peripheral side of
IEEE 1284 (negotiation, reverse transfers, Device ID, ECP) of every
peripheral, driven with the host sequences Linux uses (host1284.py)."""

import random
from typing import Callable

import pytest

from lptrig import qmp
from lptrig.qtest import QTest

from host1284 import (BYTE, C_DIR, C_INIT, CNFGB, CONFIG, CONTROL, DATA, DEVICEID,
                      ECP, ECPMODE, ECPRLE, ECR, EPP, EPP_ADDR, EPP_DATA, EPPMODE,
                      FIFO, NIBBLE, PPFIFO, PS2, SPP, STATUS, TEST, Host)

CHAIN = "/machine/peripheral/lpt0/lpt0.0"
PRINTER_ID = (b"MFG:lptrig;MDL:Virtual Printer;CMD:PCL,TXT;CLS:PRINTER;"
              b"DES:lptrig IEEE 1284 printer;")

# i8257 (8-bit controller) registers for channel 3
DMA_ADDR3, DMA_COUNT3, DMA_PAGE3 = 0x06, 0x07, 0x82
DMA_STATUS, DMA_MASK, DMA_MODE, DMA_FLIPFLOP = 0x08, 0x0A, 0x0B, 0x0C
DMA_MEM_TO_DEV, DMA_DEV_TO_MEM = 0x48, 0x44      # single mode, increment


def program_dma(qt: QTest, mode: int, addr: int, length: int) -> None:
    qt.outb(DMA_MASK, 0x04 | 3)                 # mask channel 3
    qt.outb(DMA_FLIPFLOP, 0)
    qt.outb(DMA_MODE, mode | 3)
    qt.outb(DMA_ADDR3, addr & 0xFF)
    qt.outb(DMA_ADDR3, (addr >> 8) & 0xFF)
    qt.outb(DMA_PAGE3, addr >> 16)
    qt.outb(DMA_COUNT3, (length - 1) & 0xFF)
    qt.outb(DMA_COUNT3, (length - 1) >> 8)
    qt.outb(DMA_MASK, 3)                        # unmask


def fill_fifo_in_test_mode(qt: QTest) -> int:
    qt.outb(ECR, SPP)
    qt.outb(ECR, TEST)
    n = 0
    while not qt.inb(ECR) & 0x02 and n < 1024:
        qt.outb(FIFO, 0xAA)
        n += 1
    return n


@pytest.mark.parametrize("depth", [16, 32])
def test_fifo_depth_in_test_mode(make_qtest: Callable[..., QTest], depth: int) -> None:
    qt = make_qtest(props={"fifo-depth": str(depth)})
    assert fill_fifo_in_test_mode(qt) == depth
    assert qt.inb(ECR) & 0x03 == 0x02           # full, not empty
    # the bytes come back out in test mode, and nothing reached the printer
    assert [qt.inb(FIFO) for _ in range(depth)] == [0xAA] * depth
    assert qt.inb(ECR) & 0x03 == 0x01
    assert qmp.qom_get(qt.qmp(), CHAIN, "host-data") == 0x00


def test_service_interrupt_thresholds(qt: QTest) -> None:
    """Linux's parport_ECP_supported measures both thresholds this way."""
    qt.irq_intercept_in("ioapic")
    depth = fill_fifo_in_test_mode(qt)
    qt.outb(ECR, qt.inb(ECR) | 0x04)
    qt.outb(ECR, qt.inb(ECR) & ~0x04)
    qt.irq_events()
    for i in range(1, depth + 1):
        qt.inb(FIFO)
        if qt.inb(ECR) & 0x04:
            break
    assert i == depth // 2                      # writeIntrThreshold
    assert qt.irq_events() == [("raise", 7), ("lower", 7)]

    qt.outb(ECR, PS2)
    qt.outb(CONTROL, 0x2C)                      # reverse
    qt.outb(ECR, TEST)
    qt.outb(ECR, qt.inb(ECR) | 0x04)
    qt.outb(ECR, qt.inb(ECR) & ~0x04)
    for i in range(1, depth + 1):
        qt.outb(FIFO, 0xAA)
        if qt.inb(ECR) & 0x04:
            break
    assert i == depth // 2                      # readIntrThreshold
    # with serviceIntr set no further interrupt is given
    qt.irq_events()
    qt.outb(FIFO, 0x55)
    assert qt.irq_events() == []


def test_every_ecr_mode_switch(qt: QTest) -> None:
    for mode in (SPP, PS2, PPFIFO, ECP, EPP, TEST, CONFIG):
        for other in (SPP, PS2, PPFIFO, ECP, EPP, TEST, CONFIG):
            qt.outb(ECR, mode | 0x14)
            assert qt.inb(ECR) & 0xE0 == mode
            qt.outb(ECR, other | 0x14)
            assert qt.inb(ECR) & 0xFC == other | 0x14
    # switching to 000 or 001 empties the FIFO
    for reset_mode in (SPP, PS2):
        fill_fifo_in_test_mode(qt)
        qt.outb(ECR, reset_mode)
        assert qt.inb(ECR) & 0x03 == 0x01


def test_configuration_mode_and_config_registers(qt: QTest) -> None:
    qt.outb(ECR, CONFIG | 0x14)
    assert qt.inb(FIFO) == 0x10
    assert qt.inb(CNFGB) == 0x0B
    qt.outb(CNFGB, 0x00)                        # read-only: ignored
    assert qt.inb(CNFGB) == 0x0B
    qt.outb(ECR, PS2 | 0x14)
    assert qt.inb(CNFGB) == 0xFF


def test_compat_fifo_drains_to_printer_with_pio(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest()
    payload = bytes(range(200))
    qt.outb(ECR, PPFIFO | 0x14)
    for byte in payload:
        qt.outb(FIFO, byte)
    assert qt.inb(ECR) & 0x01                   # drained at once
    qt.outb(ECR, PS2 | 0x14)
    qt.close()
    assert (qt.rundir / "printer@end.bin").read_bytes() == payload


def test_dma_forward_to_printer(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest()
    qt.irq_intercept_in("ioapic")
    payload = random.Random(3).randbytes(5000)
    qt.memwrite(0x20000, payload)
    program_dma(qt, DMA_MEM_TO_DEV, 0x20000, len(payload))
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(ECR, PPFIFO | 0x1C)                 # dmaEn, serviceIntr still set
    qt.clock_step(1_000_000)
    assert qt.irq_events() == []                # serviceIntr set: no DMA yet
    qt.outb(ECR, PPFIFO | 0x18)                 # clear serviceIntr: go
    for _ in range(50):
        qt.clock_step(1_000_000)
        if qt.inb(ECR) & 0x04:
            break
    assert qt.inb(ECR) & 0x05 == 0x05           # serviceIntr at terminal count
    assert qt.inb(DMA_STATUS) & 0x08            # channel 3 reached TC
    assert ("raise", 7) in qt.irq_events()
    qt.outb(ECR, PS2 | 0x14)
    qt.close()
    assert (qt.rundir / "printer@end.bin").read_bytes() == payload


def test_dma_reverse_from_loopback_in_ecp_mode(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@end")
    payload = random.Random(4).randbytes(3000)
    host = Host(qt)
    # forward through the compatibility FIFO, as lp does
    qt.outb(ECR, PPFIFO | 0x14)
    for byte in payload:
        qt.outb(FIFO, byte)
    qt.outb(ECR, PS2 | 0x14)
    assert host.negotiate(ECPMODE)
    host.ecp_forward_to_reverse()
    program_dma(qt, DMA_DEV_TO_MEM, 0x30000, len(payload))
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(ECR, ECP | 0x18)                    # ECP mode, dmaEn, go
    for _ in range(50):
        qt.clock_step(1_000_000)
        if qt.inb(ECR) & 0x04:
            break
    assert qt.inb(ECR) & 0x04
    assert qt.memread(0x30000, len(payload)) == payload


def test_ecp_fifo_forward_data_commands_and_rle(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@end")
    host = Host(qt)
    assert host.negotiate(ECPRLE)
    host.frob(0x03, 0)                          # hardware drives the strobes
    qt.outb(ECR, ECP | 0x14)
    for byte in b"ab":
        qt.outb(FIFO, byte)
    qt.outb(DATA, 0x85)                         # command: channel address 5
    qt.outb(DATA, 0x04)                         # command: RLE count 4
    qt.outb(FIFO, ord("x"))                     # ... so 'x' five times
    qt.outb(FIFO, ord("c"))
    assert qt.inb(ECR) & 0x01
    qt.outb(ECR, PS2 | 0x14)
    assert host.ecp_read(100) == b"abxxxxxc"


@pytest.mark.parametrize("spec,accepted", [
    ("printer@end", {NIBBLE, NIBBLE | DEVICEID, ECPMODE, ECPMODE | DEVICEID}),
    ("loopback@end", {NIBBLE, BYTE, ECPMODE, ECPRLE, EPPMODE, NIBBLE | DEVICEID,
                      BYTE | DEVICEID, ECPMODE | DEVICEID}),
])
def test_negotiation_answers_per_peripheral(make_qtest: Callable[..., QTest],
                                            spec: str, accepted: set) -> None:
    qt = make_qtest(spec)
    host = Host(qt)
    modes = [NIBBLE, BYTE, NIBBLE | DEVICEID, BYTE | DEVICEID, ECPMODE,
             ECPMODE | DEVICEID, ECPRLE, EPPMODE, 0x80, 0x02]
    got = set()
    for mode in modes:
        if host.negotiate(mode):
            got.add(mode)
            host.terminate()
        # back in compatibility mode: ready, as after reset
        assert qt.inb(STATUS) == 0xDF
    assert got == accepted


@pytest.mark.parametrize("mode", [NIBBLE, BYTE])
def test_device_id_reply(make_qtest: Callable[..., QTest], mode: int) -> None:
    qt = make_qtest("loopback@end" if mode == BYTE else "printer@end")
    host = Host(qt)
    assert host.negotiate(mode | DEVICEID)
    read = host.read_nibble if mode == NIBBLE else host.read_byte_mode
    reply = read(1024)
    length = int.from_bytes(reply[:2], "big")
    assert length == len(reply)
    if mode == NIBBLE:
        assert reply[2:] == PRINTER_ID
    else:
        assert reply[2:].startswith(b"MFG:lptrig;MDL:Loopback;")
    host.terminate()


@pytest.mark.parametrize("reverse", ["nibble", "byte", "ecp"])
def test_loopback_returns_forward_data(make_qtest: Callable[..., QTest],
                                       reverse: str) -> None:
    qt = make_qtest("loopback@end")
    host = Host(qt)
    payload = bytes(random.Random(reverse).randbytes(40))
    # forward at pin level in compatibility mode (as lp's PIO path does)
    for byte in payload:
        qt.outb(DATA, byte)
        host.frob(0x01, 0x01)
        host.frob(0x01, 0x00)
        assert host.wait(0x80, 0x80)
    if reverse == "ecp":
        assert host.negotiate(ECPMODE)
        assert host.ecp_read(len(payload) + 10) == payload
    else:
        assert host.negotiate(NIBBLE if reverse == "nibble" else BYTE)
        read = host.read_nibble if reverse == "nibble" else host.read_byte_mode
        assert read(len(payload) + 10) == payload
        # nothing left: nDataAvail (nFault) high
        assert qt.inb(STATUS) & 0x08
    host.terminate()


def test_ecp_pin_level_forward(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@end")
    host = Host(qt)
    assert host.negotiate(ECPMODE)
    host.ecp_write(b"\x81", command=True)       # channel address 1
    host.ecp_write(b"hello")
    assert host.ecp_read(10) == b"hello"
    host.terminate()


def test_epp_address_and_data_round_trip(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@end")
    host = Host(qt)
    assert host.negotiate(EPPMODE)
    qt.outb(ECR, EPP | 0x14)
    qt.outb(EPP_ADDR, 0x5A)
    assert qt.inb(EPP_ADDR) == 0x5A
    qt.outl(EPP_DATA, 0x44332211)               # one access, four data cycles
    qt.outw(EPP_DATA, 0x6655)
    qt.outb(EPP_DATA, 0x77)
    assert qt.inb(STATUS) & 0x01 == 0           # no time-out
    assert qt.inl(EPP_DATA) == 0x44332211
    assert qt.inb(EPP_DATA) == 0x55
    assert qt.inw(EPP_DATA) == 0x7766
    assert qt.inb(STATUS) & 0x01 == 0
    # EPP termination: an nInit pulse
    host.frob(C_INIT, 0)
    host.frob(C_INIT, C_INIT)
    assert qt.inb(STATUS) == 0xDE               # ready; EPP mode, no time-out


def test_epp_cycle_without_epp_peripheral_times_out(qt: QTest) -> None:
    qt.outb(ECR, EPP | 0x14)
    assert qt.inb(STATUS) & 0x01 == 0
    qt.outb(EPP_ADDR, 0x12)                     # the printer is not in EPP mode
    assert qt.inb(STATUS) & 0x01
    assert qt.inb(EPP_DATA) == 0xFF
    # Linux's clear_epp_timeout: read twice, write r | 1, then r & ~1
    r = qt.inb(STATUS)
    r = qt.inb(STATUS)
    qt.outb(STATUS, r | 0x01)
    qt.outb(STATUS, r & ~0x01)
    assert qt.inb(STATUS) & 0x01 == 0


def test_reverse_data_lines_driven_by_peripheral(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("loopback@end")
    host = Host(qt)
    qt.outb(DATA, 0x3C)
    host.frob(0x01, 0x01)
    host.frob(0x01, 0x00)
    host.wait(0x80, 0x80)
    assert host.negotiate(BYTE)
    host.frob(C_DIR, C_DIR)
    host.frob(0x02, 0x02)                       # event 7
    assert host.wait(0x40, 0)
    assert qt.inb(DATA) == 0x3C                 # the loopback drives D0-D7
    host.frob(C_DIR, 0)
    assert qt.inb(DATA) == BYTE                 # the host's latch again


def test_partial_reverse_reads_lose_nothing(make_qtest: Callable[..., QTest]) -> None:
    """The byte a peripheral shows as available stays its own across modes."""
    qt = make_qtest("loopback@end")
    host = Host(qt)
    for byte in b"abcdefgh":
        qt.outb(DATA, byte)
        host.frob(0x01, 0x01)
        host.frob(0x01, 0x00)
        assert host.wait(0x80, 0x80)
    assert host.negotiate(NIBBLE)
    assert host.read_nibble(3) == b"abc"
    host.terminate()
    assert host.negotiate(NIBBLE | DEVICEID)     # the ID in between
    assert host.read_nibble(2) == (len(b"MFG:lptrig;MDL:Loopback;CMD:RAW;CLS:LOOPBACK;"
                                       b"DES:lptrig IEEE 1284 loopback;") + 2).to_bytes(2, "big")
    host.terminate()
    assert host.negotiate(BYTE)
    assert host.read_byte_mode(2) == b"de"
    host.terminate()
    assert host.negotiate(ECPMODE)
    assert host.ecp_read(10) == b"fgh"
    host.terminate()
