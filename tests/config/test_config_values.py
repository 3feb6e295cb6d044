"""The one parser of typed whole numbers (ports, LIMs, seconds)."""

from __future__ import annotations

import pytest

from cstaserver.config.values import whole_number


def test_in_range() -> None:
    assert whole_number("8882", "a port", low=1, high=65535) == 8882
    assert whole_number("0", "seconds", low=0) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "'x' is not a port (1-65535)"),
        ("", "'' is not a port (1-65535)"),
        ("1.5", "'1.5' is not a port (1-65535)"),
        ("0", "0 is not a port (1-65535)"),
        ("65536", "65536 is not a port (1-65535)"),
    ],
)
def test_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        whole_number(text, "a port (1-65535)", low=1, high=65535)
    assert str(caught.value) == message


def test_range_hint_only_for_numbers_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"^-1 is not a number of seconds \(0 = no limit\)$"):
        whole_number("-1", "a number of seconds", low=0, range_hint=" (0 = no limit)")
