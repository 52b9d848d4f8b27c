"""Snapshot boot: a ready guest saved with QEMU's migration, restored in
well under a second.

The first boot of a configuration saves the guest at its shell prompt
(QMP ``stop``, ``migrate`` to ``exec:cat > FILE``) into
``$LPTRIG_CACHE/snapshots/<key>/``; later boots of the same configuration
start QEMU with ``-incoming "exec:cat FILE"`` and ``cont``.  The key is a
hash of everything a migration stream must match and of everything that
makes the guest what it is: the QEMU binary, the firmware directory, the
kernel and initramfs (and the disk images of a foreign guest), the kernel
command line, the device list with its properties, the memory size and the
accelerator.  The paths of a run's own files (output files, sockets, the
console and kernel logs) are not part of it: those are the new run's.

``LPTRIG_SNAPSHOTS=0`` (``lptrig run --cold-boot``, ``pytest
--lptrig-cold-boot``) turns snapshots off; ``LPTRIG_SNAPSHOT_MAX`` (default
64) bounds how many are kept, the least recently used going first.

A snapshot directory holds:
    state          the migration stream
    console.log    what the console showed up to the save (a restored run's
    kernel.log     logs start with the boot they skipped)
    driveN.qcow2   the overlay of a foreign guest's Nth disk at the save
    meta.json      what it was made from, for people (``key.txt`` too)
"""

import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from . import paths

#: environment switch: "0" turns snapshot boot off
ENV = "LPTRIG_SNAPSHOTS"
#: environment: how many snapshots to keep
MAX_ENV = "LPTRIG_SNAPSHOT_MAX"
DEFAULT_MAX = 64
#: bump when what a snapshot holds, or how it is restored, changes
FORMAT = 1


def enabled() -> bool:
    """Snapshots are on unless LPTRIG_SNAPSHOTS=0 (or off/no/false)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "off", "no", "false")


def root() -> Path:
    """``$LPTRIG_CACHE/snapshots``."""
    return paths.cache_dir() / "snapshots"


# -- file digests, remembered across processes ----------------------------

_memo: Dict[str, Tuple[Tuple[int, ...], str]] = {}


def _identity(st: os.stat_result) -> Tuple[int, ...]:
    # ctime changes on every write and cannot be set back by hand
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_digest(path: Path) -> str:
    """sha256 of a file, computed once per version of the file.

    The digests of big inputs (QEMU is 100 MB, vmlinux 66 MB) are kept in
    ``snapshots/digests.json`` by (device, inode, size, mtime, ctime), so a
    CLI run or a test worker does not hash them again.
    """
    path = Path(path).resolve()
    ident = _identity(path.stat())
    known = _memo.get(str(path))
    if known is not None and known[0] == ident:
        return known[1]
    store = root() / "digests.json"
    table: Dict[str, Any] = {}
    try:
        table = json.loads(store.read_text())
    except (OSError, ValueError):
        pass
    entry = table.get(str(path))
    if isinstance(entry, list) and len(entry) == 2 and tuple(entry[0]) == ident:
        digest = str(entry[1])
    else:
        sha = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
        digest = sha.hexdigest()
        table[str(path)] = [list(ident), digest]
        try:
            store.parent.mkdir(parents=True, exist_ok=True)
            tmp = store.with_name(f".digests.{os.getpid()}.json")
            tmp.write_text(json.dumps(table))
            os.replace(tmp, store)
        except OSError:
            pass        # a read-only cache only costs the hashing
    _memo[str(path)] = (ident, digest)
    return digest


def tree_digest(directory: Path) -> str:
    """Digest of every regular file in ``directory`` (QEMU's -L directory)."""
    sha = hashlib.sha256()
    for path in sorted(p for p in Path(directory).rglob("*") if p.is_file()):
        sha.update(f"{path.relative_to(directory)} {file_digest(path)}\n".encode())
    return sha.hexdigest()


def make_key(material: Dict[str, Any]) -> str:
    """The snapshot key of a configuration described by ``material``."""
    text = json.dumps({"format": FORMAT, **material}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- one snapshot ---------------------------------------------------------------

class Snapshot:
    """The snapshot of one configuration, present or not."""

    def __init__(self, key: str, material: Optional[Dict[str, Any]] = None) -> None:
        self.key = key
        self.material = material or {}
        self.dir = root() / key

    @property
    def state(self) -> Path:
        """The migration stream."""
        return self.dir / "state"

    def exists(self) -> bool:
        """True when a complete snapshot is there."""
        return (self.dir / "meta.json").is_file() and self.state.is_file()

    def drive(self, index: int) -> Path:
        """The saved overlay of disk ``index``."""
        return self.dir / f"drive{index}.qcow2"

    def touch(self) -> None:
        """Mark as used now (the least recently used are pruned first)."""
        try:
            os.utime(self.dir / "meta.json")
        except OSError:
            pass

    def remove(self) -> None:
        """Delete it (a stream that did not load)."""
        shutil.rmtree(self.dir, ignore_errors=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held while one process makes this snapshot: another process that
        wants the same configuration waits, then restores it."""
        root().mkdir(parents=True, exist_ok=True)
        with open(root() / f"{self.key}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def staging(self) -> Path:
        """A fresh directory to build this snapshot in before ``publish``."""
        root().mkdir(parents=True, exist_ok=True)
        tmp = root() / f".{self.key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        return tmp

    def publish(self, staged: Path, meta: Dict[str, Any]) -> bool:
        """Make ``staged`` this snapshot (atomically); False if one exists."""
        (staged / "meta.json").write_text(json.dumps(
            {**meta, "key": self.key, "made": time.strftime("%Y-%m-%d %H:%M:%S"),
             "material": self.material}, indent=1, sort_keys=True) + "\n")
        try:
            os.rename(staged, self.dir)
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            return False
        prune()
        return True


def prune(keep: Optional[int] = None) -> List[Path]:
    """Remove all but the ``keep`` most recently used snapshots (default
    LPTRIG_SNAPSHOT_MAX or 64), and stale staging directories; returns what
    it removed."""
    if keep is None:
        try:
            keep = int(os.environ.get(MAX_ENV, DEFAULT_MAX))
        except ValueError:
            keep = DEFAULT_MAX
    removed: List[Path] = []
    try:
        entries = list(root().iterdir())
    except OSError:
        return removed
    now = time.time()
    snaps: List[Tuple[float, Path]] = []
    for entry in entries:
        if entry.name.endswith(".lock"):
            # the lock of a snapshot that is gone, unused for an hour
            try:
                if not (root() / entry.name[:-len(".lock")]).exists() \
                        and now - entry.stat().st_mtime > 3600:
                    entry.unlink()
            except OSError:
                pass
            continue
        if entry.name.startswith(".") and entry.name.endswith(".tmp"):
            try:
                if now - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
            except OSError:
                pass
            continue
        meta = entry / "meta.json"
        if entry.is_dir():
            try:
                snaps.append((meta.stat().st_mtime, entry))
            except OSError:     # half-removed or never finished
                snaps.append((0.0, entry))
    snaps.sort(reverse=True)
    for _, entry in snaps[max(keep, 0):]:
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def canonical_argv(argv: Sequence[str], replace: Dict[str, str]) -> List[str]:
    """``argv`` with the run's own paths replaced by placeholders
    (``replace``: path prefix -> placeholder) and chardev backends' paths
    dropped: what a migration stream does not see."""
    out: List[str] = []
    previous = ""
    for arg in argv:
        for prefix, placeholder in sorted(replace.items(), key=lambda kv: -len(kv[0])):
            arg = arg.replace(prefix, placeholder)
        if previous == "-chardev":
            parts = []
            for part in _split_opts(arg):
                key = part.partition("=")[0]
                if key in ("path", "logfile", "logappend", "append"):
                    part = f"{key}=*"
                parts.append(part)
            arg = ",".join(parts)
        out.append(arg)
        previous = arg
    return out


def _split_opts(text: str) -> List[str]:
    """A QEMU ``key=value,...`` string split at single commas (",," is a
    comma in a value)."""
    parts, current, i = [], "", 0
    while i < len(text):
        if text[i] == ",":
            if text[i + 1:i + 2] == ",":
                current += ",,"
                i += 2
                continue
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    parts.append(current)
    return parts
