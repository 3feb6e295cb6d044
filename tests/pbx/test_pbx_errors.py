"""Every refusal raises one SwitchError with the ECMA-269 error value and changes nothing."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import ErrorValue as EV
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.states import ForwardingType, RequestedAgentState


@pytest.fixture
def talking(switch):
    """1000 -> 1001 answered, and 1002 -> 1003 alerting."""
    active, _ = switch.make_call("1000", "1001")
    switch.answer_call(active, "1001")
    ringing, _ = switch.make_call("1002", "1003")
    return active, ringing


CASES = {
    "answer unknown call": (lambda s, a, r: s.answer_call("999", "1001"), EV.INVALID_CALL_ID),
    "answer unknown device": (lambda s, a, r: s.answer_call(a, "1999"), EV.OBJECT_NOT_KNOWN),
    "answer not in call": (lambda s, a, r: s.answer_call(a, "1005"), EV.INVALID_CONNECTION_ID),
    "answer connected": (lambda s, a, r: s.answer_call(a, "1001"), EV.NO_CALL_TO_ANSWER),
    "answer on a group": (
        lambda s, a, r: s.answer_call(a, "2000"),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "answer on the trunk": (
        lambda s, a, r: s.answer_call(a, "0"),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "answer without terminal": (
        lambda s, a, r: s.answer_call(a, "1400"),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "clear unknown call": (lambda s, a, r: s.clear_connection("999", "1000"), EV.INVALID_CALL_ID),
    "clear not in call": (lambda s, a, r: s.clear_connection(a, "1005"), EV.NO_CONNECTION_TO_CLEAR),
    "clear unknown device": (lambda s, a, r: s.clear_connection(a, "zz"), EV.OBJECT_NOT_KNOWN),
    "hold alerting": (lambda s, a, r: s.hold_call(r, "1003"), EV.NO_ACTIVE_CALL),
    "hold held": (
        lambda s, a, r: (s.hold_call(a, "1000"), s.hold_call(a, "1000")),
        EV.NO_ACTIVE_CALL,
    ),
    "retrieve connected": (lambda s, a, r: s.retrieve_call(a, "1000"), EV.NO_HELD_CALL),
    "consult not active": (
        lambda s, a, r: s.consultation_call(r, "1003", "1005"),
        EV.NO_ACTIVE_CALL,
    ),
    "consult bad number": (
        lambda s, a, r: s.consultation_call(a, "1000", "1999"),
        EV.INVALID_CALLED_DEVICE,
    ),
    "transfer without held": (
        lambda s, a, r: s.transfer_call(a, r, "1000"),
        EV.INVALID_CONNECTION_ID,
    ),
    "transfer same call": (lambda s, a, r: s.transfer_call(a, a, "1000"), EV.INVALID_CALL_ID),
    "transfer not held": (lambda s, a, r: s.transfer_call(r, a, "1002"), EV.INVALID_CONNECTION_ID),
    "conference unknown": (lambda s, a, r: s.conference_call("998", a, "1000"), EV.INVALID_CALL_ID),
    "alternate not held": (lambda s, a, r: s.alternate_call(a, "999", "1000"), EV.INVALID_CALL_ID),
    "reconnect not held": (lambda s, a, r: s.reconnect_call(a, "999", "1000"), EV.INVALID_CALL_ID),
    "sst alerting": (lambda s, a, r: s.single_step_transfer(r, "1003", "1005"), EV.NO_ACTIVE_CALL),
    "sst bad destination": (
        lambda s, a, r: s.single_step_transfer(a, "1000", "1999"),
        EV.INVALID_DESTINATION,
    ),
    "ssc busy device": (lambda s, a, r: s.single_step_conference(a, "1002"), EV.RESOURCE_BUSY),
    "ssc already in": (
        lambda s, a, r: s.single_step_conference(a, "1001"),
        EV.INVALID_OBJECT_STATE,
    ),
    "ssc group": (
        lambda s, a, r: s.single_step_conference(a, "2100"),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "deflect connected": (
        lambda s, a, r: s.deflect_call(a, "1001", "1005"),
        EV.INVALID_CONNECTION_STATE,
    ),
    "deflect bad destination": (
        lambda s, a, r: s.deflect_call(r, "1003", "77"),
        EV.INVALID_DESTINATION,
    ),
    "digits alerting": (
        lambda s, a, r: s.generate_digits(r, "1003", "12"),
        EV.INVALID_CONNECTION_STATE,
    ),
    "digits bad": (lambda s, a, r: s.generate_digits(a, "1000", "12x"), EV.INVALID_PARAMETER_VALUE),
    "forward to nowhere": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.IMMEDIATE, "1999", True),
        EV.INVALID_FORWARDING_DESTINATION,
    ),
    "forward to itself": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.IMMEDIATE, "1005", True),
        EV.INVALID_FORWARDING_DESTINATION,
    ),
    "forward bad type": (
        lambda s, a, r: s.set_forwarding("1005", "x", "1006", True),
        EV.INVALID_PARAMETER_VALUE,
    ),
    "forward ring count": (
        lambda s, a, r: s.set_forwarding("1005", ForwardingType.NO_ANSWER, "1006", True, 99),
        EV.VALUE_OUT_OF_RANGE,
    ),
    "forward a group": (
        lambda s, a, r: s.set_forwarding("2000", ForwardingType.IMMEDIATE, "1006", True),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "dnd on trunk": (
        lambda s, a, r: s.set_do_not_disturb("0", True),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "dnd unknown": (lambda s, a, r: s.set_do_not_disturb("1999", True), EV.OBJECT_NOT_KNOWN),
    "agent not agent device": (
        lambda s, a, r: s.set_agent_state("1005", RequestedAgentState.LOGGED_ON, "5001"),
        EV.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    ),
    "agent bad id": (
        lambda s, a, r: s.set_agent_state("1004", RequestedAgentState.LOGGED_ON, "9999"),
        EV.INVALID_PARAMETER_VALUE,
    ),
    "agent ready not logged on": (
        lambda s, a, r: s.set_agent_state("1004", RequestedAgentState.READY),
        EV.INVALID_OBJECT_STATE,
    ),
    "agent bad state": (
        lambda s, a, r: s.set_agent_state("1004", "ready"),
        EV.INVALID_PARAMETER_VALUE,
    ),
    "device unknown": (lambda s, a, r: s.device("1999"), EV.OBJECT_NOT_KNOWN),
    "snapshot unknown call": (lambda s, a, r: s.snapshot_call("999"), EV.INVALID_CALL_ID),
    "snapshot unknown device": (lambda s, a, r: s.snapshot_device("1999"), EV.OBJECT_NOT_KNOWN),
    "predictive from virtual": (
        lambda s, a, r: s.make_predictive_call("1400", "0812345"),
        EV.INVALID_CALLING_DEVICE,
    ),
    "predictive bad number": (
        lambda s, a, r: s.make_predictive_call("2000", "08"),
        EV.INVALID_CALLED_DEVICE,
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
    assert err.value.value is expected, err.value.message
    assert err.value.message
    if name != "hold held":  # its first hold succeeds by design
        assert recorded == []
        assert {cid: switch.snapshot_call(cid) for cid in switch.calls} == before
