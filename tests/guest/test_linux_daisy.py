"""The IEEE 1284.3 daisy chain against Linux's own daisy.c, ppdev and hot-plug.

At parport_pc load Linux scans the chain (drivers/parport/daisy.c:
mux probe, deselect-all, assign_addrs, then each device's Device ID) and
shows what it found in /proc/sys/dev/parport/parport0/autoprobe[0-3].
The static tool tests/guest/progs/ppdev_xfer.c sends the same command
packets from user space through ppdev (``-s ADDR``, ``scan``).
"""

import random
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest

from lptrig import progs
from lptrig.chain import Chain, Peripheral
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

PROC = "/proc/sys/dev/parport/parport0"
#: Linux's pr_debug lines of daisy.c, shown with parport.dyndbg=+p
DYNDBG = "parport.dyndbg=+p"


def device_id(name: str) -> str:
    return f"MFG:lptrig;MDL:{name};CMD:RAW;CLS:PRINTER;DES:lptrig {name};"


def chain_of(count: int) -> Chain:
    """``count`` daisy devices, printers and loopbacks in turn, each with a
    Device ID of its own, and a printer at the end."""
    items: List[Peripheral] = [
        Peripheral("printer" if i % 2 == 0 else "loopback", i,
                   (("device-id", device_id(f"Daisy {i}")),))
        for i in range(count)]
    items.append(Peripheral("printer", None, (("device-id", device_id("End")),)))
    return Chain(tuple(items))


def outputs(vm: Machine) -> Dict[str, bytes]:
    return {name: path.read_bytes() if path.exists() else b""
            for name, path in vm.chain.output_files(vm.rundir).items()}


def autoprobe(vm: Machine, name: str) -> str:
    return vm.console.check(f"cat {PROC}/{name}")


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4])
def test_linux_finds_exactly_the_daisy_devices(make_machine: Callable[..., Machine],
                                               count: int) -> None:
    vm = make_machine(chain_of(count), extra_append=DYNDBG)
    dmesg = vm.console.check("dmesg")
    if count:
        assert f"parport0: Found {count} daisy-chained devices" in dmesg
    else:
        # No 1284.3 device: the prefix is not answered, no count is shown
        assert "parport0: assign_addrs: aa5500ff(98)" in dmesg
        assert "daisy-chained devices" not in dmesg
    assert "multiplexor" not in dmesg
    for i in range(4):
        text = autoprobe(vm, f"autoprobe{i}")
        if i < count:
            assert f"MODEL:Daisy {i};" in text, text
        else:
            assert text.strip() == "", f"phantom device {i}: {text}"
    assert "MODEL:End;" in autoprobe(vm, "autoprobe")
    # Linux's scan and Device ID reads printed nothing on any device
    assert set(outputs(vm).values()) == {b""}


def test_ppdev_select_writes_land_in_that_device_only(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    rng = random.Random(12843)
    files = {}
    for name in ("0", "1", "2", "3", "end"):
        files[name] = tmp_path / f"data-{name}.bin"
        files[name].write_bytes(rng.randbytes(3000 + len(files) * 100))
    vm = make_machine(chain_of(4), add_files=[progs.add_file("ppdev_xfer")] +
                      [(path, f"/root/{path.name}") for path in files.values()])
    assert vm.console.check("ppdev_xfer scan").split() == ["found", "4"]
    for addr in ("2", "0", "3", "1"):
        out = vm.console.check(f"ppdev_xfer -s {addr} write compat /root/data-{addr}.bin")
        assert out.strip() == f"wrote {len(files[addr].read_bytes())}"
    # Without a select the end device gets its own bytes
    out = vm.console.check("ppdev_xfer write compat /root/data-end.bin")
    assert out.strip() == f"wrote {len(files['end'].read_bytes())}"
    got = outputs(vm)
    assert got == {
        "printer@0": files["0"].read_bytes(), "loopback@1": files["1"].read_bytes(),
        "printer@2": files["2"].read_bytes(), "loopback@3": files["3"].read_bytes(),
        "printer@end": files["end"].read_bytes()}
    # And /dev/lp0 (no daisy device) still prints to the end device
    vm.console.check("echo lp > /dev/lp0")
    assert outputs(vm)["printer@end"] == files["end"].read_bytes() + b"lp\n"


def test_ppdev_select_of_a_missing_device_fails(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(chain_of(2), add_files=[progs.add_file("ppdev_xfer")])
    result = vm.console.run("ppdev_xfer -s 3 status")
    assert result.status == 1
    assert "select 3 failed" in result.output


def test_hot_plug_a_daisy_device_and_pull_it_mid_transfer(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(random.Random(7).randbytes(256 << 10))
    vm = make_machine(Chain.parse("printer@0,printer@end"),
                      add_files=[progs.add_file("ppdev_xfer"), (big, "/root/big.bin")])
    mon = vm.qmp()
    assert vm.console.check("ppdev_xfer scan").split() == ["found", "1"]

    hot = tmp_path / "hot.bin"
    mon.command("chardev-add", id="hot", backend={
        "type": "file", "data": {"out": str(hot)}})
    # A slow printer (a real one's timing), so the transfer is still going
    # when it is pulled out
    mon.command("device_add", driver="ieee1284-printer", id="hot", chardev="hot",
                bus="lpt0.0", addr=1, **{"busy-ns": 20000, "ack-ns": 20000})
    assert vm.console.check("ppdev_xfer scan").split() == ["found", "2"]
    vm.console.check("echo one > /root/one; ppdev_xfer -s 1 write compat /root/one")
    assert hot.read_bytes() == b"one\n"

    # Pull it out in the middle of a transfer to it
    vm.console.send("ppdev_xfer -t 2 -s 1 write compat /root/big.bin; "
                    "echo \"pulled rc=$?\"\n")
    # ("one\n" first, then at least 8 KiB of the file).  The printer's
    # timing makes the whole file take at least 10 s of virtual time (40 us
    # a byte), which the host's clock cannot beat: the pull comes mid-file
    # unless this poll is 10 s late.
    deadline = time.monotonic() + 120
    while len(hot.read_bytes()) < 4 + 8192:
        assert time.monotonic() < deadline, f"only {len(hot.read_bytes())} bytes arrived"
        time.sleep(0.05)
    mon.command("device_del", id="hot")
    match = vm.console.expect(r"pulled rc=(\d+)", 120)
    got = hot.read_bytes()
    # The guest sees an unplugged cable: the write stalls and times out
    # with part of the file sent; the rest went nowhere
    assert match.group(1) == "1"
    assert got.startswith(b"one\n")
    sent = got[4:]
    assert 8192 <= len(sent) < len(big.read_bytes())
    assert sent == big.read_bytes()[:len(sent)]
    # A rescan finds one daisy device again; printing goes on normally
    assert vm.console.check("ppdev_xfer scan").split() == ["found", "1"]
    vm.console.check("echo after > /dev/lp0")
    assert outputs(vm) == {"printer@0": b"", "printer@end": b"after\n"}
    assert mon.command("query-status")["status"] == "running"


LOOPBACK_ALL_OK = {mode: "ok" for mode in (
    "compat", "nibble", "byte", "ecp", "ecprle", "epp",
    "deviceid-nibble", "deviceid-byte", "deviceid-ecp")}


def test_ieee1284_through_the_chain_to_the_selected_device(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    """Negotiation, ECP through the FIFO and DMA, nibble and EPP, all with
    Linux's own parport_pc (FIFO build) to a selected daisy device."""
    data = tmp_path / "data.bin"
    data.write_bytes(random.Random(3).randbytes(20000))
    vm = make_machine(Chain.parse("printer@0,loopback@1,printer@end"),
                      modules="parport_pc_fifo,lp,ppdev",
                      add_files=[progs.add_file("ppdev_xfer"), (data, "/root/data.bin")])
    out = vm.console.check("ppdev_xfer scan; ppdev_xfer -s 1 negot " +
                           " ".join(LOOPBACK_ALL_OK))
    lines = out.strip().splitlines()
    assert lines[0] == "found 2"
    assert dict(line.split(None, 1) for line in lines[1:]) == LOOPBACK_ALL_OK
    # ECP forward through the FIFO and ISA DMA, nibble back, to device 1
    assert vm.console.check("ppdev_xfer -s 1 write ecp /root/data.bin").strip() == "wrote 20000"
    assert vm.console.check("ppdev_xfer -n -s 1 read nibble 30000 /root/back.bin"
                            ).strip() == "read 20000"
    assert vm.console.check("cmp /root/data.bin /root/back.bin && echo same").strip() == "same"
    # EPP address cycles after a select for EPP
    assert vm.console.check("ppdev_xfer -s 1 epp-addr write 0x5a && "
                            "ppdev_xfer -s 1 epp-addr read").split() == ["wrote", "1", "addr",
                                                                         "0x5a"]
    # The printer at 0 refuses what a printer refuses, through the chain
    answers = dict(line.split(None, 1) for line in vm.console.check(
        "ppdev_xfer -s 0 negot nibble byte ecp epp").strip().splitlines())
    assert answers == {"nibble": "ok", "byte": "rejected", "ecp": "ok", "epp": "rejected"}
    got = outputs(vm)
    assert got["loopback@1"] == data.read_bytes()       # its copy of what it got
    assert got["printer@0"] == b"" and got["printer@end"] == b""
