"""What the event stream sends, byte for byte (docs/api.md, "Event stream and wire trace"):

- every switch event class, with any field values, renders to exactly the JSON text the
  generic walk of its attrs fields gives (``json.dumps`` of the object, compact, UTF-8),
  non-ASCII text, XML user data, NaN and infinite times included;
- ``encode`` gives what ``json.dumps`` gives for any JSON object;
- a message's frame is the server text frame autobahn would send (RFC 6455 5.2);
- a client's messages of one reactor turn are written in one write, frames a client of
  RFC 6455 reads back as the messages in order.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any

import attrs
from autobahn.websocket.protocol import PreparedMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cstaserver.api.events import EventHub, EventStreamFactory, StreamFilter, StreamLimits
from cstaserver.api.frames import text_frame
from cstaserver.api.switch_json import encode, plain, switch_event_json, switch_event_text
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.events import CallEvent, DeviceEvent
from tests.xmlproto.xml_client import make_world

# -- the reference: the generic walk of the event's attrs fields -------------------------
_BASE = ("call_id", "cause", "devices", "states", "data")


def reference_text(event: Any, time: float) -> bytes:
    """The ``switch`` message as the generic walk gives it (the documented shape)."""
    body: dict[str, Any] = {
        "kind": "switch",
        "type": type(event).__name__,
        "time": time,
        "cause": plain(getattr(event, "cause", None)),
        "call_id": getattr(event, "call_id", None),
        "call_ids": list(event.call_ids),
        "devices": list(event.devices),
    }
    if isinstance(event, CallEvent):
        body["states"] = {device: state.value for device, state in event.states}
        body["data"] = {
            name: value
            for name, value in plain(event.data).items()
            if value is not None and value != []
        }
    for field in attrs.fields(type(event)):
        if field.name not in _BASE:
            body[field.name] = plain(getattr(event, field.name))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- any value of a field, by its type -------------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
ELEMENTS = [etree.fromstring(b"<userData><string>\xc3\xa5 &amp; x</string></userData>")]
ANYTHING = st.one_of(st.none(), TEXT, st.binary(max_size=4), st.sampled_from(ELEMENTS))


def strategy(kind: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is type(None):
        return st.none()
    if kind is str:
        return TEXT
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers()
    if kind is object:
        return ANYTHING
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy(arg) for arg in args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy(arg) for arg in args))
    if isinstance(kind, type) and attrs.has(kind):
        hints = typing.get_type_hints(kind)
        return st.builds(kind, **{f.name: strategy(hints[f.name]) for f in attrs.fields(kind)})
    raise AssertionError(f"no strategy for {kind!r}")


EVENT_CLASSES = sorted(
    (
        cls
        for cls in vars(pbx_events).values()
        if isinstance(cls, type)
        and attrs.has(cls)
        and issubclass(cls, (CallEvent, DeviceEvent))
        and cls not in (CallEvent, DeviceEvent)
    ),
    key=lambda cls: cls.__name__,
)
EVENTS = st.one_of(*(strategy(cls) for cls in EVENT_CLASSES))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


class Rendering(unittest.TestCase):
    def test_every_event_class_is_covered(self) -> None:
        names = {cls.__name__ for cls in EVENT_CLASSES}
        assert {"Delivered", "Transferred", "DoNotDisturb", "AgentReady", "CallBack"} <= names

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event=EVENTS, time=st.floats())
    def test_switch_messages_are_the_generic_walks_text(self, event: Any, time: float) -> None:
        expected = reference_text(event, time)
        assert switch_event_text(event, time) == expected
        if time == time:  # NaN is not equal to itself
            assert switch_event_json(event, time) == json.loads(expected)

    @settings(max_examples=300, deadline=None)
    @given(message=st.dictionaries(TEXT, JSON_VALUES, max_size=5))
    def test_encode_is_json_dumps(self, message: dict[str, Any]) -> None:
        expected = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        assert encode(message) == expected.encode("utf-8")

    def test_frames_are_a_servers_text_frames(self) -> None:
        for length in (0, 1, 125, 126, 127, 65535, 65536, 70000):
            payload = b"x" * length
            prepared = PreparedMessage(payload, False, False, True)
            assert text_frame(payload) == prepared.payloadHybi, length


# -- one write per reactor turn ------------------------------------------------------------
class CountingTransport(StringTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


def read_frames(data: bytes) -> list[Any]:
    """The JSON messages of unmasked, unfragmented text frames (RFC 6455 5.2)."""
    messages = []
    while data:
        assert data[0] == 0x81 and data[1] & 0x80 == 0, data[:2]
        length, at = data[1] & 0x7F, 2
        if length == 126:
            length, at = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, at = int.from_bytes(data[2:10], "big"), 10
        messages.append(json.loads(data[at : at + length]))
        data = data[at + length :]
    return messages


class OneWritePerTurn(unittest.TestCase):
    def open_client(self, limits: StreamLimits = StreamLimits()) -> Any:  # noqa: B008
        world = make_world()
        self.switch = world.switch
        self.clock = Clock()
        hub = EventHub(world.switch, None, self.clock, limits)
        factory = EventStreamFactory(hub)
        built: list[Any] = []
        factory.admit("u", StreamFilter(), lambda: built.append(factory.buildProtocol(None)))
        client = built[0]
        self.transport = CountingTransport()
        client.makeConnection(self.transport)
        # the opening handshake as autobahn leaves it once the upgrade is answered
        client.state = client.STATE_OPEN
        client.websocket_version = 13
        client.send_state = client.SEND_STATE_GROUND
        self.transport.registerProducer(object(), True)  # the HTTP channel's
        client.onOpen()
        return client

    def test_a_turns_messages_go_out_in_one_write(self) -> None:
        client = self.open_client()
        self.clock.advance(0)
        assert self.transport.writes == 1
        assert read_frames(self.transport.value())[0]["kind"] == "hello"
        self.transport.clear()
        self.transport.writes = 0
        call_id, _ = self.switch.make_call("1000", "1001")
        self.switch.set_do_not_disturb("1005", True)
        assert self.transport.writes == 0  # not before the turn ends
        self.clock.advance(0)
        assert self.transport.writes == 1
        messages = read_frames(self.transport.value())
        assert [m["type"] for m in messages] == [
            "ServiceInitiated",
            "Originated",
            "Delivered",
            "DoNotDisturb",
        ]
        assert messages[0]["call_id"] == call_id
        assert client.sent == 5 and client.queue == []

    def test_a_reading_client_that_fills_its_bounds_in_one_turn_is_kept(self) -> None:
        client = self.open_client(StreamLimits(queue_messages=20, queue_bytes=16384))
        self.clock.advance(0)
        self.transport.clear()
        self.transport.writes = 0
        for n in range(50):  # one turn
            self.switch.set_do_not_disturb("1001", n % 2 == 0)
        self.clock.advance(0)
        messages = read_frames(self.transport.value())
        assert [m["on"] for m in messages] == [n % 2 == 0 for n in range(50)]
        assert self.transport.writes == 3  # at 21 and 42 queued, then the turn's end
        assert client.hub.clients == {client} and not client.closing
