"""Memory benchmark (not a test): the server's resident memory per device, per idle
TCP connection, per idle TLS connection, per ECMA-354 session and per device monitor.

    .venv/bin/python bench/memory.py [--connections 1000] [--monitors 10000]

All figures are deltas of the server process's ``VmRSS`` (``/proc/<pid>/status``) read
from outside, each after the server has been idle for a second and has run a full
collection (``gc`` command of ``bench/full_server.py``):

- per device: RSS of the composed server on 10,000 generated extensions minus that on 1,000,
  over 9,000 (the whole server: switch, plan, core; freshly started both), plus the switch's
  own figure from ``bench_exchange.py`` (tracemalloc) for comparison;
- per TCP / TLS connection: ``--connections`` idle connections to the XML port / TLS port,
  each having sent one RequestSystemStatus and read its answer (so the TLS handshake is done
  and the association exists); (RSS with them - RSS before) / N. Target <= 30 kB (TCP),
  <= 100 kB (TLS). Then the connections are closed and RSS is read again, and a second
  wave of N is opened and closed (RSS must not grow again: memory is reused, not leaked);
  each kind on a freshly started server;
- per ECMA-354 session: the same over plain TCP, each connection also starting a session;
- per monitor: ``--monitors`` device monitors (one per extension) over 100 connections;
  (RSS with them - RSS with the 100 bare connections) / N.

Writes ``bench/results/memory-<date>.json`` and prints a Markdown table. Every server is
stopped by its PID on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402

KB = 1024
TARGETS = {"tcp": 30 * KB, "tls": 100 * KB, "device": 2 * KB}


async def open_many(port: int, n: int, *, tls: Any = None, session: bool = False) -> list:
    """``n`` connections (50 handshakes in flight at most), each with one answered request."""
    limit = asyncio.Semaphore(50)

    async def one() -> clients.XmlClient:
        async with limit:
            client = await clients.connect(port, tls=tls)
            if session:
                await client.start_session()
            else:
                await client.request(clients.system_status())
            return client

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def close_all(conns: list) -> None:
    for client in conns:
        client.close()
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), 60)


async def per_connection(server: clients.FullServer, n: int, kind: str) -> dict[str, Any]:
    port = server.ports["tls" if kind == "tls" else "xml"]
    tls = clients.client_tls() if kind == "tls" else None
    before = await clients.settle_rss(server)
    conns = await open_many(port, n, tls=tls, session=kind == "session")
    stats = await server.astats()
    during = await clients.settle_rss(server)
    await close_all(conns)
    after = await clients.settle_rss(server, seconds=2.0)
    # a second wave: memory the first one left behind must be reused, not added to
    conns = await open_many(port, n, tls=tls, session=kind == "session")
    await close_all(conns)
    after_second = await clients.settle_rss(server, seconds=2.0)
    return {
        "connections": n,
        "server_associations": stats["associations"],
        "server_sessions": stats["sessions"],
        "server_fds": stats["fds"],
        "rss_before": before,
        "rss_with": during,
        "rss_after_close": after,
        "rss_after_second_wave": after_second,
        "bytes_per_connection": (during - before) / n,
        "not_returned_per_connection": (after - before) / n,
    }


async def per_monitor(server: clients.FullServer, n: int, connections: int) -> dict[str, Any]:
    conns = await open_many(server.ports["xml"], connections)
    before = await clients.settle_rss(server)
    devices = [str(common.FIRST_EXTENSION + i) for i in range(n)]

    async def monitor_all(client: clients.XmlClient, mine: list[str]) -> None:
        for start in range(0, len(mine), 50):  # 50 in flight per connection
            await asyncio.gather(*(client.monitor(d) for d in mine[start : start + 50]))

    await asyncio.gather(*(monitor_all(c, devices[i::connections]) for i, c in enumerate(conns)))
    stats = await server.astats()
    during = await clients.settle_rss(server)
    await close_all(conns)
    after = await clients.settle_rss(server, seconds=2.0)
    return {
        "monitors": stats["monitors"],
        "connections": connections,
        "rss_before": before,
        "rss_with": during,
        "rss_after_close": after,
        "bytes_per_monitor": (during - before) / max(1, stats["monitors"]),
    }


async def idle_rss(extensions: int, prefix: list[str]) -> int:
    with clients.FullServer(extensions, prefix) as server:
        return await clients.settle_rss(server)


def tracemalloc_per_device(extensions: int) -> float:
    """``bench_exchange.py``'s figure: the switch alone, tracemalloc."""
    import bench_exchange
    from twisted.internet.task import Clock

    from cstaserver.pbx.switch import Switch

    _label, _devices, _elapsed, per_device = bench_exchange.measure(
        "generated", lambda: Switch(bench_exchange.generated_plan(extensions), Clock())
    )
    return per_device


async def run_async(args: argparse.Namespace, prefix: list[str]) -> dict[str, Any]:
    small, large = 1_000, args.extensions
    rss_small = await idle_rss(small, prefix)
    rss_large = await idle_rss(large, prefix)
    result: dict[str, Any] = {
        "device": {
            "extensions": [small, large],
            "rss": [rss_small, rss_large],
            "bytes_per_device": (rss_large - rss_small) / (large - small),
        }
    }
    for kind in ("tcp", "tls", "session"):  # a fresh server each: no memory left by another
        print(f"{args.connections} idle {kind} connections ...", file=sys.stderr)
        with clients.FullServer(large, prefix) as server:
            result[kind] = await per_connection(server, args.connections, kind)
    print(f"{args.monitors} monitors ...", file=sys.stderr)
    with clients.FullServer(large, prefix) as server:
        result["monitor"] = await per_monitor(server, args.monitors, 100)
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix, load_cpus = common.cpu_plan()
    common.pin_self(load_cpus)
    result = asyncio.run(run_async(args, prefix))
    result["device"]["tracemalloc_switch_bytes_per_device"] = tracemalloc_per_device(
        args.extensions
    )
    targets = {
        "tcp_le_30kB": result["tcp"]["bytes_per_connection"] <= TARGETS["tcp"],
        "tls_le_100kB": result["tls"]["bytes_per_connection"] <= TARGETS["tls"],
        "device_le_2kB": result["device"]["bytes_per_device"] <= TARGETS["device"],
    }
    return {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "targets": targets,
        **result,
    }


def report(data: dict[str, Any]) -> str:
    def kb(x: float) -> str:
        return f"{x / KB:,.1f} kB"

    def verdict(key: str) -> str:
        return "met" if data["targets"][key] else "MISSED"

    d = data["device"]
    rows = [
        [
            "per device (RSS, 10,000 vs 1,000 ext.)",
            f"{d['bytes_per_device']:,.0f} B",
            "≤ 2 kB",
            verdict("device_le_2kB"),
        ],
        [
            "per device (switch only, tracemalloc)",
            f"{d['tracemalloc_switch_bytes_per_device']:,.0f} B",
            "≤ 2 kB",
            "",
        ],
    ]
    for kind, label, key in (
        ("tcp", "per idle TCP connection", "tcp_le_30kB"),
        ("tls", "per idle TLS connection", "tls_le_100kB"),
        ("session", "per TCP connection + ECMA-354 session", None),
    ):
        r = data[kind]
        rows.append(
            [
                f"{label} ({r['connections']:,})",
                kb(r["bytes_per_connection"]),
                "≤ 30 kB" if kind == "tcp" else "≤ 100 kB" if kind == "tls" else "",
                verdict(key) if key else "",
            ]
        )
    m = data["monitor"]
    rows.append(
        [f"per device monitor ({m['monitors']:,})", f"{m['bytes_per_monitor']:,.0f} B", "", ""]
    )
    table = common.markdown_table(["what", "figure", "target", ""], rows)
    notes = [
        f"{kind}: RSS {kb(data[kind]['rss_before'])} -> {kb(data[kind]['rss_with'])} with, "
        f"{kb(data[kind]['rss_after_close'])} after closing, "
        f"{kb(data[kind]['rss_after_second_wave'])} after a second wave opened and closed"
        for kind in ("tcp", "tls", "session")
    ]
    return table + "\n\n" + "\n".join(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = run(args)
    print()
    print(report(data))
    if not args.no_write:
        path = common.write_results("memory", data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
