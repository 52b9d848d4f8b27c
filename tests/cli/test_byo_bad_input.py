"""Bring your own guest (``--kernel``, ``--initrd``, ``--drive``): bad input
gets one clear error line, exit status 2 and nothing created; ``cmdline``
shows the user's kernel, initrd, drives and command line exactly; a foreign
guest runs from the CLI with stdin piped to its console."""

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from lptrig import paths
from lptrig.byo import Drive
from lptrig.chain import Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def lptrig(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(HARNESS), **env)
    return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A directory with a fake kernel, initrd, raw disk, qcow2 and vmdk image."""
    d = tmp_path / "files"
    d.mkdir()
    (d / "vmlinuz").write_bytes(b"kernel")
    (d / "initrd.img").write_bytes(b"initrd")
    (d / "disk.img").write_bytes(bytes(65536))
    (d / "disk.qcow2").write_bytes(b"QFI\xfb" + bytes(508))
    (d / "disk.vmdk").write_bytes(b"KDMV" + bytes(508))
    secret = d / "secret.img"
    secret.write_bytes(bytes(512))
    secret.chmod(0)
    ro = d / "ro.img"
    ro.write_bytes(bytes(512))
    ro.chmod(0o444)
    return d


#: (run arguments, with {d} the files directory; text the error must contain)
BAD = [
    (["--kernel", "{d}/nope"], "--kernel {d}/nope: no such file"),
    (["--kernel", "{d}"], "not a regular file"),
    (["--kernel", "{d}/vmlinuz", "--initrd", "{d}/nope.img"], "--initrd {d}/nope.img: no such file"),
    (["--initrd", "{d}/initrd.img"], "--initrd needs --kernel"),
    (["--drive", "{d}/nope.img"], "--drive {d}/nope.img: no such file"),
    (["--drive", "{d}/disk.img,if=virtio"], "'if=virtio' is not an option"),
    (["--drive", "{d}/disk.img,format=qcow2"], "format=qcow2 given, but the file is raw"),
    (["--drive", "{d}/disk.vmdk"], "a vmdk image"),
    (["--drive", "{d}/disk.img", "--", "true"], "COMMAND needs lptrig's own guest"),
    (["--kernel", "{d}/vmlinuz", "--", "true"], "COMMAND needs lptrig's own guest"),
    (["--kernel", "{d}/vmlinuz", "--modules", "lp"], "--modules needs lptrig's own guest"),
    (["--kernel", "{d}/vmlinuz", "--fifo"], "--fifo needs lptrig's own guest"),
    (["--drive", "{d}/disk.img", "--add", "{d}/vmlinuz"], "--add needs lptrig's own guest"),
    (["--drive", "{d}/disk.img", "--append", "quiet"], "--append is a kernel command line"),
    (["--ready", "login:"], "--ready is for a foreign guest"),
]
if os.geteuid() != 0:                 # root reads any file
    BAD += [(["--drive", "{d}/secret.img"], "cannot read it"),
            (["--drive", "{d}/ro.img,snapshot=off"], "cannot write it")]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_byo_input(files: Path, tmp_path: Path, args: List[str], message: str) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    argv = [a.format(d=files) for a in args]
    result = lptrig("run", "--chain", "printer@end", *argv, TMPDIR=str(tmpdir))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lptrig: error:"), result.stderr
    assert message.format(d=files) in lines[0]
    assert list(tmpdir.iterdir()) == []                 # nothing started


def test_cmdline_shows_the_foreign_guest_exactly(files: Path, tmp_path: Path) -> None:
    append = "console=ttyS0,115200 root=/dev/sda rw init=/sbin/init quiet"
    result = lptrig("cmdline", "--chain", "printer@0,printer@end", "--out", str(tmp_path / "o"),
                    "--kernel", str(files / "vmlinuz"), "--initrd", str(files / "initrd.img"),
                    "--drive", str(files / "disk.img"),
                    "--drive", f"{files}/disk.qcow2,snapshot=off",
                    "--append", append)
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    i = argv.index("-kernel")
    assert argv[i:i + 10] == [
        "-kernel", str(files / "vmlinuz"), "-initrd", str(files / "initrd.img"),
        "-append", append,
        "-drive", f"file={files}/disk.img,format=raw,if=ide,snapshot=on",
        "-drive", f"file={files}/disk.qcow2,format=qcow2,if=ide,snapshot=off"]
    assert "lptrig.load" not in result.stdout
    assert argv.count("-kernel") == 1 and argv.count("-initrd") == 1
    assert "-device" in argv and "ieee1284-printer,id=printer-0,chardev=chain-0,addr=0" in argv


def test_cmdline_disk_only_boots_the_bios(files: Path, tmp_path: Path) -> None:
    result = lptrig("cmdline", "--chain", "printer@end", "--out", str(tmp_path / "o"),
                    "--drive", f"{files}/disk.img,if=floppy")
    assert result.returncode == 0, result.stderr
    assert "-kernel" not in result.stdout and "-append" not in result.stdout
    assert f"-drive file={files}/disk.img,format=raw,if=floppy,snapshot=on" in result.stdout


def test_machine_refuses_lptrig_features_for_a_foreign_guest(files: Path,
                                                             tmp_path: Path) -> None:
    kernel = files / "vmlinuz"
    for kwargs, message in (
            (dict(kernel=kernel, modules="lpt1284"), "modules"),
            (dict(kernel=kernel, extra_append="x=1"), "extra_append"),
            (dict(drives=[files / "disk.img"], add_files=[(kernel, "/k")]), "add_files"),
            (dict(initrd=files / "initrd.img"), "needs its kernel"),
            (dict(drives=[files / "disk.img"], append="quiet"), "needs a kernel"),
            (dict(append="quiet"), "foreign kernel")):
        with pytest.raises(LptrigError, match=message):
            Machine(tmp_path / "run", Chain.parse("printer@end"), **kwargs)  # type: ignore
    vm = Machine(tmp_path / "run", Chain.parse("printer@end"), kernel=kernel,
                 drives=[Drive.parse(f"{files}/disk.img")], append="console=ttyS0")
    assert vm.foreign and vm.image is None and vm.kernel_cmdline() == "console=ttyS0"
    with pytest.raises(LptrigError, match="prints no 'lptrig: ready'"):
        vm.wait_ready()


@pytest.mark.guest
def test_run_a_foreign_kernel_with_stdin_piped(tmp_path: Path) -> None:
    """lptrig's own kernel and initramfs, given as if they were the user's:
    the command line is exactly --append, stdin goes to the console, the
    chain's output file and the logs are reported as usual."""
    image = paths.image("default")
    out = tmp_path / "out"
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    result = lptrig("run", "--chain", "printer@end", "--out", str(out),
                    "--kernel", str(image.kernel), "--initrd", str(image.initramfs),
                    "--drive", str(disk), "--ready", "lptrig# ",
                    "--append", "console=ttyS0 lptrig.load=parport_pc,lp",
                    stdin="cat /proc/cmdline; echo foreign > /dev/lp0\npoweroff -f\n")
    assert result.returncode == 0, result.stderr
    assert "console=ttyS0 lptrig.load=parport_pc,lp\n" in result.stdout
    assert (out / "printer@end.bin").read_bytes() == b"foreign\n"
    assert f"lptrig: printer@end: {out}/printer@end.bin" in result.stderr
    assert "lptrig: ready in" in result.stderr
    assert disk.read_bytes() == bytes(1 << 20)
