"""An exchange process's heartbeat and exchange data, and a front end's watch on them
(cstaserver.cluster.presence), over the in-process bus on a test clock: the data comes at
start and again after an admin change, silence is told as down (SystemStatus disabled), and
heartbeats again as up, a restart as a restart."""

from __future__ import annotations

import attrs
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial import unittest

from cstaserver.bus import LocalBroker, LocalBus
from cstaserver.cluster.presence import DOWN_AFTER_SECONDS, ExchangeBeacon, ExchangeWatch
from cstaserver.config import demo_exchange_data


class PresenceTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.broker = LocalBroker(self.clock)
        self.exchange = demo_exchange_data()
        self.beacon = self.new_beacon()
        self.told: list[object] = []
        self.watch = ExchangeWatch(
            LocalBus(self.clock, self.broker, node_id="front-1"),
            "lim1",
            self.clock,
            on_data=lambda data: self.told.append(("data", data)),
            on_down=lambda: self.told.append("down"),
            on_up=lambda restarted: self.told.append(("up", restarted)),
        )

    def new_beacon(self) -> ExchangeBeacon:
        bus = LocalBus(self.clock, self.broker, node_id="exchange-1")
        return ExchangeBeacon(bus, "lim1", lambda: self.exchange, self.clock)

    def pass_time(self, seconds: float, step: float = 0.25) -> None:
        for _ in range(int(seconds / step)):
            self.clock.advance(step)

    def start_both(self) -> None:
        self.beacon.startService()
        started = defer.ensureDeferred(self.watch.start())
        self.pass_time(1)
        self.assertTrue(started.called)

    def test_the_front_end_gets_the_exchange_data_at_start(self) -> None:
        self.start_both()
        self.pass_time(3)  # heartbeats of the same version: nothing fetched again
        data = [t[1] for t in self.told if isinstance(t, tuple) and t[0] == "data"]
        self.assertEqual(data, [self.exchange])
        self.assertNotIn("down", self.told)

    def test_an_admin_change_reaches_the_front_end(self) -> None:
        self.start_both()
        self.told.clear()
        self.exchange = attrs.evolve(
            self.exchange, limits=attrs.evolve(self.exchange.limits, max_monitors=123)
        )
        self.beacon.changed()
        self.pass_time(1)
        data = [t[1] for t in self.told if isinstance(t, tuple) and t[0] == "data"]
        self.assertEqual(data[-1].limits.max_monitors, 123)

    def test_silence_is_down_and_heartbeats_again_are_up(self) -> None:
        self.start_both()
        self.beacon.stopService()
        self.pass_time(DOWN_AFTER_SECONDS + 0.5)
        self.assertEqual(self.told.count("down"), 1)
        self.pass_time(5)
        self.assertEqual(self.told.count("down"), 1)  # told once, not every second
        self.beacon.startService()
        self.pass_time(1)
        self.assertEqual(self.told[-1], ("up", False))

    def test_another_run_of_the_exchange_is_a_restart(self) -> None:
        self.start_both()
        self.beacon.stopService()
        self.beacon = self.new_beacon()  # a new process: a new boot identity
        self.beacon.startService()
        self.pass_time(1)
        self.assertIn(("up", True), self.told)
        self.assertNotIn("down", self.told)  # back within the heartbeat time-out

    def test_a_front_end_started_first_waits_for_the_exchange(self) -> None:
        started = defer.ensureDeferred(self.watch.start())
        self.pass_time(6)  # the first request for the data times out
        self.assertTrue(started.called)
        self.assertEqual([t for t in self.told if isinstance(t, tuple)], [])
        self.beacon.startService()
        self.pass_time(2)
        data = [t[1] for t in self.told if isinstance(t, tuple) and t[0] == "data"]
        self.assertEqual(data, [self.exchange])


class RosterTests(unittest.TestCase):
    """The exchange process's list of front ends (``csta -p`` there)."""

    def test_a_front_end_joins_and_goes(self) -> None:
        from cstaserver.cluster.presence import FrontRoster, front_beacon

        clock = Clock()
        broker = LocalBroker(clock)
        roster = FrontRoster(LocalBus(clock, broker, node_id="exchange-1"), "lim1", clock)
        defer.ensureDeferred(roster.start())
        said = {"ports": {"xml": 8882, "sip": 5062}, "clients": 3}
        beacon = front_beacon(
            LocalBus(clock, broker, node_id="front-a"), "lim1", lambda: said, clock
        )
        beacon.startService()
        clock.advance(0.5)
        self.assertEqual(roster.rows(), [("front-a", "sip 5062, xml 8882", "3", "0.0 s")])
        beacon.stopService()
        for _ in range(10):
            clock.advance(1)
        self.assertEqual(roster.rows(), [])
