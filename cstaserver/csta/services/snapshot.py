"""ECMA-269 clause 16 Snapshot services: Snapshot Device (16.1.2), Snapshot Call (16.1.1),
answered with the snapshot data in the response (never a serviceCrossRefID). A party whose
identity is restricted (withheld caller ID) is ``<restricted/>`` here as in the events."""

from __future__ import annotations

from typing import Any

from cstaserver.csta.mapping import local_state
from cstaserver.csta.messages.common import CallState
from cstaserver.csta.messages.snapshot import (
    SnapshotCall,
    SnapshotCallData,
    SnapshotCallResponse,
    SnapshotCallResponseInfo,
    SnapshotDevice,
    SnapshotDeviceData,
    SnapshotDeviceResponse,
    SnapshotDeviceResponseInfo,
)
from cstaserver.csta.services.common import connection, internal_device, presenter
from cstaserver.csta.services.registry import service


@service(SnapshotDevice)
def snapshot_device(request: Any) -> SnapshotDeviceResponse:
    number = internal_device(request, request.message.snapshot_object)
    p = presenter(request)
    items = []
    for call_id, state, others in request.switch.snapshot_device(number):
        q = p.hiding(request.switch.restricted_parties(call_id), number)
        states = [local_state(state)] + [
            local_state(other_state)
            for device, other_state in request.switch.snapshot_call(call_id)
            if device != number
        ]
        items.append(
            SnapshotDeviceResponseInfo(
                connection_identifier=q.connection(call_id, number),
                endpoint_device=q.extended(others[0]) if others else None,
                local_call_state=CallState(compound_call_state=states),
            )
        )
    return SnapshotDeviceResponse(snapshot=SnapshotDeviceData(snapshot_data=items))


@service(SnapshotCall)
def snapshot_call(request: Any) -> SnapshotCallResponse:
    call_id, _ = connection(request, request.message.snapshot_object, need_device=False)
    rows = request.switch.snapshot_call(call_id)
    p = presenter(request).hiding(request.switch.restricted_parties(call_id))
    items = [
        SnapshotCallResponseInfo(
            device_on_call=p.extended(device),
            call_identifier=p.connection(call_id, device),
            local_connection_state=local_state(state),
        )
        for device, state in rows
    ]
    return SnapshotCallResponse(snapshot=SnapshotCallData(snapshot_data=items))
