"""CSTAErrorCode per edition, CstaError, switch error mapping, client error decoding."""

from __future__ import annotations

import pytest

from cstaserver.csta import namespaces
from cstaserver.csta.codec import DecodeError, decode
from cstaserver.csta.errors import (
    CstaError,
    ErrorCategory,
    ErrorValue,
    decode_error,
    encode_error,
    error_for_decode,
    error_from_switch,
    spelling,
)
from cstaserver.csta.xmlsafe import XmlRejected
from cstaserver.pbx.errors import Refusal, SwitchError

ED3, ED4, ED6 = namespaces.ED3, namespaces.ED4, namespaces.ED6


def _body(category: str, value: str, namespace: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><CSTAErrorCode xmlns="{namespace}">'
        f"<{category}>{value}</{category}></CSTAErrorCode>"
    ).encode()


def test_ed3_no_call_to_answer_is_pinned() -> None:
    assert encode_error(ErrorValue.NO_CALL_TO_ANSWER, ED3) == _body(
        "stateIncompatibility", "noCallToAnswer", ED3
    )


@pytest.mark.parametrize(
    ("value", "namespace", "category", "name"),
    [
        (ErrorValue.SERVICE_NOT_SUPPORTED, ED3, "operation", "generic"),
        (ErrorValue.SERVICE_NOT_SUPPORTED, namespaces.ED2_ECMA_CH, "operation", "generic"),
        (ErrorValue.SERVICE_NOT_SUPPORTED, ED4, "operation", "serviceNotSupported"),
        (ErrorValue.SERVICE_NOT_SUPPORTED, ED6, "operation", "serviceNotSupported"),
        (ErrorValue.INVALID_CROSS_REF_ID, ED3, "operation", "invalidCrossRefID"),
        (ErrorValue.INVALID_CROSS_REF_ID, ED4, "operation", "invalidMonitorCrossReferenceID"),
        (ErrorValue.INVALID_DEVICE_ID, ED3, "operation", "invalidDeviceIdentifier"),
        (ErrorValue.INVALID_DEVICE_ID, ED6, "operation", "invalidDeviceID"),
        (ErrorValue.INVALID_PARAMETER_VALUE, ED3, "operation", "invalidParameterValue"),
        (ErrorValue.INVALID_PARAMETER_VALUE, ED4, "operation", "invalidParameterValue"),
        (
            ErrorValue.INVALID_CONNECTION_STATE,
            ED3,
            "stateIncompatibility",
            "invalidConnectionState",
        ),
        (
            ErrorValue.INVALID_CONNECTION_STATE,
            ED4,
            "stateIncompatibility",
            "invalidConnectionState",
        ),
        (
            ErrorValue.OVERALL_MONITOR_LIMIT_EXCEEDED,
            ED3,
            "systemResourceAvailibility",
            "overallMonitorLimitExceeded",
        ),
        (
            ErrorValue.RESOURCE_OUT_OF_SERVICE,
            ED6,
            "systemResourceAvailibility",
            "deviceOutOfService",
        ),
        (
            ErrorValue.OUTSTANDING_REQUEST_LIMIT_EXCEEDED,
            ED3,
            "subscribedResourceAvailability",
            "outstandingReqLimitExceeded",
        ),
        (
            ErrorValue.OUTSTANDING_REQUEST_LIMIT_EXCEEDED,
            ED4,
            "subscribedResourceAvailability",
            "outstandingRequestsLimitExceeded",
        ),
        (
            ErrorValue.PERFORMANCE_LIMIT_EXCEEDED,
            ED3,
            "performanceManagement",
            "performanceLimitExceeded",
        ),
        (ErrorValue.SECURITY_GENERIC, ED4, "security", "generic"),
        (ErrorValue.SERVICE_NOT_SUPPORTED, "", "operation", "generic"),
        (ErrorValue.SERVICE_NOT_SUPPORTED, "urn:vendor", "operation", "generic"),
    ],
)
def test_spellings_per_edition(value: ErrorValue, namespace: str, category: str, name: str) -> None:
    data = encode_error(value, namespace)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    assert (
        data
        == (
            f'<?xml version="1.0" encoding="UTF-8"?><CSTAErrorCode{xmlns}>'
            f"<{category}>{name}</{category}></CSTAErrorCode>"
        ).encode()
    )


@pytest.mark.parametrize("namespace", [ED3, ED4, namespaces.ED5, ED6, namespaces.ED2])
def test_every_value_encodes_and_decodes_back(namespace: str) -> None:
    for value in ErrorValue:
        received = decode_error(decode(encode_error(value, namespace)))
        assert received.category is value.category
        category, name = spelling(value, namespace)
        assert received.value_name == name
        if name != "generic":
            assert received.error_value is value


def test_csta_error_and_switch_error() -> None:
    switch = SwitchError(Refusal.NO_ACTIVE_CALL, "1001 has no active call")
    error = error_from_switch(switch)
    assert isinstance(error, CstaError)
    assert error.value is ErrorValue.NO_ACTIVE_CALL and error.message == "1001 has no active call"
    assert (
        encode_error(error, ED3)
        == encode_error(switch, ED3)
        == encode_error(ErrorValue.NO_ACTIVE_CALL, ED3)
    )
    assert CstaError(ErrorValue.GENERIC).message == "generic"


def test_decode_client_errors() -> None:
    received = decode_error(
        decode(b"<CSTAErrorCode><operation>invalidCstaDeviceIdentifier</operation></CSTAErrorCode>")
    )
    assert received.category is ErrorCategory.OPERATION
    assert received.value_name == "invalidCstaDeviceIdentifier" and received.error_value is None
    unspecified = decode_error(decode(b"<CSTAErrorCode><unspecified/></CSTAErrorCode>"))
    assert unspecified.category is ErrorCategory.UNSPECIFIED
    private = decode_error(
        decode(b"<CSTAErrorCode><privateErrorCode>E42</privateErrorCode></CSTAErrorCode>")
    )
    assert private.category is None and private.value_name == "E42"
    with pytest.raises(TypeError):
        decode_error(decode(b"<MonitorStop><monitorCrossRefID>1</monitorCrossRefID></MonitorStop>"))


def test_error_for_decode_failures() -> None:
    assert error_for_decode(XmlRejected("bad")) is ErrorValue.GENERIC
    assert (
        error_for_decode(DecodeError("a", "missing", missing=True))
        is ErrorValue.INVALID_PARAMETER_VALUE
    )
    assert error_for_decode(DecodeError("a", "bad")) is ErrorValue.VALUE_OUT_OF_RANGE
