"""A second guest, built differently, brought as a foreign guest: Debian's
PREEMPT_RT kernel (linux-image-$RT_KVER, the pinned kernel's real-time
flavour) with a generic initramfs that mounts its root file system from a
disk image and switch_roots to it (images/rt/).  Nothing of lptrig's
image or /init: the harness boots it with Machine(kernel=, initrd=,
drives=, append=) and waits for its own prompt.

On the chain printer@0,printer@1,loopback@2,printer@3,printer@end Linux's
parport_pc and daisy.c find the four daisy devices, lp prints to the end
device and ppdev writes reach each daisy device; then with Linux's stack
unloaded, lpt1284.ko built for the RT kernel passes the driver's ordering
(strict FIFO allocate) and routing checks (tests/guest/driver_checks.py,
as test_driver.py runs them on lptrig's guest).  The files to print come
on a second disk: a foreign guest takes no --add.
"""

import random
import re
from pathlib import Path
from typing import Callable, Dict, Tuple

import pytest

from driver_checks import (check_allocate_is_strictly_fifo, check_writes_land_at_their_device,
                           outputs, sh)
from lptrig import paths
from lptrig.byo import Drive
from lptrig.chain import Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

TOP = Path(__file__).resolve().parents[2]
SPEC = "printer@0,printer@1,loopback@2,printer@3,printer@end"
#: root by label: the two IDE disks' sd names depend on the order of sd_mod's
#: asynchronous probes (/dev/sda is the data disk now and then); the kernel's
#: console is COM2, which the rig logs to kernel.log and checks, and its init
#: puts the shell on ttyS0 (docs/rig.md "Snapshot boot")
APPEND = ("loglevel=5 console=ttyS1,115200 "
          "root=LABEL=rtroot rw panic=-1 no_timer_check parport.dyndbg=+p")
#: sectors of images/rt/build.sh's ROOTFS_SIZE (48M)
ROOTFS_SECTORS = 48 << 11
#: PS1 of the RT guest's /sbin/init (images/rt/init)
PROMPT = "rt# "
PROC = "/proc/sys/dev/parport/parport0"


def rt_kver() -> str:
    text = (TOP / "scripts" / "versions.sh").read_text()
    match = re.search(r"^RT_KVER=(\S+)$", text, re.MULTILINE)
    assert match, "RT_KVER missing in scripts/versions.sh"
    return match.group(1)


def rt_image() -> Path:
    rt = paths.cache_dir() / "images" / "rt"
    for name in ("vmlinuz", "initrd.cpio.gz", "rootfs.img"):
        if not (rt / name).is_file():
            raise LptrigError(f"the RT guest is not built ({rt / name} missing): "
                              "run `make image` or images/rt/build.sh")
    return rt


def data_disk(path: Path, blobs: Dict[str, bytes]) -> Dict[str, Tuple[int, int]]:
    """A raw disk with the blobs one after another, each 512-byte aligned;
    returns each one's (offset, size)."""
    where = {}
    image = b""
    for name, data in blobs.items():
        where[name] = (len(image), len(data))
        image += data + bytes(-len(data) % 512)
    path.write_bytes(image + bytes(512))
    return where


def all_blobs() -> Dict[str, bytes]:
    """The files both tests print, on one data disk: the same disk, so the
    same snapshot serves both (its contents are part of the key)."""
    rng = random.Random(61176)
    blobs = {f"d{n}.bin": rng.randbytes(3000 + 500 * n) for n in range(4)}
    rng = random.Random(1284)
    blobs.update({"a.bin": rng.randbytes(100000), "b.bin": rng.randbytes(90000),
                  "c.bin": rng.randbytes(70000), "e.bin": rng.randbytes(50000)})
    return blobs


def boot_rt(make_machine: Callable[..., Machine], tmp_path: Path,
            blobs: Dict[str, bytes]) -> Machine:
    """The RT guest with ``blobs`` copied from its second disk to /root/NAME."""
    rt = rt_image()
    where = data_disk(tmp_path / "data.img", blobs)
    vm = make_machine(Chain.parse(SPEC), kernel=rt / "vmlinuz", initrd=rt / "initrd.cpio.gz",
                      drives=[Drive.parse(rt / "rootfs.img"),
                              Drive.parse(tmp_path / "data.img")],
                      append=APPEND, ready=PROMPT, prompt=PROMPT)
    print(f"RT guest ready in {vm.boot_time:.1f} s")
    data = sh(vm, 'for d in /dev/sd?; do grep -q "^$d " /proc/mounts || echo $d; done')
    assert re.fullmatch(r"/dev/sd[ab]", data), data
    for name, (offset, size) in where.items():
        sh(vm, f"dd if={data} bs=512 skip={offset // 512} count={-(-size // 512)} "
               f"2>/dev/null | head -c {size} > /root/{name}")
    return vm


def test_rt_guest_boots_from_its_disk_and_linux_finds_the_chain(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    blobs = all_blobs()
    vm = boot_rt(make_machine, tmp_path, blobs)
    assert vm.foreign
    # the kernel: Debian's RT flavour, with exactly our command line
    assert sh(vm, "uname -r") == rt_kver()
    assert "PREEMPT_RT" in sh(vm, "uname -v")
    assert sh(vm, "cat /proc/cmdline") == APPEND
    # root is the ext4 file system on the first disk, not an initramfs
    mounts = sh(vm, "cat /proc/mounts").splitlines()
    root = [line.split() for line in mounts if line.split()[1] == "/"]
    root = [r[:3] for r in root if r[0] != "rootfs"]
    assert len(root) == 1 and re.fullmatch(r"/dev/sd[ab]", root[0][0]), mounts
    assert root[0][1:] == ["/", "ext4"], mounts
    disk = root[0][0][len("/dev/"):]
    assert sh(vm, f"cat /sys/block/{disk}/size") == str(ROOTFS_SECTORS)
    assert f"rtguest: {rt_kver()}, root /dev/{disk} (ext4)" in vm.console_log.read_text()
    # Linux's own stack: parport_pc's daisy.c scan found the four devices
    lsmod = sh(vm, "lsmod")
    assert all(re.search(rf"^{m}\s", lsmod, re.MULTILINE)
               for m in ("parport_pc", "lp", "ppdev")), lsmod
    assert "lpt1284" not in lsmod
    assert "parport0: Found 4 daisy-chained devices" in sh(vm, "dmesg")
    models = {0: "Virtual Printer", 1: "Virtual Printer", 2: "Loopback", 3: "Virtual Printer"}
    for i, model in models.items():
        assert f"MODEL:{model};" in sh(vm, f"cat {PROC}/autoprobe{i}"), i
    assert "MODEL:Virtual Printer;" in sh(vm, f"cat {PROC}/autoprobe")
    assert set(outputs(vm).values()) == {b""}        # the scan printed nothing
    # lp (no daisy select: Linux's lp binds the port) prints to the end device
    sh(vm, "echo lp-on-preempt-rt > /dev/lp0")
    # ppdev with a 1284.3 select writes to each daisy device, and only there
    for n in (2, 0, 3, 1):
        size = len(blobs[f"d{n}.bin"])
        assert sh(vm, f"ppdev_xfer -s {n} write compat /root/d{n}.bin") == f"wrote {size}"
    assert outputs(vm) == {"printer@0": blobs["d0.bin"], "printer@1": blobs["d1.bin"],
                           "loopback@2": blobs["d2.bin"], "printer@3": blobs["d3.bin"],
                           "printer@end": b"lp-on-preempt-rt\n"}


def test_lpt1284_on_the_rt_kernel(make_machine: Callable[..., Machine],
                                  tmp_path: Path) -> None:
    blobs = all_blobs()
    vm = boot_rt(make_machine, tmp_path, blobs)
    # Linux's stack out, ours in (the two never drive the port together)
    sh(vm, "rmmod lp ppdev parport_pc parport")
    assert "parport" not in sh(vm, "lsmod")
    sh(vm, "modprobe lpt1284")
    vermagic = sh(vm, "modinfo -F vermagic /lib/modules/$(uname -r)/extra/lpt1284.ko")
    assert vermagic.startswith(rt_kver() + " ") and "preempt_rt" in vermagic
    assert sh(vm, "ls /dev/lpt0*").split() == [
        "/dev/lpt0", "/dev/lpt0.0", "/dev/lpt0.1", "/dev/lpt0.2", "/dev/lpt0.3", "/dev/lpt0.4"]
    assert sh(vm, "cat /sys/class/lpt1284/lpt0/daisy_count") == "4"
    # ordering: allocate, lock and select wait in one strictly FIFO queue
    check_allocate_is_strictly_fifo(vm, lock=(0, 2, 4))
    # routing: four writers at once, each device gets its own bytes
    check_writes_land_at_their_device(vm, {
        0: ("/root/a.bin", blobs["a.bin"]), 1: ("/root/b.bin", blobs["b.bin"]),
        3: ("/root/c.bin", blobs["c.bin"]), 4: ("/root/e.bin", blobs["e.bin"])})
    # the loopback answers through our driver on this kernel too
    sh(vm, "head -c 300 /root/a.bin > /root/in; lptctl write 2 /root/in -m ecp")
    assert sh(vm, "lptctl read 2 1000 /root/out -m nibble; cmp /root/in /root/out && "
                  "echo same").splitlines() == ["read 300", "same"]
    sh(vm, "rmmod lpt1284")
