"""Benchmark server (not a test): the real cstaserver XML port - ``CstaXmlFactory`` over a
``CstaCore`` and a ``Switch`` - on 127.0.0.1, until SIGTERM or SIGINT.

    .venv/bin/python bench/xml_server.py [--port 0] [--extensions 10000] [--control]

Prints ``PORT <n>`` once it listens. ``--extensions 0`` runs the demo exchange; otherwise a
generated exchange of that many extensions (``bench/common.py: generated_plan``, numbers
from 10000). Logging goes to stderr at ``--log-level`` (default warn; per-event logs are at
debug in the product and still pass through the logging system's filter).

With ``--control`` the server also reads commands on stdin (used by ``bench/fanout.py``):

- ``traffic RATE SECONDS RING TALK``: switch-side calls between pairs of extensions, placed
  on a fixed timetable at RATE calls/s for SECONDS, through the simulator (``sim call A B``,
  ``sim answer B`` after RING seconds, ``sim hangup A`` after TALK more seconds). Prints
  ``TRAFFIC placed=.. failed=..`` when the last call has ended.
- ``stamps on|off``: record ``time.monotonic()`` of every switch event in a side table keyed
  by (callID, event name, releasing device for ConnectionCleared). The recorder is
  subscribed to the switch before the core, so the stamp is taken before any rendering.
- ``dump PATH``: write the side table as JSON; prints ``DUMPED n``.

Why not ``pbx/traffic.py``: its calls come in from the outside network over 30 trunks and
last 6-34 s, so it tops out near 2 calls/s; the fan-out benchmark needs hundreds of calls/s
with both parties monitored, so it drives the same simulator operations on its own
timetable with short ring and talk times.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet import stdio
from twisted.internet.task import LoopingCall
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)
from twisted.protocols.basic import LineReceiver

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import generated_plan  # noqa: E402

from cstaserver.csta.association import Profile  # noqa: E402
from cstaserver.csta.core import CoreLimits, CstaCore  # noqa: E402
from cstaserver.pbx.demo import demo_plan  # noqa: E402
from cstaserver.pbx.errors import SwitchError  # noqa: E402
from cstaserver.pbx.events import ConnectionCleared  # noqa: E402
from cstaserver.pbx.simulator import Simulator  # noqa: E402
from cstaserver.pbx.switch import Switch  # noqa: E402
from cstaserver.xmlproto.protocol import CstaXmlFactory  # noqa: E402

reactor: Any = _reactor


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class GcPauses:
    """Counts and times the cyclic garbage collector's pauses, per generation."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.total = [0.0, 0.0, 0.0]
        self._start = 0.0
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
            return
        gen = info["generation"]
        pause = time.perf_counter() - self._start
        self.count[gen] += 1
        self.total[gen] += pause
        self.longest[gen] = max(self.longest[gen], pause)

    def report(self) -> str:
        return ", ".join(
            f"gen{g}: {self.count[g]} pauses, longest {self.longest[g] * 1000:.1f} ms, "
            f"total {self.total[g] * 1000:.0f} ms"
            for g in range(3)
        )


class EventStamps:
    """Side table: switch-event time (``time.monotonic()``) per (callID, name, device)."""

    def __init__(self) -> None:
        self.enabled = False
        self.table: dict[str, float] = {}

    def __call__(self, event: object) -> None:
        if not self.enabled:
            return
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return
        device = event.releasing_device if isinstance(event, ConnectionCleared) else ""
        # the first stamp wins: an earlier stamp only makes the measured latency larger
        self.table.setdefault(f"{call_id}|{type(event).__name__}|{device}", time.monotonic())


class PairTraffic:
    """Two-party calls between free pairs of extensions on a fixed timetable."""

    TICK = 0.002

    def __init__(self, switch: Switch, pairs: list[tuple[str, str]]) -> None:
        self.switch = switch
        self.sim = Simulator(switch)
        self.free: collections.deque[tuple[str, str]] = collections.deque(pairs)
        self.placed = 0
        self.failed = 0
        self.busy = 0  # timetable slots with no free pair
        self.active = 0
        self._loop: LoopingCall | None = None

    def start(self, rate: float, seconds: float, ring: float, talk: float) -> None:
        self.rate, self.seconds, self.ring, self.talk = rate, seconds, ring, talk
        self.placed = self.failed = self.busy = 0
        self._slots = 0
        self._t0 = reactor.seconds()
        self._total = int(rate * seconds)
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor
        self._loop.start(self.TICK, now=True)

    def _tick(self) -> None:
        due = min(self._total, int((reactor.seconds() - self._t0) * self.rate) + 1)
        while self._slots < due:
            self._slots += 1
            self._place()
        if self._slots >= self._total and self._loop is not None and self._loop.running:
            self._loop.stop()
            self._loop = None
            self._maybe_done()

    def _place(self) -> None:
        if not self.free:
            self.busy += 1
            return
        calling, called = self.free.popleft()
        try:
            self.sim.call(calling, called)
        except SwitchError:
            self.failed += 1
            self.free.append((calling, called))
            return
        self.placed += 1
        self.active += 1
        reactor.callLater(self.ring, self._answer, calling, called)

    def _answer(self, calling: str, called: str) -> None:
        try:
            self.sim.answer(called)
        except SwitchError:
            self.failed += 1
        reactor.callLater(self.talk, self._hangup, calling, called)

    def _hangup(self, calling: str, called: str) -> None:
        try:
            self.sim.hangup(calling)
        except SwitchError:
            self.failed += 1
        self.active -= 1
        self.free.append((calling, called))
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self._loop is None and self.active == 0:
            say(f"TRAFFIC placed={self.placed} failed={self.failed} busy={self.busy}")


class Control(LineReceiver):
    delimiter = b"\n"

    def __init__(self, traffic: PairTraffic, stamps: EventStamps) -> None:
        self.traffic = traffic
        self.stamps = stamps

    def lineReceived(self, line: bytes) -> None:
        words = line.decode().split()
        if not words:
            return
        try:
            if words[0] == "traffic":
                rate, seconds, ring, talk = (float(w) for w in words[1:5])
                self.traffic.start(rate, seconds, ring, talk)
            elif words[0] == "stamps":
                self.stamps.enabled = words[1] == "on"
                say(f"STAMPS {words[1]}")
            elif words[0] == "dump":
                Path(words[1]).write_text(json.dumps(self.stamps.table))
                say(f"DUMPED {len(self.stamps.table)}")
            else:
                say(f"ERROR unknown command {words[0]}")
        except Exception as exc:  # report, keep serving
            say(f"ERROR {exc!r}")

    def connectionLost(self, reason: Any = None) -> None:
        pass  # stdin closed: keep running until SIGTERM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--extensions", type=int, default=10_000, help="0: the demo exchange")
    parser.add_argument("--control", action="store_true", help="read commands on stdin")
    parser.add_argument("--log-level", default="warn")
    parser.add_argument(
        "--gc",
        choices=("default", "freeze"),
        default="default",
        help="freeze: gc.freeze() once the exchange is built (see README)",
    )
    parser.add_argument("--profile", metavar="PATH", help="cProfile the reactor, stats to PATH")
    args = parser.parse_args()

    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr),
                [LogLevelFilterPredicate(LogLevel.levelWithName(args.log_level))],
            )
        ],
        redirectStandardIO=False,
    )
    plan = demo_plan() if args.extensions == 0 else generated_plan(args.extensions)
    switch = Switch(plan, reactor)
    stamps = EventStamps()
    switch.subscribe(stamps)  # before the core's monitor registry: stamps come first
    limits = CoreLimits(max_monitors=max(20_000, 2 * args.extensions))
    core = CstaCore(switch, reactor, limits=limits)
    factory = CstaXmlFactory(core, Profile(), reactor)
    port = reactor.listenTCP(args.port, factory, interface=args.host, backlog=512)
    numbers = [e.number for e in plan.extensions if e.terminal]
    pairs = [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers) - 1, 2)]
    if args.control:
        stdio.StandardIO(Control(PairTraffic(switch, pairs), stamps))
    gc_pauses = GcPauses()
    if args.gc == "freeze":
        gc.collect()
        gc.freeze()
    say(f"PORT {port.getHost().port}")
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.runcall(reactor.run)
        profiler.dump_stats(args.profile)
    else:
        reactor.run()
    sys.stderr.write(f"xml_server gc: {gc_pauses.report()}\n")


if __name__ == "__main__":
    main()
