"""A Python process that dies takes its QEMUs with it: a killed test runner
or a SIGKILL'd ``lptrig run`` leaves no QEMU spinning (lptrig.proc:
PR_SET_PDEATHSIG)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"

pytestmark = pytest.mark.guest


def _children(pid: int, name: str) -> List[int]:
    """The processes whose parent is ``pid`` and whose command is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and comm.startswith(name):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _wait_for(what: str, check, timeout: float) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def _kill_and_check(proc: "subprocess.Popen[bytes]", qemu: int) -> None:
    assert _alive(qemu)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    _wait_for(f"QEMU {qemu} to end with its parent", lambda: not _alive(qemu), 30)


def _qemu_of(proc: "subprocess.Popen[bytes]", ready: Optional[Path] = None) -> int:
    def find() -> Optional[int]:
        if proc.poll() is not None:
            raise AssertionError(f"the Python process exited with {proc.returncode}")
        if ready is not None and "ready" not in (ready.read_text() if ready.exists() else ""):
            return None
        qemus = _children(proc.pid, "qemu-system")
        return qemus[0] if qemus else None
    return int(_wait_for("its QEMU", find, 300))  # type: ignore[arg-type]


def test_a_killed_lptrig_run_takes_its_qemu_with_it(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    with subprocess.Popen([sys.executable, "-m", "lptrig", "run", "--out", str(tmp_path),
                           "--", "sleep 600"], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL) as proc:
        qemu = _qemu_of(proc, tmp_path / "console.log")
        _kill_and_check(proc, qemu)


def test_a_killed_test_runner_takes_its_qemus_with_it(tmp_path: Path) -> None:
    """A process with a booted guest and a QEMU under qtest, as a test
    worker has, killed with SIGKILL."""
    script = tmp_path / "runner.py"
    script.write_text(
        "import sys, time\n"
        "from lptrig.machine import Machine\n"
        "from lptrig.qtest import QTest\n"
        "from lptrig.chain import Chain\n"
        f"qt = QTest({str(tmp_path / 'qt')!r}, Chain.parse('printer@end'))\n"
        "qt.start()\n"
        f"vm = Machine({str(tmp_path / 'vm')!r}, Chain.parse('printer@end'))\n"
        "vm.start()\n"
        "vm.wait_ready()\n"
        f"open({str(tmp_path / 'up')!r}, 'w').write('ready')\n"
        "time.sleep(600)\n")
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    with subprocess.Popen([sys.executable, str(script)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        _qemu_of(proc, tmp_path / "up")
        qemus = _children(proc.pid, "qemu-system")
        assert len(qemus) == 2, qemus
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        for qemu in qemus:
            _wait_for(f"QEMU {qemu} to end with its parent", lambda q=qemu: not _alive(q), 30)
