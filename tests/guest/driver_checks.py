"""Checks of lpt1284.ko's contract shared by the guest tests: test_driver.py
runs them on lptrig's own guest, test_rt_guest.py on the RT guest (Debian's
PREEMPT_RT kernel, root file system on a disk).  Each takes a booted
machine whose shell has ``lptctl`` and the driver loaded."""

import re
from typing import Dict, Mapping, Tuple

from lptrig import paths
from lptrig.machine import Machine

SYS = "/sys/class/lpt1284"
#: how long a write waits for a port that other writers print through
BUSY_DEADLINE_MS = 300_000


def debug_image() -> bool:
    """The guest is the debug kernel's (make test DEBUG=1)."""
    return paths.default_image_name() == "debug"


def kmemleak(vm: Machine) -> str:
    """The debug kernel's kmemleak report after two scans ('' when clean;
    tests/soak has its own copy: it cannot import from here)."""
    sh(vm, "mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug")
    # A scan reports only objects unreferenced for two scans in a row.
    for _ in range(2):
        sh(vm, "echo scan > /sys/kernel/debug/kmemleak", timeout=300)
    return sh(vm, "cat /sys/kernel/debug/kmemleak", timeout=120)


def outputs(vm: Machine) -> Dict[str, bytes]:
    """What each peripheral of the chain received so far, by name."""
    return {name: path.read_bytes() if path.exists() else b""
            for name, path in vm.chain.output_files(vm.rundir).items()}


def sh(vm: Machine, cmd: str, timeout: float = 60) -> str:
    return vm.console.check(cmd, timeout).strip()


#: how long a guest-side wait for a condition may take, in seconds of guest
#: time: on an idle host the conditions come within milliseconds, but
#: nothing may depend on how fast the host is
WAIT_SECONDS = 120


def wait_guest(vm: Machine, cond: str, seconds: int = WAIT_SECONDS) -> None:
    """Until the guest shell condition ``cond`` holds, checked every 50 ms
    for at least ``seconds`` of guest time; CommandFailed if it never does."""
    polls = seconds * 20
    sh(vm, f"i=0; until {cond} || [ $i -ge {polls} ]; do i=$((i+1)); sleep 0.05; done; "
           f"{cond}", timeout=2 * seconds + 60)


def wait_waiters(vm: Machine, count: int, port: str = "lpt0",
                 seconds: int = WAIT_SECONDS) -> None:
    """Until QUERY_WAITERS (sysfs) shows ``count`` queued requests."""
    wait_guest(vm, f'{{ read n < {SYS}/{port}/waiters; [ "$n" = {count} ]; }}', seconds)


def hold(vm: Machine, name: str, cmd: str, granted: str = "allocated") -> None:
    """Start ``lptctl CMD -`` in the background (output in /tmp/NAME, its pid
    in /tmp/NAME.pid) and wait until it has the port (its ``granted`` line):
    it holds until release() sends it SIGTERM, however long the test takes.

    Its stdin is /dev/null: the console shell has job control, so a
    background job keeps the console as stdin, and lptctl would end its
    hold at the first line typed there (or stop on SIGTTIN reading it)."""
    sh(vm, f"lptctl {cmd} - < /dev/null > /tmp/{name} 2>&1 & echo $! > /tmp/{name}.pid")
    wait_guest(vm, f"grep -q '^{granted} t=' /tmp/{name}")


def release(vm: Machine, name: str) -> str:
    """SIGTERM to the holder ``name``: it lets go (frees, unlocks, deselects)
    and exits 0; returns its output."""
    sh(vm, f"kill $(cat /tmp/{name}.pid); wait $(cat /tmp/{name}.pid)")
    return sh(vm, f"cat /tmp/{name}")


def owner(vm: Machine, port: str = "lpt0") -> str:
    return sh(vm, f"cat {SYS}/{port}/owner")


def pid_of(vm: Machine, name: str) -> str:
    return sh(vm, f"cat /tmp/{name}.pid")


def stamps(text: str, what: str = "allocated") -> int:
    match = re.search(rf"^{what} t=(\d+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def node_names(vm: Machine) -> Dict[int, str]:
    """``/dev/lpt0.N`` -> the chain peripheral it reaches: the daisy devices
    numbered in chain order (Linux's and our scan both do), 4 the end device."""
    daisy = sorted((p for p in vm.chain.peripherals if p.addr is not None),
                   key=lambda p: p.addr or 0)
    names = {i: p.name for i, p in enumerate(daisy)}
    names.update({4: p.name for p in vm.chain.peripherals if p.addr is None})
    return names


def check_allocate_is_strictly_fifo(vm: Machine, lock: Tuple[int, int, int] = (0, 2, 4)) -> None:
    """Eight requests (allocate, lock and select, on the devices ``lock``)
    queued behind a holder are granted in queue order, one holder at a time;
    try-allocate never queues and fails while anyone waits.

    The holder keeps the port until it is told to let go (SIGTERM), after
    all eight wait and try-allocate was refused; each waiter holds 30 ms
    only so that two grants at once would show as overlapping stamps.
    Nothing depends on how long anything takes."""
    a, b, c = lock
    hold(vm, "holder", "alloc")
    # allocate, lock and select requests wait in one queue
    kinds = {1: ("alloc 30", "allocated", "freed"), 2: (f"lock {a} 30", "locked", "unlocked"),
             3: ("alloc 30", "allocated", "freed"),
             4: (f"select {b} 30", "selected", "deselected"),
             5: (f"lock {b} 30", "locked", "unlocked"), 6: ("alloc 30", "allocated", "freed"),
             7: (f"lock {c} 30", "locked", "unlocked"), 8: ("alloc 30", "allocated", "freed")}
    for i, (cmd, _, _) in kinds.items():
        # each one queued only after the one before it is in the queue
        sh(vm, f"lptctl {cmd} > /tmp/w{i} 2>&1 &")
        wait_waiters(vm, i)
    assert sh(vm, "lptctl waiters") == "waiters 8"
    # try-allocate never queues, and fails while anyone waits
    result = vm.console.run("lptctl try")
    assert result.status == 1 and "EBUSY" in result.output
    assert sh(vm, "lptctl waiters") == "waiters 8"
    # nobody got the port past the holder
    assert owner(vm) == pid_of(vm, "holder")
    assert sh(vm, "cat /tmp/w[1-8]") == ""
    held = release(vm, "holder")
    sh(vm, "wait")
    granted = [stamps(sh(vm, f"cat /tmp/w{i}"), kinds[i][1]) for i in range(1, 9)]
    assert granted == sorted(granted)
    freed = [stamps(sh(vm, f"cat /tmp/w{i}"), kinds[i][2]) for i in range(1, 9)]
    assert all(f < g for f, g in zip(freed, granted[1:]))   # one holder at a time
    assert stamps(held, "freed") < granted[0]
    assert sh(vm, "lptctl waiters") == "waiters 0"
    assert sh(vm, "lptctl try").startswith("allocated")


def check_writes_land_at_their_device(vm: Machine,
                                      writes: Mapping[int, Tuple[str, bytes]]) -> None:
    """``lptctl write N FILE`` for every ``N: (guest FILE, its bytes)`` at
    once: each device's output file gets exactly its bytes, and every other
    peripheral on the chain nothing more than it had.

    Each write() takes the port for itself, so a writer waits while the
    others print: the busy time-out (-b) is a generous deadline here, not
    the default 5 s, which a loaded host's prints outlast (the busy time-out
    itself is test_driver.py's test_busy_port_fails_writes_before_any_byte).
    """
    before = outputs(vm)
    cmd = " ".join(f"lptctl write {n} {path} -b {BUSY_DEADLINE_MS} > /tmp/wr{n} 2>&1 &"
                   for n, (path, _) in writes.items())
    out = sh(vm, f"{cmd} wait; cat " + " ".join(f"/tmp/wr{n}" for n in writes),
             timeout=BUSY_DEADLINE_MS / 1000 + 60)
    assert out.splitlines() == [f"wrote {len(data)}" for _, data in writes.values()]
    names = node_names(vm)
    expected = dict(before)
    for n, (_, data) in writes.items():
        expected[names[n]] = before[names[n]] + data
    assert outputs(vm) == expected
