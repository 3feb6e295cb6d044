"""ECMA-323 ``CSTAErrorCode`` root (ECMA-269 clause 12.2 / 9.3 negative acknowledgement).

Exactly one child names the category; its text is the value in the edition's spelling.
``csta.errors`` chooses the spellings per edition and builds instances of this class.
ECMA-323 ed3 spells the system resource category ``systemResourceAvailibility`` (sic, as in
the XSD-generated classes and public client code); ``systemResourceAvailability`` is accepted on
input.
"""

from __future__ import annotations

import attrs

from cstaserver.csta.schema import Kind, Node, Raw, message, x

__all__ = ["CSTAErrorCode"]


@message("CSTAErrorCode", Kind.ERROR)
@attrs.frozen(kw_only=True)
class CSTAErrorCode:
    operation: str | None = None
    security: str | None = None
    state_incompatibility: str | None = None
    system_resource_availability: str | None = x(
        "systemResourceAvailibility", aliases=("systemResourceAvailability",), default=None
    )
    subscribed_resource_availability: str | None = None
    performance_management: str | None = None
    private_data: Raw | None = None
    private_error_code: str | None = None
    unspecified: bool = x(node=Node.EMPTY, default=False)
