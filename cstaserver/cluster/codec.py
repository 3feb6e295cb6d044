"""The switching model's domain events (``cstaserver.pbx.events``) as JSON text, for the bus
between an exchange process and its front ends (docs/cluster.md, "Events").

One generic codec, not one function per event: an attrs instance is written as its class
name and its fields, and read back by calling the class with them, so a new event class (or a
new field) travels as soon as its module is in the :class:`TypeRegistry`. What the fields
hold is written so that it comes back equal:

- ``None``, booleans, numbers and text as themselves; a list as a JSON array;
- a tuple as ``{"t": [...]}`` (the events' ``devices``, ``states``, ``restricted`` are
  tuples, and an attrs instance compares equal only with tuples again);
- a dict as ``{"m": [[key, value], ...]}`` (keys of any type);
- an enum as ``{"E": "ConnectionState", "v": "ALERTING"}`` (its member's name);
- an attrs instance as ``{"A": "Delivered", "f": {field: value, ...}}``;
- an XML element (a call's ``userData``, ECMA-269 12.3.x, kept by the switch as the
  client's element) as ``{"X": "<...>"}``, read back through the safe parser
  (``cstaserver.csta.xmlsafe``).

A name the registry does not know is refused with :class:`CodecError` (one line), never
guessed: both ends must run the same version of the event classes.
"""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Iterable
from typing import Any

import attrs
from lxml import etree

from cstaserver.csta.xmlsafe import XmlRejected, parse_document
from cstaserver.pbx import errors as pbx_errors
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx import states as pbx_states


class CodecError(ValueError):
    """Text that is not an encoded value of the registry's types."""


class TypeRegistry:
    """The attrs classes and enums a codec may write and read, by name."""

    def __init__(self, modules: Iterable[types.ModuleType] = ()) -> None:
        self._types: dict[str, type] = {}
        self._fields: dict[type, tuple[str, ...]] = {}
        for module in modules:
            self.add_module(module)

    def add(self, cls: type) -> None:
        known = self._types.get(cls.__name__)
        if known is not None and known is not cls:
            raise ValueError(f"two types named {cls.__name__}: {known!r} and {cls!r}")
        self._types[cls.__name__] = cls
        if attrs.has(cls):
            self._fields[cls] = tuple(f.name for f in attrs.fields(cls) if f.init)

    def add_module(self, module: types.ModuleType) -> None:
        """Every attrs class and enum defined in ``module``."""
        for value in vars(module).values():
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if attrs.has(value) or issubclass(value, enum.Enum):
                self.add(value)

    def type_named(self, name: str) -> type:
        cls = self._types.get(name)
        if cls is None:
            raise CodecError(f"unknown type {name!r}")
        return cls

    def fields(self, cls: type) -> tuple[str, ...]:
        names = self._fields.get(cls)
        if names is None:
            raise CodecError(f"{cls.__name__} is not a registered type")
        return names

    def __contains__(self, cls: type) -> bool:
        return self._types.get(cls.__name__) is cls


#: The events of the switching model and everything inside them, and the switch's refusals.
EVENT_TYPES = TypeRegistry([pbx_events, pbx_states, pbx_errors])


def to_json_value(value: Any, registry: TypeRegistry = EVENT_TYPES) -> Any:
    """``value`` as JSON-ready data (see the module docstring)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, tuple):
        return {"t": [to_json_value(item, registry) for item in value]}
    if isinstance(value, list):
        return [to_json_value(item, registry) for item in value]
    if isinstance(value, enum.Enum):
        if type(value) not in registry:
            raise CodecError(f"{type(value).__name__} is not a registered enum")
        return {"E": type(value).__name__, "v": value.name}
    if isinstance(value, dict):
        return {
            "m": [
                [to_json_value(k, registry), to_json_value(v, registry)] for k, v in value.items()
            ]
        }
    if isinstance(value, etree._Element):
        return {"X": etree.tostring(value, encoding="unicode")}
    cls = type(value)
    if attrs.has(cls):
        return {
            "A": cls.__name__,
            "f": {
                name: to_json_value(getattr(value, name), registry) for name in registry.fields(cls)
            },
        }
    raise CodecError(f"cannot encode a {cls.__name__}")


def from_json_value(data: Any, registry: TypeRegistry = EVENT_TYPES) -> Any:
    """The value :func:`to_json_value` wrote."""
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    if isinstance(data, list):
        return [from_json_value(item, registry) for item in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise CodecError(f"not an encoded value: {str(data)[:80]}")
    try:
        if "t" in data:
            return tuple(from_json_value(item, registry) for item in data["t"])
        if "A" in data:
            cls = registry.type_named(str(data["A"]))
            names = set(registry.fields(cls))
            fields = data["f"]
            if not isinstance(fields, dict) or not set(fields) <= names:
                raise CodecError(f"fields of {cls.__name__} not as registered")
            return cls(**{name: from_json_value(v, registry) for name, v in fields.items()})
        if "E" in data:
            cls = registry.type_named(str(data["E"]))
            if not issubclass(cls, enum.Enum):
                raise CodecError(f"{cls.__name__} is not an enum")
            return cls[str(data["v"])]
        if "m" in data:
            return {
                from_json_value(k, registry): from_json_value(v, registry) for k, v in data["m"]
            }
        if "X" in data:
            return parse_document(str(data["X"]).encode("utf-8"))
    except (KeyError, TypeError, ValueError, XmlRejected) as error:
        if isinstance(error, CodecError):
            raise
        raise CodecError(f"bad encoded value: {error}") from None
    raise CodecError(f"not an encoded value: {str(data)[:80]}")


def encode_event(event: object, registry: TypeRegistry = EVENT_TYPES) -> str:
    """One event (or any registered value) as JSON text."""
    return json.dumps(to_json_value(event, registry), separators=(",", ":"))


def decode_event(text: str, registry: TypeRegistry = EVENT_TYPES) -> Any:
    """The event :func:`encode_event` wrote; CodecError for anything else."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise CodecError(f"not JSON: {error}") from None
    return from_json_value(data, registry)
