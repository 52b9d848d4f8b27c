#!/usr/bin/python3
"""lpt1284.ko against Linux's parport stack: allocation, throughput, contention.

Three parts, each printed as a table; ratios are against the Linux peer
measured in the same run, never asserted:

1. Uncontended round trips (guest program lpt_bench, CLOCK_MONOTONIC in the
   guest): N x LPT1284_IOC_ALLOCATE + FREE and TRY_ALLOCATE + FREE on
   /dev/lpt0 (guest with lpt1284 only) against PPCLAIM + PPRELEASE on
   /dev/parport0 (a guest with parport_pc and ppdev only).
2. Write throughput per mode to the end-of-chain device: ``lptctl write 4
   FILE -m compat|ecp|epp`` against Linux's lp (``cat FILE > /dev/lp0``) and
   ``ppdev_xfer write MODE FILE``; ECP on Linux with the FIFO parport_pc
   (ECP + ISA DMA), EPP to a loopback (its chardev copy is checked).  Timed
   in the guest as bench/throughput.py does; every byte is checked.
3. Allocation waits under contention (``lpt_bench contend``): PROCS
   contenders queue one after another behind a first holder and each holds
   the port for HOLD ms; each one's wait from queueing to grant, whether
   the grants came in queue order, and the longest wait against
   (PROCS - 1) holds.

Parts 1 and 2 run each row --repeat times (3), the rows of a boot taking
turns, and show the median: the host's other work makes single runs noisy.

    PYTHONPATH=harness /usr/bin/python3 bench/driver.py [--quick] [--size 1M]
        [--iterations 20000] [--repeat 3] [--procs 8] [--hold-ms 100]
        [--parts 1,2,3] [--modes compat,ecp,epp] [--out DIR]
    make bench

Exit status: 0 when every row ran and every byte arrived intact (speeds,
waits and the grant order are reported, not asserted), 1 otherwise, 2 on
usage errors.
"""

import argparse
import os
import random
import re
import shlex
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from lptrig import accel as accel_mod
from lptrig import progs as progs_mod
from lptrig.chain import Chain, Peripheral
from lptrig.errors import CommandTimeout, LptrigError
from lptrig.machine import Machine

# The guest timing script and helpers of the throughput benchmark (this
# directory), so both benchmarks time and report transfers the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import GUEST_SCRIPT, differs_at, fmt_rate, parse_size  # noqa: E402

DEFAULT_SIZE = 1 << 20
QUICK_SIZE = 64 << 10
DEFAULT_ITERATIONS = 20000
QUICK_ITERATIONS = 2000
DEFAULT_REPEAT = 3
DEFAULT_PROCS = 8
DEFAULT_HOLD_MS = 100
#: the most ieee1284-loopback holds (IEEE1284_LOOPBACK_MAX): the EPP rows' size cap
LOOPBACK_MAX = 1 << 20
SEED = 1284

DEBIAN = "parport_pc,ppdev"
DEBIAN_LP = "parport_pc,lp,ppdev"
FIFO_LP = "parport_pc_fifo,lp,ppdev"
OURS = "lpt1284"
#: lpt1284.ko bound by module parameters without an IRQ: every wait polls
POLLING = "lpt1284.io=0x378 lpt1284.io_hi=0x778 lpt1284.irq=-1 lpt1284.dma=3"

LPTCTL_WRITE = "lptctl write 4 {file} -m {mode}"
LP_WRITE = "cat {file} > /dev/lp0"
PPDEV_WRITE = "ppdev_xfer -t 30 write {mode} {file}"
# reading a loopback empty again between repeats (untimed; it holds 1 MiB at most)
LPTCTL_DRAIN = "lptctl read 4 {size} {out} -m {mode}"
PPDEV_DRAIN = "ppdev_xfer -t 30 read {mode} {size} {out}"


# -- what to measure (edit here) ---------------------------------------------
#
# One guest boot per entry, run in this order.  chain: "printer@end", or
# "loopback@end" (a loopback with size = the EPP size, its chardev a copy of
# what it receives); modules: what the guest loads at boot; optionally
# append: more kernel command line (module parameters), stack: the rows'
# label instead of the one STACK_NAMES gives.  steps, in order:
#   ("trip", OP, STACK)               part 1: lpt_bench OP (alloc, try, ppdev)
#   ("write", MODE, STACK, COMMAND[, DRAIN])
#                                     part 2: COMMAND ({file}, {mode}) timed,
#                                     its bytes checked in the end device's
#                                     output (rows of one boot follow each other
#                                     there); DRAIN ({size}, {out}, {mode})
#                                     reads a loopback empty between repeats
#   ("contend", STACK)                part 3: lpt_bench contend
# STACK is the row's label; "ours" rows are lpt1284.ko, the others the peers.
# With --repeat R, each run of consecutive trip steps, and of write steps, is
# done R times, its rows taking turns.
BOOTS: List[Dict[str, object]] = [
    {"name": "lpt1284.ko, printer@end", "chain": "printer@end", "modules": OURS,
     "steps": [("trip", "alloc", "lpt1284.ko ALLOCATE + FREE"),
               ("trip", "try", "lpt1284.ko TRY_ALLOCATE + FREE"),
               ("write", "compat", "ours", LPTCTL_WRITE),
               ("write", "ecp", "ours", LPTCTL_WRITE),
               ("contend", "lpt1284.ko")]},
    {"name": "lpt1284.ko irq=-1, printer@end", "chain": "printer@end", "modules": OURS,
     "append": POLLING, "stack": "lpt1284.ko, no IRQ (irq=-1)",
     "steps": [("write", "compat", "ours", LPTCTL_WRITE),
               ("write", "ecp", "ours", LPTCTL_WRITE)]},
    {"name": "lpt1284.ko, loopback@end", "chain": "loopback@end", "modules": OURS,
     "steps": [("write", "epp", "ours", LPTCTL_WRITE, LPTCTL_DRAIN)]},
    {"name": "Debian parport_pc + ppdev, loopback@end", "chain": "loopback@end",
     "modules": DEBIAN,
     "steps": [("trip", "ppdev", "ppdev PPCLAIM + PPRELEASE"),
               ("write", "epp", "ppdev", PPDEV_WRITE, PPDEV_DRAIN)]},
    {"name": "Debian parport_pc + lp + ppdev, printer@end", "chain": "printer@end",
     "modules": DEBIAN_LP,
     "steps": [("write", "compat", "lp", LP_WRITE),
               ("write", "compat", "ppdev", PPDEV_WRITE)]},
    {"name": "FIFO parport_pc + lp + ppdev, printer@end", "chain": "printer@end",
     "modules": FIFO_LP,
     "steps": [("write", "ecp", "lp", LP_WRITE),
               ("write", "ecp", "ppdev", PPDEV_WRITE)]},
]

MODES = ("compat", "ecp", "epp")
PEERS = ("lp", "ppdev")
STACK_NAMES = {
    ("ours", OURS): "lpt1284.ko",
    ("lp", DEBIAN_LP): "Linux lp, Debian parport_pc",
    ("ppdev", DEBIAN_LP): "Linux ppdev, Debian parport_pc",
    ("ppdev", DEBIAN): "Linux ppdev, Debian parport_pc",
    ("lp", FIFO_LP): "Linux lp, FIFO parport_pc",
    ("ppdev", FIFO_LP): "Linux ppdev, FIFO parport_pc",
}


@dataclass
class TripRow:
    """Part 1: one kind of round trip; a sample per lpt_bench run."""

    name: str
    op: str
    node: str
    n: int = 0
    samples: List[float] = field(default_factory=list)   # ns per round trip
    bests: List[float] = field(default_factory=list)     # best batch's
    error: str = ""
    rundir: Optional[Path] = None

    @property
    def per_ns(self) -> Optional[float]:
        """The median run's ns per round trip."""
        return statistics.median(self.samples) if self.samples and not self.error else None

    @property
    def best_ns(self) -> Optional[float]:
        """The fastest batch of all runs, ns per round trip."""
        return min(self.bests) if self.bests and not self.error else None


@dataclass
class WriteRow:
    """Part 2: one stack writing one file in one mode; a sample per repeat."""

    mode: str
    peer: str            # "ours", "lp" or "ppdev"
    stack: str
    command: str
    size: int
    file: str = ""       # the guest's copy of the bytes
    drain: str = ""      # empties the loopback again between repeats
    port: str = "?"
    output: str = ""
    samples: List[float] = field(default_factory=list)   # seconds
    error: str = ""
    rundir: Optional[Path] = None

    @property
    def seconds(self) -> Optional[float]:
        """The median repeat's seconds."""
        return statistics.median(self.samples) if self.samples and not self.error else None

    @property
    def rate(self) -> Optional[float]:
        seconds = self.seconds
        return self.size / seconds if seconds else None

    @property
    def spread(self) -> Optional[float]:
        """(slowest - fastest) / median, of the repeats' seconds."""
        seconds = self.seconds
        if not seconds or len(self.samples) < 2:
            return None
        return (max(self.samples) - min(self.samples)) / seconds


@dataclass
class Contender:
    queued: int
    granted: int
    freed: int


@dataclass
class ContendResult:
    """Part 3."""

    name: str
    procs: int
    hold_ms: int
    holder: Tuple[int, int] = (0, 0)        # granted, freed
    contenders: List[Contender] = field(default_factory=list)
    error: str = ""
    rundir: Optional[Path] = None


def run_lines(vm: Machine, cmd: str, timeout: float) -> str:
    """``cmd``'s output; LptrigError with it when it exits non-zero."""
    result = vm.console.run(cmd, timeout)
    if result.status != 0:
        raise LptrigError(f"`{cmd}` failed (status {result.status}): "
                          + " / ".join(result.output.strip().splitlines()[-3:]))
    return result.output


def port_modes(vm: Machine, modules: str) -> str:
    """The port's capabilities: lptctl info's caps, or parport0's banner modes."""
    if modules == OURS:
        out = vm.console.run("lptctl info").output
        caps = re.search(r"^caps (\S+)", out, re.MULTILINE)
        dma = re.search(r"^dma (-?\d+)", out, re.MULTILINE)
        irq = re.search(r"^irq (-?\d+)", out, re.MULTILINE)
        text = caps.group(1) if caps else "no /dev/lpt0"
        if dma and dma.group(1) == "-1":
            text += " (no DMA channel)"
        if irq and irq.group(1) == "-1":
            text += " (no IRQ)"
        return text
    banner = vm.console.run("dmesg | grep -m1 'parport0: PC-style'").output
    found = re.search(r"\[([A-Z0-9,]*)\]", banner)
    return found.group(1) if found else "no parport0"


def data_for(outdir: Path, mode: str, peer: str, size: int) -> Path:
    """A random file for one row (each row its own bytes)."""
    path = outdir / f"{mode}-{peer}-{size}.bin"
    if not path.exists() or path.stat().st_size != size:
        path.write_bytes(random.Random(f"{SEED}-{mode}-{peer}-{size}").randbytes(size))
    return path


def make_chain(spec: str, epp_size: int) -> Chain:
    if spec == "loopback@end":
        return Chain((Peripheral("loopback", None, (("size", str(epp_size)),)),))
    return Chain.parse(spec)


def parse_trip(row: TripRow, out: str) -> None:
    match = re.search(rf"^{row.op} n (\d+) total_ns \d+ per_ns ([\d.]+) best_per_ns ([\d.]+)",
                      out, re.MULTILINE)
    if not match:
        row.error = f"no result from lpt_bench {row.op}: {out.strip()[-200:]}"
        return
    row.n = int(match.group(1))
    row.samples.append(float(match.group(2)))
    row.bests.append(float(match.group(3)))


def parse_contend(res: ContendResult, out: str) -> None:
    holder = re.search(r"^holder granted (\d+) freed (\d+)", out, re.MULTILINE)
    found = re.findall(r"^contender (\d+) queued (\d+) granted (\d+) freed (\d+)",
                       out, re.MULTILINE)
    if not holder or len(found) != res.procs:
        res.error = f"lpt_bench contend printed {len(found)} of {res.procs} contenders"
        return
    res.holder = (int(holder.group(1)), int(holder.group(2)))
    res.contenders = [Contender(int(q), int(g), int(f)) for _, q, g, f in found]


def check_stream(got: bytes, rows: List[Tuple[WriteRow, bytes]]) -> None:
    """Rows of one boot sent their files one after another to one device:
    ``got`` must be exactly their concatenation.  Errors go to the rows."""
    offset = 0
    for i, (row, data) in enumerate(rows):
        part = got[offset:offset + len(data)]
        if not row.error and part != data:
            row.error = (f"{row.output}: {len(part)} of {len(data)} bytes received, first "
                         f"difference at byte {differs_at(part, data)}")
        if row.error:
            # what it left in the stream is unknown: the later rows cannot be checked
            for later, _ in rows[i + 1:]:
                later.error = later.error or (f"not checked: the {row.mode} "
                                              f"{row.stack} row before it failed")
            return
        offset += len(data)
    if rows and len(got) != offset:
        rows[-1][0].error = (f"{rows[-1][0].output}: {len(got) - offset} bytes more than "
                             "the rows sent")


def run_boot(boot: Dict[str, object], parts: Sequence[int], args: argparse.Namespace,
             outdir: Path, trips: List[TripRow], writes: List[WriteRow],
             contends: List[ContendResult]) -> None:
    name = str(boot["name"])
    modules = str(boot["modules"])
    steps = [s for s in boot["steps"]  # type: ignore[attr-defined]
             if {"trip": 1, "write": 2, "contend": 3}[s[0]] in parts
             and (s[0] != "write" or s[1] in args.modes)]
    if not steps:
        return
    epp_size = min(args.size, LOOPBACK_MAX)
    chain = make_chain(str(boot["chain"]), max(epp_size, 1))
    rundir = outdir / re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    end = chain.peripherals[0].name
    script = outdir / "bench.sh"
    script.write_text(GUEST_SCRIPT)
    script.chmod(0o755)

    # The rows first, so that a failed boot fails each of them; consecutive
    # steps of one kind make a group, done args.repeat times (not contend)
    groups: List[Tuple[str, List[object]]] = []
    streams: Dict[int, bytes] = {}
    files = [(script, "/root/bench.sh")]
    for step in steps:
        row: object
        if step[0] == "trip":
            node = "/dev/parport0" if step[1] == "ppdev" else "/dev/lpt0"
            row = TripRow(step[2], step[1], node, rundir=rundir)
            trips.append(row)
        elif step[0] == "write":
            mode, peer, template = step[1], step[2], step[3]
            data = data_for(outdir, mode, peer, epp_size if mode == "epp" else args.size)
            guest = f"/root/{data.name}"
            files.append((data, guest))
            size = data.stat().st_size
            drain_cmd = step[4] if len(step) > 4 else ""
            row = WriteRow(mode, peer,
                           str(boot.get("stack") or STACK_NAMES.get((peer, modules), peer)),
                           template.format(file=guest, mode=mode), size, file=guest,
                           drain=drain_cmd.format(size=size, out="/tmp/drain.bin", mode=mode),
                           output=end, rundir=rundir)
            writes.append(row)
            streams[id(row)] = data.read_bytes()
        else:
            row = ContendResult(step[1], args.procs, args.hold_ms, rundir=rundir)
            contends.append(row)
        if groups and groups[-1][0] == step[0] != "contend":
            groups[-1][1].append(row)
        else:
            groups.append((step[0], [row]))
    every = [row for _, rows in groups for row in rows]

    def fail_all(error: str) -> None:
        for row in every:
            row.error = row.error or error  # type: ignore[attr-defined]

    try:
        files += [progs_mod.add_file("lpt_bench")]
        if any(isinstance(row, WriteRow) and row.peer == "ppdev" for row in every):
            files += [progs_mod.add_file("ppdev_xfer")]
    except LptrigError as exc:
        fail_all(str(exc).splitlines()[0])
        return
    vm = Machine(rundir, chain, modules=modules, add_files=files,
                 extra_append=str(boot.get("append", "")))
    print(f"bench: {name}: modules {modules}, run directory {rundir}", file=sys.stderr)
    sent: List[Tuple[WriteRow, bytes]] = []     # what reached the end device, in order
    try:
        vm.start()
        vm.wait_ready(300)
        port = port_modes(vm, modules)
        for kind, rows in groups:
            for repeat in range(1 if kind == "contend" else args.repeat):
                for row in rows:
                    if row.error:  # type: ignore[attr-defined]
                        continue
                    try:
                        if isinstance(row, TripRow):
                            parse_trip(row, run_lines(
                                vm, f"lpt_bench -n {args.iterations} {row.op}",
                                args.timeout))
                        elif isinstance(row, WriteRow):
                            row.port = port
                            sent.append((row, streams[id(row)]))
                            time_write(vm, row, args.timeout)
                            if row.drain and repeat < args.repeat - 1 and not row.error:
                                drain_loopback(vm, row, streams[id(row)], args.timeout)
                        else:
                            assert isinstance(row, ContendResult)
                            parse_contend(row, run_lines(
                                vm, f"lpt_bench -P {row.procs} -H {row.hold_ms} contend",
                                args.timeout))
                    except LptrigError as exc:
                        row.error = str(exc).splitlines()[0]  # type: ignore[attr-defined]
                        if isinstance(exc, CommandTimeout) or vm.exitcode is not None \
                                or vm.console.closed:
                            raise   # the guest is no use for the rest of the rows
    except LptrigError as exc:
        fail_all(str(exc).splitlines()[0])
    finally:
        vm.shutdown()
    try:
        vm.check_console()
    except LptrigError as exc:
        fail_all(str(exc).splitlines()[0])
    if streams:
        out = chain.output_files(rundir)[end]
        check_stream(out.read_bytes() if out.exists() else b"", sent)


def time_write(vm: Machine, row: WriteRow, timeout: float) -> None:
    """Run the row's command under bench.sh: a sample of seconds, or the row's error."""
    result = vm.console.run(f"/root/bench.sh {shlex.quote(row.command)}", timeout)
    times = re.search(r"bench rc=(\d+) t0=(\d+) t1=(\d+)", result.output)
    wrote = re.search(r"^wrote (\d+)", result.output, re.MULTILINE)
    if result.status != 0 or not times:
        row.error = (f"guest command failed (status {result.status}): "
                     + " / ".join(result.output.strip().splitlines()[-3:]))
    elif row.peer != "lp" and (not wrote or int(wrote.group(1)) != row.size):
        row.error = f"`{row.command}` did not write {row.size} bytes: {result.output.strip()}"
    else:
        row.samples.append((int(times.group(3)) - int(times.group(2))) / 1e9)


def drain_loopback(vm: Machine, row: WriteRow, data: bytes, timeout: float) -> None:
    """Read the loopback empty (untimed): it must give back what the row wrote."""
    result = vm.console.run(f"{row.drain} && cmp /tmp/drain.bin {row.file}", timeout)
    if result.status != 0 or f"read {len(data)}" not in result.output:
        row.error = (f"reading the loopback back (`{row.drain}`) failed "
                     f"(status {result.status}): "
                     + " / ".join(result.output.strip().splitlines()[-3:]))


# -- tables --------------------------------------------------------------------

def render(head: List[str], lines: List[List[str]], right: Sequence[int]) -> str:
    rows = [head] + lines
    widths = [max(len(line[i]) for line in rows) for i in range(len(head))]
    out = []
    for n, line in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def ratio(value: Optional[float]) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def peer_trip(trips: List[TripRow]) -> Optional[TripRow]:
    return next((t for t in trips if t.op == "ppdev" and t.per_ns and not t.error), None)


def trip_table(trips: List[TripRow]) -> str:
    peer = peer_trip(trips)
    lines = []
    for row in trips:
        ok = row.per_ns is not None
        vs = (peer.per_ns / row.per_ns if ok and peer and row.op != "ppdev"  # type: ignore[operator]
              else None)
        lines.append([row.name, row.node, str(row.n) if ok else "-", str(len(row.samples)),
                      f"{row.per_ns:.0f}" if ok else "-",
                      f"{row.best_ns:.0f}" if ok else "-",
                      "peer" if row.op == "ppdev" else ratio(vs)])
    return render(["round trip", "node", "n", "runs", "ns/trip", "best batch", "vs ppdev"],
                  lines, (2, 3, 4, 5, 6))


def row_of(writes: List[WriteRow], mode: str, peer: str) -> Optional[WriteRow]:
    return next((w for w in writes if w.mode == mode and w.peer == peer), None)


def write_table(writes: List[WriteRow]) -> str:
    lines = []
    for mode in MODES:
        for row in (w for w in writes if w.mode == mode):
            rate = row.rate
            vs = []
            for peer in PEERS:
                other = row_of(writes, mode, peer)
                if row.peer != "ours":
                    vs.append("peer" if row.peer == peer else "")
                elif other is None:
                    vs.append("")
                else:
                    vs.append(ratio(rate / other.rate if rate and other.rate else None))
            spread = row.spread
            lines.append([row.mode, row.stack, row.port, str(row.size), str(len(row.samples)),
                          f"{row.seconds:.3f}" if row.seconds is not None else "-",
                          f"{rate:.0f}" if rate is not None else "-", fmt_rate(rate),
                          f"{spread * 100:.0f}%" if spread is not None else "-", *vs])
    return render(["mode", "stack", "port modes", "bytes", "runs", "seconds", "bytes/s", "",
                   "spread", "vs lp", "vs ppdev"], lines, (3, 4, 5, 6, 7, 8, 9, 10))


@dataclass
class Waits:
    """What part 3's stamps say."""

    waits: List[int]
    holds: List[int]
    handovers: List[int]
    violations: int
    longest: int
    longest_at: int


def analyse(res: ContendResult) -> Waits:
    cs = res.contenders
    waits = [c.granted - c.queued for c in cs]
    holds = [c.freed - c.granted for c in cs]
    prev_freed = [res.holder[1]] + [c.freed for c in cs[:-1]]
    handovers = [c.granted - f for c, f in zip(cs, prev_freed)]
    # grants in queue order, and each after the one before it let go
    violations = sum(1 for i, c in enumerate(cs)
                     if c.granted < prev_freed[i] or (i and c.granted < cs[i - 1].granted))
    longest = max(waits)
    return Waits(waits, holds, handovers, violations, longest, waits.index(longest) + 1)


def contend_table(res: ContendResult) -> str:
    w = analyse(res)
    base = res.holder[0]

    def ms(ns: float) -> str:
        return f"{ns / 1e6:.3f}"

    lines = [["holder", "-", ms(0), "-", ms(res.holder[1] - res.holder[0]), "-"]]
    for i, c in enumerate(res.contenders):
        lines.append([str(i + 1), ms(c.queued - base), ms(c.granted - base), ms(w.waits[i]),
                      ms(w.holds[i]), ms(w.handovers[i])])
    return render(["queue", "queued ms", "granted ms", "wait ms", "held ms", "hand-over ms"],
                  lines, (1, 2, 3, 4, 5))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=None,
                        help=f"bytes per write row (default {DEFAULT_SIZE}; K/M suffixes; "
                             f"EPP rows at most {LOOPBACK_MAX}, the loopback's size)")
    parser.add_argument("--iterations", "-n", type=int, default=None, metavar="N",
                        help=f"round trips per part-1 row (default {DEFAULT_ITERATIONS})")
    parser.add_argument("--procs", type=int, default=DEFAULT_PROCS, metavar="P",
                        help="contenders in part 3 (default %(default)s)")
    parser.add_argument("--hold-ms", type=int, default=DEFAULT_HOLD_MS, metavar="MS",
                        help="each contender's hold in part 3 (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=None, metavar="R",
                        help=f"runs of each part-1 and part-2 row, taking turns within a "
                             f"boot; the median is shown (default {DEFAULT_REPEAT})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_SIZE} bytes, {QUICK_ITERATIONS} round "
                             "trips, one run each")
    parser.add_argument("--parts", default="1,2,3", metavar="LIST",
                        help="which parts to run, e.g. 1,3 (default %(default)s)")
    parser.add_argument("--modes", default=",".join(MODES), metavar="LIST",
                        help="part 2's modes, e.g. ecp (default %(default)s)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="run directories and data files (default: a new temp dir)")
    parser.add_argument("--timeout", metavar="S", type=float, default=1800.0,
                        help="time-out of one guest command (default %(default)g s)")
    args = parser.parse_args(argv)
    try:
        parts = sorted({int(p) for p in args.parts.split(",") if p.strip()})
    except ValueError:
        parser.error(f"bad --parts {args.parts!r} (e.g. 1,2,3)")
    if not parts or not set(parts) <= {1, 2, 3}:
        parser.error(f"bad --parts {args.parts!r}: parts are 1, 2 and 3")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.modes or not set(args.modes) <= set(MODES):
        parser.error(f"bad --modes: use some of {', '.join(MODES)}")
    if not 1 <= args.procs <= 64:
        parser.error("--procs must be 1-64")
    if not 0 <= args.hold_ms <= 60000:
        parser.error("--hold-ms must be 0-60000")
    args.size = args.size or (QUICK_SIZE if args.quick else DEFAULT_SIZE)
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    if args.repeat < 1:
        parser.error("--repeat must be positive")
    if args.iterations is None:
        args.iterations = QUICK_ITERATIONS if args.quick else DEFAULT_ITERATIONS
    if args.iterations < 1:
        parser.error("--iterations must be positive")
    outdir = (args.out or Path(tempfile.mkdtemp(prefix="lptrig-bench-driver-"))).absolute()
    outdir.mkdir(parents=True, exist_ok=True)

    trips: List[TripRow] = []
    writes: List[WriteRow] = []
    contends: List[ContendResult] = []
    load_before = os.getloadavg()[0]
    try:
        accel = accel_mod.choose()
        for boot in BOOTS:
            run_boot(boot, parts, args, outdir, trips, writes, contends)
    except LptrigError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1

    notes: List[str] = []
    print()
    if 1 in parts:
        print(f"lpt1284.ko part 1: uncontended allocate + free round trips, "
              f"{args.iterations} per row, CLOCK_MONOTONIC in the guest; accel={accel}")
        print(trip_table(trips))
        print()
        peer = peer_trip(trips)
        for row in trips:
            if row.op != "ppdev" and peer and row.per_ns and not row.error:
                verdict = "no slower: aim met" if row.per_ns <= peer.per_ns else "SLOWER: aim missed"
                notes.append(f"part 1: {row.name}: {row.per_ns:.0f} ns against ppdev's "
                             f"{peer.per_ns:.0f} ns per round trip ({verdict}); best batches "
                             f"{row.best_ns:.0f} against {peer.best_ns:.0f} ns "
                             f"({peer.best_ns / row.best_ns:.2f}x)")  # type: ignore[operator]
    if 2 in parts:
        print(f"lpt1284.ko part 2: write throughput per mode to the end-of-chain device, "
              f"every byte checked; accel={accel}")
        print(write_table(writes))
        print()
        for mode in MODES:
            ours = row_of(writes, mode, "ours")
            others = [w for w in (row_of(writes, mode, p) for p in PEERS) if w and w.rate]
            if ours and ours.rate and others:
                slowest = min(ours.rate / o.rate for o in others)  # type: ignore[operator]
                against = ", ".join(f"{ours.rate / o.rate:.2f}x {o.peer}"  # type: ignore[operator]
                                    for o in others)
                notes.append(f"part 2: {mode}: ours {fmt_rate(ours.rate)} = {against} "
                             + ("(at least as fast: aim met)" if slowest >= 1
                                else "(SLOWER: aim missed)"))
    if 3 in parts:
        for res in contends:
            print(f"lpt1284.ko part 3: {res.procs} contenders queued one after another "
                  f"behind a first holder, each holding /dev/lpt0 for {res.hold_ms} ms "
                  f"(times from the first holder's grant)")
            if res.error or not res.contenders:
                print(f"(no result: {res.error})")
                print()
                continue
            print(contend_table(res))
            w = analyse(res)
            n_holds = res.procs - 1
            nominal = n_holds * res.hold_ms * 1e6
            print()
            print(f"grants in queue order: {'yes' if not w.violations else 'NO'} "
                  f"({w.violations} order violations)")
            if nominal:
                excess = (w.longest - nominal) / nominal * 100
                print(f"longest wait: contender {w.longest_at}, {w.longest / 1e6:.3f} ms = "
                      f"{w.longest / nominal:.3f} x {n_holds} holds of {res.hold_ms} ms "
                      f"({excess:+.1f}%; aim within 10%: "
                      f"{'met' if excess <= 10 else 'MISSED'})")
            print(f"hand-overs (free -> next grant): mean "
                  f"{statistics.mean(w.handovers) / 1e6:.3f} ms, max "
                  f"{max(w.handovers) / 1e6:.3f} ms; holds: mean "
                  f"{statistics.mean(w.holds) / 1e6:.3f} ms (sleep overshoot included)")
            print()
            if w.violations:
                notes.append(f"part 3: {w.violations} grants out of queue order or "
                             "overlapping the previous hold (see the table)")
    notes += [
        f"accel={accel}: every port access is a VM exit into QEMU"
        + (" emulated by TCG" if accel == "tcg" else "")
        + "; the numbers compare the drivers on this host, they are not hardware speeds.",
    ]
    if 1 in parts:
        notes.append(
            f"part 1: lpt_bench opens the node once, does 100 untimed round trips, then N "
            f"timed in 10 batches; ns/trip is the median of {args.repeat} such run(s), best "
            "batch the fastest tenth of any; vs ppdev = ppdev's ns/trip / this row's (above "
            "1.00x: faster than ppdev).  The two stacks run in different boots.")
    if 2 in parts:
        notes.append(
            f"part 2: seconds from the guest's monotonic clock around the command, as "
            f"throughput.py does (it includes starting the program, opening the port and "
            f"negotiating the mode), the median of {args.repeat} run(s) taking turns with "
            "the other rows of the boot; spread = (slowest - fastest) / median; vs lp / vs "
            "ppdev = our bytes/s / theirs in the same mode (above 1.00x: ours faster).  "
            "Compat and ECP go to an ieee1284-printer, EPP to an ieee1284-loopback (its "
            "chardev copy is checked; between runs it is read back, untimed, and compared).")
    if 3 in parts:
        notes.append(
            "part 3: queued = the contender's clock just before ALLOCATE; each contender "
            "is forked once the one before shows in QUERY_WAITERS, and the first holder "
            "frees once all are queued; hand-over = grant - the previous holder's clock "
            "just before FREE.")
    notes += [
        f"host: {os.cpu_count()} CPUs, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after; other busy processes (parallel tests) make "
        "the numbers noisy: compare several runs.",
    ]
    for row in sorted(writes, key=lambda w: (MODES.index(w.mode), w.peer != "ours")):
        notes.append(f"{row.mode} {row.stack}: timed `{row.command}`")
        if row.mode == "ecp" and row.peer != "ours" and not row.error \
                and not {"ECP", "DMA"} <= set(row.port.split(",")):
            notes.append(f"{row.mode} {row.stack}: parport_pc did not announce ECP+DMA "
                         f"([{row.port}])")
    if 2 in parts and args.size > LOOPBACK_MAX:
        notes.append(f"epp rows: {LOOPBACK_MAX} bytes, the most a loopback holds")
    failed = [(f"{r.name}", r.error, r.rundir) for r in trips if r.error]
    failed += [(f"{r.mode} {r.stack}", r.error, r.rundir) for r in writes if r.error]
    failed += [(f"contention {r.name}", r.error, r.rundir) for r in contends if r.error]
    for what, error, rundir in failed:
        notes.append(f"{what}: FAILED: {error} (logs: {rundir})")
    for note in notes:
        print(f"note: {note}")
    print(f"run directories: {outdir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
