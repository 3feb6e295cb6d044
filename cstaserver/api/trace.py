"""The wire trace: every CSTA message of every association, kept per association in a bounded
ring, and its downloads (docs/api.md, "Event stream and wire trace").

:class:`WireRecorder` is the core's :class:`~cstaserver.csta.association.IWireTracer`: the
association hands it each message as it is received or written - requests and the answers to
server requests in, responses, ``CSTAErrorCode`` (ECMA-269 9.3), events and server requests
(SystemStatus, ECMA-269 14.1) out - with the transport's correlation (the XML port's invoke
ID, ECMA-323 annex "CSTA XML without SOAP"; a SOAP request number). The root element name
and the text are worked out only when somebody reads the trace.

Where the messages are: one arena of ``trace_total_bytes`` (anonymous memory, allocated once
when the recorder is made; its pages become resident as they are first written, and then the
trace's memory stays the same for ever), a log-structured ring in recording order. A record is
a fixed header (:data:`HEADER`: sequence number, time, association ID, the offset of the
association's next kept record, size on the wire, kept length, correlation length, role,
a "gone" flag), the correlation's bytes and the message's bytes, rounded up to 8 bytes
(:func:`record_length`). The write cursor takes the room it needs from the oldest records of
the ring (the oldest record of the ring is always its association's oldest kept message, so
the association's head moves on to the next one); a record that does not fit before the end
of the arena goes to its start (the end of the ring's records at the top is kept as one
offset, the skip marker). Per association only numbers are kept (the offsets of its oldest and
newest kept records, counts, bytes): there is no Python object per message, so the cyclic
garbage collector has nothing to walk and the allocator's heap nothing to fragment.
:class:`WireRecord` objects are made only when somebody reads a trace, and for the listeners
only while there are some.

Bounds (``Limits`` of the exchange data): one association keeps its last ``trace_messages``
messages and at most ``trace_bytes`` bytes (a longer message is kept cut to that size,
marked ``truncated``); the records of all traces together fill at most the arena of
``trace_total_bytes`` (the oldest message of any association goes first; a message whose
record is larger than the whole arena is not kept, counted dropped); an ended association's
trace stays readable for ``keep_closed`` seconds, and only the last ``trace_closed`` ended
associations keep theirs. A message a per-association bound or an expired trace lets go is
marked gone in its record; its room is taken again when the write cursor comes round to it.
``memory`` is the arena bytes the ring's records take (header, correlation and message,
rounded; those of messages let go included until their room is taken again), at most the
arena's size; the memory the trace holds is the arena's size, whatever is kept. An
association's ``dropped`` is its messages seen and not kept.
:meth:`WireRecorder.apply_limits` (``csta_limits -c`` on a running server) takes new bounds
at once: a new arena of the new size with the kept messages copied, the newest first, as far
as they fit the new bounds. Nothing runs on a timer: expired traces go when the recorder is
next used.

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
import mmap
import re
import struct
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


@attrs.frozen
class WireRecord:
    """One kept message, read out of the arena (made for a reader or a listener; two records
    are equal when every field is)."""

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


#: A record's fixed header in the arena: sequence number, time, association ID, the offset of
#: the association's next kept record (-1: none yet), the size on the wire, the kept length,
#: the correlation's length in bytes (-1: none), the role's code, the "gone" flag, padding.
HEADER = struct.Struct("<QdqqIIiBB2x")
_HEADER_SIZE = HEADER.size
_NEXT_AT = 24  # where the next-record offset is in the header
_GONE_AT = 45  # where the "gone" flag is
#: What eviction reads of a header, from ``_EVICTED_AT``: association ID, next-record offset,
#: kept length, correlation length, the "gone" flag.
_EVICTED = struct.Struct("<qq4xIixB")
_EVICTED_AT = 16
_pack = HEADER.pack_into
_unpack_evicted = _EVICTED.unpack_from
_ROLES = tuple(WireRole)
#: By the role's value (``_value_``: a plain attribute, and a str's hash is cached, where an
#: enum member's hash is a Python call).
_ROLE_CODES = {role._value_: code for code, role in enumerate(_ROLES)}


def record_length(kept: int, correlation: int) -> int:
    """The arena bytes of the record of ``kept`` message bytes with a correlation of
    ``correlation`` bytes: the header and both, rounded up to 8."""
    return (_HEADER_SIZE + correlation + kept + 7) & ~7


def _unlink_oldest(trace: AssociationTrace, following: int, kept: int) -> None:
    """``trace`` no longer holds its oldest kept message (of ``kept`` bytes), whose record
    named ``following`` as the next (-1: none)."""
    trace.count -= 1
    if trace.count:
        trace.head = following
    else:
        trace.head = trace.tail = -1
    trace.bytes -= kept


def _arena(size: int) -> mmap.mmap:
    """``size`` bytes of anonymous memory (zero, resident as first written; not the
    allocator's heap, so nothing in it fragments), rounded up to whole 8-byte words (records
    start and end on them, so the rounding is never written)."""
    return mmap.mmap(-1, (size + 7) & ~7)


@attrs.define(eq=False)
class AssociationTrace:
    """One association's kept messages (in the recorder's arena, oldest first, read by
    :attr:`messages`) and what the association was."""

    id: int
    peer: str
    profile: str
    server: str
    opened: float
    closed: float | None = None
    close_reason: str | None = None
    count: int = 0  # messages kept
    bytes: int = 0  # of the kept messages
    seen: int = 0  # messages recorded, kept or not
    discarded: bool = False  # the trace itself was let go
    head: int = -1  # the arena offset of the oldest kept message's record (-1: none)
    tail: int = -1  # of the newest
    recorder: WireRecorder | None = attrs.field(default=None, repr=False)

    @property
    def dropped(self) -> int:
        """Messages pushed out by a bound (or not kept: larger than the whole arena)."""
        return self.seen - self.count

    @property
    def messages(self) -> list[WireRecord]:
        """The kept messages, oldest first (read out of the arena now)."""
        return [] if self.recorder is None else self.recorder.records(self)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "peer": self.peer,
            "profile": self.profile,
            "server": self.server,
            "opened": timestamp(self.opened),
            "closed": timestamp(self.closed) if self.closed is not None else None,
            "close_reason": self.close_reason,
            "messages": self.count,
            "bytes": self.bytes,
            "seen": self.seen,
            "dropped": self.dropped,
        }


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
        self.evicted = 0  # messages the total bound dropped (the trace has been full)
        self._seq = 0
        self._open: dict[int, AssociationTrace] = {}
        self._closed: collections.OrderedDict[int, AssociationTrace] = collections.OrderedDict()
        self._by_id: dict[int, AssociationTrace] = {}  # every trace not discarded, open or not
        self._arena = _arena(self.max_total_bytes)
        self._words = memoryview(self._arena).cast("q")  # the arena as 8-byte words
        self._size = self.max_total_bytes
        self._head = 0  # the ring: the offset of its oldest record (kept or gone)
        self._tail = 0  # the write cursor
        self._wrap = -1  # while the ring goes round the end: where its records at the top end
        self._records = 0  # records in the ring, kept or gone
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
        kept = size if size <= self.max_bytes else self.max_bytes
        if correlation is not None and correlation.__class__ is not str:
            correlation = _correlation(correlation)
        self._seq = seq = self._seq + 1
        now = self.clock.seconds()
        trace.seen += 1
        # the record (inline: once per message of every association)
        if correlation is None:
            cut = b""
            marked = -1
        else:
            try:
                cut = correlation.encode()
            except UnicodeEncodeError:  # a lone surrogate: kept as it is
                cut = correlation.encode("utf-8", "surrogatepass")
            marked = len(cut)
        length = (_HEADER_SIZE + len(cut) + kept + 7) & ~7  # record_length, inline
        if length <= self._size:
            if trace.count and (
                trace.count >= self.max_messages or trace.bytes + kept > self.max_bytes
            ):
                self._bound(trace, kept)
            offset = self._tail
            if (self._head - offset if self._wrap >= 0 else self._size - offset) >= length:
                self._tail = offset + length  # room at the write cursor
                self._records += 1
            else:
                offset = self._room(length)
            arena = self._arena
            _pack(
                arena,
                offset,
                seq,
                now,
                trace.id,
                -1,
                size,
                kept,
                marked,
                _ROLE_CODES[role._value_],
                0,
            )
            start = offset + _HEADER_SIZE
            if cut:
                arena[start : start + marked] = cut
                start += marked
            arena[start : start + kept] = data if kept == size else memoryview(data)[:kept]
            self._link(trace, offset, kept)
        else:  # larger than the whole arena: not kept (dropped)
            self.evicted += 1
        if self._listeners:
            self._tell(trace, WireRecord(seq, now, role, correlation, data[:kept], size))

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

    def records(self, trace: AssociationTrace) -> list[WireRecord]:
        """``trace``'s kept messages, oldest first, read out of the arena."""
        arena = self._arena
        found = []
        offset = trace.head
        for _ in range(trace.count):
            seq, now, _association, following, size, kept, length, role, _gone = HEADER.unpack_from(
                arena, offset
            )
            start = offset + _HEADER_SIZE
            correlation = None
            if length >= 0:
                correlation = arena[start : start + length].decode("utf-8", "replace")
                start += length
            data = arena[start : start + kept]
            found.append(WireRecord(seq, now, _ROLES[role], correlation, data, size))
            offset = following
        return found

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
        return sum(trace.count for trace in self._traces())

    @property
    def total_bytes(self) -> int:
        """Message bytes kept over all traces."""
        return sum(trace.bytes for trace in self._traces())

    @property
    def memory(self) -> int:
        """The arena bytes the ring's records take (:func:`record_length`): those of the
        kept messages and of the messages let go whose room the ring has not come round to
        take back yet; at most the arena's size."""
        if self._wrap >= 0:
            return self._wrap - self._head + self._tail
        return self._tail - self._head

    def _traces(self) -> Iterator[AssociationTrace]:
        yield from self._open.values()
        yield from self._closed.values()

    @property
    def full(self) -> bool:
        """The total bound has dropped a message: the traces hold about ``max_total_bytes``."""
        return self.evicted > 0

    @property
    def arena_size(self) -> int:
        """The bytes of the arena: the memory the trace holds once it has been full."""
        return self._size

    # -- bounds ------------------------------------------------------------------------------
    def apply_limits(self, limits: Limits) -> None:
        """New bounds at once (``csta_limits -c``): a new arena of ``trace_total_bytes`` with
        the kept messages copied, the newest first as far as they fit it and the new
        per-association bounds (the others are dropped, as the bounds drop them)."""
        self.max_closed = limits.trace_closed
        bounds = (limits.trace_messages, limits.trace_bytes, limits.trace_total_bytes)
        if bounds == (self.max_messages, self.max_bytes, self.max_total_bytes):
            self._expire()
            return
        self.max_messages, self.max_bytes, self.max_total_bytes = bounds
        old = self._arena
        traces = list(self._open.values()) + list(self._closed.values())
        kept = []  # (seq, offset, record length, kept bytes, trace) of every kept message
        for trace in traces:
            offset = trace.head
            for _ in range(trace.count):
                seq, _t, _a, following, _s, size, length, _r, _g = HEADER.unpack_from(old, offset)
                kept.append((seq, offset, record_length(size, max(length, 0)), size, trace))
                offset = following
        kept.sort(key=lambda entry: entry[0], reverse=True)
        taken: list[tuple[int, int, int, AssociationTrace]] = []
        counts: dict[int, list[int]] = {trace.id: [0, 0, 0] for trace in traces}  # n, bytes, full
        room = self.max_total_bytes
        full = False
        for _seq, offset, length, size, trace in kept:
            count = counts[trace.id]
            if count[2] or count[0] >= self.max_messages or count[1] + size > self.max_bytes:
                count[2] = 1  # its older messages go too: a trace drops its oldest first
                continue
            if full or length > room:
                full = True  # and every older message of any trace: the oldest go first
                self.evicted += 1
                continue
            room -= length
            count[0] += 1
            count[1] += size
            taken.append((offset, length, size, trace))
        for trace in traces:
            trace.count, trace.bytes, trace.head, trace.tail = 0, 0, -1, -1
        self._words.release()
        self._arena = arena = _arena(self.max_total_bytes)
        self._words = memoryview(arena).cast("q")
        self._size = self.max_total_bytes
        self._head, self._wrap = 0, -1
        cursor = 0
        for offset, length, size, trace in reversed(taken):
            arena[cursor : cursor + length] = old[offset : offset + length]
            self._words[(cursor + _NEXT_AT) >> 3] = -1
            self._link(trace, cursor, size)
            cursor += length
        self._tail = cursor
        self._records = len(taken)
        old.close()
        self._expire()

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
                recorder=self,
            )
            self._open[association.id] = trace
            self._by_id[association.id] = trace
        return trace

    def _bound(self, trace: AssociationTrace, kept: int) -> None:
        """Let ``trace``'s oldest messages go until one of ``kept`` bytes fits its bounds."""
        while trace.count and (
            trace.count >= self.max_messages or trace.bytes + kept > self.max_bytes
        ):
            self._let_go(trace)

    def _link(self, trace: AssociationTrace, offset: int, kept: int) -> None:
        """The record at ``offset`` (its next-offset -1) is ``trace``'s newest message."""
        if trace.count:
            self._words[(trace.tail + _NEXT_AT) >> 3] = offset
        else:
            trace.head = offset
        trace.tail = offset
        trace.count += 1
        trace.bytes += kept

    def _room(self, length: int) -> int:
        """The offset of ``length`` free bytes at the write cursor (at most the arena's
        size), the oldest records of the ring evicted for it (each its association's oldest
        kept message); the cursor moved past them."""
        arena, size, traces = self._arena, self._size, self._by_id
        head, tail, wrap, records = self._head, self._tail, self._wrap, self._records
        evicted = 0
        while True:
            if not records:
                head = tail = 0
                wrap = -1
            if wrap < 0:  # the records are [head, tail)
                if size - tail >= length:
                    break
                wrap = tail  # on at the start, before the oldest record
                tail = 0
                continue
            if head - tail >= length:  # [head, wrap) and [0, tail)
                break
            # evict the ring's oldest record
            association, following, kept, correlation, gone = _unpack_evicted(
                arena, head + _EVICTED_AT
            )
            if not gone:
                trace = traces.get(association)
                if trace is not None and trace.head == head:
                    _unlink_oldest(trace, following, kept)
                    evicted += 1
            records -= 1
            head += (_HEADER_SIZE + (correlation if correlation > 0 else 0) + kept + 7) & ~7
            if head == wrap:  # the records go on at the start of the arena
                head = 0
                wrap = -1
        self._head, self._wrap = head, wrap
        self.evicted += evicted
        self._tail = tail + length
        self._records = records + 1
        return tail

    def _let_go(self, trace: AssociationTrace) -> None:
        """Mark ``trace``'s oldest kept message gone; its record stays until the write
        cursor takes its room back."""
        arena = self._arena
        offset = trace.head
        _s, _t, _a, following, _size, kept, correlation, _r, _g = HEADER.unpack_from(arena, offset)
        arena[offset + _GONE_AT] = 1
        _unlink_oldest(trace, following, kept)

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
        self._by_id.pop(trace.id, None)
        while trace.count:
            self._let_go(trace)

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
    for record in trace.messages:
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
        f"# {trace.count} messages kept ({trace.bytes} bytes) of {trace.seen};"
        f" {trace.dropped} dropped by the bounds\n"
    )
    label = "invoke" if trace.profile in ("xml", "tls") else "correlation"
    for record in trace.messages:
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
