"""Helpers shared by the service handlers: device and connection identifiers in, switch
numbers out (``csta.deviceid.canonical``: one canonicalisation of ECMA-269 12.3.20 device
identifiers - dialling strings, E.164, ``tel:`` and SIP URIs - for every transport).

A ConnectionID (ECMA-269 12.3.x) may leave out its callID or its deviceID. :func:`connection`
completes it wherever it still names one connection: a callID alone names the call's only
connection, else its only one in a state the service acts on (AnswerCall: the alerting
one); a deviceID alone likewise among the device's connections. Several candidates, none,
or an unknown call or device: invalidConnectionIdentifier."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from cstaserver.csta.deviceid import canonical_number
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.types import ConnectionID, DeviceID
from cstaserver.pbx.errors import SwitchError
from cstaserver.pbx.states import ConnectionState


def device_number(
    request: Any, device: DeviceID | None, error: ErrorValue = ErrorValue.INVALID_DEVICE_ID
) -> str:
    """The switch number a client's DeviceID denotes (internal or external)."""
    if device is None or not device.value.strip():
        raise CstaError(error, "no device given")
    try:
        number = canonical_number(device.value, request.switch.public_numbering)
    except ValueError as exc:
        raise CstaError(error, str(exc)) from None
    if not number:
        raise CstaError(error, f"no number in {device.value!r}")
    return number


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
    request: Any,
    conn: ConnectionID | None,
    *,
    need_device: bool = True,
    states: Collection[ConnectionState] = (),
) -> tuple[str, str | None]:
    """(call ID, device number) of a ConnectionID, completed as the module docstring says
    (``states``: the connection states the service acts on, to tell candidates apart).
    ``need_device=False``: the service needs only the call (the device is None if not
    given)."""
    call_id = (conn.call_id or "").strip() if conn is not None else ""
    device = None
    if conn is not None and conn.device_id is not None and conn.device_id.value.strip():
        device = device_number(request, conn.device_id, ErrorValue.INVALID_CONNECTION_ID)
    if call_id and (device is not None or not need_device):
        return call_id, device
    if call_id:
        try:
            candidates = [(call_id, d, state) for d, state in request.switch.snapshot_call(call_id)]
        except SwitchError:
            raise CstaError(ErrorValue.INVALID_CONNECTION_ID, f"no call {call_id!r}") from None
        what = f"call {call_id}"
    elif device is not None:
        try:
            found = request.switch.snapshot_device(device)
        except SwitchError:
            raise CstaError(ErrorValue.INVALID_CONNECTION_ID, f"no device {device!r}") from None
        candidates = [(c, device, state) for c, state, _ in found]
        what = f"device {device}"
    else:
        raise CstaError(ErrorValue.INVALID_CONNECTION_ID, "neither callID nor deviceID given")
    if len(candidates) > 1 and states:
        candidates = [c for c in candidates if c[2] in states] or candidates
    if len(candidates) != 1:
        problem = "no connection" if not candidates else f"{len(candidates)} connections"
        raise CstaError(
            ErrorValue.INVALID_CONNECTION_ID,
            f"{what} has {problem} this request could mean: give both callID and deviceID",
        )
    found_call, found_device, _ = candidates[0]
    return found_call, found_device


def presenter(request: Any) -> Any:
    """How this client names devices: its echo strings, E.164 for the Lync dialect."""
    return request.core.presenter_for(request.association)


def echo_connection(request: Any, call_id: str, number: str) -> ConnectionID:
    """A ConnectionID naming ``number`` as this client wrote it (echo rule)."""
    return presenter(request).connection(call_id, number)
