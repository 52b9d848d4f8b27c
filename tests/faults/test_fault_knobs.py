"""qtest: the fault knobs every peripheral has (lpt1284-fault.c).

Each knob is set on the command line or at run time with qom-set and has
its wire-level effect; the counters (received, dropped, corrupted) say
what the peripheral's own code got.
"""

import sys
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

from lptrig import qmp
from lptrig.chain import Chain, Peripheral
from lptrig.qtest import QTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "qtest"))
from host1284 import (CONTROL, DATA, ECPMODE, NIBBLE, STATUS, Host,  # noqa: E402
                      assign_addrs, print_compat, select)

PAYLOAD = bytes(range(1, 61))
#: status register of a cable with nothing on it
FLOATING = 0x7F


def chain(*items: Peripheral) -> Chain:
    return Chain(tuple(items))


def device(kind: str, addr: Optional[int] = None, **props: object) -> Peripheral:
    return Peripheral(kind, addr, tuple((k.replace("_", "-"), str(v).lower())
                                        for k, v in props.items()))


@pytest.fixture
def run(tmp_path: Path) -> Iterator:
    started = []

    def start(c: Chain, name: str = "run") -> QTest:
        qt = QTest(tmp_path / name, c, trace=["lpt1284_fault*"])
        qt.start()
        started.append(qt)
        Host(qt)                    # PS/2 mode, control 0x0C
        return qt

    yield start
    for qt in started:
        qt.close()


def output(qt: QTest, name: str) -> bytes:
    path = qt.rundir / f"{name}.bin"
    return path.read_bytes() if path.exists() else b""


def counters(qt: QTest, qom_id: str) -> Dict[str, int]:
    return {name: qmp.qom_get(qt.qmp(), f"/machine/peripheral/{qom_id}", name)
            for name in ("received", "dropped", "corrupted")}


@pytest.mark.parametrize("kind", ["printer", "loopback"])
@pytest.mark.parametrize("knob,lines", [("paper-out", 0x38), ("offline", 0x08),
                                        ("fault", 0x10)])
def test_condition_knobs_on_every_kind(run, kind: str, knob: str, lines: int) -> None:
    """Set at start: Busy held, the steady lines show it, nothing taken;
    cleared at run time: the next bytes go through."""
    qt = run(chain(device(kind, **{knob: "on"})))
    st = qt.inb(STATUS)
    assert st & 0x80 == 0                           # Busy (the bit is inverted)
    assert st & 0x38 == lines
    qt.clock_step(1_000_000)                        # and it stays Busy
    assert qt.inb(STATUS) & 0x80 == 0
    assert counters(qt, f"{kind}-end")["received"] == 0
    qmp.qom_set(qt.qmp(), f"/machine/peripheral/{kind}-end", knob, False)
    assert qt.inb(STATUS) & 0xB8 == 0x98
    print_compat(qt, b"go")
    assert counters(qt, f"{kind}-end")["received"] == 2


def test_disconnect_floats_every_line_and_sees_nothing(run) -> None:
    qt = run(chain(device("printer")))
    mon = qt.qmp()
    qmp.qom_set(mon, "/machine/peripheral/printer-end", "disconnect", True)
    assert qt.inb(STATUS) == FLOATING
    print_compat(qt, b"lost")
    assert output(qt, "printer@end") == b""
    qmp.qom_set(mon, "/machine/peripheral/printer-end", "disconnect", False)
    assert qt.inb(STATUS) & 0xF8 == 0xD8
    print_compat(qt, b"back")
    assert output(qt, "printer@end") == b"back"


def test_disconnected_daisy_device_leaves_the_chain(run) -> None:
    qt = run(chain(device("printer", 0), device("printer", 1, disconnect="on"),
                   device("printer")))
    assert assign_addrs(qt) == 1                    # only position 0 answers
    qmp.qom_set(qt.qmp(), "/machine/peripheral/printer-1", "disconnect", False)
    assert assign_addrs(qt) == 2


def test_select_fail(run) -> None:
    qt = run(chain(device("printer", 0), device("printer", 1, select_fail="on"),
                   device("printer")))
    assert assign_addrs(qt) == 2                    # it still takes an address
    assert select(qt, 0)
    assert not select(qt, 1)                        # ... but ignores its select
    print_compat(qt, b"end")
    assert output(qt, "printer@1") == b"" and output(qt, "printer@end") == b"end"


def test_negotiation_reject(run) -> None:
    qt = run(chain(device("loopback", negotiation_reject="on")))
    host = Host(qt)
    assert not host.negotiate(ECPMODE)
    assert not host.negotiate(NIBBLE)
    qmp.qom_set(qt.qmp(), "/machine/peripheral/loopback-end", "negotiation-reject", False)
    assert host.negotiate(NIBBLE)


def test_no_ack(run) -> None:
    qt = run(chain(device("printer", no_ack="on")))
    qt.irq_intercept_in("ioapic")
    qt.irq_events()
    qt.outb(CONTROL, 0x1C)                          # nAck interrupt on
    for byte in b"ok":
        qt.outb(DATA, byte)
        qt.outb(CONTROL, 0x1D)
        qt.outb(CONTROL, 0x1C)
        assert qt.inb(STATUS) & 0xC0 == 0xC0        # not busy, nAck high
    assert output(qt, "printer@end") == b"ok"       # taken ...
    assert qt.irq_events() == []                    # ... without an nAck pulse


def test_drop_and_corrupt_every_nth(run) -> None:
    qt = run(chain(device("printer", drop=7, corrupt=5)))
    print_compat(qt, PAYLOAD)
    expected = bytearray()
    for i, byte in enumerate(PAYLOAD, 1):
        if i % 7 == 0:
            continue
        expected.append(byte ^ 0xFF if i % 5 == 0 else byte)
    assert output(qt, "printer@end") == bytes(expected)
    got = counters(qt, "printer-end")
    assert got == {"received": len(expected), "dropped": 60 // 7,
                   "corrupted": sum(1 for i in range(1, 61) if i % 5 == 0 and i % 7)}


def test_seeded_corruption_repeats_exactly(run) -> None:
    data = bytes(range(256)) * 4
    outs = []
    for name, seed in (("a", 1284), ("b", 1284), ("c", 99)):
        qt = run(chain(device("printer", corrupt=10, seed=seed)), name)
        print_compat(qt, data)
        outs.append(output(qt, "printer@end"))
        assert len(outs[-1]) == len(data)
        assert outs[-1] != data                     # some bytes were hit
    assert outs[0] == outs[1]                       # same seed, same run
    assert outs[0] != outs[2]                       # another seed, another


def test_knobs_refuse_bad_values(tmp_path: Path) -> None:
    from subprocess import run as sh
    from lptrig import paths
    result = sh([str(paths.qemu_binary()), "-M", "pc", "-nodefaults", "-display", "none",
                 "-L", str(paths.firmware_dir()), "-device", "isa-lpt1284",
                 "-device", "ieee1284-printer,drop=many"],
                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "drop" in result.stderr


def strobe(qt: QTest, byte: int) -> None:
    qt.outb(DATA, byte)
    qt.outb(CONTROL, 0x0D)
    qt.outb(CONTROL, 0x0C)


def test_busy_stall(run) -> None:
    qt = run(chain(device("printer", busy_stall=50)))
    strobe(qt, 0x41)
    qt.clock_step(40_000)
    assert qt.inb(STATUS) & 0x80 == 0                # still Busy after 40 us
    qt.clock_step(20_000)
    assert qt.inb(STATUS) & 0x80                     # done after 60
    mon = qt.qmp()
    qmp.qom_set(mon, "/machine/peripheral/printer-end", "busy-stall", -1)
    strobe(qt, 0x42)
    qt.clock_step(10_000_000)
    assert qt.inb(STATUS) & 0x80 == 0                # held for ever ...
    assert output(qt, "printer@end") == b"A"
    qmp.qom_set(mon, "/machine/peripheral/printer-end", "busy-stall", 0)
    qt.clock_step(1_000)
    assert qt.inb(STATUS) & 0x80                     # ... until cleared
    assert output(qt, "printer@end") == b"AB"


@pytest.mark.parametrize("error,told,sent", [("off", 0, 0), ("length", 16, 0),
                                             ("truncated", 0, -1)])
def test_device_id_error(run, error: str, told: int, sent: int) -> None:
    qt = run(chain(device("loopback", device_id_error=error)))
    ident = b"MFG:lptrig;MDL:Loopback;CMD:RAW;CLS:LOOPBACK;DES:lptrig IEEE 1284 loopback;"
    host = Host(qt)
    assert host.negotiate(0x04)
    got = host.read_nibble(200)
    host.terminate()
    length = len(ident) + 2
    assert (got[0] << 8 | got[1]) == length + told
    body = ident if sent == 0 else ident[:len(ident) // 2]
    assert got[2:] == body


def test_armed_fault_turns_on_after_n_bytes(run) -> None:
    qt = run(chain(device("printer", arm="paper-out", arm_after=10)))
    sent = 0
    for byte in PAYLOAD[:15]:
        if not qt.inb(STATUS) & 0x80:               # Busy: as Linux, wait
            break
        strobe(qt, byte)
        sent += 1
    assert sent == 10
    assert output(qt, "printer@end") == PAYLOAD[:10]
    assert qmp.qom_get(qt.qmp(), "/machine/peripheral/printer-end", "paper-out") is True
    assert qt.inb(STATUS) & 0x20                     # PError high


def test_bad_fault_values_are_one_error(run) -> None:
    qt = run(chain(device("printer")))
    mon = qt.qmp()
    for knob, value, message in [("busy-stall", -5, "busy-stall -5"),
                                 ("device-id-error", "sometimes", "device-id-error"),
                                 ("arm", "lightning", "arm 'lightning'")]:
        with pytest.raises(Exception) as refused:
            qmp.qom_set(mon, "/machine/peripheral/printer-end", knob, value)
        assert message in str(refused.value)


def test_paper_out_stops_ecp_data_too(run) -> None:
    from host1284 import ECR, FIFO, ECP as ECP_ECR, PS2
    qt = run(chain(device("printer")))
    host = Host(qt)
    assert host.negotiate(ECPMODE)
    qmp.qom_set(qt.qmp(), "/machine/peripheral/printer-end", "paper-out", True)
    qt.outb(ECR, ECP_ECR | 0x14)
    for byte in b"ecp page":
        qt.outb(FIFO, byte)
    qt.clock_step(1_000_000)
    assert qt.inb(ECR) & 0x01 == 0                   # the FIFO holds them
    assert output(qt, "printer@end") == b""
    qmp.qom_set(qt.qmp(), "/machine/peripheral/printer-end", "paper-out", False)
    qt.clock_step(1_000)
    assert qt.inb(ECR) & 0x01                        # drained once cleared
    assert output(qt, "printer@end") == b"ecp page"
    qt.outb(ECR, PS2 | 0x14)
