"""The wire trace (docs/api.md, "Event stream and wire trace"): every CSTA message of an
association over the XML port in both directions, with its invoke ID and root element; the
ring bounds per association and over all of them; traces kept after the end, bounded in
count and time; and the downloads (text, JSON lines, JSON) behind the web login."""

from __future__ import annotations

import base64
import json
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock, deferLater
from twisted.protocols.policies import WrappingFactory
from twisted.trial import unittest
from twisted.web import resource, server
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers

from cstaserver.api.trace import TraceDownloads, WireRecorder, redact, root_name, timestamp
from cstaserver.config.model import Limits
from cstaserver.csta.association import WireRole
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from tests.xmlproto.xml_client import Req, World, make_world, xml

USER, PASSWORD = "operator", "secret"


# --------------------------------------------------------------------------- helpers


class Refused(Exception):
    """What a login gate raises: an HTTP status and a reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class FixedGate:
    """A login gate with one account (the site's gate checks the web accounts the same
    way: ``login(Authorization header, host)`` fires with the user or raises a refusal)."""

    realm = "cstaserver"

    def __init__(self) -> None:
        self.logins: list[str] = []

    async def login(self, header: bytes | None, host: str) -> str:
        self.logins.append(host)
        if header is None:
            raise Refused(401, "authentication required")
        if header != basic():
            raise Refused(401, "wrong user name or password")
        return USER


def basic(user: str = USER, password: str = PASSWORD) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class _Collect(Protocol):
    def __init__(self, done: defer.Deferred) -> None:
        self.done, self.parts = done, []

    def dataReceived(self, data: bytes) -> None:
        self.parts.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(b"".join(self.parts))


class WebServer:
    """``root`` served on 127.0.0.1 (real reactor) with raw HTTP requests through ``Agent``;
    every connection is closed at the test's end."""

    def __init__(self, testcase: unittest.TestCase, root: resource.Resource) -> None:
        self.site = server.Site(root)
        self.site.noisy = False
        self.wrapper = WrappingFactory(self.site)
        self.port = reactor.listenTCP(0, self.wrapper, interface="127.0.0.1")
        self.agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
        testcase.addCleanup(self.stop)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"

    async def stop(self) -> None:
        await self.port.stopListening()
        for proto in list(self.wrapper.protocols):
            proto.transport.abortConnection()
        for _ in range(100):
            if not self.wrapper.protocols:
                break
            await deferLater(reactor, 0.01, lambda: None)

    async def get(
        self, path: str, headers: dict[bytes, bytes] | None = None
    ) -> tuple[int, Headers, bytes]:
        raw = Headers({k: [v] for k, v in (headers or {}).items()})
        response = await self.agent.request(b"GET", (self.base + path).encode(), raw)
        collected: defer.Deferred = defer.Deferred()
        response.deliverBody(_Collect(collected))
        return response.code, response.headers, await collected


def api_root(**children: resource.Resource) -> resource.Resource:
    """``/api/v1/<name>`` for each child."""
    root, api, v1 = resource.Resource(), resource.Resource(), resource.Resource()
    root.putChild(b"api", api)
    api.putChild(b"v1", v1)
    for name, child in children.items():
        v1.putChild(name.encode(), child)
    return root


def traced_world(limits: Limits | None = None, **options: Any) -> tuple[World, WireRecorder]:
    world = make_world(limits=limits, **options)
    recorder = WireRecorder(world.clock, world.core.limits)
    world.core.tracer = recorder
    return world, recorder


def roles(recorder: WireRecorder, association: int) -> list[tuple[str, str, str | None]]:
    trace = recorder.trace(association)
    assert trace is not None
    return [(r.role.value, r.root or "", r.correlation) for r in trace.messages]


# --------------------------------------------------------------------------- recording


class RecordingOverTheXmlPort(unittest.TestCase):
    async def test_requests_answers_and_events_in_order_with_invoke_ids(self) -> None:
        world, recorder = traced_world()
        client = world.connect()
        (association,) = world.core.associations
        await client.monitor("1001")
        await client.make_call("1000", "1001")
        await client.drain()
        seen = roles(recorder, association.id)
        assert seen[:4] == [
            ("request", "MonitorStart", "0001"),
            ("answer", "MonitorStartResponse", "0001"),
            ("request", "MakeCall", "0002"),
            ("answer", "MakeCallResponse", "0002"),
        ]
        assert seen[4:] == [("event", "DeliveredEvent", None)]
        trace = recorder.trace(association.id)
        assert trace is not None
        # the exact bytes of the wire, both ways
        assert [r.data for r in trace.messages if r.role is WireRole.REQUEST] == [
            Req.monitor_start("1001").encode(),
            Req.make_call("1000", "1001").encode(),
        ]
        answers = [f.body for f in client.received]
        assert [r.data for r in trace.messages if r.direction == "out"] == answers
        assert (trace.peer, trace.profile) == (association.peer, "xml")
        assert [r.seq for r in trace.messages] == sorted(r.seq for r in trace.messages)

    async def test_an_error_answer_is_recorded(self) -> None:
        world, recorder = traced_world()
        client = world.connect()
        (association,) = world.core.associations
        await client.request(xml("FlyMeToTheMoon"), invoke_id="0042")
        assert roles(recorder, association.id) == [
            ("request", "FlyMeToTheMoon", "0042"),
            ("answer", "CSTAErrorCode", "0042"),
        ]

    async def test_server_request_and_its_answer(self) -> None:
        world, recorder = traced_world(system_status_on_connect=True)
        client = world.connect()
        (association,) = world.core.associations
        assert [f.name for f in client.server_requests] == ["SystemStatus"]
        assert roles(recorder, association.id) == [
            ("server-request", "SystemStatus", None),
            ("server-answer", "SystemStatusResponse", None),
        ]
        trace = recorder.trace(association.id)
        assert trace is not None
        assert [r.direction for r in trace.messages] == ["out", "in"]

    async def test_the_session_password_is_not_kept(self) -> None:
        world, recorder = traced_world(authenticated=True)
        client = world.connect()
        (association,) = world.core.associations
        await client.start_session()
        trace = recorder.trace(association.id)
        assert trace is not None
        request = trace.messages[0].text
        assert "<password>***</password>" in request
        assert "<userName>csta_user</userName>" in request

    def test_the_core_takes_a_tracer_and_costs_nothing_without_one(self) -> None:
        clock = Clock()
        recorder = WireRecorder(clock)
        core = CstaCore(Switch(demo_plan(), clock), clock, tracer=recorder)
        assert core.tracer is recorder
        assert CstaCore(Switch(demo_plan(), clock), clock).tracer is None
        world = make_world()
        client = world.connect()
        assert world.core.tracer is None
        self.successResultOf(defer.ensureDeferred(client.monitor("1001")))


class RingBounds(unittest.TestCase):
    async def test_message_count_bound_keeps_the_newest(self) -> None:
        world, recorder = traced_world(Limits(trace_messages=5))
        client = world.connect()
        (association,) = world.core.associations
        for _ in range(10):
            await client.ok(xml("RequestSystemStatus"))
        trace = recorder.trace(association.id)
        assert trace is not None
        assert len(trace.messages) == 5
        assert (trace.seen, trace.dropped) == (20, 15)
        assert trace.messages[-1].root == "RequestSystemStatusResponse"
        assert trace.bytes == sum(len(r.data) for r in trace.messages)

    async def test_byte_bound_and_a_message_over_it_is_cut(self) -> None:
        world, recorder = traced_world(Limits(trace_bytes=300))
        client = world.connect()
        (association,) = world.core.associations
        await client.monitor("1001")
        trace = recorder.trace(association.id)
        assert trace is not None
        assert trace.bytes <= 300
        heard: list[Any] = []
        recorder.listen(lambda _trace, record: heard.append(record))
        await client.request(xml("RequestSystemStatus", "<x>" + "y" * 500 + "</x>"))
        big, answer = heard
        assert big.truncated and len(big.data) == 300 and big.size > 500
        assert list(trace.messages) == [answer]  # the cut request made room for its answer
        assert trace.bytes <= 300

    async def test_total_bound_drops_the_oldest_of_any_association(self) -> None:
        world, recorder = traced_world(Limits(trace_total_bytes=2000))
        first, second = world.connect(), world.connect()
        a, b = sorted(world.core.associations, key=lambda x: x.id)
        for _ in range(10):
            await first.ok(xml("RequestSystemStatus"))
        for _ in range(10):
            await second.ok(xml("RequestSystemStatus"))
        assert recorder.total_bytes <= 2000
        trace_a, trace_b = recorder.trace(a.id), recorder.trace(b.id)
        assert trace_a is not None and trace_b is not None
        assert len(trace_a.messages) == 0  # the oldest went first
        assert trace_b.dropped < trace_a.dropped == 20
        assert recorder.total_bytes == trace_b.bytes

    async def test_many_messages_stay_bounded(self) -> None:
        """Messages a per-association bound let go leave nothing behind: the arena's room
        is taken back as the ring comes round."""
        world, recorder = traced_world(Limits(trace_messages=3, trace_total_bytes=4096))
        client = world.connect()
        (association,) = world.core.associations
        for _ in range(700):
            await client.ok(xml("RequestSystemStatus"))
        trace = recorder.trace(association.id)
        assert trace is not None
        assert (trace.count, trace.seen, trace.dropped) == (3, 1400, 1397)
        assert [r.root for r in trace.messages] == [
            "RequestSystemStatusResponse",
            "RequestSystemStatus",
            "RequestSystemStatusResponse",
        ]
        assert recorder.kept == 3 and recorder.memory < 4096


class AfterTheEnd(unittest.TestCase):
    async def test_kept_after_close_with_time_and_reason(self) -> None:
        world, recorder = traced_world()
        client = world.connect()
        (association,) = world.core.associations
        await client.ok(xml("RequestSystemStatus"))
        world.clock.advance(10)
        await client.disconnect()
        assert world.core.associations == set()
        trace = recorder.trace(association.id)
        assert trace is not None
        assert len(trace.messages) == 2
        assert (trace.closed, trace.close_reason) == (10.0, "connection closed")

    async def test_only_the_last_ended_are_kept(self) -> None:
        world, recorder = traced_world(Limits(trace_closed=2))
        ids = []
        for _ in range(3):
            client = world.connect()
            ids.append(max(a.id for a in world.core.associations))
            await client.ok(xml("RequestSystemStatus"))
            await client.disconnect()
        assert recorder.trace(ids[0]) is None
        assert recorder.trace(ids[1]) is not None and recorder.trace(ids[2]) is not None
        assert recorder.total_bytes == sum(recorder.trace(i).bytes for i in ids[1:])  # type: ignore[union-attr]

    async def test_expire_after_the_keep_time(self) -> None:
        world = make_world()
        recorder = WireRecorder(world.clock, keep_closed=60)
        world.core.tracer = recorder
        client = world.connect()
        (association,) = world.core.associations
        await client.ok(xml("RequestSystemStatus"))
        await client.disconnect()
        world.clock.advance(59)
        assert recorder.trace(association.id) is not None
        world.clock.advance(2)
        assert recorder.trace(association.id) is None
        assert recorder.total_bytes == 0 and recorder.traces() == []


class Rendering(unittest.TestCase):
    def test_helpers(self) -> None:
        assert root_name(b'<?xml version="1.0"?><!-- c --><a:MakeCall xmlns:a="x"/>') == "MakeCall"
        assert root_name(b"garbage") is None
        assert redact(b"<p:password xmlns:p='u'>s3cret</p:password><password/>") == (
            b"<p:password xmlns:p='u'>***</p:password><password/>"
        )
        assert timestamp(1.5) == "1970-01-01T00:00:01.500Z"


# --------------------------------------------------------------------------- downloads


class Downloads(unittest.TestCase):
    timeout = 10

    def setUp(self) -> defer.Deferred:
        return defer.ensureDeferred(self._set_up())

    async def _set_up(self) -> None:
        self.world, self.recorder = traced_world()
        self.world.clock.advance(1733300000)
        self.client = self.world.connect()
        (self.association,) = self.world.core.associations
        await self.client.monitor("1001")
        self.client.send_frame("0777", b"<Bad>\x01\x1b[31m</Bad>")
        self.gate = FixedGate()
        self.web = WebServer(self, api_root(associations=TraceDownloads(self.recorder, self.gate)))

    def path(self, name: str, association: object = None) -> str:
        number = self.association.id if association is None else association
        return f"/api/v1/associations/{number}/{name}"

    async def test_text(self) -> None:
        status, headers, body = await self.web.get(
            self.path("trace.txt"), {b"Authorization": basic()}
        )
        assert status == 200
        assert headers.getRawHeaders(b"content-type") == [b"text/plain; charset=utf-8"]
        text = body.decode()
        assert text.startswith(f"# wire trace of association {self.association.id}: xml ")
        assert "<< #" in text and ">> #" in text
        assert " in request invoke 0001 MonitorStart (" in text
        assert " out answer invoke 0001 MonitorStartResponse (" in text
        assert Req.monitor_start("1001") in text
        assert "2024-12-04T08:13:20.000Z" in text
        assert "\x1b" not in text  # control characters are not written raw

    async def test_json_lines(self) -> None:
        status, headers, body = await self.web.get(
            self.path("trace.jsonl"), {b"Authorization": basic()}
        )
        assert status == 200
        assert headers.getRawHeaders(b"content-type") == [b"application/x-ndjson"]
        lines = [json.loads(line) for line in body.decode().splitlines()]
        assert [(m["direction"], m["role"], m["root"], m["correlation"]) for m in lines] == [
            ("in", "request", "MonitorStart", "0001"),
            ("out", "answer", "MonitorStartResponse", "0001"),
            ("in", "request", "Bad", "0777"),
            ("out", "answer", "CSTAErrorCode", "0777"),
        ]
        first = lines[0]
        assert first["xml"] == Req.monitor_start("1001")
        assert first["association"] == self.association.id
        assert first["peer"] == self.association.peer and first["profile"] == "xml"
        assert first["timestamp"] == "2024-12-04T08:13:20.000Z"
        assert set(first) == {
            "seq", "time", "timestamp", "association", "peer", "profile", "server",
            "direction", "role", "correlation", "root", "size", "truncated", "xml",
        }  # fmt: skip

    async def test_json_document(self) -> None:
        await self.client.disconnect()
        status, _h, body = await self.web.get(self.path("trace"), {b"Authorization": basic()})
        assert status == 200
        document = json.loads(body)
        summary = document["association"]
        assert summary["id"] == self.association.id
        assert summary["close_reason"] == "connection closed"
        assert summary["messages"] == len(document["messages"]) == 4

    async def test_unknown_association_is_a_json_404(self) -> None:
        for path in (self.path("trace.txt", 999999), self.path("trace", "x")):
            status, headers, body = await self.web.get(path, {b"Authorization": basic()})
            assert status == 404, path
            assert headers.getRawHeaders(b"content-type") == [b"application/json"]
            error = json.loads(body)["error"]
            assert error["code"] == "no_such_association", error
            assert error["message"].startswith("no association ")

    async def test_other_paths_are_a_json_404(self) -> None:
        status, _h, body = await self.web.get(
            f"/api/v1/associations/{self.association.id}/other", {b"Authorization": basic()}
        )
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"

    async def test_login_required(self) -> None:
        for headers in ({}, {b"Authorization": basic(password="wrong")}):
            status, response_headers, body = await self.web.get(self.path("trace.txt"), headers)
            assert status == 401
            assert response_headers.getRawHeaders(b"www-authenticate") == [
                b'Basic realm="cstaserver", charset="UTF-8"'
            ]
            assert json.loads(body)["error"]["code"] == "unauthorized"
        assert self.gate.logins == ["127.0.0.1", "127.0.0.1"]
