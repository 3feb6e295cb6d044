"""Events for SOAP clients (ECMA-348 5th edition Annex A / Ecma TR/90: WS-Eventing style
``Subscribe`` + ``NotifyTo``; plus a long-poll ``GetEvents``).

An association's events (ECMA-269 monitor events, ECMA-354 ApplicationSessionTerminated)
arrive here as ECMA-323 documents. Two ways out:

- :class:`EventQueue`: kept (bounded, oldest dropped first) until a ``GetEvents`` long poll
  takes them; events written in one reactor turn (a response's held events) go out together;
- :class:`Subscription`: each event is POSTed as a SOAP 1.1 one-way message to the client's
  ``NotifyTo`` URL with ``twisted.web.client.Agent``, one at a time and in order, each POST
  retried a few times with a growing delay. An event that still fails is dropped and counted;
  after ``max_failures`` such events in a row the subscription ends. Posting never blocks the
  core, other clients or other subscriptions; the queue per subscription is bounded.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from cstaserver.csta.codec import escape_text
from cstaserver.soap.envelope import SOAP11, SOAP_NS, response_envelope

log = Logger()

#: Events kept per channel for GetEvents (oldest dropped first).
QUEUE_LIMIT = 1000
#: The longest GetEvents wait a client may ask for, in seconds.
MAX_POLL_SECONDS = 60.0


class EventQueue:
    """Events waiting for a long poll; several pollers are served in arrival order."""

    def __init__(self, clock: Any, *, limit: int = QUEUE_LIMIT) -> None:
        self.clock = clock
        self.events: collections.deque[bytes] = collections.deque(maxlen=limit)
        self.dropped = 0
        self._waiters: list[tuple[defer.Deferred, int, Any]] = []
        self._flush_call: Any = None

    def __len__(self) -> int:
        return len(self.events)

    def push(self, data: bytes) -> None:
        if len(self.events) == self.events.maxlen:
            self.dropped += 1
        self.events.append(data)
        if self._waiters and self._flush_call is None:
            # batch what the same reactor turn writes (a response's events come together)
            self._flush_call = self.clock.callLater(0, self._flush)

    def take(self, max_events: int) -> list[bytes]:
        count = min(max_events, len(self.events))
        return [self.events.popleft() for _ in range(count)]

    def wait(self, timeout: float, max_events: int) -> defer.Deferred:
        """Fires with up to ``max_events`` events: at once if some wait, else when one
        arrives or after ``timeout`` seconds (capped) with an empty list."""
        if self.events or timeout <= 0:
            return defer.succeed(self.take(max_events))
        timeout = min(timeout, MAX_POLL_SECONDS)
        waiter: defer.Deferred = defer.Deferred(lambda d: self._forget(d))
        call = self.clock.callLater(timeout, self._expire, waiter)
        self._waiters.append((waiter, max_events, call))
        return waiter

    def _forget(self, waiter: defer.Deferred) -> None:
        for entry in list(self._waiters):
            if entry[0] is waiter:
                self._waiters.remove(entry)
                if entry[2].active():
                    entry[2].cancel()

    def _expire(self, waiter: defer.Deferred) -> None:
        self._waiters = [w for w in self._waiters if w[0] is not waiter]
        if not waiter.called:
            waiter.callback([])

    def _flush(self) -> None:
        self._flush_call = None
        while self._waiters and self.events:
            waiter, max_events, call = self._waiters.pop(0)
            if call.active():
                call.cancel()
            waiter.callback(self.take(max_events))

    def close(self) -> None:
        if self._flush_call is not None and self._flush_call.active():
            self._flush_call.cancel()
        self._flush_call = None
        waiters, self._waiters = self._waiters, []
        for waiter, _max, call in waiters:
            if call.active():
                call.cancel()
            if not waiter.called:
                waiter.callback([])
        self.events.clear()


@attrs.frozen
class DeliveryPolicy:
    """How hard a subscription tries (defaults: 3 attempts, 0.5 s then 1 s apart, 10 s per
    POST, the subscription ends after 3 undeliverable events in a row)."""

    attempts: int = 3
    backoff: tuple[float, ...] = (0.5, 1.0)
    timeout: float = 10.0
    max_failures: int = 3
    queue_limit: int = QUEUE_LIMIT


@implementer(IBodyProducer)
class _BytesProducer:
    """A request body already in memory (no cooperator, no global reactor)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data) if data else UNKNOWN_LENGTH

    def startProducing(self, consumer: Any) -> defer.Deferred:  # noqa: N802 (Twisted API)
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:  # noqa: N802
        pass

    def resumeProducing(self) -> None:  # noqa: N802
        pass

    def stopProducing(self) -> None:  # noqa: N802
        pass


class _Discard(Protocol):
    """Reads and ignores a response body (never kept in memory)."""

    def __init__(self, finished: defer.Deferred) -> None:
        self.finished = finished

    def dataReceived(self, data: bytes) -> None:
        pass

    def connectionLost(self, reason: Any = None) -> None:
        if not self.finished.called:
            self.finished.callback(None)


class DeliveryFailed(Exception):
    """One POST to a NotifyTo endpoint did not succeed (status or connection)."""


def make_agent(reactor: Any) -> Agent:
    """The HTTP client for NotifyTo POSTs: non-persistent connections, 5 s to connect."""
    return Agent(reactor, connectTimeout=5, pool=HTTPConnectionPool(reactor, persistent=False))


def notification(data: bytes, *, subscription_id: str, session_id: str | None) -> bytes:
    """The SOAP 1.1 one-way message carrying one event."""
    header = f'<cs:subscriptionID xmlns:cs="{SOAP_NS}">{escape_text(subscription_id)}</cs:subscriptionID>'
    return response_envelope(SOAP11, data, session_id=session_id, headers=header)


class Subscription:
    """One NotifyTo endpoint of one channel."""

    def __init__(
        self,
        agent: Any,
        clock: Any,
        url: str,
        *,
        session_id: Callable[[], str | None] = lambda: None,
        policy: DeliveryPolicy | None = None,
        on_dropped: Callable[[Subscription], None] = lambda s: None,
    ) -> None:
        self.agent = agent
        self.clock = clock
        self.url = url
        self.subscription_id = secrets.token_hex(8)
        self.session_id = session_id
        self.policy = policy or DeliveryPolicy()
        self.on_dropped = on_dropped
        self.queue: collections.deque[bytes] = collections.deque(maxlen=self.policy.queue_limit)
        self.delivered = 0
        self.failed = 0
        self.failures_in_row = 0
        self.active = True
        self._sending = False

    def send(self, data: bytes) -> None:
        if not self.active:
            return
        self.queue.append(data)
        if not self._sending:
            self._sending = True
            defer.Deferred.fromCoroutine(self._drain())

    def cancel(self) -> None:
        self.active = False
        self.queue.clear()

    async def _drain(self) -> None:
        try:
            while self.active and self.queue:
                data = self.queue.popleft()
                if await self._deliver(data):
                    self.delivered += 1
                    self.failures_in_row = 0
                    continue
                self.failed += 1
                self.failures_in_row += 1
                log.info(
                    "event for subscription {subscription} to {url} dropped",
                    subscription=self.subscription_id,
                    url=self.url,
                )
                if self.failures_in_row >= self.policy.max_failures:
                    log.warn(
                        "subscription {subscription} to {url} ended after {count} failed events",
                        subscription=self.subscription_id,
                        url=self.url,
                        count=self.failures_in_row,
                    )
                    self.cancel()
                    self.on_dropped(self)
        except Exception:
            log.failure("delivering events to {url} failed", url=self.url)
        finally:
            self._sending = False

    async def _deliver(self, data: bytes) -> bool:
        body = notification(
            data, subscription_id=self.subscription_id, session_id=self.session_id()
        )
        for attempt in range(self.policy.attempts):
            if not self.active:
                return False
            if attempt:
                backoff = self.policy.backoff
                delay = backoff[min(attempt - 1, len(backoff) - 1)] if backoff else 0
                await deferLater(self.clock, delay, lambda: None)
            try:
                await self._post(body)
                return True
            except Exception as exc:
                log.debug(
                    "POST to {url} failed (attempt {attempt}): {error}",
                    url=self.url,
                    attempt=attempt + 1,
                    error=str(exc) or type(exc).__name__,
                )
        return False

    async def _post(self, body: bytes) -> None:
        headers = Headers(
            {
                b"Content-Type": [SOAP11.content_type.encode("ascii")],
                b"SOAPAction": [f'"{SOAP_NS}#Notify"'.encode("ascii")],
            }
        )
        request = self.agent.request(
            b"POST", self.url.encode("utf-8"), headers, _BytesProducer(body)
        )
        request.addTimeout(self.policy.timeout, self.clock)
        response = await request
        finished: defer.Deferred = defer.Deferred()
        response.deliverBody(_Discard(finished))
        finished.addTimeout(self.policy.timeout, self.clock)
        await finished
        if not 200 <= response.code < 300:
            raise DeliveryFailed(f"HTTP {response.code}")
