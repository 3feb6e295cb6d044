"""Helpers for testing the web service over real loopback sockets (in the spirit of
``twisted.internet.testing``): a demo exchange with its core and web site on
``127.0.0.1:0``, raw HTTP requests with ``twisted.web.client.Agent``, and a small NotifyTo
receiver. The switch and the core run on a ``task.Clock`` (so no call or session timer is
left behind); HTTP runs on the real reactor.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock, deferLater
from twisted.protocols.policies import WrappingFactory
from twisted.web import resource, server
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers

from cstaserver.csta.service import make_core
from cstaserver.soap.events import DeliveryPolicy, _BytesProducer
from cstaserver.soap.service import make_web_site

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
    ) -> None:
        import attrs

        from cstaserver.pbx.switch import Switch

        self.reactor = reactor
        self.clock = Clock()
        self.exchange = demo_exchange()
        self.switch = Switch(self.exchange.plan, self.clock)
        self.core = make_core(self.exchange, self.switch, self.clock)
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
