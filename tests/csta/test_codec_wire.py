"""Pinned wire format and event templates."""

from __future__ import annotations

import attrs
import pytest
from lxml import etree

from cstaserver.csta import namespaces
from cstaserver.csta.codec import EventTemplate, EventTemplates, decode, encode
from cstaserver.csta.messages import (
    ClearConnectionResponse,
    DeliveredEvent,
    MakeCallResponse,
    MonitorStartResponse,
    StartApplicationSessionPosResponse,
)
from cstaserver.csta.types import (
    ConnectionID,
    DeviceID,
    EventCause,
    ExtendedDeviceID,
    LocalConnectionState,
)

ED3 = namespaces.ED3


def test_make_call_response_bytes_are_pinned() -> None:
    response = MakeCallResponse(calling_device=ConnectionID.of("17", "tel:+4685551001"))
    assert encode(response, ED3) == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<MakeCallResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        b"<callingDevice><callID>17</callID><deviceID>tel:+4685551001</deviceID></callingDevice>"
        b"</MakeCallResponse>"
    )


def test_empty_response_is_self_closing() -> None:
    assert encode(ClearConnectionResponse(), namespaces.ED4) == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<ClearConnectionResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"/>'
    )


def test_no_namespace() -> None:
    data = encode(MonitorStartResponse(monitor_cross_ref_id="1"), "")
    assert data.endswith(
        b"<MonitorStartResponse><monitorCrossRefID>1</monitorCrossRefID></MonitorStartResponse>"
    )


def test_ecma354_keeps_its_namespace() -> None:
    data = encode(
        StartApplicationSessionPosResponse(
            session_id="s1", actual_protocol_version=ED3, actual_session_duration=180
        ),
        namespaces.ED4,
    )
    assert b'xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session"' in data
    assert b"<sessionID>s1</sessionID><actualProtocolVersion>" in data


def test_escaping_and_attributes() -> None:
    response = MakeCallResponse(
        calling_device=ConnectionID(
            call_id="a&b<c>", device_id=DeviceID(value='x"y', type_of_number="dialingNumber")
        )
    )
    data = encode(response, ED3)
    assert b"<callID>a&amp;b&lt;c&gt;</callID>" in data
    assert b'<deviceID typeOfNumber="dialingNumber">x"y</deviceID>' in data
    assert decode(data).message == response


def test_invalid_xml_characters_are_dropped() -> None:
    data = encode(MakeCallResponse(calling_device=ConnectionID.of("1\x00\x1b2", "1001")), ED3)
    assert decode(data).message.calling_device.call_id == "12"


def test_non_ascii_is_utf8() -> None:
    data = encode(MakeCallResponse(calling_device=ConnectionID.of("Åke", "1001")), ED3)
    assert "Åke".encode() in data
    assert decode(data).message.calling_device.call_id == "Åke"


def test_raw_extensions_survive() -> None:
    extensions = etree.fromstring(
        b'<extensions xmlns="urn:a"><privateData><private>'
        b'<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+1</lcs:line>'
        b"</private></privateData></extensions>"
    )
    data = encode(MonitorStartResponse(monitor_cross_ref_id="1", extensions=extensions), ED3)
    again = decode(data).message.extensions
    line = again.find(".//{http://schemas.microsoft.com/Lcs/2005/04/RCCExtension}line")
    assert line is not None and line.text == "tel:+1"


def _delivered(xref: str = "0") -> DeliveredEvent:
    return DeliveredEvent(
        monitor_cross_ref_id=xref,
        connection=ConnectionID.of("42", "1002"),
        alerting_device=ExtendedDeviceID.of("1002"),
        calling_device=ExtendedDeviceID.of("tel:+4685551001"),
        called_device=ExtendedDeviceID.of("1002"),
        last_redirection_device=ExtendedDeviceID(not_known=True),
        local_connection_info=LocalConnectionState.ALERTING,
        cause=EventCause.NEW_CALL,
    )


@pytest.mark.parametrize("xref", ["1", "99fda87c", "a&b<c>", "Åke", ""])
@pytest.mark.parametrize("namespace", [namespaces.ED3, namespaces.ED4, ""])
def test_event_template_equals_encode(xref: str, namespace: str) -> None:
    event = _delivered()
    template = EventTemplate(event, namespace)
    assert template.render(xref) == encode(
        attrs.evolve(event, monitor_cross_ref_id=xref), namespace
    )


def test_event_templates_per_namespace() -> None:
    templates = EventTemplates(_delivered())
    a = templates.render(namespaces.ED3, "7")
    b = templates.render(namespaces.ED4, "7")
    assert a == encode(_delivered("7"), namespaces.ED3)
    assert b == encode(_delivered("7"), namespaces.ED4)
    assert templates.render(namespaces.ED3, "8") == encode(_delivered("8"), namespaces.ED3)


def test_event_template_needs_cross_ref() -> None:
    with pytest.raises(TypeError):
        EventTemplate(ClearConnectionResponse(), ED3)


def test_encode_refuses_unregistered_class() -> None:
    with pytest.raises(TypeError):
        encode(ConnectionID.of("1", "2"), ED3)
