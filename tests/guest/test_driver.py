"""lpt1284.ko, the guest driver: the Windows port-sharing model, end to end.

The guest boots with our driver only (none of Linux's parport modules) on
the chain printer@0,loopback@1,printer@2,printer@end; programs use
/dev/lpt0 and /dev/lpt0.D through lptctl (guest-driver/tools/lptctl.c)
and tests/guest/progs/lpt1284_abi.c.  The contract is
shared/DRIVER-ABI.md.
"""

import random
from pathlib import Path
from typing import Callable

import pytest

from driver_checks import (SYS, WAIT_SECONDS, check_allocate_is_strictly_fifo,
                           check_writes_land_at_their_device, hold, outputs, owner,
                           pid_of, release, sh, stamps, wait_waiters)
from lptrig import progs, qmp
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

SPEC = "printer@0,loopback@1,printer@2,printer@end"


def boot(make_machine: Callable[..., Machine], spec: str = SPEC,
         **kwargs: object) -> Machine:
    add = list(kwargs.pop("add_files", []))
    return make_machine(Chain.parse(spec), modules=kwargs.pop("modules", "lpt1284"),
                        add_files=[progs.add_file("lpt1284_abi"), *add], **kwargs)


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
    # 32 processes with the port open at once: each sleeps (for a day: until
    # killed) with /dev/lpt0 as its stdin; count them until all 32 are there
    sh(vm, "for i in $(seq 32); do sleep 86400 </dev/lpt0 & done")
    count = sh(vm, "i=0; while :; do n=0; for p in /proc/[0-9]*; do "
                   "[ \"$(readlink $p/fd/0)\" = /dev/lpt0 ] && n=$((n+1)); done; "
                   f"[ $n -ge 32 ] || [ $i -ge {WAIT_SECONDS * 10} ] && break; "
                   "i=$((i+1)); sleep 0.1; done; echo $n", timeout=4 * WAIT_SECONDS)
    sh(vm, "kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; true")
    assert count == "32"


def test_allocate_is_strictly_fifo(make_machine: Callable[..., Machine]) -> None:
    check_allocate_is_strictly_fifo(boot(make_machine))   # driver_checks.py


def queue_behind_a_timeout(vm: Machine, timeout_ms: int) -> bool:
    """Behind a holder: a1, a2 (``-t timeout_ms``), a3, a4, a5, each queued
    once the one before it is.  False (all cleaned up) when a2 timed out
    before a5 was in the queue: the host was too slow for ``timeout_ms``."""
    hold(vm, "holder", "alloc")
    sh(vm, "rm -f /tmp/a[1-5]; lptctl alloc 20 > /tmp/a1 2>&1 &")
    wait_waiters(vm, 1)
    sh(vm, f"lptctl alloc -t {timeout_ms} 20 > /tmp/a2 2>&1 &")
    for n in range(2, 6):
        if n > 2:
            sh(vm, f"lptctl alloc 20 > /tmp/a{n} 2>&1 & echo $! > /tmp/a{n}.pid")
        # until a{n} is queued - or a2 has timed out already
        got = sh(vm, f"i=0; while :; do read w < {SYS}/lpt0/waiters; "
                     f"[ \"$w\" = {n} ] && {{ echo queued; break; }}; "
                     "grep -q ETIMEDOUT /tmp/a2 && { echo gone; break; }; "
                     f"[ $i -ge {WAIT_SECONDS * 20} ] && {{ echo \"stuck at $w\"; break; }}; "
                     "i=$((i+1)); sleep 0.05; done", timeout=4 * WAIT_SECONDS)
        assert got in ("queued", "gone"), f"a{n} never queued: {got}"
        if got == "gone":
            release(vm, "holder")
            sh(vm, "wait")                  # the rest get the port, and go
            return False
    return True


def test_timeout_and_signal_leave_the_queue_in_order(
        make_machine: Callable[..., Machine]) -> None:
    """A waiter that times out (a2) and one that a signal interrupts (a4)
    leave the queue; the others keep their order.  a2 must time out with
    a3-a5 queued behind it, while the holder still holds (it holds until
    released): if the host was so slow that a2's time-out came before a5
    was queued, it is run again with twice the time-out."""
    vm = boot(make_machine)
    timeout_ms = 3000
    while not queue_behind_a_timeout(vm, timeout_ms):
        timeout_ms *= 2
        assert timeout_ms <= 96000, "a2 timed out before a5 queued, even with 48 s"
    sh(vm, "kill -USR1 $(cat /tmp/a4.pid)")   # lptctl: a no-op handler, no restart
    # a4 leaves at once; a2 when its time-out is up
    wait_waiters(vm, 3, seconds=timeout_ms // 1000 + WAIT_SECONDS)
    assert "ETIMEDOUT" in sh(vm, "cat /tmp/a2")
    a4 = sh(vm, "cat /tmp/a4")
    assert "EINTR" in a4 and "allocated" not in a4
    assert owner(vm) == pid_of(vm, "holder")        # all that while
    held = release(vm, "holder")
    sh(vm, "wait")
    order = [stamps(sh(vm, f"cat /tmp/a{i}")) for i in (1, 3, 5)]
    assert order == sorted(order)
    assert stamps(held, "freed") < order[0]
    assert "allocated" not in sh(vm, "cat /tmp/a2")


def test_a_killed_holder_hands_the_port_on(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    hold(vm, "holder", "lock 0", granted="locked")
    sh(vm, "lptctl alloc 10 > /tmp/next 2>&1 &")
    wait_waiters(vm, 1)
    sh(vm, "kill -9 $(cat /tmp/holder.pid); wait")
    assert sh(vm, "cat /tmp/next").startswith("allocated")
    # and the daisy device it had selected was deselected: the end device
    # gets a plain write to it
    sh(vm, "echo end > /root/end.txt; lptctl write 4 /root/end.txt")
    assert outputs(vm)["printer@end"] == b"end\n"


def test_lock_write_unlock_hands_over(make_machine: Callable[..., Machine],
                                      tmp_path: Path) -> None:
    data = tmp_path / "page.bin"
    data.write_bytes(random.Random(1).randbytes(20000))
    vm = boot(make_machine, add_files=[(data, "/root/page.bin")])
    hold(vm, "lock", "lock 0", granted="locked")
    sh(vm, "lptctl alloc 10 > /tmp/next 2>&1 &")
    wait_waiters(vm, 1)
    assert sh(vm, "cat /tmp/next") == ""            # waits while the lock is held
    locked = release(vm, "lock")
    sh(vm, "wait")
    assert stamps(locked, "unlocked") < stamps(sh(vm, "cat /tmp/next"))
    assert sh(vm, "lptctl write 0 /root/page.bin -l") .splitlines()[1] == "wrote 20000"
    assert outputs(vm) == {"printer@0": data.read_bytes(), "loopback@1": b"",
                           "printer@2": b"", "printer@end": b""}
    assert sh(vm, f"cat {SYS}/lpt0/owner") == "none"
    assert sh(vm, f"cat {SYS}/lpt0.0/bytes_written") == "20000"


def test_two_writers_at_once(make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    rng = random.Random(2)
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(rng.randbytes(100000))
    b.write_bytes(rng.randbytes(90000))
    vm = boot(make_machine, add_files=[(a, "/root/a.bin"), (b, "/root/b.bin")])
    # printer@0 and printer@2 get their bytes, the others nothing
    check_writes_land_at_their_device(vm, {0: ("/root/a.bin", a.read_bytes()),
                                           2: ("/root/b.bin", b.read_bytes())})


def test_busy_port_fails_writes_before_any_byte(make_machine: Callable[..., Machine]) -> None:
    """With the port held (until released), a write with a 300 ms busy
    time-out fails EBUSY and an O_NONBLOCK write EAGAIN, neither having
    sent a byte; once the holder lets go the same write goes through."""
    vm = boot(make_machine)
    sh(vm, "echo data > /root/d.txt")
    hold(vm, "holder", "alloc")
    result = vm.console.run("lptctl write 2 /root/d.txt -b 300")
    assert result.status == 1 and "EBUSY" in result.output
    assert result.output.startswith("wrote 0\n")
    result = vm.console.run("lptctl write 2 /root/d.txt -n")
    assert result.status == 1 and "EAGAIN" in result.output
    assert result.output.startswith("wrote 0\n")
    assert owner(vm) == pid_of(vm, "holder")        # failed while it held the port
    assert outputs(vm)["printer@2"] == b""
    release(vm, "holder")
    assert sh(vm, "lptctl write 2 /root/d.txt -b 300") == "wrote 5"
    assert outputs(vm)["printer@2"] == b"data\n"


@pytest.mark.parametrize("write_mode", ["compat", "ecp", "epp"])
def test_loopback_reads_back_in_every_mode(make_machine: Callable[..., Machine],
                                           write_mode: str) -> None:
    vm = boot(make_machine)
    for read_mode in ("nibble", "byte", "ecp", "epp"):
        sh(vm, f"head -c 300 /dev/urandom > /root/in; "
               f"lptctl write 1 /root/in -m {write_mode}")
        out = sh(vm, f"lptctl read 1 1000 /root/out -m {read_mode}; "
                     "cmp /root/in /root/out && echo same")
        assert out.splitlines() == ["read 300", "same"], (write_mode, read_mode)
    # Nothing left: a read returns 0
    assert sh(vm, "lptctl read 1 10 /root/out") == "read 0"


@pytest.mark.parametrize("knob,error", [("paper-out", "ENOSPC"), ("offline", "EIO"),
                                        ("fault", "EIO")])
def test_printer_faults_give_the_contract_errors(make_machine: Callable[..., Machine],
                                                 tmp_path: Path, knob: str,
                                                 error: str) -> None:
    data = tmp_path / "big.bin"
    data.write_bytes(random.Random(5).randbytes(60000))
    vm = make_machine(Chain.parse(SPEC, device_props={"busy-ns": "20000", "ack-ns": "20000"}),
                      modules="lpt1284", add_files=[(data, "/root/big.bin")])
    printer = "/machine/peripheral/printer-0"
    mon = vm.qmp()
    # Set while nothing is written: not one byte
    qmp.qom_set(mon, printer, knob, True)
    result = vm.console.run("lptctl write 0 /root/big.bin")
    assert result.status == 1 and result.output.startswith("wrote 0\n")
    assert error in result.output
    qmp.qom_set(mon, printer, knob, False)
    # Set in the middle of a write, by the printer itself once it has taken
    # 5000 bytes (arm, arm-after): the bytes taken so far, then the error
    qmp.qom_set(mon, printer, "arm", knob)
    qmp.qom_set(mon, printer, "arm-after", 5000)
    result = vm.console.run("lptctl write 0 /root/big.bin", timeout=120)
    assert result.status == 1, result.output
    assert qmp.qom_get(mon, printer, knob) is True
    lines = result.output.splitlines()
    assert lines[0] == "wrote 5000" and error in lines[1], result.output
    assert (vm.rundir / "printer@0.bin").read_bytes() == data.read_bytes()[:5000]
    qmp.qom_set(mon, printer, "arm", "none")
    qmp.qom_set(mon, printer, knob, False)


def test_sample_client_module(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine, modules="lpt1284,lpt1284-sample",
              extra_append="lpt1284_sample.device=2 lpt1284_sample.message=kernel-hello")
    assert "lpt1284-sample: wrote 12 bytes to lpt0.2" in sh(vm, "dmesg")
    assert outputs(vm) == {"printer@0": b"", "loopback@1": b"", "printer@2": b"kernel-hello",
                           "printer@end": b""}


def test_unload_refused_while_open_then_reload(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine)
    result = vm.console.run("exec 3</dev/lpt0.1; rmmod lpt1284")
    assert result.status != 0
    sh(vm, "exec 3<&-; rmmod lpt1284; ls /dev/lpt0* 2>&1 | grep -c lpt0 || true")
    assert sh(vm, "ls /sys/class/lpt1284 2>&1 || true").endswith("No such file or directory")
    sh(vm, "modprobe lpt1284")
    assert sh(vm, "ls /dev/lpt0*").split() == [
        "/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1", "/dev/lpt0.2", "/dev/lpt0.4"]
    sh(vm, "echo again > /root/a.txt; lptctl write 2 /root/a.txt")
    assert outputs(vm)["printer@2"] == b"again\n"


def test_rescan_adds_and_removes_nodes(make_machine: Callable[..., Machine],
                                       tmp_path: Path) -> None:
    vm = boot(make_machine, spec="printer@0,loopback@1,printer@end")
    mon = vm.qmp()
    mon.command("chardev-add", id="hot", backend={
        "type": "file", "data": {"out": str(tmp_path / "hot.bin")}})
    mon.command("device_add", driver="ieee1284-printer", id="hot", chardev="hot",
                bus="lpt0.0", addr=2)
    assert "/dev/lpt0.2" not in sh(vm, "ls /dev/lpt0*")    # not until a rescan
    sh(vm, "lptctl rescan")
    assert sh(vm, f"cat {SYS}/lpt0/daisy_count") == "3"
    sh(vm, "echo hot > /root/h.txt; lptctl write 2 /root/h.txt")
    assert (tmp_path / "hot.bin").read_bytes() == b"hot\n"
    # Device 1 goes while open: its node stays until closed, I/O fails
    sh(vm, "exec 5>/dev/lpt0.1")
    mon.command("device_del", id="loopback-1")
    sh(vm, "lptctl rescan")
    assert sh(vm, f"cat {SYS}/lpt0/daisy_count") == "2"
    result = vm.console.run("echo x >&5")
    assert result.status != 0 and "No such device" in result.output
    sh(vm, "exec 5>&-")
    # Addresses are reassigned in chain order: the hot printer is now 1,
    # a new device with a node of its own
    assert "MDL:Virtual Printer;" in sh(vm, f"cat {SYS}/lpt0.1/device_id")
    assert sh(vm, "ls /dev/lpt0*").split() == ["/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1",
                                               "/dev/lpt0.4"]
    sh(vm, "lptctl write 1 /root/h.txt")
    assert (tmp_path / "hot.bin").read_bytes() == b"hot\nhot\n"


def test_ecp_writes_go_by_isa_dma(make_machine: Callable[..., Machine],
                                  tmp_path: Path) -> None:
    data = tmp_path / "big.bin"
    data.write_bytes(random.Random(9).randbytes(65536))
    vm = boot(make_machine, add_files=[(data, "/root/big.bin")],
              trace=["lpt1284_dma_transfer", "lpt1284_service_irq"])
    assert sh(vm, "lptctl write 0 /root/big.bin -m ecp") == "wrote 65536"
    assert outputs(vm)["printer@0"] == data.read_bytes()
    vm.shutdown()
    trace = vm.trace_log.read_text()
    # one bounce page per DMA block, each ending in a service interrupt
    assert trace.count("lpt1284_dma_transfer") >= 16
    assert trace.count("lpt1284_service_irq") >= 16


def test_two_ports(make_machine: Callable[..., Machine]) -> None:
    """Two controllers found through ACPI, each with its node, chain and queue."""
    vm = boot(make_machine, spec="printer@0,printer@end", extra_args=[
        "-device", "isa-lpt1284,id=lpt1,iobase=0x278,irq=5,dma=1",
        "-chardev", "null,id=second",
        "-device", "ieee1284-loopback,bus=lpt1.0,addr=0",
        "-device", "ieee1284-printer,bus=lpt1.0,chardev=second"])
    bases = {n: sh(vm, f"lptctl -p /dev/lpt{n} info | head -1") for n in (0, 1)}
    assert sorted(bases.values()) == ["base 0x278", "base 0x378"]
    first = next(n for n, base in bases.items() if base == "base 0x378")
    second = 1 - first
    assert sh(vm, f"ls /dev/lpt{second}*").split() == [
        f"/dev/lpt{second}", f"/dev/lpt{second}.0", f"/dev/lpt{second}.4"]
    assert "MDL:Loopback;" in sh(vm, f"cat {SYS}/lpt{second}.0/device_id")
    assert "MDL:Virtual Printer;" in sh(vm, f"cat {SYS}/lpt{first}.0/device_id")
    # The two queues are independent: one port is free while the other is
    # held (until released)
    hold(vm, "h0", f"-p /dev/lpt{first} alloc")
    assert sh(vm, f"lptctl -p /dev/lpt{second} try").startswith("allocated")
    sh(vm, f"echo one > /root/one; lptctl -p /dev/lpt{second} write 0 /root/one -m epp; "
           f"lptctl -p /dev/lpt{second} read 0 100 /root/back")
    assert sh(vm, "cat /root/back") == "one"
    assert owner(vm, f"lpt{first}") == pid_of(vm, "h0")
    assert owner(vm, f"lpt{second}") == "none"
    release(vm, "h0")
    assert owner(vm, f"lpt{first}") == "none"


def test_module_parameters_bind_a_port(make_machine: Callable[..., Machine]) -> None:
    """io=/io_hi=/irq=/dma= bind a port without PnP's help (PnP then finds
    it taken and leaves it)."""
    vm = boot(make_machine, modules="")
    sh(vm, "modprobe lpt1284 io=0x378 io_hi=0x778 irq=7 dma=3")
    assert sh(vm, "cat /sys/module/lpt1284/parameters/io") == "888"
    info = dict(line.split(None, 1) for line in sh(vm, "lptctl info").splitlines())
    assert (info["base"], info["base_hi"], info["irq"], info["dma"]) == \
        ("0x378", "0x778", "7", "3")
    assert sh(vm, "ls /dev/lpt*").split() == [
        "/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1", "/dev/lpt0.2", "/dev/lpt0.4"]
    sh(vm, "echo params > /root/p.txt; lptctl write 2 /root/p.txt")
    assert outputs(vm)["printer@2"] == b"params\n"
