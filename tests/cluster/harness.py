"""An exchange process and front ends in one test, over one LocalBroker on a task.Clock, and
the single process to compare them with: both driven by XML request bodies through real
associations (``cstaserver.testing.FakeTransport``)."""

from __future__ import annotations

from typing import Any

from twisted.internet.task import Clock

from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.csta import codec
from cstaserver.csta.core import CoreLimits, CstaCore
from cstaserver.csta.service import make_core
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.testing import FakeTransport

TIMEOUT = 2.0


def settle(clock: Clock, turns: int = 200) -> None:
    """Run what is due now (the bus delivers on later reactor turns), at most ``turns``."""
    for _ in range(turns):
        if not any(call.getTime() <= clock.seconds() for call in clock.getDelayedCalls()):
            return
        clock.advance(0)
    raise AssertionError(f"still busy after {turns} turns")


class Single:
    """One process: the switch and the CSTA core together."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.switch = Switch(demo_plan(), self.clock)
        self.sim = Simulator(self.switch)
        self.core = CstaCore(self.switch, self.clock)

    def client(self) -> FakeTransport:
        transport = FakeTransport()
        transport.associate(self.core)
        return transport

    def settle(self) -> None:
        settle(self.clock)


class Cluster:
    """An exchange process (serving unless ``serving=False``) and front ends on one broker."""

    def __init__(self, *, serving: bool = True) -> None:
        self.clock = Clock()
        self.broker = LocalBroker(self.clock)
        self.switch = Switch(demo_plan(), self.clock)
        self.sim = Simulator(self.switch)
        self.exchange_core = CstaCore(self.switch, self.clock)
        self.exchange_bus = LocalBus(self.clock, self.broker, node_id="exchange")
        self.server = ExchangeServer(self.exchange_bus, self.exchange_core, clock=self.clock)
        self.fronts: list[tuple[RemoteSwitch, CstaCore]] = []
        if serving:
            self.start()

    def start(self) -> None:
        started = self.server.start()
        settle(self.clock)
        assert started.called

    def front(self) -> tuple[RemoteSwitch, CstaCore]:
        bus = LocalBus(self.clock, self.broker, node_id=f"front-{len(self.fronts) + 1}")
        remote = RemoteSwitch(
            bus, Switch(demo_plan(), self.clock), clock=self.clock, timeout=TIMEOUT
        )
        core = make_core(  # as the composition layer builds a core
            remote,
            self.clock,
            limits=CoreLimits(),
            applications=tuple,
            services=front_services(remote),
        )
        self.fronts.append((remote, core))
        return remote, core

    def client(self, core: CstaCore | None = None) -> FakeTransport:
        if core is None:
            core = self.fronts[0][1] if self.fronts else self.front()[1]
        transport = FakeTransport()
        transport.associate(core)
        return transport

    def settle(self) -> None:
        settle(self.clock)


def ask(world: Any, client: FakeTransport, body: str) -> bytes:
    """Send one request, let the bus carry everything, and return the answer."""
    correlation = client.receive(body)
    world.settle()
    answer = client.answer_to(correlation)
    assert answer is not None, f"no answer to {body}"
    return answer


def names(messages: list[bytes]) -> list[str]:
    return [codec.decode(data).name for data in messages]


def field(data: bytes, name: str) -> str:
    """The text of the first element called ``name`` in a message."""
    root = codec.decode(data).element
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.rpartition("}")[2] == name:
            return (element.text or "").strip()
    raise AssertionError(f"no {name} in {data!r}")
