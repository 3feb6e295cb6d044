"""The web port as Twisted services (INTERFACE.md 3: SOAP at ``/csta``, WSDL at
``/csta?wsdl``, status page at ``/``): one site per XML CSTA server with a ``web_port``
(``csta -i --web-port``; ``--web-port`` overrides it for a run), logged as
``listening: web on host:port``.

:func:`make_web_site` composes one site from its parts (tests use it directly);
:func:`web_site` makes the site of a CSTA server once per run and keeps it in
``context.components``, so the web port and the HTTP side of the XML port (see
:mod:`cstaserver.soap.sniff`) share one set of SOAP sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from twisted.application.service import Service

from cstaserver.config.model import ServerType
from cstaserver.csta.association import Profile
from cstaserver.soap.auth import BasicAuthGate, make_checker
from cstaserver.soap.channel import SoapChannels
from cstaserver.soap.dispatch import SoapDispatcher
from cstaserver.soap.events import DeliveryPolicy, make_agent
from cstaserver.soap.resource import CstaSoapResource
from cstaserver.soap.site import WebSite, make_site
from cstaserver.web.resource import StatusApi, StatusPage
from cstaserver.web.status import StatusSources

__all__ = ["make_web_site", "web_site", "build_web_listeners", "WebChannels"]


def make_web_site(
    core: Any,
    switch: Any,
    reactor: Any,
    server: Any,
    *,
    accounts: Callable[[], Sequence[Any]],
    servers: Sequence[Any] = (),
    auth_mode: str = "file",
    checker: Any = None,
    throttle: dict[str, Any] | None = None,
    policy: DeliveryPolicy | None = None,
    agent: Any = None,
) -> WebSite:
    """The site of one CSTA server: SOAP endpoint, status page and API."""
    max_bytes = core.limits.max_message_bytes
    channels = SoapChannels(
        core,
        Profile.for_server(server, "soap"),
        reactor,
        agent=agent if agent is not None else make_agent(reactor),
        policy=policy,
    )
    gate = BasicAuthGate(
        checker if checker is not None else make_checker(auth_mode, reactor, accounts),
        reactor,
        **(throttle or {}),
    )
    soap = CstaSoapResource(SoapDispatcher(channels), gate, max_bytes=max_bytes)
    sources = StatusSources(core=core, switch=switch, servers=tuple(servers), clock=reactor)
    site = make_site(soap, StatusPage(), StatusApi(sources), reactor, max_body_bytes=max_bytes)
    site.channels = channels
    return site


def web_site(context: Any, server: Any) -> WebSite:
    """The site of ``server`` for this run (made once, kept in ``context.components``)."""
    sites: dict[int, WebSite] = context.components.setdefault("web", {})
    site = sites.get(server.lim)
    if site is None:
        core = context.components["csta"]
        site = sites[server.lim] = make_web_site(
            core,
            context.switch,
            context.reactor,
            server,
            accounts=lambda: getattr(core, "exchange", context.exchange).web_accounts,
            servers=context.csta_servers,
            auth_mode=getattr(context.settings, "web_auth", "file"),
        )
    return site


class WebChannels(Service):
    """Ends the SOAP sessions' associations when the server stops."""

    def __init__(self, channels: SoapChannels) -> None:
        self.channels = channels

    def stopService(self) -> None:
        self.channels.close_all()
        return super().stopService()


def build_web_listeners(context: Any) -> Iterator[Any]:
    """Service builder: a ``web`` listener per XML CSTA server with a web port."""
    for server in context.servers(ServerType.XML):
        if server.web_port is None:
            continue
        site = web_site(context, server)
        yield WebChannels(site.channels)
        yield context.tcp_listener("web", server.web_port, site)
