"""The web listener builder in the composed server (INTERFACE.md 2-3): ``listening: web``
on the CSTA server's web port, and the sniffer wiring for the XML port."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.trial import unittest

from cstaserver.config.model import ServerType
from cstaserver.csta.service import build_core
from cstaserver.service import ListenerService, RunSettings, build_service
from cstaserver.soap.service import build_web_listeners, web_site
from cstaserver.soap.sniff import sniffing_factory
from cstaserver.xmlproto.service import xml_factory
from tests.soap.soap_support import LoopbackWeb


def build_xml_listeners_with_http(context):  # the wiring proposed for cstaserver/service.py
    for server in context.servers(ServerType.XML):
        factory = sniffing_factory(
            xml_factory(context, server), web_site(context, server), clock=context.reactor
        )
        yield context.tcp_listener("xml", server.port, factory)


class ServiceTests(unittest.TestCase):
    async def test_web_and_sniffing_xml_listeners(self) -> None:
        settings = RunSettings(data=self.mktemp(), xml_port=0, web_port=0, tls_port=0, sip_port=0)
        root = build_service(
            settings,
            reactor,
            builders=[build_core, build_xml_listeners_with_http, build_web_listeners],
        )
        root.startService()
        self.addCleanup(root.stopService)
        listeners = {s.name: s for s in root if isinstance(s, ListenerService)}
        self.assertEqual(set(listeners), {"xml", "web"})
        probe = LoopbackWeb(reactor)
        for name in ("web", "xml"):
            port = listeners[name].port.getHost().port
            status, _h, data = await probe.request(b"GET", f"http://127.0.0.1:{port}/csta?wsdl")
            self.assertEqual(status, 200, name)
            self.assertIn(f"127.0.0.1:{port}/csta".encode(), data)
        # one site (one set of SOAP sessions) for both ports
        self.assertEqual(len(root.context.components["web"]), 1)
