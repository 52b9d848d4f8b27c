"""Linux's own parport stack (parport_pc, lp) against the device, in a guest.

Linux is the independent peer: it finds the port through ACPI, probes what
the controller can do, and prints through /dev/lp0 with its compatibility-mode
handshake.  The stock isa-parallel in the same QEMU binary is the baseline.
"""

import random
import re
from pathlib import Path
from typing import Callable

import pytest

from lptrig.chain import Chain
from lptrig.machine import Machine

pytestmark = pytest.mark.guest


def banner(vm: Machine) -> str:
    out = vm.console.check("dmesg")
    found = re.findall(r"parport0: PC-style at .*", out)
    assert found, f"no parport_pc banner in dmesg:\n{out}"
    return found[0].strip()


def test_parport_pc_finds_port_through_acpi(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(Chain.parse("printer@end"))
    out = vm.console.check("dmesg")
    assert re.search(r"parport_pc 00:0\d: reported by Plug and Play ACPI", out)
    line = banner(vm)
    assert "PC-style at 0x378 (0x778), irq 7" in line
    modes = re.search(r"\[(.*)\]", line)
    assert modes is not None
    assert {"PCSPP", "TRISTATE"} <= set(modes.group(1).split(","))
    # ACPI describes both I/O ranges, the IRQ and the DMA channel
    resources = vm.console.check("cat /sys/bus/pnp/devices/*/id "
                                 "/sys/bus/pnp/devices/*/resources")
    assert "PNP0401" in resources
    assert "io 0x378-0x37f" in resources
    assert "io 0x778-0x77a" in resources
    assert "irq 7" in resources
    assert "dma 3" in resources
    # without ECP, Linux keeps only the base registers
    assert re.search(r"0378-037a : parport0", vm.console.check("cat /proc/ioports"))
    hardware = vm.console.check("cat /proc/sys/dev/parport/parport0/base-addr "
                                "/proc/sys/dev/parport/parport0/irq")
    assert hardware.split() == ["888", "1912", "7"]


def test_plain_spp_port(make_machine: Callable[..., Machine]) -> None:
    vm = make_machine(Chain.parse("printer@end",
                                  props={"ps2": "off", "epp": "off", "ecp": "off"}))
    line = banner(vm)
    assert line.startswith("parport0: PC-style at 0x378, irq 7 [PCSPP]"), line


def _random_file(tmp_path: Path, size: int, seed: int) -> Path:
    data = random.Random(seed).randbytes(size)
    path = tmp_path / "random.bin"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("controller", ["lpt1284", "stock"])
def test_lp_random_bytes_arrive_identical(make_machine: Callable[..., Machine],
                                          tmp_path: Path, controller: str) -> None:
    size = 64 * 1024
    src = _random_file(tmp_path, size, seed=1284)
    chain = Chain.stock() if controller == "stock" else Chain.parse("printer@end")
    vm = make_machine(chain, add_files=[(src, "/root/random.bin")])
    vm.console.check("cat /root/random.bin > /dev/lp0", timeout=300)
    vm.shutdown()
    out = next(iter(chain.output_files(vm.rundir).values()))
    received = out.read_bytes()
    assert len(received) == size
    assert received == src.read_bytes()
