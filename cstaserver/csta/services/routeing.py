"""ECMA-269 clause 20, the application's side of routeing: Route Register (20.1.1), Route
Register Cancel (20.1.3), Route Select (20.2.5), Route End (20.2.2) and Route Reject
(20.2.3). The state (registrations, dialogues, the switch's Route Request, Re-Route, Route
Used and Route End) is :class:`cstaserver.csta.routeing.RouteingService`.

Route Select, Route End and Route Reject have no positive response (ECMA-269: "always
responds: false"); a request that cannot be followed gets a ``CSTAErrorCode``:
invalidRouteingCrossRefID for a dialogue this client does not have,
invalidRouteRegistrationCrossRefID for a registration it does not have.
"""

from __future__ import annotations

from typing import Any

from cstaserver.csta.errors import ErrorValue
from cstaserver.csta.messages import routeing as messages
from cstaserver.csta.services.common import device_number, internal_device
from cstaserver.csta.services.registry import NO_RESPONSE, service


@service(messages.RouteRegister)
def route_register(request: Any) -> messages.RouteRegisterResponse:
    message: messages.RouteRegister = request.message
    device = None
    if message.routeing_device is not None and message.routeing_device.value.strip():
        device = internal_device(request, message.routeing_device)
    registration = request.core.routeing.register(request.association, device)
    return messages.RouteRegisterResponse(route_register_req_id=registration.register_id)


@service(messages.RouteRegisterCancel)
def route_register_cancel(request: Any) -> messages.RouteRegisterCancelResponse:
    message: messages.RouteRegisterCancel = request.message
    request.core.routeing.cancel(request.association, message.route_register_req_id)
    return messages.RouteRegisterCancelResponse()


def _dialogue(request: Any) -> Any:
    message = request.message
    return request.core.routeing.dialogue(
        request.association, message.cross_ref_identifier, message.route_register_req_id
    )


@service(messages.RouteSelectRequest)
def route_select(request: Any) -> bytes:
    message: messages.RouteSelectRequest = request.message
    dialogue = _dialogue(request)
    destination = device_number(request, message.route_selected, ErrorValue.INVALID_DESTINATION)
    request.core.routeing.select(dialogue, destination, route_used=bool(message.route_used_req))
    return NO_RESPONSE


@service(messages.RouteEndRequest)
def route_end(request: Any) -> bytes:
    request.core.routeing.end_by_application(_dialogue(request))
    return NO_RESPONSE


@service(messages.RouteReject)
def route_reject(request: Any) -> bytes:
    request.core.routeing.reject(_dialogue(request))
    return NO_RESPONSE
