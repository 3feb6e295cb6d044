"""encode → decode round-trips for every registered message, strategies derived from the schema."""

from __future__ import annotations

import enum
import functools
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from cstaserver.csta import namespaces
from cstaserver.csta.codec import EventTemplate, decode, encode
from cstaserver.csta.schema import Kind, Node, all_messages, fields_of, response_class

MESSAGES = all_messages()
NAMESPACES = [namespaces.ED3, namespaces.ED4, namespaces.ED6, namespaces.ED2_ECMA_CH, ""]

_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs", "Cn")), max_size=12).map(
    str.strip
)
_ATTRIBUTE = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Cn"), exclude_characters="\x00"),
    max_size=8,
).filter(lambda s: all(c in "\t\n\r" or ord(c) >= 32 for c in s))
_NAME = st.from_regex(r"\A[a-z][A-Za-z0-9]{0,10}\Z")


def _value(info: Any) -> st.SearchStrategy[Any]:
    base = info.base
    if base is str:
        return _ATTRIBUTE if info.node is Node.ATTRIBUTE else _TEXT
    if base is bool:
        return st.booleans()
    if base is int:
        return st.integers(-(2**40), 2**40)
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return st.sampled_from(list(base))
    if base is dict:
        return st.dictionaries(_NAME, st.booleans(), max_size=4)
    if base is etree._Element:
        return st.none()
    if attrs.has(base):
        return st.deferred(lambda: structure(base))
    raise TypeError(base)


@functools.cache
def structure(cls: type) -> st.SearchStrategy[Any]:
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for info in fields_of(cls):
        if info.node is Node.EMPTY:
            strategy = st.booleans()
        elif info.many:
            items = st.lists(_value(info), max_size=3)
            strategy = st.one_of(st.none(), items) if info.nullable else items
        elif info.optional:
            strategy = st.one_of(st.none(), _value(info))
        else:
            strategy = _value(info)
        kwargs[info.name] = strategy
    built = st.builds(cls, **kwargs)
    if getattr(cls, "csta_choice", False):
        built = built.filter(
            lambda v: any(getattr(v, f.name) not in (None, False) for f in fields_of(cls))
        )
    return built


@pytest.mark.parametrize("name", sorted(MESSAGES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_round_trip(name: str, data: st.DataObject) -> None:
    cls = MESSAGES[name]
    message = data.draw(structure(cls))
    namespace = data.draw(st.sampled_from(NAMESPACES))
    encoded = encode(message, namespace)
    decoded = decode(encoded)
    assert decoded.name == name
    assert decoded.namespace == (cls.csta_namespace or namespace)
    assert decoded.message == message
    assert encode(decoded.message, namespace) == encoded


EVENTS = sorted(n for n, c in MESSAGES.items() if c.csta_kind is Kind.EVENT)


@pytest.mark.parametrize("name", EVENTS)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_event_template_matches_encode(name: str, data: st.DataObject) -> None:
    event = data.draw(structure(MESSAGES[name]))
    namespace = data.draw(st.sampled_from(NAMESPACES))
    xref = data.draw(_TEXT)
    rendered = EventTemplate(event, namespace).render(xref)
    assert rendered == encode(attrs.evolve(event, monitor_cross_ref_id=xref), namespace)
    assert decode(rendered).message.monitor_cross_ref_id == xref


def test_registry_covers_the_brief() -> None:
    expected_requests = """GetCSTAFeatures GetSwitchingFunctionDevices GetLogicalDeviceInformation
        GetPhysicalDeviceInformation RequestSystemStatus SystemStatus SystemRegister
        SystemRegisterCancel MonitorStart MonitorStop ChangeMonitorFilter SnapshotDevice SnapshotCall
        MakeCall MakePredictiveCall AnswerCall ClearConnection ClearCall HoldCall RetrieveCall
        ConsultationCall TransferCall SingleStepTransferCall ConferenceCall SingleStepConferenceCall
        AlternateCall ReconnectCall DeflectCall GenerateDigits SetForwarding GetForwarding
        SetDoNotDisturb GetDoNotDisturb SetAgentState GetAgentState
        SetMessageWaitingIndicator GetMessageWaitingIndicator DirectedPickupCall GroupPickupCall
        ParkCall CamponCall CallBack IntrudeCall CallBackNonCallRelated CancelCallBack""".split()
    for name in expected_requests:
        cls = MESSAGES[name]
        assert cls.csta_kind is Kind.REQUEST
        response = response_class(cls)
        assert response is not None and response.csta_name == name + "Response"
    assert len(EVENTS) == 27  # CallBackEvent added with the call back services
    for name in (
        "StartApplicationSession",
        "StopApplicationSession",
        "ResetApplicationSessionTimer",
    ):
        assert response_class(MESSAGES[name]).csta_name == name + "PosResponse"
    assert "SwitchingFunctionDevices" in MESSAGES
    assert "ApplicationSessionTerminated" in MESSAGES
    assert "CSTAErrorCode" in MESSAGES


def test_event_template_when_a_field_holds_the_placeholder_text():
    """A client-chosen string equal to the template placeholder still renders right."""
    from cstaserver.csta import codec as codec_module
    from cstaserver.csta.messages.events import CallClearedEvent
    from cstaserver.csta.types import ConnectionID

    event = CallClearedEvent(
        monitor_cross_ref_id="x",
        cleared_call=ConnectionID(call_id=codec_module._PLACEHOLDER),
    )
    template = codec_module.EventTemplate(event)
    assert template.render("42") == codec_module.encode(
        attrs.evolve(event, monitor_cross_ref_id="42")
    )
