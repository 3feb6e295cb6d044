"""Whole numbers typed by a user (option values, command arguments): one parser, one-line
messages that say what was expected. Callers turn ``ValueError`` into their own error type
(twistd's UsageError, argparse's ArgumentTypeError)."""

from __future__ import annotations

#: The longest text read as a whole number (Python refuses past 4,300 digits, and every
#: number typed here has far fewer); longer text is refused without converting it.
MAX_DIGITS = 20


def shown(text: object, width: int = 24) -> str:
    """``text`` for a one-line message: its repr, cut short when long."""
    if isinstance(text, str) and len(text) > width:
        return f"{text[:width]!r}... ({len(text)} characters)"
    return repr(text)


def whole_number(
    text: str, what: str, *, low: int, high: int | None = None, range_hint: str = ""
) -> int:
    """``text`` as a decimal int in ``low``..``high``; ValueError("<text> is not <what>")."""
    try:
        if len(text.strip()) > MAX_DIGITS:
            raise ValueError(text)
        value = int(text, 10)
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"{shown(text)} is not {what}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{value} is not {what}{range_hint}")
    return value
