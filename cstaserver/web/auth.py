"""HTTP Basic logins (RFC 7617) for every resource of the web port, checked through
twisted.cred: the shared gate of the SOAP service, the status page's neighbours and the JSON
API.

:func:`parse_basic` reads an ``Authorization: Basic`` header; :class:`BasicAuthGate` checks it
against one ``ICredentialsChecker`` through a portal, as one attempt of the server's shared
login throttle (:mod:`cstaserver.csta.logins`, per address and per account, counted from
the start of the attempt): a refused login answers after a delay (401), an address or account
with too many recent attempts is refused at once (429) until its window has passed, and a
login that finds every password check taken is refused at once (503). :func:`check_login` tries one portal without touching the throttle, for
gates that check more than one kind of account. Nothing secret is logged.

A client of the web service sends the same ``Authorization`` header with every request. A
header that logged in is remembered for :data:`VERDICT_SECONDS` (:class:`VerdictCache`: a
keyed BLAKE2 digest of the header under a key that lives only in memory, never the header),
so the next request with it is answered without the portal, its Deferreds and the password
check. The verdict holds only while the account is unchanged: a checker that can say so
(``account_token(user)``: the accounts file gives the account's password hash, None once the
account is gone) is asked on every use, and a changed or removed account forgets it; a
checker that cannot (PAM) gets no cache here. A throttled address or account is still
refused (429) through the full path.

The checkers themselves (the accounts file, PAM) are the web service's:
:mod:`cstaserver.soap.auth`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from twisted.cred import credentials as cred_credentials
from twisted.cred import error as cred_error
from twisted.cred.portal import IRealm, Portal
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.csta.logins import FailureThrottle, LoginBusy, LoginThrottled

log = Logger()

REALM = "cstaserver"


class IWebUser(Interface):
    """The avatar of a logged-in web-service user (its name)."""


@attrs.frozen
class BasicCredentials:
    user: str
    password: str = attrs.field(repr=False)


def parse_basic(header: bytes | None) -> BasicCredentials | None:
    """``Authorization: Basic base64(user:password)`` (RFC 7617 2, UTF-8), or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(b" ")
    if scheme.lower() != b"basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None
    return BasicCredentials(user, password)


@implementer(IRealm)
class WebRealm:
    def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> tuple:  # noqa: N802
        return (IWebUser, avatar_id, lambda: None)


class Refused(Exception):
    """A login refused: ``status`` 401 (wrong or missing credentials), 429 (throttled), 503
    (every password check taken) or 403 (a reader asking to act)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def check_login(portal: Portal, credentials: BasicCredentials) -> str | None:
    """The avatar ID ``portal`` gives ``credentials``, or None if its checker refuses them
    (empty user names and passwords never pass)."""
    if not (credentials.user and credentials.password):
        return None
    creds = cred_credentials.UsernamePassword(credentials.user, credentials.password)
    try:
        _iface, user, _logout = await portal.login(creds, None, IWebUser)
    except LoginBusy:
        raise
    except cred_error.UnauthorizedLogin:
        return None
    return user.decode("utf-8") if isinstance(user, bytes) else str(user)


async def guarded_login(
    throttle: FailureThrottle,
    credentials: BasicCredentials,
    peer: str,
    check: Callable[[], Awaitable[str | None]],
    what: str = "web",
) -> str:
    """Run ``check()`` (the user name, or None for a refused login) as one attempt of the
    login throttle: :class:`Refused` 429 while the address or the account is throttled,
    503 when every password check is taken, 401 (after the delay) for a refused login."""
    try:
        attempt = await throttle.begin(credentials.user, peer)
    except LoginThrottled:
        raise Refused(429, "too many failed logins; try again later") from None
    try:
        user = await check()
    except LoginBusy:
        attempt.abandoned()
        raise Refused(503, "busy checking passwords; try again") from None
    except BaseException:
        attempt.abandoned()
        raise
    if user is not None:
        attempt.succeeded()
        return user
    log.info(
        "{what} login of {user} from {peer} refused", what=what, user=credentials.user, peer=peer
    )
    await attempt.failed()
    raise Refused(401, "wrong user name or password")


#: Seconds a verified ``Authorization`` header is taken without checking it again.
VERDICT_SECONDS = 30.0
#: Verified headers remembered at most (all are forgotten when more arrive).
VERDICT_ENTRIES = 1024


class VerdictCache:
    """Verified ``Authorization`` headers: digest -> (user, account token, expiry)."""

    def __init__(
        self, clock: Any, ttl: float = VERDICT_SECONDS, size: int = VERDICT_ENTRIES
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.size = size
        self._key = os.urandom(32)
        self._entries: dict[bytes, tuple[str, object, float]] = {}

    def _digest(self, header: bytes) -> bytes:
        return hashlib.blake2b(header, key=self._key, digest_size=32).digest()

    def get(self, header: bytes) -> tuple[str, object] | None:
        """(user, token) of a header verified less than ``ttl`` seconds ago, else None."""
        digest = self._digest(header)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[2] <= self.clock.seconds():
            del self._entries[digest]
            return None
        return entry[0], entry[1]

    def put(self, header: bytes, user: str, token: object) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[self._digest(header)] = (user, token, self.clock.seconds() + self.ttl)

    def forget(self, header: bytes) -> None:
        self._entries.pop(self._digest(header), None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class BasicAuthGate:
    """Checks the ``Authorization`` header of a request through the portal, with the
    login throttle (``throttle``: a view of the server's shared one; else one of its own made
    with ``options``); :meth:`login` returns the user name or raises :class:`Refused`.
    A header that logged in is taken again without the portal while its account is
    unchanged (the module docstring), when ``checker`` has ``account_token``."""

    realm = REALM

    def __init__(
        self,
        checker: Any,
        clock: Any,
        *,
        throttle: FailureThrottle | None = None,
        **options: Any,
    ) -> None:
        self.portal = Portal(WebRealm(), [checker])
        self.throttle = (
            throttle if throttle is not None else FailureThrottle(clock, kind="web", **options)
        )
        self._token = getattr(checker, "account_token", None)
        self.verdicts = VerdictCache(clock) if self._token is not None else None

    def known(self, header: bytes | None, peer: str) -> str | None:
        """The user of ``header`` when it logged in a moment ago, its account is unchanged
        and neither ``peer`` nor the account is throttled; else None (then :meth:`login`)."""
        verdicts = self.verdicts
        if verdicts is None or not header:
            return None
        found = verdicts.get(header)
        if found is None:
            return None
        user, token = found
        if self._token(user) != token:  # type: ignore[misc]
            verdicts.forget(header)
            return None
        if self.throttle.blocked(peer, user):
            return None
        return user

    async def login(self, header: bytes | None, peer: str) -> str:
        user = self.known(header, peer)
        if user is not None:
            return user
        credentials = parse_basic(header)
        if credentials is None:
            raise Refused(401, "authentication required")
        # the account as it was before the check: a change during the check is not remembered
        token = self._token(credentials.user) if self._token is not None else None
        user = await guarded_login(
            self.throttle, credentials, peer, lambda: check_login(self.portal, credentials)
        )
        if (
            self.verdicts is not None
            and header
            and user == credentials.user
            and token is not None
            and self._token(user) == token  # type: ignore[misc]
        ):
            self.verdicts.put(header, user, token)
        return user
