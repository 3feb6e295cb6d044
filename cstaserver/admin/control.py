"""The local control channel: the one way the administrator's commands reach a running
server (docs/admin.md: they act on the running server when it runs, else on the data
directory). Twisted AMP over a UNIX socket, ``<data>/control.sock``, mode 0600.

One command, :class:`RunCommand` (program and arguments, already completed by any prompting
on the client side), answered with the exit status. While it runs the server sends the
command's output back as :class:`Output` boxes (no answer expected), in chunks that fit an
AMP value, so a long ``csta -p --monitors`` passes whole. Passwords travel only over this
socket, which only the server's user may open; they are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
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


def control_endpoint(reactor: Any, path: Path) -> UNIXServerEndpoint:
    """The socket, mode 0600; ``wantPID`` replaces a stale socket left by a crash."""
    return UNIXServerEndpoint(reactor, str(path), mode=0o600, wantPID=True)


class ControlClientProtocol(amp.AMP):
    """The console script's end: prints what the server writes."""

    def __init__(self, out: ICommandOutput) -> None:
        super().__init__()
        self.out = out

    @Output.responder
    def output(self, stream: str, text: str) -> dict[str, object]:
        (self.out.error if stream == "err" else self.out.write)(text)
        return {}


async def send(
    reactor: Any, path: Path, program: str, argv: Sequence[str], out: ICommandOutput
) -> int | None:
    """Run a command on the server listening on ``path``; None if no server answers there."""
    endpoint = UNIXClientEndpoint(reactor, str(path), timeout=5)
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
    if not socket_path_fits(path):
        out.error(
            f"note: {path} is too long for a UNIX socket; editing the data directory "
            "(a running server sees the change after a restart)\n"
        )
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
