"""CSTA XML over TLS on loopback: the client verifies the generated certificate, a framed
request is answered, and a newly installed certificate serves new connections at once."""

from __future__ import annotations

from OpenSSL import SSL
from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import SSL4ClientEndpoint, SSL4ServerEndpoint
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.certificates import CertificateError, CertificateStore, self_signed
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.switch import Switch
from cstaserver.tlscontext import ReloadingServerTLS
from cstaserver.xmlproto.framing import Deframer, encode_frame
from cstaserver.xmlproto.protocol import CstaXmlFactory

ED3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
REQUEST = f'<RequestSystemStatus xmlns="{ED3}"/>'.encode()


class FrameClient(protocol.Protocol):
    def __init__(self) -> None:
        self.deframer = Deframer()
        self.first: defer.Deferred = defer.Deferred()
        self.lost: defer.Deferred = defer.Deferred()

    def connectionLost(self, reason: object = None) -> None:
        self.lost.callback(None)

    def close(self) -> defer.Deferred:
        self.transport.abortConnection()
        return self.lost

    def dataReceived(self, data: bytes) -> None:
        for frame in self.deframer.feed(data):
            if not self.first.called:
                self.first.callback(frame)


class TlsTests(unittest.TestCase):
    def setUp(self) -> None:
        self.store = CertificateStore(self.mktemp())
        self.store.install(self_signed("localhost"))
        clock = Clock()
        self.core = CstaCore(Switch(demo_plan(), clock), clock)
        self.tls = ReloadingServerTLS(self.store)
        factory = CstaXmlFactory(self.core, Profile(name="tls"), clock)
        endpoint = SSL4ServerEndpoint(reactor, 0, self.tls, interface="127.0.0.1")
        return endpoint.listen(factory).addCallback(self._listening)

    def _listening(self, port) -> None:
        self.port = port
        self.addCleanup(port.stopListening)

    async def exchange(self) -> tuple[bytes, str]:
        """Connect, verifying the installed certificate; send one framed request."""
        trust = Certificate.loadPEM(self.store.load().certificate_pem)
        options = optionsForClientTLS("localhost", trustRoot=trust)
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port, options)
        client = await endpoint.connect(protocol.Factory.forProtocol(FrameClient))
        self.addCleanup(client.close)
        client.transport.write(encode_frame("0042", REQUEST))
        frame = await client.first
        peer = client.transport.getPeerCertificate()
        return frame, Certificate(peer).digest("sha256")

    @defer.inlineCallbacks
    def test_handshake_verified_and_request_answered(self):
        frame, _ = yield defer.Deferred.fromCoroutine(self.exchange())
        self.assertEqual(frame.invoke_id, "0042")
        self.assertIn(b"<systemStatus>normal</systemStatus>", frame.body)

    @defer.inlineCallbacks
    def test_new_certificate_serves_new_connections_without_restart(self):
        _, before = yield defer.Deferred.fromCoroutine(self.exchange())
        self.store.install(self_signed("localhost"))
        frame, after = yield defer.Deferred.fromCoroutine(self.exchange())
        self.assertNotEqual(before, after)
        self.assertEqual(frame.invoke_id, "0042")

    def test_context_refuses_tls_below_1_2(self):
        context = self.tls.context()
        self.assertTrue(context.set_options(0) & SSL.OP_NO_TLSv1_1)
        self.assertTrue(context.set_options(0) & SSL.OP_NO_COMPRESSION)

    def test_broken_new_file_keeps_the_last_good_certificate(self):
        good = self.tls.fingerprint
        self.store.path.write_bytes(b"not a certificate")
        self.assertIsNotNone(self.tls.context())
        self.assertEqual(self.tls.fingerprint, good)


class NoCertificateTests(unittest.TestCase):
    def test_nothing_installed_refuses_to_build_a_context(self):
        with self.assertRaises(CertificateError):
            ReloadingServerTLS(CertificateStore(self.mktemp()))


class CountingClient(FrameClient):
    """Collects every frame; ``all_in`` fires once ``expected`` frames arrived."""

    expected = 0

    def connectionMade(self) -> None:
        self.frames: list = []
        self.all_in: defer.Deferred = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.frames.extend(self.deframer.feed(data))
        if len(self.frames) >= self.expected and not self.all_in.called:
            self.all_in.callback(self.frames)


class TlsPipelineTests(unittest.TestCase):
    """Hundreds of frames pipelined over TLS, in one write: the server handles them a slice
    per reactor turn with reading paused in between (the real reactor), and answers every
    one, in order."""

    def setUp(self) -> None:
        self.store = CertificateStore(self.mktemp())
        self.store.install(self_signed("localhost"))
        clock = Clock()
        core = CstaCore(Switch(demo_plan(), clock), clock)
        factory = CstaXmlFactory(core, Profile(name="tls"), reactor)  # turns of the reactor
        endpoint = SSL4ServerEndpoint(
            reactor, 0, ReloadingServerTLS(self.store), interface="127.0.0.1"
        )
        return endpoint.listen(factory).addCallback(self._listening)

    def _listening(self, port) -> None:
        self.port = port
        self.addCleanup(port.stopListening)

    async def pipeline(self, count: int) -> list:
        trust = Certificate.loadPEM(self.store.load().certificate_pem)
        options = optionsForClientTLS("localhost", trustRoot=trust)
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port, options)
        CountingClient.expected = count
        client = await endpoint.connect(protocol.Factory.forProtocol(CountingClient))
        self.addCleanup(client.close)
        client.transport.write(b"".join(encode_frame(f"{n:04d}", REQUEST) for n in range(count)))
        return await client.all_in.addTimeout(20, reactor)

    @defer.inlineCallbacks
    def test_pipelined_frames_are_all_answered_in_order(self):
        frames = yield defer.Deferred.fromCoroutine(self.pipeline(2000))
        self.assertEqual([frame.invoke_id for frame in frames], [f"{n:04d}" for n in range(2000)])
        self.assertTrue(all(b"RequestSystemStatusResponse" in frame.body for frame in frames))
