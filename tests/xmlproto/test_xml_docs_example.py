"""docs/examples/xml_client.py (the script docs/xml-client.md shows in full) run against a
server on an ephemeral loopback port, over TCP and TLS, so the guide cannot rot: its output is
the guide's, it leaves no call or monitor behind, and a refusal is one line."""

from __future__ import annotations

import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial import unittest

from tests.xmlproto.xml_client import LoopbackServer, World, make_world

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "xml_client.py"
GUIDE = ROOT / "docs" / "xml-client.md"


class DocsExampleTests(unittest.TestCase):
    timeout = 30

    def setUp(self) -> None:
        self.world: World = make_world()

    async def run_example(self, *args: str, tls: bool = False) -> tuple[list[str], str, int]:
        server = LoopbackServer(self, self.world.factory, tls=tls)
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [str(SCRIPT), *args, "127.0.0.1", str(server.port_number)]
        )
        return out.decode().splitlines(), err.decode(), code

    def assert_nothing_left(self) -> None:
        assert self.world.switch.calls == {}
        assert len(self.world.core.monitors) == 0

    async def test_example_prints_the_requests_responses_and_events(self) -> None:
        lines, err, code = await self.run_example()
        assert code == 0, err
        assert [line[:14] for line in lines] == [
            ">> 00 00 00 ab",
            "<< 0001  <?xml",
            ">> 00 00 00 b9",
            "<< 0002  <?xml",
            "<< 9999  <?xml",
            ">> 00 00 00 9a",
            "<< 0003  <?xml",
            "<< 9999  <?xml",
            "<< 9999  <?xml",
            "<< 9999  <?xml",
            ">> 00 00 00 91",
            "<< 0004  <?xml",
        ]
        assert "<MonitorStartResponse" in lines[1] and "<monitorCrossRefID>" in lines[1]
        assert "<callID>1</callID><deviceID>1000</deviceID>" in lines[3]
        assert "<DeliveredEvent" in lines[4] and "alerting" in lines[4]
        assert [line.count("<ConnectionClearedEvent") for line in lines[7:9]] == [1, 1]
        assert "<CallClearedEvent" in lines[9]
        self.assert_nothing_left()

    async def test_example_runs_twice_in_a_row(self) -> None:
        for _ in range(2):
            _, err, code = await self.run_example()
            assert code == 0, err
        self.assert_nothing_left()

    async def test_refusal_is_one_line_and_status_1(self) -> None:
        self.world.switch.make_call("1000", "1002")  # 1000 is busy in another call
        lines, err, code = await self.run_example()
        assert code == 1
        assert err == "error: MakeCall refused: stateIncompatibility invalidDeviceState\n"
        assert lines[-1].startswith("<< 0002") and "CSTAErrorCode" in lines[-1]
        assert len(self.world.switch.calls) == 1

    async def test_over_tls_with_the_servers_certificate(self) -> None:
        cafile = Path(self.mktemp())
        server = LoopbackServer(self, self.world.factory, tls=True)
        cafile.write_bytes(server.certificate_pem)
        args = ["--tls", "--cafile", str(cafile), "localhost", str(server.port_number)]
        out, err, code = await getProcessOutputAndValue(sys.executable, [str(SCRIPT), *args])
        assert code == 0, err.decode()
        assert out.decode().count("<ConnectionClearedEvent") == 2
        self.assert_nothing_left()

    async def test_unreachable_server_is_one_line(self) -> None:
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [str(SCRIPT), "127.0.0.1", "1"]
        )
        assert code == 1
        assert err.decode().startswith("error: cannot connect to 127.0.0.1:1: ")
        assert err.decode().count("\n") == 1

    async def test_guide_shows_the_script_and_its_output_verbatim(self) -> None:
        guide = GUIDE.read_text(encoding="utf-8")
        assert SCRIPT.read_text(encoding="utf-8").strip() in guide
        lines, err, code = await self.run_example()
        assert code == 0, err
        for line in lines:
            assert line in guide, line
