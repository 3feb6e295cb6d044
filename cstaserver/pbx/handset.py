"""The keys of a simulated phone: what a person presses, as operations of the switch.

ECMA TR/82 "manual" scenarios (a user at the telephone rather than a CSTA application) with
the event causes of ECMA-269 12.3.x: a key the person presses that changes a call is
*keyOperation* where ECMA-269 has no more specific cause - the hold key (Held, Retrieved),
the reject key (the rejecting device's ConnectionCleared) and the keypad in a connected call
(DigitsGenerated). Keys that start a service of their own keep that service's cause:
consultation (Held and ServiceInitiated consultation), transfer (Transferred, cause
transfer), conference (Conferenced, cause conference); going off-hook is newCall, going
on-hook normalClearing, as in ECMA-269 6.3 and TR/82.

:data:`KEYS` is the table of keys that act on one of the phone's calls: the first call in
the states the key acts on (the alerting call for answer, the active one for hold, ...),
unless a call is named. :data:`TWO_CALL_KEYS` act on the held and the active call together
(transfer, conference). The admin shell's ``sim`` verbs and the JSON API's device actions
both press these keys, so they behave the same. A new key (call pickup, call park) is one
more entry here.

Dialling digit by digit (:class:`DigitCollector`): each digit is one DigitsDialed (ECMA-269
17.2.x) with the digit pressed; the exchange analyses the digits after each one, as MX-ONE's
number analysis does:

- the digits are an internal number and no longer number starts with them: the call is
  routed at once (Originated, then the called side);
- they may still become a number (an outside number after the trunk prefix, a ``+``
  number, public or outside, or the start of an internal number): the exchange waits for the next digit, for at most
  :data:`INTERDIGIT_SECONDS`; then it routes what was dialled (an outside number too short
  for the network fails invalidNumberFormat, an incomplete internal one destNotObtainable);
  ``#`` ends dialling at once;
- no number starts with them: Failed at once (destNotObtainable).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from twisted.internet.interfaces import IDelayedCall

from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.states import ConnectionState, EventCause

KEY_OPERATION = EventCause.KEY_OPERATION

#: Seconds the exchange waits for the next digit before it routes what was dialled.
INTERDIGIT_SECONDS = 5.0
#: Keys of the dial pad (``#`` ends dialling).
DIAL_KEYS = frozenset("0123456789*#+")


@attrs.frozen
class Key:
    """A handset key that acts on one of the phone's calls: the call it takes (the first of
    ``states`` the phone has a call in, unless one is named), the switch's refusal when there
    is none (``what`` names the call it wanted), and what pressing it does: ``press(switch,
    call_id, number, args)``, returning a new call's ID (a consultation) or None."""

    states: tuple[ConnectionState, ...]
    refusal: Refusal
    what: str
    press: Callable[[Any, str, str, Mapping[str, Any]], object]


def _single_step_transfer(switch: Any, call: str, number: str, args: Mapping[str, Any]) -> None:
    """The call keeps its ID (the transferred party stays in it): no new call to report."""
    switch.single_step_transfer(call, number, args["to"])


def _park(switch: Any, call: str, number: str, args: Mapping[str, Any]) -> None:
    """The call keeps its ID (it waits, parked, at ``to``): no new call to report."""
    switch.park_call(call, number, args["to"])


#: The call the on-hook key clears: the active one first, a held one last.
ON_HOOK_ORDER = (
    ConnectionState.CONNECTED,
    ConnectionState.INITIATED,
    ConnectionState.FAIL,
    ConnectionState.ALERTING,
    ConnectionState.QUEUED,
    ConnectionState.HOLD,
)

#: The keys by the name the logs and the API use (a ``Key`` whose ``press`` calls the switch's
#: operation). Call pickup takes a call of another phone: :meth:`Simulator.pickup`.
KEYS: dict[str, Key] = {
    "answer": Key(
        (ConnectionState.ALERTING,),
        Refusal.NO_CALL_TO_ANSWER,
        "call alerting",
        # the person answers at the phone (also where the exchange cannot: analog, DECT)
        lambda switch, call, number, args: switch.lift_handset(call, number),
    ),
    "reject": Key(
        (ConnectionState.ALERTING, ConnectionState.INITIATED),
        Refusal.NO_CALL_TO_ANSWER,
        "call alerting",
        lambda switch, call, number, args: switch.reject_call(call, number),
    ),
    "hang-up": Key(
        ON_HOOK_ORDER,
        Refusal.NOTHING_TO_CLEAR,
        "call",
        lambda switch, call, number, args: switch.clear_connection(call, number),
    ),
    "hold": Key(
        (ConnectionState.CONNECTED,),
        Refusal.NO_ACTIVE_CALL,
        "active call",
        lambda switch, call, number, args: switch.hold_call(call, number, cause=KEY_OPERATION),
    ),
    "retrieve": Key(
        (ConnectionState.HOLD,),
        Refusal.NO_HELD_CALL,
        "held call",
        lambda switch, call, number, args: switch.retrieve_call(call, number, cause=KEY_OPERATION),
    ),
    "consultation": Key(
        (ConnectionState.CONNECTED,),
        Refusal.NO_ACTIVE_CALL,
        "active call",
        lambda switch, call, number, args: switch.consultation_call(call, number, args["to"])[0],
    ),
    "single-step transfer": Key(
        (ConnectionState.CONNECTED, ConnectionState.QUEUED),
        Refusal.NO_ACTIVE_CALL,
        "active or queued call",
        _single_step_transfer,
    ),
    "deflect": Key(
        (ConnectionState.ALERTING, ConnectionState.QUEUED),
        Refusal.CONNECTION_NOT_IN_STATE,
        "call alerting or queued",
        lambda switch, call, number, args: switch.deflect_call(call, number, args["to"]),
    ),
    "park": Key(
        (ConnectionState.CONNECTED,),
        Refusal.NO_ACTIVE_CALL,
        "active call",
        _park,
    ),
    "dtmf": Key(
        (ConnectionState.CONNECTED,),
        Refusal.CONNECTION_NOT_IN_STATE,
        "connected call",
        lambda switch, call, number, args: switch.generate_digits(
            call, number, args["digits"], cause=KEY_OPERATION
        ),
    ),
}

#: Keys that join the phone's held call and its active call (the held call's ID remains).
TWO_CALL_KEYS: dict[str, Callable[[Any, str, str, str], str]] = {
    "transfer": lambda switch, held, active, number: switch.transfer_call(held, active, number),
    "conference": lambda switch, held, active, number: switch.conference_call(held, active, number),
}

#: The states a two-call key takes the "active" call in (a consultation may still ring).
ACTIVE_STATES = (ConnectionState.CONNECTED, ConnectionState.ALERTING, ConnectionState.INITIATED)


def first_call(
    connections: Mapping[str, Any],
    states: tuple[ConnectionState, ...],
    refusal: Refusal,
    number: str,
    what: str,
    *,
    skip: str | None = None,
) -> str:
    """The ID of the first call among ``connections`` (call ID -> Connection) in the first of
    ``states`` it has one in (not ``skip``); SwitchError ``refusal`` when there is none."""
    for state in states:
        for call_id, conn in connections.items():
            if conn.state is state and call_id != skip:
                return call_id
    raise SwitchError(refusal, f"{number} has no {what}")


@attrs.define
class _Dialling:
    call_id: str
    device: str
    digits: str = ""
    timer: IDelayedCall | None = None


class DigitCollector:
    """Digits dialled one at a time at the phones of one switch (module docstring).

    ``route(call, device, number)`` routes a finished number (as ``sim call`` does: Failed
    for a number the exchange cannot route, else Originated and the called side)."""

    def __init__(self, switch: Any, route: Callable[[Any, str, str], None]) -> None:
        self.switch = switch
        self.route = route
        self._dialling: dict[str, _Dialling] = {}  # device -> what it has dialled so far
        self._sorted: list[str] = []
        self._sorted_for: object = None

    def press(self, call: Any, device: str, keys: str) -> None:
        """``device``, off-hook in ``call`` (initiated), presses ``keys`` one by one."""
        if not keys or not set(keys) <= DIAL_KEYS:
            raise SwitchError(Refusal.BAD_ARGUMENT, f"bad digits {keys!r}: 0-9, *, # or +")
        state = self._dialling.get(device)
        if state is None or state.call_id != call.call_id:
            self._stop(device)
            state = self._dialling[device] = _Dialling(call.call_id, device)
        for key in keys:
            if key == "#":
                self._finish(state)
                return
            state.digits += key
            self.switch.core.dialled(call, device, key)
            if self._dialling.get(device) is not state or call.ended:
                return  # the person's dialling was ended by what the digit caused
            if self._analyse(state.digits) != "partial":  # complete, or no such number
                self._finish(state)
                return
        self._restart_timer(state)

    def dialling(self, device: str) -> str | None:
        """The digits ``device`` has dialled so far, if it is dialling."""
        state = self._dialling.get(device)
        return state.digits if state is not None else None

    def reset(self) -> None:
        for device in list(self._dialling):
            self._stop(device)

    def _analyse(self, digits: str) -> str:
        """complete, partial or invalid (see the module docstring)."""
        numbering = self.switch.numbering
        prefix = self.switch.plan.network.trunk_prefix
        if digits.startswith("+") or (prefix and digits.startswith(prefix)):
            return "partial"  # an outside (or public) number: no fixed length
        internal = numbering.internal(digits)
        numbers = self._numbers()
        at = bisect.bisect_right(numbers, digits)  # the first number after ``digits``
        longer = at < len(numbers) and numbers[at].startswith(digits)
        if internal is not None and not longer:
            return "complete"
        if longer or internal is not None or prefix.startswith(digits):
            return "partial"
        return "invalid"

    def _numbers(self) -> list[str]:
        """The plan's numbers, sorted (kept until the plan changes)."""
        plan = self.switch.plan
        if self._sorted_for is not plan:
            self._sorted = sorted(d.number for d in self.switch.devices())
            self._sorted_for = plan
        return self._sorted

    def _restart_timer(self, state: _Dialling) -> None:
        if state.timer is not None and state.timer.active():
            state.timer.cancel()
        state.timer = self.switch.clock.callLater(INTERDIGIT_SECONDS, self._finish, state)

    def _finish(self, state: _Dialling) -> None:
        if self._dialling.get(state.device) is not state:
            return
        self._stop(state.device)
        call = self.switch.calls.get(state.call_id)
        conn = call.connection(state.device) if call is not None else None
        if conn is None or conn.state is not ConnectionState.INITIATED:
            return  # the person hung up meanwhile
        self.route(call, state.device, state.digits)

    def _stop(self, device: str) -> None:
        state = self._dialling.pop(device, None)
        if state is not None and state.timer is not None and state.timer.active():
            state.timer.cancel()
