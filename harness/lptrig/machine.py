"""A QEMU PC with the guest image and a parallel-port chain: command line and lifetime."""

import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Iterable, List, Optional, Sequence, Tuple, Type, Union

from . import accel as accel_mod
from . import initramfs, paths, qmp
from .byo import Drive, check_file
from .chain import DEFAULT_SPEC, Chain, opt
from .console import PROMPT, Console
from .errors import ConsoleTimeout, GuestError, LptrigError

if TYPE_CHECKING:
    from qemu.qmp.legacy import QEMUMonitorProtocol

DEFAULT_MODULES = ("parport_pc", "lp", "ppdev")
#: the /init name of Linux's parport_pc built with CONFIG_PARPORT_PC_FIFO
#: (ECP FIFO and ISA DMA; images/parport-fifo/)
FIFO_MODULE = "parport_pc_fifo"
READY = "lptrig: ready"
#: console text that fails a run: kernel bugs (KASAN, KFENCE and lockdep report
#: as BUG:/WARNING:), oopses, UBSAN reports, panics, hung tasks
CRASH_PATTERNS = ("BUG:", "Oops", "WARNING:", "UBSAN:", "Kernel panic", "blocked for more than")


def with_fifo(modules: Union[str, Sequence[str]]) -> str:
    """``modules`` with parport_pc swapped for the FIFO build (FIFO_MODULE).

    A list without parport_pc gets the FIFO build first, so that it is
    loaded before the clients (lp, ppdev) that bind to its port.
    """
    names = [m for m in (modules.split(",") if isinstance(modules, str) else modules) if m]
    if FIFO_MODULE in names:
        return ",".join(names)
    if not any(m in ("parport_pc", "parport-pc") for m in names):
        return ",".join([FIFO_MODULE] + names)
    return ",".join(FIFO_MODULE if m in ("parport_pc", "parport-pc") else m for m in names)


def guest_cmdline(modules: str, extra_append: str = "") -> str:
    """The kernel command line of lptrig's own guest: its console, and the
    modules its /init loads (``lptrig.load=``), then ``extra_append``."""
    append = f"console=ttyS0,115200 panic=-1 loglevel=5 lptrig.load={modules}"
    return f"{append} {extra_append}".strip()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Machine:
    """One guest VM. ``with Machine(rundir) as vm:`` starts it and shuts it down.

    ``rundir`` receives console.log, qemu.log, qemu-trace.log and the chain's
    output files; the sockets live there too unless the path is too long.
    A guest reboot ends QEMU (-no-reboot) unless ``reboot`` is true; then
    the guest boots again in the same QEMU run (wait for READY again).

    The other end of a migration or a snapshot: ``incoming`` adds
    ``-incoming URI`` (``"defer"``: then QMP ``migrate-incoming``),
    ``loadvm`` adds ``-loadvm NAME`` (the snapshot, from the machine's qcow2
    drives in ``extra_args``), ``paused`` adds ``-S`` (the VM stays stopped
    after the state is loaded, until QMP ``cont``).  ``twin()`` makes such a
    machine with this one's command line.  Such a guest is not booting:
    ``start()`` it and do not ``wait_ready()``; the guest's shell goes on
    with whatever it was running (``expect`` its output on the console).

    A *foreign* guest (``foreign``; README "Bring your own guest"): with
    ``kernel`` (and ``initrd``) or ``drives`` (``Drive`` or
    ``"IMG[,if=ide|floppy][,snapshot=off]"``) lptrig's image is not used;
    the kernel command line is exactly ``append``, and with drives but no
    kernel SeaBIOS boots the first disk.  lptrig's own options (``modules``,
    ``extra_append``, ``add_files``) are refused.  There is no
    ``lptrig: ready``: ``wait_ready()`` waits for ``ready`` (e.g. the
    guest's prompt) if given.  ``prompt`` is the shell prompt
    ``console.run()`` waits for before its first command.
    """

    def __init__(self, rundir: Union[str, Path], chain: Optional[Chain] = None, *,
                 modules: Union[str, Sequence[str]] = DEFAULT_MODULES,
                 extra_append: str = "", extra_args: Sequence[str] = (),
                 add_files: Iterable[Tuple[Union[str, Path], str]] = (),
                 trace: Sequence[str] = (), image: Optional[str] = None,
                 accel: Optional[str] = None, memory_mb: int = 256,
                 reboot: bool = False, incoming: Optional[str] = None,
                 loadvm: Optional[str] = None, paused: bool = False,
                 kernel: Union[str, Path, None] = None,
                 initrd: Union[str, Path, None] = None, append: Optional[str] = None,
                 drives: Sequence[Union[str, Path, Drive]] = (),
                 ready: Optional[str] = None, prompt: Optional[str] = None) -> None:
        self.rundir = Path(rundir).absolute()
        self.chain = chain if chain is not None else Chain.parse(DEFAULT_SPEC)
        self.modules = modules if isinstance(modules, str) else ",".join(modules)
        self.kernel = check_file(kernel, "kernel") if kernel is not None else None
        self.foreign_initrd = check_file(initrd, "initrd") if initrd is not None else None
        self.append = append
        self.drives = [Drive.parse(d) for d in drives]
        if self.foreign_initrd is not None and self.kernel is None:
            raise LptrigError("an initrd needs its kernel (--kernel)")
        if append is not None and not self.foreign:
            raise LptrigError("append is the command line of a foreign kernel; "
                              "lptrig's own guest takes extra_append")
        if self.foreign:
            if self.kernel is None and append is not None:
                raise LptrigError("a kernel command line (append) needs a kernel (--kernel)")
            refused = [name for name, given in (
                ("modules", self.modules not in ("", ",".join(DEFAULT_MODULES))),
                ("extra_append", bool(extra_append)), ("add_files", bool(add_files)))
                if given]
            if refused:
                raise LptrigError(f"{', '.join(refused)}: a feature of lptrig's own guest "
                                  "(its /init), not of a foreign kernel or disk")
            self.modules = ""
        self.ready = ready if ready is not None or self.foreign else READY
        self.prompt = prompt if prompt is not None else PROMPT
        self.extra_append = extra_append
        self.extra_args = list(extra_args)
        self.add_files = [(Path(host), guest) for host, guest in add_files]
        self.trace = list(trace)
        self.memory_mb = memory_mb
        self.reboot = reboot
        self.incoming = incoming
        self.loadvm = loadvm
        self.paused = paused
        self.qemu = paths.qemu_binary()
        self.firmware = paths.firmware_dir()
        # a foreign guest needs no lptrig image (none may be built)
        self.image = paths.image(image) if not self.foreign else None
        self.image_name = image
        self.accel = accel_mod.choose(accel)
        self._sockdir = paths.socket_dir(self.rundir)
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[IO[bytes]] = None
        self._console: Optional[Console] = None
        self._qmp: Optional["QEMUMonitorProtocol"] = None
        self._started = 0.0
        self.boot_time: Optional[float] = None
        #: a twin boots nothing: it shares the initramfs of the machine it
        #: was made from (the same file on both ends of a migration)
        self._shared_initrd: Optional[Path] = None

    # -- the command line -------------------------------------------------

    @property
    def foreign(self) -> bool:
        """True for a guest that is not lptrig's (a kernel or disk of the user's)."""
        return self.kernel is not None or bool(self.drives)

    @property
    def console_log(self) -> Path:
        """Everything the guest printed on its console."""
        return self.rundir / "console.log"

    @property
    def qemu_log(self) -> Path:
        """QEMU's stdout and stderr."""
        return self.rundir / "qemu.log"

    @property
    def trace_log(self) -> Path:
        """QEMU's trace output (only with ``trace`` patterns)."""
        return self.rundir / "qemu-trace.log"

    def _sock(self, name: str) -> Path:
        return (self._sockdir or self.rundir) / name

    @property
    def initrd(self) -> Optional[Path]:
        """The initramfs passed to QEMU: the image's, or one with added files
        (a foreign guest's own, or None)."""
        if self.foreign:
            return self.foreign_initrd
        if self._shared_initrd is not None:
            return self._shared_initrd
        if self.add_files:
            return self.rundir / "initramfs-extra.cpio.gz"
        return self.image.initramfs

    def kernel_cmdline(self) -> str:
        """The guest kernel command line (a foreign guest's: its ``append``)."""
        if self.foreign:
            return self.append or ""
        return guest_cmdline(self.modules, self.extra_append)

    def argv(self) -> List[str]:
        """The exact QEMU argv."""
        args = [str(self.qemu), "-M", "pc", "-accel", self.accel,
                "-m", str(self.memory_mb), "-nodefaults", "-no-user-config",
                "-display", "none", "-vga", "none", "-L", str(self.firmware)]
        if not self.reboot:
            args += ["-no-reboot"]
        if self.image is not None:
            args += ["-kernel", str(self.image.kernel), "-initrd", str(self.initrd),
                     "-append", self.kernel_cmdline()]
        elif self.kernel is not None:
            args += ["-kernel", str(self.kernel)]
            if self.foreign_initrd is not None:
                args += ["-initrd", str(self.foreign_initrd)]
            if self.append:
                args += ["-append", self.append]
        for drive in self.drives:
            args += drive.qemu_args()
        args += ["-chardev", f"socket,id=con,path={opt(self._sock('console.sock'))},"
                             f"server=on,wait=on,logfile={opt(self.console_log)}",
                 "-serial", "chardev:con",
                 "-qmp", f"unix:{opt(self._sock('qmp.sock'))},server=on,wait=off"]
        args += self.chain.qemu_args(self.rundir)
        for pattern in self.trace:
            args += ["-trace", f"enable={pattern}"]
        if self.trace:
            args += ["-D", str(self.trace_log)]
        if self.paused:
            args += ["-S"]
        if self.incoming is not None:
            args += ["-incoming", self.incoming]
        if self.loadvm is not None:
            args += ["-loadvm", self.loadvm]
        return args + self.extra_args

    def twin(self, rundir: Union[str, Path], *, incoming: Optional[str] = None,
             loadvm: Optional[str] = None, paused: bool = True) -> "Machine":
        """A machine with this one's command line but its own run directory
        (console, logs, the chain's output files), not started: the
        destination of a migration (``incoming``) or a fresh QEMU that loads
        a snapshot (``loadvm``; ``extra_args`` with the qcow2 drive are the
        same).  The two share this machine's initramfs file.  ``paused``
        (the default) keeps the loaded VM stopped until QMP ``cont``.
        """
        other = Machine(rundir, self.chain, modules=self.modules,
                        extra_append=self.extra_append, extra_args=self.extra_args,
                        add_files=self.add_files, trace=self.trace,
                        image=self.image_name, accel=self.accel,
                        memory_mb=self.memory_mb, reboot=self.reboot,
                        incoming=incoming, loadvm=loadvm, paused=paused,
                        kernel=self.kernel, initrd=self.foreign_initrd,
                        append=self.append, drives=self.drives, ready=self.ready,
                        prompt=self.prompt)
        if not self.foreign:
            other._shared_initrd = self.initrd
        return other

    def command_line(self) -> str:
        """The QEMU command line, shell-quoted, to rerun by hand."""
        return shlex.join(self.argv())

    def _failure(self, what: str) -> GuestError:
        log = _tail(self.qemu_log, 10)
        return GuestError(f"{what}\n" + (f"qemu.log:\n{log}\n" if log else "")
                          + f"logs: {self.rundir}\nQEMU command line:\n"
                          + self.command_line())

    # -- lifetime -----------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start QEMU and connect the console (QEMU waits for it)."""
        if self._proc is not None:
            raise LptrigError("this machine has already been started")
        self.rundir.mkdir(parents=True, exist_ok=True)
        if self.add_files and self._shared_initrd is None:
            assert self.image is not None and self.initrd is not None
            initramfs.write_with_files(self.image.initramfs, self.add_files, self.initrd)
        for name in ("console.sock", "qmp.sock"):
            self._sock(name).unlink(missing_ok=True)
        print(f"lptrig: accel={self.accel}", file=sys.stderr)
        self._log = open(self.qemu_log, "wb")  # pylint: disable=consider-using-with
        self._started = time.monotonic()
        self._proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT)
        deadline = self._started + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self._sock("console.sock")))
                break
            except OSError:
                sock.close()
            if self._proc.poll() is not None:
                raise self._failure(f"QEMU exited with status {self._proc.returncode} "
                                    "at start")
            if time.monotonic() > deadline:
                raise self._failure(f"QEMU did not open its console within {timeout:g} s")
            time.sleep(0.05)
        self._console = Console(sock, self.prompt)

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Wait for ``lptrig: ready`` (a foreign guest: ``ready``) on the
        console; return the boot time in s."""
        if self.ready is None:
            raise LptrigError("a foreign guest prints no 'lptrig: ready': give "
                              "Machine(ready=TEXT) or expect its output on the console")
        try:
            self.console.expect(re.escape(self.ready), timeout, repr(self.ready))
        except ConsoleTimeout as exc:
            raise self._failure(f"the guest was not ready within {timeout:g} s; "
                                f"last console output:\n{exc.output}") from None
        except GuestError as exc:
            try:
                status = self._proc.wait(5) if self._proc is not None else None
            except subprocess.TimeoutExpired:
                status = None
            if status is not None:
                raise self._failure(f"QEMU exited with status {status} before the "
                                    "guest was ready") from None
            raise self._failure(str(exc)) from None
        self.boot_time = time.monotonic() - self._started
        return self.boot_time

    @property
    def console(self) -> Console:
        """The guest console (after ``start()``)."""
        if self._console is None:
            raise LptrigError("the machine has not been started")
        return self._console

    def qmp(self, timeout: float = 30.0) -> "QEMUMonitorProtocol":
        """QEMU's QMP monitor, connected on first use."""
        if self._proc is None:
            raise LptrigError("the machine has not been started")
        if self._qmp is None:
            self._qmp = qmp.connect(self._sock("qmp.sock"), timeout)
        return self._qmp

    @property
    def exitcode(self) -> Optional[int]:
        """QEMU's exit status, or None while it runs."""
        return None if self._proc is None else self._proc.poll()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Quit QEMU through QMP, then terminate or kill it if it lingers."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            if self._console is not None:
                try:
                    qmp.quit(self.qmp(timeout=5))
                except LptrigError:
                    pass  # QEMU is wedged: terminate it below
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if self._qmp is not None:
            qmp.close(self._qmp)
            self._qmp = None
        if self._console is not None:
            self._console.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)

    def check_console(self) -> None:
        """Raise GuestError if the console log shows a kernel bug, oops,
        warning, panic or hung task."""
        try:
            text = self.console_log.read_text(errors="replace")
        except OSError:
            return
        bad = [line.strip() for line in text.splitlines()
               if any(pattern in line for pattern in CRASH_PATTERNS)]
        if bad:
            shown = "\n".join(bad[:10])
            raise GuestError(f"the guest console shows a kernel problem "
                             f"(see {self.console_log}):\n{shown}")

    def __enter__(self) -> "Machine":
        try:
            self.start()
        except BaseException:
            self.shutdown()
            raise
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]],
                 exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.shutdown()
