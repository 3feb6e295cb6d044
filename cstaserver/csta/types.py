"""Common ECMA-269 value types in their ECMA-323 encoding (ECMA-269 clause 12, ECMA-323 clause 9).

- ``DeviceID`` (12.3.20): text plus optional ``typeOfNumber``, ``mediaClass``, ``bitRate``
  attributes;
- ``ExtendedDeviceID`` and its variants (calling/called/subject/redirection device IDs):
  ``<deviceIdentifier>`` | ``<notKnown/>`` | ``<restricted/>``;
- ``ConnectionID`` (12.3.9): ``<callID>`` and/or ``<deviceID>``;
- enumerations in their XSD spellings: ``LocalConnectionState``, ``EventCause`` (the ed3 list
  plus the few later additions, so every edition decodes), agent states, forwarding types,
  system status, … The switch's own enumerations (``cstaserver.pbx.states``) are translated
  to and from these by the tables of ``csta.mapping``, never by spelling.

Where ECMA-269 has several near-identical device-ID choices (SubjectDeviceID, CallingDeviceID,
RedirectionDeviceID, …) we use one ``ExtendedDeviceID``: the classes generated from the ed3
XSD show the same three-way choice for all of them.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from cstaserver.csta.schema import CstaEnum, Node, x

__all__ = [
    "DeviceID",
    "ExtendedDeviceID",
    "ConnectionID",
    "LocalConnectionState",
    "EventCause",
    "AgentState",
    "RequestedAgentState",
    "ForwardingType",
    "SystemStatus",
    "MonitorType",
    "AutoOriginate",
    "ConsultOptions",
    "ParticipationType",
    "DeviceCategory",
    "TypeOfNumber",
]


@attrs.frozen(kw_only=True)
class DeviceID:
    """A device identifier: the text, exactly as the client wrote it, and its attributes."""

    value: str = x(node=Node.TEXT)
    type_of_number: str | None = x("typeOfNumber", node=Node.ATTRIBUTE, default=None)
    media_class: str | None = x("mediaClass", node=Node.ATTRIBUTE, default=None)
    bit_rate: str | None = x("bitRate", node=Node.ATTRIBUTE, default=None)


@attrs.frozen(kw_only=True)
class ExtendedDeviceID:
    """``callingDevice``, ``alertingDevice``, …: a known device, not known, or restricted.

    On input a bare ``<callingDevice>1001</callingDevice>`` is accepted as a known device.
    """

    csta_bare_text: ClassVar[str] = "device_identifier"

    device_identifier: DeviceID | None = None
    not_known: bool = x(node=Node.EMPTY, default=False)
    restricted: bool = x(node=Node.EMPTY, default=False)

    @classmethod
    def of(cls, value: str) -> ExtendedDeviceID:
        """A known device from its identifier text."""
        return cls(device_identifier=DeviceID(value=value))

    @property
    def value(self) -> str | None:
        """The identifier text, or None when not known / restricted."""
        return self.device_identifier.value if self.device_identifier else None


@attrs.frozen(kw_only=True)
class ConnectionID:
    """A connection: call identifier and/or device identifier."""

    call_id: str | None = None
    device_id: DeviceID | None = None

    @classmethod
    def of(cls, call_id: str | None, device: str | None) -> ConnectionID:
        return cls(
            call_id=call_id, device_id=DeviceID(value=device) if device is not None else None
        )


class LocalConnectionState(CstaEnum):
    """ECMA-269 12.3.x LocalConnectionState (``localConnectionInfo``)."""

    NULL = "null"
    INITIATED = "initiated"
    ALERTING = "alerting"
    CONNECTED = "connected"
    HOLD = "hold"
    QUEUED = "queued"
    FAIL = "fail"


class EventCause(CstaEnum):
    """ECMA-269 12.3.x EventCause, XSD spellings (``aCDBusy``, ``dTMFDigitDetected``)."""

    ACD_BUSY = "aCDBusy"
    ACD_FORWARD = "aCDForward"
    ACD_SATURATED = "aCDSaturated"
    ACTIVATION = "activation"
    ACTIVE_PARTICIPATION = "activeParticipation"
    ALERT_TIME_EXPIRED = "alertTimeExpired"
    ALTERNATE = "alternate"
    AUTO_WORK = "autoWork"
    BABBLE = "babble"
    BAD_ATTRIBUTE = "badAttribute"
    BAD_GRAMMAR = "badGrammar"
    BAD_VOICE = "badVoice"
    BAD_URI = "badURI"
    BLOCKED = "blocked"
    BUSY = "busy"
    BUSY_OVERFLOW = "busyOverflow"
    CALENDAR_OVERFLOW = "calendarOverflow"
    CALL_BACK = "callBack"
    CALL_CANCELLED = "callCancelled"
    CALL_FORWARD = "callForward"
    CALL_FORWARD_BUSY = "callForwardBusy"
    CALL_FORWARD_IMMEDIATE = "callForwardImmediate"
    CALL_FORWARD_NO_ANSWER = "callForwardNoAnswer"
    CALL_NOT_ANSWERED = "callNotAnswered"
    CALL_PICKUP = "callPickup"
    CAMP_ON = "campOn"
    CAMP_ON_TRUNKS = "campOnTrunks"
    CAPACITY_OVERFLOW = "capacityOverflow"
    CHARACTER_COUNT_REACHED = "characterCountReached"
    CONFERENCE = "conference"
    CONSULTATION = "consultation"
    DEST_DETECTED = "destDetected"
    DEST_NOT_OBTAINABLE = "destNotObtainable"
    DEST_OUT_OF_ORDER = "destOutOfOrder"
    DISTRIBUTED = "distributed"
    DISTRIBUTION_DELAY = "distributionDelay"
    DO_NOT_DISTURB = "doNotDisturb"
    DTMF_DIGIT_DETECTED = "dTMFDigitDetected"
    DUPLICATE_DTMF = "duplicateDTMF"
    DURATION_EXCEEDED = "durationExceeded"
    EARLY_STOP = "earlyStop"
    EMPTY_QUEUE = "emptyQueue"
    END_OF_MESSAGE_DETECTED = "endOfMessageDetected"
    ENTERING_DISTRIBUTION = "enteringDistribution"
    FORCED_PAUSE = "forcedPause"
    FORCED_TRANSITION = "forcedTransition"
    INCOMPATIBLE_DESTINATION = "incompatibleDestination"
    INTER_DIGIT_TIMEOUT = "interDigitTimeout"
    INTRUDE = "intrude"
    INVALID_ACCOUNT_CODE = "invalidAccountCode"
    INVALID_CONNECTION = "invalidConnection"
    INVALID_CONNECTION_STATE = "invalidConnectionState"
    INVALID_NUMBER_FORMAT = "invalidNumberFormat"
    JOIN_CALL = "joinCall"
    KEY_OPERATION = "keyOperation"
    KEY_OPERATION_IN_USE = "keyOperationInUse"
    LOCKOUT = "lockout"
    MAINTENANCE = "maintenance"
    MAKE_CALL = "makeCall"
    MAKE_CONNECTION = "makeConnection"
    MAKE_PREDICTIVE_CALL = "makePredictiveCall"
    MAX_TIMEOUT = "maxTimeout"
    MESSAGE_DURATION_EXCEEDED = "messageDurationExceeded"
    MESSAGE_SIZE_EXCEEDED = "messageSizeExceeded"
    MULTIPLE_ALERTING = "multipleAlerting"
    MULTIPLE_QUEUING = "multipleQueuing"
    NETWORK_CONGESTION = "networkCongestion"
    NETWORK_DIALLING = "networkDialling"
    NETWORK_NOT_OBTAINABLE = "networkNotObtainable"
    NETWORK_OUT_OF_ORDER = "networkOutOfOrder"
    NETWORK_SIGNAL = "networkSignal"
    NEW_CALL = "newCall"
    NEXT_MESSAGE = "nextMessage"
    NO_AUDIO_SAVED = "noAudioSaved"
    NO_AVAILABLE_AGENTS = "noAvailableAgents"
    NO_QUEUE = "noQueue"
    NORMAL = "normal"
    NORMAL_CLEARING = "normalClearing"
    NO_RULE = "noRule"
    NO_SPEECH_DETECTED = "noSpeechDetected"
    NOT_AVAILABLE_BEARER_SERVICE = "notAvailableBearerService"
    NOT_SUPPORTED_BEARER_SERVICE = "notSupportedBearerService"
    NUMBER_CHANGED = "numberChanged"
    NUMBER_UNALLOCATED = "numberUnallocated"
    OUT_OF_GRAMMAR = "outOfGrammar"
    OVERFLOW = "overflow"
    OVERRIDE = "override"
    PARK = "park"
    PATH_REPLACEMENT = "pathReplacement"
    QUEUE_CLEARED = "queueCleared"
    QUEUE_TIME_OVERFLOW = "queueTimeOverflow"
    RECALL = "recall"
    RECALL_BUSY = "recallBusy"
    RECALL_FORWARDED = "recallForwarded"
    RECALL_NO_ANSWER = "recallNoAnswer"
    RECALL_RESOURCES_NOT_AVAILABLE = "recallResourcesNotAvailable"
    REDIRECTED = "redirected"
    REMAINS_IN_QUEUE = "remainsInQueue"
    REORDER_TONE = "reorderTone"
    RESERVED = "reserved"
    RESOURCES_NOT_AVAILABLE = "resourcesNotAvailable"
    SELECTED_TRUNK_BUSY = "selectedTrunkBusy"
    SILENT_PARTICIPATION = "silentParticipation"
    SINGLE_STEP_CONFERENCE = "singleStepConference"
    SINGLE_STEP_TRANSFER = "singleStepTransfer"
    SPEECH_DETECTED = "speechDetected"
    SUSPEND = "suspend"
    SWITCHING_FUNCTION_TERMINATED = "switchingFunctionTerminated"
    TERMINATION_CHARACTER_RECEIVED = "terminationCharacterReceived"
    TIMEOUT = "timeout"
    TRANSFER = "transfer"
    TRUNKS_BUSY = "trunksBusy"
    UNAUTHORIZED_BEARER_SERVICE = "unauthorizedBearerService"
    UNKNOWN_OVERFLOW = "unknownOverflow"


class AgentState(CstaEnum):
    AGENT_NOT_READY = "agentNotReady"
    AGENT_NULL = "agentNull"
    AGENT_READY = "agentReady"
    AGENT_BUSY = "agentBusy"
    AGENT_WORKING_AFTER_CALL = "agentWorkingAfterCall"


class RequestedAgentState(CstaEnum):
    LOGGED_ON = "loggedOn"
    LOGGED_OFF = "loggedOff"
    NOT_READY = "notReady"
    READY = "ready"
    WORKING_AFTER_CALL = "workingAfterCall"


class ForwardingType(CstaEnum):
    FORWARD_IMMEDIATE = "forwardImmediate"
    FORWARD_BUSY = "forwardBusy"
    FORWARD_NO_ANS = "forwardNoAns"
    FORWARD_DND = "forwardDND"
    FORWARD_BUSY_INT = "forwardBusyInt"
    FORWARD_BUSY_EXT = "forwardBusyExt"
    FORWARD_NO_ANS_INT = "forwardNoAnsInt"
    FORWARD_NO_ANS_EXT = "forwardNoAnsExt"
    FORWARD_IMM_INT = "forwardImmInt"
    FORWARD_IMM_EXT = "forwardImmExt"
    FORWARD_DND_INT = "forwardDNDInt"
    FORWARD_DND_EXT = "forwardDNDExt"


class SystemStatus(CstaEnum):
    DISABLED = "disabled"
    PARTIALLY_DISABLED = "partiallyDisabled"
    ENABLED = "enabled"
    INITIALIZING = "initializing"
    MESSAGES_LOST = "messagesLost"
    NORMAL = "normal"
    OVERLOAD_IMMINENT = "overloadImminent"
    OVERLOAD_REACHED = "overloadReached"
    OVERLOAD_RELIEVED = "overloadRelieved"


class MonitorType(CstaEnum):
    CALL = "call"
    DEVICE = "device"


class AutoOriginate(CstaEnum):
    PROMPT = "prompt"
    DO_NOT_PROMPT = "doNotPrompt"


class ConsultOptions(CstaEnum):
    CONSULT_ONLY = "consultOnly"
    TRANSFER_ONLY = "transferOnly"
    CONFERENCE_ONLY = "conferenceOnly"
    UNRESTRICTED = "unrestricted"


class ParticipationType(CstaEnum):
    ACTIVE = "active"
    SILENT = "silent"


class DeviceCategory(CstaEnum):
    ACD = "acd"
    CONFERENCE = "conference"
    GROUP = "group"
    NETWORK_INTERFACE = "networkInterface"
    PARK = "park"
    ROUTEING_DEVICE = "routeingDevice"
    STATION = "station"
    VOICE_UNIT = "voiceUnit"
    OTHER = "other"


class TypeOfNumber:
    """Values of the ``typeOfNumber`` attribute (kept as plain strings on ``DeviceID``)."""

    DIALING_NUMBER = "dialingNumber"
    DEVICE_NUMBER = "deviceNumber"
    IMPLICIT_PUBLIC = "implicitPublic"
    EXPLICIT_PUBLIC_UNKNOWN = "explicitPublicUnknown"
    EXPLICIT_PUBLIC_INTERNATIONAL = "explicitPublicInternational"
    EXPLICIT_PUBLIC_NATIONAL = "explicitPublicNational"
    IMPLICIT_PRIVATE = "implicitPrivate"
    EXPLICIT_PRIVATE_UNKNOWN = "explicitPrivateUnknown"
    OTHER = "other"
