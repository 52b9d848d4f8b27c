"""lpt1284.ko's sources pass Linux's own style checker: checkpatch.pl
--strict, from the pinned kernel's source (Debian's linux-source-6.1, which
make deps installs), on every file of guest-driver/kernel/ and the driver's
headers."""

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from lptrig import paths

TOP = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(TOP / "guest-driver" / "kernel").glob("*.[ch]"),
                  *(TOP / "guest-driver" / "include").rglob("*.h")])
TARBALL = Path("/usr/src/linux-source-6.1.tar.xz")
#: what checkpatch.pl reads next to itself
FILES = ("checkpatch.pl", "spelling.txt", "const_structs.checkpatch")


def checkpatch() -> Path:
    """scripts/ of the kernel source with checkpatch.pl, extracted once
    into $LPTRIG_CACHE/checkpatch/ (a new directory renamed into place, so
    that parallel workers never see half of it)."""
    stamp = TARBALL.stat()
    where = paths.cache_dir() / "checkpatch" / f"{stamp.st_size}-{int(stamp.st_mtime)}"
    if (where / "checkpatch.pl").exists():
        return where / "checkpatch.pl"
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = where.parent / f".tmp-{os.getpid()}"
    tmp.mkdir(exist_ok=True)
    with tarfile.open(TARBALL) as tar:
        members = [m for m in tar if m.name.endswith(tuple(f"scripts/{f}" for f in FILES))]
        for member in members:
            member.name = Path(member.name).name
            tar.extract(member, tmp)
    try:
        tmp.rename(where)
    except OSError:         # another worker was first
        pass
    return where / "checkpatch.pl"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_checkpatch_strict_is_clean(source: Path) -> None:
    """Run from guest-driver/ with the path as the kernel tree has it
    (include/uapi/... is a uAPI header there: no BIT() for user space)."""
    assert TARBALL.exists(), f"{TARBALL} missing: run make deps"
    run = subprocess.run(["perl", str(checkpatch()), "--strict", "--no-tree", "--terse",
                          "--show-types", "-f", str(source.relative_to(TOP / "guest-driver"))],
                         cwd=TOP / "guest-driver", capture_output=True, text=True, timeout=120)
    reports = [line for line in run.stdout.splitlines()
               if line and not line.startswith("total:")]
    assert run.returncode == 0 and reports == [], "\n".join(reports) or run.stderr
