"""CSTA XML over TCP/TLS with the 8-byte header (ECMA-323 annex "CSTA XML without SOAP"):
one connection = one association of the core.

- Responses echo the request's invoke ID byte for byte; events use ``9999``; requests the
  server sends (SystemStatus) take IDs 0001-9998 from a per-connection counter, and the
  client's answers to them are matched here, never handed to the core as requests.
- A bad frame or bad XML gets a ``CSTAErrorCode`` with its invoke ID; the connection closes
  only when the stream cannot be resynchronised (a length below 8).
- TCP_NODELAY on every connection: frames are small and latency matters more than packets.
- A partial frame idle for ``partial_frame_timeout`` seconds (default 60; None = never)
  closes the connection with a log line: a client that sends half a header and stops does
  not hold a connection forever.
- Bounded write buffer: the protocol registers as a streaming producer; while the transport
  is paused, messages queue up to ``max_backlog_bytes``; a client that still does not read is
  dropped with a log line, never allowed to grow memory without limit.
- Fair reading: a connection handles at most ``frames_per_turn`` frames (default 4) per
  reactor turn. A read that brings more (a client with hundreds of pipelined requests) keeps
  the rest in order, pauses reading from the transport and goes on with the next slice on
  the next turn (``clock.callLater(0)``), so the other connections' frames are handled in
  between; reading resumes when every frame received is handled. No frame is dropped and
  the order per connection is kept.
- One write per slice: the answers and events that one slice of frames causes are joined
  and handed to the transport once, after its last frame (before a close), in the order
  they were written (over TLS one record instead of one per message).
"""

from __future__ import annotations

import collections
import re
from typing import Any

from twisted.internet import protocol
from twisted.internet.defer import Deferred
from twisted.internet.error import TimeoutError as DeferredTimeout
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.csta.association import (
    Association,
    IMessageTransport,
    Profile,
    association_limit_reached,
)
from cstaserver.csta.errors import MESSAGE_TOO_LARGE, ErrorValue, encode_error
from cstaserver.csta.namespaces import DEFAULT_NAMESPACE
from cstaserver.csta.partial import PartialMessageGuard
from cstaserver.xmlproto.framing import (
    EVENT_INVOKE_ID,
    HEADER_LENGTH,
    MAX_FRAME,
    Deframer,
    FramingError,
    encode_frame,
)

log = Logger()

#: Seconds a started but unfinished frame may stay idle before the connection is closed.
PARTIAL_FRAME_TIMEOUT = 60.0

#: Frames one connection handles per reactor turn before the others get theirs: each turn
#: costs at most about twice this many frames per busy connection (a queued slice, then a
#: read), so another client's request waits for a few of them, not for whole reads.
FRAMES_PER_TURN = 4

_ROOT = re.compile(rb"<\s*(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def root_name(body: bytes) -> str | None:
    """The local name of a body's root element, skipping declaration, comments, PIs."""
    pos = 0
    while True:
        match = _ROOT.search(body, pos)
        if match is None:
            return None
        start = match.start()
        if body.startswith((b"<?", b"<!"), start):
            end = body.find(b">", start)
            if end < 0:
                return None
            pos = end + 1
            continue
        return match.group(1).decode("ascii", "replace")


def is_answer(name: str | None) -> bool:
    return name is not None and (name.endswith("Response") or name == "CSTAErrorCode")


@implementer(IMessageTransport, IPushProducer)
class CstaXmlProtocol(protocol.Protocol):
    """One raw-XML client connection."""

    association: Association | None = None

    def __init__(
        self,
        core: Any,
        profile: Profile,
        clock: Any,
        *,
        max_backlog_bytes: int = 4 * 1024 * 1024,
        request_timeout: float = 30.0,
        system_status_on_connect: bool = False,
        partial_frame_timeout: float | None = PARTIAL_FRAME_TIMEOUT,
        frames_per_turn: int = FRAMES_PER_TURN,
    ) -> None:
        if frames_per_turn < 1:
            raise ValueError("frames_per_turn must be at least 1")
        self.core = core
        self.profile = profile
        self.clock = clock
        self.deframer = Deframer(
            max_frame=min(core.limits.max_message_bytes + HEADER_LENGTH, MAX_FRAME)
        )
        self.max_backlog_bytes = max_backlog_bytes
        self.request_timeout = request_timeout
        self.system_status_on_connect = system_status_on_connect
        self.partial_frame_timeout = partial_frame_timeout
        self._partial = PartialMessageGuard(
            clock, partial_frame_timeout, self._partial_frame_timed_out
        )
        self._paused = False
        self._backlog: collections.deque[bytes] = collections.deque()
        self._backlog_bytes = 0
        self._pending: dict[str, Deferred] = {}
        self._next_invoke = 0
        self._batch: list[bytes] | None = None  # frames written while a slice is handled
        self.frames_per_turn = frames_per_turn
        self._unhandled: collections.deque[Any] = collections.deque()  # received, in order
        self._next_slice: Any = None  # the delayed call of the next slice, while one is due
        self._failed: FramingError | None = None  # closes once the frames before it are done
        self._reading_paused = False  # by us, while frames wait for their turn
        self.peer = "?"

    # -- Twisted hooks --------------------------------------------------------------------
    def connectionMade(self) -> None:
        address = self.transport.getPeer()
        self.peer = f"{getattr(address, 'host', '?')}:{getattr(address, 'port', '?')}"
        # Small request/response and event frames: without TCP_NODELAY, Nagle holds a frame
        # written while an earlier one is unacknowledged until the peer's delayed ACK (40 ms
        # on Linux) - seen as 40 ms latency steps in bench/fanout.py.
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:  # not a TCP socket
                pass
        if association_limit_reached(self.core):
            busy = encode_error(ErrorValue.RESOURCE_BUSY, DEFAULT_NAMESPACE)
            self.transport.write(encode_frame(EVENT_INVOKE_ID, busy))
            self.transport.loseConnection()
            return
        self.transport.registerProducer(self, True)
        self.association = self.core.associate(self, self.profile)
        if self.system_status_on_connect:
            self.core.send_system_status(self.association, "normal")

    def dataReceived(self, data: bytes) -> None:
        if self._failed is not None:  # the stream is lost; closing after the frames before it
            return
        try:
            frames = self.deframer.feed(data)
        except FramingError as exc:
            self._failed, frames = exc, exc.frames
        if self._next_slice is not None:  # frames wait for their turn: these go behind them
            self._unhandled.extend(frames)
        elif len(frames) <= self.frames_per_turn:  # the usual read: nothing waits, a few frames
            if frames:
                self._handle(frames)
            if self._failed is not None:
                self._close_lost_stream()
        else:
            self._unhandled.extend(frames)
            self._handle_slice()
        if self._failed is None:
            self._watch_partial_frame()

    def _handle(self, frames: list[Any]) -> None:
        """Handle ``frames``, their answers and events written as one."""
        self._batch = []
        try:
            self._frames_received(frames)
        finally:
            self._flush()

    def _handle_slice(self) -> None:
        """Handle the next ``frames_per_turn`` waiting frames; leave the rest for the next
        reactor turn with reading paused, or, when none is left, resume reading (or close a
        stream that could not be resynchronised)."""
        self._next_slice = None
        unhandled = self._unhandled
        if unhandled:
            self._handle(
                [unhandled.popleft() for _ in range(min(len(unhandled), self.frames_per_turn))]
            )
        closing = getattr(self.transport, "disconnecting", False)
        if closing or self.association is None or self.association.closed:
            unhandled.clear()  # closed by one of them: the rest has nobody to answer
        if unhandled:
            if not self._reading_paused:
                self._reading_paused = True
                self.transport.pauseProducing()
            self._next_slice = self.clock.callLater(0, self._handle_slice)
            return
        if self._reading_paused:
            self._reading_paused = False
            if not closing:
                self.transport.resumeProducing()
        if self._failed is not None:
            self._close_lost_stream()

    def _close_lost_stream(self) -> None:
        log.warn("closing {peer}: {reason}", peer=self.peer, reason=str(self._failed))
        self.transport.loseConnection()

    def _watch_partial_frame(self) -> None:
        self._partial.watch(self.deframer.partial)

    def _partial_frame_timed_out(self) -> None:
        log.info(
            "closing {peer}: a partial frame idle for {seconds} s",
            peer=self.peer,
            seconds=self.partial_frame_timeout,
        )
        self.transport.abortConnection()

    def _frames_received(self, frames: list[Any]) -> None:
        for frame in frames:
            if self.association is None or self.association.closed:
                return
            try:
                self._frame_received(frame)
            except Exception:
                log.failure("frame from {peer} failed", peer=self.peer)

    def connectionLost(self, reason: Any = None) -> None:
        self._partial.cancel()
        if self._next_slice is not None:
            self._next_slice.cancel()
            self._next_slice = None
        self._unhandled.clear()
        pending, self._pending = self._pending, {}
        for deferred in pending.values():
            if not deferred.called:
                deferred.errback(ConnectionError("connection lost"))
        self._backlog.clear()
        if self.association is not None:
            self.association.connection_lost("connection closed")

    # -- IPushProducer (flow control of our writes) ---------------------------------------
    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        while self._backlog and not self._paused:
            data = self._backlog.popleft()
            self._backlog_bytes -= len(data)
            self.transport.write(data)

    def stopProducing(self) -> None:
        self._paused = True

    # -- frames in ------------------------------------------------------------------------
    def _frame_received(self, frame: Any) -> None:
        namespace = self.association.namespace or DEFAULT_NAMESPACE
        if frame.oversized:
            log.info(
                "frame of {length} bytes from {peer} over the limit",
                length=frame.length,
                peer=self.peer,
            )
            self.write_message(encode_error(MESSAGE_TOO_LARGE, namespace), frame.invoke_id)
            return
        pending = self._pending.get(frame.invoke_id)
        if pending is not None and is_answer(root_name(frame.body)):
            del self._pending[frame.invoke_id]
            pending.callback(frame.body)
            return
        self.association.receive(frame.body, frame.invoke_id)

    # -- IMessageTransport ----------------------------------------------------------------
    def write_message(self, data: bytes, correlation: object) -> None:
        if not data:  # a request without a positive response: nothing goes back
            return
        invoke_id = correlation if isinstance(correlation, str) else EVENT_INVOKE_ID
        try:
            frame = encode_frame(invoke_id, data)
        except ValueError:
            log.error(
                "message of {size} bytes for {peer} does not fit a frame",
                size=len(data),
                peer=self.peer,
            )
            namespace = (self.association and self.association.namespace) or DEFAULT_NAMESPACE
            frame = encode_frame(
                invoke_id, encode_error(ErrorValue.SYSTEM_RESOURCE_GENERIC, namespace)
            )
        if self._batch is not None:
            self._batch.append(frame)
            return
        self._send(frame)

    def _flush(self) -> None:
        """Write the frames held while a read was handled, as one."""
        batch, self._batch = self._batch, None
        if batch:
            self._send(batch[0] if len(batch) == 1 else b"".join(batch))

    def _send(self, frame: bytes) -> None:
        if self._paused:
            self._backlog.append(frame)
            self._backlog_bytes += len(frame)
            if self._backlog_bytes > self.max_backlog_bytes:
                log.warn(
                    "dropping {peer}: it does not read ({size} bytes waiting)",
                    peer=self.peer,
                    size=self._backlog_bytes,
                )
                self._backlog.clear()
                self._backlog_bytes = 0
                self.transport.abortConnection()
            return
        self.transport.write(frame)

    def send_request(self, data: bytes) -> Deferred:
        invoke_id = self._allocate_invoke_id()
        deferred: Deferred = Deferred()
        self._pending[invoke_id] = deferred
        call = self.clock.callLater(self.request_timeout, self._request_timed_out, invoke_id)
        deferred.addBoth(lambda result: (call.active() and call.cancel(), result)[1])
        self.write_message(data, invoke_id)
        return deferred

    def _request_timed_out(self, invoke_id: str) -> None:
        deferred = self._pending.pop(invoke_id, None)
        if deferred is not None:
            deferred.errback(DeferredTimeout(f"no answer to {invoke_id}"))

    def _allocate_invoke_id(self) -> str:
        for _ in range(9998):
            self._next_invoke = self._next_invoke % 9998 + 1
            candidate = f"{self._next_invoke:04d}"
            if candidate not in self._pending:
                return candidate
        raise RuntimeError("no free invoke ID")

    def close(self, reason: str) -> None:
        self._flush()
        log.info("closing {peer}: {reason}", peer=self.peer, reason=reason)
        self.transport.loseConnection()


class CstaXmlFactory(protocol.Factory):
    """Builds one :class:`CstaXmlProtocol` per connection (plain TCP or behind TLS)."""

    noisy = False  # listeners are logged once, as 'listening: ...'

    def __init__(self, core: Any, profile: Profile, clock: Any, **options: Any) -> None:
        self.core = core
        self.profile = profile
        self.clock = clock
        self.options = options

    def buildProtocol(self, addr: Any) -> CstaXmlProtocol:
        proto = CstaXmlProtocol(self.core, self.profile, self.clock, **self.options)
        proto.factory = self
        return proto
