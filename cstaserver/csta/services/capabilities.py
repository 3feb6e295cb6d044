"""ECMA-269 clause 13 Capability Exchange services: Get CSTA Features (13.1.x) - derived
from the service table and the event builders, so it cannot drift from what is implemented
- Get Switching Function Devices (with the Switching Function Devices messages it sends
after its response), Get Logical / Physical Device Information."""

from __future__ import annotations

import itertools
from typing import Any

from cstaserver.csta import codec
from cstaserver.csta.events import BUILDERS
from cstaserver.csta.mapping import FORWARDING_TYPES
from cstaserver.csta.messages import capabilities
from cstaserver.csta.monitors import EVENT_FILTER_FLAGS
from cstaserver.csta.services.common import internal_device, presenter
from cstaserver.csta.services.registry import service
from cstaserver.csta.types import DeviceCategory
from cstaserver.pbx.plan import DeviceKind

#: Which ``supportedServices`` list a request module belongs to (ECMA-323 ed3 9.x).
SERVICE_LISTS = {
    "capabilities": "cap_exchange_serv_list",
    "system": "system_stat_serv_list",
    "monitoring": "monitoring_serv_list",
    "snapshot": "snapshot_serv_list",
    "call_control": "call_control_serv_list",
    "logical": "logical_serv_list",
    "physical": "phys_dev_serv_list",
    "routeing": "routeing_serv_list",
}
#: Flag names that are not the lowerCamel of the request's root name.
FLAG_NAMES = {
    "SingleStepTransferCall": "singleStepTransfer",
    "SingleStepConferenceCall": "singleStepConference",
    "GetCSTAFeatures": "getCSTAFeatures",
    "RouteSelectRequest": "routeSelect",
    "RouteEndRequest": "routeEnd",
    "CamponCall": "campOnCall",
    "CallBackNonCallRelated": "callBackNonCallRel",
}
#: Services the switching function itself sends, listed beside the requests it serves.
SENT_BY_THE_SWITCH = {"routeing_serv_list": ("reRoute", "routeRequest", "routeUsed")}
#: Requests that ECMA-323 lists elsewhere than their module suggests.
LIST_OVERRIDES = {"GenerateDigits": "call_associated_serv_list"}
EVENT_LISTS = {
    "callControl": "call_control_evts_list",
    "callAssociated": "call_associated_evts_list",
    "logicalDeviceFeature": "logical_evts_list",
    "physicalDeviceFeature": "phys_dev_evts_list",
}
#: Devices per SwitchingFunctionDevices message: about 250 bytes each, so a message stays near
#: 5 KB, well under a 64 KiB XML frame and under the 8 KiB a SIP stack commonly reads from one
#: UDP datagram (over TR/87 on UDP each message is one INFO; RFC 3261 18.1.1).
SEGMENT = 20


def _flag(name: str) -> str:
    return FLAG_NAMES.get(name, name[:1].lower() + name[1:])


def supported_features(services: Any) -> capabilities.GetCSTAFeaturesResponse:
    lists: dict[str, dict[str, bool]] = {}
    for request_class in services:
        name = request_class.csta_name
        module = request_class.__module__.rsplit(".", 1)[-1]
        target = LIST_OVERRIDES.get(name) or SERVICE_LISTS.get(module)
        if target is not None:
            lists.setdefault(target, {})[_flag(name)] = True
    for target, flags in SENT_BY_THE_SWITCH.items():
        if target in lists:
            lists[target].update(dict.fromkeys(flags, True))
    events: dict[str, dict[str, bool]] = {}
    for event_class in BUILDERS:
        group, flag = EVENT_FILTER_FLAGS[event_class]
        events.setdefault(EVENT_LISTS[group], {})[flag] = True
    sort = lambda flags: dict(sorted(flags.items()))  # noqa: E731
    return capabilities.GetCSTAFeaturesResponse(
        supported_services=capabilities.SupportedServices(**{k: sort(v) for k, v in lists.items()}),
        supported_events=capabilities.SupportedEvents(**{k: sort(v) for k, v in events.items()}),
    )


def category_of(kind: DeviceKind) -> DeviceCategory:
    if kind is DeviceKind.ACD_GROUP:
        return DeviceCategory.ACD
    if kind.is_group:
        return DeviceCategory.GROUP
    if kind is DeviceKind.TRUNK:
        return DeviceCategory.NETWORK_INTERFACE
    return DeviceCategory.STATION


@service(capabilities.GetCSTAFeatures)
def get_csta_features(request: Any) -> capabilities.GetCSTAFeaturesResponse:
    return supported_features(request.core.services)


_cross_refs = itertools.count(1)


@service(capabilities.GetSwitchingFunctionDevices)
def get_switching_function_devices(
    request: Any,
) -> capabilities.GetSwitchingFunctionDevicesResponse:
    message: capabilities.GetSwitchingFunctionDevices = request.message
    devices = request.switch.devices()
    if message.requested_device_id is not None:
        number = internal_device(request, message.requested_device_id)
        devices = [d for d in devices if d.number == number]
    if message.requested_device_category is not None:
        devices = [d for d in devices if category_of(d.kind) is message.requested_device_category]
    xref = f"sfd{next(_cross_refs)}"
    p = presenter(request)  # named as this client's events name them (E.164 for Lync)
    segments = [devices[i : i + SEGMENT] for i in range(0, len(devices), SEGMENT)] or [[]]
    for index, segment in enumerate(segments, start=1):
        listing = capabilities.SwitchingFunctionDevices(
            service_cross_ref_id=xref,
            segment_id=index,
            last_segment=index == len(segments),
            device_list=[
                capabilities.DeviceEntry(
                    device_id=p.device_id(d.number),
                    device_category=category_of(d.kind),
                    device_model_name=d.kind.value,
                    system_name=d.name or None,
                    system_element=f"LIM{d.lim}",
                )
                for d in segment
            ],
        )
        # sent after the response: the association holds events until it is written
        request.association.send_unsolicited(codec.encode(listing, request.namespace))
    return capabilities.GetSwitchingFunctionDevicesResponse(service_cross_ref_id=xref)


@service(capabilities.GetLogicalDeviceInformation)
def get_logical_device_information(
    request: Any,
) -> capabilities.GetLogicalDeviceInformationResponse:
    info = request.switch.device(internal_device(request, request.message.device))
    extension = info.is_extension
    return capabilities.GetLogicalDeviceInformationResponse(
        device_category=category_of(info.kind),
        device_model_name=info.kind.value,
        # what the switch enforces (docs/devices.md): one active call per directory number,
        # the held calls HoldCall / ConsultationCall allow; forwarding only on extensions
        max_active_calls=1 if extension else None,
        max_held_calls=info.max_held_calls if extension else None,
        max_fwd_settings=len(FORWARDING_TYPES) if extension else None,
    )


@service(capabilities.GetPhysicalDeviceInformation)
def get_physical_device_information(
    request: Any,
) -> capabilities.GetPhysicalDeviceInformationResponse:
    info = request.switch.device(internal_device(request, request.message.device))
    return capabilities.GetPhysicalDeviceInformationResponse(
        device_category=category_of(info.kind), device_model_name=info.kind.value
    )
