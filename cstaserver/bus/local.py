"""The bus inside one process (the default: no broker). :class:`LocalBroker` plays the part
Redis plays between processes - channels, request queues, values with a time to live - and
each :class:`LocalBus` is one node's connection to it, with the same guarantees as the Redis
implementation: per-publisher order, a request never carried out after its deadline, answers
before their follow-up events. Deliveries happen on a later reactor turn, never inside the
caller's stack, as they would over a network."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.bus.envelope import (
    PendingRequests,
    RequestEnvelope,
    new_node_id,
    reply_channel,
    run_handler,
)
from cstaserver.bus.interfaces import BusError, Handler, IBus, Receiver

log = Logger()


class LocalBroker:
    """Channels, service queues and values shared by the :class:`LocalBus` nodes of one
    process, delivered in order on the clock's next turns."""

    def __init__(self, clock: IReactorTime) -> None:
        self.clock = clock
        self.wall = clock.seconds  # one process, one clock: deadlines on it
        self.receivers: dict[str, list[Receiver]] = {}
        self.servers: dict[str, Callable[[str], None]] = {}
        self.queues: dict[str, deque[str]] = {}
        self.values: dict[str, tuple[str, float]] = {}
        self._outbox: deque[Callable[[], None]] = deque()
        self._scheduled = False

    def later(self, action: Callable[[], None]) -> None:
        self._outbox.append(action)
        if not self._scheduled:
            self._scheduled = True
            self.clock.callLater(0, self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        for _ in range(len(self._outbox)):  # what these actions add runs on the next turn
            action = self._outbox.popleft()
            try:
                action()
            except Exception:
                log.failure("local bus: a receiver failed")
        if self._outbox and not self._scheduled:
            self._scheduled = True
            self.clock.callLater(0, self._drain)

    def publish(self, channel: str, payload: str) -> int:
        receivers = list(self.receivers.get(channel, ()))
        for receiver in receivers:
            self.later(lambda r=receiver: r(channel, payload))
        return len(receivers)

    def push(self, service: str, envelope: str) -> None:
        self.queues.setdefault(service, deque()).append(envelope)
        self.later(lambda: self.take(service))

    def take(self, service: str) -> None:
        server, queue = self.servers.get(service), self.queues.get(service)
        while server is not None and queue:
            server(queue.popleft())


@implementer(IBus)
class LocalBus:
    """One node on a :class:`LocalBroker` (a new broker of its own when none is given)."""

    def __init__(
        self,
        clock: IReactorTime,
        broker: LocalBroker | None = None,
        *,
        node_id: str | None = None,
    ) -> None:
        self.broker = broker or LocalBroker(clock)
        self.clock = clock
        self.node_id = node_id or new_node_id("local")
        self._pending = PendingRequests(clock)
        self._stops: list[Callable[[], None]] = []
        self._closed = False
        self._subscribe_now(
            reply_channel(self.node_id), lambda _, text: self._pending.answered(text)
        )

    def _subscribe_now(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        receivers = self.broker.receivers.setdefault(channel, [])
        receivers.append(receiver)

        def stop() -> None:
            if receiver in receivers:
                receivers.remove(receiver)

        self._stops.append(stop)
        return stop

    def publish(self, channel: str, payload: str) -> defer.Deferred:
        return defer.succeed(self.broker.publish(channel, payload))

    def subscribe(self, channel: str, receiver: Receiver) -> defer.Deferred:
        return defer.succeed(self._subscribe_now(channel, receiver))

    def request(self, service: str, payload: str, timeout: float) -> defer.Deferred:
        if self._closed:
            return defer.fail(BusError("the bus is closed"))
        request_id, waiting = self._pending.add(service, timeout)
        deadline = self.broker.wall() + timeout
        envelope = RequestEnvelope(request_id, self.node_id, deadline, payload)
        self.broker.push(service, envelope.encode())
        return waiting

    def serve(self, service: str, handler: Handler) -> defer.Deferred:
        if service in self.broker.servers:
            return defer.fail(BusError(f"{service} is already served"))

        def take(text: str) -> None:
            envelope = RequestEnvelope.decode(text)
            if self.broker.wall() >= envelope.deadline:  # the asker gives up at the deadline
                log.info("bus: dropped a request for {service} past its deadline", service=service)
                return
            defer.Deferred.fromCoroutine(self._answer(handler, envelope))

        self.broker.servers[service] = take
        self.broker.later(lambda: self.broker.take(service))

        def stop() -> None:
            if self.broker.servers.get(service) is take:
                del self.broker.servers[service]

        self._stops.append(stop)
        return defer.succeed(stop)

    async def _answer(self, handler: Handler, envelope: RequestEnvelope) -> None:
        answer, then = await run_handler(handler, envelope)
        self.broker.publish(reply_channel(envelope.reply_to), answer)
        for channel, payload in then:
            self.broker.publish(channel, payload)

    def put(self, key: str, value: str, ttl: float) -> defer.Deferred:
        self.broker.values[key] = (value, self.clock.seconds() + ttl)
        return defer.succeed(None)

    def get(self, key: str) -> defer.Deferred:
        value, expires = self.broker.values.get(key, (None, 0.0))
        if value is not None and self.clock.seconds() >= expires:
            del self.broker.values[key]
            value = None
        return defer.succeed(value)

    def delete(self, key: str) -> defer.Deferred:
        self.broker.values.pop(key, None)
        return defer.succeed(None)

    def claim(self, key: str, value: str, ttl: float) -> defer.Deferred:
        now = self.clock.seconds()
        current, expires = self.broker.values.get(key, (None, 0.0))
        if current is not None and now < expires:
            return defer.succeed(False)
        self.broker.values[key] = (value, now + ttl)
        return defer.succeed(True)

    def close(self) -> defer.Deferred:
        self._closed = True
        for stop in self._stops:
            stop()
        self._stops.clear()
        self._pending.fail_all(BusError("the bus was closed"))
        return defer.succeed(None)

    @property
    def waiting(self) -> int:
        """Requests of this node waiting for an answer."""
        return len(self._pending)
