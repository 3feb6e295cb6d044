"""The administrator's side of the running server: the control channel the console commands
use, and the admin shell over telnet and ssh.

- ``admin-control``: ``<data>/control.sock`` (mode 0600), where ``csta``,
  ``csta_authentication``, ``mxone_certificate`` and the plan commands reach the running
  server, however long the data directory's path (:func:`~cstaserver.admin.control.
  socket_name`); a socket that cannot be opened is logged, and the commands then refuse to
  edit the files of this running server (its next save would undo their change). A socket
  file deleted while the server runs is made again within :data:`CHECK_SECONDS`;
- ``admin-telnet`` (``--admin-port``, 8023) and ``admin-ssh`` (``--admin-ssh-port``, 8022)
  on the admin interface (127.0.0.1), not started when their port is 0; their passwords are
  checked off the reactor and every attempt goes through the server's shared login throttle.

Every command runs against one :class:`~cstaserver.admin.running.RunningTarget` over the
root service, so a change made from the shell and one made by a console script are applied
the same way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from twisted.application.service import IService, Service
from twisted.internet import defer, task
from twisted.logger import Logger

from cstaserver.admin import access, commands, control
from cstaserver.admin.output import ICommandOutput
from cstaserver.admin.running import RunningTarget
from cstaserver.admin.shell import ShellRuntime, shell_factories
from cstaserver.admin.simcommands import SimControls
from cstaserver.api.metrics import metrics_for
from cstaserver.app.endpoints import Address, Listener
from cstaserver.app.runtime import Runtime

log = Logger()

#: Seconds between two checks that the control socket file is still there.
CHECK_SECONDS = 5.0


class ControlService(Service):
    """``<data>/control.sock``: the control channel's listening socket. Unlike the CSTA
    listeners, a socket that cannot be opened does not stop the server: it is logged."""

    name = "admin-control"

    def __init__(self, reactor: Any, path: Path, factory: Any) -> None:
        self.reactor = reactor
        self.path = path
        self.factory = factory
        self.port: Any = None
        self._name: control.SocketName | None = None
        self._identity: tuple[int, int] | None = None
        self._check: task.LoopingCall | None = None

    def startService(self) -> defer.Deferred | None:
        super().startService()
        self._check = task.LoopingCall(self._check_socket)
        self._check.clock = self.reactor
        self._check.start(CHECK_SECONDS, now=False)
        return self._listen()

    def _listen(self) -> defer.Deferred | None:
        try:
            self._name = control.socket_name(self.path)
        except OSError as e:
            self._failed_because(e.strerror or str(e))
            return None
        endpoint = control.control_endpoint(self.reactor, self._name)
        return endpoint.listen(self.factory).addCallbacks(self._listening, self._failed)

    def _listening(self, port: Any) -> None:
        self.port = port
        self._identity = self._stat()
        log.info("listening: control on {path}", path=str(self.path))

    def _failed(self, failure: Any) -> None:
        self._failed_because(failure.getErrorMessage())

    def _failed_because(self, reason: str) -> None:
        self._close_name()
        log.error(
            "control channel {path} not available: {reason}; csta commands will not reach "
            "this server",
            path=str(self.path),
            reason=reason,
        )

    def _stat(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_dev, info.st_ino)

    def _check_socket(self) -> defer.Deferred | None:
        """The socket file is gone or replaced (someone deleted it): listen again."""
        if self.port is None or self._stat() == self._identity:
            return None
        log.warn("control channel {path} was removed; listening again", path=str(self.path))
        port, self.port = self.port, None
        if self._stat() is None and self._name is not None:
            # the port removes its file when it stops: give it one to remove
            with contextlib.suppress(OSError):
                os.close(os.open(self._name.name, os.O_WRONLY | os.O_CREAT, 0o600))
        stopped = defer.maybeDeferred(port.stopListening)
        stopped.addBoth(lambda _: self._close_name())
        return stopped.addCallback(lambda _: self._listen() if self.running else None)

    def _close_name(self) -> None:
        name, self._name = self._name, None
        if name is not None:
            name.close()

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        check, self._check = self._check, None
        if check is not None and check.running:
            check.stop()
        port, self.port = self.port, None
        if port is None:
            self._close_name()
            return None
        return defer.maybeDeferred(port.stopListening).addBoth(lambda _: self._close_name())


def admin_services(
    runtime: Runtime, target: RunningTarget, *, failure_delay: float = access.FAILURE_DELAY
) -> Iterator[IService]:
    """The control channel and the admin shell listeners of one run."""

    def runner(program: str, argv: Sequence[str], out: ICommandOutput) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(commands.run(program, argv, target, out))

    reactor = runtime.reactor
    path = runtime.data_directory.path / commands.CONTROL_SOCKET
    yield ControlService(reactor, path, control.control_factory(runner))

    settings = runtime.settings
    if not (settings.admin_port or settings.admin_ssh_port):
        return
    shell_runtime = ShellRuntime(
        target=target,
        switch=runtime.switch,
        sim=SimControls(runtime.simulator),
        core=runtime.core,
        clock=reactor,
        data_path=runtime.data_directory.path,
    )
    checker = access.AdminAccountsChecker(
        runtime.admin_accounts, reactor, failure_delay, verify=runtime.verify()
    )
    metrics_for(runtime.core, runtime.switch).count_login_failures("admin", checker)
    realm = access.AdminRealm(shell_factories(shell_runtime))
    portal = access.admin_portal(realm, checker)
    interface = settings.admin_interface
    if settings.admin_port:
        address = Address.tcp(settings.admin_port, interface)
        factory = access.telnet_factory(portal, reactor, runtime.login_throttle("admin", delay=0))
        yield Listener("admin-telnet", address, address.endpoint(reactor), factory)
    if settings.admin_ssh_port:
        address = Address.tcp(settings.admin_ssh_port, interface)
        key = access.host_key(runtime.data_directory.path)
        throttle = runtime.login_throttle("admin", delay=0)
        factory = access.ssh_factory(portal, key, throttle, reactor)
        yield Listener("admin-ssh", address, address.endpoint(reactor), factory)
