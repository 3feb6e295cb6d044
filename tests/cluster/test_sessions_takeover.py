"""Application sessions shared by front ends over the in-process bus (docs/cluster.md,
"Application sessions"): a client whose connection dropped reattaches through another front
end with its session ID and gets the same session, its monitors and their crossRefIDs; the
same-user rule, the cleanup delay, a front end that died, a session still attached, racing
reattaches, and the record's lifetime."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.sessions import RELEASE_TIMEOUT, xref_prefix
from cstaserver.csta.grace import EXPIRY_GRACE
from cstaserver.csta.sessions import SAVE_DELAY
from tests.cluster.session_fronts import (
    CLEANUP_DELAY,
    OTHER_PASSWORD,
    OTHER_USER,
    Fronts,
    gather,
    refused,
)
from tests.xmlproto.xml_client import Req, names

NO_ESTABLISHED = "<callcontrol><established>true</established></callcontrol>"


class SharedSessions(unittest.TestCase):
    async def setUp(self) -> None:
        self.clock = Clock()
        broker = LocalBroker(self.clock)
        buses = [LocalBus(self.clock, broker, node_id=name) for name in ("front-a", "front-b")]
        buses.append(LocalBus(self.clock, broker, node_id="front-c"))
        self.world = Fronts(self.clock, buses)
        await self.world.share()
        self.addCleanup(self.world.stop)
        self.a, self.b, self.c = self.world.fronts

    async def detached_session(self) -> tuple[str, str, str]:
        """csta_user starts a session on front A with two monitors (one filtered), then its
        connection drops."""
        client = self.a.connect()
        session_id = await self.world.start_session(client)
        plain = await client.monitor("1001")
        filtered = await client.monitor("1002", NO_ESTABLISHED)
        await client.disconnect()
        await self.world.settle()
        assert self.a.sessions[session_id].association is None
        return session_id, plain, filtered

    async def test_a_session_moves_to_another_front_with_its_monitors(self) -> None:
        session_id, plain, filtered = await self.detached_session()
        assert plain.startswith(xref_prefix("front-a"))
        client = self.b.connect()
        frame = await self.world.reattach(client, session_id)
        assert frame.name == "StartApplicationSessionPosResponse", frame.body.decode()
        assert frame.message.session_id == session_id
        # the monitors live on B now, with their crossRefIDs; A dropped its copy silently
        assert sorted(m.cross_ref_id for m in self.b.core.monitors) == sorted([plain, filtered])
        assert session_id not in self.a.sessions and len(self.a.core.monitors) == 0
        call_id, _ = self.world.switch.make_call("1000", "1001")
        delivered = await client.next_event("DeliveredEvent")
        assert delivered.message.monitor_cross_ref_id == plain
        self.world.switch.answer_call(call_id, "1001")
        assert await client.next_event("EstablishedEvent")
        # 1002's filter came along: no EstablishedEvent for it
        self.world.switch.make_call("1003", "1002")
        events = await client.drain()
        assert "ApplicationSessionTerminated" not in names(events)
        assert {e.message.monitor_cross_ref_id for e in events} == {filtered}
        assert "DeliveredEvent" in names(events) and "EstablishedEvent" not in names(events)
        record = await self.world.record(session_id)
        assert record is not None and record.front == "front-b"
        # the client goes on as before: its crossRefIDs work, and new ones have B's prefix
        await client.ok(Req.monitor_stop(plain))
        assert (await client.monitor("1004")).startswith(xref_prefix("front-b"))

    async def test_another_user_is_refused_and_the_session_stays(self) -> None:
        session_id, plain, _ = await self.detached_session()
        thief = self.b.connect()
        login = {"user": OTHER_USER, "password": OTHER_PASSWORD}
        assert refused(await self.world.reattach(thief, session_id, **login)) == (
            "invalidApplicationInfo"
        )
        anonymous = self.b.connect()
        frame = await self.world.reattach(anonymous, session_id, user=None, password=None)
        assert refused(frame) == "invalidApplicationInfo"
        assert session_id in self.a.sessions and self.a.core.monitors.get(plain) is not None
        assert session_id not in self.b.sessions and len(self.b.core.monitors) == 0
        owner = self.c.connect()
        frame = await self.world.reattach(owner, session_id)  # the owner still may
        assert frame.message.session_id == session_id

    async def test_after_the_cleanup_delay_the_session_is_unknown(self) -> None:
        session_id, _, _ = await self.detached_session()
        await self.world.advance(CLEANUP_DELAY + 1)
        assert await self.world.record(session_id) is None
        frame = await self.world.reattach(self.b.connect(), session_id)
        assert refused(frame) == "invalidApplicationInfo"

    async def test_a_session_of_a_front_that_died_is_taken_over(self) -> None:
        client = self.a.connect()
        session_id = await self.world.start_session(client)
        xref = await client.monitor("1001")
        await self.world.advance(SAVE_DELAY)  # the monitor reached the record
        await self.a.bus.close()  # front A dies: it answers nothing any more
        frame = await self.world.reattach(self.b.connect(), session_id, wait=RELEASE_TIMEOUT)
        assert frame.message.session_id == session_id
        assert [m.cross_ref_id for m in self.b.core.monitors] == [xref]

    async def test_a_session_still_attached_elsewhere_is_not_taken(self) -> None:
        owner = self.a.connect()
        session_id = await self.world.start_session(owner)
        xref = await owner.monitor("1001")
        frame = await self.world.reattach(self.b.connect(), session_id)
        assert refused(frame) == "invalidApplicationInfo"
        assert self.a.sessions[session_id].association is not None
        self.world.switch.make_call("1000", "1001")
        delivered = await owner.next_event("DeliveredEvent")
        assert delivered.message.monitor_cross_ref_id == xref
        # the refused front end's claim is free again: after a drop the owner comes back
        await owner.disconnect()
        frame = await self.world.reattach(self.b.connect(), session_id)
        assert frame.message.session_id == session_id

    async def test_of_two_racing_reattaches_one_wins(self) -> None:
        session_id, plain, _ = await self.detached_session()
        on_b, on_c = self.b.connect(), self.c.connect()
        frames = await gather(
            on_b.request(Req.start_session(reattach=session_id)),
            on_c.request(Req.start_session(reattach=session_id)),
            Deferred.fromCoroutine(self.world.settle()),
        )
        outcomes = sorted(frame.name for frame in frames[:2])
        assert outcomes == [
            "StartApplicationSessionNegResponse",
            "StartApplicationSessionPosResponse",
        ]
        holders = [f for f in (self.a, self.b, self.c) if session_id in f.sessions]
        assert len(holders) == 1 and holders[0] is not self.a
        assert holders[0].core.monitors.get(plain) is not None

    async def test_back_on_the_same_front_the_gap_is_replayed(self) -> None:
        session_id, plain, _ = await self.detached_session()
        self.world.switch.make_call("1000", "1001")  # an event in the gap, buffered on A
        client = self.a.connect()
        frame = await self.world.reattach(client, session_id)
        assert frame.message.session_id == session_id
        replayed = await client.next_event("DeliveredEvent")
        assert replayed.message.monitor_cross_ref_id == plain

    async def test_stop_removes_the_record(self) -> None:
        client = self.a.connect()
        session_id = await self.world.start_session(client)
        await self.world.settle()
        assert await self.world.record(session_id) is not None
        await client.ok(Req.stop_session(session_id), "StopApplicationSessionPosResponse")
        await self.world.settle()
        assert await self.world.record(session_id) is None
        frame = await self.world.reattach(self.b.connect(), session_id)
        assert refused(frame) == "invalidApplicationInfo"

    async def test_the_record_lives_as_long_as_the_session_timer(self) -> None:
        client = self.a.connect()
        session_id = await self.world.start_session(client, duration=60)
        await self.world.advance(50)
        await client.ok(
            Req.reset_session_timer(session_id, 60), "ResetApplicationSessionTimerPosResponse"
        )
        await self.world.advance(50)  # 100 s after the start: kept by the reset
        record = await self.world.record(session_id)
        assert record is not None and record.duration == 60
        await self.world.advance(11)  # the timer ran out: the session ends, its record too
        await self.world.advance(EXPIRY_GRACE)
        assert session_id not in self.a.sessions
        assert await self.world.record(session_id) is None

    async def test_monitor_changes_reach_the_record(self) -> None:
        client = self.a.connect()
        session_id = await self.world.start_session(client)
        first = await client.monitor("1001")
        second = await client.monitor("1002")
        await client.ok(Req.monitor_stop(first))
        await self.world.advance(SAVE_DELAY)
        record = await self.world.record(session_id)
        assert record is not None
        assert [(m.cross_ref_id, m.device) for m in record.monitors] == [(second, "1002")]

    async def test_a_front_that_fails_to_release_keeps_the_session(self) -> None:
        session_id, plain, _ = await self.detached_session()

        def broken(session_id: str) -> str:
            raise RuntimeError("release failed")

        self.a.core.sessions.release = broken
        frame = await self.world.reattach(self.b.connect(), session_id)
        assert refused(frame) == "invalidApplicationInfo"
        assert session_id in self.a.sessions and session_id not in self.b.sessions
        assert self.a.core.monitors.get(plain) is not None
        record = await self.world.record(session_id)
        assert record is not None and record.front == "front-a"
