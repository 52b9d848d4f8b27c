"""lptrig's pytest plugin: tests against a guest whose parallel port has a chain.

Load it with ``pytest -p lptrig.pytest_plugin`` (lptrig's ``harness/`` on
``PYTHONPATH``) or ``pytest_plugins = ["lptrig.pytest_plugin"]`` in a
``conftest.py``.  lptrig's own tests use it; ``examples/`` is a complete
project outside the rig that does.  README "pytest plugin" has the details.

Fixtures:

``lptrig_machine``
    a booted guest (``lptrig.machine.Machine``) with the test's chain: the
    ``lptrig_chain`` marker, else ``--lptrig-chain``, else the default
    ``printer@0,loopback@1,printer@end``.  The ``lptrig_machine`` marker
    passes Machine arguments (``modules="lpt1284"``, ``extra_append=...``).
``lptrig_console``, ``lptrig_qmp``
    its serial console (``run``/``check`` a shell command) and QMP monitor.
``lptrig_outputs``
    what each peripheral received: ``lptrig_outputs["printer@end"]`` (bytes),
    ``lptrig_outputs.path(name)``.
``lptrig_faults``
    fault knobs at run time: ``lptrig_faults.set("printer@end", "paper-out", "on")``.
``lptrig_vcd``
    the cable's Value Change Dump; asking for it turns the trace on.
``make_machine``, ``make_qtest``
    factories for more guests or register-level (qtest) runs.
``lptrig_result_dir``
    the test's result directory.

Every test that uses these gets a result directory
``<results>/<test id>/`` (console.log, qemu.log, the peripherals' output,
traces; ``guestN/`` and ``qtestN/`` per QEMU).  ``<results>`` is
``--lptrig-results`` or ``$LPTRIG_CACHE/results/<date>-<time>-<pid>``.  A
passing test's directory is removed (``--lptrig-keep`` keeps it), a failing
test's is kept and named in the report, and every test's is attached to its
JUnit XML entry as the property ``lptrig_logs``.

``--lptrig-shard I/N`` runs the I-th of N slices of the collected tests; the
slices partition the suite and a test's slice depends only on its own id.
"""

import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from . import faults as faults_mod
from . import paths, qmp, snapshot
from .chain import DEFAULT_SPEC, Chain
from .console import Console
from .errors import LptrigError
from .machine import Machine
from .qtest import QTest

#: environment variable with the session's results directory (xdist workers
#: inherit it from the controller)
RESULTS_ENV = "LPTRIG_RESULTS"
#: runs kept under $LPTRIG_CACHE/results (older ones are removed)
KEEP_RUNS = 20
#: JUnit property naming a test's result directory
LOGS_PROPERTY = "lptrig_logs"

_RUN_DIRS = pytest.StashKey[List[Callable[[], str]]]()
_RESULT_DIR = pytest.StashKey[Path]()
_FAILED = pytest.StashKey[bool]()


# -- options, markers, sharding ---------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lptrig", "lptrig (IEEE 1284 chain in QEMU)")
    group.addoption("--lptrig-chain", metavar="SPEC", default=None,
                    help=f"chain of lptrig_machine without a lptrig_chain marker "
                         f"(default {DEFAULT_SPEC})")
    group.addoption("--lptrig-results", metavar="DIR", type=Path, default=None,
                    help="directory for the per-test result directories (default "
                         "$LPTRIG_CACHE/results/<date>-<time>-<pid>)")
    group.addoption("--lptrig-keep", action="store_true",
                    help="keep the result directories of passing tests too")
    group.addoption("--lptrig-shard", metavar="I/N", default=None,
                    help="run only slice I of N (1 <= I <= N) of the collected tests")
    group.addoption("--lptrig-cold-boot", action="store_true",
                    help="boot every guest from scratch: no snapshot is restored or "
                         "saved (as LPTRIG_SNAPSHOTS=0)")


def parse_shard(text: str) -> Tuple[int, int]:
    """``"I/N"`` -> (I, N), checked: 1 <= I <= N."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise LptrigError(f"shard {text!r}: write it as I/N, e.g. 2/3 (slice 2 of 3)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise LptrigError(f"shard {text!r}: I must be 1 to N and N at least 1")
    return index, count


def shard_of(nodeid: str, count: int) -> int:
    """The slice (1..count) of the test ``nodeid``.

    A hash of the id alone: adding or removing other tests moves no test to
    another slice, and every machine computes the same slices.
    """
    digest = hashlib.sha256(nodeid.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lptrig_chain(spec, **controller): the chain of lptrig_machine, "
                   "e.g. lptrig_chain('printer@0,loopback@1,printer@end', irq=5)")
    config.addinivalue_line(
        "markers", "lptrig_machine(**kwargs): Machine arguments of lptrig_machine, "
                   "e.g. lptrig_machine(modules='lpt1284')")
    shard = config.getoption("lptrig_shard")
    if shard is not None:
        try:
            parse_shard(shard)
        except LptrigError as exc:
            raise pytest.UsageError(f"--lptrig-shard: {exc}") from None
    spec = config.getoption("lptrig_chain")
    if spec is not None:
        try:
            Chain.parse(spec)
        except LptrigError as exc:
            raise pytest.UsageError(f"--lptrig-chain: {exc}") from None
    if config.getoption("lptrig_cold_boot"):
        os.environ[snapshot.ENV] = "0"      # xdist workers inherit it
    if hasattr(config, "workerinput"):
        return          # an xdist worker: the controller chose the directory
    results = config.getoption("lptrig_results")
    if results is None and not os.environ.get(RESULTS_ENV):
        base = paths.cache_dir() / "results"
        results = base / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}")
        _prune(base)
    if results is not None:
        os.environ[RESULTS_ENV] = str(Path(results).absolute())


def _prune(base: Path) -> None:
    """Remove all but the newest KEEP_RUNS - 1 run directories under ``base``."""
    try:
        runs = sorted(p for p in base.iterdir() if p.is_dir())
    except OSError:
        return
    for old in runs[:max(0, len(runs) - (KEEP_RUNS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    shard = config.getoption("lptrig_shard")
    if shard is None:
        return
    index, count = parse_shard(shard)
    keep: List[pytest.Item] = []
    dropped: List[pytest.Item] = []
    for item in items:
        (keep if shard_of(item.nodeid, count) == index else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_report_header(config: pytest.Config) -> List[str]:
    lines = [f"lptrig: results in {os.environ.get(RESULTS_ENV)}",
             "lptrig: snapshot boot " + (f"on ({snapshot.root()})" if snapshot.enabled()
                                         else "off (cold boots)")]
    if config.getoption("lptrig_shard"):
        lines.append(f"lptrig: shard {config.getoption('lptrig_shard')}")
    return lines


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove the session's results directory when no test left anything."""
    root = os.environ.get(RESULTS_ENV)
    if root and not hasattr(session.config, "workerinput"):
        try:
            Path(root).rmdir()
        except OSError:
            pass        # kept results (or never created)


# -- result directories --------------------------------------------------------

def _dir_name(nodeid: str) -> str:
    """A file name for the test ``nodeid``: readable, unique, not too long."""
    name = re.sub(r"[^A-Za-z0-9._@=+-]+", "_", nodeid.replace("::", ".")).strip("_.")
    if len(name) > 120:
        name = name[:100] + "-" + hashlib.sha256(nodeid.encode()).hexdigest()[:12]
    return name


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True
    result_dir = item.stash.get(_RESULT_DIR, None)
    if report.failed:
        for describe in item.stash.get(_RUN_DIRS, []):
            report.sections.append(("lptrig", describe()))
        if result_dir is not None:
            report.sections.append(("lptrig", f"result directory (kept): {result_dir}"))
    if report.when == "teardown" and result_dir is not None:
        if not item.stash.get(_FAILED, False) and not item.config.getoption("lptrig_keep"):
            shutil.rmtree(result_dir, ignore_errors=True)


@pytest.fixture
def lptrig_result_dir(request: pytest.FixtureRequest) -> Path:
    """This test's result directory (created; removed after a pass)."""
    root = os.environ.get(RESULTS_ENV)
    if not root:
        raise LptrigError(f"{RESULTS_ENV} is not set: load lptrig.pytest_plugin "
                          "with -p or pytest_plugins")
    path = Path(root) / _dir_name(request.node.nodeid)
    shutil.rmtree(path, ignore_errors=True)     # a rerun of the same test
    path.mkdir(parents=True)
    request.node.stash[_RESULT_DIR] = path
    request.node.user_properties.append((LOGS_PROPERTY, str(path)))
    return path


def _remember(request: pytest.FixtureRequest, describe: Callable[[], str]) -> None:
    request.node.stash.setdefault(_RUN_DIRS, []).append(describe)


# -- QEMU under qtest and booted guests ---------------------------------------

@pytest.fixture
def make_qtest(request: pytest.FixtureRequest,
               lptrig_result_dir: Path) -> Iterator[Callable[..., QTest]]:
    """``make_qtest(spec="printer@end", stock=False, **controller)``: a started
    QTest (register-level access, no guest), in ``qtestN/`` of the result directory."""
    started: List[QTest] = []

    def make(spec: str = "printer@end", *, stock: bool = False, **kwargs: object) -> QTest:
        rundir = lptrig_result_dir / f"qtest{len(started)}"
        chain = Chain.stock() if stock else Chain.parse(spec, **kwargs)
        qt = QTest(rundir, chain, trace=["lpt1284*", "ieee1284*"])
        _remember(request, lambda: f"run directory: {rundir}\n"
                                   f"QEMU: {qt.command_line()}")
        started.append(qt)
        qt.start()
        return qt

    yield make
    for qt in started:
        qt.close()


@pytest.fixture
def make_machine(request: pytest.FixtureRequest,
                 lptrig_result_dir: Path) -> Iterator[Callable[..., Machine]]:
    """``make_machine(chain, **machine_args)``: a booted guest, ready for
    commands, in ``guestN/`` of the result directory.

    At teardown the guest is shut down and its console is checked: a
    ``BUG:``, ``Oops``, ``WARNING:`` or hung task fails the test.
    """
    started: List[Machine] = []

    def make(chain: Chain, **kwargs: Any) -> Machine:
        rundir = lptrig_result_dir / f"guest{len(started)}"
        vm = Machine(rundir, chain, **kwargs)
        _remember(request, lambda: f"run directory: {rundir}\n"
                                   f"console: {vm.console_log}\n"
                                   f"kernel log: {vm.kernel_log}\n"
                                   f"boot: {vm.boot_note}\n"
                                   f"QEMU: {vm.command_line()}")
        started.append(vm)
        vm.start()
        vm.wait_ready()
        return vm

    yield make
    for vm in started:
        vm.shutdown()
    for vm in started:
        vm.check_console()


@pytest.fixture
def lptrig_chain(request: pytest.FixtureRequest) -> Chain:
    """The test's chain: its ``lptrig_chain`` marker, else ``--lptrig-chain``,
    else the default; with ``lptrig_vcd`` the cable trace is on."""
    marker = request.node.get_closest_marker("lptrig_chain")
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], str):
            raise pytest.UsageError(f"{request.node.nodeid}: lptrig_chain takes one "
                                    "spec string, e.g. lptrig_chain('printer@end')")
        chain = Chain.parse(marker.args[0], **marker.kwargs)
    else:
        chain = Chain.parse(request.config.getoption("lptrig_chain") or DEFAULT_SPEC)
    if "lptrig_vcd" in request.fixturenames:
        result_dir: Path = request.getfixturevalue("lptrig_result_dir")
        chain.props["trace-vcd"] = str(result_dir / "cable.vcd")
    return chain


@pytest.fixture
def lptrig_machine(request: pytest.FixtureRequest, lptrig_chain: Chain,
                   make_machine: Callable[..., Machine]) -> Machine:
    """A booted guest with the test's chain (see ``lptrig_chain``); the
    ``lptrig_machine`` marker's keyword arguments go to Machine."""
    marker = request.node.get_closest_marker("lptrig_machine")
    return make_machine(lptrig_chain, **(marker.kwargs if marker else {}))


@pytest.fixture
def lptrig_console(lptrig_machine: Machine) -> Console:
    """The guest's serial console: ``.run(cmd)`` (output and status),
    ``.check(cmd)`` (output; a non-zero status fails), ``.expect(pattern)``."""
    return lptrig_machine.console


@pytest.fixture
def lptrig_qmp(lptrig_machine: Machine) -> Any:
    """QEMU's QMP monitor (``qemu.qmp.legacy.QEMUMonitorProtocol``)."""
    return lptrig_machine.qmp()


class Outputs:
    """What each peripheral of a machine received, by name (``printer@end``)."""

    def __init__(self, machine: Machine) -> None:
        self._files = machine.chain.output_files(machine.rundir)

    def names(self) -> List[str]:
        """The peripherals that write an output file."""
        return sorted(self._files)

    def path(self, name: str) -> Path:
        """The output file of peripheral ``name``."""
        if name not in self._files:
            raise KeyError(f"{name}: no output file on this chain "
                           f"(has {', '.join(self.names()) or 'none'})")
        return self._files[name]

    def __getitem__(self, name: str) -> bytes:
        path = self.path(name)
        return path.read_bytes() if path.exists() else b""

    def all(self) -> Dict[str, bytes]:
        """Every peripheral's bytes so far."""
        return {name: self[name] for name in self.names()}


@pytest.fixture
def lptrig_outputs(lptrig_machine: Machine) -> Outputs:
    """``lptrig_outputs["printer@end"]``: the bytes that printer received so far."""
    return Outputs(lptrig_machine)


class Faults:
    """A machine's fault knobs at run time (README "Fault knobs"), through QMP."""

    def __init__(self, machine: Machine) -> None:
        self._machine = machine
        self._names = {p.name: p for p in machine.chain.peripherals}

    def set(self, name: str, knob: str, value: Any) -> None:
        """Set ``knob`` of peripheral ``name`` (``printer@end``) to ``value``
        (``"on"``/``True``, a number, ...), checked like ``--fault``."""
        if isinstance(value, bool):
            value = "on" if value else "off"
        _, knob, text = faults_mod.parse(f"{name}:{knob}={value}")
        if name not in self._names:
            raise LptrigError(f"fault on {name}: no such peripheral on the chain "
                              f"({', '.join(sorted(self._names)) or 'none'})")
        typed: Any = text
        if text in ("on", "off"):
            typed = text == "on"
        elif re.fullmatch(r"-?\d+", text):
            typed = int(text)
        qmp.qom_set(self._machine.qmp(), f"/machine/peripheral/{self._names[name].qom_id}",
                    knob, typed)

    def get(self, name: str, knob: str) -> Any:
        """The current value of ``knob`` of peripheral ``name``."""
        if name not in self._names:
            raise LptrigError(f"no peripheral {name} on the chain")
        return qmp.qom_get(self._machine.qmp(),
                           f"/machine/peripheral/{self._names[name].qom_id}", knob)


@pytest.fixture
def lptrig_faults(lptrig_machine: Machine) -> Faults:
    """``lptrig_faults.set("printer@end", "paper-out", "on")`` while the guest runs."""
    return Faults(lptrig_machine)


@pytest.fixture
def lptrig_vcd(lptrig_machine: Machine) -> Path:
    """The cable's VCD file.  QEMU buffers it: it is complete once QEMU has
    quit (``lptrig_machine.shutdown()``).  Read it with ``lptrig.traces.read``,
    ``sigrok-cli -I vcd`` or GTKWave."""
    path = lptrig_machine.chain.props.get("trace-vcd")
    if path is None:
        raise LptrigError("this machine has no cable trace")
    return Path(path)

