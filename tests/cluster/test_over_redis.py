"""A front end and an exchange process over a real redis-server (on a free loopback port,
stopped by its PID): a client of the front end gets what a client of one process gets, in
the same order - the answers first - with the subscriptions made per monitored device."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.bus import Interest
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.testing import FakeTransport
from tests.bus.redis_server import WithRedis, eventually
from tests.cluster.harness import Single, field, names
from tests.xmlproto.xml_client import Req


class OverRedis(WithRedis, unittest.TestCase):
    timeout = 60

    async def setUp(self) -> None:
        self.start_redis()
        clock = Clock()  # the switching model's timers never run in this test
        exchange_bus, front_bus = self.node("exchange"), self.node("front")
        await defer.gatherResults([exchange_bus.when_ready(), front_bus.when_ready()])
        self.switch = Switch(demo_plan(), clock)
        self.server = ExchangeServer(exchange_bus, CstaCore(self.switch, clock), clock=clock)
        await self.server.start()
        self.addCleanup(self.server.stop)
        self.remote = RemoteSwitch(front_bus, Switch(demo_plan(), clock), clock=clock)
        self.addCleanup(self.remote.close)
        self.front = CstaCore(self.remote, clock, services=front_services(self.remote))

    async def ask(self, client: FakeTransport, body: str, events: int = 0) -> bytes:
        """One request; its answer and the ``events`` it causes."""
        before = len(client.events)
        correlation = client.receive(body)
        await eventually(lambda: client.answer_to(correlation) is not None, body)
        await eventually(lambda: len(client.events) >= before + events, f"{events} events")
        answer = client.answer_to(correlation)
        assert answer is not None
        return answer

    async def test_a_call_through_a_front_end_is_what_one_process_sends(self) -> None:
        single = Single()
        expected = single.client()
        unwatched = field(expected.request(Req.make_call("1002", "1003")), "callID")
        expected.written.clear()
        expected.request(Req.monitor_start("1000"))
        expected.request(Req.monitor_start("1001"))
        call = field(expected.request(Req.make_call("1000", "1001")), "callID")
        expected.request(Req.answer(call, "1001"))
        expected.request(Req.clear_connection(call, "1000"))
        expected.request(Req.clear_connection(unwatched, "1002"))

        client = FakeTransport()
        client.associate(self.front)
        assert field(await self.ask(client, Req.make_call("1002", "1003")), "callID") == unwatched
        assert self.remote.events_received == 0  # nothing watched, nothing received
        client.written.clear()
        await self.ask(client, Req.monitor_start("1000"))
        await self.ask(client, Req.monitor_start("1001"))
        assert self.remote.channels == ["csta:ev:default:d:1000", "csta:ev:default:d:1001"]
        assert (
            field(await self.ask(client, Req.make_call("1000", "1001"), events=3), "callID") == call
        )
        await self.ask(client, Req.answer(call, "1001"), events=2)
        await self.ask(client, Req.clear_connection(call, "1000"), events=5)
        await self.ask(client, Req.clear_connection(unwatched, "1002"))
        assert names([w.data for w in client.written]) == names([w.data for w in expected.written])
        assert client.written == expected.written

    async def test_the_exchange_builds_only_what_a_front_end_monitors(self) -> None:
        built: list[object] = []
        self.switch.subscribe(built.append, Interest())  # sees every event that is built
        client = FakeTransport()
        client.associate(self.front)
        unwatched = field(await self.ask(client, Req.make_call("1002", "1003")), "callID")
        assert built == []  # nobody monitors 1002 or 1003: nothing built
        xref = field(await self.ask(client, Req.monitor_start("1001")), "monitorCrossRefID")
        assert self.server.interest.devices == {"1001"}
        call = field(await self.ask(client, Req.make_call("1000", "1001"), events=1), "callID")
        await self.ask(client, Req.clear_connection(call, "1000"), events=2)
        assert "Delivered" in [type(event).__name__ for event in built]
        assert all("1001" in event.devices for event in built)  # type: ignore[attr-defined]
        count = len(built)
        await self.ask(client, Req.monitor_stop(xref))
        await eventually(lambda: not self.server.interest.devices, "the interest narrowed")
        await self.ask(client, Req.clear_connection(unwatched, "1002"))
        await self.ask(client, Req.make_call("1000", "1001"))
        assert len(built) == count  # no longer monitored: nothing built
