"""The switching core: the exchange's state and the call-progress steps every feature uses.

ECMA-269 clause 6 (the call model) and the event semantics of clause 17: each step changes
the connection states of one call (6.1.5) and then emits the matching domain event
(Originated, Delivered, Established, Failed, Diverted, ConnectionCleared, CallCleared).
Features (routing, groups, network, the CSTA services in ``switch.py``, the simulator)
are written in terms of these steps; none of them builds call events by hand.

Clearing rule (ECMA-269 6.3 / TR/82 "Clearing"): when a connection is released, the call goes
on only while at least two connections remain and one of them is connected or on hold (a
conference of three minus one); otherwise the other connections are released too
(ConnectionCleared each, cause normalClearing) and CallCleared ends the call.
Alerting time-out: a connection that alerts for ``plan.alerting_timeout`` seconds clears the
whole call with cause alertTimeOut (ECMA-269 12.2.x "alertTimeOut").
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from cstaserver.pbx.bus import EventBus
from cstaserver.pbx.calls import Call, CallIdAllocator, Connection
from cstaserver.pbx.devices import DeviceInfo, Numbering, build_devices
from cstaserver.pbx.errors import ErrorValue, SwitchError
from cstaserver.pbx.events import (
    CallCleared,
    ConnectionCleared,
    Delivered,
    Established,
    Failed,
    Originated,
    ServiceInitiated,
)
from cstaserver.pbx.plan import ExchangePlan
from cstaserver.pbx.states import ConnectionState, EventCause

S = ConnectionState

#: Per-step call trace at debug level (originated, delivered, answered, failed, cleared).
#: Off by default: the domain events on the bus are the trace, and even a filtered-out
#: twisted ``Logger.debug`` costs about 3 us (emit, publisher, filter predicate) - 15 us of
#: the switch's 53 us per MakeCall + ClearCall pair (bench/README.md, "make bench-xml").
#: Turn on at run time (manhole: ``cstaserver.pbx.core.CALL_TRACE = True``) to log them.
CALL_TRACE = False


class Exchange:
    """State of the simulated exchange and the call-progress steps (see module docstring)."""

    log = Logger()

    def __init__(self, plan: ExchangePlan, clock: IReactorTime) -> None:
        from cstaserver.pbx.groups import Groups
        from cstaserver.pbx.network import Network
        from cstaserver.pbx.routing import Router

        self.plan = plan
        self.clock = clock
        self.public_numbering = plan.public_numbering
        self._devices: dict[str, DeviceInfo] = build_devices(plan)
        self.numbering = Numbering(plan, self._devices)
        self.bus = EventBus()
        self.calls: dict[str, Call] = {}
        self._external: dict[str, dict[str, Connection]] = {}
        self._call_ids = CallIdAllocator()
        self.router = Router(self)
        self.groups = Groups(self)
        self.network = Network(self)

    # -- look-ups ----------------------------------------------------------------------------
    def info(self, number: str) -> DeviceInfo | None:
        return self._devices.get(number)

    def connections_at(self, number: str) -> dict[str, Connection]:
        """call ID -> Connection at a device or an external party (empty if none)."""
        info = self._devices.get(number)
        if info is not None:
            return info.connections
        return self._external.get(number, {})

    def trunks_in_use(self) -> int:
        return sum(len(conns) for conns in self._external.values())

    def require_trunk(self) -> None:
        if self.trunks_in_use() >= self.plan.network.trunk_count:
            raise SwitchError(ErrorValue.NETWORK_BUSY, "all trunks are busy")

    # -- calls and connections ---------------------------------------------------------------
    def new_call(self, **fields) -> Call:
        call = Call(self._call_ids(), **fields)
        self.calls[call.call_id] = call
        return call

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

    # -- call progress -----------------------------------------------------------------------
    def off_hook(self, device: str, cause: EventCause) -> Call:
        """A new call with ``device`` initiated (dial tone): ServiceInitiated."""
        call = self.new_call(calling_device=device, origin_cause=cause)
        self.add_connection(call, device, S.INITIATED)
        self.emit(call.event(ServiceInitiated, cause, device=device))
        return call

    def originate(self, call: Call, device: str, called: str) -> None:
        """The calling connection goes connected (Originated) and the call is routed."""
        call.connections[device].move(S.CONNECTED)
        call.cancel_timers(device)
        call.prompting = None
        self.emit(
            call.event(Originated, call.origin_cause, calling_device=device, called_device=called)
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} originated at {device}", call_id=call.call_id, device=device
            )
        self.router.offer(call, called)

    def alert(self, call: Call, device: str, *, cause: EventCause | None = None) -> None:
        """``device`` starts alerting (Delivered) with the alerting time-out running."""
        conn = call.connection(device)
        if conn is None:
            self.add_connection(call, device, S.ALERTING)
        else:
            conn.move(S.ALERTING)
        self.emit(
            call.event(
                Delivered,
                cause or call.delivery_cause,
                alerting_device=device,
                calling_device=call.calling_device,
                called_device=call.called_device,
                last_redirection_device=call.last_redirection_device,
            )
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} delivered to {device}", call_id=call.call_id, device=device
            )
        conn = call.connections[device]
        self.set_timer(call, conn, "alert", self.plan.alerting_timeout, self._alert_timeout)

    def _alert_timeout(self, call: Call, conn: Connection) -> None:
        if conn.state is not S.ALERTING:
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
        call.connections[device].move(S.CONNECTED)
        call.cancel_timers(device)
        self.emit(
            call.event(
                Established,
                call.delivery_cause,
                answering_device=device,
                calling_device=call.calling_device,
                called_device=call.called_device,
                last_redirection_device=call.last_redirection_device,
            )
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} answered by {device}", call_id=call.call_id, device=device
            )
        if call.group is not None:
            call.cancel_timer("cascade", call.group)
        for other in call.in_state(S.ALERTING):
            self.release(call, other.device, EventCause.NORMAL_CLEARING, settle=False)
        self.groups.on_answered(call, device)
        if call.predictive_target is not None:
            self.network.predictive_answered(call, device)

    def fail(self, call: Call, failing_device: str | None, cause: EventCause) -> None:
        """The call cannot be completed: the waiting parties' connections go to fail."""
        for conn in call.in_state(S.INITIATED, S.CONNECTED):
            conn.move(S.FAIL)
        self.emit(
            call.event(
                Failed,
                cause,
                failing_device=failing_device,
                calling_device=call.calling_device,
                called_device=call.called_device,
            )
        )
        if CALL_TRACE:
            self.log.debug(
                "call {call_id} failed at {device}: {cause}",
                call_id=call.call_id,
                device=failing_device,
                cause=cause.value,
            )
        # The outside network releases a failed outside party (its caller hears the tone).
        for conn in call.in_state(S.FAIL):
            if conn.device not in self._devices and not call.ended:
                self.release(call, conn.device, EventCause.NORMAL_CLEARING)
        if not call.connections and not call.ended:
            self.end_call(call, cause, involved=())

    def release(self, call: Call, device: str, cause: EventCause, *, settle: bool = True) -> None:
        """``device`` leaves the call (ConnectionCleared); the call ends if it cannot go on."""
        conn = self.remove_connection(call, device)
        self.emit(call.event(ConnectionCleared, cause, gone=(device,), releasing_device=device))
        self.groups.on_released(call, device, conn)
        if settle and not call.ended and not self.goes_on(call):
            involved = [device, *call.connections]
            for other in list(call.connections):
                self.remove_connection(call, other)
                self.emit(
                    call.event(
                        ConnectionCleared,
                        EventCause.NORMAL_CLEARING,
                        gone=(other,),
                        releasing_device=other,
                    )
                )
                self.groups.on_released(call, other, None)
            self.end_call(call, EventCause.NORMAL_CLEARING, involved=involved)
        self.groups.dispatch()

    @staticmethod
    def goes_on(call: Call) -> bool:
        return len(call.connections) >= 2 and bool(call.in_state(S.CONNECTED, S.HOLD))

    def clear_all(self, call: Call, cause: EventCause, *, first: str | None = None) -> None:
        """Every connection is released (ConnectionCleared each), then CallCleared."""
        order = list(call.connections)
        if first in call.connections:
            order.remove(first)
            order.insert(0, first)
        for device in order:
            conn = self.remove_connection(call, device)
            self.emit(call.event(ConnectionCleared, cause, gone=(device,), releasing_device=device))
            self.groups.on_released(call, device, conn)
        self.end_call(call, cause, involved=order)
        self.groups.dispatch()

    def end_call(self, call: Call, cause: EventCause, *, involved) -> None:
        call.ended = True
        call.cancel_timers()
        self.calls.pop(call.call_id, None)
        self.groups.on_call_ended(call)
        self.emit(call.event(CallCleared, cause, gone=involved))
        if CALL_TRACE:
            self.log.debug("call {call_id} cleared", call_id=call.call_id)
