"""docs/examples/xml_client.py (the script docs/xml-client.md shows in full) run against a
server on an ephemeral loopback port, so the guide cannot rot."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from tests.xmlproto.xml_client import LoopbackServer, make_world

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "xml_client.py"
GUIDE = ROOT / "docs" / "xml-client.md"


class DocsExampleTests(unittest.TestCase):
    timeout = 30

    async def run_example(self) -> list[str]:
        world = make_world()
        server = LoopbackServer(self, world.factory)
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [str(SCRIPT), "127.0.0.1", str(server.port_number)]
        )
        assert code == 0, err.decode()
        return out.decode().splitlines()

    async def test_example_prints_the_requests_responses_and_event(self) -> None:
        lines = await self.run_example()
        assert [line[:14] for line in lines] == [
            ">> 00 00 00 ab",
            ">> 00 00 00 b9",
            "<< 0001  <?xml",
            "<< 0002  <?xml",
            "<< 9999  <?xml",
        ]
        assert "<MonitorStartResponse" in lines[2] and "<monitorCrossRefID>" in lines[2]
        assert "<callID>1</callID><deviceID>1000</deviceID>" in lines[3]
        assert "<DeliveredEvent" in lines[4] and "alerting" in lines[4]

    async def test_guide_shows_the_script_and_its_output_verbatim(self) -> None:
        guide = GUIDE.read_text(encoding="utf-8")
        assert SCRIPT.read_text(encoding="utf-8").strip() in guide
        for line in await self.run_example():
            assert line in guide, line
