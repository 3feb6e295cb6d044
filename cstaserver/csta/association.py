"""The association seam: one client connection as the core sees it.

A transport (raw XML over TCP/TLS, a TR/87 SIP dialog, a SOAP session) turns each client
connection into an :class:`Association` by calling :meth:`CstaCore.associate` with an
:class:`IMessageTransport` of its own. The transport hands every received CSTA body to
:meth:`Association.receive` together with an opaque *correlation* (the raw port's invoke ID,
the SIP transaction, the HTTP request); the core answers exactly once through
``transport.write_message(data, correlation)`` and pushes events with ``correlation=None``.

Ordering (docs/protocol-notes.md R6): a service's response is written before any event it causes.
Events produced while a request is being handled are held in a FIFO and released right after
the response. Per monitor, events keep the switch's order.

Wire trace: when the core has a tracer (:class:`IWireTracer`, ``core.tracer``), every CSTA
message of the association passes through it once, in both directions, as the association
hands it over: requests in, their positive or negative acknowledgements out (ECMA-269 9.3),
events out, server requests out (SystemStatus, ECMA-269 14.1) and the client's answers to
them. Without a tracer this costs one attribute check per message.
"""

from __future__ import annotations

import enum
import itertools
from typing import TYPE_CHECKING, Any

import attrs
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import Attribute, Interface

from cstaserver.config.model import AuthMode

if TYPE_CHECKING:
    from cstaserver.csta.core import CstaCore

log = Logger()
_association_ids = itertools.count(1)


class IMessageTransport(Interface):
    """What a transport offers the core for one client connection."""

    peer = Attribute("A printable peer address, e.g. '127.0.0.1:50123'.")

    def write_message(data: bytes, correlation: object) -> None:
        """Write one CSTA message: the answer to the request ``correlation`` identifies, or,
        with ``correlation=None``, an unsolicited message (event). Empty ``data`` answers a
        request that has no positive response (ECMA-269 "always responds: false", e.g.
        RouteSelect): the transport acknowledges it its own way, or not at all."""

    def send_request(data: bytes) -> Deferred:
        """Send a server-originated request (SystemStatus); fires with the client's answer
        (or fails on time-out). Transports without such a path fail the Deferred."""

    def close(reason: str) -> None:
        """End the connection cleanly, after what was already written."""


class WireRole(enum.Enum):
    """What a traced message is to its association, and so which way it went."""

    REQUEST = "request"  # client -> server: a service request
    ANSWER = "answer"  # server -> client: its response or CSTAErrorCode (ECMA-269 9.3)
    EVENT = "event"  # server -> client, unsolicited: events, ApplicationSessionTerminated
    SERVER_REQUEST = "server-request"  # server -> client: SystemStatus (ECMA-269 14.1)
    SERVER_ANSWER = "server-answer"  # client -> server: the answer to a server request

    @property
    def direction(self) -> str:
        """``in`` (received from the client) or ``out`` (written to it)."""
        return "in" if self in (WireRole.REQUEST, WireRole.SERVER_ANSWER) else "out"


class IWireTracer(Interface):
    """Sees every CSTA message of every association (``CstaCore(tracer=...)``).

    Called synchronously, on the reactor thread, with the bytes as the association hands them
    to the transport or got them from it; it must be quick and must not raise. The data is
    the CSTA body only (no framing header, SIP or SOAP envelope)."""

    def opened(association: Any) -> None:
        """A new association (the core accepted a client connection)."""

    def message(association: Any, role: WireRole, data: bytes, correlation: object) -> None:
        """One message; ``correlation`` is the transport's (the XML port's invoke ID, a
        SOAP request number, an opaque object for TR/87) or None (events, server requests)."""

    def closed(association: Any, reason: str) -> None:
        """The association ended."""


@attrs.frozen
class Profile:
    """How one listener's clients are served."""

    name: str = "xml"  # xml, tls, tr87, soap: for logs and ``csta -p``
    auth_mode: AuthMode = AuthMode.OPTIONAL
    e164_presentation: bool = False  # the Lync dialect: other parties as tel:+E.164
    server_id: str = ""  # which CSTA server (LIM/type) the listener belongs to

    @classmethod
    def for_server(cls, server: Any, name: str, **options: Any) -> Profile:
        """The profile of one CSTA server's listener (``CstaServerSettings``): its name in
        logs and ``csta -p`` is ``LIM <n> <type>``; its authentication mode is the server's
        unless ``options`` say otherwise."""
        options.setdefault("auth_mode", server.authentication)
        return cls(name=name, server_id=f"LIM {server.lim} {server.server_type.value}", **options)


@attrs.define(eq=False)
class Association:
    """One client connection, protocol-neutral."""

    core: CstaCore
    transport: Any  # IMessageTransport
    profile: Profile
    id: int = attrs.field(factory=lambda: next(_association_ids))
    namespace: str | None = None  # the first request's namespace: default for unsolicited
    session: Any = None  # the ECMA-354 ApplicationSession, when one was started
    device_strings: dict[str, str] = attrs.Factory(dict)  # echo rule (docs/protocol-notes.md D2)
    system_registrations: set[str] = attrs.Factory(set)
    closed: bool = False
    requests: int = 0
    events_sent: int = 0
    _hold: int = 0
    _held: list[bytes] = attrs.Factory(list)
    _outstanding: int = 0
    #: (device_strings object, its size, the presenter made from it): the core's
    #: ``presenter_for`` makes one per change of the echo strings, not one per request
    presenter_cache: tuple[Any, int, Any, Any] | None = attrs.field(default=None, repr=False)

    @property
    def peer(self) -> str:
        return str(getattr(self.transport, "peer", "?"))

    @property
    def address(self) -> str | None:
        """The client's IP address (the per-address limits count by it): the transport's
        ``address`` if it has one, else the host part of ``peer`` (``127.0.0.1:50123``)."""
        address = getattr(self.transport, "address", None)
        if address:
            return str(address)
        host, sep, port = self.peer.rpartition(":")
        if not sep or not port.isdigit():
            return None
        return host.strip("[]") or None

    @property
    def owner(self) -> object:
        """Who owns this association's monitors: its session when it has one (so monitors
        outlive a dropped connection for the cleanup delay), else the association."""
        return self.session if self.session is not None else self

    # -- from the transport ---------------------------------------------------------------
    def receive(self, body: bytes, correlation: object, root: Any = None) -> None:
        """Handle one CSTA message body; answer exactly once through the transport.
        ``root``: the body as the transport parsed it already (safe parser), if it did."""
        if self.closed:
            return
        tracer = self.core.tracer
        if tracer is not None:
            tracer.message(self, WireRole.REQUEST, body, correlation)
        self.requests += 1
        self._hold += 1
        try:
            if root is None:
                self.core.dispatch(self, body, correlation, self._answer)
            else:
                self.core.dispatch(self, body, correlation, self._answer, root=root)
        finally:
            self._hold -= 1
            if not self._hold:
                self._release()

    def connection_lost(self, reason: str = "connection lost") -> None:
        if self.closed:
            return
        self.closed = True
        self.core.dissociate(self, reason)

    # -- towards the transport ------------------------------------------------------------
    def _answer(self, data: bytes, correlation: object) -> None:
        if self.closed:
            return
        tracer = self.core.tracer
        if tracer is not None and data:  # empty: a request without a positive response
            tracer.message(self, WireRole.ANSWER, data, correlation)
        try:
            self.transport.write_message(data, correlation)
        except Exception:
            log.failure("writing a response to {peer} failed", peer=self.peer)

    def deliver_event(self, data: bytes) -> None:
        """An event for one of this association's monitors (called by the registry)."""
        if self.closed:
            return
        if self._hold:
            self._held.append(data)
            return
        self.events_sent += 1
        tracer = self.core.tracer
        if tracer is not None:
            tracer.message(self, WireRole.EVENT, data, None)
        self.transport.write_message(data, None)

    def _release(self) -> None:
        held, self._held = self._held, []
        for data in held:
            self.deliver_event(data)

    def begin_outstanding(self) -> bool:
        """Count one more request in progress; False when over the limit."""
        if self._outstanding >= self.core.limits.max_outstanding_requests:
            return False
        self._outstanding += 1
        return True

    def end_outstanding(self) -> None:
        self._outstanding = max(0, self._outstanding - 1)

    def send_unsolicited(self, data: bytes) -> None:
        """A server-originated message that expects no answer (ApplicationSessionTerminated)."""
        self.deliver_event(data)

    def send_request(self, data: bytes) -> Deferred:
        tracer = self.core.tracer
        if tracer is None:
            return self.transport.send_request(data)
        tracer.message(self, WireRole.SERVER_REQUEST, data, None)

        def answered(answer: Any) -> Any:
            if isinstance(answer, bytes) and answer:
                tracer.message(self, WireRole.SERVER_ANSWER, answer, None)
            return answer

        return self.transport.send_request(data).addCallback(answered)

    def close(self, reason: str) -> None:
        if not self.closed:
            self.transport.close(reason)

    def remember_device_string(self, number: str, text: str) -> None:
        if self.device_strings.get(number) != text:
            self.device_strings[number] = text
            self.presenter_cache = None


#: Seconds a refused client is told to wait (SIP and HTTP ``Retry-After``).
BUSY_RETRY_AFTER = 30


def association_limit_reached(core: Any) -> bool:
    """True when ``core`` already serves ``limits.max_associations`` associations: a new
    client is refused (XML: CSTAErrorCode resourceBusy and close; TR/87: 503; SOAP: 503)."""
    limit = getattr(core.limits, "max_associations", None)
    if limit is None or len(core.associations) < limit:
        return False
    log.warn("association limit {limit} reached: a new client is refused", limit=limit)
    return True
