"""Register-level tests of isa-lpt1284 under qtest: no guest, QEMU only.

The cable is observed through the chain bus's read-only QOM properties
(host-data, host-control, host-reverse, status), and the peripheral side is
moved through the printer's fault knobs (qom-set), so both directions of
every inversion are checked against the pins, not against the registers
alone.
"""

from typing import Any, Callable

import pytest

from lptrig import qmp
from lptrig.qtest import QTest

BASE = 0x378
DATA, STATUS, CONTROL = BASE, BASE + 1, BASE + 2
FIFO, CNFGB, ECR = BASE + 0x400, BASE + 0x401, BASE + 0x402

CHAIN = "/machine/peripheral/lpt0/lpt0.0"
PRINTER = "/machine/peripheral/printer-end"

# Cable levels (1 = pin high), as the chain reports them
NSTROBE, NAUTOFD, NINIT, NSELECTIN = 0x01, 0x02, 0x04, 0x08
NFAULT, SELECT, PERROR, NACK, BUSY = 0x08, 0x10, 0x20, 0x40, 0x80

# ECR modes
SPP, PS2, PPFIFO, ECPMODE, EPP, TEST, CONFIG = 0x00, 0x20, 0x40, 0x60, 0x80, 0xC0, 0xE0


def cable(qt: QTest, prop: str) -> Any:
    return qmp.qom_get(qt.qmp(), CHAIN, prop)


def knob(qt: QTest, name: str, value: bool) -> None:
    qmp.qom_set(qt.qmp(), PRINTER, name, value)


def strobe(qt: QTest, byte: int) -> None:
    """One compatibility-mode byte, as Linux's lp driver sends it."""
    qt.outb(DATA, byte)
    qt.outb(CONTROL, 0x0D)
    qt.outb(CONTROL, 0x0C)


def test_reset_values(qt: QTest) -> None:
    assert qt.inb(DATA) == 0x00
    # nInit high and nSelectIn low after reset; bits 7:6 read as 1
    assert qt.inb(CONTROL) == 0xCC
    # A ready printer: not busy, nAck high, paper in, online, no fault;
    # reserved bits 2:1 and the (non-EPP) time-out bit read 1
    assert qt.inb(STATUS) == 0xDF
    # SPP mode, nErrIntrEn and serviceIntr set, FIFO empty
    assert qt.inb(ECR) == 0x15
    assert cable(qt, "host-control") == NAUTOFD | NSTROBE | NINIT
    assert cable(qt, "host-data") == 0x00
    assert cable(qt, "status") == NACK | SELECT | NFAULT


@pytest.mark.parametrize("bits,levels", [
    (0x00, NSTROBE | NAUTOFD | NSELECTIN),      # all bits clear: nInit low
    (0x01, NAUTOFD | NSELECTIN),                # STROBE=1 drives nStrobe low
    (0x02, NSTROBE | NSELECTIN),                # AUTOFD=1 drives nAutoFd low
    (0x04, NSTROBE | NAUTOFD | NINIT | NSELECTIN),  # nINIT=1 drives nInit high
    (0x08, NSTROBE | NAUTOFD),                  # SELECTIN=1 drives nSelectIn low
    (0x0F, NINIT),
])
def test_control_bits_drive_inverted_pins(qt: QTest, bits: int, levels: int) -> None:
    qt.outb(CONTROL, bits)
    assert cable(qt, "host-control") == levels
    assert qt.inb(CONTROL) == 0xC0 | bits


def test_data_register_drives_lines(qt: QTest) -> None:
    for value in (0x00, 0x55, 0xAA, 0xFF, 0x81):
        qt.outb(DATA, value)
        assert cable(qt, "host-data") == value
        assert qt.inb(DATA) == value


@pytest.mark.parametrize("knob_name,line,bit,bit_when_set", [
    ("paper-out", PERROR, 0x20, 0x20),   # PError high -> status bit 5 set
    ("offline", SELECT, 0x10, 0x00),     # Select low -> status bit 4 clear
    ("fault", NFAULT, 0x08, 0x00),       # nFault low -> status bit 3 clear
])
def test_status_pins_reach_status_register(qt: QTest, knob_name: str, line: int,
                                           bit: int, bit_when_set: int) -> None:
    assert qt.inb(STATUS) & bit == bit ^ bit_when_set
    knob(qt, knob_name, True)
    status = qt.inb(STATUS)
    assert status & bit == bit_when_set
    # A printer in trouble holds Busy high, which the port reports inverted
    assert cable(qt, "status") & BUSY
    assert status & 0x80 == 0
    knob(qt, knob_name, False)
    assert qt.inb(STATUS) == 0xDF


def test_busy_pin_is_inverted_during_handshake(qt: QTest) -> None:
    qt.outb(DATA, 0x41)
    qt.outb(CONTROL, 0x0D)              # nStrobe low: the printer latches
    assert cable(qt, "status") & BUSY
    assert qt.inb(STATUS) & 0x80 == 0   # Busy pin high reads as bit 7 clear
    qt.outb(CONTROL, 0x0C)
    qt.clock_step(10_000)
    assert cable(qt, "status") & BUSY == 0
    assert qt.inb(STATUS) & 0x80 == 0x80


def test_printer_receives_strobed_bytes(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest()
    payload = bytes(range(256))
    for byte in payload:
        strobe(qt, byte)
        qt.clock_step(10_000)
        assert qt.inb(STATUS) & 0xC0 == 0xC0    # not busy, nAck high again
    qt.close()
    assert (qt.rundir / "printer@end.bin").read_bytes() == payload


def test_ps2_reverse_reads_the_cable(qt: QTest) -> None:
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(DATA, 0x55)
    qt.outb(CONTROL, 0x2C)              # direction: reverse
    assert cable(qt, "host-reverse") is True
    # The printer does not drive the data lines: the pull-ups read 0xFF
    assert qt.inb(DATA) == 0xFF
    qt.outb(DATA, 0xAA)                 # goes to the latch only
    assert qt.inb(DATA) == 0xFF
    qt.outb(CONTROL, 0x0C)              # forward again: the latch reappears
    assert cable(qt, "host-reverse") is False
    assert qt.inb(DATA) == 0xAA


def test_spp_mode_ignores_direction_bit(qt: QTest) -> None:
    assert qt.inb(ECR) >> 5 == 0        # SPP
    qt.outb(DATA, 0x55)
    qt.outb(CONTROL, 0x2C)
    assert qt.inb(CONTROL) == 0xEC      # the bit itself reads back
    assert cable(qt, "host-reverse") is False
    assert qt.inb(DATA) == 0x55


#: a real printer's compatibility handshake, slower than the default
REAL_TIMING = {"busy-ns": "500", "ack-ns": "500"}


def test_irq_on_rising_nack_only_when_enabled(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest(device_props=REAL_TIMING)
    qt.irq_intercept_in("ioapic")
    qt.irq_events()

    strobe(qt, 0x42)                    # IRQ enable (bit 4) off
    qt.clock_step(10_000)
    assert qt.irq_events() == []

    qt.outb(CONTROL, 0x1C)
    qt.outb(DATA, 0x43)
    qt.outb(CONTROL, 0x1D)
    assert qt.irq_events() == []        # strobe alone: no edge yet
    qt.outb(CONTROL, 0x1C)
    qt.clock_step(600)                  # ack delay: nAck falls
    assert cable(qt, "status") & NACK == 0
    assert qt.irq_events() == []        # falling edge: no interrupt
    qt.clock_step(10_000)               # nAck rises
    assert qt.irq_events() == [("raise", 7), ("lower", 7)]

    # Register traffic without an nAck edge never interrupts
    for _ in range(3):
        qt.inb(STATUS)
        qt.outb(DATA, 0x00)
    knob(qt, "paper-out", True)
    knob(qt, "paper-out", False)
    assert qt.irq_events() == []


def test_default_handshake_is_immediate_and_in_order(qt: QTest) -> None:
    """busy-ns=0, ack-ns=0: done within the strobe release, every step kept."""
    qt.irq_intercept_in("ioapic")
    qt.irq_events()
    qt.outb(CONTROL, 0x1C)                  # nAck interrupt enabled
    qt.outb(DATA, 0x41)
    qt.outb(CONTROL, 0x1D)                  # nStrobe low: byte latched
    assert cable(qt, "status") & BUSY       # Busy high while it is taken
    assert qt.irq_events() == []
    qt.outb(CONTROL, 0x1C)                  # nStrobe high
    # No virtual time passed: not busy, nAck high again, and its rising
    # edge (which needs it to have been low) interrupted the host
    assert qt.inb(STATUS) & 0xC0 == 0xC0
    assert qt.irq_events() == [("raise", 7), ("lower", 7)]


def test_real_timing_holds_busy(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest(device_props={"busy-ns": "2000", "ack-ns": "5000"})
    qt.outb(DATA, 0x41)
    qt.outb(CONTROL, 0x0D)
    qt.outb(CONTROL, 0x0C)
    assert qt.inb(STATUS) & 0xC0 == 0x40    # Busy, nAck still high
    qt.clock_step(2_500)
    assert qt.inb(STATUS) & 0xC0 == 0x00    # Busy, nAck low
    qt.clock_step(5_000)
    assert qt.inb(STATUS) & 0xC0 == 0xC0    # ready, nAck high


def test_ecr_rules_linux_checks(qt: QTest) -> None:
    # parport_ECR_present: with control 0x0C the ECR's low bits read 01 ...
    qt.outb(CONTROL, 0x0C)
    assert qt.inb(ECR) & 0x03 == 0x01
    # ... and are not an alias of the control register
    qt.outb(CONTROL, 0x0E)
    assert qt.inb(ECR) & 0x03 == 0x01
    qt.outb(CONTROL, 0x0C)
    # writing 0x34 reads back 0x35
    qt.outb(ECR, 0x34)
    assert qt.inb(ECR) == 0x35
    qt.outb(ECR, 0x00)
    assert qt.inb(ECR) == 0x01


@pytest.mark.parametrize("props,refused", [
    ({}, (0xA0,)),                                      # 101 is reserved
    ({"epp": "off", "ecp": "off"}, (PPFIFO, ECPMODE, EPP, 0xA0, TEST)),
])
def test_ecr_unoffered_mode_keeps_state(make_qtest: Callable[..., QTest],
                                        props: dict, refused: tuple) -> None:
    qt = make_qtest(props=props)
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(CONTROL, 0x2C)
    for mode in refused:
        qt.outb(ECR, mode | 0x1C)
        assert qt.inb(ECR) == 0x35      # still PS/2, enables unchanged
        assert cable(qt, "host-reverse") is True
        assert qt.inb(CONTROL) == 0xEC


def test_configuration_registers(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest()
    qt.outb(ECR, CONFIG | 0x14)
    assert qt.inb(FIFO) == 0x10         # CNFGA: 8-bit implementation
    assert qt.inb(CNFGB) == (1 << 3) | 3  # IRQ 7 -> 001, DMA channel 3
    qt.outb(ECR, SPP | 0x14)
    qt.close()

    qt = make_qtest(irq=5, dma=1)
    qt.outb(ECR, CONFIG | 0x14)
    assert qt.inb(CNFGB) == (7 << 3) | 1  # IRQ 5 -> 111, DMA channel 1


def test_plain_spp_port_has_no_ecr(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest(props={"ps2": "off", "epp": "off", "ecp": "off"})
    # Nothing decodes the ECP block: the ISA bus floats to 0xFF
    assert qt.inb(ECR) == 0xFF
    assert qt.inb(FIFO) == 0xFF
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(DATA, 0x55)
    qt.outb(CONTROL, 0x2C)
    assert cable(qt, "host-reverse") is False
    assert qt.inb(DATA) == 0x55


def test_nothing_attached_reads_pulled_up_lines(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest("printer@0")        # a daisy device, nothing at the end
    # No answering device: all status pins float high, Busy reads inverted
    assert qt.inb(STATUS) == 0x7F
