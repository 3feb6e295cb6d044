"""The administrator's commands, written once (docs/admin.md; the procedure of the MX-ONE
operational directions "CSTA Server (Phase III)": ``csta -i``/``-e``/``-p``,
``csta_authentication -i``/``-c``/``-e``/``-p``, ``mxone_certificate``).

:func:`run` takes a program name, its arguments, an :class:`~.target.IExchangeTarget` and an
:class:`~.output.ICommandOutput`, and returns (a Deferred of) the exit status: 0, or 2 for
wrong input with one line on stderr and nothing changed. The console scripts, the control
channel (:mod:`.control`) and the admin shell (:mod:`.shell`) all call it.

The console scripts (:func:`csta_main` ...) first complete the command line interactively
when it has to be (:mod:`.prompting`), then send it to the running server over the control
channel (``<data>/control.sock``) and print what it answers. Which way to go is decided by
the data directory's server lock (:mod:`cstaserver.config.serverlock`), not by whether a
socket answers: with no server running they act on the data directory themselves
(:class:`~.target.DirectoryTarget`) while holding the lock so that no server starts
meanwhile; with a server running that does not answer they refuse (exit status 2), because
the server's next save would undo an edit of its files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from cstaserver.admin import control, editing, limitcommands, plancommands, prompting
from cstaserver.admin.output import (
    OK,
    WRONG_INPUT,
    CommandError,
    ICommandOutput,
    StreamOutput,
    fields,
    table,
)
from cstaserver.admin.parsing import parse
from cstaserver.admin.status import format_status, server_id, server_settings
from cstaserver.admin.target import DirectoryTarget, applied
from cstaserver.certificates import (
    MAX_PEM_BYTES,
    CertificateError,
    CertificateInfo,
    make_bundle,
    self_signed,
)
from cstaserver.config import CstaServerSettings, DataDirectory, ExchangeData, serverlock
from cstaserver.config.files import FileRefused, read_regular_file

log = Logger()

Handler = Callable[[argparse.Namespace, Any, ICommandOutput], Awaitable[None]]
CONTROL_SOCKET = "control.sock"


def describe_server(server: CstaServerSettings) -> str:
    def port(value: int | None) -> str:
        return "none" if value is None else str(value)

    text = f"CSTA server {server.server_type.value} on LIM {server.lim}: port {server.port}"
    text += f", TLS port {port(server.tls_port)}"
    if server.server_type.value == "xml":
        text += f", web port {port(server.web_port)}"
    text += f", authentication {server.authentication.value}"
    return text + "".join(f", {name} {value}" for name, value in server_settings(server))


# -- csta ----------------------------------------------------------------------------------


async def csta_initiate(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    change = await target.update(lambda data: editing.initiate_server(data, args))
    verb = "initiated" if change.old is None else "changed"
    if change.old == change.new:
        verb = "unchanged"
    out.write(f"{describe_server(change.new)}: {verb}, saved, {applied(target)}\n")


async def csta_remove(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    removed = await target.update(lambda data: editing.remove_servers(data, args))
    for server in removed:
        clients = "; its clients were closed" if target.live else ""
        out.write(
            f"CSTA server {server.server_type.value} on LIM {server.lim}: removed, saved{clients}\n"
        )


async def csta_print(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    out.write(format_status(target.status(), monitors=args.monitors, sessions=args.sessions))


# -- csta_authentication -------------------------------------------------------------------


def describe_criteria(criteria: Any) -> str:
    users = ", ".join(u.user for u in criteria.users) or "none (no password asked)"
    duration = f"{criteria.max_duration} s" if criteria.max_duration else "no limit"
    return (
        f"authentication criteria for application {criteria.application_id}: "
        f"users {users}, max duration {duration}"
    )


async def criteria_set(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    create = args.action == "initiate"
    criteria = await target.update(lambda data: editing.set_criteria(data, args, create=create))
    out.write(f"{describe_criteria(criteria)}: saved, {applied(target)}\n")


async def criteria_remove(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    removed = await target.update(lambda data: editing.remove_criteria(data, args))
    for criteria in removed:
        out.write(
            f"authentication criteria for application {criteria.application_id}: removed, saved\n"
        )


def format_criteria(data: ExchangeData) -> str:
    rows = [
        (
            c.application_id,
            ", ".join(u.user for u in c.users) or None,
            c.max_duration or "no limit",
        )
        for c in data.authentication.applications
    ]
    text = "Authentication criteria\n" + table(("APPLICATION", "USERS", "MAX-DURATION"), rows)
    modes = [(server_id(s), s.authentication.value) for s in data.csta_servers]
    text += "\nAuthentication mode (csta -i --authentication)\n"
    return text + table(("SERVER", "AUTHENTICATION"), modes)


async def criteria_print(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    out.write(format_criteria(target.read()))


# -- mxone_certificate ---------------------------------------------------------------------


def format_certificate(info: CertificateInfo) -> str:
    return fields(
        [
            ("subject", info.subject),
            ("issuer", info.issuer),
            ("self-signed", "yes" if info.self_signed else "no"),
            ("valid from", f"{info.not_before:%Y-%m-%d %H:%M:%S} UTC"),
            ("valid until", f"{info.not_after:%Y-%m-%d %H:%M:%S} UTC"),
            ("names", ", ".join(info.names) or None),
            ("chain", f"{info.chain_length} certificates"),
            ("fingerprint", f"SHA256 {info.fingerprint}"),
        ]
    )


async def certificate_print(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    store = target.certificate_store()
    if not store.exists():
        out.write(f"no certificate installed ({store.path})\n")
        return
    try:
        info = store.load().info()
    except CertificateError as e:
        raise CommandError(f"the installed certificate cannot be used: {e}") from None
    out.write(format_certificate(info))


async def certificate_export(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    """What a client needs to trust the server (``--cafile``): the certificate and its chain,
    never the key, on standard output (``mxone_certificate --export > server-cert.pem``)."""
    store = target.certificate_store()
    if not store.exists():
        raise CommandError(f"no certificate installed ({store.path})")
    try:
        bundle = store.load()
    except CertificateError as e:
        raise CommandError(f"the installed certificate cannot be used: {e}") from None
    out.write((bundle.certificate_pem + b"".join(bundle.chain_pem)).decode("ascii"))


def _read(path: str, what: str) -> bytes:
    try:
        return read_regular_file(path, MAX_PEM_BYTES)
    except FileRefused as e:
        raise CommandError(f"the {what} file {path}: {e.problem}") from None
    except OSError as e:
        raise CommandError(f"cannot read the {what} file {path}: {e.strerror or e}") from None


async def _install(bundle: Any, target: Any, out: ICommandOutput) -> None:
    store = target.certificate_store()
    try:
        store.install(bundle)
    except (CertificateError, OSError) as e:
        raise CommandError(f"cannot install the certificate: {e}") from None
    out.write(f"certificate installed in {store.path}\n")
    out.write(format_certificate(bundle.info()))
    for note in await target.certificate_changed() or ():
        out.write(f"{note}\n")


async def certificate_self_signed(
    args: argparse.Namespace, target: Any, out: ICommandOutput
) -> None:
    await _install(self_signed(args.cn or "localhost"), target, out)


async def certificate_install(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    cert_file, key_file = args.install
    chain = _read(args.chain, "chain") if args.chain else b""
    try:
        bundle = make_bundle(_read(key_file, "key"), _read(cert_file, "certificate"), chain)
    except CertificateError as e:
        raise CommandError(str(e)) from None
    await _install(bundle, target, out)


# -- csta_group ----------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def group_rows(data: ExchangeData, number: str | None = None) -> list[tuple[object, ...]]:
    """One row per group: number, kind, routing, wrap-up, ring, queue, diverted, agents."""
    plan = data.plan
    rows: list[tuple[object, ...]] = []
    for acd in plan.acd_groups:
        pins = len(acd.agent_pins)
        rows.append(
            (
                acd.number,
                "cti" if acd.routing.value == "application" else "acd",
                acd.routing.value,
                _seconds(acd.wrap_up_seconds),
                _seconds(acd.ring_seconds),
                f"{acd.queue_limit} / {_seconds(acd.queue_seconds)}",
                f"{_seconds(acd.route_seconds)}, then {acd.on_route_timeout.value}",
                acd.diverted_position,
                f"{len(acd.agent_ids)} ({pins} with PIN)",
            )
        )
    for kind, groups in (("hunt", plan.hunt_groups), ("cascade", plan.cascade_groups)):
        for group in groups:
            members = f"{len(group.members)} members"
            rows.append(
                (group.number, kind, "switch", "-", "-", "-", "-", group.diverted_position, members)
            )
    return [row for row in rows if number is None or row[0] == number]


GROUP_HEADERS = (
    "group", "kind", "routing", "wrap-up", "ring", "queue limit/time", "route time",
    "diverted", "agents",
)  # fmt: skip


async def group_change(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    change = await target.update(lambda data: editing.change_group(data, args))
    verb = "unchanged" if change.old == change.new else "changed"
    out.write(f"group {change.new.number}: {verb}, saved, {applied(target)}\n")


async def group_print(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    rows = group_rows(target.read(), args.group)
    if args.group and not rows:
        raise CommandError(f"no group {args.group}")
    out.write(table(GROUP_HEADERS, rows))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("csta", "initiate"): csta_initiate,
    ("csta", "remove"): csta_remove,
    ("csta", "print"): csta_print,
    ("csta_authentication", "initiate"): criteria_set,
    ("csta_authentication", "change"): criteria_set,
    ("csta_authentication", "remove"): criteria_remove,
    ("csta_authentication", "print"): criteria_print,
    ("mxone_certificate", "print"): certificate_print,
    ("mxone_certificate", "export"): certificate_export,
    ("mxone_certificate", "self-signed"): certificate_self_signed,
    ("mxone_certificate", "install"): certificate_install,
    ("csta_group", "change"): group_change,
    ("csta_group", "print"): group_print,
    **plancommands.HANDLERS,
    **limitcommands.HANDLERS,
}


async def run(
    program: str,
    argv: Sequence[str],
    target: Any,
    out: ICommandOutput,
    prompter: Any = None,
) -> int:
    """Run one command; its exit status. With a ``prompter``, ``-i``/``-c`` without option
    values ask for them first."""
    try:
        args = parse(program, argv)
        if args.action == "help":
            out.write(args.help_text)
            return OK
        if prompter is not None and prompting.needs_prompt(args):
            extra = await prompting.prompted_options(args, target.read(), prompter)
            args = parse(program, [*argv, *extra])
        await HANDLERS[program, args.action](args, target, out)
    except CommandError as e:
        out.error(f"{program}: {e}\n")
        return WRONG_INPUT
    return OK


# -- console scripts -----------------------------------------------------------------------


def synchronously(deferred: defer.Deferred) -> Any:
    """The result of a Deferred that has already fired (no reactor needed)."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    if not results:
        raise RuntimeError("the command did not finish without a reactor")
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def absolute_paths(program: str, argv: list[str]) -> list[str]:
    """File arguments made absolute, for a server with another working directory."""
    result = list(argv)
    if program == "extension":
        for i, word in enumerate(result):
            if word in ("--import", "--export") and i + 1 < len(result):
                result[i + 1] = os.path.abspath(result[i + 1])
            elif word.startswith(("--import=", "--export=")):
                option, _, path = word.partition("=")
                result[i] = f"{option}={os.path.abspath(path)}"
        return result
    if program != "mxone_certificate":
        return argv
    for i, word in enumerate(result):
        if word == "--install":
            for j in (i + 1, i + 2):
                if j < len(result):
                    result[j] = os.path.abspath(result[j])
        elif word == "--chain" and i + 1 < len(result):
            result[i + 1] = os.path.abspath(result[i + 1])
        elif word.startswith("--chain="):
            result[i] = "--chain=" + os.path.abspath(word.split("=", 1)[1])
    return result


def console_main(
    program: str,
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    send: Callable[..., int | None] | None = None,
) -> int:
    """A console script: prompt if needed, then the running server, else the data directory."""
    stdin = stdin or sys.stdin
    out = StreamOutput(stdout or sys.stdout, stderr or sys.stderr)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse(program, argv)
        if args.action != "help" and prompting.needs_prompt(args) and stdin.isatty():
            directory = DataDirectory(args.data)
            data = DirectoryTarget(directory).read()
            prompter = prompting.TerminalPrompter(stdin, out.stdout)
            argv += synchronously(
                defer.Deferred.fromCoroutine(prompting.prompted_options(args, data, prompter))
            )
    except CommandError as e:
        out.error(f"{program}: {e}\n")
        return WRONG_INPUT
    if args.action == "help":
        return _offline(program, argv, args, out)
    data = Path(args.data)
    try:
        with serverlock.probe(data) as server_pid:
            if server_pid is None:  # no server: the files, while no server can start
                return _offline(program, argv, args, out)
            socket = data / CONTROL_SOCKET
            status = (send or control.send_blocking)(
                socket, program, absolute_paths(program, argv), out
            )
    except serverlock.LockFileUnusable as e:
        out.error(f"{program}: {e}\n")
        return WRONG_INPUT
    if status is None:
        out.error(f"{program}: {unreachable(data, server_pid)}\n")
        return WRONG_INPUT
    return status


def unreachable(data: Path, pid: int) -> str:
    """Why a command refuses when the server running on ``data`` does not answer: editing
    the files under it would be undone by the server's next save."""
    server = f"the server with process ID {pid}" if pid else "a server"
    return (
        f"{server} runs on {data} but does not answer on {data / CONTROL_SOCKET}; "
        "nothing changed (editing the files under a running server would be undone by its "
        "next save: try again, or stop the server first)"
    )


def _offline(program: str, argv: list[str], args: Any, out: ICommandOutput) -> int:
    target = DirectoryTarget(DataDirectory(args.data))
    return synchronously(defer.Deferred.fromCoroutine(run(program, argv, target, out)))


def csta_main() -> NoReturn:
    sys.exit(console_main("csta"))


def csta_authentication_main() -> NoReturn:
    sys.exit(console_main("csta_authentication"))


def mxone_certificate_main() -> NoReturn:
    sys.exit(console_main("mxone_certificate"))


def csta_group_main() -> NoReturn:
    sys.exit(console_main("csta_group"))


def _main(program: str) -> Callable[[], NoReturn]:
    def main() -> NoReturn:
        sys.exit(console_main(program))

    main.__name__ = f"{program}_main"
    return main


# the numbering-plan commands (docs/admin.md, "Your own exchange")
extension_main = _main("extension")
group_main = _main("group")
agent_main = _main("agent")
trunk_main = _main("trunk")
timer_main = _main("timer")
lim_main = _main("lim")
csta_admin_password_main = _main("csta_admin_password")
csta_limits_main = _main("csta_limits")
