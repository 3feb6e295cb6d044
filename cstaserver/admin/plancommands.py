"""The numbering-plan commands (docs/admin.md, "Your own exchange"): ``extension``,
``group``, ``agent``, ``trunk``, ``timer`` and ``csta_admin_password``, in the style of the
MX-ONE commands of the operational directions (``-i`` initiate, ``-c`` change, ``-e`` erase,
``-p`` print, ``-d`` directory number).

Each handler reads or edits the exchange data through the :class:`~.target.IExchangeTarget`
(the running server: the switch takes the change at once; else the data directory), saved
atomically; wrong input is a :class:`~.output.CommandError` (one line, exit status 2,
nothing changed). :data:`HANDLERS` is merged into :data:`.commands.HANDLERS`. Printing is
table-driven over the attrs fields, so a field added to the plan shows up without a change.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import attrs

from cstaserver.admin import csvplan, planediting, planparsing
from cstaserver.admin.exchange import write_file
from cstaserver.admin.fieldoptions import option_of, show
from cstaserver.admin.output import CommandError, ICommandOutput, table
from cstaserver.admin.target import applied
from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.pbx.plan import AcdGroup, Extension

Args = argparse.Namespace


def numbers_text(numbers: list[str] | tuple[str, ...]) -> str:
    """``1001``, ``1001, 1002`` or ``1000..1099 (100 numbers)``."""
    if len(numbers) <= 4:
        return ", ".join(numbers)
    return f"{numbers[0]}..{numbers[-1]} ({len(numbers)} numbers)"


def _saved(what: str, verb: str, target: Any) -> str:
    return f"{what}: {verb}, saved, {applied(target)}\n"


# -- extension ------------------------------------------------------------------------------


def extension_columns() -> list[str]:
    return [f.name for f in attrs.fields(attrs.resolve_types(Extension))]


def format_extensions(extensions: list[Extension]) -> str:
    names = extension_columns()
    headers = [name.upper().replace("_", "-") for name in names]
    rows = [[show(getattr(e, name)) or None for name in names] for e in extensions]
    return table(headers, rows)


async def extension_initiate(args: Args, target: Any, out: ICommandOutput) -> None:
    added = await target.update(lambda data: planediting.initiate_extensions(data, args))
    what = f"{added[0].kind.value} extension {numbers_text([e.number for e in added])}"
    out.write(_saved(what, "initiated", target))


async def extension_change(args: Args, target: Any, out: ICommandOutput) -> None:
    pairs = await target.update(lambda data: planediting.change_extensions(data, args))
    verb = "changed" if any(old != new for old, new in pairs) else "unchanged"
    out.write(_saved(f"extension {numbers_text([new.number for _, new in pairs])}", verb, target))


async def extension_remove(args: Args, target: Any, out: ICommandOutput) -> None:
    removed = await target.update(lambda data: planediting.remove_extensions(data, args))
    out.write(_saved(f"extension {numbers_text([e.number for e in removed])}", "removed", target))


async def extension_print(args: Args, target: Any, out: ICommandOutput) -> None:
    extensions = target.read().plan.extensions
    if args.number:
        wanted = set(args.number)
        extensions = [e for e in extensions if e.number in wanted]
        if not extensions:
            raise CommandError(f"no extension {numbers_text(args.number)}")
    out.write(format_extensions(extensions))


async def extension_export(args: Args, target: Any, out: ICommandOutput) -> None:
    extensions = target.read().plan.extensions
    path = Path(args.export_file)
    size = write_file(path, csvplan.export_csv(extensions).encode("utf-8"))
    out.write(f"{len(extensions)} extensions exported to {path} ({size} bytes)\n")


async def extension_import(args: Args, target: Any, out: ICommandOutput) -> None:
    path = Path(args.import_file)
    try:
        content = read_regular_file(path, csvplan.MAX_BYTES)
    except FileRefused as e:
        raise CommandError(f"{path.name}: {e.problem}") from None
    except OSError as e:
        raise CommandError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandError(f"{path.name}: not UTF-8 text") from None
    rows = csvplan.import_csv(text, path.name)
    result = await target.update(
        lambda data: planediting.import_extensions(data, rows, path.name, replace=args.replace)
    )
    counts = f"{result.added} added, {result.changed} changed, {result.unchanged} unchanged" + (
        f", {result.removed} removed" if args.replace else ""
    )
    out.write(
        f"{path.name}: {len(rows)} extensions imported ({counts}), saved, {applied(target)}\n"
    )


# -- group ----------------------------------------------------------------------------------


def group_kind(group: Any) -> str:
    for kind, (cls, _) in planparsing.GROUP_TYPES.items():
        if type(group) is cls:
            return kind
    return "?"


def positions(group: Any) -> tuple[str, ...]:
    return group.agent_devices if isinstance(group, AcdGroup) else group.members


def format_groups(data: Any, number: str | None) -> str:
    plan = data.plan
    groups = [g for field in planediting.GROUP_LISTS for g in getattr(plan, field)]
    if number is not None:
        found = [g for g in groups if g.number == number]
        if not found:
            raise CommandError(f"no group {number}")
        group = found[0]
        values: list[tuple[str, object]] = [("-d", group.number), ("type", group_kind(group))]
        for field in attrs.fields(type(group)):
            if field.name not in ("number", "agent_pins"):
                values.append((field.name, getattr(group, field.name)))
        text = format_options(values)
        if isinstance(group, AcdGroup):
            text += f"({len(group.agent_pins)} of its agents have a PIN)\n"
        return text
    rows = [
        (
            g.number,
            group_kind(g),
            g.lim,
            g.name or None,
            show(positions(g)) or None,
            show(g.agent_ids) or None if isinstance(g, AcdGroup) else None,
        )
        for g in groups
    ]
    return table(("NUMBER", "TYPE", "LIM", "NAME", "MEMBERS/POSITIONS", "AGENTS"), rows)


async def group_initiate(args: Args, target: Any, out: ICommandOutput) -> None:
    group = await target.update(lambda data: planediting.initiate_group(data, args))
    members = show(positions(group)) or "no members yet"
    out.write(_saved(f"{group_kind(group)} group {group.number} ({members})", "initiated", target))


async def group_change(args: Args, target: Any, out: ICommandOutput) -> None:
    old, new = await target.update(lambda data: planediting.change_group(data, args))
    verb = "changed" if old != new else "unchanged"
    out.write(_saved(f"{group_kind(new)} group {new.number}", verb, target))


async def group_remove(args: Args, target: Any, out: ICommandOutput) -> None:
    group = await target.update(lambda data: planediting.remove_group(data, args))
    out.write(_saved(f"{group_kind(group)} group {group.number}", "removed", target))


async def group_print(args: Args, target: Any, out: ICommandOutput) -> None:
    number = planediting.one_number(args) if args.number else None
    out.write(format_groups(target.read(), number))


# -- agent ----------------------------------------------------------------------------------


def agent_rows(data: Any, switch: Any, group: str | None) -> list[tuple[object, ...]]:
    logged_on = {}
    if switch is not None:
        for info in switch.devices():
            if info.agent is not None:
                logged_on[info.agent.agent_id] = (info.number, info.agent.state.value)
    rows = []
    for acd in data.plan.acd_groups:
        if group is not None and acd.number != group:
            continue
        pins = dict(acd.agent_pins)
        for agent_id in acd.agent_ids:
            device, state = logged_on.get(agent_id, (None, "logged off" if switch else None))
            rows.append((agent_id, acd.number, "yes" if agent_id in pins else "no", device, state))
    return rows


async def agent_initiate(args: Args, target: Any, out: ICommandOutput) -> None:
    group, ids = await target.update(lambda data: planediting.initiate_agents(data, args))
    out.write(_saved(f"agent {', '.join(ids)} of group {group.number}", "initiated", target))


async def agent_change(args: Args, target: Any, out: ICommandOutput) -> None:
    group = await target.update(lambda data: planediting.change_agent(data, args))
    out.write(_saved(f"agent {', '.join(args.agent)} of group {group.number}", "changed", target))


async def agent_remove(args: Args, target: Any, out: ICommandOutput) -> None:
    group, ids = await target.update(lambda data: planediting.remove_agents(data, args))
    out.write(_saved(f"agent {', '.join(ids)} of group {group.number}", "removed", target))


async def agent_print(args: Args, target: Any, out: ICommandOutput) -> None:
    data = target.read()
    if args.group is not None:
        planediting.acd_group(data.plan, args.group)
    rows = agent_rows(data, getattr(target, "switch", None), args.group)
    out.write(table(("AGENT", "GROUP", "PIN", "LOGGED-ON-AT", "STATE"), rows))


# -- trunk and timer ------------------------------------------------------------------------


def format_options(values: list[tuple[str, object]]) -> str:
    """``OPTION VALUE`` rows: a field ``wrap_up_seconds`` as ``--wrap-up-seconds``."""
    rows = [(n if n.startswith("-") else option_of(n), show(v)) for n, v in values]
    return table(("OPTION", "VALUE"), rows)


def settings_change(what: str, edit: Any) -> Any:
    """The ``-c`` handler of ``trunk`` or ``timer``: ``edit(data, args)`` gives the fields
    changed, reported by their options."""

    async def change(args: Args, target: Any, out: ICommandOutput) -> None:
        names = await target.update(lambda data: edit(data, args))
        options = ", ".join(option_of(name) for name in names)
        out.write(_saved(f"{what} ({options})", "changed", target))

    return change


trunk_change = settings_change("trunks and outside network", planediting.change_network)
timer_change = settings_change("timers", planediting.change_timers)


async def trunk_print(args: Args, target: Any, out: ICommandOutput) -> None:
    plan = target.read().plan
    values = [(o.name, _network_value(plan, o.name)) for o in planparsing.NETWORK_OPTIONS]
    out.write(format_options(values))


def _network_value(plan: Any, name: str) -> object:
    if name in attrs.fields_dict(type(plan.network)):
        return getattr(plan.network, name)
    return getattr(plan.public_numbering, name)


async def timer_print(args: Args, target: Any, out: ICommandOutput) -> None:
    plan = target.read().plan
    out.write(format_options([(o.name, getattr(plan, o.name)) for o in planparsing.TIMER_OPTIONS]))
    out.write("(per group: wrap-up, ring, queue and route times: csta_group -p / group -p -d N)\n")


# -- lim ------------------------------------------------------------------------------------


async def lim_set(args: Args, target: Any, out: ICommandOutput) -> None:
    create = args.action == "initiate"
    lim = await target.update(lambda data: planediting.set_lim(data, args, create=create))
    out.write(_saved(f"LIM {lim.number}", "initiated" if create else "changed", target))


async def lim_remove(args: Args, target: Any, out: ICommandOutput) -> None:
    lim = await target.update(lambda data: planediting.remove_lim(data, args))
    out.write(_saved(f"LIM {lim.number}", "removed", target))


async def lim_print(args: Args, target: Any, out: ICommandOutput) -> None:
    data = target.read()
    rows = []
    for lim in data.plan.lims:
        servers = [s.server_type.value for s in data.csta_servers if s.lim == lim.number]
        devices = len(planediting.devices_on(data.plan, lim.number))
        rows.append((lim.number, lim.name or None, devices, ", ".join(servers) or None))
    out.write(table(("LIM", "NAME", "DEVICES", "CSTA-SERVERS"), rows))


# -- csta_admin_password --------------------------------------------------------------------


async def admin_password_set(args: Args, target: Any, out: ICommandOutput) -> None:
    create = args.action == "initiate"
    user = await target.update(
        lambda data: planediting.set_admin_password(data, args, create=create)
    )
    verb = "initiated" if create else "password changed"
    out.write(f"admin login {user}: {verb}, saved, {applied(target)}\n")


async def admin_password_remove(args: Args, target: Any, out: ICommandOutput) -> None:
    user = await target.update(lambda data: planediting.remove_admin(data, args))
    out.write(f"admin login {user}: removed, saved, {applied(target)}\n")


async def admin_password_print(args: Args, target: Any, out: ICommandOutput) -> None:
    accounts = target.read().admin_accounts
    out.write(table(("USER",), [(a.user,) for a in accounts]))


HANDLERS = {
    ("extension", "initiate"): extension_initiate,
    ("extension", "change"): extension_change,
    ("extension", "remove"): extension_remove,
    ("extension", "print"): extension_print,
    ("extension", "import"): extension_import,
    ("extension", "export"): extension_export,
    ("group", "initiate"): group_initiate,
    ("group", "change"): group_change,
    ("group", "remove"): group_remove,
    ("group", "print"): group_print,
    ("agent", "initiate"): agent_initiate,
    ("agent", "change"): agent_change,
    ("agent", "remove"): agent_remove,
    ("agent", "print"): agent_print,
    ("trunk", "change"): trunk_change,
    ("trunk", "print"): trunk_print,
    ("timer", "change"): timer_change,
    ("timer", "print"): timer_print,
    ("lim", "initiate"): lim_set,
    ("lim", "change"): lim_set,
    ("lim", "remove"): lim_remove,
    ("lim", "print"): lim_print,
    ("csta_admin_password", "initiate"): admin_password_set,
    ("csta_admin_password", "change"): admin_password_set,
    ("csta_admin_password", "remove"): admin_password_remove,
    ("csta_admin_password", "print"): admin_password_print,
}
