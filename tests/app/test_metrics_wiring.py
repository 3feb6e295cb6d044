"""The running server's /metrics includes its TR/87 server's SIP endpoint (csta_sip_*,
labelled by CSTA server): the composition layer wires it."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.app.options import RunSettings
from cstaserver.app.root import build_service
from tests.soap.soap_support import LoopbackWeb, basic


class MetricsWiringTests(unittest.TestCase):
    async def test_the_sip_endpoint_is_in_the_metrics(self) -> None:
        root = build_service(RunSettings.ephemeral(self.mktemp()), reactor)
        root.startService()
        self.addCleanup(root.stopService)
        url = f"http://127.0.0.1:{root.port_of('web')}/metrics"
        status, _h, body = await LoopbackWeb(reactor).request(
            b"GET", url, headers={b"Authorization": basic()}
        )
        assert status == 200
        assert 'csta_sip_dialogs{listener="tr87-2"} 0.0' in body.decode()
