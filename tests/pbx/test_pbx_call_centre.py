"""The call centre as MX-ONE runs it, over the switch: CTI groups routed by the application
(ECMA-269 20.2 Route Select; DeflectCall on the queued connection), the group's diverted
position, queue time-out, an agent who does not answer, agent PINs, what a group's monitor
sees (every event whose ``devices`` include the group), snapshots of groups.

Demo: 2000 is routed by the application (agents 5001-5005 at 1000-1004), 2001 is
distributed by the exchange (agents 5006-5009 at 1005-1008); both divert to 1009."""

from __future__ import annotations

import attrs
import pytest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.plan import RouteTimeout
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import AgentState, ConnectionState, RequestedAgentState
from cstaserver.pbx.switch import Switch
from tests.pbx.conftest import describe

CALLER = "+4685550107"


def seen_by(events: list, device: str) -> list[str]:
    """What a monitor of ``device`` is given: the events that concern it."""
    return [describe(e) for e in events if device in e.devices]


def with_group(clock, index: int, **changes) -> tuple[Switch, Simulator, list]:
    plan = demo_plan()
    plan.acd_groups[index] = attrs.evolve(plan.acd_groups[index], **changes)
    switch = Switch(plan, clock)
    events: list = []
    switch.subscribe(events.append)
    return switch, Simulator(switch), events


# -- a CTI group routed by the application ----------------------------------------------------


def test_a_call_to_a_cti_group_waits_queued_for_the_application(switch, sim, rec, states):
    sim.agent("1001", "login", "5001")
    sim.agent("1001", "ready")
    rec.take()
    call_id = sim.call(CALLER, "2000")
    assert rec.take() == ["Queued newCall at 2000 n=1"]  # a ready agent, and still queued
    assert states(call_id) == {CALLER: "connected", "2000": "queued"}
    second = sim.call("+4685550108", "+4685552000")
    assert rec.take() == ["Queued newCall at 2000 n=2"]
    assert switch.snapshot_device("2000") == [
        (call_id, ConnectionState.QUEUED, [CALLER]),
        (second, ConnectionState.QUEUED, ["+4685550108"]),
    ]


def test_route_select_sends_the_call_to_the_agent_the_application_chose(switch, sim, rec, states):
    sim.agent("1001", "login", "5001")
    sim.agent("1001", "ready")
    call_id = sim.call(CALLER, "2000")
    rec.take()
    assert switch.route_select(call_id, "2000", "1001") == (call_id, "1001")
    assert rec.take() == [
        "Diverted distributed 2000->1001",
        f"Delivered distributed at 1001 {CALLER}->2000 via 2000",
    ]
    sim.answer("1001")
    assert rec.take() == [
        f"Established distributed by 1001 {CALLER}->2000 via 2000",
        "AgentBusy 1001 5001 agentBusy",
    ]
    sim.hangup(CALLER)
    assert "AgentWorkingAfterCall 1001 5001 agentWorkingAfterCall" in rec.take()
    switch.clock.advance(switch.plan.acd_groups[0].wrap_up_seconds)
    assert rec.take() == ["AgentReady 1001 5001 agentReady"]  # routed groups do not dispatch


def test_route_select_is_refused_when_it_cannot_be_followed(switch, sim, states):
    call_id = sim.call(CALLER, "2000")
    personal, _ = switch.make_call("1002", "1003")
    with pytest.raises(SwitchError) as busy:
        switch.route_select(call_id, "2000", "1002")
    assert busy.value.reason is Refusal.DEVICE_BUSY
    with pytest.raises(SwitchError) as not_queued:
        switch.route_select(personal, "2000", "1004")
    assert not_queued.value.reason is Refusal.CONNECTION_NOT_IN_STATE
    with pytest.raises(SwitchError) as nowhere:
        switch.route_select(call_id, "2000", "2100")
    assert nowhere.value.reason is Refusal.BAD_DESTINATION
    assert states(call_id) == {CALLER: "connected", "2000": "queued"}  # nothing changed


def test_deflect_from_the_queue_without_a_routeing_registration(switch, sim, rec, states):
    call_id = sim.call(CALLER, "2000")
    rec.take()
    switch.deflect_call(call_id, "2000", "1003")
    assert rec.take() == [
        "Diverted redirected 2000->1003",
        f"Delivered redirected at 1003 {CALLER}->2000 via 2000",
    ]
    assert states(call_id) == {CALLER: "connected", "1003": "alerting"}
    other = sim.call("+4685550108", "2000")
    switch.single_step_transfer(other, "2000", "1004")
    assert states(other) == {"+4685550108": "connected", "1004": "alerting"}
    assert switch.snapshot_device("2000") == []


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (RouteTimeout.QUEUE, {CALLER: "connected", "2000": "queued"}),
        (RouteTimeout.DIVERT, {CALLER: "connected", "1009": "alerting"}),
    ],
)
def test_route_time_out(clock, outcome, expected):
    switch, sim, events = with_group(clock, 0, on_route_timeout=outcome)
    call_id = sim.call(CALLER, "2000")
    switch.route_timed_out(call_id, "2000")
    assert {c.device: c.state.value for c in switch.calls[call_id]} == expected
    if outcome is RouteTimeout.DIVERT:
        assert describe(events[-2]) == "Diverted timeout 2000->1009"


def test_queue_time_out_goes_to_the_diverted_position(clock):
    switch, sim, events = with_group(clock, 0, queue_seconds=30.0)
    call_id = sim.call(CALLER, "2000")
    clock.advance(29.9)
    assert switch.calls[call_id].connection("2000").state is ConnectionState.QUEUED
    clock.advance(0.1)
    assert [describe(e) for e in events[-2:]] == [
        "Diverted queueTimeOverflow 2000->1009",
        f"Delivered queueTimeOverflow at 1009 {CALLER}->2000 via 2000",
    ]
    assert switch.snapshot_device("2000") == []


# -- an ACD group distributed by the exchange -------------------------------------------------


def test_the_group_monitor_sees_arrival_distribution_and_its_agents(switch, sim, rec):
    sim.agent("1006", "login", "5006")
    sim.agent("1006", "ready")
    call_id = sim.call(CALLER, "2001")
    sim.answer("1006")
    assert seen_by(rec.events, "2001") == [
        "AgentLoggedOn 1006 5006 agentNotReady",
        "AgentReady 1006 5006 agentReady",
        f"Delivered newCall at 2001 {CALLER}->2001",
        "Diverted distributed 2001->1006",
        "AgentBusy 1006 5006 agentBusy",
    ]  # once distributed, the call is the agent's: the group sees its agent, not the call
    assert call_id in switch.calls


def test_an_agent_who_does_not_answer_loses_the_call_to_the_head_of_the_queue(
    switch, sim, rec, states
):
    ring = switch.plan.acd_groups[1].ring_seconds
    for device, agent in (("1006", "5006"), ("1007", "5007")):
        sim.agent(device, "login", agent)
    sim.agent("1006", "ready")
    first = sim.call(CALLER, "2001")
    second = sim.call("+4685550108", "2001")
    rec.take()
    switch.clock.advance(ring)
    assert rec.take() == [
        "ConnectionCleared callNotAnswered 1006",
        "AgentNotReady 1006 5006 agentNotReady",
        "Queued callNotAnswered at 2001 n=2",
    ]
    assert states(first) == {CALLER: "connected", "2001": "queued"}
    sim.agent("1007", "ready")  # the next agent gets the call that waited first
    assert rec.take()[-1] == f"Delivered distributed at 1007 {CALLER}->2001 via 2001"
    assert states(second) == {"+4685550108": "connected", "2001": "queued"}
    assert switch.get_agent_state("1006") == [("5006", "2001", AgentState.NOT_READY)]


def test_hunt_group_snapshot_lists_its_ringing_calls(switch):
    call_id, _ = switch.make_call("1000", "2100")
    assert switch.snapshot_device("2100") == [(call_id, ConnectionState.ALERTING, ["1000", "1100"])]
    switch.answer_call(call_id, "1100")
    assert switch.snapshot_device("2100") == []


# -- agent PINs ----------------------------------------------------------------------------


def test_an_agent_with_a_pin_logs_on_only_with_it(clock):
    switch, _, events = with_group(clock, 1, agent_pins=(("5006", "1234"),))
    for wrong in (None, "4321"):
        with pytest.raises(SwitchError) as refused:
            switch.set_agent_state("1006", RequestedAgentState.LOGGED_ON, "5006", wrong)
        assert refused.value.reason is Refusal.WRONG_PASSWORD
    assert events == []
    switch.set_agent_state("1006", RequestedAgentState.LOGGED_ON, "5006", "1234")
    switch.set_agent_state("1007", RequestedAgentState.LOGGED_ON, "5007")  # no PIN set
    assert [describe(e) for e in events] == [
        "AgentLoggedOn 1006 5006 agentNotReady",
        "AgentLoggedOn 1007 5007 agentNotReady",
    ]
