"""ECMA-269 clause 14 System services in ECMA-323 encoding (ed3 clause 9).

Request System Status, System Status (switching function → application, answered with an
empty ``SystemStatusResponse``), System Register / System Register Cancel
(docs/protocol-notes.md C3). ``requestTypes`` and the status filters are flag groups.
"""

from __future__ import annotations

import attrs

from cstaserver.csta.schema import Flags, Kind, Raw, message
from cstaserver.csta.types import SystemStatus as SystemStatusValue

__all__ = [
    "RequestSystemStatus",
    "RequestSystemStatusResponse",
    "SystemStatus",
    "SystemStatusResponse",
    "SystemRegister",
    "SystemRegisterResponse",
    "SystemRegisterCancel",
    "SystemRegisterCancelResponse",
    "REQUEST_TYPES",
]

#: Flag names of ``requestTypes``.
REQUEST_TYPES = (
    "systemStatus",
    "requestSystemStatus",
    "switchingFunctionCapsChanged",
    "switchingFunctionDevicesChanged",
)


@message("RequestSystemStatus", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RequestSystemStatus:
    sys_stat_register_id: str | None = None
    extensions: Raw | None = None


@message("RequestSystemStatusResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class RequestSystemStatusResponse:
    system_status: SystemStatusValue
    extensions: Raw | None = None


@message("SystemStatus", Kind.REQUEST, response="SystemStatusResponse")
@attrs.frozen(kw_only=True)
class SystemStatus:
    """Sent by the switching function to the application (a server-originated request)."""

    sys_stat_register_id: str | None = None
    system_status: SystemStatusValue
    switching_function_devices: Raw | None = None
    extensions: Raw | None = None


@message("SystemStatusResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SystemStatusResponse:
    extensions: Raw | None = None


@message("SystemRegister", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SystemRegister:
    request_types: Flags | None = None
    requested_status_filter: Flags | None = None
    extensions: Raw | None = None


@message("SystemRegisterResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SystemRegisterResponse:
    sys_stat_register_id: str
    actual_status_filter: Flags | None = None
    extensions: Raw | None = None


@message("SystemRegisterCancel", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class SystemRegisterCancel:
    sys_stat_register_id: str
    extensions: Raw | None = None


@message("SystemRegisterCancelResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class SystemRegisterCancelResponse:
    extensions: Raw | None = None
