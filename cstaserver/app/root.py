"""The whole server as one service tree, built from the options and the exchange data.

:func:`build_service` composes a run:

1. opens the data directory (``--data``, :mod:`.datapath`): a missing parent directory
   (without ``--create``) or another server running on it stops start-up with one line and
   exit status 2; it is locked for this server (``server.lock``, released when it stops) and
   created with the demo exchange when it holds no ``exchange.json`` (``--no-demo``: the
   empty exchange) and a self-signed certificate; a corrupt or unreadable file stops start-up
   with ``csta: <file>: <problem>`` and exit status 1, leaving the file untouched;
2. builds the switch, the simulator and the CSTA core on a clock of simulated time of their
   own (:class:`~cstaserver.pbx.clock.SkippableClock` over the reactor: the JSON API's
   ``POST /api/v1/time/advance`` skips it forward; listeners and the transports' timers keep
   the reactor), the :class:`~.runtime.Runtime` that holds them with the exchange data in
   force, and what the JSON API at ``/api/v1`` works on (``runtime.api``);
3. adds under one :class:`CstaRoot` the core's service (``csta``), one
   :class:`~.servers.CstaServerService` per CSTA server of the exchange data (``xml-1``,
   ``tr87-2``, ...) with its listeners, and the admin services (control socket, telnet, ssh).

The port options (``--xml-port`` ...) and endpoint options (``--xml-endpoint`` ...) override
the listeners of the first CSTA server of each type for this run; the exchange data is not
changed by them.

:meth:`CstaRoot.reconfig` is how a running server takes new exchange data (``csta -i``,
``csta -e``, ``csta_authentication``, ``exchange restore``): each CSTA server's service is
reconfigured, added or removed, and then the data in force is replaced. The admin commands
reach it through :class:`~cstaserver.admin.running.RunningTarget`.

On the first run (the data holds no admin account) and with ``--reset-admin-password``, the
admin login ``admin`` gets a new random password: only its hash is saved, and the password is
shown once, in the start-up log. Every login of the run goes through one
:class:`~cstaserver.csta.logins.LoginThrottle` and one
:class:`~cstaserver.csta.logins.PasswordChecks` (a service of the root: its threads start
before the listeners and stop after them).

When started the server logs the exchange summary before any port is bound, one
``listening: <name> on <host>:<port>`` line per port, the admin login hint, and once the
reactor runs ``csta: started`` (the line to wait for: from then on it answers and handles
SIGINT). A port that cannot be bound stops start-up with one line naming it and exit status 1.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin.access import FAILURE_DELAY, AdminAccountsChecker, HostKeyError
from cstaserver.admin.output import CommandError
from cstaserver.admin.running import RunningTarget
from cstaserver.admin.status import server_id
from cstaserver.admin.target import IRunningServer, ServerRun
from cstaserver.api.sources import ApiSources
from cstaserver.api.trace import WireRecorder
from cstaserver.app.admin import admin_services
from cstaserver.app.datapath import DataPathRefused, open_data_directory
from cstaserver.app.endpoints import Address, CannotListen
from cstaserver.app.options import Options, RunSettings
from cstaserver.app.runtime import Runtime
from cstaserver.app.servers import ROLES, CstaServerService, Key, key_of
from cstaserver.bus.address import BrokerUnreachable
from cstaserver.certificates import CertificateStore
from cstaserver.config import (
    DEFAULT_ADMIN_USER,
    LEGACY_ADMIN_PASSWORD,
    AdminAccount,
    ConfigError,
    CstaServerSettings,
    DataDirectory,
    ExchangeData,
    ServerType,
    demo_exchange_data,
    empty_exchange_data,
)
from cstaserver.config.passwords import hash_password, new_password, verify_password
from cstaserver.config.serverlock import ServerLock
from cstaserver.config.summary import exchange_summary
from cstaserver.csta.logins import LoginThrottle, PasswordChecks
from cstaserver.csta.service import CoreService, make_core
from cstaserver.pbx.clock import SkippableClock
from cstaserver.pbx.simulator import Simulator
from cstaserver.pbx.switch import Switch

log = Logger()


class StartupError(SystemExit):
    """Start-up cannot go on. Under twistd, Python prints the one-line message to stderr and
    the process exits with status 1; no traceback (a ``SystemExit`` passes through twistd)."""


class StartupRefused(StartupError):
    """Start-up refused because of how it was asked (``--data``): :func:`make_service`
    prints the one line and exits with status 2, the status of a usage error."""

    status = 2


# -- the options of a run applied to the exchange data's CSTA servers ------------------------


def _run_port(settings: RunSettings, role: str) -> int | None:
    """``--xml-port``, ``--tls-port``, ``--web-port``, ``--sip-port``: a listener role's port
    option (RunSettings names them after the role)."""
    return getattr(settings, f"{role}_port")


def _first_of_each_type(servers: Iterable[CstaServerSettings]) -> set[Key]:
    """The run's options apply to the first CSTA server of each type."""
    firsts: dict[ServerType, Key] = {}
    for server in servers:
        firsts.setdefault(server.server_type, key_of(server))
    return set(firsts.values())


def apply_port_options(
    servers: Iterable[CstaServerSettings], settings: RunSettings
) -> list[CstaServerSettings]:
    """The CSTA servers as this run uses them: ``--xml-port``, ``--tls-port`` and
    ``--web-port`` change the first XML server, ``--sip-port`` the first TR/87 server;
    the stored exchange data is not changed."""
    servers = list(servers)
    firsts = _first_of_each_type(servers)
    result = []
    for server in servers:
        changes = {}
        if key_of(server) in firsts:
            for role, field in ROLES[server.server_type].items():
                port = _run_port(settings, role)
                if port is not None:
                    changes[field] = port
        result.append(attrs.evolve(server, **changes))
    return result


def run_overrides(
    servers: Iterable[CstaServerSettings], settings: RunSettings
) -> dict[Key, dict[str, Address]]:
    """Per CSTA server, the listener addresses this run's options give (role -> address):
    an ``--*-endpoint`` description, else a ``--*-port``."""
    servers = list(servers)
    firsts = _first_of_each_type(servers)
    result: dict[Key, dict[str, Address]] = {}
    for server in servers:
        addresses: dict[str, Address] = {}
        if key_of(server) in firsts:
            for role in ROLES[server.server_type]:
                description = getattr(settings, f"{role}_endpoint")
                port = _run_port(settings, role)
                if description is not None:
                    addresses[role] = Address.described(description)
                elif port is not None:
                    addresses[role] = Address.tcp(port, settings.interface)
        result[key_of(server)] = addresses
    return result


# -- the root service ----------------------------------------------------------------------


@contextlib.contextmanager
def _startup_errors() -> Iterator[None]:
    """A listener that cannot listen stops start-up with its one line."""
    try:
        yield
    except CannotListen as error:
        raise StartupError(f"csta: {error}") from None


@implementer(IRunningServer)
class CstaRoot(MultiService):
    """The whole server (see the module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        default_admin_password: bool,
        new_admin_password: str | None = None,
        lock: ServerLock | None = None,
        serves_clients: bool = True,
        admin: bool = True,
    ) -> None:
        """``serves_clients``: False for the exchange process of a cluster (its front ends
        run the CSTA servers of the data); ``admin``: False for a front end (no admin
        shell: the exchange process has it)."""
        super().__init__()
        self.runtime = runtime
        self.lock = lock
        self.serves_clients = serves_clients
        self.admin = admin
        #: told of every new exchange data once it is in force (a cluster's beacon)
        self.reconfigured: list[Callable[[ExchangeData], object]] = []
        self.target = RunningTarget(self)
        self._default_admin_password = default_admin_password
        self._new_admin_password = new_admin_password
        self._announced = False
        #: freeze what start-up built out of the collector's reach once the reactor runs
        #: (``make_service`` sets it: a process that is the server; tests' roots do not)
        self.freeze_when_started = False

    # -- IRunningServer ----------------------------------------------------------------------
    @property
    def exchange(self) -> ExchangeData:
        return self.runtime.exchange

    @property
    def data_directory(self) -> DataDirectory:
        return self.runtime.data_directory

    @property
    def core(self) -> Any:
        return self.runtime.core

    def servers(self) -> list[CstaServerService]:
        """The CSTA servers' services, in the exchange data's order."""
        found = {s.key: s for s in self if isinstance(s, CstaServerService)}
        return [found[key_of(s)] for s in self.exchange.csta_servers if key_of(s) in found]

    def port_of(self, role: str) -> int:
        """The port bound by the first CSTA server's ``role`` listener (``xml``, ``tls``,
        ``web``, ``sip``): what a test or a script started on port 0 connects to.
        LookupError if no server has that listener running."""
        for server in self.servers():
            listener = server.listeners.get(role)
            if listener is not None and listener.bound_port is not None:
                return listener.bound_port
        raise LookupError(f"no {role} listener is running")

    def server_runs(self) -> list[ServerRun]:
        if not self.serves_clients:  # a cluster's exchange: its front ends run them
            return [ServerRun(settings=s) for s in self.exchange.csta_servers]
        return [
            ServerRun(settings=s.as_run(), ports=tuple(s.bound_ports()), tls=s.tls_summary())
            for s in self.servers()
        ]

    def front_rows(self) -> tuple[tuple[str, ...], ...] | None:
        """A cluster's exchange process: a row per front end heard from (``csta -p``)."""
        node = self.namedServices.get("cluster")
        return tuple(node.roster.rows()) if node is not None and node.roster else None

    def start_missing_tls(self) -> list[str]:
        return [note for s in self.servers() if (note := s.start_tls()) is not None]

    def reconfig(self, exchange: ExchangeData) -> Deferred[None]:
        return Deferred.fromCoroutine(self._reconfig(exchange))

    async def _reconfig(self, new: ExchangeData) -> None:
        switch = self.runtime.switch
        plan_changed = self.runtime.exchange.plan != new.plan
        if plan_changed and (reason := switch.plan_refusal(new.plan)) is not None:
            raise CommandError(reason)
        running = {s.key: s for s in self if isinstance(s, CstaServerService)}
        wanted = {key_of(s): s for s in new.csta_servers} if self.serves_clients else {}
        added: list[CstaServerService] = []
        changed: list[tuple[CstaServerService, CstaServerSettings]] = []
        try:
            for key, settings in wanted.items():
                service = running.get(key)
                if service is None:
                    added.append(self._add_server(settings))
                elif service.settings != settings:
                    previous = service.settings
                    await service.reconfig(settings)
                    changed.append((service, previous))
        except CannotListen as error:
            for service in reversed(added):
                await service.disownServiceParent()
            for service, previous in reversed(changed):
                await service.reconfig(previous)
            raise CommandError(str(error)) from None
        for key in running.keys() - wanted.keys():
            await self._remove_server(running[key])
        if plan_changed:  # devices, groups, agents, trunks and timers: live
            switch.update_plan(new.plan)
        if self.runtime.exchange.limits != new.limits:  # csta_limits -c: live
            self.core.apply_limits(new.limits)
            if isinstance(self.core.tracer, WireRecorder):  # the trace bounds too
                self.core.tracer.apply_limits(new.limits)
        self.runtime.exchange = new
        for told in self.reconfigured:
            told(new)

    def _add_server(self, settings: CstaServerSettings) -> CstaServerService:
        service = CstaServerService(self.runtime, settings)
        try:
            service.setServiceParent(self)
        except CannotListen:
            self.removeService(service)
            raise
        return service

    async def _remove_server(self, service: CstaServerService) -> None:
        await service.disownServiceParent()
        self.close_clients(server_id(service.settings), "CSTA server removed")
        log.info("CSTA server {server} removed", server=server_id(service.settings))

    def close_clients(self, server: str, reason: str) -> int:
        """End the sessions (ApplicationSessionTerminated, resourceLimitation) and close the
        connections of one CSTA server's clients, after what was already written."""
        core = self.core
        closed = 0
        for association in list(core.associations):
            if association.profile.server_id != server or association.closed:
                continue
            if association.session is not None:
                core.sessions.terminate(association.session, "resourceLimitation")
            association.close(reason)
            closed += 1
        return closed

    # -- start-up ----------------------------------------------------------------------------
    def _announce(self) -> None:
        if self._announced:
            return
        self._announced = True
        runtime = self.runtime
        if self.admin:
            log.info("exchange data: {path}", path=str(runtime.data_directory.exchange_file))
        else:  # a cluster's front end
            log.info(
                "exchange data: exchange {name} over the bus", name=runtime.settings.exchange_name
            )
        servers = apply_port_options(runtime.exchange.csta_servers, runtime.settings)
        for line, fields in exchange_summary(runtime.exchange, servers):
            log.info(line, **fields)

    def privilegedStartService(self) -> None:
        if self.lock is not None:
            self.lock.record_pid()  # twistd without -n has forked since the lock was taken
        self._announce()
        with _startup_errors():
            super().privilegedStartService()

    def startService(self) -> None:
        self._announce()
        with _startup_errors():
            super().startService()
        password, self._new_admin_password = self._new_admin_password, None
        if not self.admin:
            pass  # a cluster's front end: the exchange process has the admin shell
        elif password is not None:  # shown this once, never kept
            log.warn(
                "admin login: {user} / {password} (a new random password, shown only this "
                "once: change it with csta_admin_password -c --user {user} or the shell's "
                "passwd)",
                user=DEFAULT_ADMIN_USER,
                password=password,
            )
        elif self._default_admin_password:
            log.warn(
                "admin login {user} still has the old default password: change it with "
                "csta_admin_password -c --user {user}, or restart with --reset-admin-password",
                user=DEFAULT_ADMIN_USER,
            )
        else:
            users = ", ".join(a.user for a in self.exchange.admin_accounts)
            log.info("admin shell accounts: {users}", users=users or "none")
        self.runtime.reactor.callWhenRunning(self._started)

    def stopService(self) -> Deferred[None]:
        """Stop every service, then let another server have the data directory."""
        stopped = maybeDeferred(super().stopService)
        return stopped.addBoth(self._release)

    def _release(self, result: object) -> object:
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        return result

    def _started(self) -> None:
        """Once the reactor runs (signals handled, clients served): the line to wait for."""
        if self.freeze_when_started:
            freeze_long_lived_objects()
        log.info("csta: started")


def freeze_long_lived_objects() -> int:
    """Move every object alive now into the collector's permanent generation
    (``gc.collect()``, then ``gc.freeze()``); returns how many are frozen.

    Called once, when the server has started: the exchange data, the numbering plan, the
    devices, the listeners and the code live for the whole run, and a full (generation 2)
    collection would otherwise walk all of them every time, 40 - 130 ms on 10,000
    extensions, more while a SIP endpoint keeps 32 s of UDP transactions (Timer J).
    Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "collector: {frozen} objects of the start-up frozen out of full collections",
        frozen=frozen,
    )
    return frozen


# -- building it ---------------------------------------------------------------------------


def _open_directory(settings: RunSettings) -> tuple[DataDirectory, ServerLock]:
    try:
        return open_data_directory(settings.data, create=settings.create)
    except DataPathRefused as e:
        raise StartupRefused(f"csta: {e}") from None
    except OSError as e:
        where = e.filename or settings.data
        raise StartupError(f"csta: {where}: {e.strerror or e}") from None


def _load_exchange(directory: DataDirectory, demo: bool) -> tuple[ExchangeData, bool]:
    try:
        return directory.load_or_create(demo_exchange_data if demo else empty_exchange_data)
    except ConfigError as e:
        raise StartupError(f"csta: {e.path or directory.exchange_file}: {e.problem}") from None
    except OSError as e:
        where = e.filename or directory.path
        raise StartupError(f"csta: {where}: {e.strerror or e}") from None


def _has_default_admin_password(data: ExchangeData) -> bool:
    return any(
        account.user == DEFAULT_ADMIN_USER
        and verify_password(LEGACY_ADMIN_PASSWORD, account.password_hash)
        for account in data.admin_accounts
    )


def _admin_password(
    directory: DataDirectory, exchange: ExchangeData, reset: bool
) -> tuple[ExchangeData, str | None]:
    """On the first run (no admin account) or with ``--reset-admin-password``: the account
    ``admin`` with a new random password, saved as a hash; the password, to show once."""
    if exchange.admin_accounts and not reset:
        return exchange, None
    password = new_password()
    account = AdminAccount(DEFAULT_ADMIN_USER, hash_password(password))
    others = [a for a in exchange.admin_accounts if a.user != DEFAULT_ADMIN_USER]
    changed = attrs.evolve(exchange, admin_accounts=[account, *others])
    try:
        directory.save(changed)
    except (ConfigError, OSError) as e:
        raise StartupError(f"csta: {directory.exchange_file}: cannot save: {e}") from None
    return changed, password


def build_service(
    settings: RunSettings,
    reactor: Any,
    *,
    switch_factory: Callable[[Any, Any], Any] = Switch,
    admin_failure_delay: float = FAILURE_DELAY,
) -> CstaRoot:
    """Compose the server (see the module docstring): ``reactor`` for the listeners and
    the transports, a :class:`SkippableClock` over it for the switch, simulator and core.
    With ``--cluster`` the broker must answer first (one line and exit status 1 if not);
    ``--role front`` builds a front end (:mod:`.cluster`)."""
    if settings.cluster is not None:  # before anything else: the broker answers
        try:
            settings.cluster.probe()
        except BrokerUnreachable as error:
            raise StartupError(f"csta: {error}") from None
    directory, lock = _open_directory(settings)
    if settings.role == "front":
        from cstaserver.app.cluster import build_front

        try:
            return build_front(settings, reactor, directory, lock)
        except BaseException:
            lock.release()
            raise
    try:
        return _build(settings, reactor, directory, lock, switch_factory, admin_failure_delay)
    except BaseException:
        lock.release()
        raise


def _build(
    settings: RunSettings,
    reactor: Any,
    directory: DataDirectory,
    lock: ServerLock,
    switch_factory: Callable[[Any, Any], Any],
    admin_failure_delay: float,
) -> CstaRoot:
    exchange, created = _load_exchange(directory, settings.demo)
    if created:
        kind = "demo" if settings.demo else "empty"
        log.info("created the {kind} exchange in {path}", kind=kind, path=str(directory.path))
        if CertificateStore(directory.path).ensure_self_signed():
            log.info("created a self-signed TLS certificate (mxone_certificate -p shows it)")
    exchange, new_admin_password = _admin_password(
        directory, exchange, settings.reset_admin_password
    )
    clock = SkippableClock(reactor)
    switch = switch_factory(exchange.plan, clock)
    runtime = compose_runtime(
        settings, reactor, directory, exchange, switch, clock, simulator=Simulator(switch)
    )
    core = runtime.core
    root = CstaRoot(
        runtime,
        default_admin_password=new_admin_password is None and _has_default_admin_password(exchange),
        new_admin_password=new_admin_password,
        lock=lock,
        serves_clients=settings.role != "exchange",
    )
    runtime.api = ApiSources(
        core=core,
        switch=switch,
        simulator=runtime.simulator,
        clock=clock,
        reactor=reactor,
        exchange=lambda: runtime.exchange,
        server_runs=root.server_runs,
        admin_checker=AdminAccountsChecker(
            runtime.admin_accounts, reactor, admin_failure_delay, verify=runtime.verify()
        ),
    )
    add_core_services(root)
    if settings.cluster is not None:  # the exchange serves front ends over the bus
        from cstaserver.app.cluster import ExchangeNode

        ExchangeNode(root, settings.cluster, settings.exchange_name).setServiceParent(root)
    if root.serves_clients:
        add_csta_servers(root)
    try:
        for service in admin_services(runtime, root.target, failure_delay=admin_failure_delay):
            service.setServiceParent(root)
    except HostKeyError as e:
        raise StartupError(f"csta: {e}") from None
    return root


def compose_runtime(
    settings: RunSettings,
    reactor: Any,
    directory: DataDirectory,
    exchange: ExchangeData,
    switch: Any,
    clock: Any,
    *,
    simulator: Simulator | None,
    services: Any = None,
) -> Runtime:
    """The runtime of a run over ``switch`` (the exchange's, or a cluster's front end's
    ``RemoteSwitch`` with its ``services`` table): the CSTA core with the wire trace of every
    client, the login throttle and the password checks the exchange data's limits say."""
    logins, checks = login_checks(reactor, exchange)
    core = make_core(
        switch,
        clock,
        limits=exchange.limits,
        applications=lambda: runtime.applications(),
        tracer=WireRecorder(reactor, exchange.limits),  # the wire trace of every client
        throttle=logins.view("csta"),
        verify=checks.verify,
        services=services,
    )
    runtime = Runtime(
        reactor=reactor,
        settings=settings,
        data_directory=directory,
        exchange=exchange,
        switch=switch,
        simulator=simulator,
        core=core,
        clock=clock,
        logins=logins,
        password_checks=checks,
    )
    return runtime


def login_checks(reactor: Any, exchange: ExchangeData) -> tuple[LoginThrottle, PasswordChecks]:
    """The login throttle and the password checks of a run, as the exchange data's limits
    say."""
    limits = exchange.limits
    logins = LoginThrottle(
        reactor,
        per_address=limits.login_attempts_per_address,
        per_account=limits.login_attempts_per_account,
        window=limits.login_window,
        refusal_delay=FAILURE_DELAY,
    )
    checks = PasswordChecks(
        reactor, threads=limits.password_check_threads, waiting=limits.password_checks_waiting
    )
    return logins, checks


def add_core_services(root: CstaRoot) -> None:
    """The password checks (first: started before, stopped after every listener) and the
    core's service."""
    root.runtime.password_checks.setServiceParent(root)
    CoreService(root.core).setServiceParent(root)


def add_csta_servers(root: CstaRoot) -> None:
    """One service per CSTA server of the exchange data, with this run's port options."""
    runtime = root.runtime
    overrides = run_overrides(runtime.exchange.csta_servers, runtime.settings)
    with _startup_errors():  # a bad endpoint description
        for server in runtime.exchange.csta_servers:
            service = CstaServerService(runtime, server, overrides.get(key_of(server)))
            service.setServiceParent(root)


def make_service(options: Options) -> CstaRoot:
    """``IServiceMaker.makeService``: the one place that uses the global reactor."""
    from twisted.internet import reactor

    settings = getattr(options, "settings", None) or RunSettings.from_options(options)
    try:
        service = build_service(settings, reactor)
    except StartupRefused as refused:
        sys.stderr.write(f"{refused}\n")
        sys.stderr.flush()
        raise SystemExit(refused.status) from None
    service.freeze_when_started = True
    return service
