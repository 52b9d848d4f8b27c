"""qtest: flow control and the error interrupt.

A printer whose chardev backend stops reading must hold the port back
without blocking QEMU or losing a byte; a loopback that is full takes no
more; nFault falling interrupts in ECP mode only when nErrIntrEn allows.
"""

import random
import socket
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

from lptrig import qmp
from lptrig.chain import Chain
from lptrig.qtest import QTest

from host1284 import ECP, ECR, FIFO, NIBBLE, PPFIFO, PS2, Host
from test_modes import DMA_MEM_TO_DEV, DMA_STATUS, program_dma

BLOCK = 0x10000                 # the most one i8257 programming moves
#: how long (s) to wait for this test's reader thread to drain the printer's
#: socket: the host schedules it when it can, so generous
DRAIN_WAIT = 60.0


def step_until_tc(qt: QTest, steps: Optional[int] = None,
                  timeout: float = DRAIN_WAIT) -> bool:
    """Step virtual time 1 ms at a time until terminal count (serviceIntr);
    ``steps`` steps at most (a question about virtual time: does the block
    end within so many ms?), else until ``timeout`` s of host time (waiting
    for something outside QEMU: the reader thread)."""
    deadline = time.monotonic() + timeout
    done = 0
    while not qt.inb(ECR) & 0x04:
        if steps is not None and done >= steps:
            return False
        if steps is None and time.monotonic() > deadline:
            return False
        qt.clock_step(1_000_000)
        done += 1
    return True


def run_block(qt: QTest, addr: int, steps: Optional[int] = None) -> bool:
    """One DMA block into the compatibility FIFO; True at terminal count
    (see step_until_tc for ``steps``)."""
    program_dma(qt, DMA_MEM_TO_DEV, addr, BLOCK)
    qt.inb(DMA_STATUS)                          # reading clears old TC bits
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(ECR, PPFIFO | 0x18)                 # dmaEn, serviceIntr clear
    return step_until_tc(qt, steps)


def test_printer_backend_backpressure(tmp_path: Path) -> None:
    sock = tmp_path / "printer.sock"
    args = ["-device", "isa-lpt1284,id=lpt0",
            "-chardev", f"socket,id=pr,path={sock},server=on,wait=off",
            "-device", "ieee1284-printer,id=printer-end,chardev=pr"]
    # Five 64 KiB blocks: more than the backend socket buffers (~200 KiB)
    blocks = [random.Random(i).randbytes(BLOCK) for i in range(5)]
    received: List[bytes] = []
    with QTest(tmp_path / "run", None, extra_args=args) as qt:
        reader = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        reader.connect(str(sock))
        for i, block in enumerate(blocks):
            qt.memwrite(0x100000 + i * BLOCK, block)
        done = 0
        while done < len(blocks) and run_block(qt, 0x100000 + done * BLOCK, 5):
            done += 1
        # Nobody reads: the printer holds the transfer back, QEMU still answers
        assert done < len(blocks)
        assert not qt.inb(DMA_STATUS) & 0x08
        assert qt.inb(ECR) & 0x04 == 0

        def drain() -> None:
            while True:
                data = reader.recv(65536)
                if not data:
                    return
                received.append(data)

        thread = threading.Thread(target=drain)
        thread.start()
        # The backend drains (as fast as the host runs the reader): the
        # stalled block and the rest complete
        assert step_until_tc(qt)
        done += 1
        while done < len(blocks):
            assert run_block(qt, 0x100000 + done * BLOCK)
            done += 1
    thread.join(DRAIN_WAIT)                     # QEMU closed the socket: EOF
    assert not thread.is_alive(), "the reader never saw the end of the data"
    reader.close()
    assert b"".join(received) == b"".join(blocks)


def test_full_loopback_takes_no_more(tmp_path: Path) -> None:
    chain = Chain.parse("loopback@end")
    args = ["-global", "ieee1284-loopback.size=8"]
    with QTest(tmp_path, chain, extra_args=args) as qt:
        qt.outb(ECR, PPFIFO | 0x14)
        for byte in b"0123456789AB":
            qt.outb(FIFO, byte)
        # eight taken, four still queued in the port's FIFO
        assert qt.inb(ECR) & 0x01 == 0
        qt.outb(ECR, PS2 | 0x14)                # resets the FIFO
        host = Host(qt)
        assert host.negotiate(NIBBLE)
        assert host.read_nibble(20) == b"01234567"
    # the chardev got a copy of exactly what the loopback took
    assert (tmp_path / "loopback@end.bin").read_bytes() == b"01234567"


def test_nfault_interrupt_follows_nerrintren(make_qtest: Callable[..., QTest]) -> None:
    qt = make_qtest()
    qt.irq_intercept_in("ioapic")
    mon = qt.qmp()
    for nerrintren, expected in ((0x10, []), (0x00, [("raise", 7), ("lower", 7)])):
        qt.outb(ECR, PS2 | 0x14)
        qt.outb(ECR, ECP | nerrintren | 0x04)
        qt.irq_events()
        qmp.qom_set(mon, "/machine/peripheral/printer-end", "fault", True)
        assert qt.irq_events() == expected
        qmp.qom_set(mon, "/machine/peripheral/printer-end", "fault", False)
        assert qt.irq_events() == []            # the rising edge never interrupts
    # outside ECP mode nFault does not interrupt either
    qt.outb(ECR, PS2 | 0x04)
    qmp.qom_set(mon, "/machine/peripheral/printer-end", "fault", True)
    assert qt.irq_events() == []


def test_dma_resumes_when_paper_out_clears(make_qtest: Callable[..., QTest]) -> None:
    """A DMA transfer held up by paper-out goes on when paper-out is cleared."""
    qt = make_qtest("printer@end")
    printer = "/machine/peripheral/printer-end"
    block = random.Random(3).randbytes(4096)
    qt.memwrite(0x100000, block)
    qmp.qom_set(qt.qmp(), printer, "paper-out", True)
    program_dma(qt, DMA_MEM_TO_DEV, 0x100000, len(block))
    qt.inb(DMA_STATUS)
    qt.outb(ECR, PS2 | 0x14)
    qt.outb(ECR, PPFIFO | 0x18)                 # dmaEn, serviceIntr clear
    for _ in range(5):
        qt.clock_step(1_000_000)
    assert qt.inb(ECR) & 0x04 == 0              # held up: no terminal count
    out = qt.rundir / "printer@end.bin"
    assert out.read_bytes() == b""
    # Only the knob changes: no register write restarts the transfer
    qmp.qom_set(qt.qmp(), printer, "paper-out", False)
    for _ in range(5):
        if qt.inb(ECR) & 0x04:
            break
        qt.clock_step(1_000_000)
    assert qt.inb(ECR) & 0x04                   # terminal count
    assert out.read_bytes() == block
