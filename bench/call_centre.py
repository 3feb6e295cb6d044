"""Call-centre benchmark (not a test): ACD groups routed by the application over the XML
port, 1,000 agents, 10,000 monitored devices, outside calls at a fixed rate; latency from
the call's arrival (the switch's Queued) to the agent's DeliveredEvent at its monitor, and
a count of every step so that nothing is lost unnoticed.

    .venv/bin/python bench/call_centre.py [--seconds 60] [--rate 100] [--groups 10] \
        [--agents-per-group 100] [--devices 10000] [--connections 100] [--ring 0.2] \
        [--talk 5] [--server-gc freeze] [--name call-centre]

1. Starts ``xml_server.py --extensions N --groups G --agents-per-group A --control``: a
   generated exchange (``common.generated_plan``) whose G ACD groups (90000 ..) are routed
   by the application (``GroupRouting.APPLICATION``: every call waits Queued), group g with
   the A agent positions 10000 + g*A .. and agent IDs 500000 + g*A .. (pinned to the first
   CPU with taskset when there are two or more; this process goes to the others).
2. Opens ``--connections`` connections and monitors every extension (device i on connection
   i mod C, as ``fanout.py`` does), so each agent's events reach a client.
3. An agent desktop connection logs every agent on at its position (SetAgentState loggedOn
   with agentID and group) and makes it ready.
4. The routeing application: one more connection, RouteRegister per group (routeingDevice =
   the group). It keeps a free list per group (the agents in the order they became free:
   the longest free first). For each RouteRequest it answers RouteSelectRequest
   (crossRefIdentifier, routeSelected = the first free agent; no routeUsedReq, so only the
   RouteEndRequest follows); an agent is busy from its selection until the CallClearedEvent
   of its call reaches the agent's monitor. With no free agent the request waits for one;
   a ReRouteRequest (the agent was busy after all) puts that agent back at the end of the
   list and selects another.
5. Turns the server's event stamps on and asks it for outside calls to the groups in turn
   (``centre RATE SECONDS RING TALK``): each call comes in from its own outside number over
   a trunk, is answered by the agent RING s after it is Delivered there and cleared by the
   caller TALK s later (``xml_server.GroupTraffic``).

Latency: the switch stamps ``time.monotonic()`` of each call's Queued event (the recorder is
subscribed before the core) and of the agent's Delivered; the clients note the arrival of
the RouteRequest, the sending of the RouteSelect and the arrival of the DeliveredEvent at the
agent's monitor (same host, one ``CLOCK_MONOTONIC``). Reported: Queued -> DeliveredEvent at
the client (the target: p99 < 20 ms), and its four legs; the server's CPU time and the
time it was runnable but waited for its CPU (other load; both from ``/proc``) and its
garbage-collector pauses (``gcstats``) over the traffic period.

Nothing lost: per call offered (the server's list of the calls it placed) a Queued, a
RouteRequest, a RouteSelect, a Delivered at the selected agent in the switch and the
DeliveredEvent at that agent's monitor; RouteEnd (normal) per successful select; every
mismatch is counted. The server is stopped by its PID in a ``finally``; results in
``bench/results/<name>-<date>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import common  # noqa: E402
from fanout import monitor_all  # noqa: E402

NS = common.NS
_ROUTEING_DEVICE = b"<routeingDevice>"
_ALERTING_DEVICE = b"<alertingDevice>"
_DEVICE_ID = b"deviceIdentifier"


def route_register(group: str) -> bytes:
    return (
        f'<RouteRegister xmlns="{NS}"><routeingDevice>{group}</routeingDevice></RouteRegister>'
    ).encode()


def route_select(cross_ref: str, destination: str) -> bytes:
    return (
        f'<RouteSelectRequest xmlns="{NS}"><crossRefIdentifier>{cross_ref}</crossRefIdentifier>'
        f"<routeSelected>{destination}</routeSelected></RouteSelectRequest>"
    ).encode()


def set_agent_state(device: str, state: str, agent_id: str = "", group: str = "") -> bytes:
    extra = f"<agentID>{agent_id}</agentID><group>{group}</group>" if agent_id else ""
    return (
        f'<SetAgentState xmlns="{NS}"><device>{device}</device>'
        f"<requestedAgentState>{state}</requestedAgentState>{extra}</SetAgentState>"
    ).encode()


def _text(body: bytes, tag: bytes, start: int = 0) -> str:
    value = common.element_text(body, tag, start)
    return value.decode() if value is not None else ""


class Router:
    """The routeing application (see the module docstring, step 4)."""

    def __init__(self, agents: dict[str, list[tuple[str, str]]]) -> None:
        self.client: clients.XmlClient | None = None
        self.free = {
            g: collections.deque(d for d, _ in positions) for g, positions in agents.items()
        }
        self.waiting: dict[str, collections.deque[tuple[str, str]]] = {
            g: collections.deque() for g in agents
        }
        self.dialogues: dict[str, tuple[str, str]] = {}  # crossRef -> (group, call ID)
        self.busy: dict[str, tuple[str, str]] = {}  # call ID -> (group, agent)
        self.request_at: dict[str, float] = {}  # call ID -> first RouteRequest's arrival
        self.select_at: dict[str, float] = {}  # call ID -> last RouteSelect sent
        self.selected: dict[str, str] = {}  # call ID -> agent (the last selection)
        self.counts: collections.Counter[str] = collections.Counter()
        self.errors: list[str] = []

    def on_message(self, now: float, body: bytes) -> None:
        name = common.root_name(body)
        counts = self.counts
        if name == b"RouteRequest":
            counts["route_requests"] += 1
            cross_ref = _text(body, b"crossRefIdentifier")
            call_id = _text(body, b"callID")
            group = _text(body, _DEVICE_ID, body.find(_ROUTEING_DEVICE))
            if call_id in self.request_at:
                # the call came back to the queue (its agent let it ring): that agent is
                # off the call (the exchange made it not ready; this router keeps it)
                counts["route_requests_again"] += 1
                entry = self.busy.pop(call_id, None)
                if entry is not None:
                    self.free[entry[0]].append(entry[1])
            else:
                self.request_at[call_id] = now
            if group not in self.free:
                counts["route_requests_unknown_group"] += 1
                return
            self.dialogues[cross_ref] = (group, call_id)
            self._select(cross_ref, group, call_id)
        elif name == b"ReRouteRequest":
            counts["reroutes"] += 1
            cross_ref = _text(body, b"crossRefIdentifier")
            dialogue = self.dialogues.get(cross_ref)
            if dialogue is None:
                counts["reroutes_unknown"] += 1
                return
            group, call_id = dialogue
            entry = self.busy.pop(call_id, None)
            if entry is not None:
                self.free[group].append(entry[1])  # busy for a reason of its own: last
            self._select(cross_ref, group, call_id)
        elif name == b"RouteEndRequest":
            dialogue = self.dialogues.pop(_text(body, b"crossRefIdentifier"), None)
            if b"<errorValue>" in body:
                counts["route_ends_with_error"] += 1
                if dialogue is not None and len(self.errors) < 20:
                    self.errors.append(body.decode(errors="replace")[:400])
            else:
                counts["route_ends"] += 1
        else:
            counts["other_messages"] += 1

    def on_unmatched(self, invoke_id: bytes, body: bytes) -> None:
        """An answer to a RouteSelect: only errors are answered."""
        self.counts["select_errors"] += 1
        if len(self.errors) < 20:
            self.errors.append(body.decode(errors="replace")[:400])

    def _select(self, cross_ref: str, group: str, call_id: str) -> None:
        free = self.free[group]
        if not free:
            self.counts["waited_for_agent"] += 1
            self.waiting[group].append((cross_ref, call_id))
            return
        agent = free.popleft()
        self.busy[call_id] = (group, agent)
        self.selected[call_id] = agent
        self.select_at[call_id] = time.monotonic()
        assert self.client is not None
        self.client.post(route_select(cross_ref, agent))
        self.counts["selects"] += 1

    def call_cleared(self, call_id: str) -> None:
        """The agent's call is over: the agent is free again (and serves a waiting call)."""
        entry = self.busy.pop(call_id, None)
        if entry is None:
            return
        group, agent = entry
        self.free[group].append(agent)
        waiting = self.waiting[group]
        while waiting and self.free[group]:
            cross_ref, waiting_call = waiting.popleft()
            if cross_ref in self.dialogues:  # else its RouteEnd came meanwhile
                self._select(cross_ref, group, waiting_call)


class AgentSink:
    """Events of the 10,000 device monitors: the agents' Delivered and CallCleared."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.delivered_at: dict[str, float] = {}
        self.counts: collections.Counter[str] = collections.Counter()

    def event(self, now: float, body: bytes) -> None:
        self.counts["events"] += 1
        name = common.root_name(body)
        if name == b"DeliveredEvent":
            call_id = _text(body, b"callID")
            agent = self.router.selected.get(call_id)
            if agent is None:
                self.counts["delivered_unrouted"] += 1
                return
            if call_id in self.delivered_at:
                self.counts["delivered_again"] += 1
                return
            self.delivered_at[call_id] = now
            if _text(body, _DEVICE_ID, body.find(_ALERTING_DEVICE)) != agent:
                self.counts["delivered_elsewhere"] += 1
        elif name == b"CallClearedEvent":
            self.router.call_cleared(_text(body, b"callID"))


async def _batched(
    client: clients.XmlClient, bodies: list[bytes], window: int = 100
) -> list[bytes]:
    answers: list[bytes] = []
    for i in range(0, len(bodies), window):
        answers += await asyncio.gather(*(client.request(b) for b in bodies[i : i + window]))
    return answers


async def run(args: argparse.Namespace, proc: Any, port: int) -> dict[str, Any]:
    agents = common.acd_group_agents(args.groups, args.agents_per_group)
    router = Router(agents)
    sink = AgentSink(router)

    # 10,000 device monitors over 100 connections (as fanout.py)
    conns, monitor_seconds = await monitor_all(port, args.devices, args.connections, sink)
    monitors = sum(c.started for c in conns)
    refused = sum(c.failed for c in conns)

    # the agents log on and are made ready (their desktop application)
    desktop = await clients.connect(port)
    logon = [
        set_agent_state(device, "loggedOn", agent_id, group)
        for group, positions in agents.items()
        for device, agent_id in positions
    ]
    ready = [
        set_agent_state(device, "ready") for positions in agents.values() for device, _ in positions
    ]
    answers = await _batched(desktop, logon) + await _batched(desktop, ready)
    agent_refusals = sum(b"SetAgentStateResponse" not in a[:200] for a in answers)
    if agent_refusals:
        raise RuntimeError(f"{agent_refusals} SetAgentState refused, e.g. {answers[0][:300]!r}")

    # the routeing application
    router.client = await clients.connect(
        port, on_event=router.on_message, on_unmatched=router.on_unmatched
    )
    registrations = {}
    for group in agents:
        answer = await router.client.request(route_register(group))
        register_id = common.element_text(answer, b"routeRegisterReqID")
        if register_id is None:
            raise RuntimeError(f"RouteRegister {group} refused: {answer[:300]!r}")
        registrations[group] = register_id.decode()
    await asyncio.sleep(1.0)  # the agents' log-on events drain
    events_before = sink.counts["events"]
    print(
        f"{sum(len(p) for p in agents.values())} agents ready in {len(agents)} groups, "
        f"routeing application registered",
        file=sys.stderr,
    )

    common.command(proc, "stamps on")
    await common.server_line(proc, "STAMPS", 10)
    print(
        f"{args.rate:g} calls/s for {args.seconds:g} s (ring {args.ring:g} s, talk {args.talk:g} s)",
        file=sys.stderr,
    )
    common.command(proc, "gcstats reset")
    await common.server_line(proc, "GCSTATS", 10)
    cpu0, wait0, wall0 = (
        common.cpu_seconds(proc.pid),
        common.run_queue_seconds(proc.pid),
        time.monotonic(),
    )
    common.command(
        proc, f"centre {args.rate} {args.seconds} {args.ring} {args.talk} {args.abandon}"
    )
    done = await common.server_line(
        proc, "CENTRE", args.seconds + args.ring + args.talk + args.abandon + 120
    )
    cpu1, wait1, wall1 = (
        common.cpu_seconds(proc.pid),
        common.run_queue_seconds(proc.pid),
        time.monotonic(),
    )
    common.command(proc, "gcstats")
    gc_pauses = json.loads((await common.server_line(proc, "GCSTATS", 10))[8:])
    await asyncio.sleep(0.5)  # the last events in flight
    server = {k: int(v) for k, v in (kv.split("=") for kv in done.split()[1:])}
    with tempfile.TemporaryDirectory() as tmp:
        stamps_path, calls_path = Path(tmp) / "stamps.json", Path(tmp) / "calls.json"
        common.command(proc, f"dump {stamps_path}")
        await common.server_line(proc, "DUMPED", 60)
        common.command(proc, f"calls {calls_path}")
        await common.server_line(proc, "CALLS", 60)
        stamps: dict[str, float] = json.loads(stamps_path.read_text())
        calls: dict[str, dict[str, Any]] = json.loads(calls_path.read_text())
    for conn in conns:
        conn.transport.close()
    desktop.close()
    router.client.close()

    return {
        "devices": args.devices,
        "connections": args.connections,
        "monitors_started": monitors,
        "monitors_refused": refused,
        "monitor_start_seconds": round(monitor_seconds, 3),
        "groups": len(agents),
        "agents": sum(len(p) for p in agents.values()),
        "route_registrations": registrations,
        "rate_calls_per_s": args.rate,
        "seconds": args.seconds,
        "ring_s": args.ring,
        "talk_s": args.talk,
        "abandon_s": args.abandon,
        "server_counters": server,
        "server_cpu_percent": round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1),
        # runnable but not running (another process had its CPU), share of the traffic time
        "server_run_queue_wait_percent": round(100 * (wait1 - wait0) / (wall1 - wall0), 2),
        "server_gc_pauses_during_traffic": gc_pauses,
        "traffic_wall_s": round(wall1 - wall0, 3),
        "monitor_events_received": sink.counts["events"] - events_before,
        **analyse(calls, stamps, router, sink),
    }


def analyse(
    calls: dict[str, dict[str, Any]], stamps: dict[str, float], router: Router, sink: AgentSink
) -> dict[str, Any]:
    """Latencies per call and every count of the module docstring."""
    total, to_router, in_router, to_switch, to_client = [], [], [], [], []
    missing: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)

    def miss(what: str, call_id: str) -> None:
        missing[what] += 1
        if len(examples[what]) < 5:
            examples[what].append(call_id)

    for call_id, record in calls.items():
        queued = stamps.get(f"{call_id}|Queued|")
        requested = router.request_at.get(call_id)
        selected = router.select_at.get(call_id)
        switch_delivered = stamps.get(f"{call_id}|Delivered|")
        arrived = sink.delivered_at.get(call_id)
        if queued is None:
            miss("no_queued", call_id)
        if requested is None:
            miss("no_route_request", call_id)
        if selected is None:
            miss("no_route_select", call_id)
        if "agent" not in record:
            miss("not_delivered_in_switch", call_id)
        elif record["agent"] != router.selected.get(call_id):
            miss("delivered_in_switch_elsewhere", call_id)
        if arrived is None:
            miss("no_delivered_event_at_agent", call_id)
        if queued is not None and arrived is not None:
            total.append(arrived - queued)
        if queued is not None and requested is not None:
            to_router.append(requested - queued)
        if requested is not None and selected is not None:
            in_router.append(selected - requested)
        if selected is not None and switch_delivered is not None:
            to_switch.append(switch_delivered - selected)
        if switch_delivered is not None and arrived is not None:
            to_client.append(arrived - switch_delivered)
    offered = set(calls)
    counts = dict(router.counts)
    expected_ends = counts.get("selects", 0) - counts.get("reroutes", 0)
    mismatches = {
        **dict(missing),
        "route_requests_for_unknown_calls": len(set(router.request_at) - offered),
        "delivered_events_for_unknown_calls": len(set(sink.delivered_at) - offered),
        "route_ends_missing": expected_ends - counts.get("route_ends", 0),
        "route_ends_with_error": counts.get("route_ends_with_error", 0),
        "select_errors": counts.get("select_errors", 0),
        "delivered_event_at_other_device": sink.counts["delivered_elsewhere"],
        "delivered_event_unrouted": sink.counts["delivered_unrouted"],
        "delivered_event_twice": sink.counts["delivered_again"],
    }
    lost = sum(1 for c in offered if c not in sink.delivered_at)
    return {
        "calls": {
            "offered": len(offered),
            "queued": sum(1 for c in offered if f"{c}|Queued|" in stamps),
            "route_requests": len(offered & set(router.request_at)),
            "routed": len(offered & set(router.select_at)),
            "delivered_in_switch": sum(1 for r in calls.values() if "agent" in r),
            "delivered_at_agent_monitor": len(offered & set(sink.delivered_at)),
            "answered": sum(1 for r in calls.values() if "answered" in r),
            "abandoned": sum(1 for r in calls.values() if "abandoned" in r),
            "cleared": sum(1 for r in calls.values() if "cleared" in r),
            "lost": lost,
        },
        "router_counts": counts,
        "mismatches": {k: v for k, v in mismatches.items() if v},
        "mismatch_examples": dict(examples),
        "router_errors": router.errors,
        "latency": {
            "queued_to_agent_delivered_event": common.latency_summary(total),
            "queued_to_route_request_at_application": common.latency_summary(to_router),
            "route_request_to_route_select_in_application": common.latency_summary(in_router),
            "route_select_to_switch_delivered": common.latency_summary(to_switch),
            "switch_delivered_to_agent_monitor": common.latency_summary(to_client),
        },
    }


#: the columns of the count table: (header, key of ``calls``)
CALL_COLUMNS = [
    ("offered", "offered"),
    ("queued", "queued"),
    ("RouteRequest", "route_requests"),
    ("routed (RouteSelect)", "routed"),
    ("Delivered (switch)", "delivered_in_switch"),
    ("DeliveredEvent at agent", "delivered_at_agent_monitor"),
    ("answered", "answered"),
    ("abandoned", "abandoned"),
    ("cleared", "cleared"),
    ("lost", "lost"),
]


def report(result: dict[str, Any]) -> tuple[str, bool]:
    """The Markdown of a run and whether the target is met."""
    calls = result["calls"]
    lat = result["latency"]
    overall = lat["queued_to_agent_delivered_event"]
    met = overall["p99_ms"] < 20 and calls["lost"] == 0 and not result["mismatches"]
    pauses = result["server_gc_pauses_during_traffic"]
    gen2, longest = pauses["count"][2], max(pauses["longest_ms"])
    legs = [
        ("Queued -> DeliveredEvent at the agent's monitor", "queued_to_agent_delivered_event"),
        ("Queued -> RouteRequest at the application", "queued_to_route_request_at_application"),
        (
            "RouteRequest -> RouteSelect sent (application)",
            "route_request_to_route_select_in_application",
        ),
        ("RouteSelect sent -> Delivered in the switch", "route_select_to_switch_delivered"),
        ("Delivered in the switch -> at the agent's monitor", "switch_delivered_to_agent_monitor"),
    ]
    rows = [
        [
            label,
            lat[key]["count"],
            lat[key]["p50_ms"],
            lat[key]["p95_ms"],
            lat[key]["p99_ms"],
            lat[key]["max_ms"],
        ]
        for label, key in legs
    ]
    lines = [
        f"{result['agents']:,} agents in {result['groups']} groups routed by the application, "
        f"{result['monitors_started']:,} device monitors over {result['connections']} "
        f"connections; {result['rate_calls_per_s']:g} calls/s for {result['seconds']:g} s "
        f"(ring {result['ring_s']:g} s, talk {result['talk_s']:g} s); server CPU "
        f"{result['server_cpu_percent']:.0f} % (runnable but waiting for its CPU "
        f"{result['server_run_queue_wait_percent']:.2f} % of the time), "
        f"{result['monitor_events_received']:,} monitor "
        f"events received; server GC during the traffic: {gen2} full collections, the "
        f"longest {longest:.1f} ms (any generation).",
        "",
        common.markdown_table(["latency", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows),
        "",
        common.markdown_table(
            [header for header, _ in CALL_COLUMNS], [[calls[key] for _, key in CALL_COLUMNS]]
        ),
        "",
        "mismatches: " + (json.dumps(result["mismatches"]) if result["mismatches"] else "none"),
        "",
        "target (p99 Queued -> agent DeliveredEvent < 20 ms, nothing lost): "
        + ("met" if met else "MISSED"),
    ]
    return "\n".join(lines), met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--agents-per-group", type=int, default=100)
    parser.add_argument("--rate", type=float, default=100.0, help="outside calls per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ring", type=float, default=0.2, help="s from Delivered to answer")
    parser.add_argument("--talk", type=float, default=5.0, help="s from answer to clearing")
    parser.add_argument("--abandon", type=float, default=20.0, help="s a caller waits at most")
    parser.add_argument("--server-gc", choices=("default", "freeze"), default="freeze")
    parser.add_argument("--server-profile", metavar="PATH", help="cProfile the server to PATH")
    parser.add_argument("--name", default="call-centre", help="results file name")
    parser.add_argument("--no-write", action="store_true", help="do not write results")
    args = parser.parse_args()
    if args.seconds <= 0 or args.seconds > 3600 or args.rate <= 0 or args.rate > 2000:
        parser.error("--seconds must be in (0, 3600] and --rate in (0, 2000]")

    prefix, load_cpus = common.cpu_plan()
    pinned = common.pin_self(load_cpus)
    proc = None
    server_args = [
        common.PYTHON,
        str(common.HERE / "xml_server.py"),
        "--extensions",
        str(args.devices),
        "--groups",
        str(args.groups),
        "--agents-per-group",
        str(args.agents_per_group),
        "--control",
        "--gc",
        args.server_gc,
    ]
    if args.server_profile:
        server_args += ["--profile", args.server_profile]
    try:
        proc = common.start_process(prefix + server_args, stdin=subprocess.PIPE)
        port = common.read_port(proc)
        gc.disable()  # the measuring client must not pause itself (bounded run)
        try:
            result = asyncio.run(run(args, proc, port))
        finally:
            gc.enable()
    finally:
        common.stop_process(proc)

    markdown, met = report(result)
    print()
    print(markdown)
    data = {
        "command": " ".join(sys.argv),
        "environment": common.environment(),
        "pinning": {"server_prefix": prefix, "load_cpus": load_cpus, "load_pinned": pinned},
        "server_gc": args.server_gc,
        "target_met": met,
        **result,
    }
    if not args.no_write:
        path = common.write_results(args.name, data, markdown)
        print(f"results: {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
