"""The outbound call centre (ECMA-269 17.2.12 Make Predictive Call) and the data a call carries
(ECMA-269 12.3.x correlatorData, userData, networkCalledDevice, associatedCallingDevice,
associatedCalledDevice).

Each predictive outcome is a scenario of the simulated outside network (``0812345`` answers
after ``answer_delay``, ``...8`` is busy, ``...9`` never answers, fewer than ``min_digits``
digits is a number the network has not allocated), seen by every subscriber and by a monitor
of the calling ACD group (a watcher until the outside party answers). Calling and called stay
as the application asked in every event: the group (or extension) calls the number dialled.

The group here is distributed by the exchange (an ACD group with agents 5001-5005 at
1000-1004), whatever the demo's group 2000 does."""

from __future__ import annotations

import pytest

from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.events import NO_CALL_DATA, CallData
from cstaserver.pbx.plan import AcdGroup
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import ConnectionState, ForwardingType
from cstaserver.pbx.switch import Switch
from tests.pbx.conftest import Recorder, describe

GROUP = "2000"
ANSWERS, BUSY, NO_ANSWER, UNALLOCATED = "0812345", "0812348", "0812349", "081"


class CallCentre:
    """A switch whose group 2000 the exchange distributes, with every event recorded and
    what a monitor of the group and of agent position 1001 are given."""

    def __init__(self, clock) -> None:
        plan = demo_plan()
        plan.acd_groups = [
            AcdGroup(
                number=GROUP,
                agent_ids=tuple(str(a) for a in range(5001, 5006)),
                agent_devices=tuple(str(d) for d in range(1000, 1005)),
                lim=1,
            )
        ]
        self.clock = clock
        self.switch = Switch(plan, clock)
        self.sim = Simulator(self.switch)
        self.rec = Recorder()
        self.switch.subscribe(self.rec)
        self.group: list = []
        self.agent: list = []
        self.switch.subscribe_device(GROUP, self.group.append)
        self.switch.subscribe_device("1001", self.agent.append)

    def ready_agent(self) -> None:
        self.sim.agent("1001", "login", "5001")
        self.sim.agent("1001", "ready")
        self.forget()

    def forget(self) -> None:
        self.rec.take()
        self.group.clear()
        self.agent.clear()

    def call_events(self) -> list:
        return [e for e in self.rec.events if isinstance(e, pbx_events.CallEvent)]


@pytest.fixture
def centre(clock) -> CallCentre:
    return CallCentre(clock)


def _parties(events: list) -> set[tuple[str | None, str | None]]:
    """The (calling, called) pairs the events report."""
    return {
        (e.calling_device, e.called_device)
        for e in events
        if hasattr(e, "calling_device") and hasattr(e, "called_device")
    }


# -- the outcomes of a predictive call ---------------------------------------------------------


def test_answered_goes_to_a_free_agent_of_the_group(centre):
    centre.ready_agent()
    call_id, calling = centre.switch.make_predictive_call(GROUP, ANSWERS, alert_time=20)
    assert calling == GROUP
    assert centre.rec.take() == [
        "NetworkReached normal 0 0812345",
        "Delivered makePredictiveCall at 0812345 2000->0812345",
    ]
    # the group watches, with no connection; nothing reaches the agent yet
    assert [describe(e) for e in centre.group] == [
        "NetworkReached normal 0 0812345",
        "Delivered makePredictiveCall at 0812345 2000->0812345",
    ]
    assert centre.group[-1].state_of(GROUP) is ConnectionState.NULL
    assert centre.agent == [] and centre.switch.snapshot_device("1001") == []
    centre.clock.advance(centre.switch.plan.network.answer_delay)
    lines = centre.rec.take()
    assert lines[0] == "Established makePredictiveCall by 0812345 2000->0812345"
    assert lines[-2:] == [
        "Diverted distributed 2000->1001",
        "Delivered distributed at 1001 2000->0812345 via 2000",
    ]
    assert [describe(e) for e in centre.agent] == [
        "Delivered distributed at 1001 2000->0812345 via 2000"
    ]
    centre.sim.answer("1001")
    assert centre.rec.take() == [
        "Established distributed by 1001 2000->0812345 via 2000",
        "AgentBusy 1001 5001 agentBusy",
    ]
    assert centre.switch.snapshot_call(call_id) == [
        ("0812345", ConnectionState.CONNECTED),
        ("1001", ConnectionState.CONNECTED),
    ]
    assert _parties(centre.call_events()) == {(GROUP, ANSWERS)}
    centre.clock.advance(60)  # the alert time ran out long ago: nothing more happens
    assert centre.rec.take() == []


def test_answered_with_no_free_agent_is_queued_at_the_group(centre):
    call_id, _ = centre.switch.make_predictive_call(GROUP, ANSWERS)
    centre.forget()
    centre.clock.advance(centre.switch.plan.network.answer_delay)
    lines = centre.rec.take()
    assert lines[0] == "Established makePredictiveCall by 0812345 2000->0812345"
    assert lines[-1] == "Queued noAvailableAgents at 2000 n=1"
    queued = centre.rec.last(pbx_events.Queued)
    assert (queued.calling_device, queued.called_device) == (GROUP, ANSWERS)
    assert queued.state_of(GROUP) is ConnectionState.QUEUED
    assert centre.group[-1] is queued
    centre.sim.agent("1001", "login", "5001")
    centre.sim.agent("1001", "ready")  # an agent becomes available: the call goes to them
    assert "Delivered distributed at 1001 2000->0812345 via 2000" in centre.rec.take()
    assert centre.switch.snapshot_call(call_id) == [
        ("0812345", ConnectionState.CONNECTED),
        ("1001", ConnectionState.ALERTING),
    ]


def test_busy_fails_and_nothing_reaches_the_group(centre):
    centre.ready_agent()
    centre.switch.make_predictive_call(GROUP, BUSY)
    expected = [
        "NetworkReached normal 0 0812348",
        "Failed busy at 0812348",
        "CallCleared busy",
    ]
    assert centre.rec.take() == expected
    assert [describe(e) for e in centre.group] == expected
    assert _parties(centre.call_events()) == {(GROUP, BUSY)}
    assert centre.agent == [] and centre.switch.calls == {}


def test_no_answer_fails_with_call_not_answered_after_the_alert_time(centre):
    centre.ready_agent()
    call_id, _ = centre.switch.make_predictive_call(GROUP, NO_ANSWER, alert_time=15)
    centre.rec.take()
    centre.clock.advance(14.9)
    assert centre.rec.take() == []
    centre.clock.advance(0.1)
    expected = [
        "Failed callNotAnswered at 0812349",
        "ConnectionCleared normalClearing 0812349",
        "CallCleared normalClearing",
    ]
    assert centre.rec.take() == expected
    failed = centre.rec.last(pbx_events.Failed)
    assert failed.state_of(NO_ANSWER) is ConnectionState.FAIL
    assert (failed.calling_device, failed.called_device) == (GROUP, NO_ANSWER)
    assert [describe(e) for e in centre.group][-3:] == expected
    assert centre.agent == [] and call_id not in centre.switch.calls
    assert centre.switch.connections_at(NO_ANSWER) == {}


def test_no_alert_time_fails_at_the_alerting_time_out_of_the_exchange(centre):
    centre.switch.make_predictive_call(GROUP, NO_ANSWER)
    centre.rec.take()
    timeout = centre.switch.plan.alerting_timeout
    centre.clock.advance(timeout - 0.1)
    assert centre.rec.take() == []
    centre.clock.advance(0.1)
    assert centre.rec.take()[0] == "Failed callNotAnswered at 0812349"


def test_an_alert_time_shorter_than_the_answer_wins(centre):
    answer_delay = centre.switch.plan.network.answer_delay
    centre.switch.make_predictive_call(GROUP, ANSWERS, alert_time=answer_delay / 2)
    centre.clock.advance(answer_delay)
    assert centre.rec.take()[-3:] == [
        "Failed callNotAnswered at 0812345",
        "ConnectionCleared normalClearing 0812345",
        "CallCleared normalClearing",
    ]
    assert centre.switch.calls == {}


def test_an_unallocated_number_fails_with_the_network_cause(centre):
    centre.ready_agent()
    centre.switch.make_predictive_call(GROUP, UNALLOCATED)
    expected = ["Failed invalidNumberFormat at 081", "CallCleared invalidNumberFormat"]
    assert centre.rec.take() == expected
    assert [describe(e) for e in centre.group] == expected
    assert centre.agent == [] and centre.switch.calls == {}


def test_from_an_extension_the_extension_is_called_once_the_outside_party_answers(centre):
    call_id, _ = centre.switch.make_predictive_call("1003", ANSWERS)
    centre.clock.advance(centre.switch.plan.network.answer_delay)
    assert centre.rec.take()[-2:] == [
        "Established makePredictiveCall by 0812345 1003->0812345",
        "Delivered newCall at 1003 1003->0812345",
    ]
    centre.switch.answer_call(call_id, "1003")
    assert centre.rec.take() == ["Established newCall by 1003 1003->0812345"]


# -- call data -----------------------------------------------------------------------------


def _data_of(events: list) -> set[CallData]:
    return {e.data for e in events if isinstance(e, pbx_events.CallEvent)}


def test_make_call_data_is_carried_by_every_later_event(switch, rec):
    user_data = object()  # opaque to the switch
    call_id, _ = switch.make_call("1000", "1001", correlator_data="order-4711", user_data=user_data)
    assert switch.calls[call_id].correlator_data == "order-4711"
    assert switch.calls[call_id].user_data is user_data
    switch.answer_call(call_id, "1001")
    consultation, _ = switch.consultation_call(call_id, "1001", "1002")
    switch.answer_call(consultation, "1002")
    switch.transfer_call(call_id, consultation, "1001")  # the call of the data survives
    switch.clear_connection(call_id, "1002")
    mine = [e for e in rec.events if getattr(e, "call_id", None) == call_id]
    assert [type(e).__name__ for e in mine] == [
        "ServiceInitiated",
        "Originated",
        "Delivered",
        "Established",
        "Held",
        "Transferred",
        "ConnectionCleared",
        "ConnectionCleared",
        "CallCleared",
    ]
    assert _data_of(mine) == {CallData(correlator_data="order-4711", user_data=user_data)}
    other = [e for e in rec.events if getattr(e, "call_id", None) == consultation]
    assert other and _data_of(other) == {NO_CALL_DATA}


def test_make_call_from_an_off_hook_device_and_prompted_keep_the_data(switch, sim, rec):
    sim.off_hook("1000")
    switch.make_call("1000", "1001", correlator_data="a")
    sim.mode("1002", "manual")
    switch.make_call("1002", "1003", user_data=b"\x01")
    sim.answer("1002")
    delivered = [e for e in rec.events if isinstance(e, pbx_events.Delivered)]
    assert [(e.alerting_device, e.data.correlator_data, e.data.user_data) for e in delivered] == [
        ("1001", "a", None),
        ("1003", None, b"\x01"),
    ]
    prompt = [e for e in rec.events if isinstance(e, pbx_events.ServiceInitiated)][-1]
    assert (prompt.device, prompt.data.user_data) == ("1002", b"\x01")


def test_predictive_call_data_is_carried_to_the_agent(centre):
    centre.ready_agent()
    centre.switch.make_predictive_call(GROUP, ANSWERS, correlator_data="campaign-7", user_data="x")
    centre.clock.advance(centre.switch.plan.network.answer_delay)
    centre.sim.answer("1001")
    centre.sim.hangup("1001")
    events = centre.call_events()
    assert {(e.data.correlator_data, e.data.user_data) for e in events} == {("campaign-7", "x")}
    # the call left on the trunk towards the number dialled: the trunk is associated with it
    assert {e.data.associated_called_device for e in events} == {"0"}
    assert [describe(e) for e in centre.agent][:2] == [
        "Delivered distributed at 1001 2000->0812345 via 2000",
        "Established distributed by 1001 2000->0812345 via 2000",
    ]


def test_an_outside_call_has_its_network_called_device_and_trunk(switch, sim, rec):
    sim.call("+4685550107", "1001")  # the outside caller dialled the public number
    sim.answer("1001")
    expected = CallData(
        network_called_device="+4685551001",
        associated_calling_device="0",
        network_calling_device="+4685550107",
    )
    assert _data_of(rec.events) == {expected}
    sim.hangup("1001")
    rec.take()
    sim.call("+4685550108", "+4685552100")  # a hunt group, dialled by its public number
    delivered = rec.last(pbx_events.Delivered)
    assert delivered.data.network_called_device == "+4685552100"
    assert delivered.data.associated_calling_device == "0"


def test_outgoing_calls_and_the_trunk_they_left_on(switch, rec):
    switch.make_call("1000", "0812345")
    assert [(type(e).__name__, e.data.associated_called_device) for e in rec.events] == [
        ("ServiceInitiated", None),
        ("Originated", None),
        ("NetworkReached", "0"),
        ("Delivered", "0"),
    ]
    rec.events.clear()
    # forwarded outside: the called device (1003) is not the outside party, so no trunk
    switch.set_forwarding("1003", ForwardingType.IMMEDIATE, "0812345", True)
    switch.make_call("1002", "1003")
    assert {e.data for e in rec.events if isinstance(e, pbx_events.CallEvent)} == {NO_CALL_DATA}
