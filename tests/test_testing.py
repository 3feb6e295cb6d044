"""The shipped test doubles (cstaserver.testing): they provide the seams' interfaces and
behave as the CSTA core expects of a switch and of a transport."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from cstaserver.csta import codec
from cstaserver.csta.association import IMessageTransport
from cstaserver.csta.core import CstaCore
from cstaserver.csta.namespaces import ED3
from cstaserver.pbx import events as ev
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.interfaces import ISwitch
from cstaserver.pbx.plan import DeviceKind
from cstaserver.pbx.states import ConnectionState, EventCause, ForwardingType
from cstaserver.testing import FakeSwitch, FakeTransport, SwitchRequest

MONITOR_START = (
    f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>1000</deviceObject>'
    "</monitorObject></MonitorStart>"
)
MAKE_CALL = (
    f'<MakeCall xmlns="{ED3}"><callingDevice>1000</callingDevice>'
    "<calledDirectoryNumber>1001</calledDirectoryNumber></MakeCall>"
)


def originated(call_id: str = "42") -> list[object]:
    """What a switch emits for MakeCall 1000 -> 1001 (ECMA-269 17.2.11: the calling
    connection is initiated, then connected)."""
    return [
        ev.ServiceInitiated(
            call_id,
            cause=EventCause.MAKE_CALL,
            devices=("1000",),
            states={"1000": ConnectionState.INITIATED},
            device="1000",
        ),
        ev.Originated(
            call_id,
            cause=EventCause.MAKE_CALL,
            devices=("1000",),
            states={"1000": ConnectionState.CONNECTED},
            calling_device="1000",
            called_device="1001",
        ),
    ]


def dnd(device: str) -> ev.DoNotDisturb:
    return ev.DoNotDisturb(device, on=True)


def names(messages: list[bytes]) -> list[str]:
    return [codec.decode(data).name for data in messages]


# --------------------------------------------------------------------------- FakeSwitch


def test_fake_switch_provides_iswitch() -> None:
    assert verifyObject(ISwitch, FakeSwitch())


def test_devices_come_from_the_plan() -> None:
    switch = FakeSwitch()
    assert switch.device("1000").kind is DeviceKind.IP_EXTENSION
    assert switch.device("+4685551001").number == "1001"  # a public number of an extension
    assert switch.device("2000").kind is DeviceKind.ACD_GROUP
    with pytest.raises(SwitchError) as caught:
        switch.device("9999")
    assert caught.value.reason is Refusal.NO_SUCH_DEVICE
    assert (switch.is_external("0812345"), switch.is_external("1000")) == (True, False)
    assert switch.devices()[0].number == "1000"
    assert switch.public_numbering.to_public("1000") == "+4685551000"
    assert switch.requests == []  # look-ups are kept apart
    assert switch.lookups[0] == ("device", ("1000",))


def test_requests_are_recorded_with_their_defaults() -> None:
    switch = FakeSwitch()
    call_id, calling = switch.make_call("1000", "1001")
    assert calling == "1000"
    switch.hold_call(call_id, "1000")
    switch.set_forwarding("1002", ForwardingType.IMMEDIATE, "1003", True)
    assert switch.requests == [
        ("make_call", ("1000", "1001", True, None, None)),
        ("hold_call", (call_id, "1000")),
        ("set_forwarding", ("1002", ForwardingType.IMMEDIATE, "1003", True, None)),
    ]
    assert isinstance(switch.requests[0], SwitchRequest)
    assert switch.operations("hold_call") == [(call_id, "1000")]
    second, _ = switch.make_call("1001", "1002", auto_originate=False)
    assert second != call_id
    assert switch.operations("make_call")[-1] == ("1001", "1002", False, None, None)
    assert (switch.get_forwarding("1000"), switch.get_do_not_disturb("1000")) == ([], False)


def test_unknown_call_cannot_be_snapshot_unless_answered() -> None:
    switch = FakeSwitch()
    with pytest.raises(SwitchError) as caught:
        switch.snapshot_call("7")
    assert caught.value.reason is Refusal.NO_SUCH_CALL
    switch.answer("snapshot_call", [("1000", ConnectionState.CONNECTED)])
    assert switch.snapshot_call("7") == [("1000", ConnectionState.CONNECTED)]


def test_answers_results_and_callables() -> None:
    switch = FakeSwitch()
    switch.answer("make_call", ("42", "1000"))
    assert switch.make_call("1000", "1001") == ("42", "1000")
    switch.answer("transfer_call", lambda held, active, device: f"{held}+{active}@{device}")
    assert switch.transfer_call("1", "2", "1000") == "1+2@1000"


def test_refusal_raises_the_switch_error_and_is_recorded() -> None:
    switch = FakeSwitch()
    switch.answer("make_call", ("42", "1000"), events=originated())
    switch.refuse("make_call", Refusal.BAD_CALLED_NUMBER, "no such number")
    seen: list[object] = []
    switch.subscribe(seen.append)
    with pytest.raises(SwitchError) as caught:
        switch.make_call("1000", "1999")
    assert (caught.value.reason, caught.value.message) == (
        Refusal.BAD_CALLED_NUMBER,
        "no such number",
    )
    assert switch.requests == [("make_call", ("1000", "1999", True, None, None))]
    assert seen == []  # a refused request changes nothing
    switch.allow("make_call")
    assert switch.make_call("1000", "1001") == ("42", "1000")
    assert seen == originated()


def test_a_misspelt_operation_is_an_error() -> None:
    switch = FakeSwitch()
    with pytest.raises(ValueError, match="makecall"):
        switch.refuse("makecall", Refusal.BAD_ARGUMENT)
    with pytest.raises(ValueError):
        switch.answer("subscribe", None)


def test_events_reach_the_subscribers_that_see_them() -> None:
    switch = FakeSwitch()
    everything: list[object] = []
    at_1000: list[object] = []
    at_1001: list[object] = []
    on_call: list[object] = []
    switch.subscribe(everything.append)
    switch.subscribe_device("1000", at_1000.append)
    stop_1001 = switch.subscribe_device("1001", at_1001.append)
    switch.subscribe_call("42", on_call.append)
    service_initiated, originated_event = originated()
    switch.emit(service_initiated)
    switch.emit(dnd("1001"))
    stop_1001()
    switch.emit(dnd("1001"))
    switch.emit(originated_event)
    assert everything == [service_initiated, dnd("1001"), dnd("1001"), originated_event]
    assert at_1000 == [service_initiated, originated_event]
    assert at_1001 == [dnd("1001")]
    assert on_call == [service_initiated, originated_event]
    assert switch.emitted == everything
    assert switch.subscriber_count() == 3


def test_delivery_is_ordered_and_isolated_as_the_switch_promises() -> None:
    """An event emitted by a subscriber is delivered after the current one; a subscriber
    that raises does not stop delivery to the others."""
    switch = FakeSwitch()
    order: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("a bad subscriber")

    def cascading(event: object) -> None:
        order.append(event)
        if event == dnd("1000"):
            switch.emit(dnd("1001"))

    switch.subscribe(broken)
    switch.subscribe(cascading)
    switch.subscribe(lambda event: order.append(("after", event)))
    switch.emit(dnd("1000"))
    assert order == [dnd("1000"), ("after", dnd("1000")), dnd("1001"), ("after", dnd("1001"))]


# --------------------------------------------------------------------------- FakeTransport


def test_fake_transport_provides_imessagetransport() -> None:
    assert verifyObject(IMessageTransport, FakeTransport())


def test_fake_transport_records_writes_requests_and_closes() -> None:
    transport = FakeTransport(peer="192.0.2.7:4000")
    transport.write_message(b"<answer/>", "0001")
    transport.write_message(b"<event/>", None)
    sent = transport.send_request(b"<SystemStatus/>")
    answers: list[object] = []
    sent.addCallback(answers.append)
    assert transport.written == [(b"<answer/>", "0001"), (b"<event/>", None)]
    assert transport.events == [b"<event/>"]
    assert transport.answer_to("0001") == b"<answer/>"
    assert transport.sent_requests[0].data == b"<SystemStatus/>"
    assert answers == []
    transport.sent_requests[0].deferred.callback(b"<SystemStatusResponse/>")
    assert answers == [b"<SystemStatusResponse/>"]
    assert not transport.closed
    transport.close("bye")
    assert (transport.closed, transport.close_reasons) == (True, ["bye"])


def test_receive_needs_an_association() -> None:
    with pytest.raises(RuntimeError):
        FakeTransport().receive(MONITOR_START)


# --------------------------------------------------------------------------- both, with a core


Served = tuple[FakeSwitch, CstaCore, FakeTransport]


@pytest.fixture
def served() -> Served:
    switch = FakeSwitch()
    core = CstaCore(switch, Clock())
    transport = FakeTransport()
    transport.associate(core)
    return switch, core, transport


def test_monitor_start_and_make_call_through_the_real_core(served: Served) -> None:
    """A client monitors 1000 and calls 1001: the switch is asked for exactly that call,
    the client gets MakeCallResponse with the switch's call ID, then the call's events for
    its monitor (docs/protocol-notes.md R6: the response before the events it causes)."""
    switch, core, transport = served
    switch.answer("make_call", ("42", "1000"), events=originated("42"))
    started = codec.decode(transport.request(MONITOR_START))
    assert started.name == "MonitorStartResponse"
    xref = started.message.monitor_cross_ref_id
    assert switch.subscriber_count() == 2  # the core's monitor registry, its routeing
    response = codec.decode(transport.request(MAKE_CALL))
    assert response.name == "MakeCallResponse"
    assert response.message.calling_device.call_id == "42"
    assert response.message.calling_device.device_id.value == "1000"  # as the client wrote it
    assert switch.requests == [("make_call", ("1000", "1001", True, None, None))]
    assert [w.correlation for w in transport.written] == ["0001", "0002", None, None]
    assert names(transport.events) == ["ServiceInitiatedEvent", "OriginatedEvent"]
    for data in transport.events:
        decoded = codec.decode(data)
        assert decoded.namespace == ED3
        assert decoded.message.monitor_cross_ref_id == xref


def test_a_refusal_reaches_the_client_as_its_csta_error(served: Served) -> None:
    switch, _core, transport = served
    switch.refuse("make_call", Refusal.BAD_CALLED_NUMBER)
    answer = transport.request(MAKE_CALL)
    assert codec.decode(answer).name == "CSTAErrorCode"
    assert b"invalidCalledDevice" in answer
    assert switch.requests == [("make_call", ("1000", "1001", True, None, None))]
    assert transport.events == []


def test_unknown_device_is_refused_before_the_switch_is_asked(served: Served) -> None:
    switch, _core, transport = served
    answer = transport.request(MONITOR_START.replace("1000", "9999"))
    assert b"invalidMonitorObject" in answer
    assert switch.requests == []
    assert ("device", ("9999",)) in switch.lookups


def test_system_status_goes_out_as_a_request_the_test_answers(served: Served) -> None:
    _switch, core, transport = served
    answered = core.send_system_status(transport.association, "normal")
    (sent,) = transport.sent_requests
    assert codec.decode(sent.data).name == "SystemStatus"
    assert not answered.called
    sent.deferred.callback(b"<SystemStatusResponse/>")
    assert answered.called


def test_close_ends_the_association_and_its_monitors(served: Served) -> None:
    switch, core, transport = served
    transport.request(MONITOR_START)
    assert len(core.monitors) == 1
    transport.association.close("shutting down")
    assert transport.close_reasons == ["shutting down"]
    assert transport.association.closed
    assert core.associations == set()
    assert len(core.monitors) == 0
    switch.emit(originated()[0])
    assert transport.events == []  # nothing is written to a closed association


def test_disconnect_is_a_lost_connection(served: Served) -> None:
    _switch, core, transport = served
    transport.request(MONITOR_START)
    transport.disconnect()
    assert core.associations == set()
    assert len(core.monitors) == 0
    assert transport.close_reasons == []  # the client went away; nobody closed it
