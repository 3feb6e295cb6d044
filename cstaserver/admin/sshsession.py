"""ssh sessions of the admin shell (docs/admin.md; RFC 4254 section 6: pty-req, shell,
exec, window-change, exit-status).

One :class:`AdminSession` per session channel of a logged-in :class:`AdminUser`:

- ``shell`` after ``pty-req`` (``ssh -p 8022 admin@host``): the terminal shell
  (:class:`~.shell.AdminShell` behind :class:`~.shell.TerminalProtocol`);
- ``shell`` without a pty (``echo "csta -p" | ssh -T ...``): the plain line shell, each input
  line a command, until the end of the input;
- ``exec`` (``ssh -p 8022 admin@host csta -p``): that one command line; further input lines
  answer its questions (with ``ssh -t``, typed: echoed, a password answer not).

Every session ends with an ``exit-status``: the status of the last command (0 done, 2 wrong
input), so ``ssh ... csta -p && ...`` works as with a local command. Logging out (``quit``,
Ctrl-D) closes the channel without resetting the user's terminal.

:class:`QuietServerTransport` is the ssh server transport: a client's ordinary goodbye
(``SSH_DISCONNECT_BY_APPLICATION``, what OpenSSH sends when it is done) is logged as a logout,
not as an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.conch import avatar
from twisted.conch import interfaces as iconch
from twisted.conch.ssh import session, transport
from twisted.internet import error as ierror
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from zope.interface import implementer

log = Logger()


@attrs.frozen
class ShellFactories:
    """How a session makes its shell: ``terminal(user)`` the terminal protocol (an
    ``insults`` server protocol running the terminal shell), ``lines(user, newline=,
    on_exit=, interactive=, keyboard=)`` a :class:`~.lineshell.LineShell` (``interactive``:
    with the banner and the prompt; ``keyboard``: input typed on a terminal)."""

    terminal: Callable[[str], Any]
    lines: Callable[..., Any]


class AdminUser(avatar.ConchUser):
    """A logged-in administrator over ssh: session channels only."""

    def __init__(self, user: str, shells: ShellFactories) -> None:
        super().__init__()
        self.user = user
        self.shells = shells
        self.channelLookup[b"session"] = session.SSHSession


@attrs.define
class _Pipe:
    """The ``transport`` of one end of a session: writes go to the other end."""

    write: Callable[[bytes], None]
    lose: Callable[[], None]
    name: str = "admin shell"

    def loseConnection(self) -> None:  # noqa: N802 (ITransport)
        self.lose()

    def writeSequence(self, data: Any) -> None:  # noqa: N802 (ITransport)
        self.write(b"".join(data))


def _ended(status: int) -> Failure:
    """How the session's end reaches ``SSHSessionProcessProtocol.processEnded``."""
    if status == 0:
        return Failure(ierror.ProcessDone(0))
    return Failure(ierror.ProcessTerminated(exitCode=status))


@implementer(iconch.ISession)
class AdminSession:
    """One session channel (see the module)."""

    def __init__(self, user: AdminUser) -> None:
        self.user = user
        self.size: tuple[int, int] | None = None  # (width, height) once a pty is asked for
        self.terminal: Any = None
        self.lines: Any = None
        self.proto: Any = None
        self._over = False

    def getPty(self, term: bytes, windowSize: Any, modes: Any) -> None:  # noqa: N802, N803
        rows, columns = windowSize[:2]
        self.size = (columns or 80, rows or 24)

    def openShell(self, proto: Any) -> None:  # noqa: N802 (ISession)
        if self.size is not None:
            self._open_terminal(proto)
        else:
            self._open_lines(proto, once=None)

    def execCommand(self, proto: Any, cmd: bytes) -> None:  # noqa: N802 (ISession)
        self._open_lines(proto, once=cmd.decode("utf-8", "replace"))

    def windowChanged(self, newWindowSize: Any) -> None:  # noqa: N802, N803 (ISession)
        rows, columns = newWindowSize[:2]
        if self.terminal is not None and self.terminal.terminalProtocol is not None:
            self.terminal.terminalProtocol.terminalSize(columns, rows)

    def eofReceived(self) -> None:  # noqa: N802 (ISession)
        if self.lines is not None:
            self.lines.end_of_input()

    def closed(self) -> None:
        self._lost()

    # -- the two kinds of shell ----------------------------------------------------------------
    def _open_terminal(self, proto: Any) -> None:
        self.proto = proto
        terminal = self.user.shells.terminal(self.user.user)
        self.terminal = terminal
        proto.makeConnection(_Pipe(terminal.dataReceived, self._lost))
        terminal.makeConnection(_Pipe(proto.write, self._terminal_logout))
        width, height = self.size or (80, 24)
        terminal.terminalProtocol.terminalSize(width, height)

    def _terminal_logout(self) -> None:
        shell = self.terminal.terminalProtocol if self.terminal is not None else None
        self._end(getattr(shell, "last_status", 0))

    def _open_lines(self, proto: Any, once: str | None) -> None:
        self.proto = proto
        pty = self.size is not None  # ssh -t host COMMAND: typed answers, CR LF lines
        newline = b"\r\n" if pty else b"\n"
        shell = self.user.shells.lines(
            self.user.user, newline=newline, on_exit=self._end, keyboard=pty
        )
        self.lines = shell
        proto.makeConnection(_Pipe(shell.dataReceived, self._lost))
        shell.makeConnection(_Pipe(proto.write, lambda: self._end(shell.last_status)))
        if once is not None:
            shell.run_once(once)

    def _end(self, status: int) -> None:
        """The shell is done: exit-status, then close the channel."""
        if self._over or self.proto is None:
            return
        self._over = True
        self._lost()
        self.proto.processEnded(_ended(status))

    def _lost(self) -> None:
        """The channel is gone (or going): the shell learns it once."""
        shell, self.lines = self.lines, None
        terminal, self.terminal = self.terminal, None
        if shell is not None:
            shell.connectionLost(Failure(ierror.ConnectionDone()))
        if terminal is not None:
            terminal.connectionLost(Failure(ierror.ConnectionDone()))


components.registerAdapter(AdminSession, AdminUser, iconch.ISession)


class QuietServerTransport(transport.SSHServerTransport):
    """The ssh server transport; an ordinary disconnect is a logout, not an error."""

    def receiveError(self, reasonCode: int, description: bytes) -> None:  # noqa: N802, N803
        if reasonCode == transport.DISCONNECT_BY_APPLICATION:
            log.info("ssh client {peer} disconnected", peer=str(self.transport.getPeer().host))
            return
        super().receiveError(reasonCode, description)
