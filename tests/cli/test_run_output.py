"""``Console.run`` and ``lptrig run -- CMD`` give exactly what the command
printed and its exit status, also for commands of several lines: no shell
prompt (PS1 ``lptrig# `` or PS2 ``> ``) in the output; commands of any
length (long ones are not typed into busybox's 1 KiB line editor); the
kernel-problem check reads the kernel's log, not what commands print."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Tuple

import pytest

from lptrig.chain import Chain
from lptrig.console import Result
from lptrig.errors import GuestError
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


def _long_command(size: int) -> Tuple[str, str]:
    """A command of about ``size`` bytes, and its exact output."""
    word = "lptrig" * (size // 6)
    return f"x='{word}'\necho ${{#x}}\n(exit 5)", f"{len(word)}\n"


def _here_doc(size: int) -> Tuple[str, str]:
    """A here-document of about ``size`` bytes fed to sha256sum, and its output."""
    lines = "".join(f"line {i:06d} of the here-document\n" for i in range(size // 32))
    digest = hashlib.sha256(lines.encode()).hexdigest()
    return f"sha256sum <<'EOF'\n{lines}EOF", f"{digest}  -\n"


def test_console_runs_commands_of_any_length(make_machine: Callable[..., Machine]) -> None:
    """Busybox's line editor takes 1 KiB a line: longer commands go another
    way, with the same framing, output and status as short ones."""
    console = make_machine(Chain.parse("printer@end")).console
    for size in (900, 2000, 64 << 10, 200 << 10):
        cmd, output = _long_command(size)
        assert len(cmd) >= size
        result = console.run(cmd)
        assert (result.output, result.status) == (output, 5), size
    cmd, output = _here_doc(64 << 10)
    assert console.run(cmd) == Result(0, output)
    # the shell state carries over, and short commands still work
    assert console.run("echo ${#x}").output == f"{(200 << 10) // 6 * 6}\n"
    assert console.run("ls /tmp/.lptrig-* 2>/dev/null | wc -l").output == "0\n"
    # upload: the exact bytes, every value, into a file
    blob = bytes(range(256)) * 300
    console.upload(blob, "/root/blob.bin")
    assert console.run("sha256sum < /root/blob.bin").output == \
        f"{hashlib.sha256(blob).hexdigest()}  -\n"


def test_cli_runs_a_64k_command(tmp_path: Path) -> None:
    cmd, output = _here_doc(64 << 10)
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    result = subprocess.run([sys.executable, "-m", "lptrig", "run", "--out",
                             str(tmp_path / "out"), "--", cmd], env=env,
                            capture_output=True, text=True, timeout=600)
    assert (result.stdout, result.returncode) == (output, 0), result.stderr


def test_kernel_words_in_a_command_are_not_a_kernel_problem(tmp_path: Path) -> None:
    """The check reads the kernel's own log (kernel.log, the second serial
    port): a command that mentions BUG/Oops/WARNING, or prints a line in the
    kernel's format, is not a kernel problem."""
    fake = "[    1.000000] WARNING: CPU: 0 PID: 1 at fake.c:1 (printed by a command)"
    cmd = f"dmesg | grep -E 'BUG|Oops|WARNING'; echo '{fake}'; echo 'BUG: Oops'"
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    result = subprocess.run([sys.executable, "-m", "lptrig", "run", "--out",
                             str(tmp_path / "out"), "--", cmd], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [fake, "BUG: Oops"]
    assert "kernel reports a problem" not in result.stderr
    klog = (tmp_path / "out" / "kernel.log").read_text()
    assert "Linux version" not in klog and fake not in klog      # loglevel 5, no echo
    assert "lptrig# " not in klog


def test_a_kernel_panic_fails_the_run(make_machine: Callable[..., Machine]) -> None:
    """A real kernel problem is still found: SysRq-c panics the guest."""
    vm = make_machine(Chain.parse("printer@end"), snapshot=False)
    with pytest.raises(GuestError):         # the console closes: QEMU ends (panic=-1)
        vm.console.run("echo c > /proc/sysrq-trigger", timeout=120)
    vm.shutdown()
    with pytest.raises(GuestError, match="Kernel panic - not syncing: sysrq triggered crash"):
        vm.check_console()
    # what the check read: the kernel's log, not the shell's echo of the command
    assert "sysrq-trigger" not in vm.kernel_log.read_text()
    vm.kernel_log.write_text("")            # the fixture's check would fail the test
