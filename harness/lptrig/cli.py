"""Command line: boot the guest with a chain, run a command or a shell."""

import argparse
import dataclasses
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import List, NoReturn, Optional, Sequence, Tuple

from . import experiment, faults, render, traces
from .chain import DEFAULT_SPEC, Chain, Peer
from .byo import Drive, check_file
from .errors import CommandTimeout, GuestError, LptrigError
from .machine import DEFAULT_MODULES, FIFO_MODULE, Machine, with_fifo

EXIT_USAGE = 2
EXIT_GUEST = 3
EXIT_TIMEOUT = 124
EXIT_INTERRUPTED = 130

EPILOG = f"""\
examples:
  python3 -m lptrig run                          interactive shell, chain {DEFAULT_SPEC}
  python3 -m lptrig run -- 'cat /proc/cmdline'   run one command, exit with its status
  python3 -m lptrig run --chain printer@0,loopback@1,printer@end --out /tmp/o -- \\
      'echo hi > /dev/lp0'                       /tmp/o/printer@end.bin gets the bytes
  python3 -m lptrig run --stock -- 'echo hi > /dev/lp0'   QEMU's stock isa-parallel
  python3 -m lptrig run --add ./test.sh:/bin/t.sh -- /bin/t.sh
  python3 -m lptrig run --fifo -- 'dmesg | grep parport0'   FIFO/DMA parport_pc
  python3 -m lptrig cmdline --chain loopback@end   print the QEMU command line
  python3 -m lptrig render /tmp/o/printer@end.bin  the page it received, as printer@end.png
  python3 -m lptrig run --drive freedos.img --chain printer@end --out /tmp/o
                                                 your own guest (docs/rig.md: Bring your own guest)
  python3 -m lptrig run --kernel vmlinuz --initrd initrd.img --drive disk.img \
      --append 'console=ttyS0 root=/dev/sda rw'   your own kernel, root on the disk

  python3 -m lptrig run --chain pps@end --modules parport_pc,pps_parport \
      --set pps@end:period-ns=500000000 -- 'cat /sys/class/pps/pps0/assert'
  python3 -m lptrig run --chain laplink@end --peer listen:/tmp/ll.sock   (one VM)
  python3 -m lptrig run --chain laplink@end --peer /tmp/ll.sock          (the other)

chain spec: comma-separated KIND@ADDR, KIND printer or loopback, ADDR 0-3
(1284.3 daisy address) or end (end-of-chain device); or one of laplink@end
(a LapLink cable, needs --peer), i2c@end (an I2C adapter with a tmp105 at
0x48 and a 24c32 EEPROM at 0x50), pps@end (a pulse-per-second source).

exit status: the command's; {EXIT_TIMEOUT} if it timed out; {EXIT_USAGE} for usage
errors; {EXIT_GUEST} if QEMU or the guest failed (no boot, crash, kernel
BUG/Oops/WARNING on the console); {EXIT_INTERRUPTED} on Ctrl-C.
environment: LPTRIG_CACHE (build cache), LPTRIG_QEMU (QEMU binary),
LPTRIG_ACCEL (kvm, tcg or auto), LPTRIG_SNAPSHOTS=0 (always boot cold, as
--cold-boot), LPTRIG_SNAPSHOT_MAX (snapshots kept, default 64).
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors in the rig's format."""

    def error(self, message: str) -> NoReturn:
        print(f"lptrig: error: {message} (see --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    chain = common.add_mutually_exclusive_group()
    chain.add_argument("--chain", metavar="SPEC", default=None,
                       help=f"peripherals on the chain (default {DEFAULT_SPEC})")
    chain.add_argument("--stock", action="store_true",
                       help="QEMU's stock isa-parallel port instead (no chain)")
    common.add_argument("--out", metavar="DIR", type=Path,
                        help="directory for console.log, qemu.log and the "
                             "peripherals' output (default: a new temp dir)")
    common.add_argument("--add", metavar="HOST[:GUEST]", action="append", default=[],
                        help="copy a host file into the guest (default /root/NAME); "
                             "repeatable")
    common.add_argument("--modules", metavar="LIST", default=None,
                        help="kernel modules the guest loads at boot "
                             f"(default {','.join(DEFAULT_MODULES)})")
    common.add_argument("--append", metavar="ARGS", default="",
                        help="more kernel command line, e.g. module parameters "
                             "(pps_parport.clear_wait=0); with --kernel: the whole "
                             "command line (say console=ttyS0)")
    byo = common.add_argument_group(
        "bring your own guest", "boot a kernel or disk image of your own instead of "
        "lptrig's guest, with the chain and outputs as usual (no COMMAND: the "
        "interactive console)")
    byo.add_argument("--kernel", metavar="FILE", type=Path,
                     help="the guest's kernel (bzImage); --append is its whole command line")
    byo.add_argument("--initrd", metavar="FILE", type=Path, help="its initrd (needs --kernel)")
    byo.add_argument("--drive", metavar="IMG[,if=ide|floppy][,snapshot=off]",
                     action="append", default=[],
                     help="a raw or qcow2 disk image (repeatable); without --kernel "
                          "the BIOS boots the first; left unchanged unless snapshot=off")
    byo.add_argument("--ready", metavar="TEXT", default=None,
                     help="wait for TEXT on the console (e.g. the guest's prompt) "
                          "before attaching it; stdin typed earlier could be lost")
    common.add_argument("--fifo", action="store_true",
                        help=f"load Linux's parport_pc built with CONFIG_PARPORT_PC_FIFO "
                             f"(ECP FIFO and DMA) instead of Debian's: {FIFO_MODULE} "
                             f"replaces parport_pc in the module list")
    common.add_argument("--trace", metavar="PATTERN", action="append", default=[],
                        help="enable QEMU trace events (to qemu-trace.log); repeatable")
    common.add_argument("--fault", metavar="KIND@ADDR:KNOB=VALUE", action="append",
                        default=[], help="set a peripheral's fault knob at start, e.g. "
                        "printer@end:paper-out=on or printer@0:drop=100 (repeatable; "
                        "docs/device.md: Fault knobs)")
    common.add_argument("--set", metavar="KIND@ADDR:PROP=VALUE", action="append",
                        default=[], help="set a QEMU property of a peripheral, e.g. "
                        "pps@end:period-ns=500000000 or i2c@end:stretch-ns=20000 "
                        "(repeatable)")
    common.add_argument("--peer", metavar="[listen:]SOCKET", default=None,
                        help="the far end of laplink@end: another lptrig run's VM "
                             "through a socket; one side listens (listen:SOCKET), "
                             "the other connects (SOCKET)")
    common.add_argument("--vcd", metavar="FILE", type=Path,
                        help="write the cable as a Value Change Dump (GTKWave, "
                             "sigrok-cli) to FILE")
    common.add_argument("--timeout", metavar="S", type=float, default=60.0,
                        help="time-out for COMMAND in seconds (default %(default)g)")
    common.add_argument("--boot-timeout", metavar="S", type=float, default=300.0,
                        help="time-out for the guest to boot (default %(default)g)")
    common.add_argument("--cold-boot", action="store_true",
                        help="boot the guest from scratch: no snapshot is restored or "
                             "saved (the default restores the snapshot of the same "
                             "configuration in well under a second; LPTRIG_SNAPSHOTS=0 "
                             "turns snapshots off too)")

    parser = _Parser(prog="lptrig", description="Boot the lptrig guest with an "
                     "IEEE 1284 chain in QEMU.", epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = sub.add_parser("run", parents=[common], epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         help="boot and run COMMAND, or an interactive shell")
    run.add_argument("command", metavar="COMMAND", nargs="*",
                     help="shell command for the guest (after --); none: interactive")
    run.add_argument("--render", action="store_true",
                     help="afterwards render each printer's output as a page, "
                          "KIND@ADDR.png next to its .bin (see: lptrig render)")
    sub.add_parser("cmdline", parents=[common],
                   help="print the QEMU command line for these options")
    exp = sub.add_parser("experiment", help="run fault-injection experiments "
                         "(TOML files; see experiments/README.md)")
    exp.add_argument("files", metavar="FILE.toml", nargs="+", type=Path)
    exp.add_argument("--out", metavar="DIR", type=Path,
                     help="results directory (default: a new lptrig-experiments-* "
                          "in $TMPDIR)")
    exp.add_argument("--jobs", metavar="N", type=int, default=2,
                     help="VMs at once (default %(default)s)")
    png = sub.add_parser("trace-png", help="draw a window of a cable trace (--vcd) as a PNG")
    png.add_argument("vcd", metavar="FILE.vcd", type=Path)
    png.add_argument("out", metavar="OUT.png", type=Path)
    png.add_argument("--from", dest="start", metavar="NS", type=int, default=None,
                     help="start of the window, ns of virtual time (default: the start)")
    png.add_argument("--to", dest="end", metavar="NS", type=int, default=None,
                     help="end of the window (default: the end of the trace)")
    page = sub.add_parser("render", help="turn what a printer received into a page: "
                          "PostScript, PDF or plain text to PNG or PDF")
    page.add_argument("file", metavar="FILE.bin", type=Path,
                      help="what a printer received (KIND@ADDR.bin in a run directory)")
    page.add_argument("-o", dest="output", metavar="OUT.png|OUT.pdf", type=Path,
                      help="default: FILE.png next to FILE.bin; a PNG's later pages "
                           "go to OUT-2.png, OUT-3.png, ...")
    page.add_argument("--dpi", type=int, default=render.DEFAULT_DPI,
                      help="PNG resolution (default %(default)s)")
    page.add_argument("--paper", choices=sorted(render.PAPERS), default=render.DEFAULT_PAPER,
                      help="for pages that do not set their size (default %(default)s)")
    return parser


#: a kernel module name as /init's lptrig.load= takes it
_MODULE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _parse_add(arg: str) -> Tuple[Path, str]:
    host, _, guest = arg.partition(":")
    path = Path(host)
    if not path.is_file():
        raise LptrigError(f"--add {arg}: no such file {host!r}")
    if not os.access(path, os.R_OK):
        raise LptrigError(f"--add {arg}: cannot read {host!r}")
    guest = guest or f"/root/{path.name}"
    if not guest.startswith("/"):
        raise LptrigError(f"--add {arg}: the guest path must be absolute")
    if guest.endswith("/") or ".." in PurePosixPath(guest).parts:
        raise LptrigError(f"--add {arg}: the guest path must name a file, without '..'")
    return path, guest


def _check_modules(modules: str) -> str:
    """``modules`` if it is a comma-separated list of module names ("" for none)."""
    for name in modules.split(",") if modules else []:
        if not _MODULE_NAME.fullmatch(name):
            raise LptrigError(f"--modules {modules}: {name!r} is not a module name "
                              "(comma-separated names like parport_pc,lp,ppdev)")
    return modules


@dataclass(frozen=True)
class _Setup:
    """The checked arguments: what the Machine is built from."""

    chain: Chain
    modules: str
    add_files: List[Tuple[Path, str]]
    trace: List[str]
    append: str = ""
    kernel: Optional[Path] = None
    initrd: Optional[Path] = None
    drives: Tuple[Drive, ...] = ()
    ready: Optional[str] = None
    cold_boot: bool = False

    @property
    def foreign(self) -> bool:
        """A guest of the user's (--kernel, --drive), not lptrig's."""
        return self.kernel is not None or bool(self.drives)


def _setup(args: argparse.Namespace) -> _Setup:
    """Check every argument, before anything is created or started."""
    peer = Peer.parse(args.peer) if args.peer is not None else None
    if args.stock:
        chain = Chain.stock()
    else:
        chain = Chain.parse(args.chain or DEFAULT_SPEC, peer=peer)
    chain = faults.apply(chain, args.fault)
    chain = faults.set_props(chain, args.set)
    if args.vcd is not None:
        if args.stock:
            raise LptrigError("--vcd needs isa-lpt1284's cable, not the stock port")
        vcd = args.vcd.absolute()
        if vcd.is_dir() or not vcd.parent.is_dir():
            raise LptrigError(f"--vcd {args.vcd}: give a file in an existing directory")
        chain = dataclasses.replace(chain, props={**chain.props, "trace-vcd": str(vcd)})
    modules = _check_modules(args.modules if args.modules is not None
                             else ",".join(DEFAULT_MODULES))
    kernel = check_file(args.kernel, "--kernel") if args.kernel is not None else None
    initrd = check_file(args.initrd, "--initrd") if args.initrd is not None else None
    if initrd is not None and kernel is None:
        raise LptrigError("--initrd needs --kernel (the kernel that unpacks it)")
    drives = tuple(_parse_drive(arg) for arg in args.drive)
    if kernel is not None or drives:
        used = [flag for flag, given in (
            ("-- COMMAND", bool(getattr(args, "command", None))), ("--add", bool(args.add)),
            ("--modules", args.modules is not None), ("--fifo", args.fifo)) if given]
        if used:
            raise LptrigError(f"{' and '.join(used)} needs lptrig's own guest (its /init "
                              "runs commands, copies files and loads modules); with "
                              "--kernel/--drive use the interactive console")
        if kernel is None and args.append:
            raise LptrigError("--append is a kernel command line: it needs --kernel "
                              "(a disk boots with its own)")
    elif args.ready is not None:
        raise LptrigError("--ready is for a foreign guest (--kernel, --drive): lptrig's "
                          "own says 'lptrig: ready'")
    if args.fifo:
        modules = with_fifo(modules)
    add_files = [_parse_add(arg) for arg in args.add]
    for pattern in args.trace:
        if not pattern or "," in pattern:
            raise LptrigError(f"--trace {pattern!r}: give one non-empty event pattern "
                              "without commas (repeat --trace for more)")
    for flag, value in (("--timeout", args.timeout), ("--boot-timeout", args.boot_timeout)):
        if not (math.isfinite(value) and value > 0):
            raise LptrigError(f"{flag} {value:g}: give a number of seconds above 0")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise LptrigError(f"--out {args.out}: exists and is not a directory")
    if "\n" in args.append:
        raise LptrigError("--append: the kernel command line is one line")
    return _Setup(chain, modules, add_files, list(args.trace), args.append.strip(),
                  kernel, initrd, drives, args.ready, args.cold_boot)


def _parse_drive(arg: str) -> Drive:
    try:
        return Drive.parse(arg)
    except LptrigError as exc:
        raise LptrigError(f"--{exc}") from None


def _machine(setup: _Setup, out: Path) -> Machine:
    snapshot = False if setup.cold_boot else None    # None: LPTRIG_SNAPSHOTS decides
    if setup.foreign:
        return Machine(out, setup.chain, trace=setup.trace, kernel=setup.kernel,
                       initrd=setup.initrd, drives=setup.drives, ready=setup.ready,
                       append=setup.append if setup.kernel is not None else None,
                       snapshot=snapshot)
    return Machine(out, setup.chain, modules=setup.modules, trace=setup.trace,
                   add_files=setup.add_files, extra_append=setup.append,
                   snapshot=snapshot)


def _report(machine: Machine) -> None:
    files = {"console": machine.console_log, "kernel log": machine.kernel_log,
             "qemu": machine.qemu_log}
    if machine.trace:
        files["trace"] = machine.trace_log
    if "trace-vcd" in machine.chain.props:
        files["vcd"] = Path(machine.chain.props["trace-vcd"])
    files.update(machine.chain.output_files(machine.rundir))
    width = max(len(name) for name in files) + 1
    for name, path in files.items():
        print(f"lptrig: {name + ':':{width}} {path}", file=sys.stderr)


def _render_pages(machine: Machine) -> None:
    """``run --render``: each printer's non-empty output as pages; a file that
    cannot be rendered is reported, not fatal."""
    for name, path in machine.chain.output_files(machine.rundir).items():
        if not name.startswith(("printer@", "stock")) or not path.is_file() \
                or path.stat().st_size == 0:
            continue
        try:
            files = render.render(path).files
        except LptrigError as exc:
            print(f"lptrig: {name} page: not rendered: {exc}", file=sys.stderr)
            continue
        for n, page in enumerate(files, 1):
            label = "page" if len(files) == 1 else f"page {n} of {len(files)}"
            print(f"lptrig: {name} {label}: {page}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    setup = _setup(args)  # bad input stops here, before anything exists
    if args.render:
        render.require_tools()
    made = args.out is None
    out = args.out or Path(tempfile.mkdtemp(prefix="lptrig-run-"))
    try:
        machine = _machine(setup, out)  # no QEMU or image, bad LPTRIG_ACCEL
    except BaseException:
        if made:
            out.rmdir()
        raise
    status = 0
    try:
        machine.start()
        if machine.ready is not None:
            boot = machine.wait_ready(args.boot_timeout)
            how = f" ({machine.boot_note})" if machine.restored else ""
            print(f"lptrig: ready in {boot:.1f} s{how}", file=sys.stderr)
        if machine.foreign:
            # the guest's own console: EOF on stdin types nothing, the
            # guest ends when it powers off (or Ctrl-C, Ctrl-])
            machine.console.interact(eof=b"")
        elif args.command:
            result = machine.console.run(" ".join(args.command), args.timeout)
            sys.stdout.write(result.output)
            status = result.status
        else:
            machine.console.interact()
    except CommandTimeout as exc:
        sys.stdout.write(exc.output)
        print(f"\nlptrig: error: {exc}", file=sys.stderr)
        status = EXIT_TIMEOUT
    except KeyboardInterrupt:
        print("\nlptrig: interrupted", file=sys.stderr)
        status = EXIT_INTERRUPTED
    finally:
        sys.stdout.flush()
        machine.shutdown()
        if machine.exitcode is not None:  # QEMU ran: keep and show its logs
            _report(machine)
            if args.render:
                _render_pages(machine)
        elif made:  # QEMU never started: leave nothing behind
            shutil.rmtree(out, ignore_errors=True)
    machine.check_console()
    return status


def _experiments(args: argparse.Namespace) -> int:
    """Run the experiments; exit 0 when every one passed, 1 otherwise."""
    for path in args.files:
        experiment.load(path)      # every file is checked before anything runs
    if args.jobs < 1:
        raise LptrigError(f"--jobs {args.jobs}: give 1 or more")
    out = args.out or Path(tempfile.mkdtemp(prefix="lptrig-experiments-"))
    outcomes = experiment.run_all(args.files, out, args.jobs)
    for outcome in outcomes:
        assert outcome.results is not None
        print((outcome.results / "table.txt").read_text(), end="")
    print(f"lptrig: results in {out}", file=sys.stderr)
    return 0 if all(o.passed for o in outcomes) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``python3 -m lptrig``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.action == "experiment":
            return _experiments(args)
        if args.action == "trace-png":
            if args.out.suffix.lower() != ".png" or not args.out.parent.is_dir():
                raise LptrigError(f"{args.out}: give a .png file in an existing directory")
            print(traces.render(args.vcd, args.out, args.start, args.end))
            return 0
        if args.action == "render":
            for line in render.describe(render.render(args.file, args.output, dpi=args.dpi,
                                                      paper=args.paper)):
                print(f"lptrig: {line}")
            return 0
        if args.action == "cmdline":
            machine = _machine(_setup(args), (args.out or Path("lptrig-out")).absolute())
            print(machine.command_line())
            machine.shutdown()
            return 0
        return _run(args)
    except GuestError as exc:
        print(f"lptrig: error: {exc}", file=sys.stderr)
        return EXIT_GUEST
    except LptrigError as exc:
        print(f"lptrig: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

