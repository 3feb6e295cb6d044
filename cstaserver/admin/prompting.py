"""Interactive values for ``csta -i`` and ``csta_authentication -i|-c`` (docs/admin.md):
without option values they ask for each value interactively, with the current value as the
default, as the I/O terminal of the MX-ONE operational directions ("Aids") would.

:func:`prompted_options` asks an :class:`IPrompter` for each value and returns the answers
as extra command-line options, so the answers go through the same parser and checks as
typed options. An empty answer takes the default (shown in brackets). The console scripts
use :class:`TerminalPrompter` (stdin, no echo for a password); the admin shell its own.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any, TextIO

import attrs
from twisted.internet import defer
from zope.interface import Interface, implementer

from cstaserver.admin import editing, parsing
from cstaserver.admin.output import CommandError
from cstaserver.config import ExchangeData, ServerType


class IPrompter(Interface):
    def ask(question: str, default: str, secret: bool = False) -> Any:
        """The answer to ``question`` (a str, or a Deferred of one); empty means default."""


@implementer(IPrompter)
@attrs.define
class TerminalPrompter:
    """Asks on a terminal: ``question [default]: ``."""

    stdin: TextIO
    stdout: TextIO

    def ask(self, question: str, default: str, secret: bool = False) -> str:
        text = f"{question} [{default}]: " if default else f"{question}: "
        if secret:
            return getpass.getpass(text, stream=self.stdout)
        self.stdout.write(text)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            raise CommandError("no answer (end of input)")
        return line.rstrip("\r\n")


def needs_prompt(args: argparse.Namespace) -> bool:
    """``-i``/``-c`` without any option value."""
    if (args.program, args.action) == ("csta", "initiate"):
        names = ("type", "lim", *parsing.SERVER_OPTIONS)
    elif args.program == "csta_authentication" and args.action in ("initiate", "change"):
        names = ("application", "user", "password", "max_duration")
    elif args.program == "csta_admin_password" and args.action in ("initiate", "change"):
        names = ("password",)
    else:
        return False
    return not any(parsing.given(args, name) for name in names)


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(getattr(value, "value", value))


async def _ask(prompter: Any, question: str, default: object, secret: bool = False) -> str:
    answer = await defer.maybeDeferred(
        prompter.ask, question, "" if secret else _show(default), secret
    )
    answer = answer.strip()
    return answer if answer or secret else _show(default)


def _convert(converter: Any, option: str, text: str) -> Any:
    try:
        return converter(text)
    except argparse.ArgumentTypeError as e:
        raise CommandError(f"{option}: {e}") from None


async def prompted_options(
    args: argparse.Namespace, data: ExchangeData, prompter: Any
) -> list[str]:
    """The options the user chose, as ``["--type", "xml", ...]``."""
    if args.program == "csta":
        return await _csta_options(data, prompter)
    if args.program == "csta_admin_password":
        return await _new_password(args, prompter)
    return await _criteria_options(args, data, prompter)


async def _new_password(args: argparse.Namespace, prompter: Any) -> list[str]:
    """A new admin password, asked twice without echo (as passwd(1) does)."""
    if not args.user:
        raise CommandError("give the login name (--user NAME)")
    password = await _ask(prompter, f"new password for {args.user}", "", secret=True)
    if not password:
        raise CommandError("the password must not be empty")
    again = await _ask(prompter, "the same password again", "", secret=True)
    if again != password:
        raise CommandError("the two passwords differ; nothing changed")
    return ["--password", password]


async def _csta_options(data: ExchangeData, prompter: Any) -> list[str]:
    kind_text = await _ask(prompter, "server type (xml|tr87)", ServerType.XML)
    kind = _convert(parsing.server_type, "--type", kind_text)
    lim_text = await _ask(prompter, "LIM", editing.default_lim(data, kind))
    lim = _convert(parsing.lim_number, "--lim", lim_text)
    current = editing.server_for(data, argparse.Namespace(type=kind, lim=lim))
    options = ["--type", kind.value, "--lim", str(lim)]
    main = "XML port" if kind is ServerType.XML else "SIP port"
    options += ["--port", await _ask(prompter, main, current.port)]
    options += ["--tls-port", await _ask(prompter, "TLS port (or none)", current.tls_port)]
    if kind is ServerType.XML:
        options += ["--web-port", await _ask(prompter, "web port (or none)", current.web_port)]
    options += [
        "--authentication",
        await _ask(prompter, "authentication (off|optional|mandatory)", current.authentication),
    ]
    options += [
        "--system-status-on-connect",
        await _ask(prompter, "system status on connect (yes|no)", current.system_status_on_connect),
    ]
    if kind is ServerType.TR87:
        options += [
            "--line-replacement",
            await _ask(
                prompter,
                "a new INVITE replaces the line's dialog (off|same-peer|any)",
                current.line_replacement,
            ),
            "--out-of-dialog-info",
            await _ask(prompter, "serve out-of-dialog INFO (yes|no)", current.out_of_dialog_info),
            "--session-expires",
            await _ask(prompter, "Session-Expires, s (or none)", current.session_expires),
        ]
    return options


async def _criteria_options(
    args: argparse.Namespace, data: ExchangeData, prompter: Any
) -> list[str]:
    application = await _ask(prompter, "application ID", editing.default_application(data) or "")
    if not application:
        raise CommandError("give the application ID (--application ID)")
    options = ["--application", application]
    criteria = data.authentication.application(application)
    users = [u.user for u in criteria.users] if criteria else []
    user = await _ask(prompter, "user (empty: none)", users[0] if users else "")
    if user:
        options += ["--user", user]
        keep = " (empty: keep)" if user in users else ""
        password = await _ask(prompter, f"password for {user}{keep}", "", secret=True)
        if password:
            options += ["--password", password]
    duration = criteria.max_duration if criteria else 0
    options += [
        "--max-duration",
        await _ask(prompter, "max session duration, s (0: none)", duration),
    ]
    return options
