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

The checkers themselves (the accounts file, PAM) are the web service's:
:mod:`cstaserver.soap.auth`.
"""

from __future__ import annotations

import base64
import binascii
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


class BasicAuthGate:
    """Checks the ``Authorization`` header of a request through the portal, with the
    login throttle (``throttle``: a view of the server's shared one; else one of its own made
    with ``options``); :meth:`login` returns the user name or raises :class:`Refused`."""

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

    async def login(self, header: bytes | None, peer: str) -> str:
        credentials = parse_basic(header)
        if credentials is None:
            raise Refused(401, "authentication required")
        return await guarded_login(
            self.throttle, credentials, peer, lambda: check_login(self.portal, credentials)
        )
