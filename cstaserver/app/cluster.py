"""The composition of a cluster (docs/cluster.md): ``--cluster redis://HOST:PORT`` with
``--role exchange``, ``front`` or ``all``.

- **exchange** (and **all** with ``--cluster``): the server as one process builds it, plus
  :class:`ExchangeNode`: its node on the bus, which serves the front ends' CSTA requests
  (``cstaserver.cluster.exchange.ExchangeServer``), publishes the switch's events, beats a
  heartbeat and serves the exchange data (``cstaserver.cluster.presence.ExchangeBeacon``).
  ``exchange`` runs no CSTA listeners of its own; ``all`` does, and serves front ends too.
- **front**: :class:`FrontService`: no switch of its own and no admin shell. Once started it
  joins the bus, fetches the exchange data from the exchange process (waiting for one to
  answer), and then builds the CSTA core over a ``cstaserver.cluster.front.RemoteSwitch`` and
  starts the CSTA servers of that data (with this run's port options), as one process would;
  once started it freezes its start-up out of the collector as one process does
  (``root.freeze_long_lived_objects``).
  Its application sessions are kept on the bus
  (``cstaserver.cluster.sessions``), so a client may reattach through another front end.
  A change of the exchange data (an admin command on the exchange process) reaches it within
  a heartbeat and is applied as ``csta -i`` applies one. When the exchange's heartbeats stop,
  its clients get SystemStatus ``disabled``, and ``normal`` when they come back.

Every process logs its role, its node name on the bus and the broker; a broker that does not
answer at start-up stops it with one line and exit status 1 (``build_service`` probes it).
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.logger import Logger

from cstaserver.bus.address import BrokerAddress
from cstaserver.bus.envelope import new_node_id
from cstaserver.bus.redis import RedisBus
from cstaserver.certificates import CertificateStore
from cstaserver.cluster.exchange import ExchangeServer
from cstaserver.cluster.front import RemoteSwitch, front_services
from cstaserver.cluster.presence import ExchangeBeacon, ExchangeWatch, FrontRoster, front_beacon
from cstaserver.cluster.sessions import share_sessions
from cstaserver.config import DataDirectory, ExchangeData
from cstaserver.config.serverlock import ServerLock
from cstaserver.pbx.switch import Switch

log = Logger()


def _connect(reactor: Any, broker: BrokerAddress, role: str) -> RedisBus:
    return RedisBus(reactor, broker.host, broker.port, node_id=new_node_id(role))


class ExchangeNode(MultiService):
    """The exchange process's node on the bus (see the module docstring); a child of the
    root, so it starts after the core and stops before it."""

    name = "cluster"

    def __init__(self, root: Any, broker: BrokerAddress, exchange: str) -> None:
        super().__init__()
        self.root, self.broker, self.exchange = root, broker, exchange
        self.bus: RedisBus | None = None
        self.server: ExchangeServer | None = None
        self.beacon: ExchangeBeacon | None = None
        self.roster: FrontRoster | None = None

    def startService(self) -> None:  # Twisted hook
        runtime = self.root.runtime
        reactor = runtime.reactor
        self.bus = _connect(reactor, self.broker, "exchange")
        log.info(
            "cluster: exchange {exchange} on node {node}, broker {broker} (role {role})",
            exchange=self.exchange,
            node=self.bus.node_id,
            broker=str(self.broker),
            role=runtime.settings.role,
        )
        self.server = ExchangeServer(self.bus, runtime.core, exchange=self.exchange, clock=reactor)
        self.beacon = ExchangeBeacon(self.bus, self.exchange, lambda: runtime.exchange, reactor)
        self.root.reconfigured.append(lambda _: self.beacon.changed())
        self.beacon.setServiceParent(self)
        server = self.server
        self.roster = FrontRoster(self.bus, self.exchange, reactor, on_gone=server.forget)
        super().startService()
        started = self.server.start()
        started.addErrback(lambda f: log.failure("cluster: exchange server did not start", f))
        listening = defer.ensureDeferred(self.roster.start())
        listening.addErrback(lambda f: log.failure("cluster: front ends not followed", f))

    @defer.inlineCallbacks
    def stopService(self):  # Twisted hook
        if self.roster is not None:
            self.roster.stop()
        yield super().stopService()  # the heartbeat stops first: front ends see it go
        if self.server is not None:
            yield self.server.stop()
        if self.bus is not None:
            yield self.bus.close()


class FrontService(MultiService):
    """A front end (see the module docstring). ``root`` is the server built once the
    exchange data has come (None until then)."""

    def __init__(
        self, settings: Any, reactor: Any, directory: DataDirectory, lock: ServerLock
    ) -> None:
        super().__init__()
        self.settings, self.reactor, self.directory, self.lock = settings, reactor, directory, lock
        self.root: Any = None
        self.bus: RedisBus | None = None
        self.watch: ExchangeWatch | None = None
        self._told_down = False
        self._stop_sharing: Any = None
        #: as ``CstaRoot.freeze_when_started`` (``make_service`` sets it): the server built
        #: once the exchange data has come freezes its start-up out of the collector
        self.freeze_when_started = False

    # what tests and scripts ask of a running server
    def port_of(self, role: str) -> int:
        if self.root is None:
            raise LookupError("the front end has no exchange data yet")
        return self.root.port_of(role)

    @property
    def core(self) -> Any:
        return self.root.core if self.root is not None else None

    def startService(self) -> None:  # Twisted hook
        super().startService()
        broker, name = self.settings.cluster, self.settings.exchange_name
        self.bus = _connect(self.reactor, broker, "front")
        log.info(
            "cluster: front end {node} of exchange {exchange}, broker {broker}",
            node=self.bus.node_id,
            exchange=name,
            broker=str(broker),
        )
        self.watch = ExchangeWatch(
            self.bus,
            name,
            self.reactor,
            on_data=self._data,
            on_down=self._down,
            on_up=self._up,
        )
        started = defer.ensureDeferred(self.watch.start())
        started.addErrback(lambda f: log.failure("cluster: front end did not start", f))

    @defer.inlineCallbacks
    def stopService(self):  # Twisted hook
        if self.watch is not None:
            self.watch.stop()
        yield super().stopService()
        if self._stop_sharing is not None:
            yield defer.maybeDeferred(self._stop_sharing)
        if self.bus is not None:
            yield self.bus.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    async def _data(self, exchange: ExchangeData) -> None:
        if self.root is None:
            await self._build(exchange)
            return
        try:
            await self.root.reconfig(exchange)
        except Exception as error:  # a port of the new data cannot be bound here
            log.error("cluster: the exchange data changed; not applied here: {error}", error=error)

    async def _build(self, exchange: ExchangeData) -> None:
        from cstaserver.app.root import (
            CstaRoot,
            add_core_services,
            add_csta_servers,
            compose_runtime,
        )

        reactor, settings = self.reactor, self.settings
        remote = RemoteSwitch(
            self.bus, Switch(exchange.plan, reactor), exchange=settings.exchange_name, clock=reactor
        )
        runtime = compose_runtime(
            settings,
            reactor,
            self.directory,
            exchange,
            remote,
            reactor,
            simulator=None,
            services=front_services(remote),
        )
        core = runtime.core
        root = CstaRoot(runtime, default_admin_password=False, admin=False)
        root.freeze_when_started = self.freeze_when_started
        add_core_services(root)
        add_csta_servers(root)
        # sessions on the bus before the first client: a client may reattach through here
        self._stop_sharing = await share_sessions(core, self.bus)
        self.root = root
        try:
            root.setServiceParent(self)  # starts it: the listeners bind now
        except SystemExit as error:  # a port that cannot be bound: nothing to serve
            log.critical("{error}", error=str(error))
            reactor.stop()
            return
        beacon = front_beacon(self.bus, settings.exchange_name, self._describe, reactor)
        beacon.setServiceParent(self)

    def _describe(self) -> dict[str, Any]:
        """What this front end's heartbeat tells the exchange process (``csta -p`` there)."""
        root = self.root
        ports: dict[str, int] = {}
        for server in root.servers():
            for role, listener in server.listeners.items():
                if listener.running and listener.bound_port is not None:
                    ports.setdefault(role, listener.bound_port)
        clients = sum(1 for a in root.core.associations if not a.closed)
        return {"ports": ports, "clients": clients}

    def _down(self) -> None:
        if self.root is not None:
            self._told_down = True
            self.root.core.broadcast_system_status("disabled")

    def _up(self, restarted: bool) -> None:
        if self.root is None:
            return
        # the exchange publishes only on channels it knows are listened to: after a restart
        # (or a gap in which a notice may have been lost) it is told them all again
        self.root.runtime.switch.announce()
        if restarted and not self._told_down:  # gone and back within a heartbeat
            self.root.core.broadcast_system_status("disabled")
        self._told_down = False
        self.root.core.broadcast_system_status("normal")


def build_front(
    settings: Any, reactor: Any, directory: DataDirectory, lock: ServerLock
) -> FrontService:
    """A front end on ``directory`` (its own: the TLS certificate, the lock); the exchange
    data comes from the exchange process over the bus."""
    if CertificateStore(directory.path).ensure_self_signed():
        log.info("created a self-signed TLS certificate (mxone_certificate -p shows it)")
    return FrontService(settings, reactor, directory, lock)
