"""ECMA-269 clause 15 Monitoring services in ECMA-323 encoding (ed3 clause 9, monitoring).

MonitorStart (15.1.x), MonitorStop, ChangeMonitorFilter. ``monitorObject`` is a choice of
``deviceObject`` (DeviceID) and ``callObject`` (ConnectionID); ``requestedMonitorMediaClass`` is a
flag group (voice, data, image, …). Element order as in the ed3 XSD-generated classes.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from cstaserver.csta.messages.common import MonitorFilter
from cstaserver.csta.schema import Flags, Kind, Raw, message
from cstaserver.csta.types import ConnectionID, DeviceID, MonitorType

__all__ = [
    "MonitorObject",
    "MonitorStart",
    "MonitorStartResponse",
    "MonitorStop",
    "MonitorStopResponse",
    "ChangeMonitorFilter",
    "ChangeMonitorFilterResponse",
]


@attrs.frozen(kw_only=True)
class MonitorObject:
    """The monitored object: a device or a call (exactly one)."""

    csta_choice: ClassVar[bool] = True

    device_object: DeviceID | None = None
    call_object: ConnectionID | None = None


@message("MonitorStart", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class MonitorStart:
    monitor_object: MonitorObject
    requested_monitor_filter: MonitorFilter | None = None
    monitor_type: MonitorType | None = None
    requested_monitor_media_class: Flags | None = None
    extensions: Raw | None = None


@message("MonitorStartResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class MonitorStartResponse:
    monitor_cross_ref_id: str
    actual_monitor_filter: MonitorFilter | None = None
    actual_monitor_media_class: Flags | None = None
    monitor_existing_calls: bool | None = None
    extensions: Raw | None = None


@message("MonitorStop", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class MonitorStop:
    monitor_cross_ref_id: str
    extensions: Raw | None = None


@message("MonitorStopResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class MonitorStopResponse:
    extensions: Raw | None = None


@message("ChangeMonitorFilter", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ChangeMonitorFilter:
    monitor_cross_ref_id: str
    requested_filter_list: MonitorFilter
    extensions: Raw | None = None


@message("ChangeMonitorFilterResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class ChangeMonitorFilterResponse:
    actual_filter_list: MonitorFilter | None = None
    extensions: Raw | None = None
