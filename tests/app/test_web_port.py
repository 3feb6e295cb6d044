"""The web port in the composed server (docs/soap.md): ``listening: web`` on the CSTA
server's web port, and HTTP on the XML port reaching the same site."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.app.options import RunSettings
from cstaserver.app.root import build_service
from tests.soap.soap_support import LoopbackWeb


class WebPortTests(unittest.TestCase):
    async def test_web_and_sniffing_xml_listeners(self) -> None:
        root = build_service(RunSettings.ephemeral(self.mktemp()), reactor)
        root.startService()
        self.addCleanup(root.stopService)
        server = root.getServiceNamed("xml-1")
        self.assertEqual(set(server.listeners), {"xml", "tls", "web"})
        probe = LoopbackWeb(reactor)
        for name in ("web", "xml"):
            port = root.port_of(name)
            status, _h, data = await probe.request(b"GET", f"http://127.0.0.1:{port}/csta?wsdl")
            self.assertEqual(status, 200, name)
            self.assertIn(f"127.0.0.1:{port}/csta".encode(), data)
        # one site (one set of SOAP sessions) for both ports
        self.assertIs(server.listeners["web"].factory.wrappedFactory, server.site)  # gated
        self.assertIs(server.listeners["xml"].factory.web, server.site)
