"""Calls and connections with ECMA-269 connection states.

ECMA-269 clause 6.1.3-6.1.5: a call is a set of connections, one per device taking part;
each connection is in one of the states null, initiated, alerting, connected, hold, queued,
fail, and moves only along the transitions of 6.1.5 (:data:`TRANSITIONS`; anything else is a
bug in the switching model and raises :class:`InvalidTransition`). Call IDs are short
decimal strings, stable for the life of the call.

:meth:`Call.event` builds a call event with its routing fields filled in: ``devices`` (every
device that has a connection after the event, or that had one before it: ``gone``) and
``states`` (each one's connection state after the event, null for the gone ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import count
from typing import Any, TypeVar

import attrs
from twisted.internet.interfaces import IDelayedCall

from cstaserver.pbx.events import NO_CALL_DATA, CallData, CallEvent, Diverted
from cstaserver.pbx.states import ConnectionState, EventCause

TRANSITIONS: dict[ConnectionState, frozenset[ConnectionState]] = {
    ConnectionState.NULL: frozenset(
        {
            ConnectionState.INITIATED,
            ConnectionState.ALERTING,
            ConnectionState.CONNECTED,
            ConnectionState.QUEUED,
            ConnectionState.FAIL,
        }
    ),
    ConnectionState.INITIATED: frozenset(
        {
            ConnectionState.CONNECTED,
            ConnectionState.ALERTING,
            ConnectionState.FAIL,
            ConnectionState.NULL,
        }
    ),
    ConnectionState.ALERTING: frozenset(
        {ConnectionState.CONNECTED, ConnectionState.FAIL, ConnectionState.NULL}
    ),
    ConnectionState.CONNECTED: frozenset(
        {ConnectionState.HOLD, ConnectionState.FAIL, ConnectionState.NULL}
    ),
    # hold -> alerting: a held call recalls the holding device (Delivered, cause recall)
    ConnectionState.HOLD: frozenset(
        {ConnectionState.CONNECTED, ConnectionState.ALERTING, ConnectionState.NULL}
    ),
    ConnectionState.QUEUED: frozenset(
        {
            ConnectionState.ALERTING,
            ConnectionState.CONNECTED,
            ConnectionState.FAIL,
            ConnectionState.NULL,
        }
    ),
    # fail -> connected: a caller that met a busy extension camps on (CampOnCall) and hears
    # ring-back again while its call waits there (campon.py)
    ConnectionState.FAIL: frozenset({ConnectionState.CONNECTED, ConnectionState.NULL}),
}

E = TypeVar("E", bound=CallEvent)


class InvalidTransition(RuntimeError):
    """A connection was asked to move along a transition ECMA-269 6.1.5 does not have."""


@attrs.define(slots=True, eq=False)
class Connection:
    """One device's connection to one call (the CSTA connection ID is (call_id, device)).

    ``terminal``: for an EDN or ADN line, the phone that answered or originated it (see
    ``devices.Appearances``); None for a device that is its own phone. ``silent``: the
    device takes part silently (SingleStepConference or IntrudeCall with participationType
    silent): it hears the call, nobody hears it (``Call.hears``)."""

    call_id: str
    device: str
    state: ConnectionState = ConnectionState.NULL
    terminal: str | None = None
    silent: bool = False

    def move(self, new: ConnectionState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise InvalidTransition(
                f"connection {self.device} in call {self.call_id}: "
                f"{self.state.value} -> {new.value}"
            )
        self.state = new


@attrs.define(eq=False)
class Call:
    """A call: its connections (in joining order) and what it knows of its parties.

    ``calling_device`` / ``called_device`` (the number dialled) and
    ``last_redirection_device`` are what Delivered/Established report; ``delivery_cause`` is
    the cause of the latest delivery (newCall, callForward..., distributed, ...). ``watchers``
    are devices that see the call's events without a connection (the calling device of a
    predictive call before it is reached). ``timers`` hold the call's pending time-outs.
    ``data`` is the call's :class:`~cstaserver.pbx.events.CallData` (correlator and user data,
    network called device, associated devices), copied into every event of the call.
    ``consultation_of``: for a consultation call, the held call it consults about (the
    on-hook during a consultation transfers or recalls it: ``recall.py``).
    """

    call_id: str
    calling_device: str | None = None
    called_device: str | None = None
    last_redirection_device: str | None = None
    delivery_cause: EventCause = EventCause.NEW_CALL
    origin_cause: EventCause = EventCause.NEW_CALL
    connections: dict[str, Connection] = attrs.Factory(dict)
    watchers: list[str] = attrs.Factory(list)
    timers: dict[tuple[str, str], IDelayedCall] = attrs.Factory(dict)
    prompting: str | None = None  # the number to call once the prompted caller answers
    group: str | None = None  # the ACD / hunt / cascade group that distributed the call
    predictive_target: str | None = None  # make_predictive_call: deliver here when answered
    consultation_of: str | None = None  # a consultation call: the held call it was made from
    alert_time: float | None = None  # make_predictive_call: how long the called party may ring
    data: CallData = NO_CALL_DATA
    parked_by: str | None = None  # a parked call (park.py): the device that parked it
    redirections: int = 0
    ended: bool = False

    # -- call data (ECMA-269 12.3.x) ------------------------------------------------------------
    @property
    def correlator_data(self) -> str | None:
        return self.data.correlator_data

    @property
    def user_data(self) -> object | None:
        return self.data.user_data

    def add_data(self, **fields: Any) -> None:
        """Set some fields of the call's :class:`~cstaserver.pbx.events.CallData`."""
        self.data = attrs.evolve(self.data, **fields)

    # -- connections -------------------------------------------------------------------------
    def connection(self, device: str) -> Connection | None:
        return self.connections.get(device)

    def add(self, device: str, state: ConnectionState) -> Connection:
        conn = Connection(self.call_id, device)
        conn.move(state)
        self.connections[device] = conn
        return conn

    def remove(self, device: str) -> Connection:
        conn = self.connections.pop(device)
        conn.move(ConnectionState.NULL)
        self.cancel_timers(device)
        return conn

    def in_state(self, *states: ConnectionState) -> list[Connection]:
        return [c for c in self.connections.values() if c.state in states]

    def hears(self, device: str) -> list[str]:
        """The parties ``device`` hears (ECMA-269 6.1 media: a connected party hears every
        other connected party that is not a silent participant); empty unless connected."""
        conn = self.connections.get(device)
        if conn is None or conn.state is not ConnectionState.CONNECTED:
            return []
        return [
            c.device
            for c in self.connections.values()
            if c.device != device and c.state is ConnectionState.CONNECTED and not c.silent
        ]

    def others(self, device: str) -> list[str]:
        return [d for d in self.connections if d != device]

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self.connections.values()))

    # -- timers ------------------------------------------------------------------------------
    def set_timer(self, purpose: str, device: str, delayed: IDelayedCall) -> None:
        self.cancel_timer(purpose, device)
        self.timers[(purpose, device)] = delayed

    def cancel_timer(self, purpose: str, device: str) -> None:
        delayed = self.timers.pop((purpose, device), None)
        if delayed is not None and delayed.active():
            delayed.cancel()

    def cancel_timers(self, device: str | None = None) -> None:
        for purpose, owner in list(self.timers):
            if device is None or owner == device:
                self.cancel_timer(purpose, owner)

    # -- events ------------------------------------------------------------------------------
    def states(self, gone: Iterable[str] = ()) -> list[tuple[str, ConnectionState]]:
        """Each party's state now, then the ``gone`` devices and watchers as null."""
        result = [(c.device, c.state) for c in self.connections.values()]
        extra = (*gone, *self.watchers) if self.watchers else gone
        if extra:  # usually empty or one or two: the set only then
            seen = {d for d, _ in result}
            for device in extra:
                if device is not None and device not in seen:
                    seen.add(device)
                    result.append((device, ConnectionState.NULL))
        return result

    def event(
        self, cls: type[E], cause: EventCause, *, gone: Iterable[str] = (), **fields: Any
    ) -> E:
        """A ``cls`` event of this call, routed to its devices (and the ``gone`` ones)."""
        # Tuples built here pass the event's converters unchanged (about 1 us of the 2.7 us
        # a Delivered event cost with lists and the Mapping check).
        states = tuple(self.states(gone))
        return cls(
            self.call_id,
            cause=cause,
            devices=tuple([d for d, _ in states]),
            states=states,
            data=self.data,
            **fields,
        )

    def diverted(
        self,
        cause: EventCause,
        diverting: str,
        to: str,
        *,
        gone: Iterable[str] = (),
        called: str | None = None,
    ) -> Diverted:
        """ECMA-269 17.2.x Diverted: this call leaves ``diverting`` for ``to`` (the
        ``diverting`` device's monitor and the ``gone`` ones still see it); the called device
        is ``called`` or the call's own."""
        return self.event(
            Diverted,
            cause,
            gone=gone,
            diverting_device=diverting,
            new_destination=to,
            calling_device=self.calling_device,
            called_device=self.called_device if called is None else called,
            last_redirection_device=diverting,
        )


class CallIdAllocator:
    """Short decimal call IDs, never reused while the switch runs."""

    def __init__(self, start: int = 1) -> None:
        self._next = count(start)

    def __call__(self) -> str:
        return str(next(self._next))
