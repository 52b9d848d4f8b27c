"""lptrig rig: boot QEMU with an IEEE 1284 chain and talk to the guest.

The public API for tests lives in the submodules: :mod:`lptrig.machine`
(``Machine``), :mod:`lptrig.console` (``Console``), :mod:`lptrig.chain`
(``Chain``), :mod:`lptrig.qtest` (``QTest``) and :mod:`lptrig.qmp`.
"""

from .chain import Chain, Peripheral
from .errors import CommandFailed, CommandTimeout, GuestError, LptrigError
from .machine import Machine

__all__ = ["Chain", "Peripheral", "Machine", "LptrigError", "GuestError",
           "CommandTimeout", "CommandFailed"]
