"""Connection states, causes and feature enumerations of the switching model.

ECMA-269 clause 6.1.5 (connection states: null, initiated, alerting, connected, hold,
queued, fail), 12.3.x event causes, 13.x agent states and forwarding types, in the switch's
own terms. The values are names for logs and the admin shell (mostly the ECMA-269 ones, but
the switch's ring time-out is ``alertTimeOut`` where ECMA-269 says ``alertTimeExpired``); the
CSTA layer never writes them as they are, it translates each enumeration with an explicit
table (``cstaserver.csta.mapping``).
"""

from __future__ import annotations

import enum


class ConnectionState(enum.Enum):
    """ECMA-269 6.1.5: the state of one device's connection to one call."""

    # A member equals only itself (a plain Enum), so the identity hash is a consistent one;
    # Enum's own hashes the name in Python, and every connection move looks its state up
    # twice in the transition table (``pbx.calls.TRANSITIONS``): ten times per MakeCall and
    # ClearCall
    __hash__ = object.__hash__

    NULL = "null"
    INITIATED = "initiated"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HOLD = "hold"
    QUEUED = "queued"
    FAIL = "fail"


class EventCause(enum.Enum):
    """ECMA-269 12.3.x event causes used by the switching model."""

    ACD_BUSY = "acdBusy"
    ALERT_TIME_OUT = "alertTimeOut"
    ALTERNATE = "alternate"
    BUSY = "busy"
    BUSY_OVERFLOW = "busyOverflow"
    CALL_BACK = "callBack"
    CALL_CANCELLED = "callCancelled"
    CALL_FORWARD = "callForward"
    CALL_FORWARD_BUSY = "callForwardBusy"
    CALL_FORWARD_IMMEDIATE = "callForwardImmediate"
    CALL_FORWARD_NO_ANSWER = "callForwardNoAnswer"
    CALL_NOT_ANSWERED = "callNotAnswered"
    CALL_PICKUP = "callPickup"
    CAMP_ON = "campOn"
    CONFERENCE = "conference"
    CONSULTATION = "consultation"
    DEST_NOT_OBTAINABLE = "destNotObtainable"
    DISTRIBUTED = "distributed"
    DO_NOT_DISTURB = "doNotDisturb"
    ENTERING_DISTRIBUTION = "enteringDistribution"
    INTRUDE = "intrude"
    INVALID_NUMBER_FORMAT = "invalidNumberFormat"
    KEY_OPERATION = "keyOperation"
    MAKE_CALL = "makeCall"
    MAKE_PREDICTIVE_CALL = "makePredictiveCall"
    NETWORK_SIGNAL = "networkSignal"
    NEW_CALL = "newCall"
    NO_AVAILABLE_AGENTS = "noAvailableAgents"
    NORMAL = "normal"
    NORMAL_CLEARING = "normalClearing"
    NUMBER_UNALLOCATED = "numberUnallocated"
    OVERFLOW = "overflow"
    PARK = "park"
    QUEUE_TIME_OVERFLOW = "queueTimeOverflow"
    RECALL = "recall"
    REDIRECTED = "redirected"
    RESOURCES_NOT_AVAILABLE = "resourcesNotAvailable"
    SILENT_PARTICIPATION = "silentParticipation"
    SINGLE_STEP_CONFERENCE = "singleStepConference"
    SINGLE_STEP_TRANSFER = "singleStepTransfer"
    TIMEOUT = "timeout"
    TRANSFER = "transfer"
    TRUNKS_BUSY = "trunksBusy"


class AgentState(enum.Enum):
    """ECMA-269 13.1.x agent states (AgentState / requestedAgentState values)."""

    LOGGED_OFF = "agentNull"
    NOT_READY = "agentNotReady"
    READY = "agentReady"
    BUSY = "agentBusy"
    WORKING_AFTER_CALL = "agentWorkingAfterCall"


class RequestedAgentState(enum.Enum):
    """ECMA-269 13.1.12 SetAgentState requestedAgentState values."""

    LOGGED_ON = "loggedOn"
    LOGGED_OFF = "loggedOff"
    NOT_READY = "notReady"
    READY = "ready"
    WORKING_AFTER_CALL = "workingAfterCall"


class ForwardingType(enum.Enum):
    """ECMA-269 13.1.x forwarding types supported by the simulated exchange."""

    IMMEDIATE = "forwardImmediate"
    BUSY = "forwardBusy"
    NO_ANSWER = "forwardNoAns"
    BUSY_INTERNAL = "forwardBusyInt"
    BUSY_EXTERNAL = "forwardBusyExt"
    NO_ANSWER_INTERNAL = "forwardNoAnsInt"
    NO_ANSWER_EXTERNAL = "forwardNoAnsExt"
    IMMEDIATE_INTERNAL = "forwardImmInt"
    IMMEDIATE_EXTERNAL = "forwardImmExt"


class TerminalMode(enum.Enum):
    """How a simulated terminal reacts to MakeCall (ECMA TR/82 4.1 vs 4.2)."""

    HANDSFREE = "handsfree"  # originates at once
    MANUAL = "manual"  # is prompted (rings back), originates when answered
