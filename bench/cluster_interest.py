"""Benchmark (not a test): the exchange process's CPU per call nobody monitors, for two
source trees in alternating pairs (docs/performance.md, "The cluster exchange's interest").

In process, one core: an exchange (``cluster.exchange.ExchangeServer``) and a front end over
the in-process bus, a client of the front end monitoring 1001; then calls 1002 -> 1003
(made, answered, cleared on the exchange's switch, as its simulated people or traffic do),
which no front end monitors. The figure is the thread's CPU time per call, best of the
batches, in a child process on each tree (``PYTHONPATH``), the trees' order alternating
between rounds.

    .venv/bin/python bench/cluster_interest.py /tmp/before . [--rounds 3]
"""

from __future__ import annotations

from pathlib import Path

import common

_CHILD = """
import json, time
from twisted.internet.task import Clock
from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.csta.core import CstaCore
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.testing import FakeTransport

clock = Clock()
broker = LocalBroker(clock)
switch = Switch(demo_plan(), clock)
sim = Simulator(switch)
server = ExchangeServer(LocalBus(clock, broker, node_id="x"), CstaCore(switch, clock), clock=clock)
server.start()
remote = RemoteSwitch(LocalBus(clock, broker, node_id="f"), Switch(demo_plan(), clock), clock=clock)
front = CstaCore(remote, clock, services=front_services(remote))
client = FakeTransport()
client.associate(front)

def settle():
    for _ in range(200):
        if not any(c.getTime() <= clock.seconds() for c in clock.getDelayedCalls()):
            return
        clock.advance(0)

client.receive(
    "<MonitorStart xmlns='http://www.ecma-international.org/standards/ecma-323/csta/ed3'>"
    "<monitorObject><deviceObject>1001</deviceObject></monitorObject></MonitorStart>"
)
settle()
assert len(remote.channels) == 1, remote.channels

def calls(n):
    for _ in range(n):
        call, _ = switch.make_call("1002", "1003")
        sim.answer("1003")
        switch.clear_call(call)
        settle()

calls(200)
best = None
for _ in range({batches}):
    start = time.thread_time()
    calls({calls})
    spent = (time.thread_time() - start) / {calls} * 1e6
    best = spent if best is None else min(best, spent)
print(json.dumps({{"cpu_us_per_call": best}}))
"""


def one(tree: Path, batches: int, calls: int) -> float:
    code = _CHILD.format(batches=batches, calls=calls)
    return float(common.run_in_tree(tree, code)["cpu_us_per_call"])


def main() -> None:
    parser = common.tree_pair_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    trees = {"before": options.before.resolve(), "after": options.after.resolve()}
    results: dict[str, list[float]] = {"before": [], "after": []}
    for number in range(options.rounds):
        order = ["before", "after"] if number % 2 == 0 else ["after", "before"]
        for name in order:
            results[name].append(one(trees[name], options.batches, options.calls))
            print(f"round {number + 1} {name}: {results[name][-1]:.1f} us per call", flush=True)
    for name, values in results.items():
        print(
            f"{name}: {', '.join(f'{v:.1f}' for v in values)} us per call (best {min(values):.1f})"
        )


if __name__ == "__main__":
    main()
