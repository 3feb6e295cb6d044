"""The data directory (not a test): what the bounds on ``exchange.json`` cost and leave room
for, and how fast a corrupt file is refused.

    .venv/bin/python bench/datadir.py [--extensions 10000,50000,150000] [--runs 3]

1. Size and load time (``DataDirectory.load``: read, parse, check) of ``exchange.json`` for
   the demo and for generated exchanges of the given sizes, against the 64 MiB read bound
   (``MAX_EXCHANGE_BYTES``). Target: 150,000 extensions fit under the bound.
2. Time to refuse each corrupt file that used to hang or crash the start-up: a FIFO, a link
   to ``/dev/zero``, a 5,000-digit number, a file just over the bound (sparse). Target: each
   under 10 ms (a refusal reads nothing it does not have to).
3. The server lock: ``ServerLock.acquire`` + ``release`` and a console command's ``probe``,
   per call. Target: under 1 ms (a console command pays it once).

Everything runs in a fresh temporary directory, removed at the end. Writes
``bench/results/datadir-<date>.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import attrs  # noqa: E402
import common  # noqa: E402

from cstaserver.config import ConfigError, DataDirectory, demo_exchange_data  # noqa: E402
from cstaserver.config.serverlock import ServerLock, probe  # noqa: E402
from cstaserver.config.store import MAX_EXCHANGE_BYTES  # noqa: E402

FIT_TARGET = 150_000
REFUSAL_TARGET_S = 0.010
LOCK_TARGET_S = 0.001


def _best(runs: int, action: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def sizes(base: Path, counts: list[int], runs: int) -> list[dict[str, Any]]:
    rows = []
    exchanges = [("demo", demo_exchange_data())]
    for count in counts:
        data = demo_exchange_data()
        plan = common.generated_plan(count)  # one LIM: keep the CSTA servers of LIM 1
        data.plan = attrs.evolve(plan, network=attrs.evolve(plan.network, trunk_count=30))
        data.csta_servers = [server for server in data.csta_servers if server.lim == 1]
        exchanges.append((f"{count} extensions", data))
    for name, data in exchanges:
        directory = DataDirectory(base / name.replace(" ", "-"))
        directory.save(data)
        size = directory.exchange_file.stat().st_size
        seconds = _best(runs, directory.load)
        extensions = len(data.plan.extensions)
        rows.append(
            {
                "exchange": name,
                "extensions": extensions,
                "bytes": size,
                "bytes_per_extension": round(size / extensions),
                "load_s": round(seconds, 4),
                "share_of_bound": round(size / MAX_EXCHANGE_BYTES, 4),
            }
        )
        shutil.rmtree(directory.path)
    return rows


def refusals(base: Path, runs: int) -> list[dict[str, Any]]:
    demo = DataDirectory(base / "demo")
    demo.save(demo_exchange_data())
    text = demo.exchange_file.read_text()

    def fifo(path: Path) -> None:
        os.mkfifo(path)

    def dev_zero(path: Path) -> None:
        path.symlink_to("/dev/zero")

    def digits(path: Path) -> None:
        path.write_text(text.replace('"max_sessions": 1000', '"max_sessions": ' + "9" * 5000))

    def oversized(path: Path) -> None:
        with open(path, "wb") as stream:
            stream.truncate(MAX_EXCHANGE_BYTES + 1)

    rows = []
    for name, make in (
        ("FIFO", fifo),
        ("link to /dev/zero", dev_zero),
        ("5000-digit number", digits),
        ("64 MiB + 1 byte", oversized),
    ):
        directory = DataDirectory(base / name.replace(" ", "-").replace("/", ""))
        directory.path.mkdir()
        make(directory.exchange_file)
        problems: list[str] = []

        def load(directory: DataDirectory = directory, problems: list[str] = problems) -> None:
            try:
                directory.load()
            except ConfigError as e:
                problems.append(e.problem)

        seconds = _best(runs, load)
        rows.append({"file": name, "refused_s": round(seconds, 5), "problem": problems[0]})
    return rows


def locking(base: Path, runs: int) -> dict[str, float]:
    directory = base / "lock"
    directory.mkdir()
    count = 1000

    def acquire() -> None:
        for _ in range(count):
            ServerLock.acquire(directory, wait=0).release()

    def probed() -> None:
        for _ in range(count):
            with probe(directory):
                pass

    return {
        "acquire_release_s": _best(runs, acquire) / count,
        "probe_s": _best(runs, probed) / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extensions", default="10000,50000,150000")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    counts = [int(n) for n in options.extensions.split(",") if n]
    base = Path(tempfile.mkdtemp(prefix="csta-datadir-"))
    try:
        size_rows = sizes(base, counts, options.runs)
        refusal_rows = refusals(base, options.runs)
        lock = locking(base, options.runs)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"exchange.json against the {MAX_EXCHANGE_BYTES} byte bound:")
    for row in size_rows:
        print(
            f"  {row['exchange']:>20}: {row['bytes']:>10} bytes "
            f"({row['bytes_per_extension']} per extension, {row['share_of_bound']:.1%} of the "
            f"bound), load {row['load_s']:.3f} s"
        )
    print("refusals:")
    for row in refusal_rows:
        print(f"  {row['file']:>20}: {row['refused_s'] * 1000:.2f} ms  ({row['problem']})")
    print(
        f"lock: acquire+release {lock['acquire_release_s'] * 1e6:.1f} us, "
        f"probe {lock['probe_s'] * 1e6:.1f} us"
    )
    largest = max(size_rows, key=lambda row: row["extensions"])
    fits = largest["extensions"] >= FIT_TARGET and largest["share_of_bound"] <= 1
    quick = all(row["refused_s"] < REFUSAL_TARGET_S for row in refusal_rows)
    cheap = max(lock.values()) < LOCK_TARGET_S
    print(
        f"targets: {FIT_TARGET} extensions fit {'met' if fits else 'NOT met'}; "
        f"refusals < {REFUSAL_TARGET_S * 1000:.0f} ms {'met' if quick else 'NOT met'}; "
        f"lock < {LOCK_TARGET_S * 1000:.0f} ms {'met' if cheap else 'NOT met'}"
    )
    path = common.write_results(
        "datadir",
        {
            "bound_bytes": MAX_EXCHANGE_BYTES,
            "sizes": size_rows,
            "refusals": refusal_rows,
            "lock": lock,
            "targets_met": {"fit": fits, "refusals": quick, "lock": cheap},
            "environment": common.environment(),
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
