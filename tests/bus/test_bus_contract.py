"""The bus's guarantees (cstaserver/bus), the same tests for the in-process implementation and
for Redis (a real redis-server on a loopback port): order per publisher, answers before
their follow-up events, time-outs that are never carried out later, values that expire,
and, for Redis, surviving a kill -9 of the broker."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from cstaserver.bus import BusError, BusTimeout, LocalBroker, LocalBus, RemoteFailure, Reply
from tests.bus.redis_server import WAIT, WithRedis, eventually


class BusContract:
    """Two nodes, ``serving`` (an exchange process) and ``asking`` (a front end)."""

    serving: Any
    asking: Any

    async def test_subscribers_receive_in_publish_order(self) -> None:
        got: list[str] = []
        await self.asking.subscribe("csta:events:1", lambda _, payload: got.append(payload))
        for n in range(50):
            self.serving.publish("csta:events:1", str(n))
        await eventually(lambda: len(got) == 50, "50 events")
        assert got == [str(n) for n in range(50)]

    async def test_a_request_is_answered_by_the_serving_node(self) -> None:
        await self.serving.serve("exchange:1", lambda body: body.upper())
        assert await self.asking.request("exchange:1", "make call", 5) == "MAKE CALL"
        assert self.asking.waiting == 0

    async def test_an_answer_comes_before_the_events_it_caused(self) -> None:
        seen: list[str] = []
        await self.asking.subscribe("csta:events:1", lambda _, payload: seen.append(payload))
        events = (("csta:events:1", "delivered"), ("csta:events:1", "established"))
        await self.serving.serve("exchange:1", lambda body: Reply("response", then=events))
        answered = self.asking.request("exchange:1", "answer call", 5)
        answered.addCallback(seen.append)
        await eventually(lambda: len(seen) == 3, "the answer and two events")
        assert seen == ["response", "delivered", "established"]

    async def test_a_failing_handler_is_a_remote_failure(self) -> None:
        def refuse(body: str) -> str:
            raise ValueError(f"no device {body}")

        await self.serving.serve("exchange:1", refuse)
        with self.assertRaises(RemoteFailure) as caught:
            await self.asking.request("exchange:1", "9999", 5)
        assert (caught.exception.kind, caught.exception.message) == ("ValueError", "no device 9999")

    async def test_a_timed_out_request_is_never_carried_out_later(self) -> None:
        carried_out: list[str] = []
        with self.assertRaises(BusTimeout):
            await self.asking.request("exchange:1", "too late", 0.2)
        await self.serving.serve("exchange:1", lambda body: carried_out.append(body) or "done")
        assert await self.asking.request("exchange:1", "in time", 5) == "done"
        assert carried_out == ["in time"]

    async def test_values_expire(self) -> None:
        await self.serving.put("csta:session:abc", '{"user": "csta_user"}', 0.2)
        assert await self.asking.get("csta:session:abc") == '{"user": "csta_user"}'
        gone: list[Any] = []

        async def poll() -> None:
            gone.append(await self.asking.get("csta:session:abc"))

        for _ in range(int(WAIT / 0.05)):
            await poll()
            if gone[-1] is None:
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        assert gone[-1] is None
        await self.serving.put("csta:session:def", "x", 60)
        await self.serving.delete("csta:session:def")
        assert await self.asking.get("csta:session:def") is None

    async def test_only_one_claim_of_a_key_wins_until_it_expires_or_is_deleted(self) -> None:
        key = "csta:session-claim:abc"
        claims = [self.serving.claim(key, "exchange", 0.3), self.asking.claim(key, "front", 0.3)]
        won = await defer.gatherResults(claims)
        assert sorted(won) == [False, True]
        winner = "exchange" if won[0] else "front"
        assert await self.asking.get(key) == winner  # the loser stored nothing
        again: list[bool] = []
        for _ in range(int(WAIT / 0.05)):  # expired: free to claim again
            again.append(await self.asking.claim(key, "front", 60))
            if again[-1]:
                break
            await task.deferLater(reactor, 0.05, lambda: None)
        assert again[-1] is True and await self.serving.get(key) == "front"
        assert await self.serving.claim(key, "exchange", 60) is False
        await self.asking.delete(key)
        assert await self.serving.claim(key, "exchange", 60) is True

    async def test_closing_fails_the_requests_still_waiting(self) -> None:
        waiting = self.asking.request("exchange:nobody", "hello", 60)
        await self.asking.close()
        with self.assertRaises(BusError):
            await waiting


class LocalBusTests(BusContract, unittest.TestCase):
    def setUp(self) -> None:
        broker = LocalBroker(reactor)
        self.serving = LocalBus(reactor, broker, node_id="exchange")
        self.asking = LocalBus(reactor, broker, node_id="front")
        self.addCleanup(self.serving.close)
        self.addCleanup(self.asking.close)


class LocalBusDeadlineTests(unittest.TestCase):
    """On one clock: a request taken exactly at its deadline is the asker's time-out, so it is
    dropped, not carried out."""

    def test_a_request_taken_at_its_deadline_is_not_carried_out(self) -> None:
        clock = task.Clock()
        broker = LocalBroker(clock)
        serving = LocalBus(clock, broker, node_id="exchange")
        asking = LocalBus(clock, broker, node_id="front")
        carried_out: list[str] = []
        waiting = asking.request("exchange:1", "at the deadline", 1.0)
        failures: list[Any] = []
        waiting.addErrback(failures.append)
        clock.advance(1.0)
        serving.serve("exchange:1", lambda body: carried_out.append(body) or "done")
        clock.advance(0)
        clock.advance(0)
        assert failures and failures[0].check(BusTimeout)
        assert carried_out == []


class RedisBusTests(BusContract, WithRedis, unittest.TestCase):
    timeout = 60

    async def setUp(self) -> None:
        self.start_redis()
        self.serving = self.node("exchange")
        self.asking = self.node("front")
        await defer.gatherResults([self.serving.when_ready(), self.asking.when_ready()])

    async def test_kill_9_of_redis_and_its_return_are_survived(self) -> None:
        events: list[str] = []
        await self.asking.subscribe("csta:events:1", lambda _, payload: events.append(payload))
        await self.serving.serve("exchange:1", lambda body: f"done {body}")
        assert await self.asking.request("exchange:1", "before", 5) == "done before"
        self.redis.kill()
        with self.assertRaises(BusError):  # refused or timed out: never a hang
            await self.asking.request("exchange:1", "meanwhile", 1)
        self.redis.start()  # the same port, nothing kept
        answers: list[str] = []
        for attempt in range(40):  # each attempt bounded by its time-out
            try:
                answers.append(await self.asking.request("exchange:1", f"after {attempt}", 1))
                break
            except BusError:  # the broker is not back yet
                await task.deferLater(reactor, 0.2, lambda: None)
        assert answers and answers[0].startswith("done after")
        for _ in range(int(WAIT / 0.1)):  # the subscriber has subscribed again
            self.serving.publish("csta:events:1", "back")
            if events:
                break
            await task.deferLater(reactor, 0.1, lambda: None)
        assert events and set(events) == {"back"}
