"""ECMA-269 clause 21 Physical Device Features in ECMA-323 encoding (ed3 clause 9): Set / Get
Message Waiting Indicator (the message waiting lamp of a device)."""

from __future__ import annotations

import attrs

from cstaserver.csta.schema import Kind, Raw, message
from cstaserver.csta.types import DeviceID

__all__ = [
    "SetMessageWaitingIndicator",
    "SetMessageWaitingIndicatorResponse",
    "GetMessageWaitingIndicator",
    "GetMessageWaitingIndicatorResponse",
]


@message("SetMessageWaitingIndicator", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SetMessageWaitingIndicator:
    device: DeviceID
    message_waiting_on: bool
    device_for_message: DeviceID | None = None
    extensions: Raw | None = None


@message("SetMessageWaitingIndicatorResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SetMessageWaitingIndicatorResponse:
    extensions: Raw | None = None


@message("GetMessageWaitingIndicator", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class GetMessageWaitingIndicator:
    device: DeviceID
    extensions: Raw | None = None


@message("GetMessageWaitingIndicatorResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class GetMessageWaitingIndicatorResponse:
    message_waiting_on: bool
    device_for_message: DeviceID | None = None
    extensions: Raw | None = None
