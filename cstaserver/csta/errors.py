"""CSTA errors in one place: ECMA-269 clause 12.2 error values as ECMA-323 ``CSTAErrorCode``.

- :class:`CstaError` is what every service raises: one :class:`~cstaserver.pbx.errors.ErrorValue`
  plus a log message; :func:`error_from_switch` wraps the switch's ``SwitchError``.
- :func:`encode_error` renders ``<CSTAErrorCode xmlns="…"><category>value</category>
  </CSTAErrorCode>`` in the spelling of the client's edition: **one table per edition**.
  A value the edition lacks falls back to its category's ``generic``.
- :func:`decode_error` reads a ``CSTAErrorCode`` a client sends.
- :func:`error_for_decode` maps codec failures to the answer (PROTOCOLS.md 1.3 item 7, R12).

Tables (the ECMA text is not at hand; we follow the XSD-derived public code):

- **ed2 / ed3** (and no or unknown namespace): the short lists of the ed2/ed3 schema, which
  mirror the ASN.1 enumerations (``invalidCallIdentifier``, ``invalidConnectionID``,
  ``outstandingRequestLimitExceeded``…), i.e. ``ErrorValue.name_ed3``. They have no
  ``serviceNotSupported`` and no ``invalidParameterValue``: those fall back to ``generic``.
- **ed4 / ed5 / ed6**: the long ECMA-269 7th-edition lists (``invalidCallID``,
  ``invalidDeviceID``, ``invalidMonitorCrossReferenceID``, ``serviceNotSupported``,
  ``outstandingRequestsLimitExceeded``, ``deviceOutOfService``…).
- The system resource category element is ``systemResourceAvailibility`` (sic) in every
  edition we emit; ``systemResourceAvailability`` is accepted on input.
- No standard value means "message too large" (PROTOCOLS.md 1.3 item 2): we answer
  ``operation`` / ``valueOutOfRange`` (:data:`MESSAGE_TOO_LARGE`).
"""

from __future__ import annotations

from typing import Any

import attrs

from cstaserver.csta.codec import Decoded, DecodeError, encode
from cstaserver.csta.messages.error_code import CSTAErrorCode
from cstaserver.csta.namespaces import Edition, edition_of
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.pbx.errors import ErrorCategory, ErrorValue, SwitchError

__all__ = [
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

EV = ErrorValue
UNSUPPORTED_SERVICE = EV.SERVICE_NOT_SUPPORTED
MESSAGE_TOO_LARGE = EV.VALUE_OUT_OF_RANGE
MALFORMED_MESSAGE = EV.GENERIC


class CstaError(Exception):
    """A CSTA request refused with one ECMA-269 error value."""

    def __init__(self, value: ErrorValue, message: str = "") -> None:
        super().__init__(message or value.name_ed3)
        self.value = value
        self.message = message or value.name_ed3

    def __repr__(self) -> str:
        return f"CstaError({self.value.name}, {self.message!r})"


def error_from_switch(error: SwitchError) -> CstaError:
    """The CSTA error for a switch refusal (same value, same message)."""
    return CstaError(error.value, error.message)


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

# ed2/ed3: the ed3 names carried by ErrorValue, minus the values those editions lack.
_ED3: dict[ErrorValue, str] = {
    value: value.name_ed3 for value in ErrorValue if value is not EV.SERVICE_NOT_SUPPORTED
}

# ed4 and later: ECMA-269 7th-edition spellings.
_ED4: dict[ErrorValue, str] = {
    EV.GENERIC: "generic",
    EV.REQUEST_INCOMPATIBLE_WITH_OBJECT: "requestIncompatibleWithObject",
    EV.VALUE_OUT_OF_RANGE: "valueOutOfRange",
    EV.OBJECT_NOT_KNOWN: "objectNotKnown",
    EV.INVALID_CALLING_DEVICE: "invalidCallingDeviceID",
    EV.INVALID_CALLED_DEVICE: "invalidCalledDeviceID",
    EV.INVALID_FORWARDING_DESTINATION: "invalidForwardingDestination",
    EV.INVALID_CALL_ID: "invalidCallID",
    EV.INVALID_DEVICE_ID: "invalidDeviceID",
    EV.INVALID_CONNECTION_ID: "invalidConnectionID",
    EV.INVALID_DESTINATION: "invalidDestination",
    EV.INVALID_FEATURE: "invalidFeature",
    EV.INVALID_OBJECT_TYPE: "invalidObjectType",
    EV.INVALID_PARAMETER_VALUE: "invalidParameterValue",
    EV.INVALID_CROSS_REF_ID: "invalidMonitorCrossReferenceID",
    EV.SERVICE_NOT_SUPPORTED: "serviceNotSupported",
    EV.STATE_GENERIC: "generic",
    EV.INVALID_OBJECT_STATE: "invalidObjectState",
    EV.INVALID_CONNECTION_STATE: "invalidConnectionState",
    EV.NO_ACTIVE_CALL: "noActiveCall",
    EV.NO_HELD_CALL: "noHeldCall",
    EV.NO_CALL_TO_CLEAR: "noCallToClear",
    EV.NO_CONNECTION_TO_CLEAR: "noConnectionToClear",
    EV.NO_CALL_TO_ANSWER: "noCallToAnswer",
    EV.SYSTEM_RESOURCE_GENERIC: "generic",
    EV.RESOURCE_BUSY: "resourceBusy",
    EV.RESOURCE_OUT_OF_SERVICE: "deviceOutOfService",
    EV.NETWORK_BUSY: "networkBusy",
    EV.OVERALL_MONITOR_LIMIT_EXCEEDED: "overallMonitorLimitExceeded",
    EV.CONFERENCE_MEMBER_LIMIT_EXCEEDED: "conferenceMemberLimitExceeded",
    EV.OBJECT_MONITOR_LIMIT_EXCEEDED: "objectMonitorLimitExceeded",
    EV.TRUNK_LIMIT_EXCEEDED: "trunkLimitExceeded",
    EV.OUTSTANDING_REQUEST_LIMIT_EXCEEDED: "outstandingRequestsLimitExceeded",
    EV.PERFORMANCE_LIMIT_EXCEEDED: "performanceLimitExceeded",
    EV.SECURITY_GENERIC: "generic",
}

_TABLES: dict[Edition, dict[ErrorValue, str]] = {
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
    name = _TABLES[edition].get(value)
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


def encode_error(value: ErrorValue | CstaError | SwitchError, namespace: str) -> bytes:
    """``CSTAErrorCode`` bytes in ``namespace`` (cached: errors are few and repeat)."""
    if isinstance(value, (CstaError, SwitchError)):
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
        return EV.INVALID_PARAMETER_VALUE if error.missing else EV.VALUE_OUT_OF_RANGE
    return MALFORMED_MESSAGE
