"""Helpers shared by the service handlers: device and connection identifiers in, switch
numbers out (``csta.deviceid.canonical``: one canonicalisation of ECMA-269 12.3.20 device
identifiers - dialling strings, E.164, ``tel:`` and SIP URIs - for every transport)."""

from __future__ import annotations

from typing import Any

from cstaserver.csta.deviceid import canonical
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.types import ConnectionID, DeviceID


def device_number(
    request: Any, device: DeviceID | None, error: ErrorValue = ErrorValue.INVALID_DEVICE_ID
) -> str:
    """The switch number a client's DeviceID denotes (internal or external)."""
    if device is None or not device.value.strip():
        raise CstaError(error, "no device given")
    try:
        result = canonical(device.value, request.switch.public_numbering)
    except ValueError as exc:
        raise CstaError(error, str(exc)) from None
    if not result.number:
        raise CstaError(error, f"no number in {device.value!r}")
    return result.number


def internal_device(
    request: Any, device: DeviceID | None, error: ErrorValue = ErrorValue.INVALID_DEVICE_ID
) -> str:
    """A number that must be a device of this exchange (not an outside party)."""
    number = device_number(request, device, error)
    if request.switch.is_external(number):
        raise CstaError(error, f"{number} is not a device of this exchange")
    request.switch.device(number)  # raises OBJECT_NOT_KNOWN for unknown numbers
    return number


def connection(
    request: Any, conn: ConnectionID | None, *, need_device: bool = True
) -> tuple[str, str | None]:
    """(call ID, device number) of a ConnectionID."""
    if conn is None or not conn.call_id:
        raise CstaError(ErrorValue.INVALID_CONNECTION_ID, "no callID in the connection")
    device = None
    if conn.device_id is not None and conn.device_id.value.strip():
        device = device_number(request, conn.device_id, ErrorValue.INVALID_CONNECTION_ID)
    elif need_device:
        raise CstaError(ErrorValue.INVALID_CONNECTION_ID, "no deviceID in the connection")
    return conn.call_id.strip(), device


def presenter(request: Any) -> Any:
    """How this client names devices: its echo strings, E.164 for the Lync dialect."""
    return request.core.presenter_for(request.association)


def echo_connection(request: Any, call_id: str, number: str) -> ConnectionID:
    """A ConnectionID naming ``number`` as this client wrote it (echo rule)."""
    return presenter(request).connection(call_id, number)
