"""Timing of the ECMA-323 codec (not a test): encodes and decodes per second, one core.

.venv/bin/python bench/bench_codec.py
"""

from __future__ import annotations

import timeit

from cstaserver.csta import namespaces
from cstaserver.csta.codec import EventTemplate, decode, encode
from cstaserver.csta.errors import ErrorValue, encode_error
from cstaserver.csta.messages import DeliveredEvent, MakeCall, MakeCallResponse, MonitorStart
from cstaserver.csta.types import (
    ConnectionID,
    DeviceID,
    EventCause,
    ExtendedDeviceID,
    LocalConnectionState,
)

ED3 = namespaces.ED3

MAKE_CALL = encode(
    MakeCall(
        calling_device=DeviceID(value="tel:+4685551001"),
        called_directory_number=DeviceID(value="tel:+4685551002"),
    ),
    ED3,
)
MONITOR_START = (
    b'<?xml version="1.0" encoding="UTF-8"?><MonitorStart xmlns="'
    + ED3.encode()
    + b'"><monitorObject><deviceObject>1001</deviceObject></monitorObject>'
    b"<requestedMonitorFilter><callcontrol><offered>true</offered></callcontrol>"
    b"</requestedMonitorFilter></MonitorStart>"
)
RESPONSE = MakeCallResponse(calling_device=ConnectionID.of("17", "tel:+4685551001"))
EVENT = DeliveredEvent(
    monitor_cross_ref_id="12",
    connection=ConnectionID.of("42", "1002"),
    alerting_device=ExtendedDeviceID.of("1002"),
    calling_device=ExtendedDeviceID.of("tel:+4685551001"),
    called_device=ExtendedDeviceID.of("1002"),
    last_redirection_device=ExtendedDeviceID(not_known=True),
    local_connection_info=LocalConnectionState.ALERTING,
    cause=EventCause.NEW_CALL,
)
TEMPLATE = EventTemplate(EVENT, ED3)


def rate(label: str, func: object, number: int = 20000) -> None:
    seconds = min(timeit.repeat(func, number=number, repeat=3))  # type: ignore[arg-type]
    print(f"{label:<40} {number / seconds:>10,.0f} /s  {seconds / number * 1e6:6.1f} µs")


def main() -> None:
    assert isinstance(decode(MAKE_CALL).message, MakeCall)
    assert isinstance(decode(MONITOR_START).message, MonitorStart)
    rate("decode MakeCall (parse + typed)", lambda: decode(MAKE_CALL))
    rate("decode MonitorStart with filter", lambda: decode(MONITOR_START))
    rate("encode MakeCallResponse", lambda: encode(RESPONSE, ED3))
    rate("encode DeliveredEvent", lambda: encode(EVENT, ED3))
    rate("EventTemplate build (Delivered)", lambda: EventTemplate(EVENT, ED3))
    rate("EventTemplate.render per monitor", lambda: TEMPLATE.render("99fda87c"), 200000)
    rate("encode_error (cached)", lambda: encode_error(ErrorValue.NO_CALL_TO_ANSWER, ED3), 200000)
    rate(
        "decode MakeCall + encode response",
        lambda: (decode(MAKE_CALL), encode(RESPONSE, ED3)),
    )


if __name__ == "__main__":
    main()
