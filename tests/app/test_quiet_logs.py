"""Quiet logs at the default level (README "Options"): no access-log line per web request
unless ``--access-log``, one line per console command (no AMP connection lines), no
``Starting factory`` lines for the admin listeners."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest

from cstaserver.app.options import Options, RunSettings
from cstaserver.app.root import build_service
from tests.admin.admin_harness import Server, TerminalClient, demo_data, settle


def capture(testcase: unittest.TestCase) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    testcase.addCleanup(globalLogPublisher.removeObserver, events.append)
    return events


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [formatEvent(event) for event in events]


class AccessLogTests(unittest.TestCase):
    async def request_lines(self, access_log: bool) -> list[str]:
        data = Path(self.mktemp())
        demo_data(data)
        settings = RunSettings.ephemeral(data, access_log=access_log)
        root = build_service(settings, global_reactor)
        root.startService()
        self.addCleanup(root.stopService)
        events = capture(self)
        client = TerminalClient()
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", root.port_of("web"))
        await connectProtocol(endpoint, client)
        client.send("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        await client.expect("</html>")
        await client.closed
        await settle(0.1)
        return [text for text in texts(events) if '"GET / HTTP/1.0" 200' in text]

    async def test_off_by_default(self) -> None:
        assert await self.request_lines(access_log=False) == []

    async def test_on_with_the_option(self) -> None:
        assert len(await self.request_lines(access_log=True)) == 1

    def test_option(self) -> None:
        for argv, expected in (([], False), (["--access-log"], True)):
            options = Options()
            options.parseOptions(argv)
            assert options.settings.access_log is expected


class ConsoleCommandLogTests(unittest.TestCase):
    async def test_one_line_per_console_command(self) -> None:
        data = Path(tempfile.mkdtemp(prefix="csta-log-"))  # short: the control socket's path
        self.addCleanup(shutil.rmtree, data, True)
        demo_data(data)
        events = capture(self)
        server = Server(self, data, shell=True)
        await settle(0.1)
        started = texts(events)
        assert not [text for text in started if "Starting factory" in text]
        del events[:]
        status, out, err = await server.command("csta", "-p")
        await settle(0.1)
        assert status == 0
        # the console script's own end (here in the same process) is not the server's log
        client_side = ("ControlClientProtocol", "OneShotFactory")
        lines = [text for text in texts(events) if not any(c in text for c in client_side)]
        assert lines == ["control channel: csta -p"], lines
