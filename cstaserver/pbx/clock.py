"""Simulated time that can be skipped forward: the switch's, the simulator's and the core's clock.

:class:`SkippableClock` is an ``IReactorTime`` over a real one (the reactor): its time is the
reactor's plus the seconds skipped so far, and its delayed calls are kept in its own ordered
set with one reactor timer at or before the earliest, so they run at their time as they would
on the reactor itself (a call made for later than that timer, or cancelled while others wait,
leaves the reactor alone; a turn that finds nothing due sets the timer for the earliest
again). :meth:`SkippableClock.advance` skips time forward and runs every delayed
call that falls due on the way, one by one, in time order, each seeing the clock at its own
due time (a ring time-out 30 s ahead that arms a 10 s wrap-up runs both when 60 s are
skipped), as a test double's users expect of "let a minute pass".

Bounds that keep it safe: time only moves forward; one advance skips at most
:data:`MAX_ADVANCE` seconds and runs at most ``max_calls`` delayed calls (the rest, still
due, run from the reactor at its next turn, so a call that keeps re-arming itself cannot hold
the reactor); an advance cannot start inside another one or inside a delayed call the clock
is running. A delayed call that raises is logged and the others still run, as on the reactor.

Only what is given this clock is skipped. The composition layer gives it to the switch (ring,
alerting, wrap-up, queue, route and cascade time-outs, the simulated outside network and the
traffic generator) and the CSTA core (ECMA-354 session durations and clean-up delays, route
request time-outs, its login throttle); the transports' own timers (SIP retransmissions, HTTP
idle and long-poll time-outs, the XML port's partial-message guard) stay on the reactor.

It lives in ``pbx`` because time is the simulated exchange's: anything that may use the
switching model may skip its time (the JSON API does; an admin ``sim`` control could).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from twisted.internet.base import DelayedCall
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from zope.interface import Attribute, implementer

log = Logger()

#: The most one :meth:`SkippableClock.advance` may skip: a simulated day.
MAX_ADVANCE = 86_400.0
#: The most delayed calls one advance runs before it leaves the rest to the reactor.
MAX_CALLS = 100_000


class AdvanceRefused(ValueError):
    """An advance the clock does not make (out of bounds, or inside another): nothing moved."""


class ISkippableClock(IReactorTime):
    """An ``IReactorTime`` whose time can be skipped forward."""

    skipped = Attribute("Seconds skipped so far (the clock's time minus the reactor's).")

    def advance(seconds: float) -> int:
        """Skip ``seconds`` (0 to MAX_ADVANCE) forward, running every delayed call due on the
        way in time order; returns how many ran. AdvanceRefused (and nothing moves) when
        ``seconds`` is out of bounds or an advance is already running."""

    def pending() -> int:
        """How many delayed calls wait."""

    def next_due() -> float | None:
        """Seconds until the earliest delayed call is due (0 if overdue), or None."""


@implementer(ISkippableClock)
class SkippableClock:
    """See the module docstring. ``reactor``: the real ``IReactorTime`` underneath."""

    def __init__(self, reactor: IReactorTime, *, max_calls: int = MAX_CALLS) -> None:
        self.reactor = reactor
        self.max_calls = max_calls
        self.skipped = 0.0
        # A heap of (time, order, call): calls due at the same time run in the order they
        # were made. An entry whose call was cancelled, run or moved is dropped when met.
        self._pending: list[tuple[float, int, DelayedCall]] = []
        self._order = itertools.count()
        self._new: list[DelayedCall] = []  # made while a reactor turn runs the due calls
        self._stale = 0
        self._live = 0  # delayed calls made and neither run nor cancelled
        self._timer: IDelayedCall | None = None  # the reactor timer for the earliest call
        self._timer_at = 0.0  # the reactor time it fires at
        self._running_turn = False
        self._busy = False

    # -- IReactorTime ------------------------------------------------------------------------
    def seconds(self) -> float:
        return self.reactor.seconds() + self.skipped

    def callLater(  # noqa: N802 (IReactorTime)
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> IDelayedCall:
        if not delay >= 0 or math.isinf(delay):
            raise ValueError(f"delay must be a finite number of seconds, not {delay!r}")
        call = DelayedCall(
            self.seconds() + delay,
            callable,
            args,
            kw,
            self._cancelled,
            self._moved_sooner,
            seconds=self.seconds,
        )
        self._live += 1
        if self._running_turn:
            self._new.append(call)  # like the reactor: not in the turn that made it
            return call
        self._push(call)
        timer = self._timer
        # the reactor timer fires at or before this call's time already: leave it be
        if timer is None or call.time - self.skipped < self._timer_at or not timer.active():
            self._schedule()
        return call

    def getDelayedCalls(self) -> list[IDelayedCall]:  # noqa: N802 (IReactorTime)
        found = {id(c): c for _, _, c in self._pending if c.active()}
        found.update((id(c), c) for c in self._new if c.active())
        return list(found.values())

    # -- skipping ----------------------------------------------------------------------------
    def pending(self) -> int:
        return len(self.getDelayedCalls())

    def next_due(self) -> float | None:
        first = self._earliest()
        return None if first is None else max(0.0, first.time - self.seconds())

    def advance(self, seconds: float) -> int:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise AdvanceRefused(f"seconds must be a number, not {seconds!r}")
        if not 0 <= seconds <= MAX_ADVANCE:
            raise AdvanceRefused(f"seconds must be 0 to {MAX_ADVANCE:g}, not {seconds!r}")
        if self._busy or self._running_turn:
            raise AdvanceRefused("time is already being advanced")
        self._busy = True
        target = self.skipped + float(seconds)
        ran = 0
        try:
            while ran < self.max_calls:
                first = self._earliest()
                now = self.reactor.seconds()
                if first is None or first.time > now + target:
                    break
                heapq.heappop(self._pending)
                self.skipped = max(self.skipped, first.time - now)  # time reaches the call
                self._run(first)
                ran += 1
            self.skipped = target
        finally:
            self._busy = False
            self._schedule()
        if ran >= self.max_calls:
            log.warn(
                "time advance stopped after {ran} delayed calls; the rest run from the reactor",
                ran=ran,
            )
        log.info(
            "simulated time advanced {seconds} s ({ran} delayed calls ran)",
            seconds=seconds,
            ran=ran,
        )
        return ran

    # -- the heap ----------------------------------------------------------------------------
    def _push(self, call: DelayedCall) -> None:
        heapq.heappush(self._pending, (call.time, next(self._order), call))

    def _cancelled(self, call: DelayedCall) -> None:
        call.cancelled = 1  # DelayedCall.cancel sets it right after; _earliest needs it now
        self._live -= 1
        self._dropped()
        # The reactor timer stays where it is while a call waits: at worst it fires before
        # anything is due, and that turn sets it again for the earliest (a call's time-out
        # cancelled when the call ends - each MakeCall's alerting timer - moves no timer)
        if not self._live and not self._running_turn and not self._busy:
            self._schedule()

    def _moved_sooner(self, call: DelayedCall) -> None:
        if call not in self._new:
            self._push(call)  # the old entry is stale now: its time is no longer the call's
            self._dropped()
        if not self._running_turn and not self._busy:
            self._schedule()

    def _dropped(self) -> None:
        """One more stale entry; past half the heap, they are swept out at once."""
        self._stale += 1
        if self._stale > 50 and self._stale > len(self._pending) >> 1:
            live = {}
            for entry in self._pending:
                call = entry[2]
                if call.active() and entry[0] == call.time:
                    live.setdefault(id(call), entry)
            self._pending = list(live.values())
            heapq.heapify(self._pending)
            self._stale = 0

    def _earliest(self) -> DelayedCall | None:
        """The earliest active call (stale entries dropped, delayed calls moved later)."""
        pending = self._pending
        while pending:
            time, _order, first = pending[0]
            if not first.active() or time != first.time:
                heapq.heappop(pending)
                self._stale = max(0, self._stale - 1)
            elif first.delayed_time:
                heapq.heappop(pending)
                first.activate_delay()
                self._push(first)
            else:
                return first
        return None

    def _run(self, call: DelayedCall) -> None:
        call.called = 1
        self._live -= 1
        try:
            call.func(*call.args, **call.kw)
        except Exception:
            log.failure("delayed call {call!r} failed", call=call)

    # -- the reactor timer -------------------------------------------------------------------
    def _schedule(self) -> None:
        """One reactor timer, at the reactor time the earliest call falls due."""
        first = self._earliest()
        timer = self._timer
        if first is None:
            if timer is not None and timer.active():
                timer.cancel()
            self._timer = None
            return
        at = first.time - self.skipped
        if timer is not None and timer.active():
            if at == self._timer_at:
                return
            timer.reset(max(0.0, at - self.reactor.seconds()))
        else:
            self._timer = self.reactor.callLater(max(0.0, at - self.reactor.seconds()), self._turn)
        self._timer_at = at

    def _turn(self) -> None:
        """The reactor timer fired: run the calls due now (not those they make)."""
        self._timer = None
        self._running_turn = True
        try:
            now = self.seconds()
            while True:
                first = self._earliest()
                if first is None or first.time > now:
                    break
                heapq.heappop(self._pending)
                self._run(first)
        finally:
            self._running_turn = False
            for call in self._new:
                if call.active():
                    self._push(call)
            self._new = []
            self._schedule()
