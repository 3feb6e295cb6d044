"""ECMA TR/82 basic call scenarios: make call, answer, clearing, hold / retrieve."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Delivered, Established, Originated
from cstaserver.pbx.states import ConnectionState, TerminalMode


def call_answered(switch, rec, calling="1000", called="1001"):
    call_id, _ = switch.make_call(calling, called)
    switch.answer_call(call_id, called)
    rec.take()
    return call_id


def test_make_call_hands_free(switch, rec, states):
    call_id, calling = switch.make_call("1000", "1001")
    assert calling == "1000" and call_id.isdigit()
    assert rec.take() == [
        "ServiceInitiated makeCall 1000",
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]
    assert states(call_id) == {"1000": "connected", "1001": "alerting"}
    delivered = rec.last(Delivered)
    assert delivered.devices == ("1000", "1001")
    assert delivered.state_of("1001").value == "alerting"


def test_make_call_prompted(switch, sim, rec, states):
    """A manual terminal is prompted: ServiceInitiated (initiated) while it rings; the
    exchange cannot answer for the person (AnswerCall refused); off-hook originates."""
    sim.mode("1000", "manual")
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take() == ["ServiceInitiated makeCall 1000"]
    assert states(call_id) == {"1000": "initiated"}
    with pytest.raises(SwitchError) as refused:
        switch.answer_call(call_id, "1000")
    assert refused.value.reason is Refusal.WRONG_DEVICE_KIND
    assert rec.take() == []
    assert sim.off_hook("1000") == call_id
    assert rec.take() == [
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]
    assert states(call_id) == {"1000": "connected", "1001": "alerting"}


def test_make_call_prompted_when_auto_originate_off(switch, rec, states):
    """autoOriginate prompt on a hands-free terminal: prompted, and AnswerCall (the
    exchange going off-hook for the person) originates it."""
    call_id, _ = switch.make_call("1000", "1001", auto_originate=False)
    assert states(call_id) == {"1000": "initiated"}
    assert switch.device("1000").mode is TerminalMode.HANDSFREE
    rec.take()
    switch.answer_call(call_id, "1000")
    assert rec.take() == [
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]


def test_make_call_prompted_answered_manually(switch, sim, rec, states):
    sim.mode("1000", TerminalMode.MANUAL)
    call_id, _ = switch.make_call("1000", "1001")
    assert sim.answer("1000") == call_id
    assert states(call_id) == {"1000": "connected", "1001": "alerting"}


def test_make_call_already_off_hook(switch, sim, rec, states):
    call_id = sim.off_hook("1000")
    assert rec.take() == ["ServiceInitiated newCall 1000"]
    assert switch.make_call("1000", "1001") == (call_id, "1000")
    assert rec.take() == [
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]


def test_manual_dial(sim, rec, states):
    call_id = sim.call("1000", "1001")
    assert rec.take() == [
        "ServiceInitiated newCall 1000",
        "DigitsDialed normal 1000 1001",
        "Originated newCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]
    sim.answer("1001")
    assert rec.take() == ["Established newCall by 1001 1000->1001"]
    assert states(call_id) == {"1000": "connected", "1001": "connected"}


def test_called_busy(switch, sim, rec, states):
    sim.busy("1001", True)
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed busy at 1001"
    assert states(call_id) == {"1000": "fail"}
    switch.clear_connection(call_id, "1000")
    assert rec.take() == ["ConnectionCleared normalClearing 1000", "CallCleared normalClearing"]
    assert switch.calls == {}


def test_called_busy_in_a_call(switch, rec, states):
    call_answered(switch, rec, "1002", "1001")
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed busy at 1001"


def test_a_line_with_only_held_calls_takes_another_call(switch, rec, states):
    """Call waiting on hold: the held line rings for a second caller, who can be answered."""
    first = call_answered(switch, rec, "1002", "1001")
    switch.hold_call(first, "1001")
    rec.take()
    second, _ = switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Delivered newCall at 1001 1000->1001"
    switch.answer_call(second, "1001")
    assert states(first)["1001"] == "hold"
    assert states(second) == {"1000": "connected", "1001": "connected"}
    third, _ = switch.make_call("1003", "1001")
    assert rec.take()[-1] == "Failed busy at 1001"


def test_calling_device_busy_refused(switch, sim, rec):
    call_answered(switch, rec)
    with pytest.raises(SwitchError) as err:
        switch.make_call("1000", "1002")
    assert err.value.reason is Refusal.NOT_IN_STATE
    sim.busy("1003", True)
    with pytest.raises(SwitchError) as err:
        switch.make_call("1003", "1002")
    assert err.value.reason is Refusal.DEVICE_BUSY
    assert rec.take() == []


@pytest.mark.parametrize("called", ["1999", "abc", "", "012", "0", "1000"])
def test_invalid_number_refused(switch, rec, called):
    with pytest.raises(SwitchError) as err:
        switch.make_call("1000", called)
    assert err.value.reason is Refusal.BAD_CALLED_NUMBER
    assert rec.take() == [] and switch.calls == {}


@pytest.mark.parametrize(
    ("called", "cause"),
    [("1999", "destNotObtainable"), ("12a", "invalidNumberFormat"), ("012", "invalidNumberFormat")],
)
def test_invalid_number_manually_dialled(sim, rec, states, called, cause):
    call_id = sim.call("1000", called)
    assert rec.take() == [
        "ServiceInitiated newCall 1000",
        f"DigitsDialed normal 1000 {called}",
        f"Failed {cause} at {called}",
    ]
    assert states(call_id) == {"1000": "fail"}
    sim.hangup("1000")
    assert rec.take() == ["ConnectionCleared normalClearing 1000", "CallCleared normalClearing"]


@pytest.mark.parametrize("calling", ["1999", "1400", "2000", "0", "+4685550107", "x"])
def test_invalid_calling_device(switch, calling):
    with pytest.raises(SwitchError) as err:
        switch.make_call(calling, "1001")
    assert err.value.reason is Refusal.BAD_CALLING_DEVICE


def test_public_number_accepted(switch, rec, states):
    call_id, calling = switch.make_call("+4685551000", "+4685551001")
    assert calling == "1000"
    assert states(call_id) == {"1000": "connected", "1001": "alerting"}
    assert switch.device("+4685551001").number == "1001"


def test_answer_by_service(switch, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    switch.answer_call(call_id, "1001")
    assert rec.take() == ["Established newCall by 1001 1000->1001"]
    established = rec.last(Established)
    assert established.devices == ("1000", "1001")
    assert states(call_id) == {"1000": "connected", "1001": "connected"}


def test_answer_manually(switch, sim, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    assert sim.answer("1001") == call_id
    assert rec.take() == ["Established newCall by 1001 1000->1001"]


def test_clearing_by_on_hook(switch, sim, rec):
    call_id = call_answered(switch, rec)
    assert sim.hangup("1001") == call_id
    assert rec.take() == [
        "ConnectionCleared normalClearing 1001",
        "ConnectionCleared normalClearing 1000",
        "CallCleared normalClearing",
    ]
    cleared = rec.last()
    assert set(cleared.devices) == {"1000", "1001"}
    assert switch.snapshot_device("1000") == [] and switch.snapshot_device("1001") == []


def test_clearing_by_clear_connection(switch, rec):
    call_id = call_answered(switch, rec)
    switch.clear_connection(call_id, "1000")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]


def test_clear_call(switch, rec):
    call_id = call_answered(switch, rec)
    switch.clear_call(call_id)
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]
    with pytest.raises(SwitchError) as err:
        switch.clear_call(call_id)
    assert err.value.reason is Refusal.NO_SUCH_CALL


def test_caller_abandons_while_alerting(switch, rec):
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    switch.clear_connection(call_id, "1000")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]


def test_alerting_time_out(switch, clock, rec):
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    clock.advance(switch.plan.alerting_timeout - 1)
    assert rec.take() == []
    clock.advance(1)
    assert rec.take() == [
        "ConnectionCleared alertTimeOut 1001",
        "ConnectionCleared alertTimeOut 1000",
        "CallCleared alertTimeOut",
    ]
    assert switch.calls == {}


def test_answer_cancels_alerting_time_out(switch, clock, rec):
    call_answered(switch, rec)
    clock.advance(switch.plan.alerting_timeout * 2)
    assert rec.take() == []
    assert clock.getDelayedCalls() == []


def test_hold_and_retrieve(switch, sim, rec, states):
    call_id = call_answered(switch, rec)
    switch.hold_call(call_id, "1000")
    assert rec.take() == ["Held normal 1000"]
    assert states(call_id) == {"1000": "hold", "1001": "connected"}
    switch.retrieve_call(call_id, "1000")
    assert rec.take() == ["Retrieved normal 1000"]
    sim.hold("1001")
    assert sim.retrieve("1001") == call_id
    # the hold key at the phone: ECMA-269 cause keyOperation
    assert rec.take() == ["Held keyOperation 1001", "Retrieved keyOperation 1001"]


def test_snapshots(switch, rec):
    call_id = call_answered(switch, rec)
    connected = ConnectionState.CONNECTED
    assert switch.snapshot_device("1000") == [(call_id, connected, ["1001"])]
    assert switch.snapshot_device("+4685551001") == [(call_id, connected, ["1000"])]
    assert switch.snapshot_call(call_id) == [("1000", connected), ("1001", connected)]
    assert switch.snapshot_device("1002") == []


def test_originated_event_routing(switch, rec):
    switch.make_call("1000", "1001")
    originated = rec.last(Originated)
    assert originated.devices == ("1000",)
    assert originated.call_ids == (originated.call_id,)
