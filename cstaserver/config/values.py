"""Whole numbers typed by a user (option values, command arguments): one parser, one-line
messages that say what was expected. Callers turn ``ValueError`` into their own error type
(twistd's UsageError, argparse's ArgumentTypeError)."""

from __future__ import annotations


def whole_number(
    text: str, what: str, *, low: int, high: int | None = None, range_hint: str = ""
) -> int:
    """``text`` as a decimal int in ``low``..``high``; ValueError("<text> is not <what>")."""
    try:
        value = int(text, 10)
    except (TypeError, ValueError):
        raise ValueError(f"{text!r} is not {what}") from None
    if value < low or (high is not None and value > high):
        raise ValueError(f"{value} is not {what}{range_hint}")
    return value
