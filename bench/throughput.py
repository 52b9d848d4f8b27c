#!/usr/bin/python3
"""Guest-to-printer throughput through Linux's lp (/dev/lp0), per port model.

Boots one guest per configuration (CONFIGS below), copies a random file
into it, times ``cat FILE > /dev/lp0`` inside the guest (monotonic clock,
from /proc/timer_list), checks that the printer's output file is
byte-identical to what was sent, and prints a table: bytes, seconds, bytes/s
and the ratio to QEMU's stock isa-parallel.

    PYTHONPATH=harness /usr/bin/python3 bench/throughput.py [--quick]
    make bench

Speeds are measured here, never asserted.  Exit status: 0 when every
configuration ran and delivered identical bytes, 1 otherwise, 2 on usage
errors.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from lptrig import accel as accel_mod
from lptrig import paths
from lptrig.chain import Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

# -- what to measure (edit here) ---------------------------------------------
#
# name:    the row's label
# chain:   "stock" (QEMU's isa-parallel, no chain) or a chain spec for isa-lpt1284
# props:   isa-lpt1284 properties; ones this QEMU does not have are dropped,
#          with a note in the output
# modules: what the guest loads at boot; parport_pc_fifo is Linux's parport_pc
#          built with CONFIG_PARPORT_PC_FIFO (ECP FIFO + ISA DMA, images/parport-fifo)
# size:    "stock" = use --stock-size (the stock port is slow), else --size
CONFIGS: List[Dict[str, object]] = [
    {"name": "stock isa-parallel", "chain": "stock", "props": {},
     "modules": "parport_pc,lp,ppdev", "size": "stock"},
    {"name": "isa-lpt1284 SPP only", "chain": "printer@end",
     "props": {"ps2": "off", "epp": "off", "ecp": "off"},
     "modules": "parport_pc,lp,ppdev", "size": "full"},
    {"name": "isa-lpt1284 ECP+DMA, FIFO parport_pc", "chain": "printer@end",
     "props": {},
     "modules": "parport_pc_fifo,lp,ppdev", "size": "full"},
]

DEFAULT_SIZE = 1 << 20
DEFAULT_STOCK_SIZE = 256 << 10
QUICK_SIZE = 64 << 10
QUICK_STOCK_SIZE = 16 << 10
SEED = 1284

# Runs in the guest: time the copy with the monotonic clock (ns from
# /proc/timer_list; busybox date has no %N), /proc/uptime (10 ms) if absent.
GUEST_SCRIPT = r"""#!/bin/sh
now() {
	if [ -r /proc/timer_list ]; then
		sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list
	else
		read -r up _ </proc/uptime
		echo "${up%.*}${up#*.}0000000"
	fi
}
[ -c /dev/lp0 ] || { echo "bench: no /dev/lp0" >&2; exit 1; }
t0=$(now)
cat "$1" >/dev/lp0
rc=$?
t1=$(now)
echo "bench rc=$rc t0=$t0 t1=$t1"
exit $rc
"""


@dataclass
class Row:
    """One configuration's result."""

    name: str
    size: int
    port: str = "?"
    seconds: Optional[float] = None
    host_seconds: Optional[float] = None
    error: str = ""
    dropped: Sequence[str] = ()
    rundir: Optional[Path] = None

    @property
    def rate(self) -> Optional[float]:
        if self.error or not self.seconds:
            return None
        return self.size / self.seconds


def parse_size(text: str) -> int:
    """``1048576``, ``1M``, ``256K``, ``1MiB``."""
    match = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 1M, 256K, 65536)")
    value = int(match.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]
    if value <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return value


def lpt1284_properties() -> Optional[set]:
    """Property names of isa-lpt1284 in this QEMU (None if it cannot tell)."""
    try:
        out = subprocess.run([str(paths.qemu_binary()), "-device", "isa-lpt1284,help"],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = set(re.findall(r"^\s+([\w-]+)=", out.stdout, re.MULTILINE))
    return names or None


def data_file(outdir: Path, size: int) -> Path:
    path = outdir / f"data-{size}.bin"
    if not path.exists() or path.stat().st_size != size:
        path.write_bytes(random.Random(SEED + size).randbytes(size))
    return path


def run_config(config: Dict[str, object], size: int, outdir: Path, known: Optional[set],
               timeout: float) -> Row:
    name = str(config["name"])
    row = Row(name, size)
    props = {str(k): str(v) for k, v in dict(config.get("props") or {}).items()}  # type: ignore[call-overload]
    if config["chain"] == "stock":
        chain = Chain.stock()
    else:
        if known is not None:
            row.dropped = [f"{k}={v}" for k, v in props.items() if k not in known]
            props = {k: v for k, v in props.items() if k in known}
        chain = Chain.parse(str(config["chain"]), props=props)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    row.rundir = outdir / slug
    data = data_file(outdir, size)
    script = outdir / "bench.sh"
    script.write_text(GUEST_SCRIPT)
    script.chmod(0o755)
    vm = Machine(row.rundir, chain, modules=str(config["modules"]),
                 add_files=[(data, "/root/data.bin"), (script, "/root/bench.sh")])
    print(f"bench: {name}: {size} bytes, run directory {row.rundir}", file=sys.stderr)
    try:
        vm.start()
        vm.wait_ready(300)
        banner = vm.console.run("dmesg | grep -m1 'parport0: PC-style'").output
        found = re.search(r"\[([A-Z0-9,]*)\]", banner)
        row.port = found.group(1) if found else "no parport0"
        start = time.monotonic()
        result = vm.console.run("/root/bench.sh /root/data.bin", timeout)
        row.host_seconds = time.monotonic() - start
        times = re.search(r"bench rc=(\d+) t0=(\d+) t1=(\d+)", result.output)
        if result.status != 0 or not times:
            row.error = f"guest copy failed (status {result.status}): {result.output.strip()}"
        else:
            row.seconds = (int(times.group(3)) - int(times.group(2))) / 1e9
    except LptrigError as exc:
        row.error = str(exc).splitlines()[0]
    finally:
        vm.shutdown()
    try:
        vm.check_console()
    except LptrigError as exc:
        row.error = row.error or str(exc).splitlines()[0]
    if not row.error:
        out = next(iter(chain.output_files(row.rundir).values()))
        got = out.read_bytes() if out.exists() else b""
        if got != data.read_bytes():
            row.error = (f"printer output differs: {len(got)} bytes received, {size} sent "
                         f"(first difference at byte "
                         f"{next((i for i, (a, b) in enumerate(zip(got, data.read_bytes())) if a != b), min(len(got), size))})")
    return row


def fmt_rate(rate: Optional[float]) -> str:
    if rate is None:
        return "-"
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} MB/s"
    return f"{rate / 1e3:.1f} kB/s"


def table(rows: List[Row]) -> str:
    base = rows[0].rate if rows and CONFIGS[0]["chain"] == "stock" else None
    head = ["configuration", "port modes (parport0)", "bytes", "seconds", "bytes/s",
            "", "vs stock"]
    lines = [head]
    for row in rows:
        rate = row.rate
        lines.append([
            row.name, row.port, str(row.size),
            f"{row.seconds:.3f}" if row.seconds is not None and not row.error else "-",
            f"{rate:.0f}" if rate is not None else "-",
            fmt_rate(rate),
            f"{rate / base:.2f}x" if rate is not None and base else "-",
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    right = {2, 3, 4, 5, 6}
    out = []
    for n, line in enumerate(lines):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=None,
                        help=f"bytes to print on isa-lpt1284 (default {DEFAULT_SIZE}; "
                             "K/M suffixes)")
    parser.add_argument("--stock-size", type=parse_size, default=None,
                        help=f"bytes to print on the slow stock port "
                             f"(default {DEFAULT_STOCK_SIZE})")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_SIZE} and {QUICK_STOCK_SIZE} bytes")
    parser.add_argument("--only", metavar="TEXT", action="append", default=[],
                        help="run only configurations whose name contains TEXT "
                             "(repeatable; the stock row is kept for the ratio)")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="run directories and data files (default: a new temp dir)")
    parser.add_argument("--timeout", metavar="S", type=float, default=1800.0,
                        help="time-out of one copy in the guest (default %(default)g s)")
    args = parser.parse_args(argv)

    size = args.size or (QUICK_SIZE if args.quick else DEFAULT_SIZE)
    stock_size = args.stock_size or (QUICK_STOCK_SIZE if args.quick else DEFAULT_STOCK_SIZE)
    outdir = (args.out or Path(tempfile.mkdtemp(prefix="lptrig-bench-"))).absolute()
    outdir.mkdir(parents=True, exist_ok=True)

    configs = [c for i, c in enumerate(CONFIGS)
               if not args.only or (i == 0 and c["chain"] == "stock")
               or any(t.lower() in str(c["name"]).lower() for t in args.only)]
    load_before = os.getloadavg()[0]
    try:
        accel = accel_mod.choose()
        known = lpt1284_properties()
        rows = [run_config(c, stock_size if c["size"] == "stock" else size,
                           outdir, known, args.timeout) for c in configs]
    except LptrigError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1

    print()
    print(f"lptrig throughput: guest `cat FILE > /dev/lp0`, printer output checked "
          f"byte for byte; accel={accel}")
    print(table(rows))
    print()
    notes = [
        f"accel={accel}: every port access is a VM exit into QEMU"
        + (" emulated by TCG" if accel == "tcg" else "")
        + "; the numbers compare the port models on this host, they are not "
        "hardware speeds (real SPP ~150-300 kB/s, ECP ~0.5-2 MB/s).",
        "seconds: guest monotonic clock around the copy (lp returns when the "
        "port has taken the bytes); bytes/s makes rows with different sizes "
        "comparable.",
        f"host: {os.cpu_count()} CPUs, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after; other busy processes (parallel "
        "tests) slow the timer-driven handshakes most.",
    ]
    for row in rows:
        if row.dropped:
            notes.append(f"{row.name}: this QEMU's isa-lpt1284 has no "
                         f"{', '.join(row.dropped)}: left out")
        if "FIFO" in row.name and not row.error and not {"ECP", "DMA"} <= set(row.port.split(",")):
            notes.append(f"{row.name}: parport_pc did not announce ECP+DMA "
                         f"([{row.port}]), so lp used its fallback (compatibility "
                         "mode, programmed I/O)")
        if row.host_seconds is not None and row.seconds and not row.error:
            notes.append(f"{row.name}: {row.host_seconds:.2f} s on the host clock "
                         f"(including the console round trip)")
        if row.error:
            notes.append(f"{row.name}: FAILED: {row.error} (logs: {row.rundir})")
    for note in notes:
        print(f"note: {note}")
    print(f"run directories: {outdir}")
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
