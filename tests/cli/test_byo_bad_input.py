"""Bring your own guest (``--kernel``, ``--initrd``, ``--drive``): bad input
gets one clear error line, exit status 2 and nothing created; ``cmdline``
shows the user's kernel, initrd, drives and command line exactly; a foreign
guest runs from the CLI with stdin piped to its console."""

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import pytest

from lptrig import paths
from lptrig.byo import Drive
from lptrig.chain import Chain
from lptrig.errors import LptrigError
from lptrig.machine import Machine

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def lptrig(*args: str, stdin: str = "", prefix: Sequence[str] = (),
           **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(HARNESS), **env)
    return subprocess.run([*prefix, sys.executable, "-m", "lptrig", *args], env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)


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


OWN_GUEST = ("needs lptrig's own guest (its /init runs commands, copies files and loads "
             "modules); with --kernel/--drive use the interactive console")

#: (run arguments, with {d} the files directory; the error line after
#: "lptrig: error: ")
BAD = [
    (["--kernel", "{d}/nope"], "--kernel {d}/nope: no such file"),
    (["--kernel", "{d}"], "--kernel {d}: not a regular file"),
    (["--kernel", "{d}/vmlinuz", "--initrd", "{d}/nope.img"], "--initrd {d}/nope.img: no such file"),
    (["--kernel", "{d}/vmlinuz", "--initrd", "{d}"], "--initrd {d}: not a regular file"),
    (["--initrd", "{d}/initrd.img"], "--initrd needs --kernel (the kernel that unpacks it)"),
    (["--drive", "{d}/nope.img"], "--drive {d}/nope.img: no such file"),
    (["--drive", "{d}"], "--drive {d}: not a regular file"),
    (["--drive", "{d}/disk.img,if=virtio"],
     "--drive '{d}/disk.img,if=virtio': 'if=virtio' is not an option here (if=ide|floppy, "
     "format=raw|qcow2, snapshot=on|off; a path with a comma cannot be given)"),
    (["--drive", "{d}/disk.img,format=qcow2"],
     "--drive {d}/disk.img: format=qcow2 given, but the file is raw"),
    (["--drive", "{d}/disk.vmdk"],
     "--drive {d}/disk.vmdk: a vmdk image; lptrig takes raw and qcow2 "
     "(qemu-img convert -O qcow2 {d}/disk.vmdk IMG.qcow2)"),
    (["--drive", "{d}/disk.img", "--", "true"], f"-- COMMAND {OWN_GUEST}"),
    (["--kernel", "{d}/vmlinuz", "--", "true"], f"-- COMMAND {OWN_GUEST}"),
    (["--kernel", "{d}/vmlinuz", "--modules", "lp"], f"--modules {OWN_GUEST}"),
    (["--kernel", "{d}/vmlinuz", "--fifo"], f"--fifo {OWN_GUEST}"),
    (["--drive", "{d}/disk.img", "--add", "{d}/vmlinuz"], f"--add {OWN_GUEST}"),
    (["--drive", "{d}/disk.img", "--append", "quiet"],
     "--append is a kernel command line: it needs --kernel (a disk boots with its own)"),
    (["--ready", "login:"],
     "--ready is for a foreign guest (--kernel, --drive): lptrig's own says 'lptrig: ready'"),
]

#: the permission cases: a file the user cannot read (mode 0), or cannot
#: write (0444) for snapshot=off.  Root reads and writes any file (its
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), and make test runs as root: then
#: lptrig runs without those two capabilities (setpriv), as uid 0 still,
#: so the permission bits count for it as for any user, and the check runs.
PERMISSIONS = [
    (["--kernel", "{d}/secret.img"], "--kernel {d}/secret.img: cannot read it (permissions)"),
    (["--kernel", "{d}/vmlinuz", "--initrd", "{d}/secret.img"],
     "--initrd {d}/secret.img: cannot read it (permissions)"),
    (["--drive", "{d}/secret.img"], "--drive {d}/secret.img: cannot read it (permissions)"),
    (["--drive", "{d}/ro.img,snapshot=off"],
     "--drive {d}/ro.img: cannot write it (permissions); snapshot=on leaves it unchanged"),
]
#: how lptrig is run for PERMISSIONS
AS_A_USER = (["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
             if os.geteuid() == 0 else [])


def check_refused(files: Path, tmp_path: Path, args: List[str], message: str,
                  prefix: Sequence[str] = ()) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    argv = [a.format(d=files) for a in args]
    result = lptrig("run", "--chain", "printer@end", *argv, TMPDIR=str(tmpdir), prefix=prefix)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lptrig: error: "), result.stderr
    assert lines[0][len("lptrig: error: "):] == message.format(d=files)
    assert list(tmpdir.iterdir()) == []                 # nothing started


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_byo_input(files: Path, tmp_path: Path, args: List[str], message: str) -> None:
    check_refused(files, tmp_path, args, message)


@pytest.mark.parametrize("args,message", PERMISSIONS, ids=[" ".join(a) for a, _ in PERMISSIONS])
def test_a_file_the_user_cannot_use(files: Path, tmp_path: Path, args: List[str],
                                    message: str) -> None:
    check_refused(files, tmp_path, args, message, AS_A_USER)


def test_the_permission_cases_are_real(files: Path) -> None:
    """The files of PERMISSIONS are what they claim for the user they are
    checked as: one it cannot read, one it cannot write (a check that
    cannot fail would pass silently as root)."""
    probe = ("import os, sys; print(os.access(sys.argv[1], os.R_OK), "
             "os.access(sys.argv[2], os.W_OK), os.access(sys.argv[3], os.R_OK))")
    out = subprocess.run([*AS_A_USER, sys.executable, "-c", probe, str(files / "secret.img"),
                          str(files / "ro.img"), str(files / "disk.img")],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.split() == ["False", "False", "True"]


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
