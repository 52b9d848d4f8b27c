"""lpt1284.ko read as a maintainer reads it: object lifetime (unbind and
PnP remove with files open, sleepers and kernel clients), transfers that
a signal stops, O_NONBLOCK that never sleeps, one lock for a file's modes,
lock state and I/O, bounded time-outs, whole Device IDs, resources given
back on every path.

Each test failed on the driver before the fix it guards (see the closing
note of issue 19).  On the debug kernel (make test DEBUG=1: KASAN, lockdep,
KFENCE, UBSAN, hung tasks report on the console, which fails the test) the
tests that free a port with files open also want kmemleak empty.  The guest boots with our driver only on the chain
printer@0,loopback@1,printer@2,printer@end; lptctl and
tests/guest/progs/lpt1284_life.c drive it.
"""

from typing import Callable

import pytest

from driver_checks import (SYS, debug_image, hold, kmemleak, outputs, owner, release, sh,
                           wait_guest, wait_waiters)
from lptrig import progs
from lptrig.chain import Chain, Peripheral
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

SPEC = "printer@0,loopback@1,printer@2,printer@end"
PNP = "/sys/bus/pnp/drivers/lpt1284"
#: LPT1284_MAX_BUSY_TIMEOUT_MS of <linux/lpt1284.h>: a week
MAX_BUSY_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000


def boot(make_machine: Callable[..., Machine], chain: Chain = None,
         **kwargs: object) -> Machine:
    return make_machine(chain or Chain.parse(SPEC), modules=kwargs.pop("modules", "lpt1284"),
                        add_files=[progs.add_file("lpt1284_life")], **kwargs)


def lines(text: str) -> dict:
    return dict(line.split(None, 1) for line in text.splitlines() if line.strip())


def pnp_name(vm: Machine) -> str:
    """The PnP device lpt0 is bound to (e.g. 00:05)."""
    return sh(vm, f"basename $(readlink {SYS}/lpt0/device)")


def test_unbind_with_files_open_wakes_everyone_then_rebind(
        make_machine: Callable[..., Machine]) -> None:
    """The soft lockup of issue 19: unbind frees the port under open files,
    sleepers and the cdev.  Now every sleeper wakes with ENODEV, every
    later operation on an open file fails with ENODEV, closing them works,
    and a rebind brings /dev/lpt0 back, printing byte-exact."""
    vm = boot(make_machine)
    name = pnp_name(vm)
    hold(vm, "holder", "alloc")
    # a queued allocate and a write waiting for the port (an hour's busy
    # time-out: only the removal can end its wait)
    sh(vm, "lptctl alloc > /tmp/waiter 2>&1 & echo $! > /tmp/waiter.pid")
    wait_waiters(vm, 1)
    sh(vm, "echo lost > /root/lost; "
           "lptctl write 2 /root/lost -b 3600000 > /tmp/writer 2>&1 & echo $! > /tmp/writer.pid")
    wait_waiters(vm, 2)
    sh(vm, f"lpt1284_life gone /dev/lpt0 /dev/lpt0.4 {SYS}/lpt0 > /tmp/gone 2>&1 & "
           "echo $! > /tmp/gone.pid")
    wait_guest(vm, "grep -q '^open ok' /tmp/gone")
    # the sleepers wake and fail, the open files' operations fail; waited
    # for in the same command as the unbind: three jobs ending while the
    # shell prints a command's frame lost a newline of it once (busybox's
    # printf does not retry a tty write a SIGCHLD interrupts)
    sh(vm, f"echo {name} > {PNP}/unbind; "
           "wait $(cat /tmp/waiter.pid) $(cat /tmp/writer.pid) $(cat /tmp/gone.pid); true")
    assert "No such device" in sh(vm, "cat /tmp/waiter")
    assert sh(vm, "cat /tmp/writer") == (
        "wrote 0\nlptctl: write /dev/lpt0.2: ENODEV (No such device)")
    gone = lines(sh(vm, "cat /tmp/gone"))
    assert gone == {"open": "ok", **{op: "ENODEV" for op in (
        "alloc", "try", "free", "waiters", "select", "deselect", "port-info", "rescan",
        "port-write", "lock", "unlock", "set-modes", "get-modes", "set-timeout",
        "get-timeout", "device-id", "write", "read")}, "close-port": "ok", "close-dev": "ok"}
    # the holder lets go of a port that is no more (its FREE: ENODEV)
    sh(vm, "kill $(cat /tmp/holder.pid); wait $(cat /tmp/holder.pid); true")
    assert "ENODEV" in sh(vm, "cat /tmp/holder")
    assert sh(vm, "ls /dev/lpt0* 2>&1 || true").endswith("No such file or directory")
    assert sh(vm, "grep -c lpt1284 /proc/ioports || true") == "0"
    # the first print after the rebind is the only one the printers get
    sh(vm, f"echo {name} > {PNP}/bind")
    assert sh(vm, "ls /dev/lpt0*").split() == [
        "/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1", "/dev/lpt0.2", "/dev/lpt0.4"]
    sh(vm, "echo again > /root/a.txt; lptctl write 2 /root/a.txt")
    assert outputs(vm) == {"printer@0": b"", "loopback@1": b"", "printer@2": b"again\n",
                           "printer@end": b""}
    if debug_image():
        assert kmemleak(vm) == ""


def test_unbind_while_a_file_is_open_in_the_shell(make_machine: Callable[..., Machine]) -> None:
    """The exact steps of the report: a write on the port node after the
    unbind fails with ENODEV (and the guest stays responsive)."""
    vm = boot(make_machine)
    name = pnp_name(vm)
    result = vm.console.run(f"exec 3<>/dev/lpt0; echo {name} > {PNP}/unbind; echo x >&3")
    assert result.status != 0 and "No such device" in result.output
    sh(vm, f"exec 3>&-; echo {name} > {PNP}/bind; ls /dev/lpt0")


def test_kernel_client_outlives_the_port(make_machine: Callable[..., Machine]) -> None:
    """A connected kernel client (lpt1284-sample stay=1) across an unbind:
    its ops fail with ENODEV, its disconnect at unload frees the handle."""
    vm = boot(make_machine, modules="lpt1284")
    sh(vm, "modprobe lpt1284-sample stay=1 device=2 message=before")
    name = pnp_name(vm)
    sh(vm, f"echo {name} > {PNP}/unbind")
    sh(vm, "rmmod lpt1284_sample")
    assert "lpt1284-sample: at unload: try_allocate -19" in sh(vm, "dmesg")
    sh(vm, "rmmod lpt1284")
    assert outputs(vm)["printer@2"] == b"before"
    if debug_image():
        assert kmemleak(vm) == ""


def test_a_long_write_is_killed(make_machine: Callable[..., Machine]) -> None:
    """One write() of 64 MiB to a ready printer: the transfer loop reschedules and
    sees the signal, so kill -9 ends it (it used to hold the only CPU in a
    soft lockup); the port is free again afterwards."""
    vm = boot(make_machine)
    # one write() of 64 MiB, as dd bs=64M count=1 makes it
    sh(vm, "lpt1284_life bigwrite /dev/lpt0.4 67108864 & echo $! > /tmp/dd.pid")
    wait_guest(vm, f'{{ read n < {SYS}/lpt0.4/bytes_written; [ "$n" -gt 0 ]; }}')
    sh(vm, "kill -9 $(cat /tmp/dd.pid); wait $(cat /tmp/dd.pid); true")
    written = int(sh(vm, f"cat {SYS}/lpt0.4/bytes_written"))
    assert 0 < written < 64 << 20
    assert outputs(vm)["printer@end"] == bytes(written)
    assert owner(vm) == "none"


def test_select_honours_o_nonblock(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    hold(vm, "holder", "alloc")
    assert sh(vm, "lpt1284_life select-nonblock /dev/lpt0") == "select-nonblock EAGAIN"
    release(vm, "holder")
    assert sh(vm, "lpt1284_life select-nonblock /dev/lpt0") == "select-nonblock ok"


def test_nonblocking_io_never_waits_behind_another_thread(
        make_machine: Callable[..., Machine]) -> None:
    """Thread 1's write waits for the port (held elsewhere) inside the
    file's I/O lock: the O_NONBLOCK write, read and SET_MODES of another
    thread on the same file fail with EAGAIN at once."""
    vm = boot(make_machine)
    hold(vm, "holder", "alloc")
    sh(vm, f"lpt1284_life nonblock-io /dev/lpt0.2 {SYS}/lpt0 > /tmp/nb 2>&1 & "
           "echo $! > /tmp/nb.pid")
    wait_guest(vm, "grep -q '^waiting ok' /tmp/nb")
    release(vm, "holder")
    wait_guest(vm, "grep -q '^first-write' /tmp/nb")
    assert lines(sh(vm, "cat /tmp/nb")) == {
        "second-write": "EAGAIN", "read": "EAGAIN", "set-modes": "EAGAIN",
        "waiting": "ok", "first-write": "6"}
    assert outputs(vm)["printer@2"] == b"first\n"


def test_unlock_waits_for_the_write_of_another_thread(
        make_machine: Callable[..., Machine]) -> None:
    """UNLOCK from a second thread while the first writes under the lock:
    it waits for the write, so the port is never freed under it."""
    vm = boot(make_machine)
    size = 256 * 1024
    out = lines(sh(vm, f"lpt1284_life unlock-during-write /dev/lpt0.2 {size} {SYS}/lpt0.2",
                   timeout=600))
    assert out == {"unlock": "ok", "wrote": str(size), "after-unlock": str(size)}
    expect = bytes(ord("a") + i % 26 for i in range(size))
    assert outputs(vm)["printer@2"] == expect


def test_busy_timeout_is_bounded(make_machine: Callable[..., Machine]) -> None:
    """Above LPT1284_MAX_BUSY_TIMEOUT_MS the ioctl and sysfs refuse with
    EINVAL (a huge value used to wrap into a short time-out)."""
    vm = boot(make_machine)
    assert sh(vm, f"lptctl timeout 0 {MAX_BUSY_TIMEOUT_MS}") == f"timeout {MAX_BUSY_TIMEOUT_MS}"
    for ms in (MAX_BUSY_TIMEOUT_MS + 1, 2**64 - 1, 18446744073709552):
        assert sh(vm, f"lpt1284_life set-timeout /dev/lpt0.0 {ms}") == "set-timeout EINVAL"
        result = vm.console.run(f"echo {ms} > {SYS}/lpt0.0/busy_timeout_ms")
        assert result.status != 0 and "Invalid argument" in result.output, ms
    assert sh(vm, f"cat {SYS}/lpt0.0/busy_timeout_ms") == str(MAX_BUSY_TIMEOUT_MS)


def test_a_long_device_id_is_whole(make_machine: Callable[..., Machine]) -> None:
    """A 3001-byte Device ID: DEVICE_ID gives all of it and its full
    length even into a smaller buffer (it was cut at 1 KiB); sysfs shows
    it whole."""
    device_id = "MFG:lptrig;MDL:Long;CMD:" + "".join(
        f"X{i:04d}." for i in range(496)) + ";"
    assert len(device_id) == 3001
    chain = Chain((Peripheral("printer", 0),
                   Peripheral("printer", None, (("device-id", device_id),))))
    vm = boot(make_machine, chain)
    assert sh(vm, "lptctl id 4") == f"length {len(device_id)}\nid {device_id}"
    assert sh(vm, "lptctl id 4 -z 16") == f"length {len(device_id)}\nid {device_id[:16]}"
    assert sh(vm, f"cat {SYS}/lpt0.4/device_id") == device_id


def test_module_parameters_give_back_what_they_cannot_use(
        make_machine: Callable[..., Machine]) -> None:
    """io_hi= where no ECR answers: the range is released (it used to stay
    in /proc/ioports named from the module's memory); dma=4 (the cascade
    channel, never free): PORT_INFO says no DMA (-1), not channel 4."""
    vm = boot(make_machine, modules="")
    sh(vm, "modprobe lpt1284 io=0x378 io_hi=0x7f8 irq=7 dma=4")
    info = lines(sh(vm, "lptctl info"))
    assert (info["base"], info["base_hi"], info["dma"]) == ("0x378", "0x0", "-1")
    assert "DMA" not in info["caps"]
    assert sh(vm, "grep -c 'lpt1284 ecp' /proc/ioports || true") == "0"
    sh(vm, "echo plain > /root/p.txt; lptctl write 2 /root/p.txt")
    assert outputs(vm)["printer@2"] == b"plain\n"
    sh(vm, "rmmod lpt1284")
    assert sh(vm, "grep -c lpt1284 /proc/ioports || true") == "0"
