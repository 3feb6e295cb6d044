"""ECMA TR/82 call forwarding and do-not-disturb scenarios (ECMA-269 19.1.x)."""

from __future__ import annotations

import pytest

from cstaserver.pbx.states import ForwardingType


def test_set_and_get_forwarding(switch, rec):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, "+4685551002", True)
    assert rec.take() == ["Forwarding 1001 forwardImmediate on 1002"]
    assert switch.get_forwarding("1001") == [(ForwardingType.IMMEDIATE, True, "1002", None)]
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, None, False)
    assert switch.get_forwarding("1001") == [(ForwardingType.IMMEDIATE, False, None, None)]


def test_forward_immediate(switch, rec, states):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, "1002", True)
    rec.take()
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[2:] == [
        "Diverted callForwardImmediate 1001->1002",
        "Delivered callForwardImmediate at 1002 1000->1001 via 1001",
    ]
    assert states(call_id) == {"1000": "connected", "1002": "alerting"}
    switch.answer_call(call_id, "1002")
    assert rec.take() == ["Established callForwardImmediate by 1002 1000->1001 via 1001"]


def test_forward_immediate_external_only_for_outside_callers(switch, sim, rec):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE_EXTERNAL, "1002", True)
    internal, _ = switch.make_call("1000", "1001")
    assert switch.snapshot_call(internal)[-1][0] == "1001"
    outside = sim.call("+4685550107", "1003")
    assert outside
    sim.call("+4685550108", "1001")
    assert rec.take()[-1] == "Delivered callForwardImmediate at 1002 +4685550108->1001 via 1001"


def test_forward_to_external_number(switch, rec, states):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, "0812345", True)
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[-3:] == [
        "Diverted callForwardImmediate 1001->0812345",
        "NetworkReached normal 0 0812345",
        "Delivered callForwardImmediate at 0812345 1000->1001 via 1001",
    ]


@pytest.mark.parametrize("forwarding", [ForwardingType.BUSY, ForwardingType.BUSY_INTERNAL])
def test_forward_on_busy(switch, sim, rec, states, forwarding):
    switch.set_forwarding("1001", forwarding, "1002", True)
    sim.busy("1001", True)
    rec.take()
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[2:] == [
        "Diverted callForwardBusy 1001->1002",
        "Delivered callForwardBusy at 1002 1000->1001 via 1001",
    ]


def test_forward_on_no_answer(switch, clock, rec, states):
    switch.set_forwarding("1001", ForwardingType.NO_ANSWER, "1002", True, ring_count=2)
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    clock.advance(2 * switch.plan.no_answer_ring_seconds - 0.1)
    assert rec.take() == []
    clock.advance(0.1)
    assert rec.take() == [
        "Diverted callForwardNoAnswer 1001->1002",
        "Delivered callForwardNoAnswer at 1002 1000->1001 via 1001",
    ]
    assert states(call_id) == {"1000": "connected", "1002": "alerting"}


def test_forward_on_no_answer_default_ring_count_and_answered_in_time(switch, clock, rec):
    switch.set_forwarding("1001", ForwardingType.NO_ANSWER, "1002", True)
    call_id, _ = switch.make_call("1000", "1001")
    clock.advance(2 * switch.plan.no_answer_ring_seconds)
    switch.answer_call(call_id, "1001")
    rec.take()
    clock.advance(100)
    assert rec.take() == []


def test_forwarding_loop_is_stopped(switch, rec, states):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, "1002", True)
    switch.set_forwarding("1002", ForwardingType.IMMEDIATE, "1001", True)
    call_id, _ = switch.make_call("1000", "1001")
    assert len(switch.snapshot_call(call_id)) == 2
    diverted = [line for line in rec.take() if line.startswith("Diverted")]
    assert len(diverted) == 8


def test_do_not_disturb(switch, rec, states):
    switch.set_do_not_disturb("1001", True)
    assert rec.take() == ["DoNotDisturb 1001 on"]
    assert switch.get_do_not_disturb("+4685551001") is True
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed doNotDisturb at 1001"
    assert states(call_id) == {"1000": "fail"}
    switch.set_do_not_disturb("1001", False)
    assert switch.get_do_not_disturb("1001") is False


def test_do_not_disturb_with_forward_on_busy(switch, rec):
    switch.set_do_not_disturb("1001", True)
    switch.set_forwarding("1001", ForwardingType.BUSY, "1002", True)
    switch.make_call("1000", "1001")
    assert rec.take()[-2] == "Diverted callForwardBusy 1001->1002"
