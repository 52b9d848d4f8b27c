"""Exceptions of the rig.

``LptrigError`` and its subclasses carry one sentence meant for a user; the
CLI prints them without a traceback.
"""


def brief(cmd: str, limit: int = 300) -> str:
    """``cmd`` for a message: repr'd, and cut in the middle when long."""
    if len(cmd) <= limit:
        return repr(cmd)
    return f"{cmd[:limit // 2]!r} ... ({len(cmd)} characters) ... {cmd[-limit // 2:]!r}"


class LptrigError(Exception):
    """A problem the user can fix (bad spec, missing build, missing file)."""


class GuestError(LptrigError):
    """The guest or QEMU misbehaved: crash, oops, early exit, no boot."""


class ConsoleTimeout(LptrigError):
    """A wait on the guest console ran out of time.

    ``output`` holds what arrived while waiting, for the failure message.
    """

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class CommandTimeout(ConsoleTimeout):
    """A guest command did not finish in time; ``output`` is its partial output."""


class CommandFailed(LptrigError):
    """A guest command run with ``Console.check`` exited non-zero."""

    def __init__(self, cmd: str, status: int, output: str) -> None:
        super().__init__(f"guest command {brief(cmd)} exited with status {status}:\n"
                         f"{output}")
        self.cmd = cmd
        self.status = status
        self.output = output


class QTestError(LptrigError):
    """QEMU answered a qtest request with FAIL or ERR."""
