"""Interest: the switch builds a call event only when a subscription wants it (its call, one
of its devices, its class, or everything), and what is built is delivered as before."""

from __future__ import annotations

import random

import pytest
from twisted.internet.task import Clock

from cstaserver.csta.monitors import MonitorRegistry
from cstaserver.csta.routeing import RouteingService
from cstaserver.pbx.behaviour import Behaviour, People, Reaction
from cstaserver.pbx.bus import EventBus, Interest
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.events import CallCleared, Delivered, Queued
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import ConnectionState
from cstaserver.pbx.switch import Switch


def _names(events: list) -> list[str]:
    return [type(e).__name__ for e in events]


def _built(switch: Switch) -> list:
    """A witness: sees every event that is built for someone, wants none itself."""
    seen: list = []
    switch.subscribe(seen.append, Interest())
    return seen


def _traffic(switch: Switch) -> None:
    """Calls among 1000..1003 and 1005: answered, held and retrieved, a consultation
    transferred, cleared."""
    sim = Simulator(switch)
    first, _ = switch.make_call("1000", "1001")
    sim.answer("1001")
    switch.hold_call(first, "1001")
    switch.retrieve_call(first, "1001")
    switch.clear_call(first)
    held, _ = switch.make_call("1002", "1003")
    sim.answer("1003")
    active, _ = switch.consultation_call(held, "1002", "1005")
    sim.answer("1005")
    switch.transfer_call(held, active, "1002")
    for call_id in list(switch.calls):
        switch.clear_call(call_id)


def test_nobody_interested_nothing_built():
    switch = Switch(demo_plan(), Clock())
    built = _built(switch)
    monitored = Interest()
    monitored.want_device("1004")
    switch.subscribe(lambda event: None, monitored)
    _traffic(switch)
    assert built == []


@pytest.mark.parametrize(
    "want",
    [
        pytest.param(lambda i: i.want_device("1001"), id="device"),
        pytest.param(lambda i: i.want_device("1003"), id="device-transferred"),
        pytest.param(lambda i: i.want_kind(Delivered), id="kind"),
    ],
)
def test_what_is_wanted_is_what_everything_sees(want):
    """The events a narrow subscription acts on are the ones a subscription to everything
    sees, in the same order and equal field by field."""
    everything: list = []
    plain = Switch(demo_plan(), Clock())
    plain.subscribe(everything.append)
    _traffic(plain)

    narrow: list = []
    switch = Switch(demo_plan(), Clock())
    interest = Interest()
    want(interest)
    switch.subscribe(narrow.append, interest)
    _traffic(switch)

    def relevant(event) -> bool:
        return bool(
            interest.devices & set(event.devices)
            or interest.calls & set(event.call_ids)
            or type(event) in interest.kinds
        )

    expected = [e for e in everything if relevant(e)]
    assert expected, "the traffic concerns the interest"
    assert [e for e in narrow if relevant(e)] == expected
    assert len(narrow) < len(everything)  # the others were not built


def test_a_call_interest_and_its_end():
    switch = Switch(demo_plan(), Clock())
    call_id, _ = switch.make_call("1000", "1001")
    seen: list = []
    interest = Interest()
    interest.want_call(call_id)
    stop = switch.subscribe(seen.append, interest)
    other, _ = switch.make_call("1002", "1003")
    switch.clear_call(other)
    switch.clear_call(call_id)
    assert {e.call_id for e in seen} == {call_id}
    assert _names(seen)[-1] == "CallCleared"
    stop()
    stop()  # twice is harmless
    assert not switch.core.bus.wants(CallCleared, call_id, ["1000"])


def test_keyed_subscriptions_are_interest():
    bus = EventBus()
    stop_device = bus.subscribe_device("1001", lambda event: None)
    stop_call = bus.subscribe_call("7", lambda event: None)
    assert bus.wants(Delivered, "1", ["1000"], ["1001"])
    assert bus.wants(Delivered, "7")
    assert not bus.wants(Delivered, "1", ["1000", "1002"])
    stop_device()
    stop_device()
    stop_call()
    assert not bus.wants(Delivered, "7", ["1001"])


def test_interest_changes_reach_the_bus_and_leave_with_the_subscription():
    bus = EventBus()
    interest = Interest()
    interest.want_kind(Delivered)
    stop = bus.subscribe(lambda event: None, interest)
    assert bus.wants(Delivered, "1") and not bus.wants(Queued, "1")
    interest.want_call("9")
    interest.want_device("1001")
    assert bus.wants(Queued, "9") and bus.wants(Queued, "1", ["1001"])
    interest.drop_call("9")
    interest.drop_device("1001")
    interest.drop_kind(Delivered)
    assert not bus.wants(Delivered, "9", ["1001"])
    interest.want_all()
    assert bus.wants(Queued, "1")
    stop()
    assert not bus.wants(Queued, "1")
    with pytest.raises(ValueError):
        other = EventBus()
        other.subscribe(lambda event: None, interest)
        bus.subscribe(lambda event: None, interest)  # already another subscription's


def test_a_subscription_without_interest_wants_everything():
    switch = Switch(demo_plan(), Clock())
    built = _built(switch)
    stop = switch.subscribe(lambda event: None)
    switch.make_call("1000", "1001")
    assert _names(built) == ["ServiceInitiated", "Originated", "Delivered"]
    stop()
    switch.make_call("1002", "1003")
    assert len(built) == 3


def test_events_caused_during_a_delivery_are_built():
    """A subscriber that calls back into the switch: what that causes is built and queued
    after the event being delivered (its subscribers may change their interest meanwhile)."""
    switch = Switch(demo_plan(), Clock())
    built = _built(switch)
    interest = Interest()
    interest.want_kind(Delivered)

    def answer(event) -> None:
        if isinstance(event, Delivered):
            switch.answer_call(event.call_id, event.alerting_device)

    switch.subscribe(answer, interest)
    switch.make_call("1000", "1001")
    assert _names(built) == ["Delivered", "Established"]


class _Owner:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def deliver_event(self, data: bytes) -> None:
        self.received.append(data)


class _Template:
    def __init__(self, event) -> None:
        self.name = type(event).__name__

    def render(self, xref: str) -> bytes:
        return f"{self.name}#{xref}".encode()


def test_the_monitor_registry_wants_its_monitored_devices_and_calls():
    switch = Switch(demo_plan(), Clock())
    built = _built(switch)
    registry = MonitorRegistry(switch, lambda event, monitor: _Template(event))
    _traffic(switch)
    assert built == []  # no monitor: no event

    owner = _Owner()
    monitor = registry.start(owner, device="1001")
    call_id, _ = switch.make_call("1000", "1001")
    switch.make_call("1002", "1003")  # nobody watches it
    assert _names(built) == ["Delivered"]
    assert owner.received == [f"Delivered#{monitor.cross_ref_id}".encode()]

    registry.stop(monitor.cross_ref_id)
    follower = registry.start(owner, call_id=call_id)
    switch.clear_call(call_id)
    assert owner.received[-1] == f"CallCleared#{follower.cross_ref_id}".encode()
    registry.stop(follower.cross_ref_id)
    built.clear()
    switch.make_call("1004", "1001")
    assert built == []


def test_routeing_wants_queued_only_while_registered():
    switch = Switch(demo_plan(), Clock())
    service = RouteingService(switch, Clock(), lambda association: None)
    bus = switch.core.bus
    assert not bus.wants(Queued, "1")

    class Association:
        peer = "test"
        closed = False

    registration = service.register(Association(), None)
    assert bus.wants(Queued, "1")
    service.cancel(registration.association, registration.register_id)
    assert not bus.wants(Queued, "1")


def test_the_people_want_delivered_only_while_someone_has_a_profile():
    switch = Switch(demo_plan(), Clock())
    people = People(switch)
    bus = switch.core.bus
    assert not bus.wants(Delivered, "1", ["1001"])
    people.set("1001", Behaviour(Reaction.ANSWER, after=1))
    assert bus.wants(Delivered, "1", ["1001"])
    people.set("1001", Behaviour(Reaction.MANUAL))
    assert not bus.wants(Delivered, "1", ["1001"])
    people.set("1002", Behaviour(Reaction.REJECT, after=1))
    people.reset()
    assert not bus.wants(Delivered, "1", ["1002"])


PHONES = [f"100{i}" for i in range(10)] + ["1100", "1101", "1102", "1103"]
TARGETS = [*PHONES, "2000", "2001", "2100", "+4685550107"]


def _random_traffic(switch: Switch, clock: Clock, seed: int, steps: int = 120) -> None:
    """The same random walk of phone actions, outside calls and time on any switch built
    the same way (a refused action is part of the walk)."""
    rng = random.Random(seed)
    sim = Simulator(switch)

    def phone_in(*states: ConnectionState) -> str:
        """A phone with a connection in one of ``states`` (any phone if none has)."""
        found = [
            p for p in PHONES if any(c.state in states for c in switch.connections_at(p).values())
        ]
        return rng.choice(found or PHONES)

    ringing, talking = (ConnectionState.ALERTING,), (ConnectionState.CONNECTED,)
    actions = [
        lambda: sim.call(rng.choice([*PHONES, "+4685550107"]), rng.choice(TARGETS)),
        lambda: sim.call(rng.choice(PHONES), rng.choice(TARGETS)),
        lambda: sim.answer(phone_in(*ringing)),
        lambda: sim.answer(phone_in(*ringing)),
        lambda: sim.hangup(phone_in(*talking)),
        lambda: sim.hangup(rng.choice(PHONES)),
        lambda: sim.hold(phone_in(*talking)),
        lambda: sim.retrieve(phone_in(ConnectionState.HOLD)),
        lambda: sim.consult(phone_in(*talking), rng.choice(TARGETS)),
        lambda: sim.join(phone_in(ConnectionState.HOLD), rng.choice(["transfer", "conference"])),
        lambda: sim.park(phone_in(*talking), rng.choice(PHONES)),
        lambda: sim.pickup(rng.choice(PHONES), rng.choice([None, phone_in(*ringing)])),
        lambda: sim.reject(phone_in(*ringing)),
        lambda: sim.forward(
            rng.choice(PHONES), "immediate", rng.choice(PHONES), rng.random() < 0.5
        ),
        lambda: sim.dnd(rng.choice(PHONES), rng.random() < 0.3),
        lambda: clock.advance(rng.choice([0.5, 5.0, 40.0])),
    ]
    for _ in range(steps):
        try:
            rng.choice(actions)()
        except SwitchError:
            pass


@pytest.mark.parametrize("seed", range(6))
def test_a_random_walk_sees_the_same_events_through_an_interest(seed):
    rng = random.Random(1000 + seed)
    devices = set(rng.sample(TARGETS, 3))
    kinds = {rng.choice([Delivered, Queued, CallCleared])} if seed % 2 else set()

    def relevant(event) -> bool:
        return bool(devices & set(event.devices) or type(event) in kinds)

    seen: dict[str, list] = {}
    ends: dict[str, dict] = {}
    for name in ("everything", "interest"):
        clock = Clock()
        switch = Switch(demo_plan(), clock)
        events: list = []
        if name == "everything":
            switch.subscribe(events.append)
        else:
            interest = Interest()
            for device in devices:
                interest.want_device(device)
            for kind in kinds:
                interest.want_kind(kind)
            switch.subscribe(events.append, interest)
        _random_traffic(switch, clock, seed)
        seen[name] = [e for e in events if relevant(e)]
        ends[name] = {
            call_id: {d: c.state for d, c in call.connections.items()}
            for call_id, call in switch.calls.items()
        }
    assert seen["interest"] == seen["everything"]
    assert ends["interest"] == ends["everything"]  # the switch did the same
