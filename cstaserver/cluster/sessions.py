"""ECMA-354 application sessions shared by the front ends of a cluster (docs/cluster.md,
"Application sessions"): the bus implementation of ``csta.sessions.ISessionStore``.

A session's record (:class:`~cstaserver.csta.sessions.SessionRecord`, JSON) is kept under
``csta:session:<sessionID>`` with a time to live: the session's duration (and the expiry
grace) while its client is attached, refreshed by ResetApplicationSessionTimer and by changes
of its monitors; the cleanup delay once its connection dropped. The front end that ends the
session deletes it.

Taking a session over (the proprietary reattach of csta/sessions.py, through another front
end): the new front end claims ``csta:session-claim:<sessionID>`` (set if absent: of racing
front ends one wins), reads the record again, and asks the front end named in it, over the
request service ``csta:sessions:<node>``, to release its copy. That one drops its detached
copy silently (no ApplicationSessionTerminated: the client lives on elsewhere), or answers
``attached`` when the session's client is still connected there (the reattach is refused,
as in one process). No answer within :data:`RELEASE_TIMEOUT`: that front end is gone and the
session is taken over. The new front end then writes the record as its own and frees the
claim. Events between the drop and the reattach are not replayed across front ends.

Each front end's monitor registry has its own crossRefID prefix (:func:`xref_prefix`), so a
session's monitors keep their crossRefIDs wherever the session moves without colliding with
another front end's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.bus import BusError, RemoteFailure
from cstaserver.csta.sessions import ISessionStore, MonitorRecord, SessionRecord

log = Logger()

RECORD_KEY = "csta:session:{}"
CLAIM_KEY = "csta:session-claim:{}"
RELEASE_SERVICE = "csta:sessions:{}"
#: Seconds the front end holding a session has to release it before it is taken as gone.
RELEASE_TIMEOUT = 2.0
#: Seconds a claim holds at most (a take-over that never finished frees it by then).
CLAIM_TTL = 15.0
#: What a front end answers when asked to release a session.
RELEASED, ATTACHED, UNKNOWN = "released", "attached", "unknown"


def xref_prefix(node_id: str) -> str:
    """A short crossRefID prefix of one front end (6 hexadecimal digits of its node ID's
    hash, and a dot): ``3fa91c.1``, ``3fa91c.2``... (short ASCII, docs/protocol-notes.md)."""
    return hashlib.sha256(node_id.encode()).hexdigest()[:6] + "."


# -- the record as JSON ------------------------------------------------------------------


def _tuples(value: Any) -> Any:
    """JSON arrays back into the tuples a monitor's view is made of (it is hashed)."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def encode_record(record: SessionRecord) -> str:
    fields = {
        "session_id": record.session_id,
        "application_id": record.application_id,
        "user": record.user,
        "authenticated": record.authenticated,
        "protocol_version": record.protocol_version,
        "duration": record.duration,
        "max_duration": record.max_duration,
        "front": record.front,
        "monitors": [
            {
                "xref": monitor.cross_ref_id,
                "device": monitor.device,
                "call": monitor.call_id,
                "suppressed": list(monitor.suppressed),
                "namespace": monitor.namespace,
                "view": monitor.view,
                "follows_calls": monitor.follows_calls,
            }
            for monitor in record.monitors
        ],
    }
    return json.dumps(fields, separators=(",", ":"))


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def decode_record(text: str) -> SessionRecord:
    """The record in ``text``; ValueError when it is not one."""
    try:
        fields = json.loads(text)
        monitors = tuple(
            MonitorRecord(
                cross_ref_id=str(monitor["xref"]),
                device=_optional_str(monitor["device"]),
                call_id=_optional_str(monitor["call"]),
                suppressed=tuple(str(flag) for flag in monitor["suppressed"]),
                namespace=str(monitor["namespace"]),
                view=_tuples(monitor["view"]),
                follows_calls=bool(monitor["follows_calls"]),
            )
            for monitor in fields["monitors"]
        )
        max_duration = fields["max_duration"]
        return SessionRecord(
            session_id=str(fields["session_id"]),
            application_id=str(fields["application_id"]),
            user=_optional_str(fields["user"]),
            authenticated=bool(fields["authenticated"]),
            protocol_version=str(fields["protocol_version"]),
            duration=int(fields["duration"]),
            max_duration=None if max_duration is None else int(max_duration),
            monitors=monitors,
            front=str(fields["front"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not a session record: {error}") from None


# -- the store -----------------------------------------------------------------------------


@implementer(ISessionStore)
class BusSessionStore:
    """The records of this front end's sessions on the bus (see the module docstring)."""

    def __init__(self, bus: Any, *, release_timeout: float = RELEASE_TIMEOUT) -> None:
        self.bus = bus
        self.release_timeout = release_timeout
        self._claimed: set[str] = set()

    @property
    def node_id(self) -> str:
        return str(self.bus.node_id)

    def saved(self, record: SessionRecord, ttl: float) -> None:
        text = encode_record(attrs.evolve(record, front=self.node_id))
        written = defer.maybeDeferred(self.bus.put, RECORD_KEY.format(record.session_id), text, ttl)
        written.addErrback(self._failed, "save", record.session_id)
        if record.session_id in self._claimed:
            written.addBoth(lambda _: self.unclaim(record.session_id))

    def forgotten(self, session_id: str) -> None:
        """Delete the record if it is still this front end's (a front end that was slow to
        release a session must not delete the record of the one that took it over). Read
        then delete: not atomic, the window is one round trip to the broker."""
        defer.Deferred.fromCoroutine(self._forget(session_id)).addErrback(
            self._failed, "delete", session_id
        )

    async def _forget(self, session_id: str) -> None:
        record = await self.lookup(session_id)
        if record is not None and record.front == self.node_id:
            await self.bus.delete(RECORD_KEY.format(session_id))

    def lookup(self, session_id: str) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._lookup(session_id))

    async def _lookup(self, session_id: str) -> SessionRecord | None:
        try:
            text = await self.bus.get(RECORD_KEY.format(session_id))
        except Exception as error:  # the broker is away: as good as no record
            log.warn(
                "session {session}: its record cannot be read: {error}",
                session=session_id,
                error=str(error),
            )
            return None
        if text is None:
            return None
        try:
            return decode_record(text)
        except ValueError as error:
            log.warn("session {session}: {error}", session=session_id, error=str(error))
            return None

    def claim(self, record: SessionRecord) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._claim(record.session_id))

    async def _claim(self, session_id: str) -> SessionRecord | None:
        try:
            won = await self.bus.claim(CLAIM_KEY.format(session_id), self.node_id, CLAIM_TTL)
        except Exception as error:
            log.warn("session {session}: no claim: {error}", session=session_id, error=str(error))
            return None
        if not won:
            log.info("session {session} is being taken over elsewhere", session=session_id)
            return None
        self._claimed.add(session_id)
        try:
            record = await self._lookup(session_id)  # as it is now that nobody else moves it
            if record is None or not await self._released_by(record):
                self.unclaim(session_id)
                return None
            return record
        except BaseException:
            self.unclaim(session_id)
            raise

    async def _released_by(self, record: SessionRecord) -> bool:
        """Ask the front end that holds the session to drop its copy: True when it did, had
        none, or did not answer (it is gone); False while its client is attached there."""
        if not record.front or record.front == self.node_id:
            return True
        request = json.dumps({"release": record.session_id})
        service = RELEASE_SERVICE.format(record.front)
        try:
            answer = await self.bus.request(service, request, self.release_timeout)
        except RemoteFailure as failure:  # it is there but could not tell: leave it be
            log.warn(
                "session {session}: {front} failed to release it: {error}",
                session=record.session_id,
                front=record.front,
                error=str(failure),
            )
            return False
        except BusError as error:
            log.info(
                "session {session}: {front} did not answer ({error}): taken over",
                session=record.session_id,
                front=record.front,
                error=str(error),
            )
            return True
        return answer != ATTACHED

    def unclaim(self, session_id: str) -> None:
        if session_id in self._claimed:
            self._claimed.discard(session_id)
            defer.maybeDeferred(self.bus.delete, CLAIM_KEY.format(session_id)).addErrback(
                self._failed, "unclaim", session_id
            )

    def _failed(self, failure: Any, what: str, session_id: str) -> None:
        log.warn(
            "session {session}: {what} of its record failed: {error}",
            session=session_id,
            what=what,
            error=failure.getErrorMessage(),
        )


def release_handler(sessions: Any) -> Callable[[str], str]:
    """The request handler of ``csta:sessions:<node>``: ``{"release": sessionID}`` in,
    ``released``, ``attached`` or ``unknown`` out (``SessionService.release``)."""

    def handle(body: str) -> str:
        try:
            session_id = str(json.loads(body)["release"])
        except (ValueError, KeyError, TypeError):
            raise ValueError('expected {"release": sessionID}') from None
        return str(sessions.release(session_id))

    return handle


async def share_sessions(core: Any, bus: Any, *, prefix: str | None = None) -> Callable[[], Any]:
    """Make ``core``'s application sessions shared over ``bus``: records kept there, this
    front end's crossRefIDs prefixed (``prefix``, else :func:`xref_prefix` of the node ID),
    release requests of other front ends served. Call it before the first client connects;
    returns the callable that stops serving the release requests."""
    core.monitors.prefix = xref_prefix(bus.node_id) if prefix is None else prefix
    core.sessions.use_store(BusSessionStore(bus))
    return await bus.serve(RELEASE_SERVICE.format(bus.node_id), release_handler(core.sessions))
