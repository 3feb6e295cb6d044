"""The admin shell (docs/admin.md): a line-editing command shell with history, prompt
``mxone> ``, reached over telnet (8023) and ssh (8022) once logged in (:mod:`.access`).

Commands: the administrator's commands (``csta``, ``csta_authentication``,
``mxone_certificate``, ``csta_group`` and the plan's ``extension``, ``group``, ``agent``,
``trunk``, ``timer``, ``csta_admin_password``; ``passwd`` changes one's own password: the same code as the console scripts, :func:`.commands.run`, acting on
the running server; ``-i``/``-c`` without values prompt here), ``exchange print|dump|restore``
(:mod:`.exchange`), the ``sim`` controls of the simulated terminals and callers
(:mod:`.simcommands`), ``python`` (a real Twisted manhole, :class:`AdminManhole`, with
``switch``, ``monitors``, ``sessions``, ``core`` and ``sim`` bound; Ctrl-D returns to ``mxone>``),
``help`` and ``quit``. A wrong command gives one line and the shell goes on. What a line
means is :mod:`.commandline`'s, shared with the plain line shell (:mod:`.lineshell`).

The terminal: Twisted's ``recvline`` line editing with the keys of a shell (Ctrl-C, Ctrl-D,
Ctrl-U; see :class:`AdminShell`), a ``--password`` value echoed as ``*`` and masked in the
history, no screen clearing at login (a window size only is noted) and no terminal reset at
logout (:class:`TerminalProtocol`), as ECMA-48 terminals and ``insults`` understand them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
from twisted.conch import manhole, recvline
from twisted.conch.insults import insults
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin import parsing, simcommands
from cstaserver.admin.commandline import IShellSession, ShellCommands, in_secret, masked
from cstaserver.admin.lineshell import LineShell
from cstaserver.admin.output import CommandError, ICommandOutput
from cstaserver.admin.prompting import IPrompter
from cstaserver.admin.sshsession import ShellFactories

log = Logger()

PROMPT = b"mxone> "
CTRL_C = manhole.CTRL_C
CTRL_D = manhole.CTRL_D
CTRL_U = b"\x15"
PROGRAMS = parsing.PROGRAMS  # the administrator's commands, also the console scripts

HELP = """\
Commands (-h after any of the administrator's commands for its options):
  csta -i [--type xml|tr87] [--lim N] [--port N] [--tls-port N|none] [--web-port N|none]
          [--authentication off|optional|mandatory] [--system-status-on-connect yes|no]
          TR/87: [--line-replacement off|same-peer|any] [--out-of-dialog-info yes|no]
          [--session-expires S|none]                    initiate or change a CSTA server
  csta -e [--type xml|tr87] [--lim N] | --all          remove CSTA servers, close their clients
  csta -p [--monitors] [--sessions]                     status, monitored devices, sessions
  csta_authentication -i|-c [--application ID] [--user U] [--password P] [--max-duration S]
  csta_authentication -e [--application ID]  |  csta_authentication -p
  mxone_certificate -p | --export | --self-signed [--cn NAME] | --install CERT KEY [--chain FILE]
  csta_group -c --group N [--wrap-up S] [--ring-time S] [--diverted-position N] ...
  csta_group -p [--group N]          call-centre settings of the groups
  extension -i|-c -d NUMBERS [--kind ip|sip|...] [--lim N] [--name TEXT] ...
  extension -e -d NUMBERS  |  extension -p [-d NUMBERS]    NUMBERS: 1001,1002 or 1000..1099
  extension --import FILE [--replace]  |  extension --export FILE   the plan as CSV
  group -i -d N --type hunt|cascade|acd [--members A,B]  |  group -c|-e|-p -d N ...
  agent -i --group N --agent ID [--pin P]  |  agent -c|-e --agent ID  |  agent -p
  trunk -c [--trunk-prefix D] [--trunk-count N] ...  |  trunk -p    the outside network
  timer -c [--alerting-timeout S] ...  |  timer -p                   the exchange's timers
  lim -i|-c|-e --lim N [--name TEXT]  |  lim -p                      the LIMs
  csta_admin_password -i|-c|-e --user U  |  csta_admin_password -p   admin logins
  csta_limits -c [--max-connections-per-address N] ...  |  csta_limits -p   the limits
  passwd                             change your own login's password (asked twice)
  exchange print [NUMBER]            numbering plan, device kinds, states
  exchange dump [FILE]               back up the exchange data (default <data>/backup-<time>.json)
  exchange restore FILE              restore a backup (validated, saved, applied)
  sim call FROM TO [--withheld]      a terminal (or outside caller +46..., its number
                                     withheld with --withheld) dials
  sim offhook|answer|reject|hangup|onhook|hold|retrieve DEVICE   the phone's keys
  sim dial DEVICE DIGITS             dial digit by digit (off-hook first)
  sim consult DEVICE NUMBER  |  sim transfer|conference DEVICE
  sim dtmf DEVICE DIGITS             keypad digits (DEVICE may be an outside caller)
  sim park DEVICE TO  |  sim pickup DEVICE [TARGET]   park the active call; pick up a call
  sim dnd DEVICE on|off  |  sim forward DEVICE TYPE NUMBER|off
  sim busy DEVICE on|off  |  sim mode DEVICE handsfree|manual
  sim agent DEVICE login AGENT_ID | logout | ready | notready
  sim behaviour [DEVICE [answer [S] [--talk S] [--dtmf D]|noanswer|busy|reject [S]|dnd|manual]]
  sim traffic RATE SECONDS [--to NUMBER] [--answer W --busy W --noanswer W --abandon W
              --ring MIN-MAX --talk MIN-MAX --withheld SHARE --dtmf D --exclude N,N --seed N]
  sim traffic                        the last run's counters and why calls failed
  sim reset                          calls cleared, phones manual, traffic stopped
  python                             Python manhole (switch, monitors, sessions, core); Ctrl-D back
  help                               this text
  quit                               log out (or Ctrl-D on an empty line; Ctrl-C drops a line)
"""


@attrs.define
class ShellRuntime:
    """What every shell of one server shares."""

    target: Any  # IExchangeTarget: the RunningTarget of this server
    switch: Any
    sim: simcommands.SimControls
    core: Any
    clock: Any
    data_path: Path

    def namespace(self) -> dict[str, Any]:
        return {
            "switch": self.switch,
            "monitors": getattr(self.core, "monitors", None),
            "sessions": getattr(self.core, "sessions", None),
            "core": self.core,
            "sim": self.sim.simulator,
        }


@implementer(ICommandOutput)
@attrs.define
class TerminalOutput:
    """Command output on the shell's terminal (which makes each ``\\n`` a CR LF)."""

    terminal: Any

    def write(self, text: str) -> None:
        self.terminal.write(text.encode("utf-8", "replace"))

    def error(self, text: str) -> None:
        self.write(text)


class AdminManhole(manhole.ColoredManhole):
    """The Python manhole; Ctrl-D (or Ctrl-\\) on an empty line returns to the shell."""

    def __init__(self, namespace: dict[str, Any], shell: AdminShell) -> None:
        super().__init__(namespace)
        self.shell = shell

    def initializeScreen(self) -> None:
        self.terminal.write(
            b"Python manhole: switch, monitors, sessions, core, sim. Ctrl-D returns.\n"
        )
        self.terminal.write(self.ps[self.pn])
        self.setInsertMode()

    def handle_QUIT(self) -> None:
        self.terminal.nextLine()
        self.shell.resume(self.terminal)


class TerminalProtocol(insults.ServerProtocol):
    """The terminal of a shell session: as Twisted's, but logging out leaves the user's
    terminal as it is (no reset: what was on the screen stays there)."""

    def loseConnection(self) -> None:  # noqa: N802 (Twisted hook)
        self.transport.loseConnection()


@implementer(IPrompter, IShellSession)
class AdminShell(recvline.HistoricRecvLine):
    """One logged-in administrator's shell on a terminal (telnet, or ssh with a pty).

    Keys beyond Twisted's line editing: Ctrl-C drops the line being typed (a new prompt), or
    cancels the command asking a question; Ctrl-D on an empty line logs out (in the Python
    manhole: back to ``mxone>``), on a question cancels the command; Ctrl-U clears the line.
    """

    ps = (PROMPT, b"> ")

    def __init__(self, runtime: ShellRuntime, user: str = "admin") -> None:
        super().__init__()
        self.runtime = runtime
        self.user = user
        self.commands = ShellCommands(runtime, user)
        self.busy = False
        self.last_status = 0
        self._answer: defer.Deferred | None = None
        self._secret = False

    # -- screen ------------------------------------------------------------------------------
    def connectionMade(self) -> None:  # noqa: N802 (Twisted hook)
        super().connectionMade()
        self.keyHandlers[CTRL_C] = self.handle_INT
        self.keyHandlers[CTRL_D] = self.handle_EOF
        self.keyHandlers[CTRL_U] = self.handle_KILL

    def initializeScreen(self) -> None:  # noqa: N802 (Twisted hook)
        self.out().write(BANNER.format(user=self.user))
        self.terminal.write(self.ps[self.pn])
        self.setInsertMode()

    def terminalSize(self, width: int, height: int) -> None:  # noqa: N802 (Twisted hook)
        """A new window size: noted; the screen is left as it is (no clearing)."""
        self.width = width
        self.height = height

    def out(self) -> TerminalOutput:
        return TerminalOutput(self.terminal)

    def show_prompt(self) -> None:
        self.terminal.write(self.ps[self.pn])

    def resume(self, terminal: Any) -> None:
        """Back from the Python manhole."""
        terminal.terminalProtocol = self
        self.terminal = terminal
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.show_prompt()

    # -- keys --------------------------------------------------------------------------------
    def handle_INT(self) -> None:  # noqa: N802 (RecvLine key handler)
        """Ctrl-C: cancel the question being asked, or drop the line being typed."""
        self.terminal.write(b"^C\n")
        self._clear_line()
        if self._answer is not None:
            self._cancel_question()
        elif not self.busy:
            self.show_prompt()

    def handle_EOF(self) -> None:  # noqa: N802 (RecvLine key handler)
        """Ctrl-D: on an empty line log out (or cancel a question); else the bell."""
        if self.lineBuffer:
            self.terminal.write(b"\a")
        elif self._answer is not None:
            self.terminal.write(b"\n")
            self._cancel_question()
        elif self.busy:
            self.terminal.write(b"\a")
        else:
            self.terminal.write(b"\nbye\n")
            self.quit()

    def handle_KILL(self) -> None:  # noqa: N802 (RecvLine key handler)
        """Ctrl-U: clear the line being typed."""
        if not self._secret:  # a password answer is not on the screen
            if self.lineBufferIndex:
                self.terminal.cursorBackward(self.lineBufferIndex)
            self.terminal.eraseToLineEnd()
        self._clear_line()

    def handle_BACKSPACE(self) -> None:  # noqa: N802 (RecvLine key handler)
        if self._secret:  # a password answer: nothing to erase on the screen
            if self.lineBufferIndex > 0:
                self.lineBufferIndex -= 1
                del self.lineBuffer[self.lineBufferIndex]
            return
        super().handle_BACKSPACE()

    def _clear_line(self) -> None:
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.historyPosition = len(self.historyLines)

    def _cancel_question(self) -> None:
        answer, self._answer, self._secret = self._answer, None, False
        if answer is not None:
            answer.errback(CommandError("cancelled"))

    # -- IPrompter ---------------------------------------------------------------------------
    def ask(self, question: str, default: str, secret: bool = False) -> defer.Deferred:
        text = f"{question} [{default}]: " if default else f"{question}: "
        self.terminal.write(text.encode("utf-8"))
        self._answer = defer.Deferred()
        self._secret = secret
        return self._answer

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:  # noqa: N802, N803
        if self._secret:  # an answer to a password question: not echoed at all
            self.lineBuffer.insert(self.lineBufferIndex, ch)
            self.lineBufferIndex += 1
            return
        before = b"".join(self.lineBuffer[: self.lineBufferIndex]).decode("utf-8", "replace")
        if in_secret(before):  # the value of --password on the line: echoed as *
            self.lineBuffer.insert(self.lineBufferIndex, ch)
            self.lineBufferIndex += 1
            self.terminal.write(b"*")
            return
        super().characterReceived(ch, moreCharactersComing)

    def handle_RETURN(self) -> None:  # noqa: N802 (RecvLine key handler)
        if self._secret:  # a password: not echoed, not kept in the history
            recvline.RecvLine.handle_RETURN(self)
            return
        if self.lineBuffer and self._answer is None:
            line = b"".join(self.lineBuffer).decode("utf-8", "replace")
            self.historyLines.append(masked(line).encode("utf-8"))
        self.historyPosition = len(self.historyLines)
        recvline.RecvLine.handle_RETURN(self)

    # -- IShellSession -----------------------------------------------------------------------
    def quit(self) -> None:
        self._gone = True
        self.terminal.loseConnection()

    def open_manhole(self) -> bool:
        shell = AdminManhole(self.runtime.namespace(), self)
        terminal = self.terminal
        terminal.terminalProtocol = shell
        shell.makeConnection(terminal)
        self.terminal = terminal  # keep it for resume; prompt is the manhole's now
        return True

    # -- lines -------------------------------------------------------------------------------
    def lineReceived(self, line: bytes) -> None:  # noqa: N802 (RecvLine hook)
        text = line.decode("utf-8", "replace")
        if self._answer is not None:
            answer, self._answer, self._secret = self._answer, None, False
            answer.callback(text)
            return
        if self.busy:
            self.terminal.write(b"\a")
            return
        self.busy = True
        deferred = defer.Deferred.fromCoroutine(
            self.commands.execute(text, self.out(), self, self, HELP)
        )
        deferred.addCallback(self._status)
        deferred.addErrback(self._failed)
        deferred.addBoth(self._done)

    def _status(self, status: int) -> None:
        self.last_status = status

    def _failed(self, failure: Any) -> None:
        log.failure("admin shell command failed", failure)
        self.last_status = 1
        self.out().error(f"internal error: {failure.getErrorMessage()}\n")

    def _done(self, _: object) -> None:
        self.busy = False
        if self.terminal is not None and self.terminal.terminalProtocol is self and not self._gone:
            self.show_prompt()

    _gone = False

    def connectionLost(self, reason: object) -> None:  # noqa: N802 (Twisted hook)
        self._gone = True
        if self._answer is not None:
            answer, self._answer = self._answer, None
            answer.errback(CommandError("logged out"))


BANNER = "MX-ONE CSTA server (simulated): admin shell, logged in as {user}. Type help for the commands.\n"


def shell_factories(runtime: ShellRuntime) -> ShellFactories:
    """The shells of one server, for the telnet and ssh logins (:mod:`.access`)."""

    def terminal(user: str) -> TerminalProtocol:
        return TerminalProtocol(AdminShell, runtime, user)

    def lines(
        user: str,
        *,
        newline: bytes = b"\n",
        on_exit: Any = None,
        interactive: bool = False,
        keyboard: bool = False,
    ) -> LineShell:
        return LineShell(
            ShellCommands(runtime, user),
            HELP,
            prompt=PROMPT if interactive else b"",
            banner=BANNER.format(user=user) if interactive else "",
            newline=newline,
            on_exit=on_exit,
            keyboard=keyboard,
        )

    return ShellFactories(terminal, lines)
