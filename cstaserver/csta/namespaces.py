"""ECMA-323 namespace editions and the ECMA-354 / vendor namespaces (docs/protocol-notes.md N1).

The codec matches on local names only (any namespace, any prefix); this table is for choosing
edition-dependent spellings (``CSTAErrorCode`` values, see ``csta.errors``) and for the
protocol-version negotiation of ECMA-354 ``StartApplicationSession``.

- ``http://www.ecma-international.org/standards/ecma-323/csta/edN`` for N = 2..6 (ed5 only by
  pattern, inference);
- the old host ``http://www.ecma.ch/standards/ecma-323/csta/ed2`` and uni-tel's non-standard
  ``http://www.ecma.ch/standards/ecma-323/csta/ed6``;
- Avaya DMCC private forms ``…/ed2/priv1`` and ``…/ed3/priv1`` … ``…/ed3/privA`` map to their base
  edition (Ratcow ``DmccProtocols.cs``); any ``…/edN/privX`` suffix does the same.
"""

from __future__ import annotations

import enum
import re

__all__ = [
    "Edition",
    "ED2",
    "ED2_ECMA_CH",
    "ED3",
    "ED4",
    "ED5",
    "ED6",
    "ED6_ECMA_CH",
    "DEFAULT_NAMESPACE",
    "APPL_SESSION",
    "APPL_SESSION_NAMESPACE",
    "LYNC_RCC_EXTENSION",
    "AVAYA_CSTA",
    "ELTEX_CSTA",
    "edition_of",
    "namespace_of",
    "is_csta_namespace",
]

_ECMA_INT = "http://www.ecma-international.org/standards/ecma-323/csta/"
_ECMA_CH = "http://www.ecma.ch/standards/ecma-323/csta/"


class Edition(enum.IntEnum):
    """An ECMA-323 edition; ordered, so ``edition >= Edition.ED4`` reads naturally."""

    ED2 = 2
    ED3 = 3
    ED4 = 4
    ED5 = 5
    ED6 = 6


ED2 = _ECMA_INT + "ed2"
ED2_ECMA_CH = _ECMA_CH + "ed2"
ED3 = _ECMA_INT + "ed3"
ED4 = _ECMA_INT + "ed4"
ED5 = _ECMA_INT + "ed5"
ED6 = _ECMA_INT + "ed6"
ED6_ECMA_CH = _ECMA_CH + "ed6"

#: Configured default (docs/protocol-notes.md N4).
DEFAULT_NAMESPACE = ED3

#: ECMA-354 application sessions: these messages keep this namespace in every edition.
APPL_SESSION = "http://www.ecma-international.org/standards/ecma-354/appl_session"
APPL_SESSION_NAMESPACE = APPL_SESSION
#: Microsoft Lync/OCS RCC private element ``lcs:line``.
LYNC_RCC_EXTENSION = "http://schemas.microsoft.com/Lcs/2005/04/RCCExtension"
#: Vendor login elements inside ``applicationSpecificInfo``.
AVAYA_CSTA = "http://www.avaya.com/csta"
ELTEX_CSTA = "http://www.eltex.org/csta"

_CANONICAL: dict[Edition, str] = {
    Edition.ED2: ED2,
    Edition.ED3: ED3,
    Edition.ED4: ED4,
    Edition.ED5: ED5,
    Edition.ED6: ED6,
}

_KNOWN: dict[str, Edition] = {uri: ed for ed, uri in _CANONICAL.items()}
_KNOWN[ED2_ECMA_CH] = Edition.ED2
_KNOWN[ED6_ECMA_CH] = Edition.ED6

_PATTERN = re.compile(
    r"^https?://www\.ecma(?:-international\.org|\.ch)/standards/ecma-323/csta/ed([2-6])"
    r"(?:/priv[0-9A-Za-z]+)?/?$"
)


def edition_of(namespace_uri: str | None) -> Edition | None:
    """The ECMA-323 edition a namespace URI (or ECMA-354 protocol version) stands for.

    ``None`` for anything else (no namespace, ECMA-354, vendor namespaces).
    """
    if not namespace_uri:
        return None
    known = _KNOWN.get(namespace_uri)
    if known is not None:
        return known
    match = _PATTERN.match(namespace_uri.strip())
    if match is None:
        return None
    return Edition(int(match.group(1)))


def namespace_of(edition: Edition) -> str:
    """The canonical ``ecma-international.org`` namespace URI of an edition."""
    return _CANONICAL[edition]


def is_csta_namespace(namespace_uri: str | None) -> bool:
    """True for any ECMA-323 namespace form we recognise."""
    return edition_of(namespace_uri) is not None
