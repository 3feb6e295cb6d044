"""HTTP on the XML port: the first byte decides (ECMA-323's framing header starts with
``0x00``; an HTTP request starts with an ASCII method token, RFC 9112 3).

:class:`SniffingProtocol` waits for the first byte, builds the web site's HTTP protocol for a
letter and the XML factory's protocol for anything else, connects it to the transport and
replays what it has read; from then on it only forwards.

Composition, not a transport: it lives in the composition layer because it joins two
transports that never import each other. Clients that wait for the server to speak first
(``system_status_on_connect``) still work: with a ``clock``, a connection silent for
``handover_after`` seconds goes to the XML factory.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

log = Logger()


class SniffingProtocol(Protocol):
    """Hands one connection to the XML or the HTTP protocol after its first byte."""

    inner: Protocol | None = None

    def __init__(self, factory: SniffingFactory, address: Any) -> None:
        self.sniffer = factory
        self.address = address
        self._timer: Any = None

    def connectionMade(self) -> None:
        clock, delay = self.sniffer.clock, self.sniffer.handover_after
        if clock is not None and delay is not None:
            self._timer = clock.callLater(delay, self._hand_over, self.sniffer.xml, b"")

    def dataReceived(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.dataReceived(data)
        elif data:
            is_http = data[:1].isalpha()
            self._hand_over(self.sniffer.web if is_http else self.sniffer.xml, data)

    def _hand_over(self, factory: Factory, data: bytes) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        inner = factory.buildProtocol(self.address)
        if inner is None:
            self.transport.loseConnection()
            return
        self.inner = inner
        inner.makeConnection(self.transport)
        if data:
            inner.dataReceived(data)

    def connectionLost(self, reason: Any = None) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.inner is not None:
            self.inner.connectionLost(reason)


class SniffingFactory(Factory):
    """Builds :class:`SniffingProtocol` in front of an XML factory and an HTTP site."""

    noisy = False  # listeners are logged once, as 'listening: ...'

    def __init__(
        self, xml: Factory, web: Factory, *, clock: Any = None, handover_after: float | None = 1.0
    ) -> None:
        self.xml = xml
        self.web = web
        self.clock = clock
        self.handover_after = handover_after

    def startFactory(self) -> None:
        self.xml.doStart()
        self.web.doStart()

    def stopFactory(self) -> None:
        self.xml.doStop()
        self.web.doStop()

    def buildProtocol(self, addr: Any) -> SniffingProtocol:
        return SniffingProtocol(self, addr)


def sniffing_factory(
    xml_factory: Factory, site: Factory, *, clock: Any = None, handover_after: float | None = 1.0
) -> SniffingFactory:
    """The factory for the XML port that also serves HTTP (the web ``site``)."""
    return SniffingFactory(xml_factory, site, clock=clock, handover_after=handover_after)
