"""The ``sim`` controls: what they refuse, and edge cases of terminals and callers."""

from __future__ import annotations

import pytest

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.states import ForwardingType, TerminalMode


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (lambda sim: sim.answer("1001"), Refusal.NO_CALL_TO_ANSWER),
        (lambda sim: sim.hangup("1001"), Refusal.NOTHING_TO_CLEAR),
        (lambda sim: sim.hold("1001"), Refusal.NO_ACTIVE_CALL),
        (lambda sim: sim.retrieve("1001"), Refusal.NO_HELD_CALL),
        (lambda sim: sim.busy("2000", True), Refusal.WRONG_DEVICE_KIND),
        (lambda sim: sim.mode("1001", "loud"), Refusal.BAD_ARGUMENT),
        (lambda sim: sim.mode("1999", "manual"), Refusal.NO_SUCH_DEVICE),
        (lambda sim: sim.call("1400", "1001"), Refusal.BAD_CALLING_DEVICE),
        (lambda sim: sim.call("2000", "1001"), Refusal.BAD_CALLING_DEVICE),
        (lambda sim: sim.call("+4685550107", "1999"), Refusal.BAD_CALLED_NUMBER),
        (lambda sim: sim.call("+4685550107", "+4685550107"), Refusal.BAD_CALLED_NUMBER),
        (lambda sim: sim.hangup("+4685550107"), Refusal.NOTHING_TO_CLEAR),
        (lambda sim: sim.agent("1001", "ready"), Refusal.NOT_IN_STATE),
        (lambda sim: sim.agent("1009", "login", "5001"), Refusal.WRONG_DEVICE_KIND),
    ],
)
def test_sim_refusals(sim, rec, action, expected):
    with pytest.raises(SwitchError) as err:
        action(sim)
    assert err.value.reason is expected
    assert err.value.message
    assert rec.take() == []


def test_off_hook_twice_refused(sim):
    sim.off_hook("1000")
    with pytest.raises(SwitchError) as err:
        sim.off_hook("1000")
    assert err.value.reason is Refusal.NOT_IN_STATE


def test_dialling_own_number_is_busy(sim, rec):
    sim.call("1000", "1000")
    assert rec.take()[-1] == "Failed busy at 1000"


def test_forwarded_back_to_the_caller_is_busy(switch, rec, states):
    switch.set_forwarding("1001", ForwardingType.IMMEDIATE, "1000", True)
    call_id, _ = switch.make_call("1000", "1001")
    assert rec.take()[-1] == "Failed busy at 1000"
    assert states(call_id) == {"1000": "fail"}


def test_outside_party_answers_early_and_hangs_up(switch, sim, rec):
    call_id, _ = switch.make_call("1000", "0812349")  # would never answer by itself
    assert sim.answer("0812349") == call_id
    assert rec.take()[-1] == "Established newCall by 0812349 1000->0812349"
    assert sim.hangup("0812349") == call_id
    assert rec.take()[-1] == "CallCleared normalClearing"


def test_hangup_prefers_the_active_call(switch, sim, states):
    held, _ = switch.make_call("1000", "1001")
    switch.answer_call(held, "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    assert sim.hangup("1000") == active
    # on-hook in the consultation: transfer on hang-up (docs/call-features.md)
    assert states(held) == {"1001": "connected", "1002": "alerting"}


def test_mode_round_trip(switch, sim):
    sim.mode("1000", "manual")
    assert switch.device("1000").mode is TerminalMode.MANUAL
    sim.mode("1000", TerminalMode.HANDSFREE)
    assert switch.device("1000").mode is TerminalMode.HANDSFREE


def test_busy_off_lets_queued_call_reach_agent(switch, sim, rec):
    sim.agent("1006", "login", "5006")
    sim.agent("1006", "ready")
    sim.busy("1006", True)
    sim.call("+4685550107", "2001")
    assert rec.take()[-1] == "Queued noAvailableAgents at 2001 n=1"
    sim.busy("1006", False)
    assert rec.take()[-1] == "Delivered distributed at 1006 +4685550107->2001 via 2001"
