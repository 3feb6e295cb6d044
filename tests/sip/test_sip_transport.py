"""Transports: in-memory TCP connections and real loopback UDP/TCP sockets."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransportWithDisconnection
from twisted.logger import capturedLogs
from twisted.trial import unittest

from cstaserver.sip import transport as transport_module
from cstaserver.sip.endpoint import SipEndpoint
from cstaserver.sip.message import SipResponse, SipStreamParser, parse_datagram
from cstaserver.sip.transport import (
    SipDatagramProtocol,
    SipStreamFactory,
    SipStreamProtocol,
    UdpFlow,
    listen_sip,
)
from tests.sip.sip_support import CSTA, RecordingApplication, sip_request


def connected() -> tuple[SipStreamProtocol, StringTransportWithDisconnection, RecordingApplication]:
    app = RecordingApplication()
    endpoint = SipEndpoint(app, Clock())
    server = SipStreamFactory(endpoint).buildProtocol(None)
    transport = StringTransportWithDisconnection()
    transport.protocol = server
    server.makeConnection(transport)
    return server, transport, app


def written(transport: StringTransportWithDisconnection) -> list:
    parser = SipStreamParser()
    parser.feed(transport.value())
    messages = []
    while (message := parser.next_message()) is not None:
        messages.append(message)
    return messages


class TestStreamProtocol:
    def test_invite_fed_one_byte_at_a_time(self) -> None:
        server, transport, app = connected()
        for byte in sip_request("INVITE", body=b"<R/>"):
            server.dataReceived(bytes([byte]))
        (response,) = written(transport)
        assert response.status == 200
        assert response.contacts[0].uri.endswith(";transport=tcp")

    def test_bad_message_answered_and_connection_kept(self) -> None:
        server, transport, _ = connected()
        server.dataReceived(
            sip_request("INFO", cseq_method="BYE", body=b"<x/>") + sip_request("OPTIONS")
        )
        assert [r.status for r in written(transport)] == [400, 200]
        assert transport.connected

    def test_unframable_stream_answered_then_closed(self) -> None:
        server, transport, _ = connected()
        server.dataReceived(sip_request("INFO").replace(b"Content-Length: 0", b"Content-Length: x"))
        assert [r.status for r in written(transport)] == [400]
        assert not transport.connected

    def test_keepalives_ignored(self) -> None:
        server, transport, _ = connected()
        server.dataReceived(b"\r\n\r\n" * 3)
        server.dataReceived(sip_request("OPTIONS"))
        assert [r.status for r in written(transport)] == [200]

    def test_connection_loss_ends_the_dialog(self) -> None:
        server, transport, app = connected()
        server.dataReceived(sip_request("INVITE", body=b"<R/>"))
        transport.loseConnection()
        assert [reason for _, reason in app.ended] == ["connection lost"]

    def test_half_a_message_left_idle_closes_the_connection(self) -> None:
        """A client that sends part of a message and stops does not hold the connection."""
        server, transport, _ = connected()
        clock = server.endpoint.clock
        server.dataReceived(sip_request("OPTIONS")[:40])
        clock.advance(server.endpoint.config.partial_message_timeout - 1)
        assert transport.connected
        clock.advance(1)
        assert not transport.connected

    def test_complete_messages_and_keepalives_leave_no_timer(self) -> None:
        server, transport, _ = connected()
        server.dataReceived(sip_request("OPTIONS") + b"\r\n\r\n")
        server.endpoint.clock.advance(3600)
        assert transport.connected
        assert [r.status for r in written(transport)] == [200]


class _Datagrams:
    """A UDP port that keeps what is written to it."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def write(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent.append((data, address))

    def getHost(self) -> IPv4Address:  # noqa: N802 (Twisted API)
        return IPv4Address("UDP", "127.0.0.1", 5060)


class TestDatagramProtocol:
    def test_keepalive_and_garbage_get_no_answer_options_does(self) -> None:
        app = RecordingApplication()
        server = SipDatagramProtocol(SipEndpoint(app, Clock()))
        port = _Datagrams()
        server.makeConnection(port)
        server.datagramReceived(b"\r\n\r\n", ("127.0.0.1", 5))  # RFC 5626 keep-alive
        server.datagramReceived(b"\x00garbage", ("127.0.0.1", 5))  # no request to answer
        assert port.sent == []
        server.datagramReceived(sip_request("OPTIONS", transport="UDP"), ("127.0.0.1", 5))
        ((data, address),) = port.sent
        assert address == ("127.0.0.1", 5)
        assert parse_datagram(data).status == 200
        assert (app.invites, app.out_of_dialog) == ([], [])

    def test_one_flow_per_peer_shared_by_the_transactions_kept_for_timer_j(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(transport_module, "FLOWS_KEPT", 2)
        endpoint = SipEndpoint(RecordingApplication(), Clock())
        server = SipDatagramProtocol(endpoint)
        server.makeConnection(_Datagrams())
        for cseq in (1, 2):
            request = sip_request("OPTIONS", transport="UDP", cseq=cseq)
            server.datagramReceived(request, ("127.0.0.1", 5))
        first, second = (
            endpoint.transactions.find_server(
                parse_datagram(sip_request("OPTIONS", transport="UDP", cseq=cseq))
            )
            for cseq in (1, 2)
        )
        assert first.flow is second.flow == UdpFlow(server, ("127.0.0.1", 5))
        flows = [server.flow_to(("127.0.0.1", port)) for port in (6, 7)]  # past the bound
        assert flows[1].peer == ("127.0.0.1", 7) and server.flow_to(("127.0.0.1", 5)) == first.flow
        assert len(server._flows) <= 2

    def test_an_answer_that_cannot_be_sent_is_logged_not_raised(self) -> None:
        server = SipDatagramProtocol(SipEndpoint(RecordingApplication(), Clock()))
        with capturedLogs() as events:  # no transport: the port is not listening
            server.datagramReceived(sip_request("OPTIONS", transport="UDP"), ("127.0.0.1", 5))
        failures = [event["log_failure"].value for event in events if "log_failure" in event]
        assert [type(error) for error in failures] == [ConnectionError]


class _UdpClient(protocol.DatagramProtocol):
    def __init__(self) -> None:
        self.received: defer.DeferredQueue = defer.DeferredQueue()

    def datagramReceived(self, datagram: bytes, addr: object) -> None:
        self.received.put(parse_datagram(datagram))


class _TcpClient(protocol.Protocol):
    def __init__(self) -> None:
        self.parser = SipStreamParser()
        self.received: defer.DeferredQueue = defer.DeferredQueue()

    def dataReceived(self, data: bytes) -> None:
        self.parser.feed(data)
        while (message := self.parser.next_message()) is not None:
            self.received.put(message)


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Let the real reactor run until ``predicate`` holds (a datagram has arrived)."""
    deadline = global_reactor.seconds() + timeout
    while not predicate():
        assert global_reactor.seconds() < deadline, f"{what} did not arrive"
        await deferLater(global_reactor, 0.001, lambda: None)


class LoopbackTests(unittest.TestCase):
    """UDP and TCP on the same port number, on 127.0.0.1."""

    timeout = 10

    async def _start(self) -> int:
        self.app = RecordingApplication()
        self.endpoint = SipEndpoint(self.app, global_reactor)
        listeners = self.listeners = await listen_sip(global_reactor, self.endpoint, 0, "127.0.0.1")
        self.addCleanup(listeners.stop_listening)
        self.addCleanup(self.endpoint.stop)
        assert listeners.udp.getHost().port == listeners.port
        return listeners.port

    @defer.inlineCallbacks
    def test_udp_options_and_dialog(self):  # type: ignore[no-untyped-def]
        port = yield defer.Deferred.fromCoroutine(self._start())
        client = _UdpClient()
        udp = global_reactor.listenUDP(0, client, interface="127.0.0.1")
        self.addCleanup(udp.stopListening)
        client.transport.write(sip_request("OPTIONS", transport="UDP"), ("127.0.0.1", port))
        response = yield client.received.get()
        self.assertEqual(response.status, 200)
        client.transport.write(
            sip_request("INVITE", transport="UDP", call_id="udp1", body=b"<R/>"),
            ("127.0.0.1", port),
        )
        ok = yield client.received.get()
        self.assertEqual(ok.status, 200)
        self.assertTrue(ok.contacts[0].uri.endswith(";transport=udp"))
        client.transport.write(
            sip_request("ACK", transport="UDP", call_id="udp1", to_tag=ok.to_tag),
            ("127.0.0.1", port),
        )
        (dialog,) = self.endpoint.dialogs.values()
        yield defer.Deferred.fromCoroutine(_until(lambda: dialog.confirmed, "the ACK"))
        result = dialog.send_request("INFO", b"<DeliveredEvent/>", CSTA)
        event = yield client.received.get()
        self.assertEqual((event.method, event.body), ("INFO", b"<DeliveredEvent/>"))
        client.transport.write(
            SipResponse(200, "OK", event.headers.copy()).to_bytes(), ("127.0.0.1", port)
        )
        answered = yield result
        self.assertEqual(answered.status, 200)
        self.endpoint.close()
        bye = yield client.received.get()
        self.assertEqual(bye.method, "BYE")

    @defer.inlineCallbacks
    def test_tcp_sipe_flow(self):  # type: ignore[no-untyped-def]
        port = yield defer.Deferred.fromCoroutine(self._start())
        client = _TcpClient()
        yield connectProtocol(TCP4ClientEndpoint(global_reactor, "127.0.0.1", port), client)
        self.addCleanup(client.transport.loseConnection)
        client.transport.write(sip_request("INVITE", body=b"<RequestSystemStatus/>"))
        ok = yield client.received.get()
        tag = ok.to_tag
        client.transport.write(
            sip_request("ACK", to_tag=tag, cseq=1)
            + sip_request("INFO", to_tag=tag, cseq=2, body=b"<GetCSTAFeatures/>")
            + sip_request("INFO", to_tag=tag, cseq=3, body=b"<MonitorStart/>")
        )
        first = yield client.received.get()
        second = yield client.received.get()
        self.assertEqual(sorted((first.cseq.number, second.cseq.number)), [2, 3])
        self.assertEqual(second.body, b"<echo><MonitorStart/></echo>")
        client.transport.write(sip_request("BYE", to_tag=tag, cseq=4))
        bye_ok = yield client.received.get()
        self.assertEqual((bye_ok.status, bye_ok.cseq.method), (200, "BYE"))
        self.assertEqual([reason for _, reason in self.app.ended], ["bye"])


class ReceiveBufferTests(unittest.TestCase):
    """The UDP socket asks for a large receive buffer (bursts of INVITE/INFO datagrams)."""

    timeout = 10

    def test_enlarge_receive_buffer_grows_or_reports_the_cap(self) -> None:
        import socket

        from cstaserver.sip.transport import enlarge_receive_buffer

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        before = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        granted = enlarge_receive_buffer(sock, 8 * before)
        self.assertEqual(granted, sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
        self.assertGreaterEqual(granted, before)

    @defer.inlineCallbacks
    def test_listener_logs_the_granted_size(self):  # type: ignore[no-untyped-def]
        from twisted.logger import capturedLogs

        with capturedLogs() as events:
            yield defer.Deferred.fromCoroutine(LoopbackTests._start(self))  # type: ignore[arg-type]
        (line,) = [e for e in events if "receive buffer" in e.get("log_format", "")]
        self.assertEqual(line["asked"], 4 * 1024 * 1024)
        self.assertGreater(line["granted"], 0)


class FairReadingTests(unittest.TestCase):
    """One read of the UDP port handles at most ``bytes_per_turn`` bytes of datagrams (at
    least one), and leaves the rest of a burst in the socket for the next reactor turn."""

    timeout = 10

    def _port(self, bytes_per_turn: int) -> tuple[Any, list[int]]:
        server = SipDatagramProtocol(
            SipEndpoint(RecordingApplication(), Clock()), bytes_per_turn=bytes_per_turn
        )
        handled: list[int] = []
        server.datagramReceived = lambda data, addr: handled.append(len(data))  # type: ignore[method-assign]
        port = global_reactor.listenUDP(0, server, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port, handled

    def _burst(self, port: Any, sizes: list[int]) -> None:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sender.close)
        for size in sizes:
            sender.sendto(b"x" * size, ("127.0.0.1", port.getHost().port))

    def test_a_burst_is_handled_over_several_reads(self) -> None:
        port, handled = self._port(bytes_per_turn=4096)
        self._burst(port, [1000] * 12)
        port.doRead()
        self.assertEqual(handled, [1000] * 5)  # 4,000 < 4,096 read: one more, then the turn ends
        port.doRead()
        port.doRead()
        self.assertEqual(len(handled), 12)  # nothing lost, in three reads

    def test_a_datagram_larger_than_the_share_is_still_read(self) -> None:
        port, handled = self._port(bytes_per_turn=100)
        self._burst(port, [3000, 3000])
        port.doRead()
        self.assertEqual(handled, [3000])
        port.doRead()
        self.assertEqual(handled, [3000, 3000])

    @defer.inlineCallbacks
    def test_the_listener_reads_a_fair_share_by_default(self):  # type: ignore[no-untyped-def]
        yield defer.Deferred.fromCoroutine(LoopbackTests._start(self))  # type: ignore[arg-type]
        udp = self.listeners.udp  # type: ignore[attr-defined]
        self.assertEqual(udp.maxThroughput, transport_module.UDP_BYTES_PER_TURN)
        self.assertLess(transport_module.UDP_BYTES_PER_TURN, 256 * 1024)  # Twisted's default

    def test_a_share_below_one_byte_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            SipDatagramProtocol(SipEndpoint(RecordingApplication(), Clock()), bytes_per_turn=0)
