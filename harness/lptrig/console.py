"""The guest's serial console: run shell commands, get output and status.

Commands are framed as in labgrid's shell driver: a random marker, split
with quotes so the tty echo of the command line never matches, brackets the
output, and the closing marker carries ``$?``.

The command itself goes to the shell as one single-quoted word for
``command eval``, so the shell reads all of a multi-line command (printing
its PS2 continuation prompts) before it prints the opening marker, and never
prints a PS1 prompt between the markers: the framed text is exactly what
the command printed.  A here-doc may end the command, a ``#`` comment
cannot swallow the closing marker, and a syntax error is the command's
status 2 (``command`` keeps the interactive shell from abandoning the line).
"""

import codecs
import os
import re
import secrets
import select
import shlex
import socket
import sys
import termios
import threading
import time
import tty
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional, Pattern, TextIO, Union

from .errors import CommandFailed, CommandTimeout, ConsoleTimeout, GuestError

#: ANSI escape sequences and control characters other than \t and \n
_NOISE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[@-_=>78]"
                    r"|[\x00-\x08\x0b-\x1f\x7f]")
#: canonical-mode tty line limit in the guest, minus some slack
_MAX_LINE = 4000
#: unconsumed text kept for error messages
_TAIL = 2000
_DETACH = b"\x1d"  # Ctrl-]
#: the guest shell's prompt (PS1 of the image's /init)
PROMPT = "lptrig# "


def strip_noise(text: str) -> str:
    """Remove carriage returns, escape sequences and control characters."""
    return _NOISE.sub("", text)


@dataclass(frozen=True)
class Result:
    """Outcome of a guest command: exit status and output (stdout + stderr)."""

    status: int
    output: str


class Console:
    """A connected guest console socket with a background reader thread.

    ``prompt`` is the shell prompt awaited before the first command (input
    sent before the guest shell runs may be lost).
    """

    def __init__(self, sock: socket.socket, prompt: str = PROMPT) -> None:
        self._sock = sock
        self._prompt = prompt
        self._cond = threading.Condition()
        self._buf = ""  # text received so far, "\r" removed
        self._pos = 0  # expect() has consumed the buffer up to here
        self._closed = False
        self._sink: Optional[Callable[[bytes], None]] = None
        self._echo_off = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._thread = threading.Thread(target=self._read_loop, name="lptrig-console",
                                        daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        while True:
            try:
                data = self._sock.recv(4096)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._closed = True
                    self._cond.notify_all()
                    return
                self._buf += self._decoder.decode(data).replace("\r", "")
                if self._sink is not None:
                    try:
                        self._sink(data)
                    except OSError:
                        pass  # the user's terminal went away; keep recording
                self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """True once QEMU closed the console (it exited)."""
        with self._cond:
            return self._closed

    def send(self, text: Union[str, bytes]) -> None:
        """Type ``text`` on the console."""
        data = text.encode() if isinstance(text, str) else text
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise GuestError(f"cannot write to the guest console: {exc}") from None

    def expect(self, pattern: Union[str, Pattern[str]], timeout: float,
               what: Optional[str] = None) -> "re.Match[str]":
        """Wait for ``pattern`` in the console output after the last match.

        Raises ConsoleTimeout (with the output seen meanwhile) after
        ``timeout`` seconds, GuestError if QEMU closes the console first;
        ``what`` names the awaited thing in their messages.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        what = what or repr(regex.pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                match = regex.search(self._buf, self._pos)
                if match:
                    self._pos = match.end()
                    if self._pos > 1 << 20:  # the log file keeps everything
                        self._buf, self._pos = self._buf[self._pos:], 0
                    return match
                tail = strip_noise(self._buf[self._pos:])[-_TAIL:]
                if self._closed:
                    raise GuestError(f"the guest console closed (QEMU exited) while "
                                     f"waiting for {what}; last output:\n{tail}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConsoleTimeout(f"timed out after {timeout:g} s waiting for "
                                         f"{what} on the console", tail)
                self._cond.wait(remaining)

    def skip_pending(self) -> str:
        """Consume and return everything received but not yet matched."""
        with self._cond:
            text, self._pos = self._buf[self._pos:], len(self._buf)
            return text

    def _quiet(self, timeout: float) -> None:
        """Wait for the shell once, before the first command.

        The tty echo stays on: with echo off, Debian's busybox 1.35 ash
        exits when a background job ends while it waits for input (and the
        guest powers off) - seen with `(sleep 1) &`, fixed by `stty echo`.
        The framing markers are split by quotes, so the echoed command line
        never matches them.
        """
        if self._echo_off:
            return
        marker = secrets.token_hex(6)
        deadline = time.monotonic() + timeout
        with self._cond:  # anywhere in the buffer: expect() may have passed it
            while self._prompt not in self._buf:
                if self._closed or not self._cond.wait(max(deadline - time.monotonic(), 0)):
                    break
        self.skip_pending()
        self.send(f"printf '%s\\n' \"{marker}-\"\"SYNC\"\n")
        self.expect(re.escape(f"{marker}-SYNC") + "\n", timeout, "the guest shell")
        self._echo_off = True

    def run(self, cmd: str, timeout: float = 30.0) -> Result:
        """Run ``cmd`` in the guest shell; return its exit status and output.

        Raises CommandTimeout (with the partial output) if the command does
        not finish within ``timeout`` seconds; the command then keeps
        running in the guest (``interrupt()`` sends it Ctrl-C).
        """
        start = time.monotonic()
        self._quiet(timeout)
        marker = secrets.token_hex(6)
        line = (f"printf '\\n%s\\n' \"{marker}-\"\"BEGIN\"; command eval {shlex.quote(cmd)}; "
                f"printf '\\n%s %d\\n' \"{marker}-\"\"END\" $?\n")
        if len(line.encode()) > _MAX_LINE:
            raise GuestError(f"guest command is too long for the console "
                             f"({len(line)} bytes, at most {_MAX_LINE}): copy a script instead")
        self.skip_pending()
        self.send(line)
        framed = re.compile(re.escape(f"{marker}-BEGIN") + r"\n(.*?)\n"
                            + re.escape(f"{marker}-END") + r" (\d+)\n", re.DOTALL)
        remaining = max(timeout - (time.monotonic() - start), 0.1)
        try:
            match = self.expect(framed, remaining, f"guest command {cmd!r}")
        except ConsoleTimeout as exc:
            partial = exc.output.partition(f"{marker}-BEGIN\n")[2]
            raise CommandTimeout(f"guest command {cmd!r} did not finish within "
                                 f"{timeout:g} s", partial) from None
        return Result(int(match.group(2)), strip_noise(match.group(1)))

    def check(self, cmd: str, timeout: float = 30.0) -> str:
        """Run ``cmd``; return its output, raise CommandFailed if status != 0."""
        result = self.run(cmd, timeout)
        if result.status != 0:
            raise CommandFailed(cmd, result.status, result.output)
        return result.output

    def interrupt(self) -> None:
        """Send Ctrl-C, e.g. after a CommandTimeout; the next run() resyncs."""
        self.send(b"\x03")

    def interact(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                 eof: bytes = b"exit\n") -> None:
        """Bridge the user's terminal to the console until QEMU ends or Ctrl-].

        A raw tty is restored on return. EOF on stdin (a pipe) types ``eof``
        (default ``exit``, which ends lptrig's guest shell and so the VM),
        then waits for QEMU to end.
        """
        in_fd = stdin.fileno()
        out: BinaryIO = stdout.buffer
        is_tty = os.isatty(in_fd)
        newline = "\r\n" if is_tty else "\n"

        def write(data: bytes) -> None:
            out.write(data)
            out.flush()

        print("lptrig: attached to the guest console; Ctrl-] detaches", file=sys.stderr)
        saved = termios.tcgetattr(in_fd) if is_tty else None
        with self._cond:
            write(self._buf[self._pos:].replace("\n", newline).encode())
            self._pos = len(self._buf)
            self._sink = write
        try:
            if is_tty:
                tty.setraw(in_fd)
            inputs = [in_fd]
            while not self.closed:
                ready, _, _ = select.select(inputs, [], [], 0.2)
                if not ready:
                    continue
                data = os.read(in_fd, 1024)
                if not data:
                    if eof:
                        self.send(eof)
                    inputs = []  # stdin is done: wait for the guest to end
                    continue
                if _DETACH in data:
                    self.send(data.split(_DETACH)[0])
                    break
                self.send(data)
        finally:
            with self._cond:
                self._sink = None
            if saved is not None:
                termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        print("\nlptrig: " + ("the guest console closed" if self.closed else "detached"),
              file=sys.stderr)

    def close(self) -> None:
        """Close the socket and stop the reader thread."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected
        self._sock.close()
        self._thread.join(timeout=5)
