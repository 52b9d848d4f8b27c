"""lpt1284.ko, the guest driver: the Windows port-sharing model, end to end.

The guest boots with our driver only (none of Linux's parport modules) on
the chain printer@0,loopback@1,printer@2,printer@end; programs use
/dev/lpt0 and /dev/lpt0.D through lptctl (guest-driver/tools/lptctl.c)
and tests/guest/progs/lpt1284_abi.c.  The contract is
shared/DRIVER-ABI.md.
"""

import random
import re
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest

from lptrig import progs, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

SPEC = "printer@0,loopback@1,printer@2,printer@end"
SYS = "/sys/class/lpt1284"


def boot(make_machine: Callable[..., Machine], spec: str = SPEC,
         **kwargs: object) -> Machine:
    add = list(kwargs.pop("add_files", []))
    return make_machine(Chain.parse(spec), modules=kwargs.pop("modules", "lpt1284"),
                        add_files=[progs.add_file("lpt1284_abi"), *add], **kwargs)


def outputs(vm: Machine) -> Dict[str, bytes]:
    return {name: path.read_bytes() if path.exists() else b""
            for name, path in vm.chain.output_files(vm.rundir).items()}


def sh(vm: Machine, cmd: str, timeout: float = 60) -> str:
    return vm.console.check(cmd, timeout).strip()


def wait_waiters(vm: Machine, count: int) -> None:
    """Until QUERY_WAITERS (sysfs) shows ``count`` queued requests."""
    sh(vm, f"i=0; while [ $(cat {SYS}/lpt0/waiters) != {count} ]; do "
           f"i=$((i+1)); [ $i -gt 500 ] && exit 1; sleep 0.01; done")


def stamps(text: str, what: str = "allocated") -> int:
    match = re.search(rf"^{what} t=(\d+)$", text, re.MULTILINE)
    assert match, text
    return int(match.group(1))


def test_nodes_ids_and_sysfs(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    assert sh(vm, "ls /dev/lpt0*").split() == [
        "/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1", "/dev/lpt0.2", "/dev/lpt0.4"]
    assert sh(vm, f"cat {SYS}/lpt0/daisy_count") == "3"
    assert sh(vm, f"cat {SYS}/lpt0/owner") == "none"
    assert sh(vm, f"cat {SYS}/lpt0/capabilities") == "SPP,PS2,EPP,EPP32,ECP,FIFO,DMA"
    assert "MDL:Loopback;" in sh(vm, f"cat {SYS}/lpt0.1/device_id")
    assert "MDL:Virtual Printer;" in sh(vm, f"cat {SYS}/lpt0.4/device_id")
    assert sh(vm, f"cat {SYS}/lpt0.0/modes") == "write compat read nibble"
    assert sh(vm, f"cat {SYS}/lpt0.0/busy_timeout_ms") == "5000"
    sh(vm, f"echo 1234 > {SYS}/lpt0.0/busy_timeout_ms")
    assert sh(vm, f"cat {SYS}/lpt0.0/busy_timeout_ms") == "1234"
    assert "parport" not in sh(vm, "lsmod")
    # The scan and ID reads printed nothing
    assert set(outputs(vm).values()) == {b""}


def test_ioctl_errors_follow_the_contract(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    got = dict(line.split(None, 1) for line in sh(vm, "lpt1284_abi").splitlines())
    assert got == {
        "unknown-ioctl": "ENOTTY", "ppdev-ioctl": "ENOTTY",
        "alloc-flags": "EINVAL", "alloc-reserved": "EINVAL",
        "alloc-badptr": "EFAULT", "waiters-badptr": "EFAULT",
        "free-not-held": "EPERM", "select-7": "ENODEV", "select-absent": "ENODEV",
        "select-have-port-not-held": "EPERM", "select-flags": "EINVAL",
        "deselect-not-held": "EPERM", "alloc": "ok", "alloc-again": "EDEADLK",
        "waiters": "ok", "waiters-count": "0", "rescan-while-held": "EBUSY",
        "free": "ok", "try": "ok", "free-after-try": "ok",
        "lock-on-port-node": "ENOTTY", "second-open": "EBUSY",
        "unlock-not-locked": "EPERM", "timeout-zero": "EINVAL",
        "timeout-badptr": "EFAULT", "modes-write-nibble": "EINVAL",
        "modes-read-compat": "EINVAL", "modes-unknown": "EINVAL",
        "device-id-badbuf": "EFAULT", "alloc-on-device-node": "ENOTTY",
        "lock": "ok", "lock-again": "EDEADLK", "unlock": "ok",
        "open-after-close": "ok", "open-absent": "ENOENT"}


def test_exclusive_device_opens_and_a_shared_port(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    out = sh(vm, "exec 3</dev/lpt0.0; true 4</dev/lpt0.0 2>&1 || echo refused; "
                 "exec 3<&-; true 4</dev/lpt0.0 && echo reopened")
    lines = out.splitlines()
    assert lines[0].endswith("can't open /dev/lpt0.0: Device or resource busy")
    assert lines[1:] == ["refused", "reopened"]
    count = sh(vm, "for i in $(seq 32); do sleep 5 </dev/lpt0 & done; sleep 0.5; "
                   "n=0; for p in /proc/[0-9]*; do "
                   "[ \"$(readlink $p/fd/0)\" = /dev/lpt0 ] && n=$((n+1)); done; "
                   "echo $n; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; true")
    assert count.splitlines()[0] == "32"
