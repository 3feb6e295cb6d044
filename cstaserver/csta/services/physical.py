"""ECMA-269 clause 21 Physical Device Features: Set / Get Message Waiting Indicator (21.1.x).

The switch keeps one indicator per extension; setting it sends the Message Waiting event
(21.2.x) to the monitors of the device. ``deviceForMessage`` (the device that holds the
message, e.g. a voice mail system) is accepted and not kept: the simulated exchange has no
message store, and the response to Get never invents one.
"""

from __future__ import annotations

from typing import Any

from cstaserver.csta.messages import physical
from cstaserver.csta.services.common import internal_device
from cstaserver.csta.services.registry import service


@service(physical.SetMessageWaitingIndicator)
def set_message_waiting_indicator(request: Any) -> physical.SetMessageWaitingIndicatorResponse:
    message: physical.SetMessageWaitingIndicator = request.message
    request.switch.set_message_waiting(
        internal_device(request, message.device), message.message_waiting_on
    )
    return physical.SetMessageWaitingIndicatorResponse()


@service(physical.GetMessageWaitingIndicator)
def get_message_waiting_indicator(request: Any) -> physical.GetMessageWaitingIndicatorResponse:
    on = request.switch.get_message_waiting(internal_device(request, request.message.device))
    return physical.GetMessageWaitingIndicatorResponse(message_waiting_on=on)
