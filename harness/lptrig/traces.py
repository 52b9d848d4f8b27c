"""Cable traces: the VCD files isa-lpt1284 writes (trace-vcd=FILE).

``read(path)`` reads such a file (1-bit wires, as lpt1284-vcd.c writes
them; decoding protocols is sigrok's job, see docs/device.md) into transitions per
signal; ``render(path, out, start_ns, end_ns)`` draws a window of it as a
PNG with Debian's matplotlib, one row per line, for reports.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from .errors import LptrigError

#: the order rows are drawn in: data lines, then host control, then status
ORDER = ["D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "nStrobe", "nAutoFd", "nInit",
         "nSelectIn", "reverse", "nAck", "Busy", "PError", "Select", "nFault"]


@dataclass
class Trace:
    """Transitions per signal: name -> [(time_ns, level), ...], and the end."""

    signals: Dict[str, List[Tuple[int, int]]] = field(default_factory=dict)
    end_ns: int = 0

    def level(self, name: str, time_ns: int) -> int:
        """The level of ``name`` at ``time_ns``."""
        value = 0
        for t, v in self.signals[name]:
            if t > time_ns:
                break
            value = v
        return value


def read(path: Union[str, Path]) -> Trace:
    """Read a cable trace; one clear error for a file that is not one."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LptrigError(f"{path}: cannot read the trace: {exc.strerror}") from None
    ids: Dict[str, str] = {}
    trace = Trace()
    now = 0
    body = False
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        var = re.fullmatch(r"\$var wire 1 (\S+) (\S+) \$end", line)
        if var:
            ids[var.group(1)] = var.group(2)
            trace.signals[var.group(2)] = []
        elif line.startswith("$enddefinitions"):
            body = True
        elif not body or line.startswith("$"):
            continue
        elif line.startswith("#") and line[1:].isdigit():
            now = int(line[1:])
            trace.end_ns = now
        elif line[0] in "01" and line[1:] in ids:
            trace.signals[ids[line[1:]]].append((now, int(line[0])))
        else:
            raise LptrigError(f"{path}:{lineno}: not a line of an lptrig cable trace: "
                              f"{line[:40]!r}")
    if not body or not trace.signals:
        raise LptrigError(f"{path}: not an lptrig cable trace (no wires)")
    return trace


def render(path: Union[str, Path], out: Union[str, Path], start_ns: Optional[int] = None,
           end_ns: Optional[int] = None) -> Path:
    """Draw the window [start_ns, end_ns] of a trace into the PNG ``out``."""
    trace = read(path)
    start = 0 if start_ns is None else start_ns
    end = trace.end_ns if end_ns is None else end_ns
    if start < 0 or end <= start:
        raise LptrigError(f"the window {start}..{end} ns is empty")
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    names = [n for n in ORDER if n in trace.signals] + \
        sorted(n for n in trace.signals if n not in ORDER)
    fig, ax = plt.subplots(figsize=(12, 0.35 * len(names) + 1.2))
    for row, name in enumerate(names):
        base = (len(names) - 1 - row) * 1.5
        xs, ys = [start], [trace.level(name, start)]
        for t, v in trace.signals[name]:
            if start < t < end:
                xs.append(t)
                ys.append(v)
        xs.append(end)
        ys.append(ys[-1])
        ax.step([(x - start) / 1000 for x in xs], [base + y for y in ys], where="post",
                linewidth=1)
    ax.set_yticks([(len(names) - 1 - row) * 1.5 + 0.5 for row in range(len(names))])
    ax.set_yticklabels(names)
    ax.set_xlabel(f"µs from {start} ns (QEMU virtual time)")
    ax.set_xlim(0, (end - start) / 1000)
    ax.set_title(f"{Path(path).name}: {start}..{end} ns")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
