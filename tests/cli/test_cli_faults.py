"""--fault and --vcd of `lptrig run`: bad input, and a run with both."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def lptrig(*args: str, tmpdir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(HARNESS), TMPDIR=str(tmpdir))
    return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args,message", [
    (["--fault", "printer@end"], "KIND@ADDR:KNOB=VALUE"),
    (["--fault", "printer@end:zap=1"], "unknown knob 'zap'"),
    (["--fault", "printer@end:drop=-1"], "drop takes"),
    (["--fault", "printer@end:paper-out=maybe"], "paper-out takes on|off"),
    (["--fault", "printer@end:busy-stall=-2"], "busy-stall takes"),
    (["--fault", "printer@2:drop=1"], "no such peripheral"),
    (["--stock", "--fault", "printer@end:drop=1"], "not the stock port"),
    (["--vcd", "/nonexistent/dir/x.vcd"], "existing directory"),
    (["--stock", "--vcd", "x.vcd"], "not the stock port"),
])
def test_bad_fault_and_vcd_flags(args: List[str], message: str, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = lptrig("run", *args, "--", "true", tmpdir=tmpdir)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not any(tmpdir.iterdir())


@pytest.mark.guest
def test_run_with_a_fault_and_a_cable_trace(tmp_path: Path) -> None:
    out, vcd = tmp_path / "out", tmp_path / "cable.vcd"
    result = lptrig("run", "--chain", "printer@end", "--fault", "printer@end:drop=2",
                    "--vcd", str(vcd), "--out", str(out), "--",
                    "printf abcdefgh > /dev/lp0", tmpdir=tmp_path)
    assert result.returncode == 0, result.stderr
    # every 2nd byte lost in the printer, all of them on the cable
    assert (out / "printer@end.bin").read_bytes() == b"aceg"
    sigrok = shutil.which("sigrok-cli")
    assert sigrok, "sigrok-cli is missing: run make deps"
    dec = subprocess.run(["stdbuf", "-oL", sigrok, "-I", "vcd:compress=10000", "-i", str(vcd), "-P",
                          "parallel:clk=nStrobe:" + ":".join(f"d{i}=D{i}" for i in range(8)),
                          "-A", "parallel=items"], capture_output=True, text=True,
                         timeout=120, check=False)
    wire = bytes(int(line.split(":")[1], 16) for line in dec.stdout.splitlines()
                 if line.startswith("parallel-1:"))
    # sigrok reports each byte at the next strobe: the last one is pending
    assert wire.endswith(b"abcdefg")
    assert "lptrig: vcd:" in result.stderr
