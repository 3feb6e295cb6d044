"""docs/examples/soap_call.py places a call between two demo extensions and clears it
(docs/soap.md); a refusal is one line and status 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.internet import reactor
from twisted.trial import unittest

from tests.soap.soap_support import LoopbackWeb, in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "soap_call.py"


class ExampleTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        self.web.listen()
        self.addCleanup(lambda: self.web.stop())

    async def run_example(self) -> subprocess.CompletedProcess:
        command = [sys.executable, str(SCRIPT), "--wsdl", self.web.url + "?wsdl"]
        command += ["--from", "1002", "--to", "1003"]
        return await in_thread(
            reactor, lambda: subprocess.run(command, capture_output=True, text=True, timeout=60)
        )

    async def test_example_places_a_call_and_clears_it(self) -> None:
        for call_id in ("1", "2"):  # nothing is left behind: it runs again at once
            result = await self.run_example()
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"call {call_id} from 1002 to 1003", result.stdout)
            self.assertIn("DeliveredEvent", result.stdout)
            self.assertIn(f"call {call_id} cleared", result.stdout)
            self.assertIn("session stopped", result.stdout)
        self.assertEqual(self.web.core.sessions.sessions, {})
        self.assertEqual(self.web.switch.calls, {})

    async def test_refusal_is_one_line(self) -> None:
        self.web.switch.make_call("1002", "1004")  # the calling device is busy
        result = await self.run_example()
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr, "error: refused: CSTA error: stateIncompatibility/invalidDeviceState\n"
        )
        self.assertIn("session stopped", result.stdout)
        self.assertEqual(self.web.core.sessions.sessions, {})
