"""Churn benchmark (not a test): sessions that come and go must leave nothing behind.

    .venv/bin/python bench/churn.py [--rounds 10] [--sessions 1000] [--monitors 2] [--tls]

Against one ``bench/full_server.py`` (10,000 generated extensions), each round opens
``--sessions`` connections (XML port, or the TLS port with ``--tls``; 50 set-ups in
flight), and on each: StartApplicationSession, ``--monitors`` device monitors, then
StopApplicationSession and close. After the round the server is left idle for a second, runs
a full collection (``gc`` command) and its ``VmRSS``, descriptors, associations, sessions and
monitors are read. Round 0 is a warm-up round (the first round pays for one-off allocations:
code paths, caches, allocator arenas); the baseline is the RSS after it.

The wire trace keeps every association's messages, an ended one's for an hour, in one arena
bounded by ``trace_total_bytes`` (64 MiB by default): until that arena has been written all
the way round, each round's messages take pages of it the process had not touched before, on
purpose. So what is judged is the RSS less the arena bytes the trace holds (its ``memory``
in the server's ``stats``), the *held* figure; the raw RSS and the trace's bytes are written
beside it for each round.

Target: after every later round, the held figure within 1 MB (or 2 %, whichever is larger)
of the baseline, with 0 associations, sessions and monitors left and the descriptor count back to
the idle one; reported with each round's figures. Writes
``bench/results/churn-<date>.json`` (``churn-tls-<date>.json`` with ``--tls``).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402

MB = 2**20


async def one_round(server: clients.FullServer, args: argparse.Namespace, first: int) -> float:
    limit = asyncio.Semaphore(50)
    tls = clients.client_tls() if args.tls else None
    port = server.ports["tls" if args.tls else "xml"]

    async def session(index: int) -> None:
        async with limit:
            client = await clients.connect(port, tls=tls)
            session_id = await client.start_session()
            base = common.FIRST_EXTENSION + (first + index * args.monitors) % args.extensions
            await asyncio.gather(*(client.monitor(str(base + k)) for k in range(args.monitors)))
            answer = await client.request(clients.stop_session(session_id))
            if b"StopApplicationSessionPosResponse" not in answer:
                raise RuntimeError(f"StopApplicationSession: {answer[:200]!r}")
            client.close()
            await asyncio.wait_for(client.closed, 30)

    t0 = time.monotonic()
    await asyncio.gather(*(session(i) for i in range(args.sessions)))
    return time.monotonic() - t0


async def churn(args: argparse.Namespace, server: clients.FullServer) -> dict[str, Any]:
    idle = await server.astats()
    rounds = []
    for index in range(args.rounds + 1):
        seconds = await one_round(server, args, index * args.sessions * args.monitors)
        rss = await clients.settle_rss(server)
        stats = await server.astats()
        trace = (stats.get("trace") or {}).get("memory", 0)
        rounds.append(
            {
                "round": index,
                "seconds": round(seconds, 2),
                "rss_bytes": rss,
                "trace_bytes": trace,
                "held_bytes": rss - trace,
                "fds": stats["fds"],
                "associations": stats["associations"],
                "sessions": stats["sessions"],
                "monitors": stats["monitors"],
            }
        )
        print(
            f"round {index}: {seconds:.1f} s, RSS {rss / MB:.1f} MB (wire trace "
            f"{trace / MB:.1f} MB), fds {stats['fds']}, "
            f"left: {stats['associations']} associations, {stats['sessions']} sessions, "
            f"{stats['monitors']} monitors",
            file=sys.stderr,
        )
    baseline = rounds[0]["held_bytes"]
    tolerance = max(MB, 0.02 * baseline)
    later = rounds[1:]
    returned = all(abs(r["held_bytes"] - baseline) <= tolerance for r in later)
    clean = all(r["associations"] == r["sessions"] == r["monitors"] == 0 for r in later)
    fds_back = all(r["fds"] <= idle["fds"] for r in later)
    return {
        "transport": "tls" if args.tls else "xml",
        "sessions_per_round": args.sessions,
        "monitors_per_session": args.monitors,
        "idle_before": {"rss_bytes": idle["rss_bytes"], "fds": idle["fds"]},
        "rounds": rounds,
        "baseline_held_bytes": baseline,
        "baseline_rss_bytes": rounds[0]["rss_bytes"],
        "tolerance_bytes": tolerance,
        "max_drift_bytes": max((r["held_bytes"] - baseline for r in later), default=0),
        "last_drift_bytes": later[-1]["held_bytes"] - baseline if later else 0,
        "last_rss_drift_bytes": later[-1]["rss_bytes"] - rounds[0]["rss_bytes"] if later else 0,
        "last_trace_growth_bytes": (
            later[-1]["trace_bytes"] - rounds[0]["trace_bytes"] if later else 0
        ),
        "targets": {
            "rss_less_trace_back_to_baseline": returned,
            "nothing_left": clean,
            "fds_back": fds_back,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix, load_cpus = common.cpu_plan()
    common.pin_self(load_cpus)
    with clients.FullServer(args.extensions, prefix) as server:
        result = asyncio.run(churn(args, server))
    return {"command": " ".join(sys.argv), "environment": common.environment(), **result}


def report(data: dict[str, Any]) -> str:
    base = data["baseline_held_bytes"]
    rows = [
        [
            r["round"] if r["round"] else "0 (warm-up, baseline)",
            r["seconds"],
            f"{r['rss_bytes'] / MB:.2f}",
            f"{r['trace_bytes'] / MB:.2f}",
            f"{(r['held_bytes'] - base) / 1024:+,.0f}",
            r["fds"],
            f"{r['associations']}/{r['sessions']}/{r['monitors']}",
        ]
        for r in data["rounds"]
    ]
    table = common.markdown_table(
        [
            "round",
            "s",
            "RSS MB",
            "wire trace MB",
            "RSS less trace vs baseline kB",
            "fds",
            "left: assoc/sessions/monitors",
        ],
        rows,
    )
    return (
        f"churn over {data['transport']}: {data['sessions_per_round']} sessions x "
        f"{data['monitors_per_session']} monitors per round\n\n{table}\n\ntargets: "
        + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in data["targets"].items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--monitors", type=int, default=2, help="monitors per session")
    parser.add_argument("--tls", action="store_true", help="over the TLS port")
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--name", help="results file name [churn, churn-tls]")
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = run(args)
    print()
    print(report(data))
    if not args.no_write:
        path = common.write_results(args.name or ("churn-tls" if args.tls else "churn"), data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
