"""Where a listener listens, and the listener as a Twisted service.

An :class:`Address` is a Twisted endpoint description (``tcp:port=8882:interface=127.0.0.1``)
with the short form used in messages (``127.0.0.1:8882``). Ports from the exchange data become
``tcp``/``tcp6`` descriptions; the ``--*-endpoint`` options give any description
:func:`~twisted.internet.endpoints.serverFromString` understands.

:class:`Listener` is Twisted's own :class:`StreamServerEndpointService` with three additions:
it logs ``listening: <name> on <host>:<port>`` with the port really bound (``0`` asks for a
free one); it keeps that port (:attr:`Listener.port`) for ``csta -p`` and for a reconfiguration
that must keep the same number; a port that cannot be bound raises :class:`CannotListen` with
one line naming the listener (``cannot listen: xml on 127.0.0.1:8882: Address already in
use``), which start-up turns into its exit line and ``csta -i`` into its error. Binding
happens in ``privilegedStartService`` (before twistd drops privileges), as Twisted does it.
"""

from __future__ import annotations

import os
from typing import Any

import attrs
from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import quoteStringArgument, serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IStreamServerEndpoint
from twisted.logger import Logger

log = Logger()


class CannotListen(Exception):
    """A listener could not be started; ``str(error)`` is the one line to show."""


def format_address(host: str, port: int) -> str:
    """``127.0.0.1:8882``, ``[::]:8882``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@attrs.frozen
class Address:
    """An endpoint description and how messages name it."""

    description: str
    where: str
    interface: str | None = None  # set for a TCP address made from a port number

    @classmethod
    def tcp(cls, port: int, interface: str) -> Address:
        kind = "tcp6" if ":" in interface else "tcp"
        description = f"{kind}:port={port}:interface={quoteStringArgument(interface)}"
        return cls(description, format_address(interface, port), interface)

    @classmethod
    def described(cls, description: str) -> Address:
        return cls(description, description)

    def endpoint(self, reactor: Any) -> IStreamServerEndpoint:
        """The server endpoint; :class:`CannotListen` for a description Twisted refuses."""
        try:
            return serverFromString(reactor, self.description)
        except (ValueError, KeyError, TypeError) as error:
            raise CannotListen(f"bad endpoint description {self.description!r}: {error}") from None

    def pinned(self, port: IListeningPort | None) -> Address:
        """This address on the port number really bound (a ``0`` resolved), so that a
        listener started again for the same address gets the same number."""
        if port is None or self.interface is None:
            return self
        host = port.getHost()
        if not isinstance(host, (IPv4Address, IPv6Address)):
            return self
        return Address.tcp(host.port, self.interface)


def _reason(error: BaseException) -> str:
    reason: Any = getattr(error, "socketError", None) or error
    return getattr(reason, "strerror", None) or str(reason)


class Listener(StreamServerEndpointService):
    """One listening port of the server (see the module docstring)."""

    def __init__(
        self,
        name: str,
        address: Address,
        endpoint: IStreamServerEndpoint,
        factory: Any,
        *,
        detail: str = "",
    ) -> None:
        super().__init__(endpoint, factory)
        self._raiseSynchronously = True  # a bind error raises from privilegedStartService
        # ``label``, not the service ``name``: a replacement starts beside the listener it
        # replaces under the same parent, and a MultiService's names must be unique.
        self.label = name
        self.address = address
        self.detail = detail  # e.g. " (udp, tcp)" after the address
        self.port: IListeningPort | None = None

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except (CannotListenError, OSError) as error:
            raise CannotListen(
                f"cannot listen: {self.label} on {self.address.where}: {_reason(error)}"
            ) from None
        assert self._waitingForPort is not None
        self._waitingForPort.addCallback(self._listening)

    def _listening(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        host = port.getHost()
        address = getattr(host, "host", None)
        number = getattr(host, "port", None)
        if address is not None and number is not None:
            shown = format_address(address, number)
        else:  # a UNIX socket: its path
            name = getattr(host, "name", None)
            shown = os.fsdecode(name) if isinstance(name, (str, bytes)) else str(host)
        log.info(
            "listening: {name} on {address}{detail}",
            name=self.label,
            address=shown,
            detail=self.detail,
            host=address,
            port=number,
        )
        return port

    @property
    def bound_port(self) -> int | None:
        """The TCP/UDP port number listened on, or None."""
        if self.port is None:
            return None
        return getattr(self.port.getHost(), "port", None)

    def stopService(self) -> Deferred[None] | None:
        waiting = self._waitingForPort
        if self.port is None and (waiting is None or waiting.called):  # never bound
            Service.stopService(self)
            return None
        self.port = None
        return super().stopService()
