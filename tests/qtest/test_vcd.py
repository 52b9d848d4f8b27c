"""qtest: the cable's Value Change Dump, read by Debian's sigrok-cli.

isa-lpt1284's "trace-vcd" property writes every line of the cable as a
1-bit wire with virtual-time stamps.  sigrok-cli's VCD input and its
"parallel" protocol decoder, clocked on nStrobe, must give back exactly
the bytes the printer received.
"""

import shutil
import subprocess
from pathlib import Path

from lptrig.chain import Chain
from lptrig.qtest import QTest

from host1284 import CONTROL, DATA, NIBBLE, Host

SIGROK = shutil.which("sigrok-cli")
DECODER = ("parallel:clk=nStrobe:" +
           ":".join(f"d{i}=D{i}" for i in range(8)))


def decode(vcd: Path) -> bytes:
    """The bytes sigrok's parallel decoder sees on the data lines."""
    assert SIGROK, "sigrok-cli is missing: run make deps"
    # stdbuf: sigrok-cli 0.7.2 may abort at exit (libsigrokdecode's
    # Python finalisation) before its stdout buffer is written
    out = subprocess.run(["stdbuf", "-oL", SIGROK, "-I", "vcd", "-i", str(vcd),
                          "-P", DECODER, "-A", "parallel=items"],
                         capture_output=True, text=True, timeout=60, check=False)
    items = [line.split(":")[1].strip() for line in out.stdout.splitlines()
             if line.startswith("parallel-1:")]
    return bytes(int(item, 16) for item in items)


def test_vcd_of_a_compatibility_print_decodes_to_the_printed_bytes(tmp_path: Path) -> None:
    vcd = tmp_path / "cable.vcd"
    payload = bytes(range(32, 127)) + b"\r\n" + bytes([0x00, 0xff, 0x55, 0xaa])
    chain = Chain.parse("printer@end", props={"trace-vcd": str(vcd)})
    with QTest(tmp_path / "run", chain) as qt:
        host = Host(qt)
        for byte in payload:
            qt.outb(DATA, byte)
            qt.clock_step(500)                  # data set up
            qt.outb(CONTROL, 0x0D)
            qt.clock_step(500)                  # strobe width
            qt.outb(CONTROL, 0x0C)
            qt.clock_step(1000)
        # sigrok's parallel decoder reports an item at the next clock edge:
        # the negotiation that follows a print (one nStrobe pulse) is it
        assert host.negotiate(NIBBLE)
        host.terminate()
    printed = (tmp_path / "run" / "printer@end.bin").read_bytes()
    assert printed == payload
    assert decode(vcd) == printed
    text = vcd.read_text()
    assert "$timescale 1ns $end" in text
    assert text.count("$var wire 1 ") == 30
    # GTKWave's own reader takes it without a word (vcd2fst, its converter)
    fst = tmp_path / "cable.fst"
    conv = subprocess.run(["vcd2fst", str(vcd), str(fst)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (conv.returncode, conv.stdout, conv.stderr) == (0, "", "")
    assert fst.stat().st_size > 0


def test_bad_vcd_path_is_one_error(tmp_path: Path) -> None:
    from lptrig import paths
    result = subprocess.run([str(paths.qemu_binary()), "-M", "pc", "-nodefaults",
                             "-display", "none", "-L", str(paths.firmware_dir()),
                             "-device", f"isa-lpt1284,trace-vcd={tmp_path}/no/such/dir/x.vcd"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot write the VCD trace" in lines[0], result.stderr


def test_trace_png_draws_a_window(tmp_path: Path) -> None:
    import os
    import struct
    import sys
    vcd = tmp_path / "cable.vcd"
    chain = Chain.parse("printer@end", props={"trace-vcd": str(vcd)})
    with QTest(tmp_path / "run", chain) as qt:
        Host(qt)
        for byte in b"png":
            qt.outb(DATA, byte)
            qt.clock_step(500)
            qt.outb(CONTROL, 0x0D)
            qt.clock_step(500)
            qt.outb(CONTROL, 0x0C)
            qt.clock_step(2000)
    harness = str(Path(__file__).resolve().parents[2] / "harness")
    env = dict(os.environ, PYTHONPATH=harness)

    def lptrig(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lptrig", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    png = tmp_path / "window.png"
    result = lptrig("trace-png", str(vcd), str(png), "--from", "0", "--to", "9000")
    assert result.returncode == 0, result.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 400
    # bad input: one error line, exit 2
    for args, message in [((str(vcd), str(png), "--from", "5", "--to", "5"), "empty"),
                          ((str(tmp_path / "run" / "qemu.log"), str(png)), "not an lptrig"),
                          ((str(vcd), str(tmp_path / "x.txt")), ".png")]:
        result = lptrig("trace-png", *args)
        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_vcd_names_the_selection_packet_and_phase(tmp_path: Path) -> None:
    from lptrig import traces
    from host1284 import assign_addrs, select
    vcd = tmp_path / "cable.vcd"
    chain = Chain.parse("loopback@0,printer@end", props={"trace-vcd": str(vcd)})
    with QTest(tmp_path / "run", chain) as qt:
        host = Host(qt)
        assert assign_addrs(qt) == 1
        qt.clock_step(1000)
        assert select(qt, 0)
        qt.clock_step(1000)
        assert host.negotiate(NIBBLE)
        qt.clock_step(1000)
        host.terminate()
        qt.clock_step(1000)
    trace = traces.read(vcd)
    highs = {name: [t for t, v in changes if v] for name, changes in trace.signals.items()}
    assert highs["dot3_packet"]                     # the packets are visible
    assert highs["selected0"] and not highs["selected1"]
    assert highs["phase_negotiation"] and highs["phase_termination"]
    assert highs["selected0"][0] < highs["phase_negotiation"][0]
