"""ECMA-269 clause 22 Logical Device Features: Set/Get Forwarding (22.2.x), Set/Get Do Not
Disturb, Set/Get Agent State (the ACD agent login of the demo group 2000, PROTOCOLS.md 3.7)."""

from __future__ import annotations

from typing import Any

from cstaserver.csta.errors import CstaError
from cstaserver.csta.messages import logical as lg
from cstaserver.csta.services.common import device_number, internal_device, presenter
from cstaserver.csta.services.registry import service
from cstaserver.csta.types import AgentState, DeviceID, ForwardingType
from cstaserver.pbx import states
from cstaserver.pbx.errors import ErrorValue


def _pbx_enum(enum_class: type, value: Any) -> Any:
    try:
        return enum_class(value.value)
    except ValueError:
        raise CstaError(ErrorValue.INVALID_PARAMETER_VALUE, f"unsupported {value}") from None


@service(lg.SetForwarding)
def set_forwarding(request: Any) -> lg.SetForwardingResponse:
    message: lg.SetForwarding = request.message
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
        _pbx_enum(states.ForwardingType, message.forwarding_type),
        target,
        message.activate_forward,
        message.ring_count,
    )
    return lg.SetForwardingResponse()


@service(lg.GetForwarding)
def get_forwarding(request: Any) -> lg.GetForwardingResponse:
    device = internal_device(request, request.message.device)
    p = presenter(request)
    items = [
        lg.ForwardListItem(
            forwarding_type=ForwardingType(kind.value),
            forward_status=active,
            forward_dn=p.device_id(target),
            ring_count=ring_count,
        )
        for kind, active, target, ring_count in request.switch.get_forwarding(device)
    ]
    return lg.GetForwardingResponse(forwarding_list=items)


@service(lg.SetDoNotDisturb)
def set_do_not_disturb(request: Any) -> lg.SetDoNotDisturbResponse:
    message: lg.SetDoNotDisturb = request.message
    request.switch.set_do_not_disturb(
        internal_device(request, message.device), message.do_not_disturb_on
    )
    return lg.SetDoNotDisturbResponse()


@service(lg.GetDoNotDisturb)
def get_do_not_disturb(request: Any) -> lg.GetDoNotDisturbResponse:
    on = request.switch.get_do_not_disturb(internal_device(request, request.message.device))
    return lg.GetDoNotDisturbResponse(do_not_disturb_on=on)


@service(lg.SetAgentState)
def set_agent_state(request: Any) -> lg.SetAgentStateResponse:
    message: lg.SetAgentState = request.message
    group = internal_device(request, message.group) if message.group is not None else None
    request.switch.set_agent_state(
        internal_device(request, message.device),
        _pbx_enum(states.RequestedAgentState, message.requested_agent_state),
        agent_id=message.agent_id,
        password=message.password,
        group=group,
    )
    return lg.SetAgentStateResponse()


@service(lg.GetAgentState)
def get_agent_state(request: Any) -> lg.GetAgentStateResponse:
    device = internal_device(request, request.message.device)
    entries = [
        lg.AgentStateEntry(
            agent_id=agent_id,
            logged_on_state=state is not states.AgentState.LOGGED_OFF,
            agent_info=[
                lg.AgentInfoItem(
                    acd_group=DeviceID(value=group) if group else None,
                    agent_state=AgentState(state.value),
                )
            ],
        )
        for agent_id, group, state in request.switch.get_agent_state(device)
    ]
    return lg.GetAgentStateResponse(agent_state_list=entries)
