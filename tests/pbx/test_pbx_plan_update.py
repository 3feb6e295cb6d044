"""A changed plan taken by the running switch (``Switch.update_plan``, the admin commands'
live path): new devices are reachable at once, removed ones are not, devices that stay keep
their calls and agents, and a change that would orphan a call or an agent is refused with
nothing changed."""

from __future__ import annotations

import attrs
import pytest
from twisted.internet.task import Clock

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.plan import DeviceKind, Extension, HuntGroup
from cstaserver.pbx.states import ConnectionState, RequestedAgentState
from cstaserver.pbx.switch import Switch


def states(switch: Switch, call_id: str) -> dict[str, str]:
    return {device: state.value for device, state in switch.snapshot_call(call_id)}


def with_extensions(switch: Switch, *extensions: Extension):
    return attrs.evolve(switch.plan, extensions=[*switch.plan.extensions, *extensions])


def test_a_new_extension_is_reachable_and_a_removed_one_is_not(
    switch: Switch, clock: Clock
) -> None:
    with pytest.raises(SwitchError) as refused:
        switch.make_call("1001", "1900")
    assert refused.value.reason is Refusal.BAD_CALLED_NUMBER
    switch.update_plan(with_extensions(switch, Extension("1900", DeviceKind.SIP_EXTENSION)))
    call_id, _ = switch.make_call("1001", "1900")
    assert states(switch, call_id) == {"1001": "connected", "1900": "alerting"}
    switch.clear_call(call_id)
    plan = attrs.evolve(
        switch.plan, extensions=[e for e in switch.plan.extensions if e.number != "1900"]
    )
    switch.update_plan(plan)
    assert switch.info("1900") is None
    with pytest.raises(SwitchError) as refused:
        switch.make_call("1001", "1900")
    assert refused.value.reason is Refusal.BAD_CALLED_NUMBER


def test_devices_that_stay_keep_their_calls_and_take_new_settings(switch: Switch) -> None:
    call_id, _ = switch.make_call("1001", "1002")
    plan = attrs.evolve(
        switch.plan,
        extensions=[
            attrs.evolve(e, name="Reception") if e.number == "1002" else e
            for e in switch.plan.extensions
        ],
        alerting_timeout=20.0,
    )
    switch.update_plan(plan)
    assert switch.device("1002").name == "Reception"
    assert switch.connections_at("1002")[call_id].state is ConnectionState.ALERTING
    switch.answer_call(call_id, "1002")
    assert states(switch, call_id) == {"1001": "connected", "1002": "connected"}
    switch.clear_call(call_id)


def test_removing_a_device_with_a_call_up_is_refused_and_changes_nothing(switch: Switch) -> None:
    call_id, _ = switch.make_call("1001", "1002")
    before = switch.plan
    plan = attrs.evolve(
        switch.plan, extensions=[e for e in switch.plan.extensions if e.number != "1002"]
    )
    assert switch.plan_refusal(plan) == f"1002 has a call up (call {call_id})"
    with pytest.raises(SwitchError) as refused:
        switch.update_plan(plan)
    assert refused.value.reason is Refusal.NOT_IN_STATE
    assert switch.plan is before and switch.info("1002") is not None
    switch.clear_call(call_id)


def test_an_agent_logged_on_must_stay_valid(switch: Switch) -> None:
    switch.set_agent_state("1001", RequestedAgentState.LOGGED_ON, "5001")
    acd = switch.plan.acd_groups[0]
    smaller = attrs.evolve(acd, agent_ids=tuple(a for a in acd.agent_ids if a != "5001"))
    plan = attrs.evolve(switch.plan, acd_groups=[smaller, *switch.plan.acd_groups[1:]])
    reason = switch.plan_refusal(plan)
    assert reason == "agent 5001 is logged on at 1001 in group 2000; log the agent off first"
    more = attrs.evolve(acd, agent_ids=(*acd.agent_ids, "5100"))
    switch.update_plan(attrs.evolve(switch.plan, acd_groups=[more, *switch.plan.acd_groups[1:]]))
    assert switch.device("1001").agent.agent_id == "5001"  # still logged on
    switch.set_agent_state("1002", RequestedAgentState.LOGGED_ON, "5100")  # the new agent ID
    assert switch.device("1002").agent.agent_id == "5100"


def test_a_new_hunt_group_takes_calls(switch: Switch) -> None:
    group = HuntGroup("2900", ("1003", "1004"))
    switch.update_plan(attrs.evolve(switch.plan, hunt_groups=[*switch.plan.hunt_groups, group]))
    call_id, _ = switch.make_call("1001", "2900")
    assert states(switch, call_id) == {"1001": "connected", "1003": "alerting"}
    switch.clear_call(call_id)


def test_network_rules_apply_to_the_next_call(switch: Switch) -> None:
    network = attrs.evolve(switch.plan.network, trunk_count=0)
    switch.update_plan(attrs.evolve(switch.plan, network=network))
    call_id, _ = switch.make_call("1001", "0123456")
    assert "0123456" not in states(switch, call_id)  # no trunk free: the call failed
    assert states(switch, call_id)["1001"] == "fail"
    switch.clear_call(call_id)


def test_a_new_alerting_timeout_applies_to_the_next_call(switch: Switch, clock: Clock) -> None:
    switch.update_plan(attrs.evolve(switch.plan, alerting_timeout=20.0))
    call_id, _ = switch.make_call("1001", "1002")
    clock.advance(19.5)
    assert call_id in switch.calls
    clock.advance(1)
    assert call_id not in switch.calls  # cleared: alerting time-out
