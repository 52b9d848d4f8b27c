"""Bad input gets one clear error line and a non-zero status: chain specs
and flags in the CLI, device properties in QEMU.  No traceback, no abort,
and a CLI run that starts nothing creates nothing."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from lptrig import paths

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def lptrig(*args: str, **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(HARNESS), **env)
    return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("spec,message", [
    ("scanner@end", "unknown"),
    ("printer@4", "address"),
    ("printer@x", "address"),
    ("printer@0,loopback@0", "used twice"),
    ("printer@end,loopback@end", "more than one end"),
    ("printer@end,,", "empty"),
    ("printer", "@"),
    ("pps@0", "can only be the end of the chain"),
    ("printer@0,i2c@2", "can only be the end of the chain"),
    ("laplink@end", "needs the far end of its cable"),
])
def test_bad_chain_spec(spec: str, message: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = lptrig("run", "--chain", spec, "--out", str(out), "--", "true")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lptrig: error:") and message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())   # nothing started


@pytest.mark.parametrize("args", [
    ["run", "--add", "/nonexistent/file", "--", "true"],
    ["run", "--timeout", "soon", "--", "true"],
    ["run", "--bogus"],
    ["run", "--chain", "printer@end", "--peer", "/tmp/x.sock", "--", "true"],
    ["run", "--chain", "pps@end", "--set", "pps@end", "--", "true"],
    ["run", "--chain", "pps@end", "--set", "printer@end:busy-ns=1", "--", "true"],
    ["run", "--chain", "pps@end", "--fault", "pps@end:paper-out=on", "--", "true"],
    ["run", "--chain", "i2c@end", "--fault", "i2c@end:drop=10", "--", "true"],
])
def test_bad_cli_flags(args: List[str]) -> None:
    result = lptrig(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


THIS = str(Path(__file__).resolve())


#: (run arguments, environment) that must fail before anything starts
NOTHING_STARTS: List[Tuple[List[str], Dict[str, str]]] = [
    (["--chain", "bogus@9"], {}),
    (["--chain", "printer@end,loopback@end"], {}),
    (["--add", "/nonexistent/file"], {}),
    (["--add", f"{THIS}:root/relative"], {}),
    (["--add", f"{THIS}:/root/../etc/x"], {}),
    (["--add", f"{THIS}:/root/"], {}),
    (["--modules", "parport_pc;reboot"], {}),
    (["--modules", "parport_pc,,lp"], {}),
    (["--modules", "lp ppdev"], {}),
    (["--timeout", "0"], {}),
    (["--timeout", "-1"], {}),
    (["--timeout", "nan"], {}),
    (["--boot-timeout", "0"], {}),
    (["--trace", "lpt1284*,enable=x"], {}),
    (["--trace", ""], {}),
    (["--out", THIS], {}),
    (["--timeout", "soon"], {}),
    (["--chain", "printer@end", "--stock"], {}),
    (["--bogus"], {}),
    ([], {"LPTRIG_QEMU": "/nonexistent/qemu"}),
    ([], {"LPTRIG_ACCEL": "warp"}),
]


@pytest.mark.parametrize("args,env", NOTHING_STARTS, ids=[
    " ".join(args) or " ".join(f"{k}={v}" for k, v in env.items())
    for args, env in NOTHING_STARTS])
def test_bad_input_creates_nothing(args: List[str], env: Dict[str, str],
                                   tmp_path: Path) -> None:
    """A run that starts nothing leaves nothing in $TMPDIR (no lptrig-run-*)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = lptrig("run", *args, "--", "true", TMPDIR=str(tmpdir), **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lptrig: error:"), result.stderr
    assert sorted(p.name for p in tmpdir.iterdir()) == []


def test_qemu_start_failure_keeps_logs(tmp_path: Path) -> None:
    """Once QEMU was started, its run directory and logs stay and are named."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = lptrig("run", "--", "true", TMPDIR=str(tmpdir), LPTRIG_QEMU="/bin/false")
    assert result.returncode == 3, result.stderr
    assert "QEMU exited with status 1 at start" in result.stderr
    assert "Traceback" not in result.stderr
    runs = list(tmpdir.iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("lptrig-run-"), runs
    assert (runs[0] / "qemu.log").is_file()
    assert f"{runs[0]}/qemu.log" in result.stderr


@pytest.mark.parametrize("device,message", [
    ("isa-lpt1284,iobase=0x379", "iobase 0x379 is not usable"),
    ("isa-lpt1284,iobase=0xfff8", "iobase 0xfff8 is not usable"),
    ("isa-lpt1284,irq=16", "irq 16 is not an ISA IRQ"),
    ("isa-lpt1284,dma=4", "dma 4 is not an 8-bit ISA DMA channel"),
    ("isa-lpt1284,dma=-2", "dma -2 is not"),
    ("isa-lpt1284,fifo-depth=1", "fifo-depth 1 is out of range"),
    ("isa-lpt1284,fifo-depth=4096", "fifo-depth 4096 is out of range"),
    ("isa-lpt1284,ecp=maybe", "ecp"),
])
def test_bad_controller_properties(device: str, message: str) -> None:
    result = subprocess.run([str(paths.qemu_binary()), "-M", "pc", "-nodefaults",
                             "-display", "none", "-L", str(paths.firmware_dir()),
                             "-device", device],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.parametrize("devices,message", [
    (["ieee1284-printer"], "No 'lpt1284-chain' bus"),
    (["isa-lpt1284", "ieee1284-printer,addr=4"], "addr 4 is not a chain position"),
    (["isa-lpt1284", "ieee1284-printer,addr=-3"], "addr -3 is not a chain position"),
    (["isa-lpt1284", "ieee1284-printer,addr=1", "ieee1284-loopback,addr=1"],
     "chain position 1 is already taken"),
    (["isa-lpt1284", "ieee1284-printer", "ieee1284-loopback"],
     "already has an end-of-chain device"),
    (["isa-lpt1284", "ieee1284-loopback,size=0"], "size 0 is out of range"),
    (["isa-lpt1284", "ieee1284-printer,busy-ns=1000000001"], "busy-ns and ack-ns"),
    (["isa-lpt1284", "ieee1284-printer,ack-ns=4000000000"], "busy-ns and ack-ns"),
    (["isa-lpt1284", "ieee1284-printer,addr=0", "ieee1284-printer,addr=0"],
     "chain position 0 is already taken"),
    (["isa-lpt1284", "ieee1284-printer,addr=0", "ieee1284-printer,addr=1",
      "ieee1284-printer,addr=2", "ieee1284-printer,addr=3", "ieee1284-printer,addr=4"],
     "addr 4 is not a chain position"),
])
def test_bad_chain_devices(devices: List[str], message: str) -> None:
    check_refused(devices, message)


def check_refused(devices: List[str], message: str) -> None:
    args = [str(paths.qemu_binary()), "-M", "pc", "-nodefaults", "-display", "none",
            "-L", str(paths.firmware_dir())]
    for device in devices:
        args += ["-device", device]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.mark.parametrize("devices,message", [
    # an I2C device with no adapter's bus
    (["isa-lpt1284", "tmp105,bus=i2c-end.0,address=0x48"], "Bus 'i2c-end.0' not found"),
    (["isa-lpt1284", "ieee1284-i2c,id=ad", "tmp105,bus=nope.0,address=0x48"],
     "Bus 'nope.0' not found"),
    (["isa-lpt1284", "ieee1284-i2c,stretch-ns=2000000000"], "stretch-ns 2000000000"),
    (["isa-lpt1284", "ieee1284-i2c,addr=0"], "not IEEE 1284.3-aware"),
    # a LapLink cable with no far end, or two
    (["isa-lpt1284", "ieee1284-laplink"], "needs its far end"),
    (["isa-lpt1284", "ieee1284-laplink,id=a,peer=b"], "its peer 'b' does not exist"),
    (["isa-lpt1284", "ieee1284-laplink,id=a,peer=a"], "cannot be its own peer"),
    (["isa-lpt1284", "ieee1284-laplink,peer=b"], "needs an id"),
    (["isa-lpt1284,id=p0", "isa-lpt1284,id=p1,iobase=0x278,irq=5,dma=1",
      "isa-lpt1284,id=p2,iobase=0x268,irq=4,dma=-1",
      "ieee1284-laplink,id=c,bus=p2.0,peer=b", "ieee1284-laplink,id=a,bus=p0.0,peer=b",
      "ieee1284-laplink,id=b,bus=p1.0,peer=c"],
     "names 'b' as its peer, but 'b' names 'c'"),
    # a PPS source with an impossible period
    (["isa-lpt1284", "ieee1284-pps,period-ns=0"], "period-ns 0 is out of range"),
    (["isa-lpt1284", "ieee1284-pps,phase-ns=1000000000"], "phase-ns 1000000000 must be"),
    (["isa-lpt1284", "ieee1284-pps,period-ns=1000,width-ns=1000"], "do not fit"),
    (["isa-lpt1284", "ieee1284-pps,jitter-ns=600000000"], "do not fit"),
    (["isa-lpt1284", "ieee1284-pps,addr=1"], "not IEEE 1284.3-aware"),
    # printer faults on a line-level peripheral
    (["isa-lpt1284", "ieee1284-pps,paper-out=on"], "has no fault 'paper-out'"),
    (["isa-lpt1284", "ieee1284-i2c,no-ack=on"], "has no fault 'no-ack'"),
])
def test_bad_line_peripherals(devices: List[str], message: str) -> None:
    check_refused(devices, message)
