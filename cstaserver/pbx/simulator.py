"""The simulated terminals and outside callers: the ``sim`` controls of the admin shell.

What a person does at a telephone (ECMA TR/82 "manual" scenarios: going off-hook, dialling,
answering, going on-hook, the hold key) and what callers from the outside network do. Each
method acts through the switching core and returns, or raises ``SwitchError`` with a
message a user can read.

Manual dialling (``call``): the terminal goes off-hook (ServiceInitiated, cause newCall) and
dials (DigitsDialed with the digits, before the exchange analyses them). A number the exchange cannot route gives Failed with the caller's connection in fail
(TR/82 "invalid number"): cause invalidNumberFormat for a malformed number (not digits, too
short for the network, the trunk itself), destNotObtainable for a well-formed number that is
not allocated, busy for the caller's own number. Otherwise Originated (newCall) and the
called side, as for MakeCall. ``call`` from an outside number (``+46...``) is an incoming
call from the network (the trunk side is the calling party; the number it dialled, as a
public number, is the call's network called device); ``withheld=True`` places it with the
caller's number restricted (CLIR).

The handset's other keys (``handset.py``, with the causes ECMA-269 gives a key pressed at
the device): off-hook, dialling digit by digit (``dial``), answer, reject, on-hook, hold and
retrieve, consultation, transfer and conference, DTMF from the keypad (or from an outside
caller), do not disturb and forwarding set at the phone. ``behave`` gives the person at a
phone a behaviour profile (``behaviour.py``); ``traffic`` runs outside calls by a traffic
profile (``traffic.py``).
"""

from __future__ import annotations

from typing import Any

from cstaserver.pbx.behaviour import MANUAL, Behaviour, People, Reaction
from cstaserver.pbx.calls import Call
from cstaserver.pbx.devices import DeviceInfo, initial_mode
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.handset import (
    ACTIVE_STATES,
    KEYS,
    ON_HOOK_ORDER,
    TWO_CALL_KEYS,
    DigitCollector,
    first_call,
)
from cstaserver.pbx.states import (
    ConnectionState,
    EventCause,
    ForwardingType,
    RequestedAgentState,
    TerminalMode,
)
from cstaserver.pbx.switch import Switch
from cstaserver.pbx.traffic import TrafficGenerator, TrafficProfile, TrafficRun

_AGENT_ACTIONS = {
    "ready": RequestedAgentState.READY,
    "notready": RequestedAgentState.NOT_READY,
    "logout": RequestedAgentState.LOGGED_OFF,
}


class Simulator:
    """Terminals and outside callers of one :class:`~cstaserver.pbx.switch.Switch`."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.core = switch.core  # a person at a terminal drives the call steps directly
        self._traffic: list[TrafficGenerator] = []
        self.people = People(switch)
        self.digits = DigitCollector(switch, self._route_dialled)

    # -- helpers -----------------------------------------------------------------------------
    def require_terminal(self, device: str) -> DeviceInfo:
        return self.switch.require_terminal(device)

    def _pick(self, number: str, states: tuple[ConnectionState, ...], reason: Refusal) -> Call:
        """The call of ``number``'s connection in the first of ``states`` that it has."""
        return self._pick_line(number, states, reason)[0]

    def _pick_line(
        self, number: str, states: tuple[ConnectionState, ...], reason: Refusal
    ) -> tuple[Call, str]:
        """(call, line) of the first connection in the first of ``states`` that the phone
        ``number`` handles: its own, or one of an EDN/ADN line answered or made there."""
        conns = [(number, c) for c in self.switch.connections_at(number).values()]
        if self.switch.info(number) is not None:
            conns = self.core.appearances.calls_at(number)
        for state in states:
            for line, conn in conns:
                if conn.state is state:
                    return self.switch.calls[conn.call_id], line
        raise SwitchError(reason, f"{number} has no call to do that with")

    def _prompted(self, phone: str) -> tuple[Call, str] | None:
        """(call, line) of a MakeCall that prompts the person at ``phone``, if any."""
        for line, conn in self.core.appearances.calls_at(phone):
            call = self.switch.calls[conn.call_id]
            if self.core.is_prompted(call, conn):
                return call, line
        return None

    def _ringing(self, phone: str) -> tuple[Call, str] | None:
        """(call, line) of a call that rings at ``phone``: at its own number, else on one of
        the EDN/ADN lines that appear on it (if the phone is free to take it)."""
        for conn in self.switch.connections_at(phone).values():
            if conn.state is ConnectionState.ALERTING:
                return self.switch.calls[conn.call_id], phone
        appearances = self.core.appearances
        for line in appearances.lines(phone):
            if phone not in appearances.ringing_phones(line):
                continue
            for conn in line.connections.values():
                if conn.state is ConnectionState.ALERTING:
                    return self.switch.calls[conn.call_id], line.number
        return None

    # -- a person at a terminal, or an outside caller -----------------------------------------
    def off_hook(self, device: str) -> str:
        """Lift the handset: dial tone (ServiceInitiated, connection initiated); at a phone
        prompted by MakeCall, the prompted call is originated (Originated, then the called
        side)."""
        info = self.require_terminal(device)
        prompted = self._prompted(info.number)
        if prompted is not None:
            call, line = prompted
            self.switch.answer_at(call, line, info.number)
            return call.call_id
        existing = self.switch.check_may_originate(info)
        if existing is not None:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{info.number} is off-hook")
        return self.core.off_hook(info.number, EventCause.NEW_CALL).call_id

    def call(self, from_: str, to: str, *, withheld: bool = False) -> str:
        """``sim call FROM TO``: a terminal dials (DigitsDialed, then the call is routed), or
        an outside caller calls in (``withheld``: with its number restricted)."""
        sw = self.switch
        if sw.numbering.is_external(from_):
            target = sw.destination(to, Refusal.BAD_CALLED_NUMBER, exclude=from_)
            return sw.network.call_in(from_, target, dialled=to, withheld=withheld).call_id
        if withheld:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                "only an outside caller withholds its number per call "
                "(an extension does with its withhold_number setting)",
            )
        try:
            info = self.require_terminal(from_)
        except SwitchError as exc:
            raise SwitchError(Refusal.BAD_CALLING_DEVICE, exc.message) from None
        call = self._dial_tone(info)
        self.core.dialled(call, info.number, to)
        self._route_dialled(call, info.number, to)
        return call.call_id

    def _dial_tone(self, info: DeviceInfo) -> Call:
        """The call ``info``'s phone dials in: its initiated one, else a new one (off-hook)."""
        call = self.switch.check_may_originate(info)
        if call is not None and call.prompting is not None:
            raise SwitchError(
                Refusal.NOT_IN_STATE,
                f"{info.number} is being prompted for call {call.call_id}: go off-hook",
            )
        if call is None:
            call = self.core.off_hook(info.number, EventCause.NEW_CALL)
        return call

    def _route_dialled(self, call: Call, device: str, to: str) -> None:
        """The exchange routes the number ``device`` dialled (or fails the call)."""
        target = self.switch.numbering.resolve(to)
        cause = self._dial_failure(device, to, target)
        if cause is not None:
            call.called_device = to
            self.core.fail(call, to, cause)
        else:
            assert target is not None
            call.called_device = target
            self.core.originate(call, device, target)

    def dial(self, device: str, digits: str) -> str:
        """``sim dial DEVICE DIGITS``: the person presses dial keys one at a time (off-hook
        first if on-hook): one DigitsDialed per digit, the call routed as soon as the digits
        are a number (``handset.DigitCollector``)."""
        try:
            info = self.require_terminal(device)
        except SwitchError as exc:
            raise SwitchError(Refusal.BAD_CALLING_DEVICE, exc.message) from None
        if not digits or not set(digits) <= set("0123456789*#+"):
            raise SwitchError(Refusal.BAD_ARGUMENT, f"bad digits {digits!r}: 0-9, *, # or +")
        call = self._dial_tone(info)
        self.digits.press(call, info.number, digits)
        return call.call_id

    def _dial_failure(self, calling: str, dialled: str, target: str | None) -> EventCause | None:
        sw = self.switch
        if target is None:
            digits = dialled[1:] if dialled.startswith("+") else dialled
            if not digits.isdigit():
                return EventCause.INVALID_NUMBER_FORMAT
            return EventCause.DEST_NOT_OBTAINABLE
        info = sw.info(target)
        if info is None and not sw.numbering.external_valid(target):
            return EventCause.INVALID_NUMBER_FORMAT
        if info is not None and info.number == sw.plan.network.trunk_device:
            return EventCause.INVALID_NUMBER_FORMAT
        if target == calling:
            return EventCause.BUSY
        return None

    def answer(self, device: str) -> str:
        """``sim answer``: the person lifts the handset of what rings at the terminal (a
        call alerting at its number or on an EDN/ADN line on it, or a MakeCall prompting
        it), or an outside party answers."""
        number = self.switch.party_number(device)
        if self.switch.info(number) is None:
            call = self._pick(number, (ConnectionState.ALERTING,), Refusal.NO_CALL_TO_ANSWER)
            self.core.answer(call, number)
            return call.call_id
        found = self._prompted(number) or self._ringing(number)
        if found is None:
            raise SwitchError(Refusal.NO_CALL_TO_ANSWER, f"{number} has no call to do that with")
        call, line = found
        self.switch.answer_at(call, line, number)
        return call.call_id

    def hangup(self, device: str) -> str:
        """``sim hangup``: on-hook; clears the active connection (else the held one)."""
        number = self.switch.party_number(device)
        call, line = self._pick_line(number, ON_HOOK_ORDER, Refusal.NOTHING_TO_CLEAR)
        self.switch.clear_connection(call.call_id, line)
        return call.call_id

    def press(self, device: str, key: str, call_id: str | None = None, **args: Any) -> str:
        """The person presses ``key`` (``handset.KEYS``) at the phone of ``device``: on
        ``call_id``, else on the call the key acts on. Returns the call acted on, or the new
        call a key made (a consultation)."""
        info = self.require_terminal(device)
        spec = KEYS[key]
        if call_id is None:
            call, line = self._pick_line(info.number, spec.states, spec.refusal)
        else:
            call = self.switch.calls.get(call_id)
            if call is None:
                raise SwitchError(Refusal.NO_SUCH_CALL, f"no call {call_id!r}")
            line = next(
                (
                    ln
                    for ln, c in self.core.appearances.calls_at(info.number)
                    if c.call_id == call_id
                ),
                info.number,
            )
        made = spec.press(self.switch, call.call_id, line, args)
        return str(made) if made is not None else call.call_id

    def hold(self, device: str) -> str:
        """``sim hold``: the hold key on the active call (Held, cause keyOperation)."""
        return self.press(device, "hold")

    def retrieve(self, device: str) -> str:
        """The hold key again: retrieve the held call (Retrieved, cause keyOperation)."""
        return self.press(device, "retrieve")

    def reject(self, device: str) -> str:
        """``sim reject``: the person refuses the call ringing at the phone
        (``Switch.reject_call``)."""
        return self.press(device, "reject")

    def consult(self, device: str, to: str) -> str:
        """``sim consult``: hold the active call and call ``to`` (the new call's ID)."""
        return self.press(device, "consultation", to=to)

    def park(self, device: str, to: str) -> str:
        """``sim park``: the park key on the active call; it waits at the extension ``to``
        (Queued park; recalled after the exchange's park recall time)."""
        return self.press(device, "park", to=to)

    def pickup(self, device: str, target: str | None = None) -> str:
        """``sim pickup``: the person at ``device`` lifts the handset and dials the pick-up
        code - for the call ringing (or parked) at ``target``, or without one for the call
        that has rung longest in the phone's pick-up group (Diverted and Established, cause
        callPickup). Returns the call picked up."""
        info = self.require_terminal(device)
        if target is None:
            return str(self.switch.group_pickup_call(info.number, by_hand=True)[0])
        number = self.switch.party_number(target)
        for call_id, _conn in self.switch.connections_at(number).items():
            call = self.switch.calls[call_id]
            if self.switch.pickup.pickable(call, number):
                self.switch.pickup_call(call_id, number, info.number, by_hand=True)
                return call_id
        raise SwitchError(Refusal.NO_CALL_TO_ANSWER, f"{number} has no call ringing or parked")

    def join(self, device: str, key: str) -> str:
        """``sim transfer`` / ``sim conference``: the key joining the held and the active
        call of the phone (``handset.TWO_CALL_KEYS``); the resulting call's ID."""
        info = self.require_terminal(device)
        conns = self.switch.connections_at(info.number)
        held = first_call(
            conns, (ConnectionState.HOLD,), Refusal.NO_HELD_CALL, info.number, "held call"
        )
        active = first_call(
            conns, ACTIVE_STATES, Refusal.NO_ACTIVE_CALL, info.number, "active call", skip=held
        )
        return TWO_CALL_KEYS[key](self.switch, held, active, info.number)

    def dtmf(self, device: str, digits: str) -> str:
        """``sim dtmf``: DTMF in the connected call - from the phone's keypad
        (DigitsGenerated, keyOperation), or from an outside caller (an IVR menu choice)."""
        number = self.switch.party_number(device)
        if self.switch.info(number) is not None:
            return self.press(number, "dtmf", digits=digits)
        call = self._pick(number, (ConnectionState.CONNECTED,), Refusal.CONNECTION_NOT_IN_STATE)
        self.switch.generate_digits(call.call_id, number, digits)
        return call.call_id

    def dnd(self, device: str, on: bool) -> None:
        """``sim dnd``: do not disturb set or cleared at the phone (DoNotDisturb); off also
        ends a ``dnd`` behaviour profile."""
        info = self.require_terminal(device)
        if not on and self.people.get(info.number).reaction is Reaction.DND:
            self.people.set(info.number, MANUAL)  # clears do not disturb itself
            return
        self.switch.set_do_not_disturb(info.number, on)

    def forward(
        self, device: str, kind: ForwardingType | str, to: str | None, on: bool = True
    ) -> None:
        """``sim forward``: forwarding of one type set (to ``to``) or cleared at the phone
        (Forwarding)."""
        info = self.require_terminal(device)
        try:
            forwarding = ForwardingType(kind)
        except ValueError:
            names = ", ".join(t.value for t in ForwardingType)
            raise SwitchError(
                Refusal.BAD_ARGUMENT, f"forwarding type must be one of {names}, not {kind!r}"
            ) from None
        self.switch.set_forwarding(info.number, forwarding, to, on)

    def behave(self, device: str, behaviour: Behaviour) -> Behaviour:
        """``sim behaviour DEVICE ...``: how the person at the phone reacts to a call."""
        return self.people.set(device, behaviour)

    def busy(self, device: str, on: bool) -> None:
        """``sim busy on|off``: the terminal is busy for callers (and cannot originate).
        Off also ends a ``busy`` behaviour profile (the person is free again)."""
        info = self._extension(device)
        if not on and self.people.get(info.number).reaction is Reaction.BUSY:
            self.people.set(info.number, MANUAL)
        info.busy = bool(on)
        if not info.busy:
            self.switch.groups.dispatch()

    def mode(self, device: str, mode: TerminalMode | str) -> None:
        """``sim mode handsfree|manual`` (ECMA TR/82 4.2 vs 4.1 MakeCall). An analog, CAS or
        DECT terminal cannot be made hands-free (the exchange cannot take it off-hook)."""
        info = self._extension(device)
        try:
            new = TerminalMode(mode)
        except ValueError:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                f"mode must be handsfree or manual, not {mode!r}",
            ) from None
        if new is TerminalMode.HANDSFREE and not info.kind.off_hook_remotely:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"{info.number} is a {info.kind.value} line: the exchange cannot take it "
                "off-hook, so it cannot be hands-free",
            )
        info.mode = new

    def _extension(self, device: str) -> DeviceInfo:
        info = self.switch.device(device)
        if not info.is_extension:
            raise SwitchError(Refusal.WRONG_DEVICE_KIND, f"{info.number} is not an extension")
        return info

    # -- agents ------------------------------------------------------------------------------
    def agent(self, device: str, action: str, agent_id: str | None = None) -> None:
        """``sim agent DEVICE login AGENT_ID | logout | ready | notready``."""
        if action == "login":
            self.switch.set_agent_state(device, RequestedAgentState.LOGGED_ON, agent_id)
            return
        requested = _AGENT_ACTIONS.get(action)
        if requested is None:
            raise SwitchError(
                Refusal.BAD_ARGUMENT,
                f"agent action must be login, logout, ready or notready, not {action!r}",
            )
        self.switch.set_agent_state(device, requested, agent_id)

    # -- traffic -----------------------------------------------------------------------------
    def traffic(
        self,
        rate: float,
        seconds: float,
        to: str | None = None,
        seed: int | None = None,
        profile: TrafficProfile | None = None,
    ) -> TrafficRun:
        """``sim traffic``: outside calls at ``rate`` per second for ``seconds``, the called
        people and the callers acting as ``profile`` says (default: every call answered)."""
        generator = TrafficGenerator(self.switch, people=self.people)
        run = generator.start(rate, seconds, to=to, seed=seed, profile=profile)
        self._traffic = [g for g in self._traffic if not g.run.finished] + [generator]
        return run

    # -- between tests ------------------------------------------------------------------------
    def reset(self) -> int:
        """A quiet exchange again, for tests that share one server: traffic runs stopped,
        digits being dialled forgotten, every behaviour profile removed (everybody manual),
        every call cleared (ConnectionCleared / CallCleared as ClearCall gives them), every
        agent logged off, and each extension's busy flag, do not disturb, message waiting
        indicator, forwarding and terminal mode back to how the exchange was built. The
        exchange data, the CSTA servers, sessions and monitors are untouched. Returns the
        number of calls cleared."""
        for generator in self._traffic:
            generator.stop()
        self._traffic = []
        self.digits.reset()
        self.people.reset()
        cleared = 0
        for call_id in list(self.switch.calls):
            if call_id in self.switch.calls:
                self.switch.clear_call(call_id)
                cleared += 1
        built = {e.number: e for e in self.switch.plan.extensions}
        for info in self.switch.devices():
            if info.agent is not None:
                self.switch.set_agent_state(info.number, RequestedAgentState.LOGGED_OFF)
            if not info.is_extension:
                continue
            info.busy = False
            if info.dnd:
                self.switch.set_do_not_disturb(info.number, False)
            if info.message_waiting:
                self.switch.set_message_waiting(info.number, False)
            for kind, entry in list((info.forwarding or {}).items()):
                if entry.active:
                    self.switch.set_forwarding(info.number, kind, None, False)
            extension = built.get(info.number)
            if extension is not None:
                info.mode = initial_mode(extension)
        return cleared
