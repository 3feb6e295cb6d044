"""The events' JSON codec (cstaserver.cluster.codec): every event class of the switching
model, captured from real switch runs, comes back equal; what is not an encoded event is
refused with one CodecError."""

from __future__ import annotations

import inspect

import attrs
import pytest
from lxml import etree
from twisted.internet.task import Clock

from cstaserver.cluster.codec import CodecError, decode_event, encode_event
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import ConnectionState, ForwardingType
from cstaserver.pbx.switch import Switch

CALLER = "+4685550107"


def concrete_event_classes() -> set[type]:
    """Every event class a switch emits: the attrs classes of pbx.events with a routing
    (``devices``) that no other class derives from."""
    classes = {
        cls
        for _, cls in inspect.getmembers(pbx_events, inspect.isclass)
        if attrs.has(cls) and cls.__module__ == pbx_events.__name__ and hasattr(cls, "call_ids")
    }
    return {cls for cls in classes if not any(o is not cls and issubclass(o, cls) for o in classes)}


def captured_events() -> list[object]:
    """Events of real runs of the demo exchange, each class at least once."""
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    sim = Simulator(switch)
    events: list[object] = []
    switch.subscribe(events.append)
    # a basic call, held, retrieved, transferred; keyed digits
    call, _ = switch.make_call("1000", "1001", correlator_data="c0ffee")
    sim.answer("1001")
    switch.generate_digits(call, "1000", "12#")
    switch.hold_call(call, "1000")
    switch.retrieve_call(call, "1000")
    consult, _ = switch.consultation_call(call, "1000", "1002")
    sim.answer("1002")
    switch.transfer_call(call, consult, "1000")
    switch.clear_call(switch.snapshot_device("1001")[0][0])
    # a conference
    first, _ = switch.make_call("1003", "1004")
    sim.answer("1004")
    second, _ = switch.consultation_call(first, "1003", "1005")
    sim.answer("1005")
    switch.conference_call(first, second, "1003")
    switch.clear_call(switch.snapshot_device("1003")[0][0])
    # user data on a call, then CallInformation when MakeCall finds the phone off-hook
    user_data = etree.fromstring("<userData><string>0102</string></userData>")
    sim.off_hook("1006")
    switch.make_call("1006", "1007", user_data=user_data)
    sim.hangup("1006")
    # an outside call, a busy extension, dialled digits, deflection
    switch.make_call("1000", "0812345")
    sim.hangup("1000")
    sim.busy("1001", True)
    switch.make_call("1000", "1001")
    sim.hangup("1000")
    sim.busy("1001", False)
    incoming = sim.call(CALLER, "1002", withheld=True)
    switch.deflect_call(incoming, "1002", "1003")
    sim.hangup(CALLER)
    sim.off_hook("1004")
    sim.dial("1004", "1005")
    sim.hangup("1004")
    # device features
    switch.set_forwarding("1008", ForwardingType.IMMEDIATE, "1009", True)
    switch.set_do_not_disturb("1008", True)
    switch.set_message_waiting("1008", True)
    switch.call_back_non_call("1000", "1009")
    # the call centre: agents, a queue
    sim.agent("1001", "login", "5001")
    sim.agent("1001", "notready")
    sim.agent("1001", "ready")
    queued = sim.call(CALLER, "2000")
    switch.route_select(queued, "2000", "1001")
    sim.answer("1001")
    sim.hangup(CALLER)
    clock.advance(demo_plan().acd_groups[0].wrap_up_seconds)
    sim.agent("1001", "logout")
    return events


def without_elements(event: object) -> object:
    """The event with its user data as text (an lxml element equals only itself)."""
    data = getattr(event, "data", None)
    if data is None or not isinstance(data.user_data, etree._Element):
        return event
    text = etree.tostring(data.user_data)
    return attrs.evolve(event, data=attrs.evolve(data, user_data=text))


def test_every_event_class_of_real_runs_comes_back_equal():
    events = captured_events()
    seen = {type(event) for event in events}
    assert concrete_event_classes() - seen == set()
    for event in events:
        text = encode_event(event)
        assert without_elements(decode_event(text)) == without_elements(event), text
    with_user_data = [
        e
        for e in events
        if isinstance(getattr(e, "data", None) and e.data.user_data, etree._Element)
    ]
    assert with_user_data, "the run has a call with user data"


def test_the_shapes_inside_come_back_as_they_were():
    rows = [("7", ConnectionState.ALERTING, ["1001", CALLER]), ("8", ConnectionState.HOLD, [])]
    assert decode_event(encode_event(rows)) == rows
    assert decode_event(encode_event({"a": (1, None)})) == {"a": (1, None)}
    assert decode_event(encode_event(Refusal.NO_SUCH_CALL)) is Refusal.NO_SUCH_CALL


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"A": "Nothing", "f": {}}',
        '{"A": "Held", "f": {"call_id": "1", "bogus": 2}}',
        '{"E": "ConnectionState", "v": "NOPE"}',
        '{"E": "Held", "v": "x"}',
        '{"Q": 1}',
        '{"X": "<!DOCTYPE x [<!ENTITY e \\"e\\">]><x>&e;</x>"}',
    ],
)
def test_what_is_not_an_encoded_event_is_refused(text):
    with pytest.raises(CodecError):
        decode_event(text)


def test_a_value_outside_the_registry_is_not_written():
    with pytest.raises(CodecError):
        encode_event(object())
