"""Guest test programs: static C tools from ``tests/guest/progs/``.

``build("ppdev_xfer")`` compiles ``tests/guest/progs/ppdev_xfer.c`` with
``gcc -static -O2 -Wall -Wextra`` into
``$LPTRIG_CACHE/progs/ppdev_xfer-<sha256 of the source>`` and returns that
path; a binary already there is reused, so parallel tests and later runs
compile nothing.  Each program is one self-contained ``.c`` file (libc and
the kernel's uapi headers only): the source hash is the whole key.

Put one into a guest with ``add_files``::

    vm = Machine(rundir, chain, add_files=[progs.add_file("ppdev_xfer")])
    vm.console.check("ppdev_xfer status")
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Tuple

from . import paths
from .errors import LptrigError

#: where the sources are: tests/guest/progs/ of this checkout
SOURCE_DIR = Path(__file__).resolve().parents[2] / "tests" / "guest" / "progs"

#: the guest driver's uapi headers (<linux/lpt1284.h>), on the include path
UAPI_DIR = Path(__file__).resolve().parents[2] / "guest-driver" / "include" / "uapi"

CC = "gcc"
CFLAGS: Tuple[str, ...] = ("-static", "-O2", "-Wall", "-Wextra", f"-I{UAPI_DIR}")

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def source(name: str) -> Path:
    """The source file of program ``name``."""
    if not _NAME.fullmatch(name):
        raise LptrigError(f"bad guest program name {name!r}")
    path = SOURCE_DIR / f"{name}.c"
    if not path.is_file():
        known = sorted(p.stem for p in SOURCE_DIR.glob("*.c"))
        raise LptrigError(f"no guest program {name!r}: {path} does not exist "
                          f"(known: {', '.join(known) or 'none'})")
    return path


def build(name: str) -> Path:
    """Compile ``tests/guest/progs/<name>.c`` (once); return the static binary."""
    src = source(name)
    data = src.read_bytes()
    # The uapi headers a program may include are part of its input
    for header in sorted(UAPI_DIR.rglob("*.h")):
        data += header.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    outdir = paths.cache_dir() / "progs"
    binary = outdir / f"{name}-{digest}"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    compiler = shutil.which(CC)
    if compiler is None:
        raise LptrigError(f"{CC} not found: run `make deps` (build-essential)")
    outdir.mkdir(parents=True, exist_ok=True)
    # Compile to a temporary name and rename: parallel tests may race here.
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=outdir)
    os.close(fd)
    argv: List[str] = [compiler, *CFLAGS, "-o", tmp, str(src)]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise LptrigError(f"compiling guest program {name} failed "
                              f"(exit status {proc.returncode}):\n"
                              f"{' '.join(argv)}\n{proc.stderr.strip()}")
        if proc.stderr.strip():
            print(f"lptrig: {src.name}: compiler warnings:\n{proc.stderr.rstrip()}",
                  file=sys.stderr)
        os.chmod(tmp, 0o755)
        os.replace(tmp, binary)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return binary


def add_file(name: str, guest_dir: str = "/usr/bin") -> Tuple[Path, str]:
    """``(binary, guest path)`` for ``Machine(add_files=...)``: the built
    program ``name`` as ``<guest_dir>/<name>`` in the guest."""
    return build(name), f"{guest_dir.rstrip('/')}/{name}"
