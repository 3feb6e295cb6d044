"""Typed switch errors: ECMA-269 clause 12.2 (error values), in protocol-neutral form.

Every operation of the switching model that refuses a request raises :class:`SwitchError`
with one :class:`ErrorValue`. The CSTA layer (``cstaserver.csta.errors``) maps each value
to the ``CSTAErrorCode`` category and spelling of the client's ECMA-323 edition; the switch
itself knows nothing of XML.
"""

from __future__ import annotations

import enum


class ErrorCategory(enum.Enum):
    """The ECMA-269 error categories (12.2.1 ... 12.2.7)."""

    OPERATION = "operation"
    SECURITY = "security"
    STATE_INCOMPATIBILITY = "stateIncompatibility"
    SYSTEM_RESOURCE_AVAILABILITY = "systemResourceAvailability"
    SUBSCRIBED_RESOURCE_AVAILABILITY = "subscribedResourceAvailability"
    PERFORMANCE_MANAGEMENT = "performanceManagement"
    UNSPECIFIED = "unspecified"


class ErrorValue(enum.Enum):
    """One ECMA-269 error value: (category, ed3 value name).

    The ed3 spellings follow PROTOCOLS.md 3.1 (``outstandingReqLimitExceeded``,
    ``invalidDeviceState``, ``deviceOutOfService``); ``csta.errors`` holds the ed4+ table.
    """

    # operation errors (12.2.1)
    GENERIC = (ErrorCategory.OPERATION, "generic")
    REQUEST_INCOMPATIBLE_WITH_OBJECT = (ErrorCategory.OPERATION, "requestIncompatibleWithObject")
    VALUE_OUT_OF_RANGE = (ErrorCategory.OPERATION, "valueOutOfRange")
    OBJECT_NOT_KNOWN = (ErrorCategory.OPERATION, "objectNotKnown")
    INVALID_CALLING_DEVICE = (ErrorCategory.OPERATION, "invalidCallingDevice")
    INVALID_CALLED_DEVICE = (ErrorCategory.OPERATION, "invalidCalledDevice")
    INVALID_FORWARDING_DESTINATION = (ErrorCategory.OPERATION, "invalidForwardingDestination")
    INVALID_CALL_ID = (ErrorCategory.OPERATION, "invalidCallIdentifier")
    INVALID_DEVICE_ID = (ErrorCategory.OPERATION, "invalidDeviceIdentifier")
    INVALID_CONNECTION_ID = (ErrorCategory.OPERATION, "invalidConnectionIdentifier")
    INVALID_DESTINATION = (ErrorCategory.OPERATION, "invalidDestination")
    INVALID_FEATURE = (ErrorCategory.OPERATION, "invalidFeature")
    INVALID_OBJECT_TYPE = (ErrorCategory.OPERATION, "invalidObjectType")
    INVALID_PARAMETER_VALUE = (ErrorCategory.OPERATION, "invalidParameterValue")
    INVALID_CROSS_REF_ID = (ErrorCategory.OPERATION, "invalidCrossRefID")
    INVALID_MONITOR_OBJECT = (ErrorCategory.OPERATION, "invalidMonitorObject")
    SERVICE_NOT_SUPPORTED = (ErrorCategory.OPERATION, "serviceNotSupported")
    # state incompatibility errors (12.2.3)
    STATE_GENERIC = (ErrorCategory.STATE_INCOMPATIBILITY, "generic")
    INVALID_OBJECT_STATE = (ErrorCategory.STATE_INCOMPATIBILITY, "invalidDeviceState")
    INVALID_CONNECTION_STATE = (ErrorCategory.STATE_INCOMPATIBILITY, "invalidConnectionState")
    NO_ACTIVE_CALL = (ErrorCategory.STATE_INCOMPATIBILITY, "noActiveCall")
    NO_HELD_CALL = (ErrorCategory.STATE_INCOMPATIBILITY, "noHeldCall")
    NO_CALL_TO_CLEAR = (ErrorCategory.STATE_INCOMPATIBILITY, "noCallToClear")
    NO_CONNECTION_TO_CLEAR = (ErrorCategory.STATE_INCOMPATIBILITY, "noConnectionToClear")
    NO_CALL_TO_ANSWER = (ErrorCategory.STATE_INCOMPATIBILITY, "noCallToAnswer")
    # system resource availability errors (12.2.4)
    SYSTEM_RESOURCE_GENERIC = (ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY, "generic")
    RESOURCE_BUSY = (ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY, "resourceBusy")
    RESOURCE_OUT_OF_SERVICE = (ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY, "deviceOutOfService")
    NETWORK_BUSY = (ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY, "networkBusy")
    OVERALL_MONITOR_LIMIT_EXCEEDED = (
        ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY,
        "overallMonitorLimitExceeded",
    )
    CONFERENCE_MEMBER_LIMIT_EXCEEDED = (
        ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY,
        "conferenceMemberLimitExceeded",
    )
    # subscribed resource availability errors (12.2.5)
    OBJECT_MONITOR_LIMIT_EXCEEDED = (
        ErrorCategory.SUBSCRIBED_RESOURCE_AVAILABILITY,
        "objectMonitorLimitExceeded",
    )
    TRUNK_LIMIT_EXCEEDED = (ErrorCategory.SUBSCRIBED_RESOURCE_AVAILABILITY, "trunkLimitExceeded")
    OUTSTANDING_REQUEST_LIMIT_EXCEEDED = (
        ErrorCategory.SUBSCRIBED_RESOURCE_AVAILABILITY,
        "outstandingReqLimitExceeded",
    )
    # performance management (12.2.6)
    PERFORMANCE_LIMIT_EXCEEDED = (ErrorCategory.PERFORMANCE_MANAGEMENT, "performanceLimitExceeded")
    # security (12.2.2)
    SECURITY_GENERIC = (ErrorCategory.SECURITY, "generic")

    @property
    def category(self) -> ErrorCategory:
        return self.value[0]

    @property
    def name_ed3(self) -> str:
        return self.value[1]


class SwitchError(Exception):
    """A request the switching model refuses; ``value`` says why in ECMA-269 terms."""

    def __init__(self, value: ErrorValue, message: str = "") -> None:
        super().__init__(message or value.name_ed3)
        self.value = value
        self.message = message or value.name_ed3

    def __repr__(self) -> str:
        return f"SwitchError({self.value.name}, {self.message!r})"
