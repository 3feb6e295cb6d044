"""Who may use the JSON API: HTTP Basic (RFC 7617) logins of two kinds of account.

- **Reads** (``GET``): any web account, the logins the SOAP service takes (the accounts file
  or PAM, ``--web-auth``); an admin account may read too.
- **Actions** (``POST``): only admin accounts (``ExchangeData.admin_accounts``, the admin
  shell's logins, checked by the ``ICredentialsChecker`` the composition layer gives: the
  admin shell's own, with its delay on a refused password). A web account that tries an
  action is answered 403 and nothing is done.
- ``GET /api/v1/openapi.json`` needs no login.

Every login is one attempt of the server's shared login throttle, exactly as the SOAP
service's are (:func:`cstaserver.web.auth.guarded_login`: per address and per account,
counted from the start; each refusal answers after a delay, 429 once the address or the
account has had too many attempts in the window, 503 when every password check is taken).
The throttle runs on the real reactor, never on the skippable clock.
"""

from __future__ import annotations

import enum
from typing import Any

from twisted.cred.portal import Portal
from twisted.logger import Logger

from cstaserver.csta.logins import FailureThrottle
from cstaserver.web.auth import (
    REALM,
    BasicAuthGate,
    Refused,
    WebRealm,
    check_login,
    guarded_login,
    parse_basic,
)

log = Logger()


class Access(enum.Enum):
    """What a route asks of the caller."""

    PUBLIC = "public"  # no login
    READ = "read"  # a web account (or an admin account)
    ADMIN = "admin"  # an admin account


class ApiGate:
    """Checks a request's ``Authorization`` header for an :class:`Access` level.

    ``login(header, peer)`` is the read check with the contract of
    :meth:`BasicAuthGate.login` (the user, or :class:`~cstaserver.web.auth.Refused` 401/429),
    for resources mounted beside the JSON routes."""

    realm = REALM

    def __init__(self, read: Portal, admin: Portal | None, throttle: FailureThrottle) -> None:
        self.read = read
        self.admin = admin
        self.throttle = throttle

    @classmethod
    def sharing(cls, gate: BasicAuthGate, admin_checker: Any) -> ApiGate:
        """Reads through ``gate``'s portal, with its throttle (the site's SOAP login)."""
        admin = Portal(WebRealm(), [admin_checker]) if admin_checker is not None else None
        return cls(gate.portal, admin, gate.throttle)

    @classmethod
    def build(cls, read_checker: Any, admin_checker: Any, clock: Any, **throttle: Any) -> ApiGate:
        """A gate of its own: ``clock`` is the real reactor (the throttle's delays)."""
        return cls.sharing(BasicAuthGate(read_checker, clock, **throttle), admin_checker)

    async def login(self, header: bytes | None, peer: str) -> str:
        return await self.authorize(header, peer, Access.READ)

    async def authorize(self, header: bytes | None, peer: str, access: Access) -> str:
        """The user name (empty for PUBLIC), or Refused: 401 without or with wrong
        credentials, 429 while ``peer`` is throttled, 403 for a web account asking to act."""
        if access is Access.PUBLIC:
            return ""
        credentials = parse_basic(header)
        if credentials is None:
            raise Refused(401, "authentication required")
        if access is Access.ADMIN:
            order = [(self.admin, True), (self.read, False)]
        else:
            order = [(self.read, True), (self.admin, True)]

        async def check() -> str | None:
            for portal, enough in order:
                if portal is None:
                    continue
                user = await check_login(portal, credentials)
                if user is None:
                    continue
                if not enough:
                    log.info(
                        "API action by {user} from {peer} refused: not an admin",
                        user=user,
                        peer=peer,
                    )
                    raise _NotAdmin(user)
                return user
            return None

        try:
            return await guarded_login(self.throttle, credentials, peer, check, "API")
        except _NotAdmin as refused:
            raise Refused(
                403, f"{refused.user} may read but not act: actions need an admin account"
            ) from None


class _NotAdmin(Exception):
    def __init__(self, user: str) -> None:
        super().__init__(user)
        self.user = user
