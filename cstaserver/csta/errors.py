"""CSTA errors in one place: ECMA-269 clause 12.2 error values as ECMA-323 ``CSTAErrorCode``.

- :class:`ErrorCategory` and :class:`ErrorValue`: the ECMA-269 error categories (12.2.1 to
  12.2.7) and the values this server uses. Nothing outside the CSTA layer and its transports
  knows them: the switch refuses requests in its own words (``pbx.errors.Refusal``).
- :data:`SWITCH_REFUSALS`: **the one table** from each switch refusal to its error value;
  :func:`error_from_switch` uses it to turn a ``SwitchError`` into a :class:`CstaError`.
- :class:`CstaError` is what every service raises: one :class:`ErrorValue` plus a log message.
- :func:`encode_error` renders ``<CSTAErrorCode xmlns="…"><category>value</category>
  </CSTAErrorCode>`` in the spelling of the client's edition: **one table per edition**
  (:data:`EDITION_SPELLINGS`). A value an edition lacks (listed in :data:`GENERIC_IN`) is
  written as its category's ``generic``.
- :func:`decode_error` reads a ``CSTAErrorCode`` a client sends.
- :func:`error_for_decode` maps codec failures to the answer (ECMA-269 9.3: every request
  gets a positive or a negative answer, a request that cannot be read too).

Tables (the ECMA text is not at hand; we follow the XSD-derived public code):

- **ed2 / ed3** (and no or unknown namespace): the short lists of the ed2/ed3 schema, which
  mirror the ASN.1 enumerations (``invalidCallIdentifier``, ``invalidDeviceState``,
  ``outstandingReqLimitExceeded``, ``invalidParameterValue``…), i.e. ``ErrorValue.name_ed3``.
  They have no ``serviceNotSupported``: it falls back to ``operation/generic``.
- **ed4 / ed5 / ed6**: the long ECMA-269 7th-edition lists (``invalidCallID``,
  ``invalidDeviceID``, ``invalidMonitorCrossReferenceID``, ``serviceNotSupported``,
  ``outstandingRequestsLimitExceeded``, ``deviceOutOfService``…). ``invalidMonitorObject``
  falls back to ``operation/generic`` there.
- The system resource category element is ``systemResourceAvailibility`` (sic) in every
  edition we emit; ``systemResourceAvailability`` is accepted on input.
- No standard value means "message too large": we answer ``operation`` /
  ``valueOutOfRange`` (:data:`MESSAGE_TOO_LARGE`).
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from cstaserver.csta.codec import Decoded, DecodeError, encode
from cstaserver.csta.messages.error_code import CSTAErrorCode
from cstaserver.csta.namespaces import Edition, edition_of
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.pbx.errors import Refusal, SwitchError

__all__ = [
    "ErrorCategory",
    "ErrorValue",
    "SWITCH_REFUSALS",
    "EDITION_SPELLINGS",
    "GENERIC_IN",
    "CstaError",
    "ReceivedError",
    "error_from_switch",
    "error_code_message",
    "encode_error",
    "decode_error",
    "error_for_decode",
    "spelling",
    "CATEGORY_ELEMENTS",
    "UNSUPPORTED_SERVICE",
    "MESSAGE_TOO_LARGE",
    "MALFORMED_MESSAGE",
]


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
    """One ECMA-269 error value: (category, ECMA-323 ed2/ed3 spelling).

    The ed3 spellings are the ed3 schema's (``outstandingReqLimitExceeded``,
    ``invalidDeviceState``, ``deviceOutOfService``); :data:`EDITION_SPELLINGS` holds the
    ed4+ table.
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
    INVALID_ROUTEING_CROSS_REF_ID = (ErrorCategory.OPERATION, "invalidRouteingCrossRefID")
    INVALID_ROUTE_REGISTRATION_CROSS_REF_ID = (
        ErrorCategory.OPERATION,
        "invalidRouteRegistrationCrossRefID",
    )
    SERVICE_NOT_SUPPORTED = (ErrorCategory.OPERATION, "serviceNotSupported")
    PRIVILEGE_VIOLATION = (ErrorCategory.OPERATION, "privilegeViolationSpecifiedDevice")
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


UNSUPPORTED_SERVICE = ErrorValue.SERVICE_NOT_SUPPORTED
MESSAGE_TOO_LARGE = ErrorValue.VALUE_OUT_OF_RANGE
MALFORMED_MESSAGE = ErrorValue.GENERIC

#: The one table from the switch's refusals to ECMA-269 error values (every Refusal is here).
SWITCH_REFUSALS: dict[Refusal, ErrorValue] = {
    Refusal.NO_SUCH_DEVICE: ErrorValue.OBJECT_NOT_KNOWN,
    Refusal.NO_SUCH_CALL: ErrorValue.INVALID_CALL_ID,
    Refusal.NOT_IN_CALL: ErrorValue.INVALID_CONNECTION_ID,
    Refusal.SAME_CALL_TWICE: ErrorValue.INVALID_CALL_ID,
    Refusal.WRONG_DEVICE_KIND: ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    Refusal.BAD_CALLING_DEVICE: ErrorValue.INVALID_CALLING_DEVICE,
    Refusal.BAD_CALLED_NUMBER: ErrorValue.INVALID_CALLED_DEVICE,
    Refusal.BAD_DESTINATION: ErrorValue.INVALID_DESTINATION,
    Refusal.BAD_FORWARD_DESTINATION: ErrorValue.INVALID_FORWARDING_DESTINATION,
    Refusal.BAD_ARGUMENT: ErrorValue.INVALID_PARAMETER_VALUE,
    Refusal.OUT_OF_RANGE: ErrorValue.VALUE_OUT_OF_RANGE,
    Refusal.NOT_IN_STATE: ErrorValue.INVALID_OBJECT_STATE,
    Refusal.CONNECTION_NOT_IN_STATE: ErrorValue.INVALID_CONNECTION_STATE,
    Refusal.NO_CALL_TO_ANSWER: ErrorValue.NO_CALL_TO_ANSWER,
    Refusal.NOTHING_TO_CLEAR: ErrorValue.NO_CONNECTION_TO_CLEAR,
    Refusal.NO_ACTIVE_CALL: ErrorValue.NO_ACTIVE_CALL,
    Refusal.NO_HELD_CALL: ErrorValue.NO_HELD_CALL,
    Refusal.DEVICE_BUSY: ErrorValue.RESOURCE_BUSY,
    Refusal.CONFERENCE_FULL: ErrorValue.CONFERENCE_MEMBER_LIMIT_EXCEEDED,
    Refusal.ALL_TRUNKS_BUSY: ErrorValue.NETWORK_BUSY,
    Refusal.WRONG_PASSWORD: ErrorValue.SECURITY_GENERIC,
    Refusal.NOT_ALLOWED: ErrorValue.PRIVILEGE_VIOLATION,
}


class CstaError(Exception):
    """A CSTA request refused with one ECMA-269 error value."""

    def __init__(self, value: ErrorValue, message: str = "") -> None:
        super().__init__(message or value.name_ed3)
        self.value = value
        self.message = message or value.name_ed3

    def __repr__(self) -> str:
        return f"CstaError({self.value.name}, {self.message!r})"


def error_from_switch(error: SwitchError) -> CstaError:
    """The CSTA error for a switch refusal (its value from :data:`SWITCH_REFUSALS`, the
    switch's message)."""
    return CstaError(SWITCH_REFUSALS[error.reason], error.message)


#: Category → CSTAErrorCode child element (same in every edition).
CATEGORY_ELEMENTS: dict[ErrorCategory, str] = {
    ErrorCategory.OPERATION: "operation",
    ErrorCategory.SECURITY: "security",
    ErrorCategory.STATE_INCOMPATIBILITY: "stateIncompatibility",
    ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY: "systemResourceAvailibility",
    ErrorCategory.SUBSCRIBED_RESOURCE_AVAILABILITY: "subscribedResourceAvailability",
    ErrorCategory.PERFORMANCE_MANAGEMENT: "performanceManagement",
    ErrorCategory.UNSPECIFIED: "unspecified",
}

_CATEGORY_FIELDS: dict[ErrorCategory, str] = {
    ErrorCategory.OPERATION: "operation",
    ErrorCategory.SECURITY: "security",
    ErrorCategory.STATE_INCOMPATIBILITY: "state_incompatibility",
    ErrorCategory.SYSTEM_RESOURCE_AVAILABILITY: "system_resource_availability",
    ErrorCategory.SUBSCRIBED_RESOURCE_AVAILABILITY: "subscribed_resource_availability",
    ErrorCategory.PERFORMANCE_MANAGEMENT: "performance_management",
}

#: Per edition, the values it has no spelling for: written as their category's ``generic``.
#: The ed4+ table has no ``invalidMonitorObject`` entry (whether the 7th-edition list has one
#: is not checked against the ECMA text), so an ed4+ client gets ``operation/generic`` for it.
GENERIC_IN: dict[Edition, frozenset[ErrorValue]] = {
    Edition.ED2: frozenset({ErrorValue.SERVICE_NOT_SUPPORTED}),
    Edition.ED3: frozenset({ErrorValue.SERVICE_NOT_SUPPORTED}),
    Edition.ED4: frozenset({ErrorValue.INVALID_MONITOR_OBJECT}),
    Edition.ED5: frozenset({ErrorValue.INVALID_MONITOR_OBJECT}),
    Edition.ED6: frozenset({ErrorValue.INVALID_MONITOR_OBJECT}),
}

# ed2/ed3: the ed3 names carried by ErrorValue, minus the values those editions lack.
_ED3: dict[ErrorValue, str] = {
    value: value.name_ed3 for value in ErrorValue if value not in GENERIC_IN[Edition.ED3]
}

# ed4 and later: ECMA-269 7th-edition spellings.
_ED4: dict[ErrorValue, str] = {
    ErrorValue.GENERIC: "generic",
    ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT: "requestIncompatibleWithObject",
    ErrorValue.VALUE_OUT_OF_RANGE: "valueOutOfRange",
    ErrorValue.OBJECT_NOT_KNOWN: "objectNotKnown",
    ErrorValue.INVALID_CALLING_DEVICE: "invalidCallingDeviceID",
    ErrorValue.INVALID_CALLED_DEVICE: "invalidCalledDeviceID",
    ErrorValue.INVALID_FORWARDING_DESTINATION: "invalidForwardingDestination",
    ErrorValue.INVALID_CALL_ID: "invalidCallID",
    ErrorValue.INVALID_DEVICE_ID: "invalidDeviceID",
    ErrorValue.INVALID_CONNECTION_ID: "invalidConnectionID",
    ErrorValue.INVALID_DESTINATION: "invalidDestination",
    ErrorValue.INVALID_FEATURE: "invalidFeature",
    ErrorValue.INVALID_OBJECT_TYPE: "invalidObjectType",
    ErrorValue.INVALID_PARAMETER_VALUE: "invalidParameterValue",
    ErrorValue.INVALID_CROSS_REF_ID: "invalidMonitorCrossReferenceID",
    ErrorValue.INVALID_ROUTEING_CROSS_REF_ID: "invalidRouteingCrossRefID",
    ErrorValue.INVALID_ROUTE_REGISTRATION_CROSS_REF_ID: "invalidRouteRegistrationCrossRefID",
    ErrorValue.SERVICE_NOT_SUPPORTED: "serviceNotSupported",
    ErrorValue.PRIVILEGE_VIOLATION: "privilegeViolationSpecifiedDevice",
    ErrorValue.STATE_GENERIC: "generic",
    ErrorValue.INVALID_OBJECT_STATE: "invalidObjectState",
    ErrorValue.INVALID_CONNECTION_STATE: "invalidConnectionState",
    ErrorValue.NO_ACTIVE_CALL: "noActiveCall",
    ErrorValue.NO_HELD_CALL: "noHeldCall",
    ErrorValue.NO_CALL_TO_CLEAR: "noCallToClear",
    ErrorValue.NO_CONNECTION_TO_CLEAR: "noConnectionToClear",
    ErrorValue.NO_CALL_TO_ANSWER: "noCallToAnswer",
    ErrorValue.SYSTEM_RESOURCE_GENERIC: "generic",
    ErrorValue.RESOURCE_BUSY: "resourceBusy",
    ErrorValue.RESOURCE_OUT_OF_SERVICE: "deviceOutOfService",
    ErrorValue.NETWORK_BUSY: "networkBusy",
    ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED: "overallMonitorLimitExceeded",
    ErrorValue.CONFERENCE_MEMBER_LIMIT_EXCEEDED: "conferenceMemberLimitExceeded",
    ErrorValue.OBJECT_MONITOR_LIMIT_EXCEEDED: "objectMonitorLimitExceeded",
    ErrorValue.TRUNK_LIMIT_EXCEEDED: "trunkLimitExceeded",
    ErrorValue.OUTSTANDING_REQUEST_LIMIT_EXCEEDED: "outstandingRequestsLimitExceeded",
    ErrorValue.PERFORMANCE_LIMIT_EXCEEDED: "performanceLimitExceeded",
    ErrorValue.SECURITY_GENERIC: "generic",
}

#: One spelling table per edition (the ed4 one is shared by ed5 and ed6).
EDITION_SPELLINGS: dict[Edition, dict[ErrorValue, str]] = {
    Edition.ED2: _ED3,
    Edition.ED3: _ED3,
    Edition.ED4: _ED4,
    Edition.ED5: _ED4,
    Edition.ED6: _ED4,
}

# reverse lookup for decoding: (category, spelling) → value, any edition
_REVERSE: dict[tuple[ErrorCategory, str], ErrorValue] = {}
for _table in (_ED4, _ED3):
    for _value, _name in _table.items():
        _REVERSE[(_value.category, _name)] = _value
_REVERSE.update({(v.category, v.name_ed3): v for v in ErrorValue})
for _value in ErrorValue:  # exact ed3 pairs win
    _REVERSE[(_value.category, _value.name_ed3)] = _value


def spelling(value: ErrorValue, namespace: str | None) -> tuple[ErrorCategory, str]:
    """(category, value spelling) for an edition's namespace, with the generic fallback."""
    edition = edition_of(namespace) or Edition.ED3
    name = EDITION_SPELLINGS[edition].get(value)
    return value.category, name if name is not None else "generic"


def error_code_message(value: ErrorValue | CstaError, namespace: str | None) -> CSTAErrorCode:
    """The ``CSTAErrorCode`` message instance for a value in an edition's spelling."""
    if isinstance(value, CstaError):
        value = value.value
    category, name = spelling(value, namespace)
    if category is ErrorCategory.UNSPECIFIED:
        return CSTAErrorCode(unspecified=True)
    return CSTAErrorCode(**{_CATEGORY_FIELDS[category]: name})


_ENCODED: dict[tuple[ErrorValue, str], bytes] = {}


def encode_error(value: ErrorValue | CstaError | SwitchError | Refusal, namespace: str) -> bytes:
    """``CSTAErrorCode`` bytes in ``namespace`` (cached: errors are few and repeat).

    A switch refusal (or ``SwitchError``) is written as its :data:`SWITCH_REFUSALS` value.
    """
    if isinstance(value, SwitchError):
        value = value.reason
    if isinstance(value, Refusal):
        value = SWITCH_REFUSALS[value]
    elif isinstance(value, CstaError):
        value = value.value
    key = (value, namespace)
    data = _ENCODED.get(key)
    if data is None:
        data = _ENCODED[key] = encode(error_code_message(value, namespace), namespace)
    return data


@attrs.frozen
class ReceivedError:
    """A decoded ``CSTAErrorCode``: category, the spelling received, and our value if known."""

    category: ErrorCategory | None
    value_name: str
    error_value: ErrorValue | None


def decode_error(message: CSTAErrorCode | Decoded | Any) -> ReceivedError:
    """Interpret a ``CSTAErrorCode`` received from a client (or a ``Decoded`` holding one)."""
    if isinstance(message, Decoded):
        message = message.message
    if not isinstance(message, CSTAErrorCode):
        raise TypeError("not a CSTAErrorCode")
    for category, field in _CATEGORY_FIELDS.items():
        name = getattr(message, field)
        if name is not None:
            return ReceivedError(category, name, _REVERSE.get((category, name)))
    if message.private_error_code is not None:
        return ReceivedError(None, message.private_error_code, None)
    return ReceivedError(ErrorCategory.UNSPECIFIED, "", None)


def error_for_decode(error: DecodeError | XmlRejected | Exception) -> ErrorValue:
    """The error value to answer for a request the codec could not read.

    Malformed or refused XML → ``operation/generic``; a missing mandatory element →
    ``invalidParameterValue``; a bad value → ``valueOutOfRange``.
    """
    if isinstance(error, DecodeError):
        return (
            ErrorValue.INVALID_PARAMETER_VALUE if error.missing else ErrorValue.VALUE_OUT_OF_RANGE
        )
    return MALFORMED_MESSAGE
