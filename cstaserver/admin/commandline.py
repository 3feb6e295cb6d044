"""One command line of the admin shell (docs/admin.md, "The admin shell"): the words of the
line, the command they name, its exit status; shared by the terminal shell
(:class:`~.shell.AdminShell`) and the plain line shell (:class:`~.lineshell.LineShell`: ssh
exec requests, piped ssh sessions, telnet clients that negotiate nothing).

A secret typed on the line (``--password P``) is kept out of sight: :func:`masked` is what the
history keeps (``--password ***``), :func:`in_secret` tells the terminal shell to echo ``*``
while the secret is typed, and :func:`ask_secrets` asks for a ``--password`` given without
its value (not echoed), as ``passwd(1)`` would.

Exit statuses follow the console scripts: 0 done, 2 wrong input (a CSTAErrorCode-like one
line on the output; an unknown command too).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import attrs
from zope.interface import Interface

from cstaserver.admin import commands, exchange, parsing
from cstaserver.admin.output import CommandError, ICommandOutput

OK = 0
WRONG_INPUT = 2

#: Options whose value is a secret: masked on the terminal and in the history.
SECRET_OPTIONS = ("--password",)
MASK = "***"

_SECRET_VALUE = re.compile(
    r"(?P<option>--password)(?P<gap>=|\s+)(?P<value>\"[^\"]*\"?|'[^']*'?|\S+)"
)
_TYPING_SECRET = re.compile(r"--password(=|\s+)(\"[^\"]*|'[^']*|\S*)$")


def masked(text: str) -> str:
    """``text`` with the value of each secret option replaced by ``***``."""
    return _SECRET_VALUE.sub(lambda m: f"{m['option']}{m['gap']}{MASK}", text)


def in_secret(before_cursor: str) -> bool:
    """Whether the character typed after ``before_cursor`` is part of a secret value."""
    return _TYPING_SECRET.search(before_cursor) is not None


async def ask_secrets(words: list[str], prompter: Any) -> list[str]:
    """``words`` with each ``--password`` that has no value completed by asking (not
    echoed); without a prompter a missing value stays missing (the parser says so)."""
    if prompter is None:
        return words
    result: list[str] = []
    for i, word in enumerate(words):
        result.append(word)
        if word in SECRET_OPTIONS:
            following = words[i + 1] if i + 1 < len(words) else None
            if following is None or following.startswith("-"):
                answer = await prompter.ask(word.lstrip("-"), "", secret=True)
                if not answer:
                    raise CommandError(f"{word}: no value given")
                result.append(answer)
    return result


class IShellSession(Interface):
    """What a command line may do to the session it was typed in."""

    def quit() -> None:
        """Log out (``quit``)."""

    def open_manhole() -> bool:
        """Open the Python manhole (``python``); False where there is no terminal for it."""


@attrs.define
class ShellCommands:
    """The commands of one logged-in administrator."""

    runtime: Any  # ShellRuntime
    user: str

    async def execute(
        self, text: str, out: ICommandOutput, prompter: Any, session: Any, help_text: str
    ) -> int:
        """Run one command line; its exit status."""
        try:
            words = shlex.split(text)
        except ValueError as e:
            out.error(f"{e}\n")
            return WRONG_INPUT
        if not words:
            return OK
        command, args = words[0], words[1:]
        try:
            args = await ask_secrets(args, prompter)
        except CommandError as e:
            out.error(f"{command}: {e}\n")
            return WRONG_INPUT
        target = self.runtime.target
        if command in parsing.PROGRAMS:
            return await commands.run(command, args, target, out, prompter=prompter)
        if command == "passwd" and not args:
            argv = ["-c", "--user", self.user]
            return await commands.run("csta_admin_password", argv, target, out, prompter=prompter)
        if command == "help":
            out.write(help_text)
            return OK
        if command in ("quit", "exit", "logout"):
            out.write("bye\n")
            session.quit()
            return OK
        if command == "python":
            if session.open_manhole():
                return OK
            out.error("python: the Python manhole needs a terminal (ssh -t, or telnet)\n")
            return WRONG_INPUT
        if command == "exchange":
            return await self.exchange(args, out)
        if command == "sim":
            return self.runtime.sim.run(args, out)
        out.error(f"unknown command {command!r} (help lists the commands)\n")
        return WRONG_INPUT

    async def exchange(self, args: list[str], out: ICommandOutput) -> int:
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
            return WRONG_INPUT
        return OK
