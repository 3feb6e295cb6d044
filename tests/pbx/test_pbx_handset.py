"""What a person does at a simulated phone (pbx/handset.py, the Simulator's keys): the exact
events each device's monitor sees, with the ECMA-269 causes of a key pressed at the phone."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.handset import INTERDIGIT_SECONDS
from tests.pbx.conftest import Monitors

CALLER = "+4685550107"


def talking(switch, sim, calling: str, called: str) -> str:
    call_id, _ = switch.make_call(calling, called)
    sim.answer(called)
    return call_id


# -- off-hook and dialling digit by digit -------------------------------------------------------
def test_off_hook_then_dial_digit_by_digit(switch, sim, clock, states):
    mon = Monitors(switch, "1000", "1001")
    call_id = sim.off_hook("1000")
    assert mon.take() == {"1000": ["ServiceInitiated newCall 1000"], "1001": []}
    assert sim.dial("1000", "10") == call_id
    assert mon.take() == {
        "1000": ["DigitsDialed normal 1000 1", "DigitsDialed normal 1000 0"],
        "1001": [],
    }
    assert sim.digits.dialling("1000") == "10"
    assert states(call_id) == {"1000": "initiated"}
    sim.dial("1000", "0")
    sim.dial("1000", "1")  # 1001 is a whole number: routed at once, no time-out
    assert mon.take() == {
        "1000": [
            "DigitsDialed normal 1000 0",
            "DigitsDialed normal 1000 1",
            "Originated newCall 1000->1001",
            "Delivered newCall at 1001 1000->1001",
        ],
        "1001": ["Delivered newCall at 1001 1000->1001"],
    }
    assert sim.digits.dialling("1000") is None
    assert clock.getDelayedCalls() == [] or all(
        d.getTime() >= 60 for d in clock.getDelayedCalls()
    )  # only the alerting time-out is left


def test_dial_from_on_hook_goes_off_hook_first(switch, sim, rec):
    sim.dial("1000", "1001")
    assert rec.take() == [
        "ServiceInitiated newCall 1000",
        "DigitsDialed normal 1000 1",
        "DigitsDialed normal 1000 0",
        "DigitsDialed normal 1000 0",
        "DigitsDialed normal 1000 1",
        "Originated newCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]


def test_an_outside_number_is_routed_after_the_interdigit_time(switch, sim, clock, rec):
    call_id = sim.dial("1000", "0812345")
    assert rec.take()[-1] == "DigitsDialed normal 1000 5"  # outside numbers have no length
    clock.advance(INTERDIGIT_SECONDS - 0.1)
    assert rec.take() == []
    sim.dial("1000", "6")  # the next digit starts the time again
    clock.advance(INTERDIGIT_SECONDS - 0.1)
    assert rec.take() == ["DigitsDialed normal 1000 6"]
    clock.advance(0.1)
    assert rec.take()[0] == "Originated newCall 1000->08123456"
    assert call_id in switch.calls


def test_hash_ends_dialling_at_once(sim, rec):
    sim.dial("1000", "0812345#")
    lines = rec.take()
    at = lines.index("DigitsDialed normal 1000 5")
    assert lines[at + 1] == "Originated newCall 1000->0812345"  # no digit time-out


def test_a_public_number_waits_like_an_outside_one(sim, clock, rec):
    sim.dial("1000", "+4685551001")
    assert rec.take()[-1] == "DigitsDialed normal 1000 1"
    clock.advance(INTERDIGIT_SECONDS)
    assert rec.take()[:2] == [
        "Originated newCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]


@pytest.mark.parametrize(
    ("digits", "advance", "failure"),
    [
        ("9", 0, "Failed destNotObtainable at 9"),  # no number starts with 9
        ("10", INTERDIGIT_SECONDS, "Failed destNotObtainable at 10"),  # incomplete
        ("081#", 0, "Failed invalidNumberFormat at 081"),  # too short for the network
    ],
)
def test_a_number_that_cannot_be_routed_fails(
    switch, sim, clock, rec, states, digits, advance, failure
):
    call_id = sim.dial("1000", digits)
    clock.advance(advance)
    assert rec.take()[-1] == failure
    assert states(call_id) == {"1000": "fail"}


def test_on_hook_while_dialling_stops_the_digit_timer(sim, clock, rec):
    sim.dial("1000", "10")
    sim.hangup("1000")
    assert rec.take()[-2:] == [
        "ConnectionCleared normalClearing 1000",
        "CallCleared normalClearing",
    ]
    clock.advance(INTERDIGIT_SECONDS * 2)
    assert rec.take() == [] and clock.getDelayedCalls() == []


@pytest.mark.parametrize(
    ("digits", "reason"), [("12x", Refusal.BAD_ARGUMENT), ("", Refusal.BAD_ARGUMENT)]
)
def test_bad_digits_change_nothing(switch, sim, rec, digits, reason):
    with pytest.raises(SwitchError) as err:
        sim.dial("1000", digits)
    assert err.value.reason is reason
    assert rec.take() == [] and switch.calls == {}


def test_dialling_in_a_connected_call_is_refused(switch, sim, rec):
    talking(switch, sim, "1000", "1001")
    rec.take()
    with pytest.raises(SwitchError) as err:
        sim.dial("1000", "1")
    assert err.value.reason is Refusal.NOT_IN_STATE
    assert rec.take() == []


# -- answer, reject, on-hook ----------------------------------------------------------------------
def test_reject_an_internal_call_gives_the_caller_busy_tone(switch, sim, states):
    call_id, _ = switch.make_call("1000", "1001")
    mon = Monitors(switch, "1000", "1001")
    assert sim.reject("1001") == call_id
    assert mon.take() == {
        "1000": ["ConnectionCleared keyOperation 1001", "Failed busy at 1001"],
        "1001": ["ConnectionCleared keyOperation 1001"],  # it has left the call
    }
    assert states(call_id) == {"1000": "fail"}
    sim.hangup("1000")
    assert mon.take()["1000"] == [
        "ConnectionCleared normalClearing 1000",
        "CallCleared normalClearing",
    ]


def test_reject_an_outside_call_releases_the_caller(switch, sim, rec):
    call_id = sim.call(CALLER, "1001")
    rec.take()
    sim.reject("1001")
    assert rec.take() == [
        "ConnectionCleared keyOperation 1001",
        "Failed busy at 1001",
        f"ConnectionCleared normalClearing {CALLER}",
        "CallCleared normalClearing",
    ]
    assert call_id not in switch.calls


def test_an_agent_rejecting_an_acd_call_sends_it_back_to_the_queue(switch, sim, states):
    for device, agent in (("1005", "5006"), ("1006", "5007")):
        sim.agent(device, "login", agent)
    sim.agent("1005", "ready")
    call_id = sim.call(CALLER, "2001")
    mon = Monitors(switch, "1005", "1006", "2001")
    sim.reject("1005")
    assert mon.take() == {
        "1005": [
            "ConnectionCleared keyOperation 1005",
            "AgentNotReady 1005 5006 agentNotReady",
        ],
        "1006": [],
        "2001": ["AgentNotReady 1005 5006 agentNotReady", "Queued callNotAnswered at 2001 n=1"],
    }
    assert states(call_id) == {CALLER: "connected", "2001": "queued"}
    sim.agent("1006", "ready")  # the next ready agent gets it
    assert states(call_id) == {CALLER: "connected", "1006": "alerting"}


def test_reject_a_makecall_prompt_ends_the_call(switch, sim, rec):
    sim.mode("1000", "manual")
    call_id, _ = switch.make_call("1000", "1001")
    rec.take()
    assert sim.reject("1000") == call_id
    assert rec.take() == ["ConnectionCleared keyOperation 1000", "CallCleared keyOperation"]


def test_reject_needs_a_ringing_call(switch, sim, rec):
    talking(switch, sim, "1000", "1001")
    rec.take()
    with pytest.raises(SwitchError) as err:
        sim.reject("1001")
    assert err.value.reason is Refusal.NO_CALL_TO_ANSWER
    assert rec.take() == []


# -- hold, consultation, transfer, conference ---------------------------------------------------
def test_hold_key_and_retrieve(switch, sim, states):
    call_id = talking(switch, sim, "1000", "1001")
    mon = Monitors(switch, "1000", "1001")
    sim.hold("1000")
    assert mon.take() == {"1000": ["Held keyOperation 1000"], "1001": ["Held keyOperation 1000"]}
    assert states(call_id) == {"1000": "hold", "1001": "connected"}
    sim.retrieve("1000")
    assert mon.take() == {
        "1000": ["Retrieved keyOperation 1000"],
        "1001": ["Retrieved keyOperation 1000"],
    }


def test_consultation_then_transfer_from_the_handset(switch, sim, states):
    held = talking(switch, sim, "1000", "1001")
    mon = Monitors(switch, "1000", "1001", "1002")
    consult = sim.consult("1000", "1002")
    assert consult != held
    assert mon.take() == {
        "1000": [
            "Held consultation 1000",
            "ServiceInitiated consultation 1000",
            "Originated consultation 1000->1002",
            "Delivered newCall at 1002 1000->1002",
        ],
        "1001": ["Held consultation 1000"],
        "1002": ["Delivered newCall at 1002 1000->1002"],
    }
    sim.answer("1002")
    mon.take()
    assert sim.join("1000", "transfer") == held
    transferred = ["Transferred transfer by 1000 to 1002"]
    assert mon.take() == {"1000": transferred, "1001": transferred, "1002": transferred}
    assert states(held) == {"1001": "connected", "1002": "connected"}


def test_conference_from_the_handset(switch, sim, states):
    held = talking(switch, sim, "1000", "1001")
    sim.consult("1000", "1002")
    sim.answer("1002")
    mon = Monitors(switch, "1000", "1001", "1002")
    assert sim.join("1000", "conference") == held
    conferenced = ["Conferenced conference by 1000 add 1002"]
    assert mon.take() == {"1000": conferenced, "1001": conferenced, "1002": conferenced}
    assert states(held) == {"1000": "connected", "1001": "connected", "1002": "connected"}


def test_transfer_without_a_held_call_is_refused(switch, sim, rec):
    talking(switch, sim, "1000", "1001")
    rec.take()
    with pytest.raises(SwitchError) as err:
        sim.join("1000", "transfer")
    assert err.value.reason is Refusal.NO_HELD_CALL
    assert rec.take() == []


# -- DTMF, do not disturb, forwarding ------------------------------------------------------------
def test_dtmf_from_the_keypad_and_from_an_outside_caller(switch, sim):
    call_id = sim.call(CALLER, "1001")
    sim.answer("1001")
    mon = Monitors(switch, "1001")
    assert sim.dtmf("1001", "12#") == call_id
    assert sim.dtmf(CALLER, "3") == call_id
    assert mon.take() == {
        "1001": ["DigitsGenerated keyOperation 1001 12#", f"DigitsGenerated normal {CALLER} 3"]
    }


def test_dtmf_needs_a_connected_call(sim, rec):
    sim.call(CALLER, "1001")
    rec.take()
    with pytest.raises(SwitchError) as err:
        sim.dtmf("1001", "1")  # it rings: nothing to key digits into
    assert err.value.reason is Refusal.CONNECTION_NOT_IN_STATE
    assert rec.take() == []


def test_dnd_and_forwarding_set_at_the_phone(switch, sim, rec):
    sim.dnd("1001", True)
    sim.forward("1002", "forwardImmediate", "1003")
    assert rec.take() == [
        "DoNotDisturb 1001 on",
        "Forwarding 1002 forwardImmediate on 1003",
    ]
    switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed doNotDisturb at 1001"
    sim.forward("1002", "forwardImmediate", None, False)
    sim.dnd("1001", False)
    assert rec.take() == ["Forwarding 1002 forwardImmediate off None", "DoNotDisturb 1001 off"]


def test_forwarding_type_must_be_known(sim, rec):
    with pytest.raises(SwitchError) as err:
        sim.forward("1002", "sometimes", "1003")
    assert err.value.reason is Refusal.BAD_ARGUMENT
    assert rec.take() == []
