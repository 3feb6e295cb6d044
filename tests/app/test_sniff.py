"""HTTP on the XML port (docs/protocol-notes.md X7): the first byte decides
between the ECMA-323 framed protocol and the web site."""

from __future__ import annotations

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial import unittest

from cstaserver.app.sniff import sniffing_factory
from cstaserver.csta.association import Profile
from cstaserver.csta.namespaces import ED3
from cstaserver.xmlproto.framing import Deframer, encode_frame
from cstaserver.xmlproto.protocol import CstaXmlFactory
from tests.soap.soap_support import LoopbackWeb, soap11


class FrameClient(Protocol):
    def __init__(self) -> None:
        self.deframer = Deframer()
        self.frames: list = []
        self.waiting: defer.Deferred | None = None

    def dataReceived(self, data: bytes) -> None:
        self.frames.extend(self.deframer.feed(data))
        if self.frames and self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.callback(self.frames.pop(0))

    def next_frame(self) -> defer.Deferred:
        if self.frames:
            return defer.succeed(self.frames.pop(0))
        self.waiting = defer.Deferred()
        return self.waiting


class SniffOverTcpTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = LoopbackWeb(reactor)
        xml = CstaXmlFactory(self.web.core, Profile(name="xml"), self.web.clock)
        self.port = self.web.listen(sniffing_factory(xml, self.web.site, clock=reactor))
        self.addCleanup(lambda: self.web.stop())

    async def test_soap_over_the_xml_port(self) -> None:
        status, _h, data = await self.web.post(soap11(f'<GetCSTAFeatures xmlns="{ED3}"/>'))
        self.assertEqual(status, 200)
        self.assertIn(b"GetCSTAFeaturesResponse", data)
        status, _h, data = await self.web.request(b"GET", self.web.url + "?wsdl")
        self.assertIn(f":{self.port}/csta".encode(), data)

    async def test_framed_xml_on_the_same_port(self) -> None:
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port)
        client = await connectProtocol(endpoint, FrameClient())
        self.addCleanup(client.transport.loseConnection)
        client.transport.write(encode_frame("0042", f'<GetCSTAFeatures xmlns="{ED3}"/>'.encode()))
        frame = await client.next_frame()
        self.assertEqual(frame.invoke_id, "0042")
        self.assertIn(b"GetCSTAFeaturesResponse", frame.body)
        self.assertTrue(any(a.profile.name == "xml" for a in self.web.core.associations))


class Recorder(Protocol):
    def __init__(self, log: list) -> None:
        self.log = log

    def connectionMade(self) -> None:
        self.log.append("made")

    def dataReceived(self, data: bytes) -> None:
        self.log.append(data)

    def connectionLost(self, reason: object = None) -> None:
        self.log.append("lost")


class FakeFactory:
    def __init__(self) -> None:
        self.log: list = []
        self.started = 0

    def buildProtocol(self, addr: object) -> Recorder:
        return Recorder(self.log)

    def doStart(self) -> None:
        self.started += 1

    def doStop(self) -> None:
        self.started -= 1


class SniffUnitTests(unittest.TestCase):
    def connect(self, clock: Clock | None = None) -> tuple:
        xml, web = FakeFactory(), FakeFactory()
        factory = sniffing_factory(xml, web, clock=clock, handover_after=1.0)
        proto = factory.buildProtocol(None)
        proto.makeConnection(StringTransport())
        return factory, proto, xml, web

    def test_letter_goes_to_http_and_bytes_are_replayed(self) -> None:
        _f, proto, xml, web = self.connect()
        proto.dataReceived(b"P")
        proto.dataReceived(b"OST / HTTP/1.1\r\n")
        proto.connectionLost(None)
        self.assertEqual(web.log, ["made", b"P", b"OST / HTTP/1.1\r\n", "lost"])
        self.assertEqual(xml.log, [])

    def test_zero_byte_goes_to_xml(self) -> None:
        _f, proto, xml, web = self.connect()
        proto.dataReceived(b"\x00\x00\x00\x10" + b"0001")
        self.assertEqual(xml.log, ["made", b"\x00\x00\x00\x100001"])
        self.assertEqual(web.log, [])

    def test_silent_connection_goes_to_xml_after_the_handover_delay(self) -> None:
        clock = Clock()
        _f, proto, xml, _web = self.connect(clock)
        clock.advance(1.0)
        self.assertEqual(xml.log, ["made"])
        proto.dataReceived(b"\x00")
        self.assertEqual(xml.log, ["made", b"\x00"])

    def test_lost_before_any_byte(self) -> None:
        clock = Clock()
        _f, proto, xml, web = self.connect(clock)
        proto.connectionLost(None)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual((xml.log, web.log), ([], []))

    def test_factory_start_and_stop_reach_both(self) -> None:
        factory, _p, xml, web = self.connect()
        factory.doStart()
        self.assertEqual((xml.started, web.started), (1, 1))
        factory.doStop()
        self.assertEqual((xml.started, web.started), (0, 0))
