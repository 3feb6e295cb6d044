"""A minimal ssh client (twisted.conch) that logs in with a password, asks for a pty and a
shell, and collects what the shell writes: for the admin shell tests."""

from __future__ import annotations

from typing import Any

from twisted.conch.ssh import channel, common, connection, session, transport, userauth
from twisted.internet import defer

from tests.admin.admin_harness import TerminalClient


class ShellChannel(channel.SSHChannel):
    name = b"session"

    def __init__(self, terminal: TerminalClient, opened: defer.Deferred, **kw: Any) -> None:
        super().__init__(**kw)
        self.terminal = terminal
        self.opened = opened

    def channelOpen(self, specificData: bytes) -> None:
        pty = session.packRequest_pty_req(b"xterm", (24, 100, 0, 0), b"")
        asked = self.conn.sendRequest(self, b"pty-req", pty, wantReply=True)
        asked.addCallback(lambda _: self.conn.sendRequest(self, b"shell", b"", wantReply=True))
        asked.addCallback(lambda _: self.opened.callback(self))
        asked.addErrback(self.opened.errback)

    def dataReceived(self, data: bytes) -> None:
        self.terminal.dataReceived(data)

    def closed(self) -> None:
        if not self.terminal.closed.called:
            self.terminal.connectionLost()
        self.loseConnection()


class ShellConnection(connection.SSHConnection):
    def __init__(self, terminal: TerminalClient, opened: defer.Deferred) -> None:
        super().__init__()
        self.terminal = terminal
        self.opened = opened

    def serviceStarted(self) -> None:
        self.openChannel(ShellChannel(self.terminal, self.opened, conn=self))


class PasswordAuth(userauth.SSHUserAuthClient):
    def __init__(self, user: bytes, password: bytes, instance: Any) -> None:
        super().__init__(user, instance)
        self.password = password
        self.tries = 0

    def getPassword(self, prompt: Any = None) -> Any:
        self.tries += 1
        if self.tries > 1:
            return None  # one try only
        return defer.succeed(self.password)

    def getPublicKey(self) -> None:
        return None


class ShellClientTransport(transport.SSHClientTransport):
    def __init__(self, user: bytes, password: bytes) -> None:
        self.user = user
        self.password = password
        self.terminal = TerminalClient()
        self.opened: defer.Deferred = defer.Deferred()
        self.host_key: bytes | None = None

    def verifyHostKey(self, hostKey: bytes, fingerprint: bytes) -> defer.Deferred:
        self.host_key = hostKey
        return defer.succeed(True)

    def connectionSecure(self) -> None:
        conn = ShellConnection(self.terminal, self.opened)
        self.requestService(PasswordAuth(self.user, self.password, conn))

    def connectionLost(self, reason: Any) -> None:
        super().connectionLost(reason)
        if not self.opened.called:
            self.opened.errback(reason)
        if not self.terminal.closed.called:
            self.terminal.connectionLost()


__all__ = ["ShellClientTransport", "common"]
