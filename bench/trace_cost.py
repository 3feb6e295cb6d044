"""Benchmark (not a test): what the wire trace (``cstaserver.api.trace.WireRecorder``) costs
per message once it is full, and what it leaves to the cyclic garbage collector, for two
source trees in alternating pairs (docs/performance.md, "The wire trace in one arena").

For each of ``--rounds`` rounds, both trees back to back (the order alternating), each in a
child process on that tree (``PYTHONPATH``) with this virtualenv's Python:

- a recorder with the product's limits (64 MiB, 1,000 messages / 1 MiB per association) and
  ``--associations`` (1,000) associations is filled until its total bound has dropped a
  message, plus as many messages again (the steady state of a busy server);
- **CPU per message**: ``--messages`` more messages (a request with an invoke ID, its answer,
  two events of 300 - 700 bytes, round the associations; each message a fresh ``bytes`` as
  the codec makes them), the thread's CPU time minus that of the same loop without the
  recorder, best of ``--batches``;
- **GC**: the objects the collector tracks (``len(gc.get_objects())``) with the full trace
  and the CPU time of one full collection (``gc.collect()``, best of 3);
- the process's RSS (``VmRSS``) at the end.

A tree is a checkout of the project, e.g. the commit before a change unpacked with
``git archive COMMIT | tar -x -C /tmp/before``.

    .venv/bin/python bench/trace_cost.py /tmp/before . [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import common

_CHILD = r"""
import gc, json, sys, time
from twisted.internet.task import Clock
from cstaserver.api.trace import WireRecorder
from cstaserver.config.model import Limits
from cstaserver.csta.association import WireRole

class Profile:
    name = "xml"
    server_id = "LIM 1 xml"

class Association:
    profile = Profile()
    closed = False
    def __init__(self, number):
        self.id = number
        self.peer = "127.0.0.1:%d" % (40000 + number)

ASSOCIATIONS, MESSAGES, BATCHES = {associations}, {messages}, {batches}
EVENT = (b'<DeliveredEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
         b'<monitorCrossRefID>%d</monitorCrossRefID>')
REQUEST = b'<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callingDevice>%d</callingDevice><calledDirectoryNumber>2000</calledDirectoryNumber></MakeCall>'
ANSWER = b'<?xml version="1.0" encoding="UTF-8"?><MakeCallResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callingDevice><callID>%d</callID></callingDevice></MakeCallResponse>'
PAD = b"x" * 700
clock = Clock()
clock.advance(1_700_000_000)
recorder = WireRecorder(clock, Limits())
peers = [Association(n) for n in range(1, ASSOCIATIONS + 1)]
for peer in peers:
    recorder.opened(peer)

def run(start, count, record=True):
    message = recorder.message if record else (lambda *args: None)
    roles = (WireRole.REQUEST, WireRole.ANSWER, WireRole.EVENT, WireRole.EVENT)
    for n in range(start, start + count):
        clock.advance(0.0001)
        peer = peers[n % ASSOCIATIONS]
        kind = n & 3
        if kind == 0:
            message(peer, roles[0], REQUEST % n, "%04d" % (n % 10000))
        elif kind == 1:
            message(peer, roles[1], ANSWER % n, "%04d" % ((n - 1) % 10000))
        else:
            message(peer, roles[2], EVENT % n + PAD[: 200 + (n * 37) % 400] + b"</DeliveredEvent>", None)

n = 0
while not recorder.full:
    run(n, 10000)
    n += 10000
run(n, n)
n += n
gc.collect()
best = {{"with": float("inf"), "without": float("inf")}}
for _ in range(BATCHES):
    for name in ("without", "with"):
        start = time.thread_time()
        run(n, MESSAGES, record=(name == "with"))
        best[name] = min(best[name], (time.thread_time() - start) / MESSAGES * 1e6)
        n += MESSAGES
collect = float("inf")
for _ in range(3):
    start = time.thread_time()
    gc.collect()
    collect = min(collect, time.thread_time() - start)
rss = 0
with open("/proc/self/status") as status:
    for line in status:
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
print(json.dumps({{
    "us_per_message": best["with"] - best["without"],
    "tracked_objects": len(gc.get_objects()),
    "full_collection_ms": collect * 1e3,
    "rss_bytes": rss,
    "kept": recorder.kept,
    "recorded": n,
}}))
"""


def one(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    code = _CHILD.format(
        associations=args.associations, messages=args.messages, batches=args.batches
    )
    return common.run_in_tree(tree, code, timeout=900)


def main() -> None:
    parser = common.tree_pair_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--associations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
        for name in order:
            started = time.time()
            result = one(getattr(args, name), args)
            result["load"] = os.getloadavg()[0]
            results[name].append(result)
            print(
                f"round {round_ + 1} {name:6}: {result['us_per_message']:.2f} us/message, "
                f"{result['tracked_objects']:,} tracked objects, full collection "
                f"{result['full_collection_ms']:.0f} ms, RSS {result['rss_bytes'] / 2**20:.0f} MiB,"
                f" {result['kept']:,} kept ({time.time() - started:.0f} s, load "
                f"{result['load']:.2f})",
                flush=True,
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
