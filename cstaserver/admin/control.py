"""The local control channel: the one way the administrator's commands reach a running
server (docs/admin.md: they act on the running server when it runs, else on the data
directory). Twisted AMP over a UNIX socket, ``<data>/control.sock``, mode 0600.

One command, :class:`RunCommand` (program and arguments, already completed by any prompting
on the client side), answered with the exit status. While it runs the server sends the
command's output back as :class:`Output` boxes (no answer expected), in chunks that fit an
AMP value, so a long ``csta -p --monitors`` passes whole. Passwords travel only over this
socket, which only the server's user may open; they are never logged.

The socket stays in the data directory whatever its path: a UNIX socket's name holds at most
:data:`MAX_SOCKET_PATH` bytes, and when ``<data>/control.sock`` is longer both ends name it
through the directory instead (:func:`socket_name`): an open descriptor of the data
directory ``N`` makes ``/proc/self/fd/N/control.sock`` a name of at most 40 bytes for the
same file (Linux). So the socket keeps the data directory's permissions (0700), needs no
shared directory such as /tmp (no name to guess or squat, nothing left behind elsewhere) and
is found from ``--data`` alone, by a server and a command with different environments.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
from twisted.internet import defer, error
from twisted.internet.endpoints import UNIXClientEndpoint, UNIXServerEndpoint, connectProtocol
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols import amp
from zope.interface import implementer

from cstaserver.admin.output import ICommandOutput

log = Logger()

#: Characters per Output box (UTF-8 at most 4 bytes each: under AMP's 65,535-byte value).
CHUNK = 16000
#: Seconds a console script waits for the server to answer a command.
TIMEOUT = 60.0


class RunCommand(amp.Command):
    arguments = [(b"program", amp.Unicode()), (b"argv", amp.ListOf(amp.Unicode()))]
    response = [(b"status", amp.Integer())]


class Output(amp.Command):
    arguments = [(b"stream", amp.Unicode()), (b"text", amp.Unicode())]
    requiresAnswer = False


@implementer(ICommandOutput)
@attrs.define
class RemoteOutput:
    """A command's output, sent to the client as it is written."""

    protocol: amp.AMP

    def _send(self, stream: str, text: str) -> None:
        for start in range(0, len(text), CHUNK):
            self.protocol.callRemote(Output, stream=stream, text=text[start : start + CHUNK])

    def write(self, text: str) -> None:
        self._send("out", text)

    def error(self, text: str) -> None:
        self._send("err", text)


class ControlServerProtocol(amp.AMP):
    """The server's end: runs each command with the live target."""

    def __init__(self, runner: Callable[[str, Sequence[str], ICommandOutput], Any]) -> None:
        super().__init__()
        self.runner = runner

    # AMP logs every connection made and lost; one console command is one line (below).
    def makeConnection(self, transport: Any) -> None:  # noqa: N802 (Twisted hook)
        amp.BinaryBoxProtocol.makeConnection(self, transport)

    def connectionLost(self, reason: Any) -> None:  # noqa: N802 (Twisted hook)
        amp.BinaryBoxProtocol.connectionLost(self, reason)
        self.transport = None

    @RunCommand.responder
    def run_command(self, program: str, argv: list[str]) -> defer.Deferred:
        out = RemoteOutput(self)
        log.info("control channel: {program} {action}", program=program, action=_action(argv))
        deferred = defer.maybeDeferred(self.runner, program, argv, out)

        def failed(failure: Any) -> int:
            log.failure("control channel: {program} failed", failure, program=program)
            out.error(f"{program}: internal error: {failure.getErrorMessage()}\n")
            return 1

        deferred.addErrback(failed)
        return deferred.addCallback(lambda status: {"status": status})


def _action(argv: Sequence[str]) -> str:
    """The action flags of a command line, for the log (never a password)."""
    actions = ("-i", "-c", "-e", "-p", "--import", "--export")
    actions += ("--initiate", "--change", "--erase", "--print")
    return " ".join(word for word in argv if word in actions) or "-"


def control_factory(runner: Callable[[str, Sequence[str], ICommandOutput], Any]) -> Factory:
    factory = Factory.forProtocol(lambda: ControlServerProtocol(runner))
    factory.noisy = False  # the listener is logged once, as 'listening: control on ...'
    return factory


#: ``sockaddr_un.sun_path`` holds 108 bytes on Linux, the last one the terminating NUL.
MAX_SOCKET_PATH = 107


def socket_path_fits(path: Path | str) -> bool:
    """Whether ``path`` can name a UNIX socket (a deep data directory may be too long)."""
    return len(os.fsencode(str(path))) <= MAX_SOCKET_PATH


@attrs.define
class SocketName:
    """A name for the socket ``path`` that fits a UNIX socket address; ``close()`` when the
    socket is no longer used by that name (it may hold the directory open)."""

    path: Path
    name: str
    directory_fd: int | None = None

    def close(self) -> None:
        fd, self.directory_fd = self.directory_fd, None
        if fd is not None:
            os.close(fd)


def socket_name(path: Path) -> SocketName:
    """``path`` itself when it fits, else ``/proc/self/fd/N/<name>`` with ``N`` a descriptor
    open on its directory. OSError when the directory cannot be opened, or when the path
    does not fit and there is no /proc (not Linux)."""
    path = Path(path)
    if socket_path_fits(path):
        return SocketName(path, str(path))
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    alias = f"/proc/self/fd/{fd}/{path.name}"
    if not os.path.isdir(f"/proc/self/fd/{fd}") or not socket_path_fits(alias):
        os.close(fd)
        raise OSError(f"the path is longer than a UNIX socket allows ({MAX_SOCKET_PATH} bytes)")
    return SocketName(path, alias, fd)


def control_endpoint(reactor: Any, name: SocketName) -> UNIXServerEndpoint:
    """The socket, mode 0600. A socket left by a crashed server is removed first: the caller
    holds the data directory's server lock, so no other server can be using it."""
    for leftover in (name.name, name.name + ".lock"):
        with contextlib.suppress(FileNotFoundError):
            if os.path.islink(leftover) or not os.path.isdir(leftover):
                os.unlink(leftover)
    return UNIXServerEndpoint(reactor, name.name, mode=0o600)


class ControlClientProtocol(amp.AMP):
    """The console script's end: prints what the server writes."""

    def __init__(self, out: ICommandOutput) -> None:
        super().__init__()
        self.out = out

    @Output.responder
    def output(self, stream: str, text: str) -> dict[str, object]:
        (self.out.error if stream == "err" else self.out.write)(text)
        return {}


@contextlib.contextmanager
def _named(path: Path) -> Iterator[str | None]:
    try:
        name = socket_name(path)
    except OSError:
        yield None
        return
    try:
        yield name.name
    finally:
        name.close()


async def send(
    reactor: Any, path: Path, program: str, argv: Sequence[str], out: ICommandOutput
) -> int | None:
    """Run a command on the server listening on ``path``; None if no server answers there."""
    with _named(path) as name:
        if name is None:
            return None
        endpoint = UNIXClientEndpoint(reactor, name, timeout=5)
        try:
            protocol = await connectProtocol(endpoint, ControlClientProtocol(out))
        except (error.ConnectError, OSError):
            return None
    try:
        answer = await protocol.callRemote(RunCommand, program=program, argv=list(argv))
    finally:
        protocol.transport.loseConnection()
    return answer["status"]


def send_blocking(path: Path, program: str, argv: Sequence[str], out: ICommandOutput) -> int | None:
    """:func:`send` from a console script: runs the global reactor until the answer."""
    if not Path(path).exists():
        return None
    from twisted.internet import reactor

    result: list[Any] = []

    def done(value: Any) -> None:
        result.append(value)
        reactor.stop()

    deferred = defer.Deferred.fromCoroutine(send(reactor, Path(path), program, argv, out))
    timeout = reactor.callLater(TIMEOUT, deferred.cancel)
    deferred.addBoth(lambda value: (timeout.active() and timeout.cancel(), value)[1])
    reactor.callWhenRunning(lambda: deferred.addBoth(done))
    reactor.run(installSignalHandlers=False)
    value = result[0] if result else None
    if isinstance(value, BaseException) or hasattr(value, "raiseException"):
        out.error(f"{program}: the server did not answer ({getattr(value, 'value', value)})\n")
        return 1
    return value
