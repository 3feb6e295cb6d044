"""ECMA-269 clause 22 Logical Device Features: Set/Get Forwarding (22.2.x), Set/Get Do Not
Disturb, Set/Get Agent State (agents log on at the agent positions of an ACD group). Forwarding
types and agent states are translated by the tables of ``csta.mapping``; a wire value the
exchange has no counterpart for is refused with ``invalidParameterValue``. Call Back
Non-Call-Related and Cancel Call Back (21.1.x; docs/call-pickup-park.md)."""

from __future__ import annotations

from typing import Any

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.mapping import (
    switch_forwarding_type,
    switch_requested_agent_state,
    wire_agent_state,
    wire_forwarding_type,
)
from cstaserver.csta.messages import logical
from cstaserver.csta.services.common import device_number, internal_device, presenter
from cstaserver.csta.services.registry import service
from cstaserver.pbx.states import AgentState


@service(logical.SetForwarding)
def set_forwarding(request: Any) -> logical.SetForwardingResponse:
    message: logical.SetForwarding = request.message
    device = internal_device(request, message.device)
    if message.forwarding_type is None:
        raise CstaError(ErrorValue.INVALID_PARAMETER_VALUE, "no forwardingType")
    target = None
    if message.forward_dn is not None and message.forward_dn.value.strip():
        target = device_number(
            request, message.forward_dn, ErrorValue.INVALID_FORWARDING_DESTINATION
        )
    request.switch.set_forwarding(
        device,
        switch_forwarding_type(message.forwarding_type),
        target,
        message.activate_forward,
        message.ring_count,
    )
    return logical.SetForwardingResponse()


@service(logical.GetForwarding)
def get_forwarding(request: Any) -> logical.GetForwardingResponse:
    device = internal_device(request, request.message.device)
    p = presenter(request)
    items = [
        logical.ForwardListItem(
            forwarding_type=wire_forwarding_type(kind),
            forward_status=active,
            forward_dn=p.device_id(target),
            ring_count=ring_count,
        )
        for kind, active, target, ring_count in request.switch.get_forwarding(device)
    ]
    return logical.GetForwardingResponse(forwarding_list=items)


@service(logical.SetDoNotDisturb)
def set_do_not_disturb(request: Any) -> logical.SetDoNotDisturbResponse:
    message: logical.SetDoNotDisturb = request.message
    request.switch.set_do_not_disturb(
        internal_device(request, message.device), message.do_not_disturb_on
    )
    return logical.SetDoNotDisturbResponse()


@service(logical.GetDoNotDisturb)
def get_do_not_disturb(request: Any) -> logical.GetDoNotDisturbResponse:
    on = request.switch.get_do_not_disturb(internal_device(request, request.message.device))
    return logical.GetDoNotDisturbResponse(do_not_disturb_on=on)


@service(logical.SetAgentState)
def set_agent_state(request: Any) -> logical.SetAgentStateResponse:
    message: logical.SetAgentState = request.message
    group = internal_device(request, message.group) if message.group is not None else None
    request.switch.set_agent_state(
        internal_device(request, message.device),
        switch_requested_agent_state(message.requested_agent_state),
        agent_id=message.agent_id,
        password=message.password,
        group=group,
    )
    return logical.SetAgentStateResponse()


@service(logical.GetAgentState)
def get_agent_state(request: Any) -> logical.GetAgentStateResponse:
    device = internal_device(request, request.message.device)
    p = presenter(request)
    entries = [
        logical.AgentStateEntry(
            agent_id=agent_id,
            logged_on_state=state is not AgentState.LOGGED_OFF,
            agent_info=[
                logical.AgentInfoItem(
                    acd_group=p.device_id(group) if group else None,
                    agent_state=wire_agent_state(state),
                )
            ],
        )
        for agent_id, group, state in request.switch.get_agent_state(device)
    ]
    return logical.GetAgentStateResponse(agent_state_list=entries)


@service(logical.CallBackNonCallRelated)
def call_back_non_call_related(request: Any) -> logical.CallBackNonCallRelatedResponse:
    message: logical.CallBackNonCallRelated = request.message
    origin = internal_device(request, message.originating_device)
    target = internal_device(request, message.target_device)
    request.switch.call_back_non_call(origin, target)
    return logical.CallBackNonCallRelatedResponse()


@service(logical.CancelCallBack)
def cancel_call_back(request: Any) -> logical.CancelCallBackResponse:
    message: logical.CancelCallBack = request.message
    origin = internal_device(request, message.originating_device)
    target = internal_device(request, message.target_device)
    request.switch.cancel_call_back(origin, target)
    return logical.CancelCallBackResponse()
