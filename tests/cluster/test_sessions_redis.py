"""Application sessions shared over Redis (a real redis-server on a loopback port, started and
stopped by its PID): a client reattaches through another front end and keeps its session
and its monitors' crossRefIDs; another user is refused; stopping the session removes its
record (docs/cluster.md, "Application sessions")."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from tests.bus.redis_server import WithRedis
from tests.cluster.session_fronts import OTHER_PASSWORD, OTHER_USER, Fronts, refused
from tests.xmlproto.xml_client import Req


class SharedSessionsOverRedis(WithRedis, unittest.TestCase):
    timeout = 60

    async def setUp(self) -> None:
        self.start_redis()
        buses = [self.node(name) for name in ("front-a", "front-b")]
        await defer.gatherResults([bus.when_ready() for bus in buses])
        self.world = Fronts(Clock(), buses, real_time=True)
        await self.world.share()
        self.addCleanup(self.world.stop)
        self.a, self.b = self.world.fronts

    async def test_reattach_through_another_front_end(self) -> None:
        first = self.a.connect()
        session_id = await self.world.start_session(first)
        xref = await first.monitor("1001")
        await first.disconnect()
        await self.world.settle()
        thief = self.b.connect()
        login = {"user": OTHER_USER, "password": OTHER_PASSWORD}
        frame = await self.world.reattach(thief, session_id, **login)
        assert refused(frame) == "invalidApplicationInfo"
        client = self.b.connect()
        frame = await self.world.reattach(client, session_id)
        assert frame.message.session_id == session_id
        assert [m.cross_ref_id for m in self.b.core.monitors] == [xref]
        assert session_id not in self.a.sessions and len(self.a.core.monitors) == 0
        self.world.switch.make_call("1000", "1001")
        delivered = await client.next_event("DeliveredEvent")
        assert delivered.message.monitor_cross_ref_id == xref
        record = await self.world.record(session_id)
        assert record is not None and record.front == "front-b"
        await client.ok(Req.stop_session(session_id), "StopApplicationSessionPosResponse")
        for _ in range(100):  # the delete is on its way to redis: bounded wait
            if await self.world.record(session_id) is None:
                break
            await self.world.turn()
        assert await self.world.record(session_id) is None
