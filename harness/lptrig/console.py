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

Busybox's line editor takes at most 1 KiB a line, so a longer command is
not typed: it goes to a file in the guest first (``upload``: the tty in raw
mode, no echo, ``head -c`` reading exactly the bytes sent, in acknowledged
chunks) and the shell runs ``command eval "$(cat FILE; rm -f FILE)"`` in the
same frame, with the same status and output as if it had been typed.
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

from .errors import CommandFailed, CommandTimeout, ConsoleTimeout, GuestError, brief

#: ANSI escape sequences and control characters other than \t and \n
_NOISE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[@-_=>78]"
                    r"|[\x00-\x08\x0b-\x1f\x7f]")
#: longest framed command line typed into the guest's line editor (busybox's
#: stops at 1 KiB); longer commands go through ``upload``
_MAX_TYPED = 900
#: bytes sent per acknowledged chunk of an upload; the guest's tty buffers
#: (n_tty 4 KiB, then the flip buffers up to 640 KiB) hold a whole chunk
#: even when the reader is slow
_CHUNK = 256 << 10
#: slowest upload rate a deadline assumes (about 120 KiB/s under TCG)
_MIN_RATE = 8 << 10
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
        self._at_prompt = False
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
            while self._prompt not in self._buf and not self._at_prompt:
                if self._closed or not self._cond.wait(max(deadline - time.monotonic(), 0)):
                    break
        self.skip_pending()
        self.send(f"printf '%s\\n' \"{marker}-\"\"SYNC\"\n")
        self.expect(re.escape(f"{marker}-SYNC") + "\n", timeout, "the guest shell")
        self._echo_off = True

    def at_prompt(self) -> None:
        """The shell waits at its prompt although none will be printed (a
        guest restored from a snapshot): the first command syncs at once."""
        self._at_prompt = True

    def sync(self, timeout: float = 30.0) -> None:
        """Make sure the shell reads commands (the first run() does this)."""
        self._quiet(timeout)

    def upload(self, data: bytes, path: str, timeout: Optional[float] = None) -> None:
        """Write ``data`` to the guest file ``path`` (created or truncated)
        through the console, byte for byte.

        The tty goes to raw mode without echo for each chunk and back; the
        guest says when it reads (after ``stty``: bytes sent earlier would be
        edited as a command line) and when it has read the whole chunk.
        ``timeout`` defaults to what the slowest expected rate needs.
        """
        if timeout is None:
            timeout = 30.0 + len(data) / _MIN_RATE
        deadline = time.monotonic() + timeout
        self._quiet(timeout)
        quoted = shlex.quote(path)
        for offset in range(0, max(len(data), 1), _CHUNK):
            chunk = data[offset:offset + _CHUNK]
            marker = secrets.token_hex(6)
            redirect = ">" if offset == 0 else ">>"
            self.skip_pending()
            self.send(f"__lptrig_tty=$(stty -g); stty raw -echo -iexten; "
                      f"printf '%s\\n' \"{marker}-\"\"RDY\"; "
                      f"head -c {len(chunk)} {redirect}{quoted}; __lptrig_rc=$?; "
                      f"stty \"$__lptrig_tty\"; "
                      f"printf '%s %d\\n' \"{marker}-\"\"GOT\" $__lptrig_rc; "
                      f"unset __lptrig_tty __lptrig_rc\n")
            what = f"the upload of {path}"
            try:
                self.expect(re.escape(f"{marker}-RDY") + "\n",
                            max(deadline - time.monotonic(), 0.1), what)
                for at in range(0, len(chunk), 4096):
                    self.send(chunk[at:at + 4096])
                done = self.expect(re.escape(f"{marker}-GOT") + r" (\d+)\n",
                                   max(deadline - time.monotonic(), 0.1), what)
            except ConsoleTimeout as exc:
                raise GuestError(f"{what} ({len(data)} bytes) did not finish within "
                                 f"{timeout:g} s; last console output:\n{exc.output}") from None
            if done.group(1) != "0":
                raise GuestError(f"{what} failed in the guest (head -c: status "
                                 f"{done.group(1)}): is {path}'s directory there?")

    def run(self, cmd: str, timeout: float = 30.0) -> Result:
        """Run ``cmd`` in the guest shell; return its exit status and output.

        A command of any length runs as written (long ones through
        ``upload``; the upload's own time does not count against
        ``timeout``).  Raises CommandTimeout (with the partial output) if
        the command does not finish within ``timeout`` seconds; the command
        then keeps running in the guest (``interrupt()`` sends it Ctrl-C).
        """
        self._quiet(timeout)
        marker = secrets.token_hex(6)
        line = (f"printf '\\n%s\\n' \"{marker}-\"\"BEGIN\"; command eval {shlex.quote(cmd)}; "
                f"printf '\\n%s %d\\n' \"{marker}-\"\"END\" $?\n")
        if len(line.encode()) > _MAX_TYPED:
            script = f"/tmp/.lptrig-cmd-{marker}"
            self.upload(cmd.encode(), script)
            line = (f"printf '\\n%s\\n' \"{marker}-\"\"BEGIN\"; "
                    f"command eval \"$(cat {script}; rm -f {script})\"; "
                    f"printf '\\n%s %d\\n' \"{marker}-\"\"END\" $?\n")
        start = time.monotonic()
        self.skip_pending()
        self.send(line)
        # The newline before END may be missing: busybox's printf does not
        # retry a tty write that a SIGCHLD interrupts, and background jobs
        # ending while a frame is printed lost one once (the markers are
        # unique, so the frame is still unambiguous)
        framed = re.compile(re.escape(f"{marker}-BEGIN") + r"\n(.*?)\n?"
                            + re.escape(f"{marker}-END") + r" (\d+)\n", re.DOTALL)
        remaining = max(timeout - (time.monotonic() - start), 0.1)
        try:
            match = self.expect(framed, remaining, f"guest command {brief(cmd)}")
        except ConsoleTimeout as exc:
            partial = exc.output.partition(f"{marker}-BEGIN\n")[2]
            raise CommandTimeout(f"guest command {brief(cmd)} did not finish within "
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
