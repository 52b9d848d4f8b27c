#!/usr/bin/python3
"""Guest-to-printer throughput through Linux's parport drivers, per port model.

Boots one guest per configuration (CONFIGS below), copies a random file
into it, times the row's command inside the guest (``cat FILE > /dev/lp0``
unless the row says otherwise; monotonic clock, from /proc/timer_list),
checks that the row's printer received exactly the bytes sent and every
other peripheral nothing, and prints a table: bytes, seconds, bytes/s and
the ratio to QEMU's stock isa-parallel.

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
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from lptrig import accel as accel_mod
from lptrig import paths
from lptrig import progs as progs_mod
from lptrig.chain import KINDS, Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

# -- what to measure (edit here) ---------------------------------------------
#
# name:    the row's label
# chain:   "stock" (QEMU's isa-parallel, no chain) or a chain spec for isa-lpt1284
# props:   isa-lpt1284 properties; device_props: properties of every peripheral
#          (busy-ns/ack-ns: the compatibility handshake's timing, default 0).
#          Ones this QEMU does not have are dropped, with a note in the output
# modules: what the guest loads at boot; parport_pc_fifo is Linux's parport_pc
#          built with CONFIG_PARPORT_PC_FIFO (ECP FIFO + ISA DMA, images/parport-fifo)
# size:    "stock" = use --stock-size (the stock port is slow), else --size
# command: the guest shell command that is timed (default LP_COMMAND); the
#          file is /root/data.bin
# output:  the peripheral (chain spec name, e.g. "printer@1") that must receive
#          the file byte for byte; every other one must receive nothing
#          (default: the end of the chain, or the stock port)
# progs:   guest programs (tests/guest/progs) put in /usr/bin for the command
LP_COMMAND = "cat /root/data.bin > /dev/lp0"
LP = "parport_pc,lp,ppdev"

CONFIGS: List[Dict[str, object]] = [
    {"name": "stock isa-parallel", "chain": "stock",
     "modules": LP, "size": "stock"},
    {"name": "isa-lpt1284 SPP only", "chain": "printer@end",
     "props": {"ps2": "off", "epp": "off", "ecp": "off"},
     "modules": LP, "size": "full"},
    {"name": "isa-lpt1284 ECP+DMA, FIFO parport_pc", "chain": "printer@end",
     "modules": "parport_pc_fifo,lp,ppdev", "size": "full"},
    {"name": "isa-lpt1284 default, Debian parport_pc + lp", "chain": "printer@end",
     "modules": LP, "size": "full"},
    {"name": "isa-lpt1284 default + lp, cable trace on (trace-vcd)", "chain": "printer@end",
     "props": {"trace-vcd": "{rundir}/cable.vcd"},
     "modules": LP, "size": "full"},
    {"name": "isa-lpt1284 default, real-printer timing", "chain": "printer@end",
     "device_props": {"busy-ns": "2000", "ack-ns": "5000"},
     "modules": LP, "size": "full"},
    {"name": "isa-lpt1284 daisy device 1 via ppdev (1284.3 select)",
     "chain": "printer@0,printer@1,printer@end",
     "modules": LP, "size": "full",
     "command": "ppdev_xfer -s 1 -t 30 write compat /root/data.bin",
     "output": "printer@1", "progs": ["ppdev_xfer"]},
]

DEFAULT_SIZE = 1 << 20
DEFAULT_STOCK_SIZE = 256 << 10
QUICK_SIZE = 64 << 10
QUICK_STOCK_SIZE = 16 << 10
SEED = 1284

# Runs in the guest as ``bench.sh COMMAND``: time COMMAND (a shell command
# line) with the monotonic clock (ns from /proc/timer_list; busybox date has
# no %N), /proc/uptime (10 ms) if absent.  A /dev path in COMMAND must be a
# character device (writing to a missing /dev/lp0 would make a plain file).
GUEST_SCRIPT = r"""#!/bin/sh
now() {
	if [ -r /proc/timer_list ]; then
		sed -n '/^now at /{s/^now at \([0-9]*\) nsecs.*/\1/p;q}' /proc/timer_list
	else
		read -r up _ </proc/uptime
		echo "${up%.*}${up#*.}0000000"
	fi
}
[ $# -eq 1 ] || { echo "usage: bench.sh COMMAND" >&2; exit 2; }
set -f
for word in $1; do
	case $word in
	*/dev/*) dev=/dev/${word#*/dev/}
		[ -c "$dev" ] || { echo "bench: no $dev" >&2; exit 1; } ;;
	esac
done
set +f
t0=$(now)
eval "$1"
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
    command: str = LP_COMMAND
    output: str = ""
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


def device_properties(driver: str) -> Optional[set]:
    """Property names of QEMU device ``driver`` (None if it cannot tell)."""
    try:
        out = subprocess.run([str(paths.qemu_binary()), "-device", f"{driver},help"],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    names = set(re.findall(r"^\s+([\w-]+)=", out.stdout, re.MULTILINE))
    return names or None


def known_properties(configs: Sequence[Dict[str, object]]) -> Dict[str, Optional[set]]:
    """Property names of isa-lpt1284 and of every peripheral driver the configs use."""
    drivers = {"isa-lpt1284"}
    for config in configs:
        if config["chain"] != "stock":
            drivers |= {KINDS[p.kind] for p in Chain.parse(str(config["chain"])).peripherals}
    return {driver: device_properties(driver) for driver in sorted(drivers)}


def keep_known(props: Dict[str, str], known: Sequence[Optional[set]],
               dropped: List[str]) -> Dict[str, str]:
    """``props`` without those some driver in ``known`` lacks (noted in ``dropped``)."""
    kept = {}
    for key, value in props.items():
        if any(names is not None and key not in names for names in known):
            dropped.append(f"{key}={value}")
        else:
            kept[key] = value
    return kept


def data_file(outdir: Path, size: int) -> Path:
    path = outdir / f"data-{size}.bin"
    if not path.exists() or path.stat().st_size != size:
        path.write_bytes(random.Random(SEED + size).randbytes(size))
    return path


def differs_at(got: bytes, sent: bytes) -> int:
    """Index of the first differing byte of two unequal strings."""
    return next((i for i, (a, b) in enumerate(zip(got, sent)) if a != b), min(len(got), len(sent)))


def check_outputs(chain: Chain, rundir: Path, output: str, data: bytes) -> str:
    """"" if ``output`` received ``data`` and every other peripheral nothing."""
    files = chain.output_files(rundir)
    problems = []
    for name, path in files.items():
        got = path.read_bytes() if path.exists() else b""
        if name == output and got != data:
            problems.append(f"{name} output differs: {len(got)} bytes received, {len(data)} "
                            f"sent (first difference at byte {differs_at(got, data)})")
        elif name != output and got:
            problems.append(f"{name} received {len(got)} bytes, expected none")
    return "; ".join(problems)


def run_config(config: Dict[str, object], size: int, outdir: Path,
               known: Dict[str, Optional[set]], timeout: float) -> Row:
    name = str(config["name"])
    row = Row(name, size)
    row.rundir = outdir / re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()
    # "{rundir}" in a property value: the row's own run directory
    props = {str(k): str(v).replace("{rundir}", str(row.rundir))
             for k, v in dict(config.get("props") or {}).items()}  # type: ignore[call-overload]
    device_props = {str(k): str(v)
                    for k, v in dict(config.get("device_props") or {}).items()}  # type: ignore[call-overload]
    dropped: List[str] = []
    if config["chain"] == "stock":
        chain = Chain.stock()
    else:
        kinds = Chain.parse(str(config["chain"])).peripherals
        props = keep_known(props, [known.get("isa-lpt1284")], dropped)
        device_props = keep_known(device_props, [known.get(KINDS[p.kind]) for p in kinds],
                                  dropped)
        row.rundir.mkdir(parents=True, exist_ok=True)
        chain = Chain.parse(str(config["chain"]), props=props, device_props=device_props)
    row.dropped = dropped
    row.command = command = str(config.get("command") or LP_COMMAND)
    row.output = output = str(config.get("output") or next(
        (p.name for p in chain.peripherals if p.addr is None), "stock"))
    if output not in chain.output_files(outdir):
        row.error = (f"output {output!r} is not a peripheral of chain {config['chain']!r} "
                     f"(it has {', '.join(chain.output_files(outdir)) or 'none'})")
        return row
    data = data_file(outdir, size)
    script = outdir / "bench.sh"
    script.write_text(GUEST_SCRIPT)
    script.chmod(0o755)
    try:
        files = [(data, "/root/data.bin"), (script, "/root/bench.sh")]
        files += [progs_mod.add_file(str(prog)) for prog in config.get("progs") or ()]  # type: ignore[attr-defined]
    except LptrigError as exc:
        row.error = str(exc).splitlines()[0]
        return row
    vm = Machine(row.rundir, chain, modules=str(config["modules"]), add_files=files)
    print(f"bench: {name}: {size} bytes, `{command}` -> {output}, "
          f"run directory {row.rundir}", file=sys.stderr)
    try:
        vm.start()
        vm.wait_ready(300)
        banner = vm.console.run("dmesg | grep -m1 'parport0: PC-style'").output
        found = re.search(r"\[([A-Z0-9,]*)\]", banner)
        row.port = found.group(1) if found else "no parport0"
        start = time.monotonic()
        result = vm.console.run(f"/root/bench.sh {shlex.quote(command)}", timeout)
        row.host_seconds = time.monotonic() - start
        times = re.search(r"bench rc=(\d+) t0=(\d+) t1=(\d+)", result.output)
        if result.status != 0 or not times:
            row.error = f"guest command failed (status {result.status}): {result.output.strip()}"
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
        row.error = check_outputs(chain, row.rundir, output, data.read_bytes())
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
        known = known_properties(configs)
        rows = [run_config(c, stock_size if c["size"] == "stock" else size,
                           outdir, known, args.timeout) for c in configs]
    except LptrigError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 1

    print()
    print(f"lptrig throughput: guest `{LP_COMMAND}` unless noted, the printer's output "
          f"checked byte for byte; accel={accel}")
    print(table(rows))
    print()
    notes = [
        f"accel={accel}: every port access is a VM exit into QEMU"
        + (" emulated by TCG" if accel == "tcg" else "")
        + "; the numbers compare the port models on this host, they are not "
        "hardware speeds (real SPP ~150-300 kB/s, ECP ~0.5-2 MB/s).",
        "seconds: guest monotonic clock around the command (it returns when the "
        "port has taken the bytes; for ppdev_xfer including its start, the 1284.3 "
        "select and deselect); bytes/s makes rows with different sizes comparable.",
        f"host: {os.cpu_count()} CPUs, load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after; other busy processes (parallel "
        "tests) slow the timer-driven handshakes most.",
    ]
    for row in rows:
        if row.command != LP_COMMAND:
            notes.append(f"{row.name}: timed `{row.command}`; {row.output} must get the bytes, "
                         "the other peripherals none")
        if row.dropped:
            notes.append(f"{row.name}: this QEMU's devices have no "
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
