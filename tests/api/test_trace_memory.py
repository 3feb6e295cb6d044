"""The wire trace's memory bound (docs/limits.md, "The wire trace"): ``trace_total_bytes``
counts what the kept messages really hold - the message bytes and each record's objects -
measured here with ``tracemalloc``; and nothing in the recorder grows with the messages seen
rather than kept (the recording-order index, ended associations' traces)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.api.trace import RECORD_OVERHEAD, WireRecorder, record_cost
from cstaserver.config.model import Limits
from cstaserver.csta.association import WireRole


@attrs.define(eq=False)
class Profile:
    name: str = "xml"
    server_id: str = ""


@attrs.define(eq=False)
class Association:
    """What the recorder reads of an association."""

    id: int
    peer: str = "127.0.0.1:4000"
    profile: Profile = attrs.Factory(Profile)
    closed: bool = False


def event(n: int) -> bytes:
    """An event body of 150 - 650 bytes, made fresh (only the recorder holds it after)."""
    pad = b"x" * (100 + (n * 37) % 500)
    return (
        b'<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
        + pad
        + (b"<monitorCrossRefID>%d</monitorCrossRefID></DeliveredEvent>" % n)
    )


def feed(
    recorder: WireRecorder,
    clock: Clock,
    associations: list[Association],
    count: int,
    start: int = 0,
) -> None:
    """``count`` messages round the associations: two events for every request/answer pair."""
    for n in range(start, start + count):
        clock.advance(0.001)
        association = associations[n % len(associations)]
        kind = n % 4
        if kind == 0:
            recorder.message(association, WireRole.REQUEST, b"<RequestSystemStatus/>", n)
        elif kind == 1:
            recorder.message(association, WireRole.ANSWER, b"<RequestSystemStatusResponse/>", n - 1)
        else:
            recorder.message(association, WireRole.EVENT, event(n), None)


@contextmanager
def tracing() -> Iterator[None]:
    """``tracemalloc`` on for the block (what was allocated before it is not seen)."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        yield
    finally:
        if not was_tracing:
            tracemalloc.stop()


def allocated() -> int:
    """The bytes allocated since tracing started and not freed, after a collection."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@contextmanager
def held() -> Iterator[list[int]]:
    """The bytes the objects made in the block and kept hold at its end."""
    result: list[int] = []
    gc.collect()
    with tracing():
        before = allocated()
        yield result
        result.append(allocated() - before)


def recorder_with(
    limits: Limits, associations: int
) -> tuple[WireRecorder, Clock, list[Association]]:
    clock = Clock()
    clock.advance(1_700_000_000)
    recorder = WireRecorder(clock, limits)
    peers = [Association(i) for i in range(1, associations + 1)]
    for peer in peers:
        recorder.opened(peer)
    return recorder, clock, peers


class TotalBoundCountsMemory(unittest.TestCase):
    BOUND = 2 * 1024 * 1024

    def test_a_full_trace_holds_no_more_than_its_bound(self) -> None:
        recorder, clock, peers = recorder_with(Limits(trace_total_bytes=self.BOUND), 200)
        with held() as memory:
            feed(recorder, clock, peers, 40_000)
        (used,) = memory
        assert recorder.memory <= self.BOUND
        assert recorder.memory > self.BOUND - 2000  # full: the bound is what is kept
        # what the recorder holds for its messages (records, bytes, timestamps, index) is
        # within the bound; the message bytes alone are well under it
        assert used <= self.BOUND, used
        assert recorder.total_bytes < 0.8 * self.BOUND
        assert recorder.memory == sum(record_cost(r) for t in recorder.traces() for r in t.messages)
        assert recorder.total_bytes == sum(
            len(r.data) for t in recorder.traces() for r in t.messages
        )

    def test_the_overhead_per_record_is_what_a_record_holds(self) -> None:
        """RECORD_OVERHEAD is no guess: a kept record's objects other than its message's
        bytes take no more (tracemalloc counts requested sizes; the constant adds the
        allocator's rounding), and not much less."""
        recorder, clock, peers = recorder_with(Limits(trace_total_bytes=1 << 30), 100)
        with held() as memory:
            feed(recorder, clock, peers, 20_000)
        (used,) = memory
        kept = recorder._live
        assert kept == 20_000
        per_record = (used - recorder.total_bytes) / kept
        correlation_share = (recorder.memory - recorder.total_bytes) / kept - RECORD_OVERHEAD
        assert per_record <= RECORD_OVERHEAD + correlation_share
        assert per_record >= 0.6 * RECORD_OVERHEAD

    def test_memory_does_not_grow_with_messages_seen(self) -> None:
        recorder, clock, peers = recorder_with(
            Limits(trace_total_bytes=self.BOUND, trace_messages=20), 300
        )
        with tracing():
            feed(recorder, clock, peers, 30_000)
            full = allocated()
            feed(recorder, clock, peers, 60_000, start=30_000)
            grown = allocated() - full
        assert full > self.BOUND // 2  # the first messages filled it
        assert abs(grown) < 64 * 1024, grown
        assert sum(t.seen for t in recorder.traces()) == 90_000


class RecordingOrder(unittest.TestCase):
    def test_entries_of_messages_a_trace_dropped_are_cleared_out(self) -> None:
        recorder, clock, peers = recorder_with(Limits(trace_messages=3), 50)
        for round_ in range(10):
            feed(recorder, clock, peers, 2000, start=round_ * 2000)
            assert recorder._live == 150
            stale = sum(t.stale for t in recorder.traces())
            assert len(recorder._order) == recorder._live + stale
            assert stale <= recorder._live + 1024
        # the order still drops the oldest message of any association first
        small = recorder.memory // 2
        recorder.max_total_bytes = small
        feed(recorder, clock, peers, 1, start=20_000)
        assert recorder.memory <= small
        newest_dropped = min(t.messages[0].seq for t in recorder.traces() if t.messages)
        oldest_kept_any = [r.seq for t in recorder.traces() for r in t.messages]
        assert newest_dropped == min(oldest_kept_any)
        assert len(oldest_kept_any) < 150

    def test_ended_traces_let_their_messages_go(self) -> None:
        recorder, clock, peers = recorder_with(Limits(trace_closed=5), 0)
        with held() as memory:
            for n in range(200):
                peer = Association(10_000 + n)
                recorder.opened(peer)
                feed(recorder, clock, [peer], 50, start=n * 50)
                peer.closed = True
                recorder.closed(peer, "connection closed")
        (used,) = memory
        assert len(recorder.traces()) == 5
        assert recorder._live == 5 * 50
        assert len(recorder._order) <= 2 * recorder._live + 1024
        kept: Any = recorder.memory
        # the 195 discarded traces' messages are gone (at most the index's pointers remain)
        assert used < kept + 200 * 2000 + 1024 * 8, (used, kept)
