"""Device realism (docs/devices.md): prompted MakeCall from terminals the exchange cannot take
off-hook (analog, CAS, DECT; ECMA TR/82 4.1), EDN lines that ring on several phones in
parallel, ADN lines on their ODN phone."""

from __future__ import annotations

import pytest

from cstaserver.pbx.demo import PROMPT_ANSWER_SECONDS
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.states import TerminalMode

# -- prompted MakeCall ------------------------------------------------------------------------


@pytest.mark.parametrize("calling", ["1600", "1700", "1300"])
def test_analog_cas_and_dect_lines_are_prompted(switch, clock, rec, states, calling):
    """ServiceInitiated (makeCall, initiated) while the terminal rings; the demo's person
    goes off-hook after PROMPT_ANSWER_SECONDS: Originated, then the called side."""
    assert switch.device(calling).mode is TerminalMode.MANUAL
    call_id, _ = switch.make_call(calling, "1001")
    assert rec.take() == [f"ServiceInitiated makeCall {calling}"]
    assert states(call_id) == {calling: "initiated"}
    clock.advance(PROMPT_ANSWER_SECONDS - 0.5)
    assert rec.take() == []
    clock.advance(0.5)
    assert rec.take() == [
        f"Originated makeCall {calling}->1001",
        f"Delivered newCall at 1001 {calling}->1001",
    ]
    assert states(call_id) == {calling: "connected", "1001": "alerting"}


def test_a_prompted_line_refuses_answer_call_and_another_make_call(switch, rec, states):
    call_id, _ = switch.make_call("1600", "1001")
    rec.take()
    with pytest.raises(SwitchError) as refused:
        switch.answer_call(call_id, "1600")
    assert refused.value.reason is Refusal.WRONG_DEVICE_KIND
    with pytest.raises(SwitchError) as again:
        switch.make_call("1600", "1002")
    assert again.value.reason is Refusal.NOT_IN_STATE
    assert rec.take() == []
    assert states(call_id) == {"1600": "initiated"}


def test_the_person_answers_the_prompt_before_the_timer(switch, sim, clock, rec, states):
    call_id, _ = switch.make_call("1601", "1001")
    rec.take()
    assert sim.answer("1601") == call_id
    assert rec.take() == ["Originated makeCall 1601->1001", "Delivered newCall at 1001 1601->1001"]
    clock.advance(PROMPT_ANSWER_SECONDS)
    assert rec.take() == []  # the prompt timer went with the prompt


def test_an_unanswered_prompt_clears_the_call(switch, clock, rec):
    switch.plan.prompt_answer_seconds = None  # nobody lifts the handset
    call_id, _ = switch.make_call("1602", "1001")
    clock.advance(switch.plan.alerting_timeout)
    assert rec.take() == [
        "ServiceInitiated makeCall 1602",
        "ConnectionCleared alertTimeOut 1602",
        "CallCleared alertTimeOut",
    ]
    assert call_id not in switch.calls


def test_an_analog_line_cannot_be_made_hands_free_nor_answered_remotely(switch, sim, rec):
    with pytest.raises(SwitchError) as refused:
        sim.mode("1600", "handsfree")
    assert refused.value.reason is Refusal.WRONG_DEVICE_KIND
    call_id, _ = switch.make_call("1000", "1600")
    with pytest.raises(SwitchError) as answer:
        switch.answer_call(call_id, "1600")
    assert answer.value.reason is Refusal.WRONG_DEVICE_KIND
    rec.take()
    sim.answer("1600")  # the person lifts the handset
    assert rec.take() == ["Established newCall by 1600 1000->1600"]


def test_reset_keeps_analog_lines_manual(switch, sim):
    sim.mode("1000", "manual")
    sim.reset()
    assert switch.device("1000").mode is TerminalMode.HANDSFREE
    assert switch.device("1600").mode is TerminalMode.MANUAL


# -- EDN: one number on several phones -------------------------------------------------------


def test_an_edn_rings_on_all_its_phones_and_the_first_to_answer_takes_it(switch, sim, rec):
    """1105 is on SIP phone 1100 and DECT handset 1300. One connection (the EDN's): Delivered
    and Established at 1105; the other phone stops ringing without an event of its own, as
    it has no connection in the call (ECMA-269 6.1: one connection per device)."""
    call_id, _ = switch.make_call("1000", "1105")
    assert rec.take()[-1] == "Delivered newCall at 1105 1000->1105"
    appearances = switch.core.appearances
    assert appearances.ringing_phones(switch.device("1105")) == ["1100", "1300"]
    assert sim.answer("1300") == call_id
    assert rec.take() == ["Established newCall by 1105 1000->1105"]
    assert switch.calls[call_id].connections["1105"].terminal == "1300"
    with pytest.raises(SwitchError) as late:
        sim.answer("1100")
    assert late.value.reason is Refusal.NO_CALL_TO_ANSWER
    assert appearances.in_use("1300") and not appearances.in_use("1100")
    sim.hangup("1300")  # on-hook at the phone that took it clears the EDN's connection
    assert rec.take() == [
        "ConnectionCleared normalClearing 1105",
        "ConnectionCleared normalClearing 1000",
        "CallCleared normalClearing",
    ]


def test_an_edn_rings_only_on_phones_that_are_free(switch, sim, rec):
    busy_call, _ = switch.make_call("1100", "1001")  # SIP phone 1100 is in a call
    switch.make_call("1000", "1105")
    assert switch.core.appearances.ringing_phones(switch.device("1105")) == ["1300"]
    with pytest.raises(SwitchError):
        sim.answer("1100")  # it answers only what rings at it: nothing
    sim.busy("1300", True)
    rec.take()
    switch.make_call("1002", "1106")  # 1106: phones 1101 and 1301 both free
    assert rec.take()[-1] == "Delivered newCall at 1106 1002->1106"
    switch.make_call("1003", "1105")  # already alerting: busy, like an ODN
    assert rec.take()[-1] == "Failed busy at 1105"


def test_an_edn_none_of_whose_phones_is_free_is_busy(switch, sim, rec):
    sim.busy("1100", True)
    sim.busy("1300", True)
    switch.make_call("1000", "1105")
    assert rec.take()[-1] == "Failed busy at 1105"


def test_answer_call_on_an_edn_uses_its_hands_free_phone(switch, rec):
    call_id, _ = switch.make_call("1000", "1105")
    rec.take()
    switch.answer_call(call_id, "1105")
    assert rec.take() == ["Established newCall by 1105 1000->1105"]
    assert switch.calls[call_id].connections["1105"].terminal == "1100"


def test_make_call_from_an_edn_uses_its_first_free_phone(switch, sim, clock, rec):
    """Hands-free SIP phone 1100 first; when it is in use, the DECT handset 1300, which is
    prompted."""
    first, _ = switch.make_call("1105", "1001")
    assert rec.take() == [
        "ServiceInitiated makeCall 1105",
        "Originated makeCall 1105->1001",
        "Delivered newCall at 1001 1105->1001",
    ]
    assert switch.calls[first].connections["1105"].terminal == "1100"
    switch.hold_call(first, "1105")
    switch.make_call("1002", "1100")  # a call to the SIP phone's own number
    sim.answer("1100")  # now the SIP phone is in use
    rec.take()
    second, _ = switch.make_call("1105", "1003")
    assert rec.take() == ["ServiceInitiated makeCall 1105"]
    assert switch.calls[second].connections["1105"].terminal == "1300"
    clock.advance(PROMPT_ANSWER_SECONDS)
    assert rec.take() == ["Originated makeCall 1105->1003", "Delivered newCall at 1003 1105->1003"]


# -- ADN: an extra line on one phone ---------------------------------------------------------


def test_a_call_to_an_adn_rings_its_phone(switch, sim, rec, states):
    """ADN 1503 is a line of digital phone 1500: the events name 1503; the person at 1500
    answers it; the phone's own number stays free for calls."""
    call_id, _ = switch.make_call("1000", "1503")
    assert rec.take()[-1] == "Delivered newCall at 1503 1000->1503"
    assert sim.answer("1500") == call_id
    assert rec.take() == ["Established newCall by 1503 1000->1503"]
    assert states(call_id) == {"1000": "connected", "1503": "connected"}
    assert switch.device("1500").connections == {}
    sim.hold("1500")
    assert rec.take() == ["Held keyOperation 1503"]
    sim.retrieve("1500")
    assert rec.take() == ["Retrieved keyOperation 1503"]


def test_make_call_from_an_adn_uses_its_phone(switch, sim, rec):
    call_id, calling = switch.make_call("1504", "1001")
    assert calling == "1504"
    assert rec.take() == [
        "ServiceInitiated makeCall 1504",
        "Originated makeCall 1504->1001",
        "Delivered newCall at 1001 1504->1001",
    ]
    assert switch.calls[call_id].connections["1504"].terminal == "1501"
    with pytest.raises(SwitchError) as busy:
        switch.make_call("1504", "1002")
    assert busy.value.reason is Refusal.NOT_IN_STATE
    sim.hangup("1501")
    assert "CallCleared normalClearing" in rec.take()


# -- held calls: what GetLogicalDeviceInformation's maxHeldCalls reports -----------------------


def test_an_ip_phone_holds_several_calls_an_analog_line_one(switch, sim, rec):
    from cstaserver.pbx.devices import HOLD_LIMIT

    for called in ("1001", "1002", "1003"):
        call_id, _ = switch.make_call("1000", called)
        switch.answer_call(call_id, called)
        switch.hold_call(call_id, "1000")
    assert switch.device("1000").held_calls() == 3 <= HOLD_LIMIT
    assert switch.device("1600").max_held_calls == 1
    first = sim.call("1600", "1004")
    sim.answer("1004")
    sim.hold("1600")
    sim.call("1600", "1005")
    sim.answer("1005")
    rec.take()
    with pytest.raises(SwitchError) as refused:
        sim.hold("1600")
    assert refused.value.reason is Refusal.NOT_IN_STATE
    active = next(c for c in switch.connections_at("1600") if c != first)
    with pytest.raises(SwitchError) as consult:
        switch.consultation_call(active, "1600", "1006")
    assert consult.value.reason is Refusal.NOT_IN_STATE
    assert rec.take() == []


def test_a_phone_talking_on_its_adn_line_makes_no_call_on_its_own_number(switch, sim, rec):
    """Its own number still rings (a multi-line phone shows the second line), but the
    phone cannot originate while it talks on the other line: hold that call first."""
    call_id, _ = switch.make_call("1000", "1503")
    sim.answer("1500")
    rec.take()
    with pytest.raises(SwitchError) as refused:
        switch.make_call("1500", "1002")
    assert refused.value.reason is Refusal.NOT_IN_STATE
    assert rec.take() == []
    second, _ = switch.make_call("1001", "1500")
    assert rec.take()[-1] == "Delivered newCall at 1500 1001->1500"
    switch.hold_call(call_id, "1503")
    switch.clear_call(second)
    rec.take()
    switch.make_call("1500", "1002")
    assert rec.take()[0] == "ServiceInitiated makeCall 1500"


# -- free or busy -----------------------------------------------------------------------------


def test_a_line_is_free_with_no_call_or_only_held_ones_and_busy_when_made_so(switch):
    line = switch.core.info("1002")
    assert not line.connections and line.is_free()
    line.busy = True  # ``sim busy``, no call at all
    assert not line.is_free()
    line.busy = False
    call_id, _ = switch.make_call("1001", "1002")
    assert not line.is_free()  # alerting
    switch.answer_call(call_id, "1002")
    switch.hold_call(call_id, "1002")
    assert line.is_free()  # only a held call
    switch.clear_call(call_id)
    assert not line.connections and line.is_free()
