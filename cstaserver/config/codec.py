"""The JSON form of the exchange data: ``exchange.json``.

A small hand-written converter driven by the attrs field types, so the classes of
:mod:`cstaserver.pbx.plan` and :mod:`cstaserver.config.model` are described once. The JSON
form: an object per attrs instance with every field, enums by value, tuples and lists as
arrays. Reading is strict: an unknown field, a value of the wrong JSON type (``true`` is not
an int, ``1.5`` is not an int, NaN is not a number), an unknown enum value or an unknown
``schema_version`` is a :class:`ConfigError` naming the place (``plan.extensions[3].kind``).
An integer of more than :data:`MAX_INTEGER_DIGITS` digits is not converted at all (Python
refuses past 4,300 digits, and converting long ones costs quadratic time): it is refused at
its field; the ranges of the numbers are :mod:`cstaserver.config.validate`'s.
A missing field takes its attrs default if it has one (so a later version can add a field
with a default without a schema bump); a renamed field is still read under its old name
(:data:`RENAMED`: ``replace_line_dialogs`` of a CSTA server); a missing field without a default is an error. Semantic
checks (duplicate numbers, group members ...) follow in :mod:`cstaserver.config.validate`.

Versions (docs/exchange-data.md, "Versions"): a file of an older ``schema_version`` is
upgraded on reading by the steps of :data:`MIGRATIONS` (version N -> N+1, one function each,
on the decoded JSON) and written in the current layout by the next save; a newer version
than this code reads is refused. Version 1 is the only layout so far, so there are no steps.
"""

from __future__ import annotations

import enum
import json
import math
import types
import typing
from typing import Any

import attrs

from cstaserver.config.model import (
    SCHEMA_VERSION,
    ConfigError,
    CstaServerSettings,
    ExchangeData,
)
from cstaserver.config.validate import validate

#: The most digits an integer of ``exchange.json`` may have: every number of the exchange data
#: has far fewer (the largest limit is 10 digits).
MAX_INTEGER_DIGITS = 20


@attrs.frozen
class _LongInteger:
    """An integer literal of more than MAX_INTEGER_DIGITS digits, refused at its field."""

    digits: int


def _parse_int(text: str) -> int | _LongInteger:
    digits = len(text.lstrip("-"))
    return _LongInteger(digits) if digits > MAX_INTEGER_DIGITS else int(text)


class _Invalid(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}" if path else problem)


def unstructure(value: object) -> Any:
    """attrs instances → dicts, enums → values, tuples → lists; JSON-ready."""
    if attrs.has(type(value)):
        return {f.name: unstructure(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [unstructure(item) for item in value]
    return value


def _json_type(raw: object) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, (int, float)):
        return "a number"
    if isinstance(raw, str):
        return "a string"
    if isinstance(raw, list):
        return "an array"
    return "an object"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _replace_line_dialogs(raw: object, path: str) -> tuple[str, object]:
    """The boolean of files written before ``line_replacement``: true (replace) is read as
    ``same-peer`` - the replacement a restarted client needs, without letting another host
    end the dialog - and false as ``off``."""
    if not isinstance(raw, bool):
        raise _Invalid(path, f"expected true or false, got {_json_type(raw)}")
    return "line_replacement", "same-peer" if raw else "off"


#: Fields read under an earlier name: class -> old name -> (raw, path) -> (new name, raw).
RENAMED: dict[type, dict[str, typing.Callable[[object, str], tuple[str, object]]]] = {
    CstaServerSettings: {"replace_line_dialogs": _replace_line_dialogs},
}


def _renamed(raw: dict[str, Any], cls: type, path: str) -> dict[str, Any]:
    for old, convert in RENAMED.get(cls, {}).items():
        if old in raw:
            raw = dict(raw)
            new, value = convert(raw.pop(old), _join(path, old))
            raw.setdefault(new, value)
    return raw


def _structure_attrs(raw: object, cls: type, path: str) -> object:
    if not isinstance(raw, dict):
        raise _Invalid(path, f"expected an object, got {_json_type(raw)}")
    raw = _renamed(raw, cls, path)
    fields = attrs.fields(attrs.resolve_types(cls))
    known = {f.name for f in fields}
    extra = sorted(str(key) for key in raw if key not in known)
    if extra:
        raise _Invalid(path, f"unknown field {extra[0]!r}")
    kwargs: dict[str, object] = {}
    for f in fields:
        if f.name in raw:
            kwargs[f.name] = structure(raw[f.name], f.type, _join(path, f.name))
        elif f.default is attrs.NOTHING:
            raise _Invalid(path, f"missing field {f.name!r}")
    return cls(**kwargs)


def _structure_scalar(raw: object, tp: type, path: str) -> object:
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        raise _Invalid(path, f"expected true or false, got {_json_type(raw)}")
    if tp is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        raise _Invalid(path, f"expected an integer, got {_json_type(raw)} {raw!r}")
    if tp is float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
            return float(raw)
        raise _Invalid(path, f"expected a number, got {_json_type(raw)} {raw!r}")
    if tp is str:
        if isinstance(raw, str):
            return raw
        raise _Invalid(path, f"expected a string, got {_json_type(raw)}")
    raise TypeError(f"exchange data field of unsupported type {tp!r}")


def structure(raw: object, tp: Any, path: str = "") -> Any:
    """Build a value of type ``tp`` from decoded JSON, checking every type on the way."""
    if isinstance(raw, _LongInteger):
        raise _Invalid(
            path, f"a number of {raw.digits} digits (at most {MAX_INTEGER_DIGITS} are read)"
        )
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        (inner,) = (arg for arg in args if arg is not type(None))
        return structure(raw, inner, path)
    if origin in (list, tuple):
        if not isinstance(raw, list):
            raise _Invalid(path, f"expected an array, got {_json_type(raw)}")
        items = [structure(item, args[0], f"{path}[{i}]") for i, item in enumerate(raw)]
        return items if origin is list else tuple(items)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if type(raw) is type(member.value) and raw == member.value:
                return member
        allowed = ", ".join(str(member.value) for member in tp)
        raise _Invalid(path, f"{raw!r} is not one of: {allowed}")
    if attrs.has(tp):
        return _structure_attrs(raw, tp, path)
    return _structure_scalar(raw, tp, path)


#: ``MIGRATIONS[n]`` turns the decoded JSON of ``schema_version`` n into that of n + 1 (a
#: renamed or moved field; a new field with a default needs no step).
MIGRATIONS: dict[int, typing.Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upgrade(raw: dict[str, Any], version: int, filename: str) -> dict[str, Any]:
    """The decoded JSON of ``version`` brought to :data:`SCHEMA_VERSION` step by step."""
    if version > SCHEMA_VERSION or version < 1:
        raise ConfigError(
            f"unknown schema_version {version} (this cstaserver reads {SCHEMA_VERSION})", filename
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ConfigError(f"schema_version {version} cannot be upgraded", filename)
        raw = step(dict(raw))
        version += 1
        raw["schema_version"] = version
    return raw


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _Invalid("", f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> object:
    raise _Invalid("", f"not valid JSON: {name} is not a number")


def from_json(text: str | bytes, filename: str = "exchange.json") -> ExchangeData:
    """Parse and validate ``exchange.json`` content; :class:`ConfigError` on any problem."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        raw = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", filename) from None
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}", filename
        ) from None
    except RecursionError:
        raise ConfigError("not valid JSON: nested too deeply", filename) from None
    except _Invalid as e:
        raise ConfigError(str(e), filename) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"expected an object at the top, got {_json_type(raw)}", filename)
    version = raw.get("schema_version")
    if type(version) is not int:
        raise ConfigError("missing or non-integer schema_version", filename)
    raw = upgrade(raw, version, filename)
    try:
        data = structure(raw, ExchangeData)
    except _Invalid as e:
        raise ConfigError(str(e), filename) from None
    validate(data, filename)
    return data


def to_json(data: ExchangeData, filename: str = "exchange.json") -> str:
    """Validate and serialise the exchange data (2-space indent, trailing newline)."""
    validate(data, filename)
    return json.dumps(unstructure(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
