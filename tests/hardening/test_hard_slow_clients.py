"""Slow and stuck clients (docs/protocol-notes.md X9): half-sent frames, SIP messages and HTTP requests
leave the server answering others; a partial XML frame idle past the timeout is closed; a
client that never reads is dropped by the bounded backlog; connection floods on every port
leave the server answering."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.xmlproto.framing import encode_frame
from cstaserver.xmlproto.protocol import PARTIAL_FRAME_TIMEOUT, CstaXmlFactory
from tests.hardening.support import (
    FullServer,
    LogCapture,
    RawConnection,
    check_bystander,
    connect_bystander,
    deferred,
    http_post,
    raw_connections,
    sip_ua,
    sleep,
    until,
    xml_client,
)
from tests.xmlproto.xml_client import Req, connect_memory, make_world

REQUEST = Req.snapshot_device("1000")


def test_partial_frame_closed_after_the_idle_timeout() -> None:
    """4 header bytes and silence: closed after the timeout (and not before), with a log
    line; the bystander is served meanwhile."""
    world = make_world()
    bystander = connect_bystander(world)
    stuck = connect_memory(world.factory)
    with LogCapture() as logs:
        stuck.send_raw(b"\x00\x00\x00\x40")
        world.advance(PARTIAL_FRAME_TIMEOUT - 1)
        assert not stuck.is_closed
        check_bystander(world, bystander)
        stuck.send_raw(b"00")  # more bytes: the idle time starts again
        world.advance(PARTIAL_FRAME_TIMEOUT - 1)
        assert not stuck.is_closed
        world.advance(2)
        stuck.flush()
        assert stuck.is_closed
    assert logs.matching("partial frame idle")
    check_bystander(world, bystander)


def test_complete_frames_never_time_out() -> None:
    world = make_world()
    client = connect_memory(world.factory)
    client.send_raw(encode_frame("0001", REQUEST.encode()))
    world.advance(PARTIAL_FRAME_TIMEOUT * 10)
    assert not client.is_closed
    assert client.received[0].name == "SnapshotDeviceResponse"


def test_partial_frame_timeout_is_a_constructor_parameter() -> None:
    world = make_world()
    factory = CstaXmlFactory(
        world.core, world.factory.profile, world.clock, partial_frame_timeout=5
    )
    stuck = connect_memory(factory)
    stuck.send_raw(encode_frame("0001", REQUEST.encode())[:20])
    world.clock.advance(5.1)
    stuck.flush()
    assert stuck.is_closed
    never = CstaXmlFactory(world.core, world.factory.profile, Clock(), partial_frame_timeout=None)
    idle = connect_memory(never)
    idle.send_raw(b"\x00")
    world.clock.advance(1e6)
    assert not idle.is_closed


class StuckClientTests(unittest.TestCase):
    """Against the whole server on loopback."""

    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)
        self.server = FullServer(self, tmp / "data")

    async def _others_served(self) -> None:
        """A new XML client, a SOAP request and a TR/87 dialog are all answered."""
        client = await xml_client(self.server.port_of("xml"))
        frame = await client.request(REQUEST)
        self.assertEqual(frame.name, "SnapshotDeviceResponse")
        await client.disconnect()
        status, body = await http_post(self.server.port_of("web"), _soap(REQUEST))
        self.assertEqual(status, 200, body)
        ua = await sip_ua(self, self.server.port_of("sip"), "udp")
        reply = await ua.open()
        self.assertEqual(reply.status, 200)

    async def _half_sent(self) -> None:
        ports = {name: self.server.port_of(name) for name in ("xml", "tls", "sip", "web")}
        sip_head = (
            b"INFO sip:x@example.net SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1\r\n"
            b"Content-Length: 500\r\n\r\n<partial"
        )
        http_head = (
            b"POST /csta HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Content-Length: 1000\r\n\r\n<s:Env"
        )
        with raw_connections() as stuck:
            stuck.append(RawConnection(ports["xml"]))
            await stuck[-1].send(b"\x00\x00\x01\x00")  # 4 header bytes
            stuck.append(RawConnection(ports["xml"]))
            await stuck[-1].send(encode_frame("0001", REQUEST.encode())[:30])
            stuck.append(RawConnection(ports["tls"]))
            await stuck[-1].send(b"\x16\x03\x01")  # half a TLS record
            stuck.append(RawConnection(ports["sip"]))
            await stuck[-1].send(sip_head)  # a SIP message without its end
            stuck.append(RawConnection(ports["web"]))
            await stuck[-1].send(http_head)  # an HTTP request without its body
            stuck.append(RawConnection(ports["xml"]))
            await stuck[-1].send(http_head)  # the same on the XML port (sniffed)
            await sleep(0.1)
            start = time.perf_counter()
            await self._others_served()
            self.assertLess(time.perf_counter() - start, 5.0)
            for connection in stuck:
                connection.poll()
                self.assertFalse(connection.closed)  # bounded by the timeouts, not shut early

    def test_half_sent_messages_do_not_block_others(self) -> object:
        return deferred(self._half_sent())

    async def _floods(self) -> None:
        """500 quick connect/close cycles spread over every TCP port, then all answer."""
        ports = [self.server.port_of(name) for name in ("xml", "tls", "sip", "web")]
        deadline = time.monotonic() + 30
        for index in range(500):
            sock = socket.socket()
            sock.setblocking(False)
            try:
                sock.connect_ex(("127.0.0.1", ports[index % len(ports)]))
            finally:
                sock.close()
            if index % 25 == 0:
                await sleep(0.005)  # let the server accept and see the close
            self.assertLess(time.monotonic(), deadline)
        await sleep(0.2)
        await self._others_served()
        core = self.server.core
        await until(lambda: len(core.associations) <= 2, "flood associations to go")

    def test_connection_floods_leave_the_server_answering(self) -> object:
        return deferred(self._floods())


def _soap(body: str) -> bytes:
    from tests.soap.soap_support import soap11

    return soap11(body)


class NeverReadsTests(unittest.TestCase):
    """A client that never reads, with a small receive buffer, flooded with events: the
    bounded backlog drops it; a bystander keeps receiving."""

    async def _flood(self) -> None:
        from tests.xmlproto.xml_client import LoopbackServer

        world = make_world()
        world.factory.options["max_backlog_bytes"] = 64 * 1024
        server = LoopbackServer(self, world.factory)
        bystander = await server.connect()
        await bystander.monitor("1009")
        with raw_connections() as raws, LogCapture() as logs:
            lazy = RawConnection(server.port_number, rcvbuf=4096)
            raws.append(lazy)
            for device in ("1000", "1001", "1002", "1003"):
                await lazy.send(encode_frame("0001", Req.monitor_start(device).encode()))
            await sleep(0.1)
            deadline = time.monotonic() + 20
            for _ in range(2000):  # bounded: each cycle makes ~10 events for the lazy client
                call = world.switch.make_call("1000", "1001")
                world.clock.advance(0)
                world.switch.clear_call(call[0])
                world.clock.advance(0)
                if logs.matching("does not read"):
                    break
                if time.monotonic() > deadline:
                    break
                await sleep(0)
            self.assertTrue(logs.matching("does not read"), "the lazy client was never dropped")
            self.assertTrue(await lazy.wait_closed())
        # the bystander was not hurt: it answers and gets events
        frame = await bystander.request(Req.make_call("1009", "1008"))
        self.assertEqual(frame.name, "MakeCallResponse")
        event = await bystander.next_event()
        self.assertTrue(event.name.endswith("Event"))

    def test_client_that_never_reads_is_dropped(self) -> object:
        return deferred(self._flood())
