"""Child processes that die with the Python process that started them.

A test runner killed by CI's time-out, or ``lptrig run`` killed with
SIGKILL, cannot run its ``finally`` blocks: without help its QEMUs would
keep spinning.  ``spawn`` starts a child that the kernel sends SIGKILL as
soon as the starting thread's process is gone (``PR_SET_PDEATHSIG``), the
way systemd-nspawn and QEMU's own tests tie helpers to their parent.
"""

import ctypes
import os
import signal
import subprocess
from typing import Any, List, Optional

_PR_SET_PDEATHSIG = 1
_libc: Optional[ctypes.CDLL] = None


def _libc_handle() -> ctypes.CDLL:
    global _libc  # pylint: disable=global-statement
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _die_with(parent: int) -> None:
    """In the child, before exec: SIGKILL when ``parent`` exits."""
    if _libc_handle().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)
    # the parent may have died between fork() and prctl(): then we were
    # reparented already and no signal will come
    if os.getppid() != parent:
        os._exit(127)


def spawn(argv: List[str], **kwargs: Any) -> "subprocess.Popen[bytes]":
    """``subprocess.Popen(argv, **kwargs)`` whose process is killed when
    this process dies (in any way, SIGKILL included).

    The death signal follows the *thread* that forks: call it from a thread
    that lives as long as the child should (lptrig starts QEMU from the
    caller's thread, never from a short-lived helper thread).
    """
    parent = os.getpid()
    _libc_handle()          # load libc before fork(): nothing to import in the child
    return subprocess.Popen(argv, preexec_fn=lambda: _die_with(parent),  # pylint: disable=subprocess-popen-preexec-fn
                            **kwargs)
