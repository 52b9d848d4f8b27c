"""Soak: the guest driver under a long stress run, host faults, and trinity.

``lptctl stress`` runs 16 processes against a chain of three printers and a
loopback for LPTRIG_SOAK_SECONDS while the host switches printer faults on
and off through QMP.  Then: no overlapping holds (FIFO order), no unexpected
errno, every record whole and on the printers exactly once, and every byte
the guest counted in the printers' files.

How long: ``make test`` (``pytest tests``) runs the short defaults, 10 s of
stress and 10 s of trinity, which prove the same properties; ``make soak``
sets LPTRIG_SOAK_SECONDS and LPTRIG_TRINITY_SECONDS to SOAK_SECONDS (600)
and runs them on the debug kernel.  Nothing asserted depends on how fast
the host is: the faults that must be hit are armed on the printers
themselves (``arm``/``arm-after``: on at a byte the guest is writing), each
stays on until the guest has used the port for something else, and the
counts asserted are lower bounds that any run of a few seconds exceeds.
The fault schedule, the stress seed and trinity's seed come from the
session seed (``--lptrig-seed``), shown in each failure message.

The guest image is whatever LPTRIG_IMAGE names (``make test DEBUG=1`` and
``make soak``: the debug kernel).  On the debug kernel the test also asks
kmemleak for a scan and wants it empty; lockdep, KASAN, KFENCE, UBSAN and
the hung-task detector report on the console, which the make_machine
fixture checks (BUG:, WARNING:, UBSAN:, "blocked for more than").

The trinity test gives trinity (third_party/trinity: its repository at a
pinned commit, built statically with an ioctl group for lpt1284.ko) the
driver's nodes as victims for ioctl, read and write; a kretprobe on the
driver's ioctl handler counts the calls by return value, and some must
reach the handlers (not ENOTTY).  Then the module must unload.
"""

import os
import random
import re
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from lptrig import paths, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

SPEC = "printer@0,loopback@1,printer@2,printer@end"
PRINTERS = {"0": "printer@0", "2": "printer@2", "4": "printer@end"}
#: QOM ids of the peripherals
QOM_IDS = ("printer-0", "loopback-1", "printer-2", "printer-end")
#: the printer knobs the host switches: (knob, on value, off value); the
#: on/off ones are armed (they turn on at a byte), busy-stall is set
FAULTS: List[Tuple[str, object, object]] = [
    ("offline", True, False), ("paper-out", True, False), ("fault", True, False),
    ("busy-stall", 3000, 0),
]
#: seconds of stress and of trinity: short in ``make test``, long in ``make soak``
SECONDS = int(os.environ.get("LPTRIG_SOAK_SECONDS") or "10")
TRINITY_SECONDS = int(os.environ.get("LPTRIG_TRINITY_SECONDS") or "10")
#: an armed fault stays on at least this long (s, drawn), and until the
#: other peripherals took this many bytes (the guest has moved on: the
#: writer it stopped got its error), but never longer than FAULT_MAX_S
#: (a writer that holds a lock waits a fault out for up to about 10 s)
FAULT_MIN_S = (0.02, 0.3)
FAULT_MOVED_ON = 50
FAULT_MAX_S = 2.0
#: how long a guest-side wait may take (s)
WAIT_SECONDS = 120


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


def peripheral(qom_id: str) -> str:
    return f"/machine/peripheral/{qom_id}"


def taken(mon: object, qom_ids: List[str]) -> int:
    """Bytes the peripherals ``qom_ids`` took so far."""
    return sum(qmp.qom_get(mon, peripheral(i), "received") for i in qom_ids)


def switch_faults(vm: Machine, rng: random.Random, done: Callable[[], bool]) -> Dict[str, int]:
    """Switch printer faults on and off until ``done()``; returns how many
    of each knob came on.

    An on/off knob is armed: the printer turns it on by itself once it has
    taken 1-50 more bytes, so it comes on in the middle of a write; it
    stays on for a drawn time and until the other peripherals have taken
    FAULT_MOVED_ON bytes, i.e. the writer it stopped has given the port
    up (with its error), at most FAULT_MAX_S.  The pauses between faults
    are drawn too: the schedule is random, not timed against anything."""
    mon = vm.qmp()
    switched: Dict[str, int] = {}
    #: the stress ends after SECONDS (its children get 30 s more): a stress
    #: that never ends fails at the console's expect, not here
    deadline = time.monotonic() + SECONDS + 300

    def over() -> bool:
        return done() or time.monotonic() > deadline

    def wait(cond: Callable[[], bool], seconds: float) -> bool:
        end = time.monotonic() + seconds
        while not cond():
            if over() or time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    while not over():
        qom_id = rng.choice(["printer-0", "printer-2", "printer-end"])
        printer = peripheral(qom_id)
        others = [i for i in QOM_IDS if i != qom_id]
        knob, on, off = rng.choice(FAULTS)
        if isinstance(on, bool):
            qmp.qom_set(mon, printer, "arm", knob)
            qmp.qom_set(mon, printer, "arm-after", rng.randint(1, 50))
            # until the guest writes to that printer (or the stress ends)
            fired = wait(lambda: qmp.qom_get(mon, printer, knob) is True, SECONDS + 300)
            qmp.qom_set(mon, printer, "arm", "none")
            if fired:
                switched[knob] = switched.get(knob, 0) + 1
                before = taken(mon, others)
                hold_until = time.monotonic() + rng.uniform(*FAULT_MIN_S)
                wait(lambda: time.monotonic() >= hold_until and
                     taken(mon, others) >= before + FAULT_MOVED_ON, FAULT_MAX_S)
        else:
            qmp.qom_set(mon, printer, knob, on)
            switched[knob] = switched.get(knob, 0) + 1
            time.sleep(rng.uniform(*FAULT_MIN_S))
        qmp.qom_set(mon, printer, knob, off)
        time.sleep(rng.uniform(0.05, 0.5))
    return switched


def test_stress_with_host_faults(make_machine: Callable[..., Machine],
                                 lptrig_seed: int) -> None:
    vm = make_machine(Chain.parse(SPEC), modules="lpt1284", memory_mb=512)
    rng = random.Random(f"{lptrig_seed}/soak-stress")
    seed = rng.randrange(1 << 32)
    note = f"session seed {lptrig_seed} (--lptrig-seed {lptrig_seed} repeats it), " \
           f"stress seed {seed}, {SECONDS} s"
    vm.console.send(f"lptctl stress -P 16 -s {SECONDS} -r {seed} -L 1 -F 0 2 4 "
                    "> /root/stress.out 2>&1; echo \"stress rc=$?\"\n")
    ended = re.compile(r"stress rc=\d+")
    switched = switch_faults(
        vm, rng, lambda: bool(ended.search(vm.console_log.read_text(errors="replace"))))
    match = vm.console.expect(r"stress rc=(\d+)", SECONDS + 300)
    out = sh(vm, "cat /root/stress.out")
    assert match.group(1) == "0", f"{note}:\n{out}"
    lines = out.splitlines()
    summary = re.fullmatch(r"ops (\d+) violations (\d+) bytes (\d+)", lines[-1])
    assert summary, f"{note}:\n{out}"
    assert summary.group(2) == "0", f"{note}:\n{out}"          # FIFO order held
    outcomes = dict(re.findall(r"(\w+) (\d+)", next(
        line for line in lines if line.startswith("outcomes"))))
    assert outcomes["errors"] == "0", f"{note}:\n{out}"
    # it did something of every kind (lower bounds any run of seconds passes)
    assert int(outcomes["loops"]) > 0, f"{note}:\n{out}"      # loopback round trips
    assert int(outcomes["holds"]) >= 16, f"{note}:\n{out}"
    fired = sum(switched.get(k, 0) for k, on, _ in FAULTS if isinstance(on, bool))
    assert fired > 0, f"{note}: no armed fault came on: {switched}"
    assert int(outcomes["faulted"]) > 0, f"{note}: faults {switched}:\n{out}"
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
            assert rec, (note, name, record)
            seqs.setdefault(rec.group(1), []).append(int(rec.group(2)))
        assert reported[dev] == (len(records), len(files[name])), (note, dev, out)
        assert records, (note, f"nothing on {name}")
    for pid, numbers in seqs.items():
        assert sorted(numbers) == list(range(len(numbers))), (note, pid)
    assert sum(len(files[n]) for n in PRINTERS.values()) == int(summary.group(3)), note
    if debug_image():
        assert kmemleak(vm) == "", note
    else:
        assert sh(vm, "[ -e /sys/kernel/debug/kmemleak ] || echo none") == "none"
    sh(vm, "rmmod lpt1284 && ! grep -q lpt1284 /proc/modules")
    print(f"\nsoak: {note}, {out.splitlines()[-2]}\n"
          f"soak: {lines[-1]}; host fault switches {switched}")


#: trinity at a pinned commit with lpt1284's ioctl group, statically
#: linked (third_party/trinity/build.sh; make test and make soak build it)
TRINITY = paths.cache_dir() / "trinity" / "trinity"
#: a kretprobe on the driver's ioctl handler, counted by return value
KPROBE = "lpt1284_ioctl_ret"
TRACING = "/sys/kernel/tracing"
ENOTTY = 25
#: LPT1284_DEFAULT_BUSY_TIMEOUT_MS
BUSY_DEFAULT_MS = 5000


def _trinity_files() -> List[Tuple[Path, str]]:
    """lptrig's trinity build, to be added to the initramfs."""
    assert TRINITY.exists(), f"{TRINITY} missing: run make test or third_party/trinity/build.sh"
    return [(TRINITY, "/usr/bin/trinity")]


def ioctl_returns(vm: Machine) -> Dict[int, int]:
    """What the kretprobe's histogram counted: return value -> calls
    ({} when the kernel cannot count them: the debug kernel has no
    histogram triggers)."""
    hist = vm.console.run(f"cat {TRACING}/events/kprobes/{KPROBE}/hist 2>/dev/null").output
    counts: Dict[int, int] = {}
    for ret, hits in re.findall(r"ret:\s*(\d+)\s*\}\s*hitcount:\s*(\d+)", hist):
        value = int(ret)
        counts[value - (1 << 64) if value >= 1 << 63 else value] = int(hits)
    return counts


def test_trinity_on_the_driver_nodes(make_machine: Callable[..., Machine],
                                     lptrig_seed: int) -> None:
    vm = make_machine(Chain.parse(SPEC), modules="lpt1284", memory_mb=512,
                      add_files=_trinity_files())
    assert sh(vm, "ls /dev/lpt0*").split() == ["/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1",
                                               "/dev/lpt0.2", "/dev/lpt0.4"]
    seed = random.Random(f"{lptrig_seed}/soak-trinity").randrange(1 << 31)
    note = f"session seed {lptrig_seed} (--lptrig-seed {lptrig_seed} repeats it), " \
           f"trinity -s {seed}, {TRINITY_SECONDS} s"
    # Our nodes as file descriptors: -V (copies of the device nodes), which
    # trinity's "pseudo" fd provider opens (turning "pseudo" off, as this
    # test did, left trinity no fd of ours), and its test files (with that
    # provider off its btrfs/ext fd tests crash the child); every other
    # provider off; ioctl, read and write only.
    # Run as root, trinity first counts down 10 s, then sets itself up:
    # TRINITY_SECONDS count from its first child's first call (a SIGINT
    # during its set-up is lost on it); then SIGINT: trinity's children
    # stop, also those waiting in an ALLOCATE or LOCK without a time-out.
    # Every call of lpt1284.ko's ioctl handler counted by its return value
    # (Debian's kernel has kprobe events and histogram triggers; the debug
    # kernel no histogram triggers: not counted there)
    probe = vm.console.run(
        f"mountpoint -q {TRACING} || mount -t tracefs nodev {TRACING}; "
        f"echo 'r:{KPROBE} lpt1284_ioctl ret=$retval' >> {TRACING}/kprobe_events && "
        f"echo 'hist:keys=ret' > {TRACING}/events/kprobes/{KPROBE}/trigger")
    if not debug_image():
        assert probe.status == 0, probe.output
    sh(vm, "mkdir -p /tmp/victims && cp -a /dev/lpt0* /tmp/victims/; "
           f"cd /tmp && trinity --dangerous -l off -C 4 -s {seed} -V /tmp/victims --stats "
           "--disable-fds=sockets,pipes,perf,epoll,eventfd,timerfd,memfd,drm,bpf,fanotify,inotify,userfaultfd "
           "-c ioctl -c read -c write < /dev/null > /tmp/trinity.log 2>&1 & "
           "echo $! > /tmp/trinity.pid")
    started = vm.console.run(
        f"i=0; until grep -q '^\\[child' /tmp/trinity.log || [ $i -ge {WAIT_SECONDS * 10} ]; "
        "do i=$((i+1)); sleep 0.1; done; grep -q '^\\[child' /tmp/trinity.log",
        timeout=4 * WAIT_SECONDS)
    assert started.status == 0, f"{note}: trinity never started:\n" + \
        sh(vm, "tail -c 3000 /tmp/trinity.log")
    out = vm.console.run(
        f"sleep {TRINITY_SECONDS}; kill -INT $(cat /tmp/trinity.pid); "
        "wait $(cat /tmp/trinity.pid); echo \"trinity rc=$?\"; "
        "grep -E '^\\[main\\] Ran|^(read|write|ioctl):|^    [A-Z]' /tmp/trinity.log",
        timeout=TRINITY_SECONDS + 300).output
    assert "trinity rc=" in out, f"{note}:\n{out}"
    ran = re.search(r"Ran (\d+) syscalls", out)
    assert ran and int(ran.group(1)) > 0, f"{note}:\n{out}"
    # No child left behind in the driver (SIGINT ended every wait): gone
    # within WAIT_SECONDS of guest time
    result = vm.console.run(f"i=0; while pidof trinity >/dev/null && [ $i -lt {WAIT_SECONDS * 10} ]; "
                            "do sleep 0.1; i=$((i+1)); done; ! pidof trinity",
                            timeout=4 * WAIT_SECONDS)
    assert result.status == 0, f"{note}: trinity still running:\n{result.output}"
    # trinity's ioctls reached the driver's handlers with our group's
    # commands (not ENOTTY, what an unknown command gets)
    returns = ioctl_returns(vm)
    reached = sum(n for ret, n in returns.items() if ret != -ENOTTY)
    rate = f"{reached * 60 / TRINITY_SECONDS:.0f} per minute" if returns else "not counted"
    if not debug_image():
        assert reached > 0, f"{note}: no ioctl reached the handlers: {returns}"
    note += (f"; ioctls reaching lpt1284's handlers: {reached} ({rate}), "
             f"ENOTTY {returns.get(-ENOTTY, 0)}")
    # The driver still works and unloads cleanly.  In compatibility mode
    # and with the default busy time-out, set again: a device's modes and
    # time-out outlive the file that set them, and trinity set them at
    # random (a printer refuses an EPP negotiation: EIO)
    sh(vm, f"echo after > /root/a; lptctl write 4 /root/a -m compat -b {BUSY_DEFAULT_MS}")
    assert (vm.rundir / "printer@end.bin").read_bytes().endswith(b"after\n"), note
    if debug_image():
        assert kmemleak(vm) == "", note
    sh(vm, "rmmod lpt1284 && ! grep -q lpt1284 /proc/modules")
    print(f"\ntrinity: {note}:\n{out}")
