"""Benchmark server (not a test): the real cstaserver XML port - ``CstaXmlFactory`` over a
``CstaCore`` and a ``Switch`` - on 127.0.0.1, until SIGTERM or SIGINT.

    .venv/bin/python bench/xml_server.py [--port 0] [--extensions 10000] [--control] \
        [--groups 0] [--agents-per-group 100]

Prints ``PORT <n>`` once it listens. ``--extensions 0`` runs the demo exchange; otherwise a
generated exchange of that many extensions (``bench/common.py: generated_plan``, numbers
from 10000) with ``--groups`` ACD groups routed by the application (numbers from 90000, each
with ``--agents-per-group`` agent positions and agent IDs, the first extensions). Logging
goes to stderr at ``--log-level`` (default warn; per-event logs are at debug in the product
and still pass through the logging system's filter).

With ``--control`` the server also reads commands on stdin (used by ``bench/fanout.py``):

- ``traffic RATE SECONDS RING TALK``: switch-side calls between pairs of extensions, placed
  on a fixed timetable at RATE calls/s for SECONDS, through the simulator (``sim call A B``,
  ``sim answer B`` after RING seconds, ``sim hangup A`` after TALK more seconds). Prints
  ``TRAFFIC placed=.. failed=..`` when the last call has ended. ``traffic stop`` -> ``STOPPING``
  ends the timetable early (``bench/soak.py``: its run lasts the warm-up plus the measured
  minutes); the ``TRAFFIC`` line follows as usual.
- ``centre RATE SECONDS RING TALK [ABANDON]`` (with ``--groups``; used by
  ``bench/call_centre.py``): outside calls from the network to the ACD groups in turn at
  RATE calls/s for SECONDS; each is answered by the agent it is delivered to RING seconds
  after its Delivered and cleared by the caller TALK seconds later; a call not delivered
  within ABANDON seconds (default 20) is given up by its caller. Prints ``CENTRE placed=..
  delivered=.. answered=.. cleared=.. abandoned=.. ..`` when the last call has cleared.
- ``calls PATH``: the ``centre`` calls as JSON (call ID -> group, caller, agent, and the
  ``time.monotonic()`` placed / delivered / answered / cleared); prints ``CALLS n``.
- ``gcstats [reset]``: the garbage collector's pauses per generation since start-up (or,
  with ``reset``, zeroed now) as ``GCSTATS {"count": [..], "longest_ms": [..], ...}``.
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
from cstaserver.pbx.bus import Interest  # noqa: E402
from cstaserver.pbx.demo import demo_plan  # noqa: E402
from cstaserver.pbx.errors import SwitchError  # noqa: E402
from cstaserver.pbx.events import CallCleared, ConnectionCleared, Delivered  # noqa: E402
from cstaserver.pbx.plan import GroupRouting  # noqa: E402
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
        self.reset()
        self._start = 0.0
        gc.callbacks.append(self)

    def reset(self) -> None:
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.total = [0.0, 0.0, 0.0]

    def figures(self) -> dict[str, list[float]]:
        """Pauses per generation: count, longest and total (ms)."""
        return {
            "count": list(self.count),
            "longest_ms": [round(x * 1000, 2) for x in self.longest],
            "total_ms": [round(x * 1000, 1) for x in self.total],
        }

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
    """Side table: switch-event time (``time.monotonic()``) per (callID, name, device).
    Subscribe it with its ``interest``: every event is built for it only while it is on."""

    def __init__(self) -> None:
        self.interest = Interest()
        self._enabled = False
        self.table: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        self._enabled = on
        (self.interest.want_all if on else self.interest.drop_all)()

    def __call__(self, event: object) -> None:
        if not self._enabled:
            return
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return
        device = event.releasing_device if isinstance(event, ConnectionCleared) else ""
        # the first stamp wins: an earlier stamp only makes the measured latency larger
        self.table.setdefault(f"{call_id}|{type(event).__name__}|{device}", time.monotonic())


class Timetable:
    """Places calls on a fixed timetable (call *i* due at t0 + i / RATE) through the
    simulator; subclasses place one call (``_place``) and end it. ``_maybe_done`` prints the
    ``done`` line once the timetable is over and no call is alive."""

    TICK = 0.002
    #: the line printed at the end: ``<done> key=value ...``
    done = "TRAFFIC"

    def __init__(self, switch: Switch) -> None:
        self.switch = switch
        self.sim = Simulator(switch)
        self.active = 0
        self._loop: LoopingCall | None = None

    def start(self, rate: float, seconds: float, ring: float, talk: float) -> None:
        if self._loop is not None or self.active:
            raise RuntimeError(f"{self.done.lower()} still running")
        self.rate, self.seconds, self.ring, self.talk = rate, seconds, ring, talk
        self.reset()
        self._slots = 0
        self._t0 = reactor.seconds()
        self._total = int(rate * seconds)
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor
        self._loop.start(self.TICK, now=True)

    def stop(self) -> None:
        """End the timetable now: no call is placed after this; the ``done`` line follows
        when the calls alive have ended."""
        self._total = self._slots

    def reset(self) -> None:
        """Clear the counters of the previous run."""

    def counters(self) -> dict[str, int]:
        return {}

    def _place(self) -> None:
        raise NotImplementedError

    def _tick(self) -> None:
        due = min(self._total, int((reactor.seconds() - self._t0) * self.rate) + 1)
        while self._slots < due:
            self._slots += 1
            self._place()
        if self._slots >= self._total and self._loop is not None and self._loop.running:
            self._loop.stop()
            self._loop = None
            self._maybe_done()

    def _maybe_done(self) -> None:
        if self._loop is None and self.active == 0:
            say(" ".join([self.done, *(f"{k}={v}" for k, v in self.counters().items())]))


class PairTraffic(Timetable):
    """Two-party calls between free pairs of extensions on a fixed timetable."""

    def __init__(self, switch: Switch, pairs: list[tuple[str, str]]) -> None:
        super().__init__(switch)
        self.free: collections.deque[tuple[str, str]] = collections.deque(pairs)
        self.reset()

    def reset(self) -> None:
        self.placed = 0
        self.failed = 0
        self.busy = 0  # timetable slots with no free pair

    def counters(self) -> dict[str, int]:
        return {"placed": self.placed, "failed": self.failed, "busy": self.busy}

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


class GroupTraffic(Timetable):
    """Outside calls to the ACD groups on a fixed timetable (the call-centre benchmark).

    Call *i* comes in from the network (``sim call``) from a caller number of its own
    (``CALLER_PREFIX`` + serial) to group *i* mod the number of groups. When it is Delivered
    at an extension (an agent, after the routeing application's RouteSelect), the agent
    answers RING seconds later and the caller hangs up after TALK more seconds. A call not
    delivered within ``abandon`` seconds is given up by its caller (counted). The call ends
    with its CallCleared. ``records`` keeps, per call ID, the group, caller, the agent it
    reached and ``time.monotonic()`` when it was placed, delivered, answered, abandoned and
    cleared."""

    done = "CENTRE"
    CALLER_PREFIX = "+46701"

    def __init__(self, switch: Switch, groups: list[str], abandon: float = 20.0) -> None:
        super().__init__(switch)
        self.groups = groups
        self.abandon = abandon
        self.serial = 0
        self.live: dict[str, dict[str, Any]] = {}
        self.timers: dict[str, Any] = {}
        self.reset()
        wanted = Interest()  # what _event acts on
        wanted.want_kind(Delivered)
        wanted.want_kind(CallCleared)
        switch.subscribe(self._event, wanted)  # after the core: acts on callLater only

    def reset(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.placed = self.failed = self.delivered = self.answered = 0
        self.cleared = self.abandoned = self.errors = 0

    def counters(self) -> dict[str, int]:
        return {
            "placed": self.placed,
            "failed": self.failed,
            "delivered": self.delivered,
            "answered": self.answered,
            "cleared": self.cleared,
            "abandoned": self.abandoned,
            "errors": self.errors,
        }

    def _place(self) -> None:
        group = self.groups[self._slots % len(self.groups)]
        self.serial += 1
        caller = f"{self.CALLER_PREFIX}{self.serial:06d}"
        placed = time.monotonic()
        try:
            call_id = self.sim.call(caller, group)
        except SwitchError:
            self.failed += 1
            return
        self.placed += 1
        if call_id in self.records and "cleared" not in self.records[call_id]:
            self.errors += 1  # a call ID twice: would confuse every count
        record = {"group": group, "caller": caller, "placed": placed}
        self.records[call_id] = self.live[call_id] = record
        self.active += 1
        self.timers[call_id] = reactor.callLater(self.abandon, self._give_up, call_id)

    def _event(self, event: object) -> None:
        kind = type(event)
        if kind is Delivered:
            record = self.live.get(event.call_id)  # type: ignore[attr-defined]
            if record is None or "agent" in record:
                return
            record["agent"] = event.alerting_device  # type: ignore[attr-defined]
            record["delivered"] = time.monotonic()
            self.delivered += 1
            timer = self.timers.pop(event.call_id, None)  # type: ignore[attr-defined]
            if timer is not None and timer.active():
                timer.cancel()
            reactor.callLater(self.ring, self._answer, event.call_id)  # type: ignore[attr-defined]
        elif kind is CallCleared:
            record = self.live.pop(event.call_id, None)  # type: ignore[attr-defined]
            if record is None:
                return
            record["cleared"] = time.monotonic()
            self.cleared += 1
            timer = self.timers.pop(event.call_id, None)  # type: ignore[attr-defined]
            if timer is not None and timer.active():
                timer.cancel()
            self.active -= 1
            self._maybe_done()

    def _answer(self, call_id: str) -> None:
        record = self.live.get(call_id)
        if record is None:
            return
        try:
            self.switch.answer_call(call_id, record["agent"])
        except SwitchError:
            self.errors += 1
        else:
            record["answered"] = time.monotonic()
            self.answered += 1
        reactor.callLater(self.talk, self._hang_up, call_id)

    def _hang_up(self, call_id: str) -> None:
        record = self.live.get(call_id)
        if record is not None:
            try:
                self.switch.clear_connection(call_id, record["caller"])
            except SwitchError:
                self.errors += 1

    def _give_up(self, call_id: str) -> None:
        self.timers.pop(call_id, None)
        record = self.live.get(call_id)
        if record is not None:
            record["abandoned"] = time.monotonic()
            self.abandoned += 1
            self._hang_up(call_id)


class Control(LineReceiver):
    delimiter = b"\n"

    def __init__(
        self,
        traffic: PairTraffic,
        stamps: EventStamps,
        centre: GroupTraffic | None = None,
        gc_pauses: GcPauses | None = None,
    ) -> None:
        self.traffic = traffic
        self.stamps = stamps
        self.centre = centre
        self.gc_pauses = gc_pauses

    def lineReceived(self, line: bytes) -> None:
        words = line.decode().split()
        if not words:
            return
        try:
            if words[:2] == ["traffic", "stop"]:
                self.traffic.stop()
                say("STOPPING")
            elif words[0] == "traffic":
                rate, seconds, ring, talk = (float(w) for w in words[1:5])
                self.traffic.start(rate, seconds, ring, talk)
            elif words[0] == "centre":
                if self.centre is None:
                    raise RuntimeError("no ACD groups: start with --groups")
                rate, seconds, ring, talk = (float(w) for w in words[1:5])
                if len(words) > 5:
                    self.centre.abandon = float(words[5])
                self.centre.start(rate, seconds, ring, talk)
            elif words[0] == "calls":
                records = self.centre.records if self.centre is not None else {}
                Path(words[1]).write_text(json.dumps(records))
                say(f"CALLS {len(records)}")
            elif words[0] == "gcstats" and self.gc_pauses is not None:
                if words[1:] == ["reset"]:
                    self.gc_pauses.reset()
                say("GCSTATS " + json.dumps(self.gc_pauses.figures()))
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
    parser.add_argument("--groups", type=int, default=0, help="ACD groups routed by the app")
    parser.add_argument("--agents-per-group", type=int, default=100)
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
    if args.extensions == 0:
        plan = demo_plan()
    else:
        plan = generated_plan(
            args.extensions, groups=args.groups, agents_per_group=args.agents_per_group
        )
    switch = Switch(plan, reactor)
    stamps = EventStamps()
    switch.subscribe(stamps, stamps.interest)  # before the core's monitor registry: first
    most = max(20_000, 2 * args.extensions)
    # every benchmark client comes from one address: the per-address bound would count the
    # whole load as one host (docs/limits.md)
    limits = CoreLimits(max_monitors=most, max_monitors_per_address=most)
    core = CstaCore(switch, reactor, limits=limits)
    factory = CstaXmlFactory(core, Profile(), reactor)
    port = reactor.listenTCP(args.port, factory, interface=args.host, backlog=512)
    numbers = [e.number for e in plan.extensions if e.terminal]
    pairs = [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers) - 1, 2)]
    gc_pauses = GcPauses()
    if args.control:
        groups = [g.number for g in plan.acd_groups if g.routing is GroupRouting.APPLICATION]
        centre = GroupTraffic(switch, groups) if groups else None
        stdio.StandardIO(Control(PairTraffic(switch, pairs), stamps, centre, gc_pauses))
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
