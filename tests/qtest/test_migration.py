"""qtest: every piece of device state survives migration (VMState).

The source QEMU is migrated to a file; a second QEMU loads it with
-incoming and must read back the same registers, FIFO contents, cable
levels, and peripheral state (the loopback's queued bytes, the printer's
fault knobs).
"""

import time
from pathlib import Path
from typing import Callable

from lptrig import qmp
from lptrig.chain import Chain
from lptrig.qtest import QTest

from host1284 import CONTROL, DATA, ECR, FIFO, NIBBLE, STATUS, TEST, Host

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

    with QTest(tmp_path / "dst", chain, extra_args=["-incoming", "defer"]) as dst:
        mon = dst.qmp()
        mon.command("migrate-incoming", uri=f"exec:cat {image}")
        for _ in range(200):
            if mon.command("query-migrate").get("status") == "completed":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("incoming migration did not complete")
        assert [dst.inb(p) for p in (DATA, STATUS, CONTROL, ECR)] == before
        assert [qmp.qom_get(dst.qmp(), CHAIN, p)
                for p in ("host-data", "host-control")] == lines
        assert [dst.inb(FIFO) for _ in range(3)] == [1, 2, 3]
        dst.outb(ECR, 0x34)
        dst.outb(CONTROL, 0x0C)
        host = Host(dst)
        assert host.negotiate(NIBBLE)
        assert host.read_nibble(64) == b"migrate me"
