"""The call-processing core: the switch's state and the call-progress steps every feature uses.

ECMA-269 clause 6 (the call model) and the event semantics of clause 17: each step changes
the connection states of one call (6.1.5) and then emits the matching domain event
(Originated, Delivered, Established, Failed, Diverted, ConnectionCleared, CallCleared).
Features (routing, groups, network, the ISwitch services of ``switch.py``, the simulator)
are written in terms of these steps; none of them builds call events by hand. A step builds
its event only when a subscription of the event bus wants it (``emit_call``; see
``bus.Interest``): with nobody monitoring the devices of a call, its steps build nothing.

Clearing rule (ECMA-269 6.3 / TR/82 "Clearing"): when a connection is released, the call goes
on only while at least two connections remain and one of them is connected or on hold (a
conference of three minus one); otherwise the other connections are released too
(ConnectionCleared each, cause normalClearing) and CallCleared ends the call.
Alerting time-out: a connection that alerts for ``plan.alerting_timeout`` seconds clears the
whole call with the switch's cause ``EventCause.ALERT_TIME_OUT`` (ECMA-269 calls this cause
alertTimeExpired, 12.3.x EventCause; the CSTA layer writes it so).

Wiring: the features are built on the core (each gets the narrow ``ICallSteps`` /
``ITrunkSteps`` it drives) and the core calls them back through three hooks given to
:meth:`CallProcessing.wire` once they exist: ``route`` (offer a call to a number: the
router), ``distribution`` (``ICallDistribution``: the groups) and ``reach_predictive`` (a
predictive call's outside party answered: the network). ``Switch`` does this wiring; until
then a step that needs a hook raises ``RuntimeError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.pbx.bus import EventBus
from cstaserver.pbx.calls import Call, CallIdAllocator, Connection
from cstaserver.pbx.devices import (
    Appearances,
    DeviceInfo,
    Numbering,
    build_devices,
    update_devices,
)
from cstaserver.pbx.events import (
    NO_CALL_DATA,
    CallCleared,
    CallData,
    ConnectionCleared,
    Delivered,
    DigitsDialed,
    Diverted,
    Established,
    Failed,
    Originated,
    ServiceInitiated,
)
from cstaserver.pbx.interfaces import ICallDistribution, ITrunkSteps
from cstaserver.pbx.plan import ExchangePlan
from cstaserver.pbx.states import ConnectionState, EventCause

#: Per-step call trace at debug level (originated, delivered, answered, failed, cleared).
#: Off by default: the domain events on the bus are the trace, and even a filtered-out
#: twisted ``Logger.debug`` costs about 3 us (emit, publisher, filter predicate) - 15 us of
#: the switch's 53 us per MakeCall + ClearCall pair (bench/README.md, "make bench-xml").
#: Turn on at run time (manhole: ``cstaserver.pbx.core.CALL_TRACE = True``) to log them.
CALL_TRACE = False

Route = Callable[[Call, str], None]


class NotWired(RuntimeError):
    """A step needed a feature hook before ``CallProcessing.wire`` was called."""


def _not_wired(*args: object) -> None:
    raise NotWired("CallProcessing.wire() has not been called")


@implementer(ICallDistribution)
class _NoDistribution:
    """The distribution hook before wiring: any use is a wiring mistake."""

    def on_answered(self, call: Call, device: str) -> None:
        _not_wired()

    def on_released(self, call: Call, device: str, conn: Connection | None) -> None:
        _not_wired()

    def on_call_ended(self, call: Call) -> None:
        _not_wired()

    def dispatch(self) -> None:
        _not_wired()


@implementer(ITrunkSteps)
class CallProcessing:
    """The switch's state (devices, calls, event bus, timers on ``clock``) and the
    call-progress steps (see the module docstring, also for :meth:`wire`)."""

    log = Logger()

    def __init__(self, plan: ExchangePlan, clock: IReactorTime) -> None:
        self.plan = plan
        self.clock = clock
        self.public_numbering = plan.public_numbering
        self._devices: dict[str, DeviceInfo] = build_devices(plan)
        self.numbering = Numbering(plan, self._devices)
        self.appearances = Appearances(self._devices)
        self.bus = EventBus()
        self.calls: dict[str, Call] = {}
        self._external: dict[str, dict[str, Connection]] = {}
        self._call_ids = CallIdAllocator()
        self._route: Route = _not_wired
        self._distribution: ICallDistribution = _NoDistribution()
        self._reach_predictive: Route = _not_wired
        #: The simulated person at a phone a MakeCall prompts, if it has a behaviour profile
        #: (``behaviour.People``): True when the person takes care of the prompt, so the
        #: exchange's ``prompt_answer_seconds`` does not apply.
        self.person_prompted: Callable[[Call, Connection], bool] = lambda call, conn: False

    def wire(
        self, *, route: Route, distribution: ICallDistribution, reach_predictive: Route
    ) -> None:
        """Give the core its feature hooks (once the features, built on the core, exist)."""
        self._route = route
        self._distribution = distribution
        self._reach_predictive = reach_predictive

    def update_plan(self, plan: ExchangePlan) -> None:
        """A changed plan (``Switch.update_plan`` has checked it can be taken): the devices
        (see :func:`~cstaserver.pbx.devices.update_devices`), the digit analysis and the
        alerting time-out of the calls to come."""
        update_devices(self._devices, self.plan, plan)
        self.plan = self.numbering.plan = plan
        self.public_numbering = plan.public_numbering

    # -- look-ups ----------------------------------------------------------------------------
    def info(self, number: str) -> DeviceInfo | None:
        return self._devices.get(number)

    def connections_at(self, number: str) -> dict[str, Connection]:
        """call ID -> Connection at a device or an external party (empty if none)."""
        info = self._devices.get(number)
        if info is not None:
            return info.connections
        return self._external.get(number, {})

    def devices(self) -> list[DeviceInfo]:
        """Every device, in numbering-plan order."""
        return list(self._devices.values())

    def trunks_in_use(self) -> int:
        return sum(len(conns) for conns in self._external.values())

    # -- calls and connections ---------------------------------------------------------------
    def new_call(self, **fields) -> Call:
        """A new call; a calling extension with ``withhold_number`` is restricted in it."""
        call = Call(self._call_ids(), **fields)
        self.calls[call.call_id] = call
        info = self._devices.get(call.calling_device or "")
        if info is not None and info.withhold_number:
            call.add_data(restricted=(*call.data.restricted, (info.number, None)))
        return call

    @staticmethod
    def join_restricted(target: Call, source: Call) -> None:
        """``source``'s parties join ``target`` (transfer, conference): their identities stay
        restricted there."""
        if source.data.restricted:
            merged = dict.fromkeys((*target.data.restricted, *source.data.restricted))
            target.add_data(restricted=tuple(merged))

    def dialled(self, call: Call, device: str, digits: str) -> None:
        """``device``, off-hook in ``call``, dialled ``digits`` (DigitsDialed)."""
        self.emit_call(call, DigitsDialed, EventCause.NORMAL, device=device, digits=digits)

    def add_connection(self, call: Call, device: str, state: ConnectionState) -> Connection:
        conn = call.add(device, state)
        info = self._devices.get(device)
        if info is not None:
            info.connections[call.call_id] = conn
        else:
            self._external.setdefault(device, {})[call.call_id] = conn
        return conn

    def remove_connection(self, call: Call, device: str) -> Connection:
        conn = call.remove(device)
        info = self._devices.get(device)
        if info is not None:
            info.connections.pop(call.call_id, None)
        else:
            conns = self._external.get(device)
            if conns is not None:
                conns.pop(call.call_id, None)
                if not conns:
                    del self._external[device]
        return conn

    def emit(self, event: object) -> None:
        self.bus.publish(event)

    def emit_call(
        self, call: Call, cls: type, cause: EventCause, *, gone: Iterable[str] = (), **fields: Any
    ) -> None:
        """Emit ``call.event(cls, cause, gone=gone, **fields)`` if a subscription wants it
        (``EventBus.wants``: its call, one of its devices - the parties, ``gone`` and the
        call's watchers - or its class); nothing is built otherwise. A Transferred or
        Conferenced is also wanted for the other call it merges (``secondary_old_call_id``)
        or the call it becomes (``new_call_id``)."""
        bus = self.bus
        if bus.wants(cls, call.call_id, call.connections, gone, call.watchers) or (
            "new_call_id" in fields and self._merge_wanted(cls, fields)
        ):
            bus.publish(call.event(cls, cause, gone=gone, **fields))

    def _merge_wanted(self, cls: type, fields: dict[str, Any]) -> bool:
        secondary = fields.get("secondary_old_call_id")
        return (secondary is not None and self.bus.wants(cls, secondary)) or self.bus.wants(
            cls, fields["new_call_id"]
        )

    def emit_diverted(
        self,
        call: Call,
        cause: EventCause,
        diverting: str,
        to: str,
        *,
        gone: Iterable[str] = (),
        called: str | None = None,
    ) -> None:
        """Emit ``call.diverted(...)`` (ECMA-269 Diverted) if a subscription wants it."""
        bus = self.bus
        if bus.wants(Diverted, call.call_id, call.connections, gone, call.watchers):
            bus.publish(call.diverted(cause, diverting, to, gone=gone, called=called))

    def offer(self, call: Call, target: str) -> None:
        """Route ``call`` to ``target`` through the routing hook."""
        self._route(call, target)

    # -- call progress -----------------------------------------------------------------------
    def off_hook(self, device: str, cause: EventCause, *, data: CallData = NO_CALL_DATA) -> Call:
        """A new call with ``device`` initiated (dial tone): ServiceInitiated. ``data``: the
        call data the call starts with (MakeCall's correlator and user data)."""
        call = self.new_call(calling_device=device, origin_cause=cause, data=data)
        self.add_connection(call, device, ConnectionState.INITIATED)
        self.emit_call(call, ServiceInitiated, cause, device=device)
        return call

    def prompt(self, call: Call, device: str) -> None:
        """The calling device of a new call (initiated, ServiceInitiated emitted) is prompted
        to go off-hook: its terminal rings until the person lifts the handset
        (:meth:`answer` then originates the call), for at most ``plan.alerting_timeout``
        seconds (then the call is cleared, cause alertTimeExpired). With
        ``plan.prompt_answer_seconds`` set, the simulated person does so after that time,
        unless the phone's person has a behaviour profile (:attr:`person_prompted`)."""
        conn = call.connections[device]
        self.set_timer(call, conn, "alert", self.plan.alerting_timeout, self._prompt_timeout)
        if self.person_prompted(call, conn):
            return
        delay = self.plan.prompt_answer_seconds
        if delay is not None:
            self.set_timer(call, conn, "prompt", delay, self._prompt_answered)

    @staticmethod
    def is_prompted(call: Call, conn: Connection) -> bool:
        """``conn`` is a calling device being prompted for ``call``."""
        return (
            call.prompting is not None
            and conn.state is ConnectionState.INITIATED
            and conn.device == call.calling_device
        )

    def _prompt_answered(self, call: Call, conn: Connection) -> None:
        if self.is_prompted(call, conn):
            self.answer(call, conn.device)

    def _prompt_timeout(self, call: Call, conn: Connection) -> None:
        if self.is_prompted(call, conn):
            self.clear_all(call, EventCause.ALERT_TIME_OUT, first=conn.device)

    def originate(self, call: Call, device: str, called: str) -> None:
        """The calling connection goes connected (Originated) and the call is routed."""
        call.connections[device].move(ConnectionState.CONNECTED)
        call.cancel_timers(device)
        call.prompting = None
        self.emit_call(
            call, Originated, call.origin_cause, calling_device=device, called_device=called
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} originated at {device}", call_id=call.call_id, device=device
            )
        self._route(call, called)

    def alert(self, call: Call, device: str, *, cause: EventCause | None = None) -> None:
        """``device`` starts alerting (Delivered) with the alerting time-out running."""
        conn = call.connection(device)
        if conn is None:
            self.add_connection(call, device, ConnectionState.ALERTING)
        else:
            conn.move(ConnectionState.ALERTING)
        self.emit_call(
            call,
            Delivered,
            cause or call.delivery_cause,
            alerting_device=device,
            calling_device=call.calling_device,
            called_device=call.called_device,
            last_redirection_device=call.last_redirection_device,
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} delivered to {device}", call_id=call.call_id, device=device
            )
        conn = call.connections[device]
        self.set_timer(call, conn, "alert", self.plan.alerting_timeout, self._alert_timeout)

    def _alert_timeout(self, call: Call, conn: Connection) -> None:
        if conn.state is not ConnectionState.ALERTING:
            return
        self.log.info(
            "call {call_id} not answered at {device}: cleared",
            call_id=call.call_id,
            device=conn.device,
        )
        self.clear_all(call, EventCause.ALERT_TIME_OUT, first=conn.device)

    # -- timers ------------------------------------------------------------------------------
    def set_timer(
        self, call: Call, conn: Connection, purpose: str, delay: float, action, *args
    ) -> None:
        """Run ``action(call, conn, *args)`` after ``delay`` if ``conn`` is still in a call.

        The timer belongs to the connection: it moves with it when a transfer or conference
        moves the connection to another call, and is cancelled when the connection goes.
        """

        def fire() -> None:
            current = self.calls.get(conn.call_id)
            if current is None or current.connections.get(conn.device) is not conn:
                return
            current.timers.pop((purpose, conn.device), None)
            action(current, conn, *args)

        call.set_timer(purpose, conn.device, self.clock.callLater(delay, fire))

    def move_connection(self, source: Call, target: Call, device: str) -> Connection:
        """Move ``device``'s connection (state and timers) from ``source`` to ``target``."""
        conn = source.connections.pop(device)
        conn.call_id = target.call_id
        target.connections[device] = conn
        for purpose, owner in list(source.timers):
            if owner == device:
                target.timers[(purpose, owner)] = source.timers.pop((purpose, owner))
        info = self._devices.get(device)
        index = info.connections if info is not None else self._external.setdefault(device, {})
        index.pop(source.call_id, None)
        index[target.call_id] = conn
        return conn

    def retire(self, call: Call) -> None:
        """Forget a call whose connections all moved to another one (transfer, conference)."""
        call.ended = True
        call.cancel_timers()
        self.calls.pop(call.call_id, None)

    def answer(self, call: Call, device: str) -> None:
        """An alerting (or queued) connection is answered."""
        if call.prompting is not None and device == call.calling_device:
            self.originate(call, device, call.prompting)
            return
        call.connections[device].move(ConnectionState.CONNECTED)
        call.cancel_timers(device)
        self.emit_call(
            call,
            Established,
            call.delivery_cause,
            answering_device=device,
            calling_device=call.calling_device,
            called_device=call.called_device,
            last_redirection_device=call.last_redirection_device,
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} answered by {device}", call_id=call.call_id, device=device
            )
        if call.group is not None:
            call.cancel_timer("cascade", call.group)
        for other in call.in_state(ConnectionState.ALERTING):
            self.release(call, other.device, EventCause.NORMAL_CLEARING, settle=False)
        self._distribution.on_answered(call, device)
        if call.predictive_target is not None:
            self._reach_predictive(call, device)

    def fail(self, call: Call, failing_device: str | None, cause: EventCause) -> None:
        """The call cannot be completed: the waiting parties' connections go to fail."""
        for conn in call.in_state(ConnectionState.INITIATED, ConnectionState.CONNECTED):
            conn.move(ConnectionState.FAIL)
        self.emit_call(
            call,
            Failed,
            cause,
            failing_device=failing_device,
            calling_device=call.calling_device,
            called_device=call.called_device,
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} failed at {device}: {cause}",
                call_id=call.call_id,
                device=failing_device,
                cause=cause.value,
            )
        # The outside network releases a failed outside party (its caller hears the tone).
        for conn in call.in_state(ConnectionState.FAIL):
            if conn.device not in self._devices and not call.ended:
                self.release(call, conn.device, EventCause.NORMAL_CLEARING)
        if not call.connections and not call.ended:
            self.end_call(call, cause, involved=())

    def fail_unanswered(self, call: Call, device: str, cause: EventCause) -> None:
        """``device`` let the call ring out (a predictive call's alert time): its alerting
        connection goes to fail, then as :meth:`fail` (Failed at ``device``)."""
        call.connections[device].move(ConnectionState.FAIL)
        call.cancel_timers(device)
        self.fail(call, device, cause)

    def release(
        self,
        call: Call,
        device: str,
        cause: EventCause,
        *,
        settle: bool = True,
        redistribute: bool = True,
    ) -> None:
        """``device`` leaves the call (ConnectionCleared); the call ends if it cannot go on
        (``settle``). Then queued calls go to agents who became free (``redistribute``: a
        caller that still moves the call on itself does that when it is done)."""
        conn = self.remove_connection(call, device)
        self.emit_call(call, ConnectionCleared, cause, gone=(device,), releasing_device=device)
        self._distribution.on_released(call, device, conn)
        if settle and not call.ended and not self.goes_on(call):
            involved = [device, *call.connections]
            for other in list(call.connections):
                self.remove_connection(call, other)
                self.emit_call(
                    call,
                    ConnectionCleared,
                    EventCause.NORMAL_CLEARING,
                    gone=(other,),
                    releasing_device=other,
                )
                self._distribution.on_released(call, other, None)
            self.end_call(call, EventCause.NORMAL_CLEARING, involved=involved)
        if redistribute:
            self._distribution.dispatch()

    @staticmethod
    def goes_on(call: Call) -> bool:
        return len(call.connections) >= 2 and bool(
            call.in_state(ConnectionState.CONNECTED, ConnectionState.HOLD)
        )

    def clear_all(self, call: Call, cause: EventCause, *, first: str | None = None) -> None:
        """Every connection is released (ConnectionCleared each), then CallCleared."""
        order = list(call.connections)
        if first in call.connections:
            order.remove(first)
            order.insert(0, first)
        for device in order:
            conn = self.remove_connection(call, device)
            self.emit_call(call, ConnectionCleared, cause, gone=(device,), releasing_device=device)
            self._distribution.on_released(call, device, conn)
        self.end_call(call, cause, involved=order)
        self._distribution.dispatch()

    def end_call(self, call: Call, cause: EventCause, *, involved) -> None:
        call.ended = True
        call.cancel_timers()
        self.calls.pop(call.call_id, None)
        self._distribution.on_call_ended(call)
        self.emit_call(call, CallCleared, cause, gone=involved)
        if CALL_TRACE:
            self.log.debug("call {call_id} cleared", call_id=call.call_id)
