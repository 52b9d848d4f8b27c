"""Linux's ppdev and IEEE 1284 code against the peripheral side of the chain.

A static test tool (tests/guest/progs/ppdev_xfer.c) drives /dev/parport0
with PPNEGOT, PPSETMODE, read() and write(), so the negotiation, reverse
transfers and EPP cycles are Linux's own (drivers/parport/ieee1284*.c,
parport_pc's EPP and ECP FIFO code), not ours.
"""

import random
from pathlib import Path
from typing import Callable, Dict

import pytest

from lptrig import progs
from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest

FIFO_MODULES = "parport_pc_fifo,lp,ppdev"
MODES = ["compat", "nibble", "byte", "ecp", "ecprle", "epp",
         "deviceid-nibble", "deviceid-byte", "deviceid-ecp"]
EXPECTED: Dict[str, Dict[str, str]] = {
    # a printer: nibble (its Device ID) and ECP, as most IEEE 1284 printers
    "printer@end": {"compat": "ok", "nibble": "ok", "byte": "rejected",
                    "ecp": "ok", "ecprle": "rejected", "epp": "rejected",
                    "deviceid-nibble": "ok", "deviceid-byte": "rejected",
                    "deviceid-ecp": "ok"},
    "loopback@end": {mode: "ok" for mode in MODES},
}


PRINTER_ID = (b"MFG:lptrig;MDL:Virtual Printer;CMD:PCL,TXT;CLS:PRINTER;"
              b"DES:lptrig IEEE 1284 printer;")


def run(vm: Machine, cmd: str) -> str:
    return vm.console.check(cmd).strip()


def boot(make_machine: Callable[..., Machine], spec: str, **kwargs: object) -> Machine:
    return make_machine(Chain.parse(spec), modules=FIFO_MODULES,
                        add_files=[progs.add_file("ppdev_xfer"), *kwargs.pop("add", [])],
                        **kwargs)


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_ppnegot_accepts_exactly_the_supported_modes(make_machine: Callable[..., Machine],
                                                     spec: str) -> None:
    vm = boot(make_machine, spec)
    out = run(vm, "ppdev_xfer negot " + " ".join(MODES))
    answers = dict(line.split(None, 1) for line in out.splitlines())
    assert answers == EXPECTED[spec]


def test_loopback_reverse_reads_return_what_was_written(
        make_machine: Callable[..., Machine], tmp_path: Path) -> None:
    rng = random.Random(1284)
    files = {}
    for mode in ("nibble", "byte", "ecp", "epp"):
        path = tmp_path / f"{mode}.bin"
        path.write_bytes(rng.randbytes(300))
        files[mode] = path
    vm = boot(make_machine, "loopback@end",
              add=[(path, f"/root/{path.name}") for path in files.values()])
    # forward in compatibility mode (lp's way), reverse in nibble and byte
    for mode in ("nibble", "byte"):
        assert run(vm, f"ppdev_xfer write compat /root/{mode}.bin") == "wrote 300"
        assert run(vm, f"ppdev_xfer read {mode} 300 /root/{mode}.out") == "read 300"
        run(vm, f"cmp /root/{mode}.bin /root/{mode}.out")
    # ECP both ways: forward through parport_pc's ECP FIFO, reverse by
    # Linux's software ECP
    assert run(vm, "ppdev_xfer write ecp /root/ecp.bin") == "wrote 300"
    assert run(vm, "ppdev_xfer read ecp 300 /root/ecp.out") == "read 300"
    run(vm, "cmp /root/ecp.bin /root/ecp.out")
    # EPP data cycles through parport_pc's EPP registers, both ways
    assert run(vm, "ppdev_xfer write epp /root/epp.bin") == "wrote 300"
    assert run(vm, "ppdev_xfer read epp 300 /root/epp.out") == "read 300"
    run(vm, "cmp /root/epp.bin /root/epp.out")
    # and nothing is left over
    assert run(vm, "ppdev_xfer -n read nibble 10 /root/rest.out") == "read 0"


def test_epp_address_round_trip(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine, "loopback@end")
    for value in (0x00, 0x5A, 0xA5, 0xFF):
        run(vm, f"ppdev_xfer epp-addr write {value:#x}")
        assert run(vm, "ppdev_xfer epp-addr read") == f"addr {value:#04x}"


def test_printer_device_id_through_ppdev(make_machine: Callable[..., Machine]) -> None:
    vm = boot(make_machine, "printer@end")
    length = len(PRINTER_ID) + 2
    assert run(vm, "ppdev_xfer read deviceid-nibble 512 /root/id") == f"read {length}"
    reply = bytes.fromhex(run(vm, "od -An -v -tx1 /root/id").replace(" ", "").replace("\n", ""))
    assert reply == length.to_bytes(2, "big") + PRINTER_ID
