"""Load generator for the ECMA-323 XML port (not a test): asyncio, one process, loopback.

Each *slot* owns a pair of extensions of the generated exchange (``common.pair``) and
alternates MakeCall(A -> B) and ClearCall(the call ID MakeCallResponse gave, A), so every
MakeCall does the core's real work (decode, switch state, events routed, encode) and calls
never pile up. The reference server (``ref_echo.py``) gets the very same request mix.

- ``closed``: N connections x W slots each, every slot with one request outstanding at a
  time; reports completed requests/s over the measured window (after a warm-up).
- ``open``: a fixed timetable of R requests/s for D seconds over a pool of slots; request i
  is due at t0 + i/R and its latency runs from that *intended* time, so a late server (or a
  late client) shows in the figures (no coordinated omission). A slot whose previous request
  is still unanswered at its turn queues the next one, still timed from its intended time.
- ``compare`` (``make bench-xml``): starts ``ref_echo.py`` and ``xml_server.py`` side by side
  (pinned to the first CPU with taskset when there are two or more; this process to the
  others), runs the closed loop against each, then the open loop against ours, prints a
  Markdown table with the ratio ours/reference and writes ``bench/results/xml-<date>.json``.
  Both servers are stopped by PID in a ``finally``.
- ``--scrape URL`` (``closed``): a Prometheus-like scraper polls ``URL`` (``/metrics`` of the
  web port) every ``--scrape-interval`` seconds during the run, with HTTP Basic, the
  ``Accept`` header Prometheus sends and gzip; its scrapes are reported with the run.
- ``metrics`` (the cost of metrics, docs/performance.md "Metrics overhead"): two
  ``full_server.py`` (the server as ``twistd csta`` composes it), one with
  ``--no-metrics`` (no request observer on the core) and one as shipped with the scraper
  polling its ``/metrics`` every second; the closed loop against each, back to back and in
  alternating order, for ``--rounds`` rounds; prints each round's ratio with/without and
  their median (paired, so that load from elsewhere that changes between rounds cancels),
  and the server's CPU time per answered request (``/proc/<pid>/stat``, scrapes included).
  First, in this process, the steadiest figure on a shared machine: MakeCall + ClearCall
  pairs through ``Association.receive`` of a core on the same exchange, without and with
  the request observer, best thread CPU time of several batches, alternating; and the time
  to render one scrape (``generate_latest`` of the registry).
- ``stream`` (the cost of the live event stream and /metrics, docs/performance.md "Event
  stream and metrics overhead"): one ``full_server.py`` on the generated exchange, every
  extension monitored over ``--monitor-connections`` XML connections (as ``fanout.py``),
  switch-side calls at ``--calls`` calls/s throughout each run (the server's ``traffic``
  command; the closed loop's own extensions are left out of it: ``full_server.py
  --reserve``), and the closed loop measuring MakeCall/ClearCall throughput. Run A: nothing
  else; run B: plus one WebSocket subscriber to ``/api/v1/events`` (no filter: every switch
  event; ``clients.EventStreamClient`` reads and counts every message) and the scraper
  polling ``/metrics`` every ``--scrape-interval`` seconds. A and B back to back against
  the same server, in alternating order, for ``--rounds`` rounds, after one unmeasured run
  (``--warmup-runs``) that fills the wire trace to its bounds; prints each round's ratio
  B/A and their median, p99 of both, the server's CPU and its wait for CPU, and per run B
  the switch events the subscriber received against those the switch published (the
  server's ``events`` counter, read while the server is idle before and after the run).
  With ``--stall S``, one more run B in which the server is stopped (SIGSTOP, by its PID)
  for S seconds halfway: does a subscriber that reads everything survive the burst after?
  First, in this process (the steadiest figure on a shared machine): MakeCall + ClearCall
  through ``Association.receive`` without and with one stream client (the product's hub and
  protocol on a ``StringTransport``), and the parts of one streamed event.

    .venv/bin/python bench/xml_load.py compare [--seconds 10] [--connections 10] [--window 4]
    .venv/bin/python bench/xml_load.py closed --port P [--connections 10] [--window 4]
        [--scrape http://127.0.0.1:W/metrics --scrape-interval 1]
    .venv/bin/python bench/xml_load.py open --port P [--rate 1000] [--seconds 10]
    .venv/bin/python bench/xml_load.py metrics [--rounds 3] [--seconds 10] [--scrape-interval 1]
    .venv/bin/python bench/xml_load.py stream [--rounds 3] [--seconds 10] [--calls 500]
        [--monitor-connections 100] [--scrape-interval 1] [--stall 4] [--server-profile PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import signal
import statistics
import sys
import time
from array import array
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from clients import FullServer, subscribe_events  # noqa: E402
from fanout import monitor_all  # noqa: E402

MAKE_CALL = 0
CLEAR_CALL = 1
KIND_NAMES = ("MakeCall", "ClearCall")


class Slot:
    """One pair of extensions and its request in flight."""

    __slots__ = ("calling", "called", "conn", "call_id", "busy", "backlog")

    def __init__(self, index: int, conn: LoadConnection) -> None:
        self.calling, self.called = common.pair(index)
        self.conn = conn
        self.call_id: bytes | None = None
        self.busy = False
        self.backlog: list[float] = []  # open loop: intended times of queued requests

    def next_request(self) -> tuple[int, bytes]:
        if self.call_id is None:
            return MAKE_CALL, common.make_call(self.calling, self.called)
        return CLEAR_CALL, common.clear_call(self.call_id.decode(), self.calling)


class Recorder:
    """Latencies (seconds) per request kind inside the measured window, errors, events."""

    def __init__(self) -> None:
        self.window = (float("inf"), float("inf"))
        self.latency = (array("d"), array("d"))
        self.completed = 0
        self.answered = 0  # every answer, in the window or not (warm-up, drain)
        self.errors = 0
        self.events = 0
        self.send_lag = array("d")

    def record(self, kind: int, intended: float, now: float, error: bool) -> None:
        self.answered += 1
        start, end = self.window
        if start <= intended < end:
            self.latency[kind].append(now - intended)
            self.completed += 1
            if error:
                self.errors += 1


class LoadConnection(asyncio.Protocol):
    """One client connection; writes are batched per read and per timetable tick."""

    def __init__(self, recorder: Recorder, closed_loop: bool) -> None:
        self.recorder = recorder
        self.closed_loop = closed_loop
        self.running = True
        self.transport: asyncio.Transport | None = None
        self.deframer = common.ClientDeframer()
        self.pending: dict[bytes, tuple[Slot, int, float]] = {}
        self.out: list[bytes] = []
        self._next = 0
        self.lost = asyncio.get_running_loop().create_future()

    # asyncio hooks
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        rec = self.recorder
        for invoke_id, body in self.deframer.feed(data):
            if invoke_id == common.EVENT_ID:
                rec.events += 1
                continue
            entry = self.pending.pop(invoke_id, None)
            if entry is None:
                continue
            slot, kind, intended = entry
            error = b"CSTAErrorCode" in body[:200]
            if kind == MAKE_CALL and not error:
                slot.call_id = common.element_text(body, b"callID")
            elif kind == CLEAR_CALL:
                slot.call_id = None
            rec.record(kind, intended, now, error)
            slot.busy = False
            if slot.backlog:
                self.send(slot, slot.backlog.pop(0))
            elif self.closed_loop and self.running:
                self.send(slot, now)
        self.flush()

    # requests
    def send(self, slot: Slot, intended: float) -> None:
        kind, body = slot.next_request()
        self._next = self._next % 9998 + 1
        invoke_id = b"%04d" % self._next
        self.pending[invoke_id] = (slot, kind, intended)
        slot.busy = True
        self.out.append(common.frame(invoke_id, body))

    def flush(self) -> None:
        if self.out and self.transport is not None:
            self.transport.write(b"".join(self.out))
            self.out.clear()


async def _connect(
    host: str, port: int, n: int, recorder: Recorder, closed_loop: bool, tls: Any = None
) -> list:
    """``n`` connections; ``tls``: an ``ssl.SSLContext`` for TLS (``bench/tls_load.py``)."""
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(n):
        _t, proto = await loop.create_connection(
            lambda: LoadConnection(recorder, closed_loop),
            host,
            port,
            ssl=tls,
            server_hostname="" if tls is not None else None,
        )
        conns.append(proto)
    return conns


async def _drain(conns: list[LoadConnection], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while any(c.pending for c in conns) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return sum(len(c.pending) for c in conns)


async def _clear_leftovers(conns: list[LoadConnection], slots: list[Slot]) -> None:
    """Clear calls a slot still holds (so the next run starts from an idle exchange)."""
    for conn in conns:
        conn.closed_loop = False
    for slot in slots:
        if slot.call_id is not None and not slot.busy:
            slot.conn.send(slot, time.monotonic())
    for conn in conns:
        conn.flush()
    await _drain(conns, 5.0)


def _summary(rec: Recorder, measured: float) -> dict[str, Any]:
    both = list(rec.latency[MAKE_CALL]) + list(rec.latency[CLEAR_CALL])
    return {
        "measured_s": round(measured, 3),
        "requests": rec.completed,
        "req_per_s": rec.completed / measured if measured > 0 else 0.0,
        "makecalls_per_s": len(rec.latency[MAKE_CALL]) / measured if measured > 0 else 0.0,
        "errors": rec.errors,
        "events_received": rec.events,
        "latency_all": common.latency_summary(both),
        "latency_makecall": common.latency_summary(rec.latency[MAKE_CALL]),
        "latency_clearcall": common.latency_summary(rec.latency[CLEAR_CALL]),
    }


async def closed_loop(
    host: str,
    port: int,
    *,
    connections: int = 10,
    window: int = 4,
    seconds: float = 10.0,
    warmup: float = 2.0,
    first_slot: int = 0,
    max_requests: int = 5_000_000,
    tls: Any = None,
) -> dict[str, Any]:
    """N connections x W outstanding requests each, for ``warmup + seconds``."""
    rec = Recorder()
    conns = await _connect(host, port, connections, rec, closed_loop=True, tls=tls)
    slots = [
        Slot(first_slot + c * window + w, conns[c])
        for c in range(connections)
        for w in range(window)
    ]
    t0 = time.monotonic()
    rec.window = (t0 + warmup, t0 + warmup + seconds)
    for slot in slots:
        slot.conn.send(slot, t0)
    for conn in conns:
        conn.flush()
    end = rec.window[1]
    while time.monotonic() < end and rec.completed < max_requests:
        if any(c.lost.done() for c in conns):
            raise RuntimeError("server closed a connection")
        await asyncio.sleep(0.05)
    measured = min(time.monotonic(), end) - rec.window[0]
    for conn in conns:
        conn.running = False
    left = await _drain(conns, 10.0)
    await _clear_leftovers(conns, slots)
    for conn in conns:
        conn.transport.close()
    result = {
        "mode": "closed",
        "connections": connections,
        "window": window,
        "outstanding": connections * window,
        "unanswered": left,
        "answered": rec.answered,
    }
    result.update(_summary(rec, measured))
    return result


async def open_loop(
    host: str,
    port: int,
    *,
    rate: float = 1000.0,
    seconds: float = 10.0,
    warmup: float = 1.0,
    connections: int = 10,
    pool: int = 500,
    first_slot: int = 1000,
    tls: Any = None,
) -> dict[str, Any]:
    """A fixed timetable of ``rate`` requests/s; latency from each intended send time."""
    rec = Recorder()
    conns = await _connect(host, port, connections, rec, closed_loop=False, tls=tls)
    slots = [Slot(first_slot + i, conns[i % connections]) for i in range(pool)]
    total = int(rate * (warmup + seconds))
    period = 1.0 / rate
    t0 = time.monotonic() + 0.05
    rec.window = (t0 + warmup, t0 + warmup + seconds)
    queued = 0
    i = 0
    while i < total:
        now = time.monotonic()
        while i < total:
            intended = t0 + i * period
            if intended > now:
                break
            slot = slots[i % pool]
            if slot.busy:
                slot.backlog.append(intended)
                queued += 1
            else:
                slot.conn.send(slot, intended)
                if intended >= rec.window[0]:
                    rec.send_lag.append(now - intended)
            i += 1
        for conn in conns:
            conn.flush()
        if any(c.lost.done() for c in conns):
            raise RuntimeError("server closed a connection")
        delay = t0 + i * period - time.monotonic()
        await asyncio.sleep(max(0.0, delay))
    left = await _drain(conns, 10.0)
    await _clear_leftovers(conns, slots)
    for conn in conns:
        conn.transport.close()
    result = {
        "mode": "open",
        "offered_per_s": rate,
        "connections": connections,
        "pool": pool,
        "queued_behind_slot": queued,
        "unanswered": left,
        "client_send_lag": common.latency_summary(rec.send_lag),
    }
    result.update(_summary(rec, seconds))
    return result


# -- a scraper polling /metrics, as Prometheus does -----------------------------------------
#: What Prometheus sends (it takes OpenMetrics first, the text format otherwise).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


class Scraper:
    """GET ``url`` every ``interval`` seconds (HTTP Basic ``user:password``, gzip, one
    connection per scrape); keeps each scrape's status, size and duration."""

    def __init__(self, url: str, interval: float = 1.0, login: str = "csta_user:csta") -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.interval = interval
        self.request = (
            f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            f"Authorization: Basic {base64.b64encode(login.encode()).decode()}\r\n"
            f"Accept: {PROMETHEUS_ACCEPT}\r\n"
            "Accept-Encoding: gzip\r\nConnection: close\r\n\r\n"
        ).encode()
        self.durations = array("d")
        self.sizes: list[int] = []
        self.failures = 0

    async def scrape(self) -> None:
        start = time.monotonic()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(self.request)
            data = await asyncio.wait_for(reader.read(), 10.0)
        finally:
            writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            self.failures += 1
            return
        self.durations.append(time.monotonic() - start)
        self.sizes.append(len(body))

    async def run(self) -> None:
        """Scrape until cancelled."""
        while True:
            started = time.monotonic()
            try:
                await self.scrape()
            except (OSError, asyncio.TimeoutError):
                self.failures += 1
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    def summary(self) -> dict[str, Any]:
        return {
            "scrapes": len(self.durations),
            "failures": self.failures,
            "interval_s": self.interval,
            "bytes_median": statistics.median(self.sizes) if self.sizes else 0,
            "duration": common.latency_summary(self.durations),
        }


async def scraped(load: Awaitable[dict[str, Any]], scraper: Scraper | None) -> dict[str, Any]:
    """Run ``load`` with ``scraper`` polling beside it (if any); its figures join the result."""
    if scraper is None:
        return await load
    task = asyncio.ensure_future(scraper.run())
    try:
        result = await load
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    result["scraper"] = scraper.summary()
    return result


# -- compare: make bench-xml ---------------------------------------------------------------
def _fmt_row(label: str, r: dict[str, Any]) -> list[Any]:
    lat = r["latency_all"]
    mc = r["latency_makecall"]
    return [
        label,
        r["req_per_s"],
        r["makecalls_per_s"],
        lat["p50_ms"],
        lat["p99_ms"],
        lat["p99_9_ms"],
        mc["p99_ms"],
        r["errors"],
    ]


def measure(coroutine: Any) -> dict[str, Any]:
    """Run one load coroutine with this process's cyclic GC off (a pause of the load
    generator would show up as server latency); every run is bounded in time and count."""
    gc.disable()
    try:
        return asyncio.run(coroutine)
    finally:
        gc.enable()
        gc.collect()


def compare(args: argparse.Namespace) -> dict[str, Any]:
    prefix, load_cpus = common.cpu_plan()
    pinned = common.pin_self(load_cpus)
    procs: dict[str, Any] = {}
    try:
        procs["reference"] = common.start_process(
            prefix + [common.PYTHON, str(common.HERE / "ref_echo.py")]
        )
        procs["ours"] = common.start_process(
            prefix
            + [
                common.PYTHON,
                str(common.HERE / "xml_server.py"),
                "--extensions",
                str(args.extensions),
                "--gc",
                args.server_gc,
            ]
        )
        ports = {name: common.read_port(proc) for name, proc in procs.items()}
        runs: dict[str, Any] = {}
        for name in ("reference", "ours"):
            print(f"closed loop against {name} ...", file=sys.stderr)
            runs[f"closed_{name}"] = measure(
                closed_loop(
                    "127.0.0.1",
                    ports[name],
                    connections=args.connections,
                    window=args.window,
                    seconds=args.seconds,
                    warmup=args.warmup,
                )
            )
        print(f"open loop at {args.rate:g}/s against ours ...", file=sys.stderr)
        runs["open_ours"] = measure(
            open_loop(
                "127.0.0.1",
                ports["ours"],
                rate=args.rate,
                seconds=args.seconds,
                connections=args.connections,
            )
        )
    finally:
        for proc in procs.values():
            common.stop_process(proc)

    ref, ours, opened = runs["closed_reference"], runs["closed_ours"], runs["open_ours"]
    ratio = ours["req_per_s"] / ref["req_per_s"] if ref["req_per_s"] else float("nan")
    targets = {
        "closed_ratio_ge_0.5": ratio >= 0.5,
        "open_p99_lt_5ms": opened["latency_all"]["p99_ms"] < 5.0,
    }
    headers = [
        "run",
        "req/s",
        "MakeCall/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "MakeCall p99 ms",
        "errors",
    ]
    rows = [
        _fmt_row(f"reference, closed {args.connections}x{args.window}", ref),
        _fmt_row(f"ours, closed {args.connections}x{args.window}", ours),
        _fmt_row(f"ours, open {args.rate:g} req/s offered", opened),
    ]
    print()
    print(common.markdown_table(headers, rows))
    print()
    print(f"ratio ours/reference (req/s, closed loop): {ratio:.2f} (target >= 0.50)")
    print(
        f"open loop p99 {opened['latency_all']['p99_ms']:.2f} ms at {args.rate:g} req/s "
        f"(target < 5 ms); client send lag p99 {opened['client_send_lag']['p99_ms']:.2f} ms"
    )
    print("targets: " + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in targets.items()))
    data = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "exchange_extensions": args.extensions,
        "server_gc": args.server_gc,
        "ratio_ours_reference": ratio,
        "targets": targets,
        "runs": runs,
    }
    if not args.no_write:
        path = common.write_results("xml", data)
        print(f"results: {path.relative_to(common.REPO)}")
    return data


# -- metrics: the cost of /metrics with a scraper ----------------------------------------
class _Sink:
    """The smallest message transport: keeps the last answer."""

    peer = "127.0.0.1:1"
    last = b""

    def write_message(self, data: bytes, correlation: object) -> None:
        self.last = data

    def send_request(self, data: bytes) -> Any:
        raise NotImplementedError

    def close(self, reason: str) -> None:
        pass


def in_process_cost(extensions: int, pairs: int = 1000, batches: int = 25) -> dict[str, Any]:
    """CPU time per request through ``Association.receive``, without and with the metrics'
    request observer (best of ``batches`` batches of ``pairs`` MakeCall + ClearCall, the two
    alternating), and the time one scrape's exposition takes."""
    # here, not at the top: the load generator's other modes never load the server
    from prometheus_client import generate_latest
    from twisted.internet.task import Clock

    from cstaserver.api.metrics import CstaMetrics
    from cstaserver.csta.association import Profile
    from cstaserver.csta.core import CstaCore
    from cstaserver.pbx.switch import Switch

    clock = Clock()
    core = CstaCore(Switch(common.generated_plan(extensions), clock), clock)
    metrics = CstaMetrics(core)
    sink = _Sink()
    association = core.associate(sink, Profile(name="xml"))
    calls = [(common.make_call(*common.pair(i)), common.pair(i)[0]) for i in range(200)]

    def batch() -> float:
        start = time.thread_time()
        for i in range(pairs):
            make_call, calling = calls[i % len(calls)]
            association.receive(make_call, 1)
            call_id = common.element_text(sink.last, b"callID")
            assert call_id is not None, sink.last
            association.receive(common.clear_call(call_id.decode(), calling), 2)
        return (time.thread_time() - start) / (2 * pairs) * 1e6

    best = {"without": float("inf"), "with": float("inf")}
    gc.collect()
    gc.freeze()
    for _ in range(batches):
        for name, observer in (("without", None), ("with", metrics.requests)):
            core.observer = observer
            best[name] = min(best[name], batch())
    scrape = float("inf")
    for _ in range(20):
        start = time.thread_time()
        generate_latest(metrics.registry)
        scrape = min(scrape, time.thread_time() - start)
    gc.unfreeze()
    return {
        "cpu_us_per_request": best,
        "observer_us_per_request": best["with"] - best["without"],
        "scrape_exposition_ms": scrape * 1e3,
    }


def metrics_cost(args: argparse.Namespace) -> dict[str, Any]:
    """The closed loop against the full server without metrics and with metrics scraped."""
    print("in process ...", file=sys.stderr)
    local = in_process_cost(args.extensions)
    cpu_in = local["cpu_us_per_request"]
    print(
        f"in process, CPU per request: without the observer {cpu_in['without']:.2f} us, with "
        f"{cpu_in['with']:.2f} us (+{local['observer_us_per_request']:.2f} us, "
        f"{cpu_in['with'] / cpu_in['without']:.3f}); one scrape's exposition "
        f"{local['scrape_exposition_ms']:.2f} ms"
    )
    prefix, load_cpus = common.cpu_plan()
    pinned = common.pin_self(load_cpus)
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    print("starting two full servers ...", file=sys.stderr)
    with (
        FullServer(args.extensions, prefix, ["--no-metrics"]) as plain,
        FullServer(args.extensions, prefix) as metered,
    ):
        url = f"http://127.0.0.1:{metered.ports['web']}/metrics"
        variants = [("without", plain, False), ("with", metered, True)]
        for index in range(args.rounds):
            for name, server, scrape in variants if index % 2 == 0 else variants[::-1]:
                print(f"round {index + 1}: closed loop {name} metrics ...", file=sys.stderr)
                scraper = Scraper(url, args.scrape_interval) if scrape else None
                cpu = common.cpu_seconds(server.pid)
                run = measure(
                    scraped(
                        closed_loop(
                            "127.0.0.1",
                            server.ports["xml"],
                            connections=args.connections,
                            window=args.window,
                            seconds=args.seconds,
                            warmup=args.warmup,
                        ),
                        scraper,
                    )
                )
                cpu = common.cpu_seconds(server.pid) - cpu
                run["server_cpu_us_per_request"] = cpu / run["answered"] * 1e6
                runs[name].append(run)
    medians = {name: statistics.median(r["req_per_s"] for r in rs) for name, rs in runs.items()}
    pairs = list(zip(runs["without"], runs["with"], strict=True))
    ratios = [on["req_per_s"] / off["req_per_s"] for off, on in pairs if off["req_per_s"]]
    ratio = statistics.median(ratios) if ratios else float("nan")
    cpu = {
        name: statistics.median(r["server_cpu_us_per_request"] for r in rs)
        for name, rs in runs.items()
    }
    headers = [
        "round",
        "without: req/s",
        "with: req/s",
        "ratio",
        "without: CPU us/req",
        "with: CPU us/req",
        "without: p99 ms",
        "with: p99 ms",
        "scrapes",
        "scrape p50 ms",
    ]
    rows = []
    for index, (off, on) in enumerate(pairs):
        scraper = on["scraper"]
        rows.append(
            [
                index + 1,
                off["req_per_s"],
                on["req_per_s"],
                f"{on['req_per_s'] / off['req_per_s']:.3f}" if off["req_per_s"] else "-",
                off["server_cpu_us_per_request"],
                on["server_cpu_us_per_request"],
                off["latency_all"]["p99_ms"],
                on["latency_all"]["p99_ms"],
                f"{scraper['scrapes']} ({scraper['failures']} failed)",
                scraper["duration"]["p50_ms"],
            ]
        )
    print()
    print(common.markdown_table(headers, rows))
    print()
    print(
        f"median req/s without metrics {medians['without']:.0f}, with metrics scraped every "
        f"{args.scrape_interval:g} s {medians['with']:.0f}; median of the rounds' ratios "
        f"with/without: {ratio:.3f}"
    )
    print(
        f"server CPU per request (median): without {cpu['without']:.1f} us, with "
        f"{cpu['with']:.1f} us: with/without {cpu['with'] / cpu['without']:.3f}"
    )
    data = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "exchange_extensions": args.extensions,
        "in_process": local,
        "median_req_per_s": medians,
        "ratios_with_without": ratios,
        "ratio_with_without": ratio,
        "median_server_cpu_us_per_request": cpu,
        "runs": runs,
    }
    if not args.no_write:
        path = common.write_results("metrics", data)
        print(f"results: {path.relative_to(common.REPO)}")
    return data


# -- stream: the cost of the event stream and /metrics under fan-out ---------------------
def stream_in_process_cost(
    extensions: int, pairs: int = 1000, batches: int = 15, parts: bool = True
) -> dict[str, Any]:
    """CPU time per request through ``Association.receive`` (no monitors), without and with
    one event stream client (the product's ``EventHub`` and ``EventStreamProtocol`` on a
    ``StringTransport``, subscribed to every switch event), best of ``batches`` batches of
    ``pairs`` MakeCall + ClearCall, alternating; every request is one reactor turn (the
    clock advanced by 0 after it: the turn's end writes the client's messages). Then, with
    ``parts``, the parts of one streamed event: its JSON text (``switch_event_text``), its
    frame, and queueing and writing it (``push`` + ``flush``)."""
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from cstaserver.api.events import EventHub, EventStreamFactory, StreamFilter, StreamLimits
    from cstaserver.csta.association import Profile
    from cstaserver.csta.core import CstaCore
    from cstaserver.pbx.switch import Switch

    clock = Clock()
    switch = Switch(common.generated_plan(extensions), clock)
    core = CstaCore(switch, clock)
    hub = EventHub(switch, None, clock, StreamLimits())
    factory = EventStreamFactory(hub)
    built: list[Any] = []
    factory.admit("bench", StreamFilter(), lambda: built.append(factory.buildProtocol(None)))
    client = built[0]
    transport = StringTransport()
    client.makeConnection(transport)
    # the opening handshake as autobahn leaves it once the upgrade is answered
    client.state = client.STATE_OPEN
    client.websocket_version = 13
    client.send_state = client.SEND_STATE_GROUND
    transport.registerProducer(object(), True)  # the HTTP channel's, which onOpen replaces
    client.onOpen()
    clock.advance(0)
    sink = _Sink()
    association = core.associate(sink, Profile(name="xml"))
    calls = [(common.make_call(*common.pair(i)), common.pair(i)[0]) for i in range(200)]
    events: list[Any] = []
    turn = clock.advance

    def batch() -> float:
        start = time.thread_time()
        for i in range(pairs):
            make_call, calling = calls[i % len(calls)]
            association.receive(make_call, 1)
            turn(0)
            call_id = common.element_text(sink.last, b"callID")
            assert call_id is not None, sink.last
            association.receive(common.clear_call(call_id.decode(), calling), 2)
            turn(0)
        elapsed = time.thread_time() - start
        transport.clear()
        return elapsed / (2 * pairs) * 1e6

    best = {"without": float("inf"), "with": float("inf")}
    gc.collect()
    gc.freeze()
    try:
        for _ in range(batches):
            for name in ("without", "with"):
                (hub.add if name == "with" else hub.remove)(client)
                best[name] = min(best[name], batch())
        sent = client.sent
        stop = switch.subscribe(events.append)
        batch()
        stop()
        hub.remove(client)
        timed = _stream_event_parts(client, transport, events[:700], batches) if parts else {}
    finally:
        gc.unfreeze()
    per_request = best["with"] - best["without"]
    events_per_request = len(events) / (2 * pairs)
    return {
        "cpu_us_per_request": best,
        "stream_us_per_request": per_request,
        "switch_events_per_request": events_per_request,
        "stream_us_per_event": per_request / events_per_request if events_per_request else 0.0,
        "parts_us_per_event": timed.get("parts", {}),
        "bytes_per_message": timed.get("bytes_per_message", 0),
        "messages_sent": sent,
    }


def _stream_event_parts(
    client: Any, transport: Any, sample: list[Any], batches: int
) -> dict[str, Any]:
    """Thread CPU per event of each step of streaming ``sample`` to ``client``: best of
    ``batches``; the push and flush as one reactor turn of three events, as a request has."""
    from cstaserver.api.frames import text_frame
    from cstaserver.api.switch_json import switch_event_text

    payloads = [switch_event_text(event, 1.0) for event in sample]
    frames = [text_frame(payload) for payload in payloads]

    def push_and_flush() -> None:
        for i in range(0, len(frames), 3):
            for frame in frames[i : i + 3]:
                client.push(frame)
            client.flush_scheduled = False
            client.flush()

    parts: dict[str, float] = {}
    for part, step in (
        ("switch_event_text", lambda: [switch_event_text(e, 1.0) for e in sample]),
        ("text_frame", lambda: [text_frame(p) for p in payloads]),
        ("push_and_flush", push_and_flush),
    ):
        fastest = float("inf")
        for _ in range(batches):
            start = time.thread_time()
            step()
            fastest = min(fastest, time.thread_time() - start)
            transport.clear()
        parts[part] = fastest / len(sample) * 1e6
    return {
        "parts": parts,
        "bytes_per_message": sum(map(len, payloads)) / len(payloads) if payloads else 0,
    }


class EventTally:
    """The monitors' sink (``fanout.FanoutConnection``): counts the XML events they read."""

    def __init__(self) -> None:
        self.count = 0

    def event(self, now: float, body: bytes) -> None:
        self.count += 1


async def _monitor_all(port: int, devices: int, connections: int, tally: EventTally) -> list[Any]:
    """Every extension monitored (``fanout.monitor_all``): all of them, or RuntimeError."""
    conns, _seconds = await monitor_all(port, devices, connections, tally)
    started = sum(c.started for c in conns)
    if started != devices:
        raise RuntimeError(f"{started} of {devices} monitors started")
    return conns


def _events(server: FullServer) -> dict[str, Any]:
    return json.loads(server.command("events", "EVENTS ")[7:])


async def _stall(pid: int, after: float, seconds: float) -> None:
    """Stop the server (SIGSTOP, by its PID) ``after`` seconds from now for ``seconds``."""
    await asyncio.sleep(after)
    os.kill(pid, signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


async def _stream_run(
    args: argparse.Namespace,
    server: FullServer,
    tally: EventTally,
    with_stream: bool,
    stall: float = 0.0,
) -> dict[str, Any]:
    """One run: the switch-side traffic and the closed loop; with ``with_stream``, the
    subscriber and the scraper beside them; with ``stall``, the server is stopped for that
    many seconds in the middle of the measured window. Starts and ends with the server idle."""
    loop = asyncio.get_running_loop()
    subscriber = None
    scraper = None
    if with_stream:
        subscriber = await subscribe_events(server.ports["web"])
        scraper = Scraper(f"http://127.0.0.1:{server.ports['web']}/metrics", args.scrape_interval)
    before = await loop.run_in_executor(None, _events, server)
    stats_before = await server.astats()
    await server.acommand("gcstats reset", "GCSTATS ")
    received_before = subscriber.counts() if subscriber is not None else None
    tally_before = tally.count
    cpu_client = time.process_time()
    cpu_server = common.cpu_seconds(server.pid)
    waited = common.run_queue_seconds(server.pid)
    wall = time.monotonic()
    traffic_seconds = args.warmup + args.seconds + 0.5
    common.command(
        server.proc, f"traffic {args.calls:g} {traffic_seconds:g} {args.ring:g} {args.talk:g}"
    )
    traffic = asyncio.ensure_future(
        common.server_line(server.proc, "TRAFFIC", traffic_seconds + args.ring + args.talk + 120)
    )
    stopping = (
        asyncio.ensure_future(_stall(server.pid, args.warmup + args.seconds / 2, stall))
        if stall > 0
        else None
    )
    try:
        result = await scraped(
            closed_loop(
                "127.0.0.1",
                server.ports["xml"],
                connections=args.connections,
                window=args.window,
                seconds=args.seconds,
                warmup=args.warmup,
            ),
            scraper,
        )
        done = await traffic
        if stopping is not None:
            await stopping
    finally:
        if not traffic.done():
            traffic.cancel()
        if stopping is not None and not stopping.done():
            stopping.cancel()  # its finally continues the server
            with contextlib.suppress(asyncio.CancelledError):
                await stopping
    wall = time.monotonic() - wall
    result["client_cpu"] = (time.process_time() - cpu_client) / wall
    result["server_cpu"] = (common.cpu_seconds(server.pid) - cpu_server) / wall
    result["server_waited_for_cpu"] = (common.run_queue_seconds(server.pid) - waited) / wall
    result["wall_s"] = round(wall, 3)
    result["traffic"] = {k: int(v) for k, v in (kv.split("=") for kv in done.split()[1:])}
    result["server_gc"] = json.loads((await server.acommand("gcstats", "GCSTATS "))[8:])
    await asyncio.sleep(0.5)  # the last events in flight
    after = await loop.run_in_executor(None, _events, server)
    produced = after["total"] - before["total"]
    stats_after = await server.astats()
    deliveries = stats_after["deliveries"] - stats_before["deliveries"]
    deadline = time.monotonic() + 15.0
    while tally.count - tally_before < deliveries and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    result["monitor_events"] = {
        "delivered_by_server": deliveries,
        "received": tally.count - tally_before,
    }
    result["switch_events"] = produced
    if subscriber is not None and received_before is not None:
        while subscriber.switch - received_before["switch"] < produced:
            if time.monotonic() >= deadline or subscriber.closed.done():
                break
            await asyncio.sleep(0.05)
        got = subscriber.counts()
        types = {
            name: {
                "produced": count - before["types"].get(name, 0),
                "received": got["types"].get(name, 0) - received_before["types"].get(name, 0),
            }
            for name, count in after["types"].items()
            if count - before["types"].get(name, 0)
        }
        result["stream"] = {
            "switch_events_produced": produced,
            "switch_events_received": got["switch"] - received_before["switch"],
            "messages": got["messages"] - received_before["messages"],
            "bytes": got["bytes"] - received_before["bytes"],
            "bad_json": got["bad_json"],
            "other_kinds": got["kinds"],
            "closed_by_server": subscriber.close_code,
            "by_type": types,
            "delay_sampled": common.latency_summary(subscriber.delays),
        }
        await subscriber.close()
    return result


async def _stream_rounds(args: argparse.Namespace, server: FullServer) -> dict[str, Any]:
    tally = EventTally()
    t0 = time.monotonic()
    conns = await _monitor_all(
        server.ports["xml"], args.extensions, args.monitor_connections, tally
    )
    monitor_seconds = time.monotonic() - t0
    print(
        f"{args.extensions} monitors over {args.monitor_connections} connections "
        f"in {monitor_seconds:.2f} s",
        file=sys.stderr,
    )
    runs: dict[str, list[dict[str, Any]]] = {"A": [], "B": []}
    warmup: list[dict[str, Any]] = []
    try:
        for index in range(args.warmup_runs):
            # unmeasured: the wire trace fills to its bounds (records of the monitors' events
            # and of closed associations), so the heap the collector walks is the same in
            # the first measured run as in the last
            print(f"warm-up run {index + 1} (as A) ...", file=sys.stderr)
            warm = await _stream_run(args, server, tally, False)
            warmup.append({k: warm[k] for k in ("req_per_s", "server_cpu", "traffic")})
        for index in range(args.rounds):
            order = ("A", "B") if index % 2 == 0 else ("B", "A")
            for name in order:
                print(f"round {index + 1}: run {name} ...", file=sys.stderr)
                runs[name].append(await _stream_run(args, server, tally, name == "B"))
        stalled = None
        if args.stall > 0:
            print(f"a run B with the server stopped for {args.stall:g} s ...", file=sys.stderr)
            stalled = await _stream_run(args, server, tally, True, stall=args.stall)
    finally:
        for conn in conns:
            conn.transport.close()
    return {
        "monitor_start_seconds": round(monitor_seconds, 3),
        "warmup": warmup,
        "runs": runs,
        "stalled": stalled,
    }


def _uptime() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return ""


def stream_cost(args: argparse.Namespace) -> dict[str, Any]:
    """A/B rounds of the closed loop under fan-out, without and with the stream + scraper."""
    load_before = _uptime()
    prefix, load_cpus = common.cpu_plan() if not args.no_pin else ([], None)
    pinned = common.pin_self(load_cpus)
    print("in process: MakeCall + ClearCall without and with a stream client ...", file=sys.stderr)
    in_process = stream_in_process_cost(args.extensions)
    parts = in_process["parts_us_per_event"]
    in_process_line = (
        f"in process (no monitors): {in_process['cpu_us_per_request']['without']:.1f} us per "
        f"request without a stream client, {in_process['cpu_us_per_request']['with']:.1f} us "
        f"with one: +{in_process['stream_us_per_request']:.1f} us per request, "
        f"{in_process['stream_us_per_event']:.1f} us per streamed event "
        f"({in_process['switch_events_per_request']:.1f} events per request; "
        f"JSON text {parts['switch_event_text']:.1f}, "
        f"frame {parts['text_frame']:.1f}, queue and write {parts['push_and_flush']:.1f} us)"
    )
    print(in_process_line, file=sys.stderr)
    slots = args.connections * args.window
    print("starting the full server ...", file=sys.stderr)
    extra = ["--reserve", str(2 * slots)]
    if args.server_profile:
        extra += ["--profile", str(Path(args.server_profile).resolve())]
    with FullServer(args.extensions, prefix, extra) as server:
        measured = measure(_stream_rounds(args, server))
        objects = server.command("objects", "OBJECTS ")[8:]
    load_after = _uptime()
    runs = measured["runs"]
    pairs = list(zip(runs["A"], runs["B"], strict=True))
    ratios = [b["req_per_s"] / a["req_per_s"] for a, b in pairs if a["req_per_s"]]
    ratio = statistics.median(ratios) if ratios else float("nan")
    lost = sum(
        b["stream"]["switch_events_produced"] - b["stream"]["switch_events_received"]
        for _a, b in pairs
    )
    monitor_lost = sum(
        r["monitor_events"]["delivered_by_server"] - r["monitor_events"]["received"]
        for rs in runs.values()
        for r in rs
    )
    dropped = [
        b["stream"]["closed_by_server"] for _a, b in pairs if b["stream"]["closed_by_server"]
    ]
    met = ratio >= 1.0 - args.target and lost == 0
    headers = [
        "round",
        "A req/s",
        "B req/s",
        "B/A",
        "A p99 ms",
        "B p99 ms",
        "stream events received / produced",
        "scrapes",
        "server CPU A / B",
        "server waited for CPU A / B",
        "client CPU A / B",
    ]
    rows = []
    for index, (a, b) in enumerate(pairs):
        stream = b["stream"]
        scraper = b["scraper"]
        rows.append(
            [
                index + 1,
                a["req_per_s"],
                b["req_per_s"],
                f"{b['req_per_s'] / a['req_per_s']:.3f}" if a["req_per_s"] else "-",
                a["latency_all"]["p99_ms"],
                b["latency_all"]["p99_ms"],
                f"{stream['switch_events_received']:,} / {stream['switch_events_produced']:,}"
                + (f" (closed {stream['closed_by_server']})" if stream["closed_by_server"] else ""),
                f"{scraper['scrapes']} ({scraper['failures']} failed)",
                f"{a['server_cpu']:.0%} / {b['server_cpu']:.0%}",
                f"{a['server_waited_for_cpu']:.0%} / {b['server_waited_for_cpu']:.0%}",
                f"{a['client_cpu']:.0%} / {b['client_cpu']:.0%}",
            ]
        )
    table = common.markdown_table(headers, rows)
    medians = {name: statistics.median(r["req_per_s"] for r in rs) for name, rs in runs.items()}
    summary = (
        f"median req/s A {medians['A']:.0f}, B {medians['B']:.0f}; median of the rounds' "
        f"ratios B/A: {ratio:.3f} (target >= {1.0 - args.target:.2f}); stream events lost: "
        f"{lost}{' (subscriber closed by the server: ' + str(dropped) + ')' if dropped else ''}"
        f"; XML monitor events lost: {monitor_lost}; target: {'met' if met else 'MISSED'}\n"
        f"load average before: {load_before}; after: {load_after}\n{in_process_line}"
    )
    stalled = measured["stalled"]
    if stalled is not None:
        stream = stalled["stream"]
        summary += (
            f"\nrun B with the server stopped for {args.stall:g} s: stream events received "
            f"{stream['switch_events_received']:,} of {stream['switch_events_produced']:,}"
            + (
                f", subscriber closed by the server ({stream['closed_by_server']})"
                if stream["closed_by_server"]
                else ", subscriber kept"
            )
        )
    print()
    print(table)
    print()
    print(summary)
    data = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "exchange_extensions": args.extensions,
        "monitor_connections": args.monitor_connections,
        "calls_per_s": args.calls,
        "ring_s": args.ring,
        "talk_s": args.talk,
        "in_process": in_process,
        "monitor_start_seconds": measured["monitor_start_seconds"],
        "warmup_runs": measured["warmup"],
        "server_objects_at_end": json.loads(objects),
        "median_req_per_s": medians,
        "ratios_b_a": ratios,
        "ratio_b_a": ratio,
        "stream_events_lost": lost,
        "stream_closed_by_server": dropped,
        "monitor_events_lost": monitor_lost,
        "target": f"median B/A >= {1.0 - args.target:.2f}, no stream event lost",
        "target_met": met,
        "runs": runs,
        "stall_s": args.stall,
        "stalled_run": stalled,
    }
    if not args.no_write:
        path = common.write_results(args.name, data, f"{table}\n\n{summary}\n")
        print(f"results: {path.relative_to(common.REPO)}")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("closed", "open", "compare", "metrics", "stream"):
        p = sub.add_parser(name)
        if name in ("closed", "open"):
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, required=True)
        p.add_argument("--connections", type=int, default=10)
        p.add_argument("--seconds", type=float, default=10.0)
        p.add_argument("--warmup", type=float, default=2.0)
        if name in ("closed", "compare", "metrics", "stream"):
            p.add_argument("--window", type=int, default=4)
        if name in ("open", "compare"):
            p.add_argument("--rate", type=float, default=1000.0)
        if name == "open":
            p.add_argument("--pool", type=int, default=500)
        if name == "closed":
            p.add_argument("--scrape", metavar="URL", help="poll this /metrics URL meanwhile")
        if name in ("closed", "metrics", "stream"):
            p.add_argument("--scrape-interval", type=float, default=1.0)
        if name in ("metrics", "stream"):
            p.add_argument("--rounds", type=int, default=3)
        if name == "stream":
            p.add_argument("--calls", type=float, default=500.0, help="switch-side calls/s")
            p.add_argument("--ring", type=float, default=0.2)
            p.add_argument("--talk", type=float, default=0.8)
            p.add_argument("--monitor-connections", type=int, default=100)
            p.add_argument("--target", type=float, default=0.10, help="allowed cost (0.10)")
            p.add_argument("--name", default="stream", help="results/<name>-<date>.json")
            p.add_argument("--warmup-runs", type=int, default=1, help="unmeasured runs first")
            p.add_argument("--server-profile", metavar="PATH", help="cProfile the server")
            p.add_argument(
                "--no-pin", action="store_true", help="leave CPU placement to the scheduler"
            )
            p.add_argument(
                "--stall",
                type=float,
                default=0.0,
                metavar="SECONDS",
                help="then one more run B with the server stopped (SIGSTOP) that long",
            )
        if name in ("compare", "metrics", "stream"):
            p.add_argument("--extensions", type=int, default=10_000)
            p.add_argument("--no-write", action="store_true", help="do not write results JSON")
        if name == "compare":
            p.add_argument("--server-gc", choices=("default", "freeze"), default="default")
    args = parser.parse_args()
    if args.command == "compare":
        compare(args)
        return
    if args.command == "metrics":
        metrics_cost(args)
        return
    if args.command == "stream":
        stream_cost(args)
        return
    if args.command == "closed":
        result = measure(
            scraped(
                closed_loop(
                    args.host,
                    args.port,
                    connections=args.connections,
                    window=args.window,
                    seconds=args.seconds,
                    warmup=args.warmup,
                ),
                Scraper(args.scrape, args.scrape_interval) if args.scrape else None,
            )
        )
    else:
        result = measure(
            open_loop(
                args.host,
                args.port,
                rate=args.rate,
                seconds=args.seconds,
                warmup=args.warmup,
                connections=args.connections,
                pool=args.pool,
            )
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
