"""The admin shell without a terminal (docs/admin.md, "Without a terminal"): plain lines in,
plain lines out, no echo, no line editing, no escape sequences.

Used for an ssh exec request (``ssh -p 8022 admin@host csta -p``: that one line), an ssh
session without a pty (``echo "csta -p" | ssh -T ...``: each line of the input, in order,
silently, as ``sh -s`` would), and a telnet client that negotiates no options (a prompt, as
on a terminal, so a person behind ``nc`` sees where to type). The commands are those of the
terminal shell (:class:`~.commandline.ShellCommands`); a question (``csta -i``) takes the
next line as its answer. When the input ends the session ends with the exit status of the
last command (``on_exit``), like a POSIX shell reading a script (RFC 4254 6.10
``exit-status`` over ssh).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, protocol
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin.commandline import IShellSession, ShellCommands
from cstaserver.admin.output import CommandError, ICommandOutput
from cstaserver.admin.prompting import IPrompter

log = Logger()

#: The longest line kept; a longer one is refused with one line (the rest of it dropped).
MAX_LINE = 16384
#: The most lines waiting while a command runs; more input is refused (flow control).
MAX_WAITING = 1000


@implementer(ICommandOutput)
class LineOutput:
    """Command output as plain lines (``\\n``, or ``\\r\\n`` where the peer wants CR LF)."""

    def __init__(self, shell: LineShell) -> None:
        self.shell = shell

    def write(self, text: str) -> None:
        self.shell.write_text(text)

    def error(self, text: str) -> None:
        self.shell.write_text(text)


@implementer(IPrompter, IShellSession)
class LineShell(protocol.Protocol):
    """One administrator's commands, a line at a time."""

    def __init__(
        self,
        commands: ShellCommands,
        help_text: str,
        *,
        prompt: bytes = b"",
        banner: str = "",
        newline: bytes = b"\n",
        on_exit: Callable[[int], None] | None = None,
        keyboard: bool = False,
    ) -> None:
        self.commands = commands
        self.help_text = help_text
        self.prompt = prompt
        self.banner = banner
        self.newline = newline
        self.on_exit = on_exit
        self.keyboard = keyboard  # input typed on a terminal: see _typed
        self.last_status = 0
        self._buffer = b""
        self._skipping = False  # inside an overlong line
        self._lines: deque[str] = deque()
        self._answer: defer.Deferred | None = None
        self._busy = False
        self._input_ended = False
        self._finished = False
        self._once = False
        self._secret = False
        self._after_cr = False

    # -- connection --------------------------------------------------------------------------
    def connectionMade(self) -> None:  # noqa: N802 (Twisted hook)
        if self.banner:
            self.write_text(self.banner)
        self._prompt()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        if self._finished:
            return
        if self.keyboard:
            if b"\x03" in data or (b"\x04" in data and not self._buffer):
                self._interrupt(b"\x03" in data)
                return
            data = self._typed(data)
        self._buffer += data
        while b"\n" in self._buffer:
            raw, _, self._buffer = self._buffer.partition(b"\n")
            if self._skipping:
                self._skipping = False
                continue
            self._line(raw.rstrip(b"\r").decode("utf-8", "replace"))
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""
            if not self._skipping:
                self._skipping = True
                self.write_text(f"line longer than {MAX_LINE} bytes: dropped\n")
        self._next()

    def _interrupt(self, ctrl_c: bool) -> None:
        """Ctrl-C (or Ctrl-D on an empty line) typed on a terminal: the command asking a
        question is cancelled; with none, the input ends."""
        self._buffer = b""
        if self.transport is not None:
            self.transport.write(b"^C\r\n" if ctrl_c else b"\r\n")
        if self._answer is not None:
            answer, self._answer = self._answer, None
            answer.errback(CommandError("cancelled"))
        else:
            self.end_of_input()

    def _typed(self, data: bytes) -> bytes:
        """Keys from a terminal (``ssh -t host COMMAND``): Enter is CR, echoed here (but not
        the answer to a secret question); a CR LF pair counts once. No line editing beyond
        what the characters are."""
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        self._after_cr = data.endswith(b"\r")
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if data and self.transport is not None and not self._secret:
            self.transport.write(data.replace(b"\n", b"\r\n"))
        return data

    def run_once(self, text: str) -> None:
        """Run the command line ``text`` and end the session with its status (ssh exec);
        lines received meanwhile answer its questions."""
        self._once = True
        self._lines.appendleft(text)
        self._next()

    def end_of_input(self) -> None:
        """No more lines (ssh EOF): the session ends once the waiting lines have run."""
        if self._buffer and not self._skipping:
            self._line(self._buffer.rstrip(b"\r").decode("utf-8", "replace"))
        self._buffer = b""
        self._input_ended = True
        if self._answer is not None:
            answer, self._answer = self._answer, None
            answer.errback(CommandError("no answer (end of input)"))
        self._next()

    def connectionLost(self, reason: object = None) -> None:  # noqa: N802 (Twisted hook)
        self._finished = True
        self._lines.clear()
        if self._answer is not None:
            answer, self._answer = self._answer, None
            answer.errback(CommandError("logged out"))

    # -- output ------------------------------------------------------------------------------
    def write_text(self, text: str) -> None:
        if self._finished or self.transport is None:
            return
        data = text.encode("utf-8", "replace")
        if self.newline != b"\n":
            data = data.replace(b"\n", self.newline)
        self.transport.write(data)

    def _prompt(self) -> None:
        if self.prompt and not self._finished and not self._input_ended:
            self.transport.write(self.prompt)

    # -- lines -------------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        if self._answer is not None and not self._lines:
            answer, self._answer = self._answer, None
            answer.callback(text)
            return
        if len(self._lines) >= MAX_WAITING:
            self.write_text("too many lines waiting: dropped\n")
            return
        self._lines.append(text)

    def _next(self) -> None:
        """Run the next waiting line, or end the session when the input has ended."""
        if self._busy or self._finished:
            return
        if self._answer is not None and self._lines:
            answer, self._answer = self._answer, None
            answer.callback(self._lines.popleft())
            return
        if self._lines:
            self._busy = True
            text = self._lines.popleft()
            deferred = defer.Deferred.fromCoroutine(
                self.commands.execute(text, LineOutput(self), self, self, self.help_text)
            )
            deferred.addCallback(self._status)
            deferred.addErrback(self._failed)
            deferred.addBoth(self._done)
        elif self._input_ended:
            self.finish(self.last_status)

    def _status(self, status: int) -> None:
        self.last_status = status

    def _failed(self, failure: Any) -> None:
        log.failure("admin shell command failed", failure)
        self.last_status = 1
        self.write_text(f"internal error: {failure.getErrorMessage()}\n")

    def _done(self, _: object) -> None:
        self._busy = False
        if self._once:
            self.finish(self.last_status)
        elif not self._finished:
            if not self._lines:
                self._prompt()
            self._next()

    # -- IPrompter ---------------------------------------------------------------------------
    def ask(self, question: str, default: str, secret: bool = False) -> defer.Deferred:
        if self._input_ended and not self._lines:
            return defer.fail(CommandError("no answer (end of input)"))
        text = f"{question} [{default}]: " if default else f"{question}: "
        self.write_text(text)
        answer: defer.Deferred = defer.Deferred()
        if self._lines:  # the answer has been typed ahead
            answer.callback(self._lines.popleft())
        else:
            self._answer = answer
            self._secret = secret
            answer.addBoth(self._answered)
        return answer

    def _answered(self, result: Any) -> Any:
        self._secret = False
        return result

    # -- IShellSession -----------------------------------------------------------------------
    def quit(self) -> None:
        self.finish(self.last_status)

    def open_manhole(self) -> bool:
        return False

    def finish(self, status: int) -> None:
        """End the session with ``status`` (once)."""
        if self._finished:
            return
        self._finished = True
        self._lines.clear()
        if self.on_exit is not None:
            self.on_exit(status)
        elif self.transport is not None:
            self.transport.loseConnection()
