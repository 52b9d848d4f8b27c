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
from lptrig.pytest_plugin import Outputs

pytestmark = pytest.mark.guest


def banner(vm: Machine) -> str:
    out = vm.console.check("dmesg")
    found = re.findall(r"parport0: PC-style at .*", out)
    assert found, f"no parport_pc banner in dmesg:\n{out}"
    return found[0].strip()


FIFO_MODULES = "parport_pc_fifo,lp,ppdev"
FULL_BANNER = ("parport0: PC-style at 0x378 (0x778), irq 7, dma 3 "
               "[PCSPP,TRISTATE,COMPAT,EPP,ECP,DMA]")


# The fixtures of lptrig's pytest plugin, as other projects use them: the
# chain from the marker, a guest booted with it
@pytest.mark.lptrig_chain("printer@end")
def test_parport_pc_finds_port_through_acpi(lptrig_machine: Machine) -> None:
    vm = lptrig_machine
    out = vm.console.check("dmesg")
    assert re.search(r"parport_pc 00:0\d: reported by Plug and Play ACPI", out)
    # Debian's parport_pc has no FIFO support: it sees SPP, PS/2 and EPP
    assert banner(vm) == "parport0: PC-style at 0x378 (0x778), irq 7 [PCSPP,TRISTATE,EPP]"
    # ACPI describes both I/O ranges, the IRQ and the DMA channel
    resources = vm.console.check("cat /sys/bus/pnp/devices/*/id "
                                 "/sys/bus/pnp/devices/*/resources")
    assert "PNP0401" in resources
    assert "io 0x378-0x37f" in resources
    assert "io 0x778-0x77a" in resources
    assert "irq 7" in resources
    assert "dma 3" in resources
    # without ECP, Linux keeps only the base and EPP registers
    ioports = vm.console.check("cat /proc/ioports")
    assert re.search(r"0378-037a : parport0", ioports)
    assert "0778" not in ioports


@pytest.mark.lptrig_chain("printer@end")
@pytest.mark.lptrig_machine(modules=FIFO_MODULES)
def test_fifo_parport_pc_banner(lptrig_machine: Machine) -> None:
    vm = lptrig_machine
    assert banner(vm) == FULL_BANNER
    ioports = vm.console.check("cat /proc/ioports")
    assert re.search(r"0778-077a : parport0", ioports)
    assert re.search(r"037b-037f : parport0", ioports)


@pytest.mark.parametrize("modules", ["parport_pc,lp,ppdev", FIFO_MODULES])
def test_autoprobe_shows_device_id(make_machine: Callable[..., Machine],
                                   modules: str) -> None:
    vm = make_machine(Chain.parse("printer@end"), modules=modules)
    assert "parport0: Printer, lptrig Virtual Printer" in vm.console.check("dmesg")
    probe = vm.console.check("cat /proc/sys/dev/parport/parport0/autoprobe")
    assert probe.strip().split("\n") == [
        "CLASS:PRINTER;",
        "MODEL:Virtual Printer;",
        "MANUFACTURER:lptrig;",
        "DESCRIPTION:lptrig IEEE 1284 printer;",
        "COMMAND SET:PCL,TXT;",
    ]
    hardware = vm.console.check("cat /proc/sys/dev/parport/parport0/base-addr "
                                "/proc/sys/dev/parport/parport0/irq")
    assert hardware.split() == ["888", "1912", "7"]


@pytest.mark.lptrig_chain("printer@end", props={"ps2": "off", "epp": "off", "ecp": "off"})
@pytest.mark.parametrize("modules", ["parport_pc,lp,ppdev", FIFO_MODULES])
def test_plain_spp_port(make_machine: Callable[..., Machine], lptrig_chain: Chain,
                        modules: str) -> None:
    vm = make_machine(lptrig_chain, modules=modules)
    assert banner(vm) == "parport0: PC-style at 0x378, irq 7 [PCSPP]"


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


@pytest.mark.lptrig_chain("printer@end")
def test_lp_one_mib_through_fifo_and_dma(make_machine: Callable[..., Machine],
                                        lptrig_chain: Chain, tmp_path: Path) -> None:
    size = 1024 * 1024
    src = _random_file(tmp_path, size, seed=1994)
    vm = make_machine(lptrig_chain, modules=FIFO_MODULES,
                      add_files=[(src, "/root/random.bin")],
                      trace=["lpt1284_dma_transfer", "lpt1284_mode"])
    vm.console.check("cat /root/random.bin > /dev/lp0", timeout=300)
    vm.shutdown()
    assert Outputs(vm)["printer@end"] == src.read_bytes()
    # lp negotiated ECP with the printer and went through the ECP FIFO, fed
    # by ISA DMA
    trace = vm.trace_log.read_text()
    assert "ECR mode ps2 -> ecp" in trace
    moved = sum(int(m) for m in re.findall(r"lpt1284_dma_transfer .*: (\d+) bytes", trace))
    assert moved == size
