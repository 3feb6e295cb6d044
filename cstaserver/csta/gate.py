"""The connection gate of every stream listener: per-address connection limit and first
message time-out (docs/limits.md), so that idle connections from one host cannot fill the
association limit and lock every other client out.

- ``Limits.max_connections_per_address``: TCP connections one IP address may have open to
  the listeners of every CSTA server together (XML, TLS, the web port, SIP over TCP). One
  more is refused at once with the listener's refusal (the XML port: ``CSTAErrorCode``
  ``resourceBusy``; the web port: HTTP 503 with Retry-After; TLS and SIP: closed).
- ``Limits.first_message_timeout``: a connection that has not sent a byte this many seconds
  after it opened is closed (a :class:`~cstaserver.csta.grace.GraceTimer`, so bytes waiting
  in the socket after a pause still count).

:class:`ConnectionGate` counts (one per core, shared by every listener; it reads the limits
in force each time, so ``csta_limits -c`` applies to the next connection);
:class:`GatedFactory` wraps a listener's factory (Twisted's ``WrappingFactory``, so TLS and
the XML/HTTP sniffer stay inside it). Connections without an IP address (UNIX sockets) are
not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from cstaserver.csta.grace import GraceTimer

log = Logger()


class ConnectionGate:
    """Open stream connections per IP address, against the limits in force."""

    def __init__(self, limits: Callable[[], Any]) -> None:
        self._limits = limits
        self.open: dict[str, int] = {}
        self.refused = 0

    @property
    def limits(self) -> Any:
        return self._limits()

    def admit(self, host: str | None) -> bool:
        """Count a new connection from ``host``; False (not counted) over the limit."""
        if not host:
            return True
        limit = getattr(self.limits, "max_connections_per_address", None)
        count = self.open.get(host, 0)
        if limit is not None and count >= limit:
            self.refused += 1
            log.warn(
                "connection from {host} refused: it has {count} open (the limit)",
                host=host,
                count=count,
            )
            return False
        self.open[host] = count + 1
        return True

    def release(self, host: str | None) -> None:
        if not host:
            return
        left = self.open.get(host, 0) - 1
        if left > 0:
            self.open[host] = left
        else:
            self.open.pop(host, None)


class _Refused(protocol.Protocol):
    """Writes the listener's refusal (if any) and closes."""

    def __init__(self, refusal: bytes) -> None:
        self.refusal = refusal

    def connectionMade(self) -> None:
        if self.refusal:
            self.transport.write(self.refusal)
        self.transport.loseConnection()


class GatedProtocol(ProtocolWrapper):
    """One admitted connection: released when it ends; closed if it stays silent."""

    factory: GatedFactory
    host: str | None = None

    def makeConnection(self, transport: Any) -> None:
        seconds = getattr(self.factory.gate.limits, "first_message_timeout", None)
        if seconds:
            self._silence = GraceTimer(self.factory.clock, self._silent)
            self._silence.start(seconds)
        super().makeConnection(transport)

    _silence: GraceTimer | None = None

    def dataReceived(self, data: bytes) -> None:
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        super().dataReceived(data)

    def _silent(self) -> None:
        self._silence = None
        log.info(
            "closing {peer}: nothing received within the first-message time-out",
            peer=self.host,
        )
        self.transport.abortConnection()

    def connectionLost(self, reason: Any) -> None:
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        self.factory.gate.release(self.host)
        super().connectionLost(reason)


class GatedFactory(WrappingFactory):
    """A listener's factory behind the :class:`ConnectionGate` (see the module docstring).
    Other attributes are the wrapped factory's (the SIP listener reads its ``endpoint``)."""

    protocol = GatedProtocol
    noisy = False

    def __init__(
        self, wrapped: Any, gate: ConnectionGate, clock: Any, *, refusal: bytes = b""
    ) -> None:
        super().__init__(wrapped)
        self.gate = gate
        self.clock = clock
        self.refusal = refusal

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "wrappedFactory":
            raise AttributeError(name)
        return getattr(self.wrappedFactory, name)

    def buildProtocol(self, addr: Any) -> Any:
        host = getattr(addr, "host", None)
        if not self.gate.admit(host):
            return _Refused(self.refusal)
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            self.gate.release(host)
            return None
        built = self.protocol(self, wrapped)
        built.host = host
        return built
