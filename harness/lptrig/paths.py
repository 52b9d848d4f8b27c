"""Where the build products live: the cache directory and what is in it."""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import LptrigError

_HINT = "run `make` in the lptrig checkout first"


def cache_dir() -> Path:
    """The cache directory: $LPTRIG_CACHE or ~/.cache/lptrig."""
    env = os.environ.get("LPTRIG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lptrig"


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise LptrigError(f"{what} not found at {path}: {_HINT}")
    return path


def qemu_binary() -> Path:
    """The QEMU binary with our devices ($LPTRIG_QEMU overrides it)."""
    env = os.environ.get("LPTRIG_QEMU")
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise LptrigError(f"LPTRIG_QEMU={env} is not an executable file")
        return path
    path = _existing(cache_dir() / "qemu" / "qemu-system-x86_64", "QEMU")
    if not os.access(path, os.X_OK):
        raise LptrigError(f"QEMU at {path} is not executable: {_HINT}")
    return path


def firmware_dir() -> Path:
    """Directory with bios-256k.bin and the option ROMs (QEMU's -L)."""
    return _existing(cache_dir() / "qemu" / "firmware", "QEMU firmware")


def qemu_python_dir() -> Path:
    """QEMU's own python/ directory (holds the ``qemu.qmp`` package)."""
    return _existing(cache_dir() / "qemu" / "src" / "python",
                     "QEMU's python/ source directory")


#: longest socket path we use; sun_path holds 108 bytes
_MAX_SOCK_PATH = 100


def socket_dir(rundir: Path) -> Optional[Path]:
    """A new short temp dir for sockets if paths under ``rundir`` are too long.

    None means the sockets can live in ``rundir``; the caller removes a
    directory it gets.
    """
    if len(str(Path(rundir).absolute() / "console.sock")) <= _MAX_SOCK_PATH:
        return None
    # $TMPDIR itself may be deep (pytest's base temp, a CI workspace): then /tmp
    base = tempfile.gettempdir()
    if len(base) + len("/lptrig-XXXXXXXX/console.sock") > _MAX_SOCK_PATH:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix="lptrig-", dir=base))


@dataclass(frozen=True)
class Image:
    """A bootable guest image: kernel and initramfs."""

    kernel: Path
    initramfs: Path


def default_image_name() -> str:
    """The image a Machine boots unless told otherwise: $LPTRIG_IMAGE or "default".

    ``make test DEBUG=1`` sets LPTRIG_IMAGE=debug (the debug kernel's image).
    """
    return os.environ.get("LPTRIG_IMAGE") or "default"


def image(name: Optional[str] = None) -> Image:
    """The guest image ``name`` (default: default_image_name()), checked to exist.

    The kernel is the uncompressed ``vmlinux`` (PVH entry, boots seconds
    faster under TCG) when the firmware directory has the ``pvh.bin``
    option ROM it needs, else the ``bzImage``.
    """
    if name is None:
        name = default_image_name()
    base = cache_dir() / "images" / name
    initramfs = _existing(base / "initramfs.cpio.gz", f"initramfs of image {name!r}")
    if (base / "vmlinux").exists() and (firmware_dir() / "pvh.bin").exists():
        return Image(kernel=base / "vmlinux", initramfs=initramfs)
    return Image(kernel=_existing(base / "bzImage", f"guest kernel of image {name!r}"),
                 initramfs=initramfs)
