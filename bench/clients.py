"""Client side shared by the benchmarks of ``bench/full_server.py`` (not a test): an asyncio
ECMA-323 connection (plain TCP or TLS) with request/response futures and an event counter per
``monitorCrossRefID``, the ECMA-354 and monitor request bodies, a loopback TLS client context,
a subscriber to the JSON event stream ``/api/v1/events`` (a minimal RFC 6455 client that
reads and counts every message), and the full server started as a child process with a
line-based control channel.

Framing, percentiles, process start/stop and result files come from ``common.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import ssl
import struct
import subprocess
import time
from array import array
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


# -- the event stream: /api/v1/events over WebSocket --------------------------------------
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
_SWITCH_PREFIX = b'{"kind":"switch","type":"'


class EventStreamClient(asyncio.Protocol):
    """A minimal RFC 6455 client of ``/api/v1/events``: the opening handshake (4.1, the
    ``Sec-WebSocket-Accept`` checked), unmasked server frames of any length, fragmented
    messages (5.4), ping answered with a masked pong, the closing handshake (5.5.1; our
    close frame masked as a client's must be).

    Every message is read whole and counted: ``switch`` messages by ``type`` (read from the
    bytes where the server's compact JSON puts it, any other shape through ``json.loads``),
    the other kinds by kind. Every ``sample``-th message is decoded with ``json.loads`` as a
    check (``bad_json``) and its ``time`` (the server's clock when it was sent, seconds since
    the epoch) gives a server-to-subscriber delay against this host's ``time.time()``."""

    def __init__(self, host: str, port: int, path: str, login: str, sample: int = 64) -> None:
        self.key = base64.b64encode(os.urandom(16))
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            f"Authorization: Basic {base64.b64encode(login.encode()).decode()}\r\n\r\n"
        ).encode()
        self.transport: Any = None
        self.buf = bytearray()
        self.upgraded = False
        self.fragments: list[bytes] = []
        self.sample = sample
        self.messages = 0
        self.bytes = 0
        self.switch = 0
        self.types: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.bad_json = 0
        self.delays = array("d")
        self.close_code: int | None = None
        loop = asyncio.get_running_loop()
        self.hello: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    # asyncio hooks
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(f"stream closed before hello: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            accept = base64.b64encode(hashlib.sha1(self.key + WS_GUID).digest()).decode()
            if not head.startswith("HTTP/1.1 101") or accept not in head:
                self.hello.set_exception(RuntimeError(f"upgrade refused: {head[:300]!r}"))
                self.transport.close()
                return
            self.upgraded = True
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = struct.unpack_from(">Q", buf, pos + 2)[0]
                head = 10
            mask = b""
            if b1 & 0x80:  # a server must not mask (RFC 6455 5.1), but read it if it does
                mask = bytes(buf[pos + head : pos + head + 4])
                head += 4
            if n - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        if pos:
            del buf[:pos]

    # frames and messages
    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (0x0, 0x1, 0x2):
            self.fragments.append(payload)
            if fin:
                message = (
                    self.fragments[0] if len(self.fragments) == 1 else b"".join(self.fragments)
                )
                self.fragments = []
                self._message(message)
        elif opcode == 0x8:  # close
            self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
            self._send(0x8, payload[:2])
            self.transport.close()
        elif opcode == 0x9:  # ping
            self._send(0xA, payload)

    def _message(self, message: bytes) -> None:
        self.messages += 1
        self.bytes += len(message)
        if message.startswith(_SWITCH_PREFIX):
            end = message.find(b'"', 25)
            self.switch += 1
            self.types[message[25:end].decode()] += 1
            if self.messages % self.sample:
                return
        try:
            decoded = json.loads(message)
        except ValueError:
            self.bad_json += 1
            return
        if message.startswith(_SWITCH_PREFIX):
            if decoded.get("kind") != "switch":
                self.bad_json += 1
            stamp = decoded.get("time")
            if isinstance(stamp, (int, float)):
                self.delays.append(time.time() - stamp)
            return
        kind = str(decoded.get("kind"))
        if kind == "switch":  # another shape of the same message: counted the slow way
            self.switch += 1
            self.types[str(decoded.get("type"))] += 1
            return
        self.kinds[kind] += 1
        if kind == "hello" and not self.hello.done():
            self.hello.set_result(decoded)

    def _send(self, opcode: int, payload: bytes) -> None:
        """One masked frame (a client's frames are masked: RFC 6455 5.3); short payloads."""
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(masked)]) + mask + masked)

    async def close(self, timeout: float = 5.0) -> None:
        """The closing handshake (1000), bounded; the connection is closed in any case."""
        if not self.closed.done() and self.transport is not None:
            self._send(0x8, struct.pack(">H", 1000))
            try:
                await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            except asyncio.TimeoutError:
                pass
        if self.transport is not None:
            self.transport.close()

    def counts(self) -> dict[str, Any]:
        """The counters so far (a copy)."""
        return {
            "messages": self.messages,
            "bytes": self.bytes,
            "switch": self.switch,
            "types": dict(self.types),
            "kinds": dict(self.kinds),
            "bad_json": self.bad_json,
        }


async def subscribe_events(
    port: int,
    *,
    host: str = "127.0.0.1",
    path: str = "/api/v1/events",
    login: str = "csta_user:csta",
    timeout: float = 10.0,
) -> EventStreamClient:
    """A subscriber to the event stream, once its ``hello`` has arrived."""
    loop = asyncio.get_running_loop()
    _t, client = await loop.create_connection(
        lambda: EventStreamClient(host, port, path, login), host, port
    )
    await asyncio.wait_for(asyncio.shield(client.hello), timeout)
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
