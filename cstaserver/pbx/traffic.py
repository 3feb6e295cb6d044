"""The traffic generator of ``sim traffic RATE SECONDS [--to NUMBER]``.

Outside callers (``caller_prefix`` + two digits) call in at ``rate`` calls per second
(exponential inter-arrival times) for ``seconds``; each call goes to ``to`` or to a random
extension with a terminal. The called terminal answers after a ring of 1-4 s and the outside
caller hangs up after a conversation of 5-30 s. Everything runs on the switch's injected
clock and one ``random.Random(seed)``, so a run with a seed is repeatable. The
:class:`TrafficRun` counters are updated as the calls progress.
"""

from __future__ import annotations

import random

import attrs

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import CallCleared, Delivered, Established, Failed
from cstaserver.pbx.states import ConnectionState
from cstaserver.pbx.switch import Switch

RING_SECONDS = (1.0, 4.0)
TALK_SECONDS = (5.0, 30.0)


@attrs.define
class TrafficRun:
    """Counters of one traffic run (live while it runs)."""

    rate: float
    seconds: float
    to: str | None
    seed: int | None
    offered: int = 0  # calls placed
    rejected: int = 0  # refused by the exchange (no trunk, ...)
    failed: int = 0  # Failed (busy, do not disturb, queue full)
    answered: int = 0
    cleared: int = 0  # calls that ended (answered or not)
    finished: bool = False  # no more calls will be placed

    @property
    def in_progress(self) -> int:
        return self.offered - self.cleared


class TrafficGenerator:
    """One run of outside calls against a switch (see module docstring)."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.clock = switch.clock
        self._targets = [d.number for d in switch.devices() if d.is_extension and d.terminal]

    def start(
        self, rate: float, seconds: float, to: str | None = None, seed: int | None = None
    ) -> TrafficRun:
        if not rate > 0 or not seconds > 0:
            raise SwitchError(Refusal.OUT_OF_RANGE, "rate and seconds must be positive")
        if to is not None:
            self.switch.destination(to, Refusal.BAD_CALLED_NUMBER)
        self.run = TrafficRun(rate, seconds, to, seed)
        self.rng = random.Random(seed)
        self._end = self.clock.seconds() + seconds
        self._schedule_next()
        return self.run

    def stop(self) -> None:
        """No more calls are placed (the calls in progress go on)."""
        self._end = float("-inf")
        self.run.finished = True

    def _schedule_next(self) -> None:
        delay = self.rng.expovariate(self.run.rate)
        if self.clock.seconds() + delay > self._end:
            self.run.finished = True
            return
        self.clock.callLater(delay, self._arrival)

    def _arrival(self) -> None:
        if self._end == float("-inf"):  # stopped meanwhile
            return
        caller = self.switch.plan.network.caller_prefix + f"{self.rng.randrange(100):02d}"
        target = self.run.to or self.rng.choice(self._targets)
        self.run.offered += 1
        try:
            call = self.switch.network.call_in(
                caller, self.switch.destination(target, Refusal.BAD_CALLED_NUMBER)
            )
        except SwitchError:
            self.run.rejected += 1
            self.run.cleared += 1
        else:
            self._follow(call.call_id, caller)
        self._schedule_next()

    def _follow(self, call_id: str, caller: str) -> None:
        call = self.switch.calls.get(call_id)
        if call is None:  # failed and cleared while it was placed
            self.run.failed += 1
            self.run.cleared += 1
            return
        state = {"unsubscribe": None}

        def on_event(event: object) -> None:
            if isinstance(event, Delivered):
                self._ring(call_id, event.alerting_device)
            elif isinstance(event, Established) and event.answering_device != caller:
                self.run.answered += 1
                talk = self.rng.uniform(*TALK_SECONDS)
                self.clock.callLater(talk, self._hang_up, call_id, caller)
            elif isinstance(event, Failed):
                self.run.failed += 1
            elif isinstance(event, CallCleared):
                self.run.cleared += 1
                state["unsubscribe"]()

        state["unsubscribe"] = self.switch.subscribe_call(call_id, on_event)
        for conn in call:
            if conn.state is ConnectionState.ALERTING:
                self._ring(call_id, conn.device)

    def _ring(self, call_id: str, device: str) -> None:
        info = self.switch.info(device)
        if info is not None and info.terminal:
            ring = self.rng.uniform(*RING_SECONDS)
            self.clock.callLater(ring, self._answer, call_id, device)

    def _answer(self, call_id: str, device: str) -> None:
        call = self.switch.calls.get(call_id)
        conn = call.connection(device) if call is not None else None
        if conn is not None and conn.state is ConnectionState.ALERTING:
            # the person at (one of) the ringing phone(s) lifts the handset
            phones = self.switch.core.appearances.ringing_phones(self.switch.info(device))
            if phones:
                self.switch.answer_at(call, device, phones[0])

    def _hang_up(self, call_id: str, caller: str) -> None:
        call = self.switch.calls.get(call_id)
        if call is not None and call.connection(caller) is not None:
            self.switch.clear_connection(call_id, caller)
