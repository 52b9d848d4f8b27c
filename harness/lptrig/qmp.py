"""Thin helpers over QEMU's own ``qemu.qmp`` (from QEMU's source tree).

QMP is never hand-written here: ``connect`` returns QEMU's synchronous
``qemu.qmp.legacy.QEMUMonitorProtocol``.
"""

import asyncio
import socket
import sys
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .errors import GuestError

if TYPE_CHECKING:
    from qemu.qmp.legacy import QEMUMonitorProtocol

#: time-out for each QMP command, seconds
COMMAND_TIMEOUT = 30.0

#: the event loop each monitor runs on, closed with it
_LOOPS: "weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop]" = \
    weakref.WeakKeyDictionary()


def _legacy() -> Any:
    """Import ``qemu.qmp.legacy`` from QEMU's source tree."""
    python_dir = str(paths.qemu_python_dir())
    if python_dir not in sys.path:
        sys.path.insert(0, python_dir)
    from qemu.qmp import legacy  # pylint: disable=import-outside-toplevel
    return legacy


def connect(path: Path, timeout: float = 30.0) -> "QEMUMonitorProtocol":
    """Connect to QEMU's QMP unix socket and negotiate, within ``timeout``.

    The socket is connected here (retrying until QEMU listens) and handed
    to QEMUMonitorProtocol in "server" mode, whose ``accept`` bounds the
    greeting and negotiation by the time-out: ``connect()`` has none.
    """
    legacy = _legacy()
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            break
        except OSError as exc:
            sock.close()
            if time.monotonic() > deadline:
                raise GuestError(f"cannot connect to QMP at {path}: {exc}") from None
            time.sleep(0.05)
    # QEMUMonitorProtocol runs its own loop with run_until_complete; give it
    # a fresh one rather than have asyncio create one implicitly (deprecated).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mon = legacy.QEMUMonitorProtocol(sock=sock, server=True, nickname=str(path))
    _LOOPS[mon] = loop
    try:
        mon.accept(timeout=max(deadline - time.monotonic(), 1.0))
    except Exception as exc:  # asyncio.TimeoutError or a qemu.qmp error
        close(mon)
        raise GuestError(f"no QMP greeting from {path}: {exc or type(exc).__name__}") from None
    mon.settimeout(COMMAND_TIMEOUT)
    return mon


def close(mon: "QEMUMonitorProtocol") -> None:
    """Disconnect and close the event loop the monitor runs on."""
    loop = _LOOPS.pop(mon, None)
    try:
        mon.close()
    except Exception:  # pylint: disable=broad-except
        pass  # the peer may already be gone; nothing is left to clean up
    if loop is not None and not loop.is_closed():
        loop.close()


def qom_get(mon: "QEMUMonitorProtocol", path: str, prop: str) -> Any:
    """Value of QOM property ``prop`` of the object at ``path``."""
    return mon.command("qom-get", path=path, property=prop)


def qom_set(mon: "QEMUMonitorProtocol", path: str, prop: str, value: Any) -> None:
    """Set QOM property ``prop`` of the object at ``path`` (e.g. a fault knob)."""
    mon.command("qom-set", path=path, property=prop, value=value)


def quit(mon: "QEMUMonitorProtocol") -> None:  # pylint: disable=redefined-builtin
    """Ask QEMU to exit; QEMU may drop the connection before it answers."""
    try:
        mon.cmd("quit")
    except Exception:  # pylint: disable=broad-except
        pass  # a closed connection is the expected outcome of "quit"
