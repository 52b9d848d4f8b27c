"""A QEMU PC with the guest image and a parallel-port chain: command line and lifetime."""

import fcntl
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import (IO, TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Tuple,
                    Type, Union)

from . import accel as accel_mod
from . import initramfs, paths, qmp
from . import snapshot as snapshot_mod
from .byo import Drive, check_file
from .chain import DEFAULT_SPEC, Chain, opt
from .console import PROMPT, Console
from .errors import ConsoleTimeout, GuestError, LptrigError
from .proc import spawn

if TYPE_CHECKING:
    from qemu.qmp.legacy import QEMUMonitorProtocol

DEFAULT_MODULES = ("parport_pc", "lp", "ppdev")
#: the /init name of Linux's parport_pc built with CONFIG_PARPORT_PC_FIFO
#: (ECP FIFO and ISA DMA; images/parport-fifo/)
FIFO_MODULE = "parport_pc_fifo"
READY = "lptrig: ready"
#: kernel log text that fails a run: kernel bugs (KASAN, KFENCE and lockdep
#: report as BUG:/WARNING:), oopses, UBSAN reports, panics, hung tasks
CRASH_PATTERNS = ("BUG:", "Oops", "WARNING:", "UBSAN:", "Kernel panic", "blocked for more than")
#: a line as printk writes it on a console (Debian's kernel: CONFIG_PRINTK_TIME)
_PRINTK_LINE = re.compile(r"^\[\s*\d+\.\d+\] ")
#: a foreign kernel command line that sends the kernel's messages to
#: kernel.log (the second serial port, COM2 at 0x2f8) too
_KLOG_CONSOLE = re.compile(r"(^|\s)console=ttyS1(,|\s|$)")
#: add_files of at most this many bytes in all (not counting programs the
#: image has already) are copied in through the console after a snapshot
#: restore, so that tests that differ only in a small file share one
#: snapshot; the console moves 50-120 KiB/s under TCG (a UART), so larger
#: sets go into the initramfs and so into the snapshot's key (restored as
#: fast as any other from a warm cache)
UPLOAD_LIMIT = 16 << 10
#: QEMU options in extra_args that keep a run from a snapshot: disks (their
#: contents are not in a migration stream), a migration of its own, traces
_COLD_OPTIONS = ("-drive", "-blockdev", "-incoming", "-loadvm", "-snapshot", "-S",
                 "-trace", "-D", "-fw_cfg")


def kernel_problems(text: str, printk_only: bool = False) -> List[str]:
    """The lines of a kernel log that report a kernel bug, oops, warning,
    panic or hung task; with ``printk_only`` only lines in printk's console
    format count (a console that carries other output too)."""
    return [line.strip() for line in text.splitlines()
            if (not printk_only or _PRINTK_LINE.match(line))
            and any(p in line for p in CRASH_PATTERNS)]


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


def guest_cmdline(modules: str, extra_append: str = "", kernel_log: bool = True) -> str:
    """The kernel command line of lptrig's own guest: its console, and the
    modules its /init loads (``lptrig.load=``), then ``extra_append``.

    The kernel's console is the second serial port (``console=ttyS1``),
    which QEMU logs to ``kernel.log``; /init puts itself and the shell on
    the first (the rig's console socket, ``console.log``).  So no kernel
    message lands in a command's framed output, and the kernel-problem
    check reads the kernel's own log: a command that prints "WARNING:" is
    not a kernel warning.  (Linux's 8250 driver has one console for all
    its ports: the kernel cannot write to both.)  ``no_timer_check``: under
    TCG on a loaded host the IO-APIC timer check can miss the timer's first
    ticks and panic the boot ("IO-APIC + timer doesn't work"), as
    virtme-ng's guests also avoid.  ``kernel_log=False`` gives the kernel
    ttyS0 (a LAVA job's QEMU: LAVA reads the kernel on its console, and COM2
    is a printer's paper port there).
    """
    console = "ttyS1" if kernel_log else "ttyS0"
    append = (f"loglevel=5 console={console},115200 panic=-1 no_timer_check "
              f"lptrig.load={modules}")
    return f"{append} {extra_append}".strip()


def _image_programs(image: "paths.Image") -> Dict[str, str]:
    """Guest path -> sha256 of the programs the image has already
    (``programs.sha256`` next to its initramfs, written by images/build.sh)."""
    listing = image.initramfs.parent / "programs.sha256"
    try:
        lines = listing.read_text().splitlines()
    except OSError:
        return {}
    have: Dict[str, str] = {}
    for line in lines:
        digest, _, guest = line.partition("  ")
        if guest:
            have[guest.strip()] = digest.strip()
    return have


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Machine:
    """One guest VM. ``with Machine(rundir) as vm:`` starts it and shuts it down.

    ``rundir`` receives console.log, kernel.log (the kernel's messages
    alone), qemu.log, qemu-trace.log and the chain's output files; the
    sockets live there too unless the path is too long.  A guest reboot
    ends QEMU (-no-reboot) unless ``reboot`` is true; then the guest boots
    again in the same QEMU run (wait for READY again).

    **Snapshot boot** (``lptrig.snapshot``): unless ``snapshot=False`` or
    LPTRIG_SNAPSHOTS=0, the first boot of a configuration saves the ready
    guest, and later ``start()`` + ``wait_ready()`` restore it instead of
    booting (``restored`` is then true; ``boot_note`` says which and why).
    A run with a trace (``trace``, the chain's ``trace-vcd``), disks or a
    migration of its own in ``extra_args``, a twin, or a foreign guest
    without ``ready`` boots cold: a trace starts at power-on, and a disk's
    contents are not in a migration stream.  ``add_files`` of up to
    UPLOAD_LIMIT bytes are copied in through the console after the restore
    (or after the boot that made the snapshot), larger sets go into the
    initramfs and the key.  A restored guest's clock is set to the host's
    and its entropy pool gets fresh host bytes.

    The other end of a migration or a snapshot: ``incoming`` adds
    ``-incoming URI`` (``"defer"``: then QMP ``migrate-incoming``),
    ``loadvm`` adds ``-loadvm NAME`` (the snapshot, from the machine's qcow2
    drives in ``extra_args``), ``paused`` adds ``-S`` (the VM stays stopped
    after the state is loaded, until QMP ``cont``).  ``twin()`` makes such a
    machine with this one's command line.  Such a guest is not booting:
    ``start()`` it and do not ``wait_ready()``; the guest's shell goes on
    with whatever it was running (``expect`` its output on the console).

    A *foreign* guest (``foreign``; docs/rig.md "Bring your own guest"): with
    ``kernel`` (and ``initrd``) or ``drives`` (``Drive`` or
    ``"IMG[,if=ide|floppy][,snapshot=off]"``) lptrig's image is not used;
    the kernel command line is exactly ``append``, and with drives but no
    kernel SeaBIOS boots the first disk.  lptrig's own options (``modules``,
    ``extra_append``, ``add_files``) are refused.  There is no
    ``lptrig: ready``: ``wait_ready()`` waits for ``ready`` (e.g. the
    guest's prompt) if given.  ``prompt`` is the shell prompt
    ``console.run()`` waits for before its first command.  Its kernel's
    messages reach kernel.log when ``append`` has ``console=ttyS1``.

    QEMU dies with the Python process that started it (``lptrig.proc``).
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
                 ready: Optional[str] = None, prompt: Optional[str] = None,
                 snapshot: Optional[bool] = None) -> None:
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
        self.use_snapshots = snapshot_mod.enabled() if snapshot is None else snapshot
        self._sockdir = paths.socket_dir(self.rundir)
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._log: Optional[IO[bytes]] = None
        self._console: Optional[Console] = None
        self._qmp: Optional["QEMUMonitorProtocol"] = None
        self._started = 0.0
        self.boot_time: Optional[float] = None
        #: True once the guest came from a snapshot instead of a boot
        self.restored = False
        #: how this guest came up: which snapshot, or why it booted cold
        self.boot_note = ""
        #: a twin boots nothing: it shares the initramfs of the machine it
        #: was made from (the same file on both ends of a migration)
        self._shared_initrd: Optional[Path] = None
        self._snapshot: Optional[snapshot_mod.Snapshot] = None
        self._restore_from: Optional[snapshot_mod.Snapshot] = None
        self._save_lock: Optional[IO[str]] = None
        self._overlays: List[Path] = []
        #: why the snapshot this machine tried first did not load
        self._restore_failure = ""
        # which added files the image has already, which go into the
        # initramfs and which are uploaded once the guest is up
        self._boot_files, self._upload_files = self._split_add_files()

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
    def kernel_log(self) -> Path:
        """The kernel's messages alone (the second serial port, ttyS1)."""
        return self.rundir / "kernel.log"

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
        if self._boot_files:
            return self.rundir / "initramfs-extra.cpio.gz"
        return self.image.initramfs

    def kernel_cmdline(self) -> str:
        """The guest kernel command line (a foreign guest's: its ``append``)."""
        if self.foreign:
            return self.append or ""
        return guest_cmdline(self.modules, self.extra_append)

    def _drive_args(self) -> List[str]:
        if not self._overlays:
            return [arg for drive in self.drives for arg in drive.qemu_args()]
        args: List[str] = []
        for drive, overlay in zip(self.drives, self._overlays):
            args += ["-drive", f"file={opt(overlay)},format=qcow2,if={drive.interface}"]
        return args

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
        args += self._drive_args()
        # ttyS0: the console (the shell); ttyS1: the kernel's messages
        args += ["-chardev", f"socket,id=con,path={opt(self._sock('console.sock'))},"
                             f"server=on,wait=on,logfile={opt(self.console_log)},"
                             "logappend=on",
                 "-serial", "chardev:con",
                 "-chardev", f"file,id=klog,path={opt(self.kernel_log)},append=on",
                 "-serial", "chardev:klog",
                 "-qmp", f"unix:{opt(self._sock('qmp.sock'))},server=on,wait=off",
                 # a new VM Generation ID on every start: Linux reseeds its
                 # random numbers when a snapshot is restored
                 "-device", "vmgenid"]
        args += self.chain.qemu_args(self.rundir)
        for pattern in self.trace:
            args += ["-trace", f"enable={pattern}"]
        if self.trace:
            args += ["-D", str(self.trace_log)]
        if self.paused:
            args += ["-S"]
        if self.incoming is not None:
            args += ["-incoming", self.incoming]
        elif self._restore_from is not None:
            args += ["-incoming", f"exec:cat {shlex.quote(str(self._restore_from.state))}"]
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
                        prompt=self.prompt, snapshot=False)
        if not self.foreign:
            other._shared_initrd = self.initrd
        # the guest's memory has every added file already
        other._boot_files, other._upload_files = [], []
        return other

    def command_line(self) -> str:
        """The QEMU command line, shell-quoted, to rerun by hand."""
        return shlex.join(self.argv())

    def _failure(self, what: str) -> GuestError:
        log = _tail(self.qemu_log, 10)
        return GuestError(f"{what}\n" + (f"qemu.log:\n{log}\n" if log else "")
                          + f"logs: {self.rundir}\nQEMU command line:\n"
                          + self.command_line())

    # -- snapshots -------------------------------------------------------------

    def _split_add_files(self) -> Tuple[List[Tuple[Path, str]], List[Tuple[Path, str]]]:
        """(files for the initramfs, files to upload after the boot)."""
        if not self.add_files or self.image is None:
            return list(self.add_files), []
        have = _image_programs(self.image)
        needed = []
        for host, guest in self.add_files:
            try:
                same = have.get(guest) == snapshot_mod.file_digest(host)
            except OSError:
                same = False    # initramfs.newc_archive reports it
            if not same:
                needed.append((host, guest))
        if self._cold_reason() is not None:
            return needed, []
        try:
            size = sum(host.stat().st_size for host, _ in needed)
        except OSError:
            return needed, []
        return (needed, []) if size > UPLOAD_LIMIT else ([], needed)

    def _cold_reason(self) -> Optional[str]:
        """Why this machine cannot use a snapshot, or None."""
        if not self.use_snapshots:
            return "snapshots off (LPTRIG_SNAPSHOTS=0, --cold-boot)"
        if self.incoming is not None or self.loadvm is not None or self.paused:
            return "the other end of a migration"
        if self.trace or "trace-vcd" in self.chain.props:
            return "a trace starts at power-on"
        cold = [a for a in self.extra_args if a in _COLD_OPTIONS]
        if cold:
            return f"{cold[0]} in the extra QEMU arguments"
        if self.ready is None:
            return "a foreign guest without a 'ready' text"
        if any(not d.snapshot for d in self.drives):
            return "a disk with snapshot=off changes from run to run"
        if self.drives and shutil.which("qemu-img") is None:
            return "qemu-img is missing (make deps: qemu-utils)"
        return None

    def _key_material(self) -> Dict[str, Any]:
        """Everything that makes this guest what it is at its prompt."""
        overlays = {str(o): f"<drive{i}>" for i, o in enumerate(self._overlays)}
        replace = {str(self.rundir): "<run>", **overlays}
        if self._sockdir is not None:
            replace[str(self._sockdir)] = "<sock>"
        saved, self._restore_from = self._restore_from, None
        try:
            argv = snapshot_mod.canonical_argv(self.argv()[1:], replace)
        finally:
            self._restore_from = saved
        files = {"qemu": snapshot_mod.file_digest(self.qemu),
                 "firmware": snapshot_mod.tree_digest(self.firmware)}
        base = self.image.initramfs if self.image else self.foreign_initrd
        for name, path in (("kernel", self.image.kernel if self.image else self.kernel),
                           ("initrd", self._shared_initrd or base)):
            if path is not None:
                files[name] = snapshot_mod.file_digest(Path(path))
        for host, guest in self._boot_files:
            files[f"add {guest}"] = (f"{snapshot_mod.file_digest(host)} "
                                     f"{host.stat().st_mode & 0o111:o}")
        for i, drive in enumerate(self.drives):
            # by contents: the same image at another path is the same disk
            # (a restore rebases the saved overlay onto this run's file)
            files[f"drive{i}"] = f"{drive.format} {snapshot_mod.file_digest(drive.path)}"
        return {"argv": argv, "files": files, "ready": self.ready, "prompt": self.prompt}

    def _make_overlays(self) -> None:
        """Our own qcow2 overlay per disk (snapshot=on keeps QEMU's in /tmp,
        out of reach): a snapshot saves them, a restore starts from them."""
        self._overlays = []
        for i, drive in enumerate(self.drives):
            overlay = self.rundir / f"drive{i}.qcow2"
            overlay.unlink(missing_ok=True)
            self._qemu_img("create", "-q", "-f", "qcow2", "-F", drive.format,
                           "-b", str(drive.path), str(overlay))
            self._overlays.append(overlay)

    @staticmethod
    def _qemu_img(*args: str) -> None:
        proc = subprocess.run(["qemu-img", *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise LptrigError(f"qemu-img {' '.join(args)} failed: {proc.stderr.strip()}")

    def _choose_boot(self) -> None:
        """Restore a snapshot, or boot cold (and save one if we may)."""
        self._snapshot = self._restore_from = None
        reason = self._cold_reason()
        if reason is not None:
            self.boot_note = f"cold boot: {reason}"
            return
        if self.drives:
            self._make_overlays()
        material = self._key_material()
        snap = snapshot_mod.Snapshot(snapshot_mod.make_key(material), material)
        self._snapshot = snap
        if snap.exists():
            self._restore_from = snap
            self.boot_note = f"restoring snapshot {snap.key[:12]}"
            return
        lock_path = snapshot_mod.root() / f"{snap.key}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "w")  # pylint: disable=consider-using-with
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            if snap.exists():   # made while we looked
                self._restore_from = snap
                self.boot_note = f"restoring snapshot {snap.key[:12]}"
                return
            self.boot_note = (f"cold boot: snapshot {snap.key[:12]} is being made by "
                              "another process")
            return
        if snap.exists():
            lock.close()
            self._restore_from = snap
            self.boot_note = f"restoring snapshot {snap.key[:12]}"
            return
        self._save_lock = lock
        self.boot_note = f"cold boot, saving snapshot {snap.key[:12]}"

    def _release_save_lock(self) -> None:
        if self._save_lock is not None:
            self._save_lock.close()
            self._save_lock = None

    def _prepare_logs(self) -> None:
        """The run's console and kernel logs: empty, or a restored guest's
        boot as the snapshot recorded it (QEMU appends to them)."""
        for log in (self.console_log, self.kernel_log):
            source = self._restore_from.dir / log.name if self._restore_from else None
            if source is not None and source.is_file():
                shutil.copyfile(source, log)
            else:
                log.write_bytes(b"")
        if self._restore_from is not None:
            for i, (drive, overlay) in enumerate(zip(self.drives, self._overlays)):
                shutil.copyfile(self._restore_from.drive(i), overlay)
                # the saved overlay names the image it was made on: make it
                # this run's, whose contents are the same (they are in the key)
                self._qemu_img("rebase", "-u", "-F", drive.format, "-b", str(drive.path),
                               str(overlay))

    def _unsaveable(self) -> Optional[str]:
        """Why the guest as it is now must not become a snapshot, or None."""
        try:
            problems = self._kernel_problems()[1]
        except OSError:
            problems = []
        if problems:
            return f"the boot shows a kernel problem ({problems[0]})"
        for name, path in self.chain.output_files(self.rundir).items():
            if name.startswith("i2c@"):
                continue        # the EEPROM image, not output
            if path.exists() and path.stat().st_size:
                return f"the boot wrote to {name}"
        return None

    def _save_snapshot(self, timeout: float) -> None:
        """Save the guest, ready at its prompt, as this configuration's
        snapshot; the guest then goes on.  A failure is logged, not raised."""
        snap = self._snapshot
        assert snap is not None
        mon = self.qmp()
        stopped = False
        staged: Optional[Path] = None
        try:
            self.console.sync(timeout)
            try:        # the prompt after the sync: the shell waits in read()
                self.console.expect(re.escape(self.prompt), 10, "the prompt")
            except ConsoleTimeout:
                pass
            reason = self._unsaveable()
            if reason is not None:
                self.boot_note = f"cold boot, not saved: {reason}"
                return
            mon.command("stop")
            stopped = True
            staged = snap.staging()
            old = mon.command("query-migrate-parameters").get("max-bandwidth")
            mon.command("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
            mon.command("migrate", uri=f"exec:cat > {shlex.quote(str(staged / 'state'))}")
            deadline = time.monotonic() + max(timeout, 120)
            while True:
                info = mon.command("query-migrate")
                status = info.get("status")
                if status == "completed":
                    break
                if status in ("failed", "cancelled") or time.monotonic() > deadline:
                    self.boot_note = f"cold boot, not saved: migrate {info}"
                    return
                time.sleep(0.01)
            if old is not None:
                mon.command("migrate-set-parameters", **{"max-bandwidth": old})
            for i, overlay in enumerate(self._overlays):
                shutil.copyfile(overlay, staged / f"drive{i}.qcow2")
            for log in (self.console_log, self.kernel_log):
                shutil.copyfile(log, staged / log.name)
            size = (staged / "state").stat().st_size
            if snap.publish(staged, {"command line": self.argv(), "bytes": size}):
                self.boot_note = f"cold boot, saved snapshot {snap.key[:12]}" + (
                    f" ({self._restore_failure})" if self._restore_failure else "")
            staged = None
        except (OSError, LptrigError, Exception) as exc:  # pylint: disable=broad-except
            # QMP errors are qemu.qmp's own: a snapshot that could not be
            # made is not the run's failure (the guest goes on, cold-booted)
            if isinstance(exc, ConsoleTimeout) or self.exitcode is not None:
                raise
            self.boot_note = f"cold boot, not saved: {type(exc).__name__}: {exc}"
            print(f"lptrig: snapshot {snap.key[:12]} not saved: {exc}", file=sys.stderr)
        finally:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
            if stopped:
                mon.command("cont")
            self._release_save_lock()

    def _finish_restore(self, timeout: float) -> Optional[str]:
        """Wait for the snapshot to load and run the guest; None when it
        did, else what went wrong."""
        assert self._restore_from is not None
        deadline = time.monotonic() + timeout
        try:
            mon = self.qmp()
            while True:
                if self._proc is not None and self._proc.poll() is not None:
                    return f"QEMU exited with status {self._proc.returncode}: " \
                           + _tail(self.qemu_log, 3).replace("\n", " ")
                status = mon.command("query-status")["status"]
                if status != "inmigrate":
                    break
                if time.monotonic() > deadline:
                    return f"still loading after {timeout:g} s"
                time.sleep(0.01)
            if status not in ("paused", "running", "postmigrate", "prelaunch"):
                return f"QEMU's state after the load is {status!r}"
            if status != "running":
                mon.command("cont")
        except LptrigError as exc:
            if self._proc is not None and self._proc.poll() is not None:
                return f"QEMU exited with status {self._proc.returncode}: " \
                       + _tail(self.qemu_log, 3).replace("\n", " ")
            return str(exc)
        except Exception as exc:  # pylint: disable=broad-except
            # a QMP error from QEMU going away mid-load
            return f"QMP: {exc}"
        self.console.at_prompt()
        self._restore_from.touch()
        return None

    def _after_restore(self, timeout: float) -> None:
        """A restored guest's clock is the host's and its entropy its own."""
        if self.foreign:
            self.console.sync(timeout)
            return
        self.console.check(f"date -s @{int(time.time())} >/dev/null; "
                           f"echo {secrets.token_hex(64)} > /dev/urandom", timeout)

    def _upload_added_files(self, timeout: float) -> None:
        """The added files not in the initramfs, through the console: one
        newc archive (the initramfs's own format and modes), unpacked at /."""
        if not self._upload_files:
            return
        archive = initramfs.newc_archive(self._upload_files)
        path = f"/tmp/.lptrig-files-{secrets.token_hex(4)}.cpio"
        self.console.upload(archive, path)
        out = self.console.run(f"(cd / && exec cpio -idmu) < {path} 2>&1 && rm -f {path}",
                               timeout)
        if out.status != 0:
            raise self._failure(f"unpacking the added files in the guest failed:\n"
                                f"{out.output}")

    # -- lifetime -----------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        """Start QEMU and connect the console (QEMU waits for it)."""
        if self._proc is not None:
            raise LptrigError("this machine has already been started")
        self.rundir.mkdir(parents=True, exist_ok=True)
        self._choose_boot()
        try:
            self._launch(timeout)
        except BaseException:
            self._release_save_lock()
            raise

    def _launch(self, timeout: float) -> None:
        if self._boot_files and self._shared_initrd is None:
            assert self.image is not None and self.initrd is not None
            initramfs.write_with_files(self.image.initramfs, self._boot_files, self.initrd)
        for name in ("console.sock", "qmp.sock"):
            self._sock(name).unlink(missing_ok=True)
        self._prepare_logs()
        print(f"lptrig: accel={self.accel}; {self.boot_note}", file=sys.stderr)
        self._log = open(self.qemu_log, "wb")  # pylint: disable=consider-using-with
        self._started = time.monotonic()
        self._proc = spawn(self.argv(), stdin=subprocess.DEVNULL,
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

    def _stop_qemu(self) -> None:
        """End this QEMU at once (a restore that failed)."""
        if self._qmp is not None:
            qmp.close(self._qmp)
            self._qmp = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(10)
        if self._console is not None:
            self._console.close()
            self._console = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self._proc = None

    def wait_ready(self, timeout: float = 180.0) -> float:
        """Wait for ``lptrig: ready`` (a foreign guest: ``ready``) on the
        console, or for a snapshot to load; return the time from start() to
        a shell that takes commands, in s."""
        if self.ready is None:
            raise LptrigError("a foreign guest prints no 'lptrig: ready': give "
                              "Machine(ready=TEXT) or expect its output on the console")
        if self._restore_from is not None:
            snap = self._restore_from
            failed = self._finish_restore(timeout)
            if failed is None:
                self.restored = True
                self.boot_note = f"restored snapshot {snap.key[:12]}"
                self._after_restore(timeout)
                self._upload_added_files(timeout)
                self.boot_time = time.monotonic() - self._started
                return self.boot_time
            # logged, not an error: the stream goes, the guest boots cold
            print(f"lptrig: snapshot {snap.key[:12]} did not load ({failed}); "
                  "deleted it, booting cold", file=sys.stderr)
            self._stop_qemu()
            if self.qemu_log.exists():
                self.qemu_log.replace(self.rundir / "qemu-restore-failed.log")
            snap.remove()
            self._choose_boot()
            self._restore_failure = f"snapshot {snap.key[:12]} did not load: {failed}"
            self.boot_note += f" ({self._restore_failure})"
            try:
                self._launch(30.0)
            except BaseException:
                self._release_save_lock()
                raise
        try:
            self.console.expect(re.escape(self.ready), timeout, repr(self.ready))
        except ConsoleTimeout as exc:
            self._release_save_lock()
            raise self._failure(f"the guest was not ready within {timeout:g} s; "
                                f"last console output:\n{exc.output}") from None
        except GuestError as exc:
            self._release_save_lock()
            try:
                status = self._proc.wait(5) if self._proc is not None else None
            except subprocess.TimeoutExpired:
                status = None
            if status is not None:
                raise self._failure(f"QEMU exited with status {status} before the "
                                    "guest was ready") from None
            raise self._failure(str(exc)) from None
        if self._save_lock is not None:
            self._save_snapshot(timeout)
        self._upload_added_files(timeout)
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
        self._release_save_lock()
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
        for overlay in self._overlays:
            overlay.unlink(missing_ok=True)

    def _kernel_problems(self) -> Tuple[Path, List[str]]:
        """Where the kernel's messages are, and its problems there:
        kernel.log, or for a foreign kernel that logs to ttyS0 only, the
        printk lines of the console log (a command's own output in that
        format, such as dmesg's, cannot be told apart there)."""
        if self.foreign and not _KLOG_CONSOLE.search(self.kernel_cmdline()):
            log, printk_only = self.console_log, True
        else:
            log, printk_only = self.kernel_log, False
        text = log.read_text(errors="replace") if log.exists() else ""
        return log, kernel_problems(text, printk_only)

    def check_console(self) -> None:
        """Raise GuestError if the kernel's log shows a bug, oops, warning,
        panic or hung task."""
        try:
            where, bad = self._kernel_problems()
        except OSError:
            return
        if bad:
            shown = "\n".join(bad[:10])
            raise GuestError(f"the guest kernel reports a problem (see {where}):\n{shown}")

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
