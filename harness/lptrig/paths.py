"""Where the build products live: the cache directory and what is in it."""

import os
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Image:
    """A bootable guest image: kernel and initramfs."""

    kernel: Path
    initramfs: Path


def image(name: str = "default") -> Image:
    """The guest image ``name`` from the cache, checked to exist."""
    base = cache_dir() / "images" / name
    return Image(kernel=_existing(base / "bzImage", f"guest kernel of image {name!r}"),
                 initramfs=_existing(base / "initramfs.cpio.gz",
                                     f"initramfs of image {name!r}"))
