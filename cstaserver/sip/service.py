"""The TR/87 listeners (PROTOCOLS.md 5): one SIP endpoint, UDP and TCP on the same port, per
TR/87 CSTA server of the exchange data (``csta -i --type tr87``, default 5062), or the
``--sip-port`` override. Stopping it ends every dialog with BYE."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from twisted.internet import defer

from cstaserver.config.model import ServerType
from cstaserver.sip.endpoint import SipConfig, SipEndpoint
from cstaserver.sip.tr87 import Tr87Application
from cstaserver.sip.transport import listen_sip

WILDCARDS = ("", "0.0.0.0", "::")


@attrs.define
class SipPort:
    """The UDP+TCP listeners as one listening port for the ListenerService."""

    endpoint: SipEndpoint
    listeners: Any  # SipListeners

    def getHost(self) -> Any:  # noqa: N802 (IListeningPort)
        return self.listeners.tcp.getHost()

    def stopListening(self) -> defer.Deferred:  # noqa: N802 (IListeningPort)
        self.endpoint.close("shutdown")
        stopped = self.listeners.stop_listening()
        return stopped.addCallback(lambda _: self.endpoint.stop())


def sip_endpoint(context: Any, server: Any) -> SipEndpoint:
    interface = context.settings.interface
    application = Tr87Application(
        context.components["csta"],
        context.reactor,
        server=server,
    )
    config = SipConfig(contact_host=None if interface not in WILDCARDS else "localhost")
    return SipEndpoint(application, context.reactor, config)


def build_sip_listeners(context: Any) -> Iterator[Any]:
    from cstaserver.service import ListenerService

    interface = context.settings.interface
    for server in context.servers(ServerType.TR87):
        endpoint = sip_endpoint(context, server)

        def listen(endpoint: SipEndpoint = endpoint, port: int = server.port) -> defer.Deferred:
            listening = listen_sip(context.reactor, endpoint, port=port, interface=interface)
            return listening.addCallback(lambda listeners: SipPort(endpoint, listeners))

        yield ListenerService("sip", interface, server.port, listen, detail=" (udp, tcp)")
