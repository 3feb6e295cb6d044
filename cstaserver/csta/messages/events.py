"""ECMA-269 clauses 17.3 / 18.3 / 21.3 events (call control, call associated, logical device)
in ECMA-323 encoding (ed3 clause 9).

Every event starts with ``monitorCrossRefID`` (mandatory here: the codec's
``EventTemplate`` fills it per monitor), then the connection concerned, the devices,
``localConnectionInfo``, ``cause`` …, and ends with ``extensions``. The element order follows
the ed3 XSD-generated classes (Ratcow ``Ed3.cs``) and OpenScape/Avaya traces; structures we never
produce (``servicesPermitted``, ``mediaCallCharacteristics``, ``callCharacteristics``,
``callLinkageData``, ``chargingInfo``, ``userData``) are kept as raw XML.

The Transfer event root is ``TransferedEvent`` (schema spelling); ``TransferredEvent`` is
accepted on input.
"""

from __future__ import annotations

import attrs

from cstaserver.csta.messages.common import ConnectionListItem
from cstaserver.csta.schema import Kind, Raw, message, x
from cstaserver.csta.types import (
    AgentState,
    ConnectionID,
    DeviceID,
    EventCause,
    ExtendedDeviceID,
    ForwardingType,
    LocalConnectionState,
)

__all__ = [
    "ServiceInitiatedEvent",
    "OriginatedEvent",
    "DeliveredEvent",
    "EstablishedEvent",
    "ConnectionClearedEvent",
    "CallClearedEvent",
    "HeldEvent",
    "RetrievedEvent",
    "TransferedEvent",
    "ConferencedEvent",
    "DivertedEvent",
    "FailedEvent",
    "QueuedEvent",
    "NetworkReachedEvent",
    "DigitsGeneratedEvent",
    "DigitsDialedEvent",
    "CallInformationEvent",
    "MessageWaitingEvent",
    "ForwardingEvent",
    "DoNotDisturbEvent",
    "CallBackEvent",
    "AgentLoggedOnEvent",
    "AgentLoggedOffEvent",
    "AgentReadyEvent",
    "AgentNotReadyEvent",
    "AgentBusyEvent",
    "AgentWorkingAfterCallEvent",
]


@message("ServiceInitiatedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class ServiceInitiatedEvent:
    monitor_cross_ref_id: str
    initiated_connection: ConnectionID
    initiating_device: ExtendedDeviceID | None = None
    call_linkage_data: Raw | None = None
    local_connection_info: LocalConnectionState | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    extensions: Raw | None = None


@message("OriginatedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class OriginatedEvent:
    monitor_cross_ref_id: str
    originated_connection: ConnectionID
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    originating_device: ExtendedDeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("DeliveredEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class DeliveredEvent:
    monitor_cross_ref_id: str
    connection: ConnectionID
    alerting_device: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    originating_nid_connection: ConnectionID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("EstablishedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class EstablishedEvent:
    monitor_cross_ref_id: str
    established_connection: ConnectionID
    answering_device: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    originating_nid_connection: ConnectionID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("ConnectionClearedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class ConnectionClearedEvent:
    monitor_cross_ref_id: str
    dropped_connection: ConnectionID
    releasing_device: ExtendedDeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    charging_info: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("CallClearedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class CallClearedEvent:
    monitor_cross_ref_id: str
    cleared_call: ConnectionID
    correlator_data: str | None = None
    user_data: Raw | None = None
    charging_info: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("HeldEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class HeldEvent:
    monitor_cross_ref_id: str
    held_connection: ConnectionID
    holding_device: ExtendedDeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("RetrievedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class RetrievedEvent:
    monitor_cross_ref_id: str
    retrieved_connection: ConnectionID
    retrieving_device: ExtendedDeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("TransferedEvent", Kind.EVENT, aliases=("TransferredEvent",))
@attrs.frozen(kw_only=True)
class TransferedEvent:
    monitor_cross_ref_id: str
    primary_old_call: ConnectionID
    secondary_old_call: ConnectionID | None = None
    transferring_device: ExtendedDeviceID | None = None
    transferred_to_device: ExtendedDeviceID | None = None
    transferred_connections: list[ConnectionListItem] = x(item="connectionListItem", factory=list)
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    charging_info: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("ConferencedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class ConferencedEvent:
    monitor_cross_ref_id: str
    primary_old_call: ConnectionID
    secondary_old_call: ConnectionID | None = None
    conferencing_device: ExtendedDeviceID | None = None
    added_party: ExtendedDeviceID | None = None
    conference_connections: list[ConnectionListItem] = x(item="connectionListItem", factory=list)
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    charging_info: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("DivertedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class DivertedEvent:
    monitor_cross_ref_id: str
    connection: ConnectionID
    diverting_device: ExtendedDeviceID | None = None
    new_destination: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("FailedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class FailedEvent:
    monitor_cross_ref_id: str
    failed_connection: ConnectionID
    failing_device: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    originating_nid_connection: ConnectionID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("QueuedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class QueuedEvent:
    monitor_cross_ref_id: str
    queued_connection: ConnectionID
    queue: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    number_queued: int | None = None
    calls_in_front: int | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("NetworkReachedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class NetworkReachedEvent:
    monitor_cross_ref_id: str
    outbound_connection: ConnectionID
    network_interface_used: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    last_redirection_device: ExtendedDeviceID | None = None
    originating_nid_connection: ConnectionID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("DigitsGeneratedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class DigitsGeneratedEvent:
    monitor_cross_ref_id: str
    connection: ConnectionID
    digit_generated_list: str | None = None
    digit_duration_list: Raw | None = None
    pause_duration_list: Raw | None = None
    connection_info: LocalConnectionState | None = None
    services_permitted: Raw | None = None
    extensions: Raw | None = None


@message("ForwardingEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class ForwardingEvent:
    monitor_cross_ref_id: str
    device: ExtendedDeviceID
    forwarding_type: ForwardingType | None = None
    forward_status: bool | None = None
    forward_to: DeviceID | None = None
    forward_default: str | None = None
    ring_count: int | None = None
    extensions: Raw | None = None


@message("CallBackEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class CallBackEvent:
    monitor_cross_ref_id: str
    originating_device: ExtendedDeviceID
    target_device: ExtendedDeviceID
    call_back_set_canceled: bool
    extensions: Raw | None = None


@message("DoNotDisturbEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class DoNotDisturbEvent:
    monitor_cross_ref_id: str
    device: ExtendedDeviceID
    do_not_disturb_on: bool
    call_origination: Raw | None = None
    calling_device_list: Raw | None = None
    extensions: Raw | None = None


# The agent events (ECMA-269 21.x) share one of three layouts: log on/off carry the
# password, ready/not ready nothing more, busy/working after call the pending state.


@attrs.frozen(kw_only=True)
class _AgentLogEvent:
    monitor_cross_ref_id: str
    agent_device: ExtendedDeviceID
    agent_id: str | None = None
    acd_group: DeviceID | None = x("acdGroup", default=None)
    agent_password: str | None = None
    cause: EventCause | None = None
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class _AgentStateEvent:
    monitor_cross_ref_id: str
    agent_device: ExtendedDeviceID
    agent_id: str | None = None
    acd_group: DeviceID | None = x("acdGroup", default=None)
    cause: EventCause | None = None
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class _AgentPendingEvent:
    monitor_cross_ref_id: str
    agent_device: ExtendedDeviceID
    agent_id: str | None = None
    acd_group: DeviceID | None = x("acdGroup", default=None)
    pending_agent_state: AgentState | None = None
    cause: EventCause | None = None
    extensions: Raw | None = None


@message("AgentLoggedOnEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentLoggedOnEvent(_AgentLogEvent):
    pass


@message("AgentLoggedOffEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentLoggedOffEvent(_AgentLogEvent):
    pass


@message("AgentReadyEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentReadyEvent(_AgentStateEvent):
    pass


@message("AgentNotReadyEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentNotReadyEvent(_AgentStateEvent):
    pass


@message("AgentBusyEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentBusyEvent(_AgentPendingEvent):
    pass


@message("AgentWorkingAfterCallEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class AgentWorkingAfterCallEvent(_AgentPendingEvent):
    pass


@message("DigitsDialedEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class DigitsDialedEvent:
    """ECMA-269 17.2.x Digits Dialed: a device off-hook in a call dialled digits."""

    monitor_cross_ref_id: str
    dialing_connection: ConnectionID
    dialing_device: ExtendedDeviceID | None = None
    dialing_sequence: DeviceID | None = None
    local_connection_info: LocalConnectionState | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    cause: EventCause | None = None
    services_permitted: Raw | None = None
    network_calling_device: ExtendedDeviceID | None = None
    network_called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("CallInformationEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class CallInformationEvent:
    """ECMA-269 18.2.x Call Information: call-associated information of a call changed."""

    monitor_cross_ref_id: str
    connection: ConnectionID
    device: ExtendedDeviceID | None = None
    calling_device: ExtendedDeviceID | None = None
    account_info: str | None = None
    auth_code: str | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    services_permitted: Raw | None = None
    call_qualifying_data: Raw | None = None
    call_linkage_data_list: Raw | None = None
    call_characteristics: Raw | None = None
    extensions: Raw | None = None


@message("MessageWaitingEvent", Kind.EVENT)
@attrs.frozen(kw_only=True)
class MessageWaitingEvent:
    """ECMA-269 21.2.x Message Waiting: a device's message waiting indicator changed."""

    monitor_cross_ref_id: str
    target_device: ExtendedDeviceID
    device_for_message: DeviceID | None = None
    message_waiting_on: bool
    extensions: Raw | None = None
