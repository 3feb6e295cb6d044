"""Web-service logins: HTTP Basic (RFC 7617) checked through twisted.cred.

Two checkers, chosen with ``--web-auth``:

- ``file`` (default): the accounts file, ``ExchangeData.web_accounts`` (salted scrypt hashes,
  :func:`cstaserver.config.passwords.verify_password`); demo ``csta_user`` / ``csta``;
- ``pam``: Linux accounts through PAM (the MX-ONE way: ``useradd … csta_user``), with the
  PyPI package ``python-pam`` (module ``pam``) imported when the option is used; without it,
  start-up stops with one line (:class:`WebAuthUnavailable`). PAM calls block, so they run in
  the reactor's thread pool.

A successful check is remembered for a short while as an HMAC of the password under a key
that lives only in memory, so a busy client does not pay a slow hash (or a PAM round trip)
on every POST. Empty user names and passwords never pass. Failures are delayed and limited
per peer address with the ECMA-354 login throttle
(:class:`cstaserver.csta.auth.FailureThrottle`). Nothing secret is logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import importlib
import os
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from twisted.cred import credentials as cred_credentials
from twisted.cred import error as cred_error
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, threads
from twisted.logger import Logger
from zope.interface import Interface, implementer

from cstaserver.config.passwords import verify_password
from cstaserver.csta.auth import FailureThrottle

log = Logger()

REALM = "cstaserver"
AUTH_MODES = ("file", "pam")


class IWebUser(Interface):
    """The avatar of a logged-in web-service user (its name)."""


class WebAuthUnavailable(SystemExit):
    """``--web-auth pam`` without the ``pam`` module: start-up stops with this line."""


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


class _Remembered:
    """Successful logins for ``ttl`` seconds, as HMACs under an in-memory key."""

    def __init__(self, clock: Any, ttl: float) -> None:
        self.clock = clock
        self.ttl = ttl
        self._key = os.urandom(32)
        self._entries: dict[str, tuple[bytes, float]] = {}

    def _digest(self, user: str, password: str, salt: str) -> bytes:
        message = "\0".join((user, password, salt)).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def knows(self, user: str, password: str, salt: str = "") -> bool:
        entry = self._entries.get(user)
        if entry is None or entry[1] < self.clock.seconds():
            return False
        return hmac.compare_digest(entry[0], self._digest(user, password, salt))

    def remember(self, user: str, password: str, salt: str = "") -> None:
        if len(self._entries) > 1000:
            self._entries.clear()
        self._entries[user] = (self._digest(user, password, salt), self.clock.seconds() + self.ttl)


def _username_password(credentials: Any) -> tuple[str, str]:
    return str(credentials.username), str(credentials.password)


@implementer(ICredentialsChecker)
class AccountsChecker:
    """The accounts file: ``accounts()`` returns the current web accounts (user,
    password_hash), read on each login so changes apply at once."""

    credentialInterfaces = (cred_credentials.IUsernamePassword,)

    def __init__(self, accounts: Callable[[], Sequence[Any]], clock: Any, ttl: float = 300.0):
        self.accounts = accounts
        self.remembered = _Remembered(clock, ttl)

    def requestAvatarId(self, credentials: Any) -> defer.Deferred:  # noqa: N802 (twisted.cred)
        user, password = _username_password(credentials)
        if user and password:
            for account in self.accounts():
                if account.user != user:
                    continue
                salt = account.password_hash
                if self.remembered.knows(user, password, salt) or verify_password(password, salt):
                    self.remembered.remember(user, password, salt)
                    return defer.succeed(user)
        return defer.fail(cred_error.UnauthorizedLogin("wrong user or password"))


def load_pam(module_name: str = "pam") -> Any:
    """The python-pam module, or :class:`WebAuthUnavailable` with one line."""
    try:
        return importlib.import_module(module_name)
    except ImportError:
        raise WebAuthUnavailable(
            "csta: --web-auth pam needs the python-pam package (pip install python-pam)"
        ) from None


@implementer(ICredentialsChecker)
class PamChecker:
    """Linux accounts through PAM (``python-pam``); blocking calls run in a thread."""

    credentialInterfaces = (cred_credentials.IUsernamePassword,)

    def __init__(
        self,
        reactor: Any,
        *,
        module: Any = None,
        service: str = "login",
        ttl: float = 60.0,
        run: Callable[..., defer.Deferred] | None = None,
    ) -> None:
        self.module = module if module is not None else load_pam()
        self.service = service
        self.remembered = _Remembered(reactor, ttl)
        self._run = run or (
            lambda f, *a: threads.deferToThreadPool(reactor, reactor.getThreadPool(), f, *a)
        )

    def _authenticate(self, user: str, password: str) -> bool:
        pam = self.module
        handle = pam.pam() if hasattr(pam, "pam") else pam
        return bool(handle.authenticate(user, password, service=self.service))

    async def _check(self, user: str, password: str) -> str:
        if not (user and password):
            raise cred_error.UnauthorizedLogin("empty user or password")
        if self.remembered.knows(user, password):
            return user
        try:
            ok = await self._run(self._authenticate, user, password)
        except Exception as exc:
            log.warn("PAM check failed: {error}", error=type(exc).__name__)
            ok = False
        if not ok:
            raise cred_error.UnauthorizedLogin("PAM refused the login")
        self.remembered.remember(user, password)
        return user

    def requestAvatarId(self, credentials: Any) -> defer.Deferred:  # noqa: N802 (twisted.cred)
        return defer.Deferred.fromCoroutine(self._check(*_username_password(credentials)))


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


class BasicAuthGate:
    """Checks the ``Authorization`` header of a request through the portal, with the
    per-peer throttle; :meth:`login` returns the user name or raises :class:`Refused`."""

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
        if credentials.user and credentials.password:
            creds = cred_credentials.UsernamePassword(credentials.user, credentials.password)
            try:
                _iface, user, _logout = await self.portal.login(creds, None, IWebUser)
                return str(user)
            except cred_error.UnauthorizedLogin:
                pass
        log.info("web login of {user} from {peer} refused", user=credentials.user, peer=peer)
        await self.throttle.failed(peer)
        raise Refused(401, "wrong user name or password")


def make_checker(mode: str, reactor: Any, accounts: Callable[[], Sequence[Any]]) -> Any:
    """The checker for ``--web-auth`` ``mode`` (``file`` or ``pam``)."""
    if mode == "pam":
        return PamChecker(reactor)
    if mode != "file":
        raise ValueError(f"--web-auth: {mode!r} is not one of: {', '.join(AUTH_MODES)}")
    return AccountsChecker(accounts, reactor)
