"""qtest: every piece of device state survives migration (VMState).

The source QEMU is migrated to a file; a second QEMU loads it with
-incoming and must read back the same registers, FIFO contents, cable
levels, and peripheral state (the loopback's queued bytes, the printer's
fault knobs).
"""

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

from lptrig import qmp
from lptrig.chain import Chain, Peripheral
from lptrig.qtest import QTest

from host1284 import (CONTROL, DATA, ECR, FIFO, NIBBLE, PPFIFO, PS2, STATUS, TEST, Host,
                      assign_addrs, print_compat, select)

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
