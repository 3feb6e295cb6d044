"""The event stream at ``/api/v1/events`` (docs/api.md, "Event stream and wire trace"),
end to end on loopback with autobahn's Twisted WebSocket client: switch events as JSON,
filters by device and call (in the query and by a subscribe message), wire-trace messages
when asked for, logins refused, a client that does not read dropped with a reason, and the
stream's own timers on an injected clock."""

from __future__ import annotations

import json
import socket
from typing import Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.task import Clock, deferLater
from twisted.trial import unittest
from twisted.web import resource, server
from zope.interface import implementer

from cstaserver.api.events import (
    CLOSE_POLICY,
    FilterError,
    LiveApi,
    StreamLimits,
    events_resource,
    live_api,
    parse_filter,
    switch_event_json,
)
from cstaserver.api.trace import TraceDownloads, WireRecorder
from cstaserver.csta.association import Profile
from cstaserver.pbx.events import Transferred
from cstaserver.pbx.states import EventCause
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.api.test_trace import PASSWORD, USER, FixedGate, WebServer, api_root, basic
from tests.soap.soap_support import LoopbackWeb
from tests.xmlproto.xml_client import World, connect_memory, make_world, xml


@implementer(ICredentialsChecker)
class OneAccount:
    """The web accounts of the composed site's tests: ``USER`` / ``PASSWORD``."""

    credentialInterfaces = (IUsernamePassword,)

    def requestAvatarId(self, credentials: Any) -> defer.Deferred:  # noqa: N802
        if (credentials.username, credentials.password) == (USER, PASSWORD):
            return defer.succeed(USER)
        return defer.fail(UnauthorizedLogin())


#: Real seconds a loopback test waits for one message.
WAIT = 5.0


# --------------------------------------------------------------------------- the client


class StreamClient(WebSocketClientProtocol):
    """Collects the JSON messages of the stream; ``opened``, ``closed`` and ``lost`` fire
    at the handshake, at the close (with ``(code, reason)``) and when TCP is gone."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: defer.DeferredQueue = defer.DeferredQueue()
        self.opened: defer.Deferred = defer.Deferred()
        self.closed: defer.Deferred = defer.Deferred()
        self.lost: defer.Deferred = defer.Deferred()

    def onOpen(self) -> None:  # noqa: N802
        self.opened.callback(None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803
        self.messages.put(json.loads(payload))

    def onClose(self, wasClean: bool, code: Any, reason: Any) -> None:  # noqa: N802, N803
        if not self.opened.called:
            self.opened.errback(ConnectionError(reason))
            self.opened.addErrback(lambda _f: None)
        if not self.closed.called:
            self.closed.callback((code, reason))

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        super().connectionLost(reason)
        if not self.lost.called:
            self.lost.callback(None)

    async def next(self) -> dict[str, Any]:
        got = self.messages.get()
        got.addTimeout(WAIT, reactor)
        return await got

    async def send_json(self, message: Any) -> None:
        self.sendMessage(json.dumps(message).encode())


class Stream:
    """The demo switch (on a ``Clock``), a wire recorder, and ``/api/v1/events`` with the
    trace downloads served on loopback; the stream's timers on ``stream_clock``, the ends of
    its reactor turns (when a client's messages are written) on the reactor."""

    def __init__(self, testcase: unittest.TestCase, limits: StreamLimits | None = None) -> None:
        self.world: World = make_world()
        self.switch = self.world.switch
        self.recorder = WireRecorder(self.world.clock, self.world.core.limits)
        self.world.core.tracer = self.recorder
        self.stream_clock = Clock()
        self.gate = FixedGate()
        self.resource = events_resource(
            self.switch, self.recorder, self.gate, self.stream_clock, limits, turns=reactor
        )
        self.hub = self.resource.hub
        downloads = TraceDownloads(self.recorder, self.gate)
        self.web = WebServer(testcase, api_root(events=self.resource, associations=downloads))
        self.clients: list[StreamClient] = []
        testcase.addCleanup(self.close)

    @property
    def url(self) -> str:
        return self.web.base.replace("http", "ws") + "/api/v1/events"

    async def connect(
        self, query: str = "", *, auth: bytes | None = None, headers: dict[str, str] | None = None
    ) -> StreamClient:
        """A client after its handshake (``opened`` fails when the upgrade is refused)."""
        client = await open_stream(self.url + query, auth=auth, headers=headers)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        await close_all(self.clients)


async def open_stream(
    url: str, *, auth: bytes | None = None, headers: dict[str, str] | None = None
) -> StreamClient:
    """autobahn's client on ``url`` (``ws://127.0.0.1:port/...``), every autobahn timer off
    (they would run on the global reactor, past the test)."""
    all_headers = {"Authorization": (auth or basic()).decode(), **(headers or {})}
    factory = WebSocketClientFactory(url, headers=all_headers, reactor=reactor)
    factory.protocol = StreamClient
    factory.setProtocolOptions(
        openHandshakeTimeout=0,
        closeHandshakeTimeout=0,
        serverConnectionDropTimeout=0,
        autoPingInterval=0,
    )
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", factory.port)
    return await endpoint.connect(factory)


async def close_all(clients: list[StreamClient]) -> None:
    for client in clients:
        if client.transport is not None and not client.lost.called:
            client.transport.abortConnection()
    lost = defer.gatherResults([client.lost for client in clients])
    await lost.addTimeout(WAIT, reactor)


async def hello(client: StreamClient) -> dict[str, Any]:
    await client.opened
    first = await client.next()
    assert first["kind"] == "hello"
    return first


async def turn() -> None:
    await deferLater(reactor, 0, lambda: None)


# --------------------------------------------------------------------------- switch events


class SwitchEvents(unittest.TestCase):
    timeout = 20

    async def test_hello_then_switch_events_as_json(self) -> None:
        stream = Stream(self)
        client = await stream.connect()
        first = await hello(client)
        assert first["user"] == USER
        assert first["filter"] == {"kinds": ["switch"], "device": [], "call": [], "association": []}
        assert first["wire_trace"] is True
        stream.switch.set_do_not_disturb("1005", True)
        dnd = await client.next()
        assert dnd == {
            "kind": "switch",
            "type": "DoNotDisturb",
            "time": 0.0,
            "cause": None,
            "call_id": None,
            "call_ids": [],
            "devices": ["1005"],
            "device": "1005",
            "on": True,
        }
        call_id, _ = stream.switch.make_call("1000", "1001")
        initiated = await client.next()
        assert (initiated["type"], initiated["cause"], initiated["call_id"]) == (
            "ServiceInitiated",
            "makeCall",
            call_id,
        )
        assert initiated["devices"] == ["1000"] and initiated["device"] == "1000"
        assert initiated["states"] == {"1000": "initiated"}
        originated = await client.next()
        assert originated["type"] == "Originated"
        assert (originated["calling_device"], originated["called_device"]) == ("1000", "1001")
        delivered = await client.next()
        assert delivered["type"] == "Delivered"
        assert delivered["states"] == {"1000": "connected", "1001": "alerting"}
        assert delivered["data"] == {}

    async def test_device_filter_in_the_query(self) -> None:
        stream = Stream(self)
        client = await stream.connect("?device=%2B4685551001")  # the public number of 1001
        assert (await hello(client))["filter"]["device"] == ["1001"]
        stream.switch.set_do_not_disturb("1002", True)
        stream.switch.set_do_not_disturb("1001", True)
        event = await client.next()
        assert (event["type"], event["device"]) == ("DoNotDisturb", "1001")

    async def test_call_filter_by_subscribe_message_follows_a_transfer(self) -> None:
        stream = Stream(self)
        sw = stream.switch
        client = await stream.connect()
        await hello(client)
        held, _ = sw.make_call("1000", "1001")
        sw.answer_call(held, "1001")
        consult, _ = sw.consultation_call(held, "1000", "1002")
        other, _ = sw.make_call("1003", "1004")
        for _ in range(11):  # what the calls made so far produced
            await client.next()
        await client.send_json({"subscribe": {"call": consult, "kinds": ["switch"]}})
        subscribed = await client.next()
        assert subscribed == {
            "kind": "subscribed",
            "filter": {"kinds": ["switch"], "device": [], "call": [consult], "association": []},
        }
        sw.clear_call(other)  # not this client's call
        sw.answer_call(consult, "1002")
        established = await client.next()
        assert (established["type"], established["call_id"]) == ("Established", consult)
        sw.transfer_call(held, consult, "1000")
        transferred = await client.next()
        assert transferred["type"] == "Transferred"
        assert (transferred["secondary_old_call_id"], transferred["new_call_id"]) == (
            consult,
            held,
        )
        assert transferred["connections"][0].keys() == {"device", "old_call_id", "new_call_id"}
        sw.clear_call(held)  # the call the consultation became
        cleared = await client.next()
        assert cleared["call_id"] == held and cleared["type"] == "ConnectionCleared"

    async def test_device_and_call_together_narrow(self) -> None:
        stream = Stream(self)
        sw = stream.switch
        first, _ = sw.make_call("1000", "1001")
        second, _ = sw.make_call("1002", "1003")
        client = await stream.connect(f"?device=1001&call={first},{second}")
        await hello(client)
        sw.clear_call(second)  # in the call filter, but not at 1001
        sw.clear_call(first)
        event = await client.next()
        assert event["call_id"] == first and "1001" in event["devices"]

    async def test_bad_subscribe_messages_are_answered_and_the_stream_goes_on(self) -> None:
        stream = Stream(self)
        client = await stream.connect()
        await hello(client)
        client.sendMessage(b"not json")
        assert (await client.next())["kind"] == "error"
        await client.send_json({"subscribe": {"kinds": "video"}})
        error = await client.next()
        assert error == {"kind": "error", "error": "unknown kind 'video' (switch, wire)"}
        await client.send_json({"unsubscribe": {}})
        assert (await client.next())["kind"] == "error"
        stream.switch.set_do_not_disturb("1001", True)
        assert (await client.next())["type"] == "DoNotDisturb"

    async def test_a_binary_message_closes_with_1003(self) -> None:
        stream = Stream(self)
        client = await stream.connect()
        await hello(client)
        client.sendMessage(b"\x00\x01", isBinary=True)
        code, reason = await client.closed
        assert (code, reason) == (1003, "binary messages are not understood")
        await client.lost
        assert stream.hub.clients == set()

    async def test_the_switch_is_watched_only_while_someone_listens(self) -> None:
        stream = Stream(self)
        bus = stream.switch.core.bus
        before = bus.subscriber_count()
        client = await stream.connect()
        await hello(client)
        assert bus.subscriber_count() == before + 1
        client.sendClose(1000)
        await client.lost
        for _ in range(50):
            if not stream.hub.clients:
                break
            await deferLater(reactor, 0.01, lambda: None)
        assert bus.subscriber_count() == before
        assert stream.recorder.listening == 0


# --------------------------------------------------------------------------- wire messages


class WireMessages(unittest.TestCase):
    timeout = 20

    async def test_wire_messages_of_one_association_when_subscribed(self) -> None:
        stream = Stream(self)
        xml_client = stream.world.connect()
        other = stream.world.connect()
        association = max(a.id for a in stream.world.core.associations)
        client = await stream.connect(f"?kinds=wire&association={association}")
        assert (await hello(client))["filter"]["kinds"] == ["wire"]
        await xml_client.ok(xml("RequestSystemStatus"))  # not the association asked for
        await other.monitor("1001")
        request, answer = await client.next(), await client.next()
        assert (request["kind"], request["direction"], request["role"]) == ("wire", "in", "request")
        assert (request["root"], request["correlation"]) == ("MonitorStart", "0001")
        assert request["association"] == association and request["profile"] == "xml"
        assert "<deviceObject>1001</deviceObject>" in request["xml"]
        assert (answer["direction"], answer["root"]) == ("out", "MonitorStartResponse")
        stream.switch.set_do_not_disturb("1001", True)  # a switch event: not asked for
        event = await client.next()
        assert (event["kind"], event["role"], event["root"]) == (
            "wire",
            "event",
            "DoNotDisturbEvent",
        )

    async def test_switch_and_wire_together(self) -> None:
        stream = Stream(self)
        xml_client = stream.world.connect()
        client = await stream.connect("?kinds=switch,wire")
        await hello(client)
        await xml_client.monitor("1001")
        stream.switch.set_do_not_disturb("1001", True)
        kinds = [(await client.next())["kind"] for _ in range(4)]
        assert kinds[:2] == ["wire", "wire"]  # MonitorStart and its response
        assert sorted(kinds[2:]) == ["switch", "wire"]  # DoNotDisturb, and its CSTA event


# --------------------------------------------------------------------------- refusals


class Refusals(unittest.TestCase):
    timeout = 20

    async def test_bad_credentials_are_refused_before_the_upgrade(self) -> None:
        stream = Stream(self)
        for auth in (basic(password="wrong"), b"Bearer x"):
            client = await stream.connect(auth=auth)
            with self.assertRaises(ConnectionError) as refused:
                await client.opened
            assert "401" in str(refused.exception)
            await client.lost
        assert stream.hub.clients == set()
        status, headers, body = await stream.web.get("/api/v1/events")
        assert status == 401
        assert headers.getRawHeaders(b"www-authenticate") == [
            b'Basic realm="cstaserver", charset="UTF-8"'
        ]
        assert json.loads(body) == {
            "error": {"code": "unauthorized", "message": "authentication required"}
        }

    async def test_not_an_upgrade_bad_filter_foreign_origin(self) -> None:
        stream = Stream(self)
        status, headers, body = await stream.web.get("/api/v1/events", {b"Authorization": basic()})
        assert status == 426
        assert headers.getRawHeaders(b"content-type") == [b"application/json"]
        assert json.loads(body)["error"]["code"] == "upgrade_required"
        client = await stream.connect("?kinds=video")
        with self.assertRaises(ConnectionError) as refused:
            await client.opened
        assert "400" in str(refused.exception)
        client = await stream.connect(headers={"Origin": "http://evil.example"})
        with self.assertRaises(ConnectionError) as refused:
            await client.opened
        assert "403" in str(refused.exception)
        port = stream.web.base.rsplit(":", 1)[1]
        same = await stream.connect(headers={"Origin": f"http://127.0.0.1:{port}"})
        await hello(same)

    async def test_too_many_clients(self) -> None:
        stream = Stream(self, StreamLimits(max_clients=1))
        await hello(await stream.connect())
        client = await stream.connect()
        with self.assertRaises(ConnectionError) as refused:
            await client.opened
        assert "503" in str(refused.exception)


# --------------------------------------------------------------------------- slow consumers


def shrink_buffers(stream: Stream, client: StreamClient) -> None:
    """Small socket buffers on both ends, so a client that stops reading fills them soon."""
    (server,) = stream.hub.clients
    server_socket = server.transport.transport.getHandle()  # under the tracking wrapper
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)


async def blast(stream: Stream, until: Any, batches: int = 400) -> int:
    """DoNotDisturb events, ten per reactor turn, until ``until()`` or ``batches`` ran out."""
    sent = 0
    for _ in range(batches):
        if until():
            break
        for _ in range(10):
            stream.switch.set_do_not_disturb("1001", sent % 2 == 0)
            sent += 1
        await turn()
    return sent


SMALL = StreamLimits(queue_messages=20, queue_bytes=16384, close_grace=5.0)


class SlowConsumers(unittest.TestCase):
    timeout = 30

    async def test_a_client_that_reads_keeps_up(self) -> None:
        stream = Stream(self, SMALL)
        client = await stream.connect()
        await hello(client)
        shrink_buffers(stream, client)
        sent = await blast(stream, lambda: False, batches=60)
        for _ in range(sent):
            await client.next()
        assert len(stream.hub.clients) == 1

    async def test_a_client_that_does_not_read_is_dropped_with_a_reason(self) -> None:
        stream = Stream(self, SMALL)
        client = await stream.connect()
        await hello(client)
        shrink_buffers(stream, client)
        client.transport.pauseProducing()  # stop reading
        sent = await blast(stream, lambda: not stream.hub.clients)
        assert stream.hub.clients == set(), f"still connected after {sent} events"
        assert not client.closed.called
        client.transport.resumeProducing()  # reads what was sent, then the close frame
        code, reason = await client.closed
        assert code == CLOSE_POLICY
        assert reason == "send queue full (21 messages): not reading"
        await client.lost
        assert stream.stream_clock.getDelayedCalls() == []  # closed in time: no cut

    async def test_a_client_that_never_reads_is_cut_after_the_grace(self) -> None:
        stream = Stream(self, SMALL)
        client = await stream.connect()
        await hello(client)
        shrink_buffers(stream, client)
        client.transport.pauseProducing()
        await blast(stream, lambda: not stream.hub.clients)
        assert stream.hub.clients == set()
        assert len(stream.stream_clock.getDelayedCalls()) == 1
        stream.stream_clock.advance(4.9)
        await turn()
        assert len(stream.web.wrapper.protocols) == 1
        stream.stream_clock.advance(0.1)  # the close grace is over: the TCP connection is cut
        for _ in range(100):
            if not stream.web.wrapper.protocols:
                break
            await deferLater(reactor, 0.01, lambda: None)
        assert len(stream.web.wrapper.protocols) == 0
        client.transport.resumeProducing()  # the client notices when it reads again
        await client.lost

    # --------------------------------------------------------------------------- composed

    async def test_a_client_that_closes_but_does_not_read_is_cut_after_the_grace(self) -> None:
        """After the client's close the server ends TCP cleanly, which waits until the client
        has read what is buffered: it gets the close grace too, then the connection is cut
        (a client may not hold a stream slot by closing and never reading)."""
        stream = Stream(self, SMALL)
        client = await stream.connect()
        await hello(client)
        shrink_buffers(stream, client)
        client.transport.pauseProducing()
        (server,) = stream.hub.clients
        await blast(stream, lambda: server.paused)  # its buffers are full, its queue is not
        assert server.paused and stream.hub.clients == {server}
        client.sendClose(1000)
        for _ in range(100):
            if stream.stream_clock.getDelayedCalls():
                break
            await deferLater(reactor, 0.01, lambda: None)
        assert len(stream.stream_clock.getDelayedCalls()) == 1  # the clean end is pending
        assert len(stream.web.wrapper.protocols) == 1
        stream.stream_clock.advance(5)
        for _ in range(100):
            if not stream.web.wrapper.protocols:
                break
            await deferLater(reactor, 0.01, lambda: None)
        assert len(stream.web.wrapper.protocols) == 0 and stream.hub.clients == set()
        client.transport.resumeProducing()
        await client.lost


class MountedByTheWebSite(unittest.TestCase):
    """``make_web_site`` (the composition layer) serves the stream and the downloads over
    the core's wire trace, beside what the site served before."""

    timeout = 20

    async def test_stream_and_trace_on_the_composed_site(self) -> None:
        web = LoopbackWeb(reactor, checker=OneAccount())
        web.listen()
        self.addCleanup(web.stop)
        recorder = web.core.tracer
        assert isinstance(recorder, WireRecorder)
        xml_client = connect_memory(CstaXmlFactory(web.core, Profile(), web.clock))
        self.addCleanup(xml_client.disconnect)
        await xml_client.monitor("1001")
        association = max(a.id for a in web.core.associations)
        clients: list[StreamClient] = []
        self.addCleanup(close_all, clients)
        stream = await open_stream(
            web.base.replace("http", "ws") + "/api/v1/events?kinds=switch,wire"
        )
        clients.append(stream)
        await hello(stream)
        web.switch.set_do_not_disturb("1001", True)
        got = sorted(
            (m["kind"], m.get("type") or m.get("root"))
            for m in [await stream.next() for _ in range(2)]
        )
        assert got == [("switch", "DoNotDisturb"), ("wire", "DoNotDisturbEvent")]
        auth = {b"Authorization": basic()}
        status, _h, body = await web.request(
            b"GET", f"{web.base}/api/v1/associations/{association}/trace.txt", headers=auth
        )
        assert status == 200 and b" in request invoke 0001 MonitorStart (" in body
        status, _h, _b = await web.request(b"GET", f"{web.base}/api/status", headers=auth)
        assert status == 200  # the rest of the site as it was


class LaidOverApi(unittest.TestCase):
    """``LiveApi`` answers its two paths and leaves every other one, and every later
    ``putChild``, to the ``/api`` resource it is laid over."""

    timeout = 20

    async def test_other_paths_and_later_mounts_go_to_the_resource_below(self) -> None:
        class Echo(resource.Resource):
            isLeaf = True

            def render_GET(self, request: server.Request) -> bytes:  # noqa: N802
                return json.dumps([p.decode() for p in request.prepath + request.postpath]).encode()

        below = resource.Resource()
        below.putChild(b"status", Echo())
        stream = Stream(self)
        live = live_api(stream.world.core, stream.switch, FixedGate(), Clock(), fallback=below)
        assert isinstance(live, LiveApi)
        assert stream.world.core.tracer is stream.recorder  # the core's recorder, not a new one
        root = resource.Resource()
        root.putChild(b"api", live)
        live.putChild(b"v1", Echo())  # mounted after the live API: lands below it
        assert below.getStaticEntity(b"v1") is live.getStaticEntity(b"v1")
        web = WebServer(self, root)
        assert (await web.get("/api/status"))[2] == b'["api", "status"]'
        assert (await web.get("/api/v1/devices/1001"))[2] == b'["api", "v1", "devices", "1001"]'
        assert (await web.get("/api/v1/associations/7"))[2] == b'["api", "v1", "associations", "7"]'
        assert (await web.get("/api/v1/events/x"))[2] == b'["api", "v1", "events", "x"]'
        status, _h, body = await web.get("/api/v1/associations/7/trace.txt")
        assert status == 401  # ours
        status, _h, body = await web.get("/api/v1/events")
        assert status == 401  # ours

    def test_a_core_tracing_elsewhere_keeps_its_tracer(self) -> None:
        world = make_world()
        world.core.tracer = other = object()
        below = resource.Resource()
        assert live_api(world.core, world.switch, FixedGate(), Clock(), fallback=below) is below
        assert world.core.tracer is other


# --------------------------------------------------------------------------- units


class Units(unittest.TestCase):
    def test_parse_filter(self) -> None:
        parsed = parse_filter({"devices": ["1001,1002"], "call": 7, "associations": "3, 4"})
        assert parsed.as_json() == {
            "kinds": ["switch"],
            "device": ["1001", "1002"],
            "call": ["7"],
            "association": [3, 4],
        }
        for bad in ({"colour": "red"}, {"association": "x"}, {"call": [{"a": 1}]}):
            with self.assertRaises(FilterError):
                parse_filter(bad)
        with self.assertRaises(FilterError):
            parse_filter({"device": [str(n) for n in range(1001)]})

    def test_merging_event_as_json(self) -> None:
        event = Transferred(
            "5",
            cause=EventCause.TRANSFER,
            devices=("1000", "1001"),
            secondary_old_call_id="6",
            new_call_id="5",
            transferring_device="1000",
            transferred_to_device="1002",
            connections=(),
        )
        body = switch_event_json(event, 1.0)
        assert body["call_ids"] == ["5", "6"]
        assert body["cause"] == "transfer" and body["connections"] == []
        json.dumps(body)


class OnTheRunningServer(unittest.TestCase):
    """The whole server (the composition layer): a web account and an admin account may both
    watch the stream, as both may read the JSON API; a wrong password may not."""

    timeout = 20

    async def test_web_and_admin_accounts_watch_the_stream(self) -> None:
        import base64

        from cstaserver.app.options import RunSettings
        from cstaserver.app.root import build_service
        from tests.admin.admin_harness import ADMIN, demo_data

        data = self.mktemp()
        demo_data(data)
        root = build_service(RunSettings.ephemeral(data), reactor)
        root.startService()
        self.addCleanup(root.stopService)
        url = f"ws://127.0.0.1:{root.port_of('web')}/api/v1/events"
        clients: list[StreamClient] = []
        self.addCleanup(close_all, clients)
        for user, password in (("csta_user", "csta"), ADMIN):
            auth = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
            stream = await open_stream(url, auth=auth)
            clients.append(stream)
            assert (await hello(stream))["user"] == user
        refused = b"Basic " + base64.b64encode(b"admin:wrong")
        stream = await open_stream(url, auth=refused)
        clients.append(stream)
        with self.assertRaisesRegex(ConnectionError, r"upgrade failed \[401\]"):
            await hello(stream)
