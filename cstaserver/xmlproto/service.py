"""The XML port listeners (PROTOCOLS.md 1): one per XML CSTA server of the exchange data
(``csta -i --type xml``), on its port or the ``--xml-port`` override; logged as
``listening: xml on host:port``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted.logger import Logger

from cstaserver.config.model import ServerType
from cstaserver.csta.association import Profile
from cstaserver.xmlproto.protocol import CstaXmlFactory

log = Logger()


def xml_factory(context: Any, server: Any, name: str = "xml") -> CstaXmlFactory:
    return CstaXmlFactory(
        context.components["csta"],
        Profile.for_server(server, name),
        context.reactor,
        system_status_on_connect=server.system_status_on_connect,
    )


def build_xml_listeners(context: Any) -> Iterator[Any]:
    for server in context.servers(ServerType.XML):
        yield context.tcp_listener("xml", server.port, xml_factory(context, server))


def build_tls_listeners(context: Any) -> Iterator[Any]:
    """CSTA XML over TLS on each XML server's ``tls_port`` (``--tls-port`` overrides). No
    valid certificate: the TLS listener is not started, the plain ones are, and the reason
    is logged and kept in ``context.components["tls_status"]`` for ``csta -p``."""
    from twisted.internet.endpoints import SSL4ServerEndpoint

    from cstaserver.certificates import CertificateError, CertificateStore
    from cstaserver.tlscontext import ReloadingServerTLS

    status: dict[int, str] = context.components.setdefault("tls_status", {})
    store = CertificateStore(context.data_directory.path)
    for server in context.servers(ServerType.XML):
        if server.tls_port is None:
            continue
        try:
            tls = ReloadingServerTLS(store)
        except CertificateError as exc:
            status[server.lim] = f"not started: {exc}"
            log.warn("tls on LIM {lim} not started: {reason}", lim=server.lim, reason=str(exc))
            continue
        status[server.lim] = f"certificate {tls.fingerprint}"
        interface = context.settings.interface
        endpoint = SSL4ServerEndpoint(context.reactor, server.tls_port, tls, interface=interface)
        yield context.endpoint_listener(
            "tls", endpoint, xml_factory(context, server, "tls"), interface, server.tls_port
        )
