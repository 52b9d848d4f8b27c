"""Bad input gets one clear error line and a non-zero status: chain specs
and flags in the CLI, device properties in QEMU.  No traceback, no abort,
and a CLI run that starts nothing creates nothing.  Every case names the
error it must give, word for word: a refusal for another reason (a
different check firing first) fails the test."""

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


#: the one error line of each bad chain spec, after "lptrig: error: "
BAD_SPECS = [
    ("scanner@end", "unknown peripheral kind 'scanner' in chain item 'scanner@end' "
                    "(known: i2c, laplink, loopback, pps, printer)"),
    ("printer@4", "bad address '4' in chain item 'printer@4' (use 0, 1, 2, 3 or end)"),
    ("printer@x", "bad address 'x' in chain item 'printer@x' (use 0, 1, 2, 3 or end)"),
    ("printer@0,loopback@0", "address 0 is used twice in chain spec 'printer@0,loopback@0'"),
    ("printer@end,loopback@end",
     "chain spec 'printer@end,loopback@end' has more than one end device"),
    ("printer@end,,", "empty item in chain spec 'printer@end,,'"),
    ("printer", "chain item 'printer' needs an address: printer@0..3 or printer@end"),
    ("pps@0", "chain item 'pps@0': pps is not an IEEE 1284.3 daisy device, it can only be "
              "the end of the chain: pps@end"),
    ("printer@0,i2c@2", "chain item 'i2c@2': i2c is not an IEEE 1284.3 daisy device, it can "
                        "only be the end of the chain: i2c@end"),
    ("laplink@end", "laplink@end needs the far end of its cable: a peer "
                    "(lptrig run --peer [listen:]SOCKET)"),
]


def one_error(result: subprocess.CompletedProcess) -> str:
    """The text of the one ``lptrig: error:`` line a refused run prints
    with exit status 2 (and nothing else on stderr, no traceback)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lptrig: error: "), result.stderr
    return lines[0][len("lptrig: error: "):]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[s for s, _ in BAD_SPECS])
def test_bad_chain_spec(spec: str, message: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = lptrig("run", "--chain", spec, "--out", str(out), "--", "true")
    assert one_error(result) == message
    assert not out.exists() or not any(out.iterdir())   # nothing started


#: (run arguments, the error line after "lptrig: error: ")
BAD_FLAGS: List[Tuple[List[str], str]] = [
    (["--add", "/nonexistent/file", "--", "true"],
     "--add /nonexistent/file: no such file '/nonexistent/file'"),
    (["--timeout", "soon", "--", "true"],
     "argument --timeout: invalid float value: 'soon' (see --help)"),
    (["--bogus"], "unrecognized arguments: --bogus (see --help)"),
    (["--chain", "printer@end", "--peer", "/tmp/x.sock", "--", "true"],
     "a peer is the far end of a LapLink cable: put laplink@end on the chain"),
    (["--chain", "pps@end", "--set", "pps@end", "--", "true"],
     "--set 'pps@end': write it as KIND@ADDR:PROPERTY=VALUE, e.g. pps@end:period-ns=500000000"),
    (["--chain", "pps@end", "--set", "printer@end:busy-ns=1", "--", "true"],
     "--set on printer@end: no such peripheral on the chain (pps@end)"),
    (["--chain", "pps@end", "--fault", "pps@end:paper-out=on", "--", "true"],
     "fault on pps@end: a pps is not an IEEE 1284 device and has no paper-out "
     "(its knobs: disconnect, no-ack)"),
    pytest.param(
        ["--chain", "i2c@end", "--fault", "i2c@end:drop=10", "--", "true"],
        "fault on i2c@end: an i2c is not an IEEE 1284 device and has no drop "
        "(its knobs: disconnect)"),
]


@pytest.mark.parametrize("args,message", BAD_FLAGS,
                         ids=[" ".join(getattr(c, "values", c)[0]) for c in BAD_FLAGS])
def test_bad_cli_flags(args: List[str], message: str) -> None:
    assert one_error(lptrig("run", *args)) == message


THIS = str(Path(__file__).resolve())


#: (run arguments, environment, the error line after "lptrig: error: ") of
#: runs that must fail before anything starts
NOTHING_STARTS: List[Tuple[List[str], Dict[str, str], str]] = [
    (["--chain", "bogus@9"], {}, "unknown peripheral kind 'bogus' in chain item 'bogus@9' "
                                 "(known: i2c, laplink, loopback, pps, printer)"),
    (["--chain", "printer@end,loopback@end"], {},
     "chain spec 'printer@end,loopback@end' has more than one end device"),
    (["--add", "/nonexistent/file"], {},
     "--add /nonexistent/file: no such file '/nonexistent/file'"),
    (["--add", f"{THIS}:root/relative"], {},
     f"--add {THIS}:root/relative: the guest path must be absolute"),
    (["--add", f"{THIS}:/root/../etc/x"], {},
     f"--add {THIS}:/root/../etc/x: the guest path must name a file, without '..'"),
    (["--add", f"{THIS}:/root/"], {},
     f"--add {THIS}:/root/: the guest path must name a file, without '..'"),
    (["--modules", "parport_pc;reboot"], {},
     "--modules parport_pc;reboot: 'parport_pc;reboot' is not a module name "
     "(comma-separated names like parport_pc,lp,ppdev)"),
    (["--modules", "parport_pc,,lp"], {},
     "--modules parport_pc,,lp: '' is not a module name "
     "(comma-separated names like parport_pc,lp,ppdev)"),
    (["--modules", "lp ppdev"], {},
     "--modules lp ppdev: 'lp ppdev' is not a module name "
     "(comma-separated names like parport_pc,lp,ppdev)"),
    (["--timeout", "0"], {}, "--timeout 0: give a number of seconds above 0"),
    (["--timeout", "-1"], {}, "--timeout -1: give a number of seconds above 0"),
    (["--timeout", "nan"], {}, "--timeout nan: give a number of seconds above 0"),
    (["--boot-timeout", "0"], {}, "--boot-timeout 0: give a number of seconds above 0"),
    (["--trace", "lpt1284*,enable=x"], {},
     "--trace 'lpt1284*,enable=x': give one non-empty event pattern without commas "
     "(repeat --trace for more)"),
    (["--trace", ""], {},
     "--trace '': give one non-empty event pattern without commas (repeat --trace for more)"),
    (["--out", THIS], {}, f"--out {THIS}: exists and is not a directory"),
    (["--timeout", "soon"], {}, "argument --timeout: invalid float value: 'soon' (see --help)"),
    (["--chain", "printer@end", "--stock"], {},
     "argument --stock: not allowed with argument --chain (see --help)"),
    (["--bogus"], {}, "unrecognized arguments: --bogus (see --help)"),
    ([], {"LPTRIG_QEMU": "/nonexistent/qemu"},
     "LPTRIG_QEMU=/nonexistent/qemu is not an executable file"),
    ([], {"LPTRIG_ACCEL": "warp"}, "LPTRIG_ACCEL must be kvm, tcg or auto, not 'warp'"),
]


@pytest.mark.parametrize("args,env,message", NOTHING_STARTS, ids=[
    " ".join(args) or " ".join(f"{k}={v}" for k, v in env.items())
    for args, env, _ in NOTHING_STARTS])
def test_bad_input_creates_nothing(args: List[str], env: Dict[str, str], message: str,
                                   tmp_path: Path) -> None:
    """A run that starts nothing leaves nothing in $TMPDIR (no lptrig-run-*)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    result = lptrig("run", *args, "--", "true", TMPDIR=str(tmpdir), **env)
    assert one_error(result) == message
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


NOT_A_POSITION = ("is not a chain position: use 0-3 for a daisy device, or leave it unset "
                  "for the end of the chain")
NOT_DOT3 = ("is not IEEE 1284.3-aware: it can only be the end-of-chain device "
            "(leave addr unset)")
PPS_FIT = "width-ns must be at least 1 and width + 2 * jitter less than the period"


@pytest.mark.parametrize("device,message", [
    ("isa-lpt1284,iobase=0x379", "iobase 0x379 is not usable: it must be 8-aligned and at "
                                 "most 0xfbf8"),
    ("isa-lpt1284,iobase=0xfff8", "iobase 0xfff8 is not usable: it must be 8-aligned and at "
                                  "most 0xfbf8"),
    ("isa-lpt1284,irq=16", "irq 16 is not an ISA IRQ: use 0-15"),
    ("isa-lpt1284,dma=4", "dma 4 is not an 8-bit ISA DMA channel: use 0-3, or -1 for none"),
    ("isa-lpt1284,dma=-2", "dma -2 is not an 8-bit ISA DMA channel: use 0-3, or -1 for none"),
    ("isa-lpt1284,fifo-depth=1", "fifo-depth 1 is out of range: use 2-128"),
    ("isa-lpt1284,fifo-depth=4096", "fifo-depth 4096 is out of range: use 2-128"),
    ("isa-lpt1284,ecp=maybe", "Parameter 'ecp' expects 'on' or 'off'"),
])
def test_bad_controller_properties(device: str, message: str) -> None:
    result = subprocess.run([str(paths.qemu_binary()), "-M", "pc", "-nodefaults",
                             "-display", "none", "-L", str(paths.firmware_dir()),
                             "-device", device],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].endswith(f"-device {device}: {message}"), result.stderr


# Each message is QEMU's whole error line after "qemu-system-x86_64: ": the
# -device option it names (the last of the list unless said) and the reason.
@pytest.mark.parametrize("devices,message", [
    (["ieee1284-printer"], "-device ieee1284-printer: No 'lpt1284-chain' bus found for "
                           "device 'ieee1284-printer'"),
    (["isa-lpt1284", "ieee1284-printer,addr=4"],
     f"-device ieee1284-printer,addr=4: addr 4 {NOT_A_POSITION}"),
    (["isa-lpt1284", "ieee1284-printer,addr=-3"],
     f"-device ieee1284-printer,addr=-3: addr -3 {NOT_A_POSITION}"),
    (["isa-lpt1284", "ieee1284-printer,addr=1", "ieee1284-loopback,addr=1"],
     "-device ieee1284-loopback,addr=1: chain position 1 is already taken (ieee1284-printer)"),
    (["isa-lpt1284", "ieee1284-printer", "ieee1284-loopback"],
     "-device ieee1284-loopback: the chain already has an end-of-chain device "
     "(ieee1284-printer): a cable has one end"),
    (["isa-lpt1284", "ieee1284-loopback,size=0"],
     "-device ieee1284-loopback,size=0: size 0 is out of range: use 1-1048576"),
    (["isa-lpt1284", "ieee1284-printer,busy-ns=1000000001"],
     "-device ieee1284-printer,busy-ns=1000000001: busy-ns and ack-ns must be at most "
     "1000000000 (1 s)"),
    (["isa-lpt1284", "ieee1284-printer,ack-ns=4000000000"],
     "-device ieee1284-printer,ack-ns=4000000000: busy-ns and ack-ns must be at most "
     "1000000000 (1 s)"),
    (["isa-lpt1284", "ieee1284-printer,addr=0", "ieee1284-printer,addr=0"],
     "-device ieee1284-printer,addr=0: chain position 0 is already taken (ieee1284-printer)"),
    (["isa-lpt1284", "ieee1284-printer,addr=0", "ieee1284-printer,addr=1",
      "ieee1284-printer,addr=2", "ieee1284-printer,addr=3", "ieee1284-printer,addr=4"],
     f"-device ieee1284-printer,addr=4: addr 4 {NOT_A_POSITION}"),
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
    assert len(lines) == 1, result.stderr
    assert lines[0].split(": ", 1)[1] == message, result.stderr


@pytest.mark.parametrize("devices,message", [
    # an I2C device with no adapter's bus
    (["isa-lpt1284", "tmp105,bus=i2c-end.0,address=0x48"],
     "-device tmp105,bus=i2c-end.0,address=0x48: Bus 'i2c-end.0' not found"),
    (["isa-lpt1284", "ieee1284-i2c,id=ad", "tmp105,bus=nope.0,address=0x48"],
     "-device tmp105,bus=nope.0,address=0x48: Bus 'nope.0' not found"),
    (["isa-lpt1284", "ieee1284-i2c,stretch-ns=2000000000"],
     "-device ieee1284-i2c,stretch-ns=2000000000: stretch-ns 2000000000 is more than a "
     "second, longer than Linux's i2c-algo-bit waits for SCL"),
    (["isa-lpt1284", "ieee1284-i2c,addr=0"],
     f"-device ieee1284-i2c,addr=0: ieee1284-i2c {NOT_DOT3}"),
    # a LapLink cable with no far end, or two
    (["isa-lpt1284", "ieee1284-laplink"],
     "-device ieee1284-laplink: ieee1284-laplink needs its far end: peer=ID (the "
     "ieee1284-laplink on another port of this QEMU) or chardev=ID (a socket to another "
     "QEMU)"),
    # (named by the device, not the option: the peers are checked once all exist)
    (["isa-lpt1284", "ieee1284-laplink,id=a,peer=b"],
     "ieee1284-laplink 'a': its peer 'b' does not exist: add -device "
     "ieee1284-laplink,id=b,peer=a on another port"),
    (["isa-lpt1284", "ieee1284-laplink,id=a,peer=a"],
     "-device ieee1284-laplink,id=a,peer=a: ieee1284-laplink 'a' cannot be its own peer"),
    (["isa-lpt1284", "ieee1284-laplink,peer=b"],
     "-device ieee1284-laplink,peer=b: ieee1284-laplink with peer=b needs an id, for the "
     "peer to name it"),
    (["isa-lpt1284,id=p0", "isa-lpt1284,id=p1,iobase=0x278,irq=5,dma=1",
      "isa-lpt1284,id=p2,iobase=0x268,irq=4,dma=-1",
      "ieee1284-laplink,id=c,bus=p2.0,peer=b", "ieee1284-laplink,id=a,bus=p0.0,peer=b",
      "ieee1284-laplink,id=b,bus=p1.0,peer=c"],
     "ieee1284-laplink 'a' names 'b' as its peer, but 'b' names 'c': the two ends name "
     "each other"),
    # a PPS source with an impossible period
    (["isa-lpt1284", "ieee1284-pps,period-ns=0"],
     "-device ieee1284-pps,period-ns=0: period-ns 0 is out of range: use 1 to "
     "3600000000000 (an hour)"),
    (["isa-lpt1284", "ieee1284-pps,phase-ns=1000000000"],
     "-device ieee1284-pps,phase-ns=1000000000: phase-ns 1000000000 must be less than "
     "period-ns 1000000000"),
    (["isa-lpt1284", "ieee1284-pps,period-ns=1000,width-ns=1000"],
     "-device ieee1284-pps,period-ns=1000,width-ns=1000: width-ns 1000 and jitter-ns 0 "
     f"do not fit in period-ns 1000: {PPS_FIT}"),
    (["isa-lpt1284", "ieee1284-pps,jitter-ns=600000000"],
     "-device ieee1284-pps,jitter-ns=600000000: width-ns 1000000 and jitter-ns 600000000 "
     f"do not fit in period-ns 1000000000: {PPS_FIT}"),
    (["isa-lpt1284", "ieee1284-pps,addr=1"],
     f"-device ieee1284-pps,addr=1: ieee1284-pps {NOT_DOT3}"),
    # printer faults on a line-level peripheral
    (["isa-lpt1284", "ieee1284-pps,paper-out=on"],
     "-device ieee1284-pps,paper-out=on: ieee1284-pps has no fault 'paper-out': it is not "
     "an IEEE 1284 device; its faults are disconnect and no-ack"),
    (["isa-lpt1284", "ieee1284-i2c,no-ack=on"],
     "-device ieee1284-i2c,no-ack=on: ieee1284-i2c has no fault 'no-ack': it is not an "
     "IEEE 1284 device; its faults are disconnect"),
])
def test_bad_line_peripherals(devices: List[str], message: str) -> None:
    check_refused(devices, message)
