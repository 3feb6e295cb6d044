"""Client side shared by the benchmarks of ``bench/full_server.py`` (not a test): an asyncio
ECMA-323 connection (plain TCP or TLS) with request/response futures and an event counter per
``monitorCrossRefID``, the ECMA-354 and monitor request bodies, a loopback TLS client context,
and the full server started as a child process with a line-based control channel.

Framing, percentiles, process start/stop and result files come from ``common.py``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import common

ED3 = common.NS
ECMA354 = "http://www.ecma-international.org/standards/ecma-354/appl_session"
XREF = b"monitorCrossRefID"


def client_tls() -> ssl.SSLContext:
    """Loopback TLS client context: the bench server's certificate is self-signed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- request bodies ------------------------------------------------------------------------
def start_session(application: str = "demo", duration: int = 3600) -> bytes:
    """StartApplicationSession without credentials (authentication is optional)."""
    return (
        f'<StartApplicationSession xmlns="{ECMA354}"><applicationInfo>'
        f"<applicationID>{application}</applicationID></applicationInfo>"
        f"<requestedProtocolVersions><protocolVersion>{ED3}</protocolVersion>"
        f"</requestedProtocolVersions><requestedSessionDuration>{duration}"
        f"</requestedSessionDuration></StartApplicationSession>"
    ).encode()


def stop_session(session_id: str) -> bytes:
    return (
        f'<StopApplicationSession xmlns="{ECMA354}"><sessionID>{session_id}</sessionID>'
        f"<sessionEndReason><appEndReason>normal</appEndReason></sessionEndReason>"
        f"</StopApplicationSession>"
    ).encode()


def system_status() -> bytes:
    return f'<RequestSystemStatus xmlns="{ED3}"/>'.encode()


def xref_of(body: bytes) -> bytes | None:
    return common.element_text(body, XREF)


# -- the connection --------------------------------------------------------------------------
class XmlClient(asyncio.Protocol):
    """One ECMA-323 connection: ``request`` returns the answer body; events (invoke ID 9999)
    are counted per ``monitorCrossRefID`` and passed to ``on_event`` if given. ``post``
    sends a request that has no positive response (RouteSelect, RouteEnd...): an answer to
    it (an error) or to any invoke ID not awaited goes to ``on_unmatched`` if given."""

    def __init__(
        self,
        on_event: Callable[[float, bytes], None] | None = None,
        on_unmatched: Callable[[bytes, bytes], None] | None = None,
    ) -> None:
        self.transport: Any = None
        self.deframer = common.ClientDeframer()
        self.pending: dict[bytes, asyncio.Future[bytes]] = {}
        self.events: Counter[bytes] = Counter()
        self.event_total = 0
        self.on_event = on_event
        self.on_unmatched = on_unmatched
        self._next = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        if not self.closed.done():
            self.closed.set_result(exc)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        for invoke_id, body in self.deframer.feed(data):
            if invoke_id == common.EVENT_ID:
                self.event_total += 1
                xref = xref_of(body)
                if xref is not None:
                    self.events[xref] += 1
                if self.on_event is not None:
                    self.on_event(now, body)
                continue
            future = self.pending.pop(invoke_id, None)
            if future is not None and not future.done():
                future.set_result(body)
            elif self.on_unmatched is not None:
                self.on_unmatched(invoke_id, body)

    def _invoke_id(self) -> bytes:
        self._next = self._next % 9998 + 1
        return b"%04d" % self._next

    def send(self, body: bytes) -> asyncio.Future[bytes]:
        invoke_id = self._invoke_id()
        future = asyncio.get_running_loop().create_future()
        self.pending[invoke_id] = future
        self.transport.write(common.frame(invoke_id, body))
        return future

    def post(self, body: bytes) -> bytes:
        """Send a request that gets no positive response; its invoke ID."""
        invoke_id = self._invoke_id()
        self.transport.write(common.frame(invoke_id, body))
        return invoke_id

    async def request(self, body: bytes, timeout: float = 30.0) -> bytes:
        return await asyncio.wait_for(self.send(body), timeout)

    async def start_session(self, duration: int = 3600) -> str:
        answer = await self.request(start_session(duration=duration))
        session = common.element_text(answer, b"sessionID")
        if session is None:
            raise RuntimeError(f"session refused: {answer[:300]!r}")
        return session.decode()

    async def monitor(self, device: str) -> str:
        answer = await self.request(common.monitor_start(device))
        xref = xref_of(answer)
        if xref is None:
            raise RuntimeError(f"MonitorStart {device} refused: {answer[:300]!r}")
        return xref.decode()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    port: int,
    *,
    tls: ssl.SSLContext | None = None,
    on_event: Callable[[float, bytes], None] | None = None,
    on_unmatched: Callable[[bytes, bytes], None] | None = None,
    host: str = "127.0.0.1",
) -> XmlClient:
    loop = asyncio.get_running_loop()
    _t, client = await loop.create_connection(
        lambda: XmlClient(on_event, on_unmatched),
        host,
        port,
        ssl=tls,
        server_hostname="" if tls else None,
    )
    return client


# -- the full server as a child process ----------------------------------------------------
class FullServer:
    """``bench/full_server.py`` as a child: ports, PID, and its stdin/stdout commands.
    Use as a context manager; it is stopped by its PID on exit."""

    def __init__(
        self,
        extensions: int = 10_000,
        prefix: list[str] | None = None,
        extra: list[str] | None = None,
    ) -> None:
        self.args = (prefix or []) + [
            common.PYTHON,
            str(common.HERE / "full_server.py"),
            "--extensions",
            str(extensions),
            *(extra or []),
        ]
        self.proc: subprocess.Popen | None = None
        self.pid = 0
        self.ports: dict[str, int] = {}

    def __enter__(self) -> FullServer:
        self.proc = common.start_process(self.args, stdin=subprocess.PIPE)
        self.pid = int(self.expect("PID ", 120).split()[1])
        self.ports = json.loads(self.expect("PORTS ", 60)[6:])
        return self

    def __exit__(self, *exc: object) -> None:
        common.stop_process(self.proc)

    def expect(self, prefix: str, timeout: float = 60.0) -> str:
        """The next stdout line starting with ``prefix`` (blocking, bounded)."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"full_server exited with {self.proc.wait()}")
            if line.startswith("ERROR"):
                raise RuntimeError(line.strip())
            if line.startswith(prefix):
                return line.strip()
        raise TimeoutError(prefix)

    def command(self, line: str, answer: str, timeout: float = 60.0) -> str:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.expect(answer, timeout)

    def stats(self) -> dict[str, Any]:
        return json.loads(self.command("stats", "STATS ")[6:])

    async def astats(self) -> dict[str, Any]:
        return await asyncio.get_running_loop().run_in_executor(None, self.stats)

    async def acommand(self, line: str, answer: str, timeout: float = 60.0) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.command, line, answer, timeout)

    def rss(self) -> int:
        """VmRSS of the server from /proc (no round trip through the server)."""
        from full_server import process_figures

        return process_figures(self.pid)["rss_bytes"]


async def settle_rss(server: FullServer, *, seconds: float = 1.0, gc: bool = True) -> int:
    """RSS after the server is idle for ``seconds`` (and, with ``gc``, after a full
    collection, so garbage waiting for the collector is not counted as held memory)."""
    await asyncio.sleep(seconds)
    if gc:
        await server.acommand("gc", "GC ")
    return server.rss()
