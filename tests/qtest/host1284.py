"""The host side of IEEE 1284 at register level, for qtest tests.

The sequences follow Linux's drivers/parport/ieee1284.c and
ieee1284_ops.c step for step, so the device is checked against the same
events Linux drives, without a guest.  Control register values keep nInit
high (bit 2) unless a step says otherwise.
"""

from lptrig.qtest import QTest

BASE = 0x378
DATA, STATUS, CONTROL = BASE, BASE + 1, BASE + 2
EPP_ADDR, EPP_DATA = BASE + 3, BASE + 4
FIFO, CNFGB, ECR = BASE + 0x400, BASE + 0x401, BASE + 0x402

# Status register bits
S_BUSY, S_ACK, S_PERROR, S_SELECT, S_ERROR = 0x80, 0x40, 0x20, 0x10, 0x08
# Control register bits
C_STROBE, C_AUTOFD, C_INIT, C_SELECT, C_IRQ, C_DIR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

# ECR modes
SPP, PS2, PPFIFO, ECP, EPP, TEST, CONFIG = 0x00, 0x20, 0x40, 0x60, 0x80, 0xC0, 0xE0

NIBBLE, BYTE, DEVICEID, ECPMODE, ECPRLE, EPPMODE = 0x00, 0x01, 0x04, 0x10, 0x30, 0x40

# What the peripheral is given to answer a handshake step, in ns of
# virtual time (it answers within a few hundred).
STEP = 5_000


class Host:
    """Drives isa-lpt1284 like Linux's parport_pc does, through qtest."""

    def __init__(self, qt: QTest) -> None:
        self.qt = qt
        self.ctr = 0x0C
        qt.outb(ECR, PS2 | 0x14)
        self.control(0x0C)

    def control(self, value: int) -> None:
        self.ctr = value
        self.qt.outb(CONTROL, value)

    def frob(self, mask: int, value: int) -> None:
        self.control((self.ctr & ~mask) | value)

    def status(self) -> int:
        return self.qt.inb(STATUS)

    def wait(self, mask: int, value: int) -> bool:
        """parport_wait_peripheral: poll with time passing."""
        for _ in range(20):
            if self.status() & mask == value:
                return True
            self.qt.clock_step(STEP)
        return False

    def negotiate(self, mode: int) -> bool:
        """parport_negotiate: True when the peripheral accepted the mode."""
        self.frob(C_STROBE | C_AUTOFD | C_SELECT, C_SELECT)
        self.frob(C_DIR, 0)
        self.qt.outb(DATA, mode)
        # Event 1: nSelectIn high, nAutoFd low
        self.frob(C_SELECT | C_AUTOFD, C_AUTOFD)
        # Event 2
        assert self.wait(S_ERROR | S_SELECT | S_PERROR | S_ACK,
                         S_ERROR | S_SELECT | S_PERROR), "no event 2"
        self.frob(C_STROBE, C_STROBE)                   # event 3
        self.frob(C_STROBE | C_AUTOFD, 0)               # event 4
        assert self.wait(S_ACK, S_ACK), "no event 6"
        xflag = bool(self.status() & S_SELECT)
        accepted = not xflag if mode == NIBBLE else xflag
        self.mode = mode
        if not accepted:
            self.terminate()
            return False
        if mode & ECPMODE and mode != EPPMODE:
            self.frob(C_AUTOFD, C_AUTOFD)               # event 30
            assert self.wait(S_PERROR, S_PERROR), "no event 31"
            self.phase = "fwd"
        return True

    def terminate(self) -> None:
        """parport_ieee1284_terminate from a nibble, byte or ECP mode."""
        if getattr(self, "phase", "fwd") == "rev":
            self.ecp_reverse_to_forward()
        self.frob(C_SELECT | C_AUTOFD, C_SELECT)        # event 22
        assert self.wait(S_ACK, 0), "no event 24"
        self.frob(C_AUTOFD, C_AUTOFD)                   # event 25
        assert self.wait(S_ACK, S_ACK), "no event 27"
        self.frob(C_AUTOFD, 0)                          # event 29
        self.mode = None

    def read_nibble(self, count: int) -> bytes:
        """parport_ieee1284_read_nibble: up to count bytes."""
        out = bytearray()
        while len(out) < count:
            if self.status() & S_ERROR:                 # no data available
                break
            byte = 0
            for half in range(2):
                self.frob(C_AUTOFD, C_AUTOFD)           # event 7
                assert self.wait(S_ACK, 0), "no event 9"
                st = self.status()
                nibble = ((st >> 3) & 7) | (0 if st & S_BUSY else 8)
                self.frob(C_AUTOFD, 0)                  # event 10
                assert self.wait(S_ACK, S_ACK), "no event 11"
                byte |= nibble << (4 * half)
            out.append(byte)
        return bytes(out)

    def read_byte_mode(self, count: int) -> bytes:
        """parport_ieee1284_read_byte."""
        out = bytearray()
        while len(out) < count:
            if self.status() & S_ERROR:
                break
            self.frob(C_DIR, C_DIR)                     # event 14
            self.frob(C_AUTOFD, C_AUTOFD)               # event 7
            assert self.wait(S_ACK, 0), "no event 9"
            out.append(self.qt.inb(DATA))
            self.frob(C_AUTOFD, 0)                      # event 10
            assert self.wait(S_ACK, S_ACK), "no event 11"
            self.frob(C_STROBE, C_STROBE)               # event 16
            self.frob(C_STROBE, 0)                      # event 17
        self.frob(C_DIR, 0)
        return bytes(out)

    def ecp_forward_to_reverse(self) -> None:
        self.frob(C_AUTOFD, C_AUTOFD)                   # event 38
        self.frob(C_DIR, C_DIR)
        self.frob(C_INIT, 0)                            # event 39
        assert self.wait(S_PERROR, 0), "no event 40"
        self.phase = "rev"

    def ecp_reverse_to_forward(self) -> None:
        self.frob(C_INIT | C_AUTOFD, C_INIT | C_AUTOFD)  # event 47
        assert self.wait(S_PERROR, S_PERROR), "no event 49"
        self.frob(C_DIR, 0)
        self.phase = "fwd"

    def ecp_write(self, data: bytes, command: bool = False) -> None:
        """parport_ieee1284_ecp_write_data / _write_addr, at pin level."""
        self.frob(C_AUTOFD | C_STROBE | C_INIT,
                  (C_AUTOFD if command else 0) | C_INIT)
        for byte in data:
            self.qt.outb(DATA, byte)
            self.frob(C_STROBE, C_STROBE)
            assert self.wait(S_BUSY, 0), "no PeriphAck"
            self.frob(C_STROBE, 0)
            assert self.wait(S_BUSY, S_BUSY), "byte not taken"

    def ecp_read(self, count: int) -> bytes:
        """parport_ieee1284_ecp_read_data, at pin level (no RLE)."""
        if self.phase != "rev":
            self.ecp_forward_to_reverse()
        ctl = self.ctr & ~(C_STROBE | C_INIT | C_AUTOFD)
        self.control(ctl | C_AUTOFD)
        out = bytearray()
        while len(out) < count:
            if not self.wait(S_ACK, 0):                 # event 43
                break
            assert self.status() & S_BUSY == 0, "command byte in reverse"
            out.append(self.qt.inb(DATA))
            self.control(ctl)                           # event 44
            assert self.wait(S_ACK, S_ACK), "no event 45"
            self.control(ctl | C_AUTOFD)                # event 46
        return bytes(out)


# -- IEEE 1284.3 command packets, as Linux's drivers/parport/daisy.c sends them

#: status bits daisy.c masks when it checks the packet prefix
CPP_MASK = S_BUSY | S_PERROR | S_SELECT | S_ERROR
#: the prefix answers daisy.c expects (status register bits)
CPP_AFTER_FF = S_BUSY | S_PERROR | S_SELECT | S_ERROR
CPP_AFTER_87 = S_SELECT | S_ERROR

# 1284.3 commands (+ address)
ASSIGN, DESELECT_ALL, SELECT, EPP_SELECT, ECP_SELECT = 0x00, 0x30, 0xE0, 0x20, 0xD0


class CppFailed(Exception):
    """The chain did not answer the packet prefix: no 1284.3 device."""

    def __init__(self, step: str, status: int) -> None:
        super().__init__(f"{step}({status:02x})")
        self.step, self.status = step, status


def cpp_prefix(qt: QTest) -> None:
    """AA 55 00 FF, check, 87, check, 78: cpp_daisy / assign_addrs."""
    qt.outb(CONTROL, 0x0C)                      # parport_data_forward
    for byte in (0xAA, 0x55, 0x00, 0xFF):
        qt.outb(DATA, byte)
    status = qt.inb(STATUS) & CPP_MASK
    if status != CPP_AFTER_FF:
        raise CppFailed("aa5500ff", status)
    qt.outb(DATA, 0x87)
    status = qt.inb(STATUS) & CPP_MASK
    if status != CPP_AFTER_87:
        raise CppFailed("aa5500ff87", status)
    qt.outb(DATA, 0x78)


def cpp(qt: QTest, command: int) -> int:
    """cpp_daisy(): the status sampled while nStrobe is low."""
    cpp_prefix(qt)
    qt.outb(DATA, command)
    qt.outb(CONTROL, 0x0D)
    status = qt.inb(STATUS)
    qt.outb(CONTROL, 0x0C)
    qt.outb(DATA, 0xFF)
    return status


def select(qt: QTest, addr: int, kind: int = SELECT) -> bool:
    """A select as share.c reads it: acknowledged when nFault is high."""
    return bool(cpp(qt, kind + addr) & S_ERROR)


def assign_addrs(qt: QTest) -> int:
    """daisy.c's assign_addrs(): how many daisy devices answered."""
    try:
        cpp_prefix(qt)
    except CppFailed:
        return 0
    status = qt.inb(STATUS)
    found = 0
    while (status & (S_PERROR | S_SELECT)) == (S_PERROR | S_SELECT) and found < 4:
        qt.outb(DATA, found)
        qt.outb(CONTROL, 0x0D)
        qt.outb(CONTROL, 0x0C)
        found += 1
        if not status & S_BUSY:                 # it said it was the last
            break
        status = qt.inb(STATUS)
    qt.outb(DATA, 0xFF)
    return found


def print_compat(qt: QTest, data: bytes) -> None:
    """Compatibility-mode bytes with the SPP handshake, as lp sends them."""
    for byte in data:
        qt.outb(DATA, byte)
        qt.outb(CONTROL, 0x0D)
        qt.outb(CONTROL, 0x0C)
