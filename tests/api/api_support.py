"""The demo exchange with the JSON API on an in-memory site (no sockets, no real time).

:class:`ApiWeb` composes the web site as the server does (``make_web_site`` with ``api=``),
over the demo exchange whose accounts are re-hashed cheaply (``admin``/``admin``,
``csta_user``/``csta``). Its switch, simulator and core run on a
:class:`~cstaserver.pbx.clock.SkippableClock` over a ``task.Clock`` (``base``); the HTTP
side's timers (the login throttle, the admin checker's delay) on a ``MemoryReactorClock``
(``reactor``). Requests are fed to a new HTTP channel of the site and answered at once
(``pump`` runs the reactor's zero-delay calls, as a refused admin login needs).

Every answer of ``get`` and ``post`` is checked against the OpenAPI document: JSON, and the
schema of its route's answer (200) or the Error schema (anything else).
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
from typing import Any

import attrs
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from cstaserver.admin.access import AdminAccountsChecker
from cstaserver.api.handlers import Handlers, routes
from cstaserver.api.openapi import openapi_document
from cstaserver.api.sources import ApiSources
from cstaserver.app.web import make_web_site
from cstaserver.config.model import WebAccount
from cstaserver.config.passwords import hash_password
from cstaserver.csta.service import make_core
from cstaserver.pbx.clock import SkippableClock
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from tests.admin.admin_harness import ADMIN, admin_account
from tests.soap.soap_support import demo_exchange, parse_http_response

READER = ("csta_user", "csta")


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


@functools.cache
def cheap_exchange() -> Any:
    """The demo exchange with its two accounts hashed at a tiny scrypt cost."""
    return attrs.evolve(
        demo_exchange(),
        admin_accounts=[admin_account()],
        web_accounts=[WebAccount("csta_user", hash_password("csta", n=16))],
    )


@attrs.frozen
class FakeRun:
    """A CSTA server as it runs (what ``CstaRoot.server_runs`` gives)."""

    settings: Any
    ports: tuple[tuple[str, int], ...] = ()
    tls: str = "-"


@attrs.frozen
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return self.json["error"]["code"]

    def header(self, name: bytes) -> bytes | None:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None


class _Connection(StringTransport):
    def __init__(self, peer: IPv4Address) -> None:
        super().__init__(hostAddress=IPv4Address("TCP", "127.0.0.1", 8080), peerAddress=peer)
        self.protocol: Any = None
        self.finished: defer.Deferred = defer.Deferred()

    def loseConnection(self) -> None:  # noqa: N802 (Twisted API)
        if self.disconnecting:
            return
        super().loseConnection()
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.finished.callback(parse_http_response(self.value()))


_ports = itertools.count(40000)


class Schemas:
    """Validators of the OpenAPI document's schemas, and the route of a request."""

    def __init__(self, sources: ApiSources) -> None:
        self.routes = routes(Handlers(sources))
        self.document = openapi_document(self.routes)
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:api", resource)
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, name: str) -> Draft202012Validator:
        if name not in self._validators:
            schema = {"$ref": f"urn:api#/components/schemas/{name}"}
            self._validators[name] = Draft202012Validator(schema, registry=self.registry)
        return self._validators[name]

    def check(self, method: str, path: str, answer: Answer) -> None:
        assert answer.header(b"content-type") == b"application/json; charset=utf-8", answer
        assert answer.header(b"cache-control") == b"no-store"
        body = answer.json
        if answer.status != 200:
            self.validator("Error").validate(body)
            return
        segments = [part for part in path.split("?")[0].split("/") if part]
        for route in self.routes:
            if route.method == method and route.match(segments) is not None:
                self.validator(route.response).validate(body)
                return
        raise AssertionError(f"no route answered {method} {path}")


class ApiWeb:
    """See the module docstring."""

    def __init__(self, *, throttle: dict[str, Any] | None = None, admin_delay: float = 0.0):
        self.reactor = MemoryReactorClock()
        self.base = Clock()
        self.clock = SkippableClock(self.base)
        self.exchange = cheap_exchange()
        self.switch = Switch(self.exchange.plan, self.clock)
        self.core = make_core(
            self.switch,
            self.clock,
            limits=self.exchange.limits,
            applications=lambda: self.exchange.authentication.applications,
        )
        self.simulator = Simulator(self.switch)
        servers = self.exchange.csta_servers
        self.sources = ApiSources(
            core=self.core,
            switch=self.switch,
            simulator=self.simulator,
            clock=self.clock,
            reactor=self.reactor,
            exchange=lambda: self.exchange,
            server_runs=lambda: [FakeRun(servers[0], (("port", 8882), ("web_port", 8080)))],
            admin_checker=AdminAccountsChecker(
                lambda: self.exchange.admin_accounts, self.reactor, admin_delay
            ),
        )
        self.site = make_web_site(
            self.core,
            self.switch,
            self.reactor,
            servers[0],
            accounts=lambda: self.exchange.web_accounts,
            servers=servers,
            throttle=throttle if throttle is not None else {"delay": 0},
            api=self.sources,
        )
        self.schemas = Schemas(self.sources)

    # -- requests ------------------------------------------------------------------------------
    def send(
        self,
        method: bytes,
        path: str,
        body: bytes | None = None,
        headers: dict[bytes, bytes] | None = None,
        *,
        peer: str = "127.0.0.1",
    ) -> defer.Deferred:
        """Feed one HTTP/1.1 request (``Connection: close``); fires with an :class:`Answer`."""
        lines = [f"{method.decode()} {path} HTTP/1.1".encode(), b"Host: 127.0.0.1:8080"]
        lines.append(b"Connection: close")
        lines += [name + b": " + value for name, value in (headers or {}).items()]
        if body is not None:
            lines.append(b"Content-Length: %d" % len(body))
        address = IPv4Address("TCP", peer, next(_ports))
        connection = _Connection(address)
        connection.protocol = self.site.buildProtocol(address)
        connection.protocol.makeConnection(connection)
        connection.protocol.dataReceived(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
        return connection.finished.addCallback(lambda parsed: Answer(*parsed))

    def now(self, deferred: defer.Deferred, pump: bool = True) -> Answer:
        """The answer, once the reactor's zero-delay calls have run."""
        for _ in range(20):
            if deferred.called or not pump:
                break
            self.reactor.advance(0)
        results: list[Any] = []
        deferred.addBoth(results.append)
        assert results, "no answer yet"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return results[0]

    def get(self, path: str, auth: tuple[str, str] | None = READER, **options: Any) -> Answer:
        headers = {b"Authorization": basic(*auth)} if auth else {}
        answer = self.now(self.send(b"GET", "/api/v1" + path, None, headers, **options))
        self.schemas.check("GET", path, answer)
        return answer

    def post(
        self,
        path: str,
        body: Any = None,
        auth: tuple[str, str] | None = ADMIN,
        *,
        content_type: bytes | None = b"application/json",
        **options: Any,
    ) -> Answer:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        headers = {b"Authorization": basic(*auth)} if auth else {}
        if content_type is not None:
            headers[b"Content-Type"] = content_type
        answer = self.now(self.send(b"POST", "/api/v1" + path, data, headers, **options))
        self.schemas.check("POST", path, answer)
        return answer

    # -- the switch's state, to compare before and after -----------------------------------------
    def state(self) -> Any:
        """Everything an action could change, as plain data."""
        devices = {}
        for info in self.switch.devices():
            devices[info.number] = (
                info.busy,
                info.dnd,
                info.mode,
                dict(info.forwarding or {}),
                None if info.agent is None else (info.agent.agent_id, info.agent.state),
                {cid: c.state for cid, c in info.connections.items()},
            )
        calls = {
            cid: (call.calling_device, call.called_device, [(c.device, c.state) for c in call])
            for cid, call in self.switch.calls.items()
        }
        queues = {n: [c.call_id for c in acd.queue] for n, acd in self.switch.groups.acd.items()}
        return devices, calls, queues, self.clock.skipped, len(self.clock.getDelayedCalls())

    def stop(self) -> None:
        if self.site.channels is not None:
            self.site.channels.close_all("test over")
        for call_id in list(self.switch.calls):
            self.switch.clear_call(call_id)
