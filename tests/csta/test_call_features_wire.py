"""The call features on the wire (ECMA-323): withheld caller ID as ``<restricted/>`` in every
event and snapshot, the caller's number as ``networkCallingDevice``, and the messages of
message waiting, DigitsDialed and CallInformation."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.csta import namespaces
from cstaserver.csta.codec import decode, encode
from cstaserver.csta.deviceid import PrefixNumberPlan
from cstaserver.csta.events import to_csta
from cstaserver.csta.messages import (
    GetMessageWaitingIndicatorResponse,
    MessageWaitingEvent,
    SetMessageWaitingIndicator,
)
from cstaserver.csta.presentation import Presenter
from cstaserver.csta.types import DeviceID, ExtendedDeviceID
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch

ED3 = namespaces.ED3
PLAN = PrefixNumberPlan(public_prefix="+468555", internal_length=4)
RESTRICTED = ExtendedDeviceID(restricted=True)


@pytest.fixture
def recorded():
    switch = Switch(demo_plan(), Clock())
    events: list[object] = []
    switch.subscribe(events.append)
    return switch, Simulator(switch), events


def _xml(message) -> str:
    return encode(message, ED3).decode()


def test_a_withheld_caller_is_restricted_and_its_connection_is_the_trunk(recorded):
    switch, sim, events = recorded
    call_id = sim.call("+4685550107", "1001", withheld=True)
    sim.answer("1001")
    sim.hangup("+4685550107")
    seen = [to_csta(e, Presenter(PLAN), "1001") for e in events]
    delivered, established, cleared = (
        seen[0],
        seen[1],
        next(m for m in seen if type(m).__name__ == "ConnectionClearedEvent"),
    )
    assert delivered.calling_device == RESTRICTED
    assert delivered.network_calling_device == RESTRICTED
    assert delivered.associated_calling_device == ExtendedDeviceID.of("0")
    assert delivered.alerting_device == ExtendedDeviceID.of("1001")
    assert established.calling_device == RESTRICTED
    assert cleared.releasing_device == RESTRICTED
    assert cleared.dropped_connection.device_id == DeviceID(value="0")
    assert cleared.dropped_connection.call_id == call_id
    wire = "".join(_xml(m) for m in seen)
    assert "+4685550107" not in wire
    assert "<callingDevice><restricted/></callingDevice>" in _xml(delivered)


def test_a_caller_with_its_number_is_named_and_the_trunk_only_associated(recorded):
    switch, sim, events = recorded
    sim.call("+4685550107", "1001")
    delivered = to_csta(events[0], Presenter(PLAN), "1001")
    assert delivered.calling_device == ExtendedDeviceID.of("+4685550107")
    assert delivered.network_calling_device == ExtendedDeviceID.of("+4685550107")
    assert delivered.associated_calling_device == ExtendedDeviceID.of("0")


def test_an_extension_withholding_its_number_is_restricted_but_not_to_itself(recorded):
    switch, sim, events = recorded
    switch.device("1002").withhold_number = True
    call_id, _ = switch.make_call("1002", "1001")
    delivered = events[-1]
    assert isinstance(delivered, pbx_events.Delivered)
    to_called = to_csta(delivered, Presenter(PLAN), "1001")
    assert to_called.calling_device == RESTRICTED
    to_caller = to_csta(delivered, Presenter(PLAN), "1002")
    assert to_caller.calling_device == ExtendedDeviceID.of("1002")
    originated = to_csta(events[1], Presenter(PLAN), "1001")
    assert originated.originated_connection.call_id == call_id
    assert originated.originated_connection.device_id is None  # no device names it


def test_message_waiting_messages() -> None:
    request = decode(
        f'<SetMessageWaitingIndicator xmlns="{ED3}"><device>1001</device>'
        "<messageWaitingOn>true</messageWaitingOn></SetMessageWaitingIndicator>".encode()
    ).message
    assert request == SetMessageWaitingIndicator(
        device=DeviceID(value="1001"), message_waiting_on=True
    )
    event = MessageWaitingEvent(
        monitor_cross_ref_id="7", target_device=ExtendedDeviceID.of("1001"), message_waiting_on=True
    )
    assert _xml(event).endswith(
        "<MessageWaitingEvent"
        f' xmlns="{ED3}"><monitorCrossRefID>7</monitorCrossRefID>'
        "<targetDevice><deviceIdentifier>1001</deviceIdentifier></targetDevice>"
        "<messageWaitingOn>true</messageWaitingOn></MessageWaitingEvent>"
    )
    assert _xml(GetMessageWaitingIndicatorResponse(message_waiting_on=False)).endswith(
        "<messageWaitingOn>false</messageWaitingOn></GetMessageWaitingIndicatorResponse>"
    )


def test_digits_dialed_and_call_information_events(recorded):
    switch, sim, events = recorded
    sim.call("1000", "1001")
    dialled = to_csta(events[1], Presenter(PLAN), "1000")
    assert (
        _xml(dialled)
        .split("<monitorCrossRefID>0</monitorCrossRefID>")[1]
        .startswith(
            "<dialingConnection><callID>1</callID><deviceID>1000</deviceID></dialingConnection>"
            "<dialingDevice><deviceIdentifier>1000</deviceIdentifier></dialingDevice>"
            "<dialingSequence>1001</dialingSequence>"
            "<localConnectionInfo>initiated</localConnectionInfo><cause>normal</cause>"
        )
    )
    switch.clear_call("1")
    sim.off_hook("1000")
    switch.make_call("1000", "1001", correlator_data="order-42")
    info = next(e for e in events if isinstance(e, pbx_events.CallInformation))
    wire = _xml(to_csta(info, Presenter(PLAN), "1000"))
    assert (
        "<connection><callID>2</callID><deviceID>1000</deviceID></connection>"
        "<device><deviceIdentifier>1000</deviceIdentifier></device>"
        "<correlatorData>order-42</correlatorData>"
    ) in wire
