"""Helpers for the admin tests: an in-process server on loopback with ephemeral ports (real
reactor), commands over its control channel, free ports, a small terminal client."""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path
from typing import Any

from twisted.conch import telnet
from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor
from twisted.internet.task import deferLater

from cstaserver.admin import control
from cstaserver.admin.commands import console_main
from cstaserver.admin.output import BufferOutput
from cstaserver.app.options import RunSettings
from cstaserver.app.root import build_service
from cstaserver.config import AdminAccount, DataDirectory, ensure_demo
from cstaserver.config.passwords import hash_password

WAIT = 10.0

#: The admin login of the servers the tests start in this process: the one place tests
#: take it from (a new data directory has no admin account; the server's first run would
#: make one with a random password, so test data is given this one first).
ADMIN_USER = "admin"
ADMIN_PASSWORD = "T3st-admin-pw"
ADMIN = (ADMIN_USER, ADMIN_PASSWORD)


def admin_account() -> AdminAccount:
    """The test admin login, hashed cheaply (the tests need no slow hash)."""
    return AdminAccount(ADMIN_USER, hash_password(ADMIN_PASSWORD, n=16, r=1))


def with_test_admin(path: Path) -> DataDirectory:
    """Give the data directory at ``path`` the test admin login (replacing any ``admin``)."""
    directory = DataDirectory(path)
    data = directory.load()
    others = [a for a in data.admin_accounts if a.user != ADMIN_USER]
    data.admin_accounts = [admin_account(), *others]
    directory.save(data)
    return directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_data(path: Path) -> DataDirectory:
    """The demo exchange in ``path``, with the test admin login."""
    ensure_demo(path)
    return with_test_admin(path)


class Server:
    """The demo server in this process, composed as ``twistd -n csta`` composes it, on
    ephemeral loopback ports."""

    def __init__(self, testcase: Any, data: Path, *, shell: bool = False) -> None:
        settings = RunSettings.ephemeral(
            data,
            admin_port=free_port() if shell else 0,
            admin_ssh_port=free_port() if shell else 0,
        )
        self.settings = settings
        self.root = build_service(settings, global_reactor, admin_failure_delay=0.05)
        self.runtime = self.root.runtime
        self.root.startService()
        testcase.addCleanup(self.root.stopService)

    @property
    def core(self) -> Any:
        return self.runtime.core

    @property
    def socket_path(self) -> Path:
        return self.runtime.data_directory.path / "control.sock"

    def port_of(self, role: str) -> int:
        return self.root.port_of(role)

    async def command(self, program: str, *argv: str) -> tuple[int, str, str]:
        """Run a command over the control channel: (status, stdout, stderr)."""
        out = BufferOutput()
        status = await control.send(global_reactor, self.socket_path, program, list(argv), out)
        assert status is not None, "the control channel did not answer"
        return status, out.stdout, out.stderr


async def settle(delay: float = 0.05) -> None:
    await deferLater(global_reactor, delay, lambda: None)


class TerminalClient(protocol.Protocol):
    """Collects what a telnet server writes; ``expect`` waits for a pattern (bounded)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.closed = defer.Deferred()
        self._waiter: defer.Deferred | None = None

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.callback(None)

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.callback(None)

    @property
    def text(self) -> str:
        """The output without telnet negotiation and terminal control sequences."""
        data = re.sub(
            rb"\xff[\xfb-\xfe].|\xff\xfa.*?\xff\xf0|\xff[\xf0-\xfa]", b"", self.buffer, flags=re.S
        )
        data = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>cEMD78]", b"", data)
        return data.decode("utf-8", "replace").replace("\r", "")

    async def expect(self, pattern: str, since: int = 0, timeout: float = WAIT) -> str:
        """Wait until ``pattern`` appears in the text after position ``since``."""
        deadline = global_reactor.seconds() + timeout
        while pattern not in self.text[since:]:
            if self.closed.called or global_reactor.seconds() > deadline:
                raise AssertionError(f"{pattern!r} not seen; got {self.text[since:]!r}")
            self._waiter = defer.Deferred()
            self._waiter.addTimeout(0.2, global_reactor, onTimeoutCancel=lambda *a: None)
            await self._waiter
        return self.text[since:]

    def send(self, text: str) -> int:
        mark = len(self.text)
        self.transport.write(text.encode("utf-8"))
        return mark


class TelnetClient(TerminalClient, telnet.TelnetProtocol):
    """A telnet user, as a usual client: the server echoes; line mode, window size and
    suppress-go-ahead agreed (the manhole bootstrap asks for them)."""

    def enableRemote(self, option: bytes) -> bool:
        return option in (telnet.ECHO, telnet.SGA)

    def enableLocal(self, option: bytes) -> bool:
        return option in (telnet.LINEMODE, telnet.NAWS, telnet.SGA)

    def disableRemote(self, option: bytes) -> None:
        pass

    def disableLocal(self, option: bytes) -> None:
        pass

    def send(self, text: str) -> int:
        """``\n`` goes out as CR LF (TelnetTransport), a lone ``\r`` as CR NUL (NVT)."""
        return super().send(text.replace("\r", "\r\x00"))


# -- the console scripts, no server running ----------------------------------------------


def run(program: str, data: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = console_main(
        program,
        [*argv, "--data", str(data)],
        stdin=io.StringIO(),
        stdout=out,
        stderr=err,
        send=lambda *args: None,  # no server
    )
    return status, out.getvalue(), err.getvalue()


def stored(data: Path) -> bytes:
    return (data / "exchange.json").read_bytes()
