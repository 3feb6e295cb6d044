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

Shared sessions (docs/cluster.md): an :class:`ISessionStore` keeps a :class:`SessionRecord`
of each session (who may take it, its duration, its monitors and their crossRefIDs) where
other front ends find it. A reattach by a session ID this process does not hold looks the
record up, applies the same-user rule to it and takes the session over - same session ID,
its monitors with their crossRefIDs, a fresh timer of its duration - once the store has made
the front end that held it drop its detached copy. Events in the gap are not replayed then
(they were buffered by the other front end). The default store, :class:`InProcessSessionStore`,
holds nothing: in one process a reattach is served from :attr:`SessionService.sessions` alone.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Callable
from typing import Any

import attrs
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.csta.association import Association, AuthMode
from cstaserver.csta.errors import CstaError, ErrorValue
from cstaserver.csta.grace import EXPIRY_GRACE, GraceTimer
from cstaserver.csta.namespaces import APPL_SESSION, edition_of
from cstaserver.csta.schema import message_class

log = Logger()

GAP_BUFFER = 1000
DEFAULT_DURATION = 300
MIN_DURATION = 10
MAX_DURATION = 86400
#: Seconds within which a change of a session's monitors reaches its shared record: the
#: MonitorStarts of a client starting up cost one write, not one each.
SAVE_DELAY = 0.5


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


@attrs.frozen
class MonitorRecord:
    """One monitor of a :class:`SessionRecord`: what restarts it with the same crossRefID
    (``view``: how its events present devices, as the monitor registry keeps it)."""

    cross_ref_id: str
    device: str | None = None
    call_id: str | None = None
    suppressed: tuple[str, ...] = ()
    namespace: str = ""
    view: Any = None
    follows_calls: bool = False


@attrs.frozen
class SessionRecord:
    """What another front end needs to take a session over: who may (application, user,
    whether it was authenticated), its duration and cap, its protocol version, its monitors;
    ``front``: the node that holds it (filled in by the store)."""

    session_id: str
    application_id: str
    user: str | None
    authenticated: bool
    protocol_version: str
    duration: int
    max_duration: int | None = None
    monitors: tuple[MonitorRecord, ...] = ()
    front: str = ""


class ISessionStore(Interface):
    """Where a session's record is kept for other front ends (docs/cluster.md)."""

    def saved(record: SessionRecord, ttl: float) -> None:
        """Keep ``record`` for ``ttl`` seconds (replacing the one before): a session started,
        reattached, its timer reset, its monitors changed or its connection lost."""

    def forgotten(session_id: str) -> None:
        """The session ended on this front end: its record goes, unless another front end
        has taken the session over meanwhile."""

    def lookup(session_id: str) -> Any:
        """A Deferred of the record of a session this process does not hold, or None."""

    def claim(record: SessionRecord) -> Any:
        """Take the session over. A Deferred of its current record once the front end that
        held it has dropped its copy (or did not answer: it is gone); None when another
        front end is taking it over, its record is gone, or its client is still attached
        there. Of racing claims one wins."""

    def unclaim(session_id: str) -> None:
        """A claim that was won but not followed by :meth:`saved` (the client left): others
        may claim the session again."""


@implementer(ISessionStore)
class InProcessSessionStore:
    """One process: sessions are found in :attr:`SessionService.sessions`; nothing kept."""

    def saved(self, record: SessionRecord, ttl: float) -> None:
        pass

    def forgotten(self, session_id: str) -> None:
        pass

    def lookup(self, session_id: str) -> defer.Deferred:
        return defer.succeed(None)

    def claim(self, record: SessionRecord) -> defer.Deferred:
        return defer.succeed(None)

    def unclaim(self, session_id: str) -> None:
        pass


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
    saving: Any = None  # IDelayedCall: its record is written soon (shared store)
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
        self.store: Any = InProcessSessionStore()  # ISessionStore

    def use_store(self, store: Any) -> None:
        """Keep the sessions' records in ``store`` (an :class:`ISessionStore`, shared by the
        front ends of a cluster) from now on; the sessions open now are saved there too."""
        self.store = store
        self.core.monitors.on_change = self._monitors_changed
        for session in self.sessions.values():
            self._save(session)

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
            if reattach_id in self.sessions:
                return self._reattach(association, reattach_id, application_id, user)
            return await self._adopt(association, reattach_id, application_id, user)
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
        self._save(session)
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
    ) -> ApplicationSession:
        """The session ``session_id``, if this client may take it: the same application,
        detached, and the same user (:meth:`_check_taker`)."""
        session = self.sessions.get(session_id)
        if session is None:
            raise SessionRefused("invalidApplicationInfo")
        self._check_taker(association, session, application_id, user)
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
        self._save(session)
        return session

    @staticmethod
    def _check_taker(
        association: Association,
        session: ApplicationSession | SessionRecord,
        application_id: str,
        user: str | None,
    ) -> None:
        """Refuse a reattach by another application or another user: a session started with
        credentials is only for a client that authenticated as that user now; one started
        without, only for a client without."""
        if session.application_id != application_id:
            raise SessionRefused("invalidApplicationInfo")
        owner = session.user if session.authenticated else None
        if owner != user:
            log.warn(
                "reattach to session {session} from {peer} refused: not its user",
                session=session.session_id,
                peer=association.peer,
            )
            raise SessionRefused("invalidApplicationInfo")

    async def _adopt(
        self,
        association: Association,
        session_id: str,
        application_id: str,
        user: str | None,
    ) -> ApplicationSession:
        """Take over a session that another front end holds (or held: it may be gone), from
        its record in the shared store: the same session ID, its monitors with their
        crossRefIDs, its timer started afresh. Refused as a local reattach is."""
        if self.core.limits.session_cleanup_delay <= 0:
            raise SessionRefused("invalidApplicationInfo")  # sessions end with connections
        record = await self.store.lookup(session_id)
        if record is None:
            raise SessionRefused("invalidApplicationInfo")
        self._check_taker(association, record, application_id, user)
        if len(self.sessions) >= self.core.limits.max_sessions:
            raise SessionRefused("maxNumberSessions")
        record = await self.store.claim(record)
        if record is None:
            raise SessionRefused("invalidApplicationInfo")
        if association.closed or association.session is not None or session_id in self.sessions:
            self.store.unclaim(session_id)
            raise SessionRefused("invalidApplicationInfo")
        try:
            self._check_taker(association, record, application_id, user)
        except SessionRefused:
            self.store.unclaim(session_id)
            raise
        session = ApplicationSession(
            session_id=record.session_id,
            application_id=record.application_id,
            user=record.user,
            protocol_version=record.protocol_version,
            duration=record.duration,
            association=association,
            authenticated=record.authenticated,
            max_duration=record.max_duration,
        )
        self.sessions[session_id] = session
        association.session = session
        self.core.monitors.rebind(association, session)
        restored = 0
        for monitor in record.monitors:
            restored += await self._restore(session, monitor)
        self._arm(session)
        self._save(session)
        log.info(
            "session {session} taken over from {front} by {peer}: {count} monitors",
            session=session_id,
            front=record.front or "-",
            peer=association.peer,
            count=restored,
        )
        return session

    async def _restore(self, session: ApplicationSession, monitor: MonitorRecord) -> bool:
        """Restart one monitor of a session taken over, with its crossRefID. A call-type
        monitor on a device follows the device's calls of now: a switch that has to ask for
        them (a cluster's front end: ``with_live_calls``) is given the time to."""

        def start() -> object:
            return self.core.monitors.start(
                session,
                device=monitor.device,
                call_id=monitor.call_id,
                suppressed=monitor.suppressed,
                namespace=monitor.namespace,
                view=monitor.view,
                follows_calls=monitor.follows_calls,
                address=session.association.address if session.association else None,
                cross_ref_id=monitor.cross_ref_id,
            )

        live = getattr(self.core.switch, "with_live_calls", None)
        try:
            if live is not None and monitor.follows_calls and monitor.device is not None:
                await live(monitor.device, start)
            else:
                start()
        except (CstaError, ValueError) as error:
            log.warn(
                "monitor {xref} of session {session} not restored: {error}",
                xref=monitor.cross_ref_id,
                session=session.session_id,
                error=str(error),
            )
            return False
        return True

    def release(self, session_id: str) -> str:
        """Another front end takes the session over: drop the detached copy here without a
        word to anyone (its monitors, timers and buffered events go; its record stays, the
        other front end's now). ``released``; ``attached`` (refused: its client is still
        connected here); ``unknown``."""
        session = self.sessions.get(session_id)
        if session is None:
            return "unknown"
        if session.association is not None and not session.association.closed:
            return "attached"
        self.sessions.pop(session_id)
        for call in (session.expiry, session.cleanup, session.saving):
            if call is not None and call.active():
                call.cancel()
        self.core.monitors.stop_all(session)
        session.gap.clear()
        log.info("session {session} moved to another front end", session=session_id)
        return "released"

    # -- the shared record ----------------------------------------------------------------
    def record_of(self, session: ApplicationSession) -> SessionRecord:
        """The session as another front end needs it to take it over."""
        monitors = tuple(
            MonitorRecord(
                cross_ref_id=monitor.cross_ref_id,
                device=monitor.device,
                call_id=monitor.call_id,
                suppressed=tuple(sorted(monitor.suppressed)),
                namespace=monitor.namespace,
                view=monitor.view,
                follows_calls=monitor.follows_calls,
            )
            for monitor in self.core.monitors.owned_by(session)
        )
        return SessionRecord(
            session_id=session.session_id,
            application_id=session.application_id,
            user=session.user,
            authenticated=session.authenticated,
            protocol_version=session.protocol_version,
            duration=session.duration,
            max_duration=session.max_duration,
            monitors=monitors,
        )

    def _save(self, session: ApplicationSession) -> None:
        """Write the session's record now: for as long as its timer runs while it is
        attached, for the cleanup delay once detached."""
        if session.saving is not None and session.saving.active():
            session.saving.cancel()
        session.saving = None
        if isinstance(self.store, InProcessSessionStore):
            return
        if session.association is None:
            ttl = float(self.core.limits.session_cleanup_delay)
        else:
            ttl = session.duration + EXPIRY_GRACE
        self.store.saved(self.record_of(session), ttl)

    def _monitors_changed(self, owner: object) -> None:
        """A monitor of ``owner`` started, stopped or refiltered: its session's record is
        written within :data:`SAVE_DELAY` (once for a burst of changes)."""
        if not isinstance(owner, ApplicationSession) or owner.session_id not in self.sessions:
            return
        if self.sessions[owner.session_id] is not owner:
            return
        if owner.saving is None or not owner.saving.active():
            owner.saving = self.clock.callLater(SAVE_DELAY, self._save, owner)

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
        self._save(session)
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
        if self.sessions.get(session.session_id) is not session:
            return  # ended already, or moved to another front end
        self.sessions.pop(session.session_id)
        for call in (session.expiry, session.cleanup, session.saving):
            if call is not None and call.active():
                call.cancel()
        self.store.forgotten(session.session_id)
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
        self._save(session)
        log.info(
            "session {session} detached; kept {delay} s for reattach",
            session=session.session_id,
            delay=delay,
        )
