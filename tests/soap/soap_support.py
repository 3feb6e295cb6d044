"""Helpers for testing the web service (in the spirit of ``twisted.internet.testing``): the
demo exchange with its core and web site, and a small NotifyTo receiver.

- :class:`LoopbackWeb` serves the site on ``127.0.0.1:0`` and sends raw HTTP requests with
  ``twisted.web.client.Agent``: real sockets on the real reactor.
- :class:`MemoryWeb` is the same site on a ``MemoryReactorClock``: requests are fed to the
  site's HTTP channel in memory, and every timer of the site (the login throttle, long-poll
  time-outs, NotifyTo retries and time-outs) waits until the test advances ``reactor``.
  NotifyTo POSTs go to a :class:`FakeAgent`.

In both the switch and the core run on a ``task.Clock`` of their own, ``clock`` (so no call
or session timer is left behind and session timers move only when the test says so).
"""

from __future__ import annotations

import base64
import functools
import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.protocols.policies import WrappingFactory
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent
from zope.interface import implementer

from cstaserver.app.web import make_web_site
from cstaserver.csta.service import make_core
from cstaserver.soap.events import DeliveryPolicy, _BytesProducer

DEMO_USER = "csta_user"
DEMO_PASSWORD = "csta"


@functools.cache
def demo_exchange() -> Any:
    """The demo exchange data (made once: its password hashes are slow on purpose)."""
    from cstaserver.config.defaults import demo_exchange_data

    return demo_exchange_data()


def basic(user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class _Collect(Protocol):
    def __init__(self, done: defer.Deferred) -> None:
        self.done = done
        self.parts: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.parts.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(b"".join(self.parts))


async def _close_connections(wrapper: WrappingFactory, reactor: Any) -> None:
    for _ in range(50):
        if not wrapper.protocols:
            return
        await deferLater(reactor, 0.02, lambda: None)
    for proto in list(wrapper.protocols):
        proto.transport.abortConnection()
    await deferLater(reactor, 0.02, lambda: None)


class LoopbackWeb:
    """The demo exchange's web service on a loopback port."""

    def __init__(
        self,
        reactor: Any,
        *,
        checker: Any = None,
        throttle: dict[str, Any] | None = None,
        policy: DeliveryPolicy | None = None,
        server_changes: dict[str, Any] | None = None,
        agent: Any = None,
    ) -> None:
        import attrs

        from cstaserver.pbx.switch import Switch

        self.reactor = reactor
        self.clock = Clock()
        self.exchange = demo_exchange()
        self.switch = Switch(self.exchange.plan, self.clock)
        self.core = make_core(
            self.switch,
            self.clock,
            limits=self.exchange.limits,
            applications=lambda: self.exchange.authentication.applications,
        )
        self.server = attrs.evolve(self.exchange.csta_servers[0], **(server_changes or {}))
        self.site = make_web_site(
            self.core,
            self.switch,
            reactor,
            self.server,
            accounts=lambda: self.exchange.web_accounts,
            servers=self.exchange.csta_servers,
            checker=checker,
            throttle=throttle if throttle is not None else {"delay": 0.01},
            policy=policy or DeliveryPolicy(backoff=(0.01,), timeout=2.0),
            agent=agent,
        )
        self.wrapper = WrappingFactory(self.site)
        self.port: Any = None
        self.agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))

    def listen(self, factory: Any = None) -> int:
        """Listen with the site (or ``factory``), tracking connections for tear-down."""
        self.wrapper = WrappingFactory(factory or self.site)
        self.port = self.reactor.listenTCP(0, self.wrapper, interface="127.0.0.1")
        return self.port.getHost().port

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    @property
    def url(self) -> str:
        return self.base + "/csta"

    async def stop(self) -> None:
        self.site.channels.close_all("test over")
        if self.port is not None:
            await self.port.stopListening()
        await _close_connections(self.wrapper, self.reactor)
        for call_id in list(self.switch.calls):
            try:
                self.switch.clear_call(call_id)
            except Exception:
                pass
        await deferLater(self.reactor, 0.01, lambda: None)  # channel close callbacks

    async def request(
        self,
        method: bytes,
        url: str,
        body: bytes | None = None,
        headers: dict[bytes, bytes] | None = None,
    ) -> tuple[int, Headers, bytes]:
        """One HTTP exchange: (status, headers, body)."""
        raw = Headers({k: [v] for k, v in (headers or {}).items()})
        producer = _BytesProducer(body) if body is not None else None
        response = await self.agent.request(method, url.encode(), raw, producer)
        collected: defer.Deferred = defer.Deferred()
        response.deliverBody(_Collect(collected))
        return response.code, response.headers, await collected

    async def post(
        self,
        envelope: bytes,
        *,
        content_type: bytes = b"text/xml; charset=utf-8",
        auth: bytes | None = None,
        url: str | None = None,
    ) -> tuple[int, Headers, bytes]:
        headers = {b"Content-Type": content_type, b"Authorization": auth or basic()}
        return await self.request(b"POST", url or self.url, envelope, headers)


def soap11(body: str, header: str = "") -> bytes:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        f"{head}<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def soap12(body: str, header: str = "") -> bytes:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
        f"{head}<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


class NotifyReceiver(resource.Resource):
    """A NotifyTo endpoint: keeps the bodies POSTed to it, answers ``status``."""

    isLeaf = True

    def __init__(self, status: int = 202) -> None:
        super().__init__()
        self.status = status
        self.bodies: list[bytes] = []
        self.waiters: list[tuple[int, defer.Deferred]] = []

    def render_POST(self, request: server.Request) -> bytes:  # noqa: N802 (Twisted hook)
        self.bodies.append(request.content.read())
        for entry in list(self.waiters):
            if len(self.bodies) >= entry[0]:
                self.waiters.remove(entry)
                entry[1].callback(list(self.bodies))
        request.setResponseCode(self.status)
        return b""

    def wait_for(self, count: int) -> defer.Deferred:
        if len(self.bodies) >= count:
            return defer.succeed(list(self.bodies))
        waiter: defer.Deferred = defer.Deferred()
        self.waiters.append((count, waiter))
        return waiter


async def in_thread(reactor: Any, function: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking client (zeep) in the reactor's thread pool."""
    from twisted.internet import threads

    return await threads.deferToThreadPool(reactor, reactor.getThreadPool(), function, *args)


# --------------------------------------------------------------------------- in memory


def parse_http_response(data: bytes) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of one HTTP/1.1 response as the server wrote it."""
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = Headers()
    for line in lines:
        name, _, value = line.partition(b":")
        headers.addRawHeader(name.strip(), value.strip())
    if headers.getRawHeaders(b"transfer-encoding") == [b"chunked"]:
        body = bytearray()
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
        return int(status_line.split()[1]), headers, bytes(body)
    length = headers.getRawHeaders(b"content-length")
    body = rest[: int(length[0])] if length else rest
    return int(status_line.split()[1]), headers, body


class _MemoryConnection(StringTransport):
    """One client connection to the site: when the site closes it (after its response to a
    ``Connection: close`` request), ``finished`` fires with the parsed response."""

    def __init__(self, peer: IPv4Address, host: IPv4Address) -> None:
        super().__init__(hostAddress=host, peerAddress=peer)
        self.protocol: Any = None
        self.finished: defer.Deferred[tuple[int, Headers, bytes]] = defer.Deferred()

    def loseConnection(self) -> None:  # noqa: N802 (Twisted API)
        if self.disconnecting:
            return
        super().loseConnection()
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.finished.callback(parse_http_response(self.value()))

    def abortConnection(self) -> None:  # noqa: N802 (Twisted API)
        self.loseConnection()


class _FakeResponse:
    def __init__(self, code: int) -> None:
        self.code = code
        self.headers = Headers()

    def deliverBody(self, protocol: Protocol) -> None:  # noqa: N802 (Twisted API)
        protocol.connectionLost(Failure(ResponseDone()))


@implementer(IAgent)
class FakeAgent:
    """The HTTP client for NotifyTo POSTs, in memory: keeps each POST's URL and body and
    answers ``status``, or fails with ``error`` (a refused connection, say)."""

    def __init__(self, status: int = 202, error: Exception | None = None) -> None:
        self.status = status
        self.error = error
        self.posts: list[tuple[bytes, bytes]] = []

    def request(
        self, method: bytes, uri: bytes, headers: Any = None, bodyProducer: Any = None
    ) -> defer.Deferred:
        self.posts.append((uri, bodyProducer.data if bodyProducer is not None else b""))
        if self.error is not None:
            return defer.fail(self.error)
        return defer.succeed(_FakeResponse(self.status))


_client_ports = itertools.count(50000)


class MemoryWeb(LoopbackWeb):
    """The demo site on a ``MemoryReactorClock`` (see the module docstring): ``request`` and
    ``post`` return Deferreds that fire once the site has answered, which for a delayed
    answer is when the test advances ``reactor`` past the delay."""

    def __init__(self, *, agent: FakeAgent | None = None, **options: Any) -> None:
        self.notify_agent = agent if agent is not None else FakeAgent()
        super().__init__(MemoryReactorClock(), agent=self.notify_agent, **options)
        self.reactor: MemoryReactorClock

    def listen(self, factory: Any = None) -> int:
        raise NotImplementedError("MemoryWeb serves in memory; use LoopbackWeb for a port")

    @property
    def base(self) -> str:
        return "http://127.0.0.1:8080"

    def request(  # type: ignore[override]
        self,
        method: bytes,
        url: str,
        body: bytes | None = None,
        headers: dict[bytes, bytes] | None = None,
    ) -> defer.Deferred[tuple[int, Headers, bytes]]:
        """Feed one HTTP/1.1 request (``Connection: close``) to a new channel of the site."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [
            f"{method.decode()} {target} HTTP/1.1".encode(),
            b"Host: 127.0.0.1:8080",
            b"Connection: close",
        ]
        lines += [name + b": " + value for name, value in (headers or {}).items()]
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        peer = IPv4Address("TCP", "127.0.0.1", next(_client_ports))
        connection = _MemoryConnection(peer, IPv4Address("TCP", "127.0.0.1", 8080))
        connection.protocol = self.site.buildProtocol(peer)
        connection.protocol.makeConnection(connection)
        connection.protocol.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
        return connection.finished

    def post(  # type: ignore[override]
        self,
        envelope: bytes,
        *,
        content_type: bytes = b"text/xml; charset=utf-8",
        auth: bytes | None = None,
        url: str | None = None,
    ) -> defer.Deferred[tuple[int, Headers, bytes]]:
        """POST ``envelope`` to ``/csta`` (as the demo user unless ``auth`` says otherwise)."""
        return defer.ensureDeferred(
            super().post(envelope, content_type=content_type, auth=auth, url=url)
        )

    def stop(self) -> None:  # type: ignore[override]
        self.site.channels.close_all("test over")
        for call_id in list(self.switch.calls):
            self.switch.clear_call(call_id)
