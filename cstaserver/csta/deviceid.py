"""Device identifiers: the one canonicalisation function (docs/protocol-notes.md D1, Q7, R8).

Clients name the same extension as ``1001``, ``tel:1001;phone-context=dialstring``,
``tel:+4685551001``, ``sip:1001@pbx;user=phone``, ``+46 8 555 1001`` … :func:`canonical`
reduces each to one comparable number:

1. trim; drop ``tel:`` / ``sip:`` / ``sips:`` (any case); for SIP keep the user part;
2. split off ``;parameters`` (phone-context, partition, user, device, …) into ``params``;
3. remove visual separators (space, ``(``, ``)``, ``-``, ``.``) from phone-number-like text;
4. map ``+<cc><national>`` to an internal number through a :class:`PublicNumberPlan`
   (demo: ``+4685551xxx`` ↔ ``1xxx``); other ``+`` numbers are external.

Compare canonical forms only; echo the client's ``original`` string back (the echo rule is the
association's business). :func:`present` renders a number for a client: an E.164 tel URI
without ``phone-context`` for Lync-dialect associations, the dialling number otherwise.
"""

from __future__ import annotations

import enum
from typing import Protocol

import attrs

from cstaserver.pbx.plan import PublicNumbering

__all__ = [
    "PublicNumberPlan",
    "PrefixNumberPlan",
    "CanonicalDevice",
    "PresentationStyle",
    "canonical",
    "canonical_number",
    "present",
]


class PublicNumberPlan(Protocol):
    """Maps public E.164 numbers to internal numbers and back (the switching model has one)."""

    def to_internal(self, e164: str) -> str | None:
        """``+4685551001`` → ``1001``; None when the number is not ours."""

    def to_public(self, internal: str) -> str | None:
        """``1001`` → ``+4685551001``; None when the number has no public form."""


#: A public prefix plus fixed-length extensions (``+468555`` + ``1xxx``): the switch's own
#: public numbering satisfies :class:`PublicNumberPlan` as it is.
PrefixNumberPlan = PublicNumbering


@attrs.frozen
class CanonicalDevice:
    """The comparable form of a device identifier.

    ``number``: internal number (or the E.164 ``+…`` number when ``external``, or a SIP user
    name that is not a number); ``params``: URI parameters, keys lower-cased; ``original``: the
    text as received.
    """

    number: str
    external: bool
    params: dict[str, str] = attrs.field(factory=dict, hash=False)
    original: str = ""


_SEPARATORS = str.maketrans("", "", " ()-.\t")
_PHONE_CHARS = frozenset("0123456789+*# ()-.\t")


def _split_params(text: str, params: dict[str, str]) -> str:
    head, *rest = text.split(";")
    for item in rest:
        if not item:
            continue
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip()
    return head


def canonical(text: str, public_plan: PublicNumberPlan | None = None) -> CanonicalDevice:
    """Canonicalise one device identifier (see the module docstring for the rules)."""
    if text.isdigit():  # "1001", what most requests carry: every rule leaves it as it is
        return CanonicalDevice(number=text, external=False, params={}, original=text)
    original = text
    value = text.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    params: dict[str, str] = {}
    lowered = value[:5].lower()
    if lowered.startswith("tel:"):
        value = value[4:]
    elif lowered.startswith("sip:") or lowered.startswith("sips:"):
        value = value[value.index(":") + 1 :]
        user, at, host = value.partition("@")
        if at:
            _split_params(host, params)  # uri parameters: user=phone, transport, …
            value = user
    value = _split_params(value, params).strip()
    if value and all(ch in _PHONE_CHARS for ch in value):
        value = value.translate(_SEPARATORS)
    external = False
    if value.startswith("+"):
        internal = public_plan.to_internal(value) if public_plan is not None else None
        if internal is not None:
            value = internal
        else:
            external = True
    return CanonicalDevice(number=value, external=external, params=params, original=original)


def canonical_number(text: str, public_plan: PublicNumberPlan | None = None) -> str:
    """``canonical(text, public_plan).number``, without building the :class:`CanonicalDevice`
    for a plain dialling number (``1001``, which every rule leaves as it is): what a service
    asks of each device its request names."""
    if text.isdigit():
        return text
    return canonical(text, public_plan).number


class PresentationStyle(enum.Enum):
    """How an association wants numbers presented."""

    E164_TEL_URI = "e164"  # Lync / TR/87 RCC dialect: tel:+4685551001
    DIALLING = "dialling"  # plain dialling number: 1001


def present(
    number: str, style: PresentationStyle, public_plan: PublicNumberPlan | None = None
) -> str:
    """Render a canonical number for a client.

    E.164 style gives ``tel:+…`` (never a ``phone-context`` on an E.164 number); a number with
    no public form becomes ``tel:<number>;phone-context=dialstring`` (RFC 3966 local number).
    Dialling style gives the internal number, or the ``+…`` number of an external party.
    """
    if style is PresentationStyle.DIALLING:
        return number
    if number.startswith("+"):
        return "tel:" + number
    public = public_plan.to_public(number) if public_plan is not None else None
    if public is not None:
        return "tel:" + public
    return f"tel:{number};phone-context=dialstring"
