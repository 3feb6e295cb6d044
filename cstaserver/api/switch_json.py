"""The switch's domain events (:mod:`cstaserver.pbx.events`) as the event stream's ``switch``
messages: JSON texts (RFC 8259) in UTF-8 (docs/api.md, "Event stream and wire trace").

What an event class becomes is worked out once per class - its name, whether it is a call
event, the fields it adds to the base ones - and kept in a per-class renderer; rendering an
event then reads its fields and converts only values that are not already JSON scalars
(enumerations by their value, attrs classes as objects, tuples as lists, XML as its text:
:func:`plain`). One module-level encoder writes every message.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from lxml import etree

from cstaserver.pbx.events import NO_CALL_DATA, CallData, CallEvent

#: Fields every ``switch`` message has in its fixed place (the rest follow in class order).
_BASE_FIELDS = ("call_id", "cause", "devices", "states", "data")
#: Values JSON holds as they are: no conversion.
_SCALARS = frozenset({str, int, float, bool, type(None)})
_CALL_DATA_FIELDS = tuple(field.name for field in attrs.fields(CallData))
#: Every message's encoder (compact, UTF-8 text as it is). Our messages hold no cycles, so
#: the encoder does not look for them.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
#: Its C accelerator made once (``JSONEncoder.encode`` makes one per call); the same text.
_C_ENCODER = (
    None
    if json.encoder.c_make_encoder is None
    else json.encoder.c_make_encoder(
        None,  # no cycle check
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # no indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
)

Renderer = Callable[[Any, float], dict[str, Any]]


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: enumerations by value, attrs classes as objects,
    tuples as lists, XML (stored user data) as its text."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if attrs.has(type(value)):
        return {
            field.name: plain(getattr(value, field.name)) for field in attrs.fields(type(value))
        }
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, etree._Element):
        return etree.tostring(value, encoding="unicode")
    return str(value)


def _value(value: Any) -> Any:
    """:func:`plain`, without a call for the values that are JSON scalars already or
    enumerations of them."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, enum.Enum):
        value = value._value_
        if type(value) in _SCALARS:
            return value
    return plain(value)


def _call_data(data: Any) -> dict[str, Any]:
    """A call's data (``CallData``) as an object of the items it holds (no nulls, no empty
    lists)."""
    if data is NO_CALL_DATA:
        return {}
    if type(data) is not CallData:
        items = plain(data).items()
    else:
        items = ((name, _value(getattr(data, name))) for name in _CALL_DATA_FIELDS)
    return {name: value for name, value in items if value is not None and value != []}


def _renderer(cls: type) -> Renderer:
    """The renderer of one event class (attrs): worked out once, used for every event."""
    name = cls.__name__
    fields = {field.name for field in attrs.fields(cls)}
    extra = tuple(field.name for field in attrs.fields(cls) if field.name not in _BASE_FIELDS)
    has_cause = "cause" in fields
    has_call_id = "call_id" in fields or hasattr(cls, "call_id")
    is_call = issubclass(cls, CallEvent)

    def render(event: Any, time: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "switch",
            "type": name,
            "time": time,
            "cause": _value(event.cause) if has_cause else None,
            "call_id": event.call_id if has_call_id else None,
            "call_ids": list(event.call_ids),
            "devices": list(event.devices),
        }
        if is_call:
            body["states"] = {device: state._value_ for device, state in event.states}
            body["data"] = _call_data(event.data)
        for field in extra:
            body[field] = _value(getattr(event, field))
        return body

    return render


_RENDERERS: dict[type, Renderer] = {}


def switch_event_json(event: Any, time: float) -> dict[str, Any]:
    """One domain event of the switch (``cstaserver.pbx.events``) as a ``switch`` message:
    ``kind``, ``type``, ``time``, ``cause``, ``call_id``, ``call_ids``, ``devices``, for a
    call event ``states`` and ``data``, then the event's own fields."""
    cls = type(event)
    render = _RENDERERS.get(cls)
    if render is None:
        render = _RENDERERS[cls] = _renderer(cls)
    return render(event, time)


def encode(message: Mapping[str, Any]) -> bytes:
    """``message`` (an object) as compact JSON text in UTF-8 (non-ASCII characters as they
    are): what ``json.dumps(message, ensure_ascii=False, separators=(",", ":"))`` gives."""
    if _C_ENCODER is None:
        return _ENCODER.encode(message).encode("utf-8")
    return "".join(_C_ENCODER(message, 0)).encode("utf-8")
