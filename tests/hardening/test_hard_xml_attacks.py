"""XML attacks on every XML entry point (docs/protocol-notes.md R13): the XML port over TCP and TLS, SIP
bodies in INVITE and INFO, the SOAP envelope on the web port and through the XML port's HTTP
sniffer. External entities (a local file with a unique marker, an http URL served by a
listener that records connections), billion laughs, quadratic blow-up, deep nesting, a
DOCTYPE with an internal subset: each refused within 1 s (wall time), the marker never in an
answer or a log, no connection to the URL. Then sizes: a document exactly at the configured
limit is served, one byte over is refused with the documented answer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from twisted.internet import protocol
from twisted.internet import reactor as global_reactor
from twisted.trial import unittest

from cstaserver.config import Limits
from cstaserver.xmlproto.framing import encode_frame
from tests.hardening.support import (
    FullServer,
    LogCapture,
    deferred,
    http_post,
    sip_ua,
    xml_client,
)
from tests.soap.soap_support import soap11
from tests.xmlproto.xml_client import ED3, Req

REFUSAL_BOUND = 1.0  # seconds: the refusal must come within this, measured in wall time
REQUEST = Req.snapshot_device("1000")  # what each attack wraps


def _wrap(prolog: str, inner: str) -> str:
    return f'<?xml version="1.0"?>{prolog}<SnapshotDevice xmlns="{ED3}"><snapshotObject>{inner}</snapshotObject></SnapshotDevice>'


def attacks(marker_file: Path, url: str) -> dict[str, str]:
    laughs = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    big = "x" * 20000
    deep_open = "<a>" * 10000
    deep_closed = "<a>" * 9000 + "1000" + "</a>" * 9000
    return {
        "xxe file": _wrap(f'<!DOCTYPE s [<!ENTITY xxe SYSTEM "file://{marker_file}">]>', "&xxe;"),
        "xxe http": _wrap(f'<!DOCTYPE s [<!ENTITY xxe SYSTEM "{url}">]>', "&xxe;"),
        "external dtd": _wrap(f'<!DOCTYPE s SYSTEM "{url}">', "1000"),
        "billion laughs": _wrap(f"<!DOCTYPE s [{laughs}]>", "&a9;"),
        "quadratic": _wrap(f'<!DOCTYPE s [<!ENTITY b "{big}">]>', "&b;" * 2000),
        "internal subset": _wrap('<!DOCTYPE s [<!ELEMENT s ANY><!ATTLIST s a CDATA "1">]>', "1000"),
        "deep 10000 open": f'<SnapshotDevice xmlns="{ED3}">{deep_open}',
        "deep 9000 closed": f'<SnapshotDevice xmlns="{ED3}">{deep_closed}</SnapshotDevice>',
    }


class _Recorder(protocol.Protocol):
    def connectionMade(self) -> None:  # noqa: N802
        self.factory.connections += 1
        self.transport.loseConnection()


class AttackTests(unittest.TestCase):
    """One server, every entry point, every attack."""

    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)
        self.marker = f"MARKER-{uuid.uuid4().hex}"
        self.marker_file = tmp / "secret.txt"
        self.marker_file.write_text(self.marker)
        self.server = FullServer(self, tmp / "data")
        recorder = protocol.Factory.forProtocol(_Recorder)
        recorder.connections = 0
        self.recorder = recorder
        listening = global_reactor.listenTCP(0, recorder, interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        self.url = f"http://127.0.0.1:{listening.getHost().port}/evil.dtd"
        self.attacks = attacks(self.marker_file, self.url)

    async def _each(self, send: Callable[[str], Awaitable[tuple[bool, bytes]]]) -> None:
        """Run every attack through ``send`` (returns (refused, answer bytes))."""
        with LogCapture() as logs:
            for name, document in self.attacks.items():
                start = time.perf_counter()
                refused, answer = await send(document)
                elapsed = time.perf_counter() - start
                self.assertTrue(refused, f"{name}: not refused: {answer[:300]!r}")
                self.assertLess(elapsed, REFUSAL_BOUND, name)
                self.assertNotIn(self.marker.encode(), answer, name)
        logs.assert_no_secret(self.marker)
        self.assertEqual(logs.failures(), [])
        self.assertEqual(self.recorder.connections, 0, "the server fetched an external URL")

    async def _xml_port(self, tls: bool) -> None:
        port = self.server.port_of("tls" if tls else "xml")
        client = await xml_client(port, tls=tls)
        self.addCleanup(client.disconnect)

        async def send(document: str) -> tuple[bool, bytes]:
            frame = await client.request(document)
            return frame.error == "operation/generic", frame.body

        await self._each(send)
        frame = await client.request(REQUEST)  # the connection still serves
        self.assertEqual(frame.name, "SnapshotDeviceResponse")

    def test_xml_port(self) -> object:
        return deferred(self._xml_port(tls=False))

    def test_xml_port_tls(self) -> object:
        return deferred(self._xml_port(tls=True))

    async def _sip(self, transport: str) -> None:
        ua = await sip_ua(self, self.server.port_of("sip"), transport)

        async def send_invite(document: str) -> tuple[bool, bytes]:
            ua.new_dialog()
            reply = await ua.invite(document)
            return reply.status == 400, reply.response.to_bytes()

        await self._each(send_invite)
        opened = await ua.open()
        self.assertEqual(opened.status, 200)

        async def send_info(document: str) -> tuple[bool, bytes]:
            reply = await ua.request(document)
            return reply.status == 400, reply.response.to_bytes()

        await self._each(send_info)
        reply = await ua.csta(REQUEST)  # the dialog still serves
        self.assertEqual(reply.name, "SnapshotDeviceResponse")

    def test_sip_udp_invite_and_info(self) -> object:
        return deferred(self._sip("udp"))

    def test_sip_tcp_invite_and_info(self) -> object:
        return deferred(self._sip("tcp"))

    async def _soap(self, port_name: str) -> None:
        port = self.server.port_of(port_name)

        async def send_envelope(document: str) -> tuple[bool, bytes]:
            # the attack as the whole envelope: prolog first, the request in the Body
            prolog, _, rest = document.partition("<SnapshotDevice")
            body = soap11("<SnapshotDevice" + rest).decode()
            status, answer = await http_post(port, (prolog + body).encode())
            return status in (400, 500) and b"Fault" in answer, answer

        await self._each(send_envelope)
        status, answer = await http_post(port, soap11(REQUEST))
        self.assertEqual(status, 200, answer)
        self.assertIn(b"SnapshotDeviceResponse", answer)

    def test_soap_web_port(self) -> object:
        return deferred(self._soap("web"))

    def test_soap_through_the_xml_port(self) -> object:
        return deferred(self._soap("xml"))


LIMIT = 4096


def _padded(size: int) -> bytes:
    """A SnapshotDevice body of exactly ``size`` bytes (padded with a comment)."""
    head = f'<SnapshotDevice xmlns="{ED3}"><snapshotObject>1000</snapshotObject><!--'.encode()
    tail = b"--></SnapshotDevice>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


class SizeTests(unittest.TestCase):
    """``limits.max_message_bytes`` lowered to 4096 in the exchange data."""

    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def lower(exchange):  # type: ignore[no-untyped-def]
            import attrs

            return attrs.evolve(exchange, limits=Limits(max_message_bytes=LIMIT))

        self.server = FullServer(self, tmp / "data", changes=lower)

    async def _xml(self) -> None:
        client = await xml_client(self.server.port_of("xml"))
        self.addCleanup(client.disconnect)
        at = await client.request(_padded(LIMIT))
        self.assertEqual(at.name, "SnapshotDeviceResponse")
        start = time.perf_counter()
        over = await client.request(_padded(LIMIT + 1), invoke_id="0777")
        self.assertLess(time.perf_counter() - start, REFUSAL_BOUND)
        self.assertEqual((over.invoke_id, over.name), ("0777", "CSTAErrorCode"))
        again = await client.request(REQUEST)  # the connection is kept
        self.assertEqual(again.name, "SnapshotDeviceResponse")
        # the largest frame the header can express, far over the limit: same answer
        client.send_raw(encode_frame("0778", b" " * (0xFFFF - 8)))
        big = await client.request(REQUEST, invoke_id="0779")
        self.assertEqual(big.name, "SnapshotDeviceResponse")
        self.assertIn("0778", [f.invoke_id for f in client.received if f.error])

    def test_xml_port_at_and_over_the_limit(self) -> object:
        return deferred(self._xml())

    async def _soap(self) -> None:
        port = self.server.port_of("web")
        envelope = soap11("")
        overhead = len(envelope)
        status, answer = await http_post(port, soap11(_padded(LIMIT - overhead).decode()))
        self.assertEqual(status, 200, answer)
        status, answer = await http_post(port, soap11(_padded(LIMIT - overhead + 1).decode()))
        self.assertEqual(status, 413)
        self.assertIn(b"Fault", answer)

    def test_soap_at_and_over_the_limit(self) -> object:
        return deferred(self._soap())

    async def _sip(self) -> None:
        ua = await sip_ua(self, self.server.port_of("sip"), "tcp")
        await ua.open()
        # SIP's own limit: a message of at most 65,535 bytes; 513 one byte over it
        for size, status in ((0xFFFF, 200), (0xFFFF + 1, 513)):
            request = ua.build("INFO", _padded(60000))
            request.body = _padded(60000 + size - len(request.to_bytes()))
            self.assertEqual(len(request.to_bytes()), size)
            reply = await ua.send(request)
            self.assertEqual(reply.status, status)
        reply = await ua.csta(REQUEST)
        self.assertEqual(reply.name, "SnapshotDeviceResponse")

    def test_sip_over_the_message_limit(self) -> object:
        return deferred(self._sip())
