"""Snapshot boot (lptrig.snapshot): a restored guest is the guest a boot
gives, only sooner.

Each test uses a configuration of its own (an unknown kernel parameter
``lptrig.t=<random>`` on the command line), so the first boot in it is
cold and saves the snapshot, and the next restores it, whatever other
tests and runs left in the cache.  ``snapshot=True`` is passed explicitly:
the tests hold also under ``--lptrig-cold-boot``.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest

from lptrig import paths, snapshot
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

SPEC = "printer@0,loopback@1,printer@end"


#: the kernel parameter that makes these tests' configurations their own
TAG = "lptrig.t"


@pytest.fixture
def config() -> Iterator[Dict[str, object]]:
    """Machine arguments of a configuration no other test uses.  Its
    snapshots are of no use later: they are removed after the test, so they
    take no room from the suite's (LPTRIG_SNAPSHOT_MAX)."""
    tag = f"{TAG}={secrets.token_hex(6)}"
    yield {"extra_append": tag, "snapshot": True}
    for meta in snapshot.root().glob("*/meta.json"):
        try:
            argv = json.loads(meta.read_text())["material"]["argv"]
        except (OSError, ValueError, KeyError):
            continue
        if any(arg.endswith(f" {tag}") for arg in argv):
            shutil.rmtree(meta.parent, ignore_errors=True)


def sh(vm: Machine, cmd: str) -> str:
    return vm.console.check(cmd, timeout=60)


def test_a_restored_guest_is_the_booted_guest(make_machine: Callable[..., Machine],
                                               config: Dict[str, object]) -> None:
    booted = make_machine(Chain.parse(SPEC), **config)
    assert not booted.restored and "saved snapshot" in booted.boot_note, booted.boot_note
    restored = make_machine(Chain.parse(SPEC), **config)
    assert restored.restored, restored.boot_note
    # the same kernel state as the boot gave: modules, Linux's view of the
    # port and of the daisy chain, the command line, the device nodes
    for cmd in ("lsmod", "cat /proc/cmdline", "ls -l /dev/lp* /dev/parport*",
                "grep -r . /proc/sys/dev/parport | sort", "uname -a"):
        assert sh(restored, cmd) == sh(booted, cmd), cmd
    # the run's own logs start with the boot it skipped
    assert "lptrig: ready" in restored.console_log.read_text()
    # the output files are this run's: exactly what is printed from now on
    for n, vm in enumerate((booted, restored)):
        assert {p.read_bytes() for p in vm.chain.output_files(vm.rundir).values()} == {b""}
        sh(vm, f"printf 'page {n}\\n' > /dev/lp0")
        assert (vm.rundir / "printer@end.bin").read_bytes() == f"page {n}\n".encode()
        assert (vm.rundir / "printer@0.bin").read_bytes() == b""


def test_the_clock_moves_on(make_machine: Callable[..., Machine],
                            config: Dict[str, object]) -> None:
    make_machine(Chain.parse(SPEC), **config).shutdown()
    before = time.time()
    vm = make_machine(Chain.parse(SPEC), **config)
    after = time.time()
    assert vm.restored
    # the wall clock is the host's, as a boot reads it from the RTC
    epoch = int(sh(vm, "date +%s"))
    assert int(before) - 1 <= epoch <= after + 60
    # and the guest's own clock runs: time passes between two commands
    first = float(sh(vm, "cut -d' ' -f1 /proc/uptime"))
    sh(vm, "sleep 0.2")
    assert float(sh(vm, "cut -d' ' -f1 /proc/uptime")) >= first + 0.2


def test_two_restores_of_one_snapshot_are_independent(
        make_machine: Callable[..., Machine], config: Dict[str, object]) -> None:
    make_machine(Chain.parse(SPEC), **config).shutdown()
    a = make_machine(Chain.parse(SPEC), **config)
    b = make_machine(Chain.parse(SPEC), **config)         # both run at once
    assert a.restored and b.restored
    sh(a, "echo from-a > /dev/lp0; touch /root/only-a")
    sh(b, "echo from-b > /dev/lp0")
    assert (a.rundir / "printer@end.bin").read_bytes() == b"from-a\n"
    assert (b.rundir / "printer@end.bin").read_bytes() == b"from-b\n"
    assert b.console.run("ls /root/only-a").status != 0
    # their random numbers differ (VM generation ID: the kernel reseeds)
    assert sh(a, "cat /proc/sys/kernel/random/uuid") != sh(b, "cat /proc/sys/kernel/random/uuid")
    assert a.console.run("(exit 3)").status == 3 and b.console.run("true").status == 0


def test_a_changed_input_boots_cold(make_machine: Callable[..., Machine],
                                    config: Dict[str, object], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_machine(Chain.parse(SPEC), **config).shutdown()
    assert make_machine(Chain.parse(SPEC), **config).restored
    # another memory size, another chain
    assert not make_machine(Chain.parse(SPEC), memory_mb=320, **config).restored
    assert not make_machine(Chain.parse("printer@0,printer@end"), **config).restored
    # a rebuilt QEMU (here: one byte more) never loads an old snapshot
    qemu = tmp_path / "qemu-system-x86_64"
    shutil.copyfile(paths.qemu_binary(), qemu)
    with open(qemu, "ab") as f:
        f.write(b"\0")
    os.chmod(qemu, 0o755)
    monkeypatch.setenv("LPTRIG_QEMU", str(qemu))
    vm = make_machine(Chain.parse(SPEC), **config)
    assert not vm.restored and vm.qemu == qemu, vm.boot_note


def test_a_snapshot_that_does_not_load_is_deleted_and_the_guest_boots_cold(
        make_machine: Callable[..., Machine], config: Dict[str, object],
        capfd: pytest.CaptureFixture[str]) -> None:
    first = make_machine(Chain.parse(SPEC), **config)
    snap = first._snapshot      # pylint: disable=protected-access
    assert snap is not None and snap.exists()
    data = snap.state.read_bytes()
    snap.state.write_bytes(data[:len(data) // 2])            # a damaged stream
    capfd.readouterr()
    vm = make_machine(Chain.parse(SPEC), **config)
    assert not vm.restored and "did not load" in vm.boot_note, vm.boot_note
    assert re.search(r"snapshot \w+ did not load .*deleted it, booting cold",
                     capfd.readouterr().err)
    assert sh(vm, "echo works") == "works\n"
    # the cold boot saved a good one again
    assert snap.exists()
    assert make_machine(Chain.parse(SPEC), **config).restored


def test_snapshots_off(make_machine: Callable[..., Machine], config: Dict[str, object],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(snapshot.ENV, "0")
    config = {k: v for k, v in config.items() if k != "snapshot"}
    for _ in range(2):
        vm = make_machine(Chain.parse(SPEC), **config)
        assert not vm.restored and "snapshots off" in vm.boot_note
    assert vm._snapshot is None     # pylint: disable=protected-access


def test_added_files_are_there_after_a_restore(make_machine: Callable[..., Machine],
                                               config: Dict[str, object],
                                               tmp_path: Path) -> None:
    """Small files are copied in after the restore (one snapshot for all of
    them), big ones are in the initramfs and the key; both arrive exact."""
    small = tmp_path / "tool.sh"
    small.write_text("#!/bin/sh\necho tool ran\n")
    small.chmod(0o755)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(64 << 10))
    runs = []
    for files in ([(small, "/usr/bin/lptrig-tool")], [(small, "/usr/bin/lptrig-tool")],
                  [(small, "/usr/bin/lptrig-tool"), (big, "/root/big.bin")],
                  [(small, "/usr/bin/lptrig-tool"), (big, "/root/big.bin")]):
        vm = make_machine(Chain.parse(SPEC), add_files=files, **config)
        runs.append(vm.restored)
        assert sh(vm, "lptrig-tool") == "tool ran\n"
        assert sh(vm, "stat -c %a /usr/bin/lptrig-tool") == "755\n"
        if len(files) == 2:
            assert sh(vm, "md5sum < /root/big.bin").split()[0] == \
                hashlib.md5(big.read_bytes()).hexdigest()
    # the small file did not change the snapshot; the big one made its own
    assert runs == [False, True, False, True]
