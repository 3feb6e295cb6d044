"""The switch's enumerations in ECMA-269 terms: one explicit table per concept.

The switching model has its own enumerations (``cstaserver.pbx.states``: connection states,
event causes, agent states, forwarding types) and ECMA-323 has the wire ones
(``cstaserver.csta.types``). They are translated here, by table, never by comparing
spellings, so a switch value without a wire counterpart is a test failure rather than an
event silently sent without its cause.

- :data:`CAUSES`: switch event cause -> ECMA-269 12.3.x ``EventCause``. The switch's ring
  time-out (``ALERT_TIME_OUT``) is ECMA-269's ``alertTimeExpired``; ``ACD_BUSY`` is written
  ``aCDBusy``.
- :data:`CONNECTION_STATES`: ECMA-269 6.1.5 connection state -> ``LocalConnectionState``.
- :data:`AGENT_STATES`: switch agent state -> ECMA-269 ``AgentState`` (GetAgentState, the
  agent events).
- :data:`REQUESTED_AGENT_STATES`: ECMA-269 ``RequestedAgentState`` (SetAgentState) -> the
  switch's. Every wire value has a switch counterpart.
- :data:`FORWARDING_TYPES`: switch forwarding type -> ECMA-269 ``ForwardingType``; SetForwarding
  uses the reverse. The do-not-disturb forwarding types (``forwardDND``, ``forwardDNDInt``,
  ``forwardDNDExt``) have no switch counterpart and are refused with
  ``invalidParameterValue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from cstaserver.csta import types as csta_types
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.pbx import states as pbx_states

T = TypeVar("T")

__all__ = [
    "CAUSES",
    "CONNECTION_STATES",
    "AGENT_STATES",
    "REQUESTED_AGENT_STATES",
    "FORWARDING_TYPES",
    "wire_cause",
    "local_state",
    "wire_agent_state",
    "wire_forwarding_type",
    "switch_forwarding_type",
    "switch_requested_agent_state",
]

CAUSES: dict[pbx_states.EventCause, csta_types.EventCause] = {
    pbx_states.EventCause.ACD_BUSY: csta_types.EventCause.ACD_BUSY,
    pbx_states.EventCause.ALERT_TIME_OUT: csta_types.EventCause.ALERT_TIME_EXPIRED,
    pbx_states.EventCause.ALTERNATE: csta_types.EventCause.ALTERNATE,
    pbx_states.EventCause.BUSY: csta_types.EventCause.BUSY,
    pbx_states.EventCause.BUSY_OVERFLOW: csta_types.EventCause.BUSY_OVERFLOW,
    pbx_states.EventCause.CALL_BACK: csta_types.EventCause.CALL_BACK,
    pbx_states.EventCause.CALL_CANCELLED: csta_types.EventCause.CALL_CANCELLED,
    pbx_states.EventCause.CALL_FORWARD: csta_types.EventCause.CALL_FORWARD,
    pbx_states.EventCause.CALL_FORWARD_BUSY: csta_types.EventCause.CALL_FORWARD_BUSY,
    pbx_states.EventCause.CALL_FORWARD_IMMEDIATE: csta_types.EventCause.CALL_FORWARD_IMMEDIATE,
    pbx_states.EventCause.CALL_FORWARD_NO_ANSWER: csta_types.EventCause.CALL_FORWARD_NO_ANSWER,
    pbx_states.EventCause.CALL_NOT_ANSWERED: csta_types.EventCause.CALL_NOT_ANSWERED,
    pbx_states.EventCause.CALL_PICKUP: csta_types.EventCause.CALL_PICKUP,
    pbx_states.EventCause.CAMP_ON: csta_types.EventCause.CAMP_ON,
    pbx_states.EventCause.CONFERENCE: csta_types.EventCause.CONFERENCE,
    pbx_states.EventCause.CONSULTATION: csta_types.EventCause.CONSULTATION,
    pbx_states.EventCause.DEST_NOT_OBTAINABLE: csta_types.EventCause.DEST_NOT_OBTAINABLE,
    pbx_states.EventCause.DISTRIBUTED: csta_types.EventCause.DISTRIBUTED,
    pbx_states.EventCause.DO_NOT_DISTURB: csta_types.EventCause.DO_NOT_DISTURB,
    pbx_states.EventCause.ENTERING_DISTRIBUTION: csta_types.EventCause.ENTERING_DISTRIBUTION,
    pbx_states.EventCause.INTRUDE: csta_types.EventCause.INTRUDE,
    pbx_states.EventCause.INVALID_NUMBER_FORMAT: csta_types.EventCause.INVALID_NUMBER_FORMAT,
    pbx_states.EventCause.KEY_OPERATION: csta_types.EventCause.KEY_OPERATION,
    pbx_states.EventCause.MAKE_CALL: csta_types.EventCause.MAKE_CALL,
    pbx_states.EventCause.MAKE_PREDICTIVE_CALL: csta_types.EventCause.MAKE_PREDICTIVE_CALL,
    pbx_states.EventCause.NETWORK_SIGNAL: csta_types.EventCause.NETWORK_SIGNAL,
    pbx_states.EventCause.NEW_CALL: csta_types.EventCause.NEW_CALL,
    pbx_states.EventCause.NO_AVAILABLE_AGENTS: csta_types.EventCause.NO_AVAILABLE_AGENTS,
    pbx_states.EventCause.NORMAL: csta_types.EventCause.NORMAL,
    pbx_states.EventCause.NORMAL_CLEARING: csta_types.EventCause.NORMAL_CLEARING,
    pbx_states.EventCause.NUMBER_UNALLOCATED: csta_types.EventCause.NUMBER_UNALLOCATED,
    pbx_states.EventCause.OVERFLOW: csta_types.EventCause.OVERFLOW,
    pbx_states.EventCause.PARK: csta_types.EventCause.PARK,
    pbx_states.EventCause.QUEUE_TIME_OVERFLOW: csta_types.EventCause.QUEUE_TIME_OVERFLOW,
    pbx_states.EventCause.RECALL: csta_types.EventCause.RECALL,
    pbx_states.EventCause.REDIRECTED: csta_types.EventCause.REDIRECTED,
    pbx_states.EventCause.RESOURCES_NOT_AVAILABLE: csta_types.EventCause.RESOURCES_NOT_AVAILABLE,
    pbx_states.EventCause.SILENT_PARTICIPATION: csta_types.EventCause.SILENT_PARTICIPATION,
    pbx_states.EventCause.SINGLE_STEP_CONFERENCE: csta_types.EventCause.SINGLE_STEP_CONFERENCE,
    pbx_states.EventCause.SINGLE_STEP_TRANSFER: csta_types.EventCause.SINGLE_STEP_TRANSFER,
    pbx_states.EventCause.TIMEOUT: csta_types.EventCause.TIMEOUT,
    pbx_states.EventCause.TRANSFER: csta_types.EventCause.TRANSFER,
    pbx_states.EventCause.TRUNKS_BUSY: csta_types.EventCause.TRUNKS_BUSY,
}

CONNECTION_STATES: dict[pbx_states.ConnectionState, csta_types.LocalConnectionState] = {
    pbx_states.ConnectionState.NULL: csta_types.LocalConnectionState.NULL,
    pbx_states.ConnectionState.INITIATED: csta_types.LocalConnectionState.INITIATED,
    pbx_states.ConnectionState.ALERTING: csta_types.LocalConnectionState.ALERTING,
    pbx_states.ConnectionState.CONNECTED: csta_types.LocalConnectionState.CONNECTED,
    pbx_states.ConnectionState.HOLD: csta_types.LocalConnectionState.HOLD,
    pbx_states.ConnectionState.QUEUED: csta_types.LocalConnectionState.QUEUED,
    pbx_states.ConnectionState.FAIL: csta_types.LocalConnectionState.FAIL,
}

AGENT_STATES: dict[pbx_states.AgentState, csta_types.AgentState] = {
    pbx_states.AgentState.LOGGED_OFF: csta_types.AgentState.AGENT_NULL,
    pbx_states.AgentState.NOT_READY: csta_types.AgentState.AGENT_NOT_READY,
    pbx_states.AgentState.READY: csta_types.AgentState.AGENT_READY,
    pbx_states.AgentState.BUSY: csta_types.AgentState.AGENT_BUSY,
    pbx_states.AgentState.WORKING_AFTER_CALL: csta_types.AgentState.AGENT_WORKING_AFTER_CALL,
}

REQUESTED_AGENT_STATES: dict[csta_types.RequestedAgentState, pbx_states.RequestedAgentState] = {
    csta_types.RequestedAgentState.LOGGED_ON: pbx_states.RequestedAgentState.LOGGED_ON,
    csta_types.RequestedAgentState.LOGGED_OFF: pbx_states.RequestedAgentState.LOGGED_OFF,
    csta_types.RequestedAgentState.NOT_READY: pbx_states.RequestedAgentState.NOT_READY,
    csta_types.RequestedAgentState.READY: pbx_states.RequestedAgentState.READY,
    csta_types.RequestedAgentState.WORKING_AFTER_CALL: (
        pbx_states.RequestedAgentState.WORKING_AFTER_CALL
    ),
}

FORWARDING_TYPES: dict[pbx_states.ForwardingType, csta_types.ForwardingType] = {
    pbx_states.ForwardingType.IMMEDIATE: csta_types.ForwardingType.FORWARD_IMMEDIATE,
    pbx_states.ForwardingType.BUSY: csta_types.ForwardingType.FORWARD_BUSY,
    pbx_states.ForwardingType.NO_ANSWER: csta_types.ForwardingType.FORWARD_NO_ANS,
    pbx_states.ForwardingType.BUSY_INTERNAL: csta_types.ForwardingType.FORWARD_BUSY_INT,
    pbx_states.ForwardingType.BUSY_EXTERNAL: csta_types.ForwardingType.FORWARD_BUSY_EXT,
    pbx_states.ForwardingType.NO_ANSWER_INTERNAL: csta_types.ForwardingType.FORWARD_NO_ANS_INT,
    pbx_states.ForwardingType.NO_ANSWER_EXTERNAL: csta_types.ForwardingType.FORWARD_NO_ANS_EXT,
    pbx_states.ForwardingType.IMMEDIATE_INTERNAL: csta_types.ForwardingType.FORWARD_IMM_INT,
    pbx_states.ForwardingType.IMMEDIATE_EXTERNAL: csta_types.ForwardingType.FORWARD_IMM_EXT,
}
_SWITCH_FORWARDING_TYPES = {wire: kind for kind, wire in FORWARDING_TYPES.items()}


def wire_cause(cause: pbx_states.EventCause | None) -> csta_types.EventCause | None:
    """The ECMA-269 cause of a switch event (None: the event has no cause)."""
    return None if cause is None else CAUSES[cause]


def local_state(state: pbx_states.ConnectionState) -> csta_types.LocalConnectionState:
    return CONNECTION_STATES[state]


def wire_agent_state(state: pbx_states.AgentState) -> csta_types.AgentState:
    return AGENT_STATES[state]


def wire_forwarding_type(kind: pbx_states.ForwardingType) -> csta_types.ForwardingType:
    return FORWARDING_TYPES[kind]


def _supported(table: Mapping[Any, T], wire: Any, what: str) -> T:
    """``table[wire]``, or ``invalidParameterValue`` naming what the exchange lacks."""
    found = table.get(wire)
    if found is None:
        raise CstaError(
            ErrorValue.INVALID_PARAMETER_VALUE,
            f"{what} {wire.value} is not supported by the exchange",
        )
    return found


def switch_forwarding_type(wire: csta_types.ForwardingType) -> pbx_states.ForwardingType:
    """The switch's forwarding type for a SetForwarding request, or ``invalidParameterValue``."""
    return _supported(_SWITCH_FORWARDING_TYPES, wire, "forwarding type")


def switch_requested_agent_state(
    wire: csta_types.RequestedAgentState,
) -> pbx_states.RequestedAgentState:
    """The switch's requested agent state for SetAgentState, or ``invalidParameterValue``."""
    return _supported(REQUESTED_AGENT_STATES, wire, "agent state")
