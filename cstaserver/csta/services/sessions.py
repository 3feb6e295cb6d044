"""ECMA-354 application session services (clauses 6-8): Start Application Session,
Stop Application Session, Reset Application Session Timer; their positive and negative
responses, in the ECMA-354 namespace whatever the CSTA edition. The logic lives in
``cstaserver.csta.sessions``; this module reads and writes the messages."""

from __future__ import annotations

from typing import Any

from lxml import etree

from cstaserver.csta.codec import find_descendants
from cstaserver.csta.messages import sessions
from cstaserver.csta.services.registry import service
from cstaserver.csta.sessions import SessionError, SessionRefused

USER_NAMES = ("userName", "userID", "loginID")


def _first_text(info: etree._Element | None, *names: str) -> str | None:
    for element in find_descendants(info, *names):
        text = (element.text or "").strip()
        if text:
            return text
    return None


def credentials(info: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """(user, password, session ID to reattach) from applicationSpecificInfo, any depth and
    namespace (the content of ECMA-354 ``applicationSpecificInfo`` is vendor-defined)."""
    return (
        _first_text(info, *USER_NAMES),
        _first_text(info, "password"),
        _first_text(info, "sessionID"),
    )


@service(sessions.StartApplicationSession)
async def start_application_session(request: Any) -> Any:
    message: sessions.StartApplicationSession = request.message
    info = message.application_info
    user, password, reattach = credentials(info.application_specific_info)
    try:
        session = await request.core.sessions.start(
            request.association,
            application_id=(info.application_id or "").strip(),
            username=user,
            password=password,
            versions=list(message.requested_protocol_versions),
            requested_duration=message.requested_session_duration,
            reattach_id=reattach,
        )
    except SessionRefused as refused:
        return sessions.StartApplicationSessionNegResponse(
            error_code=sessions.StartSessionErrorCode(
                defined_error=sessions.StartSessionError(refused.reason)
            )
        )
    return sessions.StartApplicationSessionPosResponse(
        session_id=session.session_id,
        actual_protocol_version=session.protocol_version,
        actual_session_duration=session.duration,
    )


@service(sessions.StopApplicationSession)
def stop_application_session(request: Any) -> Any:
    try:
        request.core.sessions.stop(request.association, request.message.session_id.strip())
    except SessionError as error:
        return sessions.StopApplicationSessionNegResponse(
            error_code=sessions.StopSessionErrorCode(
                defined_error=sessions.StopSessionError(error.reason)
            )
        )
    return sessions.StopApplicationSessionPosResponse()


@service(sessions.ResetApplicationSessionTimer)
def reset_application_session_timer(request: Any) -> Any:
    message: sessions.ResetApplicationSessionTimer = request.message
    try:
        duration = request.core.sessions.reset_timer(
            request.association, message.session_id.strip(), message.requested_session_duration
        )
    except SessionError as error:
        return sessions.ResetApplicationSessionTimerNegResponse(
            error_code=sessions.ResetTimerErrorCode(
                defined_error=sessions.ResetTimerError(error.reason)
            )
        )
    return sessions.ResetApplicationSessionTimerPosResponse(actual_session_duration=duration)


def terminated_message(session_id: str, reason: str) -> sessions.ApplicationSessionTerminated:
    return sessions.ApplicationSessionTerminated(
        session_id=session_id,
        session_term_reason=sessions.SessionTermReason(
            defined_term_reason=sessions.DefinedTermReason(reason)
        ),
    )
