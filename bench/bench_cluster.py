"""Timing of the cluster's data plane (not a test; docs/cluster.md), one core, in process:
the events' JSON codec per event, and a client's MakeCall + ClearCall with two monitors
through a front end and an exchange over the in-process bus, against one process.

.venv/bin/python bench/bench_cluster.py
"""

from __future__ import annotations

import re
import timeit
from time import perf_counter

from twisted.internet.task import Clock

from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.codec import decode_event
from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.cluster.wire import event_message
from cstaserver.csta.core import CstaCore
from cstaserver.csta.namespaces import ED3
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.testing import FakeTransport

CALLS = 2000


def sample_events() -> list[object]:
    """A call made, answered, held, retrieved and cleared; an outside call; an agent."""
    switch = Switch(demo_plan(), Clock())
    sim = Simulator(switch)
    events: list[object] = []
    switch.subscribe(events.append)
    call, _ = switch.make_call("1000", "1001", correlator_data="c0ffee")
    sim.answer("1001")
    switch.hold_call(call, "1000")
    switch.retrieve_call(call, "1000")
    switch.clear_call(call)
    sim.call("+4685550107", "1002")
    sim.answer("1002")
    sim.hangup("+4685550107")
    sim.agent("1003", "login", "5003")
    return events


def rate(label: str, func: object, number: int, per: int = 1) -> None:
    """``func`` handles ``per`` items; the rate and time per item."""
    seconds = min(timeit.repeat(func, number=number, repeat=3)) / per  # type: ignore[arg-type]
    print(f"{label:<52} {number / seconds:>10,.0f} /s  {seconds / number * 1e6:7.1f} µs")


def settle(clock: Clock) -> None:
    for _ in range(1000):
        if not any(c.getTime() <= clock.seconds() for c in clock.getDelayedCalls()):
            return
        clock.advance(0)


def request(clock: Clock, client: FakeTransport, body: str) -> bytes:
    correlation = client.receive(body)
    settle(clock)
    answer = client.answer_to(correlation)
    assert answer is not None
    return answer


def calls_per_second(cluster: bool) -> float:
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    core = CstaCore(switch, clock)
    if cluster:
        broker = LocalBroker(clock)
        ExchangeServer(LocalBus(clock, broker), core, clock=clock).start()
        remote = RemoteSwitch(LocalBus(clock, broker), Switch(demo_plan(), clock), clock=clock)
        core = CstaCore(remote, clock, services=front_services(remote))
        settle(clock)
    client = FakeTransport()
    client.associate(core)
    for device in ("1000", "1001"):
        request(
            clock,
            client,
            f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>'
            f"{device}</deviceObject></monitorObject></MonitorStart>",
        )
    started = perf_counter()
    for _ in range(CALLS):
        made = request(
            clock,
            client,
            f'<MakeCall xmlns="{ED3}"><callingDevice>1000'
            "</callingDevice><calledDirectoryNumber>1001</calledDirectoryNumber></MakeCall>",
        )
        call = re.search(rb"<callID>([^<]+)</callID>", made).group(1).decode()  # type: ignore[union-attr]
        request(
            clock,
            client,
            f'<ClearCall xmlns="{ED3}"><callToBeCleared><callID>{call}</callID>'
            "<deviceID>1000</deviceID></callToBeCleared></ClearCall>",
        )
        client.written.clear()
    return CALLS / (perf_counter() - started)


def main() -> None:
    events = sample_events()
    texts = [event_message("run", n, e) for n, e in enumerate(events, 1)]
    size = sum(map(len, texts)) / len(texts)
    print(f"{len(events)} sample events, {size:.0f} bytes each on the bus on average")
    encode = lambda: [event_message("run", 1, e) for e in events]  # noqa: E731
    rate("encode an event for the bus", encode, 200, len(events))
    decoded = [t[t.index('"e":') + 4 : -1] for t in texts]
    rate(
        "decode an event from the bus", lambda: [decode_event(t) for t in decoded], 200, len(events)
    )
    single, cluster = calls_per_second(False), calls_per_second(True)
    print(f"{'MakeCall + ClearCall, 2 monitors, one process':<52} {single:>10,.0f} /s")
    print(f"{'the same through a front end and an exchange':<52} {cluster:>10,.0f} /s")


if __name__ == "__main__":
    main()
