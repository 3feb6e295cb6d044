"""A cluster's front end in front of the end-to-end tests' exchange: the clients talk to a
CSTA core whose switch is a ``RemoteSwitch``; the exchange's switch (what the tests drive:
``world.switch``, ``world.sim``, ``server.switch``, ``web.switch``) and a core of its own
run behind an ``ExchangeServer``, the two linked by a ``LocalBus``.

The broker here (:class:`ImmediateBroker`) carries each message as soon as it is sent, in
the order sent (a message sent while another is being delivered waits for it), instead of on
a later reactor turn: the end-to-end tests, written against one process, see their answers
and events in the same turn as there, including those that run on a memory reactor and
expect a result at once. The bus's own timing (later turns, a real redis-server, time-outs)
is tested in ``test_front_exchange.py``, ``test_over_redis.py`` and
``test_cluster_processes.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
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
from tests.xmlproto.xml_client import World, demo_core


class ImmediateBroker(LocalBroker):
    """Delivers at once, in order (see the module docstring)."""

    delivering = False

    def later(self, action: Callable[[], None]) -> None:
        self._outbox.append(action)
        if self.delivering:
            return
        self.delivering = True
        try:
            while self._outbox:
                self._drain_one()
        finally:
            self.delivering = False

    def _drain_one(self) -> None:
        action = self._outbox.popleft()
        try:
            action()
        except Exception as error:  # as LocalBroker: one receiver's fault stops no other
            raise AssertionError(f"a receiver on the bus failed: {error!r}") from error


@attrs.define
class FrontEnd:
    """A front end's core over the exchange's switch, and the exchange's own core."""

    core: CstaCore
    exchange_core: CstaCore
    remote: RemoteSwitch


def front_end(
    switch: Switch,
    clock: Any,
    core: Callable[[RemoteSwitch, Any], CstaCore],
    *,
    limits: CoreLimits | None = None,
) -> FrontEnd:
    """``core(remote, services)`` builds the front end's core as the test would build its
    own, over the ``RemoteSwitch`` with the front end's service table."""
    broker = ImmediateBroker(clock)
    exchange_core = CstaCore(switch, clock, limits=limits)
    server = ExchangeServer(LocalBus(clock, broker, node_id="exchange"), exchange_core, clock=clock)
    remote = RemoteSwitch(
        LocalBus(clock, broker, node_id="front"), Switch(switch.plan, clock), clock=clock
    )
    started = server.start()
    assert started.called, "the exchange server did not start"
    front = core(remote, front_services(remote))
    # the routeing tables a test looks at are the exchange's, where a cluster keeps them
    front.routeing.registrations = exchange_core.routeing.registrations
    front.routeing.dialogues = exchange_core.routeing.dialogues
    return FrontEnd(front, exchange_core, remote)


def cluster_world(
    *,
    limits: CoreLimits | None = None,
    profile: Profile | None = None,
    authenticated: bool = False,
    system_status_on_connect: bool = False,
) -> World:
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
    return World(clock, switch, front.core, Simulator(switch), factory)
