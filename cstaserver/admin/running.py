"""The running server as the target of the administrator's commands.

The MX-ONE CSTA Server operational directions say that ``csta -i`` / ``csta -e`` initiate and
remove a CSTA server and that the change applies to the running server at once.
:class:`RunningTarget` does that over an :class:`~.target.IRunningServer`: ``update`` runs the
edit on the exchange data in force, asks the server to reconfigure itself to the new data
(which starts, changes and stops listeners, or changes nothing and says why), then saves the
data atomically under the data directory's lock. If the save fails, the server is
reconfigured back. Updates run one at a time (``DeferredLock``).

``status`` builds what ``csta -p`` prints from the server's CSTA servers and the core's
associations, monitors and sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cstaserver.admin.status import (
    ClientRow,
    MonitorRow,
    ServerState,
    SessionRow,
    StatusView,
    server_id,
)
from cstaserver.admin.target import Edit, IExchangeTarget, IRunningServer, locked, save
from cstaserver.certificates import CertificateStore
from cstaserver.config import ExchangeData

log = Logger()


@implementer(IExchangeTarget)
class RunningTarget:
    """The exchange data of the running server; see the module docstring."""

    live = True

    def __init__(self, server: IRunningServer) -> None:
        self.server = server
        self.directory = server.data_directory
        self._lock = defer.DeferredLock()

    @property
    def switch(self) -> Any:
        """The running switch (``agent -p`` shows where agents are logged on)."""
        return self.server.core.switch

    # -- IExchangeTarget ---------------------------------------------------------------------
    def read(self) -> ExchangeData:
        return self.server.exchange

    def update(self, edit: Edit) -> defer.Deferred:
        return self._lock.run(lambda: defer.Deferred.fromCoroutine(self._update(edit)))

    async def _update(self, edit: Edit) -> Any:
        old = self.read()
        new, result = edit(old)
        await self.server.reconfig(new)
        try:
            with locked(self.directory, create=True):
                save(self.directory, new)
        except BaseException:
            await self.server.reconfig(old)
            raise
        log.info("exchange data changed and saved: {path}", path=str(self.directory.exchange_file))
        return result

    def certificate_store(self) -> CertificateStore:
        return CertificateStore(self.directory.path)

    def certificate_changed(self) -> defer.Deferred:
        return self._lock.run(lambda: defer.succeed(self.server.start_missing_tls()))

    def describe_restart(self) -> str:
        return ""

    # -- csta -p -----------------------------------------------------------------------------
    def status(self) -> StatusView:
        core = self.server.core
        associations = [a for a in core.associations if not a.closed]
        sessions = list(core.sessions.sessions.values())
        servers = []
        for run in self.server.server_runs():
            sid = server_id(run.settings)
            servers.append(
                ServerState(
                    settings=run.settings,
                    listening=bool(run.ports),
                    ports=run.ports,
                    tls=run.tls,
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
            fronts=getattr(self.server, "front_rows", lambda: None)(),
        )

    def _clients(self, associations: list[Any]) -> Iterable[ClientRow]:
        monitors = self.server.core.monitors
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

    def _monitors(self) -> list[MonitorRow]:
        rows = []
        for monitor in self.server.core.monitors:
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
                    monitor_type=monitor.monitor_type,
                )
            )
        return sorted(rows, key=lambda r: (r.device, len(r.cross_ref_id), r.cross_ref_id))

    def _sessions(self, sessions: list[Any]) -> Iterable[SessionRow]:
        monitors = self.server.core.monitors
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
