"""Web-service logins: the accounts HTTP Basic (RFC 7617) logins are checked against, through
twisted.cred. The login gate itself (the ``Authorization`` header, the portal, the per-peer
throttle) is shared by every resource of the web port: :mod:`cstaserver.web.auth`, whose
names are also importable from here.

Two checkers, chosen with ``--web-auth``:

- ``file`` (default): the accounts file, ``ExchangeData.web_accounts`` (salted scrypt hashes,
  checked off the reactor by the server's password checks, :mod:`cstaserver.csta.logins`);
  demo ``csta_user`` / ``csta``;
- ``pam``: Linux accounts through PAM (the MX-ONE way: ``useradd … csta_user``), with the
  PyPI package ``python-pam`` (module ``pam``) imported when the option is used; without it,
  start-up stops with one line (:class:`WebAuthUnavailable`). PAM calls block, so they run in
  the reactor's thread pool.

A successful check is remembered for a short while as an HMAC of the password under a key
that lives only in memory, so a busy client does not pay a slow hash (or a PAM round trip)
on every POST. Empty user names and passwords never pass. Nothing secret is logged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from twisted.cred import credentials as cred_credentials
from twisted.cred import error as cred_error
from twisted.cred.checkers import ICredentialsChecker
from twisted.internet import defer, threads
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.csta.logins import Remembered as _Remembered
from cstaserver.csta.logins import Verify, verify_inline
from cstaserver.web.auth import (  # the shared gate, re-exported
    REALM,
    BasicAuthGate,
    BasicCredentials,
    IWebUser,
    Refused,
    WebRealm,
    parse_basic,
)

__all__ = [
    "AUTH_MODES",
    "REALM",
    "AccountsChecker",
    "BasicAuthGate",
    "BasicCredentials",
    "IWebUser",
    "PamChecker",
    "Refused",
    "WebAuthUnavailable",
    "WebRealm",
    "load_pam",
    "make_checker",
    "parse_basic",
]

log = Logger()

AUTH_MODES = ("file", "pam")


class WebAuthUnavailable(SystemExit):
    """``--web-auth pam`` without the ``pam`` module: start-up stops with this line."""


def _username_password(credentials: Any) -> tuple[str, str]:
    return str(credentials.username), str(credentials.password)


@implementer(ICredentialsChecker)
class AccountsChecker:
    """The accounts file: ``accounts()`` returns the current web accounts (user,
    password_hash), read on each login so changes apply at once."""

    credentialInterfaces = (cred_credentials.IUsernamePassword,)

    def __init__(
        self,
        accounts: Callable[[], Sequence[Any]],
        clock: Any,
        ttl: float = 300.0,
        verify: Verify = verify_inline,
    ):
        self.accounts = accounts
        self.remembered = _Remembered(clock, ttl)
        self.verify = verify

    def requestAvatarId(self, credentials: Any) -> defer.Deferred:  # noqa: N802 (twisted.cred)
        return defer.Deferred.fromCoroutine(self._check(*_username_password(credentials)))

    def account_token(self, user: str) -> str | None:
        """What a remembered login of ``user`` holds while it is unchanged: the account's
        password hash (None: no such account), read from the accounts as they are now."""
        for account in self.accounts():
            if account.user == user:
                return str(account.password_hash)
        return None

    async def _check(self, user: str, password: str) -> str:
        if user and password:
            for account in self.accounts():
                if account.user != user:
                    continue
                salt = account.password_hash
                if self.remembered.knows(user, password, salt) or await self.verify(password, salt):
                    self.remembered.remember(user, password, salt)
                    return user
                break
        raise cred_error.UnauthorizedLogin("wrong user or password")


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


def make_checker(
    mode: str,
    reactor: Any,
    accounts: Callable[[], Sequence[Any]],
    verify: Verify = verify_inline,
) -> Any:
    """The checker for ``--web-auth`` ``mode`` (``file`` or ``pam``); ``verify`` checks an
    accounts-file password (the server's password checks off the reactor)."""
    if mode == "pam":
        return PamChecker(reactor)
    if mode != "file":
        raise ValueError(f"--web-auth: {mode!r} is not one of: {', '.join(AUTH_MODES)}")
    return AccountsChecker(accounts, reactor, verify=verify)
