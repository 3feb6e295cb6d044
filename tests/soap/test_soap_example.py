"""docs/examples/soap_call.py places a call between two demo extensions (docs/soap.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.internet import reactor
from twisted.trial import unittest

from tests.soap.soap_support import LoopbackWeb, in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "soap_call.py"


class ExampleTests(unittest.TestCase):
    async def test_example_places_a_call(self) -> None:
        web = LoopbackWeb(reactor)
        web.listen()
        self.addCleanup(lambda: web.stop())
        command = [
            sys.executable,
            str(SCRIPT),
            "--wsdl",
            web.url + "?wsdl",
            "--from",
            "1002",
            "--to",
            "1003",
        ]
        result = await in_thread(
            reactor, lambda: subprocess.run(command, capture_output=True, text=True, timeout=60)
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("call 1 from 1002 to 1003", result.stdout)
        self.assertIn("DeliveredEvent", result.stdout)
        self.assertIn("session stopped", result.stdout)
        self.assertEqual(web.core.sessions.sessions, {})
        self.assertEqual(dict(web.switch.snapshot_call("1"))["1003"].value, "alerting")
