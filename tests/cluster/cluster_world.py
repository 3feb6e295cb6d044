"""A cluster's front end in front of the end-to-end tests' exchange: the clients talk to a
CSTA core whose switch is a ``RemoteSwitch``; the exchange's switch (what the tests drive:
``world.switch``, ``world.sim``, ``server.switch``) and a core of its own run behind an
``ExchangeServer``, the two linked by a ``LocalBus``.

Everything runs on the test's ``task.Clock``: what the bus carries is run by
:meth:`FrontEnd.settle` (everything due *now*, never a timer of the future), which every
memory client's flush calls first, and, for clients on real loopback sockets, a ticker on the
real reactor calls every 2 ms while the front end lives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import reactor as global_reactor
from twisted.internet import task

from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CoreLimits, CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.xmlproto.xml_client import MemoryClient, World, connect_memory, demo_core

TURNS = 10_000  # a bound on the bus's turns one settle runs (far above what a test needs)


def settle(clock: task.Clock) -> bool:
    """Run everything due now on ``clock``; True if anything ran."""
    ran = False
    for _ in range(TURNS):
        now = clock.seconds()
        if not any(call.getTime() <= now for call in clock.getDelayedCalls()):
            return ran
        clock.advance(0)
        ran = True
    raise AssertionError(f"the bus still busy after {TURNS} turns")


@attrs.define
class FrontEnd:
    """A front end's core over ``switch`` (the exchange's), and how to run and stop it."""

    core: CstaCore
    exchange_core: CstaCore
    remote: RemoteSwitch
    clock: task.Clock
    ticker: task.LoopingCall
    also: list[Callable[[], None]] = attrs.Factory(list)  # run after each tick

    def settle(self) -> bool:
        return settle(self.clock)

    def tick(self) -> None:
        self.settle()
        for action in self.also:
            action()

    def close(self) -> None:
        if self.ticker.running:
            self.ticker.stop()


def front_end(
    switch: Switch,
    clock: task.Clock,
    core: Callable[[RemoteSwitch, Any], CstaCore],
    *,
    limits: CoreLimits | None = None,
) -> FrontEnd:
    """``core(remote, services)`` builds the front end's core as the test would build its
    own, over the ``RemoteSwitch`` with the front end's service table."""
    broker = LocalBroker(clock)
    exchange_core = CstaCore(switch, clock, limits=limits)
    server = ExchangeServer(LocalBus(clock, broker, node_id="exchange"), exchange_core, clock=clock)
    remote = RemoteSwitch(
        LocalBus(clock, broker, node_id="front"), Switch(switch.plan, clock), clock=clock
    )
    front = core(remote, front_services(remote))
    ticker = task.LoopingCall(lambda: None)
    result = FrontEnd(front, exchange_core, remote, clock, ticker)
    ticker.f = result.tick
    ticker.clock = global_reactor
    started = server.start()
    settle(clock)
    assert started.called, "the exchange server did not start"
    ticker.start(0.002, now=False)
    return result


class SettlingClient(MemoryClient):
    """A memory client whose flush first lets the bus carry what is on its way."""

    front: FrontEnd | None = None

    def flush(self) -> None:
        for _ in range(100):
            super().flush()
            if self.front is None or not self.front.settle():
                return


@attrs.define
class ClusterWorld(World):
    front: FrontEnd | None = None

    def connect(self) -> MemoryClient:
        client = SettlingClient()
        client.front = self.front
        connect_memory(self.factory, client)
        self.clients.append(client)
        client.flush()
        return client

    def close(self) -> None:
        if self.front is not None:
            self.front.close()


def cluster_world(
    *,
    limits: CoreLimits | None = None,
    profile: Profile | None = None,
    authenticated: bool = False,
    system_status_on_connect: bool = False,
) -> ClusterWorld:
    """As ``make_world``, the clients' core being a front end's (see the module docstring)."""
    clock = task.Clock()
    switch = Switch(demo_plan(), clock)
    front = front_end(
        switch,
        clock,
        lambda remote, services: demo_core(
            remote, clock, limits=limits, authenticated=authenticated, services=services
        ),
        limits=limits,
    )
    factory = CstaXmlFactory(
        front.core, profile or Profile(), clock, system_status_on_connect=system_status_on_connect
    )
    world = ClusterWorld(clock, switch, front.core, Simulator(switch), factory, front=front)
    front.also.append(lambda: [client.flush() for client in world.clients])
    return world
