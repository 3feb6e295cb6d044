"""ECMA TR/82 call-associated scenarios: consultation, transfer, conference, alternate,
reconnect, deflect, generate digits, clearing in a conference."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Conferenced, Transferred


@pytest.fixture
def consulting(switch, rec):
    """1000 talks to 1001, holds it and consults 1002 (answered): (held, active)."""
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    rec.take()
    active, device = switch.consultation_call(held, "1000", "1002")
    assert device == "1000"
    switch.answer_call(active, "1002")
    return held, active


def test_consultation_call(switch, rec, states):
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    rec.take()
    active, _ = switch.consultation_call(held, "1000", "1002")
    assert rec.take() == [
        "Held consultation 1000",
        "ServiceInitiated consultation 1000",
        "Originated consultation 1000->1002",
        "Delivered newCall at 1002 1000->1002",
    ]
    assert states(held) == {"1000": "hold", "1001": "connected"}
    assert states(active) == {"1000": "connected", "1002": "alerting"}


def test_consultation_then_transfer(switch, rec, states, consulting):
    held, active = consulting
    rec.take()
    assert switch.transfer_call(held, active, "1000") == held
    assert rec.take() == ["Transferred transfer by 1000 to 1002"]
    event = rec.last(Transferred)
    assert event.call_ids == (held, active)
    assert event.new_call_id == held and event.secondary_old_call_id == active
    assert [(c.device, c.old_call_id, c.new_call_id) for c in event.connections] == [
        ("1001", held, held),
        ("1002", active, held),
    ]
    assert set(event.devices) == {"1000", "1001", "1002"}
    assert event.state_of("1000").value == "null"
    assert states(held) == {"1001": "connected", "1002": "connected"}
    assert active not in switch.calls
    assert switch.snapshot_device("1000") == []
    switch.clear_connection(held, "1002")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1002",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]


def test_transfer_before_answer(switch, clock, rec, states):
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    switch.transfer_call(held, active, "1000")
    assert states(held) == {"1001": "connected", "1002": "alerting"}
    rec.take()
    switch.answer_call(held, "1002")
    assert rec.take() == ["Established transfer by 1002 1001->1002 via 1000"]
    # the alerting time-out of 1002 moved with its connection and was cancelled
    clock.advance(switch.plan.alerting_timeout)
    assert rec.take() == []


def test_transferred_alerting_party_times_out_in_new_call(switch, clock, rec):
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    switch.transfer_call(held, active, "1000")
    rec.take()
    clock.advance(switch.plan.alerting_timeout)
    assert rec.take() == [
        "ConnectionCleared alertTimeOut 1002",
        "ConnectionCleared alertTimeOut 1001",
        "CallCleared alertTimeOut",
    ]


def test_single_step_transfer(switch, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    switch.answer_call(call_id, "1001")
    rec.take()
    assert switch.single_step_transfer(call_id, "1001", "1002") == (call_id, "1002")
    assert rec.take() == [
        "Transferred singleStepTransfer by 1001 to 1002",
        "Delivered singleStepTransfer at 1002 1000->1002 via 1001",
    ]
    assert states(call_id) == {"1000": "connected", "1002": "alerting"}
    switch.answer_call(call_id, "1002")
    assert states(call_id) == {"1000": "connected", "1002": "connected"}


def test_single_step_transfer_to_busy(switch, sim, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    switch.answer_call(call_id, "1001")
    sim.busy("1002", True)
    rec.take()
    switch.single_step_transfer(call_id, "1001", "1002")
    assert rec.take()[-1] == "Failed busy at 1002"
    assert states(call_id) == {"1000": "fail"}


def test_conference(switch, rec, states, consulting):
    held, active = consulting
    rec.take()
    assert switch.conference_call(held, active, "1000") == held
    assert rec.take() == ["Conferenced conference by 1000 add 1002"]
    event = rec.last(Conferenced)
    assert event.call_ids == (held, active)
    assert [(c.device, c.old_call_id) for c in event.connections] == [
        ("1000", held),
        ("1001", held),
        ("1002", active),
    ]
    assert states(held) == {"1000": "connected", "1001": "connected", "1002": "connected"}


def test_clearing_in_conference_by_on_hook(switch, sim, rec, states, consulting):
    held, active = consulting
    switch.conference_call(held, active, "1000")
    rec.take()
    sim.hangup("1001")
    assert rec.take() == ["ConnectionCleared normalClearing 1001"]
    assert states(held) == {"1000": "connected", "1002": "connected"}
    switch.clear_connection(held, "1000")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1002",
        "CallCleared normalClearing",
    ]


def test_clear_call_of_conference(switch, rec, consulting):
    held, active = consulting
    switch.conference_call(held, active, "1000")
    rec.take()
    switch.clear_call(held)
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1001",
        "ConnectionCleared normalClearing 1002",
        "CallCleared normalClearing",
    ]


def test_single_step_conference(switch, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    switch.answer_call(call_id, "1001")
    rec.take()
    assert switch.single_step_conference(call_id, "1005") == (call_id, "1005")
    # no requesting party named: the call's first connected party asked (ECMA-269
    # conferencingDevice is the party that conferences, the joining one is addedParty)
    assert rec.take() == ["Conferenced singleStepConference by 1000 add 1005"]
    assert states(call_id) == {"1000": "connected", "1001": "connected", "1005": "connected"}
    assert "1005" in rec.last().devices


def test_alternate(switch, rec, states, consulting):
    held, active = consulting
    rec.take()
    switch.alternate_call(held, active, "1000")
    assert rec.take() == ["Held alternate 1000", "Retrieved alternate 1000"]
    assert states(held)["1000"] == "connected" and states(active)["1000"] == "hold"


def test_reconnect(switch, rec, states, consulting):
    held, active = consulting
    rec.take()
    switch.reconnect_call(held, active, "1000")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1002",
        "CallCleared normalClearing",
        "Retrieved normal 1000",
    ]
    assert states(held) == {"1000": "connected", "1001": "connected"}


def test_reconnect_after_consulting_a_busy_party(switch, sim, rec, states):
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    sim.busy("1002", True)
    active, _ = switch.consultation_call(held, "1000", "1002")
    assert states(active) == {"1000": "fail"}
    switch.reconnect_call(held, active, "1000")
    assert states(held) == {"1000": "connected", "1001": "connected"}
    assert active not in switch.calls


def test_retrieve_refused_while_another_call_is_active(switch, consulting):
    held, _ = consulting
    with pytest.raises(SwitchError) as err:
        switch.retrieve_call(held, "1000")
    assert err.value.reason is Refusal.NOT_IN_STATE


def test_deflect(switch, rec, states):
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    switch.deflect_call(call_id, "1001", "1002")
    assert rec.take() == [
        "Diverted redirected 1001->1002",
        "Delivered redirected at 1002 1000->1001 via 1001",
    ]
    assert states(call_id) == {"1000": "connected", "1002": "alerting"}
    assert "1001" in rec.events[-2].devices


def test_generate_digits(switch, rec):
    call_id, _ = switch.make_call("1000", "1001")
    switch.answer_call(call_id, "1001")
    rec.take()
    switch.generate_digits(call_id, "1000", "12#*")
    assert rec.take() == ["DigitsGenerated normal 1000 12#*"]
