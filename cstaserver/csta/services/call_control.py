"""ECMA-269 clause 17 Call Control services and clause 18 Generate Digits: each a thin
handler that names the parties in switch terms and calls the switching model.

Make Call 17.2.x (``autoOriginate`` absent: the terminal's own mode decides - demo terminals
are hands-free, TR/82 4.2; ``prompt``: the calling device is prompted, TR/82 4.1), Make
Predictive Call 17.2.12 (``alertTime`` in seconds), both with ``correlatorData`` and
``userData`` kept with the call (12.3.x; see ``csta.calldata``), Answer, Clear Connection, Clear Call, Hold, Retrieve, Consultation,
Transfer, Single Step Transfer, Conference, Single Step Conference, Alternate, Reconnect,
Deflect, Generate Digits (18.2.x), Directed and Group Pickup, Park, Camp On, Call Back and
Intrude (docs/call-pickup-park.md). Single Step Conference passes the device of
``activeCall`` as the requesting party (ConferencedEvent ``conferencingDevice``) and
``participationType`` silent. A ConnectionID with only a callID or only a deviceID is
completed by ``common.connection`` with the states each service acts on.

MakeCallResponse is rendered from a template per namespace (``codec.SlotTemplates``: the
callID and the calling device as the client wrote it spliced into bytes encoded once): the
same bytes as encoding the message, without building and walking it per call.
"""

from __future__ import annotations

from typing import Any

from cstaserver.csta.calldata import user_data_in
from cstaserver.csta.codec import SlotTemplates
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.messages import call_control
from cstaserver.csta.services.common import (
    connection,
    device_number,
    echo_connection,
    internal_device,
    presenter,
)
from cstaserver.csta.services.registry import service
from cstaserver.csta.types import AutoOriginate, ConnectionID, DeviceID, ParticipationType
from cstaserver.pbx.states import ConnectionState

ALERTING = (ConnectionState.ALERTING, ConnectionState.INITIATED)  # rung, or prompted
CONNECTED = (ConnectionState.CONNECTED,)
HELD = (ConnectionState.HOLD,)
ACTIVE = (ConnectionState.CONNECTED, ConnectionState.ALERTING, ConnectionState.INITIATED)
PICKABLE = (ConnectionState.ALERTING, ConnectionState.QUEUED)  # ringing, or parked
FAILED = (ConnectionState.FAIL,)
NOT_REACHED = (ConnectionState.FAIL, ConnectionState.CONNECTED)  # busy, or ringing out


#: MakeCallResponse(callingDevice = callID + deviceID), per namespace
_MADE = SlotTemplates(
    lambda call_id, device: call_control.MakeCallResponse(
        calling_device=ConnectionID(call_id=call_id, device_id=DeviceID(value=device))
    ),
    2,
)


def _pair(request: Any, held: ConnectionID, active: ConnectionID) -> tuple[str, str, str]:
    held_call, held_device = connection(request, held, states=HELD)
    active_call, active_device = connection(request, active, need_device=False, states=ACTIVE)
    return held_call, active_call, held_device or active_device  # type: ignore[return-value]


@service(call_control.MakeCall)
def make_call(request: Any) -> bytes | call_control.MakeCallResponse:
    message: call_control.MakeCall = request.message
    calling = device_number(request, message.calling_device, ErrorValue.INVALID_CALLING_DEVICE)
    called = device_number(
        request, message.called_directory_number, ErrorValue.INVALID_CALLED_DEVICE
    )
    request.association.remember_device_string(calling, message.calling_device.value)
    call_id, number = request.switch.make_call(
        calling,
        called,
        auto_originate=message.auto_originate is not AutoOriginate.PROMPT,
        correlator_data=message.correlator_data,
        user_data=user_data_in(message.user_data),
    )
    names = presenter(request)
    text = "" if names.hidden else names.text(number)  # echo_connection's deviceID
    if call_id and text:
        return _MADE.render(request.namespace, call_id, text)
    return call_control.MakeCallResponse(calling_device=echo_connection(request, call_id, number))


@service(call_control.MakePredictiveCall)
def make_predictive_call(request: Any) -> call_control.MakePredictiveCallResponse:
    message: call_control.MakePredictiveCall = request.message
    calling = internal_device(request, message.calling_device, ErrorValue.INVALID_CALLING_DEVICE)
    called = device_number(
        request, message.called_directory_number, ErrorValue.INVALID_CALLED_DEVICE
    )
    request.association.remember_device_string(calling, message.calling_device.value)
    call_id, number = request.switch.make_predictive_call(
        calling,
        called,
        alert_time=message.alert_time,
        correlator_data=message.correlator_data,
        user_data=user_data_in(message.user_data),
    )
    return call_control.MakePredictiveCallResponse(
        initiated_call=echo_connection(request, call_id, number)
    )


@service(call_control.AnswerCall)
def answer_call(request: Any) -> call_control.AnswerCallResponse:
    request.switch.answer_call(
        *connection(request, request.message.call_to_be_answered, states=ALERTING)
    )
    return call_control.AnswerCallResponse()


@service(call_control.ClearConnection)
def clear_connection(request: Any) -> call_control.ClearConnectionResponse:
    request.switch.clear_connection(*connection(request, request.message.connection_to_be_cleared))
    return call_control.ClearConnectionResponse()


@service(call_control.ClearCall)
def clear_call(request: Any) -> call_control.ClearCallResponse:
    call_id, _ = connection(request, request.message.call_to_be_cleared, need_device=False)
    request.switch.clear_call(call_id)
    return call_control.ClearCallResponse()


@service(call_control.HoldCall)
def hold_call(request: Any) -> call_control.HoldCallResponse:
    request.switch.hold_call(
        *connection(request, request.message.call_to_be_held, states=CONNECTED)
    )
    return call_control.HoldCallResponse()


@service(call_control.RetrieveCall)
def retrieve_call(request: Any) -> call_control.RetrieveCallResponse:
    request.switch.retrieve_call(
        *connection(request, request.message.call_to_be_retrieved, states=HELD)
    )
    return call_control.RetrieveCallResponse()


@service(call_control.ConsultationCall)
def consultation_call(request: Any) -> call_control.ConsultationCallResponse:
    message: call_control.ConsultationCall = request.message
    call_id, device = connection(request, message.existing_call, states=CONNECTED)
    consulted = device_number(request, message.consulted_device, ErrorValue.INVALID_CALLED_DEVICE)
    new_call, number = request.switch.consultation_call(call_id, device, consulted)
    return call_control.ConsultationCallResponse(
        initiated_call=echo_connection(request, new_call, number)
    )


@service(call_control.TransferCall)
def transfer_call(request: Any) -> call_control.TransferCallResponse:
    message: call_control.TransferCall = request.message
    held, active, device = _pair(request, message.held_call, message.active_call)
    surviving = request.switch.transfer_call(held, active, device)
    return call_control.TransferCallResponse(transferred_call=ConnectionID(call_id=surviving))


@service(call_control.SingleStepTransferCall)
def single_step_transfer_call(request: Any) -> call_control.SingleStepTransferCallResponse:
    message: call_control.SingleStepTransferCall = request.message
    call_id, device = connection(request, message.active_call, states=CONNECTED)
    target = device_number(request, message.transferred_to, ErrorValue.INVALID_DESTINATION)
    new_call, number = request.switch.single_step_transfer(call_id, device, target)
    return call_control.SingleStepTransferCallResponse(
        transferred_call=echo_connection(request, new_call, number)
    )


@service(call_control.ConferenceCall)
def conference_call(request: Any) -> call_control.ConferenceCallResponse:
    message: call_control.ConferenceCall = request.message
    held, active, device = _pair(request, message.held_call, message.active_call)
    conference = request.switch.conference_call(held, active, device)
    return call_control.ConferenceCallResponse(conference_call=ConnectionID(call_id=conference))


@service(call_control.SingleStepConferenceCall)
def single_step_conference_call(request: Any) -> call_control.SingleStepConferenceCallResponse:
    message: call_control.SingleStepConferenceCall = request.message
    call_id, requesting = connection(
        request, message.active_call, need_device=False, states=CONNECTED
    )
    joining = internal_device(request, message.device_to_join, ErrorValue.INVALID_DESTINATION)
    new_call, number = request.switch.single_step_conference(
        call_id,
        joining,
        requesting=requesting,
        silent=message.participation_type is ParticipationType.SILENT,
    )
    return call_control.SingleStepConferenceCallResponse(
        conferenced_call=echo_connection(request, new_call, number)
    )


@service(call_control.AlternateCall)
def alternate_call(request: Any) -> call_control.AlternateCallResponse:
    message: call_control.AlternateCall = request.message
    request.switch.alternate_call(*_pair(request, message.held_call, message.active_call))
    return call_control.AlternateCallResponse()


@service(call_control.ReconnectCall)
def reconnect_call(request: Any) -> call_control.ReconnectCallResponse:
    message: call_control.ReconnectCall = request.message
    request.switch.reconnect_call(*_pair(request, message.held_call, message.active_call))
    return call_control.ReconnectCallResponse()


@service(call_control.DeflectCall)
def deflect_call(request: Any) -> call_control.DeflectCallResponse:
    message: call_control.DeflectCall = request.message
    call_id, device = connection(request, message.call_to_be_diverted, states=ALERTING)
    target = device_number(request, message.new_destination, ErrorValue.INVALID_DESTINATION)
    request.switch.deflect_call(call_id, device, target)
    return call_control.DeflectCallResponse()


@service(call_control.GenerateDigits)
def generate_digits(request: Any) -> call_control.GenerateDigitsResponse:
    message: call_control.GenerateDigits = request.message
    call_id, device = connection(request, message.connection_to_send_digits, states=CONNECTED)
    request.switch.generate_digits(call_id, device, message.characters_to_send)
    return call_control.GenerateDigitsResponse()


# -- pick-up, park, camp-on, call back, intrusion (docs/call-pickup-park.md) -----------------
@service(call_control.DirectedPickupCall)
def directed_pickup_call(request: Any) -> call_control.DirectedPickupCallResponse:
    message: call_control.DirectedPickupCall = request.message
    call_id, device = connection(request, message.call_to_be_picked_up, states=PICKABLE)
    requesting = internal_device(request, message.requesting_device)
    picked, number = request.switch.pickup_call(call_id, device, requesting)
    return call_control.DirectedPickupCallResponse(
        picked_call=echo_connection(request, picked, number)
    )


@service(call_control.GroupPickupCall)
def group_pickup_call(request: Any) -> call_control.GroupPickupCallResponse:
    message: call_control.GroupPickupCall = request.message
    requesting = internal_device(request, message.new_destination)
    group = None
    if message.pick_group is not None and message.pick_group.value.strip():
        text = message.pick_group.value.strip()
        if not text.isdigit():
            raise CstaError(ErrorValue.INVALID_PARAMETER_VALUE, f"no pick-up group {text!r}")
        group = int(text)
    picked, number = request.switch.group_pickup_call(requesting, group)
    return call_control.GroupPickupCallResponse(
        picked_call=echo_connection(request, picked, number)
    )


@service(call_control.ParkCall)
def park_call(request: Any) -> call_control.ParkCallResponse:
    message: call_control.ParkCall = request.message
    call_id, device = connection(request, message.parking, states=CONNECTED)
    park_to = device_number(request, message.park_to, ErrorValue.INVALID_DESTINATION)
    parked, number = request.switch.park_call(call_id, device, park_to)
    return call_control.ParkCallResponse(parked_to=echo_connection(request, parked, number))


@service(call_control.CamponCall)
def camp_on_call(request: Any) -> call_control.CamponCallResponse:
    call_id, device = connection(request, request.message.campon_connection, states=FAILED)
    request.switch.camp_on_call(call_id, device)
    return call_control.CamponCallResponse()


@service(call_control.CallBack)
def call_back(request: Any) -> call_control.CallBackResponse:
    call_id, device = connection(request, request.message.callback_connection, states=NOT_REACHED)
    target = request.switch.call_back(call_id, device)
    return call_control.CallBackResponse(target_device=presenter(request).device_id(target))


@service(call_control.IntrudeCall)
def intrude_call(request: Any) -> call_control.IntrudeCallResponse:
    message: call_control.IntrudeCall = request.message
    call_id, device = connection(request, message.intrude, states=NOT_REACHED)
    joined, number = request.switch.intrude_call(
        call_id, device, silent=message.participation_type is ParticipationType.SILENT
    )
    return call_control.IntrudeCallResponse(
        conferenced_call=echo_connection(request, joined, number)
    )
