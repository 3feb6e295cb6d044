"""Soak benchmark (not a test): the whole server under steady mixed load through its warm-up
and then for ``--minutes`` (10 by default) more, sampling its memory, descriptors and event
latency every ``--interval`` seconds, and checking at the end that no event was lost.

    .venv/bin/python bench/soak.py [--minutes 10] [--max-warmup 20] [--rate 20] [--sessions 1000]

Load, all against one ``bench/full_server.py`` (the composed server, 10,000 generated
extensions, pinned to the first CPU when there are two or more):

- **ECMA-354 over the XML port**: ``--sessions`` (1,000) connections, each with one
  application session (the server allows one session per association, so one connection per
  session) and ``--monitors`` / sessions device monitors (10 each: 10,000 monitors, every
  extension once);
- **TR/87**: ``--dialogs`` (100) SIP dialogs over UDP from one small Python UA here (INVITE
  with RequestSystemStatus + ``lcs:line`` tel:+4685510000.., ACK, INFO MonitorStart on the
  line), answering every event INFO and counting it once (a retransmission is not counted),
  and refreshing each dialog as RFC 4028 §10's refresher: an UPDATE at half the
  Session-Expires of the last 2xx (the server grants 1,800 s), refreshes and failures counted;
- **SOAP**: ``--soap-clients`` (4) HTTP clients (stdlib ``http.client``, one thread each,
  HTTP Basic), each with an ECMA-354 session (``sessionID`` header), 5 device monitors, and a
  ``GetEvents`` long poll (5 s) in a loop;
- **calls**: the server's own traffic (``traffic`` command: two-party calls between pairs of
  extensions through the simulator, ``--rate`` calls/s, ring 1 s, talk 3 s), so every call
  gives events to 2 XML monitors and, for the first extensions, to TR/87 and SOAP monitors.

Every ``--interval`` s: the server's RSS (``VmRSS``), open descriptors (``/proc/<pid>/fd``),
sessions, monitors and deliveries, and the switch-to-client latency of the XML events of
that interval (stamps taken by a switch subscriber registered before the core, matched to
the client's arrival time, as in ``fanout.py``; the stamp table is taken and cleared each
interval, so it does not grow).

**The warm-up** is decided by the run itself (``warmed_up``): it is over at the first sample
at which every bounded store of the server that reports its fill is full - the wire trace
(``stats``: ``trace.full``, its total bound has dropped a message; at the product's 64 MiB
and 20 calls/s that takes about 6 minutes) - and RSS has risen at most 128 kB over the last
60 s. The ``--minutes`` measured part starts there, so the run lasts warm-up + ``--minutes``;
the traffic is then stopped (``traffic stop``). A warm-up not over after ``--max-warmup``
minutes (20) ends the wait: the measured part starts anyway and the result says
``warmup_over: false``. ``--max-warmup 0`` (the 1-minute soak of ``run_all.py``) measures
from the start; the warm-up is then looked for in the samples afterwards (``warmup_end``:
the trace full and RSS never again more than 64 kB above the sample, with at least 30 s and a
third of the samples after it).

At the end: RSS and descriptor slopes (least squares) of the measured part after the
warm-up, over all of it and over its second half (the RSS target is judged on the second
half), and per monitor the events the server handed to it (``Monitor.delivered``, read with
the server's ``monitors`` command after the traffic has stopped and the clients have
drained) against the events the clients received. Then everything is closed (BYE,
StopApplicationSession, connections) and the server stopped by its PID in a ``finally``.
Targets: no event lost (none missing, none extra); RSS flat: the second half's slope after
the warm-up under 1 % of RSS per hour (not judged - ``null`` - in a run under 5 minutes whose
warm-up was not over: warm-up and a leak look alike for a minute; a longer run whose warm-up
never ends is judged on its measured part: a leak never settles); descriptors flat: at most
2 apart after the warm-up. Writes ``bench/results/soak-<date>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import http.client
import json
import re
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402
from fanout import EventSink  # noqa: E402

ED3 = common.NS
LCS = common.LCS
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_NS = "urn:cstaserver:soap"
XREF_RE = re.compile(rb"<(?:[\w.-]+:)?monitorCrossRefID>([^<]+)<")


# -- TR/87: a small UA over UDP ------------------------------------------------------------
class Dialog:
    __slots__ = (
        "line",
        "call_id",
        "from_header",
        "to_header",
        "cseq",
        "xref",
        "seen",
        "interval",
        "refresh_at",
    )

    def __init__(self, line: str, host: str) -> None:
        self.line = line
        self.call_id = uuid.uuid4().hex
        self.from_header = f"<sip:soak@{host}>;tag={uuid.uuid4().hex[:8]};epid=soak"
        self.to_header = "<sip:rccgateway@127.0.0.1>"
        self.cseq = 0
        self.xref = ""
        self.seen: set[str] = set()
        self.interval: float | None = None
        """Session-Expires granted in the last 2xx (RFC 4028); None: no session timer."""
        self.refresh_at = 0.0
        """Loop time of the next refresh: half the granted interval after the 2xx (§10)."""

    def granted(self, headers: dict[str, str], now: float) -> None:
        """Note the interval of a 2xx to INVITE or UPDATE and when to refresh next."""
        self.interval = session_interval(headers)
        if self.interval is not None:
            self.refresh_at = now + self.interval / 2


def session_interval(headers: dict[str, str]) -> float | None:
    """The Session-Expires delta-seconds of a response (long or compact form ``x``)."""
    raw = headers.get("session-expires", headers.get("x", "")).partition(";")[0].strip()
    return float(raw) if raw.isdigit() and int(raw) > 0 else None


class SipUa(asyncio.DatagramProtocol):
    """Lync-style requests (no Via branch), 200 OK to every request from the server."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.host = "127.0.0.1"
        self.port = 0
        self.dialogs: dict[str, Dialog] = {}
        self.waiting: dict[tuple[str, str], asyncio.Future[tuple[str, dict, bytes]]] = {}
        self.events: Counter[bytes] = Counter()
        self.retransmitted_events = 0
        self.byes_from_server = 0
        self.refreshes = 0
        self.refresh_failures: Counter[str] = Counter()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.host, self.port = transport.get_extra_info("sockname")[:2]

    @staticmethod
    def parse(data: bytes) -> tuple[str, dict[str, str], bytes]:
        head, _, body = data.partition(b"\r\n\r\n")
        first, *lines = head.decode("utf-8", "replace").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        return first, headers, body

    def datagram_received(self, data: bytes, addr: Any) -> None:
        first, headers, body = self.parse(data)
        call_id = headers.get("call-id", headers.get("i", ""))
        cseq = headers.get("cseq", "")
        if first.startswith("SIP/2.0 "):
            if first[8:9] == "1":
                return
            future = self.waiting.pop((call_id, cseq), None)
            if future is not None and not future.done():
                future.set_result((first, headers, body))
            return
        reply = ["SIP/2.0 200 OK"]
        for name in ("via", "from", "to", "call-id"):
            if name in headers:
                reply.append(f"{name.title()}: {headers[name]}")
        reply += [f"CSeq: {cseq}", "Content-Length: 0", "", ""]
        self.transport.sendto("\r\n".join(reply).encode(), addr)
        dialog = self.dialogs.get(call_id)
        if first.startswith("BYE"):
            self.byes_from_server += 1
        if dialog is None or not first.startswith("INFO"):
            return
        if cseq in dialog.seen:
            self.retransmitted_events += 1
            return
        dialog.seen.add(cseq)
        match = XREF_RE.search(body)
        if match:
            self.events[match.group(1)] += 1

    def request(
        self, dialog: Dialog, method: str, server: tuple[str, int], body: str = ""
    ) -> asyncio.Future[tuple[str, dict, bytes]]:
        if method != "ACK":
            dialog.cseq += 1
        cseq = f"{max(1, dialog.cseq)} {method}"
        data = body.encode()
        lines = [
            f"{method} sip:rccgateway@127.0.0.1 SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port}",
            "Max-Forwards: 70",
            f"From: {dialog.from_header}",
            f"To: {dialog.to_header}",
            f"Call-ID: {dialog.call_id}",
            f"CSeq: {cseq}",
            f"Contact: <sip:soak@{self.host}:{self.port};transport=udp>",
        ]
        if method in ("INVITE", "UPDATE"):
            lines.append("Supported: timer")
        if method == "UPDATE" and dialog.interval is not None:
            lines.append(f"Session-Expires: {dialog.interval:g};refresher=uac")
        if data:
            lines += ["Content-Disposition: signal;handling=required"]
            lines += ["Content-Type: application/csta+xml"]
        lines += [f"Content-Length: {len(data)}", "", ""]
        future = asyncio.get_running_loop().create_future()
        if method != "ACK":
            self.waiting[(dialog.call_id, cseq)] = future
        else:
            future.set_result(("", {}, b""))
        self.transport.sendto("\r\n".join(lines).encode() + data, server)
        return future

    async def open_dialog(self, line: str, server: tuple[str, int]) -> Dialog:
        dialog = Dialog(line, self.host)
        self.dialogs[dialog.call_id] = dialog
        private = (
            f'<extensions><privateData><private><lcs:line xmlns:lcs="{LCS}">{line}</lcs:line>'
            "</private></privateData></extensions>"
        )
        body = f'<RequestSystemStatus xmlns="{ED3}">{private}</RequestSystemStatus>'
        first, headers, _ = await asyncio.wait_for(self.request(dialog, "INVITE", server, body), 10)
        if not first.startswith("SIP/2.0 200"):
            raise RuntimeError(f"INVITE {line}: {first}")
        dialog.to_header = headers["to"]
        dialog.granted(headers, asyncio.get_running_loop().time())
        self.request(dialog, "ACK", server)
        monitor = (
            f'<MonitorStart xmlns="{ED3}"><monitorObject><deviceObject>{line}</deviceObject>'
            "</monitorObject></MonitorStart>"
        )
        first, _, answer = await asyncio.wait_for(self.request(dialog, "INFO", server, monitor), 10)
        xref = clients.xref_of(answer)
        if xref is None:
            raise RuntimeError(f"TR/87 MonitorStart {line}: {answer[:200]!r}")
        dialog.xref = xref.decode()
        return dialog

    async def refresh(self, dialog: Dialog, server: tuple[str, int]) -> bool:
        """One session refresh (RFC 4028 §7.4, §10: UPDATE without a body, as the refresher)."""
        loop = asyncio.get_running_loop()
        try:
            first, headers, _ = await asyncio.wait_for(self.request(dialog, "UPDATE", server), 10)
        except TimeoutError:
            first, headers = "timeout", {}
        if not first.startswith("SIP/2.0 2"):
            self.refresh_failures[first[8:11] if first.startswith("SIP/2.0 ") else first] += 1
            dialog.interval = None  # the session is gone: no more refreshes
            return False
        self.refreshes += 1
        dialog.granted(headers, loop.time())
        return True

    async def keep_refreshed(
        self, server: tuple[str, int], stop: asyncio.Event, step: float = 1.0
    ) -> None:
        """Refresh every dialog with a session timer at half its interval until ``stop``.

        One refresh per dialog per half interval (its next time is set only by the answer);
        each pass waits at most ``step`` s, refreshes at most every dialog once, each within
        the 10 s answer timeout.
        """
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            now = loop.time()
            due = [
                d
                for d in list(self.dialogs.values())
                if d.interval is not None and d.refresh_at <= now
            ]
            for dialog in due:
                dialog.refresh_at = now + dialog.interval  # not again before the answer
            if due:
                await asyncio.gather(*(self.refresh(d, server) for d in due))
            upcoming = [d.refresh_at for d in self.dialogs.values() if d.interval is not None]
            wait = min([step, *(t - loop.time() for t in upcoming)])
            try:
                await asyncio.wait_for(stop.wait(), max(0.01, wait))
            except TimeoutError:
                pass


# -- SOAP: long-polling clients (one thread each) -------------------------------------------
class SoapPoller:
    AUTH = "Basic " + base64.b64encode(b"csta_user:csta").decode()

    def __init__(self, port: int, devices: list[str], poll: float) -> None:
        self.port = port
        self.devices = devices
        self.poll = poll
        self.session = ""
        self.xrefs: list[str] = []
        self.events: Counter[bytes] = Counter()
        self.polls = 0
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.poll + 30)

    def call(self, inner: str) -> bytes:
        header = ""
        if self.session:
            header = (
                f'<soap:Header><cs:sessionID xmlns:cs="{SOAP_NS}">{self.session}'
                "</cs:sessionID></soap:Header>"
            )
        envelope = (
            f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}">'
            f"{header}<soap:Body>{inner}</soap:Body></soap:Envelope>"
        )
        headers = {"Content-Type": "text/xml; charset=utf-8", "Authorization": self.AUTH}
        self.conn.request("POST", "/csta", envelope.encode(), headers)
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"SOAP {response.status}: {body[:300]!r}")
        return body

    def setup(self) -> None:
        answer = self.call(clients.start_session().decode())
        session = common.element_text(answer, b"sessionID")
        if session is None:
            raise RuntimeError(f"SOAP session refused: {answer[:300]!r}")
        self.session = session.decode()
        for device in self.devices:
            xref = XREF_RE.search(self.call(common.monitor_start(device).decode()))
            if xref is None:
                raise RuntimeError(f"SOAP MonitorStart {device} refused")
            self.xrefs.append(xref.group(1).decode())

    def run(self) -> None:
        deadline = time.monotonic() + 24 * 3600  # bounded; stopped by the event long before
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                body = self.call(
                    f'<GetEvents xmlns="{SOAP_NS}"><timeout>{self.poll:g}</timeout></GetEvents>'
                )
            except Exception as exc:  # noqa: BLE001 - record and keep polling
                self.errors.append(repr(exc))
                if len(self.errors) > 100:
                    return
                time.sleep(0.5)
                continue
            self.polls += 1
            for xref in XREF_RE.findall(body):
                self.events[xref] += 1

    def close(self) -> None:
        try:
            self.call(clients.stop_session(self.session).decode())
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"stop: {exc!r}")
        self.conn.close()


# -- the soak ---------------------------------------------------------------------------------
def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (y per second) of (t, y) points; 0 with fewer than two."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / var if var else 0.0


#: RSS may rise this much (16 pages of 4 kB) after the warm-up's end and still count as flat.
SETTLE_TOLERANCE_BYTES = 64 * 1024
#: The flat stretch after the warm-up must last this long to count (seconds).
SETTLE_SECONDS = 30.0
#: While the run waits for the warm-up: RSS may have risen this much over the last
#: ``WARM_WINDOW_S`` seconds for the warm-up to be over (with every bounded store full).
WARM_TOLERANCE_BYTES = 128 * 1024
WARM_WINDOW_S = 60.0
#: Below this many minutes a run whose warm-up was not over is not judged (growth or warm-up?).
JUDGE_UNSETTLED_MINUTES = 5.0
#: The RSS target: the second half's slope after the warm-up, % of RSS per hour.
RSS_TARGET_PCT_PER_HOUR = 1.0


def stores_full(sample: dict[str, Any]) -> bool:
    """Every bounded store the server reports on is full (a sample without the figure - an
    older results file - counts as full: RSS alone decides)."""
    return sample.get("trace_full") is not False


def warmed_up(
    samples: list[dict[str, Any]],
    window: float = WARM_WINDOW_S,
    tolerance: int = WARM_TOLERANCE_BYTES,
) -> bool:
    """The warm-up is over at the last sample: the bounded stores are full and RSS rose at
    most ``tolerance`` over the last ``window`` seconds (run while the soak runs)."""
    if not samples or not stores_full(samples[-1]):
        return False
    now = samples[-1]["t"]
    earlier = [i for i, s in enumerate(samples) if s["t"] <= now - window]
    if not earlier:
        return False
    base = samples[earlier[-1]]
    if not stores_full(base):
        return False
    return max(s["rss_bytes"] for s in samples[earlier[-1] :]) - base["rss_bytes"] <= tolerance


def warmup_end(
    samples: list[dict[str, Any]],
    tolerance: int = SETTLE_TOLERANCE_BYTES,
    settle_s: float = SETTLE_SECONDS,
) -> int | None:
    """Index of the first sample with the bounded stores full after which RSS never rises
    more than ``tolerance`` above it again (caches, free lists, the wire trace's rings and
    allocator arenas are full), provided at least ``settle_s`` seconds and a third of the
    samples (and three) follow it; None when the run never settles (afterwards, for a run
    measured from the start)."""
    rss = [s["rss_bytes"] for s in samples]
    need = max(3, len(rss) // 3)
    later_max = 0
    ends: list[int] = []
    for i in range(len(rss) - 1, -1, -1):  # from the end: the highest RSS after each sample
        later_max = max(later_max, rss[i])
        if later_max - rss[i] <= tolerance and stores_full(samples[i]):
            ends.append(i)
    for i in sorted(ends):
        if len(rss) - i >= need and samples[-1]["t"] - samples[i]["t"] >= settle_s:
            return i
    return None


def growth_pct_per_hour(points: list[dict[str, Any]]) -> float:
    """RSS slope of the samples as % of their mean RSS per hour."""
    if len(points) < 2:
        return float("nan")
    mean = sum(s["rss_bytes"] for s in points) / len(points) or 1
    return 100 * slope([(s["t"], s["rss_bytes"]) for s in points]) * 3600 / mean


def summarise(
    samples: list[dict[str, Any]],
    measured_from: float = 0.0,
    warmup_over: bool | None = None,
) -> dict[str, Any]:
    """Slopes and ranges of the measured part (the samples from ``measured_from``) after the
    warm-up: when the run waited for it (``warmup_over`` True), all of the measured part;
    else from ``warmup_end`` within it, or - never settled - its last two thirds. The RSS
    verdict is on the second half of that; the whole run's after-the-first-minute slope is
    there for comparison, and the worst interval's p99."""
    measured = [s for s in samples if s["t"] >= measured_from] or samples[-2:]
    if warmup_over:
        end: int | None = 0
        settled = True
    else:
        end = warmup_end(measured)
        settled = end is not None
    if end is not None:
        steady = measured[end:]
    else:
        steady = measured[len(measured) // 3 :] or measured[-2:]
    middle = (steady[0]["t"] + steady[-1]["t"]) / 2 if steady else 0.0
    half = [s for s in steady if s["t"] >= middle] or steady[-2:]
    after_minute = [s for s in samples if s["t"] >= min(60.0, samples[-1]["t"] / 2)]
    rss_slope = slope([(s["t"], s["rss_bytes"]) for s in steady])
    rss_values = [s["rss_bytes"] for s in steady] or [0]
    fds_values = [s["fds"] for s in steady] or [0]
    all_latency = [s["p99_ms"] for s in samples if s["xml_events"]]
    last = samples[-1] if samples else {}
    return {
        "settled": settled,
        "warmup_over_before_measuring": bool(warmup_over),
        "measured_from_s": measured[0]["t"] if measured else None,
        "warmup_s": steady[0]["t"] if settled and steady else None,
        "steady_from_s": steady[0]["t"] if steady else None,
        "trace_fill_at_end": (
            last["trace_memory"] / last["trace_bound"] if last.get("trace_bound") else None
        ),
        "trace_full_from_s": next((s["t"] for s in samples if s.get("trace_full")), None),
        "rss_slope_bytes_per_min": rss_slope * 60,
        "rss_growth_per_hour_pct": growth_pct_per_hour(steady),
        "rss_growth_second_half_per_hour_pct": growth_pct_per_hour(half),
        "second_half_from_s": half[0]["t"] if half else None,
        "rss_slope_after_first_minute_bytes_per_min": 60
        * slope([(s["t"], s["rss_bytes"]) for s in after_minute]),
        "rss_first_last": [samples[0]["rss_bytes"], samples[-1]["rss_bytes"]] if samples else [],
        "rss_min_max_steady": [min(rss_values), max(rss_values)],
        "fds_slope_per_min": 60 * slope([(s["t"], s["fds"]) for s in steady]),
        "fds_min_max_steady": [min(fds_values), max(fds_values)],
        "worst_interval_p99_ms": max(all_latency) if all_latency else float("nan"),
    }


def rss_verdict(result: dict[str, Any]) -> bool | None:
    """RSS flat (the second half's slope after the warm-up under 1 % of RSS per hour): True
    or False; None (not judged) for a short run whose warm-up was not over - warm-up and a
    leak look the same for a minute; a longer run that never settles is judged on its
    measured part."""
    if not result.get("settled", True) and result.get("minutes", 0) < JUDGE_UNSETTLED_MINUTES:
        return None
    return result["rss_growth_second_half_per_hour_pct"] < RSS_TARGET_PCT_PER_HOUR


def targets(result: dict[str, Any]) -> dict[str, bool | None]:
    return {
        "no_event_lost": result["events_lost"] == 0 and result["events_extra"] == 0,
        "rss_flat_lt_1pct_per_hour": rss_verdict(result),
        "fds_flat": result["fds_min_max_steady"][1] - result["fds_min_max_steady"][0] <= 2,
    }


async def soak(args: argparse.Namespace, server: clients.FullServer) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    ports = server.ports
    sink = EventSink()
    per_session = args.monitors // args.sessions
    t_setup = time.monotonic()

    # XML sessions and monitors
    limit = asyncio.Semaphore(50)
    xml: list[clients.XmlClient] = []

    async def xml_session(index: int) -> None:
        async with limit:
            client = await clients.connect(ports["xml"], on_event=sink.event)
            await client.start_session()
            first = common.FIRST_EXTENSION + index * per_session
            await asyncio.gather(*(client.monitor(str(first + k)) for k in range(per_session)))
            xml.append(client)

    await asyncio.gather(*(xml_session(i) for i in range(args.sessions)))
    print(f"{len(xml)} XML sessions, {per_session} monitors each", file=sys.stderr)

    # TR/87 dialogs
    _t, ua = await loop.create_datagram_endpoint(SipUa, local_addr=("127.0.0.1", 0))
    sip_server = ("127.0.0.1", ports["sip"])
    dialogs = []
    for start in range(0, args.dialogs, 20):
        lines = [
            f"tel:+46855{common.FIRST_EXTENSION + j}"
            for j in range(start, min(args.dialogs, start + 20))
        ]
        dialogs += await asyncio.gather(*(ua.open_dialog(line, sip_server) for line in lines))
    print(f"{len(dialogs)} TR/87 dialogs", file=sys.stderr)
    stop_refreshing = asyncio.Event()
    refresher = asyncio.create_task(ua.keep_refreshed(sip_server, stop_refreshing))

    # SOAP long pollers
    pollers = []
    base = common.FIRST_EXTENSION + args.dialogs
    for c in range(args.soap_clients):
        devices = [str(base + c * 5 + k) for k in range(5)]
        poller = SoapPoller(ports["web"], devices, args.poll)
        await loop.run_in_executor(None, poller.setup)
        pollers.append(poller)
    threads = [threading.Thread(target=p.run, daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    setup_seconds = time.monotonic() - t_setup
    print(f"{len(pollers)} SOAP pollers; set-up took {setup_seconds:.1f} s", file=sys.stderr)

    # traffic and sampling: the warm-up (at most --max-warmup minutes), then --minutes
    duration = args.minutes * 60.0
    max_warmup = args.max_warmup * 60.0
    await server.acommand("stamps on", "STAMPS")
    planned = max_warmup + duration + 60  # stopped with "traffic stop" at the end
    server.proc.stdin.write(f"traffic {args.rate} {planned} {args.ring} {args.talk}\n")
    server.proc.stdin.flush()
    t0 = time.monotonic()
    # with --max-warmup 0 the measured part starts at once (warm-up looked for afterwards)
    measured_from: float | None = 0.0 if max_warmup <= 0 else None
    warmup_over: bool | None = None
    traced = False
    samples = []
    previous: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = 0
        while True:
            index += 1
            sink.step = index
            next_at = t0 + index * args.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            path = Path(tmp) / "stamps.json"
            await server.acommand(f"stamps take {path}", "TAKEN")
            table = json.loads(path.read_text())
            stats = await server.astats()
            latencies = []
            unmatched = 0
            for _step, now, key in sink.arrivals:
                stamp = table.get(key, previous.get(key))
                if stamp is None:
                    unmatched += 1
                else:
                    latencies.append(now - stamp)
            sink.arrivals = []
            previous = table
            lat = common.latency_summary(latencies)
            sample = {
                "t": round(time.monotonic() - t0, 1),
                "rss_bytes": stats["rss_bytes"],
                "fds": stats["fds"],
                "associations": stats["associations"],
                "sessions": stats["sessions"],
                "monitors": stats["monitors"],
                "deliveries": stats["deliveries"],
                "calls": stats["calls"],
                "xml_events": lat["count"],
                "unmatched": unmatched,
                "p50_ms": round(lat["p50_ms"], 2),
                "p99_ms": round(lat["p99_ms"], 2),
                "max_ms": round(lat["max_ms"], 2),
                "gc_longest_ms": stats["gc"]["longest_ms"],
            }
            trace = stats.get("trace")
            if trace is not None:
                sample["trace_memory"] = trace["memory"]
                sample["trace_bound"] = trace["bound"]
                sample["trace_full"] = trace["full"]
            if args.objects_every and index % args.objects_every == 0:
                answer = await server.acommand("objects", "OBJECTS", 120)
                sample["objects"] = json.loads(answer.split(" ", 1)[1])
            samples.append(sample)
            print(
                f"t={sample['t']:.0f}s rss={sample['rss_bytes'] / 2**20:.1f}MB "
                f"fds={sample['fds']} calls={sample['calls']} "
                f"events={sample['xml_events']} p99={sample['p99_ms']}ms"
                + (
                    f" trace={100 * sample['trace_memory'] / sample['trace_bound']:.0f}%"
                    f"{' full' if sample['trace_full'] else ''}"
                    if "trace_bound" in sample
                    else ""
                ),
                file=sys.stderr,
            )
            if measured_from is None and (warmed_up(samples) or sample["t"] >= max_warmup):
                measured_from = sample["t"]
                warmup_over = warmed_up(samples)
                print(
                    f"warm-up {'over' if warmup_over else 'NOT over, waited long enough'} at "
                    f"t={measured_from:.0f}s: measuring {args.minutes:g} min from here",
                    file=sys.stderr,
                )
            if (
                args.tracemalloc
                and not traced
                and measured_from is not None
                and sample["t"] >= measured_from + (duration / 4 if max_warmup <= 0 else 0)
            ):
                await server.acommand("trace start", "TRACE")
                traced = True
            if measured_from is not None and time.monotonic() - t0 >= measured_from + duration:
                break
    growth_sites = None
    if traced:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trace.json"
            await server.acommand(f"trace top {path}", "TRACE", 300)
            growth_sites = json.loads(path.read_text())
    done = await server.acommand("stamps off", "STAMPS")
    await server.acommand("traffic stop", "STOPPING")
    traffic = await loop.run_in_executor(None, server.expect, "TRAFFIC", args.ring + args.talk + 60)
    await asyncio.sleep(args.poll + 2)  # in-flight events, one more long poll
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "monitors.json"
        await server.acommand(f"monitors {path}", "MONITORS")
        delivered: dict[str, list] = json.loads(path.read_text())
    await asyncio.sleep(args.poll + 1)
    for poller in pollers:
        poller.stop.set()
    for thread in threads:
        await loop.run_in_executor(None, thread.join, args.poll + 30)

    received: Counter[bytes] = Counter()
    for client in xml:
        received.update(client.events)
    received.update(ua.events)
    for poller in pollers:
        received.update(poller.events)
    by_profile: dict[str, dict[str, int]] = {}
    lost = extra = 0
    for xref, (profile, sent) in delivered.items():
        got = received.get(xref.encode(), 0)
        entry = by_profile.setdefault(profile, {"monitors": 0, "sent": 0, "received": 0})
        entry["monitors"] += 1
        entry["sent"] += sent
        entry["received"] += got
        lost += max(0, sent - got)
        extra += max(0, got - sent)

    # close everything
    stop_refreshing.set()
    await asyncio.wait_for(refresher, 15)
    for poller in pollers:
        await loop.run_in_executor(None, poller.close)
    for dialog in dialogs:
        ua.request(dialog, "BYE", sip_server)
    await asyncio.sleep(1)
    for client in xml:
        client.close()
    await asyncio.sleep(2)
    end_stats = await server.astats()

    return {
        "minutes": args.minutes,
        "max_warmup_minutes": args.max_warmup,
        "trace_total_bytes": args.trace_total_bytes,
        "rate_calls_per_s": args.rate,
        "ring_s": args.ring,
        "talk_s": args.talk,
        "sessions": len(xml),
        "monitors_per_session": per_session,
        "tr87_dialogs": len(dialogs),
        "soap_clients": len(pollers),
        "setup_seconds": round(setup_seconds, 1),
        "traffic": traffic,
        "stamps": done,
        "samples": samples,
        **summarise(samples, measured_from or 0.0, warmup_over),
        "events_by_transport": by_profile,
        "events_lost": lost,
        "events_extra": extra,
        "tr87_retransmitted_event_infos": ua.retransmitted_events,
        "tr87_byes_from_server": ua.byes_from_server,
        "tr87_session_interval_s": dialogs[0].interval if dialogs else None,
        "tr87_refreshes": ua.refreshes,
        "tr87_refresh_failures": dict(ua.refresh_failures),
        "soap_polls": sum(p.polls for p in pollers),
        "soap_errors": [e for p in pollers for e in p.errors][:20],
        "server_after_close": end_stats,
        "tracemalloc_growth": growth_sites,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix, load_cpus = common.cpu_plan()
    pinned = common.pin_self(load_cpus)
    extra = ["--trace-total-bytes", str(args.trace_total_bytes)] if args.trace_total_bytes else []
    with clients.FullServer(args.extensions, prefix, extra) as server:
        gc.disable()  # bounded run: the client must not pause itself
        try:
            result = asyncio.run(soak(args, server))
        finally:
            gc.enable()
    return {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "targets": targets(result),
        **result,
    }


def warmup_line(data: dict[str, Any]) -> str:
    """How the warm-up was decided, in one line."""
    fill = data.get("trace_fill_at_end")
    full_at = data.get("trace_full_from_s")
    trace = (
        f"wire trace full from t={full_at:g} s"
        if full_at is not None
        else f"wire trace {100 * fill:.0f} % of its bound at the end"
        if fill is not None
        else "wire trace fill not reported"
    )
    if data.get("warmup_over_before_measuring"):
        return (
            f"warm-up over at t={data['warmup_s']:g} s ({trace}, RSS settled); measured "
            f"{data['minutes']:g} min from there"
        )
    if data.get("settled"):
        return f"warm-up over at t={data['warmup_s']:g} s within the measured part ({trace})"
    return f"warm-up not over by the end ({trace}, RSS still rising): slope of the last two thirds"


def report(data: dict[str, Any]) -> str:
    rows = []
    for profile, e in sorted(data["events_by_transport"].items()):
        rows.append([profile, e["monitors"], e["sent"], e["received"], e["sent"] - e["received"]])
    events = common.markdown_table(
        ["transport", "monitors", "events sent", "received", "lost"], rows
    )
    lines = [
        f"soak {data['minutes']:g} min at {data['rate_calls_per_s']:g} calls/s: "
        f"{data['sessions']} XML sessions x {data['monitors_per_session']} monitors, "
        f"{data['tr87_dialogs']} TR/87 dialogs, {data['soap_clients']} SOAP pollers "
        f"({data['traffic']})",
        f"TR/87 session refreshes (UPDATE at half of Session-Expires "
        f"{data.get('tr87_session_interval_s')} s): {data.get('tr87_refreshes', 0)}, failed "
        f"{sum(data.get('tr87_refresh_failures', {}).values())}; BYEs from the server "
        f"{data.get('tr87_byes_from_server', 0)}",
        "",
        events,
        "",
        warmup_line(data),
        f"RSS slope after the warm-up {data['rss_slope_bytes_per_min'] / 1024:,.1f} kB/min "
        f"({data['rss_growth_per_hour_pct']:.2f} %/hour; second half (judged) "
        f"{data.get('rss_growth_second_half_per_hour_pct', float('nan')):.2f} %/hour; after the "
        f"first minute {data['rss_slope_after_first_minute_bytes_per_min'] / 1024:,.1f} kB/min; "
        f"RSS {data['rss_first_last'][0] / 2**20:.1f} MB at the first sample, after the warm-up "
        f"{data['rss_min_max_steady'][0] / 2**20:.1f} - "
        f"{data['rss_min_max_steady'][1] / 2**20:.1f} MB)",
        f"descriptors slope {data['fds_slope_per_min']:.2f}/min (steady "
        f"{data['fds_min_max_steady'][0]} - {data['fds_min_max_steady'][1]})",
        f"worst interval p99 event latency {data['worst_interval_p99_ms']:.1f} ms",
        "targets: "
        + ", ".join(
            f"{k}={'not judged (warm-up not over)' if v is None else 'met' if v else 'MISSED'}"
            for k, v in data["targets"].items()
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="the measured part, after the warm-up [10]"
    )
    parser.add_argument(
        "--max-warmup",
        type=float,
        default=20.0,
        metavar="MIN",
        help="longest wait for the warm-up before measuring anyway; 0: measure from the "
        "start, judge the warm-up afterwards [20]",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="sampling period, s")
    parser.add_argument("--rate", type=float, default=20.0, help="calls/s")
    parser.add_argument("--ring", type=float, default=1.0)
    parser.add_argument("--talk", type=float, default=3.0)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--dialogs", type=int, default=100)
    parser.add_argument("--soap-clients", type=int, default=4)
    parser.add_argument("--poll", type=float, default=5.0, help="GetEvents timeout, s")
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="diagnostic: tracemalloc in the server from 1/4 of the run, top growth sites in the JSON",
    )
    parser.add_argument(
        "--objects-every",
        type=int,
        default=0,
        metavar="N",
        help="diagnostic: every N samples the objects the server's collector tracks, by type",
    )
    parser.add_argument(
        "--trace-total-bytes",
        type=int,
        metavar="N",
        help="the server's wire trace bound (default the product's 64 MiB: filling it is the "
        "warm-up, ~6 minutes at 20 calls/s)",
    )
    parser.add_argument("--name", default="soak", help="results file name [soak]")
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    parser.add_argument(
        "--resummarise",
        metavar="JSON",
        help="recompute slopes and targets of a results file from its samples, rewrite it",
    )
    args = parser.parse_args()
    if args.resummarise:
        path = Path(args.resummarise)
        data = json.loads(path.read_text())
        data.update(
            summarise(
                data["samples"],
                data.get("measured_from_s") or 0.0,
                data.get("warmup_over_before_measuring"),
            )
        )
        data["targets"] = targets(data)
        path.write_text(json.dumps(data, indent=2) + "\n")
        print(report(data))
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = run(args)
    print()
    print(report(data))
    if not args.no_write:
        path = common.write_results(args.name, data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
