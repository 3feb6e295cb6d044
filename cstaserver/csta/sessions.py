"""ECMA-354 application sessions (clauses 6-8: Start/Stop Application Session, Reset
Application Session Timer, Application Session Terminated), shared by every transport.

The duration granted is at most ``Limits.max_session_duration`` (and the criteria's
``max_duration`` when shorter); a client keeps its session with ResetApplicationSessionTimer.
A session's expiry waits a reactor turn with I/O after its time, so that a reset already waiting in
the socket (the process was paused) is served first (docs/limits.md).

Authentication modes per CSTA server (``csta -i --authentication``): **off** ignores
credentials; **optional** serves requests without a session, but a session started with
credentials is authenticated (wrong ones refused); **mandatory** requires an authenticated
session before any CSTA request (``security/generic`` until then).

Proprietary addition (not in ECMA-354): a session outlives its connection for
the cleanup delay (``Limits.session_cleanup_delay``, 0 = ends at once). A client reattaches by
sending the old ``sessionID`` inside ``applicationSpecificInfo`` (any namespace, e.g. Avaya's
``SessionLoginInfo/sessionID`` or ours, ``urn:cstaserver:session``); it gets the same session
ID, its monitors and their crossRefIDs. Events in the gap are buffered (up to
``GAP_BUFFER`` messages, oldest dropped first) and replayed on reattach. Only the session's
own user may reattach: a session started with credentials needs the same user's credentials
(a client without any, or another user, is refused ``invalidApplicationInfo``); one started
without credentials, a client without.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable
from typing import Any

import attrs
from twisted.cred.error import UnauthorizedLogin
from twisted.logger import Logger

from cstaserver.csta.association import Association, AuthMode
from cstaserver.csta.errors import ErrorValue
from cstaserver.csta.grace import GraceTimer
from cstaserver.csta.namespaces import APPL_SESSION, edition_of
from cstaserver.csta.schema import message_class

log = Logger()

GAP_BUFFER = 1000
DEFAULT_DURATION = 300
MIN_DURATION = 10
MAX_DURATION = 86400


class SessionRefused(Exception):
    """A StartApplicationSession answered with a NegResponse ``definedError``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SessionError(Exception):
    """A Stop/Reset answered with a NegResponse (invalidSessionID, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.define(eq=False)
class ApplicationSession:
    """One ECMA-354 session; owns its monitors so they can outlive a connection."""

    session_id: str
    application_id: str
    user: str | None
    protocol_version: str
    duration: int
    association: Association | None
    authenticated: bool = False
    max_duration: int | None = None  # the criteria's cap
    expiry: Any = None  # GraceTimer
    cleanup: Any = None  # IDelayedCall while detached
    gap: collections.deque = attrs.Factory(lambda: collections.deque(maxlen=GAP_BUFFER))

    def deliver_event(self, data: bytes) -> None:
        if self.association is not None:
            self.association.deliver_event(data)
        else:
            self.gap.append(data)


class SessionService:
    """All application sessions of the server."""

    def __init__(
        self,
        core: Any,
        clock: Any,
        *,
        authenticator: Any = None,
        notify_terminated: Callable[[Association, ApplicationSession, str], None] | None = None,
    ) -> None:
        self.core = core
        self.clock = clock
        self.authenticator = authenticator
        self.notify_terminated = notify_terminated
        self.sessions: dict[str, ApplicationSession] = {}

    # -- policy ---------------------------------------------------------------------------
    def refusal(self, association: Association, message: object) -> ErrorValue | None:
        """Why a request may not be served now (mandatory mode without a session)."""
        return self._refusal(association, type(message))

    def refusal_for_root(self, association: Association, root: Any) -> ErrorValue | None:
        """The same check on a parsed request before it is decoded (by its root element's
        name), so that a refused client is told nothing about the request's parameters."""
        if association.profile.auth_mode is not AuthMode.MANDATORY:
            return None
        if association.session is not None:
            return None
        tag = root.tag if isinstance(root.tag, str) else ""
        return self._refusal(association, message_class(tag[tag.rfind("}") + 1 :]))

    @staticmethod
    def _refusal(association: Association, cls: object) -> ErrorValue | None:
        if association.profile.auth_mode is not AuthMode.MANDATORY:
            return None
        if association.session is not None:
            return None
        if getattr(cls, "csta_namespace", None) == APPL_SESSION:
            return None  # the ECMA-354 requests themselves
        return ErrorValue.SECURITY_GENERIC

    @staticmethod
    def choose_version(requested: list[str]) -> str | None:
        """The first requested protocol version we support (ECMA-354 protocolVersion: a
        CSTA edition's namespace)."""
        for uri in requested:
            if edition_of(uri.strip()) is not None:
                return uri.strip()
        return None

    # -- start / stop / reset -------------------------------------------------------------
    async def start(
        self,
        association: Association,
        *,
        application_id: str,
        username: str | None,
        password: str | None,
        versions: list[str],
        requested_duration: int | None,
        reattach_id: str | None = None,
    ) -> ApplicationSession:
        if association.session is not None:
            raise SessionRefused("invalidApplicationInfo")
        version = self.choose_version(versions) if versions else association.namespace
        if versions and version is None:
            raise SessionRefused("requestedProtocolVersionNotSupported")
        mode = association.profile.auth_mode
        authenticated = None
        if mode is not AuthMode.OFF and (username or password or mode is AuthMode.MANDATORY):
            if self.authenticator is None:
                raise SessionRefused("invalidApplicationInfo")
            try:
                authenticated = await self.authenticator.authenticate(
                    application_id, username, password, association.peer.rsplit(":", 1)[0]
                )
            except UnauthorizedLogin:
                raise SessionRefused("invalidApplicationInfo") from None
        if association.closed:
            raise SessionRefused("invalidApplicationInfo")
        if reattach_id:
            user = authenticated.user if authenticated is not None else None
            session = self._reattach(association, reattach_id, application_id, user)
            if session is not None:
                return session
        if len(self.sessions) >= self.core.limits.max_sessions:
            raise SessionRefused("maxNumberSessions")
        limit = self._duration_limit(authenticated)
        duration = self._clamp(requested_duration, limit)
        session = ApplicationSession(
            session_id=secrets.token_hex(8),
            application_id=application_id,
            user=authenticated.user if authenticated else username,
            protocol_version=version or "",
            duration=duration,
            association=association,
            authenticated=authenticated is not None,
            max_duration=limit,
        )
        self.sessions[session.session_id] = session
        association.session = session
        self.core.monitors.rebind(association, session)
        self._arm(session)
        log.info(
            "session {session} started for {application} ({user}) from {peer}, {duration} s",
            session=session.session_id,
            application=application_id,
            user=session.user or "-",
            peer=association.peer,
            duration=duration,
        )
        return session

    def _duration_limit(self, authenticated: Any) -> int:
        """The longest duration granted: ``Limits.max_session_duration``, or the criteria's
        ``max_duration`` when that is shorter."""
        limit = int(getattr(self.core.limits, "max_session_duration", MAX_DURATION))
        criteria = getattr(authenticated, "max_duration", None) if authenticated else None
        return min(limit, criteria) if criteria else limit

    def _reattach(
        self,
        association: Association,
        session_id: str,
        application_id: str,
        user: str | None,
    ) -> ApplicationSession | None:
        """The session ``session_id``, if this client may take it: the same application,
        detached, and the same user - a session started with credentials only by a client
        that authenticated as that user now; one started without, only by a client
        without."""
        session = self.sessions.get(session_id)
        if session is None or session.application_id != application_id:
            raise SessionRefused("invalidApplicationInfo")
        owner = session.user if session.authenticated else None
        if owner != user:
            log.warn(
                "reattach to session {session} from {peer} refused: not its user",
                session=session_id,
                peer=association.peer,
            )
            raise SessionRefused("invalidApplicationInfo")
        if session.association is not None and not session.association.closed:
            raise SessionRefused("invalidApplicationInfo")
        if session.cleanup is not None and session.cleanup.active():
            session.cleanup.cancel()
        session.cleanup = None
        session.association = association
        association.session = session
        self.core.monitors.rebind(association, session)
        gap, session.gap = list(session.gap), collections.deque(maxlen=GAP_BUFFER)
        log.info(
            "session {session} reattached from {peer} ({count} events replayed)",
            session=session_id,
            peer=association.peer,
            count=len(gap),
        )
        for data in gap:
            association.deliver_event(data)
        return session

    def stop(self, association: Association, session_id: str) -> None:
        session = association.session
        if session is None or session.session_id != session_id:
            raise SessionError("invalidSessionID")
        self._end(session, "stopped by the application")

    def reset_timer(self, association: Association, session_id: str, requested: int | None) -> int:
        session = association.session
        if session is None or session.session_id != session_id:
            raise SessionError("invalidSessionID")
        limit = min(session.max_duration or MAX_DURATION, self._duration_limit(None))
        session.duration = self._clamp(requested or session.duration, limit)
        self._arm(session)
        return session.duration

    @staticmethod
    def _clamp(requested: int | None, limit: int | None) -> int:
        duration = requested if requested and requested > 0 else DEFAULT_DURATION
        duration = max(MIN_DURATION, min(duration, MAX_DURATION))
        if limit:
            duration = min(duration, limit)
        return duration

    def _arm(self, session: ApplicationSession) -> None:
        """(Re)start the session's timer. A :class:`GraceTimer`: input already waiting in
        the socket when it falls due (a ResetApplicationSessionTimer sent in time but read
        late, after the process was paused) is served first and re-arms it."""
        if session.expiry is None:
            session.expiry = GraceTimer(self.clock, lambda: self._expired(session))
        session.expiry.start(session.duration)

    def _expired(self, session: ApplicationSession) -> None:
        log.info("session {session} expired", session=session.session_id)
        self.terminate(session, "sessionTimerExpired")

    def terminate(self, session: ApplicationSession, reason: str) -> None:
        """End a session from the server's side: ApplicationSessionTerminated, monitors gone."""
        association = session.association
        if association is not None and not association.closed and self.notify_terminated:
            try:
                self.notify_terminated(association, session, reason)
            except Exception:
                log.failure("notifying {session} failed", session=session.session_id)
        self._end(session, reason)

    def _end(self, session: ApplicationSession, reason: str) -> None:
        self.sessions.pop(session.session_id, None)
        for call in (session.expiry, session.cleanup):
            if call is not None and call.active():
                call.cancel()
        self.core.monitors.stop_all(session)
        if session.association is not None and session.association.session is session:
            session.association.session = None
        session.association = None
        log.info("session {session} ended: {reason}", session=session.session_id, reason=reason)

    # -- connections ----------------------------------------------------------------------
    def association_lost(self, association: Association) -> None:
        session = association.session
        if session is None:
            return
        delay = self.core.limits.session_cleanup_delay
        if delay <= 0:
            self._end(session, "connection lost")
            return
        session.association = None
        session.cleanup = self.clock.callLater(delay, self._end, session, "cleanup delay passed")
        log.info(
            "session {session} detached; kept {delay} s for reattach",
            session=session.session_id,
            delay=delay,
        )
