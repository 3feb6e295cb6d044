"""codec.decode on realistic client samples: every edition, prefixes, order, unknown children."""

from __future__ import annotations

import pytest

from cstaserver.csta import namespaces
from cstaserver.csta.codec import DecodeError, decode, encode, find_descendants
from cstaserver.csta.messages import (
    CSTAErrorCode,
    GetCSTAFeatures,
    MakeCall,
    MonitorStart,
    MonitorStop,
    RequestSystemStatus,
    SetForwarding,
    StartApplicationSession,
    TransferedEvent,
)
from cstaserver.csta.types import AutoOriginate, ForwardingType, MonitorType

ED3 = namespaces.ED3

LYNC_MAKE_CALL = b"""<?xml version="1.0"?>
<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
  <callingDevice>tel:+4685551001</callingDevice>
  <calledDirectoryNumber>tel:+4685551002</calledDirectoryNumber>
  <autoOriginate>doNotPrompt</autoOriginate>
</MakeCall>"""

SIPE_REQUEST_SYSTEM_STATUS = b"""<?xml version="1.0"?>
<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
 <extensions><privateData><private>
  <lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:+4685551001</lcs:line>
 </private></privateData></extensions>
</RequestSystemStatus>"""

OPENSCAPE_MONITOR_START = b"""<?xml version="1.0" encoding="UTF-8"?>
<MonitorStart xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
  <monitorObject><deviceObject typeOfNumber="dialingNumber">1001</deviceObject></monitorObject>
  <requestedMonitorFilter>
    <callcontrol><bridged>true</bridged><offered>true</offered><digitsDialed>false</digitsDialed></callcontrol>
    <physicalDeviceFeature><displayUpdated>true</displayUpdated></physicalDeviceFeature>
    <logicalDeviceFeature><doNotDisturb>false</doNotDisturb></logicalDeviceFeature>
  </requestedMonitorFilter>
  <monitorType>device</monitorType>
  <requestedMonitorMediaClass><voice>true</voice></requestedMonitorMediaClass>
</MonitorStart>"""


def test_lync_make_call() -> None:
    decoded = decode(LYNC_MAKE_CALL)
    assert decoded.name == "MakeCall" and decoded.namespace == ED3
    message = decoded.message
    assert isinstance(message, MakeCall)
    assert message.calling_device.value == "tel:+4685551001"
    assert message.called_directory_number.value == "tel:+4685551002"
    assert message.auto_originate is AutoOriginate.DO_NOT_PROMPT


def test_sipe_request_system_status_keeps_lcs_line() -> None:
    decoded = decode(SIPE_REQUEST_SYSTEM_STATUS)
    message = decoded.message
    assert isinstance(message, RequestSystemStatus)
    (line,) = find_descendants(message.extensions, "line")
    assert line.text == "tel:+4685551001"
    assert line.tag == f"{{{namespaces.LYNC_RCC_EXTENSION}}}line"


def test_openscape_monitor_start_with_filter() -> None:
    decoded = decode(OPENSCAPE_MONITOR_START)
    assert decoded.namespace == namespaces.ED4
    message = decoded.message
    assert isinstance(message, MonitorStart)
    assert message.monitor_object.device_object is not None
    assert message.monitor_object.device_object.value == "1001"
    assert message.monitor_object.device_object.type_of_number == "dialingNumber"
    monitor_filter = message.requested_monitor_filter
    assert monitor_filter is not None
    assert monitor_filter.callcontrol == {"bridged": True, "offered": True, "digitsDialed": False}
    assert monitor_filter.physical_device_feature == {"displayUpdated": True}
    assert monitor_filter.logical_device_feature == {"doNotDisturb": False}
    assert monitor_filter.call_associated is None
    assert message.monitor_type is MonitorType.DEVICE
    assert message.requested_monitor_media_class == {"voice": True}


@pytest.mark.parametrize(
    "namespace",
    [
        namespaces.ED2_ECMA_CH,
        namespaces.ED3,
        namespaces.ED4,
        namespaces.ED5,
        namespaces.ED6,
        namespaces.ED6_ECMA_CH,
        namespaces.ED3 + "/priv7",
        "",
    ],
)
def test_monitor_stop_in_every_namespace(namespace: str) -> None:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    data = f"<MonitorStop{xmlns}><monitorCrossRefID>99fda87c</monitorCrossRefID></MonitorStop>"
    decoded = decode(data.encode())
    assert decoded.namespace == namespace
    assert decoded.message == MonitorStop(monitor_cross_ref_id="99fda87c")


def test_prefixed_csta_elements() -> None:
    data = b"""<csta:MakeCall xmlns:csta="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <csta:callingDevice>1001</csta:callingDevice>
      <csta:calledDirectoryNumber>1002</csta:calledDirectoryNumber>
    </csta:MakeCall>"""
    decoded = decode(data)
    assert decoded.name == "MakeCall" and decoded.namespace == ED3
    assert decoded.message.calling_device.value == "1001"


def test_children_out_of_order_and_unknown_children() -> None:
    data = b"""<SetForwarding xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <forwardDN>1002</forwardDN>
      <vendorThing><deep>1</deep></vendorThing>
      <activateForward>true</activateForward>
      <forwardingType>forwardImmediate</forwardingType>
      <device>1001</device>
    </SetForwarding>"""
    message = decode(data).message
    assert isinstance(message, SetForwarding)
    assert message.device.value == "1001"
    assert message.forwarding_type is ForwardingType.FORWARD_IMMEDIATE
    assert message.activate_forward is True
    assert message.forward_dn is not None and message.forward_dn.value == "1002"


def test_unknown_root_decodes_without_message() -> None:
    decoded = decode(b'<JoinCall xmlns="urn:x"><a/></JoinCall>')
    assert decoded.name == "JoinCall" and decoded.namespace == "urn:x"
    assert decoded.message is None
    assert decoded.element.tag == "{urn:x}JoinCall"


def test_get_csta_features_empty() -> None:
    decoded = decode(
        b'<GetCSTAFeatures xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>'
    )
    assert decoded.message == GetCSTAFeatures()


def test_transferred_spelling_is_accepted() -> None:
    data = b"""<TransferredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">
      <monitorCrossRefID>7</monitorCrossRefID>
      <primaryOldCall><callID>1</callID><deviceID>1001</deviceID></primaryOldCall>
      <transferredConnections><connectionListItem>
        <newConnection><callID>3</callID><deviceID>1003</deviceID></newConnection>
        <oldConnection><callID>2</callID><deviceID>1003</deviceID></oldConnection>
        <endpoint><deviceID>1003</deviceID></endpoint>
      </connectionListItem></transferredConnections>
      <cause>transfer</cause>
    </TransferredEvent>"""
    decoded = decode(data)
    assert decoded.name == "TransferredEvent"
    event = decoded.message
    assert isinstance(event, TransferedEvent)
    assert event.transferred_connections[0].new_connection.call_id == "3"
    assert b"<TransferedEvent " in encode(event, ED3)


def test_start_application_session_avaya_login() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8"?>
<StartApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">
  <applicationInfo>
    <applicationID>demo</applicationID>
    <applicationSpecificInfo>
      <ns1:SessionLoginInfo xmlns:ns1="http://www.avaya.com/csta">
        <ns1:userName>csta_user</ns1:userName>
        <ns1:password>csta</ns1:password>
        <ns1:sessionCleanupDelay>60</ns1:sessionCleanupDelay>
      </ns1:SessionLoginInfo>
    </applicationSpecificInfo>
  </applicationInfo>
  <requestedProtocolVersions>
    <protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv2</protocolVersion>
    <protocolVersion>http://www.ecma-international.org/standards/ecma-323/csta/ed3</protocolVersion>
  </requestedProtocolVersions>
  <requestedSessionDuration>180</requestedSessionDuration>
</StartApplicationSession>"""
    message = decode(data).message
    assert isinstance(message, StartApplicationSession)
    assert message.application_info.application_id == "demo"
    (user,) = find_descendants(message.application_info.application_specific_info, "userName")
    assert user.text == "csta_user"
    assert message.requested_protocol_versions[1] == ED3
    assert message.requested_session_duration == 180


def test_client_error_code_with_either_spelling() -> None:
    for element in ("systemResourceAvailibility", "systemResourceAvailability"):
        data = f"<CSTAErrorCode><{element}>resourceBusy</{element}></CSTAErrorCode>".encode()
        assert decode(data).message == CSTAErrorCode(system_resource_availability="resourceBusy")


def test_bare_text_extended_device_id_is_tolerated() -> None:
    data = b"""<DeliveredEvent><monitorCrossRefID>1</monitorCrossRefID>
      <connection><callID>5</callID></connection><callingDevice>1001</callingDevice>
      <alertingDevice><deviceIdentifier>1002</deviceIdentifier></alertingDevice>
      <calledDevice><notKnown/></calledDevice></DeliveredEvent>"""
    event = decode(data).message
    assert event.calling_device.value == "1001"
    assert event.alerting_device.value == "1002"
    assert event.called_device.not_known and event.called_device.value is None


@pytest.mark.parametrize(
    ("data", "field", "missing"),
    [
        (
            b"<MakeCall><callingDevice>1001</callingDevice></MakeCall>",
            "MakeCall/calledDirectoryNumber",
            True,
        ),
        (b"<MonitorStop/>", "MonitorStop/monitorCrossRefID", True),
        (b"<MonitorStart><monitorObject/></MonitorStart>", "MonitorStart/monitorObject", True),
        (
            b"<MakeCall><callingDevice>1</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber>"
            b"<autoOriginate>sometimes</autoOriginate></MakeCall>",
            "MakeCall/autoOriginate",
            False,
        ),
        (
            b"<SetForwarding><device>1</device><activateForward>maybe</activateForward></SetForwarding>",
            "SetForwarding/activateForward",
            False,
        ),
        (
            b"<ResetApplicationSessionTimer><sessionID>1</sessionID>"
            b"<requestedSessionDuration>soon</requestedSessionDuration></ResetApplicationSessionTimer>",
            "ResetApplicationSessionTimer/requestedSessionDuration",
            False,
        ),
    ],
)
def test_decode_errors(data: bytes, field: str, missing: bool) -> None:
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert info.value.field == field
    assert info.value.missing is missing


def test_enum_case_is_tolerated() -> None:
    data = b"<MakeCall><callingDevice>1</callingDevice><calledDirectoryNumber>2</calledDirectoryNumber><autoOriginate>DoNotPrompt</autoOriginate></MakeCall>"
    assert decode(data).message.auto_originate is AutoOriginate.DO_NOT_PROMPT


OPENSCAPE_DELIVERED = b"""<?xml version="1.0" encoding="UTF-8"?>
<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4">
 <monitorCrossRefID>1234</monitorCrossRefID>
 <connection><callID>FF000100000000002A</callID><deviceID>N&lt;1001&gt;</deviceID></connection>
 <alertingDevice><deviceIdentifier>N&lt;1001&gt;</deviceIdentifier></alertingDevice>
 <callingDevice><deviceIdentifier>N&lt;+4685550123&gt;</deviceIdentifier></callingDevice>
 <calledDevice><deviceIdentifier>N&lt;1001&gt;</deviceIdentifier></calledDevice>
 <lastRedirectionDevice><notRequired/></lastRedirectionDevice>
 <localConnectionInfo>alerting</localConnectionInfo>
 <cause>newCall</cause>
 <servicesPermitted><callControlServices><answerCall>true</answerCall></callControlServices></servicesPermitted>
 <networkCallingDevice><restricted/></networkCallingDevice>
</DeliveredEvent>"""


def test_openscape_delivered_event() -> None:
    from cstaserver.csta.messages import DeliveredEvent
    from cstaserver.csta.types import EventCause, LocalConnectionState

    event = decode(OPENSCAPE_DELIVERED).message
    assert isinstance(event, DeliveredEvent)
    assert event.monitor_cross_ref_id == "1234"
    assert event.connection.call_id == "FF000100000000002A"
    assert event.connection.device_id is not None
    assert event.connection.device_id.value == "N<1001>"
    assert event.calling_device is not None and event.calling_device.value == "N<+4685550123>"
    assert event.local_connection_info is LocalConnectionState.ALERTING
    assert event.cause is EventCause.NEW_CALL
    assert event.network_calling_device is not None and event.network_calling_device.restricted
    assert event.services_permitted is not None  # kept raw
    # unknown <notRequired/> inside a known structure is ignored
    assert event.last_redirection_device is not None
    assert event.last_redirection_device.value is None


@pytest.mark.parametrize(
    ("data", "check"),
    [
        (
            b"<AnswerCall><callToBeAnswered><callID>5</callID><deviceID>tel:+4685551001</deviceID>"
            b"</callToBeAnswered></AnswerCall>",
            lambda m: m.call_to_be_answered.call_id == "5",
        ),
        (
            b"<HoldCall><callToBeHeld><deviceID>1001</deviceID><callID>5</callID></callToBeHeld>"
            b"<connectionReservation>false</connectionReservation></HoldCall>",
            lambda m: (
                m.call_to_be_held.device_id.value == "1001" and m.connection_reservation is False
            ),
        ),
        (
            b"<ConsultationCall><existingCall><callID>5</callID><deviceID>1001</deviceID></existingCall>"
            b"<consultedDevice>tel:+4685551003</consultedDevice><consultOptions>transferOnly</consultOptions>"
            b"</ConsultationCall>",
            lambda m: (
                m.consulted_device.value == "tel:+4685551003"
                and m.consult_options.value == "transferOnly"
            ),
        ),
        (
            b"<SingleStepTransferCall><transferredTo>1003</transferredTo>"
            b"<activeCall><callID>5</callID><deviceID>1001</deviceID></activeCall></SingleStepTransferCall>",
            lambda m: m.transferred_to.value == "1003" and m.active_call.call_id == "5",
        ),
        (
            b"<DeflectCall><callToBeDiverted><callID>5</callID><deviceID>1001</deviceID></callToBeDiverted>"
            b"<newDestination>tel:+4685550999</newDestination></DeflectCall>",
            lambda m: m.new_destination.value == "tel:+4685550999",
        ),
        (
            b"<GenerateDigits><connectionToSendDigits><callID>5</callID><deviceID>1001</deviceID>"
            b"</connectionToSendDigits><charactersToSend>12#</charactersToSend></GenerateDigits>",
            lambda m: m.characters_to_send == "12#",
        ),
        (
            b"<SetAgentState><device>1000</device><requestedAgentState>loggedOn</requestedAgentState>"
            b"<agentID>5001</agentID><group>2000</group></SetAgentState>",
            lambda m: (
                m.agent_id == "5001"
                and m.group.value == "2000"
                and m.requested_agent_state.value == "loggedOn"
            ),
        ),
        (
            b"<GetForwardingResponse><forwardingList><forwardListItem><forwardingType>forwardBusy"
            b"</forwardingType><forwardStatus>true</forwardStatus><forwardDN>1002</forwardDN>"
            b"</forwardListItem></forwardingList></GetForwardingResponse>",
            lambda m: (
                m.forwarding_list[0].forward_dn.value == "1002"
                and m.forwarding_list[0].forward_status is True
            ),
        ),
        (
            b"<SnapshotDeviceResponse><crossRefIDorSnapshotData><snapshotData>"
            b"<snapshotDeviceResponseInfo><connectionIdentifier><callID>5</callID><deviceID>1001"
            b"</deviceID></connectionIdentifier><localCallState><compoundCallState>"
            b"<localConnectionState>connected</localConnectionState></compoundCallState>"
            b"</localCallState></snapshotDeviceResponseInfo></snapshotData>"
            b"</crossRefIDorSnapshotData></SnapshotDeviceResponse>",
            lambda m: (
                m.snapshot.snapshot_data[0].local_call_state.compound_call_state[0].value
                == "connected"
            ),
        ),
        (
            b"<SystemRegister><requestTypes><systemStatus>true</systemStatus></requestTypes>"
            b"</SystemRegister>",
            lambda m: m.request_types == {"systemStatus": True},
        ),
        (
            b'<StopApplicationSession xmlns="http://www.ecma-international.org/standards/ecma-354/appl_session">'
            b"<sessionID>abc</sessionID><sessionEndReason><definedEndReason>normal</definedEndReason>"
            b"</sessionEndReason></StopApplicationSession>",
            lambda m: m.session_id == "abc" and m.session_end_reason.defined_end_reason == "normal",
        ),
    ],
)
def test_more_requests_and_responses(data: bytes, check: object) -> None:
    decoded = decode(b'<?xml version="1.0"?>' + data)
    assert decoded.message is not None
    assert check(decoded.message)  # type: ignore[operator]


def test_old_ecma_ch_ed2_monitor_start() -> None:
    data = b"""<MonitorStart xmlns="http://www.ecma.ch/standards/ecma-323/csta/ed2">
      <monitorObject><callObject><callID>9</callID></callObject></monitorObject>
      <monitorType>call</monitorType></MonitorStart>"""
    decoded = decode(data)
    assert namespaces.edition_of(decoded.namespace) is namespaces.Edition.ED2
    assert decoded.message.monitor_object.call_object.call_id == "9"
    assert decoded.message.monitor_type is MonitorType.CALL
