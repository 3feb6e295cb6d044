"""The admin side of the running server (INTERFACE.md §5 "act on the running server", §6 the
admin shell): :func:`build_admin` is the service builder that ``cstaserver.service``
lists after the CSTA listeners.

It returns

- :class:`AdminService` (``"admin"``): holds the :class:`~.live.LiveExchange`; on start it
  indexes the listeners the other builders made, on stop it stops the listeners that
  ``csta -i`` started while the server ran;
- the control channel (:mod:`.control`) on ``<data>/control.sock`` (mode 0600), which the
  console scripts use; logged as ``listening: control on <path>``;
- the admin shell listeners ``admin-telnet`` (``--admin-port``, 8023) and ``admin-ssh``
  (``--admin-ssh-port``, 8022) on ``settings.admin_interface`` (127.0.0.1), skipped when
  the port is 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from twisted.application.service import IService, Service
from twisted.internet import defer
from twisted.logger import Logger

from cstaserver.admin import access, commands, control
from cstaserver.admin.live import LiveExchange
from cstaserver.admin.output import ICommandOutput
from cstaserver.admin.shell import AdminShell, ShellRuntime
from cstaserver.admin.simcommands import SimControls

log = Logger()


class AdminService(Service):
    """Owns the live target; see the module docstring."""

    name = "admin"

    def __init__(self, live: LiveExchange) -> None:
        self.live = live

    def startService(self) -> None:
        super().startService()
        if self.parent is not None:
            self.live.adopt(list(self.parent))

    def stopService(self) -> defer.Deferred:
        super().stopService()
        return defer.gatherResults(
            [defer.maybeDeferred(s.stopService) for s in self.live.started_services()]
        )


class ControlService(Service):
    """``<data>/control.sock``: the control channel's listening socket."""

    name = "admin-control"

    def __init__(self, reactor: Any, path: Any, factory: Any) -> None:
        self.reactor = reactor
        self.path = path
        self.factory = factory
        self.port: Any = None

    def startService(self) -> None:
        super().startService()
        if not control.socket_path_fits(self.path):
            log.error(
                "control channel {path} not available: the path is longer than a UNIX "
                "socket allows ({limit} bytes); csta commands will not reach this server",
                path=str(self.path),
                limit=control.MAX_SOCKET_PATH,
            )
            return None
        endpoint = control.control_endpoint(self.reactor, self.path)
        return endpoint.listen(self.factory).addCallbacks(self._listening, self._failed)

    def _listening(self, port: Any) -> None:
        self.port = port
        log.info("listening: control on {path}", path=str(self.path))

    def _failed(self, failure: Any) -> None:
        log.error(
            "control channel {path} not available: {reason}; csta commands will not reach "
            "this server",
            path=str(self.path),
            reason=failure.getErrorMessage(),
        )

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        port, self.port = self.port, None
        return defer.maybeDeferred(port.stopListening) if port is not None else None


def shell_runtime(context: Any, live: LiveExchange) -> ShellRuntime:
    from cstaserver.pbx.simulator import Simulator

    simulator = context.components.get("simulator")
    if simulator is None:
        simulator = context.components["simulator"] = Simulator(context.switch)
    return ShellRuntime(
        target=live,
        switch=context.switch,
        sim=SimControls(simulator),
        core=context.components.get("csta"),
        clock=context.reactor,
        data_path=context.data_directory.path,
    )


def build_admin(context: Any, failure_delay: float = access.FAILURE_DELAY) -> Iterator[IService]:
    """Service builder: the admin service, control channel and admin shell listeners."""
    live = LiveExchange(context)
    context.components["admin"] = live
    yield AdminService(live)

    def runner(program: str, argv: Sequence[str], out: ICommandOutput) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(commands.run(program, argv, live, out))

    path = context.data_directory.path / commands.CONTROL_SOCKET
    yield ControlService(context.reactor, path, control.control_factory(runner))

    settings = context.settings
    if not (settings.admin_port or settings.admin_ssh_port):
        return
    runtime = shell_runtime(context, live)
    checker = access.AdminAccountsChecker(
        lambda: context.exchange.admin_accounts, context.reactor, failure_delay
    )
    portal = access.admin_portal(access.AdminRealm(lambda user: AdminShell(runtime, user)), checker)
    interface = settings.admin_interface
    if settings.admin_port:
        factory = access.telnet_factory(portal, context.reactor)
        yield context.tcp_listener("admin-telnet", settings.admin_port, factory, interface)
    if settings.admin_ssh_port:
        factory = access.ssh_factory(portal, access.host_key(context.data_directory.path))
        yield context.tcp_listener("admin-ssh", settings.admin_ssh_port, factory, interface)
