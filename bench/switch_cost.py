"""The switch's own CPU time per MakeCall + ClearCall pair (not a test), two trees alternating.

What ``bench/cpu_pairs.py`` measures through the CSTA core and the XML port, narrowed to the
switching model (``Switch.make_call`` then ``Switch.clear_call``, 10,000 generated
extensions, 200 caller/called pairs), so that a change of a microsecond or less per request
shows above the run-to-run spread. Two clocks:

- ``clock``: ``twisted.internet.task.Clock``, each call cleared right after it is made (the
  in-process bench's shape);
- ``skippable``: the product's ``SkippableClock`` over a ``task.Clock``, 40 calls in
  progress (the closed loop's 10 connections x 4), the oldest cleared as each is made, the
  reactor 0.1 ms on per pair (so the alerting timers come and go as under load).

Each figure is the best of ``--batches`` batches of ``--pairs`` pairs (thread CPU time) in a
child process on that tree, the trees in alternating order per round:

    .venv/bin/python bench/switch_cost.py /tmp/before . [--rounds 3]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import common

_CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
import common
from twisted.internet.task import Clock
from cstaserver.pbx.clock import SkippableClock
from cstaserver.pbx.switch import Switch

pairs = [common.pair(i) for i in range(200)]


def cost(skippable):
    base = Clock()
    base.advance(1000)
    clock = SkippableClock(base) if skippable else base
    switch = Switch(common.generated_plan(10000), clock)
    live = []
    keep = 40 if skippable else 0

    def batch(n):
        start = time.thread_time()
        for i in range(n):
            calling, called = pairs[i % 200]
            call_id, _ = switch.make_call(
                calling, called, auto_originate=True, correlator_data=None, user_data=None
            )
            live.append(call_id)
            if len(live) > keep:
                switch.clear_call(live.pop(0))
            if skippable:
                base.advance(0.0001)
        return (time.thread_time() - start) / n * 1e6

    batch(2000)
    return min(batch({pairs}) for _ in range({batches}))


print(json.dumps({{"clock": cost(False), "skippable": cost(True)}}))
"""


def measure(tree: Path, pairs: int, batches: int) -> dict[str, float]:
    code = _CHILD.format(bench=str(tree / "bench"), pairs=pairs, batches=batches)
    return common.run_in_tree(tree, code)


def main() -> None:
    parser = common.tree_pair_parser(__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=7)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for round_ in range(args.rounds):
        for name in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            got = measure(trees[name], args.pairs, args.batches)
            print(
                f"{name}: switch per MakeCall + ClearCall pair: task.Clock {got['clock']:.2f} us, "
                f"SkippableClock with 40 calls up {got['skippable']:.2f} us; "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
