"""Chain specs: which controller and which IEEE 1284 peripherals to plug in.

A spec is comma-separated ``KIND@ADDR`` items, ADDR being a 1284.3 daisy
position ``0``-``3`` (0 nearest the host) or ``end`` (the end-of-chain
device), for example ``printer@0,loopback@1,printer@end`` (the default).
Peripherals are passed to QEMU in the order written; QEMU keeps them in
chain order. Gaps are allowed: Linux's scan numbers the daisy devices in
chain order, so ``printer@0,printer@2`` gives 1284.3 addresses 0 and 1.
Each peripheral's chardev output goes to ``<outdir>/<kind>@<addr>.bin``.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from .errors import LptrigError

DEFAULT_SPEC = "printer@0,loopback@1,printer@end"

#: spec kind -> QOM type of the peripheral
KINDS: Mapping[str, str] = {
    "printer": "ieee1284-printer",
    "loopback": "ieee1284-loopback",
}

CONTROLLERS = ("lpt1284", "stock")


def opt(value: object) -> str:
    """``value`` escaped for a QEMU ``key=value,...`` option string."""
    return str(value).replace(",", ",,")


@dataclass(frozen=True)
class Peripheral:
    """One peripheral: ``kind`` from KINDS, ``addr`` 0-3 or None for end.

    ``props`` are extra QEMU properties of this device, e.g.
    ``(("device-id", "MFG:x;MDL:y;"),)``.
    """

    kind: str
    addr: Optional[int] = None
    props: Tuple[Tuple[str, str], ...] = ()

    @property
    def addr_name(self) -> str:
        """The address as written in a spec: "0"-"3" or "end"."""
        return "end" if self.addr is None else str(self.addr)

    @property
    def name(self) -> str:
        """``kind@addr``, also the stem of its output file."""
        return f"{self.kind}@{self.addr_name}"

    @property
    def qom_id(self) -> str:
        """The QEMU device id, e.g. ``printer-end`` (QOM path /machine/peripheral/<id>)."""
        return f"{self.kind}-{self.addr_name}"

    def qemu_args(self, outdir: Path, props: Optional[Mapping[str, str]] = None) -> List[str]:
        """The -chardev and -device arguments for this peripheral."""
        chardev = f"chain-{self.addr_name}"
        device = f"{KINDS[self.kind]},id={self.qom_id},chardev={chardev}"
        if self.addr is not None:
            device += f",addr={self.addr}"
        merged = dict(props or {})
        merged.update(self.props)
        device += "".join(f",{k}={opt(v)}" for k, v in merged.items())
        return ["-chardev", f"file,id={chardev},path={opt(outdir / (self.name + '.bin'))}",
                "-device", device]


def _parse_item(item: str) -> Peripheral:
    kind, at, addr = (part.strip() for part in item.partition("@"))
    if kind not in KINDS:
        raise LptrigError(f"unknown peripheral kind {kind!r} in chain item {item!r} "
                          f"(known: {', '.join(sorted(KINDS))})")
    if not at:
        raise LptrigError(f"chain item {item!r} needs an address: {kind}@0..3 or {kind}@end")
    if addr == "end":
        return Peripheral(kind, None)
    if addr not in ("0", "1", "2", "3"):
        raise LptrigError(f"bad address {addr!r} in chain item {item!r} "
                          "(use 0, 1, 2, 3 or end)")
    return Peripheral(kind, int(addr))


@dataclass
class Chain:
    """The parallel-port controller and the peripherals on its chain.

    ``controller`` is "lpt1284" (our isa-lpt1284) or "stock" (QEMU's
    isa-parallel writing to ``stock.bin``, a baseline with no chain).
    ``props`` are extra controller properties (e.g. ``{"fifo-depth": "16"}``),
    ``device_props`` extra properties of every peripheral (e.g.
    ``{"busy-ns": "2000", "ack-ns": "5000"}``: a real printer's handshake).
    """

    peripherals: Tuple[Peripheral, ...] = ()
    controller: str = "lpt1284"
    iobase: int = 0x378
    irq: int = 7
    dma: int = 3
    props: Dict[str, str] = field(default_factory=dict)
    device_props: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str = DEFAULT_SPEC, **controller: object) -> "Chain":
        """Parse a chain spec; keyword arguments set the controller fields."""
        peripherals: List[Peripheral] = []
        for item in spec.split(","):
            if not item.strip():
                raise LptrigError(f"empty item in chain spec {spec!r}")
            new = _parse_item(item)
            if any(p.addr == new.addr for p in peripherals):
                if new.addr is None:
                    raise LptrigError(f"chain spec {spec!r} has more than one end device")
                raise LptrigError(f"address {new.addr} is used twice in chain spec {spec!r}")
            peripherals.append(new)
        return cls(tuple(peripherals), **controller)  # type: ignore[arg-type]

    @classmethod
    def stock(cls, **controller: object) -> "Chain":
        """QEMU's stock isa-parallel port and no chain: the baseline."""
        return cls((), controller="stock", **controller)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.controller not in CONTROLLERS:
            raise LptrigError(f"unknown controller {self.controller!r} "
                              f"(known: {', '.join(CONTROLLERS)})")
        if self.controller == "stock" and self.peripherals:
            raise LptrigError("the stock isa-parallel port has no chain: "
                              "drop the chain spec or the stock controller")

    def qemu_args(self, outdir: Path) -> List[str]:
        """QEMU arguments for the controller and all peripherals."""
        outdir = Path(outdir)
        extra = "".join(f",{k}={opt(v)}" for k, v in self.props.items())
        if self.controller == "stock":
            return ["-chardev", f"file,id=stock,path={opt(outdir / 'stock.bin')}",
                    "-device", f"isa-parallel,chardev=stock,iobase={self.iobase:#x},"
                               f"irq={self.irq}{extra}"]
        args = ["-device", f"isa-lpt1284,id=lpt0,iobase={self.iobase:#x},"
                           f"irq={self.irq},dma={self.dma}{extra}"]
        for peripheral in self.peripherals:
            args += peripheral.qemu_args(outdir, self.device_props)
        return args

    def output_files(self, outdir: Path) -> Dict[str, Path]:
        """Output file of each peripheral (or of the stock port), by name."""
        outdir = Path(outdir)
        if self.controller == "stock":
            return {"stock": outdir / "stock.bin"}
        return {p.name: outdir / f"{p.name}.bin" for p in self.peripherals}
