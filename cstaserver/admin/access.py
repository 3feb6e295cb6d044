"""Logging in to the admin shell (docs/admin.md: telnet 8023 and ssh 8022 on loopback, login
with an admin account from the data directory).

Wired like ``twisted.conch.manhole_tap``: telnet is ``TelnetTransport(
AuthenticatingTelnetProtocol, portal)`` → ``TelnetBootstrapProtocol`` →
``insults.ServerProtocol`` → :class:`~.shell.AdminShell` (with the keys, negotiation
time-outs and plain line mode of :mod:`.telnetshell`); ssh is ``manhole_ssh.ConchFactory``
whose avatar's sessions (:mod:`.sshsession`) run the same shell on a pty, or the plain line
shell for ``exec`` and sessions without a pty. One ``twisted.cred``
portal with :class:`AdminAccountsChecker`: the hashed admin accounts of the exchange data
(read at each login, so a restored account list applies at once), checked off the reactor
(:class:`~cstaserver.csta.logins.PasswordChecks`); a wrong password is refused after a delay.
The ssh host key is generated in the data directory on first use (``ssh_host_key``, Ed25519,
mode 0600). Over telnet and ssh alike, every password is one attempt of the server's shared
login throttle (:mod:`cstaserver.csta.logins`: per address and per account, counted from the
moment the password is given): a throttled telnet login is closed, a throttled ssh password
is refused without a check.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.conch import interfaces as iconch
from twisted.conch import manhole_ssh, telnet
from twisted.conch.ssh import keys, userauth
from twisted.cred import credentials, error
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, task
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin import sshsession, telnetshell
from cstaserver.admin.sshsession import ShellFactories
from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.csta.logins import (
    FailureThrottle,
    LoginBusy,
    LoginThrottled,
    Verify,
    verify_inline,
)

log = Logger()

HOST_KEY_FILE = "ssh_host_key"
#: The largest ssh host key file read (an Ed25519 key in OpenSSH PEM is about 400 bytes).
MAX_HOST_KEY_BYTES = 65536


class HostKeyError(Exception):
    """The ssh host key file cannot be used: one line naming the file."""


FAILURE_DELAY = 1.0


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@implementer(ICredentialsChecker)
class AdminAccountsChecker:
    """User name and password against ``ExchangeData.admin_accounts`` (scrypt hashes).
    ``on_failure``, when set, is called once per refused login, telnet or ssh (the metrics
    count admin login failures there)."""

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(
        self,
        accounts: Callable[[], Sequence[Any]],
        clock: Any,
        failure_delay: float = FAILURE_DELAY,
        on_failure: Callable[[], None] | None = None,
        verify: Verify = verify_inline,
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        self.failure_delay = failure_delay
        self.on_failure = on_failure
        self.verify = verify

    def requestAvatarId(self, creds: Any) -> defer.Deferred:  # noqa: N802 (twisted.cred API)
        return defer.Deferred.fromCoroutine(
            self._check(_text(creds.username), _text(creds.password))
        )

    async def _check(self, user: str, password: str) -> bytes:
        for account in self.accounts():
            if account.user == user and password:
                if await self.verify(password, account.password_hash):
                    log.info("admin {user} logged in", user=user)
                    return user.encode("utf-8")
                break
        log.warn("admin login refused for {user}", user=user)
        if self.on_failure is not None:
            self.on_failure()
        await task.deferLater(self.clock, self.failure_delay, lambda: None)
        raise error.UnauthorizedLogin("wrong user name or password")


@implementer(IRealm)
class AdminRealm:
    """Gives a logged-in administrator the shell, over telnet or ssh (``shells``: how to make
    it). A telnet client that negotiates gets the terminal shell, one that does not the plain
    line shell (:mod:`.telnetshell`); an ssh login an :class:`~.sshsession.AdminUser`."""

    def __init__(self, shells: ShellFactories) -> None:
        self.shells = shells

    def requestAvatar(self, avatarId: bytes, mind: Any, *interfaces: Any) -> tuple:  # noqa: N802, N803
        user = _text(avatarId)
        if telnet.ITelnetProtocol in interfaces:
            if getattr(mind, "terminal", True):
                protocol: Any = telnetshell.ShellBootstrap(self.shells.terminal, user)
            else:
                plain = self.shells.lines(user, interactive=True)
                protocol = telnetshell.PlainTelnet(plain)
            return (telnet.ITelnetProtocol, protocol, lambda: None)
        if iconch.IConchUser in interfaces:
            return (iconch.IConchUser, sshsession.AdminUser(user, self.shells), lambda: None)
        # only our own telnet and ssh portals ask this realm: anything else is a wiring error
        raise TypeError(f"the admin shell offers telnet and ssh logins only, not {interfaces}")


def admin_portal(realm: AdminRealm, checker: AdminAccountsChecker) -> Portal:
    return Portal(realm, [checker])


class ThrottledPortal:
    """A portal whose every login is one attempt of the login throttle, taken when the
    password check starts (a client still negotiating holds no place): refused with
    :class:`~cstaserver.csta.logins.LoginThrottled` without a check while the address or
    the account is throttled. ``peer()`` names the client's address."""

    def __init__(self, portal: Portal, throttle: FailureThrottle, peer: Callable[[], str]):
        self.portal = portal
        self.throttle = throttle
        self.peer = peer

    def listCredentialsInterfaces(self) -> list[Any]:  # noqa: N802 (Portal API)
        return self.portal.listCredentialsInterfaces()

    def login(self, creds: Any, mind: Any, *interfaces: Any) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._login(creds, mind, interfaces))

    async def _login(self, creds: Any, mind: Any, interfaces: tuple[Any, ...]) -> Any:
        attempt = await self.throttle.begin(_text(creds.username), self.peer())
        try:
            result = await self.portal.login(creds, mind, *interfaces)
        except LoginBusy:
            attempt.abandoned()
            raise
        except error.UnauthorizedLogin:
            await attempt.failed()
            raise
        except BaseException:
            attempt.abandoned()
            raise
        attempt.succeeded()
        return result


def _peer_of(transport: Any) -> str:
    return str(getattr(transport.getPeer(), "host", "?"))


class ThrottledTelnetProtocol(telnetshell.NegotiatingLogin):
    """The telnet login through a :class:`ThrottledPortal`: a throttled login is told
    ``Too many failed logins`` and closed; one that finds every password check busy is told
    so and closed."""

    def __init__(self, portal: Portal, throttle: FailureThrottle, clock: Any = None) -> None:
        super().__init__(ThrottledPortal(portal, throttle, lambda: _peer_of(self.transport)), clock)

    def _ebLogin(self, failure: Any) -> None:  # noqa: N802 (Twisted hook)
        for kind, answer in (
            (LoginThrottled, b"Too many failed logins"),
            (LoginBusy, b"Server busy, try again"),
        ):
            if failure.check(kind):
                self.transport.write(b"\n" + answer + b"\n")
                self.transport.loseConnection()
                return
        super()._ebLogin(failure)


def _throttle(throttle: FailureThrottle | None, clock: Any) -> FailureThrottle:
    if throttle is not None:
        return throttle
    if clock is None:
        from twisted.internet import reactor as clock
    return FailureThrottle(clock, delay=0, kind="admin")


def telnet_factory(
    portal: Portal, clock: Any = None, throttle: FailureThrottle | None = None
) -> ServerFactory:
    """Telnet logins through ``portal``, limited by ``throttle`` (the server's shared login
    throttle's admin view; else one of its own on ``clock``)."""
    throttle = _throttle(throttle, clock)
    factory = ServerFactory()
    factory.noisy = False  # listeners are logged once, as 'listening: ...'
    factory.protocol = lambda: telnetshell.KeyTelnetTransport(
        ThrottledTelnetProtocol, portal, throttle, clock
    )
    return factory


class ThrottledUserAuth(userauth.SSHUserAuthServer):
    """ssh password logins (RFC 4252 clause 8) through a :class:`ThrottledPortal`: a
    throttled address or account is refused without a check (after ssh's own delay).
    ``throttle`` is set on a subclass made per factory."""

    throttle: FailureThrottle

    def serviceStarted(self) -> None:  # noqa: N802 (Twisted hook)
        super().serviceStarted()
        self.portal = ThrottledPortal(
            self.portal, self.throttle, lambda: _peer_of(self.transport.transport)
        )


def host_key(data_path: Path) -> keys.Key:
    """The ssh host key in ``<data>/ssh_host_key``, generated (Ed25519, 0600) if missing."""
    path = Path(data_path) / HOST_KEY_FILE
    if not path.exists():
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made by another process meanwhile: use that one
        else:
            with os.fdopen(fd, "wb") as stream:
                stream.write(pem)
            log.info("ssh host key generated: {path}", path=str(path))
    try:
        return keys.Key.fromString(read_regular_file(path, MAX_HOST_KEY_BYTES))
    except FileRefused as e:
        raise HostKeyError(f"{path}: {e.problem}") from None
    except OSError as e:
        raise HostKeyError(f"{path}: cannot read: {e.strerror or e}") from None
    except (keys.BadKeyError, keys.EncryptedKeyError, ValueError) as e:
        raise HostKeyError(f"{path}: not an ssh private key ({e})") from None


class AdminConchFactory(manhole_ssh.ConchFactory):
    """The ssh listener of the admin shell (:mod:`.sshsession`)."""

    noisy = False  # listeners are logged once, as 'listening: ...'
    protocol = sshsession.QuietServerTransport


def ssh_factory(
    portal: Portal, key: keys.Key, throttle: FailureThrottle | None = None, clock: Any = None
) -> manhole_ssh.ConchFactory:
    """ssh logins through ``portal``, limited by ``throttle`` (see :func:`telnet_factory`)."""
    factory = AdminConchFactory(portal)
    name = key.sshType()
    factory.publicKeys = {name: key.public()}
    factory.privateKeys = {name: key}
    auth = type("AdminUserAuth", (ThrottledUserAuth,), {"throttle": _throttle(throttle, clock)})
    factory.services = {**factory.services, b"ssh-userauth": auth}
    return factory
