"""ECMA-354 application authentication through twisted.cred (ECMA-354 clause 6.1,
"application information"; the criteria of ``csta_authentication``).

Credentials come from ``applicationSpecificInfo`` (docs/protocol-notes.md S5): an application ID and,
when given, a user name and password. They are checked against the authentication criteria
(applications, users with salted slow password hashes, the maximum session duration) by a
``twisted.cred`` checker behind a portal. Passwords are checked off the reactor and attempts
are limited per address and per account by the server's shared login throttle
(:mod:`cstaserver.csta.logins`); no password is ever logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.cred import credentials as cred_credentials
from twisted.cred import error as cred_error
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.csta.logins import (
    PRUNE_AT,
    FailureThrottle,
    LoginBusy,
    Remembered,
    Verify,
    verify_inline,
)

__all__ = [
    "PRUNE_AT",
    "ApplicationCredentials",
    "AuthenticatedApplication",
    "Authenticator",
    "CriteriaChecker",
    "FailureThrottle",
    "IApplication",
]

log = Logger()

#: How long a right ECMA-354 password is remembered (as an HMAC under an in-memory key), so
#: an application that starts sessions again and again pays the slow hash once.
REMEMBER_SECONDS = 300.0


class IApplication(Interface):
    """The avatar of an authenticated CSTA application."""


@implementer(cred_credentials.IUsernamePassword)
@attrs.define(repr=False)
class ApplicationCredentials:
    """An application ID with an optional user name and password."""

    application_id: str
    username: str | None
    password: str | None

    def checkPassword(self, password: str) -> bool:  # noqa: N802 (twisted.cred API)
        return self.password == password

    def __repr__(self) -> str:  # never show the password
        return f"ApplicationCredentials({self.application_id!r}, {self.username!r})"


@attrs.frozen
class AuthenticatedApplication:
    application_id: str
    user: str | None
    max_duration: int | None


@implementer(ICredentialsChecker)
class CriteriaChecker:
    """Checks ApplicationCredentials against the current authentication criteria.

    ``criteria`` returns the list of application criteria, each with ``application_id``,
    ``users`` (each with ``user`` and ``password_hash``) and ``max_duration``. A criterion
    with no users admits its application without a password; a user given must match.
    ``verify(password, hash)`` checks a password (a Deferred: the thread pool of
    :class:`~cstaserver.csta.logins.PasswordChecks` in a server; on the calling thread by
    default).
    """

    credentialInterfaces = (cred_credentials.IUsernamePassword,)

    def __init__(
        self,
        criteria: Callable[[], Sequence[Any]],
        verify: Verify = verify_inline,
        remembered: Remembered | None = None,
    ) -> None:
        self.criteria = criteria
        self.verify = verify
        self.remembered = remembered

    def requestAvatarId(self, credentials: ApplicationCredentials) -> defer.Deferred:  # noqa: N802
        return defer.Deferred.fromCoroutine(self._check(credentials))

    async def _check(self, credentials: ApplicationCredentials) -> AuthenticatedApplication:
        for application in self.criteria():
            if application.application_id != credentials.application_id:
                continue
            users = list(application.users)
            if not users and not credentials.username:
                return AuthenticatedApplication(
                    application.application_id, None, application.max_duration
                )
            for user in users:
                if (
                    credentials.username == user.user
                    and credentials.password
                    and await self._right(application.application_id, user, credentials.password)
                ):
                    return AuthenticatedApplication(
                        application.application_id, user.user, application.max_duration
                    )
            raise cred_error.UnauthorizedLogin("wrong user or password")
        raise cred_error.UnauthorizedLogin("unknown application")

    async def _right(self, application_id: str, user: Any, password: str) -> bool:
        """The password check, or a right password of the last minutes remembered."""
        key, remembered = f"{application_id}/{user.user}", self.remembered
        if remembered is not None and remembered.knows(key, password, user.password_hash):
            return True
        right = bool(await self.verify(password, user.password_hash))
        if right and remembered is not None:
            remembered.remember(key, password, user.password_hash)
        return right


@implementer(IRealm)
class ApplicationRealm:
    def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> tuple:  # noqa: N802
        return (IApplication, avatar_id, lambda: None)


class Authenticator:
    """The portal with the criteria checker and the login throttle (a view of the server's
    shared :class:`~cstaserver.csta.logins.LoginThrottle`, or one of its own)."""

    def __init__(
        self,
        criteria: Callable[[], Sequence[Any]],
        clock: Any,
        *,
        throttle: FailureThrottle | None = None,
        verify: Verify = verify_inline,
        **options: Any,
    ) -> None:
        checker = CriteriaChecker(criteria, verify, Remembered(clock, REMEMBER_SECONDS))
        self.portal = Portal(ApplicationRealm(), [checker])
        self.throttle = throttle if throttle is not None else FailureThrottle(clock, **options)

    async def authenticate(
        self, application_id: str, username: str | None, password: str | None, peer: str
    ) -> AuthenticatedApplication:
        """Fires with the authenticated application or raises UnauthorizedLogin
        (:class:`~cstaserver.csta.logins.LoginThrottled` or ``LoginBusy`` without a check)."""
        attempt = await self.throttle.begin(f"{application_id}/{username or ''}", peer)
        creds = ApplicationCredentials(application_id, username, password)
        try:
            _iface, avatar, _logout = await self.portal.login(creds, None, IApplication)
        except LoginBusy:
            attempt.abandoned()
            raise
        except cred_error.UnauthorizedLogin:
            log.info(
                "login of application {application} user {user} from {peer} refused",
                application=application_id,
                user=username,
                peer=peer,
            )
            await attempt.failed()
            raise
        except BaseException:
            attempt.abandoned()
            raise
        attempt.succeeded()
        return avatar
