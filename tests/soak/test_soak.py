"""Soak: the guest driver under a long stress run, host faults, and trinity.

``lptctl stress`` runs 16 processes against a chain of three printers and a
loopback for LPTRIG_SOAK_SECONDS (60 s in ``make test``; ``make soak`` runs
600 s on the debug kernel) while the host switches printer faults on and off
through QMP.  Then: no overlapping holds (FIFO order), no unexpected
errno, every record whole and on the printers exactly once, and every byte
the guest counted in the printers' files.

The guest image is whatever LPTRIG_IMAGE names (``make test DEBUG=1`` and
``make soak``: the debug kernel).  On the debug kernel the test also asks
kmemleak for a scan and wants it empty; lockdep, KASAN, KFENCE, UBSAN and
the hung-task detector report on the console, which the make_machine
fixture checks (BUG:, WARNING:, UBSAN:, "blocked for more than").

The trinity test gives Debian's trinity (the host's binary and the C
library it links, added to the initramfs) the driver's nodes as victims for
ioctl, read and write with random arguments; then the module must unload.
"""

import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from lptrig import paths, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

SPEC = "printer@0,loopback@1,printer@2,printer@end"
PRINTERS = {"0": "printer@0", "2": "printer@2", "4": "printer@end"}
#: the printer knobs the host switches: (knob, on value, off value)
FAULTS: List[Tuple[str, object, object]] = [
    ("offline", True, False), ("paper-out", True, False), ("fault", True, False),
    ("busy-stall", 3000, 0),
]
SECONDS = int(os.environ.get("LPTRIG_SOAK_SECONDS", "60"))
TRINITY_SECONDS = int(os.environ.get("LPTRIG_TRINITY_SECONDS", "60"))


def debug_image() -> bool:
    return paths.default_image_name() == "debug"


def sh(vm: Machine, cmd: str, timeout: float = 120) -> str:
    return vm.console.check(cmd, timeout).strip()


def kmemleak(vm: Machine) -> str:
    """The debug kernel's kmemleak report after two scans ('' when clean)."""
    sh(vm, "mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug")
    # A scan reports only objects unreferenced for two scans in a row.
    for _ in range(2):
        sh(vm, "echo scan > /sys/kernel/debug/kmemleak", timeout=300)
    return sh(vm, "cat /sys/kernel/debug/kmemleak", timeout=120)


def test_stress_with_host_faults(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(Chain.parse(SPEC), modules="lpt1284", memory_mb=512)
    mon = vm.qmp()
    seed = random.randrange(1 << 32)
    rng = random.Random(seed)
    vm.console.send(f"lptctl stress -P 16 -s {SECONDS} -r {seed} -L 1 -F 0 2 4 "
                    "> /root/stress.out 2>&1; echo \"stress rc=$?\"\n")
    # The host switches faults for the whole run: each on for 20-300 ms.
    switched: Dict[str, int] = {}
    deadline = time.monotonic() + SECONDS - 2
    while time.monotonic() < deadline:
        printer = f"/machine/peripheral/printer-{rng.choice(['0', '2', 'end'])}"
        knob, on, off = rng.choice(FAULTS)
        qmp.qom_set(mon, printer, knob, on)
        time.sleep(rng.uniform(0.02, 0.3))
        qmp.qom_set(mon, printer, knob, off)
        switched[knob] = switched.get(knob, 0) + 1
        time.sleep(rng.uniform(0.05, 0.5))
    match = vm.console.expect(r"stress rc=(\d+)", SECONDS + 300)
    out = sh(vm, "cat /root/stress.out")
    assert match.group(1) == "0", f"seed {seed}:\n{out}"
    lines = out.splitlines()
    summary = re.fullmatch(r"ops (\d+) violations (\d+) bytes (\d+)", lines[-1])
    assert summary, out
    assert summary.group(2) == "0", out                       # FIFO order held
    outcomes = dict(re.findall(r"(\w+) (\d+)", next(
        line for line in lines if line.startswith("outcomes"))))
    assert outcomes["errors"] == "0", out
    assert int(outcomes["loops"]) > 0, out                     # loopback round trips
    assert int(outcomes["faulted"]) > 0, out                   # the faults bit
    assert int(outcomes["holds"]) > 100, out
    assert sum(switched.values()) > 5, switched
    # Every byte the guest wrote is in the printers' files, as whole records,
    # each child's sequence numbers on the printers exactly once.
    reported = {m.group(1): (int(m.group(2)), int(m.group(3)))
                for m in map(re.compile(r"device (\d) records (\d+) bytes (\d+)").fullmatch,
                             lines) if m}
    files = {name: path.read_bytes() if path.exists() else b""
             for name, path in vm.chain.output_files(vm.rundir).items()}
    seqs: Dict[str, List[int]] = {}
    for dev, name in PRINTERS.items():
        records = files[name].decode().splitlines(keepends=True)
        for record in records:
            rec = re.fullmatch(r"lptctl stress (\d+) (\d+)\n", record)
            assert rec, (name, record)
            seqs.setdefault(rec.group(1), []).append(int(rec.group(2)))
        assert reported[dev] == (len(records), len(files[name])), (dev, out)
    for pid, numbers in seqs.items():
        assert sorted(numbers) == list(range(len(numbers))), pid
    assert sum(len(files[n]) for n in PRINTERS.values()) == int(summary.group(3))
    if debug_image():
        assert kmemleak(vm) == ""
    else:
        assert sh(vm, "[ -e /sys/kernel/debug/kmemleak ] || echo none") == "none"
    sh(vm, "rmmod lpt1284 && ! grep -q lpt1284 /proc/modules")
    print(f"\nsoak: {SECONDS} s, seed {seed}, {out.splitlines()[-2]}\n"
          f"soak: {lines[-1]}; host fault switches {switched}")


def _trinity_files() -> List[Tuple[Path, str]]:
    """Debian's trinity and what it links, to be added to the initramfs."""
    trinity = shutil.which("trinity") or "/usr/bin/trinity"
    out = subprocess.run(["ldd", trinity], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"(/\S+)", out)
    return [(Path(trinity), "/usr/bin/trinity")] + \
        [(Path(os.path.realpath(lib)), lib) for lib in libs]


def test_trinity_on_the_driver_nodes(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(Chain.parse(SPEC), modules="lpt1284", memory_mb=512,
                      add_files=_trinity_files())
    assert sh(vm, "ls /dev/lpt0*").split() == ["/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1",
                                               "/dev/lpt0.2", "/dev/lpt0.4"]
    seed = random.randrange(1 << 31)
    # Only our nodes as file descriptors (-V); ioctl, read and write only,
    # for TRINITY_SECONDS, then SIGINT: trinity's children stop, also those
    # waiting in an ALLOCATE or LOCK without a time-out (EINTR).
    out = vm.console.run(
        "mkdir -p /tmp/victims && for n in /dev/lpt0*; do ln -sf $n /tmp/victims/; done; "
        f"cd /tmp && timeout -s INT {TRINITY_SECONDS} trinity --dangerous -l off -C 4 "
        f"-s {seed} -V /tmp/victims --stats "
        "--disable-fds=sockets,pipes,perf,epoll,eventfd,pseudo,timerfd,testfile,memfd,drm "
        "-c ioctl -c read -c write > /tmp/trinity.log 2>&1; echo \"trinity rc=$?\"; "
        "grep -E '^\\[main\\] Ran|^(read|write|ioctl):|^    [A-Z]' /tmp/trinity.log",
        timeout=TRINITY_SECONDS + 300).output
    assert "trinity rc=" in out, out
    ran = re.search(r"Ran (\d+) syscalls", out)
    assert ran and int(ran.group(1)) > 100, out
    # No child left behind in the driver (SIGINT ended every wait).
    sh(vm, "i=0; while pidof trinity >/dev/null && [ $i -lt 100 ]; do sleep 0.1; "
           "i=$((i+1)); done; ! pidof trinity")
    # The driver still works and unloads cleanly.
    sh(vm, "echo after > /root/a; lptctl write 4 /root/a")
    assert (vm.rundir / "printer@end.bin").read_bytes().endswith(b"after\n")
    if debug_image():
        assert kmemleak(vm) == ""
    sh(vm, "rmmod lpt1284 && ! grep -q lpt1284 /proc/modules")
    print(f"\ntrinity: seed {seed}, {TRINITY_SECONDS} s:\n{out}")
