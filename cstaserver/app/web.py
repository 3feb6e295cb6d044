"""The web port's site of one XML CSTA server: the SOAP service at ``/csta`` (WSDL at
``/csta?wsdl``), the status page at ``/`` and its JSON at ``/api/status``, the Prometheus
metrics at ``/metrics`` (docs/metrics.md), the JSON API for test code at ``/api/v1``
(docs/api.md).

The site joins packages that do not know each other (``soap``, ``web``, ``api``), so it is
composed here. One site per XML CSTA server serves both its web port and the HTTP side of
its XML port, so both share one set of SOAP sessions. The SOAP service and the JSON API's
reads share one login gate (the web accounts, the server's shared login throttle); the
status JSON needs a login of a web or admin account unless ``--public-status`` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.web import resource

from cstaserver.api.auth import ApiGate
from cstaserver.api.events import live_api
from cstaserver.api.metrics import MetricsPage, metrics_for
from cstaserver.api.resource import make_api
from cstaserver.api.sources import ApiSources
from cstaserver.csta.association import Profile
from cstaserver.csta.logins import Verify, verify_inline
from cstaserver.soap.auth import BasicAuthGate, make_checker
from cstaserver.soap.channel import SoapChannels
from cstaserver.soap.dispatch import SoapDispatcher
from cstaserver.soap.events import DeliveryPolicy, make_agent
from cstaserver.soap.resource import CstaSoapResource
from cstaserver.soap.site import WebSite, make_site
from cstaserver.web.resource import LoginRequired, StatusApi, StatusPage
from cstaserver.web.status import StatusSources

__all__ = ["API_PATH", "make_web_site", "mount_api"]

#: Where the JSON API is mounted: ``/api/v1`` (beside the status page's ``/api/status``).
API_PATH = (b"api", b"v1")


def mount_api(site: WebSite, api: resource.Resource) -> None:
    """Serve ``api`` at :data:`API_PATH` on ``site``."""
    parent = site.resource
    for name in API_PATH[:-1]:
        parent = parent.getStaticEntity(name)
    parent.putChild(API_PATH[-1], api)


def _readers(gate: BasicAuthGate, api: ApiSources | None) -> Any:
    """Who may read: a web account, or an admin account when the site has the JSON API."""
    return ApiGate.sharing(gate, api.admin_checker) if api is not None else gate


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
    metrics_login: bool = True,
    api: ApiSources | None = None,
    login_throttle: Any = None,
    verify: Verify = verify_inline,
    public_status: bool = False,
) -> WebSite:
    """The site of one CSTA server (``server``: its CstaServerSettings); ``accounts()``
    gives the current web accounts, ``servers`` what the status page lists;
    ``metrics_login=False`` serves ``/metrics`` without the web accounts' login; ``api``: what
    the JSON API works on (None: no ``/api/v1``); ``login_throttle``: the server's shared
    login throttle as the web port uses it (None: a throttle of the site's own, with
    ``throttle`` options); ``verify``: how an accounts-file password is checked;
    ``public_status=True`` serves ``/api/status`` without a login (``--public-status``)."""
    max_bytes = core.limits.max_message_bytes
    channels = SoapChannels(
        core,
        Profile.for_server(server, "soap"),
        reactor,
        agent=agent if agent is not None else make_agent(reactor),
        policy=policy,
    )
    gate = BasicAuthGate(
        checker if checker is not None else make_checker(auth_mode, reactor, accounts, verify),
        reactor,
        throttle=login_throttle,
        **(throttle or {}),
    )
    soap = CstaSoapResource(SoapDispatcher(channels), gate, max_bytes=max_bytes)
    clock = api.clock if api is not None else reactor  # the status shows simulated time
    sources = StatusSources(core=core, switch=switch, servers=tuple(servers), clock=clock)
    status: resource.Resource = StatusApi(sources)
    if not public_status:  # sessions, users and addresses: only for a web or admin account
        status = LoginRequired(status, _readers(gate, api))
    site = make_site(
        soap,
        StatusPage(),
        status,
        reactor,
        max_body_bytes=max_bytes,
        channels=channels,
    )
    # -- /api/v1: the JSON API (reads: the SOAP service's login gate; actions: admin accounts)
    if api is not None:
        mount_api(site, make_api(api, gate=gate))
    # -- /metrics (Prometheus): the core's metrics, behind the SOAP service's login gate
    metrics = metrics_for(core, switch)
    metrics.count_login_failures("web", gate.throttle)
    page = MetricsPage(metrics.registry, gate=gate if metrics_login else None)
    site.resource.putChild(b"metrics", page)
    # -- /api/v1/events (WebSocket) and /api/v1/associations/{id}/trace*: the switch's
    # events and the core's wire trace (docs/api.md), behind the same login gate (an admin
    # account may read them too, as it may read the JSON API); laid over /api, whose other
    # paths (and whatever is mounted there later) stay as they are
    readers = _readers(gate, api)
    below = site.resource.getStaticEntity(b"api")
    site.resource.putChild(b"api", live_api(core, switch, readers, reactor, fallback=below))
    return site
