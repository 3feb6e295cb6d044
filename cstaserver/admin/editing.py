"""The changes the administrator's commands make to the exchange data, as pure functions
(docs/admin.md; in the MX-ONE operational directions "CSTA Server (Phase III)": "initiate
CSTA server", "remove CSTA server" and the "CSTA application session authentication
settings" sections).

Each function takes the current :class:`~cstaserver.config.ExchangeData` and the parsed
command line and returns the new data (a copy; the old one is not touched) with what changed,
or raises :class:`~cstaserver.admin.output.CommandError` with one line. Options left out keep
their current values. The result is validated with :func:`cstaserver.config.validate`.
"""

from __future__ import annotations

import argparse

import attrs

from cstaserver.admin.output import CommandError
from cstaserver.admin.parsing import (
    GROUP_OPTIONS,
    SERVER_OPTIONS,
    TR87_OPTIONS,
    given,
    option_name,
)
from cstaserver.config import (
    ApplicationCriteria,
    AuthenticationCriteria,
    AuthMode,
    ConfigError,
    CstaServerSettings,
    ExchangeData,
    ServerType,
    UserCredential,
    validate,
)
from cstaserver.config.passwords import hash_password

#: Ports of a newly initiated server (the MX-ONE defaults): port, TLS port, web port.
DEFAULT_PORTS: dict[ServerType, tuple[int, int | None, int | None]] = {
    ServerType.XML: (8882, 8883, 8080),
    ServerType.TR87: (5062, None, None),
}


@attrs.frozen
class ServerChange:
    """One CSTA server before and after ``csta -i`` (``old`` None: newly initiated)."""

    old: CstaServerSettings | None
    new: CstaServerSettings


def checked(data: ExchangeData) -> ExchangeData:
    """``data`` if it is valid, else CommandError naming the problem."""
    try:
        validate(data)
    except ConfigError as e:
        raise CommandError(e.problem) from None
    return data


def lims(data: ExchangeData) -> list[int]:
    return sorted(lim.number for lim in data.plan.lims)


def require_lim(data: ExchangeData, lim: int) -> int:
    known = lims(data)
    if lim not in known:
        listed = ", ".join(str(n) for n in known) or "none"
        raise CommandError(f"LIM {lim} does not exist (LIMs: {listed})")
    return lim


def default_lim(data: ExchangeData, server_type: ServerType) -> int:
    """The LIM of the first server of ``server_type``, else the first LIM."""
    for server in data.csta_servers:
        if server.server_type is server_type:
            return server.lim
    known = lims(data)
    if not known:
        raise CommandError("the exchange has no LIM")
    return known[0]


def new_server(server_type: ServerType, lim: int) -> CstaServerSettings:
    port, tls_port, web_port = DEFAULT_PORTS[server_type]
    return CstaServerSettings(
        lim=lim,
        server_type=server_type,
        port=port,
        tls_port=tls_port,
        web_port=web_port,
        authentication=AuthMode.OFF,
    )


def server_for(data: ExchangeData, args: argparse.Namespace) -> CstaServerSettings:
    """The server ``csta -i`` would change: the existing one of that type and LIM, or a new
    one with the default ports."""
    server_type = args.type or ServerType.XML
    lim = require_lim(data, args.lim) if args.lim is not None else default_lim(data, server_type)
    return data.csta_server(lim, server_type) or new_server(server_type, lim)


def initiate_server(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, ServerChange]:
    """``csta -i``: initiate a CSTA server, or change the one of that type on that LIM."""
    base = server_for(data, args)
    old = data.csta_server(base.lim, base.server_type)
    changes = {
        field: getattr(args, name) for name, field in SERVER_OPTIONS.items() if given(args, name)
    }
    if base.server_type is not ServerType.TR87:
        for name in TR87_OPTIONS:
            if given(args, name):
                raise CommandError(f"{option_name(name)}: only a TR/87 server has it")
    new = attrs.evolve(base, **changes)
    servers = [new if s is old else s for s in data.csta_servers]
    if old is None:
        servers.append(new)
    result = checked(attrs.evolve(data, csta_servers=servers))
    return result, ServerChange(old, new)


def matching_servers(data: ExchangeData, args: argparse.Namespace) -> list[CstaServerSettings]:
    if args.lim is not None:
        require_lim(data, args.lim)
    return [
        s
        for s in data.csta_servers
        if (args.type is None or s.server_type is args.type)
        and (args.lim is None or s.lim == args.lim)
    ]


def remove_servers(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, list[CstaServerSettings]]:
    """``csta -e``: remove every CSTA server of the type and LIM given (``--all``: every
    one; the parser refuses a ``csta -e`` that names none)."""
    removed = matching_servers(data, args)
    if not removed:
        what = " ".join(
            part
            for part in (
                args.type.value if args.type else "",
                f"on LIM {args.lim}" if args.lim is not None else "",
            )
            if part
        )
        raise CommandError(f"no CSTA server {what} initiated".replace("  ", " "))
    servers = [s for s in data.csta_servers if s not in removed]
    return checked(attrs.evolve(data, csta_servers=servers)), removed


def default_application(data: ExchangeData) -> str | None:
    applications = data.authentication.applications
    return applications[0].application_id if applications else None


def set_criteria(
    data: ExchangeData, args: argparse.Namespace, *, create: bool
) -> tuple[ExchangeData, ApplicationCriteria]:
    """``csta_authentication -i`` (``create``: new or existing application) and ``-c``
    (existing only): set the application's user, password and maximum duration."""
    application_id = args.application if given(args, "application") else None
    application_id = application_id or default_application(data)
    if not application_id:
        raise CommandError("give the application ID (--application ID)")
    application_id = application_id.strip()
    if not application_id or any(c.isspace() for c in application_id):
        raise CommandError(f"{application_id!r} is not an application ID (no blanks)")
    current = data.authentication.application(application_id)
    if current is None and not create:
        raise CommandError(
            f"no authentication criteria for application {application_id!r} (use -i)"
        )
    criteria = current or ApplicationCriteria(application_id=application_id)
    users = list(criteria.users)
    user = args.user if given(args, "user") else None
    password = args.password if args.password is not None else None
    if user is None and password is not None:
        if len(users) != 1:
            raise CommandError("--password needs --user")
        user = users[0].user
    if user is not None:
        user = user.strip()
        if not user or any(c.isspace() for c in user):
            raise CommandError(f"{user!r} is not a user name (no blanks)")
        existing = next((u for u in users if u.user == user), None)
        if password is not None:
            if not password:
                raise CommandError(f"user {user!r}: the password must not be empty")
            credential = UserCredential(user, hash_password(password))
            users = [credential if u is existing else u for u in users]
            if existing is None:
                users.append(credential)
        elif existing is None:
            raise CommandError(f"user {user!r} needs a password (--password)")
    changes: dict[str, object] = {"users": tuple(users)}
    if given(args, "max_duration"):
        changes["max_duration"] = args.max_duration
    new = attrs.evolve(criteria, **changes)
    applications = [new if c is current else c for c in data.authentication.applications]
    if current is None:
        applications.append(new)
    authentication = AuthenticationCriteria(applications=tuple(applications))
    return checked(attrs.evolve(data, authentication=authentication)), new


def remove_criteria(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, list[ApplicationCriteria]]:
    """``csta_authentication -e``: the criteria of one application, else all of them."""
    applications = data.authentication.applications
    if args.application is not None:
        removed = [c for c in applications if c.application_id == args.application]
        if not removed:
            raise CommandError(f"no authentication criteria for application {args.application!r}")
    else:
        removed = list(applications)
        if not removed:
            raise CommandError("no authentication criteria to remove")
    kept = tuple(c for c in applications if c not in removed)
    authentication = AuthenticationCriteria(applications=kept)
    return checked(attrs.evolve(data, authentication=authentication)), removed


@attrs.frozen
class GroupChange:
    """One group before and after ``csta_group -c``."""

    old: object  # AcdGroup | HuntGroup | CascadeGroup
    new: object


def change_group(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, GroupChange]:
    """``csta_group -c``: change the call-centre settings of one group (docs/call-centre.md).
    Hunt and cascade groups have a diverted position only."""
    if not args.group:
        raise CommandError("give the group (--group N)")
    plan = data.plan
    kinds = {"acd_groups": plan.acd_groups, "hunt_groups": plan.hunt_groups}
    kinds["cascade_groups"] = plan.cascade_groups
    found = [(f, g) for f, groups in kinds.items() for g in groups if g.number == args.group]
    if not found:
        raise CommandError(f"no group {args.group} (csta_group -p lists them)")
    field, old = found[0]
    changes = {
        target: getattr(args, option)
        for option, target in GROUP_OPTIONS.items()
        if given(args, option)
    }
    if field == "acd_groups":
        pins = dict(old.agent_pins)
        for agent in args.remove_agent_pin or ():
            if pins.pop(agent, None) is None:
                raise CommandError(f"agent {agent} of group {old.number} has no PIN")
        pins.update(dict(args.agent_pin or ()))
        changes["agent_pins"] = tuple(sorted(pins.items()))
    else:
        others = [o for o, t in GROUP_OPTIONS.items() if t in changes and t != "diverted_position"]
        if args.agent_pin or args.remove_agent_pin:
            others.append("agent_pin")
        if others:
            kind = field.removesuffix("_groups")
            raise CommandError(
                f"{option_name(others[0])} applies to CTI/ACD groups; "
                f"{old.number} is a {kind} group"
            )
    new = attrs.evolve(old, **changes)
    groups = [new if g is old else g for g in kinds[field]]
    result = checked(attrs.evolve(data, plan=attrs.evolve(plan, **{field: groups})))
    return result, GroupChange(old, new)
