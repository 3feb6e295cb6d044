"""What the administrator's commands act on (docs/admin.md): the running server when it runs,
else the data directory.

:class:`IExchangeTarget` is the seam: :class:`DirectoryTarget` (here) edits the data
directory under a file lock (``fcntl.flock`` on ``<data>/.lock``), so two editors cannot
interleave; :class:`cstaserver.admin.running.RunningTarget` edits the running server's data
and has the server (an :class:`IRunningServer`, the composition layer's root service)
reconfigure itself to it. Both save with :meth:`DataDirectory.save` (atomic) before they
answer.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs
from twisted.internet import defer
from zope.interface import Attribute, Interface, implementer

from cstaserver.admin.output import CommandError
from cstaserver.admin.status import StatusView, offline_status
from cstaserver.certificates import CertificateStore
from cstaserver.config import ConfigError, CstaServerSettings, DataDirectory, ExchangeData

T = TypeVar("T")
Edit = Callable[[ExchangeData], tuple[ExchangeData, T]]

LOCK_FILE = ".lock"


class IExchangeTarget(Interface):
    """The exchange data a command reads and changes."""

    live = Attribute("True when this is the running server (changes apply at once).")
    directory = Attribute("The DataDirectory.")

    def read() -> ExchangeData:
        """The current exchange data (do not mutate it)."""

    def update(edit: Edit) -> defer.Deferred:
        """Run ``edit(current) -> (new, result)`` without interleaving with another editor,
        check the new data can be applied (ports free), save it atomically, apply it (when
        live); fire with ``result``. CommandError (nothing changed) when it cannot."""

    def status() -> StatusView:
        """What ``csta -p`` prints."""

    def certificate_store() -> CertificateStore: ...

    def certificate_changed() -> defer.Deferred:
        """A new certificate was installed (live: start TLS listeners that lacked one)."""

    def describe_restart() -> str:
        """What of a restored exchange needs a restart (empty: nothing)."""


@attrs.frozen
class ServerRun:
    """One CSTA server of the running server: its settings with the ports it really uses,
    the ports bound now by settings field (``port``, ``tls_port``, ``web_port``), and the
    state of its TLS listener ("-" when it has none)."""

    settings: CstaServerSettings
    ports: tuple[tuple[str, int], ...] = ()
    tls: str = "-"


class IRunningServer(Interface):
    """The running server as the admin commands see it (the composition layer's root)."""

    exchange = Attribute("The ExchangeData in force.")
    data_directory = Attribute("The DataDirectory it was loaded from.")
    core = Attribute("The CSTA core: associations, sessions, monitors.")

    def reconfig(exchange: ExchangeData) -> defer.Deferred:
        """Apply ``exchange`` (not yet saved) to the running server: start, change and stop
        CSTA servers and their listeners. Fails with CommandError (one line) and changes
        nothing when a listener cannot be started."""

    def server_runs() -> list[ServerRun]:
        """The CSTA servers as they run, in the exchange data's order."""

    def start_missing_tls() -> list[str]:
        """A certificate was installed: start the TLS listeners that lacked one; a line per
        listener started or refused."""


@contextlib.contextmanager
def locked(directory: DataDirectory, *, create: bool = False) -> Iterator[None]:
    """``fcntl.flock`` on ``<data>/.lock`` (exclusive, blocking) for the ``with`` block.
    Without ``create`` only in a directory that holds exchange data: a command on a
    mistyped ``--data`` makes nothing (the running server, whose directory it is, creates)."""
    if create:
        directory.create()
    elif not directory.exists():
        raise CommandError(
            f"{directory.path}: no exchange data (start the server once, or check --data)"
        )
    try:
        fd = os.open(directory.path / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise CommandError(f"{directory.path / LOCK_FILE}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def applied(target: Any) -> str:
    """How a saved change takes effect, as the commands report it."""
    return "applied now" if target.live else "applied when the server starts"


def load(directory: DataDirectory) -> ExchangeData:
    if not directory.exists():
        raise CommandError(
            f"{directory.path}: no exchange data (start the server once, or check --data)"
        )
    try:
        return directory.load()
    except ConfigError as e:
        raise CommandError(f"{e.path or e.filename}: {e.problem}") from None


def save(directory: DataDirectory, data: ExchangeData) -> None:
    try:
        directory.save(data)
    except ConfigError as e:
        raise CommandError(e.problem) from None
    except OSError as e:
        raise CommandError(f"cannot save {directory.exchange_file}: {e.strerror or e}") from None


def server_ports(server: CstaServerSettings) -> set[int]:
    return {p for p in (server.port, server.tls_port, server.web_port) if p is not None}


def new_ports(old: ExchangeData, new: ExchangeData) -> list[int]:
    """Ports the new data listens on that the old did not."""
    before = set().union(*(server_ports(s) for s in old.csta_servers))
    after = set().union(*(server_ports(s) for s in new.csta_servers))
    return sorted(after - before)


def check_port_free(port: int, interface: str = "127.0.0.1") -> None:
    """CommandError if ``port`` cannot be bound now (another program holds it)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((interface, port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            raise CommandError(f"port {port} is in use ({e.strerror})") from None
        raise CommandError(f"port {port} cannot be used ({e.strerror})") from None
    finally:
        probe.close()


@implementer(IExchangeTarget)
@attrs.define
class DirectoryTarget:
    """The data directory of a server that is not running."""

    directory: DataDirectory
    port_check: Callable[[int], None] = check_port_free
    live: bool = False

    def read(self) -> ExchangeData:
        return load(self.directory)

    def update(self, edit: Edit) -> defer.Deferred:
        return defer.maybeDeferred(self._update, edit)

    def _update(self, edit: Edit) -> Any:
        with locked(self.directory):
            old = load(self.directory)
            new, result = edit(old)
            for port in new_ports(old, new):
                self.port_check(port)
            save(self.directory, new)
        return result

    def status(self) -> StatusView:
        return offline_status(self.read(), self.certificate_store())

    def certificate_store(self) -> CertificateStore:
        missing = self.directory.missing_parent()
        if missing is not None:  # a certificate may come first, but not into a typo
            raise CommandError(f"--data {self.directory.path}: {missing} does not exist")
        return CertificateStore(self.directory.path)

    def certificate_changed(self) -> defer.Deferred:
        return defer.succeed(None)

    def describe_restart(self) -> str:
        return ""
