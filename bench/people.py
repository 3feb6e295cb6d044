"""Benchmark (not a test): the simulated people, in process, on a task.Clock.

- ``traffic``: a traffic run with a mixed profile (answer 50 %, busy 20 %, no answer 10 %,
  abandon 20 %) on a generated exchange; CPU seconds per call offered (every call placed,
  rung, answered or not, cleared), and the outcome counts.
- ``subscriber``: what the behaviour profiles cost every call: MakeCall + answer + ClearCall
  pairs on the switch alone, with a Simulator (its people subscribed, wanting Delivered only
  while someone has a profile) and no profile, and with every extension given a profile
  (``answer`` after 1 s).
- ``digits``: dialling key by key on an exchange of N extensions (each digit is analysed
  against the numbering plan).

    .venv/bin/python bench/people.py [--extensions N] [--calls N]
"""

from __future__ import annotations

import argparse
import time

from twisted.internet.task import Clock

from bench.common import FIRST_EXTENSION, generated_plan, markdown_table
from cstaserver.pbx.behaviour import Behaviour
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch
from cstaserver.pbx.traffic import TrafficProfile

MIX = TrafficProfile(answer=0.5, busy=0.2, no_answer=0.1, abandon=0.2, ring=(2, 6), talk=(10, 60))


def traffic(extensions: int, calls: int) -> list[object]:
    clock = Clock()
    switch = Switch(generated_plan(extensions), clock)
    sim = Simulator(switch)
    rate = 20.0
    seconds = calls / rate
    start = time.process_time()
    run = sim.traffic(rate, seconds, seed=1, profile=MIX)
    steps = int(seconds * 20) + 1
    for _ in range(steps):  # 50 ms steps while calls arrive
        clock.advance(0.05)
    for _ in range(200):  # then until every call ended (alerting time-out 60 s)
        clock.advance(1.0)
    cpu = time.process_time() - start
    assert run.in_progress == 0, run.summary()
    per_call = cpu / max(run.offered, 1) * 1e6
    return [
        "traffic run, mixed profile",
        f"{run.offered} calls",
        f"{per_call:.0f} us CPU per call",
        run.summary(),
    ]


def _pairs(switch: Switch, pairs: int) -> float:
    start = time.process_time()
    for i in range(pairs):
        a = str(FIRST_EXTENSION + 2 * (i % 500))
        b = str(FIRST_EXTENSION + 2 * (i % 500) + 1)
        call_id, _ = switch.make_call(a, b)
        switch.answer_call(call_id, b)
        switch.clear_call(call_id)
    return (time.process_time() - start) / pairs * 1e6


def subscriber(extensions: int, pairs: int) -> list[list[object]]:
    rows: list[list[object]] = []
    for label, people, profiles in (
        ("switch alone", False, False),
        ("with the simulator, no profile", True, False),
        ("with a profile on every extension", True, True),
    ):
        switch = Switch(generated_plan(extensions), Clock())
        if people:
            sim = Simulator(switch)
            if profiles:
                for info in switch.devices():
                    if info.is_extension and info.terminal:
                        sim.behave(info.number, Behaviour("answer", after=1))
        _pairs(switch, 200)  # warm up
        rows.append([label, f"{pairs} pairs", f"{_pairs(switch, pairs):.1f} us per pair", ""])
    return rows


def digits(extensions: int, dials: int) -> list[object]:
    clock = Clock()
    switch = Switch(generated_plan(extensions), clock)
    sim = Simulator(switch)
    a = str(FIRST_EXTENSION)
    b = str(FIRST_EXTENSION + 1)
    start = time.process_time()
    for _ in range(dials):
        call_id = sim.dial(a, b)
        switch.clear_call(call_id)
    cpu = time.process_time() - start
    per_digit = cpu / (dials * len(b)) * 1e6
    return [
        f"dialling key by key, {extensions} extensions",
        f"{dials} calls of {len(b)} digits",
        f"{per_digit:.0f} us per digit",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=5_000)
    args = parser.parse_args()
    rows = [traffic(args.extensions, args.calls)]
    rows += subscriber(args.extensions, args.calls)
    rows.append(digits(args.extensions, min(args.calls, 1000)))
    print(markdown_table(["what", "size", "cost", "outcome"], rows))


if __name__ == "__main__":
    main()
