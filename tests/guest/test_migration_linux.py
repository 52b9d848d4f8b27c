"""Migration and snapshots in the middle of a transfer, with Linux in the guest.

Each kind of transfer is started by Linux in the guest on one QEMU; at a
random instant within it the VM is moved to another QEMU started with the
same command line, where the transfer goes on:

- ``migrate``: QMP ``migrate`` over a unix socket to a second QEMU started
  with ``-incoming defer -S`` (``Machine.twin``) and QMP ``migrate-incoming``.
  The migration starts live once the transfer runs (the RAM is copied while
  the guest goes on), held back by ``max-bandwidth`` so that it cannot end
  on its own; at the switch instant the VM is stopped, the migration let go,
  and it ends through ``pause-before-switchover`` / ``migrate-continue``;
- ``savevm``: HMP ``savevm`` (through QMP ``human-monitor-command``) into a
  qcow2 drive (``-drive if=none,...``, made with ``qemu-img create``) with
  the VM stopped at the switch instant; the source QEMU quits and a fresh
  one starts with ``-loadvm NAME -S`` on the same image.

The transfers (``KINDS``): ``compat``, a print through Linux's ``lp`` to the
printer at the end of the chain; ``ecp-dma``, the same with the FIFO build
of ``parport_pc`` (ECP through the FIFO, fed by ISA DMA); ``nibble-rev`` and
``ecp-rev``, reverse reads from a loopback through ppdev (``ppdev_xfer``);
``epp``, EPP data cycles to a loopback and back; ``daisy-ppdev`` and
``daisy-lpt1284``, a loop of small writes to the devices of a 1284.3 daisy
chain, each after a select (``ppdev_xfer -s`` through Linux's ppdev, or our
driver's ``/dev/lpt0.N`` nodes), or to the end device without one, switched
at a random point after a select - inside a command packet, or while a
device is selected (the bytes must land in the right device only);
``fault-paper-out`` and ``fault-busy-stall``, a print that the host blocks
mid-way with a fault knob set by QMP ``qom-set``, switched while blocked,
the knob still set on the other side and cleared there.

Checked for every switch:

- the instant really is mid-transfer (the device has part of the data and
  the guest's command has not finished);
- the cable state is identical: every readable QOM property of the
  controller, of the chain bus (``host-data``, ``host-control``,
  ``host-reverse``, ``status``) and of each peripheral (fault knobs,
  counters...) read on the source with the VM stopped right before the
  switch equals the same read on the destination right after the load,
  before ``cont``; so does the chain's part of ``info qtree`` (each daisy
  device's 1284.3 address and selection);
- byte-exact: each QEMU writes the peripherals' output to its own run
  directory.  A peripheral's ``received`` counter (migrated) at the switch
  is where the data splits: the source's file holds exactly the data sent
  to that device up to there, the destination's exactly the rest; reverse
  reads and EPP read-back must return exactly what the loopback was given
  (``cmp`` and SHA-256 in the guest); for ``ecp-dma`` the bytes moved by
  ISA DMA on the two QEMUs add up to the whole print;
- the guest console shows no kernel problem on any of the QEMUs.

How the instant is picked: the VM is stopped (QMP ``stop``) as soon as the
transfer's progress - the device's ``received`` counter, or for reverse
and EPP transfers the peripheral's trace events counted in the QEMU trace
log - reaches a target drawn at random between 10 % and 90 % of the
transfer (80 % for the reverse and EPP transfers, 60 % for the 4 MiB
``ecp-dma`` print, which runs at some MB/s: the host polls, and needs room
after the target; for the daisy loop: after a select chosen at random in
the first three quarters of its selects, then after 0-1200 more changes of
the host's lines (trace events), drawn: anywhere in the write after the
select, its deselect or the next command packet).  Stopping there makes
the instant exact, and the state read there is the state QEMU saves (QEMU
saves device state with the VM stopped in any migration).  The fault
cases need no poll to be blocked: ``paper-out`` is armed on the printer
(``arm``, ``arm-after``) and comes on by itself at the target byte;
``busy-stall`` is set at the target and the transfer counts as blocked
once the printer reports its stall (trace event).  On the destination the
blocked transfer is checked after the guest has looked at the printer
again (a status register read, traced), not after a fixed time.

Nothing waits a fixed time.  What the host cannot guarantee is to stop
the VM before a transfer ends, however much room there is after the
target: a host so loaded that the transfer ran to its end first makes
that round's try no switch (the migration is cancelled, the transfer is
checked where it ran) and the round is tried again with the target drawn
from the earlier half of the range, up to ATTEMPTS tries; every switch
that does happen is checked in full.

Environment:

- ``LPTRIG_MIGRATION_ROUNDS=N`` (default 1): N transfers per case in a row,
  each with its own random switch instant; the QEMU a round ends on is the
  source of the next, so a case migrates (or snapshots) N times.  The
  acceptance run is ``LPTRIG_MIGRATION_ROUNDS=10``.
- The data and the switch targets come from the session seed
  (``--lptrig-seed N``, or ``LPTRIG_SEED``; ``LPTRIG_MIGRATION_SEED``, its
  old name, still works: tests/conftest.py); a failure report shows it and
  each assertion message does too.
"""

import hashlib
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from lptrig import progs, qmp
from lptrig.chain import Chain
from lptrig.machine import FIFO_MODULE, Machine

pytestmark = pytest.mark.guest

#: transfers per case, each with its own switch instant
ROUNDS = int(os.environ.get("LPTRIG_MIGRATION_ROUNDS") or "1")

CHAIN = "/machine/peripheral/lpt0/lpt0.0"
CONTROLLER = "/machine/peripheral/lpt0"
FIFO_MODULES = f"{FIFO_MODULE},lp,ppdev"
DEFAULT_MODULES = "parport_pc,lp,ppdev"
#: how long a transfer may take once resumed, seconds
TRANSFER_TIMEOUT = 180.0
#: the switch is drawn between these fractions of a transfer
LOW, HIGH = 0.10, 0.90
#: tries at a round whose transfer ends before the host stops the VM
ATTEMPTS = 6
#: how often the host polls a transfer's progress, seconds
POLL = 0.001


def peripheral_path(qom_id: str) -> str:
    return f"/machine/peripheral/{qom_id}"


class TraceCounter:
    """Counts the lines of a QEMU trace log that match ``pattern``, reading
    only what was added since the last call (the log is flushed per line)."""

    def __init__(self, path: Path, pattern: str, at_end: bool = False) -> None:
        self.path = path
        self.regex = re.compile(pattern)
        self.offset = path.stat().st_size if at_end and path.exists() else 0
        self.partial = b""
        self.count = 0
        self.values: List[str] = []

    def __call__(self) -> int:
        try:
            with open(self.path, "rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except FileNotFoundError:
            return self.count
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            match = self.regex.search(line.decode(errors="replace"))
            if match:
                self.count += 1
                if match.groups():
                    self.values.append(match.group(1))
        return self.count


def received(vm: Machine, qom_ids: List[str]) -> int:
    mon = vm.qmp()
    return sum(qmp.qom_get(mon, peripheral_path(i), "received") for i in qom_ids)


def cable_state(vm: Machine) -> Dict[str, Any]:
    """Every readable QOM property of the controller, the chain bus and the
    peripherals, and the chain's lines of ``info qtree``."""
    mon = vm.qmp()
    paths = [CONTROLLER, CHAIN] + [peripheral_path(p.qom_id) for p in vm.chain.peripherals]
    state: Dict[str, Any] = {}
    for path in paths:
        for prop in mon.command("qom-list", path=path):
            if prop["type"].startswith(("link<", "child<")):
                continue
            try:
                value = qmp.qom_get(mon, path, prop["name"])
            except Exception as exc:  # pylint: disable=broad-except
                value = f"<qom-get failed: {exc}>"
            state[f"{path} {prop['name']}"] = value
    qtree = mon.command("human-monitor-command", **{"command-line": "info qtree"})
    state["info qtree"] = [line.strip() for line in qtree.splitlines()
                           if "chain position" in line]
    return state


def state_diff(before: Dict[str, Any], after: Dict[str, Any]) -> str:
    keys = sorted(set(before) | set(after))
    return "\n".join(f"  {k}: source {before.get(k, '<missing>')!r} != "
                     f"destination {after.get(k, '<missing>')!r}"
                     for k in keys if before.get(k) != after.get(k))


def wait_until(what: str, predicate: Callable[[], bool], timeout: float,
               interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- the kinds of transfer ----------------------------------------------------

@dataclass
class Round:
    """One transfer: its data, its guest command and what it should give."""

    number: int
    command: str
    #: the progress measure's count for the whole transfer
    total: int
    #: bytes the transfer sends forward to each output file (by peripheral name)
    forward: Dict[str, bytes] = field(default_factory=dict)
    #: lines the command must print, in order
    output: List[str] = field(default_factory=list)
    #: guest commands run before the transfer (on the source, not timed)
    prepare: List[str] = field(default_factory=list)
    #: bytes sent forward by ``prepare`` to each output file
    prepared: Dict[str, bytes] = field(default_factory=dict)


class Kind:
    """A kind of transfer; subclasses fill in the chain and the rounds."""

    spec = "printer@end"
    device_props: Dict[str, str] = {}
    modules = DEFAULT_MODULES
    trace: Tuple[str, ...] = ()
    #: the fault knob set mid-transfer, and its set and cleared values
    fault: Optional[Tuple[str, Any, Any]] = None
    armed = False
    #: the switch comes within these fractions of the transfer: the host
    #: polls, so a fast transfer needs room after the target
    low, high = LOW, HIGH

    def __init__(self, rng: random.Random, tmp_path: Path) -> None:
        self.rng = rng
        self.at_start = 0
        self.tmp_path = tmp_path
        self.files: List[Tuple[Path, str]] = [progs.add_file("ppdev_xfer")]
        self.rounds = [self.make_round(r) for r in range(1, ROUNDS + 1)]

    def chain(self) -> Chain:
        return Chain.parse(self.spec, device_props=dict(self.device_props))

    def data_file(self, name: str, data: bytes) -> str:
        path = self.tmp_path / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        guest = f"/root/{name}"
        self.files.append((path, guest))
        return guest

    def make_round(self, number: int) -> Round:
        raise NotImplementedError

    def progress(self, vm: Machine) -> Callable[[], int]:
        """A function giving the transfer's progress on ``vm`` (monotonic)."""
        raise NotImplementedError

    def target(self, rnd: Round, attempt: int = 0) -> int:
        """How far the transfer goes before the switch (random); each new
        attempt at a round draws from the earlier half of the range before."""
        high = self.low + (self.high - self.low) / 2 ** attempt
        return max(1, round(rnd.total * self.rng.uniform(self.low, high)))

    def extra(self, vm: Machine) -> Optional[Tuple[Callable[[], int], int]]:
        """After the target: a second progress measure, started now, and how
        far it must go before the VM stops (random); None: stop at once."""
        return None

    def finished(self, vm: Machine, rnd: Round, at: int) -> bool:
        """Is the transfer over (with the VM stopped at progress ``at``)?"""
        return at >= rnd.total

    def check_source(self, vm: Machine, rnd: Round, progress: int) -> None:
        """Checks on the source right after the stop (optional)."""

    def check_done(self, history: List[Machine], rnd: Round, at: int) -> None:
        """Checks once the transfer is complete (optional)."""

    def explain(self, rnd: Round, name: str, got: bytes) -> str:
        """What went wrong with output file ``name`` holding ``got`` (optional)."""
        return ""


class ReceivedProgress:
    """Progress counted by the ``received`` counter of some peripherals."""

    progress_ids: List[str] = ["printer-end"]

    def progress(self, vm: Machine) -> Callable[[], int]:
        ids = list(self.progress_ids)
        return lambda: received(vm, ids)


class Compat(ReceivedProgress, Kind):
    """``cat FILE > /dev/lp0``: Debian's parport_pc and lp, compatibility
    mode, a printer with a real printer's handshake timing."""

    device_props = {"busy-ns": "2000", "ack-ns": "5000"}
    size = 24 * 1024

    def make_round(self, number: int) -> Round:
        data = self.rng.randbytes(self.size)
        guest = self.data_file(f"print-{number}.bin", data)
        return Round(number, f"cat {guest} > /dev/lp0", len(data),
                     forward={"printer@end": data})


class EcpDma(Compat):
    """The same print with the FIFO parport_pc: lp negotiates ECP, and the
    port's ECP FIFO is fed by ISA DMA.  It runs at some MB/s, so the print
    is 4 MiB and the switch comes within its first 60 %: one file, each
    round printing it rotated by a random number of pages."""

    device_props = {}
    modules = FIFO_MODULES
    trace = ("lpt1284_dma_transfer", "lpt1284_mode")
    size = 4 * 1024 * 1024
    high = 0.6
    DMA = r"lpt1284_dma_transfer .*: (\d+) bytes"
    PAGE = 4096

    def __init__(self, rng: random.Random, tmp_path: Path) -> None:
        self.base, self.guest = b"", ""
        super().__init__(rng, tmp_path)
        #: bytes ISA DMA had moved on the source when the round began, and
        #: moved in the round before the switch
        self.dma_at_start = self.src_dma = 0
        self.dma_counter: Optional[TraceCounter] = None

    def make_round(self, number: int) -> Round:
        if number == 1:
            self.base = self.rng.randbytes(self.size)
            self.guest = self.data_file("ecp-base.bin", self.base)
        skip = self.rng.randrange(1, self.size // self.PAGE) * self.PAGE
        data = self.base[skip:] + self.base[:skip]
        pages = skip // self.PAGE
        return Round(number, f"( dd if={self.guest} bs={self.PAGE} skip={pages} && "
                             f"dd if={self.guest} bs={self.PAGE} count={pages} ) "
                             "2>/dev/null > /dev/lp0",
                     len(data), forward={"printer@end": data})

    def progress(self, vm: Machine) -> Callable[[], int]:
        self.dma_counter = TraceCounter(vm.trace_log, self.DMA)
        self.dma_counter()
        self.dma_at_start = sum(int(v) for v in self.dma_counter.values)
        return super().progress(vm)

    def check_source(self, vm: Machine, rnd: Round, progress: int) -> None:
        assert self.dma_counter is not None
        self.dma_counter()
        self.src_dma = sum(int(v) for v in self.dma_counter.values) - self.dma_at_start
        assert "ECR mode ps2 -> ecp" in vm.trace_log.read_text(errors="replace"), \
            "lp did not put the port in ECP mode"

    def check_done(self, history: List[Machine], rnd: Round, at: int) -> None:
        dst = history[-1]
        counter = TraceCounter(dst.trace_log, self.DMA)
        counter()
        dst_dma = sum(int(v) for v in counter.values)
        assert 0 < self.src_dma and 0 < dst_dma, \
            f"ISA DMA moved {self.src_dma} bytes before the switch and {dst_dma} after"
        assert self.src_dma + dst_dma == self.size, \
            (f"ISA DMA moved {self.src_dma} + {dst_dma} bytes, "
             f"not the {self.size} of the print")


class TraceProgress:
    """Progress counted by trace events in the QEMU trace log."""

    pattern = ""

    def progress(self, vm: Machine) -> Callable[[], int]:
        return TraceCounter(vm.trace_log, self.pattern)


class NibbleReverse(TraceProgress, Kind):
    """The loopback is filled forward, then read back in nibble mode through
    ppdev; the switch falls in the reverse read."""

    spec = "loopback@end"
    modules = FIFO_MODULES
    trace = ("lpt1284_peripheral_reverse",)
    pattern = r"lpt1284_peripheral_reverse "
    mode, fill_mode = "nibble", "compat"
    size = 64 * 1024
    high = 0.8

    def make_round(self, number: int) -> Round:
        data = self.rng.randbytes(self.size)
        guest = self.data_file(f"{self.mode}-{number}.bin", data)
        out = f"/tmp/{self.mode}-{number}.out"
        return Round(
            number,
            f"ppdev_xfer read {self.mode} {len(data)} {out} && cmp {guest} {out} && "
            f"sha256sum {out} | cut -d' ' -f1 && ppdev_xfer -n read nibble 16 /tmp/rest",
            len(data),
            output=[f"read {len(data)}", hashlib.sha256(data).hexdigest(), "read 0"],
            prepare=[f"ppdev_xfer write {self.fill_mode} {guest}"],
            prepared={"loopback@end": data})


class EcpReverse(NibbleReverse):
    """The loopback is filled by ECP forward (FIFO), then read back in ECP
    reverse through ppdev; the switch falls in the reverse read."""

    mode, fill_mode = "ecp", "ecp"


class Epp(TraceProgress, Kind):
    """EPP data cycles: the guest writes to the loopback through parport_pc's
    EPP data register, then reads it back; the switch falls anywhere in the
    two."""

    spec = "loopback@end"
    modules = FIFO_MODULES
    trace = ("lpt1284_peripheral_epp",)
    pattern = r"lpt1284_peripheral_epp .*address-cycle 0 "
    size = 64 * 1024
    high = 0.8

    def make_round(self, number: int) -> Round:
        data = self.rng.randbytes(self.size)
        guest = self.data_file(f"epp-{number}.bin", data)
        out = f"/tmp/epp-{number}.out"
        return Round(
            number,
            f"ppdev_xfer write epp {guest} && ppdev_xfer read epp {len(data)} {out} && "
            f"cmp {guest} {out} && sha256sum {out} | cut -d' ' -f1",
            2 * len(data),
            forward={"loopback@end": data},
            output=[f"wrote {len(data)}", f"read {len(data)}",
                    hashlib.sha256(data).hexdigest()])


class DaisyPpdev(Kind):
    """A loop of writes, each to one device of a 1284.3 daisy chain after a
    select (``ppdev_xfer -s``), or to the end device without one; the
    switch falls after a randomly chosen select, plus a random delay."""

    spec = "printer@0,printer@1,printer@2,printer@end"
    trace = ("lpt1284_dot3_select", "lpt1284_chain_drive")
    pattern = r"lpt1284_dot3_select "
    LINES = r"lpt1284_chain_drive "
    iterations = 12
    devices = ("0", "1", "2", "end")

    def __init__(self, rng: random.Random, tmp_path: Path) -> None:
        #: each round's writes in order: (output file, data)
        self.chunks: Dict[int, List[Tuple[str, bytes]]] = {}
        super().__init__(rng, tmp_path)

    def write(self, device: str, path: str) -> str:
        return (f"ppdev_xfer write compat {path}" if device == "end"
                else f"ppdev_xfer -s {device} write compat {path}")

    def explain(self, rnd: Round, name: str, got: bytes) -> str:
        chunks = self.chunks[rnd.number]
        found = []
        for i, (owner, data) in enumerate(chunks):
            if owner != name and data in got:
                after = (f", after write {i - 1} to {chunks[i - 1][0]}, whose last "
                         f"byte is {chunks[i - 1][1][-1]:#04x}" if i else "")
                found.append(f"write {i} of the round, meant for {owner} ({len(data)} "
                             f"bytes{after}), landed in {name}")
        return "\n".join(found)

    def expected_line(self, device: str, size: int) -> Optional[str]:
        return f"wrote {size}"

    def make_round(self, number: int) -> Round:
        forward: Dict[str, bytes] = {f"printer@{d}": b"" for d in self.devices}
        self.chunks.setdefault(number, [])
        lines: List[str] = []
        output: List[str] = []
        selects = 0
        for i in range(self.iterations):
            for device in self.rng.sample(self.devices, len(self.devices)):
                data = self.rng.randbytes(self.rng.randint(64, 512))
                guest = self.data_file(f"daisy-{number}-{i}-{device}.bin", data)
                forward[f"printer@{device}"] += data
                self.chunks[number].append((f"printer@{device}", data))
                lines.append(self.write(device, guest) + " || exit 1")
                line = self.expected_line(device, len(data))
                if line is not None:
                    output.append(line)
                selects += device != "end"
        script = self.tmp_path / "data" / f"daisy-{number}.sh"
        script.write_text("\n".join(lines) + "\n")
        self.files.append((script, f"/root/daisy-{number}.sh"))
        return Round(number, f"sh /root/daisy-{number}.sh", selects,
                     forward=forward, output=output)

    def progress(self, vm: Machine) -> Callable[[], int]:
        self.at_start = received(vm, [p.qom_id for p in vm.chain.peripherals])
        return TraceCounter(vm.trace_log, self.pattern)

    def target(self, rnd: Round, attempt: int = 0) -> int:
        # within the first three quarters of the selects (halved on each
        # new attempt): room after the target
        return self.rng.randint(1, max(1, (rnd.total * 3 // 4) >> attempt))

    def extra(self, vm: Machine) -> Optional[Tuple[Callable[[], int], int]]:
        # then 0-1200 more changes of the host's lines: anywhere in the
        # write after the select, its deselect or the next command packet
        return TraceCounter(vm.trace_log, self.LINES, at_end=True), self.rng.randint(0, 1200)

    def finished(self, vm: Machine, rnd: Round, at: int) -> bool:
        # the last select may have come, or even all the data
        sent = received(vm, [p.qom_id for p in vm.chain.peripherals]) - self.at_start
        return at >= rnd.total or sent >= sum(len(d) for d in rnd.forward.values())


class DaisyLpt1284(DaisyPpdev):
    """The same loop through our driver: ``cat FILE > /dev/lpt0.N`` (each
    write() takes the port, selects the device, writes, deselects)."""

    modules = "lpt1284"

    def __init__(self, rng: random.Random, tmp_path: Path) -> None:
        super().__init__(rng, tmp_path)
        self.files = [f for f in self.files if not f[1].endswith("/ppdev_xfer")]

    def write(self, device: str, path: str) -> str:
        node = "4" if device == "end" else device
        return f"cat {path} > /dev/lpt0.{node}"

    def expected_line(self, device: str, size: int) -> Optional[str]:
        return None


class FaultPaperOut(Compat):
    """A print through lp that the printer blocks mid-way with its
    ``paper-out`` knob, armed (QMP qom-set ``arm``, ``arm-after``) to come
    on by itself at the switch target; switched while blocked; the knob is
    still set on the destination, which is checked to stay blocked (while
    lp looks at the printer again) until the knob is cleared there."""

    fault = ("paper-out", True, False)
    #: the knob comes on by itself at the target (an on/off knob can be armed)
    armed = True
    trace = ("lpt1284_peripheral_stall",)
    size = 16 * 1024


class FaultBusyStall(FaultPaperOut):
    """The same with ``busy-stall=-1``: Busy held for ever after a byte.
    It cannot be armed: the host sets it at the target, and the transfer is
    blocked once the printer says it stalls (trace event)."""

    fault = ("busy-stall", -1, 0)
    armed = False


KINDS: Dict[str, type] = {
    "compat": Compat,
    "ecp-dma": EcpDma,
    "nibble-rev": NibbleReverse,
    "ecp-rev": EcpReverse,
    "epp": Epp,
    "daisy-ppdev": DaisyPpdev,
    "daisy-lpt1284": DaisyLpt1284,
    "fault-paper-out": FaultPaperOut,
    "fault-busy-stall": FaultBusyStall,
}


# -- the rig: machines one after another ----------------------------------------

@pytest.fixture
def twins(request: pytest.FixtureRequest) -> Iterator[List[Machine]]:
    """Machines started by the test (destinations, snapshot loads): shut down
    and their consoles checked at the end, as make_machine does."""
    started: List[Machine] = []
    yield started
    for vm in started:
        vm.shutdown()
    for vm in started:
        vm.check_console()


class Switcher:
    """Moves a stopped VM to a new QEMU by ``method``."""

    def __init__(self, method: str, tmp_path: Path, twins: List[Machine],
                 request: pytest.FixtureRequest) -> None:
        self.method = method
        self.tmp_path = tmp_path
        self.twins = twins
        self.request = request
        self.sockdir = Path(tempfile.mkdtemp(prefix="lptrig-mig-"))
        self.image = tmp_path / "snapshots.qcow2"
        self.pending: Optional[Machine] = None
        self.migrating = False
        self.uri = ""

    def extra_args(self) -> List[str]:
        if self.method != "savevm":
            return []
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(self.image), "64M"],
                       check=True)
        return ["-drive", f"if=none,id=snap,format=qcow2,file={self.image}"]

    def _track(self, vm: Machine) -> None:
        self.twins.append(vm)
        runs = getattr(self.request.node, "_lptrig_runs", [])
        runs.append(lambda: f"run directory: {vm.rundir}\nconsole: {vm.console_log}\n"
                            f"QEMU: {vm.command_line()}")
        self.request.node._lptrig_runs = runs  # pylint: disable=protected-access

    def ready(self, src: Machine, label: str) -> None:
        """Before the transfer: start the destination of a migration."""
        if self.method != "migrate":
            return
        dst = src.twin(self.tmp_path / f"round{label}", incoming="defer")
        self._track(dst)
        dst.start()
        self.uri = f"unix:{self.sockdir / f'mig{label}.sock'}"
        dst.qmp().command("migrate-incoming", uri=self.uri)
        self.pending = dst

    def begin(self, src: Machine) -> None:
        """Once the transfer runs: a migration starts, live (the RAM is
        copied while the guest goes on), held back (bandwidth) so that it
        cannot end before the switch; and it pauses before the device
        state goes (pause-before-switchover) in case it would."""
        if self.method != "migrate":
            return
        mon = src.qmp()
        mon.command("migrate-set-capabilities", capabilities=[
            {"capability": "pause-before-switchover", "state": True}])
        mon.command("migrate-set-parameters", **{"max-bandwidth": 256 << 10})
        mon.command("migrate", uri=self.uri)
        self.migrating = True

    def abandon(self, src: Machine) -> None:
        """No switch this time (the transfer ended first): a migration under
        way is cancelled and its destination let go; ``src`` goes on."""
        if self.migrating:
            mon = src.qmp()
            mon.command("migrate_cancel")
            self._wait_migrated(mon, "source", "cancelled")
            self.migrating = False
        if self.pending is not None:
            self.pending.shutdown()
            self.pending = None

    def switch(self, src: Machine, label: str) -> Machine:
        """The VM (stopped) goes from ``src`` to a new QEMU, loaded, paused."""
        mon = src.qmp()
        if self.method == "migrate":
            dst = self.pending
            assert dst is not None
            mon.command("migrate-set-parameters", **{"max-bandwidth": 1 << 34})
            self._wait_migrated(mon, "source", "pre-switchover")
            mon.command("migrate-continue", state="pre-switchover")
            self._wait_migrated(mon, "source")
            self._wait_migrated(dst.qmp(), "destination")
            self.pending, self.migrating = None, False
            src.shutdown()
            assert src.exitcode == 0, f"the source QEMU exited with {src.exitcode}"
        else:
            name = f"round{label}"
            out = mon.command("human-monitor-command", **{"command-line": f"savevm {name}"})
            assert out.strip() == "", f"savevm {name}: {out}"
            src.shutdown()
            assert src.exitcode == 0, f"the source QEMU exited with {src.exitcode}"
            dst = src.twin(self.tmp_path / f"round{label}", loadvm=name)
            self._track(dst)
            dst.start()
        status = dst.qmp().command("query-status")
        assert not status["running"], status
        return dst

    @staticmethod
    def _wait_migrated(mon: Any, side: str, until: str = "completed") -> None:
        deadline = time.monotonic() + 120
        while True:
            info = mon.command("query-migrate")
            status = info.get("status")
            if status == until:
                return
            assert status not in ("failed", "cancelled"), f"{side}: migration {info}"
            assert time.monotonic() < deadline, f"{side}: migration not done: {info}"
            time.sleep(0.02)

    def close(self) -> None:
        shutil.rmtree(self.sockdir, ignore_errors=True)


def output_files(vm: Machine) -> Dict[str, bytes]:
    return {name: path.read_bytes() if path.exists() else b""
            for name, path in vm.chain.output_files(vm.rundir).items()}


@pytest.mark.parametrize("method", ["migrate", "savevm"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_switch_in_the_middle_of_a_transfer(
        make_machine: Callable[..., Machine], twins: List[Machine], tmp_path: Path,
        request: pytest.FixtureRequest, lptrig_seed: int, kind: str, method: str) -> None:
    rng = random.Random(f"{lptrig_seed}/{kind}/{method}")
    seed = f"seed {lptrig_seed} (--lptrig-seed {lptrig_seed} repeats it)"
    where = {"text": f"{seed}, {ROUNDS} round(s)"}
    runs = getattr(request.node, "_lptrig_runs", [])
    runs.append(lambda: where["text"])
    request.node._lptrig_runs = runs  # pylint: disable=protected-access

    case: Kind = KINDS[kind](rng, tmp_path)
    switcher = Switcher(method, tmp_path, twins, request)
    try:
        Rounds(case, switcher, make_machine, where, seed).run()
    finally:
        switcher.close()


class Missed(Exception):
    """The host stopped the VM only after the transfer had ended."""


class Rounds:
    """A case's rounds, one after another, each on the QEMU the one before
    ended on."""

    def __init__(self, case: Kind, switcher: Switcher, make_machine: Callable[..., Machine],
                 where: Dict[str, str], seed: str) -> None:
        self.case = case
        self.switcher = switcher
        self.where = where
        self.seed = seed
        self.vm = make_machine(case.chain(), modules=case.modules, add_files=case.files,
                               trace=list(case.trace), extra_args=switcher.extra_args())
        self.history = [self.vm]
        self.names = list(self.vm.chain.output_files(self.vm.rundir))
        #: everything sent forward to each output file so far, across rounds
        self.stream: Dict[str, bytes] = {name: b"" for name in self.names}
        #: where each output file of the current machine starts in ``stream``
        self.start = {name: 0 for name in self.names}
        initial = cable_state(self.vm)
        for p in self.vm.chain.peripherals:
            assert initial[f"{peripheral_path(p.qom_id)} received"] == 0
        assert set(output_files(self.vm).values()) <= {b""}

    def run(self) -> None:
        for rnd in self.case.rounds:
            missed: List[str] = []
            for attempt in range(ATTEMPTS):
                try:
                    self.round(rnd, attempt)
                    break
                except Missed as exc:
                    missed.append(str(exc))
                    print(f"{exc}: again, with the switch drawn earlier")
            else:
                raise AssertionError(
                    f"round {rnd.number}, {self.seed}: in {ATTEMPTS} tries the VM was never "
                    "stopped before the transfer ended:\n" + "\n".join(missed))

    def wait(self, ctx: str, what: str, cond: Callable[[], bool], ended: Callable[[], bool],
             begin: Optional[Callable[[], None]] = None) -> None:
        """Poll ``cond`` (QOM or trace state) until it holds; Missed if the
        transfer ``ended()`` first."""
        deadline = time.monotonic() + TRANSFER_TIMEOUT
        polls = 0
        while not cond():
            if begin is not None:
                begin()
            polls += 1
            if polls % 50 == 0 and ended():
                raise Missed(f"{ctx}: the transfer ended before {what}")
            assert time.monotonic() < deadline, f"{ctx}: no {what} within {TRANSFER_TIMEOUT:g} s"
            time.sleep(POLL)

    def round(self, rnd: Round, attempt: int) -> None:
        case, switcher, stream, vm = self.case, self.switcher, self.stream, self.vm
        label = f"{rnd.number}" if attempt == 0 else f"{rnd.number}-try{attempt + 1}"
        ctx = f"round {rnd.number} of {ROUNDS} (try {attempt + 1}), {self.seed}"
        self.where["text"] = ctx
        vm.console.check(f"echo round {label}")
        for cmd in rnd.prepare:
            vm.console.check(cmd, timeout=120)
        for name, data in rnd.prepared.items():
            stream[name] += data
        switcher.ready(vm, label)
        for name, data in rnd.forward.items():
            stream[name] += data

        # Start the transfer; stop the VM at a random point within it
        marker = re.compile(rf"lptrig-xfer{label}-done rc=(\d+)")

        def ended() -> bool:
            return bool(marker.search(vm.console_log.read_text(errors="replace")))
        progress = case.progress(vm)
        base = progress()
        target = case.target(rnd, attempt)
        mon = vm.qmp()
        printer = peripheral_path("printer-end")
        if case.fault is not None and case.armed:
            # the printer sets the knob itself at the target: blocked there
            knob, _, _ = case.fault
            qmp.qom_set(mon, printer, "arm", knob)
            qmp.qom_set(mon, printer, "arm-after", target)
        vm.console.send(f"( {rnd.command} ) > /tmp/xfer{label}.out 2>&1; "
                        f"echo \"lptrig-xfer{label}-done rc=$?\"\n")
        begun = [False]

        def begin() -> None:
            if not begun[0] and progress() > base:
                switcher.begin(vm)
                begun[0] = True
        try:
            self.wait(ctx, f"the switch point {target} of {rnd.total}",
                      lambda: progress() - base >= target, ended, begin)
            if not begun[0]:
                switcher.begin(vm)
            extra = case.extra(vm)
            if extra is not None:
                more, count = extra
                self.wait(ctx, f"{count} more trace events after the switch point",
                          lambda: more() >= count, ended)
            fault_at = None
            if case.fault is not None:
                knob, armed, _ = case.fault
                if case.armed:
                    self.wait(ctx, f"{knob} to come on", lambda: qmp.qom_get(
                        mon, printer, knob) == armed, ended)
                else:
                    stalls = TraceCounter(vm.trace_log, r"lpt1284_peripheral_stall ",
                                          at_end=True)
                    qmp.qom_set(mon, printer, knob, armed)
                    # blocked once the printer holds Busy on a byte
                    self.wait(ctx, f"the printer to stall with {knob}",
                              lambda: stalls() > 0, ended)
                fault_at = received(vm, ["printer-end"])
            mon.command("stop")
            at = progress() - base
            if ended() or case.finished(vm, rnd, at):
                raise Missed(f"{ctx}: the VM stopped at {at} of {rnd.total} "
                             f"(target {target}), after the transfer")
        except Missed:
            self.abandon(rnd, label, marker)
            raise
        ctx = f"{ctx}, switch at {at} of {rnd.total} (target {target})"
        self.where["text"] = ctx
        assert 0 < at < rnd.total, f"{ctx}: the switch is not in the middle of the transfer"
        if case.armed:
            assert fault_at == base + target, f"{ctx}: the armed fault came at {fault_at}"
        case.check_source(vm, rnd, at)
        before = cable_state(vm)

        # Switch: the destination has the state the source had
        dst = switcher.switch(vm, label)
        self.history.append(dst)
        after = cable_state(dst)
        assert after == before, \
            f"{ctx}: the cable state differs after the {switcher.method}:\n" \
            + state_diff(before, after)
        split = {p.name: before[f"{peripheral_path(p.qom_id)} received"]
                 for p in vm.chain.peripherals if p.name in self.names}
        # what the source wrote is exactly the data up to the split
        got = output_files(vm)
        for name in self.names:
            assert got[name] == stream[name][self.start[name]:split[name]], \
                (f"{ctx}: {name} on the source: {len(got[name])} bytes, expected "
                 f"bytes {self.start[name]}-{split[name]} of the {len(stream[name])} sent\n"
                 + case.explain(rnd, name, got[name]))
        self.start = split

        dmon = dst.qmp()
        if case.fault is not None:
            knob, armed, cleared = case.fault
            assert qmp.qom_get(dmon, printer, knob) == armed, f"{ctx}: {knob} not kept"
            # the guest goes on and looks at the printer again (lp reads the
            # status register), which stays blocked
            dmon.command("trace-event-set-state", name="lpt1284_read", enable=True)
            reads = TraceCounter(dst.trace_log, r"lpt1284_read status ", at_end=True)
            dmon.command("cont")
            wait_until(f"{ctx}: the guest to read the printer's status",
                       lambda: reads() > 0, TRANSFER_TIMEOUT)
            dmon.command("trace-event-set-state", name="lpt1284_read", enable=False)
            assert received(dst, ["printer-end"]) == fault_at, \
                f"{ctx}: the printer took bytes with {knob} set"
            assert output_files(dst)["printer@end"] == b"", f"{ctx}: printed while blocked"
            assert not marker.search(dst.console_log.read_text(errors="replace")), \
                f"{ctx}: the transfer ended with {knob} set"
            qmp.qom_set(dmon, printer, knob, cleared)
        else:
            dmon.command("cont")

        # The transfer goes on, on the destination, and ends well
        self.finish(dst, rnd, label, marker, ctx)
        case.check_done(self.history, rnd, at)
        self.vm = dst

    def finish(self, vm: Machine, rnd: Round, label: str, marker: "re.Pattern[str]",
               ctx: str) -> None:
        """The transfer ends on ``vm``: its output, and each file's data."""
        done = vm.console.expect(marker, TRANSFER_TIMEOUT, f"the end of transfer {label}")
        out = vm.console.check(f"cat /tmp/xfer{label}.out")
        assert done.group(1) == "0", f"{ctx}: the transfer failed:\n{out}"
        assert out.strip().splitlines() == rnd.output, \
            f"{ctx}: the transfer printed:\n{out}"
        got = output_files(vm)
        mon = vm.qmp()
        for name in self.names:
            assert got[name] == self.stream[name][self.start[name]:], \
                (f"{ctx}: {name}: {len(got[name])} bytes, expected "
                 f"bytes {self.start[name]}-{len(self.stream[name])} of the data\n"
                 + self.case.explain(rnd, name, got[name]))
        for p in vm.chain.peripherals:
            if p.name in self.names:
                assert qmp.qom_get(mon, peripheral_path(p.qom_id), "received") == \
                    len(self.stream[p.name]), f"{ctx}: {p.name} received count"

    def abandon(self, rnd: Round, label: str, marker: "re.Pattern[str]") -> None:
        """The host did not stop the VM within the transfer: no switch; the
        transfer runs to its end on this QEMU and is checked there."""
        vm = self.vm
        self.switcher.abandon(vm)
        mon = vm.qmp()
        if self.case.fault is not None:
            knob, _, cleared = self.case.fault
            printer = peripheral_path("printer-end")
            qmp.qom_set(mon, printer, "arm", "none")
            qmp.qom_set(mon, printer, knob, cleared)
        if not mon.command("query-status")["running"]:
            mon.command("cont")
        self.finish(vm, rnd, label, marker, f"round {rnd.number}, {self.seed}, no switch")
