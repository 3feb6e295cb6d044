"""The measures of the benchmarks (bench/README.md): the soak's warm-up (bounded stores full,
RSS settled) and its RSS slope after it, and the profile tool's grouping by layer. Pure functions on synthetic samples; nothing timed."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import profiling  # noqa: E402
import soak  # noqa: E402

MB = 2**20


def samples(
    rss_mb: list[float], interval: float = 5.0, full_from: float | None = None
) -> list[dict]:
    """Soak samples; with ``full_from`` they report the wire trace's fill (full from then)."""
    made = []
    for i, v in enumerate(rss_mb):
        t = interval * (i + 1)
        sample = {"t": t, "rss_bytes": int(v * MB), "fds": 10, "xml_events": 0, "p99_ms": 0}
        if full_from is not None:
            sample |= {"trace_memory": 1, "trace_bound": 2, "trace_full": t >= full_from}
        made.append(sample)
    return made


def test_warmup_then_flat_is_settled_and_flat() -> None:
    # rises 0.5 MB per sample for a minute, then flat for a minute: warm-up, not growth
    rss = [100 + 0.5 * i for i in range(12)] + [105.5] * 12
    result = soak.summarise(samples(rss))
    assert result["settled"] is True
    assert result["warmup_s"] == 60.0
    assert abs(result["rss_growth_per_hour_pct"]) < 0.01
    # fitted over the whole run, the warm-up would read as growth
    whole = soak.slope([(s["t"], s["rss_bytes"]) for s in samples(rss)])
    assert 100 * whole * 3600 / (103 * MB) > 5.0
    assert soak.rss_verdict({**result, "minutes": 2.0}) is True


def test_short_run_still_rising_is_not_judged_and_long_one_is_flagged() -> None:
    rss = [100 + 0.5 * i for i in range(12)]  # one minute, rising throughout
    result = soak.summarise(samples(rss))
    assert result["settled"] is False
    assert soak.rss_verdict({**result, "minutes": 1.0}) is None
    # the same growth over 10 minutes never settles either: a leak, judged and flagged
    long_rss = [100 + 0.05 * i for i in range(60)]
    long_result = soak.summarise(samples(long_rss, 10.0))
    assert long_result["settled"] is False
    assert soak.rss_verdict({**long_result, "minutes": 10.0}) is False


def test_growth_after_a_plateau_is_not_hidden() -> None:
    # flat, then rising again at the end: the run has not settled where it seemed to
    rss = [100.0] * 10 + [100 + 0.3 * i for i in range(1, 11)]
    result = soak.summarise(samples(rss))
    assert result["settled"] is False
    assert result["rss_growth_second_half_per_hour_pct"] > 5.0
    assert soak.rss_verdict({**result, "minutes": 10.0}) is False


def test_the_warm_up_waits_for_the_trace_to_be_full() -> None:
    # RSS flat from the start, but the wire trace only full at t = 60 s: not warm before
    flat = samples([100.0] * 30, full_from=60.0)
    assert not soak.warmed_up(flat[:11])  # t = 55 s: trace not full yet
    assert not soak.warmed_up(flat[:13])  # t = 65 s: full now, but not 60 s ago
    assert soak.warmed_up(flat[:24])  # full at t = 60 s and at t = 120 s, RSS flat between
    # measured from the start: the warm-up is found where the trace was full
    assert soak.warmup_end(flat) == 11
    # without the fill figure (an older results file) RSS alone decides
    assert soak.warmup_end(samples([100.0] * 30)) == 0


def test_the_warm_up_waits_for_rss_to_settle() -> None:
    rising = samples([100 + 0.1 * i for i in range(30)], full_from=0.0)  # 1.2 MB a minute
    assert not soak.warmed_up(rising)
    rss = [100 + 0.5 * i for i in range(12)] + [105.5] * 13
    settled = samples(rss, full_from=0.0)
    assert not soak.warmed_up(settled[:18])  # flat for 30 s only
    assert soak.warmed_up(settled)  # flat for 65 s


def test_a_run_that_waited_for_the_warm_up_is_measured_from_there() -> None:
    # warm-up of 100 s (rising), then 10 minutes flat but for one step of 32 kB
    rss = [100 + 0.2 * i for i in range(10)] + [101.8] * 30 + [101.83] * 30
    data = samples(rss, interval=10.0, full_from=80.0)
    result = soak.summarise(data, measured_from=100.0, warmup_over=True)
    assert result["settled"] is True and result["warmup_over_before_measuring"] is True
    assert result["measured_from_s"] == 100.0 and result["warmup_s"] == 100.0
    assert result["second_half_from_s"] == 400.0
    assert result["trace_full_from_s"] == 80.0
    assert 0 <= result["rss_growth_second_half_per_hour_pct"] < 1.0
    assert soak.targets({**result, "minutes": 10.0, "events_lost": 0, "events_extra": 0}) == {
        "no_event_lost": True,
        "rss_flat_lt_1pct_per_hour": True,
        "fds_flat": True,
    }


def test_profile_layers_by_source_file() -> None:
    layer = profiling.layer_of_python
    assert layer("/x/cstaserver/sip/headers.py", "_scan").startswith("SIP parse")
    assert layer("/x/cstaserver/sip/transaction.py", "receive").startswith("SIP transaction")
    assert layer("/x/cstaserver/csta/codec.py", "decode").startswith("decode")
    assert layer("/x/cstaserver/csta/codec.py", "_write_content").startswith("encode")
    assert layer("/x/cstaserver/pbx/bus.py", "_deliver").startswith("switch")
    assert layer("/x/site-packages/twisted/web/http.py", "headerReceived").startswith("HTTP")
    assert layer("/usr/lib/python3.11/email/message.py", "get") == "stdlib + other"


def test_builtin_time_goes_to_its_callers_layer() -> None:
    caller = ("/x/cstaserver/sip/headers.py", 1, "get")
    other = ("/x/cstaserver/pbx/calls.py", 1, "event")
    lower = ("~", 0, "<method 'lower' of 'str' objects>")
    send = ("~", 0, "<method 'send' of '_socket.socket' objects>")
    stats = {
        caller: (1, 1, 2.0, 5.0, {}),
        other: (1, 1, 1.0, 2.0, {}),
        # lower: 3 s own, 2 s of it under the SIP header code, 1 s under the switch
        lower: (9, 9, 3.0, 3.0, {caller: (6, 6, 2.0, 2.0), other: (3, 3, 1.0, 1.0)}),
        send: (1, 1, 0.5, 0.5, {other: (1, 1, 0.5, 0.5)}),
    }
    split = profiling.layer_of(lower, stats)
    assert abs(split["SIP parse (RFC 3261 messages)"] - 2.0) < 1e-9
    assert abs(split["switch (pbx)"] - 1.0) < 1e-9
    assert profiling.layer_of(send, stats) == {"transport writes (socket send)": 0.5}


def test_cpu_time_reads_the_process_user_and_system_seconds() -> None:
    import os
    import time

    import common

    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # a little work, bounded
        pass
    # /proc counts in clock ticks (10 ms): the two clocks agree within a few of them
    assert abs(common.cpu_seconds(os.getpid()) - time.process_time()) < 0.05


class _Granting:
    """A loopback SIP peer granting ``interval`` s (RFC 4028) to INVITE and UPDATE."""

    def __init__(self, interval: int, refuse_updates: bool = False) -> None:
        self.interval = interval
        self.refuse_updates = refuse_updates
        self.updates: list[tuple[float, str]] = []
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        import asyncio

        first, headers, _ = soak.SipUa.parse(data)
        method = first.split(" ", 1)[0]
        if method == "ACK":
            return
        status = "200 OK"
        if method == "UPDATE":
            self.updates.append((asyncio.get_running_loop().time(), headers["call-id"]))
            status = "481 Call/Transaction Does Not Exist" if self.refuse_updates else status
        reply = [f"SIP/2.0 {status}"] + [
            f"{name.title()}: {headers[name]}" for name in ("via", "from", "call-id", "cseq")
        ]
        reply += [f"To: {headers['to']};tag=srv", f"Session-Expires: {self.interval};refresher=uac"]
        body = b""
        if method == "INFO":
            body = b"<MonitorStartResponse><monitorCrossRefID>7</monitorCrossRefID></MonitorStartResponse>"
        reply += [f"Content-Length: {len(body)}", "", ""]
        self.transport.sendto("\r\n".join(reply).encode() + body, addr)

    def error_received(self, exc) -> None:
        pass

    def connection_lost(self, exc) -> None:
        pass


def _refreshing_run(interval: int, seconds: float, refuse: bool = False):
    import asyncio

    async def scenario():
        loop = asyncio.get_running_loop()
        peer = _Granting(interval, refuse)
        server_transport, _ = await loop.create_datagram_endpoint(
            lambda: peer, local_addr=("127.0.0.1", 0)
        )
        address = server_transport.get_extra_info("sockname")[:2]
        ua_transport, ua = await loop.create_datagram_endpoint(
            soak.SipUa, local_addr=("127.0.0.1", 0)
        )
        try:
            dialogs = [await ua.open_dialog(f"tel:+4685510{k}", address) for k in range(3)]
            opened = loop.time()
            stop = asyncio.Event()
            task = asyncio.create_task(ua.keep_refreshed(address, stop, step=0.1))
            await asyncio.sleep(seconds)
            stop.set()
            await asyncio.wait_for(task, 5)
            return peer, ua, dialogs, opened
        finally:
            ua_transport.close()
            server_transport.close()

    return asyncio.run(scenario())


def test_soak_ua_refreshes_each_dialog_at_half_the_granted_interval() -> None:
    # granted 1 s: refreshes due at 0.5, 1.0, 1.5, 2.0 s; 2.3 s is over two intervals
    peer, ua, dialogs, opened = _refreshing_run(1, 2.3)
    assert all(d.interval == 1.0 for d in dialogs)
    for dialog in dialogs:
        times = [t - opened for t, call_id in peer.updates if call_id == dialog.call_id]
        assert len(times) == 4, times
        # never later than the interval after the previous 2xx, never twice per half interval
        gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
        assert all(0.4 < gap < 1.0 for gap in gaps), gaps
    assert ua.refreshes == 12
    assert not ua.refresh_failures


def test_soak_ua_counts_a_refused_refresh_and_stops_refreshing_that_dialog() -> None:
    peer, ua, dialogs, _ = _refreshing_run(1, 1.3, refuse=True)
    assert len(peer.updates) == 3  # one UPDATE each, refused, none after
    assert ua.refreshes == 0
    assert ua.refresh_failures == {"481": 3}
    assert all(d.interval is None for d in dialogs)


def test_session_interval_reads_long_and_compact_forms() -> None:
    assert soak.session_interval({"session-expires": "1800;refresher=uac"}) == 1800.0
    assert soak.session_interval({"x": "90"}) == 90.0
    assert soak.session_interval({}) is None
    assert soak.session_interval({"session-expires": "soon"}) is None
