"""Fixtures shared by every lptrig test.

Each test gets its own run directory (pytest's ``tmp_path``) holding the
QEMU log, the console log, traces and the peripherals' output files, so
tests run in parallel (``pytest -n auto``).  When a test fails the paths
and the exact QEMU command line are printed.
"""

import os
import re
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Set

import pytest

from lptrig import accel, paths
from lptrig.chain import Chain
from lptrig.machine import Machine
from lptrig.qtest import QTest

BASE = 0x378
ECP = BASE + 0x400


def pytest_report_header(config: pytest.Config) -> List[str]:
    lines = [f"lptrig: accel={accel.choose()}, "
             f"cache={os.environ.get('LPTRIG_CACHE', '~/.cache/lptrig')}"]
    if os.environ.get("LPTRIG_QEMU"):
        lines.append(f"lptrig: QEMU {os.environ['LPTRIG_QEMU']}")
    if os.environ.get("LPTRIG_IMAGE"):
        lines.append(f"lptrig: guest image {os.environ['LPTRIG_IMAGE']}")
    if os.environ.get("LPTRIG_SANITIZER_LOGS"):
        lines.append(f"lptrig: sanitizer reports go to {os.environ['LPTRIG_SANITIZER_LOGS']}")
    return lines


# -- make test SANITIZE=1: QEMU built with ASan + UBSan ----------------------
#
# Every QEMU the tests start writes any sanitizer report to a file of its own
# in one directory (log_path; the report is fatal, QEMU aborts).  The test
# during which a report appears fails with it, and so does the session.
# Leaks are not checked: QEMU never frees its start-up allocations.

def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("LPTRIG_SANITIZE") != "1" or hasattr(config, "workerinput"):
        return          # not asked for, or an xdist worker (it inherits the env)
    logs = paths.cache_dir() / "sanitizer" / time.strftime(f"%Y%m%d-%H%M%S-{os.getpid()}")
    logs.mkdir(parents=True)
    os.environ["LPTRIG_SANITIZER_LOGS"] = str(logs)
    os.environ["ASAN_OPTIONS"] = f"log_path={logs}/report:detect_leaks=0:abort_on_error=1"
    os.environ["UBSAN_OPTIONS"] = (f"log_path={logs}/report:print_stacktrace=1:"
                                   "halt_on_error=1:abort_on_error=1")


#: what makes a sanitizer log file a report (ASan also logs a warning that
#: QEMU's coroutines use swapcontext: that alone is not one)
_REPORT = re.compile(r"ERROR: \w+Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")


def _sanitizer_reports() -> Set[Path]:
    logs = os.environ.get("LPTRIG_SANITIZER_LOGS")
    if not logs:
        return set()
    return {p for p in Path(logs).glob("report*")
            if _REPORT.search(p.read_text(errors="replace"))}


@pytest.fixture(autouse=True)
def _no_sanitizer_report() -> Iterator[None]:
    """Fail the test during which QEMU wrote a sanitizer report."""
    before = _sanitizer_reports()
    yield
    new = sorted(_sanitizer_reports() - before)
    if new:
        text = "\n".join(f"{p}:\n{p.read_text(errors='replace')[:4000]}" for p in new)
        pytest.fail(f"QEMU wrote a sanitizer report:\n{text}", pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return
    reports = sorted(_sanitizer_reports())
    if reports:
        print(f"\nlptrig: {len(reports)} sanitizer report(s): {', '.join(map(str, reports))}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for where in getattr(item, "_lptrig_runs", []):
            report.sections.append(("lptrig", where()))


def _remember(request: pytest.FixtureRequest, describe: Callable[[], str]) -> None:
    runs = getattr(request.node, "_lptrig_runs", [])
    runs.append(describe)
    request.node._lptrig_runs = runs


@pytest.fixture
def make_qtest(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., QTest]]:
    """``make_qtest(spec="printer@end", **controller)``: a started QTest."""
    started: List[QTest] = []

    def make(spec: str = "printer@end", *, stock: bool = False, **kwargs: object) -> QTest:
        rundir = tmp_path / f"qtest{len(started)}"
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
def qt(make_qtest: Callable[..., QTest]) -> QTest:
    """The default chain (a printer at the end) under qtest."""
    return make_qtest()


@pytest.fixture
def make_machine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Machine]]:
    """``make_machine(chain, **machine_args)``: a booted guest, ready for commands.

    At teardown the guest is shut down and its console is checked: a
    ``BUG:``, ``Oops``, ``WARNING:`` or hung task fails the test.
    """
    started: List[Machine] = []

    def make(chain: Chain, **kwargs: object) -> Machine:
        rundir = tmp_path / f"guest{len(started)}"
        vm = Machine(rundir, chain, **kwargs)  # type: ignore[arg-type]
        _remember(request, lambda: f"run directory: {rundir}\n"
                                   f"console: {vm.console_log}\n"
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


# The fault matrices (tests/faults/test_matrix*.py) record a row each as a
# user property, also under pytest-xdist: print their tables at the end.
def pytest_terminal_summary(terminalreporter: "pytest.TerminalReporter") -> None:
    tables: Dict[str, Dict[str, Dict[str, str]]] = {}
    for report in terminalreporter.stats.get("passed", []) + \
            terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "fault_matrix_row":
                table, knob, row = value
                tables.setdefault(table, {})[knob] = row
    for table, rows in sorted(tables.items()):
        ops: List[str] = list(next(iter(rows.values())))
        terminalreporter.write_sep("=", f"fault matrix: {table}")
        width = max(len(k) for k in rows)
        cols = [max(len(op), *(len(r.get(op, "")) for r in rows.values())) for op in ops]
        terminalreporter.write_line(" " * width + "  " + "  ".join(
            op.ljust(c) for op, c in zip(ops, cols)))
        for knob in sorted(rows):
            terminalreporter.write_line(knob.ljust(width) + "  " + "  ".join(
                rows[knob].get(op, "?").ljust(c) for op, c in zip(ops, cols)))
