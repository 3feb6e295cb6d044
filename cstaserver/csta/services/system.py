"""ECMA-269 clause 14 System services: Request System Status (14.1.x), System Register /
Register Cancel, and the System Status the server sends to registered applications (on
start and stop, and right after connect when the "system status on connect" setting is on,
as OpenScape-style clients expect)."""

from __future__ import annotations

import itertools
from typing import Any

from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.messages import system
from cstaserver.csta.services.registry import service
from cstaserver.csta.types import SystemStatus

_register_ids = itertools.count(1)


@service(system.RequestSystemStatus)
def request_system_status(request: Any) -> system.RequestSystemStatusResponse:
    return system.RequestSystemStatusResponse(
        system_status=SystemStatus(request.core.system_status)
    )


@service(system.SystemRegister)
def system_register(request: Any) -> system.SystemRegisterResponse:
    register_id = f"sr{next(_register_ids)}"
    request.association.system_registrations.add(register_id)
    return system.SystemRegisterResponse(sys_stat_register_id=register_id)


@service(system.SystemRegisterCancel)
def system_register_cancel(request: Any) -> system.SystemRegisterCancelResponse:
    register_id = request.message.sys_stat_register_id.strip()
    registrations = request.association.system_registrations
    if register_id not in registrations:
        raise CstaError(ErrorValue.INVALID_CROSS_REF_ID, f"no registration {register_id}")
    registrations.discard(register_id)
    return system.SystemRegisterCancelResponse()


def system_status_message(status: str, register_id: str | None = None) -> system.SystemStatus:
    return system.SystemStatus(sys_stat_register_id=register_id, system_status=SystemStatus(status))
