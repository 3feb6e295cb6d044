"""ECMA-354 Application Session services (StartApplicationSession, StopApplicationSession,
ResetApplicationSessionTimer, ApplicationSessionTerminated), ECMA-354 clauses 6-8.

These roots always use the ECMA-354 namespace ``…/ecma-354/appl_session``, whatever CSTA
edition the association speaks. Structures per the XSD-generated classes in Ratcow
``Ratcow.Csta.Ecma354/*.cs``: ``extensions`` and ``applicationSpecificInfo`` are ``any`` content,
kept as raw XML; ``requestedProtocolVersions`` wraps repeated ``protocolVersion`` elements.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from cstaserver.csta.namespaces import APPL_SESSION
from cstaserver.csta.schema import CstaEnum, Kind, Raw, message, x

__all__ = [
    "ApplicationInfo",
    "StartApplicationSession",
    "StartApplicationSessionPosResponse",
    "StartApplicationSessionNegResponse",
    "StartSessionError",
    "StartSessionErrorCode",
    "StopApplicationSession",
    "StopApplicationSessionPosResponse",
    "StopApplicationSessionNegResponse",
    "SessionEndReason",
    "StopSessionError",
    "StopSessionErrorCode",
    "ResetApplicationSessionTimer",
    "ResetApplicationSessionTimerPosResponse",
    "ResetApplicationSessionTimerNegResponse",
    "ResetTimerError",
    "ResetTimerErrorCode",
    "ApplicationSessionTerminated",
    "SessionTermReason",
    "DefinedTermReason",
]


@attrs.frozen(kw_only=True)
class ApplicationInfo:
    application_id: str | None = None
    application_specific_info: Raw | None = None


@message(
    "StartApplicationSession",
    Kind.REQUEST,
    response="StartApplicationSessionPosResponse",
    negative="StartApplicationSessionNegResponse",
    namespace=APPL_SESSION,
)
@attrs.frozen(kw_only=True)
class StartApplicationSession:
    application_info: ApplicationInfo
    requested_protocol_versions: list[str] = x(item="protocolVersion", factory=list)
    requested_session_duration: int | None = None
    extensions: Raw | None = None


@message("StartApplicationSessionPosResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class StartApplicationSessionPosResponse:
    session_id: str
    actual_protocol_version: str
    actual_session_duration: int | None = None
    extensions: Raw | None = None


class StartSessionError(CstaEnum):
    INVALID_APPLICATION_INFO = "invalidApplicationInfo"
    REQUESTED_PROTOCOL_VERSION_NOT_SUPPORTED = "requestedProtocolVersionNotSupported"
    SERVER_RESOURCES_BUSY = "serverResourcesBusy"
    MAX_NUMBER_SESSIONS = "maxNumberSessions"


@attrs.frozen(kw_only=True)
class StartSessionErrorCode:
    csta_choice: ClassVar[bool] = True

    defined_error: StartSessionError | None = None
    appl_error: str | None = None


@message("StartApplicationSessionNegResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class StartApplicationSessionNegResponse:
    error_code: StartSessionErrorCode
    extensions: Raw | None = None


@attrs.frozen(kw_only=True)
class SessionEndReason:
    csta_choice: ClassVar[bool] = True

    defined_end_reason: str | None = None  # "normal"
    app_end_reason: str | None = None


@message(
    "StopApplicationSession",
    Kind.REQUEST,
    response="StopApplicationSessionPosResponse",
    negative="StopApplicationSessionNegResponse",
    namespace=APPL_SESSION,
)
@attrs.frozen(kw_only=True)
class StopApplicationSession:
    session_id: str
    session_end_reason: SessionEndReason | None = None
    extensions: Raw | None = None


@message("StopApplicationSessionPosResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class StopApplicationSessionPosResponse:
    extensions: Raw | None = None


class StopSessionError(CstaEnum):
    INVALID_SESSION_ID = "invalidSessionID"


@attrs.frozen(kw_only=True)
class StopSessionErrorCode:
    csta_choice: ClassVar[bool] = True

    defined_error: StopSessionError | None = None
    appl_error: str | None = None


@message("StopApplicationSessionNegResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class StopApplicationSessionNegResponse:
    error_code: StopSessionErrorCode
    extensions: Raw | None = None


@message(
    "ResetApplicationSessionTimer",
    Kind.REQUEST,
    response="ResetApplicationSessionTimerPosResponse",
    negative="ResetApplicationSessionTimerNegResponse",
    namespace=APPL_SESSION,
)
@attrs.frozen(kw_only=True)
class ResetApplicationSessionTimer:
    session_id: str
    requested_session_duration: int | None = None
    extensions: Raw | None = None


@message("ResetApplicationSessionTimerPosResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class ResetApplicationSessionTimerPosResponse:
    actual_session_duration: int | None = None
    extensions: Raw | None = None


class ResetTimerError(CstaEnum):
    INVALID_SESSION_ID = "invalidSessionID"
    SERVER_CANNOT_RESET_SESSION_TIMER = "serverCannotResetSessionTimer"


@attrs.frozen(kw_only=True)
class ResetTimerErrorCode:
    csta_choice: ClassVar[bool] = True

    defined_error: ResetTimerError | None = None
    appl_error: str | None = None


@message("ResetApplicationSessionTimerNegResponse", Kind.RESPONSE, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class ResetApplicationSessionTimerNegResponse:
    error_code: ResetTimerErrorCode
    extensions: Raw | None = None


class DefinedTermReason(CstaEnum):
    RESOURCE_LIMITATION = "resourceLimitation"
    SESSION_TIMER_EXPIRED = "sessionTimerExpired"


@attrs.frozen(kw_only=True)
class SessionTermReason:
    csta_choice: ClassVar[bool] = True

    defined_term_reason: DefinedTermReason | None = None
    server_term_reason: str | None = None


@message("ApplicationSessionTerminated", Kind.UNSOLICITED, namespace=APPL_SESSION)
@attrs.frozen(kw_only=True)
class ApplicationSessionTerminated:
    session_id: str
    session_term_reason: SessionTermReason | None = None
    extensions: Raw | None = None
