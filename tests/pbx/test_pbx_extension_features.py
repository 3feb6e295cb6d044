"""The call features of an extension (docs/call-features.md): call waiting, the on-hook
during a consultation (transfer or recall), hold recall, withheld caller ID, the message
waiting indicator, DigitsDialed and CallInformation - with the exact events each device's
monitor sees."""

from __future__ import annotations

import attrs
import pytest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.plan import OnHookConsultation
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import ForwardingType
from cstaserver.pbx.switch import Switch
from tests.pbx.conftest import Monitors


def _switch(clock, **settings) -> Switch:
    return Switch(attrs.evolve(demo_plan(), **settings), clock)


def talking(switch: Switch, calling: str, called: str) -> str:
    call_id, _ = switch.make_call(calling, called)
    switch.answer_call(call_id, called)
    return call_id


# -- call waiting --------------------------------------------------------------------------
def test_a_second_call_waits_and_answering_it_holds_the_first(switch, states):
    first = talking(switch, "1000", "1100")  # 1100: SIP extension, call waiting on
    mon = Monitors(switch, "1000", "1001", "1100")
    second, _ = switch.make_call("1001", "1100")
    assert mon.take() == {
        "1000": [],
        "1001": [
            "ServiceInitiated makeCall 1001",
            "Originated makeCall 1001->1100",
            "Delivered campOn at 1100 1001->1100",
        ],
        "1100": ["Delivered campOn at 1100 1001->1100"],
    }
    assert states(first) == {"1000": "connected", "1100": "connected"}
    assert states(second) == {"1001": "connected", "1100": "alerting"}
    switch.answer_call(second, "1100")
    assert mon.take() == {
        "1000": ["Held normal 1100"],
        "1001": ["Established newCall by 1100 1001->1100"],
        "1100": ["Held normal 1100", "Established newCall by 1100 1001->1100"],
    }
    assert states(first) == {"1000": "connected", "1100": "hold"}
    assert states(second) == {"1001": "connected", "1100": "connected"}


def test_only_one_call_waits(switch, rec):
    talking(switch, "1000", "1100")
    switch.make_call("1001", "1100")
    rec.take()
    switch.make_call("1002", "1100")
    assert rec.take()[-1] == "Failed busy at 1100"


def test_without_call_waiting_a_busy_extension_fails_busy(switch, rec):
    talking(switch, "1000", "1001")  # 1001: IP extension, call waiting off (the default)
    rec.take()
    switch.make_call("1002", "1001")
    assert rec.take()[-1] == "Failed busy at 1001"


@pytest.mark.parametrize("how", ["dnd", "sim busy", "dialling"])
def test_no_call_waits_at_a_line_that_refuses_calls(switch, sim, rec, how):
    if how == "dnd":
        talking(switch, "1000", "1100")
        switch.set_do_not_disturb("1100", True)
        expected = "Failed doNotDisturb at 1100"
    elif how == "sim busy":
        talking(switch, "1000", "1100")
        sim.busy("1100", True)
        expected = "Failed busy at 1100"
    else:
        sim.off_hook("1100")
        expected = "Failed busy at 1100"
    rec.take()
    switch.make_call("1001", "1100")
    assert rec.take()[-1] == expected


def test_a_waiting_call_rings_out_and_the_first_call_goes_on(switch, clock, rec, states):
    first = talking(switch, "1000", "1100")
    second, _ = switch.make_call("1001", "1100")
    rec.take()
    clock.advance(switch.plan.alerting_timeout)
    assert rec.take() == [
        "ConnectionCleared alertTimeOut 1100",
        "ConnectionCleared alertTimeOut 1001",
        "CallCleared alertTimeOut",
    ]
    assert second not in switch.calls
    assert states(first) == {"1000": "connected", "1100": "connected"}


def test_the_waiting_call_rings_on_when_the_first_call_ends(switch, rec, states):
    first = talking(switch, "1000", "1100")
    second, _ = switch.make_call("1001", "1100")
    switch.clear_connection(first, "1000")
    rec.take()
    switch.answer_call(second, "1100")
    assert rec.take() == ["Established newCall by 1100 1001->1100"]  # nothing to hold
    assert states(second) == {"1001": "connected", "1100": "connected"}


def test_a_waiting_call_is_forwarded_on_no_answer(switch, clock, rec, states):
    first = talking(switch, "1000", "1100")
    switch.set_forwarding("1100", ForwardingType.NO_ANSWER, "1009", True, ring_count=2)
    second, _ = switch.make_call("1001", "1100")
    rec.take()
    clock.advance(2 * switch.plan.no_answer_ring_seconds)
    assert rec.take() == [
        "Diverted callForwardNoAnswer 1100->1009",
        "Delivered callForwardNoAnswer at 1009 1001->1100 via 1100",
    ]
    assert states(first) == {"1000": "connected", "1100": "connected"}


def test_hanging_up_the_answered_waiting_call_does_not_transfer(switch, sim, states):
    """The first call was put on hold by answering a waiting call, not by a consultation:
    going on-hook clears only the second call."""
    first = talking(switch, "1000", "1100")
    second, _ = switch.make_call("1001", "1100")
    switch.answer_call(second, "1100")
    assert sim.hangup("1100") == second
    assert second not in switch.calls
    assert states(first) == {"1000": "connected", "1100": "hold"}


# -- on-hook during a consultation ---------------------------------------------------------
@pytest.fixture
def consulting(switch):
    """1000 talks to 1001, holds it and consults 1002 (answered): (held, active)."""
    held = talking(switch, "1000", "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    switch.answer_call(active, "1002")
    return held, active


@pytest.mark.parametrize("by", ["ClearConnection", "handset"])
def test_on_hook_in_a_consultation_transfers(switch, sim, states, consulting, by):
    held, active = consulting
    mon = Monitors(switch, "1000", "1001", "1002")
    if by == "handset":
        assert sim.hangup("1000") == active
    else:
        switch.clear_connection(active, "1000")
    line = "Transferred transfer by 1000 to 1002"
    assert mon.take() == {"1000": [line], "1001": [line], "1002": [line]}
    assert states(held) == {"1001": "connected", "1002": "connected"}
    assert active not in switch.calls
    assert switch.connections_at("1000") == {}


def test_on_hook_while_the_consulted_party_rings_transfers(switch, sim, states):
    held = talking(switch, "1000", "1001")
    switch.consultation_call(held, "1000", "1002")
    sim.hangup("1000")
    assert states(held) == {"1001": "connected", "1002": "alerting"}
    sim.answer("1002")
    assert states(held) == {"1001": "connected", "1002": "connected"}


def test_on_hook_after_consulting_a_busy_party_recalls_at_once(switch, sim, rec, states):
    talking(switch, "1003", "1002")  # 1002 is busy
    held = talking(switch, "1000", "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    mon = Monitors(switch, "1000", "1001")
    rec.take()
    switch.clear_connection(active, "1000")
    assert mon.take() == {
        "1000": [
            "ConnectionCleared normalClearing 1000",
            "CallCleared normalClearing",
            "Delivered recall at 1000 1001->1000",
        ],
        "1001": ["Delivered recall at 1000 1001->1000"],
    }
    assert states(held) == {"1000": "alerting", "1001": "connected"}
    sim.answer("1000")
    assert mon.take() == {
        "1000": ["Established recall by 1000 1001->1000"],
        "1001": ["Established recall by 1000 1001->1000"],
    }
    assert states(held) == {"1000": "connected", "1001": "connected"}


@pytest.fixture
def recall_mode(clock):
    switch = _switch(
        clock,
        on_hook_consultation=OnHookConsultation.RECALL,
        consultation_recall_seconds=15.0,
    )
    held = talking(switch, "1000", "1001")
    active, _ = switch.consultation_call(held, "1000", "1002")
    switch.answer_call(active, "1002")
    return switch, held, active


def test_recall_mode_clears_the_consultation_then_recalls(clock, recall_mode):
    switch, held, active = recall_mode
    mon = Monitors(switch, "1000", "1001", "1002")
    switch.clear_connection(active, "1000")
    cleared = [
        "ConnectionCleared normalClearing 1000",
        "ConnectionCleared normalClearing 1002",
        "CallCleared normalClearing",
    ]
    assert mon.take() == {
        "1000": [cleared[0], cleared[2]],  # 1000 had left when 1002 was cleared
        "1001": [],
        "1002": cleared,
    }
    clock.advance(14.9)
    assert mon.take() == {"1000": [], "1001": [], "1002": []}
    clock.advance(0.1)
    recalled = "Delivered recall at 1000 1001->1000"
    assert mon.take() == {"1000": [recalled], "1001": [recalled], "1002": []}
    switch.answer_call(held, "1000")
    answered = "Established recall by 1000 1001->1000"
    assert mon.take() == {"1000": [answered], "1001": [answered], "1002": []}


def test_recall_mode_retrieving_first_stops_the_recall(clock, recall_mode):
    switch, held, active = recall_mode
    switch.clear_connection(active, "1000")
    switch.retrieve_call(held, "1000")
    mon = Monitors(switch, "1000", "1001")
    clock.advance(60)
    assert mon.take() == {"1000": [], "1001": []}


def test_clear_call_of_a_consultation_is_no_on_hook(switch, states, consulting):
    held, active = consulting
    switch.clear_call(active)
    assert states(held) == {"1000": "hold", "1001": "connected"}


def test_the_consulted_party_hanging_up_is_no_on_hook(switch, sim, states, consulting):
    held, active = consulting
    sim.hangup("1002")
    assert states(held) == {"1000": "hold", "1001": "connected"}


# -- hold recall ---------------------------------------------------------------------------
@pytest.fixture
def recalling(clock):
    return _switch(clock, hold_recall_seconds=30.0)


def test_a_call_left_on_hold_recalls_the_holder(recalling, clock):
    switch = recalling
    call_id = talking(switch, "1000", "1001")
    mon = Monitors(switch, "1000", "1001")
    switch.hold_call(call_id, "1000")
    clock.advance(29.9)
    assert mon.take() == {"1000": ["Held normal 1000"], "1001": ["Held normal 1000"]}
    clock.advance(0.1)
    recalled = "Delivered recall at 1000 1001->1000"
    assert mon.take() == {"1000": [recalled], "1001": [recalled]}
    Simulator(switch).answer("1000")
    answered = "Established recall by 1000 1001->1000"
    assert mon.take() == {"1000": [answered], "1001": [answered]}
    assert {d: s.value for d, s in switch.snapshot_call(call_id)} == {
        "1000": "connected",
        "1001": "connected",
    }


def test_a_hold_recall_while_in_another_call_rings_as_a_waiting_call(recalling, clock):
    switch = recalling
    held = talking(switch, "1000", "1001")
    switch.hold_call(held, "1000")
    other = talking(switch, "1000", "1002")
    clock.advance(30)
    mon = Monitors(switch, "1000", "1002")
    switch.answer_call(held, "1000")
    assert mon.take() == {
        "1000": ["Held normal 1000", "Established recall by 1000 1001->1000"],
        "1002": ["Held normal 1000"],
    }
    states = {d: s.value for d, s in switch.snapshot_call(other)}
    assert states == {"1000": "hold", "1002": "connected"}


def test_retrieve_before_the_hold_recall(recalling, clock):
    switch = recalling
    call_id = talking(switch, "1000", "1001")
    switch.hold_call(call_id, "1000")
    clock.advance(20)
    switch.retrieve_call(call_id, "1000")
    mon = Monitors(switch, "1000")
    clock.advance(60)
    assert mon.take() == {"1000": []}


def test_an_unanswered_hold_recall_clears_the_call(recalling, clock):
    switch = recalling
    call_id = talking(switch, "1000", "1001")
    switch.hold_call(call_id, "1000")
    clock.advance(30)
    mon = Monitors(switch, "1001")
    clock.advance(switch.plan.alerting_timeout)
    assert mon.take() == {
        "1001": [
            "ConnectionCleared alertTimeOut 1000",
            "ConnectionCleared alertTimeOut 1001",
            "CallCleared alertTimeOut",
        ]
    }
    assert call_id not in switch.calls


def test_hold_recall_is_off_by_default(switch, clock, rec):
    call_id = talking(switch, "1000", "1001")
    switch.hold_call(call_id, "1000")
    rec.take()
    clock.advance(3600)
    assert rec.take() == []


# -- withheld caller ID --------------------------------------------------------------------
def test_an_outside_caller_withholding_its_number(switch, sim, rec, states):
    call_id = sim.call("+4685550107", "1001", withheld=True)
    delivered = rec.last()
    assert delivered.data.restricted == (("+4685550107", "0"),)
    assert delivered.data.network_calling_device == "+4685550107"
    assert switch.restricted_parties(call_id) == (("+4685550107", "0"),)
    sim.answer("1001")
    rec.take()
    switch.clear_connection(call_id, "0")  # the trunk names the withheld caller's connection
    assert rec.take() == [
        "ConnectionCleared normalClearing +4685550107",
        "ConnectionCleared normalClearing 1001",
        "CallCleared normalClearing",
    ]


def test_an_outside_caller_with_its_number(switch, sim, rec):
    call_id = sim.call("+4685550107", "1001")
    assert rec.last().data.network_calling_device == "+4685550107"
    assert switch.restricted_parties(call_id) == ()
    with pytest.raises(SwitchError) as err:
        switch.clear_connection(call_id, "0")  # no withheld party behind the trunk
    assert err.value.reason is Refusal.NOTHING_TO_CLEAR


def test_only_an_outside_caller_withholds_per_call(sim):
    with pytest.raises(SwitchError) as err:
        sim.call("1000", "1001", withheld=True)
    assert err.value.reason is Refusal.BAD_ARGUMENT


def test_an_extension_withholding_its_number(clock):
    plan = demo_plan()
    plan.extensions = [
        attrs.evolve(e, withhold_number=True) if e.number == "1002" else e for e in plan.extensions
    ]
    switch = Switch(plan, clock)
    call_id, _ = switch.make_call("1002", "1001")
    assert switch.restricted_parties(call_id) == (("1002", None),)
    other, _ = switch.make_call("1000", "1003")
    assert switch.restricted_parties(other) == ()


def test_a_withheld_caller_stays_restricted_when_transferred(switch, sim, states):
    call_id = sim.call("+4685550107", "1001", withheld=True)
    sim.answer("1001")
    consultation, _ = switch.consultation_call(call_id, "1001", "1002")
    switch.answer_call(consultation, "1002")
    survivor = switch.transfer_call(call_id, consultation, "1001")
    assert switch.restricted_parties(survivor) == (("+4685550107", "0"),)
    assert states(survivor) == {"+4685550107": "connected", "1002": "connected"}


# -- message waiting, DigitsDialed, CallInformation -----------------------------------------
def test_message_waiting_indicator(switch):
    mon = Monitors(switch, "1001", "1002")
    assert switch.get_message_waiting("1001") is False
    switch.set_message_waiting("1001", True)
    assert switch.get_message_waiting("1001") is True
    switch.set_message_waiting("+4685551001", False)  # its public number
    assert mon.take() == {
        "1001": ["MessageWaiting 1001 on", "MessageWaiting 1001 off"],
        "1002": [],
    }
    for device, reason in (("2000", Refusal.WRONG_DEVICE_KIND), ("1999", Refusal.NO_SUCH_DEVICE)):
        with pytest.raises(SwitchError) as err:
            switch.set_message_waiting(device, True)
        assert err.value.reason is reason


def test_reset_turns_the_message_waiting_indicator_off(switch, sim, rec):
    switch.set_message_waiting("1001", True)
    rec.take()
    sim.reset()
    assert rec.take() == ["MessageWaiting 1001 off"]
    assert switch.get_message_waiting("1001") is False


def test_digits_dialled_only_at_the_dialling_device(switch, sim):
    mon = Monitors(switch, "1000", "1001")
    sim.call("1000", "1001")
    assert mon.take() == {
        "1000": [
            "ServiceInitiated newCall 1000",
            "DigitsDialed normal 1000 1001",
            "Originated newCall 1000->1001",
            "Delivered newCall at 1001 1000->1001",
        ],
        "1001": ["Delivered newCall at 1001 1000->1001"],
    }


def test_make_call_from_an_off_hook_device_with_call_data(switch, sim, rec):
    sim.off_hook("1000")
    rec.take()
    call_id, _ = switch.make_call("1000", "1001", correlator_data="order-42")
    assert rec.take() == [
        "CallInformation normal 1000",
        "Originated makeCall 1000->1001",
        "Delivered newCall at 1001 1000->1001",
    ]
    assert rec.events[-3].data.correlator_data == "order-42"
    # without call data nothing changed: no CallInformation
    switch.clear_call(call_id)
    sim.off_hook("1000")
    rec.take()
    switch.make_call("1000", "1001")
    assert rec.take()[0] == "Originated makeCall 1000->1001"
