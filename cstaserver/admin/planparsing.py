"""The command lines of the numbering-plan commands (docs/admin.md, "Your own exchange"):
``lim``, ``extension``, ``group``, ``agent``, ``trunk``, ``timer`` and
``csta_admin_password``.

They follow the conventions of the MX-ONE command descriptions (``extension_profile``: "used
to change, erase, initiate, and print") and of ``csta -i/-e/-p`` in the operational
directions "CSTA Server (Phase III)": ``-i``/``--initiate``, ``-c``/``--change``,
``-e``/``--erase`` (remove), ``-p``/``--print``, and ``-d`` for the directory number(s).
Most options are derived from
the fields of the plan's attrs classes (:mod:`.fieldoptions`), so a field added to
``Extension``, a group class, ``ExternalNetwork``/``PublicNumbering`` or a timer of
``ExchangePlan`` (a float field whose name ends in ``_seconds`` or ``_timeout``) is a new
option without a change here. Registered with :func:`.parsing.register` on import.
"""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from cstaserver.admin import parsing
from cstaserver.admin.fieldoptions import add_options, field_options, nullable, word_list
from cstaserver.pbx.plan import (
    AcdGroup,
    CascadeGroup,
    DeviceKind,
    ExchangePlan,
    Extension,
    ExternalNetwork,
    HuntGroup,
    Lim,
    PublicNumbering,
)

#: The most numbers one ``-d FROM..TO`` may name.
MAX_RANGE = 10_000


def extension_kind(text: str) -> DeviceKind:
    """A kind of extension (not a group kind, not the trunk)."""
    kinds = "|".join(k.value for k in DeviceKind if k.is_extension)
    try:
        kind = DeviceKind(text.strip().lower())
    except ValueError:
        kind = None
    if kind is None or not kind.is_extension:
        raise argparse.ArgumentTypeError(f"{text!r} is not a kind of extension ({kinds})")
    return kind


EXTENSION_OPTIONS = [
    attrs.evolve(
        option,
        convert=extension_kind,
        metavar="|".join(k.value for k in DeviceKind if k.is_extension),
    )
    if option.name == "kind"
    else option
    for option in field_options([Extension], exclude=("number",))
]
#: ``group --type`` -> (the class, the plan's list of them).
GROUP_TYPES: dict[str, tuple[type, str]] = {
    "hunt": (HuntGroup, "hunt_groups"),
    "cascade": (CascadeGroup, "cascade_groups"),
    "acd": (AcdGroup, "acd_groups"),
}
GROUP_FIELD_OPTIONS = field_options(
    [cls for cls, _ in GROUP_TYPES.values()], exclude=("number", "agent_pins")
)
NETWORK_OPTIONS = field_options([ExternalNetwork, PublicNumbering])


def is_timer(field: Any) -> bool:
    """A timer of the exchange: a float (or optional float) named ``*_seconds``/``*_timeout``."""
    named = field.name.endswith(("_seconds", "_timeout"))
    return named and field.type in (float, float | None)


TIMER_OPTIONS = field_options([ExchangePlan], only=is_timer)


def numbers(text: str) -> tuple[str, ...]:
    """``1001``, ``1001,1005`` or ``1000..1099`` (FROM..TO of the same length) or a mix."""
    found: list[str] = []
    for part in word_list(text):
        low, dots, high = part.partition("..")
        if not dots:
            found.append(parsing.directory_number(part))
            continue
        low, high = parsing.directory_number(low), parsing.directory_number(high)
        if len(low) != len(high) or int(high) < int(low):
            raise argparse.ArgumentTypeError(f"{part!r} is not a range FROM..TO")
        if int(high) - int(low) + 1 > MAX_RANGE:
            raise argparse.ArgumentTypeError(f"{part!r} names more than {MAX_RANGE} numbers")
        found += [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a directory number")
    return tuple(found)


def _number_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-d", "--number", dest="number", type=numbers, help=what)


def extension_parser() -> parsing._Parser:
    parser = parsing.new_parser(
        "extension",
        "extension -i -d NUMBERS --kind KIND [--lim N] [--name TEXT] [--dn-type odn|edn|adn] "
        "[--terminal yes|no] [--handsfree yes|no] ...\n"
        "       extension -c -d NUMBERS [options as for -i]\n"
        "       extension -e -d NUMBERS\n"
        "       extension -p [-d NUMBERS]\n"
        "       extension --import FILE [--replace]  |  extension --export FILE\n"
        "NUMBERS: 1001, 1001,1002 or 1000..1099",
    )
    parsing.add_actions(
        parser,
        ("-i", "initiate", "initiate extensions"),
        ("-c", "change", "change extensions (options left out keep their values)"),
        ("-e", "remove", "remove extensions (not a group member, no call up)"),
        ("-p", "print", "print the extensions"),
    )
    parser.add_argument("--import", dest="import_file", metavar="FILE", help="load a CSV plan")
    parser.add_argument("--export", dest="export_file", metavar="FILE", help="write a CSV plan")
    parser.add_argument(
        "--replace", action="store_true", help="with --import: the file is the whole list"
    )
    _number_option(parser, "directory numbers")
    add_options(parser, EXTENSION_OPTIONS)
    return parser


def group_parser() -> parsing._Parser:
    parser = parsing.new_parser(
        "group",
        "group -i -d NUMBER --type hunt|cascade|acd [--members A,B,...] "
        "[--agent-devices A,B,...] [--agent-ids ID,...] [--name TEXT] [--lim N] ...\n"
        "       group -c -d NUMBER [--add-member N] [--remove-member N] [options as for -i]\n"
        "       group -e -d NUMBER\n"
        "       group -p [-d NUMBER]",
    )
    parsing.add_actions(
        parser,
        ("-i", "initiate", "initiate a hunt, cascade or CTI/ACD group"),
        ("-c", "change", "change a group (members, agent positions, settings)"),
        ("-e", "remove", "remove a group (no call in progress)"),
        ("-p", "print", "print the groups with their members"),
    )
    _number_option(parser, "the group's directory number")
    parser.add_argument("--type", dest="group_type", choices=list(GROUP_TYPES), help="kind")
    parser.add_argument("--add-member", type=parsing.directory_number, action="append")
    parser.add_argument("--remove-member", type=parsing.directory_number, action="append")
    add_options(parser, GROUP_FIELD_OPTIONS)
    return parser


def agent_parser() -> parsing._Parser:
    parser = parsing.new_parser(
        "agent",
        "agent -i --group N --agent ID[,ID...] [--pin PIN]\n"
        "       agent -c --agent ID --pin PIN|none\n"
        "       agent -e --agent ID[,ID...]\n"
        "       agent -p [--group N]",
    )
    parsing.add_actions(
        parser,
        ("-i", "initiate", "initiate agent IDs of a CTI/ACD group"),
        ("-c", "change", "change an agent's PIN"),
        ("-e", "remove", "remove agent IDs (not logged on)"),
        ("-p", "print", "print the agents and where they are logged on"),
    )
    parser.add_argument("--group", type=parsing.directory_number, help="the CTI/ACD group")
    parser.add_argument("--agent", type=agent_ids, help="agent IDs, comma-separated")
    parser.add_argument("--pin", type=nullable(parsing.pin_code), help="1-16 digits, or none")
    return parser


def agent_ids(text: str) -> tuple[str, ...]:
    ids = word_list(text)
    for agent_id in ids:
        if any(c.isspace() for c in agent_id) or len(agent_id) > 32:
            raise argparse.ArgumentTypeError(f"{agent_id!r} is not an agent ID")
    if not ids:
        raise argparse.ArgumentTypeError(f"{text!r} is not an agent ID")
    return ids


def settings_parser(program: str, options: list[Any], what: str) -> parsing._Parser:
    """``PROGRAM -c [options] | -p`` over derived options (``trunk``, ``timer``)."""
    listed = " ".join(f"[{o.option} {o.metavar}]" for o in options[:4])
    more = " ..." if len(options) > 4 else ""
    parser = parsing.new_parser(program, f"{program} -c {listed}{more}\n       {program} -p")
    parsing.add_actions(
        parser, ("-c", "change", f"change {what}"), ("-p", "print", f"print {what}")
    )
    add_options(parser, options)
    return parser


def trunk_parser() -> parsing._Parser:
    return settings_parser("trunk", NETWORK_OPTIONS, "the trunks and the outside network's rules")


def timer_parser() -> parsing._Parser:
    return settings_parser("timer", TIMER_OPTIONS, "the exchange's timers (seconds)")


LIM_OPTIONS = field_options([Lim], exclude=("number",))


def lim_parser() -> parsing._Parser:
    parser = parsing.new_parser(
        "lim",
        "lim -i --lim N [--name TEXT]  |  lim -c --lim N --name TEXT\n"
        "       lim -e --lim N  |  lim -p",
    )
    parsing.add_actions(
        parser,
        ("-i", "initiate", "initiate a LIM (a server of the exchange)"),
        ("-c", "change", "change a LIM's name"),
        ("-e", "remove", "remove a LIM (no device and no CSTA server on it)"),
        ("-p", "print", "print the LIMs and what is on them"),
    )
    parser.add_argument("--lim", type=parsing.lim_number, help="the LIM number")
    add_options(parser, LIM_OPTIONS)
    return parser


def admin_password_parser() -> parsing._Parser:
    parser = parsing.new_parser(
        "csta_admin_password",
        "csta_admin_password -i|-c --user USER [--password P]   (no --password: asked)\n"
        "       csta_admin_password -e --user USER\n"
        "       csta_admin_password -p",
    )
    parsing.add_actions(
        parser,
        ("-i", "initiate", "add an admin shell login"),
        ("-c", "change", "change a login's password"),
        ("-e", "remove", "remove a login (not the last one)"),
        ("-p", "print", "print the logins (never passwords)"),
    )
    parser.add_argument("--user", help="the login name")
    parser.add_argument("--password", help="the new password (better: let it be asked)")
    return parser


def _names(options: list[Any]) -> set[str]:
    return {option.dest for option in options}


EXTENSION_FIELDS = _names(EXTENSION_OPTIONS)
GROUP_FIELDS = _names(GROUP_FIELD_OPTIONS)

parsing.register(
    "extension",
    extension_parser,
    {
        "initiate": {"number", *EXTENSION_FIELDS},
        "change": {"number", *EXTENSION_FIELDS},
        "remove": {"number"},
        "print": {"number"},
        "import": {"replace"},
        "export": set(),
    },
    "-i, -c, -e, -p, --import FILE or --export FILE",
)
parsing.register(
    "group",
    group_parser,
    {
        "initiate": {"number", "group_type", *GROUP_FIELDS},
        "change": {"number", "add_member", "remove_member", *GROUP_FIELDS},
        "remove": {"number"},
        "print": {"number"},
    },
    "-i, -c, -e or -p",
)
parsing.register(
    "agent",
    agent_parser,
    {
        "initiate": {"group", "agent", "pin"},
        "change": {"agent", "pin"},
        "remove": {"agent"},
        "print": {"group"},
    },
    "-i, -c, -e or -p",
)
parsing.register(
    "trunk", trunk_parser, {"change": _names(NETWORK_OPTIONS), "print": set()}, "-c or -p"
)
parsing.register(
    "timer", timer_parser, {"change": _names(TIMER_OPTIONS), "print": set()}, "-c or -p"
)
parsing.register(
    "lim",
    lim_parser,
    {
        "initiate": {"lim", *_names(LIM_OPTIONS)},
        "change": {"lim", *_names(LIM_OPTIONS)},
        "remove": {"lim"},
        "print": set(),
    },
    "-i, -c, -e or -p",
)
parsing.register(
    "csta_admin_password",
    admin_password_parser,
    {
        "initiate": {"user", "password"},
        "change": {"user", "password"},
        "remove": {"user"},
        "print": set(),
    },
    "-i, -c, -e or -p",
)
