"""deviceid.canonical / present: the forms of an ECMA-269 12.3.20 device identifier clients
send (dialling strings, E.164, ``tel:`` and SIP URIs, ``N<...>``) and how they are echoed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cstaserver.csta.deviceid import (
    CanonicalDevice,
    PrefixNumberPlan,
    PresentationStyle,
    canonical,
    canonical_number,
    present,
)

PLAN = PrefixNumberPlan(public_prefix="+468555", internal_length=4)


@pytest.mark.parametrize(
    ("text", "number", "external", "params"),
    [
        ("1001", "1001", False, {}),
        ("  1001 ", "1001", False, {}),
        ("263", "263", False, {}),
        ("tel:+4685551001", "1001", False, {}),
        ("TEL:+4685551001", "1001", False, {}),
        ("tel:+46 8 555 1001", "1001", False, {}),
        ("+46 (8) 555-10.01", "1001", False, {}),
        ("tel:+3222220220", "+3222220220", True, {}),
        ("tel:+4685551", "+4685551", True, {}),
        ("tel:+468555100199", "+468555100199", True, {}),
        (
            "tel:73124;phone-context=dialstring;partition=BE_BRS_INT",
            "73124",
            False,
            {"phone-context": "dialstring", "partition": "BE_BRS_INT"},
        ),
        ("tel:73124;phone-context=dialstring", "73124", False, {"phone-context": "dialstring"}),
        (
            "tel:1001;phone-context=dialstring;device=SEP001122334455",
            "1001",
            False,
            {"phone-context": "dialstring", "device": "SEP001122334455"},
        ),
        ("sip:1001@pbx.example.net", "1001", False, {}),
        ("SIPS:1001@pbx.example.net", "1001", False, {}),
        ("sip:1001@pbx.example.net;user=phone", "1001", False, {"user": "phone"}),
        ("sip:+4685551001@gw;user=phone", "1001", False, {"user": "phone"}),
        ("<sip:1001@pbx>", "1001", False, {}),
        ("sip:alice.smith@example.net", "alice.smith", False, {}),
        ("tel:1001;", "1001", False, {}),
    ],
)
def test_canonical_forms(text: str, number: str, external: bool, params: dict[str, str]) -> None:
    result = canonical(text, PLAN)
    assert result == CanonicalDevice(number=number, external=external, params=params, original=text)


def test_forms_compare_equal() -> None:
    forms = [
        "1001",
        "tel:+4685551001",
        "sip:1001@pbx;user=phone",
        "tel:1001;phone-context=dialstring",
    ]
    assert {canonical(form, PLAN).number for form in forms} == {"1001"}


def test_without_plan_every_plus_number_is_external() -> None:
    assert canonical("tel:+4685551001") == CanonicalDevice(
        "+4685551001", True, {}, "tel:+4685551001"
    )


def test_plan_round_trip() -> None:
    assert PLAN.to_internal("+4685551001") == "1001"
    assert PLAN.to_public("1001") == "+4685551001"
    assert PLAN.to_public("100") is None
    assert PLAN.to_public("abcd") is None
    assert PLAN.to_internal("+4685551x01") is None


@pytest.mark.parametrize(
    ("number", "style", "expected"),
    [
        ("1001", PresentationStyle.E164_TEL_URI, "tel:+4685551001"),
        ("+4685550123", PresentationStyle.E164_TEL_URI, "tel:+4685550123"),
        ("2000", PresentationStyle.E164_TEL_URI, "tel:+4685552000"),
        ("20001", PresentationStyle.E164_TEL_URI, "tel:20001;phone-context=dialstring"),
        ("1001", PresentationStyle.DIALLING, "1001"),
        ("+4685550123", PresentationStyle.DIALLING, "+4685550123"),
    ],
)
def test_present(number: str, style: PresentationStyle, expected: str) -> None:
    assert present(number, style, PLAN) == expected


def test_present_e164_never_has_phone_context() -> None:
    assert "phone-context" not in present("1001", PresentationStyle.E164_TEL_URI, PLAN)


@pytest.mark.parametrize("text", ["1001", "0", "4685551001", "\u0661\u0662", "\u00b2"])
def test_plain_digit_strings_are_their_own_canonical_form(text: str) -> None:
    """The fast path for digit-only text gives what the general rules give."""
    assert canonical(text, PLAN) == CanonicalDevice(
        number=text, external=False, params={}, original=text
    )
    assert canonical(f" {text} ", PLAN).number == text  # the general path, same number


@given(
    st.one_of(
        st.text(max_size=24),
        st.from_regex(r"\A(tel:|sip:|SIP:)?\+?[0-9 ()\-.]{0,16}(;[a-z]+=[a-z]*)?\Z"),
        st.integers(min_value=0, max_value=10**12).map(str),
    )
)
def test_canonical_number_is_the_number_of_canonical(text: str) -> None:
    assert canonical_number(text, PLAN) == canonical(text, PLAN).number
    assert canonical_number(text) == canonical(text).number
