"""Front ends sharing application sessions over one bus, for the tests: each front end is a
CSTA core (the demo exchange data's authentication, plus a second user of application
``demo``) with its XML port and a bus node; the cores share one switch on one
``task.Clock`` (the events of a front end's monitors come from it directly: forwarding the
exchange's events over the bus is another module's job). Clients are in-memory XML clients."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.internet import defer, task
from twisted.internet import reactor as global_reactor
from twisted.internet.task import Clock

from cstaserver.cluster.sessions import RECORD_KEY, decode_record, share_sessions
from cstaserver.config import Limits, UserCredential, demo_exchange_data
from cstaserver.config.passwords import hash_password
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CstaCore
from cstaserver.csta.service import make_core
from cstaserver.csta.sessions import SessionRecord
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.xmlproto.xml_client import Frame, MemoryClient, Req, connect_memory

OTHER_USER, OTHER_PASSWORD = "other_user", "other-password"
CLEANUP_DELAY = 30
_applications: list[Any] = []


def applications() -> Sequence[Any]:
    """The demo application with a second user (its password hashed once per run)."""
    if not _applications:
        exchange = demo_exchange_data()
        demo = exchange.authentication.applications[0]
        other = UserCredential(OTHER_USER, hash_password(OTHER_PASSWORD))
        _applications.append(attrs.evolve(demo, users=(*demo.users, other)))
    return tuple(_applications)


@attrs.define
class Front:
    """One front end: its core, its XML port, its bus node."""

    bus: Any
    core: CstaCore
    factory: CstaXmlFactory
    clients: list[MemoryClient] = attrs.Factory(list)
    stop_serving: Callable[[], Any] | None = None

    def connect(self) -> MemoryClient:
        client = connect_memory(self.factory)
        self.clients.append(client)
        return client

    @property
    def sessions(self) -> dict[str, Any]:
        return self.core.sessions.sessions


class Fronts:
    """Front ends on ``buses`` (one node each), one switch, one clock.

    ``real_time``: the buses need the real reactor (Redis): each turn also lets it run."""

    def __init__(self, clock: Clock, buses: Sequence[Any], *, real_time: bool = False) -> None:
        self.clock = clock
        self.real_time = real_time
        self.switch = Switch(demo_plan(), clock)
        limits = Limits(session_cleanup_delay=CLEANUP_DELAY)
        self.fronts = []
        for bus in buses:
            core = make_core(self.switch, clock, limits=limits, applications=applications)
            factory = CstaXmlFactory(core, Profile(), clock)
            self.fronts.append(Front(bus, core, factory))

    async def share(self) -> None:
        for front in self.fronts:
            front.stop_serving = await share_sessions(front.core, front.bus)

    def stop(self) -> None:
        for front in self.fronts:
            for client in front.clients:
                client.disconnect()
            front.core.stop()

    # -- time ------------------------------------------------------------------------------
    async def turn(self) -> None:
        """One reactor turn for the buses; what the servers wrote reaches the clients."""
        self.clock.advance(0)
        if self.real_time:
            await task.deferLater(global_reactor, 0.01, lambda: None)
        for front in self.fronts:
            for client in front.clients:
                client.flush()

    async def settle(self, turns: int = 20) -> None:
        for _ in range(turns):
            await self.turn()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.settle()

    async def answer(self, client: MemoryClient, request: str, *, wait: float = 0) -> Frame:
        """Send ``request``; let the buses work (and ``wait`` seconds of the clock pass, in
        steps) until it is answered."""
        answered = client.request(request)
        steps = 0
        while not answered.called and steps < 500:  # bounded: 500 turns
            await self.turn()
            if wait and not answered.called:
                self.clock.advance(min(wait, 0.5))
            steps += 1
        return await answered

    async def start_session(self, client: MemoryClient, **login: Any) -> str:
        frame = await self.answer(client, Req.start_session(**login))
        assert frame.name == "StartApplicationSessionPosResponse", frame.body.decode()
        return str(frame.message.session_id)

    async def reattach(
        self, client: MemoryClient, session_id: str, *, wait: float = 0, **login: Any
    ) -> Frame:
        request = Req.start_session(reattach=session_id, **login)
        return await self.answer(client, request, wait=wait)

    async def record(self, session_id: str) -> SessionRecord | None:
        """The session's record on the bus, as any node reads it."""
        text = await self.fronts[0].bus.get(RECORD_KEY.format(session_id))
        return None if text is None else decode_record(text)


def refused(frame: Frame) -> str | None:
    """The definedError of a StartApplicationSessionNegResponse, else None."""
    if frame.name != "StartApplicationSessionNegResponse":
        return None
    return str(frame.message.error_code.defined_error.value)


async def gather(*deferreds: defer.Deferred) -> list[Any]:
    return await defer.gatherResults(list(deferreds))
