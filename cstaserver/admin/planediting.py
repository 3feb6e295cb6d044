"""The changes the numbering-plan commands make to the exchange data, as pure functions
(docs/admin.md, "Your own exchange"): ``extension``, ``group``, ``agent``, ``trunk``,
``timer`` and ``csta_admin_password``.

Like :mod:`.editing`, each function takes the current :class:`~cstaserver.config.ExchangeData`
and the parsed command line and returns the new data (a copy) with what changed, or raises
:class:`~cstaserver.admin.output.CommandError` with one line and changes nothing. The result
is checked with :func:`cstaserver.config.validate`; the checks here come first only to say
the problem in the command's words (a number already used, a member that is not an
extension, an extension that is still a group member). Whether the running switch can take
the change (no call up on a removed device) is checked when it is applied
(``Switch.plan_refusal``).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

import attrs

from cstaserver.admin import fieldoptions, planparsing
from cstaserver.admin.editing import checked
from cstaserver.admin.output import CommandError
from cstaserver.config import AdminAccount, ExchangeData
from cstaserver.config.passwords import hash_password
from cstaserver.pbx.plan import AcdGroup, ExchangePlan, Extension, Lim

GROUP_LISTS = ("hunt_groups", "cascade_groups", "acd_groups")
GROUP_KIND_NAMES = {"hunt_groups": "hunt", "cascade_groups": "cascade", "acd_groups": "acd"}


def with_plan(data: ExchangeData, **changes: object) -> ExchangeData:
    return checked(attrs.evolve(data, plan=attrs.evolve(data.plan, **changes)))


def _article(words: str) -> str:
    return ("an " if words[0] in "aeiou" else "a ") + words


def numbers_in_use(plan: ExchangePlan) -> dict[str, str]:
    """Every number of ``plan`` and what it is (``an ip extension``, ``a hunt group``, ``the
    trunk``): one look-up per number, so a range of 10,000 stays fast."""
    used = {plan.network.trunk_device: "the trunk"}
    for field in reversed(GROUP_LISTS):
        used.update(
            {g.number: _article(f"{GROUP_KIND_NAMES[field]} group") for g in getattr(plan, field)}
        )
    used.update({e.number: _article(f"{e.kind.value} extension") for e in plan.extensions})
    return used


def describe_number(plan: ExchangePlan, number: str) -> str | None:
    """What ``number`` is in ``plan``, or None if it is free."""
    return numbers_in_use(plan).get(number)


def memberships(plan: ExchangePlan, number: str) -> list[str]:
    """The groups ``number`` belongs to (as member, agent position, diverted position)."""
    found = []
    for field in GROUP_LISTS:
        for group in getattr(plan, field):
            positions = group.agent_devices if field == "acd_groups" else group.members
            name = f"{GROUP_KIND_NAMES[field]} group {group.number}"
            if number in positions:
                found.append(f"a member of {name}")
            if group.diverted_position == number:
                found.append(f"the diverted position of {name}")
    return found


def require_numbers(args: argparse.Namespace) -> tuple[str, ...]:
    if not args.number:
        raise CommandError("give the directory number (-d NUMBER)")
    return args.number


# -- extension ------------------------------------------------------------------------------


def initiate_extensions(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, list[Extension]]:
    """``extension -i``: new extensions (every field not given takes its default)."""
    numbers = require_numbers(args)
    values = fieldoptions.changes(args, planparsing.EXTENSION_OPTIONS)
    if "kind" not in values:
        raise CommandError("give the kind of extension (--kind ip|sip|...)")
    plan = data.plan
    if len(set(numbers)) != len(numbers):
        raise CommandError("a number is given twice")
    used = numbers_in_use(plan)
    for number in numbers:
        if (what := used.get(number)) is not None:
            raise CommandError(f"{number} is already {what}")
    added = [Extension(number=number, **values) for number in numbers]
    return with_plan(data, extensions=[*plan.extensions, *added]), added


def _existing_extensions(plan: ExchangePlan, numbers: Iterable[str]) -> list[Extension]:
    by_number = {extension.number: extension for extension in plan.extensions}
    found = []
    for number in numbers:
        if number not in by_number:
            what = describe_number(plan, number)
            raise CommandError(
                f"{number} is {what}, not an extension" if what else f"no extension {number}"
            )
        found.append(by_number[number])
    return found


def change_extensions(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, list[tuple[Extension, Extension]]]:
    """``extension -c``: the options given, for each extension named."""
    numbers = require_numbers(args)
    values = fieldoptions.changes(args, planparsing.EXTENSION_OPTIONS)
    if not values:
        raise CommandError("say what to change (extension -h lists the options)")
    plan = data.plan
    old = _existing_extensions(plan, numbers)
    new = {e.number: attrs.evolve(e, **values) for e in old}
    extensions = [new.get(e.number, e) for e in plan.extensions]
    return with_plan(data, extensions=extensions), [(e, new[e.number]) for e in old]


def remove_extensions(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, list[Extension]]:
    """``extension -e``: refused for an extension that is still in a group (remove it from
    the group first: removing it silently would change how the group's calls go)."""
    plan = data.plan
    removed = _existing_extensions(plan, require_numbers(args))
    for extension in removed:
        if used := memberships(plan, extension.number):
            raise CommandError(f"{extension.number} is {used[0]}; change the group first")
    gone = {extension.number for extension in removed}
    extensions = [e for e in plan.extensions if e.number not in gone]
    return with_plan(data, extensions=extensions), removed


# -- group ----------------------------------------------------------------------------------


def find_group(plan: ExchangePlan, number: str) -> tuple[str, Any]:
    """(the plan's list name, the group) of group ``number``; CommandError if none."""
    for field in GROUP_LISTS:
        for group in getattr(plan, field):
            if group.number == number:
                return field, group
    what = describe_number(plan, number)
    raise CommandError(f"{number} is {what}, not a group" if what else f"no group {number}")


def one_number(args: argparse.Namespace) -> str:
    numbers = require_numbers(args)
    if len(numbers) != 1:
        raise CommandError("give one group number (-d NUMBER)")
    return numbers[0]


def _group_values(args: argparse.Namespace, cls: type, kind: str) -> dict[str, object]:
    values = fieldoptions.changes(args, planparsing.GROUP_FIELD_OPTIONS)
    names = {f.name for f in attrs.fields(cls)}
    for name in values:
        if name not in names:
            owners = [
                k for k, (c, _) in planparsing.GROUP_TYPES.items() if name in attrs.fields_dict(c)
            ]
            raise CommandError(
                f"{fieldoptions.option_of(name)} applies to {' and '.join(owners)} groups, "
                f"not to a {kind} group"
            )
    return values


def _check_positions(plan: ExchangePlan, group: Any) -> None:
    extensions = {e.number for e in plan.extensions}
    positions = group.agent_devices if isinstance(group, AcdGroup) else group.members
    for number in (*positions, *filter(None, [group.diverted_position])):
        if number not in extensions:
            what = describe_number(plan, number)
            raise CommandError(
                f"{number} is {what}, not an extension" if what else f"no extension {number}"
            )


def initiate_group(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, Any]:
    """``group -i``: a new hunt, cascade or CTI/ACD group."""
    number = one_number(args)
    if not args.group_type:
        raise CommandError("give the kind of group (--type hunt|cascade|acd)")
    cls, field = planparsing.GROUP_TYPES[args.group_type]
    plan = data.plan
    if (what := describe_number(plan, number)) is not None:
        raise CommandError(f"{number} is already {what}")
    values = _group_values(args, cls, args.group_type)
    for name in ("members", "agent_ids", "agent_devices"):  # required fields: empty to start
        if name in attrs.fields_dict(cls):
            values.setdefault(name, ())
    group = cls(number=number, **values)
    group = _membership_changes(group, args)
    _check_positions(plan, group)
    return with_plan(data, **{field: [*getattr(plan, field), group]}), group


def _membership_changes(group: Any, args: argparse.Namespace) -> Any:
    """``--add-member`` / ``--remove-member``: of the members, or an ACD group's positions."""
    name = "agent_devices" if isinstance(group, AcdGroup) else "members"
    members = list(getattr(group, name))
    for number in args.remove_member or ():
        if number not in members:
            raise CommandError(f"{number} is not a member of group {group.number}")
        members.remove(number)
    for number in args.add_member or ():
        if number in members:
            raise CommandError(f"{number} is already a member of group {group.number}")
        members.append(number)
    return attrs.evolve(group, **{name: tuple(members)})


def change_group(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, tuple[Any, Any]]:
    """``group -c``: settings, members (``--members`` replaces, ``--add-member`` and
    ``--remove-member`` edit), agent positions and agent IDs."""
    plan = data.plan
    field, old = find_group(plan, one_number(args))
    kind = GROUP_KIND_NAMES[field]
    values = _group_values(args, type(old), kind)
    if not values and not args.add_member and not args.remove_member:
        raise CommandError("say what to change (group -h lists the options)")
    new = _membership_changes(attrs.evolve(old, **values), args)
    if isinstance(new, AcdGroup):
        kept = set(new.agent_ids)
        new = attrs.evolve(new, agent_pins=tuple(p for p in new.agent_pins if p[0] in kept))
    _check_positions(plan, new)
    groups = [new if g is old else g for g in getattr(plan, field)]
    return with_plan(data, **{field: groups}), (old, new)


def remove_group(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, Any]:
    """``group -e``: refused while the group is another group's diverted position."""
    plan = data.plan
    field, group = find_group(plan, one_number(args))
    if used := memberships(plan, group.number):
        raise CommandError(f"{group.number} is {used[0]}; change that group first")
    groups = [g for g in getattr(plan, field) if g is not group]
    return with_plan(data, **{field: groups}), group


# -- agent ----------------------------------------------------------------------------------


def acd_group(plan: ExchangePlan, number: str | None) -> AcdGroup:
    if not number:
        raise CommandError("give the CTI/ACD group (--group N)")
    field, group = find_group(plan, number)
    if field != "acd_groups":
        raise CommandError(
            f"{number} is a {GROUP_KIND_NAMES[field]} group; agents are of CTI/ACD groups"
        )
    return group


def agent_group(plan: ExchangePlan, agent_id: str) -> AcdGroup | None:
    return next((g for g in plan.acd_groups if agent_id in g.agent_ids), None)


def _replace_acd(data: ExchangeData, old: AcdGroup, new: AcdGroup) -> ExchangeData:
    groups = [new if g is old else g for g in data.plan.acd_groups]
    return with_plan(data, acd_groups=groups)


def initiate_agents(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, tuple[AcdGroup, tuple[str, ...]]]:
    """``agent -i``: new agent IDs of a CTI/ACD group (an agent ID is unique exchange-wide)."""
    group = acd_group(data.plan, args.group)
    if not args.agent:
        raise CommandError("give the agent ID (--agent ID)")
    for agent_id in args.agent:
        if (owner := agent_group(data.plan, agent_id)) is not None:
            raise CommandError(f"agent {agent_id} is already an agent of group {owner.number}")
    if len(set(args.agent)) != len(args.agent):
        raise CommandError("an agent ID is given twice")
    pins = list(group.agent_pins)
    if _pin(args) is not None:
        pins += [(agent_id, _pin(args)) for agent_id in args.agent]
    new = attrs.evolve(
        group, agent_ids=(*group.agent_ids, *args.agent), agent_pins=tuple(sorted(pins))
    )
    return _replace_acd(data, group, new), (new, args.agent)


def _agents_group(data: ExchangeData, args: argparse.Namespace) -> AcdGroup:
    if not args.agent:
        raise CommandError("give the agent ID (--agent ID)")
    groups = set()
    for agent_id in args.agent:
        group = agent_group(data.plan, agent_id)
        if group is None:
            raise CommandError(f"no agent {agent_id}")
        groups.add(group.number)
    if len(groups) != 1:
        raise CommandError("name agents of one group at a time")
    return agent_group(data.plan, args.agent[0])  # type: ignore[return-value]


def change_agent(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, AcdGroup]:
    """``agent -c --pin``: a new PIN, or ``none`` (logs on without one)."""
    group = _agents_group(data, args)
    if args.pin is None:
        raise CommandError("say what to change (--pin PIN|none)")
    pins = {a: p for a, p in group.agent_pins if a not in args.agent}
    if (pin := _pin(args)) is not None:
        pins.update({agent_id: pin for agent_id in args.agent})
    new = attrs.evolve(group, agent_pins=tuple(sorted(pins.items())))
    return _replace_acd(data, group, new), new


def _pin(args: argparse.Namespace) -> str | None:
    """The ``--pin`` given; None if none (left out, or ``none``)."""
    return None if args.pin is fieldoptions.CLEARED else args.pin


def remove_agents(
    data: ExchangeData, args: argparse.Namespace
) -> tuple[ExchangeData, tuple[AcdGroup, tuple[str, ...]]]:
    """``agent -e``: the agent IDs go (an agent logged on must log off first)."""
    group = _agents_group(data, args)
    gone = set(args.agent)
    new = attrs.evolve(
        group,
        agent_ids=tuple(a for a in group.agent_ids if a not in gone),
        agent_pins=tuple(p for p in group.agent_pins if p[0] not in gone),
    )
    return _replace_acd(data, group, new), (new, args.agent)


# -- lim ------------------------------------------------------------------------------------


def _lim_number(args: argparse.Namespace) -> int:
    if args.lim is None:
        raise CommandError("give the LIM number (--lim N)")
    return args.lim


def devices_on(plan: ExchangePlan, lim: int) -> list[str]:
    """The directory numbers on LIM ``lim``."""
    found = [e.number for e in plan.extensions if e.lim == lim]
    return found + [g.number for f in GROUP_LISTS for g in getattr(plan, f) if g.lim == lim]


def set_lim(
    data: ExchangeData, args: argparse.Namespace, *, create: bool
) -> tuple[ExchangeData, Lim]:
    """``lim -i`` (a new LIM) and ``lim -c`` (an existing one's name)."""
    number = _lim_number(args)
    values = fieldoptions.changes(args, planparsing.LIM_OPTIONS)
    lims = list(data.plan.lims)
    old = next((lim for lim in lims if lim.number == number), None)
    if create and old is not None:
        raise CommandError(f"LIM {number} exists (use -c to change it)")
    if not create and old is None:
        raise CommandError(f"LIM {number} does not exist (use -i)")
    if not create and not values:
        raise CommandError("say what to change (--name TEXT)")
    new = attrs.evolve(old, **values) if old is not None else Lim(number, **values)
    lims = (
        [new if lim is old else lim for lim in lims]
        if old
        else sorted([*lims, new], key=lambda lim: lim.number)
    )
    return with_plan(data, lims=lims), new


def remove_lim(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, Lim]:
    """``lim -e``: refused while a device or a CSTA server is on it, and for the last LIM."""
    number = _lim_number(args)
    old = next((lim for lim in data.plan.lims if lim.number == number), None)
    if old is None:
        raise CommandError(f"LIM {number} does not exist")
    used = devices_on(data.plan, number)
    used += [f"the {s.server_type.value} CSTA server" for s in data.csta_servers if s.lim == number]
    if used:
        more = f" and {len(used) - 1} more" if len(used) > 1 else ""
        raise CommandError(f"LIM {number} still has {used[0]}{more} on it")
    if len(data.plan.lims) == 1:
        raise CommandError(f"LIM {number} is the last LIM")
    return with_plan(data, lims=[lim for lim in data.plan.lims if lim is not old]), old


# -- trunk and timer ------------------------------------------------------------------------


def change_network(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, list[str]]:
    """``trunk -c``: the outside network's rules and the public numbering."""
    values = fieldoptions.changes(args, planparsing.NETWORK_OPTIONS)
    if not values:
        raise CommandError("say what to change (trunk -h lists the options)")
    plan = data.plan
    network_fields = attrs.fields_dict(type(plan.network))
    network = {k: v for k, v in values.items() if k in network_fields}
    public = {k: v for k, v in values.items() if k not in network_fields}
    result = with_plan(
        data,
        network=attrs.evolve(plan.network, **network),
        public_numbering=attrs.evolve(plan.public_numbering, **public),
    )
    return result, sorted(values)


def change_timers(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, list[str]]:
    """``timer -c``: the exchange's timers (the float ``*_seconds``/``*_timeout`` fields)."""
    values = fieldoptions.changes(args, planparsing.TIMER_OPTIONS)
    if not values:
        raise CommandError("say what to change (timer -h lists the timers)")
    if values.get("alerting_timeout") == 0:
        raise CommandError("--alerting-timeout 0 would fail every call; give 1 or more seconds")
    return with_plan(data, **values), sorted(values)


# -- csta_admin_password ---------------------------------------------------------------------


def _user(args: argparse.Namespace) -> str:
    user = (args.user or "").strip()
    if not user or any(c.isspace() for c in user):
        raise CommandError("give the login name (--user NAME, no blanks)")
    return user


def set_admin_password(
    data: ExchangeData, args: argparse.Namespace, *, create: bool
) -> tuple[ExchangeData, str]:
    """``csta_admin_password -i`` (a new login) and ``-c`` (an existing one's password)."""
    user = _user(args)
    if args.password is None:
        raise CommandError("give the new password (--password P; on a terminal it is asked)")
    if not args.password:
        raise CommandError("the password must not be empty")
    accounts = list(data.admin_accounts)
    existing = next((a for a in accounts if a.user == user), None)
    if create and existing is not None:
        raise CommandError(f"admin login {user!r} exists (use -c to change its password)")
    if not create and existing is None:
        raise CommandError(f"no admin login {user!r} (use -i to add one)")
    account = AdminAccount(user, hash_password(args.password))
    accounts = [account if a is existing else a for a in accounts]
    if existing is None:
        accounts.append(account)
    return checked(attrs.evolve(data, admin_accounts=accounts)), user


def remove_admin(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, str]:
    """``csta_admin_password -e``: not the last login (nobody could log in any more)."""
    user = _user(args)
    accounts = [a for a in data.admin_accounts if a.user != user]
    if len(accounts) == len(data.admin_accounts):
        raise CommandError(f"no admin login {user!r}")
    if not accounts:
        raise CommandError(f"{user!r} is the last admin login; add another first")
    return checked(attrs.evolve(data, admin_accounts=accounts)), user


# -- extension --import ---------------------------------------------------------------------


@attrs.frozen
class ImportResult:
    added: int
    changed: int
    unchanged: int
    removed: int


def import_extensions(
    data: ExchangeData, rows: list[tuple[int, Extension]], filename: str, *, replace: bool
) -> tuple[ExchangeData, ImportResult]:
    """``extension --import``: each line adds an extension or changes the one of its number;
    with ``replace`` the file is the whole list (the others are removed). All or nothing."""
    plan = data.plan
    lims = {lim.number for lim in plan.lims}
    current = {e.number: e for e in plan.extensions}
    used = numbers_in_use(plan)
    prefix = plan.network.trunk_prefix
    lines: dict[str, int] = {}
    for line, extension in rows:
        where, number = f"{filename} line {line}", extension.number
        if number in lines:
            raise CommandError(f"{where}: {number} is also on line {lines[number]}")
        lines[number] = line
        what = used.get(number)
        if what is not None and number not in current:
            raise CommandError(f"{where}: {number} is already {what}")
        if prefix and number.startswith(prefix):
            raise CommandError(f"{where}: {number} starts with the trunk prefix {prefix}")
        if extension.lim not in lims:
            raise CommandError(f"{where}: LIM {extension.lim} does not exist")
    imported = {extension.number: extension for _, extension in rows}
    if replace:
        for number in sorted(current.keys() - imported.keys()):
            if used := memberships(plan, number):
                raise CommandError(f"{filename}: {number} is not in the file but is {used[0]}")
        extensions = [extension for _, extension in rows]
    else:
        extensions = [imported.get(e.number, e) for e in plan.extensions]
        extensions += [e for e in imported.values() if e.number not in current]
    try:
        result = with_plan(data, extensions=extensions)
    except CommandError as e:
        raise CommandError(f"{filename}: {e}") from None
    same = sum(1 for e in imported.values() if current.get(e.number) == e)
    changed = sum(1 for e in imported.values() if e.number in current) - same
    removed = len(current.keys() - imported.keys()) if replace else 0
    return result, ImportResult(len(imported.keys() - current.keys()), changed, same, removed)
