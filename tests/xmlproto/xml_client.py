"""A CSTA XML test client and harness for the raw XML port (docs/protocol-notes.md X1-X9).

Two ways to connect one :class:`XmlClient` to a :class:`CstaXmlFactory`:

- :func:`connect_tcp`: a **real loopback TCP connection** on the real reactor (listen on
  ``127.0.0.1`` port 0), for ``twisted.trial.unittest.TestCase`` tests that are ``async def``;
  cleanups stop listening and wait until both ends of every connection are closed.
- :func:`connect_memory`: the same client over ``StringTransport`` pairs, pumped
  synchronously: every Deferred of the client has fired by the time the call returns (unless
  the server itself waits on the switch clock), so scenario tests stay fast.

The switch's timers run on a ``task.Clock`` that tests advance explicitly (:class:`World`);
the network reactor is separate.

:meth:`XmlClient.request` sends one request (XML text, bytes or a codec message) and fires with
the :class:`Frame` whose invoke ID matches; events (invoke ID ``9999``) queue up for
:meth:`XmlClient.next_event`; server-originated requests (``SystemStatus``) are answered
automatically and kept in :attr:`XmlClient.server_requests`. Every frame received is also
appended to :attr:`XmlClient.received`, in arrival order, so ordering can be asserted.
"""

from __future__ import annotations

import collections
import enum
import itertools
from collections.abc import Iterable
from typing import Any, NamedTuple

import attrs
from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import SSL4ClientEndpoint, TCP4ClientEndpoint, connectProtocol
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from cstaserver.certificates import CertificateStore, self_signed
from cstaserver.csta import codec
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CoreLimits, CstaCore
from cstaserver.csta.types import ConnectionID, DeviceID, ExtendedDeviceID
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.tlscontext import ReloadingServerTLS
from cstaserver.xmlproto.framing import EVENT_INVOKE_ID, Deframer, encode_frame
from cstaserver.xmlproto.protocol import CstaXmlFactory

ED2 = "http://www.ecma.ch/standards/ecma-323/csta/ed2"
ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
ED4 = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
ED6 = "http://www.ecma-international.org/standards/ecma-323/csta/ed6"
APPL = "http://www.ecma-international.org/standards/ecma-354/appl_session"

#: How long a loopback test waits for an answer or an event before failing (real seconds).
WAIT = 5.0
#: How long "no more events" is watched for on a real connection.
QUIET = 0.05


# --------------------------------------------------------------------------- frames


def flatten(value: Any) -> Any:
    """A decoded field as a user reads it on the wire: a connection as ``(callID, deviceID)``,
    a device as its text (``"notKnown"`` / ``"restricted"``), an enumeration as its
    spelling; lists element-wise; other structures as dicts of their non-empty fields."""
    if isinstance(value, ConnectionID):
        return (value.call_id, value.device_id.value if value.device_id else None)
    if isinstance(value, ExtendedDeviceID):
        if value.device_identifier is not None:
            return value.device_identifier.value
        return "restricted" if value.restricted else "notKnown"
    if isinstance(value, DeviceID):
        return value.value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [flatten(item) for item in value]
    if attrs.has(type(value)):
        return {
            field.name: flatten(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if getattr(value, field.name) not in (None, [], False)
        }
    return value


class Frame(NamedTuple):
    """One message received: ``(invoke_id, name, decoded)`` plus the raw body."""

    invoke_id: str
    name: str
    decoded: codec.Decoded
    body: bytes

    @property
    def message(self) -> Any:
        return self.decoded.message

    @property
    def namespace(self) -> str:
        return self.decoded.namespace

    @property
    def fields(self) -> dict[str, Any]:
        """The message's non-empty fields, flattened (see :func:`flatten`)."""
        message = self.decoded.message
        if message is None:
            return {}
        return {
            field.name: flatten(getattr(message, field.name))
            for field in attrs.fields(type(message))
            if getattr(message, field.name) not in (None, [], False)
        }

    @property
    def error(self) -> str | None:
        """``category/value`` of a CSTAErrorCode (``stateIncompatibility/noCallToAnswer``)."""
        if self.name != "CSTAErrorCode":
            return None
        child = next(iter(self.decoded.element))
        return f"{codec.local_name(child)}/{(child.text or '').strip()}"

    def get(self, name: str) -> Any:
        return self.fields.get(name)


def parse_frame(invoke_id: str, body: bytes) -> Frame:
    decoded = codec.decode(body)
    return Frame(invoke_id, decoded.name, decoded, body)


class UnexpectedAnswer(AssertionError):
    pass


# --------------------------------------------------------------------------- requests


def to_body(request: str | bytes | Any, namespace: str = ED3) -> bytes:
    if isinstance(request, bytes):
        return request
    if isinstance(request, str):
        return request.encode("utf-8")
    return codec.encode(request, namespace)


def xml(root: str, inner: str = "", ns: str | None = ED3) -> str:
    """``<root xmlns="ns">inner</root>`` (no namespace when ``ns`` is None)."""
    xmlns = f' xmlns="{ns}"' if ns is not None else ""
    return f"<{root}{xmlns}>{inner}</{root}>"


def conn(call_id: str, device: str) -> str:
    return f"<callID>{call_id}</callID><deviceID>{device}</deviceID>"


class Req:
    """ECMA-323 ed3 request bodies, as a CTI developer writes them."""

    @staticmethod
    def monitor_start(device: str, filter_xml: str = "", ns: str = ED3) -> str:
        filt = (
            f"<requestedMonitorFilter>{filter_xml}</requestedMonitorFilter>" if filter_xml else ""
        )
        return xml(
            "MonitorStart",
            f"<monitorObject><deviceObject>{device}</deviceObject></monitorObject>{filt}",
            ns,
        )

    @staticmethod
    def monitor_call(call_id: str, device: str) -> str:
        return xml(
            "MonitorStart",
            f"<monitorObject><callObject>{conn(call_id, device)}</callObject></monitorObject>",
        )

    @staticmethod
    def monitor_stop(xref: str) -> str:
        return xml("MonitorStop", f"<monitorCrossRefID>{xref}</monitorCrossRefID>")

    @staticmethod
    def change_filter(xref: str, filter_xml: str) -> str:
        return xml(
            "ChangeMonitorFilter",
            f"<monitorCrossRefID>{xref}</monitorCrossRefID>"
            f"<requestedFilterList>{filter_xml}</requestedFilterList>",
        )

    @staticmethod
    def make_call(calling: str, called: str, extra: str = "", ns: str = ED3) -> str:
        return xml(
            "MakeCall",
            f"<callingDevice>{calling}</callingDevice>"
            f"<calledDirectoryNumber>{called}</calledDirectoryNumber>{extra}",
            ns,
        )

    @staticmethod
    def make_predictive_call(calling: str, called: str, extra: str = "") -> str:
        return xml(
            "MakePredictiveCall",
            f"<callingDevice>{calling}</callingDevice>"
            f"<calledDirectoryNumber>{called}</calledDirectoryNumber>{extra}",
        )

    @staticmethod
    def on_connection(root: str, element: str, call_id: str, device: str, extra: str = "") -> str:
        """A request whose first child is a ConnectionID (AnswerCall, HoldCall, ...)."""
        return xml(root, f"<{element}>{conn(call_id, device)}</{element}>{extra}")

    @staticmethod
    def answer(call_id: str, device: str) -> str:
        return Req.on_connection("AnswerCall", "callToBeAnswered", call_id, device)

    @staticmethod
    def clear_connection(call_id: str, device: str) -> str:
        return Req.on_connection("ClearConnection", "connectionToBeCleared", call_id, device)

    @staticmethod
    def clear_call(call_id: str, device: str) -> str:
        return Req.on_connection("ClearCall", "callToBeCleared", call_id, device)

    @staticmethod
    def hold(call_id: str, device: str) -> str:
        return Req.on_connection("HoldCall", "callToBeHeld", call_id, device)

    @staticmethod
    def retrieve(call_id: str, device: str) -> str:
        return Req.on_connection("RetrieveCall", "callToBeRetrieved", call_id, device)

    @staticmethod
    def consultation(call_id: str, device: str, consulted: str) -> str:
        return Req.on_connection(
            "ConsultationCall",
            "existingCall",
            call_id,
            device,
            f"<consultedDevice>{consulted}</consultedDevice>",
        )

    @staticmethod
    def two_calls(root: str, held: str, active: str, device: str) -> str:
        """TransferCall, ConferenceCall, AlternateCall, ReconnectCall."""
        return xml(
            root,
            f"<heldCall>{conn(held, device)}</heldCall><activeCall>{conn(active, device)}</activeCall>",
        )

    @staticmethod
    def single_step_transfer(call_id: str, device: str, to: str) -> str:
        return Req.on_connection(
            "SingleStepTransferCall",
            "activeCall",
            call_id,
            device,
            f"<transferredTo>{to}</transferredTo>",
        )

    @staticmethod
    def single_step_conference(call_id: str, device: str, joining: str) -> str:
        return Req.on_connection(
            "SingleStepConferenceCall",
            "activeCall",
            call_id,
            device,
            f"<deviceToJoin>{joining}</deviceToJoin>",
        )

    @staticmethod
    def deflect(call_id: str, device: str, to: str) -> str:
        return Req.on_connection(
            "DeflectCall",
            "callToBeDiverted",
            call_id,
            device,
            f"<newDestination>{to}</newDestination>",
        )

    @staticmethod
    def generate_digits(call_id: str, device: str, digits: str) -> str:
        return Req.on_connection(
            "GenerateDigits",
            "connectionToSendDigits",
            call_id,
            device,
            f"<charactersToSend>{digits}</charactersToSend>",
        )

    @staticmethod
    def snapshot_device(device: str) -> str:
        return xml("SnapshotDevice", f"<snapshotObject>{device}</snapshotObject>")

    @staticmethod
    def snapshot_call(call_id: str, device: str) -> str:
        return Req.on_connection("SnapshotCall", "snapshotObject", call_id, device)

    @staticmethod
    def on_device(root: str, device: str, extra: str = "") -> str:
        """A request with ``<device>`` first (Get/SetForwarding, DND, agent state, ...)."""
        return xml(root, f"<device>{device}</device>{extra}")

    @staticmethod
    def set_forwarding(device: str, kind: str, to: str | None, on: bool = True) -> str:
        target = f"<forwardDN>{to}</forwardDN>" if to else ""
        return Req.on_device(
            "SetForwarding",
            device,
            f"<forwardingType>{kind}</forwardingType>"
            f"<activateForward>{str(on).lower()}</activateForward>{target}",
        )

    @staticmethod
    def set_dnd(device: str, on: bool) -> str:
        return Req.on_device(
            "SetDoNotDisturb", device, f"<doNotDisturbOn>{str(on).lower()}</doNotDisturbOn>"
        )

    @staticmethod
    def set_agent_state(device: str, state: str, agent_id: str = "", group: str = "") -> str:
        extra = f"<requestedAgentState>{state}</requestedAgentState>"
        if agent_id:
            extra += f"<agentID>{agent_id}</agentID>"
        if group:
            extra += f"<group>{group}</group>"
        return Req.on_device("SetAgentState", device, extra)

    @staticmethod
    def start_session(
        user: str | None = "csta_user",
        password: str | None = "csta",
        application: str = "demo",
        duration: int | None = None,
        reattach: str | None = None,
        versions: Iterable[str] = (ED3,),
    ) -> str:
        login = ""
        if user is not None:
            login += f"<userName>{user}</userName>"
        if password is not None:
            login += f"<password>{password}</password>"
        if reattach is not None:
            login += f"<sessionID>{reattach}</sessionID>"
        info = f"<applicationID>{application}</applicationID>"
        if login:
            info += (
                '<applicationSpecificInfo><SessionLoginInfo xmlns="urn:cstaserver:session">'
                f"{login}</SessionLoginInfo></applicationSpecificInfo>"
            )
        versions_xml = "".join(f"<protocolVersion>{v}</protocolVersion>" for v in versions)
        requested = (
            f"<requestedSessionDuration>{duration}</requestedSessionDuration>"
            if duration is not None
            else ""
        )
        return xml(
            "StartApplicationSession",
            f"<applicationInfo>{info}</applicationInfo>"
            f"<requestedProtocolVersions>{versions_xml}</requestedProtocolVersions>{requested}",
            APPL,
        )

    @staticmethod
    def stop_session(session_id: str) -> str:
        return xml(
            "StopApplicationSession",
            f"<sessionID>{session_id}</sessionID>"
            "<sessionEndReason><definedEndReason>normal</definedEndReason></sessionEndReason>",
            APPL,
        )

    @staticmethod
    def reset_session_timer(session_id: str, duration: int) -> str:
        return xml(
            "ResetApplicationSessionTimer",
            f"<sessionID>{session_id}</sessionID>"
            f"<requestedSessionDuration>{duration}</requestedSessionDuration>",
            APPL,
        )


# --------------------------------------------------------------------------- the client


class XmlClient(protocol.Protocol):
    """A CTI application speaking framed CSTA XML (see the module docstring)."""

    #: True when every request is answered before ``request`` returns (memory link): then
    #: :meth:`ok` checks R6 (docs/protocol-notes.md) itself; on a real connection call
    #: :meth:`assert_answered_first` after a :meth:`drain` (events of an earlier request may
    #: still be in flight).
    synchronous = False

    def __init__(self, *, answer_system_status: bool = True) -> None:
        self.deframer = Deframer()
        self.pending: dict[str, defer.Deferred[Frame]] = {}
        self.events: collections.deque[Frame] = collections.deque()
        self.received: list[Frame] = []
        self.sent_ids: list[str] = []
        self._sent_at: dict[str, int] = {}
        self.server_requests: list[Frame] = []
        self.answer_system_status = answer_system_status
        self.closed: defer.Deferred[None] = defer.Deferred()
        self.is_closed = False
        self._event_waiter: defer.Deferred[None] | None = None
        self._ids = itertools.cycle(range(1, 9999))

    # -- transport hooks (the memory link overrides flush/wait) ---------------------------
    def flush(self) -> None:
        """Move bytes in flight (memory link only)."""

    async def wait_for_event(self, timeout: float) -> None:
        """Wait until an event arrives or ``timeout`` seconds pass (real connection)."""
        self._event_waiter = defer.Deferred()
        self._event_waiter.addTimeout(timeout, global_reactor)
        try:
            await self._event_waiter
        except defer.TimeoutError:
            pass
        finally:
            self._event_waiter = None

    # -- Protocol -------------------------------------------------------------------------
    def dataReceived(self, data: bytes) -> None:
        for raw in self.deframer.feed(data):
            self._frame_received(parse_frame(raw.invoke_id, raw.body))

    def _frame_received(self, frame: Frame) -> None:
        self.received.append(frame)
        waiting = self.pending.pop(frame.invoke_id, None)
        if waiting is not None:
            waiting.callback(frame)
        elif frame.invoke_id == EVENT_INVOKE_ID:
            self.events.append(frame)
            if self._event_waiter is not None and not self._event_waiter.called:
                self._event_waiter.callback(None)
        else:
            self.server_requests.append(frame)
            if frame.name == "SystemStatus" and self.answer_system_status:
                self.send_frame(frame.invoke_id, xml("SystemStatusResponse", ns=frame.namespace))

    def connectionLost(self, reason: Any = None) -> None:
        self.is_closed = True
        pending, self.pending = self.pending, {}
        for deferred in pending.values():
            deferred.errback(ConnectionError("connection lost"))
        if not self.closed.called:
            self.closed.callback(None)

    # -- sending --------------------------------------------------------------------------
    def next_invoke_id(self) -> str:
        while True:
            candidate = f"{next(self._ids):04d}"
            if candidate not in self.pending:
                return candidate

    def send_frame(self, invoke_id: str, request: str | bytes | Any) -> None:
        self.transport.write(encode_frame(invoke_id, to_body(request)))
        self.flush()

    def send_raw(self, data: bytes) -> None:
        self.transport.write(data)
        self.flush()

    def request(
        self, request: str | bytes | Any, invoke_id: str | None = None, timeout: float = WAIT
    ) -> defer.Deferred[Frame]:
        """Send one request; fires with the answer that echoes its invoke ID."""
        invoke_id = invoke_id or self.next_invoke_id()
        deferred: defer.Deferred[Frame] = defer.Deferred()
        self.pending[invoke_id] = deferred
        self.sent_ids.append(invoke_id)
        self._sent_at[invoke_id] = len(self.received)
        self.send_frame(invoke_id, request)
        if not deferred.called:
            deferred.addTimeout(timeout, global_reactor)
        return deferred

    # -- answers --------------------------------------------------------------------------
    async def ok(self, request: str | bytes | Any, expected: str | None = None) -> Frame:
        """Send a request and insist on its positive response (``<Root>Response``)."""
        body = to_body(request)
        frame = await self.request(body)
        root = codec.decode(body).name
        wanted = expected or f"{root}Response"
        if frame.name != wanted:
            raise UnexpectedAnswer(f"{root}: expected {wanted}, got {frame.body.decode()}")
        if self.synchronous:
            self.assert_answered_first(frame)
        return frame

    async def error(self, request: str | bytes | Any) -> str:
        """Send a request and insist on a CSTAErrorCode; returns ``category/value``."""
        frame = await self.request(request)
        if frame.error is None:
            raise UnexpectedAnswer(f"expected CSTAErrorCode, got {frame.body.decode()}")
        return frame.error

    async def monitor(self, device: str, filter_xml: str = "") -> str:
        """MonitorStart on a device; returns the monitorCrossRefID."""
        frame = await self.ok(Req.monitor_start(device, filter_xml))
        return frame.message.monitor_cross_ref_id

    async def make_call(self, calling: str, called: str) -> str:
        """MakeCall; returns the call ID."""
        frame = await self.ok(Req.make_call(calling, called))
        return frame.message.calling_device.call_id

    async def start_session(self, **login: Any) -> str:
        frame = await self.ok(Req.start_session(**login), "StartApplicationSessionPosResponse")
        return frame.message.session_id

    def assert_answered_first(self, answer: Frame) -> None:
        """R6: no event arrived between sending the request and receiving ``answer``
        (meaningful when no earlier events were in flight)."""
        start = self._sent_at[answer.invoke_id]
        before = self.received[start : self.received.index(answer)]
        events = [f.name for f in before if f.invoke_id == EVENT_INVOKE_ID]
        assert not events, f"events before the {answer.name}: {events}"

    # -- events ---------------------------------------------------------------------------
    async def next_event(self, name: str | None = None, timeout: float = WAIT) -> Frame:
        """The next event; fails when none comes or when it is not ``name``."""
        self.flush()
        if not self.events:
            await self.wait_for_event(timeout)
        if not self.events:
            raise AssertionError(f"no event arrived (expected {name or 'any'})")
        frame = self.events.popleft()
        if name is not None and frame.name != name:
            raise AssertionError(f"expected {name}, got {frame.body.decode()}")
        return frame

    async def drain(self) -> list[Frame]:
        """Every event received until the stream is quiet; empties the queue."""
        self.flush()
        while True:
            count = len(self.events)
            await self.wait_for_event(QUIET)
            if len(self.events) == count:
                break
        events, self.events = list(self.events), collections.deque()
        return events

    async def expect_no_event(self) -> None:
        events = await self.drain()
        assert not events, [e.body.decode() for e in events]

    def disconnect(self) -> defer.Deferred[None]:
        if not self.is_closed:
            self.transport.loseConnection()
            self.flush()
        return self.closed


def names(events: Iterable[Frame]) -> list[str]:
    return [event.name for event in events]


def for_monitor(events: Iterable[Frame], xref: str) -> list[Frame]:
    """The events of one monitor, in order."""
    return [e for e in events if e.message.monitor_cross_ref_id == xref]


def brief(event: Frame) -> tuple[str, str | None, str | None]:
    """``(name, localConnectionInfo, cause)`` of an event."""
    return (event.name, event.get("local_connection_info"), event.get("cause"))


# --------------------------------------------------------------------------- in memory


class MemoryClient(XmlClient):
    """An :class:`XmlClient` joined to a server protocol by two StringTransports."""

    server: Any = None
    server_transport: StringTransportWithDisconnection
    synchronous = True

    def flush(self) -> None:
        for _ in range(1000):
            outgoing = self.transport.value()
            self.transport.clear()
            if outgoing and self.server_transport.connected:
                self.server.dataReceived(outgoing)
            incoming = self.server_transport.value()
            self.server_transport.clear()
            if incoming and not self.is_closed:
                self.dataReceived(incoming)
            if not outgoing and not incoming:
                break
        if not self.server_transport.connected and not self.is_closed:
            self.transport.connected = False
            self.connectionLost(None)

    async def wait_for_event(self, timeout: float) -> None:
        self.flush()

    def disconnect(self) -> defer.Deferred[None]:
        if not self.is_closed:
            self.flush()
            self.transport.loseConnection()
            if self.server_transport.connected:
                self.server_transport.loseConnection()
        return self.closed


_ports = itertools.count(40000)


def connect_memory(factory: protocol.Factory, client: MemoryClient | None = None) -> MemoryClient:
    """A client joined in memory to a new server connection of ``factory``."""
    client = client or MemoryClient()
    peer = IPv4Address("TCP", "127.0.0.1", next(_ports))
    server = factory.buildProtocol(peer)
    server_transport = StringTransportWithDisconnection(peerAddress=peer)
    server_transport.protocol = server
    client_transport = StringTransportWithDisconnection()
    client_transport.protocol = client
    client.server, client.server_transport = server, server_transport
    server.makeConnection(server_transport)
    client.makeConnection(client_transport)
    client.flush()
    return client


# --------------------------------------------------------------------------- loopback TCP


class _TrackedProtocol(ProtocolWrapper):
    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        self.factory.closed[self].callback(None)


class TrackingFactory(WrappingFactory):
    """Wraps the server factory to know when each server-side connection is closed."""

    protocol = _TrackedProtocol

    def __init__(self, wrapped: protocol.Factory) -> None:
        super().__init__(wrapped)
        self.closed: dict[Any, defer.Deferred[None]] = {}

    def buildProtocol(self, addr: Any) -> Any:
        proto = super().buildProtocol(addr)
        self.closed[proto] = defer.Deferred()
        return proto

    def all_closed(self) -> defer.Deferred[Any]:
        return defer.gatherResults(list(self.closed.values()))


class LoopbackServer:
    """``factory`` listening on 127.0.0.1, an ephemeral port, with the real reactor; with
    ``tls`` over TLS with a freshly made self-signed certificate that clients verify."""

    def __init__(self, testcase: Any, factory: protocol.Factory, *, tls: bool = False) -> None:
        self.testcase = testcase
        self.tracking = TrackingFactory(factory)
        self.client_tls: Any = None
        self.certificate_pem = b""
        if tls:
            store = CertificateStore(testcase.mktemp())
            store.install(self_signed("localhost"))
            self.certificate_pem = store.load().certificate_pem
            trust = Certificate.loadPEM(self.certificate_pem)
            self.client_tls = optionsForClientTLS("localhost", trustRoot=trust)
            self.port = global_reactor.listenSSL(
                0, self.tracking, ReloadingServerTLS(store), interface="127.0.0.1"
            )
        else:
            self.port = global_reactor.listenTCP(0, self.tracking, interface="127.0.0.1")
        self.clients: list[XmlClient] = []
        testcase.addCleanup(self.close)

    @property
    def port_number(self) -> int:
        return self.port.getHost().port

    async def connect(self, client: XmlClient | None = None) -> XmlClient:
        client = client or XmlClient()
        if self.client_tls is not None:
            endpoint: Any = SSL4ClientEndpoint(
                global_reactor, "127.0.0.1", self.port_number, self.client_tls
            )
        else:
            endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", self.port_number)
        await connectProtocol(endpoint, client)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            client.disconnect()
        await defer.gatherResults([client.closed for client in self.clients])
        await self.tracking.all_closed()
        await self.port.stopListening()


async def settle(delay: float = QUIET) -> None:
    """Let the real reactor run briefly (loopback tests)."""
    await deferLater(global_reactor, delay, lambda: None)


# --------------------------------------------------------------------------- the world


@attrs.define
class World:
    """A demo switch on a ``task.Clock``, its CSTA core, simulator and an XML factory."""

    clock: Clock
    switch: Switch
    core: CstaCore
    sim: Simulator
    factory: CstaXmlFactory
    clients: list[MemoryClient] = attrs.Factory(list)

    def connect(self) -> MemoryClient:
        client = connect_memory(self.factory)
        self.clients.append(client)
        return client

    def advance(self, seconds: float) -> None:
        """Advance the switch clock and deliver what the server wrote meanwhile."""
        self.clock.advance(seconds)
        for client in self.clients:
            client.flush()


def make_world(
    *,
    limits: CoreLimits | None = None,
    profile: Profile | None = None,
    authenticated: bool = False,
    system_status_on_connect: bool = False,
) -> World:
    """The demo exchange. ``authenticated`` builds the core with the exchange data's
    authenticator (``make_core`` over ``demo_exchange_data()``: application ``demo``, user
    ``csta_user``, password ``csta``); ``limits`` override the core limits."""
    clock = Clock()
    switch = Switch(demo_plan(), clock)
    core = demo_core(switch, clock, limits=limits, authenticated=authenticated)
    factory = CstaXmlFactory(
        core, profile or Profile(), clock, system_status_on_connect=system_status_on_connect
    )
    return World(clock, switch, core, Simulator(switch), factory)


def demo_core(
    switch: Any,
    clock: Clock,
    *,
    limits: CoreLimits | None = None,
    authenticated: bool = False,
    services: Any = None,
) -> CstaCore:
    """The CSTA core of :func:`make_world` over ``switch`` (``services``: another service
    table, as a cluster's front end has)."""
    if not authenticated:
        return CstaCore(switch, clock, limits=limits, services=services)
    from cstaserver.config import Limits, demo_exchange_data
    from cstaserver.csta.service import make_core

    exchange = demo_exchange_data()
    if limits is not None:
        exchange = attrs.evolve(exchange, limits=Limits(**attrs.asdict(limits)))
    return make_core(
        switch,
        clock,
        limits=exchange.limits,
        applications=lambda: exchange.authentication.applications,
        services=services,
    )
