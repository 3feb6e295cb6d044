"""The running server as the target of the administrator's commands (INTERFACE.md §5:
"applied to the running server at once"; the seed's 6.2 initiate / remove CSTA server).

:class:`LiveExchange` edits the server's exchange data and applies the difference between the
old and the new CSTA servers:

- a server initiated, or a port changed: its listeners are built with the **same builder
  functions the server uses at start-up** (the ``build_*_listeners`` of
  :func:`cstaserver.service.service_builders`, looked up by name) on a context that names
  only that server, and started at once. A port that cannot be bound stops everything
  started so far, restarts what was replaced, and nothing is saved (CommandError, one line).
  A changed authentication mode restarts all listeners of the server (the mode is part of
  each listener's profile); connected clients stay, new connections get the new mode.
- a server removed (``csta -e``): after the save, its listeners stop, its application
  sessions end with ApplicationSessionTerminated ``resourceLimitation`` and every client
  connection is closed cleanly (after what was written), its SOAP sessions end.

Then the data is saved atomically (under the data directory's lock) and ``core.exchange``
replaced, so the authenticator uses new ``csta_authentication`` criteria at the next login.
Listeners started here are not children of the root service (two CSTA servers of one type
would have the same service name); :class:`~cstaserver.admin.service.AdminService` stops
them when the server stops. Updates run one at a time (``DeferredLock``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from twisted.application.service import IService
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin.output import CommandError
from cstaserver.admin.status import (
    ClientRow,
    MonitorRow,
    ServerState,
    SessionRow,
    StatusView,
    server_id,
)
from cstaserver.admin.target import IExchangeTarget, locked, save
from cstaserver.certificates import CertificateStore
from cstaserver.config import CstaServerSettings, ExchangeData, ServerType

log = Logger()

Key = tuple[int, ServerType]
PORT_FIELDS = ("port", "tls_port", "web_port")

#: Where the listener builders live, for a server whose ``service_builders()`` lists none.
FALLBACK_BUILDERS = (
    "cstaserver.xmlproto.service:build_xml_listeners",
    "cstaserver.xmlproto.service:build_tls_listeners",
    "cstaserver.sip.service:build_sip_listeners",
    "cstaserver.soap.service:build_web_listeners",
)


def key_of(server: CstaServerSettings) -> Key:
    return (server.lim, server.server_type)


def listener_type(name: str) -> ServerType | None:
    if name in ("xml", "tls", "web"):
        return ServerType.XML
    if name.startswith("sip"):
        return ServerType.TR87
    return None


def listener_field(service: object) -> str | None:
    """Which port of its CSTA server a listener serves (by its INTERFACE.md §2 name)."""
    name = getattr(service, "name", None) or ""
    if name == "xml" or (name.startswith("sip") and "tls" not in name):
        return "port"
    if name == "tls" or name.startswith("sip"):
        return "tls_port"
    if name == "web":
        return "web_port"
    return None


def bound_port(service: object) -> int | None:
    port = getattr(service, "port", None)
    if port is None or not hasattr(port, "getHost"):
        return None
    return getattr(port.getHost(), "port", None)


def listener_builders() -> list[Callable[[Any], Iterable[IService]]]:
    """The listener builders of the server (``build_*_listeners*``), else the known ones."""
    from cstaserver.service import service_builders

    found = [b for b in service_builders() if "listeners" in getattr(b, "__name__", "")]
    if found:
        return found
    for path in FALLBACK_BUILDERS:
        module_name, name = path.split(":")
        try:
            builder = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):
            continue
        found.append(builder)
    return found


@attrs.define
class _Step:
    """One server's listeners being replaced: what to undo, what to stop once saved."""

    key: Key
    listeners: list[Any]  # before the change
    running: CstaServerSettings | None  # before the change
    started: list[Any] = attrs.Factory(list)
    stopped: list[Any] = attrs.Factory(list)  # stopped before binding (same port)
    stopped_fields: set[str] = attrs.Factory(set)
    pinned: CstaServerSettings | None = None  # the old server on the ports it had bound
    late: list[Any] = attrs.Factory(list)  # to stop once the change is saved
    web_site: Any = None


@implementer(IExchangeTarget)
class LiveExchange:
    """The exchange data and listeners of the running server (see the module docstring)."""

    live = True

    def __init__(
        self, context: Any, builders: list[Callable[[Any], Iterable[IService]]] | None = None
    ):
        self.context = context
        self.directory = context.data_directory
        self._builders = builders
        self._lock = defer.DeferredLock()
        self._running: dict[Key, CstaServerSettings] = {key_of(s): s for s in context.csta_servers}
        self._listeners: dict[Key, list[Any]] = {}

    # -- the server's pieces -----------------------------------------------------------------
    @property
    def core(self) -> Any:
        return self.context.components.get("csta")

    @property
    def tls_status(self) -> dict[int, str]:
        return self.context.components.setdefault("tls_status", {})

    @property
    def web_sites(self) -> dict[int, Any]:
        return self.context.components.setdefault("web", {})

    def adopt(self, services: Iterable[Any]) -> None:
        """Index the listeners built at start-up by the CSTA server they serve."""
        for service in services:
            kind = listener_type(getattr(service, "name", None) or "")
            field = listener_field(service)
            if kind is None or field is None:
                continue
            requested = getattr(service, "requested_port", None)
            for key, server in self._running.items():
                if server.server_type is kind and getattr(server, field) == requested:
                    self._listeners.setdefault(key, []).append(service)
                    break

    def started_services(self) -> list[Any]:
        """Listeners this object started itself (no parent): to stop at shutdown."""
        return [
            service
            for services in self._listeners.values()
            for service in services
            if service.parent is None and service.running
        ]

    # -- IExchangeTarget ---------------------------------------------------------------------
    def read(self) -> ExchangeData:
        return self.context.exchange

    def update(self, edit: Callable[[ExchangeData], tuple[ExchangeData, Any]]) -> defer.Deferred:
        return self._lock.run(lambda: defer.Deferred.fromCoroutine(self._update(edit)))

    async def _update(self, edit: Callable[[ExchangeData], tuple[ExchangeData, Any]]) -> Any:
        old = self.read()
        new, result = edit(old)
        await self.apply(old, new)
        return result

    def certificate_store(self) -> CertificateStore:
        return CertificateStore(self.directory.path)

    def certificate_changed(self) -> defer.Deferred:
        return self._lock.run(lambda: defer.Deferred.fromCoroutine(self._start_missing_tls()))

    def describe_restart(self) -> str:
        return ""

    # -- applying a change -------------------------------------------------------------------
    async def apply(self, old: ExchangeData, new: ExchangeData) -> None:
        """Start what ``new`` adds or changes, save ``new``, then stop what it replaces or
        drops. Nothing is saved (and what was started is stopped) if a port cannot be bound."""
        before = {key_of(s): s for s in old.csta_servers}
        after = {key_of(s): s for s in new.csta_servers}
        steps: list[_Step] = []
        try:
            for key, server in after.items():
                if before.get(key) != server:
                    await self._start(before.get(key), server, steps)
            with locked(self.directory):
                save(self.directory, new)
        except BaseException:
            await self._undo(steps)
            raise
        self.context.exchange = new
        if self.core is not None:
            self.core.exchange = new
        for step in steps:
            for service in step.late:
                await self._stop(service)
            if step.web_site is not None:
                step.web_site.channels.close_all()
        for key in before.keys() - after.keys():
            await self._remove(before[key])
        self.context.csta_servers = [self._running[key_of(s)] for s in new.csta_servers]
        log.info("exchange data changed and saved: {path}", path=str(self.directory.exchange_file))

    def _bound(self, key: Key, field: str) -> int | None:
        ports = [bound_port(s) for s in self._listeners.get(key, []) if listener_field(s) == field]
        return next((p for p in ports if p), None)

    def _pinned(self, key: Key, server: CstaServerSettings) -> CstaServerSettings:
        """``server`` on the ports its listeners have bound (a ``0`` resolved)."""
        changes = {f: self._bound(key, f) for f in PORT_FIELDS if self._bound(key, f)}
        return attrs.evolve(server, **changes)

    def _as_run(
        self, old: CstaServerSettings | None, new: CstaServerSettings
    ) -> CstaServerSettings:
        """``new`` with the ports this run really uses where the stored port did not change
        (``--xml-port`` and the like, or the port a ``0`` got)."""
        running = self._running.get(key_of(new))
        if old is None or running is None:
            return new
        pinned = self._pinned(key_of(new), running)
        unchanged = {
            f: getattr(pinned, f) for f in PORT_FIELDS if getattr(old, f) == getattr(new, f)
        }
        return attrs.evolve(new, **unchanged)

    async def _start(
        self, old: CstaServerSettings | None, new: CstaServerSettings, steps: list[_Step]
    ) -> None:
        key = key_of(new)
        as_run = self._as_run(old, new)
        everything = (
            old is None
            or old.authentication is not new.authentication
            or old.system_status_on_connect != new.system_status_on_connect
        )
        fields = set(PORT_FIELDS)
        if not everything:
            fields = {f for f in PORT_FIELDS if getattr(old, f) != getattr(new, f)}
        current = list(self._listeners.get(key, []))
        running = self._running.get(key)
        step = _Step(key, current, running)
        steps.append(step)
        if running is not None:
            step.pinned = self._pinned(key, running)
        for service in current:
            field = listener_field(service)
            if field not in fields:
                continue
            if step.pinned is not None and getattr(step.pinned, field) == getattr(as_run, field):
                step.stopped.append(service)  # the same port: free it first
                step.stopped_fields.add(field)
                await self._stop(service)
            else:
                step.late.append(service)
        if everything and new.server_type is ServerType.XML:
            step.web_site = self.web_sites.pop(new.lim, None)
        await self._start_services(
            self._build(as_run, None if everything else fields), step.started
        )
        replaced = step.stopped + step.late
        self._listeners[key] = [s for s in current if s not in replaced] + step.started
        self._running[key] = as_run

    async def _start_services(self, services: list[Any], started: list[Any]) -> None:
        """Start each listener; CommandError naming the port of the first that cannot bind."""
        try:
            for service in services:
                started.append(service)
                service.startService()
                if listener_field(service) and getattr(service, "port", None) is None:
                    raise CommandError(
                        f"cannot listen: {service.name} on port {service.requested_port}"
                    )
        except SystemExit as e:  # StartupError: its one line names the port
            raise CommandError(str(e).removeprefix("csta: ")) from None

    def _build(self, server: CstaServerSettings, fields: set[str] | None) -> list[Any]:
        context = attrs.evolve(self.context, csta_servers=[server])
        services = []
        for builder in self._builders if self._builders is not None else listener_builders():
            for service in builder(context):
                if fields is None or listener_field(service) in fields:
                    services.append(service)
        return services

    async def _stop(self, service: Any) -> None:
        if service.parent is not None:
            await defer.maybeDeferred(service.disownServiceParent)
        elif service.running:
            await defer.maybeDeferred(service.stopService)

    async def _undo(self, steps: list[_Step]) -> None:
        for step in reversed(steps):
            for service in step.started:
                await self._stop(service)
            if step.web_site is not None:
                self.web_sites[step.key[0]] = step.web_site
            listeners = step.listeners
            if step.stopped and step.pinned is not None:
                restarted: list[Any] = []
                try:
                    await self._start_services(
                        self._build(step.pinned, step.stopped_fields), restarted
                    )
                except CommandError as e:
                    log.error(
                        "could not restart {server}: {reason}", server=step.key, reason=str(e)
                    )
                listeners = [s for s in listeners if s not in step.stopped] + restarted
            self._listeners[step.key] = listeners
            if step.running is not None:
                self._running[step.key] = step.running
            else:
                self._running.pop(step.key, None)

    async def _remove(self, server: CstaServerSettings) -> None:
        key = key_of(server)
        for service in self._listeners.pop(key, []):
            await self._stop(service)
        self._running.pop(key, None)
        self.close_clients(server_id(server), "CSTA server removed")
        if server.server_type is ServerType.XML:
            site = self.web_sites.pop(server.lim, None)
            if site is not None:
                site.channels.close_all()
            self.tls_status.pop(server.lim, None)
        log.info("CSTA server {server} removed", server=server_id(server))

    def close_clients(self, server: str, reason: str) -> int:
        """End the sessions and close the connections of one CSTA server's clients."""
        core = self.core
        if core is None:
            return 0
        closed = 0
        for association in list(core.associations):
            if association.profile.server_id != server or association.closed:
                continue
            if association.session is not None:
                core.sessions.terminate(association.session, "resourceLimitation")
            association.close(reason)
            closed += 1
        return closed

    async def _start_missing_tls(self) -> list[str]:
        notes = []
        store = self.certificate_store()
        for key, server in list(self._running.items()):
            if server.server_type is not ServerType.XML or server.tls_port is None:
                continue
            running = [s for s in self._listeners.get(key, []) if listener_field(s) == "tls_port"]
            if any(s.running for s in running):
                try:
                    self.tls_status[server.lim] = f"certificate {store.load().info().fingerprint}"
                except Exception as e:  # reported, not raised: the install itself worked
                    self.tls_status[server.lim] = f"certificate unusable: {e}"
                continue
            started = []
            try:
                for service in self._build(server, {"tls_port"}):
                    started.append(service)
                    service.startService()
            except SystemExit as e:
                for service in started:
                    await self._stop(service)
                notes.append(
                    f"TLS on LIM {server.lim} not started: {str(e).removeprefix('csta: ')}"
                )
                continue
            self._listeners.setdefault(key, []).extend(started)
            if started:
                notes.append(f"TLS on LIM {server.lim}: listening on port {server.tls_port}")
        return notes

    # -- csta -p -----------------------------------------------------------------------------
    def status(self) -> StatusView:
        core = self.core
        associations = [a for a in (core.associations if core else ()) if not a.closed]
        sessions = list(core.sessions.sessions.values()) if core else []
        servers = []
        for server in self.context.csta_servers:
            key = key_of(server)
            sid = server_id(server)
            listeners = [s for s in self._listeners.get(key, []) if s.running]
            ports = tuple(
                (listener_field(s), bound_port(s)) for s in listeners if bound_port(s) is not None
            )
            tls = "-"
            if server.server_type is ServerType.XML and server.tls_port is not None:
                tls = self.tls_status.get(server.lim, "not started")
            servers.append(
                ServerState(
                    settings=server,
                    listening=bool(ports),
                    ports=ports,
                    tls=tls,
                    clients=sum(1 for a in associations if a.profile.server_id == sid),
                    sessions=sum(
                        1
                        for s in sessions
                        if s.association is not None and s.association.profile.server_id == sid
                    ),
                )
            )
        return StatusView(
            running=True,
            servers=tuple(servers),
            clients=tuple(self._clients(associations)),
            monitors=tuple(self._monitors()),
            sessions=tuple(self._sessions(sessions)),
        )

    def _clients(self, associations: list[Any]) -> Iterable[ClientRow]:
        monitors = self.core.monitors
        for a in sorted(associations, key=lambda a: a.id):
            yield ClientRow(
                server=a.profile.server_id or "-",
                protocol=a.profile.name,
                peer=a.peer,
                session=a.session.session_id if a.session is not None else None,
                monitors=len(monitors.owned_by(a.owner)),
                requests=a.requests,
                events=a.events_sent,
            )

    def _monitors(self) -> Iterable[MonitorRow]:
        if self.core is None:
            return []
        rows = []
        for monitor in self.core.monitors:
            owner = monitor.owner
            session = owner if hasattr(owner, "session_id") else getattr(owner, "session", None)
            association = owner.association if hasattr(owner, "session_id") else owner
            rows.append(
                MonitorRow(
                    device=monitor.device or f"call {monitor.call_id}",
                    cross_ref_id=monitor.cross_ref_id,
                    client=association.peer if association is not None else "(detached)",
                    server=association.profile.server_id if association is not None else "-",
                    session=session.session_id if session is not None else None,
                )
            )
        return sorted(rows, key=lambda r: (r.device, len(r.cross_ref_id), r.cross_ref_id))

    def _sessions(self, sessions: list[Any]) -> Iterable[SessionRow]:
        monitors = self.core.monitors
        for s in sorted(sessions, key=lambda s: s.session_id):
            association = s.association
            yield SessionRow(
                session_id=s.session_id,
                application=s.application_id,
                user=s.user,
                client=association.peer if association is not None else "(detached)",
                server=association.profile.server_id if association is not None else "-",
                duration=s.duration,
                monitors=len(monitors.owned_by(s)),
            )
