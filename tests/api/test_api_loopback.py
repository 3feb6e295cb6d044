"""The JSON API through the real server on loopback: ``build_service`` with every listener on
a free port, HTTP over TCP to the web port (``root.port_of("web")``) and to the XML port's
HTTP side, with the demo accounts (web ``csta_user``/``csta``, admin: the test admin login of tests/admin/admin_harness.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import attrs
from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.internet.protocol import Protocol
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers

from cstaserver.app.options import RunSettings
from cstaserver.app.root import CstaRoot, build_service
from cstaserver.config import AuthMode, ServerType
from cstaserver.pbx.clock import SkippableClock
from cstaserver.soap.events import _BytesProducer
from tests.admin.admin_harness import ADMIN, demo_data


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class _Collect(Protocol):
    def __init__(self, done: defer.Deferred) -> None:
        self.done = done
        self.parts: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted API)
        self.parts.append(data)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 (Twisted API)
        self.done.callback(b"".join(self.parts))


class LoopbackApiTests(unittest.TestCase):
    def start(self) -> CstaRoot:
        data = Path(self.mktemp())
        demo_data(data)
        root = build_service(RunSettings.ephemeral(data), global_reactor)
        root.startService()
        self.addCleanup(root.stopService)
        self.addCleanup(self._clear, root)
        self.pool = HTTPConnectionPool(global_reactor, persistent=False)
        self.agent = Agent(global_reactor, pool=self.pool)
        return root

    def _clear(self, root: CstaRoot) -> None:
        for call_id in list(root.runtime.switch.calls):
            root.runtime.switch.clear_call(call_id)
        for call in root.runtime.clock.getDelayedCalls():
            call.cancel()

    async def request(
        self, method: bytes, url: str, body: Any = None, auth: bytes | None = None
    ) -> tuple[int, Any]:
        headers = Headers({b"Content-Type": [b"application/json"]})
        if auth is not None:
            headers.addRawHeader(b"Authorization", auth)
        producer = _BytesProducer(json.dumps(body).encode()) if body is not None else None
        response = await self.agent.request(method, url.encode(), headers, producer)
        done: defer.Deferred = defer.Deferred()
        response.deliverBody(_Collect(done))
        return response.code, json.loads(await done)

    async def test_read_act_and_skip_time_over_the_web_port(self) -> None:
        root = self.start()
        assert isinstance(root.runtime.clock, SkippableClock)
        assert root.runtime.switch.clock is root.runtime.clock
        base = f"http://127.0.0.1:{root.port_of('web')}/api/v1"
        reader, admin = basic("csta_user", "csta"), basic(*ADMIN)

        status, body = await self.request(b"GET", base + "/openapi.json")
        assert status == 200 and body["openapi"] == "3.1.0"
        status, body = await self.request(b"GET", base + "/devices/1000", auth=reader)
        assert (status, body["device"]["state"]) == (200, "idle")
        status, body = await self.request(b"GET", base + "/servers", auth=reader)
        bound = {s["type"]: s["bound"] for s in body["servers"]}
        assert bound["xml"]["web_port"] == root.port_of("web")

        status, body = await self.request(
            b"POST", base + "/devices/1000/dial", {"to": "1001"}, auth=reader
        )
        assert (status, body["error"]["code"]) == (403, "forbidden")
        status, body = await self.request(
            b"POST", base + "/devices/1000/dial", {"to": "1001"}, auth=admin
        )
        assert status == 200
        call_id = body["call"]["id"]
        assert root.runtime.switch.calls[call_id].connection("1001") is not None

        status, body = await self.request(
            b"POST", base + "/time/advance", {"seconds": 61}, auth=admin
        )
        assert (status, body["ran"]) == (200, 1)  # the ring time-out
        assert root.runtime.switch.calls == {}

    async def test_the_xml_ports_http_side_and_a_rebuilt_site_serve_it_too(self) -> None:
        root = self.start()
        xml_base = f"http://127.0.0.1:{root.port_of('xml')}/api/v1"
        status, body = await self.request(
            b"GET", xml_base + "/devices/1001", auth=basic("csta_user", "csta")
        )
        assert (status, body["device"]["number"]) == (200, "1001")
        # a changed authentication mode rebuilds the site: the API is on the new one
        servers = [
            attrs.evolve(s, authentication=AuthMode.MANDATORY)
            if s.server_type is ServerType.XML
            else s
            for s in root.exchange.csta_servers
        ]
        await root.reconfig(attrs.evolve(root.exchange, csta_servers=servers))
        web_base = f"http://127.0.0.1:{root.port_of('web')}/api/v1"
        status, body = await self.request(b"GET", web_base + "/servers", auth=basic(*ADMIN))
        assert status == 200
        xml = [s for s in body["servers"] if s["type"] == "xml"][0]
        assert xml["authentication"] == "mandatory"
