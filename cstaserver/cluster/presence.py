"""Who is there: an exchange process's heartbeat and its exchange data, and a front end's
watch on them (docs/cluster.md, "Faults").

The exchange process (:class:`ExchangeBeacon`) publishes a heartbeat on
``csta:alive:<exchange>`` every ``interval`` seconds: its node name, the boot identity of this
run of it and the version of its exchange data (raised by every admin change). It serves
its exchange data as JSON (the ``exchange.json`` format) to whoever asks, on the bus service
``csta:data:<exchange>``.

A front end (:class:`ExchangeWatch`) asks for the exchange data when it starts and again
whenever a heartbeat shows a new version, and tells its owner:

- ``on_data(ExchangeData)``: the first data, and every change;
- ``on_down()``: no heartbeat for ``timeout`` seconds (the exchange process, or the broker,
  is gone): the front end tells its clients SystemStatus ``disabled`` (ECMA-269 14.1);
- ``on_up(restarted)``: heartbeats again; ``restarted`` when it is another run of the
  exchange (its calls are gone): the front end tells its clients SystemStatus ``normal``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from twisted.application.service import Service
from twisted.internet import defer, task
from twisted.logger import Logger

from cstaserver.bus import BusError
from cstaserver.config import ConfigError, ExchangeData
from cstaserver.config.codec import from_json, to_json

log = Logger()

HEARTBEAT_SECONDS = 1.0
#: A front end counts the exchange as gone after this many seconds without a heartbeat.
DOWN_AFTER_SECONDS = 3.5
DATA_TIMEOUT = 5.0


def alive_channel(exchange: str) -> str:
    return f"csta:alive:{exchange}"


def data_service(exchange: str) -> str:
    return f"csta:data:{exchange}"


class Heartbeat(Service):
    """Publishes ``{"node": ..., **describe()}`` on ``channel`` every ``interval`` seconds
    while running (the broker being away is not an error: the listeners notice)."""

    def __init__(
        self,
        bus: Any,
        channel: str,
        describe: Callable[[], dict[str, Any]],
        clock: Any,
        *,
        interval: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.bus, self.channel, self.describe, self.interval = bus, channel, describe, interval
        self._beat = task.LoopingCall(self.beat)
        self._beat.clock = clock

    def startService(self) -> Any:  # Twisted hook
        super().startService()
        self._beat.start(self.interval, now=True)

    def stopService(self) -> Any:
        super().stopService()
        if self._beat.running:
            self._beat.stop()

    def beat(self) -> None:
        payload = json.dumps({"node": self.bus.node_id, **self.describe()})
        deferred = self.bus.publish(self.channel, payload)
        if isinstance(deferred, defer.Deferred):
            deferred.addErrback(lambda _: None)


class ExchangeBeacon(Heartbeat):
    """The exchange process's heartbeat and data service (see the module docstring)."""

    def __init__(
        self,
        bus: Any,
        exchange: str,
        data: Callable[[], ExchangeData],
        clock: Any,
        *,
        interval: float = HEARTBEAT_SECONDS,
    ) -> None:
        super().__init__(bus, alive_channel(exchange), self._said, clock, interval=interval)
        self.exchange, self.data = exchange, data
        self.boot = uuid.uuid4().hex[:12]
        self.version = 1
        self._stop_serving: Callable[[], Any] | None = None

    def _said(self) -> dict[str, Any]:
        return {"boot": self.boot, "version": self.version}

    @defer.inlineCallbacks
    def startService(self):  # Twisted hook
        self._stop_serving = yield self.bus.serve(data_service(self.exchange), self._serve_data)
        super().startService()

    def stopService(self) -> Any:
        super().stopService()
        stop, self._stop_serving = self._stop_serving, None
        return defer.maybeDeferred(stop) if stop is not None else None

    def _serve_data(self, _: str) -> str:
        return json.dumps({"version": self.version, "exchange": to_json(self.data())})

    def changed(self) -> None:
        """The exchange data changed (an admin command): the front ends fetch it again."""
        self.version += 1
        if self.running:
            self.beat()


class ExchangeWatch:
    """A front end's view of one exchange process (see the module docstring)."""

    def __init__(
        self,
        bus: Any,
        exchange: str,
        clock: Any,
        *,
        on_data: Callable[[ExchangeData], Any],
        on_down: Callable[[], Any],
        on_up: Callable[[bool], Any],
        down_after: float = DOWN_AFTER_SECONDS,
    ) -> None:
        self.bus, self.exchange, self.clock = bus, exchange, clock
        self.on_data, self.on_down, self.on_up = on_data, on_down, on_up
        self.down_after = down_after
        self.boot: str | None = None
        self.version: int | None = None
        self.node: str | None = None
        self.down = False
        self._timer: Any = None
        self._fetching = False
        self._unsubscribe: Callable[[], Any] | None = None

    async def start(self) -> None:
        self._unsubscribe = await self.bus.subscribe(alive_channel(self.exchange), self._heard)
        self._arm()
        await self.fetch()

    def stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        stop, self._unsubscribe = self._unsubscribe, None
        if stop is not None:
            stop()

    def _arm(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.reset(self.down_after)
        else:
            self._timer = self.clock.callLater(self.down_after, self._silent)

    def _silent(self) -> None:
        self._timer = None
        if not self.down:
            self.down = True
            log.warn(
                "cluster: no heartbeat from exchange {exchange} for {seconds} s",
                exchange=self.exchange,
                seconds=self.down_after,
            )
            self.on_down()

    def _heard(self, _: str, payload: str) -> None:
        try:
            beat = json.loads(payload)
            node, boot, version = str(beat["node"]), str(beat["boot"]), int(beat["version"])
        except (ValueError, KeyError, TypeError):
            log.warn("cluster: a heartbeat that is not one: {payload!r}", payload=payload[:80])
            return
        self._arm()
        restarted = self.boot is not None and boot != self.boot
        if node != self.node:
            log.info(
                "cluster: exchange {exchange} is served by {node}",
                exchange=self.exchange,
                node=node,
            )
        self.node, self.boot = node, boot
        if self.down or restarted:
            self.down = False
            log.info(
                "cluster: exchange {exchange} is back{how}",
                exchange=self.exchange,
                how=" (restarted)" if restarted else "",
            )
            self.on_up(restarted)
        if restarted:
            self.version = None  # another run's versions start again
        if version != self.version:
            defer.ensureDeferred(self.fetch())

    async def fetch(self) -> bool:
        """Ask for the exchange data; True when it came (and was handed to ``on_data``)."""
        if self._fetching:
            return False
        self._fetching = True
        try:
            text = await self.bus.request(data_service(self.exchange), "", DATA_TIMEOUT)
            answer = json.loads(text)
            version = int(answer["version"])
            data = from_json(answer["exchange"], f"exchange {self.exchange} (from the broker)")
        except BusError as error:
            log.info(
                "cluster: waiting for exchange {exchange} ({reason})",
                exchange=self.exchange,
                reason=str(error),
            )
            return False
        except (ConfigError, ValueError, KeyError, TypeError) as error:
            log.error(
                "cluster: exchange {exchange} sent data this front end cannot read: {problem}",
                exchange=self.exchange,
                problem=getattr(error, "problem", str(error)),
            )
            return False
        finally:
            self._fetching = False
        if version == self.version:
            return False  # two fetches crossed: this one is not news
        self.version = version
        log.info(
            "cluster: exchange data version {version} from exchange {exchange}",
            version=version,
            exchange=self.exchange,
        )
        await defer.maybeDeferred(self.on_data, data)
        return True


# -- the front ends, as the exchange process sees them -----------------------------------------


def fronts_channel(exchange: str) -> str:
    return f"csta:fronts:{exchange}"


def front_beacon(
    bus: Any, exchange: str, describe: Callable[[], dict[str, Any]], clock: Any
) -> Heartbeat:
    """A front end's heartbeat to its exchange process: its node, where it listens and how
    many clients it has (``describe()`` gives the last two)."""
    return Heartbeat(bus, fronts_channel(exchange), describe, clock)


class FrontRoster:
    """The exchange process's list of its front ends, from their heartbeats: who joined,
    who went quiet (logged once each), and a row per front end for ``csta -p``."""

    def __init__(
        self,
        bus: Any,
        exchange: str,
        clock: Any,
        *,
        gone_after: float = DOWN_AFTER_SECONDS,
        on_gone: Callable[[str], Any] = lambda node: None,
    ):
        """``on_gone(node)``: a front end went quiet (the exchange forgets what it listened
        to)."""
        self.bus, self.exchange, self.clock, self.gone_after = bus, exchange, clock, gone_after
        self.on_gone = on_gone
        #: node -> (what it said last, when)
        self.fronts: dict[str, tuple[dict[str, Any], float]] = {}
        self._unsubscribe: Callable[[], Any] | None = None
        self._sweep = task.LoopingCall(self.sweep)
        self._sweep.clock = clock

    async def start(self) -> None:
        self._unsubscribe = await self.bus.subscribe(fronts_channel(self.exchange), self._heard)
        self._sweep.start(self.gone_after, now=False)

    def stop(self) -> None:
        if self._sweep.running:
            self._sweep.stop()
        stop, self._unsubscribe = self._unsubscribe, None
        if stop is not None:
            stop()

    def _heard(self, _: str, payload: str) -> None:
        try:
            said = json.loads(payload)
            node = str(said["node"])
        except (ValueError, KeyError, TypeError):
            return
        if node not in self.fronts:
            log.info(
                "cluster: front end {node} joined ({ports})",
                node=node,
                ports=describe_ports(said.get("ports")),
            )
        self.fronts[node] = (said, self.clock.seconds())

    def sweep(self) -> None:
        now = self.clock.seconds()
        for node, (_, seen) in list(self.fronts.items()):
            if now - seen > self.gone_after:
                del self.fronts[node]
                log.warn(
                    "cluster: front end {node} gone (no heartbeat for {seconds} s)",
                    node=node,
                    seconds=self.gone_after,
                )
                self.on_gone(node)

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(node, where it listens, clients, seconds since its last heartbeat)."""
        now = self.clock.seconds()
        return [
            (
                node,
                describe_ports(said.get("ports")),
                str(said.get("clients", "-")),
                f"{now - seen:.1f} s",
            )
            for node, (said, seen) in sorted(self.fronts.items())
        ]


def describe_ports(ports: object) -> str:
    if not isinstance(ports, dict) or not ports:
        return "no listener"
    return ", ".join(f"{name} {port}" for name, port in sorted(ports.items()))
