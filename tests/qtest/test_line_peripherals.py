"""qtest: the line-level peripherals (LapLink cable, I2C adapter, PPS source)
at register level, without a guest.

- ieee1284-laplink: two ports of one QEMU wired by a LapLink cable; every
  D0-D4 value of one side is the other side's status, both ways, with the
  pin map of Linux's plip.c; a rising D3 interrupts the far host; unplugging
  either end floats the far side's lines and plugging back recovers.
- ieee1284-i2c: the Philips adapter (i2c-parport type=0) bit-banged from the
  registers reads QEMU's tmp105 and writes and reads QEMU's at24c-eeprom;
  addresses with no device are not acknowledged; clock stretching holds SCL
  (read back on nFault) low for stretch-ns of virtual time.
- ieee1284-pps: under qtest virtual time only moves when the test steps it,
  so every edge is checked to the nanosecond: period, phase, width, jitter
  (the same seed the same offsets), the no-ack fault, the interrupt.
"""

from pathlib import Path
import socket
import time
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import pytest

from lptrig import qmp
from lptrig.chain import Chain
from lptrig.qtest import QTest

LPT0, LPT1 = 0x378, 0x278
DATA, STATUS, CONTROL = 0, 1, 2
#: control register: nInit high (bit 2), IRQ enable (bit 4)
CTR_IDLE, CTR_IRQ = 0x04, 0x10
FLOATING = 0x78     # status & 0xf8 with nothing on the cable: all high, Busy inverted
#: how long (s) the socket tests wait for QEMU's main loop or for this test's
#: socket peer: generous, it is a matter of milliseconds on an idle host
SOCKET_WAIT = 60.0


@pytest.fixture
def make_qt(request: pytest.FixtureRequest,
            lptrig_result_dir: Path) -> Iterator[Callable[..., QTest]]:
    """``make_qt(*devices)``: a QTest with lpt0 (0x378, IRQ 7) and ``devices``."""
    started: List[QTest] = []

    def make(*devices: str, second_port: bool = False, extra: Sequence[str] = ()) -> QTest:
        args: List[str] = list(extra)
        if second_port:
            args += ["-device", "isa-lpt1284,id=lpt1,iobase=0x278,irq=5,dma=1"]
        for device in devices:
            args += ["-device", device]
        qt = QTest(lptrig_result_dir / f"qtest{len(started)}", Chain(()), extra_args=args,
                   trace=["ieee1284*"])
        started.append(qt)
        qt.start()
        return qt

    yield make
    for qt in started:
        qt.close()


def status(qt: QTest, base: int = LPT0) -> int:
    return qt.inb(base + STATUS) & 0xF8


# -- LapLink ---------------------------------------------------------------

def far_status(d: int) -> int:
    """What a port reads when the far end drives D0-D4 = ``d`` (plip.c's map:
    D0->nFault, D1->Select, D2->PError, D3->nAck, D4->Busy; Busy inverted
    by the status register)."""
    return ((d & 0x1F) << 3) ^ 0x80


LAPLINK_PAIR = ("ieee1284-laplink,id=ll0,bus=lpt0.0,peer=ll1",
                "ieee1284-laplink,id=ll1,bus=lpt1.0,peer=ll0")


@pytest.mark.parametrize("order", ["forward", "reverse"])
def test_laplink_pin_map_both_ways(make_qt: Callable[..., QTest], order: str) -> None:
    devices = LAPLINK_PAIR if order == "forward" else LAPLINK_PAIR[::-1]
    qt = make_qt(*devices, second_port=True)
    for near, far in ((LPT0, LPT1), (LPT1, LPT0)):
        for value in range(256):
            qt.outb(near + DATA, value)
            # D5-D7 go nowhere; D0-D4 are the far side's status lines
            assert status(qt, far) == far_status(value), (hex(near), value)
        qt.outb(near + DATA, 0)
    # Each side's own status is the other side's data, not its own
    qt.outb(LPT0 + DATA, 0x15)
    qt.outb(LPT1 + DATA, 0x0A)
    assert status(qt, LPT1) == far_status(0x15)
    assert status(qt, LPT0) == far_status(0x0A)


def test_laplink_d3_interrupts_the_far_host(make_qt: Callable[..., QTest]) -> None:
    qt = make_qt(*LAPLINK_PAIR, second_port=True)
    qt.irq_intercept_in("ioapic")
    qt.outb(LPT1 + CONTROL, CTR_IDLE | CTR_IRQ)     # the far host enables IRQ 5
    qt.irq_events()
    qt.outb(LPT0 + DATA, 0x08)                      # D3 rises: far nAck rises
    assert qt.irq_events() == [("raise", 5), ("lower", 5)]
    qt.outb(LPT0 + DATA, 0x00)                      # falling edge: nothing
    qt.outb(LPT0 + DATA, 0x17)                      # other lines: nothing
    assert qt.irq_events() == []
    qt.outb(LPT1 + DATA, 0x08)                      # lpt0 has its IRQ off
    assert qt.irq_events() == []


def test_laplink_unplug_floats_and_replug_recovers(make_qt: Callable[..., QTest]) -> None:
    qt = make_qt(*LAPLINK_PAIR, second_port=True)
    qt.outb(LPT0 + DATA, 0x05)
    qt.outb(LPT1 + DATA, 0x1A)
    assert status(qt, LPT1) == far_status(0x05)
    qt.qmp().command("device_del", id="ll1")
    assert status(qt, LPT0) == FLOATING     # the far end is gone
    assert status(qt, LPT1) == FLOATING     # nothing on lpt1's cable at all
    qt.outb(LPT1 + DATA, 0x03)              # talks to nobody
    assert status(qt, LPT0) == FLOATING
    qt.qmp().command("device_add", driver="ieee1284-laplink", id="ll1",
                     bus="lpt1.0", peer="ll0")
    # Both ends see each other's lines at once, as they are now
    assert status(qt, LPT0) == far_status(0x03)
    assert status(qt, LPT1) == far_status(0x05)
    qt.outb(LPT0 + DATA, 0x10)
    assert status(qt, LPT1) == far_status(0x10)


def test_laplink_disconnect_fault(make_qt: Callable[..., QTest]) -> None:
    qt = make_qt(*LAPLINK_PAIR, second_port=True)
    qt.outb(LPT1 + DATA, 0x1F)
    qmp.qom_set(qt.qmp(), "/machine/peripheral/ll0", "disconnect", True)
    assert status(qt, LPT0) == FLOATING
    qmp.qom_set(qt.qmp(), "/machine/peripheral/ll0", "disconnect", False)
    assert status(qt, LPT0) == far_status(0x1F)
    # A LapLink cable has no printer faults: refused with the reason
    with pytest.raises(Exception) as refused:
        qmp.qom_set(qt.qmp(), "/machine/peripheral/ll0", "paper-out", True)
    assert "has no fault 'paper-out'" in str(refused.value)


def recv_exactly(conn: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = conn.recv(n - len(got))
        assert chunk, f"connection closed after {got!r}"
        got += chunk
    return got


def laplink_to_socket(make_qt: Callable[..., QTest], path: Path,
                      chardev_opts: str = "") -> Tuple[QTest, socket.socket, socket.socket]:
    """A laplink whose far end is this test, listening on ``path``:
    ``(qtest, listening socket, QEMU's connection)``."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.settimeout(SOCKET_WAIT)
    server.bind(str(path))
    server.listen(1)
    qt = make_qt("ieee1284-laplink,id=ll0,bus=lpt0.0,chardev=far",
                 extra=["-chardev", f"socket,id=far,path={path}{chardev_opts}"])
    conn, _ = server.accept()
    return qt, server, conn


def test_laplink_chardev_far_end(make_qt: Callable[..., QTest], tmp_path: Path) -> None:
    """The far end in another QEMU, played by this test over the socket:
    0x80 | D0-D4 for each change, in order; 0x00 when an end is unplugged."""
    qt, server, conn = laplink_to_socket(make_qt, tmp_path / "far.sock")
    server.close()
    with conn:
        conn.settimeout(SOCKET_WAIT)
        assert status(qt) == FLOATING           # nothing heard from the far end yet
        # our lines when the connection opened, and again at the reset
        assert recv_exactly(conn, 2) == b"\x80\x80"
        for value in (0x15, 0x15 | 0xE0, 0x0A, 0x1F, 0x00):
            qt.outb(LPT0 + DATA, value)
        # one message per change of D0-D4, in order (D5-D7 are not wired)
        assert recv_exactly(conn, 4) == bytes([0x95, 0x8A, 0x9F, 0x80])
        for value in (0x0A, 0x1F, 0x00, 0x08):
            conn.sendall(bytes([0x80 | value]))
            qt.clock_step(0)                    # let the main loop read it
            assert wait_status(qt, far_status(value)), hex(value)
        conn.sendall(b"\x42")                   # not a message: ignored
        conn.sendall(b"\x00")                   # the far end was unplugged
        assert wait_status(qt, FLOATING)
        conn.sendall(b"\x93")                   # and plugged back
        assert wait_status(qt, far_status(0x13))
        qt.qmp().command("device_del", id="ll0")
        assert recv_exactly(conn, 1) == b"\x00"  # our end was unplugged


def test_laplink_far_end_quits(make_qt: Callable[..., QTest], tmp_path: Path) -> None:
    qt, server, conn = laplink_to_socket(make_qt, tmp_path / "far.sock", ",reconnect=1")
    with server:
        with conn:
            conn.sendall(b"\x85")
            assert wait_status(qt, far_status(0x05))
        assert wait_status(qt, FLOATING)        # the connection closed
        conn, _ = server.accept()               # QEMU reconnects
        with conn:
            conn.settimeout(SOCKET_WAIT)
            assert recv_exactly(conn, 1) == b"\x80"
            conn.sendall(b"\x9B")
            assert wait_status(qt, far_status(0x1B))


def wait_status(qt: QTest, want: int, timeout: float = SOCKET_WAIT) -> bool:
    """The socket is read by QEMU's main loop, whenever the host gets to it:
    poll the status (QEMU-visible state) until it is ``want``."""
    deadline = time.monotonic() + timeout
    while status(qt) != want:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- PPS --------------------------------------------------------------------

def nack(qt: QTest) -> bool:
    return bool(qt.inb(LPT0 + STATUS) & 0x40)


def irq7(qt: QTest) -> List[Tuple[str, int]]:
    """The IRQ events since the last call, of the port's IRQ 7 only."""
    return [event for event in qt.irq_events() if event[1] == 7]


def pulses(qt: QTest) -> int:
    return qmp.qom_get(qt.qmp(), "/machine/peripheral/pps", "pulses")


def step_to(qt: QTest, target: int) -> None:
    now = qt.clock_step(0)
    assert now <= target, (now, target)
    if target > now:
        qt.clock_step(target - now)


def test_pps_edges_to_the_nanosecond(make_qt: Callable[..., QTest]) -> None:
    period, phase, width = 100_000_000, 7_000_000, 2_000_000
    qt = make_qt(f"ieee1284-pps,id=pps,period-ns={period},phase-ns={phase},"
                 f"width-ns={width}")
    qt.irq_intercept_in("ioapic")
    qt.outb(LPT0 + CONTROL, CTR_IDLE | CTR_IRQ)
    qt.irq_events()
    before = pulses(qt)
    start = qt.clock_step(0)
    first = (start - phase) // period + 1 if start > phase else 0
    for k in range(first, first + 5):
        edge = k * period + phase
        step_to(qt, edge - 1)
        assert not nack(qt), k                  # not a nanosecond early
        assert irq7(qt) == []
        step_to(qt, edge)
        assert nack(qt), k                      # the assert edge, on time
        assert irq7(qt) == [("raise", 7), ("lower", 7)]
        step_to(qt, edge + width - 1)
        assert nack(qt), k
        step_to(qt, edge + width)
        assert not nack(qt), k                  # the clear edge, on time
    assert pulses(qt) == before + 5


def test_pps_default_is_one_pulse_a_second(make_qt: Callable[..., QTest]) -> None:
    qt = make_qt("ieee1284-pps,id=pps")
    start = qt.clock_step(0)
    step_to(qt, (start // 10**9 + 1) * 10**9 - 1)
    before = pulses(qt)
    assert not nack(qt)
    qt.clock_step(500_001)                      # inside the pulse (1 ms)
    assert nack(qt) and pulses(qt) == before + 1
    qt.clock_step(600_000)
    assert not nack(qt)
    qt.clock_step(10**9)
    assert pulses(qt) == before + 2


def test_pps_no_ack_fault_stops_the_pulses(make_qt: Callable[..., QTest]) -> None:
    period = 10_000_000
    qt = make_qt(f"ieee1284-pps,id=pps,period-ns={period},width-ns=1000")
    qt.clock_step(5 * period)
    before = pulses(qt)
    assert before >= 4
    qmp.qom_set(qt.qmp(), "/machine/peripheral/pps", "no-ack", True)
    for _ in range(20):
        qt.clock_step(period // 4)
        assert not nack(qt)
    assert pulses(qt) == before
    qmp.qom_set(qt.qmp(), "/machine/peripheral/pps", "no-ack", False)
    qt.clock_step(2 * period)
    assert pulses(qt) == before + 2


def assert_times(qt: QTest, period: int, count: int) -> List[int]:
    """The virtual times of the next ``count`` assert edges, found by
    stepping 1 us at a time (jittered edges are not on a grid)."""
    times: List[int] = []
    was = nack(qt)
    while len(times) < count:
        now = qt.clock_step(1000)
        high = nack(qt)
        if high and not was:
            times.append(now)
        was = high
        assert now < 100 * period
    return times


def test_pps_jitter_is_bounded_and_seeded(make_qt: Callable[..., QTest]) -> None:
    period, jitter = 1_000_000, 200_000
    runs = []
    for seed in (5, 5, 6):
        qt = make_qt(f"ieee1284-pps,id=pps,period-ns={period},width-ns=10000,"
                     f"jitter-ns={jitter},jitter-seed={seed}")
        start = qt.clock_step(0)
        qt.clock_step((start // period + 1) * period - start + period // 2)
        times = assert_times(qt, period, 12)
        offsets = [t - round(t / period) * period for t in times]
        # each edge within the jitter of its grid point (1 us steps)
        assert all(-jitter - 1000 <= o <= jitter + 1000 for o in offsets), offsets
        assert len(set(offsets)) > 6            # really jittered
        runs.append(offsets)
        qt.close()
    assert runs[0] == runs[1]                   # the same seed, the same edges
    assert runs[0] != runs[2]


# -- I2C ---------------------------------------------------------------------

class I2CMaster:
    """i2c-algo-bit's master through the registers, wired as i2c-parport
    type 0: SDA = data bit 7 inverted out, status bit 7 in; SCL = control
    bit 3 out, status bit 3 in."""

    def __init__(self, qt: QTest, stretch_step: Optional[int] = None,
                 resume: Optional[Tuple[int, int]] = None) -> None:
        """Both lines released (idle), or ``resume=(data, control)``: the
        registers as a master mid-transfer left them (written already)."""
        self.qt = qt
        self.data, self.ctrl = resume or (0x00, CTR_IDLE | 0x08)
        self.stretch_step = stretch_step
        self.stretched = 0
        if resume is None:
            qt.outb(LPT0 + DATA, self.data)
            qt.outb(LPT0 + CONTROL, self.ctrl)

    def sda(self, level: int) -> None:
        self.data = 0x00 if level else 0x80
        self.qt.outb(LPT0 + DATA, self.data)

    def scl(self, level: int) -> None:
        self.ctrl = (self.ctrl | 0x08) if level else (self.ctrl & ~0x08)
        self.qt.outb(LPT0 + CONTROL, self.ctrl)
        if level:
            # sclhi(): wait for SCL to really rise (a device may stretch)
            while not self.qt.inb(LPT0 + STATUS) & 0x08:
                assert self.stretch_step is not None, "SCL held low"
                self.qt.clock_step(self.stretch_step)
                self.stretched += 1

    def get_sda(self) -> int:
        return 1 if self.qt.inb(LPT0 + STATUS) & 0x80 else 0

    def start(self) -> None:
        self.sda(1)
        self.scl(1)
        self.sda(0)
        self.scl(0)

    def stop(self) -> None:
        self.sda(0)
        self.scl(1)
        self.sda(1)

    def write(self, byte: int) -> bool:
        for bit in range(7, -1, -1):
            self.sda((byte >> bit) & 1)
            self.scl(1)
            self.scl(0)
        self.sda(1)
        self.scl(1)
        ack = self.get_sda() == 0
        self.scl(0)
        return ack

    def read(self, ack: bool) -> int:
        byte = 0
        self.sda(1)
        for _ in range(8):
            self.scl(1)
            byte = (byte << 1) | self.get_sda()
            self.scl(0)
        self.sda(0 if ack else 1)
        self.scl(1)
        self.scl(0)
        return byte

    def transfer(self, addr: int, out: bytes, nread: int) -> Optional[bytes]:
        """Write ``out`` then read ``nread`` bytes; None when not acknowledged."""
        self.start()
        if out or not nread:
            if not self.write(addr << 1):
                self.stop()
                return None
            for byte in out:
                assert self.write(byte)
            if nread:
                self.start()            # repeated start
        got = b""
        if nread:
            if not self.write(addr << 1 | 1):
                self.stop()
                return None
            got = bytes(self.read(i < nread - 1) for i in range(nread))
        self.stop()
        return got


I2C_BUS = ("ieee1284-i2c,id=i2cad,bus=lpt0.0{}",
           "tmp105,id=tmp,bus=i2cad.0,address=0x48",
           "at24c-eeprom,id=ee,bus=i2cad.0,address=0x50,rom-size=4096")


def i2c_qt(make_qt: Callable[..., QTest], props: str = "") -> QTest:
    return make_qt(I2C_BUS[0].format(props), *I2C_BUS[1:])


def test_i2c_scan_finds_exactly_the_two_devices(make_qt: Callable[..., QTest]) -> None:
    qt = i2c_qt(make_qt)
    master = I2CMaster(qt)
    found = [addr for addr in range(0x03, 0x78) if master.transfer(addr, b"", 0) is not None]
    assert found == [0x48, 0x50]


def test_i2c_tmp105_temperature_from_qom(make_qt: Callable[..., QTest]) -> None:
    qt = i2c_qt(make_qt)
    master = I2CMaster(qt)
    for millideg, raw in ((25_000, b"\x19\x00"), (-5_500, b"\xfa\x80")):
        qmp.qom_set(qt.qmp(), "/machine/peripheral/tmp", "temperature", millideg)
        # register 0, two bytes, 9-bit resolution by default
        assert master.transfer(0x48, b"\x00", 2) == raw


def test_i2c_eeprom_write_read_back(make_qt: Callable[..., QTest]) -> None:
    qt = i2c_qt(make_qt)
    master = I2CMaster(qt)
    payload = bytes(range(0x30, 0x40))
    assert master.transfer(0x50, b"\x01\x20" + payload, 0) == b""
    assert master.transfer(0x50, b"\x01\x20", len(payload)) == payload
    assert master.transfer(0x50, b"\x01\x1f", 1) == b"\x00"     # untouched


def test_i2c_clock_stretching(make_qt: Callable[..., QTest]) -> None:
    stretch = 50_000
    qt = i2c_qt(make_qt, f",stretch-ns={stretch}")
    master = I2CMaster(qt, stretch_step=stretch // 5)
    qmp.qom_set(qt.qmp(), "/machine/peripheral/tmp", "temperature", 25_000)
    assert master.transfer(0x48, b"\x00", 2) == b"\x19\x00"
    # every SCL rise during the transfer waited 5 steps: 9 clocks a byte
    # (address+register, address, 2 bytes = 4 bytes), plus the starts
    assert master.stretched >= 4 * 9 * 5
    # Outside a transfer SCL rises at once
    before = master.stretched
    master.scl(1)
    assert master.stretched == before


def test_i2c_disconnect_floats(make_qt: Callable[..., QTest]) -> None:
    qt = i2c_qt(make_qt)
    qmp.qom_set(qt.qmp(), "/machine/peripheral/i2cad", "disconnect", True)
    assert status(qt) == FLOATING
    qmp.qom_set(qt.qmp(), "/machine/peripheral/i2cad", "disconnect", False)
    assert I2CMaster(qt).transfer(0x48, b"", 0) == b""


# -- migration ---------------------------------------------------------------

def device_args(*devices: str) -> List[str]:
    return [arg for device in devices for arg in ("-device", device)]


def test_line_peripherals_survive_migration(tmp_path: Path) -> None:
    """Mid-transfer and mid-period: an I2C read half done, a PPS source
    between edges, a LapLink cable with lines set; the destination goes on
    exactly where the source stopped."""
    from test_migration import load_from, migrate_to

    period = 10_000_000
    args = ["-device", "isa-lpt1284,id=lpt1,iobase=0x278,irq=5,dma=1",
            "-device", "isa-lpt1284,id=lpt2,iobase=0x268,irq=4,dma=-1",
            "-device", "isa-lpt1284,id=lpt3,iobase=0x260,irq=6,dma=-1"]
    args += device_args(I2C_BUS[0].format(""), *I2C_BUS[1:],
                        f"ieee1284-pps,id=pps,bus=lpt1.0,period-ns={period},width-ns=1000",
                        "ieee1284-laplink,id=ll0,bus=lpt2.0,peer=ll1",
                        "ieee1284-laplink,id=ll1,bus=lpt3.0,peer=ll0")
    image = tmp_path / "vmstate.bin"
    with QTest(tmp_path / "src", Chain(()), extra_args=args) as src:
        qmp.qom_set(src.qmp(), "/machine/peripheral/tmp", "temperature", 25_000)
        master = I2CMaster(src)
        master.start()
        assert master.write(0x48 << 1) and master.write(0x00)
        master.start()
        assert master.write(0x48 << 1 | 1)
        assert master.read(True) == 0x19            # first byte read...
        src.outb(0x268 + DATA, 0x0B)
        now = src.clock_step(0)
        src.clock_step(period - now % period + period // 2)     # between pulses
        pulses_before = qmp.qom_get(src.qmp(), "/machine/peripheral/pps", "pulses")
        at = src.clock_step(0)
        migrate_to(src, image)
    with load_from(tmp_path / "dst", Chain(()), image, args) as dst:
        # qtest's virtual clock starts at 0 again: catch up with the source
        # (the timers keep their absolute deadlines)
        dst.clock_step(at - dst.clock_step(0))
        # the lines as they were: SDA released, SCL low
        master = I2CMaster(dst, resume=(0x00, CTR_IDLE))
        assert master.read(False) == 0x00               # ...the second after
        master.stop()
        assert master.transfer(0x48, b"\x00", 2) == b"\x19\x00"
        assert status(dst, 0x260) == far_status(0x0B)
        assert qmp.qom_get(dst.qmp(), "/machine/peripheral/pps", "pulses") == pulses_before
        dst.clock_step(period // 2 - 1)
        assert not dst.inb(0x278 + STATUS) & 0x40
        dst.clock_step(1)                               # the next edge, on time
        assert dst.inb(0x278 + STATUS) & 0x40
