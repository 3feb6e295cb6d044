"""Every refusal raises one SwitchError with the ECMA-269 error value and changes nothing."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.states import ForwardingType, RequestedAgentState


@pytest.fixture
def talking(switch):
    """1000 -> 1001 answered, and 1002 -> 1003 alerting."""
    active, _ = switch.make_call("1000", "1001")
    switch.answer_call(active, "1001")
    ringing, _ = switch.make_call("1002", "1003")
    return active, ringing


CASES = {
    "answer unknown call": (lambda s, a, r: s.answer_call("999", "1001"), Refusal.NO_SUCH_CALL),
    "answer unknown device": (lambda s, a, r: s.answer_call(a, "1999"), Refusal.NO_SUCH_DEVICE),
    "answer not in call": (lambda s, a, r: s.answer_call(a, "1005"), Refusal.NOT_IN_CALL),
    "answer connected": (lambda s, a, r: s.answer_call(a, "1001"), Refusal.NO_CALL_TO_ANSWER),
    "answer on a group": (
        lambda s, a, r: s.answer_call(a, "2000"),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "answer on the trunk": (
        lambda s, a, r: s.answer_call(a, "0"),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "answer without terminal": (
        lambda s, a, r: s.answer_call(a, "1400"),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "clear unknown call": (lambda s, a, r: s.clear_connection("999", "1000"), Refusal.NO_SUCH_CALL),
    "clear not in call": (lambda s, a, r: s.clear_connection(a, "1005"), Refusal.NOTHING_TO_CLEAR),
    "clear unknown device": (lambda s, a, r: s.clear_connection(a, "zz"), Refusal.NO_SUCH_DEVICE),
    "hold alerting": (lambda s, a, r: s.hold_call(r, "1003"), Refusal.NO_ACTIVE_CALL),
    "hold held": (
        lambda s, a, r: (s.hold_call(a, "1000"), s.hold_call(a, "1000")),
        Refusal.NO_ACTIVE_CALL,
    ),
    "retrieve connected": (lambda s, a, r: s.retrieve_call(a, "1000"), Refusal.NO_HELD_CALL),
    "consult not active": (
        lambda s, a, r: s.consultation_call(r, "1003", "1005"),
        Refusal.NO_ACTIVE_CALL,
    ),
    "consult bad number": (
        lambda s, a, r: s.consultation_call(a, "1000", "1999"),
        Refusal.BAD_CALLED_NUMBER,
    ),
    "transfer without held": (
        lambda s, a, r: s.transfer_call(a, r, "1000"),
        Refusal.NOT_IN_CALL,
    ),
    "transfer same call": (lambda s, a, r: s.transfer_call(a, a, "1000"), Refusal.SAME_CALL_TWICE),
    "transfer not held": (lambda s, a, r: s.transfer_call(r, a, "1002"), Refusal.NOT_IN_CALL),
    "conference unknown": (
        lambda s, a, r: s.conference_call("998", a, "1000"),
        Refusal.NO_SUCH_CALL,
    ),
    "alternate not held": (
        lambda s, a, r: s.alternate_call(a, "999", "1000"),
        Refusal.NO_SUCH_CALL,
    ),
    "reconnect not held": (
        lambda s, a, r: s.reconnect_call(a, "999", "1000"),
        Refusal.NO_SUCH_CALL,
    ),
    "sst alerting": (
        lambda s, a, r: s.single_step_transfer(r, "1003", "1005"),
        Refusal.NO_ACTIVE_CALL,
    ),
    "sst bad destination": (
        lambda s, a, r: s.single_step_transfer(a, "1000", "1999"),
        Refusal.BAD_DESTINATION,
    ),
    "ssc busy device": (lambda s, a, r: s.single_step_conference(a, "1002"), Refusal.DEVICE_BUSY),
    "ssc already in": (
        lambda s, a, r: s.single_step_conference(a, "1001"),
        Refusal.NOT_IN_STATE,
    ),
    "ssc group": (
        lambda s, a, r: s.single_step_conference(a, "2100"),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "deflect connected": (
        lambda s, a, r: s.deflect_call(a, "1001", "1005"),
        Refusal.CONNECTION_NOT_IN_STATE,
    ),
    "deflect bad destination": (
        lambda s, a, r: s.deflect_call(r, "1003", "77"),
        Refusal.BAD_DESTINATION,
    ),
    "digits alerting": (
        lambda s, a, r: s.generate_digits(r, "1003", "12"),
        Refusal.CONNECTION_NOT_IN_STATE,
    ),
    "digits bad": (lambda s, a, r: s.generate_digits(a, "1000", "12x"), Refusal.BAD_ARGUMENT),
    "forward to nowhere": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.IMMEDIATE, "1999", True),
        Refusal.BAD_FORWARD_DESTINATION,
    ),
    "forward to itself": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.IMMEDIATE, "1005", True),
        Refusal.BAD_FORWARD_DESTINATION,
    ),
    "forward bad type": (
        lambda s, a, r: s.set_forwarding("1005", "x", "1006", True),
        Refusal.BAD_ARGUMENT,
    ),
    "forward ring count": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.NO_ANSWER, "1006", True, 99),
        Refusal.OUT_OF_RANGE,
    ),
    "forward a group": (
        lambda s, a, r: s.set_forwarding("2000", ForwardingType.IMMEDIATE, "1006", True),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "dnd on trunk": (
        lambda s, a, r: s.set_do_not_disturb("0", True),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "dnd unknown": (lambda s, a, r: s.set_do_not_disturb("1999", True), Refusal.NO_SUCH_DEVICE),
    "agent not agent device": (
        lambda s, a, r: s.set_agent_state("1009", RequestedAgentState.LOGGED_ON, "5001"),
        Refusal.WRONG_DEVICE_KIND,
    ),
    "agent bad id": (
        lambda s, a, r: s.set_agent_state("1004", RequestedAgentState.LOGGED_ON, "9999"),
        Refusal.BAD_ARGUMENT,
    ),
    "agent ready not logged on": (
        lambda s, a, r: s.set_agent_state("1004", RequestedAgentState.READY),
        Refusal.NOT_IN_STATE,
    ),
    "agent bad state": (
        lambda s, a, r: s.set_agent_state("1004", "ready"),
        Refusal.BAD_ARGUMENT,
    ),
    "device unknown": (lambda s, a, r: s.device("1999"), Refusal.NO_SUCH_DEVICE),
    "snapshot unknown call": (lambda s, a, r: s.snapshot_call("999"), Refusal.NO_SUCH_CALL),
    "snapshot unknown device": (lambda s, a, r: s.snapshot_device("1999"), Refusal.NO_SUCH_DEVICE),
    "predictive from virtual": (
        lambda s, a, r: s.make_predictive_call("1400", "0812345"),
        Refusal.BAD_CALLING_DEVICE,
    ),
    "predictive bad number": (
        lambda s, a, r: s.make_predictive_call("2000", "08x"),
        Refusal.BAD_CALLED_NUMBER,
    ),
    "predictive alert time": (
        lambda s, a, r: s.make_predictive_call("2000", "0812345", alert_time=0),
        Refusal.OUT_OF_RANGE,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_error_path(switch, talking, name):
    operation, expected = CASES[name]
    active, ringing = talking
    before = {cid: switch.snapshot_call(cid) for cid in switch.calls}
    recorded: list = []
    switch.subscribe(recorded.append)
    with pytest.raises(SwitchError) as err:
        operation(switch, active, ringing)
    assert err.value.reason is expected, err.value.message
    assert err.value.message
    if name != "hold held":  # its first hold succeeds by design
        assert recorded == []
        assert {cid: switch.snapshot_call(cid) for cid in switch.calls} == before
