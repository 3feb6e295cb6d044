"""Logging in to the admin shell (docs/admin.md: telnet 8023 and ssh 8022 on loopback, login
with an admin account from the data directory).

Wired like ``twisted.conch.manhole_tap``: telnet is ``TelnetTransport(
AuthenticatingTelnetProtocol, portal)`` → ``TelnetBootstrapProtocol`` →
``insults.ServerProtocol`` → :class:`~.shell.AdminShell`; ssh is ``manhole_ssh.ConchFactory``
with a ``TerminalRealm`` whose terminal protocol is the same shell. One ``twisted.cred``
portal with :class:`AdminAccountsChecker`: the hashed admin accounts of the exchange data
(read at each login, so a restored account list applies at once), checked with
:func:`cstaserver.config.passwords.verify_password`; a wrong password is refused after a delay. The
ssh host key is generated in the data directory on first use (``ssh_host_key``, Ed25519,
mode 0600). Over telnet, wrong passwords are also limited per peer address with the ECMA-354
login throttle (:class:`~cstaserver.csta.auth.FailureThrottle`: more than 5 failures within
60 s close the connection at the next attempt until the minute has passed).
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
from twisted.conch.insults import insults
from twisted.conch.ssh import keys
from twisted.cred import credentials, error
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.portal import IRealm, Portal
from twisted.internet import defer, task
from twisted.internet.protocol import ServerFactory
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.config.files import FileRefused, read_regular_file
from cstaserver.config.passwords import verify_password
from cstaserver.csta.auth import FailureThrottle

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
    ) -> None:
        self.accounts = accounts
        self.clock = clock
        self.failure_delay = failure_delay
        self.on_failure = on_failure

    def requestAvatarId(self, creds: Any) -> defer.Deferred:  # noqa: N802 (twisted.cred API)
        user = _text(creds.username)
        password = _text(creds.password)
        for account in self.accounts():
            if account.user == user and verify_password(password, account.password_hash):
                log.info("admin {user} logged in", user=user)
                return defer.succeed(user.encode("utf-8"))
        log.warn("admin login refused for {user}", user=user)
        if self.on_failure is not None:
            self.on_failure()

        def refuse() -> None:
            raise error.UnauthorizedLogin("wrong user name or password")

        return task.deferLater(self.clock, self.failure_delay, refuse)


@implementer(IRealm)
class AdminRealm(manhole_ssh.TerminalRealm):
    """Gives a logged-in administrator the shell, over telnet or ssh.

    ``shell_factory(user)`` makes the terminal protocol (an :class:`~.shell.AdminShell`).
    """

    def __init__(self, shell_factory: Callable[[str], Any]) -> None:
        super().__init__()
        self.shell_factory = shell_factory

    def _getAvatar(self, avatarId: bytes) -> Any:  # noqa: N802, N803 (TerminalRealm hook)
        user = _text(avatarId)
        avatar = super()._getAvatar(avatarId)
        session = avatar.original.getComponent(iconch.ISession)
        session.chainedProtocolFactory = lambda: insults.ServerProtocol(self.shell_factory, user)
        return avatar

    def requestAvatar(self, avatarId: bytes, mind: Any, *interfaces: Any) -> tuple:  # noqa: N802, N803
        if telnet.ITelnetProtocol in interfaces:
            protocol = telnet.TelnetBootstrapProtocol(
                insults.ServerProtocol, self.shell_factory, _text(avatarId)
            )
            return (telnet.ITelnetProtocol, protocol, lambda: None)
        return super().requestAvatar(avatarId, mind, *interfaces)


def admin_portal(realm: AdminRealm, checker: AdminAccountsChecker) -> Portal:
    return Portal(realm, [checker])


class ThrottledTelnetProtocol(telnet.AuthenticatingTelnetProtocol):
    """The telnet login, with failures counted per peer address."""

    def __init__(self, portal: Portal, throttle: FailureThrottle) -> None:
        super().__init__(portal)
        self.throttle = throttle

    def _peer(self) -> str:
        return str(getattr(self.transport.getPeer(), "host", "?"))

    def telnet_Password(self, line: bytes) -> str:  # noqa: N802 (Twisted hook)
        if self.throttle.blocked(self._peer()):
            log.warn("admin login from {peer} refused: too many failures", peer=self._peer())
            self.transport.write(b"\nToo many failed logins\n")
            self.transport.loseConnection()
            return "Discard"
        return super().telnet_Password(line)

    def _ebLogin(self, failure: Any) -> None:  # noqa: N802 (Twisted hook)
        self.throttle.failed(self._peer())
        super()._ebLogin(failure)


def telnet_factory(portal: Portal, clock: Any = None) -> ServerFactory:
    """Telnet logins through ``portal``; failures limited per peer (on ``clock``)."""
    if clock is None:
        from twisted.internet import reactor as clock
    throttle = FailureThrottle(clock, delay=0)
    factory = ServerFactory()
    factory.protocol = lambda: telnet.TelnetTransport(ThrottledTelnetProtocol, portal, throttle)
    return factory


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


def ssh_factory(portal: Portal, key: keys.Key) -> manhole_ssh.ConchFactory:
    factory = manhole_ssh.ConchFactory(portal)
    name = key.sshType()
    factory.publicKeys = {name: key.public()}
    factory.privateKeys = {name: key}
    return factory
