"""ECMA-269 clause 17 Call Control services in ECMA-323 encoding (ed3 clause 9).

Make Call (17.2.x), Make Predictive Call, Answer/Clear/Hold/Retrieve, Consultation, Transfer,
Single Step Transfer, Conference, Single Step Conference, Alternate, Reconnect, Deflect,
Directed Pickup, Group Pickup, Park, Camp On (root ``CamponCall`` as in the ed3 XSD,
``CampOnCall`` accepted), Call Back (root ``CallBack``, ``CallBackCallRelated`` accepted),
Intrude.
Requests and their ``…Response`` classes; element order per the ed3 XSD-generated classes
(Ratcow ``Ed3.cs``). ``callCharacteristics`` and other rarely used structures are kept as raw
XML fragments.
"""

from __future__ import annotations

import attrs

from cstaserver.csta.messages.common import ConnectionListItem
from cstaserver.csta.schema import Kind, Raw, message, x
from cstaserver.csta.types import (
    AutoOriginate,
    ConnectionID,
    ConsultOptions,
    DeviceID,
    ParticipationType,
)

__all__ = [
    "MakeCall",
    "MakeCallResponse",
    "MakePredictiveCall",
    "MakePredictiveCallResponse",
    "AnswerCall",
    "AnswerCallResponse",
    "ClearConnection",
    "ClearConnectionResponse",
    "ClearCall",
    "ClearCallResponse",
    "HoldCall",
    "HoldCallResponse",
    "RetrieveCall",
    "RetrieveCallResponse",
    "ConsultationCall",
    "ConsultationCallResponse",
    "TransferCall",
    "TransferCallResponse",
    "SingleStepTransferCall",
    "SingleStepTransferCallResponse",
    "ConferenceCall",
    "ConferenceCallResponse",
    "SingleStepConferenceCall",
    "SingleStepConferenceCallResponse",
    "AlternateCall",
    "AlternateCallResponse",
    "ReconnectCall",
    "ReconnectCallResponse",
    "DeflectCall",
    "DeflectCallResponse",
    "GenerateDigits",
    "GenerateDigitsResponse",
    "DirectedPickupCall",
    "DirectedPickupCallResponse",
    "GroupPickupCall",
    "GroupPickupCallResponse",
    "ParkCall",
    "ParkCallResponse",
    "CamponCall",
    "CamponCallResponse",
    "CallBack",
    "CallBackResponse",
    "IntrudeCall",
    "IntrudeCallResponse",
]


@message("MakeCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class MakeCall:
    calling_device: DeviceID
    called_directory_number: DeviceID
    account_code: str | None = None
    auth_code: str | None = None
    auto_originate: AutoOriginate | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    call_characteristics: Raw | None = None
    extensions: Raw | None = None


@message("MakeCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class MakeCallResponse:
    calling_device: ConnectionID
    media_call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("MakePredictiveCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class MakePredictiveCall:
    calling_device: DeviceID
    called_directory_number: DeviceID
    signalling_detection: str | None = None
    account_code: str | None = None
    auth_code: str | None = None
    alert_time: int | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    call_characteristics: Raw | None = None
    extensions: Raw | None = None


@message("MakePredictiveCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class MakePredictiveCallResponse:
    initiated_call: ConnectionID
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("AnswerCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class AnswerCall:
    call_to_be_answered: ConnectionID
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("AnswerCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class AnswerCallResponse:
    extensions: Raw | None = None


@message("ClearConnection", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ClearConnection:
    connection_to_be_cleared: ConnectionID
    correlator_data: str | None = None
    user_data: Raw | None = None
    reason: str | None = None
    extensions: Raw | None = None


@message("ClearConnectionResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ClearConnectionResponse:
    extensions: Raw | None = None


@message("ClearCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ClearCall:
    call_to_be_cleared: ConnectionID
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("ClearCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ClearCallResponse:
    extensions: Raw | None = None


@message("HoldCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class HoldCall:
    call_to_be_held: ConnectionID
    connection_reservation: bool | None = None
    extensions: Raw | None = None


@message("HoldCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class HoldCallResponse:
    extensions: Raw | None = None


@message("RetrieveCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RetrieveCall:
    call_to_be_retrieved: ConnectionID
    extensions: Raw | None = None


@message("RetrieveCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class RetrieveCallResponse:
    extensions: Raw | None = None


@message("ConsultationCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ConsultationCall:
    existing_call: ConnectionID
    consulted_device: DeviceID
    consult_options: ConsultOptions | None = None
    account_code: str | None = None
    auth_code: str | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    call_characteristics: Raw | None = None
    extensions: Raw | None = None


@message("ConsultationCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ConsultationCallResponse:
    initiated_call: ConnectionID
    media_call_characteristics: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("TransferCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class TransferCall:
    held_call: ConnectionID
    active_call: ConnectionID
    extensions: Raw | None = None


@message("TransferCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class TransferCallResponse:
    transferred_call: ConnectionID | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("SingleStepTransferCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SingleStepTransferCall:
    active_call: ConnectionID
    transferred_to: DeviceID
    account_code: str | None = None
    auth_code: str | None = None
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("SingleStepTransferCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SingleStepTransferCallResponse:
    transferred_call: ConnectionID | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("ConferenceCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ConferenceCall:
    held_call: ConnectionID
    active_call: ConnectionID
    participation_type: ParticipationType | None = None
    extensions: Raw | None = None


@message("ConferenceCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ConferenceCallResponse:
    conference_call: ConnectionID | None = None
    connections: list[ConnectionListItem] = x(item="connectionListItem", factory=list)
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("SingleStepConferenceCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SingleStepConferenceCall:
    active_call: ConnectionID
    device_to_join: DeviceID
    participation_type: ParticipationType | None = None
    account_code: str | None = None
    auth_code: str | None = None
    extensions: Raw | None = None


@message("SingleStepConferenceCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SingleStepConferenceCallResponse:
    conferenced_call: ConnectionID | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("AlternateCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class AlternateCall:
    held_call: ConnectionID
    active_call: ConnectionID
    extensions: Raw | None = None


@message("AlternateCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class AlternateCallResponse:
    extensions: Raw | None = None


@message("ReconnectCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ReconnectCall:
    held_call: ConnectionID
    active_call: ConnectionID
    extensions: Raw | None = None


@message("ReconnectCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ReconnectCallResponse:
    extensions: Raw | None = None


@message("DeflectCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class DeflectCall:
    call_to_be_diverted: ConnectionID
    new_destination: DeviceID
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("DeflectCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class DeflectCallResponse:
    extensions: Raw | None = None


# ECMA-269 clause 18 (call associated features): Generate Digits


@message("GenerateDigits", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GenerateDigits:
    connection_to_send_digits: ConnectionID
    characters_to_send: str
    tone_duration: int | None = None
    pulse_rate: int | None = None
    extensions: Raw | None = None


@message("GenerateDigitsResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GenerateDigitsResponse:
    extensions: Raw | None = None


@message("DirectedPickupCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class DirectedPickupCall:
    call_to_be_picked_up: ConnectionID
    requesting_device: DeviceID
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("DirectedPickupCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class DirectedPickupCallResponse:
    picked_call: ConnectionID | None = None
    picked_call_info: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("GroupPickupCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GroupPickupCall:
    new_destination: DeviceID
    pick_group: DeviceID | None = x(aliases=("pickupGroup",), default=None)
    correlator_data: str | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("GroupPickupCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GroupPickupCallResponse:
    picked_call: ConnectionID | None = None
    picked_call_info: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("ParkCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ParkCall:
    parking: ConnectionID
    park_to: DeviceID
    correlator_data: str | None = None
    subject_of_call: str | None = None
    language_preferences: str | None = None
    extensions: Raw | None = None


@message("ParkCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ParkCallResponse:
    parked_to: ConnectionID | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("CamponCall", Kind.REQUEST, aliases=("CampOnCall",))
@attrs.frozen(kw_only=True)
class CamponCall:
    campon_connection: ConnectionID = x(aliases=("campOnConnection",))
    extensions: Raw | None = None


@message("CamponCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class CamponCallResponse:
    extensions: Raw | None = None


@message("CallBack", Kind.REQUEST, aliases=("CallBackCallRelated",))
@attrs.frozen(kw_only=True)
class CallBack:
    callback_connection: ConnectionID = x(aliases=("callBackConnection",))
    call_characteristics: Raw | None = None
    subject_of_call: str | None = None
    language_preferences: str | None = None
    extensions: Raw | None = None


@message("CallBackResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class CallBackResponse:
    target_device: DeviceID | None = None
    extensions: Raw | None = None


@message("IntrudeCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class IntrudeCall:
    intrude: ConnectionID
    participation_type: ParticipationType | None = None
    user_data: Raw | None = None
    extensions: Raw | None = None


@message("IntrudeCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class IntrudeCallResponse:
    conferenced_call: ConnectionID | None = None
    conferenced_call_info: Raw | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None
