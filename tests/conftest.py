"""What every lptrig test shares.

The fixtures (``make_machine``, ``make_qtest``, ``lptrig_machine`` with the
``lptrig_chain`` marker, ...) come from lptrig's pytest plugin,
``harness/lptrig/pytest_plugin.py``, the same one other projects load: each
test gets its own result directory holding the QEMU log, the console log,
traces and the peripherals' output files, so tests run in parallel
(``pytest -n auto``); a failing test's directory is kept and printed with
the exact QEMU command line.  Here: the report header, the session seed,
the sanitizer check of ``make test SANITIZE=1`` and the fault matrices'
tables.
"""

import os
import random
import re
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Set

import pytest

from lptrig import accel, paths
from lptrig.qtest import QTest

pytest_plugins = ["lptrig.pytest_plugin"]

BASE = 0x378
ECP = BASE + 0x400


# -- the session seed ------------------------------------------------------
#
# Every random choice a test makes (data, switch instants, stress seeds)
# comes from one seed per session, so that a failing run can be repeated.
# The xdist controller draws it once (pytest_configure runs there before the
# workers start) and hands it to the workers in LPTRIG_SEED, which they
# inherit: all workers of a run share it.

SEED_ENV = "LPTRIG_SEED"
#: the migration tests' old name for the seed, still honoured
SEED_ENV_ALIASES = ("LPTRIG_MIGRATION_SEED",)
_SEED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("lptrig").addoption(
        "--lptrig-seed", metavar="N", default=None,
        help=f"the seed of every random choice of the tests (default: ${SEED_ENV}, "
             "else drawn once per session; the report header shows it)")


def _parse_seed(text: str, where: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise pytest.UsageError(f"{where}: {text!r} is not a seed (a number)") from None
    if seed < 0:
        raise pytest.UsageError(f"{where}: {seed} is not a seed (0 or more)")
    return seed


def session_seed(config: pytest.Config) -> int:
    """``--lptrig-seed``, else $LPTRIG_SEED (an xdist worker: its
    controller's), else a new one."""
    option: Optional[str] = config.getoption("lptrig_seed")
    if option is not None:
        return _parse_seed(option, "--lptrig-seed")
    for name in (SEED_ENV,) + SEED_ENV_ALIASES:
        if os.environ.get(name):
            return _parse_seed(os.environ[name], name)
    return random.SystemRandom().randrange(1 << 32)


@pytest.fixture(scope="session")
def lptrig_seed(pytestconfig: pytest.Config) -> int:
    """The session's seed: derive every random choice from it
    (``random.Random(f"{lptrig_seed}/what")``) and show it in failure
    messages; ``--lptrig-seed N`` repeats a run."""
    return pytestconfig.stash[_SEED]


def seed_note(seed: int) -> str:
    return f"seed {seed} (--lptrig-seed {seed} repeats it)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo) -> Iterator[None]:
    """A failing test that drew from the seed names it in its report, and
    what it noted in ``item._lptrig_runs`` (QEMUs it started itself, where
    it was: tests/guest/test_migration_linux.py)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "lptrig_seed" in getattr(item, "fixturenames", ()):
        report.sections.append(("lptrig seed", seed_note(item.config.stash[_SEED])))
    if report.failed:
        for describe in getattr(item, "_lptrig_runs", []):
            report.sections.append(("lptrig", describe()))


def pytest_report_header(config: pytest.Config) -> List[str]:
    lines = [f"lptrig: accel={accel.choose()}, "
             f"cache={os.environ.get('LPTRIG_CACHE', '~/.cache/lptrig')}",
             f"lptrig: {seed_note(config.stash[_SEED])}"]
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
    config.stash[_SEED] = seed = session_seed(config)
    os.environ[SEED_ENV] = str(seed)    # xdist workers, started later, inherit it
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


@pytest.fixture(autouse=True)
def _result_dir(lptrig_result_dir: Path) -> Path:
    """Every lptrig test has a result directory (its JUnit ``lptrig_logs``),
    also those that start no QEMU through the plugin's fixtures."""
    return lptrig_result_dir


@pytest.fixture
def qt(make_qtest: Callable[..., QTest]) -> QTest:
    """The default chain (a printer at the end) under qtest."""
    return make_qtest()


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


# -- the order the tests run in -----------------------------------------------
#
# pytest-xdist hands tests to the workers in collection order: the tests that
# boot guests (seconds each, some half a minute) go first and the qtest and
# CLI tests (tenths of a second) fill the end, so no worker sits idle behind
# one long test at the end of the run.  The order is otherwise kept.

def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("guest") is None)
