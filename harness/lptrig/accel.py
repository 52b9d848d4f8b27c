"""Choose the QEMU accelerator: KVM when it really works, else TCG."""

import os
import re

from .errors import LptrigError

ACCELS = ("kvm", "tcg")


def kvm_usable() -> bool:
    """True if /dev/kvm opens read-write and the CPU has vmx or svm.

    Both are needed: some hosts expose /dev/kvm without hardware
    virtualisation, and guests then hang instead of failing.
    """
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpuinfo = f.read()
    except OSError:
        return False
    return any(re.search(r"\b(vmx|svm)\b", line)
               for line in cpuinfo.splitlines() if line.startswith("flags"))


def choose(setting: str | None = None) -> str:
    """Return "kvm" or "tcg" from ``setting`` or $LPTRIG_ACCEL (default auto)."""
    value = (setting or os.environ.get("LPTRIG_ACCEL") or "auto").strip().lower()
    if value == "auto":
        return "kvm" if kvm_usable() else "tcg"
    if value not in ACCELS:
        raise LptrigError(f"LPTRIG_ACCEL must be kvm, tcg or auto, not {value!r}")
    return value
