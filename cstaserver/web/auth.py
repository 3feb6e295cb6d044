"""HTTP Basic logins (RFC 7617) for every resource of the web port, checked through
twisted.cred: the shared gate of the SOAP service, the status page's neighbours and the JSON
API.

:func:`parse_basic` reads an ``Authorization: Basic`` header; :class:`BasicAuthGate` checks it
against one ``ICredentialsChecker`` through a portal, with the ECMA-354 login throttle
(:class:`cstaserver.csta.auth.FailureThrottle`) per peer address: a refused login answers
after a delay, and a peer with too many recent failures is refused at once (429) until its
window has passed. :func:`check_login` tries one portal without touching the throttle, for
gates that check more than one kind of account. Nothing secret is logged.

The checkers themselves (the accounts file, PAM) are the web service's:
:mod:`cstaserver.soap.auth`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import attrs
from twisted.cred import credentials as cred_credentials
from twisted.cred import error as cred_error
from twisted.cred.portal import IRealm, Portal
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.csta.auth import FailureThrottle

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
    """A login refused: ``status`` 401 (wrong or missing credentials) or 429 (throttled)."""

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
    except cred_error.UnauthorizedLogin:
        return None
    return user.decode("utf-8") if isinstance(user, bytes) else str(user)


class BasicAuthGate:
    """Checks the ``Authorization`` header of a request through the portal, with the
    per-peer throttle; :meth:`login` returns the user name or raises :class:`Refused`."""

    realm = REALM

    def __init__(self, checker: Any, clock: Any, **throttle: Any) -> None:
        self.portal = Portal(WebRealm(), [checker])
        self.throttle = FailureThrottle(clock, **throttle)

    async def login(self, header: bytes | None, peer: str) -> str:
        credentials = parse_basic(header)
        if credentials is None:
            raise Refused(401, "authentication required")
        if self.throttle.blocked(peer):
            log.warn("web login from {peer} refused: too many failures", peer=peer)
            raise Refused(429, "too many failed logins; try again later")
        user = await check_login(self.portal, credentials)
        if user is not None:
            return user
        log.info("web login of {user} from {peer} refused", user=credentials.user, peer=peer)
        await self.throttle.failed(peer)
        raise Refused(401, "wrong user name or password")
