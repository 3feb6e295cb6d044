"""The admin shell (docs/admin.md): a line-editing command shell with history, prompt
``mxone> ``, reached over telnet (8023) and ssh (8022) once logged in (:mod:`.access`).

Commands: the administrator's commands (``csta``, ``csta_authentication``,
``mxone_certificate``, ``csta_group`` and the plan's ``extension``, ``group``, ``agent``,
``trunk``, ``timer``, ``csta_admin_password``; ``passwd`` changes one's own password: the same code as the console scripts, :func:`.commands.run`, acting on
the running server; ``-i``/``-c`` without values prompt here), ``exchange print|dump|restore``
(:mod:`.exchange`), the ``sim`` controls of the simulated terminals and callers
(:mod:`.simcommands`), ``python`` (a real Twisted manhole, :class:`AdminManhole`, with
``switch``, ``monitors``, ``sessions``, ``core`` and ``sim`` bound; Ctrl-D returns to ``mxone>``),
``help`` and ``quit``. A wrong command gives one line and the shell goes on.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import attrs
from twisted.conch import manhole, recvline
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin import commands, exchange, parsing, simcommands
from cstaserver.admin.output import CommandError, ICommandOutput
from cstaserver.admin.prompting import IPrompter

log = Logger()

PROMPT = b"mxone> "
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
  sim answer|hangup|hold|retrieve DEVICE
  sim busy DEVICE on|off  |  sim mode DEVICE handsfree|manual
  sim agent DEVICE login AGENT_ID | logout | ready | notready
  sim traffic RATE SECONDS [--to NUMBER]   outside calls at RATE per second
  python                             Python manhole (switch, monitors, sessions, core); Ctrl-D back
  help                               this text
  quit                               log out
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
    """Command output on the shell's terminal (``\\n`` → ``\\r\\n``)."""

    terminal: Any

    def write(self, text: str) -> None:
        self.terminal.write(text.replace("\n", "\r\n").encode("utf-8", "replace"))

    def error(self, text: str) -> None:
        self.write(text)


class AdminManhole(manhole.ColoredManhole):
    """The Python manhole; Ctrl-D (or Ctrl-\\) on an empty line returns to the shell."""

    def __init__(self, namespace: dict[str, Any], shell: AdminShell) -> None:
        super().__init__(namespace)
        self.shell = shell

    def initializeScreen(self) -> None:
        self.terminal.write(
            b"Python manhole: switch, monitors, sessions, core, sim. Ctrl-D returns.\r\n"
        )
        self.terminal.write(self.ps[self.pn])
        self.setInsertMode()

    def handle_QUIT(self) -> None:
        self.terminal.nextLine()
        self.shell.resume(self.terminal)


@implementer(IPrompter)
class AdminShell(recvline.HistoricRecvLine):
    """One logged-in administrator's shell."""

    ps = (PROMPT, b"> ")

    def __init__(self, runtime: ShellRuntime, user: str = "admin") -> None:
        super().__init__()
        self.runtime = runtime
        self.user = user
        self.busy = False
        self._answer: defer.Deferred | None = None
        self._secret = False

    # -- screen ------------------------------------------------------------------------------
    def initializeScreen(self) -> None:
        self.terminal.write(
            f"MX-ONE CSTA server (simulated): admin shell, logged in as {self.user}. "
            "Type help for the commands.\r\n".encode()
        )
        self.terminal.write(self.ps[self.pn])
        self.setInsertMode()

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

    # -- IPrompter ---------------------------------------------------------------------------
    def ask(self, question: str, default: str, secret: bool = False) -> defer.Deferred:
        text = f"{question} [{default}]: " if default else f"{question}: "
        self.terminal.write(text.encode("utf-8"))
        self._answer = defer.Deferred()
        self._secret = secret
        return self._answer

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:
        if self._secret:
            self.lineBuffer.insert(self.lineBufferIndex, ch)
            self.lineBufferIndex += 1
            return
        super().characterReceived(ch, moreCharactersComing)

    def handle_RETURN(self) -> None:
        if self._secret:  # a password: not echoed, not kept in the history
            recvline.RecvLine.handle_RETURN(self)
        else:
            super().handle_RETURN()

    # -- lines -------------------------------------------------------------------------------
    def lineReceived(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        if self._answer is not None:
            answer, self._answer, self._secret = self._answer, None, False
            answer.callback(text)
            return
        if self.busy:
            self.terminal.write(b"\a")
            return
        self.busy = True
        deferred = defer.Deferred.fromCoroutine(self.execute(text))
        deferred.addErrback(self._failed)
        deferred.addBoth(self._done)

    def _failed(self, failure: Any) -> None:
        log.failure("admin shell command failed", failure)
        self.out().error(f"internal error: {failure.getErrorMessage()}\n")

    def _done(self, _: object) -> None:
        self.busy = False
        if self.terminal is not None and self.terminal.terminalProtocol is self and not self._gone:
            self.show_prompt()

    _gone = False

    def connectionLost(self, reason: object) -> None:
        self._gone = True
        if self._answer is not None:
            answer, self._answer = self._answer, None
            answer.errback(CommandError("logged out"))

    async def execute(self, text: str) -> None:
        out = self.out()
        try:
            words = shlex.split(text)
        except ValueError as e:
            out.error(f"{e}\n")
            return
        if not words:
            return
        command, args = words[0], words[1:]
        if command in PROGRAMS:
            await commands.run(command, args, self.runtime.target, out, prompter=self)
        elif command == "passwd" and not args:
            argv = ["-c", "--user", self.user]
            await commands.run("csta_admin_password", argv, self.runtime.target, out, prompter=self)
        elif command == "help":
            out.write(HELP)
        elif command in ("quit", "exit", "logout"):
            out.write("bye\n")
            self._gone = True
            self.terminal.loseConnection()
        elif command == "python":
            self.open_manhole()
        elif command == "exchange":
            await self.exchange(args, out)
        elif command == "sim":
            self.runtime.sim.run(args, out)
        else:
            out.error(f"unknown command {command!r} (help lists the commands)\n")

    def open_manhole(self) -> None:
        shell = AdminManhole(self.runtime.namespace(), self)
        terminal = self.terminal
        terminal.terminalProtocol = shell
        shell.makeConnection(terminal)
        self.terminal = terminal  # keep it for resume; prompt is the manhole's now

    async def exchange(self, args: list[str], out: TerminalOutput) -> None:
        runtime = self.runtime
        try:
            if args[:1] == ["print"] and len(args) <= 2:
                if len(args) == 2:
                    monitors = getattr(runtime.core, "monitors", None)
                    out.write(exchange.format_device(runtime.switch, args[1], monitors))
                else:
                    out.write(exchange.format_plan(runtime.switch))
            elif args[:1] == ["dump"] and len(args) <= 2:
                if len(args) == 2:
                    path = Path(args[1])
                else:
                    path = runtime.data_path / exchange.backup_name(runtime.clock.seconds())
                size = exchange.dump(runtime.target.read(), path)
                out.write(f"exchange data dumped to {path} ({size} bytes)\n")
            elif args[:1] == ["restore"] and len(args) == 2:
                out.write(await exchange.restore(runtime.target, Path(args[1])))
            else:
                raise CommandError("usage: exchange print [NUMBER] | dump [FILE] | restore FILE")
        except CommandError as e:
            out.error(f"exchange: {e}\n")
