"""The switch's domain events (:mod:`cstaserver.pbx.events`) as the event stream's ``switch``
messages: JSON texts (RFC 8259) in UTF-8 (docs/api.md, "Event stream and wire trace").

What an event class becomes is worked out once per class - its name, whether it is a call
event, the fields it adds to the base ones, each field's key as JSON text - and kept in a
per-class renderer. Rendering an event then writes its JSON text directly: strings by the
JSON string encoder, enumerations by their value; anything else (attrs classes as objects,
tuples as lists, XML as its text: :func:`plain`) and every other message through one
module-level encoder. The text is exactly what ``json.dumps(..., ensure_ascii=False,
separators=(",", ":"))`` gives for the message as an object (:func:`switch_event_json`).
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

#: A string as JSON text (non-ASCII characters as they are); TypeError for anything else.
_string = json.encoder.encode_basestring
Renderer = Callable[[Any, float], bytes]


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


def _dump(value: Any) -> str:
    """``value`` (of JSON's types) as compact JSON text."""
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def _json(value: Any) -> str:
    """``plain(value)`` as JSON text; without a call of :func:`plain` for the scalars and
    enumerations of them that events are made of."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if isinstance(value, enum.Enum):
        return _json(value._value_)
    if kind is bool or kind is int:
        return _dump(value)
    return _dump(plain(value))


def _strings(values: Any) -> str:
    """A tuple of strings (call IDs, devices) as a JSON array."""
    try:
        return "[" + ",".join(map(_string, values)) + "]"
    except TypeError:  # not all strings: what the encoder makes of them
        return _dump(list(values))


def _states(states: Any) -> str:
    """Each party's connection state as a JSON object: device -> the state's value."""
    by_device = {device: state._value_ for device, state in states}
    try:
        return "{" + ",".join([_string(d) + ":" + _string(v) for d, v in by_device.items()]) + "}"
    except TypeError:
        return _dump(by_device)


def _call_data(data: Any) -> str:
    """A call's data (``CallData``) as a JSON object of the items it holds (no nulls, no
    empty lists)."""
    if data is NO_CALL_DATA:
        return "{}"
    if type(data) is CallData:
        items: Any = ((name, plain(getattr(data, name))) for name in _CALL_DATA_FIELDS)
    else:
        items = plain(data).items()
    return _dump({name: value for name, value in items if value is not None and value != []})


def _renderer(cls: type) -> Renderer:
    """The renderer of one event class (attrs): worked out once, used for every event."""
    fields = {field.name for field in attrs.fields(cls)}
    head = '{"kind":"switch","type":' + _string(cls.__name__) + ',"time":'
    extra = tuple(
        (f',"{field.name}":', field.name)
        for field in attrs.fields(cls)
        if field.name not in _BASE_FIELDS
    )
    has_cause = "cause" in fields
    has_call_id = "call_id" in fields
    is_call = issubclass(cls, CallEvent)

    def render(event: Any, time: float) -> bytes:
        call_id = event.call_id if has_call_id else None
        parts = [
            head,
            float.__repr__(time) if type(time) is float and time - time == 0.0 else _dump(time),
            ',"cause":',
            _json(event.cause) if has_cause else "null",
            ',"call_id":',
            _string(call_id) if type(call_id) is str else _dump(call_id),
            ',"call_ids":',
            _strings(event.call_ids),
            ',"devices":',
            _strings(event.devices),
        ]
        if is_call:
            parts += (',"states":', _states(event.states), ',"data":', _call_data(event.data))
        for key, name in extra:
            value = getattr(event, name)
            parts += (key, _string(value) if type(value) is str else _json(value))
        parts.append("}")
        return "".join(parts).encode("utf-8")

    return render


_RENDERERS: dict[type, Renderer] = {}


def switch_event_text(event: Any, time: float) -> bytes:
    """One domain event of the switch (``cstaserver.pbx.events``) as a ``switch`` message,
    JSON text in UTF-8: ``kind``, ``type``, ``time``, ``cause``, ``call_id``, ``call_ids``,
    ``devices``, for a call event ``states`` and ``data``, then the event's own fields."""
    cls = type(event)
    render = _RENDERERS.get(cls)
    if render is None:
        render = _RENDERERS[cls] = _renderer(cls)
    return render(event, time)


def switch_event_json(event: Any, time: float) -> dict[str, Any]:
    """:func:`switch_event_text` as the object it holds."""
    return json.loads(switch_event_text(event, time))


def encode(message: Mapping[str, Any]) -> bytes:
    """``message`` (an object) as compact JSON text in UTF-8 (non-ASCII characters as they
    are): what ``json.dumps(message, ensure_ascii=False, separators=(",", ":"))`` gives."""
    return _dump(message).encode("utf-8")
