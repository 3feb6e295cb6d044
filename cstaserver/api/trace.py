"""The wire trace: every CSTA message of every association, kept per association in a bounded
ring, and its downloads (docs/api.md, "Event stream and wire trace").

:class:`WireRecorder` is the core's :class:`~cstaserver.csta.association.IWireTracer`: the
association hands it each message as it is received or written - requests and the answers to
server requests in, responses, ``CSTAErrorCode`` (ECMA-269 9.3), events and server requests
(SystemStatus, ECMA-269 14.1) out - with the transport's correlation (the XML port's invoke
ID, ECMA-323 annex "CSTA XML without SOAP"; a SOAP request number). A record keeps the bytes
the association handed over (no copy) and a timestamp; the root element name and the text
are worked out only when somebody reads the trace.

Bounds (``Limits`` of the exchange data): one association keeps its last ``trace_messages``
messages and at most ``trace_bytes`` bytes (a longer message is kept cut to that size,
marked ``truncated``); all traces together at most ``trace_total_bytes`` of memory (the
oldest message of any association goes first); an ended association's trace stays readable for
``keep_closed`` seconds, and only the last ``trace_closed`` ended associations keep theirs.
Nothing runs on a timer: expired traces go when the recorder is next used.

What the total bound counts is the memory a kept message really holds, not only its bytes:
:func:`record_cost` is the message's length plus :data:`RECORD_OVERHEAD` (the ``bytes``
object's header, the :class:`WireRecord`, its sequence number and timestamp objects, each
rounded up to the allocator's 16-byte blocks, and the slots of the deques that hold it) plus
the correlation string's. ``tests/api/test_trace.py`` checks with ``tracemalloc`` that the
memory a full recorder holds stays under the bound. The recording-order index holds one
pointer per kept message; the entries of messages a per-association bound already dropped
are counted per trace (``stale``) and cleared out when they are as many as the kept ones, so
nothing in the recorder grows with the messages seen rather than kept.

The ECMA-354 login's ``<password>`` (StartApplicationSession's applicationSpecificInfo) is
replaced by ``***`` before a request is kept: a trace is for reading, and readers are not
all entitled to the session password.

Downloads, behind the web accounts' HTTP Basic login (RFC 7617):
``GET /api/v1/associations/{id}/trace.txt`` (one block per message),
``.../trace.jsonl`` (one JSON object per line, RFC 8259) and ``.../trace`` (one JSON
document); an unknown association is a 404 with a JSON error.
"""

from __future__ import annotations

import collections
import datetime
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import resource, server
from zope.interface import implementer

from cstaserver.config.model import Limits
from cstaserver.csta.association import IWireTracer, WireRole

log = Logger()

#: Seconds an ended association's trace stays readable.
KEEP_CLOSED_SECONDS = 3600.0

_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_PASSWORD = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?password(?:\s[^>]*)?(?<!/)>)[^<]*")
#: The allocator's block size: an object of n bytes takes n rounded up to it (CPython's
#: pymalloc on 64-bit platforms; malloc, for larger objects, adds its own header).
_BLOCK = 16


def _allocated(size: int) -> int:
    """What an object of ``size`` bytes takes from the allocator, at most."""
    return -(-size // _BLOCK) * _BLOCK


#: C0 controls other than tab, line feed and carriage return: not written raw to a text file.
_CONTROLS = {code: "\ufffd" for code in range(32) if code not in (9, 10, 13)} | {127: "\ufffd"}


def root_name(data: bytes) -> str | None:
    """The local name of a body's root element, skipping the declaration, comments and PIs."""
    pos = 0
    while True:
        match = _ROOT.search(data, pos)
        if match is None:
            return None
        start = match.start()
        if data.startswith((b"<?", b"<!"), start):
            end = data.find(b">", start)
            if end < 0:
                return None
            pos = end + 1
            continue
        return match.group(1).decode("ascii", "replace")


def redact(data: bytes) -> bytes:
    """``data`` with the text of every ``password`` element replaced by ``***``."""
    if b"password" not in data:
        return data
    return _PASSWORD.sub(rb"\1***", data)


def timestamp(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds: ``2024-12-04T08:13:20.123Z``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _correlation(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None  # an opaque object (a TR/87 answer Deferred) or None (events)


@attrs.define(eq=False)
class WireRecord:
    """One message as the association handed it over (never changed once made; not
    ``frozen``: a frozen class pays a guarded set per field, twice per request)."""

    seq: int  # over the whole recorder: the order of every message of every association
    time: float  # the recorder clock's seconds
    role: WireRole
    correlation: str | None
    data: bytes
    size: int  # the message's size on the wire (``data`` may be cut to the byte bound)

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.size

    @property
    def direction(self) -> str:
        return self.role.direction

    @property
    def root(self) -> str | None:
        return root_name(self.data)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


@attrs.define(eq=False)
class AssociationTrace:
    """The kept messages of one association, oldest first, and what the association was."""

    id: int
    peer: str
    profile: str
    server: str
    opened: float
    closed: float | None = None
    close_reason: str | None = None
    messages: collections.deque[WireRecord] = attrs.Factory(collections.deque)
    bytes: int = 0  # of the kept messages
    seen: int = 0  # messages recorded, kept or not
    dropped: int = 0  # messages pushed out by a bound
    discarded: bool = False  # the trace itself was let go
    # entries of this trace in the recorder's recording order whose messages have gone (they
    # come before its other entries there: a trace drops its messages oldest first)
    stale: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "peer": self.peer,
            "profile": self.profile,
            "server": self.server,
            "opened": timestamp(self.opened),
            "closed": timestamp(self.closed) if self.closed is not None else None,
            "close_reason": self.close_reason,
            "messages": len(self.messages),
            "bytes": self.bytes,
            "seen": self.seen,
            "dropped": self.dropped,
        }


#: The memory a kept message costs beyond its length (see the module docstring): the bytes
#: object's header with its rounding and a malloc header, the record, its ``seq`` and
#: ``time`` objects, and three deque slots (the trace's ring, the recording order, and room
#: for one entry there of a message a per-association bound dropped).
RECORD_OVERHEAD = (
    sys.getsizeof(b"")
    + _BLOCK
    + 8
    + _allocated(sys.getsizeof(WireRecord(2**40, 0.0, WireRole.EVENT, None, b"", 0)))
    + _allocated(sys.getsizeof(2**40))
    + _allocated(sys.getsizeof(0.0))
    + 3 * 8
)
#: A correlation string's cost beyond its length (an ASCII ``str``'s header, rounded).
CORRELATION_OVERHEAD = sys.getsizeof("") + _BLOCK


def record_cost(record: WireRecord) -> int:
    """The memory ``record`` holds while kept, as the total bound counts it."""
    cost = len(record.data) + RECORD_OVERHEAD
    if record.correlation is not None:
        cost += len(record.correlation) + CORRELATION_OVERHEAD
    return cost


WireListener = Callable[[AssociationTrace, WireRecord], None]


@implementer(IWireTracer)
class WireRecorder:
    """The wire trace of every association of one core (see the module docstring)."""

    def __init__(
        self,
        clock: Any,
        limits: Limits | None = None,
        *,
        keep_closed: float = KEEP_CLOSED_SECONDS,
    ) -> None:
        limits = limits or Limits()
        self.clock = clock
        self.max_messages = limits.trace_messages
        self.max_bytes = limits.trace_bytes
        self.max_total_bytes = limits.trace_total_bytes
        self.max_closed = limits.trace_closed
        self.keep_closed = keep_closed
        self.total_bytes = 0  # message bytes kept over all traces
        self.memory = 0  # what they cost (:func:`record_cost`): held to ``max_total_bytes``
        self._live = 0  # messages kept over all traces
        self.evicted = 0  # messages the total bound dropped (the trace has been full)
        self._seq = itertools.count(1)
        self._open: dict[int, AssociationTrace] = {}
        self._closed: collections.OrderedDict[int, AssociationTrace] = collections.OrderedDict()
        # the trace of every kept message in recording order, for the total bound (one
        # pointer a message); a trace's first ``stale`` entries are of messages already gone
        self._order: collections.deque[AssociationTrace] = collections.deque()
        self._stale = 0  # entries of gone messages in ``_order``
        self._listeners: dict[int, WireListener] = {}
        self._tokens = itertools.count(1)

    # -- IWireTracer -------------------------------------------------------------------------
    def opened(self, association: Any) -> None:
        self._trace_of(association)

    def message(self, association: Any, role: WireRole, data: bytes, correlation: object) -> None:
        trace = self._open.get(association.id)
        if trace is None:
            # an answer to a server request may come in after the end; a tracer installed
            # while clients are connected meets associations it was not told about
            trace = self._closed.get(association.id)
            if trace is None:
                if association.closed:
                    return
                trace = self._trace_of(association)
        if role is WireRole.REQUEST:
            data = redact(data)
        size = len(data)
        if size > self.max_bytes:
            data = data[: self.max_bytes]
        if correlation is not None and correlation.__class__ is not str:
            correlation = _correlation(correlation)
        record = WireRecord(next(self._seq), self.clock.seconds(), role, correlation, data, size)
        self._keep(trace, record)
        if self._listeners:
            self._tell(trace, record)

    def closed(self, association: Any, reason: str) -> None:
        trace = self._open.pop(association.id, None)
        if trace is None:
            return
        trace.closed = self.clock.seconds()
        trace.close_reason = reason
        self._closed[trace.id] = trace
        self._expire()

    # -- reading -----------------------------------------------------------------------------
    def trace(self, association_id: int) -> AssociationTrace | None:
        """The trace of an open association, or of an ended one still kept."""
        self._expire()
        return self._open.get(association_id) or self._closed.get(association_id)

    def traces(self) -> list[AssociationTrace]:
        """Every trace kept, open ones first, each group by association ID."""
        self._expire()
        return sorted(self._open.values(), key=lambda t: t.id) + sorted(
            self._closed.values(), key=lambda t: t.id
        )

    def listen(self, listener: WireListener) -> Callable[[], None]:
        """Call ``listener(trace, record)`` for every message from now on; returns the
        function that stops it. A listener that raises is logged and kept."""
        token = next(self._tokens)
        self._listeners[token] = listener

        def stop() -> None:
            self._listeners.pop(token, None)

        return stop

    @property
    def listening(self) -> int:
        return len(self._listeners)

    @property
    def kept(self) -> int:
        """Messages kept over all traces."""
        return self._live

    @property
    def full(self) -> bool:
        """The total bound has dropped a message: the traces hold about ``max_total_bytes``."""
        return self.evicted > 0

    # -- bounds ------------------------------------------------------------------------------
    def _trace_of(self, association: Any) -> AssociationTrace:
        trace = self._open.get(association.id)
        if trace is None:
            profile = association.profile
            trace = AssociationTrace(
                id=association.id,
                peer=association.peer,
                profile=profile.name,
                server=profile.server_id,
                opened=self.clock.seconds(),
            )
            self._open[association.id] = trace
        return trace

    def _keep(self, trace: AssociationTrace, record: WireRecord) -> None:
        messages = trace.messages
        kept = len(record.data)
        cost = kept + RECORD_OVERHEAD  # record_cost(record), inline: once per message
        correlation = record.correlation
        if correlation is not None:
            cost += len(correlation) + CORRELATION_OVERHEAD
        trace.seen += 1
        while messages and (
            len(messages) >= self.max_messages or trace.bytes + kept > self.max_bytes
        ):
            self._forget(trace, messages.popleft())
            trace.stale += 1  # its entry in the recording order stays until passed
            self._stale += 1
        messages.append(record)
        trace.bytes += kept
        self.total_bytes += kept
        self.memory += cost
        self._live += 1
        order = self._order
        order.append(trace)
        while self.memory > self.max_total_bytes and order:
            oldest = order.popleft()
            if oldest.stale:
                oldest.stale -= 1
                self._stale -= 1
            else:
                self._forget(oldest, oldest.messages.popleft())
                self.evicted += 1
        if self._stale > self._live + 1024:
            self._compact()

    def _compact(self) -> None:
        """Take the entries of gone messages out of the recording order."""
        kept: collections.deque[AssociationTrace] = collections.deque()
        for trace in self._order:
            if trace.stale:
                trace.stale -= 1
            else:
                kept.append(trace)
        self._order = kept
        self._stale = 0

    def _forget(self, trace: AssociationTrace, record: WireRecord) -> None:
        """``record`` was just taken out of ``trace.messages``."""
        kept = len(record.data)
        trace.bytes -= kept
        trace.dropped += 1
        self.total_bytes -= kept
        self.memory -= record_cost(record)
        self._live -= 1

    def _expire(self) -> None:
        if not self._closed:
            return
        deadline = self.clock.seconds() - self.keep_closed
        while self._closed:
            oldest = next(iter(self._closed.values()))
            closed = oldest.closed if oldest.closed is not None else 0.0
            if len(self._closed) <= self.max_closed and closed > deadline:
                break
            self._closed.popitem(last=False)
            self._discard(oldest)

    def _discard(self, trace: AssociationTrace) -> None:
        trace.discarded = True
        self.total_bytes -= trace.bytes
        self.memory -= sum(record_cost(record) for record in trace.messages)
        self._live -= len(trace.messages)
        trace.stale += len(trace.messages)  # its entries in the recording order
        self._stale += len(trace.messages)
        trace.messages.clear()
        trace.bytes = 0
        if self._stale > self._live + 1024:
            self._compact()

    def _tell(self, trace: AssociationTrace, record: WireRecord) -> None:
        for listener in list(self._listeners.values()):
            try:
                listener(trace, record)
            except Exception:
                log.failure("a wire trace listener failed")


def recorder_for(core: Any, clock: Any) -> WireRecorder | None:
    """``core``'s wire recorder: the one it has, or a new one installed as its tracer (with
    the core's limits, timestamps from ``clock``) when it has none; None when the core
    traces into something else. Several sites of one core share one recorder."""
    tracer = getattr(core, "tracer", None)
    if isinstance(tracer, WireRecorder):
        return tracer
    if tracer is not None:
        return None
    recorder = WireRecorder(clock, core.limits)
    core.tracer = recorder
    return recorder


# -- rendering -------------------------------------------------------------------------------
def record_json(trace: AssociationTrace, record: WireRecord) -> dict[str, Any]:
    """One message as a JSON object (a line of ``trace.jsonl``, a ``wire`` stream message)."""
    return {
        "seq": record.seq,
        "time": record.time,
        "timestamp": timestamp(record.time),
        "association": trace.id,
        "peer": trace.peer,
        "profile": trace.profile,
        "server": trace.server,
        "direction": record.direction,
        "role": record.role.value,
        "correlation": record.correlation,
        "root": record.root,
        "size": record.size,
        "truncated": record.truncated,
        "xml": record.text,
    }


def trace_json(trace: AssociationTrace) -> dict[str, Any]:
    """``GET .../trace``: the association and its kept messages."""
    return {
        "association": trace.summary(),
        "messages": [record_json(trace, record) for record in trace.messages],
    }


def trace_jsonl(trace: AssociationTrace) -> Iterator[str]:
    """``GET .../trace.jsonl``: one line per kept message, oldest first."""
    for record in list(trace.messages):
        yield json.dumps(record_json(trace, record), ensure_ascii=False) + "\n"


def trace_text(trace: AssociationTrace) -> Iterator[str]:
    """``GET .../trace.txt``: a header, then one block per kept message, oldest first."""
    where = f" ({trace.server})" if trace.server else ""
    yield f"# wire trace of association {trace.id}: {trace.profile} {trace.peer}{where}\n"
    ended = ""
    if trace.closed is not None:
        ended = f", closed {timestamp(trace.closed)} ({trace.close_reason})"
    yield f"# opened {timestamp(trace.opened)}{ended}\n"
    yield (
        f"# {len(trace.messages)} messages kept ({trace.bytes} bytes) of {trace.seen};"
        f" {trace.dropped} dropped by the bounds\n"
    )
    label = "invoke" if trace.profile in ("xml", "tls") else "correlation"
    for record in list(trace.messages):
        arrow = "<<" if record.direction == "in" else ">>"
        parts = [
            f"\n{arrow} #{record.seq}",
            timestamp(record.time),
            record.direction,
            record.role.value,
        ]
        if record.correlation is not None:
            parts.append(f"{label} {record.correlation}")
        parts.append(record.root or "(no root element)")
        cut = f", cut to {len(record.data)}" if record.truncated else ""
        parts.append(f"({record.size} bytes{cut})")
        yield " ".join(parts) + "\n"
        yield record.text.translate(_CONTROLS).rstrip("\n") + "\n"


# -- HTTP ------------------------------------------------------------------------------------
JSON = b"application/json"
DOWNLOADS = {
    b"trace": (JSON, trace_json),
    b"trace.txt": (b"text/plain; charset=utf-8", trace_text),
    b"trace.jsonl": (b"application/x-ndjson", trace_jsonl),
}


def send(
    request: server.Request,
    status: int,
    content_type: bytes,
    body: bytes,
    headers: dict[bytes, bytes] | None = None,
) -> None:
    """Answer ``request`` at once (nothing when the client has gone)."""
    if getattr(request, "_disconnected", False) or request.finished:
        return
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", content_type)
    request.setHeader(b"Cache-Control", b"no-store")
    for name, value in (headers or {}).items():
        request.setHeader(name, value)
    request.write(body)
    request.finish()


#: The ``code`` of an error by its HTTP status, when the caller names none (the JSON API's
#: codes, docs/api.md "Errors").
ERROR_CODES = {
    400: "bad_field",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    426: "upgrade_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_body(status: int, message: str, code: str | None = None) -> bytes:
    """``{"error": {"code": ..., "message": ...}}``: the JSON API's error shape."""
    error = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    return json.dumps({"error": error}).encode("utf-8")


def send_error(
    request: server.Request,
    status: int,
    message: str,
    headers: dict[bytes, bytes] | None = None,
    *,
    code: str | None = None,
) -> None:
    """A JSON error (:func:`error_body`)."""
    send(request, status, JSON, error_body(status, message, code), headers)


def client_host(request: server.Request) -> str:
    return str(getattr(request.getClientAddress(), "host", "?"))


async def web_login(gate: Any, request: server.Request) -> str | None:
    """The user of ``request``'s HTTP Basic credentials (RFC 7617) checked by ``gate`` (the
    web site's login gate: ``login(header, host)`` fires with the user or fails with a
    refusal that has ``status`` and ``reason``); None once a 401 or 429 has been sent."""
    try:
        return str(await gate.login(request.getHeader(b"authorization"), client_host(request)))
    except Exception as refused:
        status = getattr(refused, "status", None)
        if status is None:
            raise
        realm = getattr(gate, "realm", "cstaserver")
        headers = {b"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'.encode()}
        if status == 429:
            window = getattr(getattr(gate, "throttle", None), "window", 60)
            headers = {b"Retry-After": str(int(window)).encode()}
        send_error(request, status, str(getattr(refused, "reason", refused)), headers)
        return None


def crashed(failure: Failure, request: server.Request, what: str) -> None:
    log.failure("{what} failed", failure, what=what)
    send_error(request, 500, f"{what} failed")


class TraceDownloads(resource.Resource):
    """``/api/v1/associations``: ``{id}/trace``, ``{id}/trace.txt`` and ``{id}/trace.jsonl``
    (anything else below it is a JSON 404)."""

    def __init__(self, recorder: WireRecorder, gate: Any) -> None:
        super().__init__()
        self.recorder = recorder
        self.gate = gate

    def getChild(self, path: bytes, request: server.Request) -> Any:  # noqa: N802 (Twisted)
        if len(request.postpath) == 1 and request.postpath[0] in DOWNLOADS:
            return _Download(self, path, request.postpath[0])
        return not_found(f"no such resource: {request.path.decode('latin-1')}")

    def render(self, request: server.Request) -> Any:
        return not_found("no such resource").render(request)


def not_found(message: str) -> resource.Resource:
    """A leaf answering 404 with a JSON error."""
    return _NotFound(message)


class _NotFound(resource.Resource):
    isLeaf = True

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def render(self, request: server.Request) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"Content-Type", JSON)
        request.setHeader(b"Cache-Control", b"no-store")
        return error_body(404, self.message)


class _Download(resource.Resource):
    """One association's trace in one format (a leaf)."""

    isLeaf = True

    def __init__(self, downloads: TraceDownloads, association: bytes, name: bytes) -> None:
        super().__init__()
        self.downloads = downloads
        self.association = association
        self.name = name

    def render_GET(self, request: server.Request) -> Any:  # noqa: N802 (Twisted hook)
        answering = defer.Deferred.fromCoroutine(self._answer(request))
        answering.addErrback(crashed, request, "trace download")
        return server.NOT_DONE_YET

    async def _answer(self, request: server.Request) -> None:
        if await web_login(self.downloads.gate, request) is None:
            return
        text = self.association.decode("latin-1")
        known = text.isascii() and text.isdigit() and len(text) < 19
        trace = self.downloads.recorder.trace(int(text)) if known else None
        if trace is None:
            message = f"no association {text!r} (or its trace has expired)"
            send_error(request, 404, message, code="no_such_association")
            return
        content_type, render = DOWNLOADS[self.name]
        if self.name == b"trace":
            body = json.dumps(render(trace), ensure_ascii=False).encode("utf-8")
        else:
            body = "".join(render(trace)).encode("utf-8")
        filename = f"association-{trace.id}-{self.name.decode()}"
        disposition = f'inline; filename="{filename}"'.encode()
        send(request, 200, content_type, body, {b"Content-Disposition": disposition})
