"""``Console.run`` and ``lptrig run -- CMD`` give exactly what the command
printed and its exit status, also for commands of several lines: no shell
prompt (PS1 ``lptrig# `` or PS2 ``> ``) in the output."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

HARNESS = Path(__file__).resolve().parents[2] / "harness"

#: (command, its exact output, its exit status)
CASES: List[Tuple[str, str, int]] = [
    ("echo one\necho two", "one\ntwo\n", 0),
    ("echo one\nif true; then\n  echo two\nfi", "one\ntwo\n", 0),
    ("echo one\nif true; then\n  echo two\nfi\nfalse", "one\ntwo\n", 1),
    ("cat <<EOF\none\ntwo\nEOF", "one\ntwo\n", 0),
    ("cat <<'EOF'\n$HOME\nEOF\necho it\\'s  # a comment", "$HOME\nit's\n", 0),
    ("echo single", "single\n", 0),
    ("printf 'no newline'", "no newline", 0),
    ("printf 'lptrig# x\\n'; exit_code=7\n(exit $exit_code)", "lptrig# x\n", 7),
    ("", "", 0),
]


def test_console_run(make_machine: Callable[..., Machine]) -> None:
    console = make_machine(Chain.parse("printer@end")).console
    for cmd, output, status in CASES:
        result = console.run(cmd)
        assert (result.output, result.status) == (output, status), cmd
    # a syntax error is the command's status 2; the shell keeps going
    result = console.run("if true\necho x")
    assert result.status == 2 and "syntax error" in result.output
    # the shell state carries over from one command to the next
    assert console.run("cd /proc\nx=5").status == 0
    assert console.run("echo $x\npwd").output == "5\n/proc\n"


@pytest.mark.parametrize("cmd,output,status", [CASES[i] for i in (0, 2, 3, 5, 6)],
                         ids=["two-lines", "if-then-fi-false", "here-doc", "one-line",
                              "no-newline"])
def test_cli_run(cmd: str, output: str, status: int, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    result = subprocess.run([sys.executable, "-m", "lptrig", "run", "--out",
                             str(tmp_path / "out"), "--", cmd], env=env,
                            capture_output=True, text=True, timeout=600)
    assert (result.stdout, result.returncode) == (output, status), result.stderr
