"""Benchmark server (not a test): the whole cstaserver as ``twistd -n csta`` composes it -
``cstaserver.app.makeService`` over a data directory - on a generated exchange, every
port 0 (any free port) on 127.0.0.1, until SIGTERM or SIGINT.

    .venv/bin/python bench/full_server.py [--extensions 10000] [--data DIR] [--log-level warn]
        [--no-metrics] [--reserve N]

What differs from ``twistd -n csta``, and why:

- the data directory is prepared here (``--data``, default a fresh temporary directory that
  is removed at exit): the generated exchange of ``common.generated_plan`` (numbers from
  10000, public ``+46855`` + five digits, so ``tel:+4685510000`` is 10000), the demo's CSTA
  servers (XML + TLS + web on LIM 1, TR/87), authentication *optional*, the demo application
  ``demo`` / ``csta_user`` / ``csta`` and web account ``csta_user`` / ``csta``, limits raised
  (``RAISED_LIMITS``: 2,000 sessions and associations, 40,000 monitors) so that the soak's
  own load never hits them, and a
  self-signed certificate installed with ``CertificateStore.install(self_signed())``;
- all ports are 0 and the admin shell ports are off (``--admin-port 0 --admin-ssh-port 0``);
- the soft descriptor limit is raised to the hard one (1,000+ client connections);
- logging goes to stderr at ``--log-level`` (twistd would log at info to a file or stdout);
- ``--no-metrics`` takes the metrics' request observer off the core after start-up (the
  ``/metrics`` page stays; nothing is counted per request), the baseline of
  ``xml_load.py metrics``;
- ``--trace-total-bytes N`` sets the wire trace's total bound (``Limits.trace_total_bytes``,
  64 MiB by default): the soak's warm-up is the traces filling up to it;
- ``--reserve N`` leaves the first N extensions (10000 .. 10000 + N - 1) out of the
  ``traffic`` command's pairs, for a load client's own pairs (``common.pair``: slot i is
  10000 + 2i and 10000 + 2i + 1), so the switch-side calls never make its devices busy
  (``xml_load.py stream``).

The server is composed as ``makeService`` does it (``build_service`` on the parsed
``Options``, ``freeze_when_started``: ``gc.collect(); gc.freeze()`` once the reactor runs),
with one addition: the switch factory
subscribes the event-stamp recorder and an event counter before the core's monitor
registry. The services are started the way twistd starts them (``privilegedStartService``
then ``startService``).

Prints ``PID <n>`` and ``PORTS {"xml": n, "tls": n, "sip": n, "web": n}`` once every listener
listens. Commands on stdin (one per line; answers on stdout):

- ``stats`` -> ``STATS {json}``: RSS (``VmRSS``) and open descriptors of this process, the
  core's associations, sessions, monitors, events routed and deliveries, SOAP sessions, the
  wire trace's fill (memory against its bound, and whether the bound has dropped a message
  yet: ``full``) and the garbage collector's pauses;
- ``monitors PATH`` -> ``MONITORS n``: every monitor's ``monitorCrossRefID`` with its owner's
  profile (xml, tls, tr87, soap) and the number of events the server handed to it
  (``Monitor.delivered``), as JSON;
- ``gc`` -> ``GC n``: a full collection (the product never asks for one; the churn benchmark
  does, to read RSS without garbage waiting for the collector);
- ``trace start`` / ``trace top PATH`` -> ``TRACE ...``: start ``tracemalloc`` with a
  baseline snapshot / write the 25 biggest growths since then (by traceback) as JSON (a
  diagnostic for the soak: ``soak.py --tracemalloc``; it slows the server down);
- ``traffic RATE SECONDS RING TALK``, ``stamps on|off``, ``dump PATH``: as in
  ``xml_server.py`` (switch-side calls between pairs of extensions, event stamps);
  ``stamps take PATH`` dumps the stamp table and clears it (bounded memory in a soak);
- ``objects`` -> ``OBJECTS {"tracked": n, "frozen": n, "top": [[type, count], ...]}``:
  the objects the cyclic collector tracks (not frozen), the 15 most frequent types (a
  diagnostic: what a full collection has to walk);
- ``profile start`` / ``profile stop PATH`` -> ``PROFILE ...``: ``cProfile`` on the reactor
  thread from now / stop it and dump its stats to PATH (``bench/profiling.py``: a profile of
  the measured window only, without start-up and warm-up);
- ``events`` -> ``EVENTS {"total": n, "types": {"Delivered": n, ...}}``: every domain event
  the switch has published since start-up, by class (the switch builds an event only when a
  subscriber wants it; while a client is on ``/api/v1/events`` that is every event, what it
  streams to a subscriber without a filter; ``xml_load.py stream`` compares the two).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet import stdio
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from xml_server import Control, EventStamps, GcPauses, PairTraffic, say  # noqa: E402

reactor: Any = _reactor


def process_figures(pid: int | str = "self") -> dict[str, int]:
    """RSS (bytes, ``VmRSS``), peak RSS (``VmHWM``) and open descriptors of a process."""
    out = {"rss_bytes": 0, "hwm_bytes": 0, "fds": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_bytes"] = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                out["hwm_bytes"] = int(line.split()[1]) * 1024
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


#: Limits raised over the defaults so that a benchmark's own load never hits them (the soak
#: has 1,000 XML sessions + 100 TR/87 dialogs + SOAP sessions: over the default 1,000
#: associations); the defaults are the assumed starting values of docs/protocol-notes.md L1.
RAISED_LIMITS = {
    "max_sessions": 2000,
    "max_associations": 2000,
    "max_monitors": 40_000,
    "max_monitors_per_session": 20_000,
    # every benchmark client comes from 127.0.0.1: the per-address limits (docs/limits.md)
    # would otherwise count the whole load as one hostile host
    "max_connections_per_address": 4000,
    "max_dialogs_per_address": 2000,
    "max_monitors_per_address": 40_000,
    "max_monitors_per_device": 2000,
    "max_sessions_per_account": 2000,
    "max_session_duration": 86400,
}


def prepare_data(path: Path, extensions: int, trace_total_bytes: int | None = None) -> None:
    """The generated exchange, the demo's servers and logins, a self-signed certificate."""
    import attrs

    from cstaserver.certificates import CertificateStore, self_signed
    from cstaserver.config import DataDirectory, demo_exchange_data
    from cstaserver.config.defaults import default_csta_servers
    from cstaserver.config.model import AuthMode, Limits

    plan = common.generated_plan(extensions)
    demo = demo_exchange_data()
    data = attrs.evolve(
        demo,
        plan=plan,
        csta_servers=default_csta_servers(plan, AuthMode.OPTIONAL),
        limits=attrs.evolve(
            Limits(),
            **{k: v for k, v in RAISED_LIMITS.items() if hasattr(Limits(), k)},
            **({"trace_total_bytes": trace_total_bytes} if trace_total_bytes else {}),
        ),
    )
    directory = DataDirectory(path)
    directory.create()
    directory.save(data)
    CertificateStore(path).install(self_signed())


def owner_kind(owner: Any) -> str:
    """The transport profile (xml, tls, tr87, soap) of a monitor's owner: an association,
    or an ECMA-354 session (through its association)."""
    association = getattr(owner, "association", owner)
    profile = getattr(association, "profile", None)
    return getattr(profile, "name", "detached")


class EventCount:
    """Counts every event the switch publishes, by class name (a switch subscriber with an
    empty ``Interest``: it counts the events built for someone, and has none built for it)."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}

    def __call__(self, event: object) -> None:
        name = type(event).__name__
        self.types[name] = self.types.get(name, 0) + 1

    def figures(self) -> dict[str, Any]:
        return {"total": sum(self.types.values()), "types": dict(self.types)}


class BenchControl(Control):
    """``xml_server.Control`` plus the commands of this module's docstring."""

    def __init__(
        self,
        traffic: PairTraffic,
        stamps: EventStamps,
        root: Any,
        gc_pauses: Any,
        counter: EventCount | None = None,
    ):
        super().__init__(traffic, stamps)
        self.root = root
        self.gc_pauses = gc_pauses
        self.counter = counter or EventCount()
        self.profiler: Any = None

    @property
    def core(self) -> Any:
        return self.root.runtime.core

    def lineReceived(self, line: bytes) -> None:  # noqa: N802
        words = line.decode().split()
        try:
            if words[:1] == ["stats"]:
                say("STATS " + json.dumps(self.stats()))
            elif words[:1] == ["monitors"]:
                table = {
                    m.cross_ref_id: [owner_kind(m.owner), m.delivered] for m in self.core.monitors
                }
                Path(words[1]).write_text(json.dumps(table))
                say(f"MONITORS {len(table)}")
            elif words[:2] == ["trace", "start"]:
                import tracemalloc

                tracemalloc.start(12)
                self.trace_baseline = tracemalloc.take_snapshot()
                say("TRACE started")
            elif words[:2] == ["trace", "top"]:
                import tracemalloc

                gc.collect()
                stats = tracemalloc.take_snapshot().compare_to(self.trace_baseline, "traceback")
                top = [
                    {
                        "size_diff": st.size_diff,
                        "count_diff": st.count_diff,
                        "traceback": st.traceback.format(),
                    }
                    for st in stats[:25]
                ]
                total = sum(st.size_diff for st in stats)
                Path(words[2]).write_text(json.dumps({"total_diff": total, "top": top}, indent=1))
                say(f"TRACE {total}")
            elif words[:2] == ["profile", "start"]:
                import cProfile

                self.profiler = cProfile.Profile()
                self.profiler.enable()
                say("PROFILE started")
            elif words[:2] == ["profile", "stop"]:
                self.profiler.disable()
                self.profiler.dump_stats(words[2])
                self.profiler = None
                say("PROFILE stopped")
            elif words[:1] == ["gc"]:
                say(f"GC {gc.collect()}")
            elif words[:1] == ["objects"]:
                kinds = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
                say(
                    "OBJECTS "
                    + json.dumps(
                        {
                            "tracked": sum(kinds.values()),
                            "frozen": gc.get_freeze_count(),
                            "top": kinds.most_common(15),
                        }
                    )
                )
            elif words[:1] == ["events"]:
                say("EVENTS " + json.dumps(self.counter.figures()))
            elif words[:2] == ["stamps", "take"]:
                table, self.stamps.table = self.stamps.table, {}
                Path(words[2]).write_text(json.dumps(table))
                say(f"TAKEN {len(table)}")
            else:
                super().lineReceived(line)
        except Exception as exc:  # report, keep serving
            say(f"ERROR {exc!r}")

    def stats(self) -> dict[str, Any]:
        core = self.core
        sites = {s.settings.lim: s.site for s in self.root.servers() if s.site is not None}
        soap_sessions = 0
        for site in sites.values():
            soap_sessions += len(site.channels.by_session) + len(site.channels.by_login)
        return {
            "time": time.monotonic(),
            **process_figures(),
            "associations": len(core.associations),
            "sessions": len(core.sessions.sessions),
            "monitors": len(core.monitors),
            "events_routed": core.monitors.events_routed,
            "deliveries": core.monitors.deliveries,
            "soap_sessions": soap_sessions,
            "calls": len(getattr(core.switch, "calls", ())),
            "trace": trace_figures(getattr(core, "tracer", None)),
            "gc": {
                "count": self.gc_pauses.count,
                "longest_ms": [round(x * 1000, 2) for x in self.gc_pauses.longest],
            },
        }


def trace_figures(recorder: Any) -> dict[str, Any] | None:
    """The wire trace's fill: memory counted against its bound, messages, full or not."""
    if recorder is None or not hasattr(recorder, "memory"):
        return None
    return {
        "memory": recorder.memory,
        "bound": recorder.max_total_bytes,
        "message_bytes": recorder.total_bytes,
        "messages": recorder.kept,
        "full": recorder.full,
    }


def listener_ports(root: Any) -> dict[str, int]:
    ports: dict[str, int] = {}
    for role in ("xml", "tls", "sip", "web"):
        with contextlib.suppress(LookupError):
            ports[role] = root.port_of(role)
    return ports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extensions", type=int, default=10_000)
    parser.add_argument("--data", help="data directory to use as it is (default: a fresh one)")
    parser.add_argument("--log-level", default="warn")
    parser.add_argument("--profile", metavar="PATH", help="cProfile the reactor, stats to PATH")
    parser.add_argument(
        "--trace-total-bytes",
        type=int,
        metavar="N",
        help="the wire trace's bound over all associations (default: the product's, 64 MiB)",
    )
    parser.add_argument(
        "--no-metrics", action="store_true", help="no request observer on the core (baseline)"
    )
    parser.add_argument(
        "--reserve",
        type=int,
        default=0,
        metavar="N",
        help="keep the first N extensions out of the traffic command (a load client's pairs)",
    )
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr),
                [LogLevelFilterPredicate(LogLevel.levelWithName(args.log_level))],
            )
        ],
        redirectStandardIO=False,
    )
    tmp = None
    if args.data:
        data = Path(args.data)
    else:
        tmp = tempfile.mkdtemp(prefix="csta-bench-")
        data = Path(tmp)
        prepare_data(data, args.extensions, args.trace_total_bytes)
    try:
        from cstaserver.app.options import Options
        from cstaserver.app.root import build_service
        from cstaserver.pbx.bus import Interest
        from cstaserver.pbx.switch import Switch

        options = Options()
        options.parseOptions(
            ["--data", str(data), "--interface", "127.0.0.1"]
            + ["--xml-port", "0", "--tls-port", "0", "--sip-port", "0", "--web-port", "0"]
            + ["--admin-port", "0", "--admin-ssh-port", "0"]
        )
        stamps = EventStamps()
        counter = EventCount()

        def switch_factory(plan: Any, clock: Any) -> Any:
            switch = Switch(plan, clock)
            switch.subscribe(stamps, stamps.interest)  # before the core's monitor registry
            switch.subscribe(counter, Interest())  # counts what is built: wants nothing itself
            return switch

        # = cstaserver.app.root.make_service, with the stamping subscriber added first
        root = build_service(options.settings, reactor, switch_factory=switch_factory)
        if args.no_metrics:
            root.runtime.core.observer = None
        root.freeze_when_started = True  # as make_service
        gc.collect()  # and once now: the start-up's collection counted below is short
        gc.freeze()
        gc_pauses = GcPauses()
        root.privilegedStartService()
        root.startService()
        switch = root.runtime.switch
        plan_numbers = sorted(int(n) for n in (e.number for e in switch_plan(root)))
        plan_numbers = [n for n in plan_numbers if n >= common.FIRST_EXTENSION + args.reserve]
        pairs = [
            (str(plan_numbers[i]), str(plan_numbers[i + 1]))
            for i in range(0, len(plan_numbers) - 1, 2)
        ]
        stdio.StandardIO(BenchControl(PairTraffic(switch, pairs), stamps, root, gc_pauses, counter))

        def announce() -> None:
            say(f"PID {os.getpid()}")
            say("PORTS " + json.dumps(listener_ports(root)))

        def stop(*_: Any) -> None:
            reactor.callFromThread(reactor.stop)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        reactor.callWhenRunning(announce)
        reactor.addSystemEventTrigger("before", "shutdown", root.stopService)
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.runcall(reactor.run, installSignalHandlers=False)
            profiler.dump_stats(args.profile)
        else:
            reactor.run(installSignalHandlers=False)
        sys.stderr.write(f"full_server gc: {gc_pauses.report()}\n")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def switch_plan(root: Any) -> list[Any]:
    """The extensions with a terminal (the ones the simulator can answer and hang up)."""
    return [e for e in root.runtime.exchange.plan.extensions if e.terminal]


if __name__ == "__main__":
    main()
