"""The bus between processes over Redis (or Valkey), with txredisapi: publish/subscribe for
events and answers, one list per service for requests (``LPUSH`` by the requester, ``BRPOP``
by the one serving process), ``SET ... PX`` for shared values (``SET ... PX ... NX`` to claim
one).

- Every node subscribes to its own reply channel (``csta:reply:<node>``) on its subscriber
  connection; a request is pushed only once that subscription is in place, so no answer is
  published to nobody. Answers and their follow-up events go out on the serving node's one
  command connection, in that order, and Redis delivers a publisher's messages to a
  subscriber in the order it sent them: a client sees a response before the events it
  caused.
- A request carries its deadline (wall-clock seconds since the epoch: the nodes' clocks must
  agree to well under the time-outs, as NTP keeps them); a serving node that takes it later
  drops it, so a request answered with a time-out is never carried out afterwards.
- Connections are re-established by txredisapi (exponential back-off, at most 10 s apart);
  the subscriber connection subscribes again to every channel when it comes back. What is
  published while a node is cut off is lost for it (Redis pub/sub is at most once); requests
  waiting meanwhile fail with :class:`BusTimeout` at their time-out, none hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import txredisapi
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint
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
SERVICE_KEY = "csta:rpc:{}"
POLL_SECONDS = 1  # a serving loop notices that it was stopped within this time
BATCH = 64  # at most this many requests taken in one round trip to the broker


def _disconnect(factory: Any) -> defer.Deferred:
    """Stop reconnecting, then close what is connected. (txredisapi's own ``disconnect``
    stops its ClientService from inside the connection loss it causes, which the service's
    state machine refuses as re-entrant.)"""
    stopped = factory.stopTrying()
    for connection in list(factory.pool):
        connection.transport.loseConnection()
    return stopped


class _Subscriber(txredisapi.SubscriberProtocol):
    """The subscriber connection: (re)subscribes to the bus's channels once connected."""

    bus: RedisBus

    @defer.inlineCallbacks
    def connectionMade(self):  # Twisted hook
        yield super().connectionMade()
        bus = self.factory.bus
        channels = sorted(bus.receivers)
        if channels:
            yield self.subscribe(channels)
        bus.subscriber_ready(self)

    def messageReceived(self, pattern, channel, message):  # txredisapi hook
        self.factory.bus.deliver(channel, message)

    def connectionLost(self, reason):  # Twisted hook
        self.factory.bus.subscriber_lost(self)
        super().connectionLost(reason)


@attrs.define
class _Serving:
    service: str
    handler: Handler
    connection: Any
    stopped: bool = False
    loop: Any = None


@implementer(IBus)
class RedisBus:
    """One node's connections to Redis at ``host``:``port``."""

    def __init__(
        self,
        reactor: Any,
        host: str = "127.0.0.1",
        port: int = 6379,
        *,
        node_id: str | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.reactor, self.host, self.port, self.wall = reactor, host, port, wall
        self.node_id = node_id or new_node_id("node")
        self.receivers: dict[str, list[Receiver]] = {reply_channel(self.node_id): []}
        self._pending = PendingRequests(reactor)
        self._commands = self._connection()
        self._subscriber: _Subscriber | None = None
        self._ready: defer.Deferred = defer.Deferred()
        self._serving: dict[str, _Serving] = {}
        self._closed = False
        factory = txredisapi.SubscriberFactory(isLazy=True)
        factory.protocol = _Subscriber
        factory.bus = self
        factory.reconnect = True
        factory.convertNumbers = False  # payloads are text, "42" included
        factory.startConnecting(TCP4ClientEndpoint(reactor, host, port, timeout=5))
        self._subscriber_factory = factory

    def _connection(self) -> Any:
        return txredisapi.lazyConnection(
            self.host, self.port, reconnect=True, connectTimeout=5, convertNumbers=False
        )

    # -- the subscriber connection -----------------------------------------------------------

    def subscriber_ready(self, subscriber: _Subscriber) -> None:
        self._subscriber = subscriber
        log.info(
            "bus: {node} connected to redis {host}:{port}",
            node=self.node_id,
            host=self.host,
            port=self.port,
        )
        if not self._ready.called:
            self._ready.callback(None)

    def subscriber_lost(self, subscriber: _Subscriber) -> None:
        if self._subscriber is subscriber:
            self._subscriber = None
            if not self._closed:
                log.warn(
                    "bus: {node} lost redis {host}:{port}",
                    node=self.node_id,
                    host=self.host,
                    port=self.port,
                )

    def deliver(self, channel: str, message: str) -> None:
        if channel == reply_channel(self.node_id):
            self._pending.answered(message)
            return
        for receiver in list(self.receivers.get(channel, ())):
            try:
                receiver(channel, message)
            except Exception:
                log.failure("bus: a receiver of {channel} failed", channel=channel)

    @property
    def connected(self) -> bool:
        return self._subscriber is not None

    def when_ready(self) -> defer.Deferred:
        """Fires once the node first subscribed to its reply channel."""
        ready: defer.Deferred = defer.Deferred()
        self._ready.addBoth(lambda result: (ready.callback(None), result)[1])
        return ready

    # -- events ------------------------------------------------------------------------------

    def publish(self, channel: str, payload: str) -> defer.Deferred:
        """Fires with the number of subscribers that got it, or None when the broker could
        not take it (logged: events are at most once, a publisher does not wait or retry)."""
        published = self._commands.publish(channel, payload)
        published.addErrback(self._not_published, channel)
        return published

    def _not_published(self, failure: Any, channel: str) -> None:
        log.warn(
            "bus: not published to {channel}: {error}",
            channel=channel,
            error=failure.getErrorMessage(),
        )

    async def _subscribe(self, channel: str, receiver: Receiver) -> Callable[[], None]:
        receivers = self.receivers.setdefault(channel, [])
        receivers.append(receiver)
        if len(receivers) == 1 and self._subscriber is not None:
            await self._subscriber.subscribe([channel])

        def stop() -> None:
            if receiver in receivers:
                receivers.remove(receiver)
            if not receivers and self.receivers.get(channel) is receivers:
                del self.receivers[channel]
                if self._subscriber is not None:  # no answer if the bus closes meanwhile
                    self._subscriber.unsubscribe([channel]).addErrback(lambda _: None)

        return stop

    def subscribe(self, channel: str, receiver: Receiver) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._subscribe(channel, receiver))

    # -- requests ----------------------------------------------------------------------------

    def request(self, service: str, payload: str, timeout: float) -> defer.Deferred:
        if self._closed:
            return defer.fail(BusError("the bus is closed"))
        request_id, waiting = self._pending.add(service, timeout)
        envelope = RequestEnvelope(request_id, self.node_id, self.wall() + timeout, payload)

        def push(_: object) -> Any:
            if waiting.called:  # timed out while the broker was away: not sent at all
                return None
            return self._commands.lpush(SERVICE_KEY.format(service), envelope.encode())

        def failed(failure: Any) -> None:
            self._pending.fail(
                request_id, BusError(f"cannot reach redis: {failure.getErrorMessage()}")
            )

        self.when_ready().addCallback(push).addErrback(failed)
        return waiting

    def serve(self, service: str, handler: Handler) -> defer.Deferred:
        if service in self._serving:
            return defer.fail(BusError(f"{service} is already served by this node"))
        serving = _Serving(service, handler, self._connection())
        self._serving[service] = serving
        serving.loop = defer.Deferred.fromCoroutine(self._serve(serving))
        serving.loop.addErrback(
            lambda f: log.failure("bus: serving {service} stopped", f, service=service)
        )

        def stop() -> Any:
            serving.stopped = True
            self._serving.pop(service, None)
            return _disconnect(serving.connection._factory)

        return defer.succeed(stop)

    async def _serve(self, serving: _Serving) -> None:
        key = SERVICE_KEY.format(serving.service)
        while not serving.stopped:
            try:
                item = await serving.connection.brpop([key], timeout=POLL_SECONDS)
            except Exception as error:  # the broker went away: txredisapi reconnects
                if serving.stopped:
                    return
                log.debug(
                    "bus: brpop {service}: {error}", service=serving.service, error=str(error)
                )
                await task.deferLater(self.reactor, 0.5, lambda: None)
                continue
            if not item or serving.stopped:
                continue
            texts = [item[1]]
            try:  # what else waits, taken in the same round trip (RPOP with a count)
                more = await serving.connection.execute_command("RPOP", key, BATCH - 1)
            except Exception:  # the broker went away: those stay queued for the next take
                more = None
            texts += list(more or ())
            for text in texts:
                await self._answer(serving, text)

    async def _answer(self, serving: _Serving, text: str) -> None:
        """Run one request and publish its answer and follow-ups, in that order, on the
        command connection (not waited for: the next request is taken meanwhile, and the
        connection keeps the order)."""
        envelope = RequestEnvelope.decode(text)
        if self.wall() >= envelope.deadline:  # the asker gives up at the deadline
            log.info(
                "bus: dropped a request for {service} past its deadline", service=serving.service
            )
            return
        answer, then = await run_handler(serving.handler, envelope)
        self.publish(reply_channel(envelope.reply_to), answer)
        for channel, payload in then:
            self.publish(channel, payload)

    # -- values ------------------------------------------------------------------------------

    def put(self, key: str, value: str, ttl: float) -> defer.Deferred:
        return self._commands.set(key, value, pexpire=max(1, int(ttl * 1000)))

    def get(self, key: str) -> defer.Deferred:
        return self._commands.get(key)

    def delete(self, key: str) -> defer.Deferred:
        return self._commands.delete(key)

    def claim(self, key: str, value: str, ttl: float) -> defer.Deferred:
        stored = self._commands.set(
            key, value, pexpire=max(1, int(ttl * 1000)), only_if_not_exists=True
        )
        return stored.addCallback(lambda answer: answer is not None)

    # -- the end -----------------------------------------------------------------------------

    async def _close(self) -> None:
        self._pending.fail_all(BusError("the bus was closed"))
        stops = [_disconnect(s.connection._factory) for s in self._serving.values()]
        for serving in self._serving.values():
            serving.stopped = True
        self._serving.clear()
        stops.append(_disconnect(self._commands._factory))
        stops.append(_disconnect(self._subscriber_factory))
        await defer.gatherResults(stops, consumeErrors=True).addErrback(lambda _: None)

    def close(self) -> defer.Deferred:
        if self._closed:
            return defer.succeed(None)
        self._closed = True
        return defer.Deferred.fromCoroutine(self._close())

    @property
    def waiting(self) -> int:
        return len(self._pending)
