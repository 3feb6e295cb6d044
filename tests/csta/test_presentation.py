"""How devices are named to a client: the echo rule first, then deviceid.present."""

from __future__ import annotations

import pytest

from cstaserver.csta import codec
from cstaserver.csta.deviceid import PrefixNumberPlan
from cstaserver.csta.namespaces import ED4
from cstaserver.csta.presentation import Presenter

PLAN = PrefixNumberPlan(public_prefix="+468555", internal_length=4)


@pytest.mark.parametrize(
    ("e164", "number", "expected"),
    [
        (True, "1001", "tel:+4685551001"),
        (True, "+4685550107", "tel:+4685550107"),
        (True, "0812345", "tel:0812345;phone-context=dialstring"),
        (False, "1001", "1001"),
        (False, "+4685550107", "+4685550107"),
    ],
)
def test_other_parties_as_the_dialect_wants(e164: bool, number: str, expected: str) -> None:
    assert Presenter(PLAN, e164=e164).text(number) == expected


def test_the_clients_own_string_is_echoed_byte_for_byte() -> None:
    line = "tel:1001;phone-context=dialstring;partition=BE"
    presenter = Presenter(PLAN, e164=True, echo=(("1001", line),))
    assert presenter.text("1001") == line
    assert presenter.text("1002") == "tel:+4685551002"


def test_decode_error_carries_the_request_namespace() -> None:
    body = f'<MakeCall xmlns="{ED4}"><callingDevice>1000</callingDevice></MakeCall>'.encode()
    with pytest.raises(codec.DecodeError) as caught:
        codec.decode(body)
    assert caught.value.namespace == ED4
    assert caught.value.missing
