"""Fixtures of the switching-model tests: the demo switch on a task.Clock and an event
recorder that writes each domain event as one short line (type, cause, key fields)."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch


def _route(calling: str | None, called: str | None, via: str | None = None) -> str:
    text = f"{calling}->{called}"
    return f"{text} via {via}" if via else text


def describe(event: object) -> str:
    """One line per event: ``Type cause key-fields``."""
    name = type(event).__name__
    if isinstance(event, pbx_events.AgentEvent):
        return f"{name} {event.device} {event.agent_id} {event.state.value}"
    if isinstance(event, pbx_events.Forwarding):
        status = "on" if event.status else "off"
        return f"{name} {event.device} {event.forwarding_type.value} {status} {event.forward_to}"
    if isinstance(event, pbx_events.MessageWaiting):
        return f"{name} {event.device} {'on' if event.on else 'off'}"
    if isinstance(event, pbx_events.CallBack):
        return f"{name} {event.device}->{event.target} {'set' if event.is_set else 'cancelled'}"
    if isinstance(event, pbx_events.DoNotDisturb):
        return f"{name} {event.device} {'on' if event.on else 'off'}"
    head = f"{name} {event.cause.value}"
    match event:
        case pbx_events.ServiceInitiated():
            return f"{head} {event.device}"
        case pbx_events.Originated():
            return f"{head} {_route(event.calling_device, event.called_device)}"
        case pbx_events.NetworkReached():
            return f"{head} {event.trunk} {event.called_device}"
        case pbx_events.Delivered():
            route = _route(event.calling_device, event.called_device, event.last_redirection_device)
            return f"{head} at {event.alerting_device} {route}"
        case pbx_events.Established():
            route = _route(event.calling_device, event.called_device, event.last_redirection_device)
            return f"{head} by {event.answering_device} {route}"
        case pbx_events.ConnectionCleared():
            return f"{head} {event.releasing_device}"
        case pbx_events.Held():
            return f"{head} {event.holding_device}"
        case pbx_events.Retrieved():
            return f"{head} {event.retrieving_device}"
        case pbx_events.Transferred():
            return f"{head} by {event.transferring_device} to {event.transferred_to_device}"
        case pbx_events.Conferenced():
            return f"{head} by {event.conferencing_device} add {event.added_party}"
        case pbx_events.Diverted():
            return f"{head} {event.diverting_device}->{event.new_destination}"
        case pbx_events.Failed():
            return f"{head} at {event.failing_device}"
        case pbx_events.Queued():
            return f"{head} at {event.queue} n={event.number_queued}"
        case pbx_events.DigitsGenerated() | pbx_events.DigitsDialed():
            return f"{head} {event.device} {event.digits}"
        case pbx_events.CallInformation():
            return f"{head} {event.device}"
    return head


class Recorder:
    """Collects every event of a switch; ``take()`` returns the lines so far and forgets."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._taken = 0

    def __call__(self, event: object) -> None:
        self.events.append(event)

    def take(self) -> list[str]:
        lines = [describe(e) for e in self.events[self._taken :]]
        self._taken = len(self.events)
        return lines

    def last(self, cls: type | None = None):
        for event in reversed(self.events):
            if cls is None or isinstance(event, cls):
                return event
        raise AssertionError(f"no {cls} event")


class Monitors:
    """One recorder per device, as a device monitor of each would see the events."""

    def __init__(self, switch: Switch, *numbers: str) -> None:
        self.recorders = {n: Recorder() for n in numbers}
        for number, recorder in self.recorders.items():
            switch.subscribe_device(number, recorder)

    def take(self) -> dict[str, list[str]]:
        return {number: rec.take() for number, rec in self.recorders.items()}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def switch(clock: Clock) -> Switch:
    return Switch(demo_plan(), clock)


@pytest.fixture
def sim(switch: Switch) -> Simulator:
    return Simulator(switch)


@pytest.fixture
def rec(switch: Switch) -> Recorder:
    recorder = Recorder()
    switch.subscribe(recorder)
    return recorder


@pytest.fixture
def states(switch: Switch):
    """``states(call_id)`` -> {device: state value} of a live call ({} once it is gone)."""

    def get(call_id: str) -> dict[str, str]:
        if call_id not in switch.calls:
            return {}
        return {device: state.value for device, state in switch.snapshot_call(call_id)}

    return get
