"""ECMA-269 clause 20 routeing messages (ECMA-323 encoding): full round trips in two editions,
element order, hand-written samples, decode errors, and the generated XSD."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from lxml import etree

from cstaserver.csta import namespaces
from cstaserver.csta.codec import DecodeError, decode, encode, find_descendants, local_name
from cstaserver.csta.errors import ErrorValue, decode_error, error_code_message
from cstaserver.csta.messages import (
    NO_POSITIVE_RESPONSE,
    CSTAErrorCode,
    RejectCause,
    ReRouteRequest,
    RetryValue,
    RouteEndRequest,
    RouteRegister,
    RouteRegisterAbort,
    RouteRegisterCancel,
    RouteRegisterCancelResponse,
    RouteRegisterResponse,
    RouteReject,
    RouteRequest,
    RouteSelectRequest,
    RouteUsedRequest,
    SelectValue,
)
from cstaserver.csta.schema import Kind, all_messages, fields_of, response_class
from cstaserver.csta.types import ConnectionID, DeviceID, ExtendedDeviceID
from cstaserver.soap.wsdl import xsd_document

ED3 = namespaces.ED3
ED6 = namespaces.ED6


def _raw(xml: str) -> etree._Element:
    return etree.fromstring(xml)


def _extensions() -> etree._Element:
    return _raw(
        '<extensions><privateData><private><mx:tag xmlns:mx="urn:example:mx">7</mx:tag>'
        "</private></privateData></extensions>"
    )


def _full_instances() -> list[Any]:
    """One instance of every routeing message with every field set."""
    return [
        RouteRegister(
            routeing_device=DeviceID(value="2000", type_of_number="deviceNumber"),
            requested_routeing_media_class={"voice": True, "data": False},
            extensions=_extensions(),
        ),
        RouteRegisterResponse(
            route_register_req_id="R1",
            actual_routeing_media_class={"voice": True},
            extensions=_extensions(),
        ),
        RouteRegisterAbort(route_register_req_id="R1", extensions=_extensions()),
        RouteRegisterCancel(route_register_req_id="R1", extensions=_extensions()),
        RouteRegisterCancelResponse(extensions=_extensions()),
        RouteRequest(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            current_route=ExtendedDeviceID.of("2000"),
            calling_device=ExtendedDeviceID.of("0855550123"),
            routeing_device=ExtendedDeviceID.of("2000"),
            routed_call=ConnectionID.of("17", "2000"),
            route_sel_algorithm=SelectValue.ACD,
            associated_calling_device=ExtendedDeviceID(restricted=True),
            associated_called_device=ExtendedDeviceID(not_known=True),
            priority=True,
            reply_timeout=10,
            correlator_data="order-4711",
            media_call_characteristics=_raw(
                "<mediaCallCharacteristics><mediaClass><voice>true</voice></mediaClass>"
                "</mediaCallCharacteristics>"
            ),
            call_characteristics=_raw("<c><highPriority>true</highPriority></c>"),
            route_call_info=_raw("<c><flowDirection>transmit</flowDirection></c>"),
            call_linkage_data=_raw("<c><globalCallData>g1</globalCallData></c>"),
            subject_of_call=_raw("<c>Invoice</c>"),
            message_info=_raw("<c>info</c>"),
            language_preferences=_raw("<c>sv</c>"),
            device_history=_raw("<c><deviceHistoryListItem/></c>"),
            extensions=_extensions(),
        ),
        ReRouteRequest(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            reply_timeout=5,
            correlator_data="order-4711",
            call_linkage_data=_raw("<c><globalCallData>g1</globalCallData></c>"),
            extensions=_extensions(),
        ),
        RouteSelectRequest(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            route_selected=DeviceID(value="1001"),
            alternate_routes=[DeviceID(value="1002"), DeviceID(value="1003", media_class="voice")],
            remain_retries=RetryValue(retry_count=2),
            route_used_req=True,
            correlator_data="order-4711",
            extensions=_extensions(),
        ),
        RouteUsedRequest(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            route_used=ExtendedDeviceID.of("1001"),
            calling_device=ExtendedDeviceID.of("0855550123"),
            domain=False,
            correlator_data="order-4711",
            call_linkage_data=_raw("<c><globalCallData>g1</globalCallData></c>"),
            extensions=_extensions(),
        ),
        RouteEndRequest(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            error_value=CSTAErrorCode(operation="invalidCrossRefID"),
            correlator_data="order-4711",
            extensions=_extensions(),
        ),
        RouteReject(
            cross_ref_identifier="X12",
            route_register_req_id="R1",
            reject_cause=RejectCause.QUEUE_TIME_OVERFLOW,
            correlator_data="order-4711",
            extensions=_extensions(),
        ),
    ]


def _raw_fields(message: Any) -> list[str]:
    return [f.name for f in fields_of(type(message)) if f.base is etree._Element]


def _descendant_names(element: etree._Element) -> list[str]:
    return [local_name(e) for e in element.iter() if e is not element]


def _without_raw(message: Any) -> Any:
    return attrs.evolve(message, **dict.fromkeys(_raw_fields(message)))


FULL = _full_instances()


@pytest.mark.parametrize("namespace", [ED3, ED6])
@pytest.mark.parametrize("message", FULL, ids=lambda m: type(m).csta_name)
def test_full_instance_round_trip(message: Any, namespace: str) -> None:
    encoded = encode(message, namespace)
    decoded = decode(encoded)
    assert decoded.name == type(message).csta_name
    assert decoded.namespace == namespace
    assert type(decoded.message) is type(message)
    assert _without_raw(decoded.message) == _without_raw(message)
    for name in _raw_fields(message):
        original, back = getattr(message, name), getattr(decoded.message, name)
        assert back is not None, name
        assert _descendant_names(back) == _descendant_names(original)
    (tag,) = find_descendants(decoded.message.extensions, "tag")
    assert tag.text == "7" and tag.tag == "{urn:example:mx}tag"
    # decoded raw fragments now carry the document's namespace: compare the typed fields
    again = decode(encode(decoded.message, namespace)).message
    assert _without_raw(again) == _without_raw(message)


def _children(message: Any) -> list[str]:
    return [local_name(c) for c in etree.fromstring(encode(message, ED3))]


#: ECMA-285 component order of each root (every field set).
ORDER = {
    "RouteRegister": ["routeingDevice", "requestedRouteingMediaClass", "extensions"],
    "RouteRegisterResponse": ["routeRegisterReqID", "actualRouteingMediaClass", "extensions"],
    "RouteRegisterAbort": ["routeRegisterReqID", "extensions"],
    "RouteRegisterCancel": ["routeRegisterReqID", "extensions"],
    "RouteRegisterCancelResponse": ["extensions"],
    "RouteRequest": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "currentRoute",
        "callingDevice",
        "routeingDevice",
        "routedCall",
        "routeSelAlgorithm",
        "associatedCallingDevice",
        "associatedCalledDevice",
        "priority",
        "replyTimeout",
        "correlatorData",
        "mediaCallCharacteristics",
        "callCharacteristics",
        "routeCallInfo",
        "callLinkageData",
        "subjectOfCall",
        "messageInfo",
        "languagePreferences",
        "deviceHistory",
        "extensions",
    ],
    "ReRouteRequest": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "replyTimeout",
        "correlatorData",
        "callLinkageData",
        "extensions",
    ],
    "RouteSelectRequest": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "routeSelected",
        "alternateRoutes",
        "remainRetries",
        "routeUsedReq",
        "correlatorData",
        "extensions",
    ],
    "RouteUsedRequest": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "routeUsed",
        "callingDevice",
        "domain",
        "correlatorData",
        "callLinkageData",
        "extensions",
    ],
    "RouteEndRequest": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "errorValue",
        "correlatorData",
        "extensions",
    ],
    "RouteReject": [
        "crossRefIdentifier",
        "routeRegisterReqID",
        "rejectCause",
        "correlatorData",
        "extensions",
    ],
}


@pytest.mark.parametrize("message", FULL, ids=lambda m: type(m).csta_name)
def test_element_order(message: Any) -> None:
    assert _children(message) == ORDER[type(message).csta_name]


def test_registry_kinds_and_responses() -> None:
    messages = all_messages()
    for name in ORDER:
        assert messages[name] is not None
    assert response_class(RouteRegister) is RouteRegisterResponse
    assert response_class(RouteRegisterCancel) is RouteRegisterCancelResponse
    for cls in NO_POSITIVE_RESPONSE:
        assert cls.csta_kind is Kind.REQUEST
        assert response_class(cls) is None
    assert RouteRegisterResponse.csta_kind is Kind.RESPONSE
    assert RouteRegisterCancelResponse.csta_kind is Kind.RESPONSE


def test_small_layouts() -> None:
    select = RouteSelectRequest(
        cross_ref_identifier="1",
        route_selected=DeviceID(value="1001"),
        alternate_routes=[DeviceID(value="1002")],
        remain_retries=RetryValue(no_count_available=True),
    )
    data = encode(select, ED3)
    assert b"<alternateRoutes><deviceID>1002</deviceID></alternateRoutes>" in data
    assert b"<remainRetries><noCountAvailable>true</noCountAvailable></remainRetries>" in data
    end = RouteEndRequest(
        cross_ref_identifier="1", error_value=error_code_message(ErrorValue.GENERIC, ED3)
    )
    assert b"<errorValue><operation>generic</operation></errorValue>" in encode(end, ED3)
    assert encode(RouteEndRequest(cross_ref_identifier="1"), ED3).endswith(
        b"<RouteEndRequest "
        b'xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        b"<crossRefIdentifier>1</crossRefIdentifier></RouteEndRequest>"
    )


SWITCH_ROUTE_REQUEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<RouteRequest xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
  <crossRefIdentifier>0012</crossRefIdentifier>
  <routeRegisterReqID>0001</routeRegisterReqID>
  <currentRoute><deviceIdentifier>2000</deviceIdentifier></currentRoute>
  <callingDevice><deviceIdentifier typeOfNumber="explicitPublicNational">N&lt;0855550123&gt;</deviceIdentifier></callingDevice>
  <routeingDevice><deviceIdentifier>2000</deviceIdentifier></routeingDevice>
  <routedCall><callID>17</callID><deviceID>2000</deviceID></routedCall>
  <routeSelAlgorithm>acd</routeSelAlgorithm>
  <associatedCallingDevice><notKnown/></associatedCallingDevice>
  <priority>false</priority>
  <replyTimeout>10</replyTimeout>
  <correlatorData>order-4711</correlatorData>
  <mediaCallCharacteristics><mediaClass><voice>true</voice></mediaClass></mediaCallCharacteristics>
  <extensions><privateData><private><mx:queue xmlns:mx="urn:example:mx">2000</mx:queue></private></privateData></extensions>
</RouteRequest>"""


def test_route_request_sample() -> None:
    decoded = decode(SWITCH_ROUTE_REQUEST)
    assert decoded.name == "RouteRequest" and decoded.namespace == namespaces.ED4
    message = decoded.message
    assert isinstance(message, RouteRequest)
    assert message.cross_ref_identifier == "0012"
    assert message.route_register_req_id == "0001"
    assert message.current_route.value == "2000"
    assert message.calling_device is not None
    assert message.calling_device.value == "N<0855550123>"
    assert message.calling_device.device_identifier.type_of_number == "explicitPublicNational"
    assert message.routeing_device == ExtendedDeviceID.of("2000")
    assert message.routed_call == ConnectionID.of("17", "2000")
    assert message.route_sel_algorithm is SelectValue.ACD
    assert message.associated_calling_device == ExtendedDeviceID(not_known=True)
    assert message.associated_called_device is None
    assert message.priority is False
    assert message.reply_timeout == 10
    assert message.correlator_data == "order-4711"
    (voice,) = find_descendants(message.media_call_characteristics, "voice")
    assert voice.text == "true"
    (queue,) = find_descendants(message.extensions, "queue")
    assert queue.text == "2000"


APPLICATION_ROUTE_SELECT = b"""<?xml version="1.0" encoding="UTF-8"?>
<csta:RouteSelectRequest xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
  <csta:crossRefIdentifier>0012</csta:crossRefIdentifier>
  <csta:routeRegisterReqID>0001</csta:routeRegisterReqID>
  <csta:routeSelected typeOfNumber="dialingNumber">1001</csta:routeSelected>
  <csta:alternateRoutes>
    <csta:deviceID>1002</csta:deviceID>
    <csta:deviceID typeOfNumber="dialingNumber">0855550199</csta:deviceID>
  </csta:alternateRoutes>
  <csta:remainRetries><csta:retryCount>2</csta:retryCount></csta:remainRetries>
  <csta:routeUsedReq>true</csta:routeUsedReq>
  <csta:correlatorData>order-4711</csta:correlatorData>
</csta:RouteSelectRequest>"""


def test_route_select_request_sample() -> None:
    decoded = decode(APPLICATION_ROUTE_SELECT)
    assert decoded.name == "RouteSelectRequest" and decoded.namespace == ED3
    message = decoded.message
    assert message == RouteSelectRequest(
        cross_ref_identifier="0012",
        route_register_req_id="0001",
        route_selected=DeviceID(value="1001", type_of_number="dialingNumber"),
        alternate_routes=[
            DeviceID(value="1002"),
            DeviceID(value="0855550199", type_of_number="dialingNumber"),
        ],
        remain_retries=RetryValue(retry_count=2),
        route_used_req=True,
        correlator_data="order-4711",
    )


def test_route_end_error_value_reads_as_an_error_value() -> None:
    data = b"""<RouteEndRequest xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <crossRefIdentifier>0012</crossRefIdentifier>
      <errorValue><operation>invalidCrossRefID</operation></errorValue>
    </RouteEndRequest>"""
    message = decode(data).message
    assert isinstance(message, RouteEndRequest)
    assert message.error_value is not None
    assert decode_error(message.error_value).error_value is ErrorValue.INVALID_CROSS_REF_ID
    end = decode(b"<RouteEndRequest><crossRefIdentifier>1</crossRefIdentifier></RouteEndRequest>")
    assert end.message == RouteEndRequest(cross_ref_identifier="1")


def test_route_reject_and_abort_samples() -> None:
    reject = decode(
        b'<RouteReject xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed5">'
        b"<crossRefIdentifier>0012</crossRefIdentifier><rejectCause>busyOverflow</rejectCause>"
        b"</RouteReject>"
    ).message
    assert reject == RouteReject(
        cross_ref_identifier="0012", reject_cause=RejectCause.BUSY_OVERFLOW
    )
    abort = decode(
        b"<RouteRegisterAbort><routeRegisterReqID>9</routeRegisterReqID></RouteRegisterAbort>"
    )
    assert abort.message == RouteRegisterAbort(route_register_req_id="9")


def test_unknown_children_are_ignored() -> None:
    data = b"""<RouteSelectRequest xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <vendorHint><deep>1</deep></vendorHint>
      <routeSelected>1001</routeSelected>
      <crossRefIdentifier>5</crossRefIdentifier>
    </RouteSelectRequest>"""
    assert decode(data).message == RouteSelectRequest(
        cross_ref_identifier="5", route_selected=DeviceID(value="1001")
    )


@pytest.mark.parametrize(
    ("data", "field", "missing"),
    [
        (
            b"<RouteSelectRequest><crossRefIdentifier>1</crossRefIdentifier>"
            b"<unknownThing>1001</unknownThing></RouteSelectRequest>",
            "RouteSelectRequest/routeSelected",
            True,
        ),
        (
            b"<RouteSelectRequest><routeSelected>1001</routeSelected></RouteSelectRequest>",
            "RouteSelectRequest/crossRefIdentifier",
            True,
        ),
        (
            b"<RouteRequest><crossRefIdentifier>1</crossRefIdentifier></RouteRequest>",
            "RouteRequest/currentRoute",
            True,
        ),
        (b"<RouteRegisterCancel/>", "RouteRegisterCancel/routeRegisterReqID", True),
        (b"<RouteRegisterResponse/>", "RouteRegisterResponse/routeRegisterReqID", True),
        (b"<RouteRegisterAbort/>", "RouteRegisterAbort/routeRegisterReqID", True),
        (
            b"<RouteUsedRequest><crossRefIdentifier>1</crossRefIdentifier></RouteUsedRequest>",
            "RouteUsedRequest/routeUsed",
            True,
        ),
        (b"<ReRouteRequest/>", "ReRouteRequest/crossRefIdentifier", True),
        (b"<RouteEndRequest/>", "RouteEndRequest/crossRefIdentifier", True),
        (b"<RouteReject/>", "RouteReject/crossRefIdentifier", True),
        (
            b"<RouteSelectRequest><crossRefIdentifier>1</crossRefIdentifier>"
            b"<routeSelected>1001</routeSelected><remainRetries/></RouteSelectRequest>",
            "RouteSelectRequest/remainRetries",
            True,
        ),
        (
            b"<RouteRequest><crossRefIdentifier>1</crossRefIdentifier>"
            b"<currentRoute>2000</currentRoute><routeSelAlgorithm>random</routeSelAlgorithm>"
            b"</RouteRequest>",
            "RouteRequest/routeSelAlgorithm",
            False,
        ),
        (
            b"<ReRouteRequest><crossRefIdentifier>1</crossRefIdentifier>"
            b"<replyTimeout>soon</replyTimeout></ReRouteRequest>",
            "ReRouteRequest/replyTimeout",
            False,
        ),
        (
            b"<RouteSelectRequest><crossRefIdentifier>1</crossRefIdentifier>"
            b"<routeSelected>1001</routeSelected><routeUsedReq>maybe</routeUsedReq>"
            b"</RouteSelectRequest>",
            "RouteSelectRequest/routeUsedReq",
            False,
        ),
        (
            b"<RouteReject><crossRefIdentifier>1</crossRefIdentifier>"
            b"<rejectCause>tooBusy</rejectCause></RouteReject>",
            "RouteReject/rejectCause",
            False,
        ),
    ],
)
def test_decode_errors(data: bytes, field: str, missing: bool) -> None:
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert info.value.field == field
    assert info.value.missing is missing


def test_generated_xsd_declares_and_validates_routeing_messages() -> None:
    document = etree.fromstring(xsd_document("csta.xsd"))
    declared = {
        e.get("name") for e in document.findall("{http://www.w3.org/2001/XMLSchema}element")
    }
    assert set(ORDER) <= declared
    schema = etree.XMLSchema(document)
    for message in FULL:
        schema.assertValid(etree.fromstring(encode(message, ED3)))
