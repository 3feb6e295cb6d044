"""ECMA-269 clause 16 Snapshot services in ECMA-323 encoding (ed3 clause 9).

Snapshot Device and Snapshot Call. The response carries ``crossRefIDorSnapshotData``: either a
``serviceCrossRefID`` (data follows in segments, not used by us) or ``snapshotData`` items
(``snapshotDeviceResponseInfo`` / ``snapshotCallResponseInfo``).
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from cstaserver.csta.messages.common import CallState
from cstaserver.csta.schema import Kind, Raw, message, x
from cstaserver.csta.types import (
    ConnectionID,
    DeviceID,
    ExtendedDeviceID,
    LocalConnectionState,
)

__all__ = [
    "SnapshotDevice",
    "SnapshotDeviceResponse",
    "SnapshotDeviceData",
    "SnapshotDeviceResponseInfo",
    "SnapshotCall",
    "SnapshotCallResponse",
    "SnapshotCallData",
    "SnapshotCallResponseInfo",
]


@attrs.frozen(kw_only=True)
class SnapshotDeviceResponseInfo:
    connection_identifier: ConnectionID
    endpoint_device: ExtendedDeviceID | None = None
    local_call_state: CallState | None = None
    services_permitted: Raw | None = None
    media_service_info_list: Raw | None = None
    call_linkage_data: Raw | None = None


@attrs.frozen(kw_only=True)
class SnapshotDeviceData:
    """The ``crossRefIDorSnapshotData`` choice of a device snapshot."""

    csta_choice: ClassVar[bool] = True

    service_cross_ref_id: str | None = None
    snapshot_data: list[SnapshotDeviceResponseInfo] | None = x(
        item="snapshotDeviceResponseInfo", default=None
    )


@message("SnapshotDevice", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SnapshotDevice:
    snapshot_object: DeviceID
    extensions: Raw | None = None


@message("SnapshotDeviceResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SnapshotDeviceResponse:
    snapshot: SnapshotDeviceData = x("crossRefIDorSnapshotData")
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class SnapshotCallResponseInfo:
    device_on_call: ExtendedDeviceID | None = None
    call_identifier: ConnectionID | None = None
    local_connection_state: LocalConnectionState | None = None
    services_permitted: Raw | None = None
    media_service_info_list: Raw | None = None


@attrs.frozen(kw_only=True)
class SnapshotCallData:
    """The ``crossRefIDorSnapshotData`` choice of a call snapshot."""

    csta_choice: ClassVar[bool] = True

    service_cross_ref_id: str | None = None
    snapshot_data: list[SnapshotCallResponseInfo] | None = x(
        item="snapshotCallResponseInfo", default=None
    )


@message("SnapshotCall", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SnapshotCall:
    snapshot_object: ConnectionID
    extensions: Raw | None = None


@message("SnapshotCallResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SnapshotCallResponse:
    snapshot: SnapshotCallData = x("crossRefIDorSnapshotData")
    calling_device: ExtendedDeviceID | None = None
    called_device: ExtendedDeviceID | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    correlator_data: str | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None
