"""The cluster against the single process (not a test; docs/performance.md "Cluster"):
the same XML-port load (``xml_load.closed_loop``: MakeCall/ClearCall pairs, N connections x
W outstanding) on the same generated exchange, in the same run:

1. **single**: one ``twistd -n csta`` (everything in one process);
2. **cluster**: a redis-server, one exchange process (``--role exchange``) and two front
   ends (``--role front``), the load's connections split evenly over the two front ends;
3. **added latency**: an open loop at a low rate (``--rate``, far below either's capacity)
   against each, so the p50 difference is what the bus adds to one request (two hops over
   Redis and the JSON of the request, the answer and its events), not queueing.

Every process is a real ``twistd`` started by ``cstaserver.pytest_plugin.start_server`` on
free loopback ports and stopped by its PID in a ``finally``. Results go to
``bench/results/cluster-<date>.json`` and ``.md``. On a 2-core machine the cluster's four
processes share the same two cores as the single process: the ratio shows what splitting
costs per core there, not what more machines would give (docs/cluster.md "Scaling").

    .venv/bin/python bench/cluster.py [--seconds 10] [--connections 10] [--window 4]
        [--rate 200] [--extensions 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import common  # noqa: E402
import xml_load  # noqa: E402
from full_server import prepare_data  # noqa: E402

from cstaserver.cluster.launch import Cluster  # noqa: E402
from cstaserver.pytest_plugin import start_server  # noqa: E402


async def split_closed_loop(ports: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """The closed loop's connections spread over ``ports``, run at the same time, summed."""
    share = max(1, args.connections // len(ports))
    runs = await asyncio.gather(
        *(
            xml_load.closed_loop(
                "127.0.0.1",
                port,
                connections=share,
                window=args.window,
                seconds=args.seconds,
                first_slot=n * share * args.window,
            )
            for n, port in enumerate(ports)
        )
    )
    return {
        "req_per_s": sum(r["req_per_s"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "p50_ms": max(r["latency_all"]["p50_ms"] for r in runs),
        "p99_ms": max(r["latency_all"]["p99_ms"] for r in runs),
        "per_port": runs,
    }


def with_cpu(pids: dict[str, int], run: Any) -> dict[str, Any]:
    """``run()`` (a closed loop) and the CPU time each process spent during it, per request
    answered (µs): what one request costs in all, wherever it runs."""
    before = {name: common.cpu_seconds(pid) for name, pid in pids.items()}
    result = run()
    spent = {name: common.cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    answered = result["req_per_s"] * args_seconds(result)
    result["cpu_us_per_request"] = {
        name: round(seconds / answered * 1e6, 1) for name, seconds in spent.items()
    }
    result["cpu_us_per_request"]["all"] = round(sum(spent.values()) / answered * 1e6, 1)
    return result


def args_seconds(result: dict[str, Any]) -> float:
    return sum(run["measured_s"] for run in result["per_port"]) / len(result["per_port"])


def low_rate(port: int, args: argparse.Namespace) -> dict[str, Any]:
    run = xml_load.measure(
        xml_load.open_loop("127.0.0.1", port, rate=args.rate, seconds=args.seconds, pool=200)
    )
    return {"p50_ms": run["latency_all"]["p50_ms"], "p99_ms": run["latency_all"]["p99_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--extensions", type=int, default=10000)
    args = parser.parse_args()
    results: dict[str, Any] = {"environment": common.environment(), "args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="csta-cluster-bench-") as scratch:
        root = Path(scratch)
        data = root / "prepared"
        prepare_data(data, args.extensions)
        single = start_server(root / "single", data_from=data)
        try:
            results["single"] = with_cpu(
                {"single": single.pid},
                lambda: xml_load.measure(split_closed_loop([single.xml_port], args)),
            )
            results["single_low_rate"] = low_rate(single.xml_port, args)
        finally:
            single.stop()
        cluster = Cluster(root / "cluster")
        try:
            cluster.start(fronts=2, fixed_ports=False, data_from=data)
            ports = [front.xml_port for front in cluster.fronts]
            pids = {"exchange": cluster.exchange.pid, "redis": cluster.redis.pid}  # type: ignore[union-attr]
            pids.update({f"front{n}": f.pid for n, f in enumerate(cluster.fronts, 1)})
            results["cluster"] = with_cpu(
                pids, lambda: xml_load.measure(split_closed_loop(ports, args))
            )
            results["cluster_low_rate"] = low_rate(ports[0], args)
        finally:
            cluster.stop()
    single_r, cluster_r = results["single"], results["cluster"]
    results["ratio"] = cluster_r["req_per_s"] / single_r["req_per_s"]
    added = results["cluster_low_rate"]["p50_ms"] - results["single_low_rate"]["p50_ms"]
    results["added_latency_ms"] = added
    rows = [
        [
            "single process",
            f"{single_r['req_per_s']:,.0f}",
            single_r["p99_ms"],
            results["single_low_rate"]["p50_ms"],
            single_r["errors"],
        ],
        [
            "exchange + 2 front ends",
            f"{cluster_r['req_per_s']:,.0f}",
            cluster_r["p99_ms"],
            results["cluster_low_rate"]["p50_ms"],
            cluster_r["errors"],
        ],
    ]
    table = common.markdown_table(
        ["", "req/s (closed loop)", "p99 ms", f"p50 ms at {args.rate:g}/s", "errors"], rows
    )
    table += (
        f"\n\nratio cluster/single: {results['ratio']:.2f}; "
        f"added latency of the bus per request (p50 at {args.rate:g}/s): {added:.2f} ms\n"
    )
    cpu = results["cluster"]["cpu_us_per_request"]
    table += (
        f"CPU per request (µs, all processes during the closed loop): single process "
        f"{results['single']['cpu_us_per_request']['all']}; cluster {cpu['all']} = "
        + ", ".join(f"{name} {value}" for name, value in cpu.items() if name != "all")
        + "\n"
    )
    print(table)
    common.write_results("cluster", results, table)


if __name__ == "__main__":
    main()
