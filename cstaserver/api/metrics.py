"""Prometheus metrics of the running server at ``GET /metrics`` (docs/metrics.md).

The exposition format (Prometheus text, OpenMetrics when the scraper asks for it, gzip) and
the metric types come from ``prometheus_client``; each core gets a
:class:`~prometheus_client.CollectorRegistry` of its own (never the library's global one),
so several servers in one process, and the tests, do not see each other's figures.

What is counted where, so that the hot path pays as little as possible:

- requests: the core tells its observer (:class:`RequestCollector`, ``core.observer``) once
  per answered request, from one place (``CstaCore._reply``). It counts in plain
  dictionaries and a bisect into the latency buckets (about 0.5 us per request, on the
  reactor thread) and hands the figures to the library as a counter family and a histogram
  family when scraped: the library's ``Counter`` and ``Histogram`` take a lock per update
  (about 1.5 us per request for the two). A core without an observer pays one attribute
  check.
- events sent: the monitor registry keeps a tally per switch event class beside its own
  totals (``MonitorRegistry.deliveries_by_type``); it is read when scraped.
- login failures: ``FailureThrottle.on_failure`` (ECMA-354 logins, the web port's HTTP
  Basic) and ``AdminAccountsChecker.on_failure`` (admin shell) increment a counter.
- everything else (connections per transport, sessions, monitors, calls, ACD queues and
  agents, SIP transactions and dialogs) is read from the core, the switch and the SIP
  endpoints only when scraped (:class:`ServerCollector`, :class:`SipCollector`): no
  bookkeeping at all between scrapes.

:class:`MetricsPage` renders on the reactor thread: the collectors read the switch and the
core, which only the reactor thread may touch. (``prometheus_client.twisted.MetricsResource``
runs the same WSGI application in the reactor's thread pool, on the global reactor; we call
the application directly instead.) It asks for the web accounts' HTTP Basic login through an
injected gate (the one the SOAP service uses, with its per-peer failure throttle) unless the
composition layer gives it none.
"""

from __future__ import annotations

import math
import weakref
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any, Protocol
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web import resource, server

__all__ = [
    "CstaMetrics",
    "MetricsPage",
    "RequestCollector",
    "ServerCollector",
    "SipCollector",
    "metrics_for",
]

log = Logger()

#: Latency buckets (seconds): a request costs tens of microseconds in the core; an ECMA-354
#: login with a slow password hash, or a refused one, takes up to seconds.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: The transport profiles (``Profile.name``) always listed, at 0 when none is connected.
TRANSPORTS = ("xml", "tls", "tr87", "soap")

#: Who a login failure was refused to: ``csta`` the ECMA-354 application logins
#: (StartApplicationSession, on any CSTA transport), ``web`` the web port's HTTP Basic (SOAP,
#: ``/metrics``, the JSON API), ``admin`` the admin shell (telnet and ssh).
LOGIN_TRANSPORTS = ("csta", "web", "admin")

#: ECMA-269 agent states listed for every ACD group, at 0 when no agent is in them.
AGENT_STATES = ("agentNotReady", "agentReady", "agentBusy", "agentWorkingAfterCall")


def _value(x: Any) -> Any:
    return getattr(x, "value", x)


class RequestCollector(Collector):
    """The core's request observer (``csta.core.RequestObserver``): requests per service and
    outcome, and their latency per service, counted on the reactor thread and read there
    when scraped (so no lock)."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(sorted(float(b) for b in buckets))
        self._les = [floatToGoString(b) for b in (*self.bounds, math.inf)]
        self.counts: dict[tuple[str, str], int] = {}
        #: per service: the count of each bucket (the last one +Inf), then the sum
        self.latency: dict[str, list[float]] = {}

    def request_done(self, service: str, outcome: str, seconds: float) -> None:
        counts = self.counts
        key = (service, outcome)
        counts[key] = counts.get(key, 0) + 1
        row = self.latency.get(service)
        if row is None:
            row = self.latency[service] = [0.0] * (len(self.bounds) + 2)
        row[bisect_left(self.bounds, seconds)] += 1
        row[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "csta_requests",
            "CSTA requests answered, per service and outcome (positive or the error value).",
            labels=["service", "outcome"],
        )
        for (service, outcome), count in sorted(self.counts.items()):
            requests.add_metric([service, outcome], count)
        yield requests
        latency = HistogramMetricFamily(
            "csta_request_duration_seconds",
            "Time from a request's dispatch in the core to its answer's write, per service.",
            labels=["service"],
        )
        for service, row in sorted(self.latency.items()):
            cumulative = 0.0
            buckets = []
            for le, count in zip(self._les, row, strict=False):
                cumulative += count
                buckets.append((le, cumulative))
            latency.add_metric([service], buckets, row[-1])
        yield latency


class ServerCollector(Collector):
    """Gauges read from the core and the switch when scraped, and the events-sent tally."""

    def __init__(self, core: Any, switch: Any) -> None:
        self.core = core
        self.switch = switch

    def collect(self) -> Iterator[Metric]:
        yield from self._connections()
        core = self.core
        yield GaugeMetricFamily(
            "csta_application_sessions",
            "ECMA-354 application sessions, attached or waiting to be reattached.",
            value=len(core.sessions.sessions),
        )
        yield GaugeMetricFamily(
            "csta_monitors",
            "Monitors started (ECMA-269 MonitorStart), device and call monitors.",
            value=len(core.monitors),
        )
        calls = getattr(self.switch, "calls", None)  # None: a cluster's front end (no switch)
        if calls is not None:
            yield GaugeMetricFamily(
                "csta_calls", "Calls in progress in the switch.", value=len(calls)
            )
        yield from self._groups()
        events = CounterMetricFamily(
            "csta_events_sent",
            "CSTA events handed to monitors' clients, per ECMA-269 event (without 'Event').",
            labels=["event"],
        )
        tally = dict(getattr(core.monitors, "deliveries_by_type", {}))
        for kind, count in sorted(tally.items(), key=lambda item: item[0].__name__):
            events.add_metric([kind.__name__], count)
        yield events

    def _connections(self) -> Iterator[Metric]:
        counts = Tally(a.profile.name for a in list(self.core.associations))
        family = GaugeMetricFamily(
            "csta_connections",
            "Client associations of the core per transport profile (xml, tls, tr87, soap).",
            labels=["transport"],
        )
        for name in sorted(set(TRANSPORTS) | set(counts)):
            family.add_metric([name], counts.get(name, 0))
        yield family

    def _groups(self) -> Iterator[Metric]:
        acd_groups = getattr(getattr(self.switch, "groups", None), "acd", {})
        queued = GaugeMetricFamily(
            "csta_group_queued_calls", "Calls waiting in an ACD group's queue.", labels=["group"]
        )
        agents = GaugeMetricFamily(
            "csta_agents",
            "ACD agents logged on, per group and ECMA-269 agent state.",
            labels=["group", "state"],
        )
        for number, acd in sorted(acd_groups.items()):
            queued.add_metric([number], len(acd.queue))
            states = Tally(_value(agent.state) for agent in list(acd.agents.values()))
            for state in sorted(set(AGENT_STATES) | set(states)):
                agents.add_metric([number, state], states.get(state, 0))
        yield queued
        yield agents


def _stat_name(key: str) -> str:
    return key.replace(" ", "_")


class SipCollector(Collector):
    """The transaction and dialog tables and the counters of the SIP endpoints (TR/87)."""

    def __init__(self) -> None:
        self._endpoints: list[tuple[str, weakref.ref[Any]]] = []

    def watch(self, endpoint: Any, listener: str) -> None:
        """Read ``endpoint`` (a ``SipEndpoint``) while it lives, labelled ``listener``."""
        self._endpoints.append((listener, weakref.ref(endpoint)))

    def _live(self) -> list[tuple[str, Any]]:
        live = [(name, ref()) for name, ref in self._endpoints]
        self._endpoints = [(name, weakref.ref(e)) for name, e in live if e is not None]
        return [(name, e) for name, e in live if e is not None]

    def collect(self) -> Iterator[Metric]:
        transactions = GaugeMetricFamily(
            "csta_sip_transactions",
            "SIP transactions in progress (RFC 3261 17), server and client.",
            labels=["listener", "kind"],
        )
        dialogs = GaugeMetricFamily(
            "csta_sip_dialogs", "SIP dialogs (TR/87 associations).", labels=["listener"]
        )
        stats = CounterMetricFamily(
            "csta_sip_stats",
            "The SIP endpoint's own counters: retransmissions, request timeouts, parse "
            "errors, dialogs created and ended, ...",
            labels=["listener", "stat"],
        )
        for name, endpoint in self._live():
            table = endpoint.transactions
            transactions.add_metric([name, "server"], table.server_count)
            transactions.add_metric([name, "client"], len(table.client_transactions))
            dialogs.add_metric([name], len(endpoint.dialogs))
            for key, count in sorted(dict(endpoint.stats).items()):
                stats.add_metric([name, _stat_name(key)], count)
        yield transactions
        yield dialogs
        yield stats


class CstaMetrics:
    """The metrics of one core (one running server): its registry and the core's request
    observer (:attr:`requests`)."""

    def __init__(self, core: Any, switch: Any = None, *, process: bool = True) -> None:
        """``process``: also the library's process, platform and garbage-collector metrics
        (``process_*``, ``python_*``)."""
        # auto_describe: the collectors' names are known, so ?name[]= can select them
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        self._login_failures = Counter(
            "csta_login_failures",
            "Failed logins, per kind: csta (ECMA-354), web (HTTP Basic), admin (shell).",
            ["transport"],
            registry=self.registry,
        )
        for name in LOGIN_TRANSPORTS:
            self._login_failures.labels(name)  # listed at 0 from the start
        self.sip = SipCollector()
        self.registry.register(ServerCollector(core, switch if switch is not None else core.switch))
        self.registry.register(self.sip)
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        throttle = getattr(getattr(core.sessions, "authenticator", None), "throttle", None)
        if throttle is not None:
            self.count_login_failures("csta", throttle)

    # -- wiring -------------------------------------------------------------------------
    def count_login_failures(self, transport: str, source: Any) -> None:
        """Count the failures ``source`` records (anything with an ``on_failure`` slot:
        ``FailureThrottle``, ``AdminAccountsChecker``) as ``transport``."""
        source.on_failure = self._login_failures.labels(transport).inc

    def watch_sip(self, endpoint: Any, listener: str = "tr87") -> None:
        """Include a SIP endpoint's tables and counters, labelled ``listener``."""
        self.sip.watch(endpoint, listener)


_BY_CORE: weakref.WeakKeyDictionary[Any, CstaMetrics] = weakref.WeakKeyDictionary()


def metrics_for(core: Any, switch: Any = None) -> CstaMetrics:
    """The metrics of ``core``, made on first use, their request counter made its observer
    (every web site of the server shows the same figures)."""
    metrics = _BY_CORE.get(core)
    if metrics is None:
        metrics = _BY_CORE[core] = CstaMetrics(core, switch)
        if core.observer is None:
            core.observer = metrics.requests
        else:
            log.warn("the core already has a request observer: requests are not counted")
    return metrics


class LoginGate(Protocol):
    """What :class:`MetricsPage` needs of a login gate (``BasicAuthGate``): ``login`` returns
    the user name or raises an exception whose ``status`` is 401 or 429."""

    async def login(self, header: bytes | None, peer: str) -> str: ...


def _refusal(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    return status if status in (401, 429) else None


class MetricsPage(resource.Resource):
    """``GET /metrics``: the registry in the format the scraper asks for (``Accept``), gzip
    when it takes it, ``?name[]=`` to select metrics; behind ``gate`` when there is one."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry, *, gate: LoginGate | None = None) -> None:
        super().__init__()
        self.gate = gate
        self._app = make_wsgi_app(registry)

    def render_GET(self, request: server.Request) -> Any:  # noqa: N802 (Twisted hook)
        if self.gate is None:
            return self._exposition(request)
        Deferred.fromCoroutine(self._after_login(request))
        return server.NOT_DONE_YET

    async def _after_login(self, request: server.Request) -> None:
        gone: list[bool] = []
        request.notifyFinish().addBoth(lambda _: gone.append(True))
        assert self.gate is not None
        address = request.getClientAddress()
        try:
            await self.gate.login(
                request.getHeader(b"authorization"), str(getattr(address, "host", address))
            )
            body = None
        except Exception as exc:
            status = _refusal(exc)
            if status is None:
                log.failure("metrics login failed")
                status = 500
            body = self._refused(request, status)
        if gone:
            return
        if body is None:
            body = self._exposition(request)
        request.write(body)
        request.finish()

    def _refused(self, request: server.Request, status: int) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        if status == 401:
            realm = getattr(self.gate, "realm", "cstaserver")
            request.setHeader(
                b"WWW-Authenticate", f'Basic realm="{realm}", charset="UTF-8"'.encode()
            )
            return b"authentication required\n"
        if status == 429:
            window = getattr(getattr(self.gate, "throttle", None), "window", 60)
            request.setHeader(b"Retry-After", str(int(window)).encode())
            return b"too many failed logins; try again later\n"
        return b"metrics unavailable\n"

    def _exposition(self, request: server.Request) -> bytes:
        """The library's WSGI application, called here on the reactor thread."""
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/metrics",
            "QUERY_STRING": urlsplit(request.uri).query.decode("latin-1"),
            "HTTP_ACCEPT": _header(request, b"accept"),
            "HTTP_ACCEPT_ENCODING": _header(request, b"accept-encoding"),
        }
        answer: list[Any] = []

        def start_response(status: str, headers: Iterable[tuple[str, str]]) -> None:
            answer.extend((status, list(headers)))

        try:
            body = b"".join(self._app(environ, start_response))
        except Exception:
            log.failure("metrics exposition failed")
            request.setResponseCode(500)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return b"metrics unavailable\n"
        status, headers = answer
        request.setResponseCode(int(status.split()[0]))
        for name, value in headers:
            request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"Cache-Control", b"no-store")
        return body


def _header(request: server.Request, name: bytes) -> str:
    value = request.getHeader(name)
    return value.decode("latin-1") if value is not None else ""
