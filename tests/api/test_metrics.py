"""``GET /metrics`` (Prometheus): scraped through the real web site, in memory, after what an
operator would look for - a MakeCall, monitors, an error, a session, a queued call, agents
logged on, failed logins - and the core without an observer."""

from __future__ import annotations

import gzip
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.api.metrics import CstaMetrics, RequestCollector, metrics_for
from cstaserver.app.web import make_web_site
from cstaserver.csta import core as core_module
from cstaserver.csta.association import Profile
from cstaserver.csta.core import CstaCore
from cstaserver.csta.namespaces import ED3
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.states import RequestedAgentState
from cstaserver.pbx.switch import Switch
from cstaserver.sip.endpoint import SipEndpoint
from cstaserver.testing import FakeTransport
from tests.soap.soap_support import MemoryWeb, basic, demo_exchange, soap11
from tests.xmlproto.xml_client import Req

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by (name, labels); parsing it is the format check."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def lines_of(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


class MetricsTests(unittest.TestCase):
    def setUp(self) -> None:
        self.web = MemoryWeb()
        self.addCleanup(self.web.stop)

    def xml_client(self) -> FakeTransport:
        client = FakeTransport()
        client.associate(self.web.core, Profile(name="xml"))
        return client

    async def scrape(self, auth: bytes | None = None, **headers: bytes) -> tuple[int, Any, bytes]:
        """GET /metrics as the demo web user (``auth``: another Authorization, b"" none)."""
        sent = {b"Authorization": basic() if auth is None else auth}
        if not sent[b"Authorization"]:
            del sent[b"Authorization"]
        sent.update({name.replace("_", "-").encode(): v for name, v in headers.items()})
        deferred = self.web.request(b"GET", self.web.base + "/metrics", headers=sent)
        self.web.reactor.advance(1)  # past a refused login's delay
        return await deferred

    async def metrics_text(self) -> str:
        status, headers, body = await self.scrape()
        self.assertEqual(status, 200)
        self.assertTrue(headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain"))
        return body.decode("utf-8")

    async def test_what_an_operator_checks(self) -> None:
        web = self.web
        client = self.xml_client()
        assert b"MonitorStartResponse" in client.request(Req.monitor_start("1000"))
        assert b"MakeCallResponse" in client.request(Req.make_call("1000", "1001"))
        error = client.request(Req.make_call("7777", "1001"))
        assert b"invalidCallingDevice" in error
        assert b"PosResponse" in client.request(Req.start_session())
        # a second client: an ECMA-354 login with a wrong password (answered after its delay)
        intruder = self.xml_client()
        intruder.receive(Req.start_session(password="wrong"))
        web.clock.advance(5)
        assert b"NegResponse" in intruder.written[-1].data
        # a SOAP client's monitor, a call queued at the application-routed group 2000, and
        # agents 5001 and 5002 logged on there (5002 made ready)
        status, _headers, body = await web.post(
            soap11(
                f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>1002'
                "</deviceObject></monitorObject></MonitorStart>"
            )
        )
        self.assertEqual(status, 200, body)
        switch = web.switch
        switch.set_agent_state("1003", RequestedAgentState.LOGGED_ON, "5001", None, "2000")
        switch.set_agent_state("1004", RequestedAgentState.LOGGED_ON, "5002", None, "2000")
        switch.set_agent_state("1004", RequestedAgentState.READY, "5002", None, None)
        Simulator(switch).call("1005", "2000")
        # a web login with a wrong password
        refused, _headers, _body = await self.scrape(auth=basic(password="wrong"))
        self.assertEqual(refused, 401)

        text = await self.metrics_text()
        found = samples(text)
        requests = "csta_requests_total"
        self.assertEqual(value(found, requests, service="MakeCall", outcome="positive"), 1.0)
        self.assertEqual(
            value(found, requests, service="MakeCall", outcome="invalidCallingDevice"), 1.0
        )
        self.assertEqual(value(found, requests, service="MonitorStart", outcome="positive"), 2.0)
        self.assertEqual(
            value(found, requests, service="StartApplicationSession", outcome="positive"), 1.0
        )
        self.assertEqual(
            value(
                found,
                requests,
                service="StartApplicationSession",
                outcome="invalidApplicationInfo",
            ),
            1.0,
        )
        self.assertIn(
            'csta_requests_total{outcome="positive",service="MakeCall"} 1.0', text.splitlines()
        )
        self.assertEqual(
            value(found, "csta_request_duration_seconds_count", service="MakeCall"), 2.0
        )
        self.assertEqual(
            value(found, "csta_request_duration_seconds_bucket", service="MakeCall", le="+Inf"),
            2.0,
        )
        self.assertEqual(value(found, "csta_connections", transport="xml"), 2.0)
        self.assertEqual(value(found, "csta_connections", transport="soap"), 1.0)
        self.assertEqual(value(found, "csta_connections", transport="tr87"), 0.0)
        self.assertEqual(value(found, "csta_application_sessions"), 1.0)
        self.assertEqual(value(found, "csta_monitors"), 2.0)
        self.assertEqual(value(found, "csta_calls"), 2.0)  # 1000 -> 1001, 1005 -> 2000
        self.assertEqual(value(found, "csta_group_queued_calls", group="2000"), 1.0)
        self.assertEqual(value(found, "csta_group_queued_calls", group="2001"), 0.0)
        self.assertEqual(value(found, "csta_agents", group="2000", state="agentNotReady"), 1.0)
        self.assertEqual(value(found, "csta_agents", group="2000", state="agentReady"), 1.0)
        self.assertEqual(value(found, "csta_agents", group="2001", state="agentReady"), 0.0)
        # the monitor on 1000 saw its MakeCall: ServiceInitiated, Originated, Delivered
        for event in ("ServiceInitiated", "Originated", "Delivered"):
            self.assertEqual(value(found, "csta_events_sent_total", event=event), 1.0, event)
        self.assertEqual(value(found, "csta_login_failures_total", transport="csta"), 1.0)
        self.assertEqual(value(found, "csta_login_failures_total", transport="web"), 1.0)
        self.assertEqual(value(found, "csta_login_failures_total", transport="admin"), 0.0)
        self.assertTrue(lines_of(text, "process_"))  # the library's process metrics too

    async def test_unknown_roots_are_one_label(self) -> None:
        client = self.xml_client()
        client.request(f'<NoSuchService xmlns="{ED3}"/>')
        client.request(f'<AnotherMadeUpName xmlns="{ED3}"/>')
        client.request(b"<not xml")
        found = samples(await self.metrics_text())
        self.assertEqual(
            value(found, "csta_requests_total", service="unknown", outcome="serviceNotSupported"),
            2.0,
        )
        services = {dict(labels).get("service") for name, labels in found if "requests" in name}
        self.assertNotIn("NoSuchService", services)

    async def test_login_required_by_default(self) -> None:
        status, headers, _body = await self.scrape(auth=b"")
        self.assertEqual(status, 401)
        self.assertIn(b"Basic", headers.getRawHeaders(b"www-authenticate")[0])

    async def test_a_throttled_scraper_is_told_when_to_come_back(self) -> None:
        for _ in range(5):
            status, _headers, _body = await self.scrape(auth=basic(password="wrong"))
            self.assertEqual(status, 401)
        status, headers, _body = await self.scrape()
        self.assertEqual(status, 429)
        self.assertTrue(headers.getRawHeaders(b"retry-after"))

    async def test_without_login_when_the_site_says_so(self) -> None:
        web = self.web
        web.site = make_web_site(
            web.core,
            web.switch,
            web.reactor,
            web.server,
            accounts=lambda: web.exchange.web_accounts,
            metrics_login=False,
        )
        status, _headers, body = await web.request(b"GET", web.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"csta_connections", body)

    async def test_openmetrics_gzip_and_selection(self) -> None:
        status, headers, body = await self.scrape(
            accept=b"application/openmetrics-text; version=1.0.0",
            accept_encoding=b"gzip",
        )
        self.assertEqual(status, 200)
        self.assertTrue(
            headers.getRawHeaders(b"content-type")[0].startswith(b"application/openmetrics-text")
        )
        self.assertEqual(headers.getRawHeaders(b"content-encoding"), [b"gzip"])
        self.assertTrue(gzip.decompress(body).rstrip().endswith(b"# EOF"))
        deferred = self.web.request(
            b"GET",
            self.web.base + "/metrics?name[]=csta_calls",
            headers={b"Authorization": basic()},
        )
        _status, _headers, body = await deferred
        self.assertEqual(
            [line for line in body.decode().splitlines() if not line.startswith("#")],
            ["csta_calls 0.0"],
        )

    async def test_one_registry_per_core(self) -> None:
        other = MemoryWeb()
        self.addCleanup(other.stop)
        self.xml_client().request(Req.make_call("1000", "1001"))
        self.assertIs(metrics_for(self.web.core).requests, self.web.core.observer)
        self.assertIsNot(metrics_for(other.core).registry, metrics_for(self.web.core).registry)
        deferred = other.request(
            b"GET", other.base + "/metrics", headers={b"Authorization": basic()}
        )
        _status, _headers, body = await deferred
        self.assertNotIn(b'service="MakeCall"', body)


class SipCollectorTests(unittest.TestCase):
    def test_endpoint_tables_and_counters(self) -> None:
        clock = Clock()
        switch = Switch(demo_exchange().plan, clock)
        core = CstaCore(switch, clock)
        metrics = CstaMetrics(core, process=False)
        endpoint = SipEndpoint(application=None, clock=clock)  # type: ignore[arg-type]
        endpoint.stats["retransmissions"] += 3
        metrics.watch_sip(endpoint, "tr87-2")
        found = samples(generate_latest(metrics.registry).decode())
        self.assertEqual(
            value(found, "csta_sip_transactions", listener="tr87-2", kind="server"), 0.0
        )
        self.assertEqual(value(found, "csta_sip_dialogs", listener="tr87-2"), 0.0)
        self.assertEqual(
            value(found, "csta_sip_stats_total", listener="tr87-2", stat="retransmissions"), 3.0
        )
        del endpoint  # a stopped endpoint drops out
        found = samples(generate_latest(metrics.registry).decode())
        self.assertNotIn(("csta_sip_dialogs", frozenset({("listener", "tr87-2")})), found)


class NoObserverTests(unittest.TestCase):
    def test_the_core_works_without_an_observer(self) -> None:
        clock = Clock()
        core = CstaCore(Switch(demo_exchange().plan, clock), clock)
        self.assertIsNone(core.observer)
        client = FakeTransport()
        client.associate(core, Profile(name="xml"))
        self.assertIn(b"MonitorStartResponse", client.request(Req.monitor_start("1000")))
        self.assertIn(b"MakeCallResponse", client.request(Req.make_call("1000", "1001")))
        self.assertIn(b"invalidCallingDevice", client.request(Req.make_call("7777", "1001")))
        self.assertIn(b"CSTAErrorCode", client.request(f'<Nope xmlns="{ED3}"/>'))
        self.assertEqual(core.monitors.deliveries, 3)

    def test_no_metrics_work_without_an_observer(self) -> None:
        """Without an observer the core never reads the time nor builds a label."""

        def forbidden(*_args: Any) -> Any:
            raise AssertionError("metrics work without an observer")

        clock = Clock()
        core = CstaCore(Switch(demo_exchange().plan, clock), clock)
        client = FakeTransport()
        client.associate(core, Profile(name="xml"))
        self.patch(core_module, "perf_counter", forbidden)
        self.patch(core_module, "outcome_label", forbidden)
        self.assertIn(b"MakeCallResponse", client.request(Req.make_call("1000", "1001")))
        self.assertIn(b"invalidCallingDevice", client.request(Req.make_call("7777", "1001")))

    def test_an_observer_sees_each_answer_once(self) -> None:
        seen: list[tuple[str, str]] = []

        class Observer:
            def request_done(self, service: str, outcome: str, seconds: float) -> None:
                assert seconds >= 0
                seen.append((service, outcome))

        clock = Clock()
        core = CstaCore(Switch(demo_exchange().plan, clock), clock, observer=Observer())
        client = FakeTransport()
        client.associate(core, Profile(name="xml"))
        client.request(Req.make_call("1000", "1001"))
        client.request(Req.make_call("7777", "1001"))
        client.request(f'<MakeCall xmlns="{ED3}"/>')  # a mandatory element missing
        self.assertEqual(
            seen,
            [
                ("MakeCall", "positive"),
                ("MakeCall", "invalidCallingDevice"),
                ("MakeCall", "invalidParameterValue"),
            ],
        )


class RequestCollectorTests(unittest.TestCase):
    def test_buckets_are_cumulative_and_inclusive(self) -> None:
        requests = RequestCollector(buckets=(0.001, 0.01))
        for seconds in (0.0005, 0.001, 0.005, 20.0):
            requests.request_done("MakeCall", "positive", seconds)
        registry = CollectorRegistry()
        registry.register(requests)
        found = samples(generate_latest(registry).decode())
        bucket = "csta_request_duration_seconds_bucket"
        self.assertEqual(value(found, bucket, service="MakeCall", le="0.001"), 2.0)
        self.assertEqual(value(found, bucket, service="MakeCall", le="0.01"), 3.0)
        self.assertEqual(value(found, bucket, service="MakeCall", le="+Inf"), 4.0)
        self.assertAlmostEqual(
            value(found, "csta_request_duration_seconds_sum", service="MakeCall"), 20.0065
        )
        self.assertEqual(
            value(found, "csta_requests_total", service="MakeCall", outcome="positive"), 4.0
        )
