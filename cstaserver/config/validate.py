"""Semantic checks of the exchange data, after the JSON types are right.

The numbering plan: LIM numbers unique; directory numbers all digits, unique across
extensions, groups and the trunk device, not starting with the trunk prefix; the outside
network's rules and the public numbering in range; every timer 0-1,000,000 s; every device on
a LIM that exists; extensions of an extension kind; an EDN's or ADN's terminals are ODN
extensions with a terminal (one for an ADN); hunt/cascade members and ACD agent positions are
extensions; agent IDs unique. CSTA servers (``csta -i``, docs/admin.md): on an existing LIM, one
per (LIM, type), ports 1-65535 and all different (all LIMs share this host), a web port only
on an XML server, a TR/87 Session-Expires of 120-86400 s or none. Authentication criteria
and accounts: unique names, well-formed password hashes, session durations 0-1,000,000 s.
LIM numbers 1-999; group queue limits 0-100,000; every limit in its range of
:data:`~cstaserver.config.model.LIMIT_RANGES` (a number far out of range is a typo, or an
attempt to switch a protection off). Each problem is a :class:`ConfigError` whose text says what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from cstaserver.config.model import (
    DEFAULT_LIMIT_RANGE,
    LIMIT_RANGES,
    MAX_LIM,
    MAX_SESSION_EXPIRES,
    MIN_SESSION_EXPIRES,
    ConfigError,
    ExchangeData,
    ServerType,
)
from cstaserver.config.passwords import is_password_hash
from cstaserver.pbx.plan import DeviceKind, DirectoryNumberType, ExchangePlan


def _duplicates(values: Iterable[object]) -> list[object]:
    seen: set[object] = set()
    duplicates: list[object] = []
    for value in values:
        if value in seen and value not in duplicates:
            duplicates.append(value)
        seen.add(value)
    return duplicates


def _check_plan(plan: ExchangePlan) -> None:
    lims = [lim.number for lim in plan.lims]
    for number in lims:
        if not 1 <= number <= MAX_LIM:
            raise ValueError(f"LIM number {number} is not in 1-{MAX_LIM}")
    if duplicate := _duplicates(lims):
        raise ValueError(f"duplicate LIM number {duplicate[0]}")
    groups = [*plan.hunt_groups, *plan.cascade_groups, *plan.acd_groups]
    prefix = plan.network.trunk_prefix
    for device in [*plan.extensions, *groups]:
        if not device.number.isdigit() or not device.number.isascii():
            raise ValueError(f"number {device.number!r} is not a string of digits")
        if prefix and device.number.startswith(prefix):
            raise ValueError(f"number {device.number} starts with the trunk prefix {prefix}")
        if device.lim not in lims:
            raise ValueError(f"number {device.number} is on LIM {device.lim}, which does not exist")
    if duplicate := _duplicates(d.number for d in [*plan.extensions, *groups]):
        raise ValueError(f"duplicate number {duplicate[0]}")
    for extension in plan.extensions:
        if not extension.kind.is_extension:
            raise ValueError(
                f"extension {extension.number} has kind {extension.kind.value}, "
                "which is not an extension kind"
            )
    extensions = {extension.number for extension in plan.extensions}
    _check_lines(plan)
    for group in [*plan.hunt_groups, *plan.cascade_groups]:
        for member in group.members:
            if member not in extensions:
                raise ValueError(f"group {group.number}: member {member} is not an extension")
        if duplicate := _duplicates(group.members):
            raise ValueError(f"group {group.number}: member {duplicate[0]} appears twice")
    for acd in plan.acd_groups:
        for device in acd.agent_devices:
            if device not in extensions:
                raise ValueError(
                    f"ACD group {acd.number}: agent position {device} is not an extension"
                )
    if duplicate := _duplicates(a for acd in plan.acd_groups for a in acd.agent_ids):
        raise ValueError(f"duplicate agent ID {duplicate[0]!r}")
    _check_group_settings(plan, extensions)
    _check_network(plan)
    _check_timers(plan)


def _check_lines(plan: ExchangePlan) -> None:
    """EDN/ADN ``terminals`` name ODN extensions with a terminal; an ADN is on one phone."""
    by_number = {extension.number: extension for extension in plan.extensions}
    for line in plan.extensions:
        if not line.terminals:
            continue
        where = f"extension {line.number}"
        if line.dn_type is DirectoryNumberType.ODN:
            raise ValueError(f"{where}: only an EDN or ADN has terminals (it is an ODN)")
        if line.dn_type is DirectoryNumberType.ADN and len(line.terminals) != 1:
            raise ValueError(f"{where}: an ADN is a line of exactly one phone")
        if duplicate := _duplicates(line.terminals):
            raise ValueError(f"{where}: terminal {duplicate[0]} appears twice")
        for phone in line.terminals:
            owner = by_number.get(phone)
            if owner is None or owner.dn_type is not DirectoryNumberType.ODN or owner.terminals:
                raise ValueError(f"{where}: terminal {phone} is not an ODN extension")
            if not owner.terminal or owner.kind is DeviceKind.VIRTUAL_EXTENSION:
                raise ValueError(f"{where}: terminal {phone} has no terminal logged on")
    for extension in plan.extensions:
        group = extension.pickup_group
        if group is not None and not 0 <= group <= MAX_PICKUP_GROUP:
            raise ValueError(
                f"extension {extension.number}: pickup_group {group} is not in 0-{MAX_PICKUP_GROUP}"
            )
    if plan.prompt_answer_seconds is not None and not 0 < plan.prompt_answer_seconds <= MAX_SECONDS:
        raise ValueError(f"prompt_answer_seconds must be more than 0 and at most {MAX_SECONDS}")


#: The longest time a group setting or timer may have (about 11 days).
MAX_SECONDS = 1_000_000
#: The highest call pick-up group number.
MAX_PICKUP_GROUP = 9999
#: The most calls an ACD group's queue may hold (``csta_group -c --queue-limit``).
MAX_QUEUE_LIMIT = 100_000


def _check_network(plan: ExchangePlan) -> None:
    """The outside network's rules and the public numbering (``trunk -c``)."""
    net, public = plan.network, plan.public_numbering
    if not net.trunk_device.isdigit() or not net.trunk_device.isascii():
        raise ValueError(f"trunk device {net.trunk_device!r} is not a string of digits")
    numbers = {d.number for d in [*plan.extensions, *plan.hunt_groups, *plan.cascade_groups]}
    if net.trunk_device in numbers | {g.number for g in plan.acd_groups}:
        raise ValueError(f"trunk device {net.trunk_device} is also a number of the plan")
    for name in ("trunk_prefix", "busy_suffix", "no_answer_suffix"):
        value = getattr(net, name)
        if value and (not value.isdigit() or not value.isascii()):
            raise ValueError(f"network {name} {value!r} is not digits")
    if not 0 <= net.trunk_count <= 100_000 or not 0 <= net.min_digits <= 30:
        raise ValueError("network trunk_count is not in 0-100000 or min_digits not in 0-30")
    if not 0 <= net.answer_delay <= MAX_SECONDS:
        raise ValueError(f"network answer_delay is not in 0-{MAX_SECONDS} s")
    if not 1 <= public.internal_length <= 20:
        raise ValueError("public numbering internal_length is not in 1-20")


def _check_timers(plan: ExchangePlan) -> None:
    """Every timer of the exchange (a float ``*_seconds``/``*_timeout`` field of the plan,
    ``timer -c``) is 0-MAX_SECONDS; cascade steps more than 0."""
    for field in attrs.fields(type(plan)):
        value = getattr(plan, field.name)
        timer = field.name.endswith(("_seconds", "_timeout"))
        if timer and isinstance(value, float) and not 0 <= value <= MAX_SECONDS:
            shown = format(value, "f").rstrip("0").rstrip(".")  # 2000000, -1, 0.5
            raise ValueError(f"{field.name} {shown} is not in 0-{MAX_SECONDS} s")
    for cascade in plan.cascade_groups:
        if not 0 < cascade.step_seconds <= MAX_SECONDS:
            raise ValueError(f"group {cascade.number}: step_seconds is not in 0-{MAX_SECONDS} s")


def _check_group_settings(plan: ExchangePlan, extensions: set[str]) -> None:
    """Diverted positions are extensions; times are positive; PINs name the group's agents."""
    for group in [*plan.hunt_groups, *plan.cascade_groups, *plan.acd_groups]:
        position = group.diverted_position
        if position is not None and position not in extensions:
            raise ValueError(
                f"group {group.number}: diverted position {position} is not an extension"
            )
    for acd in plan.acd_groups:
        if not 0 <= acd.wrap_up_seconds <= MAX_SECONDS:
            raise ValueError(f"ACD group {acd.number}: wrap_up_seconds is not in 0-{MAX_SECONDS} s")
        times = {
            "ring_seconds": acd.ring_seconds,
            "route_seconds": acd.route_seconds,
            "queue_seconds": acd.queue_seconds,
        }
        for name, value in times.items():
            if value is not None and not (0 < value <= MAX_SECONDS):
                raise ValueError(
                    f"ACD group {acd.number}: {name} {value} is not in 0-{MAX_SECONDS} s"
                )
        if not 0 <= acd.queue_limit <= MAX_QUEUE_LIMIT:
            raise ValueError(
                f"ACD group {acd.number}: queue_limit {acd.queue_limit} is not in "
                f"0-{MAX_QUEUE_LIMIT}"
            )
        for agent_id, pin in acd.agent_pins:
            if agent_id not in acd.agent_ids:
                raise ValueError(f"ACD group {acd.number}: PIN for unknown agent {agent_id!r}")
            if not pin.isdigit() or not 1 <= len(pin) <= 16:
                raise ValueError(
                    f"ACD group {acd.number}: agent {agent_id}'s PIN is not 1-16 digits"
                )


def _check_csta_servers(data: ExchangeData) -> None:
    lims = {lim.number for lim in data.plan.lims}
    ports: list[int] = []
    for server in data.csta_servers:
        name = f"CSTA server {server.server_type.value} on LIM {server.lim}"
        if server.lim not in lims:
            raise ValueError(f"{name}: LIM {server.lim} does not exist")
        if server.web_port is not None and server.server_type is not ServerType.XML:
            raise ValueError(f"{name}: only an XML server has a web port")
        expires = server.session_expires
        if expires is not None and not MIN_SESSION_EXPIRES <= expires <= MAX_SESSION_EXPIRES:
            raise ValueError(
                f"{name}: session_expires {expires} is not in "
                f"{MIN_SESSION_EXPIRES}-{MAX_SESSION_EXPIRES} seconds (or none)"
            )
        for port in (server.port, server.tls_port, server.web_port):
            if port is not None:
                if not 1 <= port <= 65535:
                    raise ValueError(f"{name}: port {port} is not in 1-65535")
                ports.append(port)
    if duplicate := _duplicates((s.lim, s.server_type.value) for s in data.csta_servers):
        lim, kind = duplicate[0]  # type: ignore[misc]
        raise ValueError(f"two {kind} CSTA servers on LIM {lim}")
    if duplicate := _duplicates(ports):
        raise ValueError(f"port {duplicate[0]} is used twice by the CSTA servers")


def _check_hashes(owner: str, users: Iterable[tuple[str, str]]) -> None:
    users = list(users)
    for user, password_hash in users:
        if not user:
            raise ValueError(f"{owner}: empty user name")
        if not is_password_hash(password_hash):
            raise ValueError(f"{owner}: user {user!r} has no valid password hash")
    if duplicate := _duplicates(user for user, _ in users):
        raise ValueError(f"{owner}: user {duplicate[0]!r} appears twice")


def _check_accounts(data: ExchangeData) -> None:
    applications = data.authentication.applications
    for criteria in applications:
        owner = f"authentication criteria {criteria.application_id!r}"
        if not criteria.application_id:
            raise ValueError("authentication criteria with an empty application ID")
        if not 0 <= criteria.max_duration <= MAX_SECONDS:
            raise ValueError(
                f"{owner}: max_duration {criteria.max_duration} is not in 0-{MAX_SECONDS} s"
            )
        _check_hashes(owner, ((u.user, u.password_hash) for u in criteria.users))
    if duplicate := _duplicates(c.application_id for c in applications):
        raise ValueError(f"authentication criteria for {duplicate[0]!r} appear twice")
    _check_hashes("web accounts", ((a.user, a.password_hash) for a in data.web_accounts))
    _check_hashes("admin accounts", ((a.user, a.password_hash) for a in data.admin_accounts))


def _check_notify_to_allow(prefixes: tuple[str, ...]) -> None:
    for prefix in prefixes:
        scheme, _, rest = prefix.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/"):
            raise ValueError(
                f"limits.notify_to_allow: {prefix!r} is not an http:// or https:// URL prefix"
            )


def _check_limits(data: ExchangeData) -> None:
    for field in attrs.fields(type(data.limits)):
        value = getattr(data.limits, field.name)
        if field.name == "notify_to_allow":
            _check_notify_to_allow(value)
            continue
        least, most = LIMIT_RANGES.get(field.name, DEFAULT_LIMIT_RANGE)
        if value < least:
            raise ValueError(f"limits.{field.name} is {value}, less than {least}")
        if value > most:
            raise ValueError(f"limits.{field.name} is {value}, more than {most}")


def validate(data: ExchangeData, filename: str = "exchange.json") -> None:
    """Raise :class:`ConfigError` naming the first problem of ``data``, if any."""
    try:
        _check_plan(data.plan)
        _check_csta_servers(data)
        _check_accounts(data)
        _check_limits(data)
    except ValueError as e:
        raise ConfigError(str(e), filename) from None
