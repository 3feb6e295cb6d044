"""ECMA-269 clause 21 Logical Device Features in ECMA-323 encoding (ed3 clause 9).

Set/Get Forwarding, Set/Get Do Not Disturb (Lync RCC uses both), Set/Get Agent State (the ACD
agent login, docs/protocol-notes.md C6), Call Back Non-Call-Related and Cancel Call Back
(docs/call-pickup-park.md).
"""

from __future__ import annotations

import attrs

from cstaserver.csta.schema import Kind, Raw, message, x
from cstaserver.csta.types import AgentState, DeviceID, ForwardingType, RequestedAgentState

__all__ = [
    "SetForwarding",
    "SetForwardingResponse",
    "GetForwarding",
    "GetForwardingResponse",
    "ForwardListItem",
    "SetDoNotDisturb",
    "SetDoNotDisturbResponse",
    "GetDoNotDisturb",
    "GetDoNotDisturbResponse",
    "SetAgentState",
    "SetAgentStateResponse",
    "GetAgentState",
    "GetAgentStateResponse",
    "AgentStateEntry",
    "AgentInfoItem",
    "CallBackNonCallRelated",
    "CallBackNonCallRelatedResponse",
    "CancelCallBack",
    "CancelCallBackResponse",
]


@message("SetForwarding", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SetForwarding:
    device: DeviceID
    forwarding_type: ForwardingType | None = None
    activate_forward: bool
    forward_dn: DeviceID | None = None
    ring_count: int | None = None
    extensions: Raw | None = None


@message("SetForwardingResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SetForwardingResponse:
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class ForwardListItem:
    forwarding_type: ForwardingType
    forward_status: bool
    forward_dn: DeviceID | None = None
    ring_count: int | None = None


@message("GetForwarding", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GetForwarding:
    device: DeviceID
    extensions: Raw | None = None


@message("GetForwardingResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GetForwardingResponse:
    forwarding_list: list[ForwardListItem] | None = x(item="forwardListItem", default=None)
    forward_default: str | None = None
    ring_count: int | None = None
    extensions: Raw | None = None


@message("SetDoNotDisturb", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SetDoNotDisturb:
    device: DeviceID
    do_not_disturb_on: bool
    call_origination: Raw | None = None
    calling_device_list: Raw | None = None
    extensions: Raw | None = None


@message("SetDoNotDisturbResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SetDoNotDisturbResponse:
    extensions: Raw | None = None


@message("GetDoNotDisturb", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GetDoNotDisturb:
    device: DeviceID
    extensions: Raw | None = None


@message("GetDoNotDisturbResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GetDoNotDisturbResponse:
    do_not_disturb_on: bool
    call_origination: Raw | None = None
    calling_device_list: Raw | None = None
    extensions: Raw | None = None


@message("SetAgentState", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SetAgentState:
    device: DeviceID
    requested_agent_state: RequestedAgentState
    agent_id: str | None = None
    password: str | None = None
    group: DeviceID | None = None
    extensions: Raw | None = None


@message("SetAgentStateResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SetAgentStateResponse:
    pending_agent_state: AgentState | None = None
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class AgentInfoItem:
    acd_group: DeviceID | None = None
    agent_state: AgentState | None = None


@attrs.frozen(kw_only=True)
class AgentStateEntry:
    agent_id: str | None = None
    logged_on_state: bool | None = None
    agent_info: list[AgentInfoItem] = x(item="agentInfoItem", factory=list)


@message("GetAgentState", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GetAgentState:
    device: DeviceID
    acd_group: DeviceID | None = None
    extensions: Raw | None = None


@message("GetAgentStateResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GetAgentStateResponse:
    agent_state_list: list[AgentStateEntry] | None = x(item="agentStateEntry", default=None)
    extensions: Raw | None = None


@message("CallBackNonCallRelated", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class CallBackNonCallRelated:
    originating_device: DeviceID
    target_device: DeviceID
    extensions: Raw | None = None


@message("CallBackNonCallRelatedResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class CallBackNonCallRelatedResponse:
    extensions: Raw | None = None


@message("CancelCallBack", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class CancelCallBack:
    originating_device: DeviceID
    target_device: DeviceID
    extensions: Raw | None = None


@message("CancelCallBackResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class CancelCallBackResponse:
    extensions: Raw | None = None
