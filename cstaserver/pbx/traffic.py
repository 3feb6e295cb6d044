"""The traffic generator of ``sim traffic RATE SECONDS [--to NUMBER] [profile options]``.

Outside callers (``caller_prefix`` + two digits) call in at ``rate`` calls per second
(exponential inter-arrival times) for ``seconds``; each call goes to ``to`` or to a random
extension with a terminal that the profile does not exclude. A :class:`TrafficProfile` says
what the people do with each call, drawn per call by its shares:

- *answer*: the called person answers after a ring time and the caller hangs up after a
  talk time (both uniform in the profile's ranges);
- *busy*: the called person is busy with something else and refuses the call at once (the
  reject key: the caller hears busy tone, Failed busy);
- *no answer*: nobody answers; the call rings until the exchange's alerting time-out (or a
  forwarding on no answer takes it);
- *abandon*: the caller gives up while it rings, after a time in the ring range.

A share of the callers withhold their number (CLIR) and a caller whose call is answered may
key DTMF digits (an IVR menu choice). A phone whose person has a behaviour profile
(``behaviour.py``) acts by that profile, not by the traffic's.

The run counts what really happened, from the switch's events, not what was drawn: a call
to a device made busy fails busy even when the profile said "answer", and the run says so
(:attr:`TrafficRun.reasons`: why calls failed or were refused, with counts). Everything runs
on the switch's injected clock and one ``random.Random(seed)``, so a run with a seed is
repeatable.
"""

from __future__ import annotations

import math
import random
from typing import Any

import attrs

from cstaserver.pbx.bus import Interest
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import CallCleared, Delivered, Established, Failed
from cstaserver.pbx.states import ConnectionState, EventCause
from cstaserver.pbx.switch import Switch

RING_SECONDS = (1.0, 4.0)
TALK_SECONDS = (5.0, 30.0)
OUTCOMES = ("answer", "busy", "no_answer", "abandon")


def _share(instance: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SwitchError(Refusal.BAD_ARGUMENT, f"{attribute.name} must be a number")
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise SwitchError(Refusal.OUT_OF_RANGE, f"{attribute.name} must be 0..1")


def _range(instance: Any, attribute: Any, value: tuple[float, float]) -> None:
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high <= 86_400):
        raise SwitchError(
            Refusal.OUT_OF_RANGE,
            f"{attribute.name} must be MIN-MAX seconds with 0 <= MIN <= MAX <= 86400",
        )


@attrs.frozen
class TrafficProfile:
    """What the people of a traffic run do (module docstring). The four outcome shares are
    weights (they need not add up to 1, but at least one must be over 0); ``withheld`` is
    the share of callers withholding their number; ``dtmf`` the digits an answered caller
    keys (None: none); ``exclude`` the numbers random calls never go to."""

    answer: float = attrs.field(default=1.0, validator=_share)
    busy: float = attrs.field(default=0.0, validator=_share)
    no_answer: float = attrs.field(default=0.0, validator=_share)
    abandon: float = attrs.field(default=0.0, validator=_share)
    ring: tuple[float, float] = attrs.field(default=RING_SECONDS, converter=tuple, validator=_range)
    talk: tuple[float, float] = attrs.field(default=TALK_SECONDS, converter=tuple, validator=_range)
    withheld: float = attrs.field(default=0.0, validator=_share)
    dtmf: str | None = None
    exclude: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        if not sum(self.weights()) > 0:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                "at least one of answer, busy, no_answer, abandon must be over 0",
            )
        if self.dtmf is not None and (
            not self.dtmf or not set(self.dtmf) <= set("0123456789*#ABCDabcd")
        ):
            raise SwitchError(Refusal.BAD_ARGUMENT, f"bad digits {self.dtmf!r}")

    def weights(self) -> tuple[float, float, float, float]:
        return (self.answer, self.busy, self.no_answer, self.abandon)

    def draw(self, rng: random.Random) -> str:
        """One call's outcome, by the shares."""
        return rng.choices(OUTCOMES, weights=self.weights())[0]

    def describe(self) -> str:
        total = sum(self.weights())
        mix = ", ".join(
            f"{name.replace('_', ' ')} {100 * weight / total:.0f}%"
            for name, weight in zip(OUTCOMES, self.weights(), strict=True)
            if weight
        )
        text = f"{mix}; ring {self.ring[0]:g}-{self.ring[1]:g} s, talk {self.talk[0]:g}-{self.talk[1]:g} s"
        if self.withheld:
            text += f"; withheld {100 * self.withheld:.0f}%"
        if self.dtmf:
            text += f"; callers key {self.dtmf}"
        if self.exclude:
            text += f"; not to {', '.join(self.exclude)}"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "busy": self.busy,
            "no_answer": self.no_answer,
            "abandon": self.abandon,
            "ring": list(self.ring),
            "talk": list(self.talk),
            "withheld": self.withheld,
            "dtmf": self.dtmf,
            "exclude": list(self.exclude),
        }


DEFAULT_PROFILE = TrafficProfile()


@attrs.define
class TrafficRun:
    """Counters of one traffic run (live while it runs). Each call offered ends as exactly
    one of answered, failed, rejected, abandoned, unanswered or (ended some other way, such
    as ``sim reset``) ``other``; ``reasons`` counts why calls failed or were refused."""

    rate: float
    seconds: float
    to: str | None
    seed: int | None
    profile: TrafficProfile = DEFAULT_PROFILE
    offered: int = 0  # calls placed
    rejected: int = 0  # refused by the exchange (no trunk, ...)
    failed: int = 0  # Failed (busy, do not disturb, queue full, rejected by the person)
    answered: int = 0
    abandoned: int = 0  # the caller gave up while it rang
    unanswered: int = 0  # rang until the exchange's alerting time-out
    cleared: int = 0  # calls that ended (answered or not)
    withheld: int = 0  # calls whose caller withheld its number
    finished: bool = False  # no more calls will be placed
    reasons: dict[str, int] = attrs.Factory(dict)

    @property
    def in_progress(self) -> int:
        return self.offered - self.cleared

    def count(self, reason: str) -> None:
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def summary(self) -> str:
        """One line of counters, with the reasons calls failed."""
        why = ", ".join(f"{reason} {n}" for reason, n in sorted(self.reasons.items()))
        hidden = f" ({self.withheld} withheld)" if self.withheld else ""
        text = (
            f"offered {self.offered}{hidden}, answered {self.answered}, failed {self.failed}, "
            f"rejected {self.rejected}, abandoned {self.abandoned}, unanswered "
            f"{self.unanswered}, cleared {self.cleared}, in progress {self.in_progress}"
        )
        if why:
            text += f" (why: {why})"
        return text + (", finished" if self.finished else "")


@attrs.define
class _Followed:
    """One call of the run: its drawn outcome and what happened to it so far."""

    call_id: str
    caller: str
    outcome: str
    answered: bool = False
    failed: bool = False
    abandoned: bool = False
    abandon_set: bool = False


class TrafficGenerator:
    """One run of outside calls against a switch (see module docstring)."""

    def __init__(self, switch: Switch, people: Any = None) -> None:
        self.switch = switch
        self.clock = switch.clock
        self.people = people
        self._all_targets = [d.number for d in switch.devices() if d.is_extension and d.terminal]

    def start(
        self,
        rate: float,
        seconds: float,
        to: str | None = None,
        seed: int | None = None,
        profile: TrafficProfile | None = None,
    ) -> TrafficRun:
        if not rate > 0 or not seconds > 0:
            raise SwitchError(Refusal.OUT_OF_RANGE, "rate and seconds must be positive")
        profile = profile or DEFAULT_PROFILE
        if to is not None:
            self.switch.destination(to, Refusal.BAD_CALLED_NUMBER)
        excluded = set()
        for number in profile.exclude:
            internal = self.switch.numbering.internal(number)
            if internal is None:
                raise SwitchError(
                    Refusal.BAD_ARGUMENT, f"cannot exclude {number!r}: no such device"
                )
            excluded.add(internal)
        self._targets = [n for n in self._all_targets if n not in excluded]
        if to is None and not self._targets:
            raise SwitchError(Refusal.BAD_ARGUMENT, "every terminal is excluded")
        self.run = TrafficRun(rate, seconds, to, seed, profile)
        self.rng = random.Random(seed)
        self._next = self.clock.seconds()
        self._end = self._next + seconds
        self._schedule_next()
        return self.run

    def stop(self) -> None:
        """No more calls are placed (the calls in progress go on)."""
        self._end = float("-inf")
        self.run.finished = True

    def _schedule_next(self) -> None:
        """The next arrival, on the run's own time line (its due time plus an exponential
        gap), so a clock advanced in coarse steps still gives the rate."""
        self._next += self.rng.expovariate(self.run.rate)
        if self._next > self._end:
            self.run.finished = True
            return
        self.clock.callLater(max(0.0, self._next - self.clock.seconds()), self._arrival)

    def _arrival(self) -> None:
        if self._end == float("-inf"):  # stopped meanwhile
            return
        profile = self.run.profile
        caller = self.switch.plan.network.caller_prefix + f"{self.rng.randrange(100):02d}"
        target = self.run.to or self.rng.choice(self._targets)
        outcome = profile.draw(self.rng)
        withheld = self.rng.random() < profile.withheld
        self.run.offered += 1
        failures: list[Failed] = []  # a call can fail while it is placed (a busy target)
        wanted = Interest()
        wanted.want_kind(Failed)
        unsubscribe = self.switch.subscribe(
            lambda event: failures.append(event) if isinstance(event, Failed) else None, wanted
        )
        try:
            call = self.switch.network.call_in(
                caller,
                self.switch.destination(target, Refusal.BAD_CALLED_NUMBER),
                withheld=withheld,
            )
        except SwitchError as refused:
            self.run.rejected += 1
            self.run.cleared += 1
            self.run.count(refused.message)
        else:
            self.run.withheld += withheld
            failed = [f for f in failures if f.call_id == call.call_id]
            self._follow(_Followed(call.call_id, caller, outcome), failed[:1])
        finally:
            unsubscribe()
        self._schedule_next()

    def _follow(self, followed: _Followed, failed: list[Failed]) -> None:
        if failed:  # failed while it was placed
            followed.failed = True
            self.run.failed += 1
            self.run.count(failed[0].cause.value)
        call = self.switch.calls.get(followed.call_id)
        if call is None:  # and cleared
            self.run.cleared += 1
            return
        state = {"unsubscribe": None}

        def on_event(event: object) -> None:
            if isinstance(event, Delivered):
                self._ring(followed, event.alerting_device)
            elif isinstance(event, Established) and event.answering_device != followed.caller:
                if not followed.answered:
                    followed.answered = True
                    self.run.answered += 1
                    self._talk(followed)
            elif isinstance(event, Failed):
                if not followed.failed and not followed.answered:
                    followed.failed = True
                    self.run.failed += 1
                    self.run.count(event.cause.value)
            elif isinstance(event, CallCleared):
                self._ended(followed, event.cause)
                state["unsubscribe"]()

        state["unsubscribe"] = self.switch.subscribe_call(followed.call_id, on_event)
        for conn in call:
            if conn.state is ConnectionState.ALERTING:
                self._ring(followed, conn.device)

    def _ended(self, followed: _Followed, cause: EventCause) -> None:
        run = self.run
        run.cleared += 1
        if followed.answered or followed.failed:
            return
        if followed.abandoned:
            run.abandoned += 1
        elif cause is EventCause.ALERT_TIME_OUT:
            run.unanswered += 1
            run.count(cause.value)
        else:
            run.count(f"ended: {cause.value}")

    def _ring(self, followed: _Followed, device: str) -> None:
        """The call rings at ``device``: the people act as drawn for the call."""
        info = self.switch.info(device)
        if info is None:
            return
        phones = self.switch.core.appearances.ringing_phones(info)
        if self.people is not None and any(self.people.acts_by_itself(p) for p in phones):
            return  # the person's own behaviour profile decides
        call = self.switch.calls.get(followed.call_id)
        if call is None:
            return
        outcome = followed.outcome
        # the timers belong to a connection: they go with it (core.set_timer)
        later = self.switch.core.set_timer
        if outcome == "answer" and phones:
            ring = self.rng.uniform(*self.run.profile.ring)
            later(call, call.connections[device], "traffic", ring, self._answer)
        elif outcome == "busy" and phones:
            later(call, call.connections[device], "traffic", 0, self._reject)
        elif outcome == "abandon" and not followed.abandon_set:
            caller = call.connection(followed.caller)
            if caller is not None:
                followed.abandon_set = True
                ring = self.rng.uniform(*self.run.profile.ring)
                later(call, caller, "abandon", ring, self._abandon, followed)

    def _answer(self, call: Any, conn: Any) -> None:
        if conn.state is ConnectionState.ALERTING:
            # the person at (one of) the ringing phone(s) lifts the handset
            phones = self.switch.core.appearances.ringing_phones(self.switch.info(conn.device))
            if phones:
                self.switch.answer_at(call, conn.device, phones[0])

    def _reject(self, call: Any, conn: Any) -> None:
        if conn.state is ConnectionState.ALERTING:
            self.switch.reject_call(call.call_id, conn.device)

    def _abandon(self, call: Any, conn: Any, followed: _Followed) -> None:
        if not followed.answered:
            followed.abandoned = True
            self.switch.clear_connection(call.call_id, conn.device)

    def _talk(self, followed: _Followed) -> None:
        call = self.switch.calls.get(followed.call_id)
        conn = call.connection(followed.caller) if call is not None else None
        if conn is None:
            return
        profile = self.run.profile
        later = self.switch.core.set_timer
        if profile.dtmf:
            later(call, conn, "dtmf", 0, self._key, profile.dtmf)
        talk = self.rng.uniform(*profile.talk)
        later(call, conn, "talk", talk, self._hang_up)

    def _key(self, call: Any, conn: Any, digits: str) -> None:
        if conn.state is ConnectionState.CONNECTED:
            self.switch.generate_digits(call.call_id, conn.device, digits)

    def _hang_up(self, call: Any, conn: Any) -> None:
        self.switch.clear_connection(call.call_id, conn.device)
