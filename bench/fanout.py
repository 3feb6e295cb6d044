"""Event fan-out benchmark (not a test): 10,000 monitored devices over 100 connections, calls
generated inside the switch, events/s delivered to the clients and switch-to-client latency.

    .venv/bin/python bench/fanout.py [--devices 10000] [--connections 100] \
        [--rates 100,250,500,750,1000] [--seconds 8] [--ring 0.2] [--talk 0.8]

1. Starts ``xml_server.py --extensions N --control`` (pinned to the first CPU with taskset
   when there are two or more; this process goes to the others).
2. Opens ``--connections`` connections and starts one device monitor (MonitorStart, no
   filter) per extension, device i on connection i mod C, pipelined 50 deep per connection.
3. Turns on the server's event stamps (``time.monotonic()`` taken by a switch subscriber
   registered before the core, keyed by callID, event name and, for ConnectionCleared, the
   releasing device) and then, per step, asks the server for two-party calls between pairs
   of extensions at RATE calls/s for ``--seconds`` (ring ``--ring`` s, talk ``--talk`` s:
   11 events per call reach the clients, as both parties are monitored).
4. The clients note the arrival time and key of every event (invoke ID 9999). At the end
   the server dumps its stamps and each event's latency is arrival - switch stamp (same
   host, both ``CLOCK_MONOTONIC``).

Delivered events/s per step is counted over the steady part of the step (after the first
call's ring + talk time, until the last call is placed). The server is stopped by PID in a
``finally``. Results: ``bench/results/fanout-<date>.json`` and a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

EVENTS_PER_CALL = 11  # both parties monitored: see the module docstring
_RELEASING = b"<releasingDevice>"


class FanoutConnection(asyncio.Protocol):
    def __init__(self, sink: EventSink) -> None:
        self.sink = sink
        self.transport: Any = None
        self.deframer = common.ClientDeframer()
        self.pending: dict[bytes, bytes] = {}  # invoke ID -> device (MonitorStart)
        self.queue: list[str] = []
        self.window = 50
        self.started = 0
        self.failed = 0
        self._next = 0
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"connection lost: {exc}"))

    def start_monitors(self, devices: list[str]) -> None:
        self.queue = list(reversed(devices))
        self._fill()

    def _fill(self) -> None:
        out = []
        while self.queue and len(self.pending) < self.window:
            device = self.queue.pop()
            self._next = self._next % 9998 + 1
            invoke_id = b"%04d" % self._next
            self.pending[invoke_id] = device.encode()
            out.append(common.frame(invoke_id, common.monitor_start(device)))
        if out:
            self.transport.write(b"".join(out))
        if not self.queue and not self.pending and not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        sink = self.sink
        answered = False
        for invoke_id, body in self.deframer.feed(data):
            if invoke_id == common.EVENT_ID:
                sink.event(now, body)
                continue
            if self.pending.pop(invoke_id, None) is not None:
                answered = True
                if b"MonitorStartResponse" in body[:120]:
                    self.started += 1
                else:
                    self.failed += 1
        if answered:
            self._fill()


class EventSink:
    """Arrival time and key of every event, tagged with the step it arrived in."""

    def __init__(self) -> None:
        self.step = -1
        self.arrivals: list[tuple[int, float, str]] = []
        self.unkeyed = 0

    def event(self, now: float, body: bytes) -> None:
        name = common.root_name(body)
        call_id = common.element_text(body, b"callID")
        if call_id is None or not name.endswith(b"Event"):
            self.unkeyed += 1
            return
        device = b""
        if name == b"ConnectionClearedEvent":
            at = body.find(_RELEASING)
            if at >= 0:
                device = common.element_text(body, b"deviceIdentifier", at) or b""
        key = f"{call_id.decode()}|{name[:-5].decode()}|{device.decode()}"
        self.arrivals.append((self.step, now, key))


async def monitor_all(
    port: int, devices: int, connections: int, sink: Any
) -> tuple[list[FanoutConnection], float]:
    """One device monitor (no filter) per extension over ``connections`` connections,
    device i on connection i mod ``connections``, pipelined; every event goes to ``sink``.
    Prints how many started; returns the connections and the seconds it took (at most 120)."""
    loop = asyncio.get_running_loop()
    conns: list[FanoutConnection] = []
    for _ in range(connections):
        _t, proto = await loop.create_connection(lambda: FanoutConnection(sink), "127.0.0.1", port)
        conns.append(proto)
    numbers = [str(common.FIRST_EXTENSION + i) for i in range(devices)]
    t0 = time.monotonic()
    for c, conn in enumerate(conns):
        conn.start_monitors(numbers[c::connections])
    await asyncio.wait_for(asyncio.gather(*(c.done for c in conns)), 120)
    seconds = time.monotonic() - t0
    started = sum(c.started for c in conns)
    refused = sum(c.failed for c in conns)
    print(f"{started} monitors started ({refused} refused) in {seconds:.2f} s", file=sys.stderr)
    return conns, seconds


async def run(args: argparse.Namespace, proc: Any, port: int) -> dict[str, Any]:
    sink = EventSink()
    conns, monitor_seconds = await monitor_all(port, args.devices, args.connections, sink)
    started = sum(c.started for c in conns)
    failed = sum(c.failed for c in conns)

    common.command(proc, "stamps on")
    await common.server_line(proc, "STAMPS", 10)
    steps = []
    for index, rate in enumerate(args.rates):
        sink.step = index
        print(f"step {index}: {rate:g} calls/s for {args.seconds:g} s ...", file=sys.stderr)
        begin = time.monotonic()
        common.command(proc, f"traffic {rate} {args.seconds} {args.ring} {args.talk}")
        done = await common.server_line(proc, "TRAFFIC", args.seconds + args.ring + args.talk + 120)
        finished = time.monotonic()
        await asyncio.sleep(0.5)  # the last events in flight
        counters = dict(kv.split("=") for kv in done.split()[1:])
        steps.append(
            {
                "rate_calls_per_s": rate,
                "begin": begin,
                "steady_from": begin + args.ring + args.talk,
                "steady_to": begin + args.seconds,
                "traffic_end": finished,
                "server": {k: int(v) for k, v in counters.items()},
            }
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stamps.json"
        common.command(proc, f"dump {path}")
        await common.server_line(proc, "DUMPED", 60)
        stamps: dict[str, float] = json.loads(path.read_text())
    for conn in conns:
        conn.transport.close()

    results = []
    for index, step in enumerate(steps):
        latencies = []
        missing = 0
        in_steady = 0
        for s, now, key in sink.arrivals:
            if s != index:
                continue
            if step["steady_from"] <= now < step["steady_to"]:
                in_steady += 1
            stamp = stamps.get(key)
            if stamp is None:
                missing += 1
            else:
                latencies.append(now - stamp)
        steady = step["steady_to"] - step["steady_from"]
        placed = step["server"].get("placed", 0)
        results.append(
            {
                "rate_calls_per_s": step["rate_calls_per_s"],
                "calls_placed": placed,
                "server_counters": step["server"],
                "events_received": len(latencies) + missing,
                "events_expected": placed * EVENTS_PER_CALL,
                "events_per_s": in_steady / steady if steady > 0 else 0.0,
                "offered_events_per_s": step["rate_calls_per_s"] * EVENTS_PER_CALL,
                "unmatched_events": missing,
                "step_wall_s": round(step["traffic_end"] - step["begin"], 3),
                "latency": common.latency_summary(latencies),
            }
        )
    return {
        "devices": args.devices,
        "connections": args.connections,
        "monitors_started": started,
        "monitors_refused": failed,
        "monitor_start_seconds": round(monitor_seconds, 3),
        "monitor_starts_per_s": started / monitor_seconds if monitor_seconds else 0.0,
        "ring_s": args.ring,
        "talk_s": args.talk,
        "unkeyed_events": sink.unkeyed,
        "steps": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--rates", default="100,250,500,750,1000", help="calls/s per step")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--ring", type=float, default=0.2)
    parser.add_argument("--talk", type=float, default=0.8)
    parser.add_argument("--server-gc", choices=("default", "freeze"), default="default")
    parser.add_argument("--no-write", action="store_true", help="do not write results JSON")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]

    prefix, load_cpus = common.cpu_plan()
    pinned = common.pin_self(load_cpus)
    proc = None
    try:
        proc = common.start_process(
            prefix
            + [
                common.PYTHON,
                str(common.HERE / "xml_server.py"),
                "--extensions",
                str(args.devices),
                "--control",
                "--gc",
                args.server_gc,
            ],
            stdin=subprocess.PIPE,
        )
        port = common.read_port(proc)
        gc.disable()  # the measuring client must not pause itself (bounded run)
        try:
            result = asyncio.run(run(args, proc, port))
        finally:
            gc.enable()
    finally:
        common.stop_process(proc)

    rows = []
    met = False
    for step in result["steps"]:
        lat = step["latency"]
        ok = step["events_per_s"] >= 5000 and lat["p99_ms"] < 20
        met = met or ok
        rows.append(
            [
                f"{step['rate_calls_per_s']:g}",
                step["offered_events_per_s"],
                step["events_per_s"],
                f"{step['events_received']}/{step['events_expected']}",
                lat["p50_ms"],
                lat["p99_ms"],
                lat["p99_9_ms"],
                lat["max_ms"],
            ]
        )
    headers = [
        "calls/s",
        "offered ev/s",
        "delivered ev/s",
        "events got/expected",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
    ]
    print()
    print(
        f"{result['monitors_started']} device monitors over {result['connections']} "
        f"connections, started in {result['monitor_start_seconds']:.2f} s "
        f"({result['monitor_starts_per_s']:,.0f} MonitorStart/s)"
    )
    print()
    print(common.markdown_table(headers, rows))
    print()
    print(
        "target (>= 5,000 events/s delivered with p99 < 20 ms in one step): "
        + ("met" if met else "MISSED")
    )
    data = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "server_gc": args.server_gc,
        "target_met": met,
        **result,
    }
    if not args.no_write:
        path = common.write_results("fanout", data)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
