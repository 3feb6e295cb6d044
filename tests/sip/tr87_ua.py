"""A TR/87 test user agent that speaks pidgin-sipe's dialect of Lync RCC
(docs/protocol-notes.md T2, Q1-Q7) over **real loopback UDP and TCP**, and a server harness
to run it against.

- :func:`start_server` builds the demo switch and CSTA core on a ``task.Clock`` (switch
  timers and the SIP transaction timers: tests advance them explicitly, e.g. past Timer F),
  a :class:`~cstaserver.sip.tr87.Tr87Application` and a
  :class:`~cstaserver.sip.endpoint.SipEndpoint`, listening on ``127.0.0.1`` port 0 (UDP and
  TCP). The application's "after the answer" hop runs on the real reactor, as in production.
- :func:`connect_ua` gives a :class:`Tr87UA` on its own UDP socket or TCP connection.

The UA writes what sipe writes: INVITE without a Via ``branch`` (on every request), ``epid``
on From, ``Supported: timer``, a Contact with ``maddr``, ``transport=`` and ``;proxy=replace``,
CSeq reset to 0 after each final INVITE response (so the ACK has CSeq 1 and the next INFO
CSeq 2). It answers the server's event INFOs with 200 (or not, with ``answer_events=False``)
and its BYEs always. Everything received is kept in arrival order (:attr:`Tr87UA.received`),
so tests can assert that a response precedes the events it causes.

Cleanups registered by both helpers close every socket, connection and timer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import Clock, deferLater
from twisted.trial import unittest

from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.plan import ExchangePlan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.headers import Headers
from cstaserver.sip.message import (
    SipRequest,
    SipResponse,
    SipStreamParser,
    make_response,
    parse_datagram,
)
from cstaserver.sip.tr87 import Tr87Application, Tr87Settings
from cstaserver.sip.transport import SipListeners, listen_sip
from tests.sip.sip_support import CSTA
from tests.xmlproto.xml_client import ED3, Frame, Req, parse_frame, xml

#: How long a test waits for an answer or an event (real seconds) before failing.
WAIT = 5.0
#: How long "nothing more arrives" is watched for.
QUIET = 0.05

LCS = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"
GATEWAY = "sip:rccgateway@example.net"
LINE = "tel:+4685551101"  # extension 1101
USER_AGENT = "Purple/2.14.10 Sipe/1.25.0 (linux-x86_64; Lync 2013)"
TIMER_F = 32.0  # 64 * T1


# --------------------------------------------------------------------------- bodies


def lcs_line(line: str) -> str:
    """The ``lcs:line`` private data element sipe adds to RequestSystemStatus and
    GetCSTAFeatures."""
    return (
        "<extensions><privateData><private>"
        f'<lcs:line xmlns:lcs="{LCS}">{line}</lcs:line>'
        "</private></privateData></extensions>"
    )


class Lync(Req):
    """ECMA-323 ed3 bodies as Lync/sipe sends them (plus every request of :class:`Req`)."""

    @staticmethod
    def request_system_status(line: str = LINE) -> str:
        return xml("RequestSystemStatus", lcs_line(line))

    @staticmethod
    def get_csta_features(line: str = LINE) -> str:
        return xml("GetCSTAFeatures", lcs_line(line))

    @staticmethod
    def make_call(calling: str, called: str, extra: str = "", ns: str = ED3) -> str:
        """MakeCall with ``autoOriginate doNotPrompt``, as sipe writes it."""
        return Req.make_call(calling, called, extra + "<autoOriginate>doNotPrompt</autoOriginate>")


# --------------------------------------------------------------------------- the server


@attrs.define
class Tr87Server:
    """The demo exchange behind a TR/87 endpoint listening on loopback."""

    clock: Clock
    switch: Switch
    core: CstaCore
    sim: Simulator
    application: Tr87Application
    endpoint: SipEndpoint
    listeners: SipListeners
    connections: list[Any] = attrs.Factory(list)

    @property
    def port(self) -> int:
        return self.listeners.port

    def advance(self, seconds: float) -> None:
        """Advance the switch and SIP timers (Timer F, session expiry, ...)."""
        self.clock.advance(seconds)

    def call_id_of(self, device: str) -> str:
        """The call ID of ``device``'s only call (for switch-side actions)."""
        (call_id,) = {row[0] for row in self.switch.snapshot_device(device)}
        return str(call_id)


class _TrackingEndpoint(SipEndpoint):
    """Remembers the server side of every TCP connection, so cleanups can wait for them."""

    connections: list[Any]

    def message_received(self, message: Any, flow: Any) -> None:
        if flow.reliable and flow not in self.connections:
            self.connections.append(flow)
        super().message_received(message, flow)


async def start_server(
    test: unittest.TestCase,
    settings: Tr87Settings | None = None,
    config: SipConfig | None = None,
    plan: ExchangePlan | None = None,
) -> Tr87Server:
    """The demo exchange (or ``plan``) behind a TR/87 endpoint on 127.0.0.1, port 0."""
    clock = Clock()
    switch = Switch(plan or demo_plan(), clock)
    core = CstaCore(switch, clock)
    application = Tr87Application(core, global_reactor, settings or Tr87Settings())
    endpoint = _TrackingEndpoint(application, clock, config or SipConfig())
    endpoint.connections = []
    listeners = await listen_sip(global_reactor, endpoint, 0, "127.0.0.1")
    server = Tr87Server(clock, switch, core, Simulator(switch), application, endpoint, listeners)
    server.connections = endpoint.connections

    async def stop() -> None:
        endpoint.stop()
        await listeners.stop_listening()
        for connection in endpoint.connections:
            if connection.connected:
                connection.transport.loseConnection()
        await _until(
            lambda: not any(c.connected for c in endpoint.connections), "server connections"
        )

    test.addCleanup(lambda: defer.Deferred.fromCoroutine(stop()))
    return server


async def _until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll the real reactor until ``predicate`` holds (bounded)."""
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        await deferLater(global_reactor, 0.005, lambda: None)
    raise AssertionError(f"timed out waiting for {what}")


# --------------------------------------------------------------------------- the UA


@attrs.frozen
class Event:
    """One INFO the server sent: the request, its CSTA frame, its place in arrival order."""

    request: SipRequest
    frame: Frame
    index: int

    @property
    def name(self) -> str:
        return self.frame.name

    def get(self, name: str) -> Any:
        return self.frame.get(name)


@attrs.frozen
class Reply:
    """A final response to one of our requests and, if it has a CSTA body, its frame."""

    response: SipResponse
    index: int

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def frame(self) -> Frame:
        return parse_frame("", self.response.body)

    @property
    def name(self) -> str:
        return self.frame.name

    def get(self, name: str) -> Any:
        return self.frame.get(name)


class _UdpSocket(protocol.DatagramProtocol):
    def __init__(self, ua: Tr87UA) -> None:
        self.ua = ua

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:  # noqa: N802
        self.ua.message_in(parse_datagram(datagram))


class _TcpConnection(protocol.Protocol):
    def __init__(self, ua: Tr87UA) -> None:
        self.ua = ua
        self.parser = SipStreamParser()
        self.lost: defer.Deferred[None] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.parser.feed(data)
        while (message := self.parser.next_message()) is not None:
            self.ua.message_in(message)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        self.lost.callback(None)


_tags = itertools.count(1)


class Tr87UA:
    """One sipe-style RCC client (one SIP dialog at a time, replaceable by :meth:`open`)."""

    def __init__(
        self,
        port: int,
        transport: str,
        *,
        user: str = "alice",
        answer_events: bool = True,
    ) -> None:
        self.port = port  # the server's TR/87 port on 127.0.0.1
        self.transport = transport.upper()
        self.user = user
        self.answer_events = answer_events
        self.local_port = 0
        self.sent: list[bytes] = []
        self.received: list[SipRequest | SipResponse] = []
        self.events: list[Event] = []
        self.byes: list[SipRequest] = []
        self.event_cursor = 0
        self.epid = f"0a1b2c{next(_tags):04x}"
        self.new_dialog()
        self._write: Callable[[bytes], None] = lambda data: None
        self._waiters: list[defer.Deferred[None]] = []

    # -- dialog state ---------------------------------------------------------------------
    def new_dialog(self) -> None:
        """Forget the dialog: the next INVITE starts a new one (new Call-ID and tag)."""
        serial = next(_tags)
        self.call_id = f"{self.user}-{serial:06d}-6f1b0c2a9d7e4b3f"
        self.from_tag = f"5c1e{serial:04x}"
        self.to_tag: str | None = None
        self.cseq = 0

    @property
    def contact_uri(self) -> str:
        transport = self.transport.lower()
        return (
            f"sip:{self.user}@example.net:{self.local_port};maddr=127.0.0.1;transport={transport}"
        )

    @property
    def from_header(self) -> str:
        return f"<sip:{self.user}@example.net>;tag={self.from_tag};epid={self.epid}"

    @property
    def to_header(self) -> str:
        return f"<{GATEWAY}>" + (f";tag={self.to_tag}" if self.to_tag else "")

    # -- building and sending ---------------------------------------------------------------
    def build(
        self,
        method: str,
        body: str | bytes = b"",
        *,
        cseq: int | None = None,
        content_type: str | None = CSTA,
        headers: Iterable[tuple[str, str]] = (),
        in_dialog: bool = True,
    ) -> SipRequest:
        """A request as sipe writes it. ``cseq`` None: the next number of the dialog."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        data = body.encode("utf-8") if isinstance(body, str) else body
        request = SipRequest(method, GATEWAY, Headers(), data)
        add = request.headers.add
        add("Via", f"SIP/2.0/{self.transport} 127.0.0.1:{self.local_port}")  # no branch
        add("Max-Forwards", "70")
        add("From", self.from_header)
        add("To", self.to_header if in_dialog else f"<{GATEWAY}>")
        add("Call-ID", self.call_id)
        add("CSeq", f"{cseq} {method}")
        add("Contact", f"<{self.contact_uri}>;proxy=replace")
        add("User-Agent", USER_AGENT)
        for name, value in headers:
            add(name, value)
        if data and content_type:
            add("Content-Disposition", "signal;handling=required")
            add("Content-Type", content_type)
        return request

    def send(self, request: SipRequest | bytes) -> defer.Deferred[Reply]:
        """Send; the Deferred fires with the final response (same CSeq number and method)."""
        data = request if isinstance(request, bytes) else request.to_bytes()
        parsed = parse_datagram(data) if isinstance(request, bytes) else request
        key = (parsed.cseq.number, parsed.cseq.method)
        start = len(self.received)
        self.sent.append(data)
        self._write(data)
        if parsed.method == "ACK":
            return defer.succeed(Reply(SipResponse(0), start))

        def matches() -> Reply | None:
            for index in range(start, len(self.received)):
                message = self.received[index]
                if (
                    isinstance(message, SipResponse)
                    and message.status >= 200
                    and message.call_id == parsed.call_id
                    and (message.cseq.number, message.cseq.method) == key
                ):
                    return Reply(message, index)
            return None

        async def wait() -> Reply:
            await self.wait_until(lambda: matches() is not None, f"the response to {key}")
            reply = matches()
            assert reply is not None
            return reply

        return defer.Deferred.fromCoroutine(wait())

    async def request(self, body: str | bytes, *, method: str = "INFO", **build: Any) -> Reply:
        """One request in the dialog; returns its final response."""
        return await self.send(self.build(method, body, **build))

    async def csta(self, body: str) -> Reply:
        """A CSTA request in an INFO; asserts the 200 OK (CSTA errors travel inside it)."""
        reply = await self.request(body)
        assert reply.status == 200, reply.response
        return reply

    async def invite(self, body: str | bytes | None = None, **build: Any) -> Reply:
        """INVITE (or re-INVITE once the dialog has a To-tag) with RequestSystemStatus;
        after the final response the CSeq resets to 0, as in sipe."""
        if body is None:
            body = Lync.request_system_status()
        headers = [("Supported", "timer"), *build.pop("headers", ())]
        reply = await self.send(self.build("INVITE", body, headers=headers, **build))
        if reply.status < 300 and self.to_tag is None:
            self.to_tag = reply.response.to_tag
        self.cseq = 0
        return reply

    def ack(self) -> None:
        self.send(self.build("ACK", content_type=None))

    async def open(self, line: str = LINE) -> Reply:
        """A new dialog for ``line``: INVITE with RequestSystemStatus + lcs:line, ACK."""
        self.new_dialog()
        reply = await self.invite(Lync.request_system_status(line))
        assert reply.status == 200, reply.response
        self.ack()
        return reply

    async def monitor(self, device: str = LINE) -> str:
        """MonitorStart; returns the monitorCrossRefID."""
        reply = await self.csta(Lync.monitor_start(device))
        assert reply.name == "MonitorStartResponse", reply.response.body
        return str(reply.get("monitor_cross_ref_id"))

    async def bye(self) -> Reply:
        return await self.request(b"", method="BYE", content_type=None)

    # -- receiving ----------------------------------------------------------------------------
    def message_in(self, message: SipRequest | SipResponse) -> None:
        self.received.append(message)
        if isinstance(message, SipRequest):
            self._server_request(message, len(self.received) - 1)
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.called:
                waiter.callback(None)

    def _server_request(self, request: SipRequest, index: int) -> None:
        if request.method == "INFO":
            number = request.cseq.number
            if any(event.request.cseq.number == number for event in self.events):
                return  # a UDP retransmission
            self.events.append(Event(request, parse_frame("9999", request.body), index))
            if self.answer_events:
                self._reply(request, 200)
        elif request.method == "BYE":
            self.byes.append(request)
            self._reply(request, 200)

    def _reply(self, request: SipRequest, status: int) -> None:
        self._write(make_response(request, status).to_bytes())

    async def wait_until(self, predicate: Callable[[], bool], what: str) -> None:
        """Wait (bounded) until ``predicate`` holds; re-checked on every message."""
        deadline = global_reactor.seconds() + WAIT
        while not predicate():
            remaining = deadline - global_reactor.seconds()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; received {self.received}")
            arrived: defer.Deferred[None] = defer.Deferred()
            self._waiters.append(arrived)
            arrived.addTimeout(remaining, global_reactor)
            try:
                await arrived
            except defer.TimeoutError:
                pass

    async def next_event(self) -> Event:
        await self.wait_until(lambda: len(self.events) > self.event_cursor, "an event")
        event = self.events[self.event_cursor]
        self.event_cursor += 1
        return event

    async def expect_events(self, *names: str) -> list[Event]:
        """The next events are exactly ``names`` (local root names, in order)."""
        events = [await self.next_event() for _ in names]
        assert [event.name for event in events] == list(names), [e.name for e in events]
        return events

    async def skip_to(self, name: str, limit: int = 20) -> Event:
        """Skip events up to and including the next ``name`` (bounded)."""
        for _ in range(limit):
            event = await self.next_event()
            if event.name == name:
                return event
        raise AssertionError(f"no {name} within {limit} events")

    async def quiet(self) -> list[Event]:
        """Let the reactor run briefly; return (and consume) the events that arrived."""
        await deferLater(global_reactor, QUIET, lambda: None)
        new = self.events[self.event_cursor :]
        self.event_cursor = len(self.events)
        return new

    # -- what a Lync integrator checks on every event INFO --------------------------------------
    def assert_in_dialog(self, request: SipRequest) -> None:
        """A request from the gateway in our dialog: Request-URI = our Contact, From/To
        swapped (our From echoed with its epid), our Call-ID, CSeq method = method."""
        assert request.uri == self.contact_uri, request.uri
        assert request.call_id == self.call_id
        assert request.headers.get("To") == self.from_header
        assert request.from_address.uri == GATEWAY
        assert request.from_tag == self.to_tag
        assert request.cseq.method == request.method
        assert request.content_type in (CSTA, None)


async def connect_ua(
    test: unittest.TestCase,
    server: Tr87Server | int,
    transport: str = "udp",
    *,
    source: str = "127.0.0.1",
    **options: Any,
) -> Tr87UA:
    """A UA on its own loopback UDP socket or TCP connection to ``server`` (a
    :class:`Tr87Server`, or the TR/87 port of any server on 127.0.0.1), sending from the
    loopback address ``source`` (``127.0.0.2``: another host to the server)."""
    ua = Tr87UA(server if isinstance(server, int) else server.port, transport, **options)
    if ua.transport == "UDP":
        socket = _UdpSocket(ua)
        port = global_reactor.listenUDP(0, socket, interface=source)
        test.addCleanup(port.stopListening)
        ua.local_port = port.getHost().port
        target = ("127.0.0.1", ua.port)
        ua._write = lambda data: socket.transport.write(data, target)
    else:
        connection = _TcpConnection(ua)
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", ua.port, bindAddress=(source, 0))
        await connectProtocol(endpoint, connection)

        def close() -> defer.Deferred[None]:
            if connection.transport.connected:
                connection.transport.loseConnection()
            return connection.lost

        test.addCleanup(close)
        ua.local_port = connection.transport.getHost().port
        ua._write = lambda data: connection.transport.write(data)
    return ua


class LyncCase:
    """A Lync-style client on one line of a TR/87 server (mixed into a ``TestCase`` with a
    ``transport``): ``setup`` opens the dialog and monitors the line, ``ok`` sends a request
    and takes its answer and the events it causes."""

    transport = "udp"
    timeout = 15

    async def setup(self, plan: ExchangePlan | None = None) -> tuple[Tr87Server, Tr87UA]:
        self.server = await start_server(self, plan=plan)  # type: ignore[arg-type]
        self.ua = await connect_ua(self, self.server, self.transport)  # type: ignore[arg-type]
        await self.ua.open()
        self.xref = await self.ua.monitor()
        return self.server, self.ua

    async def ok(self, body: str, response: str, *events: str) -> tuple[Reply, list[Event]]:
        """A request answered with ``response``, then exactly ``events`` on our monitor."""
        reply = await self.ua.csta(body)
        assert reply.name == response, reply.response.body
        caused = await self.ua.expect_events(*events)
        for event in caused:
            assert event.index > reply.index
            assert event.get("monitor_cross_ref_id") == self.xref
        assert await self.ua.quiet() == []
        return reply, caused
