"""Bring your own guest: a kernel, initrd and disk images that are not lptrig's.

A *foreign* guest is any OS the user brings: a kernel with its own initrd
and command line (``-kernel``/``-initrd``/``-append``), disk images
(``-drive``; with no kernel SeaBIOS boots the first disk), or both (a
kernel whose root file system is on the disk).  lptrig assumes nothing of
its init: no ``lptrig: ready``, no lptrig.load=, no framed commands; the
chain, the console log, QMP, the output files and the traces are as usual.

Drive specs, ``PATH[,if=ide|floppy][,format=raw|qcow2][,snapshot=on|off]``:
this QEMU is built with the PC's IDE and floppy controllers only (no virtio);
the format is taken from the file's first bytes (qcow2's magic, else raw;
other formats are refused: ``qemu-img convert`` them); ``snapshot=on``, the
default, keeps the image unchanged (QEMU writes to a temporary overlay).
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Union

from .chain import opt
from .errors import LptrigError

INTERFACES = ("ide", "floppy")
FORMATS = ("raw", "qcow2")

#: first bytes of image formats QEMU would read but lptrig does not take
_OTHER_MAGIC = ((0, b"KDMV", "vmdk"), (0, b"QED\0", "qed"), (0, b"vhdxfile", "vhdx"),
                (0, b"conectix", "vpc"), (64, b"\x7f\x10\xda\xbe", "vdi"))


def check_file(path: Union[str, Path], what: str, writable: bool = False) -> Path:
    """``path`` as an absolute Path if it is a readable (and, if asked,
    writable) regular file; LptrigError naming ``what`` otherwise."""
    path = Path(path)
    if not path.exists():
        raise LptrigError(f"{what} {path}: no such file")
    if not path.is_file():
        raise LptrigError(f"{what} {path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise LptrigError(f"{what} {path}: cannot read it (permissions)")
    if writable and not os.access(path, os.W_OK):
        raise LptrigError(f"{what} {path}: cannot write it (permissions); "
                          "snapshot=on leaves it unchanged")
    return path.absolute()


def image_format(path: Path) -> str:
    """``qcow2`` or ``raw`` from the file's first bytes; LptrigError for
    formats that are neither."""
    with open(path, "rb") as f:
        head = f.read(72)
    if head.startswith(b"QFI\xfb"):
        return "qcow2"
    for offset, magic, name in _OTHER_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            raise LptrigError(f"drive {path}: a {name} image; lptrig takes raw and qcow2 "
                              f"(qemu-img convert -O qcow2 {path} IMG.qcow2)")
    return "raw"


@dataclass(frozen=True)
class Drive:
    """A disk image of a foreign guest: ``Drive.parse("disk.img,if=ide")``."""

    path: Path
    format: str = "raw"
    interface: str = "ide"
    snapshot: bool = True

    @classmethod
    def parse(cls, spec: Union[str, Path, "Drive"]) -> "Drive":
        """``PATH[,if=ide|floppy][,format=raw|qcow2][,snapshot=on|off]``; the file
        is checked and its format detected unless given."""
        if isinstance(spec, Drive):
            return spec
        if isinstance(spec, Path):
            parts = [str(spec)]
        else:
            parts = spec.split(",")
        name, options = parts[0], parts[1:]
        if not name:
            raise LptrigError(f"drive {spec!r}: give an image file first "
                              "(IMG[,if=ide|floppy][,format=raw|qcow2][,snapshot=on|off])")
        interface, fmt, snapshot = "ide", None, True
        for item in options:
            key, eq, value = item.partition("=")
            if key == "if" and eq and value in INTERFACES:
                interface = value
            elif key == "format" and eq and value in FORMATS:
                fmt = value
            elif key == "snapshot" and eq and value in ("on", "off"):
                snapshot = value == "on"
            else:
                raise LptrigError(
                    f"drive {spec!r}: {item!r} is not an option here "
                    f"(if={'|'.join(INTERFACES)}, format={'|'.join(FORMATS)}, "
                    "snapshot=on|off; a path with a comma cannot be given)")
        path = check_file(name, "drive", writable=not snapshot)
        detected = image_format(path)
        if fmt is not None and fmt != detected:
            raise LptrigError(f"drive {path}: format={fmt} given, but the file is {detected}")
        return cls(path, detected, interface, snapshot)

    def qemu_args(self) -> List[str]:
        """The -drive option."""
        return ["-drive", f"file={opt(self.path)},format={self.format},if={self.interface},"
                          f"snapshot={'on' if self.snapshot else 'off'}"]
