"""``make bench``: every benchmark, each side by side with its reference in one run, and one
table (not a test).

    .venv/bin/python bench/run_all.py [--full] [--only NAME,...] [--skip NAME,...]

Runs, one after the other (each in its own process group, bounded by a timeout, and stopped
by its PID - the group it leads - in a ``finally``; every benchmark stops the servers it
starts by their PIDs itself):

| name | what | reference |
|---|---|---|
| exchange | switch build time and bytes per device (``bench_exchange.py``, in process) | targets only |
| codec | decode MakeCall (``bench_codec.py``'s sample, in process) | bare lxml parse of the same bytes |
| xml | ``xml_load.py compare``: MakeCall/ClearCall req/s, open-loop p99 | bare-Twisted lxml echo |
| fanout | ``fanout.py``: events/s to 10,000 monitors with p99 < 20 ms | target only |
| callcentre | ``call_centre.py``: 100 calls/s routed by the application, 15 s (``--full``: 60) | target only |
| stream | ``xml_load.py stream``: XML req/s with the event stream + /metrics scraper (B) vs without (A), 500 calls/s to 10,000 monitors, 2 rounds of 5 s (``--full``: 3 of 10) | run A |
| tls | ``tls_load.py``: the XML load over TLS, handshakes/s | the same load over plain TCP |
| soap | ``soap_load.py``: wrk MakeCall/ClearCall | bare twisted.web + lxml |
| tr87 | ``tr87/run.py``: SIPp Lync sign-in transactions/s | stateless Kamailio |
| startup | ``startup.py``: ``twistd csta`` until ``csta: started`` | target only |
| memory | ``memory.py``: RSS per device, TCP/TLS connection, monitor | targets only |
| soak | ``soak.py``: 1 minute (``--full``: 10) of mixed load | targets only |
| churn | ``churn.py``: 3 rounds (``--full``: 10) x 1,000 sessions | targets only |
| bystander | ``bystander.py``: a client's MakeCall/ClearCall p99 beside each lock-out and login attack, 5 s each (``--full``: 10) | the same client without the attack |

Writes ``bench/results/<date>.json`` (every row, and the sub-benchmarks' own result files
by name) and ``bench/results/<date>.md`` (the table), and prints the table. Each row: the
figure, the reference, the ratio, the target and met / missed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

Row = dict[str, Any]


def row(
    benchmark: str,
    what: str,
    figure: float | None,
    unit: str,
    *,
    reference: float | None = None,
    target: str = "",
    met: bool | None = None,
    ratio: float | None = None,
    note: str = "",
) -> Row:
    if ratio is None and reference and figure is not None:
        ratio = figure / reference
    return {
        "benchmark": benchmark,
        "what": what,
        "figure": figure,
        "unit": unit,
        "reference": reference,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
    }


# -- running a sub-benchmark ------------------------------------------------------------------
def run_script(args: list[str], timeout: float) -> tuple[int, str]:
    """Run a bench script in its own process group; on timeout or interruption the group
    (led by the PID we started) gets SIGTERM, then SIGKILL. Returns (status, stdout)."""
    command = [common.PYTHON, *args]
    print(f"\n$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(common.REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        command,
        cwd=str(common.REPO),
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        sys.stderr.write(out)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        print(f"timed out after {timeout:g} s", file=sys.stderr)
        return -1, ""
    finally:
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=15)
                    break
                except subprocess.TimeoutExpired:
                    continue


#: every sub-benchmark's result file as read, kept in ``<date>.json`` under "details" (a
#: later run of the same benchmark the same day overwrites its own file)
DETAILS: dict[str, Any] = {}


def today_result(name: str) -> dict[str, Any]:
    path = common.RESULTS / f"{name}-{datetime.date.today():%Y-%m-%d}.json"
    data = json.loads(path.read_text())
    DETAILS[name] = data
    return data


# -- the benchmarks -----------------------------------------------------------------------------
def bench_exchange(full: bool) -> list[Row]:
    import bench_exchange as be
    from twisted.internet.task import Clock

    from cstaserver.pbx.switch import Switch

    _label, devices, elapsed, per_device = be.measure(
        "10,000", lambda: Switch(be.generated_plan(10_000), Clock())
    )
    return [
        row(
            "exchange", "build 10,000 extensions", elapsed, "s", target="< 1.5 s", met=elapsed < 1.5
        ),
        row(
            "exchange",
            "switch bytes per device (tracemalloc)",
            per_device,
            "B",
            target="≤ 2,048 B",
            met=per_device <= 2048,
        ),
    ]


def bench_codec(full: bool) -> list[Row]:
    import bench_codec as bc
    from lxml import etree

    from cstaserver.csta.codec import decode

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

    def rate(func: Callable[[], object], number: int = 20_000) -> float:
        return number / min(timeit.repeat(func, number=number, repeat=3))

    ours = rate(lambda: decode(bc.MAKE_CALL))
    reference = rate(lambda: etree.fromstring(bc.MAKE_CALL, parser))
    render = rate(lambda: bc.TEMPLATE.render("99fda87c"), 200_000)
    return [
        row(
            "codec",
            "decode MakeCall (parse + typed), 1 core",
            ours,
            "/s",
            reference=reference,
            note="reference: bare lxml parse of the same bytes",
        ),
        row("codec", "event render per monitor (EventTemplate)", render, "/s"),
    ]


def bench_xml(full: bool) -> list[Row]:
    seconds = "10" if full else "5"
    # --server-gc freeze: the product's makeService freezes the exchange out of the
    # collector's reach once it is built (cstaserver/service.py)
    status, _ = run_script(
        ["bench/xml_load.py", "compare", "--seconds", seconds, "--server-gc", "freeze"], 300
    )
    if status != 0:
        return [row("xml", "xml_load.py compare failed", None, "", met=False)]
    d = today_result("xml")
    runs = d["runs"]
    ours, ref, opened = runs["closed_ours"], runs["closed_reference"], runs["open_ours"]
    p99 = opened["latency_all"]["p99_ms"]
    return [
        row(
            "xml",
            "MakeCall/ClearCall req/s, closed 10x4",
            ours["req_per_s"],
            "req/s",
            reference=ref["req_per_s"],
            target="ratio ≥ 0.50",
            met=d["ratio_ours_reference"] >= 0.5,
        ),
        row(
            "xml",
            "open loop 1,000 req/s: p99 latency",
            p99,
            "ms",
            target="< 5 ms",
            met=p99 < 5.0,
        ),
    ]


def bench_fanout(full: bool) -> list[Row]:
    args = ["bench/fanout.py", "--server-gc", "freeze"]  # as the product (see bench_xml)
    if not full:
        args += ["--rates", "250,500,750", "--seconds", "5"]
    status, _ = run_script(args, 600)
    if status != 0:
        return [row("fanout", "fanout.py failed", None, "", met=False)]
    d = today_result("fanout")
    good = [s for s in d["steps"] if s["latency"]["p99_ms"] < 20]
    best = max(good, key=lambda s: s["events_per_s"]) if good else d["steps"][0]
    return [
        row(
            "fanout",
            f"events/s to 10,000 monitors with p99 < 20 ms "
            f"(p99 {best['latency']['p99_ms']:.1f} ms at {best['rate_calls_per_s']:g} calls/s)",
            best["events_per_s"] if good else 0.0,
            "events/s",
            target="≥ 5,000",
            met=bool(good) and best["events_per_s"] >= 5000,
        )
    ]


def bench_call_centre(full: bool) -> list[Row]:
    name = "call-centre" if full else "call-centre-short"
    args = ["bench/call_centre.py", "--seconds", "60" if full else "15", "--name", name]
    status, _ = run_script(args, 600)
    if status != 0:
        return [row("callcentre", "call_centre.py failed", None, "", met=False)]
    d = today_result(name)
    lat = d["latency"]["queued_to_agent_delivered_event"]
    calls = d["calls"]
    return [
        row(
            "callcentre",
            f"{d['rate_calls_per_s']:g} calls/s to {d['agents']:,} agents routed by the "
            f"application: p99 Queued -> agent DeliveredEvent (p50 {lat['p50_ms']:.1f} ms, "
            f"{calls['offered']:,} calls, {calls['lost']} lost)",
            lat["p99_ms"],
            "ms",
            target="< 20 ms, none lost",
            met=bool(d["target_met"]),
        )
    ]


def bench_stream(full: bool) -> list[Row]:
    name = "stream" if full else "stream-short"
    args = ["bench/xml_load.py", "stream", "--name", name]
    if not full:
        args += ["--rounds", "2", "--seconds", "5"]
    status, _ = run_script(args, 600)
    if status != 0:
        return [row("stream", "xml_load.py stream failed", None, "", met=False)]
    d = today_result(name)
    lost = d["stream_events_lost"]
    return [
        row(
            "stream",
            "MakeCall/ClearCall req/s with the event stream + /metrics scraped (B) vs without "
            f"(A), 500 calls/s to 10,000 monitors: median B/A of {len(d['ratios_b_a'])} rounds "
            f"({lost:,} stream events lost)",
            d["median_req_per_s"]["B"],
            "req/s",
            reference=d["median_req_per_s"]["A"],
            ratio=d["ratio_b_a"],
            target="ratio ≥ 0.90, none lost",
            met=bool(d["target_met"]),
        )
    ]


def bench_tls(full: bool) -> list[Row]:
    args = ["bench/tls_load.py"]
    if not full:
        args += ["--seconds", "5", "--handshake-seconds", "3"]
    status, _ = run_script(args, 300)
    if status != 0:
        return [row("tls", "tls_load.py failed", None, "", met=False)]
    d = today_result("tls")
    r = d["runs"]
    return [
        row(
            "tls",
            "MakeCall/ClearCall req/s over TLS, closed 10x4",
            r["closed_tls"]["req_per_s"],
            "req/s",
            reference=r["closed_plain"]["req_per_s"],
            target="ratio ≥ 0.70",
            met=d["ratio_tls_plain"] >= 0.70,
            note="reference: the same load over plain TCP",
        ),
        row(
            "tls",
            "TLS connect + handshake + RequestSystemStatus + close, 8 concurrent",
            r["handshakes_tls"]["per_s"],
            "/s",
            reference=r["handshakes_plain"]["per_s"],
            note="reference: the same over plain TCP",
        ),
    ]


def bench_soap(full: bool) -> list[Row]:
    args = ["bench/soap_load.py"]
    if not full:
        args += ["--seconds", "5"]
    status, _ = run_script(args, 300)
    if status != 0:
        return [row("soap", "soap_load.py failed", None, "", met=False)]
    d = today_result("soap")
    ours, ref = d["runs"]["ours"], d["runs"]["reference"]
    return [
        row(
            "soap",
            f"wrk MakeCall/ClearCall req/s (p99 {ours['p99_ms']:.0f} ms vs {ref['p99_ms']:.0f} ms)",
            ours["req_per_s"],
            "req/s",
            reference=ref["req_per_s"],
            target="ratio ≥ 0.60",
            met=d["ratio_ours_reference"] >= 0.60,
            note="reference: bare twisted.web resource, lxml parse, canned envelope",
        )
    ]


def bench_tr87(full: bool) -> list[Row]:
    args = ["bench/tr87/run.py"]
    if not full:
        args += ["--seconds", "3", "--refine", "2"]
    status, _ = run_script(args, 1200)
    if status != 0:
        return [row("tr87", "tr87/run.py failed (sipp/kamailio?)", None, "", met=False)]
    d = today_result("tr87")
    rows = []
    for transport in ("udp", "tcp"):
        r = d["results"][transport]
        rows.append(
            row(
                "tr87",
                f"SIPp Lync sign-in transactions/s over {transport.upper()}",
                r["ours"]["transactions_per_s"],
                "tr/s",
                reference=r["kamailio"]["transactions_per_s"],
                target="ratio ≥ 0.15",
                met=bool(r["target_met"]),
                note="reference: stateless Kamailio",
            )
        )
    return rows


def bench_startup(full: bool) -> list[Row]:
    status, _ = run_script(["bench/startup.py", "--runs", "3" if full else "2"], 600)
    if status != 0:
        return [row("startup", "startup.py failed", None, "", met=False)]
    d = today_result("startup")
    return [
        row(
            "startup",
            f"twistd csta until 'csta: started', {kind} data directory (median)",
            d[f"{kind}_median_s"],
            "s",
            target="< 2 s",
            met=d["targets"][f"{kind}_lt_2s"],
        )
        for kind in ("fresh", "warm")
    ]


def bench_memory(full: bool) -> list[Row]:
    status, _ = run_script(["bench/memory.py"], 900)
    if status != 0:
        return [row("memory", "memory.py failed", None, "", met=False)]
    d = today_result("memory")
    kb = 1024
    return [
        row(
            "memory",
            "RSS per device (10,000 vs 1,000 extensions, whole server)",
            d["device"]["bytes_per_device"] / kb,
            "kB",
            target="≤ 2 kB",
            met=d["targets"]["device_le_2kB"],
        ),
        row(
            "memory",
            f"RSS per idle TCP connection ({d['tcp']['connections']:,})",
            d["tcp"]["bytes_per_connection"] / kb,
            "kB",
            target="≤ 30 kB",
            met=d["targets"]["tcp_le_30kB"],
        ),
        row(
            "memory",
            f"RSS per idle TLS connection ({d['tls']['connections']:,})",
            d["tls"]["bytes_per_connection"] / kb,
            "kB",
            reference=d["tcp"]["bytes_per_connection"] / kb,
            target="≤ 100 kB",
            met=d["targets"]["tls_le_100kB"],
            note="reference: per plain TCP connection",
        ),
        row(
            "memory",
            f"RSS per TCP connection + ECMA-354 session ({d['session']['connections']:,})",
            d["session"]["bytes_per_connection"] / kb,
            "kB",
        ),
        row(
            "memory",
            f"RSS per device monitor ({d['monitor']['monitors']:,})",
            d["monitor"]["bytes_per_monitor"] / kb,
            "kB",
        ),
    ]


def soak_warmup_note(d: dict[str, Any]) -> str:
    """Where the soak's warm-up ended, or why its RSS is not judged."""
    fill = d.get("trace_fill_at_end")
    trace = f"wire trace {100 * fill:.0f} % full" if fill is not None else "wire trace ?"
    if d.get("settled"):
        return f"warm-up over at {d['warmup_s']:g} s"
    if d["targets"]["rss_flat_lt_1pct_per_hour"] is None:
        return f"warm-up not over in the run ({trace}): not judged"
    return f"warm-up never over ({trace}): last two thirds"


def bench_soak(full: bool) -> list[Row]:
    minutes = "10" if full else "1"
    name = "soak" if full else "soak-short"
    # the short run samples every 5 s: enough samples to see whether RSS stopped rising
    interval = "10" if full else "5"
    # the full soak waits for the warm-up (at most 20 min) and measures 10 min after it; the
    # short one measures its minute from the start and says whether the warm-up ended in it
    max_warmup = "20" if full else "0"
    status, _ = run_script(
        [
            "bench/soak.py",
            "--minutes",
            minutes,
            "--max-warmup",
            max_warmup,
            "--interval",
            interval,
            "--name",
            name,
        ],
        (float(minutes) + float(max_warmup)) * 60 + 600,
    )
    if status != 0:
        return [row("soak", "soak.py failed", None, "", met=False)]
    d = today_result(name)
    sent = sum(e["sent"] for e in d["events_by_transport"].values())
    label = f"soak {d['minutes']:g} min"
    return [
        row(
            "soak",
            f"{label}: events lost (of {sent:,} sent to "
            f"{sum(e['monitors'] for e in d['events_by_transport'].values()):,} monitors)",
            float(d["events_lost"] + d["events_extra"]),
            "events",
            target="0",
            met=d["targets"]["no_event_lost"],
        ),
        row(
            "soak",
            f"{label}: RSS growth, second half after the warm-up ("
            + soak_warmup_note(d)
            + f"; slope {d['rss_slope_bytes_per_min'] / 1024:,.0f} kB/min over all of it)",
            d["rss_growth_second_half_per_hour_pct"],
            "%/hour",
            target="< 1 %/hour",
            met=d["targets"]["rss_flat_lt_1pct_per_hour"],
        ),
        row(
            "soak",
            f"{label}: open descriptors min-max "
            f"({d['fds_min_max_steady'][0]}-{d['fds_min_max_steady'][1]})",
            float(d["fds_min_max_steady"][1] - d["fds_min_max_steady"][0]),
            "fds",
            target="≤ 2",
            met=d["targets"]["fds_flat"],
        ),
        row(
            "soak",
            f"{label}: worst {interval} s interval p99 event latency",
            d["worst_interval_p99_ms"],
            "ms",
        ),
    ]


def bench_churn(full: bool) -> list[Row]:
    rows = []
    for tls in (False, True):
        name = ("churn-tls" if tls else "churn") + ("" if full else "-short")
        args = ["bench/churn.py", "--rounds", "10" if full else "3", "--name", name]
        if tls:
            args.append("--tls")
        status, _ = run_script(args, 900)
        if status != 0:
            rows.append(
                row("churn", f"churn.py {'--tls ' if tls else ''}failed", None, "", met=False)
            )
            continue
        d = today_result(name)
        rounds = len(d["rounds"]) - 1
        rows.append(
            row(
                "churn",
                f"{rounds} rounds x {d['sessions_per_round']:,} sessions over "
                f"{d['transport'].upper()}: RSS less the wire trace after the last round vs "
                f"baseline (raw RSS {d['last_rss_drift_bytes'] / 1024:+,.0f} kB, trace "
                f"{d['last_trace_growth_bytes'] / 1024:+,.0f} kB)",
                d["last_drift_bytes"] / 1024,
                "kB",
                target=f"within {d['tolerance_bytes'] / 1024:,.0f} kB, nothing left",
                met=all(d["targets"].values()),
            )
        )
    return rows


def bench_bystander(full: bool) -> list[Row]:
    seconds = "10" if full else "5"
    status, _ = run_script(["bench/bystander.py", "--seconds", seconds], 900)
    if status != 0:
        return [row("bystander", "bystander.py failed", None, "", met=False)]
    d = today_result("bystander")
    return [
        row(
            "bystander",
            f"MakeCall/ClearCall p99 beside the {r['attack']} attack",
            r["with"]["p99_ms"],
            "ms",
            reference=r["without"]["p99_ms"],
            target=f"< {BYSTANDER_P99_MS:g} ms",
            met=r["with"]["p99_ms"] < BYSTANDER_P99_MS and not r["with"]["errors"],
        )
        for r in d["rows"]
    ]


#: A bystander's p99 beside an attack: what a CTI application still finds interactive.
BYSTANDER_P99_MS = 20.0

BENCHMARKS: dict[str, Callable[[bool], list[Row]]] = {
    "exchange": bench_exchange,
    "codec": bench_codec,
    "xml": bench_xml,
    "fanout": bench_fanout,
    "callcentre": bench_call_centre,
    "stream": bench_stream,
    "tls": bench_tls,
    "soap": bench_soap,
    "tr87": bench_tr87,
    "startup": bench_startup,
    "memory": bench_memory,
    "soak": bench_soak,
    "churn": bench_churn,
    "bystander": bench_bystander,
}


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | what | figure | reference | ratio | target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        figure = f"{fmt(r['figure'])} {r['unit']}".strip()
        reference = f"{fmt(r['reference'])} {r['unit']}" if r["reference"] is not None else "—"
        ratio = "—"
        if r["ratio"] is not None:
            ratio = f"{r['ratio']:.3f}" if r["ratio"] < 1 else f"{r['ratio']:.2f}"
        verdict = {True: "met", False: "**missed**", None: ""}[r["met"]]
        lines.append(
            f"| {r['benchmark']} | {r['what']} | {figure} | {reference} | {ratio} | "
            f"{r['target'] or '—'} | {verdict} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full soak (10 min), churn (10 rounds)")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    names = [n for n in names if n not in args.skip.split(",")]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"run_all: unknown benchmark(s): {', '.join(unknown)}")
    started = time.monotonic()
    rows: list[Row] = []
    for name in names:
        t0 = time.monotonic()
        try:
            rows += BENCHMARKS[name](args.full)
        except Exception as exc:  # one failing benchmark must not lose the others' rows
            rows.append(row(name, f"failed: {exc!r}"[:200], None, "", met=False))
        print(f"[{name}: {time.monotonic() - t0:.0f} s]", file=sys.stderr, flush=True)
    now = datetime.datetime.now()
    markdown = (
        f"# `make bench` {now:%Y-%m-%d %H:%M}\n\n"
        f"{table(rows)}\n\n"
        f"Machine: {common.environment()['cpu_model']}, {os.cpu_count()} CPUs, Python "
        f"{common.environment()['python']}; commit {common.environment()['commit']}; "
        f"{'full' if args.full else 'short'} soak/churn; "
        f"total {time.monotonic() - started:.0f} s.\n"
    )
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    (common.RESULTS / f"{now:%Y-%m-%d}.md").write_text(markdown)
    data = {
        "benchmark": "all",
        "date": now.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "full": args.full,
        "environment": common.environment(),
        "rows": rows,
        "details": DETAILS,
    }
    (common.RESULTS / f"{now:%Y-%m-%d}.json").write_text(json.dumps(data, indent=2) + "\n")
    print()
    print(markdown)
    print(f"results: bench/results/{now:%Y-%m-%d}.json, bench/results/{now:%Y-%m-%d}.md")


if __name__ == "__main__":
    main()
