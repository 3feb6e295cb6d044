"""Behaviour profiles: how the simulated person at a phone reacts to a call ringing there.

By default nobody is at a phone: it rings until a CSTA request or a ``sim`` command answers
it, or until the exchange's alerting time-out (``manual``). A test lab usually wants people
who act by themselves, as on a real site:

- ``answer``: answers after ``after`` seconds of ringing; then, if set, keys ``dtmf`` digits
  (DigitsGenerated, keyOperation) and hangs up after ``talk`` seconds;
- ``noanswer``: never answers (the call rings until the alerting time-out or a forwarding on
  no answer; a traffic run does not answer it either);

- ``busy``: the person is always on the phone: the device is busy for callers (Failed busy,
  or a forwarding on busy), as ``sim busy DEVICE on``;
- ``reject``: refuses the call after ``after`` seconds (the reject key: the caller hears busy
  tone, Failed busy; see ``Switch.reject_call``);
- ``dnd``: do not disturb is set from the phone (DoNotDisturb event; callers get Failed,
  cause doNotDisturb).

``answer``, ``reject`` and ``noanswer`` apply as well when a MakeCall prompts the phone (a
manual terminal ringing for the person's own call, ECMA TR/82 4.1), instead of the
exchange's ``prompt_answer_seconds``.

The people subscribe to the switch with an interest (``bus.Interest``) in Delivered while a
profile exists: with nobody at a phone the switch builds no event for them.

Profiles are the simulator's state, not exchange data: MX-ONE's exchange data describes the
exchange, not the people using it, so a profile is not saved in the data directory, is not
part of ``exchange dump``, and ``sim reset`` / ``POST /reset`` removes every profile
between tests. Everything runs on the switch's injected clock.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import Any

import attrs
from twisted.logger import Logger

from cstaserver.pbx.bus import Interest
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import Delivered
from cstaserver.pbx.states import ConnectionState, EventCause

log = Logger()

#: The longest delay a profile may have, in seconds (a day).
MAX_SECONDS = 86_400.0


class Reaction(enum.Enum):
    """What the person at a phone does when a call rings (module docstring)."""

    MANUAL = "manual"
    ANSWER = "answer"
    NO_ANSWER = "noanswer"
    BUSY = "busy"
    REJECT = "reject"
    DND = "dnd"


def _seconds(name: str) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SwitchError(Refusal.BAD_ARGUMENT, f"{name} must be a number of seconds")
        if not 0 <= value <= MAX_SECONDS:
            raise SwitchError(Refusal.OUT_OF_RANGE, f"{name} must be 0..{MAX_SECONDS:g} seconds")

    return check


def _reaction(value: Any) -> Reaction:
    try:
        return Reaction(value)
    except ValueError:
        names = ", ".join(r.value for r in Reaction)
        raise SwitchError(
            Refusal.BAD_ARGUMENT, f"behaviour must be one of {names}, not {value!r}"
        ) from None


@attrs.frozen
class Behaviour:
    """One phone's profile: ``reaction`` and, for answer and reject, ``after`` seconds of
    ringing; for answer, the ``talk`` seconds before hanging up and ``dtmf`` digits keyed
    once answered."""

    reaction: Reaction = attrs.field(converter=_reaction)
    after: float = attrs.field(default=0.0, validator=_seconds("after"))
    talk: float | None = attrs.field(default=None, validator=_seconds("talk"))
    dtmf: str | None = None

    def __attrs_post_init__(self) -> None:
        timed = (Reaction.ANSWER, Reaction.REJECT)
        if self.after and self.reaction not in timed:
            raise SwitchError(Refusal.BAD_ARGUMENT, "only answer and reject take a delay")
        if (self.talk is not None or self.dtmf) and self.reaction is not Reaction.ANSWER:
            raise SwitchError(Refusal.BAD_ARGUMENT, "only answer takes talk and dtmf")
        if self.dtmf is not None and not set(self.dtmf) <= set("0123456789*#ABCDabcd"):
            raise SwitchError(Refusal.BAD_ARGUMENT, f"bad digits {self.dtmf!r}")

    def describe(self) -> str:
        """One line: ``answer after 3 s, dtmf 12#, talk 20 s``."""
        parts = [self.reaction.value]
        if self.reaction in (Reaction.ANSWER, Reaction.REJECT):
            parts[0] += f" after {self.after:g} s"
        if self.dtmf:
            parts.append(f"dtmf {self.dtmf}")
        if self.talk is not None:
            parts.append(f"talk {self.talk:g} s")
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "behaviour": self.reaction.value,
            "after": self.after,
            "talk": self.talk,
            "dtmf": self.dtmf,
        }


MANUAL = Behaviour(Reaction.MANUAL)


class People:
    """The people at the phones of one switch and their profiles (module docstring)."""

    def __init__(self, switch: Any) -> None:
        self.switch = switch
        self.clock = switch.clock
        self._profiles: dict[str, Behaviour] = {}
        self._wanted = Interest()  # Delivered while a profile exists
        switch.subscribe(self._on_event, self._wanted)
        switch.core.person_prompted = self._prompted

    def get(self, device: str) -> Behaviour:
        return self._profiles.get(device, MANUAL)

    def profiles(self) -> dict[str, Behaviour]:
        """Number -> profile of every phone with one (not manual), in numbering-plan order."""
        return {
            info.number: self._profiles[info.number]
            for info in self.switch.devices()
            if info.number in self._profiles
        }

    def acts_by_itself(self, device: str) -> bool:
        """True if the person at ``device`` decides what happens to a call ringing there."""
        return device in self._profiles

    def set(self, device: str, behaviour: Behaviour) -> Behaviour:
        """Give the phone of ``device`` (an extension with a terminal) a profile."""
        info = self.switch.require_terminal(device)
        old = self.get(info.number)
        if old.reaction is Reaction.BUSY and behaviour.reaction is not Reaction.BUSY:
            info.busy = False
        if old.reaction is Reaction.DND and behaviour.reaction is not Reaction.DND:
            self.switch.set_do_not_disturb(info.number, False)
        if behaviour.reaction is Reaction.MANUAL:
            self._profiles.pop(info.number, None)
        else:
            self._profiles[info.number] = behaviour
        self._profiles_changed()
        if behaviour.reaction is Reaction.BUSY:
            info.busy = True
        elif old.reaction is Reaction.BUSY:
            self.switch.groups.dispatch()
        if behaviour.reaction is Reaction.DND and not info.dnd:
            self.switch.set_do_not_disturb(info.number, True)
        return behaviour

    def reset(self) -> None:
        """Everybody manual again (``Simulator.reset`` puts busy and DND back itself)."""
        self._profiles.clear()
        self._profiles_changed()

    def _profiles_changed(self) -> None:
        if self._profiles:
            self._wanted.want_kind(Delivered)
        else:
            self._wanted.drop_kind(Delivered)

    # -- reacting ----------------------------------------------------------------------------
    def _on_event(self, event: object) -> None:
        if not self._profiles or not isinstance(event, Delivered):
            return
        info = self.switch.info(event.alerting_device)
        call = self.switch.calls.get(event.call_id)
        if info is None or call is None:
            return
        conn = call.connection(info.number)
        for phone in self.switch.core.appearances.ringing_phones(info):
            behaviour = self._profiles.get(phone)
            if behaviour is None:
                continue
            # the person's timer belongs to the ringing connection: it goes with it
            if behaviour.reaction is Reaction.ANSWER:
                self._later(call, conn, behaviour.after, self._answer, phone)
            elif behaviour.reaction is Reaction.REJECT:
                self._later(call, conn, behaviour.after, self._reject)
            return

    def _prompted(self, call: Any, conn: Any) -> bool:
        """A MakeCall prompts the phone (its terminal rings for the person's own call):
        ``answer`` lifts the handset after ``after`` seconds, ``reject`` refuses it after
        ``after`` seconds, ``noanswer`` lets it ring out; True if the profile decides."""
        phone = conn.terminal or conn.device
        behaviour = self._profiles.get(phone)
        if behaviour is None or behaviour.reaction in (Reaction.BUSY, Reaction.DND):
            return False
        if behaviour.reaction is Reaction.ANSWER:
            self._later(call, conn, behaviour.after, self._answer_prompt, phone)
        elif behaviour.reaction is Reaction.REJECT:
            self._later(call, conn, behaviour.after, self._reject_prompt)
        return True

    def _answer_prompt(self, call: Any, conn: Any, phone: str) -> None:
        if self.switch.core.is_prompted(call, conn):
            self.switch.answer_at(call, conn.device, phone)
            behaviour = self.get(phone)
            if behaviour.talk is not None and not call.ended:
                self._later(call, conn, behaviour.talk, self._hang_up)

    def _reject_prompt(self, call: Any, conn: Any) -> None:
        if self.switch.core.is_prompted(call, conn):
            self.switch.reject_call(call.call_id, conn.device)

    def _later(self, call: Any, conn: Any, delay: float, action: Any, *args: Any) -> None:
        self.switch.core.set_timer(call, conn, "person", delay, action, *args)

    def _answer(self, call: Any, conn: Any, phone: str) -> None:
        if conn.state is not ConnectionState.ALERTING:
            return
        behaviour = self.get(phone)
        self.switch.answer_at(call, conn.device, phone)
        if conn.state is not ConnectionState.CONNECTED or call.ended:
            return
        if behaviour.dtmf:
            try:
                self.switch.generate_digits(
                    call.call_id, conn.device, behaviour.dtmf, cause=EventCause.KEY_OPERATION
                )
            except SwitchError as refused:  # a line of several phones: no keypad of its own
                log.info("{device}: no DTMF ({reason})", device=conn.device, reason=refused.message)
        if behaviour.talk is not None:
            self._later(call, conn, behaviour.talk, self._hang_up)

    def _reject(self, call: Any, conn: Any) -> None:
        if conn.state is ConnectionState.ALERTING:
            self.switch.reject_call(call.call_id, conn.device)

    def _hang_up(self, call: Any, conn: Any) -> None:
        self.switch.clear_connection(call.call_id, conn.device)
