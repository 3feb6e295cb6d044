"""The command lines of the administrator's commands (docs/admin.md): ``csta``,
``csta_authentication`` and ``mxone_certificate`` of the MX-ONE operational directions
"CSTA Server (Phase III)", and ``csta_group`` (ours, in the same style) for the call-centre
settings of the groups (docs/call-centre.md).

``parse(program, argv)`` returns an ``argparse.Namespace`` with ``program`` and ``action``
set, or raises :class:`~cstaserver.admin.output.CommandError` with one line (an unknown
option, a bad port, an option that does not belong to the action). ``-h`` gives
``action == "help"`` and the text in ``help``. Values are checked here only for their form;
whether they fit the exchange (a LIM that exists, a port not in use) is checked when the
command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

from cstaserver.admin.fieldoptions import DEST_PREFIX, NONE_WORDS, choice
from cstaserver.admin.output import CommandError
from cstaserver.config import AuthMode, LineReplacement, ServerType
from cstaserver.config.model import MAX_LIM, MAX_SESSION_EXPIRES, MIN_SESSION_EXPIRES
from cstaserver.config.validate import MAX_SECONDS
from cstaserver.config.values import whole_number
from cstaserver.pbx.plan import GroupRouting, RouteTimeout

DEFAULT_DATA = "./mxone-data"

#: Every command :func:`parse` knows (``register`` adds more: :mod:`.planparsing`).
PROGRAMS = ["csta", "csta_authentication", "mxone_certificate", "csta_group"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises CommandError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise CommandError(message or f"exit {status}")


def _argument(text: str, what: str, **bounds: Any) -> int:
    try:
        return whole_number(text, what, **bounds)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def port_number(text: str) -> int:
    return _argument(text, "a port number (1-65535)", low=1, high=65535)


def optional_port(text: str) -> int | None:
    """A port, or ``none`` (not offered)."""
    if text.strip().lower() in NONE_WORDS:
        return None
    return port_number(text)


YES_WORDS = ("yes", "on", "true")
NO_WORDS = ("no", "off", "false")


def yes_no(text: str) -> bool:
    word = text.strip().lower()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not yes or no")


def session_expires(text: str) -> int | None:
    """RFC 4028 Session-Expires in seconds, or ``none`` (no session timer)."""
    if text.strip().lower() in NONE_WORDS:
        return None
    return _argument(
        text,
        "a number of seconds",
        low=MIN_SESSION_EXPIRES,
        high=MAX_SESSION_EXPIRES,
        range_hint=" (or none)",
    )


def lim_number(text: str) -> int:
    return _argument(text, "a LIM number", low=1, high=MAX_LIM, range_hint=f" (1-{MAX_LIM})")


def seconds(text: str) -> int:
    return _argument(
        text,
        "a number of seconds",
        low=0,
        high=MAX_SECONDS,
        range_hint=f" (0-{MAX_SECONDS}; 0 = no limit)",
    )


server_type = choice(ServerType)
auth_mode = choice(AuthMode)
_line_replacement_choice = choice(LineReplacement)


def line_replacement(text: str) -> LineReplacement:
    """``off|same-peer|any``; the ``yes|no`` of earlier versions read as ``same-peer|off``
    (as data files that still say ``replace_line_dialogs`` are)."""
    word = text.strip().lower()
    if word in YES_WORDS:
        return LineReplacement.SAME_PEER
    if word in NO_WORDS:
        return LineReplacement.OFF
    return _line_replacement_choice(text)  # type: ignore[return-value]


line_replacement.__name__ = "line_replacement"
group_routing = choice(GroupRouting)
route_timeout = choice(RouteTimeout)


def group_seconds(text: str) -> float:
    """A time of a group setting: whole seconds, 1 to 1,000,000."""
    return _argument(text, "a number of seconds", low=1, high=1_000_000)


def wrap_up_seconds(text: str) -> float:
    return _argument(text, "a number of seconds", low=0, high=1_000_000)


def optional_seconds(text: str) -> float | None:
    if text.strip().lower() in NONE_WORDS:
        return None
    return group_seconds(text)


def optional_number(text: str) -> str | None:
    """A directory number, or ``none``."""
    if text.strip().lower() in NONE_WORDS:
        return None
    return directory_number(text)


def directory_number(text: str) -> str:
    number = text.strip()
    if not number.isdigit() or not number.isascii() or len(number) > 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a directory number")
    return number


def queue_limit(text: str) -> int:
    return _argument(text, "a number of calls", low=0, high=100_000)


def agent_pin(text: str) -> tuple[str, str]:
    """``AGENT:PIN`` (PIN: 1-16 digits)."""
    agent, _, pin = text.partition(":")
    if not agent.strip() or not pin.isdigit() or not 1 <= len(pin) <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not AGENT:PIN (a PIN of 1-16 digits)")
    return agent.strip(), pin


def pin_code(text: str) -> str:
    """A PIN of 1-16 digits."""
    pin = text.strip()
    if not pin.isdigit() or not pin.isascii() or not 1 <= len(pin) <= 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a PIN (1-16 digits)")
    return pin


def new_parser(program: str, usage: str) -> _Parser:
    """A command's parser with ``-h`` and ``--data``."""
    return _parser(program, usage)


#: The long forms of the action flags, as the MX-ONE command descriptions spell them
#: (``-c, --change``, ``-e, --erase``, ...).
LONG_ACTIONS = {"-i": "--initiate", "-c": "--change", "-e": "--erase", "-p": "--print"}


def add_actions(parser: _Parser, *flags: tuple[str, str, str]) -> None:
    """The mutually exclusive action flags of a command: ``-i``/``--initiate``,
    ``-c``/``--change``, ``-e``/``--erase``, ``-p``/``--print``."""
    group = parser.add_mutually_exclusive_group()
    for flag, action, text in flags:
        names = [flag, LONG_ACTIONS[flag]] if flag in LONG_ACTIONS else [flag]
        group.add_argument(*names, dest="action", action="store_const", const=action, help=text)


def _parser(program: str, usage: str) -> _Parser:
    parser = _Parser(prog=program, usage=usage, add_help=False, allow_abbrev=False)
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    parser.add_argument(
        "--data", default=DEFAULT_DATA, help=f"exchange data directory [{DEFAULT_DATA}]"
    )
    return parser


def _actions(parser: _Parser, *flags: tuple[str, str, str]) -> None:
    group = parser.add_mutually_exclusive_group()
    for flag, action, text in flags:
        group.add_argument(flag, dest="action", action="store_const", const=action, help=text)


def csta_parser() -> _Parser:
    parser = _parser(
        "csta",
        "csta -i [--type xml|tr87] [--lim N] [--port N] [--tls-port N|none] "
        "[--web-port N|none] [--authentication off|optional|mandatory] "
        "[--system-status-on-connect yes|no] [--line-replacement off|same-peer|any] "
        "[--out-of-dialog-info yes|no] [--session-expires S|none]\n"
        "       csta -e [--type xml|tr87] [--lim N] | --all  (at least one)\n"
        "       csta -p [--monitors] [--sessions]",
    )
    _actions(
        parser,
        ("-i", "initiate", "initiate (or change) a CSTA server"),
        ("-e", "remove", "remove CSTA servers; their clients are closed cleanly"),
        ("-p", "print", "print the CSTA servers, their clients and state"),
    )
    parser.add_argument("--type", type=server_type, help="xml (ECMA-323, TLS, SOAP) or tr87")
    parser.add_argument("--lim", type=lim_number, help="the LIM the server is installed on")
    parser.add_argument("--port", type=port_number, help="XML port (8882) or SIP port (5062)")
    parser.add_argument("--tls-port", type=optional_port, default=False, help="TLS port or none")
    parser.add_argument("--web-port", type=optional_port, default=False, help="web port or none")
    parser.add_argument("--authentication", type=auth_mode, help="off|optional|mandatory")
    for dest, text in SERVER_SWITCHES.items():
        parser.add_argument(option_name(dest), dest=dest, type=yes_no, help=text)
    parser.add_argument(
        "--line-replacement",
        type=line_replacement,
        help="TR/87: a new INVITE for a line ends its old dialog: off|same-peer|any",
    )
    parser.add_argument(
        "--session-expires", type=session_expires, default=False, help="TR/87: seconds or none"
    )
    parser.add_argument("--all", action="store_true", help="csta -e: every CSTA server")
    parser.add_argument("--monitors", action="store_true", help="list the monitored devices")
    parser.add_argument("--sessions", action="store_true", help="list application sessions")
    return parser


def authentication_parser() -> _Parser:
    parser = _parser(
        "csta_authentication",
        "csta_authentication -i|-c [--application ID] [--user U] [--password P] "
        "[--max-duration SECONDS]\n"
        "       csta_authentication -e [--application ID]\n"
        "       csta_authentication -p",
    )
    _actions(
        parser,
        ("-i", "initiate", "initiate authentication criteria for an application"),
        ("-c", "change", "change the criteria of an application"),
        ("-e", "remove", "remove criteria (of one application, else all)"),
        ("-p", "print", "print the criteria (never passwords)"),
    )
    parser.add_argument("--application", help="application ID (ECMA-354 applicationID)")
    parser.add_argument("--user", help="user name the application logs in with")
    parser.add_argument("--password", help="that user's password")
    parser.add_argument("--max-duration", type=seconds, help="session duration limit, 0 = none")
    return parser


def certificate_parser() -> _Parser:
    parser = _parser(
        "mxone_certificate",
        "mxone_certificate -p | --export | --self-signed [--cn NAME] "
        "| --install CERT KEY [--chain FILE]",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-p", dest="action", action="store_const", const="print", help="print the certificate"
    )
    group.add_argument(
        "--export",
        dest="action",
        action="store_const",
        const="export",
        help="write the certificate and its chain (PEM, never the key) to standard output",
    )
    group.add_argument(
        "--self-signed",
        dest="action",
        action="store_const",
        const="self-signed",
        help="create and install a self-signed certificate",
    )
    group.add_argument(
        "--install", nargs=2, metavar=("CERT", "KEY"), help="install a certificate and its key"
    )
    parser.add_argument("--cn", help="common name of a self-signed certificate [localhost]")
    parser.add_argument("--chain", help="PEM file with the intermediate certificates")
    return parser


def group_parser() -> _Parser:
    parser = _parser(
        "csta_group",
        "csta_group -c --group N [--routing application|switch] [--wrap-up S] "
        "[--ring-time S] [--queue-limit N] [--queue-time S|none] [--diverted-position N|none] "
        "[--route-time S] [--on-route-timeout queue|divert] [--agent-pin AGENT:PIN] "
        "[--remove-agent-pin AGENT]\n"
        "       csta_group -p [--group N]",
    )
    _actions(
        parser,
        ("-c", "change", "change the call-centre settings of a group"),
        ("-p", "print", "print the groups and their settings (never PINs)"),
    )
    parser.add_argument("--group", type=directory_number, help="the group's directory number")
    parser.add_argument("--routing", type=group_routing, help="application|switch (CTI/ACD)")
    parser.add_argument("--wrap-up", type=wrap_up_seconds, help="work after call, seconds")
    parser.add_argument("--ring-time", type=group_seconds, help="seconds an agent may let ring")
    parser.add_argument("--queue-limit", type=queue_limit, help="calls the queue holds")
    parser.add_argument("--queue-time", type=optional_seconds, default=False, help="S or none")
    parser.add_argument(
        "--diverted-position", type=optional_number, default=False, help="number or none"
    )
    parser.add_argument("--route-time", type=group_seconds, help="seconds to wait for a route")
    parser.add_argument("--on-route-timeout", type=route_timeout, help="queue|divert")
    parser.add_argument("--agent-pin", type=agent_pin, action="append", help="AGENT:PIN")
    parser.add_argument("--remove-agent-pin", action="append", help="AGENT (no PIN any more)")
    return parser


#: The yes/no settings of a CSTA server ``csta -i`` sets: option (dest spelling) -> help.
SERVER_SWITCHES = {
    "system_status_on_connect": "send SystemStatus when a client connects (yes|no)",
    "out_of_dialog_info": "TR/87: serve CSTA INFO outside a dialog, else 481 (yes|no)",
}

#: ``csta -i`` options -> the CstaServerSettings field each sets.
SERVER_OPTIONS = {
    "port": "port",
    "tls_port": "tls_port",
    "web_port": "web_port",
    "authentication": "authentication",
    "system_status_on_connect": "system_status_on_connect",
    "line_replacement": "line_replacement",
    "out_of_dialog_info": "out_of_dialog_info",
    "session_expires": "session_expires",
}

#: The options that only a TR/87 server has.
TR87_OPTIONS = ("line_replacement", "out_of_dialog_info", "session_expires")

PARSERS: dict[str, Callable[[], _Parser]] = {
    "csta": csta_parser,
    "csta_authentication": authentication_parser,
    "mxone_certificate": certificate_parser,
    "csta_group": group_parser,
}

#: The ``csta_group -c`` options and the group field each one sets.
GROUP_OPTIONS = {
    "routing": "routing",
    "wrap_up": "wrap_up_seconds",
    "ring_time": "ring_seconds",
    "queue_limit": "queue_limit",
    "queue_time": "queue_seconds",
    "diverted_position": "diverted_position",
    "route_time": "route_seconds",
    "on_route_timeout": "on_route_timeout",
}

#: Options each action accepts (besides --data and -h).
_ALLOWED = {
    ("csta", "initiate"): {"type", "lim", *SERVER_OPTIONS},
    ("csta", "remove"): {"type", "lim", "all"},
    ("csta", "print"): {"monitors", "sessions"},
    ("csta_authentication", "initiate"): {"application", "user", "password", "max_duration"},
    ("csta_authentication", "change"): {"application", "user", "password", "max_duration"},
    ("csta_authentication", "remove"): {"application"},
    ("csta_authentication", "print"): set(),
    ("mxone_certificate", "print"): set(),
    ("mxone_certificate", "export"): set(),
    ("mxone_certificate", "self-signed"): {"cn"},
    ("mxone_certificate", "install"): {"chain"},
    ("csta_group", "change"): {"group", *GROUP_OPTIONS, "agent_pin", "remove_agent_pin"},
    ("csta_group", "print"): {"group"},
}

_ACTION_WORDS = {
    "csta": "-i, -e or -p",
    "csta_authentication": "-i, -c, -e or -p",
    "mxone_certificate": "-p, --export, --self-signed or --install CERT KEY",
    "csta_group": "-c or -p",
}


def given(args: argparse.Namespace, name: str) -> bool:
    """Whether the option ``name`` (dest spelling) was given on the command line."""
    if name.startswith(DEST_PREFIX):  # an option derived from a field (.fieldoptions)
        return hasattr(args, name)
    value = getattr(args, name, None)
    if name in ("tls_port", "web_port", "queue_time", "diverted_position", "session_expires"):
        return value is not False
    if name in SERVER_SWITCHES:  # yes (True) or no (False); None: not given
        return value is not None
    return value is not None and value is not False


def option_name(dest: str) -> str:
    return "--" + dest.removeprefix(DEST_PREFIX).replace("_", "-")


def parse(program: str, argv: Sequence[str]) -> argparse.Namespace:
    """Parse one command line; CommandError with one line if it is wrong."""
    if program not in PARSERS:
        raise CommandError(f"unknown command {program!r}")
    parser = PARSERS[program]()
    args = parser.parse_args(list(argv))
    args.program = program
    if args.help:
        args.action = "help"
        args.help_text = parser.format_help()
        return args
    if program == "mxone_certificate" and args.install is not None:
        args.action = "install"
    for action in ("import", "export"):  # extension --import FILE / --export FILE
        if getattr(args, f"{action}_file", None) is not None:
            args.action = action
    if args.action is None:
        raise CommandError(f"say what to do: {_ACTION_WORDS[program]} (-h for help)")
    allowed = _ALLOWED[program, args.action]
    for dest in sorted(_allowed_all(program) - allowed):
        if given(args, dest):
            raise CommandError(f"{option_name(dest)} does not go with this action")
    if (program, args.action) == ("csta", "remove"):
        _check_remove(args)
    return args


def _allowed_all(program: str) -> set[str]:
    return set().union(*(options for (p, _), options in _ALLOWED.items() if p == program))


def register(
    program: str,
    factory: Callable[[], _Parser],
    allowed: dict[str, Iterable[str]],
    action_words: str,
) -> None:
    """Add a command: its parser, the options each action accepts, the actions' words."""
    if program not in PROGRAMS:
        PROGRAMS.append(program)
    PARSERS[program] = factory
    _ALLOWED.update({(program, action): set(names) for action, names in allowed.items()})
    _ACTION_WORDS[program] = action_words


def _check_remove(args: argparse.Namespace) -> None:
    """``csta -e`` names what it removes (a type, a LIM or both), or says ``--all``; it never
    removes every server by default."""
    if args.all and (args.type is not None or args.lim is not None):
        raise CommandError("--all does not go with --type or --lim")
    if not args.all and args.type is None and args.lim is None:
        raise CommandError(
            "say which CSTA server to remove: --type xml|tr87 and/or --lim N, or --all"
        )
