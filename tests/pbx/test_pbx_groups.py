"""Hunt group, cascade ring group and CTI/ACD group with agents (ECMA TR/82 ACD scenarios)."""

from __future__ import annotations

import attrs
import pytest
from twisted.internet.task import Clock

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Delivered, Queued
from cstaserver.pbx.plan import HuntStrategy
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import AgentState, RequestedAgentState
from cstaserver.pbx.switch import Switch


def hunted(switch, rec, calling: str) -> str:
    switch.make_call(calling, "2100")
    return rec.last(Delivered).alerting_device


def test_hunt_group_sequential(switch, sim, rec, states):
    call_id, _ = switch.make_call("1000", "2100")
    assert rec.take()[2:] == [
        "Delivered newCall at 2100 1000->2100",
        "Diverted distributed 2100->1100",
        "Delivered distributed at 1100 1000->2100 via 2100",
    ]
    assert "2100" in rec.events[-2].devices and "2100" in rec.events[-3].devices
    sim.busy("1101", True)
    assert hunted(switch, rec, "1001") == "1102"  # 1100 ringing, 1101 busy
    switch.clear_call(call_id)
    assert hunted(switch, rec, "1002") == "1100"  # always from the first


def test_hunt_group_circular(clock):
    plan = demo_plan()
    plan.hunt_groups = [attrs.evolve(plan.hunt_groups[0], strategy=HuntStrategy.CIRCULAR)]
    switch = Switch(plan, clock)
    chosen = []
    for _ in range(5):
        call_id, _ = switch.make_call("1000", "2100")
        chosen.append(switch.snapshot_call(call_id)[-1][0])
        switch.clear_call(call_id)
    assert chosen == ["1100", "1101", "1102", "1103", "1100"]


def test_hunt_group_all_busy(switch, sim, rec, states):
    for member in ("1100", "1101", "1102", "1103"):
        sim.busy(member, True)
    call_id, _ = switch.make_call("1000", "2100")
    assert rec.take()[2:] == [
        "Diverted busyOverflow 2100->1009",
        "Delivered busyOverflow at 1009 1000->2100 via 2100",
    ]
    assert states(call_id) == {"1000": "connected", "1009": "alerting"}


def test_hunt_group_all_busy_without_diverted_position(clock):
    plan = demo_plan()
    plan.hunt_groups = [attrs.evolve(plan.hunt_groups[0], diverted_position=None)]
    switch = Switch(plan, clock)
    for member in ("1100", "1101", "1102", "1103"):
        Simulator(switch).busy(member, True)
    events: list = []
    switch.subscribe(events.append)
    call_id, _ = switch.make_call("1000", "2100")
    failed = events[-1]
    assert type(failed).__name__ == "Failed" and failed.cause.value == "busy"
    assert failed.failing_device == "2100"
    assert switch.snapshot_call(call_id) == [("1000", failed.state_of("1000"))]


def test_cascade_group(switch, clock, rec, states):
    step = switch.plan.cascade_groups[0].step_seconds
    call_id, _ = switch.make_call("1000", "2101")
    assert rec.take()[2:] == [
        "Delivered newCall at 2101 1000->2101",
        "Diverted distributed 2101->1104",
        "Delivered distributed at 1104 1000->2101 via 2101",
    ]
    clock.advance(step)
    assert rec.take() == ["Delivered distributed at 1105 1000->2101 via 2101"]
    clock.advance(step)
    assert rec.take() == ["Delivered distributed at 1106 1000->2101 via 2101"]
    assert states(call_id) == {
        "1000": "connected",
        "1104": "alerting",
        "1105": "alerting",
        "1106": "alerting",
    }
    switch.answer_call(call_id, "1105")
    assert rec.take() == [
        "Established distributed by 1105 1000->2101 via 2101",
        "ConnectionCleared normalClearing 1104",
        "ConnectionCleared normalClearing 1106",
    ]
    assert states(call_id) == {"1000": "connected", "1105": "connected"}


def test_cascade_answered_before_all_ring(switch, clock, rec, states):
    step = switch.plan.cascade_groups[0].step_seconds
    call_id, _ = switch.make_call("1000", "2101")
    switch.answer_call(call_id, "1104")
    rec.take()
    clock.advance(3 * step)
    assert rec.take() == []
    assert states(call_id) == {"1000": "connected", "1104": "connected"}


def test_cascade_caller_abandons(switch, clock, rec):
    call_id, _ = switch.make_call("1000", "2101")
    clock.advance(switch.plan.cascade_groups[0].step_seconds)
    rec.take()
    switch.clear_connection(call_id, "1000")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1104",
        "ConnectionCleared normalClearing 1105",
        "CallCleared normalClearing",
    ]
    assert clock.getDelayedCalls() == []


def test_cascade_all_busy(switch, sim, rec):
    for member in ("1104", "1105", "1106"):
        sim.busy(member, True)
    switch.make_call("1000", "2101")
    assert rec.take()[-1] == "Failed busy at 2101"


def test_agent_states(switch, sim, clock, rec):
    switch.set_agent_state("1001", RequestedAgentState.LOGGED_ON, "5001", group="2000")
    sim.agent("1001", "ready")
    sim.agent("1001", "notready")
    switch.set_agent_state("1001", RequestedAgentState.WORKING_AFTER_CALL)
    assert switch.get_agent_state("1001") == [("5001", "2000", AgentState.WORKING_AFTER_CALL)]
    clock.advance(switch.plan.acd_groups[0].wrap_up_seconds)
    sim.agent("1001", "logout")
    assert rec.take() == [
        "AgentLoggedOn 1001 5001 agentNotReady",
        "AgentReady 1001 5001 agentReady",
        "AgentNotReady 1001 5001 agentNotReady",
        "AgentWorkingAfterCall 1001 5001 agentWorkingAfterCall",
        "AgentReady 1001 5001 agentReady",
        "AgentLoggedOff 1001 5001 agentNull",
    ]
    assert switch.get_agent_state("1001") == []


def test_agent_log_on_twice_refused(switch, sim):
    sim.agent("1001", "login", "5001")
    for device, agent in (("1001", "5002"), ("1002", "5001")):
        with pytest.raises(SwitchError) as err:
            sim.agent(device, "login", agent)
        assert err.value.reason is Refusal.NOT_IN_STATE
    with pytest.raises(SwitchError):
        sim.agent("1001", "dance")


def test_acd_queueing_and_distribution(switch, sim, clock, rec, states):
    """An inbound call centre: the agent's events carry A-number, group, agent."""
    wrap_up = switch.plan.acd_groups[1].wrap_up_seconds
    sim.agent("1006", "login", "5006")
    outside = sim.call("+4685550107", "2001")
    assert rec.take()[-1] == "Queued noAvailableAgents at 2001 n=1"
    assert rec.last(Queued).state_of("2001").value == "queued"
    second = sim.call("+4685550108", "+4685552001")
    assert rec.take()[-1] == "Queued noAvailableAgents at 2001 n=2"
    assert states(outside) == {"+4685550107": "connected", "2001": "queued"}

    sim.agent("1006", "ready")
    assert rec.take() == [
        "AgentReady 1006 5006 agentReady",
        "Diverted distributed 2001->1006",
        "Delivered distributed at 1006 +4685550107->2001 via 2001",
    ]
    sim.answer("1006")
    assert rec.take() == [
        "Established distributed by 1006 +4685550107->2001 via 2001",
        "AgentBusy 1006 5006 agentBusy",
    ]
    assert states(outside) == {"+4685550107": "connected", "1006": "connected"}
    sim.hangup("+4685550107")
    assert rec.take() == [
        "ConnectionCleared normalClearing +4685550107",
        "ConnectionCleared normalClearing 1006",
        "AgentWorkingAfterCall 1006 5006 agentWorkingAfterCall",
        "CallCleared normalClearing",
    ]
    clock.advance(wrap_up)
    assert rec.take() == [
        "AgentReady 1006 5006 agentReady",
        "Diverted distributed 2001->1006",
        "Delivered distributed at 1006 +4685550108->2001 via 2001",
    ]
    assert states(second)["1006"] == "alerting"


def test_acd_longest_idle_agent_first(switch, sim, clock, rec):
    for device, agent in (("1006", "5006"), ("1007", "5007"), ("1008", "5008")):
        sim.agent(device, "login", agent)
    sim.agent("1007", "ready")
    clock.advance(1)
    sim.agent("1008", "ready")
    clock.advance(1)
    sim.agent("1006", "ready")
    chosen = []
    for caller in ("+4685550101", "+4685550102", "+4685550103"):
        sim.call(caller, "2001")
        chosen.append(rec.last(Delivered).alerting_device)
    assert chosen == ["1007", "1008", "1006"]


def test_acd_queue_full(clock):
    plan = demo_plan()
    plan.acd_groups = [attrs.evolve(plan.acd_groups[1], queue_limit=1, diverted_position=None)]
    switch = Switch(plan, clock)
    sim = Simulator(switch)
    sim.call("+4685550101", "2001")
    events: list = []
    switch.subscribe(events.append)
    sim.call("+4685550102", "2001")
    assert [type(e).__name__ for e in events] == [
        "Failed",
        "ConnectionCleared",
        "CallCleared",
    ]
    assert events[0].cause.value == "busy" and events[0].failing_device == "2001"


def test_acd_queue_full_overflows_to_the_diverted_position(clock):
    plan = demo_plan()
    plan.acd_groups = [attrs.evolve(plan.acd_groups[1], queue_limit=1)]
    switch = Switch(plan, clock)
    sim = Simulator(switch)
    sim.call("+4685550101", "2001")
    events: list = []
    switch.subscribe(events.append)
    second = sim.call("+4685550102", "2001")
    diverted, delivered = events
    assert type(diverted).__name__ == "Diverted" and diverted.cause.value == "overflow"
    assert (diverted.diverting_device, diverted.new_destination) == ("2001", "1009")
    assert delivered.alerting_device == "1009" and delivered.called_device == "2001"
    assert {c.device: c.state.value for c in switch.calls[second]} == {
        "+4685550102": "connected",
        "1009": "alerting",
    }


def test_queued_caller_abandons(switch, sim, rec):
    call_id = sim.call("+4685550107", "2000")
    rec.take()
    sim.hangup("+4685550107")
    assert rec.take() == [
        "ConnectionCleared normalClearing +4685550107",
        "ConnectionCleared normalClearing 2000",
        "CallCleared normalClearing",
    ]
    sim.agent("1001", "login", "5001")
    sim.agent("1001", "ready")
    assert rec.take()[-1] == "AgentReady 1001 5001 agentReady"
    assert call_id not in switch.calls


def test_agent_busy_on_personal_call_is_skipped(switch, sim, rec):
    sim.agent("1006", "login", "5006")
    sim.agent("1006", "ready")
    personal, _ = switch.make_call("1006", "1009")
    sim.call("+4685550107", "2001")
    assert rec.take()[-1] == "Queued noAvailableAgents at 2001 n=1"
    switch.clear_call(personal)
    assert rec.take()[-1] == "Delivered distributed at 1006 +4685550107->2001 via 2001"


def test_agent_cannot_be_ready_while_busy(switch, sim):
    sim.agent("1006", "login", "5006")
    sim.agent("1006", "ready")
    sim.call("+4685550107", "2001")
    sim.answer("1006")
    with pytest.raises(SwitchError) as err:
        sim.agent("1006", "notready")
    assert err.value.reason is Refusal.NOT_IN_STATE


def test_new_clock_per_test(clock):
    assert isinstance(clock, Clock)
