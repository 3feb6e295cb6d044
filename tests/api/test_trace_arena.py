"""The wire trace's arena (``cstaserver.api.trace``, module docstring): the kept messages of
every association in one fixed ring of ``trace_total_bytes``, checked against a reference
model that keeps records as a plain list with their places in the arena - what each
association keeps, in which order, after wrapping round the arena with messages of random
sizes; the per-association bounds; a message larger than the arena; reading while the ring
wraps; re-sizing (``apply_limits``); the listeners."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock

from cstaserver.api import trace as trace_module
from cstaserver.api.trace import WireRecord, WireRecorder, record_length
from cstaserver.config.model import Limits
from cstaserver.csta.association import WireRole
from tests.api.trace_support import Association


@attrs.define
class Placed:
    """A record of the model: where it is in the arena and whether it is still kept."""

    start: int
    end: int
    association: int
    record: WireRecord
    gone: bool = False


class Model:
    """The reference: a list of the arena's records in recording order. A new record goes
    right after the newest one, or at offset 0 when it would pass the arena's end; the
    records it overlaps are taken back, and every older one with them: the kept messages
    are always the newest ones, those a per-association bound dropped aside (a kept one
    taken back is dropped from its association). The
    per-association bounds drop an association's oldest kept message (its record keeps its
    place until overlapped)."""

    def __init__(self, size: int, max_messages: int, max_bytes: int) -> None:
        self.size, self.max_messages, self.max_bytes = size, max_messages, max_bytes
        self.ring: list[Placed] = []
        self.dropped: dict[int, int] = {}
        self.seen: dict[int, int] = {}
        self.seq = 0

    def kept(self, association: int) -> list[WireRecord]:
        return [p.record for p in self.ring if p.association == association and not p.gone]

    def record(
        self, association: int, role: WireRole, data: bytes, correlation: str | None
    ) -> None:
        self.seq += 1
        self.seen[association] = self.seen.get(association, 0) + 1
        self.dropped.setdefault(association, 0)
        cut = data[: self.max_bytes]
        record = WireRecord(self.seq, float(self.seq), role, correlation, cut, len(data))
        length = record_length(len(cut), 0 if correlation is None else len(correlation))
        if length > self.size:
            self.dropped[association] += 1
            return
        mine = [p for p in self.ring if p.association == association and not p.gone]
        while mine and (
            len(mine) >= self.max_messages
            or sum(len(p.record.data) for p in mine) + len(cut) > self.max_bytes
        ):
            mine.pop(0).gone = True
            self.dropped[association] += 1
        start = self.ring[-1].end if self.ring else 0
        if start + length > self.size:
            start = 0
        end = start + length
        overlapped = [
            index
            for index, placed in enumerate(self.ring)
            if placed.start < end and placed.end > start
        ]
        if overlapped:  # a ring: that record goes, and every older one with it
            for placed in self.ring[: overlapped[-1] + 1]:
                if not placed.gone:
                    self.dropped[placed.association] += 1
            del self.ring[: overlapped[-1] + 1]
        self.ring.append(Placed(start, end, association, record))


def make(size: int, messages: int = 1000, byte_bound: int = 1 << 20) -> tuple[Any, ...]:
    clock = Clock()
    limits = Limits(trace_total_bytes=size, trace_messages=messages, trace_bytes=byte_bound)
    recorder = WireRecorder(clock, limits)
    return recorder, clock, Model(size, messages, byte_bound)


def body(seq: int, size: int) -> bytes:
    """A message of ``size`` bytes that names its sequence number (when there is room)."""
    return (b"<m%d/>" % seq + b"x" * size)[:size]


def check(recorder: WireRecorder, model: Model, associations: list[Association]) -> None:
    for association in associations:
        trace = recorder.trace(association.id)
        if trace is None:  # never heard of
            assert association.id not in model.seen
            continue
        expected = model.kept(association.id)
        assert trace.messages == expected
        assert trace.count == len(expected)
        assert trace.bytes == sum(len(r.data) for r in expected)
        assert trace.seen == model.seen.get(association.id, 0)
        assert trace.dropped == model.dropped.get(association.id, 0)
    kept = [p for p in model.ring if not p.gone]
    assert recorder.kept == len(kept)
    assert recorder.total_bytes == sum(len(p.record.data) for p in kept)
    # the ring's records, those let go and not yet overwritten included
    assert recorder.memory == sum(p.end - p.start for p in model.ring) <= recorder.arena_size


ROLES = st.sampled_from([WireRole.EVENT, WireRole.ANSWER, WireRole.SERVER_REQUEST])
MESSAGE = st.tuples(
    st.integers(1, 4),  # the association
    st.integers(0, 400),  # the size
    ROLES,
    st.one_of(st.none(), st.from_regex(r"[0-9]{1,6}", fullmatch=True)),
)


def play(
    recorder: WireRecorder,
    clock: Clock,
    model: Model,
    associations: list[Association],
    messages: list[tuple[int, int, WireRole, str | None]],
) -> None:
    for number, size, role, correlation in messages:
        clock.advance(1)
        data = body(model.seq + 1, size)
        recorder.message(associations[number - 1], role, data, correlation)
        model.record(number, role, data, correlation)


class TestTheRingAgainstTheModel:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        size=st.integers(64, 3000),
        max_messages=st.integers(1, 40),
        max_bytes=st.integers(0, 4000),
        messages=st.lists(MESSAGE, max_size=200),
    )
    def test_what_is_kept_per_association_and_in_which_order(
        self,
        size: int,
        max_messages: int,
        max_bytes: int,
        messages: list[tuple[int, int, WireRole, str | None]],
    ) -> None:
        recorder, clock, model = make(size, max_messages, max_bytes)
        associations = [Association(n) for n in range(1, 5)]
        for association in associations:
            recorder.opened(association)
        earlier: list[tuple[list[WireRecord], list[WireRecord]]] = []
        for start in range(0, len(messages), 10):  # read while the ring goes round
            play(recorder, clock, model, associations, messages[start : start + 10])
            check(recorder, model, associations)
            read = recorder.trace(1).messages  # type: ignore[union-attr]
            earlier.append((read, [attrs.evolve(r) for r in read]))
        for read, copied in earlier:  # what a reader got stays as it was
            assert read == copied

    def test_it_wraps_many_times(self) -> None:
        recorder, clock, model = make(1000, 5, 800)
        associations = [Association(n) for n in range(1, 4)]
        messages = [(1 + n % 3, (n * 97) % 400, WireRole.EVENT, None) for n in range(3000)]
        play(recorder, clock, model, associations, messages)
        check(recorder, model, associations)
        assert recorder.full and recorder.kept > 0


class TestBounds:
    def test_per_association_count_and_bytes(self) -> None:
        recorder, clock, model = make(1 << 16, messages=3, byte_bound=350)
        associations = [Association(1), Association(2)]
        play(recorder, clock, model, associations, [(1, 100, WireRole.EVENT, None)] * 5)
        play(recorder, clock, model, associations, [(2, 120, WireRole.EVENT, "7")] * 3)
        check(recorder, model, associations)
        first, second = (recorder.trace(n) for n in (1, 2))
        assert first is not None and second is not None
        assert [r.seq for r in first.messages] == [3, 4, 5]  # the count bound
        assert [r.seq for r in second.messages] == [7, 8]  # 3 x 120 > 350: the byte bound
        assert (first.dropped, second.dropped) == (2, 1)
        assert not recorder.full

    def test_a_message_over_the_byte_bound_is_kept_cut(self) -> None:
        recorder, clock, model = make(1 << 16, byte_bound=100)
        associations = [Association(1)]
        play(recorder, clock, model, associations, [(1, 500, WireRole.EVENT, None)])
        check(recorder, model, associations)
        (record,) = recorder.trace(1).messages  # type: ignore[union-attr]
        assert record.truncated and (len(record.data), record.size) == (100, 500)

    def test_a_message_larger_than_the_arena_is_not_kept(self) -> None:
        recorder, clock, model = make(400)
        associations = [Association(1), Association(2)]
        play(recorder, clock, model, associations, [(1, 100, WireRole.EVENT, "1")] * 2)
        play(recorder, clock, model, associations, [(2, 1000, WireRole.EVENT, None)])
        check(recorder, model, associations)
        first, second = recorder.trace(1), recorder.trace(2)
        assert first is not None and second is not None
        assert first.count == 2  # the others stay
        assert (second.count, second.seen, second.dropped) == (0, 1, 1)
        assert recorder.full

    def test_an_ended_trace_lets_its_room_go(self) -> None:
        recorder = WireRecorder(Clock(), Limits(trace_total_bytes=2000, trace_closed=1))
        gone, kept, later = Association(1), Association(2), Association(3)
        for association in (gone, kept, later):
            recorder.message(association, WireRole.EVENT, b"a" * 300, None)
        for association in (gone, kept):
            association.closed = True
            recorder.closed(association, "connection closed")
        assert recorder.trace(1) is None and recorder.kept == 2
        assert recorder.total_bytes == 2 * 300
        for _ in range(3):  # there is room again for 3 without dropping a kept one
            recorder.message(later, WireRole.EVENT, b"b" * 300, None)
        assert not recorder.full
        assert [len(r.data) for r in recorder.trace(2).messages] == [300]  # type: ignore[union-attr]


class TestResizing:
    def fill(self) -> tuple[WireRecorder, list[Association]]:
        recorder, clock, model = make(4000, 10, 5000)
        associations = [Association(n) for n in range(1, 4)]
        messages = [(1 + n % 3, 50 + (n * 31) % 200, WireRole.EVENT, str(n)) for n in range(60)]
        play(recorder, clock, model, associations, messages)
        check(recorder, model, associations)
        return recorder, associations

    @staticmethod
    def everything(recorder: WireRecorder) -> list[WireRecord]:
        return sorted((r for t in recorder.traces() for r in t.messages), key=lambda r: r.seq)

    def test_smaller_keeps_the_newest_that_fit(self) -> None:
        recorder, _associations = self.fill()
        before = self.everything(recorder)
        dropped = sum(t.dropped for t in recorder.traces())
        evicted = recorder.evicted
        recorder.apply_limits(Limits(trace_total_bytes=1000, trace_messages=10, trace_bytes=5000))
        after = self.everything(recorder)
        assert recorder.arena_size == 1000
        lengths = [record_length(len(r.data), len(r.correlation or "")) for r in before]
        fit = 0
        while fit < len(before) and sum(lengths[len(before) - fit - 1 :]) <= 1000:
            fit += 1
        assert after == before[len(before) - fit :]  # the newest, as many as fit
        assert recorder.memory == sum(lengths[len(before) - fit :]) <= 1000
        assert sum(t.dropped for t in recorder.traces()) == dropped + len(before) - fit
        assert recorder.evicted == evicted + len(before) - fit

    def test_larger_keeps_everything_and_goes_on_recording(self) -> None:
        recorder, associations = self.fill()
        before = self.everything(recorder)
        recorder.apply_limits(
            Limits(trace_total_bytes=100_000, trace_messages=10, trace_bytes=5000)
        )
        assert self.everything(recorder) == before
        recorder.message(associations[0], WireRole.EVENT, b"<after/>", None)
        assert recorder.trace(1).messages[-1].data == b"<after/>"  # type: ignore[union-attr]
        assert self.everything(recorder)[:-1] == before

    def test_new_per_association_bounds_apply_at_once(self) -> None:
        recorder, _associations = self.fill()
        before = {t.id: t.messages for t in recorder.traces()}
        evicted = recorder.evicted
        recorder.apply_limits(Limits(trace_total_bytes=4000, trace_messages=2, trace_bytes=5000))
        for trace in recorder.traces():
            assert trace.messages == before[trace.id][-2:]
        assert recorder.evicted == evicted  # the per-association bound dropped them


class TestListeners:
    def test_a_listener_gets_the_record_a_reader_reads(self) -> None:
        recorder = WireRecorder(Clock(), Limits(trace_bytes=10))
        heard: list[tuple[int, WireRecord]] = []
        stop = recorder.listen(lambda trace, record: heard.append((trace.id, record)))
        recorder.message(Association(5), WireRole.ANSWER, b"<x>0123456789</x>", 12)
        ((association, record),) = heard
        assert association == 5 and record == recorder.trace(5).messages[0]  # type: ignore[union-attr]
        assert (record.data, record.size, record.correlation) == (b"<x>0123456", 17, "12")
        stop()
        recorder.message(Association(5), WireRole.EVENT, b"<y/>", None)
        assert len(heard) == 1

    def test_without_listeners_no_record_is_made(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refused(*args: object) -> None:
            raise AssertionError("a WireRecord was made")

        recorder = WireRecorder(Clock())
        monkeypatch.setattr(trace_module, "WireRecord", refused)
        recorder.message(Association(1), WireRole.EVENT, b"<e/>", None)
        assert recorder.kept == 1
