"""Command-line options derived from the attrs fields of the exchange data (docs/admin.md,
docs/exchange-data.md), so that a field added to the plan (``cstaserver.pbx.plan``) gets its
option in ``extension``, ``group``, ``trunk`` and ``timer`` without a change here.

A field ``ring_seconds`` becomes the option ``--ring-seconds``; its value is read by the
field's type: ``yes|no`` for a bool, a whole number for an int, seconds (a decimal number) for
a float, text for a str, one of the values for an enum, a comma-separated list for a tuple of
str, and ``none`` for a field that may be None. Fields of other types (the PIN pairs of an
ACD group) have no derived option. Only the form is checked here; whether the value fits the
exchange is :func:`cstaserver.config.validate`'s job.
"""

from __future__ import annotations

import argparse
import enum
import math
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from cstaserver.config.values import whole_number

NONE_WORDS = ("none", "-", "off")
YES = ("yes", "y", "on", "true", "1")
NO = ("no", "n", "off", "false", "0")
#: The longest time any timer may have (about 11 days; as ``validate.MAX_SECONDS``).
MAX_SECONDS = 1_000_000


class _Cleared:
    """An option value that clears a field (``--diverted-position none``): not None, so that
    ``parsing.given`` sees the option as given."""

    def __repr__(self) -> str:
        return "CLEARED"


CLEARED = _Cleared()


def option_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def yes_no(text: str) -> bool:
    word = text.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not yes or no")


def whole(text: str) -> int:
    try:
        return whole_number(text.strip(), "a whole number (0 or more)", low=0)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seconds(text: str) -> float:
    """A time in seconds: a decimal number, 0 to 1,000,000."""
    try:
        value = float(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0-{MAX_SECONDS})")
    return value


def text_value(text: str) -> str:
    return text.strip()


def word_list(text: str) -> tuple[str, ...]:
    """``1001,1002`` (blanks allowed around the commas; empty: none)."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def choice(enum_type: type[enum.Enum]) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return enum_type(text.strip().lower())
        except ValueError:
            allowed = "|".join(str(member.value) for member in enum_type)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {allowed}") from None

    convert.__name__ = enum_type.__name__
    return convert


def nullable(convert: Callable[[str], object]) -> Callable[[str], object]:
    def convert_or_none(text: str) -> object:
        return CLEARED if text.strip().lower() in NONE_WORDS else convert(text)

    convert_or_none.__name__ = getattr(convert, "__name__", "value")
    return convert_or_none


def _metavar(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "|".join(str(member.value) for member in tp)
    return {bool: "yes|no", int: "N", float: "SECONDS", str: "TEXT"}.get(tp, "A,B,...")


def converter(tp: Any) -> tuple[Callable[[str], object], str] | None:
    """The converter and metavar of a field type, or None if it has no option."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = [arg for arg in args if arg is not type(None)]
        found = converter(inner[0]) if len(inner) == 1 else None
        return None if found is None else (nullable(found[0]), found[1] + "|none")
    if origin is tuple and args in ((str, ...),):
        return word_list, "A,B,..."
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return choice(tp), _metavar(tp)
    simple = {bool: yes_no, int: whole, float: seconds, str: text_value}
    if tp in simple:
        return simple[tp], _metavar(tp)
    return None


#: The argparse dest of a derived option is this + the field name; such an option is given
#: when its dest is there at all (default ``SUPPRESS``), so ``--terminal no`` counts.
DEST_PREFIX = "set_"


@attrs.frozen
class FieldOption:
    """One option derived from a field ``name``."""

    name: str
    convert: Callable[[str], object]
    metavar: str
    owners: tuple[type, ...]

    @property
    def option(self) -> str:
        return option_of(self.name)

    @property
    def dest(self) -> str:
        return DEST_PREFIX + self.name


def field_options(
    classes: Iterable[type],
    *,
    exclude: Iterable[str] = (),
    only: Callable[[Any], bool] | None = None,
) -> list[FieldOption]:
    """One option per field name of ``classes`` (in field order; a name shared by several
    classes is one option), except ``exclude`` and fields whose type has no converter;
    ``only(field)`` filters further."""
    skip = set(exclude)
    found: dict[str, FieldOption] = {}
    for cls in classes:
        for field in attrs.fields(attrs.resolve_types(cls)):
            if field.name in skip or (only is not None and not only(field)):
                continue
            made = converter(field.type)
            if made is None:
                continue
            if field.name in found:
                previous = found[field.name]
                found[field.name] = attrs.evolve(previous, owners=(*previous.owners, cls))
            else:
                found[field.name] = FieldOption(field.name, made[0], made[1], (cls,))
    return list(found.values())


def add_options(parser: argparse.ArgumentParser, options: Iterable[FieldOption]) -> None:
    for option in options:
        parser.add_argument(
            option.option,
            dest=option.dest,
            type=option.convert,
            metavar=option.metavar,
            default=argparse.SUPPRESS,
        )


def changes(args: argparse.Namespace, options: Iterable[FieldOption]) -> dict[str, object]:
    """Field name -> new value, for the options given (``none`` -> None)."""
    result = {}
    for option in options:
        if hasattr(args, option.dest):
            value = getattr(args, option.dest)
            result[option.name] = None if value is CLEARED else value
    return result


def show(value: object) -> str:
    """A field value as the commands print it and the CSV holds it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)
