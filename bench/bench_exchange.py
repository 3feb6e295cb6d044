"""Benchmark (not a test): building the switching model and its memory per device.

Times the construction of the demo switch and of a generated exchange of 10,000
extensions (plan + ``Switch``), and measures the memory the switch holds per device with
tracemalloc. Targets: under 1.5 s, at most 2 kB per device.

    .venv/bin/python bench/bench_exchange.py [--extensions N]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

from twisted.internet.task import Clock

from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.plan import (
    AcdGroup,
    DeviceKind,
    ExchangePlan,
    Extension,
    HuntGroup,
    Lim,
)
from cstaserver.pbx.switch import Switch

KINDS = [k for k in DeviceKind if k.is_extension]


def generated_plan(extensions: int) -> ExchangePlan:
    """``extensions`` extensions of every kind over 4 LIMs, 10 hunt groups, one ACD group."""
    first = 100000
    exts = [
        Extension(
            number=str(first + i),
            kind=KINDS[i % len(KINDS)],
            lim=1 + i % 4,
            name=f"Extension {first + i}",
            terminal=KINDS[i % len(KINDS)] is not DeviceKind.VIRTUAL_EXTENSION,
        )
        for i in range(extensions)
    ]
    hunts = [
        HuntGroup(number=str(20000 + g), members=tuple(str(first + g * 10 + m) for m in range(10)))
        for g in range(10)
    ]
    acd = AcdGroup(
        number="30000",
        agent_ids=tuple(str(50000 + a) for a in range(100)),
        agent_devices=tuple(str(first + a) for a in range(100)),
    )
    return ExchangePlan(
        lims=[Lim(n) for n in range(1, 5)], extensions=exts, hunt_groups=hunts, acd_groups=[acd]
    )


def measure(label: str, build) -> tuple[str, int, float, float]:
    gc.collect()
    start = time.perf_counter()
    switch = build()
    elapsed = time.perf_counter() - start
    del switch
    gc.collect()
    tracemalloc.start()
    switch = build()
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    devices = len(switch.devices())
    return label, devices, elapsed, size / devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extensions", type=int, default=10_000)
    args = parser.parse_args()
    rows = [
        measure("demo switch", lambda: Switch(demo_plan(), Clock())),
        measure(
            f"{args.extensions} extensions",
            lambda: Switch(generated_plan(args.extensions), Clock()),
        ),
    ]
    print(f"{'exchange':<20} {'devices':>8} {'build s':>9} {'bytes/device':>13}")
    for label, devices, elapsed, per_device in rows:
        print(f"{label:<20} {devices:>8} {elapsed:>9.3f} {per_device:>13.0f}")
    _, _, elapsed, per_device = rows[-1]
    verdict = "ok" if elapsed < 1.5 and per_device <= 2048 else "OVER TARGET"
    print(f"targets: build < 1.5 s, <= 2048 bytes/device: {verdict}")


if __name__ == "__main__":
    main()
