"""SkippableClock: an IReactorTime over another one whose time can be skipped forward, with
every delayed call run in time order, bounded; on twisted.internet.task.Clock underneath."""

from __future__ import annotations

import pytest
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock, LoopingCall, deferLater
from twisted.logger import capturedLogs
from zope.interface.verify import verifyObject

from cstaserver.pbx.clock import MAX_ADVANCE, AdvanceRefused, ISkippableClock, SkippableClock


def make(max_calls: int = 100_000) -> tuple[Clock, SkippableClock]:
    base = Clock()
    base.advance(1000.0)
    return base, SkippableClock(base, max_calls=max_calls)


def test_it_is_a_reactor_time() -> None:
    _base, clock = make()
    assert verifyObject(ISkippableClock, clock)
    assert verifyObject(IReactorTime, clock)


def test_its_time_is_the_reactors_plus_what_was_skipped() -> None:
    base, clock = make()
    assert clock.seconds() == 1000.0
    clock.advance(30)
    base.advance(5)
    assert (clock.seconds(), clock.skipped) == (1035.0, 30.0)


def test_delayed_calls_run_when_the_reactor_reaches_them_on_one_timer() -> None:
    base, clock = make()
    ran: list[str] = []
    clock.callLater(5, ran.append, "five")
    clock.callLater(2, ran.append, "two")
    clock.callLater(9, ran.append, "nine")
    assert len(base.getDelayedCalls()) == 1  # one reactor timer, for the earliest
    assert base.getDelayedCalls()[0].getTime() == 1002.0
    base.advance(2)
    assert ran == ["two"]
    assert base.getDelayedCalls()[0].getTime() == 1005.0
    base.advance(7)
    assert ran == ["two", "five", "nine"]
    assert base.getDelayedCalls() == [] and clock.getDelayedCalls() == []


def test_advance_runs_what_falls_due_in_order_each_at_its_own_time() -> None:
    _base, clock = make()
    seen: list[tuple[str, float]] = []

    def ring_timeout() -> None:
        seen.append(("ring", clock.seconds()))
        clock.callLater(10, lambda: seen.append(("wrap-up", clock.seconds())))

    clock.callLater(30, ring_timeout)
    clock.callLater(45, lambda: seen.append(("queue", clock.seconds())))
    clock.callLater(90, lambda: seen.append(("late", clock.seconds())))
    assert clock.advance(60) == 3
    assert seen == [("ring", 1030.0), ("wrap-up", 1040.0), ("queue", 1045.0)]
    assert clock.seconds() == 1060.0
    assert clock.pending() == 1 and clock.next_due() == 30.0


def test_the_reactor_timer_follows_a_skip() -> None:
    base, clock = make()
    ran: list[int] = []
    clock.callLater(100, ran.append, 1)
    clock.advance(60)
    assert base.getDelayedCalls()[0].getTime() == 1040.0  # 40 s of real time left
    base.advance(40)
    assert ran == [1]


def test_calls_due_at_the_same_time_run_in_the_order_they_were_made() -> None:
    base, clock = make()
    ran: list[int] = []
    for n in range(20):
        clock.callLater(3, ran.append, n)
    base.advance(3)
    assert ran == list(range(20))


def test_cancel_reset_and_delay() -> None:
    base, clock = make()
    ran: list[str] = []
    gone = clock.callLater(1, ran.append, "cancelled")
    sooner = clock.callLater(50, ran.append, "sooner")
    later = clock.callLater(2, ran.append, "later")
    gone.cancel()
    sooner.reset(3)
    later.delay(10)
    assert not gone.active()
    assert sorted(c.getTime() for c in clock.getDelayedCalls()) == [1003.0, 1012.0]
    base.advance(2)  # a delay moves a call later lazily, as on the reactor: nothing runs
    assert ran == []
    base.advance(1)
    assert ran == ["sooner"]
    clock.advance(9)
    assert ran == ["sooner", "later"]
    assert clock.getDelayedCalls() == []


def test_cancelling_the_earliest_leaves_no_reactor_timer_behind() -> None:
    base, clock = make()
    clock.callLater(5, lambda: None).cancel()
    assert base.getDelayedCalls() == []


def test_a_call_made_after_the_earliest_was_cancelled_runs_at_its_own_time() -> None:
    base, clock = make()
    ran: list[str] = []
    clock.callLater(1, ran.append, "cancelled").cancel()
    clock.callLater(10, ran.append, "ten")
    first = clock.callLater(2, ran.append, "first")
    clock.callLater(5, ran.append, "five")
    first.cancel()
    clock.callLater(3, ran.append, "three")  # sooner than every call left: the timer moves
    base.advance(3)
    assert ran == ["three"]
    base.advance(2)
    assert ran == ["three", "five"]
    base.advance(5)
    assert ran == ["three", "five", "ten"]
    assert base.getDelayedCalls() == []


def test_the_reactor_timer_is_left_alone_while_calls_come_and_go() -> None:
    base, clock = make()
    ran: list[int] = []
    clock.callLater(30, ran.append, 0)
    (timer,) = base.getDelayedCalls()
    for n in range(1, 50):  # each call made after the first and cancelled again
        clock.callLater(30 + n, ran.append, n).cancel()
    clock.callLater(31, ran.append, 1)
    assert base.getDelayedCalls() == [timer]
    assert timer.getTime() == 1030.0
    base.advance(30)
    assert ran == [0]
    base.advance(1)
    assert ran == [0, 1]
    assert base.getDelayedCalls() == []


def test_a_wake_up_with_nothing_due_sets_the_timer_for_the_earliest() -> None:
    base, clock = make()
    ran: list[str] = []
    early = clock.callLater(5, ran.append, "early")
    clock.callLater(20, ran.append, "late")
    early.cancel()  # the timer stays at 1005: it wakes, runs nothing, waits for 1020
    base.advance(5)
    assert ran == []
    assert [c.getTime() for c in base.getDelayedCalls()] == [1020.0]
    base.advance(15)
    assert ran == ["late"]


def test_many_cancellations_are_swept() -> None:
    base, clock = make()
    calls = [clock.callLater(10 + n, lambda: None) for n in range(400)]
    for call in calls[:-1]:
        call.cancel()
    assert len(clock._pending) < 250
    assert clock.pending() == 1
    base.advance(500)
    assert clock.pending() == 0


class StepClock(Clock):
    """A task.Clock whose timers can be fired one at a time (one reactor turn each)."""

    def step(self) -> None:
        call = self.calls.pop(0)
        self.rightNow = max(self.rightNow, call.getTime())
        call.called = 1
        call.func(*call.args, **call.kw)


def test_a_call_made_by_a_reactor_turn_waits_for_the_next_turn() -> None:
    base = StepClock()
    clock = SkippableClock(base)
    ran: list[int] = []

    def again() -> None:
        ran.append(len(ran))
        clock.callLater(0, again)

    clock.callLater(1, again)
    base.step()
    assert ran == [0]  # not an endless loop inside one turn
    assert len(base.calls) == 1 and base.calls[0].getTime() == 1.0
    base.step()
    assert ran == [0, 1]
    clock.getDelayedCalls()[0].cancel()
    assert base.calls == []


def test_advance_is_bounded() -> None:
    _base, clock = make(max_calls=50)

    def again() -> None:
        clock.callLater(0, again)

    clock.callLater(1, again)
    with capturedLogs() as events:
        assert clock.advance(5) == 50
    assert any("stopped after" in e.get("log_format", "") for e in events)
    assert clock.skipped == 5.0  # time was skipped; the rest runs from the reactor


@pytest.mark.parametrize("seconds", [-1, MAX_ADVANCE + 1, float("nan"), float("inf"), True, "5"])
def test_advance_refuses_what_is_out_of_bounds_and_changes_nothing(seconds: object) -> None:
    _base, clock = make()
    clock.callLater(1, lambda: None)
    with pytest.raises(AdvanceRefused):
        clock.advance(seconds)  # type: ignore[arg-type]
    assert (clock.skipped, clock.pending()) == (0.0, 1)


def test_an_advance_inside_a_delayed_call_is_refused() -> None:
    _base, clock = make()
    refused: list[str] = []

    def nested() -> None:
        try:
            clock.advance(1)
        except AdvanceRefused as error:
            refused.append(str(error))

    clock.callLater(1, nested)
    clock.advance(2)
    assert refused == ["time is already being advanced"]


def test_a_failing_call_is_logged_and_the_others_still_run() -> None:
    _base, clock = make()
    ran: list[int] = []
    clock.callLater(1, lambda: 1 / 0)
    clock.callLater(2, ran.append, 2)
    with capturedLogs() as events:
        clock.advance(3)
    assert ran == [2]
    assert any(e.get("log_failure") is not None for e in events)


def test_twisted_helpers_run_on_it() -> None:
    _base, clock = make()
    ticks: list[float] = []
    loop = LoopingCall(lambda: ticks.append(clock.seconds()))
    loop.clock = clock
    loop.start(10, now=False)
    fired: list[float] = []
    deferLater(clock, 25, lambda: fired.append(clock.seconds()))
    clock.advance(35)
    loop.stop()
    assert ticks == [1010.0, 1020.0, 1030.0]
    assert fired == [1025.0]
