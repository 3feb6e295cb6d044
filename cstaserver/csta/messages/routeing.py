"""ECMA-269 clause 20 Routeing services in ECMA-323 encoding (codec only).

Registration services (ECMA-269 20.1): Route Register (20.1.1), Route Register Abort (20.1.2),
Route Register Cancel (20.1.3). Routeing services (20.2): Re-Route (20.2.1), Route End
(20.2.2), Route Reject (20.2.3), Route Request (20.2.4), Route Select (20.2.5), Route Used
(20.2.6).

Directions and answers (ECMA-269 clause 20, operation definitions of ECMA-285):

- the application sends ``RouteRegister`` and ``RouteRegisterCancel`` and gets their
  ``…Response`` (or a ``CSTAErrorCode``);
- the switching function sends ``RouteRegisterAbort``, ``RouteRequest``, ``ReRouteRequest``
  and ``RouteUsedRequest``; the application sends ``RouteSelectRequest`` and ``RouteReject``;
  either side sends ``RouteEndRequest``. These have **no positive response** (ECMA-285:
  "ALWAYS RESPONDS FALSE"): the receiver answers only a failure, with ``CSTAErrorCode``.
  They are declared ``Kind.REQUEST`` like the other server-originated request
  (``SystemStatus``), and ``schema.response_class`` of each is ``None``.

Element names and order are the ASN.1 component names of ECMA-285, in its order, as ECMA-323
derives them. Our reading where the XML is not spelled out by the ASN.1:

- root names: ECMA-323 names the routeing dialogue messages after the ECMA-285 operations
  (``RouteRequest``, ``ReRouteRequest``, ``RouteSelectRequest``, ``RouteUsedRequest``,
  ``RouteEndRequest``) and the others after the service (``RouteRegister``,
  ``RouteRegisterAbort``, ``RouteRegisterCancel``, ``RouteReject``);
- ``crossRefIdentifier`` is the routeing cross reference ID (RouteingCrossRefID), allocated
  by the switching function per routeing dialogue;
  ``routeRegisterReqID`` is optional in the dialogue messages (ECMA-269: present when the
  switching function supports registration);
- ``currentRoute``, ``routeUsed`` (CalledDeviceID), ``callingDevice``, ``routeingDevice``
  (SubjectDeviceID) and the associated devices are ``ExtendedDeviceID``s
  (``<deviceIdentifier>`` | ``<notKnown/>`` | ``<restricted/>``; a bare number is accepted
  on input); ``routeingDevice`` of ``RouteRegister`` and ``routeSelected`` are plain DeviceIDs;
- ``alternateRoutes`` (SEQUENCE OF DeviceID) wraps one ``<deviceID>`` per route;
- ``remainRetries`` is the RetryValue choice ``noListAvailable`` | ``noCountAvailable`` |
  ``retryCount``;
- ``routeSelAlgorithm`` (SelectValue) and ``rejectCause`` (RejectCause) are enumerations in
  the ASN.1 spelling (``aCD``; any letter case is accepted on input);
- ``errorValue`` of ``RouteEndRequest`` (ErrorValue ::= UniversalFailure, optional in
  ECMA-285) holds the same choice as the ``CSTAErrorCode`` root: one category child whose text
  is the value (``<errorValue><operation>generic</operation></errorValue>``), so
  ``csta.errors.error_code_message`` builds it and ``csta.errors.decode_error`` reads it;
- ``requestedRouteingMediaClass`` / ``actualRouteingMediaClass`` (MediaClass) are flag groups
  like ``requestedMonitorMediaClass``; call characteristics, connection information, call
  linkage data, subject, message info, language preferences and device history are kept as
  raw XML fragments.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from cstaserver.csta.messages.error_code import CSTAErrorCode
from cstaserver.csta.schema import CstaEnum, Flags, Kind, Raw, message, x
from cstaserver.csta.types import ConnectionID, DeviceID, ExtendedDeviceID

__all__ = [
    "SelectValue",
    "RejectCause",
    "RetryValue",
    "RouteRegister",
    "RouteRegisterResponse",
    "RouteRegisterAbort",
    "RouteRegisterCancel",
    "RouteRegisterCancelResponse",
    "RouteRequest",
    "ReRouteRequest",
    "RouteSelectRequest",
    "RouteUsedRequest",
    "RouteEndRequest",
    "RouteReject",
    "NO_POSITIVE_RESPONSE",
]


class SelectValue(CstaEnum):
    """``routeSelAlgorithm``: how the application is asked to select the route."""

    NORMAL = "normal"
    LEAST_COST = "leastCost"
    EMERGENCY = "emergency"
    ACD = "aCD"
    USER_DEFINED = "userDefined"


class RejectCause(CstaEnum):
    """``rejectCause`` of Route Reject: why the application refuses to route the call."""

    BUSY_OVERFLOW = "busyOverflow"
    QUEUE_TIME_OVERFLOW = "queueTimeOverflow"
    CAPACITY_OVERFLOW = "capacityOverflow"
    CALENDAR_OVERFLOW = "calendarOverflow"
    UNKNOWN_OVERFLOW = "unknownOverflow"


@attrs.frozen(kw_only=True)
class RetryValue:
    """``remainRetries``: no list available, no count available, or the retry count."""

    csta_choice: ClassVar[bool] = True

    no_list_available: bool | None = None
    no_count_available: bool | None = None
    retry_count: int | None = None


# --------------------------------------------------------------------------- registration


@message("RouteRegister", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteRegister:
    """Application → switching function: register as routeing server (for one device or all)."""

    routeing_device: DeviceID | None = None
    requested_routeing_media_class: Flags | None = None
    extensions: Raw | None = None


@message("RouteRegisterResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class RouteRegisterResponse:
    route_register_req_id: str
    actual_routeing_media_class: Flags | None = None
    extensions: Raw | None = None


@message("RouteRegisterAbort", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteRegisterAbort:
    """Switching function → application: the registration is ended. No positive response."""

    route_register_req_id: str
    extensions: Raw | None = None


@message("RouteRegisterCancel", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteRegisterCancel:
    route_register_req_id: str
    extensions: Raw | None = None


@message("RouteRegisterCancelResponse", Kind.RESPONSE)
@attrs.frozen(kw_only=True)
class RouteRegisterCancelResponse:
    extensions: Raw | None = None


# --------------------------------------------------------------------------- routeing dialogue


@message("RouteRequest", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteRequest:
    """Switching function → application: a call needs a route. No positive response (the
    application answers with RouteSelectRequest, RouteReject or RouteEndRequest)."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    current_route: ExtendedDeviceID
    calling_device: ExtendedDeviceID | None = None
    routeing_device: ExtendedDeviceID | None = None
    routed_call: ConnectionID | None = None
    route_sel_algorithm: SelectValue | None = None
    associated_calling_device: ExtendedDeviceID | None = None
    associated_called_device: ExtendedDeviceID | None = None
    priority: bool | None = None
    reply_timeout: int | None = None
    correlator_data: str | None = None
    media_call_characteristics: Raw | None = None
    call_characteristics: Raw | None = None
    route_call_info: Raw | None = None
    call_linkage_data: Raw | None = None
    subject_of_call: Raw | None = None
    message_info: Raw | None = None
    language_preferences: Raw | None = None
    device_history: Raw | None = None
    extensions: Raw | None = None


@message("ReRouteRequest", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class ReRouteRequest:
    """Switching function → application: the selected route failed, select another one.
    No positive response."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    reply_timeout: int | None = None
    correlator_data: str | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("RouteSelectRequest", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteSelectRequest:
    """Application → switching function: the route for the call. No positive response."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    route_selected: DeviceID
    alternate_routes: list[DeviceID] | None = x(item="deviceID", default=None)
    remain_retries: RetryValue | None = None
    route_used_req: bool | None = None
    correlator_data: str | None = None
    extensions: Raw | None = None


@message("RouteUsedRequest", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteUsedRequest:
    """Switching function → application: the route actually used. No positive response."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    route_used: ExtendedDeviceID
    calling_device: ExtendedDeviceID | None = None
    domain: bool | None = None
    correlator_data: str | None = None
    call_linkage_data: Raw | None = None
    extensions: Raw | None = None


@message("RouteEndRequest", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteEndRequest:
    """Either direction: the routeing dialogue is over (the call is not cleared). No positive
    response."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    error_value: CSTAErrorCode | None = None
    correlator_data: str | None = None
    extensions: Raw | None = None


@message("RouteReject", Kind.REQUEST)
@attrs.frozen(kw_only=True)
class RouteReject:
    """Application → switching function: the call is not to be routed by the application.
    No positive response."""

    cross_ref_identifier: str
    route_register_req_id: str | None = None
    reject_cause: RejectCause | None = None
    correlator_data: str | None = None
    extensions: Raw | None = None


#: The routeing requests answered only by a failure (``CSTAErrorCode``), never a response.
NO_POSITIVE_RESPONSE: tuple[type, ...] = (
    RouteRegisterAbort,
    RouteRequest,
    ReRouteRequest,
    RouteSelectRequest,
    RouteUsedRequest,
    RouteEndRequest,
    RouteReject,
)
