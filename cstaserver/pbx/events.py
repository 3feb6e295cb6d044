"""Domain events of the switching model: every change of state, with its cause.

The event set follows ECMA-269 clause 17 (call control events), 19 (logical device
feature events, incl. agent states) in protocol-neutral form. Devices are named by their
internal number (``"1001"``, the group ``"2000"``, the trunk ``"0"``); an external party by
its number as dialled or presented (``"0812345"``, ``"+4685550107"``); ``None`` means
"not known".

Routing: every call event carries ``devices``, the devices that had or have a connection in
the call(s) concerned (so a device monitor on any of them sees it), ``call_ids`` (the calls a
call monitor must be on to see it) and ``states``, each party's connection state *after* the
event (a device monitor's ``localConnectionInfo``). Device events carry their ``device``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from cstaserver.pbx.states import AgentState, ConnectionState, EventCause, ForwardingType


def _freeze_states(value: Mapping[str, ConnectionState]) -> tuple[tuple[str, ConnectionState], ...]:
    if type(value) is tuple:  # what Call.event passes: skip the (slow) ABC Mapping check
        return value
    return tuple(value.items()) if isinstance(value, Mapping) else tuple(value)


@attrs.frozen
class CallData:
    """What the switch keeps with a call and reports in every event of it (ECMA-269 12.3.x).

    - ``correlator_data`` / ``user_data``: given by the application that made the call
      (MakeCall, MakePredictiveCall); opaque to the switch, which only stores and copies them
      (the CSTA layer decides what they hold).
    - ``network_called_device``: for a call that came in from the network, the number the
      outside caller dialled, as dialled (the public number).
    - ``associated_calling_device``: for a call that came in from the network, the trunk it
      came in on.
    - ``associated_called_device``: for a call made to an outside number, the trunk it left
      on (set when the network is reached).
    - ``network_calling_device``: for a call that came in from the network, the caller's
      number as the network gave it.
    - ``restricted``: the parties of the call whose identity may not be presented (a withheld
      outside caller, an extension with ``withhold_number``): ECMA-269 ``restricted``. Pairs
      of (party, the trunk an outside party came in on, or None for an extension).
    """

    correlator_data: str | None = None
    user_data: object | None = None
    network_called_device: str | None = None
    associated_calling_device: str | None = None
    associated_called_device: str | None = None
    network_calling_device: str | None = None
    restricted: tuple[tuple[str, str | None], ...] = ()


#: The call data of a call that has none (shared: CallData is immutable).
NO_CALL_DATA = CallData()


@attrs.frozen
class CallEvent:
    """Base of the events about a call; ``data`` is the call's :class:`CallData` when the
    event happened (the routeing service reads ``event.data.correlator_data``)."""

    call_id: str
    cause: EventCause = attrs.field(kw_only=True)
    devices: tuple[str, ...] = attrs.field(kw_only=True, default=(), converter=tuple)
    states: tuple[tuple[str, ConnectionState], ...] = attrs.field(
        kw_only=True, default=(), converter=_freeze_states
    )
    data: CallData = attrs.field(kw_only=True, default=NO_CALL_DATA)

    @property
    def call_ids(self) -> tuple[str, ...]:
        return (self.call_id,)

    def state_of(self, device: str) -> ConnectionState:
        """The connection state of ``device`` in this call after the event (NULL if none)."""
        for number, state in self.states:
            if number == device:
                return state
        return ConnectionState.NULL


@attrs.frozen
class ServiceInitiated(CallEvent):
    """17.2.x: a connection at ``device`` went to initiated (off-hook / MakeCall)."""

    device: str = attrs.field(kw_only=True)


@attrs.frozen
class Originated(CallEvent):
    calling_device: str = attrs.field(kw_only=True)
    called_device: str | None = attrs.field(kw_only=True)


@attrs.frozen
class NetworkReached(CallEvent):
    """The call left the exchange on ``trunk`` towards ``called_device``."""

    trunk: str = attrs.field(kw_only=True)
    called_device: str | None = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class Delivered(CallEvent):
    alerting_device: str = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True)
    called_device: str | None = attrs.field(kw_only=True)
    last_redirection_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class Established(CallEvent):
    answering_device: str = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True)
    called_device: str | None = attrs.field(kw_only=True)
    last_redirection_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class ConnectionCleared(CallEvent):
    releasing_device: str = attrs.field(kw_only=True)


@attrs.frozen
class CallCleared(CallEvent):
    pass


@attrs.frozen
class Held(CallEvent):
    holding_device: str = attrs.field(kw_only=True)


@attrs.frozen
class Retrieved(CallEvent):
    retrieving_device: str = attrs.field(kw_only=True)


@attrs.frozen
class ConnectionChange:
    """One party of a transfer or conference: its old and new connection."""

    device: str
    old_call_id: str | None
    new_call_id: str | None


@attrs.frozen
class MergingCallEvent(CallEvent):
    """A transfer or conference: two old calls become ``new_call_id``; a call monitor on any
    of them sees the event."""

    secondary_old_call_id: str | None = attrs.field(kw_only=True)
    new_call_id: str = attrs.field(kw_only=True)

    @property
    def call_ids(self) -> tuple[str, ...]:
        ids = [self.call_id]
        for other in (self.secondary_old_call_id, self.new_call_id):
            if other is not None and other not in ids:
                ids.append(other)
        return tuple(ids)


@attrs.frozen
class Transferred(MergingCallEvent):
    """``call_id`` is the primary old call (the held one), ``secondary_old_call_id`` the
    active one; the surviving call is ``new_call_id``."""

    transferring_device: str = attrs.field(kw_only=True)
    transferred_to_device: str | None = attrs.field(kw_only=True)
    connections: tuple[ConnectionChange, ...] = attrs.field(kw_only=True, converter=tuple)


@attrs.frozen
class Conferenced(MergingCallEvent):
    """``call_id`` is the primary old call, ``new_call_id`` the conference call."""

    conferencing_device: str = attrs.field(kw_only=True)
    added_party: str | None = attrs.field(kw_only=True)
    connections: tuple[ConnectionChange, ...] = attrs.field(kw_only=True, converter=tuple)


@attrs.frozen
class Diverted(CallEvent):
    """The call left ``diverting_device`` (forwarding, deflection, group distribution)."""

    diverting_device: str = attrs.field(kw_only=True)
    new_destination: str | None = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True, default=None)
    called_device: str | None = attrs.field(kw_only=True, default=None)
    last_redirection_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class Failed(CallEvent):
    failing_device: str | None = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True, default=None)
    called_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class Queued(CallEvent):
    queue: str = attrs.field(kw_only=True)
    calling_device: str | None = attrs.field(kw_only=True)
    called_device: str | None = attrs.field(kw_only=True)
    number_queued: int = attrs.field(kw_only=True)
    last_redirection_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class DigitsGenerated(CallEvent):
    device: str = attrs.field(kw_only=True)
    digits: str = attrs.field(kw_only=True)


@attrs.frozen
class DigitsDialed(CallEvent):
    """ECMA-269 17.2.x Digits Dialed: ``device``, off-hook in the call, dialled ``digits``
    (before the exchange routes the call)."""

    device: str = attrs.field(kw_only=True)
    digits: str = attrs.field(kw_only=True)


@attrs.frozen
class CallInformation(CallEvent):
    """ECMA-269 18.2.x Call Information: the call's information (its call data) changed while
    ``device`` is in the call."""

    device: str = attrs.field(kw_only=True)


@attrs.frozen
class DeviceEvent:
    """Base of the events about a device rather than a call."""

    device: str

    @property
    def devices(self) -> tuple[str, ...]:
        return (self.device,)

    @property
    def call_ids(self) -> tuple[str, ...]:
        return ()


@attrs.frozen
class Forwarding(DeviceEvent):
    forwarding_type: ForwardingType = attrs.field(kw_only=True)
    status: bool = attrs.field(kw_only=True)
    forward_to: str | None = attrs.field(kw_only=True, default=None)
    ring_count: int | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class DoNotDisturb(DeviceEvent):
    on: bool = attrs.field(kw_only=True)


@attrs.frozen
class MessageWaiting(DeviceEvent):
    """ECMA-269 21.2.x Message Waiting: the device's message waiting indicator went on or
    off (``for_device``: the device the message is for, when another device set it)."""

    on: bool = attrs.field(kw_only=True)
    for_device: str | None = attrs.field(kw_only=True, default=None)


@attrs.frozen
class CallBack(DeviceEvent):
    """ECMA-269 21.2.x Call Back: a call back request of ``device`` (the originating device)
    on ``target`` was set (``is_set`` True) or cancelled - by CancelCallBack, its time-out,
    or because it was carried out. Monitors of both devices see it."""

    target: str = attrs.field(kw_only=True)
    is_set: bool = attrs.field(kw_only=True)

    @property
    def devices(self) -> tuple[str, ...]:
        return (self.device, self.target)


@attrs.frozen
class AgentEvent(DeviceEvent):
    """Agent state changes (ECMA-269 19.2.x); ``device`` is where the agent is logged on.
    The event concerns the agent's group too, so a monitor of the group sees it."""

    agent_id: str = attrs.field(kw_only=True)
    group: str | None = attrs.field(kw_only=True, default=None)
    state: AgentState = attrs.field(kw_only=True)
    cause: EventCause | None = attrs.field(kw_only=True, default=None)

    @property
    def devices(self) -> tuple[str, ...]:
        return (self.device, self.group) if self.group else (self.device,)


@attrs.frozen
class AgentLoggedOn(AgentEvent):
    pass


@attrs.frozen
class AgentLoggedOff(AgentEvent):
    pass


@attrs.frozen
class AgentReady(AgentEvent):
    pass


@attrs.frozen
class AgentNotReady(AgentEvent):
    pass


@attrs.frozen
class AgentBusy(AgentEvent):
    pass


@attrs.frozen
class AgentWorkingAfterCall(AgentEvent):
    pass


SwitchEvent = CallEvent | DeviceEvent
