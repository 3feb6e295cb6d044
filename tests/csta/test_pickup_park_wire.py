"""Pick-up, park, camp-on, call back and intrusion in ECMA-323 form: the ed3 root names and
the spellings other clients use (``CampOnCall``, ``CallBackCallRelated``, ``pickupGroup``),
the CallBackEvent, and the error value of a refused intrusion in every edition."""

from __future__ import annotations

from cstaserver.csta import namespaces
from cstaserver.csta.codec import decode, encode
from cstaserver.csta.errors import ErrorValue, encode_error, spelling
from cstaserver.csta.events import to_csta
from cstaserver.csta.messages import call_control, logical
from cstaserver.csta.messages.events import CallBackEvent
from cstaserver.csta.presentation import Presenter
from cstaserver.csta.types import ParticipationType
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.errors import Refusal

ED3 = namespaces.ED3


def _decode(body: str):
    return decode(body.encode()).message


def test_camp_on_and_call_back_roots_in_both_spellings() -> None:
    ed3 = _decode(
        f'<CamponCall xmlns="{ED3}"><camponConnection><callID>7</callID>'
        "<deviceID>1002</deviceID></camponConnection></CamponCall>"
    )
    other = _decode(
        f'<CampOnCall xmlns="{ED3}"><campOnConnection><callID>7</callID>'
        "<deviceID>1002</deviceID></campOnConnection></CampOnCall>"
    )
    assert isinstance(ed3, call_control.CamponCall) and ed3 == other
    assert ed3.campon_connection.call_id == "7"
    callback = _decode(
        f'<CallBackCallRelated xmlns="{ED3}"><callBackConnection><callID>7</callID>'
        "</callBackConnection></CallBackCallRelated>"
    )
    assert isinstance(callback, call_control.CallBack)
    assert callback.callback_connection.call_id == "7"
    # answers use the ed3 names
    body = encode(call_control.CamponCallResponse(), ED3).decode()
    assert "<CamponCallResponse" in body


def test_group_pickup_reads_pick_group_or_pickup_group() -> None:
    a = _decode(
        f'<GroupPickupCall xmlns="{ED3}"><newDestination>1006</newDestination>'
        "<pickGroup>3</pickGroup></GroupPickupCall>"
    )
    b = _decode(
        f'<GroupPickupCall xmlns="{ED3}"><newDestination>1006</newDestination>'
        "<pickupGroup>3</pickupGroup></GroupPickupCall>"
    )
    assert a == b and a.pick_group.value == "3"


def test_intrude_and_park_requests() -> None:
    intrude = _decode(
        f'<IntrudeCall xmlns="{ED3}"><intrude><callID>9</callID><deviceID>1002</deviceID>'
        "</intrude><participationType>silent</participationType></IntrudeCall>"
    )
    assert intrude.participation_type is ParticipationType.SILENT
    park = _decode(
        f'<ParkCall xmlns="{ED3}"><parking><callID>9</callID><deviceID>1001</deviceID>'
        "</parking><parkTo>1003</parkTo></ParkCall>"
    )
    assert (park.parking.device_id.value, park.park_to.value) == ("1001", "1003")
    cancel = _decode(
        f'<CancelCallBack xmlns="{ED3}"><originatingDevice>1002</originatingDevice>'
        "<targetDevice>1001</targetDevice></CancelCallBack>"
    )
    assert isinstance(cancel, logical.CancelCallBack)


def test_the_call_back_event() -> None:
    event = to_csta(
        pbx_events.CallBack("1002", target="1001", is_set=True), Presenter(None), "1001"
    )
    assert isinstance(event, CallBackEvent)
    body = encode(event, ED3).decode()
    assert (
        "<originatingDevice><deviceIdentifier>1002</deviceIdentifier></originatingDevice>" in body
    )
    assert "<callBackSetCanceled>true</callBackSetCanceled>" in body
    cancelled = to_csta(
        pbx_events.CallBack("1002", target="1001", is_set=False), Presenter(None), None
    )
    assert "<callBackSetCanceled>false</callBackSetCanceled>" in encode(cancelled, ED3).decode()


def test_a_refused_intrusion_is_a_privilege_violation_in_every_edition() -> None:
    for namespace in (ED3, namespaces.ED4, namespaces.ED6):
        assert spelling(ErrorValue.PRIVILEGE_VIOLATION, namespace) == (
            ErrorValue.PRIVILEGE_VIOLATION.category,
            "privilegeViolationSpecifiedDevice",
        )
    body = encode_error(Refusal.NOT_ALLOWED, ED3).decode()
    assert "<operation>privilegeViolationSpecifiedDevice</operation>" in body
