"""The XML end-to-end tests' world (``tests.xmlproto.xml_client.make_world``) with the CSTA
core of a cluster's front end: the clients talk to a front end whose switch is a
``RemoteSwitch``; the exchange's switch (what the tests drive, as ``world.switch`` and
``world.sim``) and its core run behind an ``ExchangeServer``, the two linked by a
``LocalBus``. Everything is on the world's ``task.Clock``: what the bus carries is run by
:meth:`ClusterWorld.settle` (every memory client's flush settles first), and, for the
clients on real loopback sockets, by a ticker on the real reactor."""

from __future__ import annotations

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


class SettlingClient(MemoryClient):
    """A memory client whose flush first lets the bus carry what is on its way."""

    world: ClusterWorld | None = None

    def flush(self) -> None:
        for _ in range(100):
            super().flush()
            if self.world is None or not self.world.settle():
                return


@attrs.define
class ClusterWorld(World):
    exchange_core: CstaCore | None = None
    remote: RemoteSwitch | None = None
    ticker: Any = None

    def settle(self) -> bool:
        """Run everything due now on the clock (the bus's deliveries); True if anything ran."""
        ran = False
        for _ in range(TURNS):
            now = self.clock.seconds()
            if not any(call.getTime() <= now for call in self.clock.getDelayedCalls()):
                return ran
            self.clock.advance(0)
            ran = True
        raise AssertionError(f"the bus still busy after {TURNS} turns")

    def connect(self) -> MemoryClient:
        client = SettlingClient()
        client.world = self
        connect_memory(self.factory, client)
        self.clients.append(client)
        client.flush()
        return client

    def tick(self) -> None:
        """On the real reactor: the bus's deliveries for clients on loopback sockets."""
        self.settle()
        for client in self.clients:
            client.flush()

    def close(self) -> None:
        if self.ticker is not None and self.ticker.running:
            self.ticker.stop()


def cluster_world(
    *,
    limits: CoreLimits | None = None,
    profile: Profile | None = None,
    authenticated: bool = False,
    system_status_on_connect: bool = False,
) -> ClusterWorld:
    """As ``make_world``, the clients' core being a front end's (see the module docstring)."""
    clock = task.Clock()
    broker = LocalBroker(clock)
    switch = Switch(demo_plan(), clock)
    exchange_core = CstaCore(switch, clock, limits=limits)
    server = ExchangeServer(LocalBus(clock, broker, node_id="exchange"), exchange_core, clock=clock)
    remote = RemoteSwitch(
        LocalBus(clock, broker, node_id="front"), Switch(demo_plan(), clock), clock=clock
    )
    core = demo_core(
        remote, clock, limits=limits, authenticated=authenticated, services=front_services(remote)
    )
    factory = CstaXmlFactory(
        core, profile or Profile(), clock, system_status_on_connect=system_status_on_connect
    )
    world = ClusterWorld(
        clock,
        switch,
        core,
        Simulator(switch),
        factory,
        exchange_core=exchange_core,
        remote=remote,
    )
    started = server.start()
    world.settle()
    assert started.called, "the exchange server did not start"
    world.ticker = task.LoopingCall(world.tick)
    world.ticker.clock = global_reactor
    world.ticker.start(0.002, now=False)
    return world
