"""docs/examples/tr87_client.py (shown in full in docs/tr87.md) run against a TR/87 server
on an ephemeral loopback port, so the guide cannot rot."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from tests.sip.tr87_ua import start_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "tr87_client.py"
GUIDE = ROOT / "docs" / "tr87.md"


class DocsExampleTests(unittest.TestCase):
    timeout = 30

    async def run_example(self) -> list[str]:
        server = await start_server(self)
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [str(SCRIPT), "127.0.0.1", str(server.port)]
        )
        assert code == 0, err.decode()
        assert not server.endpoint.dialogs  # the script said BYE
        return out.decode().splitlines()

    async def test_example_opens_monitors_calls_and_prints_the_events(self) -> None:
        lines = await self.run_example()
        heads = [line.split("  ")[0:2] for line in lines]
        assert heads[:3] == [
            ["<< 200 OK", "(CSeq 1 INVITE)"],
            ["<< 200 OK", "(CSeq 2 INFO)"],
            ["<< 200 OK", "(CSeq 3 INFO)"],
        ]
        assert "<systemStatus>normal</systemStatus>" in lines[0]
        assert "<MonitorStartResponse" in lines[1]
        assert "<deviceID>tel:+4685551101</deviceID>" in lines[2]
        names = [line.split("  ")[2].split(" ")[0] for line in lines[3:6]]
        assert names == ["<ServiceInitiatedEvent", "<OriginatedEvent", "<DeliveredEvent"]
        assert ["<< INFO", "(CSeq 1 INFO)"] == heads[3]  # the server's own CSeq
        assert any("<ConnectionClearedEvent" in line for line in lines)
        assert heads[-1] == ["<< 200 OK", "(CSeq 5 BYE)"]

    async def test_guide_shows_the_script_and_its_output_verbatim(self) -> None:
        guide = GUIDE.read_text(encoding="utf-8")
        assert SCRIPT.read_text(encoding="utf-8").strip() in guide
        for line in await self.run_example():
            assert line in guide, line
