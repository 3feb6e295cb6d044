"""The simulated MX-ONE: :class:`Switch`, the ISwitch operations on the switching core.

ECMA-269 clause 17 (call control services), 18 (GenerateDigits), 19 (logical device
features: forwarding, do not disturb, agent state) and 16 (snapshots), with the call
scenarios of ECMA TR/82. Each operation validates everything first and raises exactly one
``SwitchError`` with its ``Refusal`` (changing nothing), or changes state and emits its
events through the core.

Choices where ECMA-269 leaves room (documented for the CSTA layer):

- MakeCall from a device that is off-hook with dial tone (an initiated connection) uses that
  connection (no new ServiceInitiated); from a device with a connected (active) call or a
  failed one: NOT_IN_STATE; from a device made busy with ``sim busy``: DEVICE_BUSY.
  A device that only has held or alerting calls may make a call.
- MakeCall on a hands-free terminal: ServiceInitiated (makeCall, initiated) -> Originated
  (makeCall, connected) -> the called side. With ``auto_originate=False`` or a terminal the
  exchange cannot take off-hook (analog, CAS, DECT, or ``sim mode manual``) the calling device
  is prompted (TR/82 4.1): ServiceInitiated (makeCall, initiated) while its terminal rings;
  when the person goes off-hook, Originated and the called side (docs/devices.md). A device
  being prompted refuses another MakeCall (NOT_IN_STATE).
- AnswerCall needs a hands-free terminal (the exchange goes off-hook for the person);
  at a prompted or manual one: WRONG_DEVICE_KIND. An EDN or ADN is answered at one of its
  phones (``devices.Appearances``).
- A called number the switch knows is invalid (not in the plan, not external, too short for
  the network, the trunk itself, the calling device) is refused with BAD_CALLED_NUMBER;
  dialled by a terminal (``sim call``) it gives Failed instead (see ``simulator.py``).
- Transfer and conference keep the held call (the primary old call) as the resulting call;
  the Transferred event itself clears the transferring device's connections (state null in
  ``states``), and the secondary call ends without CallCleared, as in ECMA-269 17.2.x.
- Retrieve while another call of the device is active: NOT_IN_STATE.
- AnswerCall while another call of the device is connected (a waiting call, a recall) first
  holds that call (``waiting.py``); ClearConnection of the consulting party in its
  consultation transfers or recalls the held call (``recall.py``; docs/call-features.md).
- Call pick-up, park, camp-on, call back and intrusion have one module each (``pickup.py``,
  ``park.py``, ``campon.py``, ``callback.py``, ``intrusion.py``; docs/call-pickup-park.md).
  Camp-ons and call backs wait for a device to become free: after every release the core's
  distribution hook (``_Distribution``) runs the groups' dispatch, then theirs.
- SingleStepConference: the Conferenced event's ``conferencingDevice`` is the party that
  asked (the device of ``activeCall``), ``addedParty`` the joining device; a silent
  participant (participationType silent) hears the call and is heard by nobody
  (``Call.hears``), its Conferenced cause is silentParticipation.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from cstaserver.pbx import waiting
from cstaserver.pbx.bus import Interest
from cstaserver.pbx.callback import CallBacks
from cstaserver.pbx.calls import Call, Connection
from cstaserver.pbx.campon import CampOn
from cstaserver.pbx.core import CallProcessing
from cstaserver.pbx.devices import DeviceInfo, ForwardingEntry
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.events import (
    NO_CALL_DATA,
    CallData,
    CallInformation,
    Conferenced,
    ConnectionChange,
    DigitsGenerated,
    DoNotDisturb,
    Forwarding,
    Held,
    MessageWaiting,
    Retrieved,
    Transferred,
)
from cstaserver.pbx.groups import Groups
from cstaserver.pbx.interfaces import ICallDistribution, ISwitch
from cstaserver.pbx.intrusion import Intrusion
from cstaserver.pbx.network import Network
from cstaserver.pbx.park import Parking
from cstaserver.pbx.pickup import Pickup
from cstaserver.pbx.plan import DeviceKind, ExchangePlan
from cstaserver.pbx.recall import Recall
from cstaserver.pbx.routing import Router
from cstaserver.pbx.states import (
    AgentState,
    ConnectionState,
    EventCause,
    ForwardingType,
    RequestedAgentState,
    TerminalMode,
)

CONFERENCE_LIMIT = 8
DIGITS = frozenset("0123456789*#ABCDabcd")
MAX_ALERT_TIME = 3600  # seconds a predictive call's called party may ring at most


def _call_data(correlator_data: str | None, user_data: object | None) -> CallData:
    """The call data an application gives with MakeCall / MakePredictiveCall."""
    if correlator_data is None and user_data is None:
        return NO_CALL_DATA
    return CallData(correlator_data=correlator_data, user_data=user_data)


@implementer(ICallDistribution)
class _Distribution:
    """The core's distribution hook: the groups, then the features that wait for a device
    to become free (camp-on, call back) after each dispatch."""

    def __init__(self, groups: Groups, after: list[Callable[[], None]]) -> None:
        self.groups = groups
        self.after = after

    def on_answered(self, call: Call, device: str) -> None:
        self.groups.on_answered(call, device)

    def on_released(self, call: Call, device: str, conn: Connection | None) -> None:
        self.groups.on_released(call, device, conn)

    def on_call_ended(self, call: Call) -> None:
        self.groups.on_call_ended(call)

    def dispatch(self) -> None:
        self.groups.dispatch()
        for feature in self.after:
            feature()


@implementer(ISwitch)
class Switch:
    """The simulated exchange: ``Switch(plan, clock)`` (an ``IReactorTime``).

    A facade: it holds the call-processing core (``core``, a :class:`CallProcessing`) and the
    features built on it - ``router`` (forwarding, busy, DND), ``groups`` (hunt, cascade,
    ACD and agents) and ``network`` (trunks, outside parties, predictive calls) - wires them
    together, and implements the ISwitch services by validating a request and then driving
    the core's steps.

    Beyond ISwitch, for the simulator, the admin shell and diagnostics: ``clock``,
    ``calls`` (call ID -> Call), ``numbering`` (digit analysis), ``info(number)`` (DeviceInfo
    or None, no public-number mapping), ``connections_at(number)``, and the validators
    ``party_number``, ``require_terminal``, ``destination`` and ``check_may_originate``.
    """

    def __init__(self, plan: ExchangePlan, clock: IReactorTime) -> None:
        self.core = core = CallProcessing(plan, clock)
        self.plan = plan
        self.clock = clock
        self.public_numbering = plan.public_numbering
        self.numbering = core.numbering
        # Groups send a call to a diverted position through the router, built after them.
        self.groups = Groups(plan, clock, core, divert=lambda *args: self.router.divert(*args))
        self.network = Network(plan.network, core.numbering, core)
        self.router = Router(
            core,
            core.numbering,
            plan.no_answer_ring_seconds,
            offer_group=self.groups.offer,
            call_out=self.network.call_out,
        )
        self.camp_ons = CampOn(core)
        self.call_backs = CallBacks(core, lambda: core.plan)
        self.distribution = _Distribution(
            self.groups, [self.camp_ons.dispatch, self.call_backs.dispatch]
        )
        core.wire(
            route=self.router.offer,
            distribution=self.distribution,
            reach_predictive=self.network.predictive_answered,
        )
        self.recall = Recall(core, lambda: core.plan, core.calls, self.transfer_call)
        self.pickup = Pickup(core, self.distribution)
        self.parking = Parking(core, lambda: core.plan)
        self.intrusion = Intrusion(core, CONFERENCE_LIMIT)

    def plan_refusal(self, plan: ExchangePlan) -> str | None:
        """Why ``plan`` cannot replace the running plan now (one line), or None.

        A device that goes away (or stops being an extension) must have no call and no agent
        logged on; a logged-on agent must stay an agent of its group at its position; a group
        that goes away must have no call in progress; the trunk device may change only while
        no trunk is in use. The administrator clears the call or logs the agent off first."""
        kept = {e.number: e.kind for e in plan.extensions}
        kept.update({g.number: DeviceKind.HUNT_GROUP for g in plan.hunt_groups})
        kept.update({g.number: DeviceKind.CASCADE_GROUP for g in plan.cascade_groups})
        kept.update({g.number: DeviceKind.ACD_GROUP for g in plan.acd_groups})
        acd = {g.number: g for g in plan.acd_groups}
        for info in self.core.devices():
            if info.kind is DeviceKind.TRUNK:
                continue
            kind = kept.get(info.number)
            if kind is None or kind.is_extension != info.is_extension:
                if info.connections:
                    return f"{info.number} has a call up (call {next(iter(info.connections))})"
                if any(call.group == info.number for call in self.calls.values()):
                    return f"group {info.number} has calls in progress"
            agent = info.agent
            if agent is None:
                continue
            group = acd.get(agent.group)
            if (
                kind is None
                or group is None
                or agent.agent_id not in group.agent_ids
                or info.number not in group.agent_devices
            ):
                return (
                    f"agent {agent.agent_id} is logged on at {info.number} in group "
                    f"{agent.group}; log the agent off first"
                )
        if plan.network.trunk_device != self.plan.network.trunk_device:
            if self.core.trunks_in_use():
                return "the trunk device cannot change while trunks are in use"
        return None

    def update_plan(self, plan: ExchangePlan) -> None:
        """The exchange data changed (the admin commands): from now on the switch is ``plan``
        - devices added, changed and removed (calls and agents of the devices that stay are
        kept), the groups, the outside network's rules, the public numbering and the timers.
        SwitchError(NOT_IN_STATE) with :meth:`plan_refusal`'s reason, changing nothing, if
        the plan cannot be taken now."""
        reason = self.plan_refusal(plan)
        if reason is not None:
            raise SwitchError(Refusal.NOT_IN_STATE, reason)
        self.plan = plan
        self.core.update_plan(plan)
        self.public_numbering = plan.public_numbering
        self.network.rules = plan.network
        self.router.no_answer_ring_seconds = plan.no_answer_ring_seconds
        self.groups.update_plan(plan)

    @property
    def calls(self) -> dict[str, Call]:
        """Call ID -> Call, every call in progress."""
        return self.core.calls

    def info(self, number: str) -> DeviceInfo | None:
        """The DeviceInfo of an internal number (no public-number mapping), or None."""
        return self.core.info(number)

    def connections_at(self, number: str) -> dict[str, Connection]:
        """Call ID -> Connection at a device or an outside party (empty if none)."""
        return self.core.connections_at(number)

    # -- subscriptions -----------------------------------------------------------------------
    def subscribe(
        self, callback: Callable[[object], None], interest: Interest | None = None
    ) -> Callable[[], None]:
        return self.core.bus.subscribe(callback, interest)

    def subscribe_device(
        self, device: str, callback: Callable[[object], None]
    ) -> Callable[[], None]:
        return self.core.bus.subscribe_device(self.numbering.internal(device) or device, callback)

    def subscribe_call(
        self, call_id: str, callback: Callable[[object], None]
    ) -> Callable[[], None]:
        return self.core.bus.subscribe_call(call_id, callback)

    # -- look-ups ----------------------------------------------------------------------------
    def device(self, number: str) -> DeviceInfo:
        internal = self.numbering.internal(number)
        if internal is None:
            raise SwitchError(Refusal.NO_SUCH_DEVICE, f"no device {number!r} in the plan")
        info = self.core.info(internal)
        assert info is not None  # ``internal`` is a number of the plan
        return info

    def devices(self) -> list[DeviceInfo]:
        return self.core.devices()

    def is_external(self, number: str) -> bool:
        return self.numbering.is_external(number)

    def snapshot_device(self, device: str) -> list:
        number = self.party_number(device)
        result = []
        for call_id, conn in self.core.connections_at(number).items():
            call = self.calls[call_id]
            result.append((call_id, conn.state, call.others(number)))
        info = self.core.info(number)
        if info is not None and info.kind.is_group:
            # a group's calls ring at its members: the group's connection is theirs
            for call in self.calls.values():
                distributed = call.delivery_cause is EventCause.DISTRIBUTED
                if call.group == number and distributed and number not in call.connections:
                    ringing = call.in_state(ConnectionState.ALERTING)
                    if ringing:
                        result.append(
                            (call.call_id, ConnectionState.ALERTING, list(call.connections))
                        )
        return result

    def snapshot_call(self, call_id: str) -> list:
        call = self._call(call_id)
        return [(conn.device, conn.state) for conn in call]

    # -- validation helpers ------------------------------------------------------------------
    def _call(self, call_id: str) -> Call:
        call = self.calls.get(call_id)
        if call is None:
            raise SwitchError(Refusal.NO_SUCH_CALL, f"no call {call_id!r}")
        return call

    def party_number(self, number: str) -> str:
        """An internal device (public numbers mapped) or an external party's number."""
        internal = self.numbering.internal(number)
        if internal is not None:
            return internal
        if self.numbering.is_external(number):
            return number
        raise SwitchError(Refusal.NO_SUCH_DEVICE, f"no device {number!r}")

    def require_terminal(self, number: str) -> DeviceInfo:
        """An extension with a terminal (what can answer, hold, dial ...)."""
        info = self.device(number) if not self.numbering.is_external(number) else None
        if info is None or not info.is_extension:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"{number} is not an extension with a terminal",
            )
        if not info.terminal:
            raise SwitchError(Refusal.WRONG_DEVICE_KIND, f"no terminal is logged on at {number}")
        return info

    def _connection(self, call: Call, number: str, reason: Refusal) -> Connection:
        conn = call.connection(number)
        if conn is None:
            raise SwitchError(reason, f"{number} has no connection in call {call.call_id}")
        return conn

    def _party(self, call_id: str, device: str) -> tuple[Call, DeviceInfo, Connection]:
        """Call, extension and its connection for a terminal operation."""
        call = self._call(call_id)
        info = self.require_terminal(device)
        return call, info, self._connection(call, info.number, Refusal.NOT_IN_CALL)

    def destination(self, number: str, reason: Refusal, exclude: str | None = None) -> str:
        """The internal or external number a call to ``number`` goes to, or refused with ``reason``."""
        target = self.numbering.resolve(number or "")
        if target is None:
            raise SwitchError(reason, f"{number!r} is not a number of the exchange or the network")
        info = self.core.info(target)
        if info is not None and info.kind is DeviceKind.TRUNK:
            raise SwitchError(reason, f"{number!r} is the trunk itself")
        if info is None and not self.numbering.external_valid(target):
            raise SwitchError(reason, f"{number!r} is too short for the network")
        if target == exclude:
            raise SwitchError(reason, f"{number!r} is the device itself")
        return target

    def check_may_originate(self, info: DeviceInfo) -> Call | None:
        """Refuse a busy calling device; its initiated (off-hook) call if it has one."""
        if info.busy:
            raise SwitchError(Refusal.DEVICE_BUSY, f"{info.number} is busy")
        initiated = None
        for call_id, conn in info.connections.items():
            if conn.state in (ConnectionState.CONNECTED, ConnectionState.FAIL):
                raise SwitchError(
                    Refusal.NOT_IN_STATE,
                    f"{info.number} is {conn.state.value} in call {call_id}",
                )
            if conn.state is ConnectionState.INITIATED:
                initiated = self.calls[call_id]
        return initiated

    def _check_no_active(self, info: DeviceInfo, except_call: str | None = None) -> None:
        for call_id, conn in info.connections.items():
            if call_id != except_call and conn.state in (
                ConnectionState.CONNECTED,
                ConnectionState.INITIATED,
            ):
                raise SwitchError(
                    Refusal.NOT_IN_STATE,
                    f"{info.number} has an active call {call_id}",
                )

    def _two_calls(
        self, held_call_id: str, active_call_id: str, device: str, *, active_connected: bool = True
    ) -> tuple[Call, Call, DeviceInfo]:
        """Validation shared by transfer, conference, alternate, reconnect (which accepts an
        active call in any state but hold: ``active_connected=False``)."""
        if held_call_id == active_call_id:
            raise SwitchError(Refusal.SAME_CALL_TWICE, "held and active call are the same")
        held, info, hconn = self._party(held_call_id, device)
        active = self._call(active_call_id)
        aconn = self._connection(active, info.number, Refusal.NOT_IN_CALL)
        if hconn.state is not ConnectionState.HOLD:
            raise SwitchError(Refusal.NO_HELD_CALL, f"call {held_call_id} is not held")
        if active_connected and aconn.state is not ConnectionState.CONNECTED:
            raise SwitchError(Refusal.NO_ACTIVE_CALL, f"call {active_call_id} is not active")
        if aconn.state is ConnectionState.HOLD:
            raise SwitchError(Refusal.NO_ACTIVE_CALL, f"call {active_call_id} is held")
        return held, active, info

    # -- call control ------------------------------------------------------------------------
    def make_call(
        self,
        calling: str,
        called: str,
        *,
        auto_originate: bool = True,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        internal = self.numbering.internal(calling)
        info = self.core.info(internal) if internal is not None else None
        if info is None or not info.is_extension or not info.terminal:
            raise SwitchError(Refusal.BAD_CALLING_DEVICE, f"{calling!r} cannot originate a call")
        target = self.destination(called, Refusal.BAD_CALLED_NUMBER, exclude=info.number)
        call = self.check_may_originate(info)
        data = _call_data(correlator_data, user_data)
        if call is not None:
            if call.prompting is not None:
                raise SwitchError(
                    Refusal.NOT_IN_STATE,
                    f"{info.number} is being prompted for call {call.call_id}",
                )
            call.origin_cause = EventCause.MAKE_CALL
            call.called_device = target
            if data is not NO_CALL_DATA:
                call.add_data(correlator_data=correlator_data, user_data=user_data)
                self.core.emit_call(call, CallInformation, EventCause.NORMAL, device=info.number)
            self.core.originate(call, info.number, target)
            return (call.call_id, info.number)
        phone = self.core.appearances.phone_for_origination(info)
        if phone is None:
            raise SwitchError(Refusal.DEVICE_BUSY, f"every phone of {info.number} is in use")
        if phone is info and self.core.appearances.in_use(info.number):
            raise SwitchError(
                Refusal.NOT_IN_STATE, f"the phone {info.number} is in a call on another line"
            )
        call = self.core.off_hook(info.number, EventCause.MAKE_CALL, data=data)
        call.called_device = target
        if phone is not info:
            call.connections[info.number].terminal = phone.number
        if not auto_originate or phone.mode is TerminalMode.MANUAL:
            call.prompting = target
            self.core.prompt(call, info.number)
        else:
            self.core.originate(call, info.number, target)
        return (call.call_id, info.number)

    def make_predictive_call(
        self,
        calling: str,
        called: str,
        *,
        alert_time: float | None = None,
        correlator_data: str | None = None,
        user_data: object | None = None,
    ) -> tuple:
        """ECMA-269 17.2.12 (see ``network.py``). Unlike MakeCall, a well-formed outside
        number too short for the network is not refused: the network answers it with Failed,
        as a dialler expects (its numbers are not checked beforehand)."""
        internal = self.numbering.internal(calling)
        info = self.core.info(internal) if internal is not None else None
        if info is None or not (
            info.kind is DeviceKind.ACD_GROUP or (info.is_extension and info.terminal)
        ):
            raise SwitchError(
                Refusal.BAD_CALLING_DEVICE,
                f"{calling!r} is neither an ACD group nor an extension with a terminal",
            )
        if alert_time is not None and not 0 < alert_time <= MAX_ALERT_TIME:
            raise SwitchError(
                Refusal.OUT_OF_RANGE, f"alert time must be over 0 and at most {MAX_ALERT_TIME} s"
            )
        if self.numbering.is_external(called):
            target = called  # the network decides (Failed if it has no such number)
        else:
            target = self.destination(called, Refusal.BAD_CALLED_NUMBER, exclude=info.number)
        call = self.network.predictive(
            info.number,
            target,
            self.plan.alerting_timeout if alert_time is None else alert_time,
            _call_data(correlator_data, user_data),
        )
        return (call.call_id, info.number)

    def answer_call(self, call_id: str, device: str) -> None:
        call, info, conn = self._party(call_id, device)
        appearances = self.core.appearances
        if self.core.is_prompted(call, conn):
            phones = [conn.terminal or info.number]
        elif conn.state is ConnectionState.ALERTING:
            phones = appearances.ringing_phones(info)
        else:
            raise SwitchError(
                Refusal.NO_CALL_TO_ANSWER, f"nothing alerts at {info.number} in call {call_id}"
            )
        handsfree = [p for p in phones if self.core.info(p).mode is TerminalMode.HANDSFREE]
        if not handsfree:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"the terminal of {info.number} cannot be taken off-hook remotely: "
                "the person answers at the phone",
            )
        self.answer_at(call, info.number, handsfree[0])

    def lift_handset(self, call_id: str, device: str) -> None:
        """The person at ``device``'s phone answers ``call_id`` (alerting, or a MakeCall
        prompting it) by hand: no hands-free terminal needed, unlike :meth:`answer_call`.
        At an EDN or ADN, the first of its phones the call rings at."""
        call, info, conn = self._party(call_id, device)
        if self.core.is_prompted(call, conn):
            phone = conn.terminal or info.number
        elif conn.state is ConnectionState.ALERTING:
            phones = self.core.appearances.ringing_phones(info)
            phone = phones[0] if phones else info.number
        else:
            raise SwitchError(
                Refusal.NO_CALL_TO_ANSWER, f"nothing alerts at {info.number} in call {call_id}"
            )
        self.answer_at(call, info.number, phone)

    def answer_at(self, call: Call, line: str, phone: str) -> None:
        """The person (or the exchange, hands-free) at ``phone`` answers ``call`` alerting
        or prompting at ``line`` (the phone itself, or an EDN/ADN that appears on it)."""
        if phone != line:
            call.connections[line].terminal = phone
        info = self.core.info(line)
        for active_id in waiting.to_hold(info, call.call_id):  # answering a waiting call
            active = self.calls[active_id]
            self._hold(active, active.connections[line], EventCause.NORMAL)
        self.core.answer(call, line)

    def reject_call(self, call_id: str, device: str) -> None:
        """The person refuses a call ringing at the phone (the reject key): the alerting
        connection is released (ConnectionCleared, cause keyOperation). If the call rings
        nowhere else, the caller hears busy tone: Failed, cause busy, at the rejecting
        device (an outside caller is then released by the network, as for any Failed); a
        call that also rings at other phones (a hunt group's, an EDN's) goes on ringing
        there; an ACD group's call refused by an agent goes back to the head of the queue
        and the agent is made not ready (``Groups.reject``). A MakeCall prompt is refused
        the same way (the call ends)."""
        call, info, conn = self._party(call_id, device)
        if self.core.is_prompted(call, conn):
            self.core.clear_all(call, EventCause.KEY_OPERATION, first=info.number)
            return
        if conn.state is not ConnectionState.ALERTING:
            raise SwitchError(
                Refusal.NO_CALL_TO_ANSWER, f"nothing alerts at {info.number} in call {call_id}"
            )
        if self.groups.reject(call, info.number):  # an agent refused an ACD call
            return
        self.core.release(
            call, info.number, EventCause.KEY_OPERATION, settle=False, redistribute=False
        )
        offered = call.in_state(ConnectionState.ALERTING, ConnectionState.QUEUED)
        if not offered and not call.ended:  # a group may have offered it to another member
            if call.connections:
                self.core.fail(call, info.number, EventCause.BUSY)
            else:
                self.core.end_call(call, EventCause.BUSY, involved=(info.number,))
        self.groups.dispatch()

    def clear_connection(self, call_id: str, device: str) -> None:
        call = self._call(call_id)
        number = self.network.hidden_party(call, self.party_number(device))
        self._connection(call, number, Refusal.NOTHING_TO_CLEAR)
        if not self.recall.on_hook(call, number):  # on-hook during a consultation
            self.core.release(call, number, EventCause.NORMAL_CLEARING)

    def clear_call(self, call_id: str) -> None:
        self.core.clear_all(self._call(call_id), EventCause.NORMAL_CLEARING)

    def hold_call(
        self, call_id: str, device: str, *, cause: EventCause = EventCause.NORMAL
    ) -> None:
        """HoldCall (ECMA-269 17.2.9); ``cause``: keyOperation when the person pressed the
        hold key at the phone (``pbx/handset.py``)."""
        call, info, conn = self._party(call_id, device)
        if conn.state is not ConnectionState.CONNECTED:
            raise SwitchError(Refusal.NO_ACTIVE_CALL, f"call {call_id} is not active")
        self._check_may_hold(info)
        self._hold(call, conn, cause)

    @staticmethod
    def _check_may_hold(info: DeviceInfo) -> None:
        if info.held_calls() >= info.max_held_calls:
            raise SwitchError(
                Refusal.NOT_IN_STATE,
                f"{info.number} already holds {info.held_calls()} calls, "
                f"as many as it can ({info.max_held_calls})",
            )

    def _hold(self, call: Call, conn: Connection, cause: EventCause) -> None:
        conn.move(ConnectionState.HOLD)
        self.core.emit_call(call, Held, cause, holding_device=conn.device)
        self.recall.on_hold(call, conn)

    def _retrieve(self, call: Call, conn: Connection, cause: EventCause) -> None:
        conn.move(ConnectionState.CONNECTED)
        self.recall.on_retrieve(call, conn)
        self.core.emit_call(call, Retrieved, cause, retrieving_device=conn.device)

    def retrieve_call(
        self, call_id: str, device: str, *, cause: EventCause = EventCause.NORMAL
    ) -> None:
        """RetrieveCall (ECMA-269 17.2.16); ``cause`` as for :meth:`hold_call`."""
        call, info, conn = self._party(call_id, device)
        if conn.state is not ConnectionState.HOLD:
            raise SwitchError(Refusal.NO_HELD_CALL, f"call {call_id} is not held")
        self._check_no_active(info)
        self._retrieve(call, conn, cause)

    def consultation_call(self, held_call_id: str, device: str, consulted: str) -> tuple:
        call, info, conn = self._party(held_call_id, device)
        if conn.state is not ConnectionState.CONNECTED:
            raise SwitchError(Refusal.NO_ACTIVE_CALL, f"call {held_call_id} is not active")
        target = self.destination(consulted, Refusal.BAD_CALLED_NUMBER, exclude=info.number)
        self._check_may_hold(info)
        self._hold(call, conn, EventCause.CONSULTATION)
        new = self.core.off_hook(info.number, EventCause.CONSULTATION)
        new.called_device = target
        new.consultation_of = call.call_id
        self.core.originate(new, info.number, target)
        return (new.call_id, info.number)

    def transfer_call(self, held_call_id: str, active_call_id: str, device: str) -> str:
        held, active, info = self._two_calls(held_call_id, active_call_id, device)
        number = info.number
        held_others, active_others = held.others(number), active.others(number)
        if not held_others or not active_others:
            raise SwitchError(Refusal.NOT_IN_STATE, "nobody to transfer to")
        hconn = self.core.remove_connection(held, number)
        aconn = self.core.remove_connection(active, number)
        for other in active_others:
            self.core.move_connection(active, held, other)
        self.core.retire(active)
        self.core.join_restricted(held, active)
        held.calling_device = held_others[0]
        held.called_device = active.called_device
        held.last_redirection_device = number
        held.delivery_cause = EventCause.TRANSFER
        changes = [ConnectionChange(d, held.call_id, held.call_id) for d in held_others]
        changes += [ConnectionChange(d, active.call_id, held.call_id) for d in active_others]
        self.core.emit_call(
            held,
            Transferred,
            EventCause.TRANSFER,
            gone=(number,),
            secondary_old_call_id=active.call_id,
            new_call_id=held.call_id,
            transferring_device=number,
            transferred_to_device=active_others[0],
            connections=changes,
        )
        self.groups.on_released(held, number, hconn)
        self.groups.on_released(active, number, aconn)
        self.distribution.dispatch()
        return held.call_id

    def single_step_transfer(self, call_id: str, device: str, transferred_to: str) -> tuple:
        queued = self._queued_group(self._call(call_id), device)
        if queued is not None:
            self.deflect_call(call_id, queued, transferred_to)
            return (call_id, self.numbering.resolve(transferred_to))
        call, info, conn = self._party(call_id, device)
        if conn.state is not ConnectionState.CONNECTED:
            raise SwitchError(Refusal.NO_ACTIVE_CALL, f"call {call_id} is not active")
        target = self.destination(transferred_to, Refusal.BAD_DESTINATION, info.number)
        others = call.others(info.number)
        if not others or target in others:
            raise SwitchError(Refusal.NOT_IN_STATE, "nobody to transfer")
        self.core.remove_connection(call, info.number)
        call.calling_device = others[0]
        call.called_device = target
        call.last_redirection_device = info.number
        call.delivery_cause = EventCause.SINGLE_STEP_TRANSFER
        self.core.emit_call(
            call,
            Transferred,
            EventCause.SINGLE_STEP_TRANSFER,
            gone=(info.number,),
            secondary_old_call_id=None,
            new_call_id=call.call_id,
            transferring_device=info.number,
            transferred_to_device=target,
            connections=[ConnectionChange(d, call.call_id, call.call_id) for d in others],
        )
        self.groups.on_released(call, info.number, conn)
        self.router.offer(call, target)
        self.distribution.dispatch()
        return (call.call_id, target)

    def conference_call(self, held_call_id: str, active_call_id: str, device: str) -> str:
        held, active, info = self._two_calls(held_call_id, active_call_id, device)
        number = info.number
        held_others, active_others = held.others(number), active.others(number)
        if len(held.connections) + len(active_others) > CONFERENCE_LIMIT:
            raise SwitchError(
                Refusal.CONFERENCE_FULL,
                f"a conference has at most {CONFERENCE_LIMIT} parties",
            )
        held.connections[number].move(ConnectionState.CONNECTED)
        self.recall.on_retrieve(held, held.connections[number])
        self.core.remove_connection(active, number)
        for other in active_others:
            self.core.move_connection(active, held, other)
        self.core.retire(active)
        self.core.join_restricted(held, active)
        changes = [ConnectionChange(d, held.call_id, held.call_id) for d in [number, *held_others]]
        changes += [ConnectionChange(d, active.call_id, held.call_id) for d in active_others]
        self.core.emit_call(
            held,
            Conferenced,
            EventCause.CONFERENCE,
            secondary_old_call_id=active.call_id,
            new_call_id=held.call_id,
            conferencing_device=number,
            added_party=active_others[0] if active_others else None,
            connections=changes,
        )
        return held.call_id

    def single_step_conference(
        self,
        call_id: str,
        device_to_join: str,
        *,
        requesting: str | None = None,
        silent: bool = False,
    ) -> tuple:
        """ECMA-269 17.2.x Single Step Conference: ``device_to_join`` joins the call at the
        request of ``requesting`` (a connected party; None: the call's first connected
        party), silently with ``silent``."""
        call = self._call(call_id)
        info = self.require_terminal(device_to_join)
        if info.number in call.connections:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{info.number} is already in call {call_id}")
        connected = call.in_state(ConnectionState.CONNECTED)
        if not connected:
            raise SwitchError(Refusal.NOT_IN_STATE, f"call {call_id} is not connected")
        if requesting is None:
            conferencing = connected[0].device
        else:
            conferencing = self.party_number(requesting)
            conn = self._connection(call, conferencing, Refusal.NOT_IN_CALL)
            if conn.state is not ConnectionState.CONNECTED:
                raise SwitchError(
                    Refusal.CONNECTION_NOT_IN_STATE, f"{conferencing} is not connected in the call"
                )
        if not info.is_free():
            raise SwitchError(Refusal.DEVICE_BUSY, f"{info.number} is busy")
        if len(call.connections) >= CONFERENCE_LIMIT:
            raise SwitchError(
                Refusal.CONFERENCE_FULL,
                f"a conference has at most {CONFERENCE_LIMIT} parties",
            )
        added = self.core.add_connection(call, info.number, ConnectionState.CONNECTED)
        added.silent = bool(silent)
        cause = EventCause.SILENT_PARTICIPATION if silent else EventCause.SINGLE_STEP_CONFERENCE
        self.core.emit_call(
            call,
            Conferenced,
            cause,
            secondary_old_call_id=None,
            new_call_id=call.call_id,
            conferencing_device=conferencing,
            added_party=info.number,
            connections=[ConnectionChange(d, call.call_id, call.call_id) for d in call.connections],
        )
        return (call.call_id, info.number)

    def media(self, call_id: str) -> dict[str, list[str]]:
        """Who hears whom in a call: each party -> the parties it hears (a silent
        participant hears everyone connected and is heard by nobody)."""
        call = self._call(call_id)
        return {device: call.hears(device) for device in call.connections}

    def alternate_call(self, held_call_id: str, active_call_id: str, device: str) -> None:
        held, active, info = self._two_calls(held_call_id, active_call_id, device)
        self._hold(active, active.connections[info.number], EventCause.ALTERNATE)
        self._retrieve(held, held.connections[info.number], EventCause.ALTERNATE)

    def reconnect_call(self, held_call_id: str, active_call_id: str, device: str) -> None:
        held, active, info = self._two_calls(
            held_call_id, active_call_id, device, active_connected=False
        )
        self.core.release(active, info.number, EventCause.NORMAL_CLEARING)
        self._retrieve(held, held.connections[info.number], EventCause.NORMAL)

    def deflect_call(self, call_id: str, device: str, new_destination: str) -> None:
        call = self._call(call_id)
        group = self._queued_group(call, device)
        if group is not None:
            target = self.destination(new_destination, Refusal.BAD_DESTINATION, group)
            self.groups.redirect(call, group, target)
            return
        call, info, conn = self._party(call_id, device)
        if conn.state is not ConnectionState.ALERTING or call.prompting is not None:
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE, f"call {call_id} is not alerting at {device}"
            )
        target = self.destination(new_destination, Refusal.BAD_DESTINATION, info.number)
        if target in call.connections:
            raise SwitchError(Refusal.BAD_DESTINATION, f"{target} is already in the call")
        self.router.divert(call, info.number, target, EventCause.REDIRECTED)

    # -- routeing (ECMA-269 20.2) ---------------------------------------------------------------
    def _queued_group(self, call: Call, device: str) -> str | None:
        """``device`` if it is an ACD/CTI group at which ``call`` is queued, else None."""
        number = self.numbering.internal(device)
        conn = call.connection(number) if number is not None else None
        info = self.core.info(number) if number is not None else None
        if conn is None or info is None or info.kind is not DeviceKind.ACD_GROUP:
            return None
        return number if conn.state is ConnectionState.QUEUED else None

    def route_select(self, call_id: str, group: str, destination: str) -> tuple:
        """ECMA-269 20.2.5 Route Select: a call queued at a CTI group goes to the free
        extension the application chose (Diverted, cause distributed; Delivered there).
        Returns the destination's connection ``(call_id, device)``."""
        call = self._call(call_id)
        number = self.numbering.internal(group) or group
        target = self.numbering.internal(destination)
        info = self.core.info(target) if target is not None else None
        if info is None or not info.is_extension:
            raise SwitchError(Refusal.BAD_DESTINATION, f"{destination!r} is not an extension")
        self.groups.route(call, number, info.number)
        return (call.call_id, info.number)

    def queued_calls(self, group: str) -> list:
        acd = self.groups.acd.get(self.numbering.internal(group) or group)
        if acd is None:
            return []
        return [(c.call_id, c.calling_device, c.called_device, c.data) for c in acd.queue]

    def route_timed_out(self, call_id: str, group: str) -> None:
        """The routeing application did not route the call in time (the group's
        ``on_route_timeout``: stay queued, or go to the diverted position)."""
        call = self._call(call_id)
        self.groups.route_timed_out(call, self.numbering.internal(group) or group)

    def generate_digits(
        self, call_id: str, device: str, digits: str, *, cause: EventCause = EventCause.NORMAL
    ) -> None:
        """GenerateDigits (ECMA-269 18.2.x): DTMF in a connected call. ``device`` is an
        extension with a terminal, or an outside party of the call (a caller keying digits
        into an application's menu); ``cause`` keyOperation for the handset's keypad."""
        if self.numbering.is_external(device):
            call = self._call(call_id)
            number = device
            conn = self._connection(call, device, Refusal.NOT_IN_CALL)
        else:
            call, info, conn = self._party(call_id, device)
            number = info.number
        if conn.state is not ConnectionState.CONNECTED:
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE, f"call {call_id} is not connected at {device}"
            )
        if not digits or not set(digits) <= DIGITS:
            raise SwitchError(Refusal.BAD_ARGUMENT, f"bad digits {digits!r}")
        self.core.emit_call(call, DigitsGenerated, cause, device=number, digits=digits)

    # -- call features (docs/call-features.md; hooks: waiting.py, recall.py) ------------------
    def set_message_waiting(self, device: str, on: bool) -> None:
        """ECMA-269 21.1.x Set Message Waiting Indicator: MessageWaiting to its monitors."""
        info = self._feature_device(device)
        info.message_waiting = bool(on)
        self.core.emit(MessageWaiting(info.number, on=info.message_waiting))

    def get_message_waiting(self, device: str) -> bool:
        return self._feature_device(device).message_waiting

    def restricted_parties(self, call_id: str) -> tuple:
        """(party, trunk or None) of each party of a call whose identity is not presented."""
        return self._call(call_id).data.restricted

    # -- pick-up, park, camp-on, call back, intrusion (docs/call-pickup-park.md) -------------
    def pickup_call(
        self, call_id: str, device: str, requesting: str, *, by_hand: bool = False
    ) -> tuple:
        """ECMA-269 17.2.x Directed Pickup Call (``pickup.py``): ``requesting`` takes
        ``call_id`` ringing (or parked) at ``device``. Returns its connection."""
        call = self._call(call_id)
        number = self.numbering.internal(device)
        if number is None or number not in call.connections:
            raise SwitchError(Refusal.NOT_IN_CALL, f"{device} has no connection in call {call_id}")
        if not self.pickup.pickable(call, number):
            raise SwitchError(
                Refusal.CONNECTION_NOT_IN_STATE,
                f"call {call_id} neither rings nor is parked at {number}",
            )
        info = self.require_terminal(requesting)
        if info.number in call.connections:
            raise SwitchError(Refusal.NOT_IN_STATE, f"{info.number} is already in call {call_id}")
        self.pickup.check_requester(info, by_hand=by_hand)
        self.pickup.pick_up(call, number, info.number)
        return (call.call_id, info.number)

    def group_pickup_call(
        self, requesting: str, group: int | None = None, *, by_hand: bool = False
    ) -> tuple:
        """ECMA-269 17.2.x Group Pickup Call (``pickup.py``): ``requesting`` takes the call
        that has rung longest at a member of pick-up group ``group`` (None: its own)."""
        info = self.require_terminal(requesting)
        if group is None:
            own = self.plan.extension(info.number)
            group = own.pickup_group if own is not None else None
            if group is None:
                raise SwitchError(
                    Refusal.NOT_IN_STATE, f"{info.number} is in no call pick-up group"
                )
        members = [
            e.number
            for e in self.plan.extensions
            if e.pickup_group == group and e.number != info.number
        ]
        if not members:
            raise SwitchError(Refusal.BAD_ARGUMENT, f"no call pick-up group {group}")
        self.pickup.check_requester(info, by_hand=by_hand)
        found = self.pickup.group_call(self.calls, members, info.number)
        if found is None:
            raise SwitchError(
                Refusal.NO_CALL_TO_ANSWER, f"no call rings in call pick-up group {group}"
            )
        call, device = found
        self.pickup.pick_up(call, device, info.number)
        return (call.call_id, info.number)

    def park_call(self, call_id: str, device: str, park_to: str) -> tuple:
        """ECMA-269 17.2.x Park Call (``park.py``): ``device`` parks ``call_id`` at the
        extension ``park_to``. Returns the parked connection (call, parked-to device)."""
        call, info, _conn = self._party(call_id, device)
        target = self.numbering.internal(park_to)
        if target is None:
            raise SwitchError(
                Refusal.BAD_DESTINATION, f"{park_to!r} is not a number of the exchange"
            )
        self.parking.park(call, info.number, target)
        return (call.call_id, target)

    def parked_calls(self, device: str) -> list[str]:
        """The calls parked at ``device`` (call IDs, oldest first)."""
        return self.parking.parked_at(self.device(device).number)

    def camp_on_call(self, call_id: str, device: str) -> str:
        """ECMA-269 17.2.x Camp On Call (``campon.py``): ``device``'s call that failed at a
        busy extension waits there. Returns the extension."""
        call = self._call(call_id)
        number = self.party_number(device)
        target = self.camp_ons.camp_on(call, number)
        self.distribution.dispatch()  # free by now: it rings at once
        return target

    def call_back(self, call_id: str, device: str) -> str:
        """ECMA-269 17.2.x Call Back, call related (``callback.py``): ``device``'s call to a
        busy or unanswered extension is cleared and a call back ordered. Returns the
        extension (the response's targetDevice)."""
        call = self._call(call_id)
        return self.call_backs.order_in_call(call, self.party_number(device))

    def call_back_non_call(self, originating: str, target: str) -> None:
        """ECMA-269 21.1.x Call Back Non-Call-Related (``callback.py``)."""
        self.call_backs.order(self.device(originating).number, self.device(target).number)
        self.distribution.dispatch()

    def cancel_call_back(self, originating: str, target: str) -> None:
        """ECMA-269 21.1.x Cancel Call Back."""
        self.call_backs.cancel(self.device(originating).number, self.device(target).number)

    def call_backs_of(self, device: str) -> list[str]:
        """The extensions ``device`` has a call back on."""
        number = self.device(device).number
        return [target for origin, target in self.call_backs.pending() if origin == number]

    def intrude_call(self, call_id: str, device: str, *, silent: bool = False) -> tuple:
        """ECMA-269 17.2.x Intrude Call (``intrusion.py``): ``device``, whose call met a
        busy extension, joins the call that extension is in (``silent``: listening only).
        Returns the intruder's connection in the joined call."""
        call = self._call(call_id)
        number = self.party_number(device)
        joined = self.intrusion.intrude(call, number, silent=silent)
        return (joined.call_id, number)

    # -- logical device features -------------------------------------------------------------
    def _feature_device(self, device: str) -> DeviceInfo:
        info = self.device(device)
        if not info.is_extension:
            raise SwitchError(
                Refusal.WRONG_DEVICE_KIND,
                f"{info.number} is a {info.kind.value}, not an extension",
            )
        return info

    def set_forwarding(
        self,
        device: str,
        forwarding_type: object,
        forward_to: str | None,
        activate: bool,
        ring_count: int | None = None,
    ) -> None:
        info = self._feature_device(device)
        if not isinstance(forwarding_type, ForwardingType):
            raise SwitchError(Refusal.BAD_ARGUMENT, f"unknown forwarding type {forwarding_type!r}")
        if ring_count is not None and not 1 <= ring_count <= 15:
            raise SwitchError(Refusal.OUT_OF_RANGE, "ring count must be 1..15")
        target = None
        if activate:
            target = self.destination(
                forward_to or "", Refusal.BAD_FORWARD_DESTINATION, info.number
            )
        elif forward_to:
            target = self.numbering.resolve(forward_to) or forward_to
        if info.forwarding is None:
            info.forwarding = {}
        info.forwarding[forwarding_type] = ForwardingEntry(
            forwarding_type, activate, target, ring_count
        )
        self.core.emit(
            Forwarding(
                info.number,
                forwarding_type=forwarding_type,
                status=activate,
                forward_to=target,
                ring_count=ring_count,
            )
        )

    def get_forwarding(self, device: str) -> list:
        info = self._feature_device(device)
        entries = (info.forwarding or {}).values()
        return [(e.forwarding_type, e.active, e.forward_to, e.ring_count) for e in entries]

    def set_do_not_disturb(self, device: str, on: bool) -> None:
        info = self._feature_device(device)
        info.dnd = bool(on)
        self.core.emit(DoNotDisturb(info.number, on=info.dnd))
        if not info.dnd:
            self.distribution.dispatch()

    def get_do_not_disturb(self, device: str) -> bool:
        return self._feature_device(device).dnd

    def set_agent_state(
        self,
        device: str,
        requested: object,
        agent_id: str | None = None,
        password: str | None = None,
        group: str | None = None,
    ) -> None:
        info = self.device(device)
        if requested is RequestedAgentState.LOGGED_ON:
            self.groups.log_on(info.number, agent_id, group, password)
        elif requested is RequestedAgentState.LOGGED_OFF:
            self.groups.log_off(info.number, agent_id)
        elif isinstance(requested, RequestedAgentState):
            state = {
                RequestedAgentState.READY: AgentState.READY,
                RequestedAgentState.NOT_READY: AgentState.NOT_READY,
                RequestedAgentState.WORKING_AFTER_CALL: AgentState.WORKING_AFTER_CALL,
            }[requested]
            self.groups.request_state(info.number, state, agent_id)
        else:
            raise SwitchError(Refusal.BAD_ARGUMENT, f"unknown agent state {requested!r}")

    def get_agent_state(self, device: str) -> list:
        info = self.device(device)
        if info.agent is None:
            return []
        return [(info.agent.agent_id, info.agent.group, info.agent.state)]
