"""A qtest client: drive QEMU's I/O ports, memory, clock and IRQs without a guest.

QEMU runs with ``-accel qtest`` and connects to a socket we listen on; the
protocol is line based, one ``OK``/``FAIL``/``ERR`` answer per request, with
``IRQ raise N`` / ``IRQ lower N`` lines arriving in between.
"""

import select
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Type, Union

from . import paths, qmp
from .chain import Chain, opt
from .errors import GuestError, LptrigError, QTestError
from .proc import spawn

if TYPE_CHECKING:
    from qemu.qmp.legacy import QEMUMonitorProtocol

#: one IRQ event: ("raise" | "lower", irq number)
IrqEvent = Tuple[str, int]


class QTest:
    """QEMU under qtest control. ``with QTest(rundir, chain) as qt:`` starts it.

    ``chain`` (optional) plugs in a controller and peripherals exactly as for
    a guest; their output files go to ``rundir``.
    """

    def __init__(self, rundir: Union[str, Path], chain: Optional[Chain] = None, *,
                 machine: str = "pc", extra_args: Sequence[str] = (),
                 trace: Sequence[str] = (), timeout: float = 30.0) -> None:
        self.rundir = Path(rundir).absolute()
        self.chain = chain
        self.machine = machine
        self.extra_args = list(extra_args)
        self.trace = list(trace)
        self.timeout = timeout
        self.qemu = paths.qemu_binary()
        self.firmware = paths.firmware_dir()
        self._sockdir = paths.socket_dir(self.rundir) or self.rundir
        self._own_sockdir = self._sockdir != self.rundir
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[IO[bytes]] = None
        self._sock: Optional[socket.socket] = None
        self._rx = b""
        self._qmp: Optional["QEMUMonitorProtocol"] = None
        self._irq_events: List[IrqEvent] = []
        self._irq_levels: Dict[int, int] = {}

    def argv(self) -> List[str]:
        """The exact QEMU argv."""
        args = [str(self.qemu), "-machine", self.machine, "-accel", "qtest",
                "-qtest", f"unix:{opt(self._sockdir / 'qtest.sock')}",
                "-qtest-log", str(self.rundir / "qtest.log"),
                "-display", "none", "-nodefaults", "-no-user-config",
                "-L", str(self.firmware),
                "-qmp", f"unix:{opt(self._sockdir / 'qmp.sock')},server=on,wait=off"]
        if self.chain is not None:
            args += self.chain.qemu_args(self.rundir)
        for pattern in self.trace:
            args += ["-trace", f"enable={pattern}"]
        if self.trace:
            args += ["-D", str(self.rundir / "qemu-trace.log")]
        return args + self.extra_args

    def command_line(self) -> str:
        """The QEMU command line, shell-quoted."""
        return shlex.join(self.argv())

    def start(self) -> None:
        """Listen, start QEMU and accept its qtest connection."""
        self.rundir.mkdir(parents=True, exist_ok=True)
        for name in ("qtest.sock", "qmp.sock"):
            (self._sockdir / name).unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(self._sockdir / "qtest.sock"))
            server.listen(1)
            self._log = open(self.rundir / "qemu.log", "wb")  # pylint: disable=consider-using-with
            self._proc = spawn(self.argv(), stdin=subprocess.DEVNULL,
                               stdout=self._log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + self.timeout
            while not select.select([server], [], [], 0.1)[0]:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise self._failure("QEMU did not connect to the qtest socket")
            self._sock, _ = server.accept()
            (self._sockdir / "qtest.sock").unlink(missing_ok=True)
        # QEMU connects before it creates the devices: a harmless request
        # that it answers from its main loop proves the machine is up.
        self.command("endianness")

    def _failure(self, what: str) -> GuestError:
        status = "running" if self._proc is None or self._proc.poll() is None \
            else f"exit status {self._proc.poll()}"
        try:
            log = (self.rundir / "qemu.log").read_text(errors="replace").strip()
        except OSError:
            log = ""
        return GuestError(f"{what} ({status}); qemu.log:\n{log}\n"
                          f"QEMU command line:\n{self.command_line()}")

    def _readline(self, deadline: float) -> str:
        assert self._sock is not None
        while b"\n" not in self._rx:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._sock], [], [], remaining)[0]:
                raise GuestError(f"no qtest answer within {self.timeout:g} s")
            try:
                data = self._sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                if self._proc is not None:
                    try:
                        self._proc.wait(5)
                    except subprocess.TimeoutExpired:
                        pass  # report it as running
                raise self._failure("QEMU closed the qtest connection")
            self._rx += data
        line, self._rx = self._rx.split(b"\n", 1)
        return line.decode(errors="replace")

    def _note_irq(self, line: str) -> bool:
        words = line.split()
        if len(words) == 3 and words[0] == "IRQ" and words[1] in ("raise", "lower"):
            irq = int(words[2])
            self._irq_events.append((words[1], irq))
            self._irq_levels[irq] = int(words[1] == "raise")
            return True
        return False

    def command(self, request: str) -> List[str]:
        """Send one request; return the words after ``OK``, raise on FAIL/ERR."""
        if self._sock is None:
            raise LptrigError("qtest is not started")
        try:
            self._sock.sendall(request.encode() + b"\n")
        except OSError:
            raise self._failure(f"QEMU closed the qtest connection before {request!r}") from None
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._readline(deadline)
            if self._note_irq(line):
                continue
            words = line.split()
            if words and words[0] == "OK":
                return words[1:]
            raise QTestError(f"qtest request {request!r} failed: {line}")

    def _drain(self) -> None:
        """Record IRQ lines that arrived since the last answer."""
        assert self._sock is not None
        while select.select([self._sock], [], [], 0)[0]:
            try:
                data = self._sock.recv(4096)
            except OSError:
                break
            if not data:
                break
            self._rx += data
        while b"\n" in self._rx:
            line, rest = self._rx.split(b"\n", 1)
            if not self._note_irq(line.decode(errors="replace")):
                break
            self._rx = rest

    # -- requests -------------------------------------------------------------

    def outb(self, port: int, value: int) -> None:
        """Write a byte to an I/O port."""
        self.command(f"outb {port:#x} {value:#x}")

    def outw(self, port: int, value: int) -> None:
        """Write a 16-bit word to an I/O port."""
        self.command(f"outw {port:#x} {value:#x}")

    def outl(self, port: int, value: int) -> None:
        """Write a 32-bit word to an I/O port."""
        self.command(f"outl {port:#x} {value:#x}")

    def inb(self, port: int) -> int:
        """Read a byte from an I/O port."""
        return int(self.command(f"inb {port:#x}")[0], 0)

    def inw(self, port: int) -> int:
        """Read a 16-bit word from an I/O port."""
        return int(self.command(f"inw {port:#x}")[0], 0)

    def inl(self, port: int) -> int:
        """Read a 32-bit word from an I/O port."""
        return int(self.command(f"inl {port:#x}")[0], 0)

    def writeb(self, addr: int, value: int) -> None:
        """Write a byte to guest memory."""
        self.command(f"writeb {addr:#x} {value:#x}")

    def readb(self, addr: int) -> int:
        """Read a byte of guest memory."""
        return int(self.command(f"readb {addr:#x}")[0], 0)

    def memwrite(self, addr: int, data: bytes) -> None:
        """Write ``data`` to guest memory at ``addr``."""
        if data:
            self.command(f"write {addr:#x} {len(data):#x} 0x{data.hex()}")

    def memread(self, addr: int, size: int) -> bytes:
        """Read ``size`` bytes of guest memory at ``addr``."""
        if size <= 0:
            return b""
        return bytes.fromhex(self.command(f"read {addr:#x} {size:#x}")[0][2:])

    def clock_step(self, ns: Optional[int] = None) -> int:
        """Advance the virtual clock by ``ns`` (or to the next deadline); return it."""
        request = "clock_step" if ns is None else f"clock_step {ns}"
        return int(self.command(request)[0], 0)

    def irq_intercept_in(self, path: str = "ioapic") -> None:
        """Report the gpio-in lines of the object at ``path`` as IRQ events."""
        self.command(f"irq_intercept_in {path}")

    def irq_events(self) -> List[IrqEvent]:
        """IRQ events since the last call, in order, e.g. [("raise", 7)]."""
        self._drain()
        events, self._irq_events = self._irq_events, []
        return events

    def irq_level(self, irq: int) -> int:
        """Current level (0 or 1) of intercepted IRQ ``irq``."""
        self._drain()
        return self._irq_levels.get(irq, 0)

    def qmp(self) -> "QEMUMonitorProtocol":
        """QEMU's QMP monitor, connected on first use."""
        if self._qmp is None:
            self._qmp = qmp.connect(self._sockdir / "qmp.sock", self.timeout)
        return self._qmp

    def close(self) -> None:
        """Stop QEMU and clean up its sockets."""
        if self._qmp is not None:
            qmp.close(self._qmp)
            self._qmp = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()  # as libqtest does: SIGTERM is a clean exit
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._own_sockdir:
            shutil.rmtree(self._sockdir, ignore_errors=True)
        else:
            (self._sockdir / "qmp.sock").unlink(missing_ok=True)

    def __enter__(self) -> "QTest":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()
