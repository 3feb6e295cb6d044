"""Lock-out: a host opens connections that never send a byte until they fill the global
association limit (``Limits.max_associations``); every new XML, TLS, TR/87 and SOAP client
was then refused. Now one address holds at most ``Limits.max_connections_per_address``
connections over all listeners (one more: the XML port answers ``resourceBusy``, the web
port 503, then close), and a connection that says nothing for
``Limits.first_message_timeout`` seconds is closed. Clients on other addresses are served.
Over loopback (the attacker from 127.0.0.2), scaled down."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cstaserver.config import Limits
from cstaserver.csta.gate import ConnectionGate, GatedFactory
from cstaserver.csta.grace import EXPIRY_GRACE
from tests.hardening.support import (
    OTHER_HOST,
    FullServer,
    RawConnection,
    http_post,
    raw_connections,
    sip_ua,
    until,
    xml_client,
)
from tests.soap.soap_support import soap11
from tests.xmlproto.xml_client import Req, parse_frame

PER_ADDRESS = 4
ASSOCIATIONS = 6  # the attacker alone could fill it without the per-address limit
REQUEST = Req.snapshot_device("1000")


class IdleConnectionTests(unittest.TestCase):
    def start(self, **limits: int) -> FullServer:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def changes(exchange):  # type: ignore[no-untyped-def]
            return attrs.evolve(exchange, limits=attrs.evolve(exchange.limits, **limits))

        return FullServer(self, tmp / "data", changes=changes)

    async def test_one_address_cannot_fill_the_association_limit(self) -> None:
        server = self.start(max_connections_per_address=PER_ADDRESS, max_associations=ASSOCIATIONS)
        xml_port, web_port = server.port_of("xml"), server.port_of("web")
        with raw_connections() as opened:
            for n in range(PER_ADDRESS):
                port = xml_port if n % 2 else server.port_of("sip")
                opened.append(RawConnection(port, source=OTHER_HOST))
            await until(lambda: server.core.gate.open.get(OTHER_HOST) == PER_ADDRESS, "idle")
            over = RawConnection(xml_port, source=OTHER_HOST)
            opened.append(over)
            self.assertTrue(await over.wait_closed())
            frame = parse_frame("9999", bytes(over.received)[8:])
            self.assertEqual(frame.error, "systemResourceAvailibility/resourceBusy")
            over_web = RawConnection(web_port, source=OTHER_HOST)
            opened.append(over_web)
            await over_web.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(await over_web.wait_closed())
            self.assertTrue(bytes(over_web.received).startswith(b"HTTP/1.1 503"))
            self.assertEqual(server.core.gate.open[OTHER_HOST], PER_ADDRESS)

            # the bystander (127.0.0.1): XML, TLS, SOAP and TR/87 over UDP and TCP
            client = await xml_client(xml_port)
            self.addCleanup(client.disconnect)
            self.assertEqual((await client.request(REQUEST)).name, "SnapshotDeviceResponse")
            secure = await xml_client(server.port_of("tls"), tls=True)
            self.addCleanup(secure.disconnect)
            self.assertEqual((await secure.request(REQUEST)).name, "SnapshotDeviceResponse")
            status, body = await http_post(web_port, soap11(REQUEST))
            self.assertEqual(status, 200, body)
            for transport in ("udp", "tcp"):
                ua = await sip_ua(self, server.port_of("sip"), transport)
                self.assertEqual((await ua.invite()).status, 200)
                await ua.bye()

    async def test_a_silent_connection_is_closed(self) -> None:
        server = self.start(first_message_timeout=1)
        with raw_connections() as opened:
            silent = RawConnection(server.port_of("xml"), source=OTHER_HOST)
            opened.append(silent)
            self.assertTrue(await silent.wait_closed())
            self.assertNotIn(OTHER_HOST, server.core.gate.open)
            self.assertEqual(len(server.core.associations), 0)
        client = await xml_client(server.port_of("xml"))
        self.addCleanup(client.disconnect)
        self.assertEqual((await client.request(REQUEST)).name, "SnapshotDeviceResponse")


class _Echo:
    """A wrapped protocol that records what it got."""

    def __init__(self) -> None:
        self.data = b""
        self.lost = False

    def makeConnection(self, transport: object) -> None:  # noqa: N802 (Twisted hook)
        self.transport = transport

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted hook)
        self.data += data

    def connectionLost(self, reason: object) -> None:  # noqa: N802 (Twisted hook)
        self.lost = True


class _Factory:
    def buildProtocol(self, addr: object) -> _Echo:  # noqa: N802 (Twisted hook)
        return _Echo()

    def doStart(self) -> None:  # noqa: N802
        pass

    def doStop(self) -> None:  # noqa: N802
        pass


def _connect(factory: GatedFactory, host: str) -> tuple[object, StringTransport]:
    from twisted.internet.address import IPv4Address

    address = IPv4Address("TCP", host, 40000)
    built = factory.buildProtocol(address)
    transport = StringTransport(peerAddress=address)
    built.makeConnection(transport)
    return built, transport


def test_first_message_timeout_counts_only_silence() -> None:
    clock = Clock()
    gate = ConnectionGate(lambda: Limits(first_message_timeout=30))
    factory = GatedFactory(_Factory(), gate, clock)
    silent, silent_transport = _connect(factory, "192.0.2.1")
    talking, talking_transport = _connect(factory, "192.0.2.2")
    clock.advance(29)
    talking.dataReceived(b"x")
    clock.advance(1)  # due: the grace lets input waiting after a pause be read first
    assert not silent_transport.disconnecting and not silent_transport.disconnected
    clock.advance(EXPIRY_GRACE)
    assert silent_transport.disconnected  # aborted
    assert not talking_transport.disconnected
    silent.connectionLost(None)
    assert gate.open == {"192.0.2.2": 1}


def test_the_limit_is_per_address_and_a_closed_connection_frees_its_place() -> None:
    gate = ConnectionGate(lambda: Limits(max_connections_per_address=2))
    factory = GatedFactory(_Factory(), gate, Clock(), refusal=b"busy")
    first, _ = _connect(factory, "192.0.2.1")
    _connect(factory, "192.0.2.1")
    refused, transport = _connect(factory, "192.0.2.1")
    assert transport.value() == b"busy" and transport.disconnecting
    _connect(factory, "192.0.2.9")  # another host
    first.connectionLost(None)
    _again, transport = _connect(factory, "192.0.2.1")
    assert transport.value() == b"" and not transport.disconnecting
    assert gate.open == {"192.0.2.1": 2, "192.0.2.9": 1}
