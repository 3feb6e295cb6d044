"""ECMA TR/82 external scenarios: outgoing (answered, busy, no answer), incoming, trunks
busy, and Make Predictive Call (an outbound call centre: outside party first, then the agent;
the outcomes at an ACD group are in test_pbx_predictive.py)."""

from __future__ import annotations

import attrs
import pytest

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch


def test_outgoing_external_answered(switch, clock, rec, states):
    call_id, _ = switch.make_call("1000", "0812345")
    assert rec.take() == [
        "ServiceInitiated makeCall 1000",
        "Originated makeCall 1000->0812345",
        "NetworkReached normal 0 0812345",
        "Delivered newCall at 0812345 1000->0812345",
    ]
    assert states(call_id) == {"1000": "connected", "0812345": "alerting"}
    clock.advance(switch.plan.network.answer_delay)
    assert rec.take() == ["Established newCall by 0812345 1000->0812345"]
    assert switch.snapshot_device("0812345")[0][1].value == "connected"
    switch.clear_connection(call_id, "1000")
    assert rec.take()[-1] == "CallCleared normalClearing"


def test_outgoing_external_busy(switch, rec, states):
    call_id, _ = switch.make_call("1000", "0812348")
    assert rec.take()[-2:] == ["NetworkReached normal 0 0812348", "Failed busy at 0812348"]
    assert states(call_id) == {"1000": "fail"}


def test_outgoing_external_no_answer(switch, clock, rec):
    switch.make_call("1000", "0812349")
    rec.take()
    clock.advance(switch.plan.alerting_timeout)
    assert rec.take() == [
        "ConnectionCleared alertTimeOut 0812349",
        "ConnectionCleared alertTimeOut 1000",
        "CallCleared alertTimeOut",
    ]


def test_outgoing_external_dialled_manually(switch, sim, clock, rec, states):
    """A person dials an outside number at the handset (TR/82 7.2): the same call as by
    MakeCall, but new call / DigitsDialed instead of makeCall."""
    call_id = sim.call("1000", "0812345")
    assert rec.take() == [
        "ServiceInitiated newCall 1000",
        "DigitsDialed normal 1000 0812345",
        "Originated newCall 1000->0812345",
        "NetworkReached normal 0 0812345",
        "Delivered newCall at 0812345 1000->0812345",
    ]
    assert states(call_id) == {"1000": "connected", "0812345": "alerting"}
    clock.advance(switch.plan.network.answer_delay)
    assert rec.take() == ["Established newCall by 0812345 1000->0812345"]
    sim.hangup("1000")
    assert rec.take()[-1] == "CallCleared normalClearing"


def test_outgoing_external_by_public_number_of_other_exchange(switch, clock, rec, states):
    call_id, _ = switch.make_call("1000", "+4631123456")
    assert "NetworkReached normal 0 +4631123456" in rec.take()


def test_incoming_external(switch, sim, rec, states):
    call_id = sim.call("+4685550107", "+4685551001")
    assert rec.take() == ["Delivered newCall at 1001 +4685550107->1001"]
    assert states(call_id) == {"+4685550107": "connected", "1001": "alerting"}
    sim.answer("1001")
    assert rec.take() == ["Established newCall by 1001 +4685550107->1001"]
    assert switch.snapshot_device("+4685550107")[0][2] == ["1001"]
    sim.hangup("1001")
    assert rec.take() == [
        "ConnectionCleared normalClearing 1001",
        "ConnectionCleared normalClearing +4685550107",
        "CallCleared normalClearing",
    ]


def test_incoming_external_to_busy_extension(sim, rec):
    sim.busy("1001", True)
    sim.call("+4685550107", "1001")
    assert rec.take() == [
        "Failed busy at 1001",
        "ConnectionCleared normalClearing +4685550107",
        "CallCleared normalClearing",
    ]


def test_incoming_to_unknown_number_refused(sim, rec):
    with pytest.raises(SwitchError) as err:
        sim.call("+4685550107", "1999")
    assert err.value.reason is Refusal.BAD_CALLED_NUMBER


def test_trunks_busy(clock):
    plan = demo_plan()
    plan.network = attrs.evolve(plan.network, trunk_count=1)
    switch = Switch(plan, clock)
    sim = Simulator(switch)
    sim.call("+4685550107", "1001")
    with pytest.raises(SwitchError) as err:
        sim.call("+4685550108", "1002")
    assert err.value.reason is Refusal.ALL_TRUNKS_BUSY
    events: list = []
    switch.subscribe(events.append)
    call_id, _ = switch.make_call("1000", "0812345")
    assert events[-1].cause.value == "trunksBusy"
    assert switch.snapshot_call(call_id)[0][1].value == "fail"


def test_predictive_call_outside_busy(switch, sim, rec):
    sim.agent("1001", "login", "5001")
    sim.agent("1001", "ready")
    rec.take()
    switch.make_predictive_call("2000", "0812348")
    assert rec.take() == [
        "NetworkReached normal 0 0812348",
        "Failed busy at 0812348",
        "CallCleared busy",
    ]
    assert switch.snapshot_device("1001") == [] and switch.calls == {}


def test_predictive_call_from_extension(switch, clock, rec, states):
    call_id, _ = switch.make_predictive_call("1000", "0812345")
    clock.advance(switch.plan.network.answer_delay)
    assert rec.take()[-1] == "Delivered newCall at 1000 1000->0812345"
    switch.answer_call(call_id, "1000")
    assert states(call_id) == {"0812345": "connected", "1000": "connected"}
