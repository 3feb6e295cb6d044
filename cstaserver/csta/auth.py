"""ECMA-354 application authentication through twisted.cred (ECMA-354 clause 6.1,
"application information"; the criteria of ``csta_authentication``).

Credentials come from ``applicationSpecificInfo`` (docs/protocol-notes.md S5): an application ID and,
when given, a user name and password. They are checked against the authentication criteria
(applications, users with salted slow password hashes, the maximum session duration) by a
``twisted.cred`` checker behind a portal. Failed logins are delayed and limited per peer; no
password is ever logged.
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
from twisted.internet.task import deferLater
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.config.passwords import verify_password

log = Logger()

#: Prune the failed-login table when it holds this many addresses.
PRUNE_AT = 1024


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


def _verify(password: str, encoded: str) -> bool:
    return verify_password(password, encoded)


@implementer(ICredentialsChecker)
class CriteriaChecker:
    """Checks ApplicationCredentials against the current authentication criteria.

    ``criteria`` returns the list of application criteria, each with ``application_id``,
    ``users`` (each with ``user`` and ``password_hash``) and ``max_duration``. A criterion
    with no users admits its application without a password; a user given must match.
    """

    credentialInterfaces = (cred_credentials.IUsernamePassword,)

    def __init__(self, criteria: Callable[[], Sequence[Any]]) -> None:
        self.criteria = criteria

    def requestAvatarId(self, credentials: ApplicationCredentials) -> defer.Deferred:  # noqa: N802
        for application in self.criteria():
            if application.application_id != credentials.application_id:
                continue
            users = list(application.users)
            if not users and not credentials.username:
                return defer.succeed(
                    AuthenticatedApplication(
                        application.application_id, None, application.max_duration
                    )
                )
            for user in users:
                if (
                    credentials.username == user.user
                    and credentials.password
                    and _verify(credentials.password, user.password_hash)
                ):
                    return defer.succeed(
                        AuthenticatedApplication(
                            application.application_id, user.user, application.max_duration
                        )
                    )
            return defer.fail(cred_error.UnauthorizedLogin("wrong user or password"))
        return defer.fail(cred_error.UnauthorizedLogin("unknown application"))


@implementer(IRealm)
class ApplicationRealm:
    def requestAvatar(self, avatar_id: Any, mind: Any, *interfaces: Any) -> tuple:  # noqa: N802
        return (IApplication, avatar_id, lambda: None)


class FailureThrottle:
    """Delays and limits failed logins per peer: each failure answers after ``delay``
    seconds; more than ``max_failures`` within ``window`` seconds refuse at once until the
    window has passed. ``on_failure``, when set, is called once per failure recorded (the
    metrics count login failures there)."""

    def __init__(
        self,
        clock: Any,
        *,
        delay: float = 1.0,
        max_failures: int = 5,
        window: float = 60.0,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.clock = clock
        self.delay = delay
        self.max_failures = max_failures
        self.window = window
        self.on_failure = on_failure
        self._failures: dict[str, list[float]] = {}

    def _recent(self, peer: str) -> list[float]:
        now = self.clock.seconds()
        recent = [t for t in self._failures.get(peer, []) if now - t < self.window]
        if recent:
            self._failures[peer] = recent
        else:
            self._failures.pop(peer, None)
        return recent

    def prune(self) -> None:
        """Forget the addresses whose failures are all older than the window (called as the
        table grows, so addresses that never come back do not accumulate)."""
        for peer in list(self._failures):
            self._recent(peer)

    def blocked(self, peer: str) -> bool:
        return len(self._recent(peer)) >= self.max_failures

    def failed(self, peer: str) -> defer.Deferred:
        """Record a failure; the Deferred fires after the delay."""
        if len(self._failures) >= PRUNE_AT:
            self.prune()
        self._failures.setdefault(peer, []).append(self.clock.seconds())
        if self.on_failure is not None:
            self.on_failure()
        return (
            deferLater(self.clock, self.delay, lambda: None) if self.delay else defer.succeed(None)
        )


class Authenticator:
    """The portal with the criteria checker and the per-peer throttle."""

    def __init__(self, criteria: Callable[[], Sequence[Any]], clock: Any, **throttle: Any) -> None:
        self.portal = Portal(ApplicationRealm(), [CriteriaChecker(criteria)])
        self.throttle = FailureThrottle(clock, **throttle)

    async def authenticate(
        self, application_id: str, username: str | None, password: str | None, peer: str
    ) -> AuthenticatedApplication:
        """Fires with the authenticated application or raises UnauthorizedLogin."""
        if self.throttle.blocked(peer):
            log.warn("login from {peer} refused: too many failures", peer=peer)
            raise cred_error.UnauthorizedLogin("too many failed logins")
        creds = ApplicationCredentials(application_id, username, password)
        try:
            _iface, avatar, _logout = await self.portal.login(creds, None, IApplication)
        except cred_error.UnauthorizedLogin:
            log.info(
                "login of application {application} user {user} from {peer} refused",
                application=application_id,
                user=username,
                peer=peer,
            )
            await self.throttle.failed(peer)
            raise
        return avatar
