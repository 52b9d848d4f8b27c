"""lptrig's pytest plugin (harness/lptrig/pytest_plugin.py) as other projects use it.

The example project (examples/label-printer) runs from a copy outside the
checkout with ``-p lptrig.pytest_plugin``: its tests pass, and its
deliberately failing test keeps its result directory and names it.  It also
runs with lptrig pip-installed (editable, offline) into a venv, with no
``-p`` and no PYTHONPATH, and there lptrig's own suite, whose conftest.py
names the plugin too, still loads it once; the venv's ``lptrig`` command
works.  The
shards of ``--lptrig-shard I/N`` partition lptrig's own suite, their JUnit
XML merges (scripts/junit-merge.py, Debian's junitparser) into exactly a
full run's tests, and bad shard specs get one clear error.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Sequence, Set, Tuple

import pytest
from junitparser import JUnitXml
from junitparser import TestCase as JUnitCase

from lptrig.pytest_plugin import LOGS_PROPERTY, RESULTS_ENV

TOP = Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"


def pytest_run(args: Sequence[str], cwd: Path,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """A separate pytest with lptrig's harness on the path, as a user runs it."""
    env = {k: v for k, v in os.environ.items()
           if k not in (RESULTS_ENV, "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(TOP / "harness")
    return subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def junit_cases(path: Path) -> Dict[str, Dict[str, str]]:
    """test id -> its properties, from a JUnit XML file (junitparser)."""
    cases: Dict[str, Dict[str, str]] = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite.iterchildren(JUnitCase):
            props = {p.get("name"): p.get("value") for p in case._elem.iter("property")}
            cases[f"{case.classname}::{case.name}"] = props
    return cases


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example project outside the checkout."""
    project = tmp_path / "label-printer"
    shutil.copytree(TOP / "examples" / "label-printer", project)
    assert not project.resolve().is_relative_to(TOP)
    return project


@pytest.mark.guest
def test_the_example_project_passes_with_the_plugin(example: Path, tmp_path: Path) -> None:
    results, junit = tmp_path / "results", tmp_path / "example.xml"
    run = pytest_run(["-p", "lptrig.pytest_plugin", "-rA", f"--lptrig-results={results}",
                      f"--junitxml={junit}"], example)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"\b5 passed, 1 deselected\b", run.stdout), run.stdout
    # passing tests leave nothing behind
    assert not results.exists() or not any(results.iterdir())
    cases = junit_cases(junit)
    assert len(cases) == 5
    for name, props in cases.items():
        logs = Path(props[LOGS_PROPERTY])
        assert logs.parent == results and name.rpartition("::")[2] in logs.name


@pytest.mark.guest
def test_a_failing_example_test_keeps_its_result_directory(example: Path,
                                                            tmp_path: Path) -> None:
    results = tmp_path / "results"
    run = pytest_run(["-p", "lptrig.pytest_plugin", "-m", "demo_failure",
                      f"--lptrig-results={results}"], example)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 5 deselected" in run.stdout
    kept = re.findall(r"^result directory \(kept\): (\S+)$", run.stdout, re.MULTILINE)
    assert len(kept) == 1, run.stdout
    where = Path(kept[0])
    assert where.parent == results and "test_deliberately_failing" in where.name
    assert sorted(p.name for p in where.iterdir()) == ["guest0"]
    guest = where / "guest0"
    assert (guest / "printer@end.bin").read_bytes() == b"LABEL\nparcel 42\n\f"
    assert "lptrig: ready" in (guest / "console.log").read_text()
    assert (guest / "qemu.log").exists()
    assert str(guest / "console.log") in run.stdout     # the console is named too


@pytest.mark.guest
def test_the_example_project_passes_with_lptrig_installed_by_pip(example: Path,
                                                                 tmp_path: Path) -> None:
    venv = tmp_path / "v"
    # no PYTHONPATH, no pip configuration of this machine, and an index that
    # refuses connections: pip must need nothing but Debian's packages
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in (
               RESULTS_ENV, "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple/",
               PIP_DISABLE_PIP_VERSION_CHECK="1")

    def run(*cmd: object, cwd: Path = tmp_path, **extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=dict(env, **extra),
                              capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"{cmd}:\n{done.stdout}{done.stderr}"
        return done

    run(PYTHON, "-m", "venv", "--system-site-packages", venv)
    run(venv / "bin" / "pip", "install", "--no-build-isolation", "-e", TOP / "harness")
    assert run(venv / "bin" / "lptrig", "--help").stdout.startswith("usage: lptrig ")
    # the example project: the plugin comes from its entry point alone
    results = tmp_path / "results"
    tests = run(venv / "bin" / "python", "-m", "pytest", "-rA", f"--lptrig-results={results}",
                cwd=example).stdout
    assert re.search(r"^plugins: .*\blptrig-\d", tests, re.MULTILINE), tests
    assert re.search(r"\b5 passed, 1 deselected\b", tests), tests
    # lptrig's own suite names the plugin in tests/conftest.py (and the second
    # run also with -p, from PYTHONPATH, as make test's pytest does): pytest
    # loads it once, no "Plugin already registered"
    for args, extra in (([], {}),
                        (["-p", "lptrig.pytest_plugin"], {"PYTHONPATH": str(TOP / "harness")})):
        listed = run(venv / "bin" / "python", "-m", "pytest", "-p", "no:cacheprovider", *args,
                     "--collect-only", "-q", "tests/cli/test_bad_input.py", cwd=TOP,
                     **extra).stdout
        assert re.search(r"^\d+ tests collected", listed, re.MULTILINE), listed


def collect(args: Sequence[str], cwd: Path = TOP) -> List[str]:
    """The test ids a pytest run with ``args`` would run."""
    run = pytest_run(["-p", "no:xdist", "--collect-only", "-q", *args], cwd, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    assert ids, run.stdout
    return ids


def test_three_shards_partition_the_suite() -> None:
    full = collect(["tests"])
    shards = [collect(["tests", f"--lptrig-shard={i}/3"]) for i in (1, 2, 3)]
    seen: Set[str] = set()
    for shard in shards:
        assert not seen & set(shard)
        seen |= set(shard)
        # a fair split: each slice holds at least a fifth of the suite
        assert len(shard) > len(full) // 5
    assert seen == set(full) and sum(map(len, shards)) == len(full)


def test_a_new_test_moves_no_other_test_to_another_shard(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text(
        "".join(f"def test_{i}(): pass\n" for i in range(40)))

    def slices() -> Dict[str, int]:
        return {test: i for i in (1, 2, 3, 4)
                for test in collect(["-p", "lptrig.pytest_plugin",
                                     f"--lptrig-shard={i}/4"], tmp_path)}

    before = slices()
    (tmp_path / "test_a.py").write_text(
        "def test_new_first(): pass\n" + (tmp_path / "test_a.py").read_text()
        + "".join(f"def test_more_{i}(): pass\n" for i in range(10)))
    (tmp_path / "test_b.py").write_text("def test_other(): pass\n")
    after = slices()
    assert len(before) == 40 and len(after) == 52
    assert {t: after[t] for t in before} == before


def test_merged_shards_are_a_full_run(tmp_path: Path) -> None:
    suite = ["tests/qtest/test_registers.py", "tests/cli/test_bad_input.py"]
    full = tmp_path / "full.xml"
    run = pytest_run(["-q", "-n", "2", f"--junitxml={full}", *suite], TOP)
    assert run.returncode == 0, run.stdout + run.stderr
    parts = []
    for i in (1, 2, 3):
        part = tmp_path / f"shard-{i}.xml"
        run = pytest_run(["-q", "-n", "2", f"--lptrig-shard={i}/3", f"--junitxml={part}",
                          *suite], TOP)
        assert run.returncode in (0, 5), run.stdout + run.stderr
        parts.append(part)
    merged = tmp_path / "merged.xml"
    run = subprocess.run([PYTHON, str(TOP / "scripts" / "junit-merge.py"), str(merged),
                          *map(str, parts)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    want, got = junit_cases(full), junit_cases(merged)
    assert len(want) > 20 and set(got) == set(want)
    assert f"junit-merge: {merged}: {len(want)} tests, 0 failures" in run.stdout
    # every test's result directory is attached, in both
    for cases in (want, got):
        assert all(LOGS_PROPERTY in props for props in cases.values())
    # a shard given twice is refused
    run = subprocess.run([PYTHON, str(TOP / "scripts" / "junit-merge.py"),
                          str(tmp_path / "twice.xml"), str(parts[0]), str(parts[0])],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "in more than one shard" in run.stderr
    assert not (tmp_path / "twice.xml").exists()


CHAIN_PROJECT = '''
import pytest

def test_default(lptrig_chain):
    print("CHAIN", ",".join(p.name for p in lptrig_chain.peripherals))

@pytest.mark.lptrig_chain("loopback@2,printer@end", irq=5)
def test_marked(lptrig_chain):
    print("CHAIN", ",".join(p.name for p in lptrig_chain.peripherals), lptrig_chain.irq)
'''


def test_the_chain_comes_from_the_marker_else_the_option(tmp_path: Path) -> None:
    (tmp_path / "test_chain.py").write_text(CHAIN_PROJECT)

    def chains(*args: str) -> List[str]:
        run = pytest_run(["-p", "lptrig.pytest_plugin", "-s", "-q", *args], tmp_path)
        assert run.returncode == 0, run.stdout + run.stderr
        return re.findall(r"^CHAIN (.*)$", run.stdout.replace(".CHAIN", "\nCHAIN"),
                          re.MULTILINE)

    assert chains() == ["printer@0,loopback@1,printer@end", "loopback@2,printer@end 5"]
    assert chains("--lptrig-chain", "printer@1,printer@end") == [
        "printer@1,printer@end", "loopback@2,printer@end 5"]
    run = pytest_run(["-p", "lptrig.pytest_plugin", "--lptrig-chain", "plotter@0"], tmp_path)
    assert run.returncode == 4
    assert [line for line in run.stderr.splitlines() if line.strip()] == [
        "ERROR: --lptrig-chain: unknown peripheral kind 'plotter' in chain item "
        "'plotter@0' (known: i2c, laplink, loopback, pps, printer)"]


BAD_SHARDS: List[Tuple[str, str]] = [
    ("0/3", "I must be 1 to N"), ("4/3", "I must be 1 to N"), ("1/0", "I must be 1 to N"),
    ("two/3", "write it as I/N"), ("1-3", "write it as I/N"), ("", "write it as I/N")]


@pytest.mark.parametrize("spec,message", BAD_SHARDS)
def test_a_bad_shard_spec_is_one_clear_error(spec: str, message: str) -> None:
    run = pytest_run(["-p", "no:xdist", "--collect-only", "-q",
                      f"--lptrig-shard={spec}", "tests/qtest/test_registers.py"], TOP)
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith(f"ERROR: --lptrig-shard: shard {spec!r}: {message}")


@pytest.mark.parametrize("spec", ["0/3", "3/2", "a/b"])
def test_make_refuses_a_bad_shard_spec(spec: str) -> None:
    run = subprocess.run(["make", "-n", "test", f"SHARD={spec}"], cwd=TOP,
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(
        rf"Makefile:\d+: \*\*\* SHARD={re.escape(spec)}: write it as I/N with "
        r"1 <= I <= N, e.g\. SHARD=2/3\.  Stop\.", lines[0]), run.stderr
