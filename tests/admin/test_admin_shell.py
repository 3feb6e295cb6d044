"""The admin shell over real loopback TCP (docs/admin.md; wired like twisted.conch.manhole_tap):
a telnet login and commands (csta -p, exchange print, sim, help, an error line, prompting),
a wrong password refused, an ssh login with the conch client, the Python manhole and back,
exchange dump and restore."""

from __future__ import annotations

import json
from pathlib import Path

from twisted.conch.telnet import TelnetTransport
from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.trial import unittest

from cstaserver.config import DataDirectory
from tests.admin.admin_harness import (
    ADMIN_PASSWORD,
    Server,
    TelnetClient,
    TerminalClient,
    demo_data,
)
from tests.admin.conch_client import ShellClientTransport

PROMPT = "mxone> "


class TelnetShellTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)

    async def login(self, password: str = ADMIN_PASSWORD) -> TerminalClient:
        client = TelnetClient()
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", self.server.settings.admin_port)
        await connectProtocol(endpoint, TelnetTransport(lambda: client))
        self.addCleanup(lambda: client.closed if client.closed.called else self._close(client))
        await client.expect("Username: ")
        mark = client.send("admin\n")
        await client.expect("Password: ", mark)
        client.send(f"{password}\n")
        return client

    def _close(self, client: TerminalClient):
        client.transport.loseConnection()
        return client.closed

    async def command(self, client: TerminalClient, line: str) -> str:
        mark = client.send(line + "\r")
        text = await client.expect(PROMPT, mark + len(line))
        return text[: text.rindex(PROMPT)]

    async def test_login_and_commands(self) -> None:
        client = await self.login()
        await client.expect(PROMPT)
        assert "logged in as admin" in client.text
        out = await self.command(client, "csta -p")
        assert "CSTA server: running" in out and "LISTENING" in out
        out = await self.command(client, "exchange print 1001")
        assert "number:" in out and "1001" in out and "ip" in out
        out = await self.command(client, "sim call 1001 1002")
        assert "1001 calls 1002" in out
        out = await self.command(client, "exchange print")
        assert "alerting in call" in out
        out = await self.command(client, "sim hangup 1001")
        assert "1001: hangup" in out
        out = await self.command(client, "sim answer 1009")
        assert "sim: " in out and out.strip().count("\n") == 0
        out = await self.command(client, "csta -i --lim 9")
        assert "csta: LIM 9 does not exist" in out
        out = await self.command(client, "frobnicate")
        assert "unknown command 'frobnicate'" in out
        out = await self.command(client, "help")
        assert "sim traffic RATE SECONDS" in out
        mark = client.send("quit\r")
        await client.closed
        assert "bye" in client.text[mark:]

    async def test_wrong_password_refused(self) -> None:
        client = await self.login("wrong")
        text = await client.expect("Username: ", len("Username: "))
        assert "Authentication failed" in text
        assert PROMPT not in client.text

    async def test_prompting_in_the_shell(self) -> None:
        client = await self.login()
        await client.expect(PROMPT)
        mark = client.send("csta_authentication -i\r")
        await client.expect("application ID [demo]: ", mark)
        mark = client.send("crm\r")
        await client.expect("user (empty: none): ", mark)
        mark = client.send("bob\r")
        await client.expect("password for bob: ", mark)
        mark = client.send("t0ps3cret\r")
        await client.expect("max session duration", mark)
        mark = client.send("\r")
        out = await client.expect(PROMPT, mark)
        assert "application crm: users bob" in out
        assert "t0ps3cret" not in client.text  # not echoed
        criteria = DataDirectory(self.data).load().authentication.application("crm")
        assert criteria is not None and [u.user for u in criteria.users] == ["bob"]

    async def test_python_manhole_and_back(self) -> None:
        client = await self.login()
        await client.expect(PROMPT)
        mark = client.send("python\r")
        await client.expect(">>> ", mark)
        mark = client.send("len(switch.devices()) > 40, type(monitors).__name__\r")
        await client.expect("(True, 'MonitorRegistry')", mark)
        mark = client.send("\x04")  # Ctrl-D
        await client.expect(PROMPT, mark)
        out = await self.command(client, "csta -p")
        assert "CSTA server: running" in out

    async def test_dump_and_restore(self) -> None:
        client = await self.login()
        await client.expect(PROMPT)
        backup = Path(self.mktemp()).absolute()
        out = await self.command(client, f"exchange dump {backup}")
        assert f"dumped to {backup}" in out
        assert backup.stat().st_mode & 0o777 == 0o600
        saved = json.loads(backup.read_text())
        out = await self.command(client, "csta_authentication -e --application demo")
        assert "removed" in out
        assert DataDirectory(self.data).load().authentication.applications == ()
        out = await self.command(client, f"exchange restore {backup}")
        assert "restored" in out and "applied now" in out
        restored = DataDirectory(self.data).load()
        assert [c.application_id for c in restored.authentication.applications] == ["demo"]
        assert self.server.runtime.exchange.authentication.application("demo") is not None
        assert json.loads(DataDirectory(self.data).exchange_file.read_text()) == saved
        out = await self.command(client, "exchange dump")
        assert "backup-" in out and str(self.data) in out
        out = await self.command(client, "exchange restore /nonexistent/file.json")
        assert "exchange: cannot read /nonexistent/file.json" in out


class SshShellTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)

    async def connect(self, password: bytes) -> ShellClientTransport:
        client = ShellClientTransport(b"admin", password)
        port = self.server.settings.admin_ssh_port
        await connectProtocol(TCP4ClientEndpoint(global_reactor, "127.0.0.1", port), client)

        async def close() -> None:
            if not client.terminal.closed.called:
                client.transport.loseConnection()
                await client.terminal.closed

        self.addCleanup(close)
        return client

    async def test_ssh_login_and_command(self) -> None:
        client = await self.connect(ADMIN_PASSWORD.encode())
        await client.opened
        terminal = client.terminal
        await terminal.expect(PROMPT)
        key = self.data / "ssh_host_key"
        assert key.stat().st_mode & 0o777 == 0o600
        channel = client.opened.result
        mark = len(terminal.text)
        channel.write(b"csta_authentication -p\r")
        out = await terminal.expect(PROMPT, mark + 5)
        assert "APPLICATION" in out and "demo" in out and "csta_user" in out

    async def test_ssh_wrong_password_refused(self) -> None:
        client = await self.connect(b"nope")
        with self.assertRaises(ConnectionDone):
            await client.opened
        assert PROMPT not in client.terminal.text
