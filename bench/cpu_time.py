"""Server CPU time per request (not a test): the whole server (``bench/full_server.py``)
under the loads of ``bench/profiling.py``, unprofiled, and the CPU seconds its process used
(user + system, from ``/proc/<pid>/stat``) divided by the requests answered.

    .venv/bin/python bench/cpu_time.py [--paths tr87-tcp] [--seconds 8] [--rounds 2]
        [--warmup 3]

A rate measured on a shared machine moves with whatever else runs there; the CPU time the
server spends per request moves much less (another process on the same core delays the
server, it does not make it work more), so two trees can be compared a minute apart: run
this in each (``PYTHONPATH`` set to the other tree, or a second checkout). A request is one
answered CSTA request (XML, SOAP) or one SIP transaction (TR/87), as in the profiles. The
server is pinned to the first CPU when there are two or more, the load to the others; it
is stopped by its PID when the rounds are done. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402
import profiling  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default="tr87-tcp", help="comma-separated, of profiling's")
    parser.add_argument("--seconds", type=float, default=8.0, help="load per round [8]")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--soap-connections", type=int, default=20)
    parser.add_argument("--sip-callers", type=int, default=20)
    parser.add_argument("--infos", type=int, default=5, help="INFOs per TR/87 dialog [5]")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(profiling.PATHS)
    if unknown:
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}")
    prefix, load_cpus = common.cpu_plan()
    common.pin_self(load_cpus)
    rows = []
    for path in paths:
        with clients.FullServer(args.extensions, prefix) as server:
            asyncio.run(profiling.load(path, server, args.warmup, args, 0))
            for round_number in range(args.rounds):
                load_average = os.getloadavg()[0]
                used = common.cpu_seconds(server.pid)
                started = time.monotonic()
                first = 100 + 50 * round_number
                requests = asyncio.run(profiling.load(path, server, args.seconds, args, first))
                elapsed = time.monotonic() - started
                used = common.cpu_seconds(server.pid) - used
                rows.append(
                    [
                        path,
                        str(round_number + 1),
                        f"{requests / elapsed:,.0f}",
                        f"{1e6 * used / max(requests, 1):.1f}",
                        f"{load_average:.2f}",
                    ]
                )
    print(
        common.markdown_table(
            ["path", "round", "requests/s", "server CPU us/request", "load average (1 min)"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
