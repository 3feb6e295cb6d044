"""The XML port listeners (PROTOCOLS.md 1): one per XML CSTA server of the exchange data
(``csta -i --type xml``), on its port or the ``--xml-port`` override; logged as
``listening: xml on host:port``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cstaserver.config.model import ServerType
from cstaserver.csta.association import Profile
from cstaserver.xmlproto.protocol import CstaXmlFactory


def xml_profile(server: Any, name: str = "xml") -> Profile:
    return Profile(
        name=name,
        auth_mode=server.authentication,
        server_id=f"LIM {server.lim} {server.server_type.value}",
    )


def xml_factory(context: Any, server: Any, name: str = "xml") -> CstaXmlFactory:
    return CstaXmlFactory(
        context.components["csta"],
        xml_profile(server, name),
        context.reactor,
        system_status_on_connect=server.system_status_on_connect,
    )


def build_xml_listeners(context: Any) -> Iterator[Any]:
    for server in context.servers(ServerType.XML):
        yield context.tcp_listener("xml", server.port, xml_factory(context, server))
