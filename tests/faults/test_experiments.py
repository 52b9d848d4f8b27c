"""`lptrig experiment`: the shipped experiments pass and leave what they
promise; a malformed file gives one error naming the file and line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
SHIPPED = sorted((TOP / "experiments").glob("*.toml"))


def lptrig(*args: str, tmpdir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(TOP / "harness"), TMPDIR=str(tmpdir))
    return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.guest
def test_shipped_experiments_pass(tmp_path: Path) -> None:
    assert len(SHIPPED) >= 3
    out = tmp_path / "results"
    result = lptrig("experiment", *map(str, SHIPPED), "--out", str(out), tmpdir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in SHIPPED:
        run = out / path.stem
        data = json.loads((run / "result.json").read_text())
        assert data["passed"] is True and data["checks"]
        assert all(check["ok"] for check in data["checks"])
        table = (run / "table.txt").read_text()
        assert table.splitlines()[0].endswith(")") and "PASS" in table.splitlines()[0]
        assert table in result.stdout
        for name in ("console.log", "qemu.log", "cable.vcd"):
            assert (run / name).stat().st_size > 0, name
        assert list(run.glob("*@*.bin"))


BAD = [
    ("name = 'x'\nchain = \n", "not valid TOML", "line 2"),
    ("name = 'x'\nchain = 'printer@end'\ncolour = 'red'\n[[steps]]\nrun = 'true'\n",
     "unknown key 'colour'", ":3:"),
    ("name = 'x'\nchain = 'printer@9'\n[[steps]]\nrun = 'true'\n", "bad address", ":2:"),
    ("name = 'x'\nchain = 'printer@end'\nfaults = ['printer@end:zap=1']\n"
     "[[steps]]\nrun = 'true'\n", "unknown knob 'zap'", ":3:"),
    ("name = 'x'\nchain = 'printer@end'\n", "at least one [[steps]]", ""),
    ("name = 'x'\nchain = 'printer@end'\n[[steps]]\nrun = 'true'\nwait = 1\n",
     "one of run, set, wait", ":5:"),
    ("name = 'x'\nchain = 'printer@end'\n[[steps]]\nset = 'printer@end:drop=x'\n",
     "drop takes", ":4:"),
    ("name = 'x'\nchain = 'printer@end'\n[[steps]]\nrun = 'true'\n[expect]\n"
     "outputs = { 'printer@0' = 'text:x' }\n", "'printer@0' is not on the chain", ":6:"),
]


@pytest.mark.parametrize("text,message,where", BAD, ids=[b[1] for b in BAD])
def test_malformed_experiment_is_one_error(tmp_path: Path, text: str, message: str,
                                           where: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    # a good file next to it: nothing at all starts
    result = lptrig("experiment", str(SHIPPED[0]), str(bad), tmpdir=tmpdir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and message in lines[0] and where in lines[0], lines[0]
    assert not any(tmpdir.iterdir())


def test_missing_file_and_bad_jobs(tmp_path: Path) -> None:
    result = lptrig("experiment", str(tmp_path / "none.toml"), tmpdir=tmp_path)
    assert result.returncode == 2 and "cannot read it" in result.stderr
    result = lptrig("experiment", str(SHIPPED[0]), "--jobs", "0", tmpdir=tmp_path)
    assert result.returncode == 2 and "--jobs 0" in result.stderr
