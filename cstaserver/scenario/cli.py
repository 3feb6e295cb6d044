"""``csta-sim run FILE``: play a scenario file against a running server and say how each
step went (docs/testing-your-application.md, "csta-sim run").

Exit status 0 when every step passed, 1 when one failed (the run stops there; its line says
what was expected and what came), 2 for a file that cannot run or bad options: one line on
stderr, ``csta-sim: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from cstaserver.scenario.format import ScenarioError, load_scenario
from cstaserver.scenario.runner import Target, play

PROG = "csta-sim"
#: Where `csta-sim run` takes the API password from when --password is not given.
PASSWORD_VARIABLE = "CSTA_ADMIN_PASSWORD"


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (``csta-sim: error: ...``) and status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: {message} (csta-sim --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE")
    return name, value


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog=PROG,
        description="Play scenario files (TOML) against a running cstaserver.",
    )
    commands = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    run = commands.add_parser(
        "run",
        help="play one scenario file",
        description="Play one scenario file: one line per step; exit status 0 when every "
        "step passed, 1 when one failed, 2 for a bad file or bad options.",
    )
    run.add_argument("file", metavar="FILE", help="the scenario (TOML)")
    run.add_argument("--host", default="127.0.0.1", help="the server (default 127.0.0.1)")
    run.add_argument(
        "--web-port", type=_port, default=8080, help="its web port, for the JSON API (8080)"
    )
    run.add_argument("--xml-port", type=_port, default=8882, help="its CSTA XML port (8882)")
    run.add_argument(
        "--user", default="admin", help="API account (default admin: actions need one)"
    )
    run.add_argument(
        "--password",
        default=os.environ.get(PASSWORD_VARIABLE, ""),
        help=f"its password (default: ${PASSWORD_VARIABLE}; the admin password is the one the "
        "server's first start showed, or the one set with csta_admin_password)",
    )
    run.add_argument(
        "--var",
        type=_variable,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable of the scenario (repeatable; replaces its [vars] value)",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        scenario = load_scenario(options.file, dict(options.var))
    except ScenarioError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    target = Target(
        options.host, options.xml_port, options.web_port, options.user, options.password
    )
    try:
        return 0 if play(scenario, target, sys.stdout).passed else 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def run() -> NoReturn:
    """The console script."""
    sys.exit(main())


if __name__ == "__main__":
    run()
