"""Switch domain events as ECMA-269 clause 17/18/21 events (ECMA-323 encoding).

One function per domain event builds the CSTA event for one *view*: the monitored device
(its ``localConnectionInfo`` comes from the event's per-party states) and the monitor's
presentation of devices; the parties of the call whose identity is restricted (withheld
caller ID, ``CallData.restricted``) are written ``<restricted/>`` to every monitor but their
own (``Presenter.hiding``). Causes, connection states and forwarding types are translated by
the tables of ``csta.mapping``. The call's data (``pbx.events.CallData``: correlatorData,
userData, networkCalledDevice, associatedCallingDevice, associatedCalledDevice; ECMA-269
12.3.x) goes into every event whose ECMA-323 form has the field. The result is serialised
once into an ``EventTemplate`` and the registry reuses its bytes for every monitor with that
view, only ``monitorCrossRefID`` differing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cstaserver.csta import codec
from cstaserver.csta.calldata import user_data_out
from cstaserver.csta.mapping import local_state, wire_cause, wire_forwarding_type
from cstaserver.csta.messages import events as csta_events
from cstaserver.csta.messages.common import ConnectionListItem
from cstaserver.csta.presentation import Presenter
from cstaserver.csta.types import DeviceID, LocalConnectionState
from cstaserver.pbx import events as pbx_events
from cstaserver.pbx.events import NO_CALL_DATA

XREF = "0"  # placeholder; the template substitutes each monitor's crossRefID


def _local(event: pbx_events.CallEvent, viewpoint: str | None) -> LocalConnectionState | None:
    if viewpoint is None:
        return None
    return local_state(event.state_of(viewpoint))


def _connection_list(p: Presenter, changes: tuple[pbx_events.ConnectionChange, ...]) -> list:
    return [
        ConnectionListItem(
            new_connection=p.connection(c.new_call_id, c.device) if c.new_call_id else None,
            old_connection=p.connection(c.old_call_id, c.device) if c.old_call_id else None,
        )
        for c in changes
    ]


def _agent(cls: type) -> Callable[[pbx_events.AgentEvent, Presenter, str | None], Any]:
    def build(e: pbx_events.AgentEvent, p: Presenter, _v: str | None) -> Any:
        return cls(
            monitor_cross_ref_id=XREF,
            agent_device=p.extended(e.device),
            agent_id=e.agent_id,
            acd_group=p.device_id(e.group),
            cause=wire_cause(e.cause),
        )

    return build


_NO_FIELDS: dict[str, Any] = {}


def _call_data(e: pbx_events.CallEvent) -> dict[str, Any]:
    """``correlatorData`` and ``userData`` of the call (ECMA-269 12.3.x), for every call event
    of ECMA-323 that has them."""
    data = e.data
    if data is NO_CALL_DATA:
        return _NO_FIELDS
    return {
        "correlator_data": data.correlator_data,
        "user_data": user_data_out(data.user_data),
    }


def _party(p: Presenter, number: str | None) -> Any:
    return p.extended(number) if number is not None else None


def _call_and_parties(e: pbx_events.CallEvent, p: Presenter) -> dict[str, Any]:
    """:func:`_call_data` and, for a call to or from the network, ``networkCallingDevice``
    (the caller's number as the network gave it; restricted for a withheld caller),
    ``networkCalledDevice`` (what the outside caller dialled), ``associatedCallingDevice``
    (the trunk it came in on) and ``associatedCalledDevice`` (the trunk an outgoing call left
    on)."""
    data = e.data
    if data is NO_CALL_DATA:
        return _NO_FIELDS
    return {
        **_call_data(e),
        "network_calling_device": _party(p, data.network_calling_device),
        "network_called_device": _party(p, data.network_called_device),
        "associated_calling_device": _party(p, data.associated_calling_device),
        "associated_called_device": _party(p, data.associated_called_device),
    }


Builder = Callable[[Any, Presenter, "str | None"], Any]

BUILDERS: dict[type, Builder] = {
    pbx_events.ServiceInitiated: lambda e, p, v: csta_events.ServiceInitiatedEvent(
        monitor_cross_ref_id=XREF,
        initiated_connection=p.connection(e.call_id, e.device),
        initiating_device=p.extended(e.device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
    ),
    pbx_events.Originated: lambda e, p, v: csta_events.OriginatedEvent(
        monitor_cross_ref_id=XREF,
        originated_connection=p.connection(e.call_id, e.calling_device),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.NetworkReached: lambda e, p, v: csta_events.NetworkReachedEvent(
        monitor_cross_ref_id=XREF,
        outbound_connection=p.connection(e.call_id, e.called_device),
        network_interface_used=p.extended(e.trunk),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.Delivered: lambda e, p, v: csta_events.DeliveredEvent(
        monitor_cross_ref_id=XREF,
        connection=p.connection(e.call_id, e.alerting_device),
        alerting_device=p.extended(e.alerting_device),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        last_redirection_device=p.extended(e.last_redirection_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.Established: lambda e, p, v: csta_events.EstablishedEvent(
        monitor_cross_ref_id=XREF,
        established_connection=p.connection(e.call_id, e.answering_device),
        answering_device=p.extended(e.answering_device),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        last_redirection_device=p.extended(e.last_redirection_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.ConnectionCleared: lambda e, p, v: csta_events.ConnectionClearedEvent(
        monitor_cross_ref_id=XREF,
        dropped_connection=p.connection(e.call_id, e.releasing_device),
        releasing_device=p.extended(e.releasing_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_data(e),
    ),
    pbx_events.CallCleared: lambda e, p, v: csta_events.CallClearedEvent(
        monitor_cross_ref_id=XREF,
        cleared_call=p.connection(e.call_id, None),
        cause=wire_cause(e.cause),
        **_call_data(e),
    ),
    pbx_events.Held: lambda e, p, v: csta_events.HeldEvent(
        monitor_cross_ref_id=XREF,
        held_connection=p.connection(e.call_id, e.holding_device),
        holding_device=p.extended(e.holding_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
    ),
    pbx_events.Retrieved: lambda e, p, v: csta_events.RetrievedEvent(
        monitor_cross_ref_id=XREF,
        retrieved_connection=p.connection(e.call_id, e.retrieving_device),
        retrieving_device=p.extended(e.retrieving_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
    ),
    pbx_events.Transferred: lambda e, p, v: csta_events.TransferedEvent(
        monitor_cross_ref_id=XREF,
        primary_old_call=p.connection(e.call_id, e.transferring_device),
        secondary_old_call=p.connection(e.secondary_old_call_id, e.transferring_device)
        if e.secondary_old_call_id
        else None,
        transferring_device=p.extended(e.transferring_device),
        transferred_to_device=p.extended(e.transferred_to_device),
        transferred_connections=_connection_list(p, e.connections),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_data(e),
    ),
    pbx_events.Conferenced: lambda e, p, v: csta_events.ConferencedEvent(
        monitor_cross_ref_id=XREF,
        primary_old_call=p.connection(e.call_id, e.conferencing_device),
        secondary_old_call=p.connection(e.secondary_old_call_id, e.conferencing_device)
        if e.secondary_old_call_id
        else None,
        conferencing_device=p.extended(e.conferencing_device),
        added_party=p.extended(e.added_party),
        conference_connections=_connection_list(p, e.connections),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_data(e),
    ),
    pbx_events.Diverted: lambda e, p, v: csta_events.DivertedEvent(
        monitor_cross_ref_id=XREF,
        connection=p.connection(e.call_id, e.diverting_device),
        diverting_device=p.extended(e.diverting_device),
        new_destination=p.extended(e.new_destination),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        last_redirection_device=p.extended(e.last_redirection_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_data(e),
    ),
    pbx_events.Failed: lambda e, p, v: csta_events.FailedEvent(
        monitor_cross_ref_id=XREF,
        failed_connection=p.connection(e.call_id, e.failing_device),
        failing_device=p.extended(e.failing_device),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.Queued: lambda e, p, v: csta_events.QueuedEvent(
        monitor_cross_ref_id=XREF,
        queued_connection=p.connection(e.call_id, e.queue),
        queue=p.extended(e.queue),
        calling_device=p.extended(e.calling_device),
        called_device=p.extended(e.called_device),
        last_redirection_device=p.extended(e.last_redirection_device),
        number_queued=e.number_queued,
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.DigitsGenerated: lambda e, p, v: csta_events.DigitsGeneratedEvent(
        monitor_cross_ref_id=XREF,
        connection=p.connection(e.call_id, e.device),
        digit_generated_list=e.digits,
        connection_info=_local(e, v),
    ),
    pbx_events.DigitsDialed: lambda e, p, v: csta_events.DigitsDialedEvent(
        monitor_cross_ref_id=XREF,
        dialing_connection=p.connection(e.call_id, e.device),
        dialing_device=p.extended(e.device),
        dialing_sequence=DeviceID(value=e.digits),
        local_connection_info=_local(e, v),
        cause=wire_cause(e.cause),
        **_call_and_parties(e, p),
    ),
    pbx_events.CallInformation: lambda e, p, v: csta_events.CallInformationEvent(
        monitor_cross_ref_id=XREF,
        connection=p.connection(e.call_id, e.device),
        device=p.extended(e.device),
        **_call_data(e),
    ),
    pbx_events.MessageWaiting: lambda e, p, v: csta_events.MessageWaitingEvent(
        monitor_cross_ref_id=XREF,
        target_device=p.extended(e.device),
        device_for_message=p.device_id(e.for_device),
        message_waiting_on=e.on,
    ),
    pbx_events.Forwarding: lambda e, p, v: csta_events.ForwardingEvent(
        monitor_cross_ref_id=XREF,
        device=p.extended(e.device),
        forwarding_type=wire_forwarding_type(e.forwarding_type),
        forward_status=e.status,
        forward_to=DeviceID(value=p.text(e.forward_to)) if e.forward_to else None,
        ring_count=e.ring_count,
    ),
    pbx_events.CallBack: lambda e, p, v: csta_events.CallBackEvent(
        monitor_cross_ref_id=XREF,
        originating_device=p.extended(e.device),
        target_device=p.extended(e.target),
        call_back_set_canceled=e.is_set,
    ),
    pbx_events.DoNotDisturb: lambda e, p, v: csta_events.DoNotDisturbEvent(
        monitor_cross_ref_id=XREF, device=p.extended(e.device), do_not_disturb_on=e.on
    ),
    pbx_events.AgentLoggedOn: _agent(csta_events.AgentLoggedOnEvent),
    pbx_events.AgentLoggedOff: _agent(csta_events.AgentLoggedOffEvent),
    pbx_events.AgentReady: _agent(csta_events.AgentReadyEvent),
    pbx_events.AgentNotReady: _agent(csta_events.AgentNotReadyEvent),
    pbx_events.AgentBusy: _agent(csta_events.AgentBusyEvent),
    pbx_events.AgentWorkingAfterCall: _agent(csta_events.AgentWorkingAfterCallEvent),
}


def to_csta(event: object, presenter: Presenter, viewpoint: str | None) -> Any | None:
    """The CSTA event message for ``event`` seen from ``viewpoint`` (None: a call monitor)."""
    builder = BUILDERS.get(type(event))
    if builder is None:
        return None
    data = getattr(event, "data", NO_CALL_DATA)
    if data.restricted:  # withheld caller ID: those parties are never named
        presenter = presenter.hiding(data.restricted, viewpoint)
    return builder(event, presenter, viewpoint)


class EventRenderer:
    """Renders a switch event for one monitor's view into a reusable template."""

    def __init__(self, switch: Any) -> None:
        self._switch = switch

    @property
    def numbering(self) -> Any:
        """The switch's public numbering as it is now (a plan change replaces it)."""
        return getattr(self._switch, "public_numbering", None)

    def presenter(self, view: Any) -> Presenter:
        e164, echo = view if view else (False, ())
        return Presenter(self.numbering, e164=e164, echo=echo)

    def render(self, event: object, monitor: Any) -> Any:
        message = to_csta(event, self.presenter(monitor.view), monitor.device)
        if message is None:
            return None
        return codec.EventTemplate(message, monitor.namespace)
