"""Benchmark (not a test): CPU per XML request of two source trees, in alternating pairs.

On a machine that others load too, request rates swing with whatever else runs (the same
code measured 6,500 - 16,000 req/s within ten minutes); the CPU time the server itself spends
per request moves far less. For a before/after comparison this runs, for each of
``--rounds`` rounds, both trees back to back (the order alternating between rounds):

- **in process**: ``xml_load.in_process_cost`` in a child process on that tree (MakeCall +
  ClearCall pairs through ``Association.receive``, no monitors, best of the batches, the
  thread's CPU time; without and with the metrics' request observer);
- **closed loop**: that tree's ``bench/xml_server.py`` (10,000 extensions, pinned as
  ``xml_load.py compare`` pins it), 3 s unmeasured, then the closed loop (10 connections x
  4) for ``--seconds``; the server's user + system CPU time (``/proc/PID/stat``) over that
  window divided by the requests answered in it.

A tree is a checkout of the project, e.g. the commit before a change unpacked with
``git archive COMMIT | tar -x -C /tmp/before``; both run on this virtualenv's Python.

    .venv/bin/python bench/cpu_pairs.py /tmp/before . [--rounds 3] [--seconds 8]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
import xml_load

_IN_PROCESS = """
import json, sys
sys.path.insert(0, {bench!r})
import xml_load
print(json.dumps(xml_load.in_process_cost(10000, pairs=1000, batches={batches})))
"""


def in_process(tree: Path, batches: int) -> dict[str, float]:
    code = _IN_PROCESS.format(bench=str(tree / "bench"), batches=batches)
    return common.run_in_tree(tree, code)["cpu_us_per_request"]


def closed_loop(tree: Path, prefix: list[str], seconds: float) -> dict[str, float]:
    env_tree = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.Popen(
        prefix + [common.PYTHON, str(tree / "bench" / "xml_server.py"), "--extensions", "10000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env_tree,
        cwd=tree,
    )
    try:
        port = common.read_port(proc)
        xml_load.measure(xml_load.closed_loop("127.0.0.1", port, seconds=3.0, warmup=0.0))
        before, started = common.cpu_seconds(proc.pid), time.monotonic()
        run = xml_load.measure(xml_load.closed_loop("127.0.0.1", port, seconds=seconds, warmup=0.0))
        cpu, wall = common.cpu_seconds(proc.pid) - before, time.monotonic() - started
    finally:
        common.stop_process(proc)
    requests = run["req_per_s"] * seconds
    return {
        "req_per_s": run["req_per_s"],
        "server_cpu_us_per_request": cpu / requests * 1e6 if requests else float("nan"),
        "server_cpu_share": cpu / wall,
    }


def main() -> None:
    parser = common.tree_pair_parser(__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--batches", type=int, default=15, help="in-process batches per tree")
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    prefix, load_cpus = common.cpu_plan()
    common.pin_self(load_cpus)
    rows: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            local = in_process(trees[name], args.batches)
            loop = closed_loop(trees[name], prefix, args.seconds)
            row = {
                "in_process_us": local["without"],
                "in_process_with_observer_us": local["with"],
                **loop,
                "load_average": os.getloadavg()[0],
            }
            rows[name].append(row)
            print(
                f"{name}: in process {row['in_process_us']:.1f} us/request; closed loop "
                f"{loop['req_per_s']:,.0f} req/s, server CPU "
                f"{loop['server_cpu_us_per_request']:.1f} us/request (CPU share "
                f"{loop['server_cpu_share']:.2f}); load {row['load_average']:.2f}",
                flush=True,
            )
    table = []
    for name, runs in rows.items():
        for key in ("in_process_us", "server_cpu_us_per_request"):
            values = sorted(r[key] for r in runs)
            table.append([name, key, f"{values[0]:.1f}", f"{values[len(values) // 2]:.1f}"])
    print()
    print(common.markdown_table(["tree", "figure (us per request)", "min", "median"], table))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
