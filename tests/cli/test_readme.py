"""The README's tour, run as written.

The convention: a fenced code block whose info string is ``sh example NAME``
is an example::

    ```sh example print
    python3 -m lptrig run --out out -- 'echo hello > /dev/lp0'
    cat out/printer@end.bin
    ```

(GitHub and other CommonMark renderers take the info string's first word as
the language, so readers see an ordinary ``sh`` block.)  Each example runs
here exactly as written, as one ``bash -e`` script in an empty directory of
its own, the way a reader runs it from the README: with Debian's
``/usr/bin/python3`` as ``python3`` (``/usr/bin`` first on ``PATH``) and
lptrig's ``harness/`` on ``PYTHONPATH`` (the README's ``export
PYTHONPATH=$PWD/harness``).  It must exit 0, and ``CHECKS[NAME]`` checks
what it printed and the files it left.  Every example needs a check and
every check an example.  Blocks without the marker (``make demo``, ``make
test``, the export) are not run.  The examples boot guests (about 3 s each
under TCG).
"""

import os
import re
import subprocess
from pathlib import Path
from typing import Callable, Dict

import pytest

from lptrig.pytest_plugin import RESULTS_ENV

pytestmark = pytest.mark.guest

TOP = Path(__file__).resolve().parents[2]
README = TOP / "README.md"

#: ```sh example NAME ... ``` (the closing fence alone on its line)
EXAMPLE = re.compile(r"^```sh example (\S+)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def readme_examples() -> Dict[str, str]:
    """NAME -> script of every example block in the README."""
    text = README.read_text()
    found: Dict[str, str] = {}
    for match in EXAMPLE.finditer(text):
        name, script = match.groups()
        assert name not in found, f"README: two examples named {name!r}"
        found[name] = script
    marked = len(re.findall(r"^```sh example\b", text, re.MULTILINE))
    assert marked == len(found), "README: a ```sh example block without a NAME"
    return found


def run_example(script: str, where: Path, results: Path) -> subprocess.CompletedProcess:
    """``script`` as a reader runs it, in the empty directory ``where``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")}
    env["PATH"] = "/usr/bin:" + env.get("PATH", "")
    env["PYTHONPATH"] = str(TOP / "harness")
    env["TMPDIR"] = str(where)              # `lptrig run` without --out: its directory here
    env[RESULTS_ENV] = str(results)         # a pytest run's result directories: not the cache
    return subprocess.run(["bash", "-e", "-c", script], cwd=where, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def run_dir(where: Path) -> Path:
    """The one directory `lptrig run` made in TMPDIR (no --out)."""
    dirs = list(where.glob("lptrig-run-*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def check_print(out: str, where: Path) -> None:
    # Linux's daisy.c read daisy printer 0's Device ID; the print went past
    # the daisy devices to the end printer, byte for byte
    assert "MODEL:Virtual Printer;" in out and "MANUFACTURER:lptrig;" in out
    assert (where / "out" / "printer@end.bin").read_bytes() == b"hello\n"
    assert (where / "out" / "printer@0.bin").read_bytes() == b""
    assert out.endswith("hello\n")                          # the `cat`


def check_driver(out: str, where: Path) -> None:
    assert "port /dev/lpt0 base 0x378 " in out and " daisy 2 end 1" in out
    assert "device 0 id MFG:lptrig;MDL:Virtual Printer;" in out
    assert "wrote 19" in out
    assert (where / "drv" / "printer@0.bin").read_bytes() == b"to daisy printer 0\n"
    assert (where / "drv" / "printer@end.bin").read_bytes() == b""
    assert out.endswith("to daisy printer 0\n")


def check_fault(out: str, where: Path) -> None:
    assert "wrote 0" in out
    assert "lptctl: write /dev/lpt0.4: ENOSPC" in out
    assert "lptctl exit status 1" in out
    assert (run_dir(where) / "printer@end.bin").read_bytes() == b""


def check_trace(out: str, where: Path) -> None:
    assert (where / "cable.vcd").read_text().startswith("$")
    items = [line for line in out.splitlines() if line.startswith("parallel-1: ")]
    assert len(items) == 5, out
    assert bytes(int(line.split()[1], 16) for line in items) == b"hello"


def check_pytest(out: str, where: Path) -> None:
    assert re.search(r"^test_hello\.py \.", out, re.MULTILINE), out
    assert re.search(r"\b1 passed\b", out), out


CHECKS: Dict[str, Callable[[str, Path], None]] = {
    "print": check_print,
    "driver": check_driver,
    "fault": check_fault,
    "trace": check_trace,
    "pytest": check_pytest,
}


@pytest.mark.parametrize("name", list(dict.fromkeys([*readme_examples(), *CHECKS])))
def test_a_readme_example_works_as_written(name: str, tmp_path: Path) -> None:
    examples = readme_examples()
    assert name in examples, f"README has no ```sh example {name} block (CHECKS has one)"
    assert name in CHECKS, f"README's example {name!r} has no check in CHECKS"
    where = tmp_path / "reader"
    where.mkdir()
    result = run_example(examples[name], where, tmp_path / "results")
    assert result.returncode == 0, (
        f"exit status {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    try:
        CHECKS[name](result.stdout, where)
    except AssertionError:
        print(f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        raise
