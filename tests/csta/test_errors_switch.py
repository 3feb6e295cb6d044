"""The one table from switch refusals to ECMA-269 error values, and the edition tables: every
refusal has its error value, every error value a spelling (or its category's generic) in every
edition, and each refusal the switch raises reaches the client as the value it always did."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from cstaserver.csta import namespaces
from cstaserver.csta.codec import decode
from cstaserver.csta.errors import (
    EDITION_SPELLINGS,
    GENERIC_IN,
    SWITCH_REFUSALS,
    CstaError,
    ErrorValue,
    decode_error,
    encode_error,
    error_from_switch,
    spelling,
)
from cstaserver.csta.namespaces import Edition
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.errors import Refusal, SwitchError
from cstaserver.pbx.switch import Switch
from tests.pbx.test_pbx_errors import CASES

#: What each refusal of tests/pbx/test_pbx_errors.py answers a CSTA client.
CSTA_VALUES = {
    "answer unknown call": ErrorValue.INVALID_CALL_ID,
    "answer unknown device": ErrorValue.OBJECT_NOT_KNOWN,
    "answer not in call": ErrorValue.INVALID_CONNECTION_ID,
    "answer connected": ErrorValue.NO_CALL_TO_ANSWER,
    "answer on a group": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "answer on the trunk": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "answer without terminal": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "clear unknown call": ErrorValue.INVALID_CALL_ID,
    "clear not in call": ErrorValue.NO_CONNECTION_TO_CLEAR,
    "clear unknown device": ErrorValue.OBJECT_NOT_KNOWN,
    "hold alerting": ErrorValue.NO_ACTIVE_CALL,
    "hold held": ErrorValue.NO_ACTIVE_CALL,
    "retrieve connected": ErrorValue.NO_HELD_CALL,
    "consult not active": ErrorValue.NO_ACTIVE_CALL,
    "consult bad number": ErrorValue.INVALID_CALLED_DEVICE,
    "transfer without held": ErrorValue.INVALID_CONNECTION_ID,
    "transfer same call": ErrorValue.INVALID_CALL_ID,
    "transfer not held": ErrorValue.INVALID_CONNECTION_ID,
    "conference unknown": ErrorValue.INVALID_CALL_ID,
    "alternate not held": ErrorValue.INVALID_CALL_ID,
    "reconnect not held": ErrorValue.INVALID_CALL_ID,
    "sst alerting": ErrorValue.NO_ACTIVE_CALL,
    "sst bad destination": ErrorValue.INVALID_DESTINATION,
    "ssc busy device": ErrorValue.RESOURCE_BUSY,
    "ssc already in": ErrorValue.INVALID_OBJECT_STATE,
    "ssc group": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "deflect connected": ErrorValue.INVALID_CONNECTION_STATE,
    "deflect bad destination": ErrorValue.INVALID_DESTINATION,
    "digits alerting": ErrorValue.INVALID_CONNECTION_STATE,
    "digits bad": ErrorValue.INVALID_PARAMETER_VALUE,
    "forward to nowhere": ErrorValue.INVALID_FORWARDING_DESTINATION,
    "forward to itself": ErrorValue.INVALID_FORWARDING_DESTINATION,
    "forward bad type": ErrorValue.INVALID_PARAMETER_VALUE,
    "forward ring count": ErrorValue.VALUE_OUT_OF_RANGE,
    "forward a group": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "dnd on trunk": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "dnd unknown": ErrorValue.OBJECT_NOT_KNOWN,
    "agent not agent device": ErrorValue.REQUEST_INCOMPATIBLE_WITH_OBJECT,
    "agent bad id": ErrorValue.INVALID_PARAMETER_VALUE,
    "agent ready not logged on": ErrorValue.INVALID_OBJECT_STATE,
    "agent bad state": ErrorValue.INVALID_PARAMETER_VALUE,
    "device unknown": ErrorValue.OBJECT_NOT_KNOWN,
    "snapshot unknown call": ErrorValue.INVALID_CALL_ID,
    "snapshot unknown device": ErrorValue.OBJECT_NOT_KNOWN,
    "predictive from virtual": ErrorValue.INVALID_CALLING_DEVICE,
    "predictive bad number": ErrorValue.INVALID_CALLED_DEVICE,
    "predictive alert time": ErrorValue.VALUE_OUT_OF_RANGE,
}


def test_every_refusal_has_its_error_value() -> None:
    assert set(SWITCH_REFUSALS) == set(Refusal)
    assert all(isinstance(value, ErrorValue) for value in SWITCH_REFUSALS.values())


@pytest.mark.parametrize("edition", list(Edition))
def test_every_error_value_is_spelled_in_every_edition(edition: Edition) -> None:
    """Each value has the edition's spelling, or is listed as falling back to generic."""
    table, generic = EDITION_SPELLINGS[edition], GENERIC_IN[edition]
    assert {value for value in ErrorValue if value not in table} == generic
    namespace = getattr(namespaces, edition.name)
    for value in ErrorValue:
        written = spelling(value, namespace)
        assert written == (value.category, "generic" if value in generic else table[value])


def test_ed3_falls_back_to_generic_for_service_not_supported() -> None:
    assert ErrorValue.SERVICE_NOT_SUPPORTED in GENERIC_IN[Edition.ED3]
    assert spelling(ErrorValue.SERVICE_NOT_SUPPORTED, namespaces.ED3)[1] == "generic"
    assert spelling(ErrorValue.SERVICE_NOT_SUPPORTED, namespaces.ED4)[1] == "serviceNotSupported"


@pytest.mark.parametrize("name", list(CASES))
def test_each_switch_refusal_reaches_the_client_as_before(name: str) -> None:
    switch = Switch(demo_plan(), Clock())
    active, _ = switch.make_call("1000", "1001")
    switch.answer_call(active, "1001")
    ringing, _ = switch.make_call("1002", "1003")
    operation, _reason = CASES[name]
    with pytest.raises(SwitchError) as caught:
        operation(switch, active, ringing)
    error = error_from_switch(caught.value)
    assert error.value is CSTA_VALUES[name]
    assert error.message == caught.value.message


def test_a_refusal_encodes_as_its_error_value() -> None:
    for refusal, value in SWITCH_REFUSALS.items():
        for namespace in (namespaces.ED3, namespaces.ED6):
            data = encode_error(refusal, namespace)
            assert data == encode_error(value, namespace)
            assert data == encode_error(SwitchError(refusal, "why"), namespace)
            assert data == encode_error(CstaError(value), namespace)
    received = decode_error(decode(encode_error(Refusal.ALL_TRUNKS_BUSY, namespaces.ED4)))
    assert received.error_value is ErrorValue.NETWORK_BUSY
