"""SIP transports: RFC 3261 §18 over UDP and TCP on one port number.

- :class:`SipDatagramProtocol`: one message per datagram (§18.3); CRLF keep-alives
  ignored; at most ``UDP_BYTES_PER_TURN`` bytes of datagrams handled per reactor turn, so
  that a burst does not hold up the other clients. One :class:`UdpFlow` per peer address,
  re-used for its datagrams (up to ``FLOWS_KEPT`` peers, then the cache starts again): the
  transactions kept for Timer J over UDP share it instead of holding one each.
- :class:`SipStreamProtocol` / :class:`SipStreamFactory`: one
  :class:`~cstaserver.sip.message.SipStreamParser` per connection; a bad message is
  answered and parsing goes on; only an unframable stream closes the connection.
- :class:`SipServerEndpoint` starts both from any stream server endpoint, TCP first so
  that port 0 gives one free number for both; :func:`listen_sip` does it for a port.

Both feed the same :class:`~cstaserver.sip.endpoint.SipEndpoint`; bad input never raises
out of a protocol.
"""

from __future__ import annotations

import socket
from typing import Any

from attrs import frozen
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IAddress, IListeningPort, IStreamServerEndpoint
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cstaserver.csta.partial import PartialMessageGuard
from cstaserver.sip.endpoint import SipEndpoint
from cstaserver.sip.interfaces import ISipFlow
from cstaserver.sip.message import SipParseError, SipStreamParser, parse_datagram

log = Logger()


def _host_port(address: IAddress) -> tuple[str, int]:
    return (getattr(address, "host", ""), getattr(address, "port", 0))


@implementer(ISipFlow)
@frozen
class UdpFlow:
    """A UDP socket and one peer address."""

    protocol: SipDatagramProtocol
    peer: tuple[str, int]

    transport_name = "UDP"
    reliable = False
    connected = True

    @property
    def local(self) -> tuple[str, int]:
        return self.protocol.local

    def send_bytes(self, data: bytes) -> None:
        self.protocol.send_datagram(data, self.peer)

    def to_address(self, host: str, port: int) -> ISipFlow:
        return UdpFlow(self.protocol, (host, port))


#: The UDP receive buffer asked for (SO_RCVBUF). Linux's default (208 KiB) overflowed in
#: bursts: SIPp retransmitted from 125 calls/s while our endpoint had counted no loss
#: (bench/tr87). Above ``net.core.rmem_max`` the kernel caps it unless SO_RCVBUFFORCE is
#: allowed (CAP_NET_ADMIN); the size granted is logged.
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


def enlarge_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for a ``size``-byte receive buffer on ``sock``; returns what the kernel granted
    (as ``getsockopt`` reports it: Linux doubles the value for its own bookkeeping)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    except OSError:
        pass
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if granted < size and force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)  # beyond rmem_max, if allowed
        except OSError:
            pass
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    return granted


#: Peer addresses whose :class:`UdpFlow` a UDP port re-uses; past it the cache is emptied
#: (a flow is immutable: one made again is the same).
FLOWS_KEPT = 4096


#: Bytes of datagrams one read of the UDP port handles before the reactor serves its other
#: connections (Twisted's ``udp.Port.maxThroughput``, 256 KiB by default; at least one
#: datagram per read). A burst of INVITEs, each a new dialog or a refusal, was otherwise all
#: handled in one reactor turn (40 of them: 10 - 20 ms in which no XML or TCP client was
#: answered); the rest now waits in the socket's receive buffer (``UDP_RECEIVE_BUFFER``) for
#: the next turn, the reactor's poll being level-triggered.
UDP_BYTES_PER_TURN = 8 * 1024


#: The largest datagram read whole (Twisted's UDP port reads 8,192 bytes by default and
#: silently drops the rest): every UDP datagram fits, so a message up to the parser's limit
#: (65,535 bytes) is parsed whole and a larger one, on a smaller limit, is answered 513.
UDP_MAX_DATAGRAM = 65536


class SipDatagramProtocol(DatagramProtocol):
    noisy = False
    """SIP over UDP."""

    log = Logger()

    def __init__(
        self,
        endpoint: SipEndpoint,
        receive_buffer: int = UDP_RECEIVE_BUFFER,
        bytes_per_turn: int = UDP_BYTES_PER_TURN,
    ) -> None:
        if bytes_per_turn < 1:
            raise ValueError("bytes_per_turn must be at least 1")
        self.endpoint = endpoint
        self.receive_buffer = receive_buffer
        self.bytes_per_turn = bytes_per_turn
        self._flows: dict[Any, UdpFlow] = {}

    def startProtocol(self) -> None:
        if hasattr(self.transport, "maxThroughput"):
            self.transport.maxThroughput = self.bytes_per_turn  # fair reading (above)
        sock = getattr(self.transport, "socket", None)
        if self.receive_buffer and isinstance(sock, socket.socket):
            granted = enlarge_receive_buffer(sock, self.receive_buffer)
            self.log.info(
                "SIP UDP receive buffer: {granted} bytes (asked for {asked})",
                granted=granted,
                asked=self.receive_buffer,
            )

    @property
    def local(self) -> tuple[str, int]:
        return _host_port(self.transport.getHost()) if self.transport else ("", 0)

    def send_datagram(self, data: bytes, address: tuple[str, int]) -> None:
        if self.transport is None:
            raise ConnectionError("UDP port is not listening")
        self.transport.write(data, address)

    def flow_to(self, addr: Any) -> UdpFlow:
        """The flow back to ``addr`` (host, port, ...), the same object for each datagram
        from one peer."""
        flow = self._flows.get(addr)
        if flow is None:
            if len(self._flows) >= FLOWS_KEPT:
                self._flows.clear()
            flow = self._flows[addr] = UdpFlow(self, (addr[0], addr[1]))
        return flow

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        if not datagram.strip(b"\r\n\t \x00"):
            return  # keep-alive
        flow = self.flow_to(addr)
        try:
            try:
                message = parse_datagram(datagram, self.endpoint.config.limits)
            except SipParseError as error:
                self.endpoint.parse_failed(error, flow)
                return
            self.endpoint.message_received(message, flow)
        except Exception:
            self.log.failure("error on a datagram from {peer}", peer=flow.peer)


@implementer(ISipFlow)
class SipStreamProtocol(Protocol):
    """SIP over one TCP connection; the connection is its own flow."""

    log = Logger()
    transport_name = "TCP"
    reliable = True

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint
        self.parser = SipStreamParser(endpoint.config.limits)
        self.peer: tuple[str, int] = ("", 0)
        self.local: tuple[str, int] = ("", 0)
        self.connected = False
        self._partial = PartialMessageGuard(
            endpoint.clock, endpoint.config.partial_message_timeout, self._partial_timed_out
        )

    def connectionMade(self) -> None:
        self.connected = True
        self.peer = _host_port(self.transport.getPeer())
        self.local = _host_port(self.transport.getHost())
        self.log.debug("SIP connection from {peer}", peer=self.peer)

    def dataReceived(self, data: bytes) -> None:
        self.parser.feed(data)
        while True:
            try:
                message = self.parser.next_message()
            except SipParseError as error:
                self._guarded(self.endpoint.parse_failed, error)
                if error.fatal:
                    self.log.info("closing {peer}: {detail}", peer=self.peer, detail=error.detail)
                    self.transport.loseConnection()
                    return
                continue
            except Exception:
                self.log.failure("parser error on {peer}", peer=self.peer)
                self.transport.loseConnection()
                return
            if message is None:
                self._partial.watch(self.parser.partial)
                return
            self._guarded(self.endpoint.message_received, message)

    def _partial_timed_out(self) -> None:
        self.log.info(
            "closing {peer}: a partial SIP message idle for {seconds} s",
            peer=self.peer,
            seconds=self.endpoint.config.partial_message_timeout,
        )
        self.transport.abortConnection()

    def _guarded(self, handler: Any, argument: Any) -> None:
        try:
            handler(argument, self)
        except Exception:
            self.log.failure("error handling a message from {peer}", peer=self.peer)

    def send_bytes(self, data: bytes) -> None:
        if not self.connected or self.transport is None:
            raise ConnectionError(f"connection to {self.peer} is closed")
        self.transport.write(data)

    def to_address(self, host: str, port: int) -> ISipFlow:
        return self

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.connected = False
        self._partial.cancel()
        self.log.debug("SIP connection from {peer} closed", peer=self.peer)
        try:
            self.endpoint.flow_closed(self)
        except Exception:
            self.log.failure("error closing the dialogs of {peer}", peer=self.peer)


class SipStreamFactory(Factory):
    """Builds a :class:`SipStreamProtocol` per TCP connection."""

    noisy = False  # listeners are logged once, as 'listening: ...'

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def buildProtocol(self, addr: IAddress) -> SipStreamProtocol:
        protocol = SipStreamProtocol(self.endpoint)
        protocol.factory = self
        return protocol


@implementer(IListeningPort)
@frozen
class SipListeners:
    """The UDP and TCP ports of one SIP listener (the same port number), as one listening
    port. ``udp`` is None when the stream side is not an IP port (a UNIX socket)."""

    udp: IListeningPort | None
    tcp: IListeningPort
    endpoint: SipEndpoint | None = None

    @property
    def port(self) -> int:
        return int(self.tcp.getHost().port)

    def getHost(self) -> IAddress:  # noqa: N802 (IListeningPort)
        return self.tcp.getHost()

    def startListening(self) -> None:  # noqa: N802 (IListeningPort)
        """Already listening: :class:`SipServerEndpoint` returns started ports."""

    def stop_listening(self) -> Deferred[None]:
        """Close both ports; the SIP endpoint and its dialogs are left as they are."""
        udp = maybeDeferred(self.udp.stopListening) if self.udp is not None else succeed(None)
        return udp.addCallback(lambda _: maybeDeferred(self.tcp.stopListening)).addCallback(
            lambda _: None
        )

    def stopListening(self) -> Deferred[None]:  # noqa: N802 (IListeningPort)
        """Shut the listener down: every dialog ends with BYE, both ports close, then the
        endpoint stops its timers."""
        endpoint = self.endpoint
        if endpoint is None:
            return self.stop_listening()
        endpoint.close("shutdown")
        return self.stop_listening().addCallback(lambda _: endpoint.stop())


@implementer(IStreamServerEndpoint)
class SipServerEndpoint:
    """SIP over TCP on any stream server endpoint and, when that is an IP port, over UDP on
    the same address and number (RFC 3261 18: an element listens on both). ``listen`` takes
    a :class:`SipStreamFactory`; both transports feed its SIP endpoint. With port 0 the TCP
    side picks a free number and UDP takes the same; if UDP cannot, it tries again."""

    def __init__(self, reactor: Any, tcp: IStreamServerEndpoint, *, attempts: int = 5) -> None:
        self.reactor = reactor
        self.tcp = tcp
        self.attempts = attempts

    def listen(self, factory: SipStreamFactory) -> Deferred[SipListeners]:
        return Deferred.fromCoroutine(self._listen(factory))

    async def _listen(self, factory: SipStreamFactory) -> SipListeners:
        endpoint = factory.endpoint
        for attempt in range(self.attempts):
            tcp = await self.tcp.listen(factory)
            host = tcp.getHost()
            if not isinstance(host, (IPv4Address, IPv6Address)):
                log.info("SIP on {host}: stream only (no UDP beside a non-IP port)", host=host)
                return SipListeners(None, tcp, endpoint)
            try:
                udp = self.reactor.listenUDP(
                    host.port,
                    SipDatagramProtocol(endpoint),
                    interface=host.host,
                    maxPacketSize=UDP_MAX_DATAGRAM,
                )
            except CannotListenError:
                await maybeDeferred(tcp.stopListening)
                if attempt == self.attempts - 1:
                    raise
                continue
            return SipListeners(udp, tcp, endpoint)
        raise CannotListenError("", 0, None)  # unreachable: the loop returns or raises


def listen_sip(
    reactor: Any, endpoint: SipEndpoint, port: int = 5062, interface: str = ""
) -> Deferred[SipListeners]:
    """Listen for SIP on TCP and UDP ``port`` (0: a free number, the same for both).

    ``reactor`` provides ``IReactorTCP`` and ``IReactorUDP``. Fails with
    ``CannotListenError`` if either port is taken. The ports are stopped with
    :meth:`SipListeners.stop_listening`; the endpoint is the caller's."""
    server_class = TCP6ServerEndpoint if ":" in interface else TCP4ServerEndpoint
    tcp = server_class(reactor, port, interface=interface)
    listening = SipServerEndpoint(reactor, tcp).listen(SipStreamFactory(endpoint))
    return listening.addCallback(lambda ports: SipListeners(ports.udp, ports.tcp))
