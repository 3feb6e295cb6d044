"""The wire trace's memory bound (docs/limits.md, "The wire trace"): the kept messages are in
one arena of ``trace_total_bytes``, so the recorder holds no Python object per message -
measured here with ``tracemalloc`` (which sees every allocation of the interpreter's heap,
not the arena's anonymous memory) and the garbage collector's list of tracked objects - and
nothing in it grows with the messages seen rather than kept (ended associations' traces)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.api.trace import WireRecorder, record_length
from cstaserver.config.model import Limits
from cstaserver.csta.association import WireRole
from tests.api.trace_support import Association


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


class NoObjectPerMessage(unittest.TestCase):
    BOUND = 2 * 1024 * 1024

    def test_a_full_trace_holds_its_arena_and_a_little_per_association(self) -> None:
        recorder, clock, peers = recorder_with(Limits(trace_total_bytes=self.BOUND), 200)
        feed(recorder, clock, peers, 10_000)
        gc.collect()
        objects = len(gc.get_objects())
        with held() as memory:
            feed(recorder, clock, peers, 100_000, start=10_000)
        (used,) = memory
        gc.collect()
        assert len(gc.get_objects()) - objects < 100  # nothing for the collector per message
        assert abs(used) < 64 * 1024, used  # the 100,000 messages are in the arena
        assert recorder.arena_size == self.BOUND
        assert recorder.full and recorder.kept > 3000
        # the arena is full: its free room is less than one record and the end it skipped
        assert self.BOUND - 2 * record_length(700, 10) < recorder.memory <= self.BOUND
        records = [(r, t) for t in recorder.traces() for r in t.messages]
        assert recorder.memory >= sum(
            record_length(len(r.data), len(r.correlation or "")) for r, _t in records
        )
        assert recorder.total_bytes == sum(len(r.data) for r, _t in records)
        assert sum(t.seen for t in recorder.traces()) == 110_000

    def test_the_traces_hold_the_newest_messages(self) -> None:
        recorder, clock, peers = recorder_with(Limits(trace_total_bytes=self.BOUND), 50)
        feed(recorder, clock, peers, 30_000)
        seqs = sorted(r.seq for t in recorder.traces() for r in t.messages)
        assert seqs == list(range(30_001 - len(seqs), 30_001))  # a suffix of everything

    def test_memory_does_not_grow_with_messages_seen(self) -> None:
        recorder, clock, peers = recorder_with(
            Limits(trace_total_bytes=self.BOUND, trace_messages=20), 300
        )
        with tracing():
            feed(recorder, clock, peers, 30_000)
            full = allocated()
            feed(recorder, clock, peers, 60_000, start=30_000)
            grown = allocated() - full
        assert abs(grown) < 64 * 1024, grown
        assert sum(t.seen for t in recorder.traces()) == 90_000
        assert recorder.kept == 300 * 20

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
        assert recorder.kept == 5 * 50
        assert recorder.total_bytes == sum(t.bytes for t in recorder.traces())
        assert used < 5 * 2000 + 64 * 1024, used  # the 195 discarded traces are gone
