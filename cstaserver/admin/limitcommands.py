"""``csta_limits``: the exchange data's limits (docs/limits.md), in the style of the other
settings commands (``timer``): ``csta_limits -p`` prints every limit with its value,
``csta_limits -c --NAME VALUE ...`` changes some of them.

The options are derived from the fields of :class:`~cstaserver.config.model.Limits`
(:mod:`.fieldoptions`), so a limit added there is an option here without a change. A running
server takes the new limits at once (``CstaRoot.reconfig``): what is already open stays, the
next connection, dialog, session or monitor is held to them, and the wire trace takes its
bounds (``trace_*``) at once; the login throttle's limits apply from the next start. Wrong
input is one line and exit status 2, nothing changed.
"""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from cstaserver.admin import fieldoptions, parsing
from cstaserver.admin.fieldoptions import field_options, option_of, show
from cstaserver.admin.output import CommandError, ICommandOutput, table
from cstaserver.admin.planparsing import settings_parser
from cstaserver.admin.target import applied
from cstaserver.config.model import ExchangeData, Limits

LIMIT_OPTIONS = field_options([Limits])
#: Limits the running server reads only when it starts: the login throttle with its
#: password-check pool (the wire trace bounds, ``trace_*``, apply at once).
LOGIN_LIMITS = (
    "login_attempts_per_address",
    "login_attempts_per_account",
    "login_window",
    "password_check_threads",
    "password_checks_waiting",
)
AT_START = LOGIN_LIMITS


def limits_parser() -> parsing._Parser:
    return settings_parser("csta_limits", LIMIT_OPTIONS, "the limits (docs/limits.md)")


parsing.register(
    "csta_limits",
    limits_parser,
    {"change": {option.dest for option in LIMIT_OPTIONS}, "print": set()},
    "-c or -p",
)


def change_limits(data: ExchangeData, args: argparse.Namespace) -> tuple[ExchangeData, list[str]]:
    """``csta_limits -c``: the limits given, the rest kept (checked by ``validate``)."""
    values = fieldoptions.changes(args, LIMIT_OPTIONS)
    if not values:
        raise CommandError("say what to change (csta_limits -h lists the limits)")
    if values.get("notify_to_allow") in (None, ("none",), ("-",)) and "notify_to_allow" in values:
        values["notify_to_allow"] = ()  # --notify-to-allow none: no NotifyTo at all
    return attrs.evolve(data, limits=attrs.evolve(data.limits, **values)), sorted(values)


async def limits_change(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    names = await target.update(lambda data: change_limits(data, args))
    options = ", ".join(option_of(name) for name in names)
    line = f"limits ({options}): changed, saved, {applied(target)}"
    later = [option_of(name) for name in names if name in AT_START]
    if later and target.live:
        line += f" ({', '.join(later)}: from the next start)"
    out.write(line + "\n")


async def limits_print(args: argparse.Namespace, target: Any, out: ICommandOutput) -> None:
    limits = target.read().limits
    rows = [(option_of(o.name), show(getattr(limits, o.name)) or "-") for o in LIMIT_OPTIONS]
    out.write(table(("OPTION", "VALUE"), rows))


HANDLERS = {
    ("csta_limits", "change"): limits_change,
    ("csta_limits", "print"): limits_print,
}
