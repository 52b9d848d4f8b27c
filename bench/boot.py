#!/usr/bin/python3
"""Snapshot boot against a cold boot: how long until the guest's shell runs
a command.

For each guest, the time from ``Machine.start()`` to the first command's
answer (``true`` through the framed console), measured --runs times for a
cold boot (``snapshot=False``) and for a restore of the configuration's
snapshot, the two taking turns so that the host's other work falls on both
alike.  The snapshot is made (and its cost shown) by one boot first.
Guests:

- ``default``: lptrig's image, Linux's parport_pc, lp and ppdev, the chain
  printer@0,loopback@1,printer@end (what most tests and ``lptrig run`` boot);
- ``rt``: the RT guest (Debian's PREEMPT_RT kernel, its root file system on
  an ext4 disk image; images/rt/), a foreign guest, five peripherals.

    PYTHONPATH=harness /usr/bin/python3 bench/boot.py [--runs 10] [--guests default,rt]
        [--out DIR]
    make bench

Times are reported, never asserted.  Exit status 0 when every run came up
(cold boots cold, restores restored), 1 otherwise, 2 on usage errors.
"""

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from lptrig import accel as accel_mod
from lptrig import paths, snapshot
from lptrig.byo import Drive
from lptrig.chain import Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

#: the RT guest as tests/guest/test_rt_guest.py boots it
RT_SPEC = "printer@0,printer@1,loopback@2,printer@3,printer@end"
RT_APPEND = ("loglevel=5 "
             "console=ttyS1,115200 root=LABEL=rtroot rw panic=-1 no_timer_check")
RT_PROMPT = "rt# "


def default_guest(rundir: Path, snap: bool) -> Machine:
    return Machine(rundir, Chain.parse("printer@0,loopback@1,printer@end"), snapshot=snap)


def rt_guest(rundir: Path, snap: bool) -> Machine:
    rt = paths.cache_dir() / "images" / "rt"
    for name in ("vmlinuz", "initrd.cpio.gz", "rootfs.img"):
        if not (rt / name).is_file():
            raise LptrigError(f"the RT guest is not built ({rt / name} missing): "
                              "make rt-image")
    return Machine(rundir, Chain.parse(RT_SPEC), kernel=rt / "vmlinuz",
                   initrd=rt / "initrd.cpio.gz", drives=[Drive.parse(rt / "rootfs.img")],
                   append=RT_APPEND, ready=RT_PROMPT, prompt=RT_PROMPT, snapshot=snap)


GUESTS: Dict[str, Callable[[Path, bool], Machine]] = {"default": default_guest,
                                                      "rt": rt_guest}


@dataclass
class Row:
    """One guest's measurements, in seconds."""

    guest: str
    cold: List[float] = field(default_factory=list)
    restore: List[float] = field(default_factory=list)
    first: Optional[float] = None       # the boot that made the snapshot
    size: int = 0
    error: str = ""


def up(make: Callable[[Path, bool], Machine], rundir: Path, snap: bool) -> Machine:
    """Start a guest, wait until a command comes back; return it running."""
    vm = make(rundir, snap)
    start = time.monotonic()
    vm.start()
    vm.wait_ready(600)
    vm.console.check("true", 120)
    vm.boot_time = time.monotonic() - start
    return vm


def measure(name: str, runs: int, out: Path) -> Row:
    row = Row(name)
    make = GUESTS[name]
    try:
        vm = up(make, out / f"{name}-first", True)
        vm.shutdown()
        if vm.restored and vm._snapshot is not None:   # pylint: disable=protected-access
            vm._snapshot.remove()   # pylint: disable=protected-access
            vm = up(make, out / f"{name}-first-again", True)    # what making one costs
            vm.shutdown()
        row.first = vm.boot_time
        if vm._snapshot is None or not vm._snapshot.exists():   # pylint: disable=protected-access
            raise LptrigError(f"no snapshot was made: {vm.boot_note}")
        row.size = vm._snapshot.state.stat().st_size             # pylint: disable=protected-access
        for i in range(runs):
            for snap in (False, True):
                vm = up(make, out / f"{name}-{'restore' if snap else 'cold'}{i}", snap)
                vm.shutdown()
                vm.check_console()
                if vm.restored != snap:
                    raise LptrigError(f"run {i}: expected a {'restore' if snap else 'cold boot'}"
                                      f", got: {vm.boot_note}")
                assert vm.boot_time is not None
                (row.restore if snap else row.cold).append(vm.boot_time)
            print(f"  {name} run {i + 1}/{runs}: cold {row.cold[-1]:.2f} s, "
                  f"restore {row.restore[-1]:.2f} s", file=sys.stderr)
    except LptrigError as exc:
        row.error = str(exc).splitlines()[0]
    return row


def fmt(values: List[float]) -> str:
    if not values:
        return "-"
    return (f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})")


def table(rows: List[Row], runs: int) -> str:
    head = ["guest", f"cold boot, median of {runs} (min-max)",
            f"restore, median of {runs} (min-max)", "restore vs cold",
            "first boot + save", "snapshot"]
    lines = []
    for row in rows:
        if row.error:
            lines.append([row.guest, f"error: {row.error}", "", "", "", ""])
            continue
        ratio = statistics.median(row.cold) / statistics.median(row.restore)
        lines.append([row.guest, fmt(row.cold), fmt(row.restore), f"{ratio:.1f}x faster",
                      f"{row.first:.2f} s" if row.first else "-",
                      f"{row.size / 1e6:.0f} MB"])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    text = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
            "  ".join("-" * w for w in widths)]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    return "\n".join(text)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, metavar="N",
                        help="cold boots and restores per guest (default %(default)s)")
    parser.add_argument("--guests", default="default,rt",
                        help=f"comma-separated, of {','.join(GUESTS)} (default %(default)s)")
    parser.add_argument("--out", type=Path, help="run directories (default: a temp dir)")
    args = parser.parse_args(argv)
    names = [g for g in args.guests.split(",") if g]
    bad = [g for g in names if g not in GUESTS]
    if bad or not names or args.runs < 1:
        parser.error(f"--guests takes {', '.join(GUESTS)}; --runs at least 1")
    if not snapshot.enabled():
        print("bench/boot.py: LPTRIG_SNAPSHOTS=0 is set; restores are measured anyway",
              file=sys.stderr)
    out = args.out or Path(tempfile.mkdtemp(prefix="lptrig-bench-boot-"))
    print(f"accel={accel_mod.choose()}, runs in {out}", file=sys.stderr)
    rows = [measure(name, args.runs, out) for name in names]
    print("Time to a shell that runs a command: cold boot against snapshot restore")
    print(table(rows, args.runs))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
