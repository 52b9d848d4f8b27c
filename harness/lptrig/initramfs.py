"""Add files to an initramfs: append a gzip'ed newc cpio to the base image.

The kernel unpacks concatenated (compressed) cpio archives in order, so the
extra archive overrides or adds files without touching the base image.
"""

import gzip
import itertools
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Iterable, List, Sequence, Tuple

from .errors import LptrigError

#: (host file, absolute guest path)
AddFile = Tuple[Path, str]


def _entry(ino: int, name: str, mode: int, data: bytes = b"", mtime: int = 0) -> bytes:
    """One newc entry: header, NUL-terminated name and data, each 4-aligned."""
    fields = [ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, mtime, len(data),
              0, 0, 0, 0, len(name) + 1, 0]
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    head = header + name.encode() + b"\0"
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def newc_archive(files: Sequence[AddFile]) -> bytes:
    """A newc cpio with ``files`` and entries for their parent directories.

    Files are 0755 if executable on the host, else 0644; directories 0755;
    all owned by root.
    """
    entries: List[bytes] = []
    seen_dirs = set()
    inodes = itertools.count(1)
    for host, guest in files:
        guest_path = PurePosixPath(guest)
        if not guest_path.is_absolute() or ".." in guest_path.parts:
            raise LptrigError(f"guest path {guest!r} must be absolute, without '..'")
        try:
            data = Path(host).read_bytes()
            host_stat = os.stat(host)
        except OSError as exc:
            raise LptrigError(f"cannot read {host}: {exc.strerror}") from None
        for parent in reversed(guest_path.parents[:-1]):
            name = str(parent).lstrip("/")
            if name not in seen_dirs:
                seen_dirs.add(name)
                entries.append(_entry(next(inodes), name, stat.S_IFDIR | 0o755))
        perm = 0o755 if host_stat.st_mode & 0o111 else 0o644
        entries.append(_entry(next(inodes), str(guest_path).lstrip("/"),
                              stat.S_IFREG | perm, data, int(host_stat.st_mtime)))
    entries.append(_entry(0, "TRAILER!!!", 0))
    archive = b"".join(entries)
    return archive + b"\0" * (-len(archive) % 512)


def write_with_files(base: Path, files: Iterable[AddFile], dest: Path) -> Path:
    """Write ``base`` followed by a gzip'ed archive of ``files`` to ``dest``."""
    files = list(files)
    extra = gzip.compress(newc_archive(files), mtime=0)
    data = Path(base).read_bytes()
    dest.write_bytes(data + b"\0" * (-len(data) % 4) + extra)
    return dest
