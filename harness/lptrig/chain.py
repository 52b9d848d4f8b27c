"""Chain specs: which controller and which IEEE 1284 peripherals to plug in.

A spec is comma-separated ``KIND@ADDR`` items, ADDR being a 1284.3 daisy
position ``0``-``3`` (0 nearest the host) or ``end`` (the end-of-chain
device), for example ``printer@0,loopback@1,printer@end`` (the default).
Peripherals are passed to QEMU in the order written; QEMU keeps them in
chain order. Gaps are allowed: Linux's scan numbers the daisy devices in
chain order, so ``printer@0,printer@2`` gives 1284.3 addresses 0 and 1.
Each printer's and loopback's chardev output goes to
``<outdir>/<kind>@<addr>.bin``.

Three kinds are not IEEE 1284 devices but wire the port's pins to
something else, as people used the port besides printing; each is the only
device at the end of its chain (``KIND@end``), and each is what one of
Debian's own drivers expects:

- ``laplink``: a LapLink cable (Linux's ``plip``) to another VM's port,
  through a socket given as the chain's ``peer`` (``Peer``);
- ``i2c``: a Philips I2C adapter (``i2c-parport type=0``) whose bus carries
  a ``tmp105`` at 0x48 and a 4 KiB ``at24c-eeprom`` (a 24c32) at 0x50, the EEPROM
  kept in ``<outdir>/i2c@end.bin`` (so it survives a guest reset);
- ``pps``: a pulse-per-second source on nAck (``pps_parport``).
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
    "laplink": "ieee1284-laplink",
    "i2c": "ieee1284-i2c",
    "pps": "ieee1284-pps",
}

#: kinds that are not IEEE 1284 devices: each only at the end of a chain
LINE_KINDS = ("laplink", "i2c", "pps")

#: the I2C devices on an ``i2c`` adapter's bus: QOM type, id, address
I2C_DEVICES = (("tmp105", "tmp105", 0x48), ("at24c-eeprom", "eeprom", 0x50))
#: size of the EEPROM: a 24c32 (QEMU's at24c-eeprom has 16-bit addresses)
EEPROM_SIZE = 4096

CONTROLLERS = ("lpt1284", "stock")


@dataclass(frozen=True)
class Peer:
    """The far end of a ``laplink`` cable: a socket to another VM's QEMU.

    One end listens (``listen=True``), the other connects and keeps
    reconnecting, so either VM may start first and a VM that quits and
    comes back finds the cable again.
    """

    path: Path
    listen: bool = False

    @classmethod
    def parse(cls, text: str) -> "Peer":
        """``listen:PATH`` or ``PATH`` (connect)."""
        listen = text.startswith("listen:")
        path = text[len("listen:"):] if listen else text
        if not path:
            raise LptrigError(f"peer {text!r}: give a socket path, PATH or listen:PATH")
        return cls(Path(path).absolute(), listen)

    def chardev(self, chardev_id: str) -> str:
        """The -chardev option."""
        side = "server=on,wait=off" if self.listen else "reconnect=1"
        return f"socket,id={chardev_id},path={opt(self.path)},{side}"


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

    def qemu_args(self, outdir: Path, props: Optional[Mapping[str, str]] = None,
                  peer: Optional[Peer] = None) -> List[str]:
        """The -chardev, -drive and -device arguments for this peripheral."""
        chardev = f"chain-{self.addr_name}"
        device = f"{KINDS[self.kind]},id={self.qom_id}"
        args: List[str] = []
        after: List[str] = []
        if self.kind in ("printer", "loopback"):
            args += ["-chardev",
                     f"file,id={chardev},path={opt(outdir / (self.name + '.bin'))}"]
            device += f",chardev={chardev}"
        elif self.kind == "laplink":
            if peer is None:
                raise LptrigError(f"{self.name} needs the far end of its cable: a peer "
                                  "(lptrig run --peer [listen:]SOCKET, Chain(peer=...))")
            args += ["-chardev", peer.chardev(chardev)]
            device += f",chardev={chardev}"
        elif self.kind == "i2c":
            eeprom = outdir / (self.name + ".bin")
            if not eeprom.exists():
                outdir.mkdir(parents=True, exist_ok=True)
                eeprom.write_bytes(b"\xff" * EEPROM_SIZE)
            args += ["-drive", f"if=none,id=eeprom-drive,format=raw,file={opt(eeprom)}"]
            for qtype, qid, address in I2C_DEVICES:
                extra = (f",rom-size={EEPROM_SIZE},drive=eeprom-drive"
                         if qtype == "at24c-eeprom" else "")
                after += ["-device", f"{qtype},id={qid},bus={self.qom_id}.0,"
                                     f"address={address:#x}{extra}"]
        if self.addr is not None:
            device += f",addr={self.addr}"
        merged = dict(props or {}) if self.kind not in LINE_KINDS else {}
        merged.update(self.props)
        device += "".join(f",{k}={opt(v)}" for k, v in merged.items())
        return args + ["-device", device] + after


def _parse_item(item: str) -> Peripheral:
    kind, at, addr = (part.strip() for part in item.partition("@"))
    if kind not in KINDS:
        raise LptrigError(f"unknown peripheral kind {kind!r} in chain item {item!r} "
                          f"(known: {', '.join(sorted(KINDS))})")
    if not at:
        raise LptrigError(f"chain item {item!r} needs an address: {kind}@0..3 or {kind}@end")
    if addr == "end":
        return Peripheral(kind, None)
    if kind in LINE_KINDS:
        raise LptrigError(f"chain item {item!r}: {kind} is not an IEEE 1284.3 daisy "
                          f"device, it can only be the end of the chain: {kind}@end")
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
    ``peer`` is the far end of a ``laplink`` (a socket to another VM).
    ``device_props`` extra properties of every IEEE 1284 peripheral (e.g.
    ``{"busy-ns": "2000", "ack-ns": "5000"}``: a real printer's handshake).
    """

    peripherals: Tuple[Peripheral, ...] = ()
    controller: str = "lpt1284"
    iobase: int = 0x378
    irq: int = 7
    dma: int = 3
    props: Dict[str, str] = field(default_factory=dict)
    device_props: Dict[str, str] = field(default_factory=dict)
    peer: Optional[Peer] = None

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
        laplinks = [p for p in self.peripherals if p.kind == "laplink"]
        if laplinks and self.peer is None:
            raise LptrigError(f"{laplinks[0].name} needs the far end of its cable: "
                              "a peer (lptrig run --peer [listen:]SOCKET)")
        if self.peer is not None and not laplinks:
            raise LptrigError("a peer is the far end of a LapLink cable: "
                              "put laplink@end on the chain")

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
            args += peripheral.qemu_args(outdir, self.device_props, self.peer)
        return args

    def output_files(self, outdir: Path) -> Dict[str, Path]:
        """Output file of each peripheral (or of the stock port), by name."""
        outdir = Path(outdir)
        if self.controller == "stock":
            return {"stock": outdir / "stock.bin"}
        return {p.name: outdir / f"{p.name}.bin" for p in self.peripherals
                if p.kind in ("printer", "loopback", "i2c")}
