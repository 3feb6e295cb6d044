"""ECMA-269 clause 15 Monitoring services: Monitor Start (15.1.2), Monitor Stop (15.1.3),
Change Monitor Filter (15.1.1). Devices of every kind are monitorable, groups included;
calls too. A filter flag ``true`` means "do not send" (ECMA-269 12.3.x MonitorFilter).
``monitorType`` call on a device object starts a call-type monitor that follows each call
of the device after the call leaves it (``csta.monitors``); on a call object every monitor
is call-type and the parameter changes nothing."""

from __future__ import annotations

from typing import Any

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.messages.common import MonitorFilter
from cstaserver.csta.messages.monitoring import (
    ChangeMonitorFilter,
    ChangeMonitorFilterResponse,
    MonitorStart,
    MonitorStartResponse,
    MonitorStop,
    MonitorStopResponse,
)
from cstaserver.csta.services.common import internal_device
from cstaserver.csta.services.registry import service
from cstaserver.csta.types import MonitorType
from cstaserver.pbx.errors import SwitchError


def suppressed_flags(monitor_filter: MonitorFilter | None) -> set[str]:
    """The event flags set to true (filtered out) in any group."""
    if monitor_filter is None:
        return set()
    flags: set[str] = set()
    for group in (
        monitor_filter.callcontrol,
        monitor_filter.call_associated,
        monitor_filter.logical_device_feature,
        monitor_filter.physical_device_feature,
        monitor_filter.media_attachment,
        monitor_filter.maintenance,
        monitor_filter.voice,
        monitor_filter.private,
    ):
        if group:
            flags.update(name for name, on in group.items() if on)
    return flags


@service(MonitorStart)
def monitor_start(request: Any) -> MonitorStartResponse:
    message: MonitorStart = request.message
    association = request.association
    target = message.monitor_object
    suppressed = suppressed_flags(message.requested_monitor_filter)
    e164 = association.profile.e164_presentation
    if target.device_object is not None:
        try:
            number = internal_device(
                request, target.device_object, ErrorValue.INVALID_MONITOR_OBJECT
            )
        except SwitchError:
            raise CstaError(ErrorValue.INVALID_MONITOR_OBJECT, "unknown device") from None
        text = target.device_object.value
        association.remember_device_string(number, text)
        monitor = request.monitors.start(
            association.owner,
            device=number,
            suppressed=suppressed,
            namespace=request.namespace,
            view=(e164, ((number, text),)),
            follows_calls=message.monitor_type is MonitorType.CALL,
            address=association.address,
        )
    elif target.call_object is not None and target.call_object.call_id:
        call_id = target.call_object.call_id.strip()
        try:
            request.switch.snapshot_call(call_id)
        except SwitchError:
            raise CstaError(ErrorValue.INVALID_MONITOR_OBJECT, "unknown call") from None
        monitor = request.monitors.start(
            association.owner,
            call_id=call_id,
            suppressed=suppressed,
            namespace=request.namespace,
            view=(e164, ()),
            address=association.address,
        )
    else:
        raise CstaError(ErrorValue.INVALID_MONITOR_OBJECT, "no device or call to monitor")
    return MonitorStartResponse(
        monitor_cross_ref_id=monitor.cross_ref_id,
        actual_monitor_filter=message.requested_monitor_filter,
    )


@service(MonitorStop)
def monitor_stop(request: Any) -> MonitorStopResponse:
    request.monitors.stop(request.message.monitor_cross_ref_id.strip(), request.association.owner)
    return MonitorStopResponse()


@service(ChangeMonitorFilter)
def change_monitor_filter(request: Any) -> ChangeMonitorFilterResponse:
    message: ChangeMonitorFilter = request.message
    request.monitors.change_filter(
        message.monitor_cross_ref_id.strip(),
        request.association.owner,
        suppressed_flags(message.requested_filter_list),
    )
    return ChangeMonitorFilterResponse(actual_filter_list=message.requested_filter_list)
