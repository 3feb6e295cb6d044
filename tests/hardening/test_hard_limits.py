"""The association limit (docs/protocol-notes.md L1):
``limits.max_associations`` in the exchange data bounds concurrent clients over every
transport. The client over the limit gets a clear answer - XML port: ``CSTAErrorCode``
``systemResourceAvailibility/resourceBusy`` then close; TR/87: 503 with Retry-After; SOAP:
HTTP 503 with a Fault - and a place freed is usable again."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.trial import unittest

from cstaserver.config import Limits, demo_exchange_data
from tests.hardening.support import (
    FullServer,
    deferred,
    http_post,
    sip_ua,
    until,
    xml_client,
)
from tests.soap.soap_support import soap11
from tests.xmlproto.xml_client import Req, parse_frame

LIMIT = 3
REQUEST = Req.snapshot_device("1000")


def test_default_limit_is_1000() -> None:
    assert demo_exchange_data().limits.max_associations == 1000


class AssociationLimitTests(unittest.TestCase):
    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def limit(exchange):  # type: ignore[no-untyped-def]
            return attrs.evolve(exchange, limits=Limits(max_associations=LIMIT))

        self.server = FullServer(self, tmp / "data", changes=limit)

    async def _over_the_limit(self) -> None:
        core = self.server.core
        xml_port = self.server.port_of("xml")
        clients = [await xml_client(xml_port) for _ in range(LIMIT)]
        for client in clients:
            self.assertEqual((await client.request(REQUEST)).name, "SnapshotDeviceResponse")
        self.assertEqual(len(core.associations), LIMIT)

        # XML port (and TLS): one frame resourceBusy, then the connection closes
        for port_name, tls in (("xml", False), ("tls", True)):
            refused = await xml_client(self.server.port_of(port_name), tls=tls)
            await until(lambda c=refused: c.is_closed, f"{port_name}: the refused client closed")
            (frame,) = refused.received
            self.assertEqual(frame.error, "systemResourceAvailibility/resourceBusy")

        # TR/87: 503 + Retry-After to the INVITE
        ua = await sip_ua(self, self.server.port_of("sip"), "udp")
        reply = await ua.invite()
        self.assertEqual(reply.status, 503)
        self.assertTrue(reply.response.headers.get("Retry-After"))

        # SOAP: HTTP 503 with a Fault
        status, body = await http_post(self.server.port_of("web"), soap11(REQUEST))
        self.assertEqual(status, 503)
        self.assertIn(b"Fault", body)

        # the clients inside the limit are untouched; one leaving frees a place
        for client in clients:
            self.assertEqual((await client.request(REQUEST)).name, "SnapshotDeviceResponse")
        await clients.pop().disconnect()
        await until(lambda: len(core.associations) < LIMIT, "a place to free")
        status, body = await http_post(self.server.port_of("web"), soap11(REQUEST))
        self.assertEqual(status, 200, body)
        self.assertIn(b"SnapshotDeviceResponse", body)
        for client in clients:
            await client.disconnect()

    def test_over_the_limit_on_every_transport(self) -> object:
        return deferred(self._over_the_limit())


def test_refusal_frame_is_a_valid_csta_error() -> None:
    """What the XML port writes when full: one well-formed frame, invoke ID 9999."""
    from twisted.internet.testing import StringTransport

    from tests.xmlproto.xml_client import make_world

    world = make_world(limits=Limits(max_associations=0))
    protocol = world.factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    data = transport.value()
    frame = parse_frame(data[4:8].decode(), data[8:])
    assert frame.error == "systemResourceAvailibility/resourceBusy"
    assert data[4:8] == b"9999"
    assert transport.disconnecting
