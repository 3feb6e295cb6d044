"""``/api/v1/events``: a live stream of the switch's events and of the wire trace over
WebSocket (RFC 6455; docs/api.md, "Event stream and wire trace").

The WebSocket protocol itself (the opening handshake of RFC 6455 4, framing and masking of
5, fragmentation 5.4, the closing handshake of 7) is autobahn's: this module decides who may
connect, what each client gets and what happens to a client that does not read.

- **Login**: the web accounts, HTTP Basic (RFC 7617) on the upgrade request, checked by the
  site's login gate (401 / 429 as a JSON error before any upgrade). A browser page of another
  origin is refused (403, the ``Origin`` check of RFC 6455 10.2).
- **What a client gets** (JSON text messages, RFC 8259): ``hello`` first, then ``switch``
  messages (every domain event of the switching model, enumerations by their value) and,
  when asked for, ``wire`` messages (each CSTA message of each association as the wire trace
  records it, :mod:`cstaserver.api.trace`).
- **Filters**: in the URL query (``?device=1001&call=42&association=3&kinds=switch,wire``)
  and in ``{"subscribe": {...}}`` messages after connecting, which replace the filter whole
  and are answered ``subscribed``. ``device`` and ``call`` narrow the ``switch`` messages (an
  event passes when it concerns one of the devices and one of the calls; a call filter
  follows its call into the call a transfer or conference makes of it), ``association``
  the ``wire`` messages. ``kinds`` defaults to ``switch``.
- **Flow control**: each client registers as a streaming producer on its connection. While
  the connection's buffers are full, messages wait in a per-client queue bounded by count and
  bytes; a client that lets it overflow is dropped: close code 1008 (RFC 6455 7.4.1) with the
  reason, and the TCP connection aborted after ``close_grace`` seconds if the close handshake
  has not finished by then. Memory per client stays bounded whatever it does.
- **Sending**: an event is rendered once for every client that wants it - its JSON text and
  its frame (a server's unmasked text frame, RFC 6455 5.2, :mod:`cstaserver.api.frames`); a
  client's messages of one reactor turn go out in one write at the end of the turn (a turn
  that fills the queue's bounds writes them at once). autobahn does the handshake, reads
  and answers the client's frames and sends the control frames (close, pong).
- **Time**: every timer of this module runs on the injected clock; the end of a turn is a
  ``callLater(0)`` on the injected ``turns`` (the reactor; the clock unless told); autobahn's
  own handshake and ping timers are switched off (its opening handshake is already complete
  when twisted.web hands the request over).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from autobahn.twisted.resource import WebSocketResource
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.web import resource, server
from zope.interface import implementer

from cstaserver.api.frames import text_frame
from cstaserver.api.switch_json import encode, switch_event_text
from cstaserver.api.switch_json import switch_event_json as switch_event_json  # the API's
from cstaserver.api.trace import (
    DOWNLOADS,
    AssociationTrace,
    TraceDownloads,
    WireRecord,
    WireRecorder,
    crashed,
    record_json,
    recorder_for,
    send_error,
    web_login,
)
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.events import MergingCallEvent

log = Logger()

KINDS = ("switch", "wire")
DEFAULT_KINDS = frozenset({"switch"})
#: RFC 6455 7.4.1: "an endpoint is terminating the connection because it has received a
#: message that violates its policy" - here, a client that does not read what it asked for.
CLOSE_POLICY = 1008
#: RFC 6455 7.4.1: "it has received a type of data it cannot accept".
CLOSE_UNSUPPORTED = 1003
#: RFC 6455 7.4.1: "an unexpected condition that prevented it from fulfilling the request".
CLOSE_INTERNAL_ERROR = 1011
_KEYS = {
    "kinds": "kinds",
    "kind": "kinds",
    "device": "device",
    "devices": "device",
    "call": "call",
    "calls": "call",
    "association": "association",
    "associations": "association",
}


@attrs.frozen
class StreamLimits:
    """The event stream's bounds (docs/api.md)."""

    max_clients: int = 64  # connected stream clients; one more gets 503
    queue_messages: int = 5000  # messages waiting for one client that does not read...
    queue_bytes: int = 2097152  # ...and their bytes: over either, the client is dropped
    close_grace: float = 5.0  # seconds a closing client has before its TCP connection is cut
    max_incoming_bytes: int = 65536  # one message from a client (a subscribe)
    max_filter_items: int = 1000  # devices, calls or associations in one filter


class FilterError(ValueError):
    """A filter the client asked for cannot be used; the message says why."""


@attrs.frozen
class StreamFilter:
    """What one client wants (see the module docstring)."""

    kinds: frozenset[str] = DEFAULT_KINDS
    devices: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset()
    associations: frozenset[int] = frozenset()

    def as_json(self) -> dict[str, Any]:
        return {
            "kinds": [kind for kind in KINDS if kind in self.kinds],
            "device": sorted(self.devices),
            "call": sorted(self.calls),
            "association": sorted(self.associations),
        }


def _items(value: Any) -> list[str]:
    """A filter value as strings: a list, or one value with commas between items."""
    values = value if isinstance(value, list) else [value]
    items: list[str] = []
    for item in values:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise FilterError(f"filter values are strings or numbers, not {item!r}")
        items.extend(part.strip() for part in str(item).split(",") if part.strip())
    return items


def parse_filter(
    raw: Mapping[str, Any],
    *,
    device_number: Callable[[str], str] = str,
    limits: StreamLimits = StreamLimits(),  # noqa: B008 (frozen)
) -> StreamFilter:
    """A :class:`StreamFilter` from query arguments or a subscribe message's object:
    ``kinds``, ``device``, ``call``, ``association`` (plural spellings too), each a list or
    a comma-separated string. ``device_number`` turns a number as the client wrote it into
    the switch's (``+4685551001`` -> ``1001``)."""
    fields: dict[str, list[str]] = {}
    for key, value in raw.items():
        name = _KEYS.get(str(key).lower())
        if name is None:
            raise FilterError(f"unknown filter {key!r} (kinds, device, call, association)")
        fields.setdefault(name, []).extend(_items(value))
    for name, items in fields.items():
        if len(items) > limits.max_filter_items:
            raise FilterError(f"more than {limits.max_filter_items} items in {name!r}")
    kinds = frozenset(fields.get("kinds", ())) or DEFAULT_KINDS
    unknown = sorted(kinds - set(KINDS))
    if unknown:
        raise FilterError(f"unknown kind {unknown[0]!r} (switch, wire)")
    associations = set()
    for item in fields.get("association", ()):
        if not (item.isascii() and item.isdigit() and len(item) < 19):
            raise FilterError(f"association {item!r} is not an association ID")
        associations.add(int(item))
    return StreamFilter(
        kinds=kinds,
        devices=frozenset(device_number(item) for item in fields.get("device", ())),
        calls=frozenset(fields.get("call", ())),
        associations=frozenset(associations),
    )


# -- the hub -------------------------------------------------------------------------------
class EventHub:
    """Every stream client of one site; subscribed to the switch and the wire trace only
    while some client wants them, each event rendered and framed once for all clients, and
    each client's messages of one reactor turn written at the end of the turn (``turns``:
    where that end is scheduled, ``callLater(0)``; ``clock`` unless told)."""

    def __init__(
        self,
        switch: Any,
        recorder: WireRecorder | None,
        clock: Any,
        limits: StreamLimits,
        turns: Any = None,
    ) -> None:
        self.switch = switch
        self.recorder = recorder
        self.clock = clock
        self.limits = limits
        self.turns = clock if turns is None else turns
        self.clients: set[EventStreamProtocol] = set()
        self._listeners: tuple[EventStreamProtocol, ...] = ()  # the clients, to loop over
        self._to_flush: list[EventStreamProtocol] = []
        self._turn_end: Any = None
        self._switch_subscription: Callable[[], None] | None = None
        self._wire_subscription: Callable[[], None] | None = None

    def device_number(self, text: str) -> str:
        """The switch's number of a device the client named (its own text if unknown)."""
        try:
            return str(self.switch.device(text).number)
        except SwitchError:
            return text

    def add(self, client: EventStreamProtocol) -> None:
        self.clients.add(client)
        self._listeners = tuple(self.clients)
        self.refresh()

    def remove(self, client: EventStreamProtocol) -> None:
        self.clients.discard(client)
        self._listeners = tuple(self.clients)
        self.refresh()

    def refresh(self) -> None:
        """Subscribe to what the clients want now, and to nothing else."""
        kinds: set[str] = set()
        for client in self.clients:
            kinds |= client.filter.kinds
        if "switch" in kinds and self._switch_subscription is None:
            self._switch_subscription = self.switch.subscribe(self._switch_event)
        elif "switch" not in kinds and self._switch_subscription is not None:
            self._switch_subscription()
            self._switch_subscription = None
        recorder = self.recorder
        wants_wire = "wire" in kinds and recorder is not None
        if recorder is not None and wants_wire and self._wire_subscription is None:
            self._wire_subscription = recorder.listen(self._wire_message)
        elif not wants_wire and self._wire_subscription is not None:
            self._wire_subscription()
            self._wire_subscription = None

    def _switch_event(self, event: Any) -> None:
        frame: bytes | None = None
        for client in self._listeners:
            if client.wants_switch(event):
                if frame is None:
                    frame = text_frame(switch_event_text(event, self.clock.seconds()))
                self._push(client, frame)

    def _wire_message(self, trace: AssociationTrace, record: WireRecord) -> None:
        frame: bytes | None = None
        for client in self._listeners:
            if client.wants_wire(trace.id):
                if frame is None:
                    frame = text_frame(encode({"kind": "wire", **record_json(trace, record)}))
                self._push(client, frame)

    def _push(self, client: EventStreamProtocol, frame: bytes) -> None:
        try:
            client.push(frame)
        except Exception:  # one client's failure is not the others'
            log.failure("event stream client {peer} failed", peer=client.peer)
            client.close_with(CLOSE_INTERNAL_ERROR, "internal error")

    # -- the end of a reactor turn --------------------------------------------------------
    def flush_later(self, client: EventStreamProtocol) -> None:
        """Write ``client``'s queue at the end of this reactor turn."""
        self._to_flush.append(client)
        if self._turn_end is None:
            self._turn_end = self.turns.callLater(0, self._end_of_turn)

    def _end_of_turn(self) -> None:
        self._turn_end = None
        clients, self._to_flush = self._to_flush, []
        for client in clients:
            client.flush_scheduled = False
            try:
                client.flush()
            except Exception:  # one client's failure is not the others'
                log.failure("event stream client {peer} failed", peer=client.peer)
                client.close_with(CLOSE_INTERNAL_ERROR, "internal error")


# -- one client ----------------------------------------------------------------------------
@implementer(IPushProducer)
class _Flow:
    """The client's producer on its connection: the transport pauses it while its buffers
    are full and resumes it when they have drained."""

    def __init__(self, client: EventStreamProtocol) -> None:
        self.client = client

    def pauseProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self.client.paused = True

    def resumeProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self.client.paused = False
        self.client.flush()

    def stopProducing(self) -> None:  # noqa: N802 (IPushProducer)
        self.client.paused = True


class EventStreamProtocol(WebSocketServerProtocol):
    """One stream client (see the module docstring)."""

    hub: EventHub
    user: str = "?"
    filter: StreamFilter = StreamFilter()

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.closing = False
        self.queue: list[bytes] = []  # frames not written yet
        self.queued_bytes = 0
        self.flush_scheduled = False
        self.sent = 0
        self._calls: set[str] = set()
        self._cut: Any = None
        self._lost = False

    @property
    def clock(self) -> Any:
        return self.hub.clock

    @property
    def limits(self) -> StreamLimits:
        return self.hub.limits

    # -- autobahn hooks -------------------------------------------------------------------
    def onOpen(self) -> None:  # noqa: N802 (autobahn hook)
        # twisted.web's HTTP channel was the connection's producer; the stream is now
        self.transport.unregisterProducer()
        self.transport.registerProducer(_Flow(self), True)
        # A TCP transport pauses its producer at 64 KiB buffered and resumes it only once
        # everything is written: a burst would fill the queue of a client that reads all the
        # while. Let the transport hold as much as the queue may before it pauses the stream.
        if hasattr(self.transport, "bufferSize"):
            self.transport.bufferSize = max(self.transport.bufferSize, self.limits.queue_bytes)
        self._calls = set(self.filter.calls)
        self.hub.add(self)
        log.info(
            "event stream client {peer} ({user}) connected: {filter}",
            peer=self.peer,
            user=self.user,
            filter=self.filter.as_json(),
        )
        self.push_json(
            {
                "kind": "hello",
                "user": self.user,
                "filter": self.filter.as_json(),
                "wire_trace": self.hub.recorder is not None,
                "limits": {
                    "queue_messages": self.limits.queue_messages,
                    "queue_bytes": self.limits.queue_bytes,
                    "max_incoming_bytes": self.limits.max_incoming_bytes,
                },
            }
        )

    def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803 (autobahn)
        if isBinary:
            self.close_with(CLOSE_UNSUPPORTED, "binary messages are not understood")
            return
        try:
            message = json.loads(payload.decode("utf-8"))
            if not isinstance(message, dict) or not isinstance(message.get("subscribe"), dict):
                raise FilterError('expected {"subscribe": {...}}')
            wanted = parse_filter(
                message["subscribe"], device_number=self.hub.device_number, limits=self.limits
            )
        except (ValueError, FilterError) as error:  # JSONDecodeError is a ValueError
            self.push_json({"kind": "error", "error": str(error)})
            return
        self.filter = wanted
        self._calls = set(wanted.calls)
        self.hub.refresh()
        self.push_json({"kind": "subscribed", "filter": wanted.as_json()})

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 (Twisted hook)
        self._lost = True
        if self._cut is not None and self._cut.active():
            self._cut.cancel()
        self._cut = None
        super().connectionLost(reason)

    def dropConnection(self, abort: bool = False) -> None:  # noqa: N802 (autobahn)
        """autobahn ends the TCP connection here (after the close handshake, RFC 6455 7.1.1):
        a clean end waits until the client has read what is buffered, so it gets
        ``close_grace`` seconds, like a close of ours."""
        super().dropConnection(abort)
        if not abort:
            self._arm_cut()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802, N803
        self.closing = True
        self.hub.remove(self)
        self._drop_queue()
        log.info(
            "event stream client {peer} ({user}) gone: {code} {reason}",
            peer=self.peer,
            user=self.user,
            code=code,
            reason=reason or "",
        )

    # -- filters --------------------------------------------------------------------------
    def wants_switch(self, event: Any) -> bool:
        wanted = self.filter
        if "switch" not in wanted.kinds:
            return False
        if wanted.devices and wanted.devices.isdisjoint(event.devices):
            return False
        if wanted.calls:
            if self._calls.isdisjoint(event.call_ids):
                return False
            if isinstance(event, MergingCallEvent):  # follow the call into the new one
                self._calls.difference_update(event.call_ids)
                self._calls.add(event.new_call_id)
        return True

    def wants_wire(self, association: int) -> bool:
        wanted = self.filter
        if "wire" not in wanted.kinds:
            return False
        return not wanted.associations or association in wanted.associations

    # -- sending --------------------------------------------------------------------------
    def push(self, frame: bytes) -> None:
        """Queue ``frame`` (one whole message, :func:`~cstaserver.api.frames.text_frame`)
        for the end of this reactor turn, or until the connection has room again; write the
        queue at once when a client that reads fills its bounds within one turn, and drop a
        client that does not read when its queue is over them."""
        if self.closing or self.state != self.STATE_OPEN:
            return
        queue = self.queue
        queue.append(frame)
        self.queued_bytes += len(frame)
        limits = self.limits
        if len(queue) > limits.queue_messages or self.queued_bytes > limits.queue_bytes:
            if not self.paused:
                self.flush()
                return
            waiting, size = len(queue), self.queued_bytes
            log.warn(
                "event stream client {peer} ({user}) dropped: it does not read"
                " ({count} messages, {size} bytes waiting)",
                peer=self.peer,
                user=self.user,
                count=waiting,
                size=size,
            )
            self.close_with(CLOSE_POLICY, f"send queue full ({waiting} messages): not reading")
        elif not self.flush_scheduled and not self.paused:
            self.flush_scheduled = True
            self.hub.flush_later(self)

    def push_json(self, message: Mapping[str, Any]) -> None:
        """One message of this client's own (``hello``, ``subscribed``, ``error``)."""
        self.push(text_frame(encode(message)))

    def flush(self) -> None:
        """Write every queued frame in one write (unless the connection is full or closing)."""
        if self.paused or self.closing or not self.queue:
            return
        if self.state != self.STATE_OPEN:
            self._drop_queue()
            return
        frames = self.queue
        self.queue = []
        self.queued_bytes = 0
        self.sent += len(frames)
        self.transport.write(frames[0] if len(frames) == 1 else b"".join(frames))

    def _drop_queue(self) -> None:
        self.queue = []
        self.queued_bytes = 0

    def close_with(self, code: int, reason: str) -> None:
        """Close with ``code`` and ``reason`` (RFC 6455 7.4.1, 5.5.1: at most 123 bytes);
        the TCP connection is cut ``close_grace`` seconds later if still open."""
        if self.closing:
            return
        self.closing = True
        self.hub.remove(self)
        self._drop_queue()
        if self.state == self.STATE_OPEN:
            # sendClose admits only the application's codes (1000, 3000-4999); 1003, 1008
            # and 1011 are the endpoint's own (RFC 6455 7.4.1), sent as a close frame
            truncated = reason.encode("utf-8")[:123].decode("utf-8", "ignore")
            self.sendCloseFrame(code=code, reasonUtf8=truncated.encode("utf-8"))
        self._arm_cut()

    def _arm_cut(self) -> None:
        if self._cut is None and not self._lost:
            self._cut = self.clock.callLater(self.limits.close_grace, self._cut_connection)

    def _cut_connection(self) -> None:
        self._cut = None
        if self._lost:
            return
        log.info(
            "event stream client {peer}: not closed {seconds} s after the close: cut",
            peer=self.peer,
            seconds=self.limits.close_grace,
        )
        self.transport.abortConnection()


class EventStreamFactory(WebSocketServerFactory):
    """Builds :class:`EventStreamProtocol` for the request being upgraded."""

    protocol = EventStreamProtocol

    def __init__(self, hub: EventHub) -> None:
        super().__init__(server="cstaserver", reactor=hub.clock)
        self.hub = hub
        size = hub.limits.max_incoming_bytes
        self.setProtocolOptions(
            openHandshakeTimeout=0,  # the request is complete when it is handed over
            closeHandshakeTimeout=0,  # EventStreamProtocol.close_with times it instead
            autoPingInterval=0,
            maxFramePayloadSize=size,
            maxMessagePayloadSize=size,
        )
        self._admitting: tuple[str, StreamFilter] | None = None

    def admit(self, user: str, wanted: StreamFilter, upgrade: Callable[[], Any]) -> None:
        """Run ``upgrade`` (the handover to autobahn) with the next protocol built for
        ``user`` and ``wanted``."""
        self._admitting = (user, wanted)
        try:
            upgrade()
        finally:
            self._admitting = None

    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 (Twisted hook)
        if self._admitting is None:
            return None  # only upgrades that passed the login get a protocol
        proto = super().buildProtocol(addr)
        proto.hub = self.hub
        proto.user, proto.filter = self._admitting
        return proto


# -- the resource --------------------------------------------------------------------------
def _same_origin(request: server.Request) -> bool:
    """No ``Origin`` (not a browser), or one naming this host (RFC 6455 10.2, RFC 6454)."""
    origin = request.getHeader(b"origin")
    if origin is None:
        return True
    host = (request.getHeader(b"host") or b"").decode("latin-1").lower()
    try:
        netloc = urlsplit(origin.decode("latin-1")).netloc.lower()
    except ValueError:
        return False
    return bool(host) and netloc == host


def _is_upgrade(request: server.Request) -> bool:
    upgrade = (request.getHeader(b"upgrade") or b"").lower()
    connection = (request.getHeader(b"connection") or b"").lower()
    tokens: Iterable[bytes] = (token.strip() for token in connection.split(b","))
    return upgrade == b"websocket" and b"upgrade" in tokens


class EventStreamResource(resource.Resource):
    """``GET /api/v1/events`` with ``Upgrade: websocket`` (a leaf)."""

    isLeaf = True

    def __init__(self, factory: EventStreamFactory, gate: Any) -> None:
        super().__init__()
        self.factory = factory
        self.hub = factory.hub
        self.gate = gate
        self._websocket = WebSocketResource(factory)

    def render_GET(self, request: server.Request) -> Any:  # noqa: N802 (Twisted hook)
        upgrading = defer.Deferred.fromCoroutine(self._upgrade(request))
        upgrading.addErrback(crashed, request, "event stream upgrade")
        return server.NOT_DONE_YET

    async def _upgrade(self, request: server.Request) -> None:
        user = await web_login(self.gate, request)
        if user is None:
            return
        if not _same_origin(request):
            send_error(request, 403, "a page of another origin may not open the event stream")
            return
        if not _is_upgrade(request):
            send_error(
                request,
                426,
                "the event stream is a WebSocket: send Upgrade: websocket (RFC 6455 4.1)",
                {b"Upgrade": b"websocket", b"Connection": b"Upgrade"},
            )
            return
        try:
            args = {key.decode("utf-8", "replace"): values for key, values in request.args.items()}
            wanted = parse_filter(
                args, device_number=self.hub.device_number, limits=self.hub.limits
            )
        except FilterError as error:
            send_error(request, 400, str(error))
            return
        if len(self.hub.clients) >= self.hub.limits.max_clients:
            log.warn(
                "event stream client from {host} refused: {count} clients already",
                host=request.getClientAddress().host,
                count=len(self.hub.clients),
            )
            send_error(
                request,
                503,
                "too many event stream clients",
                {b"Retry-After": b"30"},
                code="too_many_clients",
            )
            return
        if getattr(request, "_disconnected", False) or request.channel.transport is None:
            return
        # from here on the connection is the WebSocket's: no HTTP idle time-out on it
        request.channel.setTimeout(None)
        self.factory.admit(user, wanted, lambda: self._websocket.render(request))


def events_resource(
    switch: Any,
    recorder: WireRecorder | None,
    gate: Any,
    clock: Any,
    limits: StreamLimits | None = None,
    turns: Any = None,
) -> EventStreamResource:
    """The ``/api/v1/events`` resource over ``switch`` and the core's wire ``recorder``
    (None: no ``wire`` messages), behind the web site's login ``gate``; every timer on
    ``clock``, the end of each reactor turn on ``turns`` (``clock`` unless given)."""
    hub = EventHub(switch, recorder, clock, limits or StreamLimits(), turns)
    return EventStreamResource(EventStreamFactory(hub), gate)


class LiveApi(resource.Resource):
    """``/api`` laid over the resource already there (``fallback``): ``v1/events`` and
    ``v1/associations/{id}/trace``, ``trace.txt``, ``trace.jsonl`` are answered here; every
    other path, and every ``putChild``, goes to ``fallback`` exactly as if this resource were
    not there. So the live API keeps its two paths whoever mounts what else below ``/api``,
    before or after it."""

    def __init__(self, events: Any, downloads: TraceDownloads, fallback: Any = None) -> None:
        super().__init__()
        self.fallback = fallback if fallback is not None else resource.Resource()
        self.v1 = resource.Resource()
        self.v1.putChild(b"events", events)
        self.v1.putChild(b"associations", downloads)

    def getChildWithDefault(self, path: bytes, request: server.Request) -> Any:  # noqa: N802
        rest = request.postpath
        if path == b"v1" and (
            rest == [b"events"]
            or (len(rest) == 3 and rest[0] == b"associations" and rest[2] in DOWNLOADS)
        ):
            return self.v1
        request.postpath.insert(0, request.prepath.pop())  # as if we were not there
        return self.fallback

    def putChild(self, path: bytes, child: Any) -> None:  # noqa: N802 (Twisted)
        self.fallback.putChild(path, child)

    def getStaticEntity(self, name: bytes) -> Any:  # noqa: N802 (Twisted)
        return self.fallback.getStaticEntity(name)

    def render(self, request: server.Request) -> Any:
        return self.fallback.render(request)


def live_api(core: Any, switch: Any, gate: Any, clock: Any, *, fallback: Any = None) -> Any:
    """``/api`` with the event stream and the trace downloads over ``core``'s wire trace
    (installed on the core when it has no tracer yet), laid over ``fallback`` (the ``/api``
    resource of the site); ``fallback`` itself when the core traces into something else."""
    recorder = recorder_for(core, clock)
    if recorder is None:
        return fallback
    events = events_resource(switch, recorder, gate, clock)
    return LiveApi(events, TraceDownloads(recorder, gate), fallback)
