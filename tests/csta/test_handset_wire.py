"""The keys of a simulated phone on the wire (ECMA-323 3rd edition): what a monitor's client
receives when the person holds, retrieves, rejects or dials key by key."""

from __future__ import annotations

from twisted.internet.task import Clock

from cstaserver.csta import namespaces
from cstaserver.csta.codec import encode
from cstaserver.csta.deviceid import PrefixNumberPlan
from cstaserver.csta.events import to_csta
from cstaserver.csta.presentation import Presenter
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch

PLAN = PrefixNumberPlan(public_prefix="+468555", internal_length=4)


def _wire(events: list[object], viewer: str) -> list[tuple[str, str]]:
    """(event name, its XML) as the monitor of ``viewer`` gets them."""
    out = []
    for event in events:
        message = to_csta(event, Presenter(PLAN), viewer)
        out.append((type(message).__name__, encode(message, namespaces.ED3).decode()))
    return out


def test_hold_key_and_reject_key_carry_key_operation():
    switch = Switch(demo_plan(), Clock())
    sim = Simulator(switch)
    switch.make_call("1000", "1001")
    sim.answer("1001")
    events: list[object] = []
    switch.subscribe(events.append)
    sim.hold("1001")
    sim.retrieve("1001")
    sim.hangup("1001")
    switch.make_call("1000", "1001")
    sim.reject("1001")
    wire = _wire(events, "1000")
    names = [name for name, _ in wire]
    assert names[:2] == ["HeldEvent", "RetrievedEvent"]
    assert all("<cause>keyOperation</cause>" in xml for _, xml in wire[:2])
    cleared, failed = wire[-2], wire[-1]
    assert cleared[0] == "ConnectionClearedEvent" and "<cause>keyOperation</cause>" in cleared[1]
    assert "<deviceID>1001</deviceID>" in cleared[1]
    assert failed[0] == "FailedEvent" and "<cause>busy</cause>" in failed[1]


def test_each_key_dialled_is_one_digits_dialed_event():
    switch = Switch(demo_plan(), Clock())
    events: list[object] = []
    switch.subscribe(events.append)
    Simulator(switch).dial("1000", "1001")
    dialled = [xml for name, xml in _wire(events, "1000") if name == "DigitsDialedEvent"]
    assert len(dialled) == 4
    assert [x.split("<dialingSequence>")[1].split("<")[0] for x in dialled] == list("1001")
