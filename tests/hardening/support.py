"""Shared helpers of the hardening tests (fuzzing, attacks, limits, faults): hypothesis
profiles and byte mutations, log capture, the demo world reused across examples, and the
whole server in this process on loopback ports.

Hypothesis profiles: ``hardening`` (the default, used by ``make test``: at most
:data:`SHORT_EXAMPLES` examples per property) and ``fuzz`` (``bench/fuzz.py`` / ``make
fuzz``: ``CSTA_FUZZ_EXAMPLES`` examples per property). The environment variable
``CSTA_FUZZ_PROFILE`` selects one. Every property calls :func:`count_case` once per example,
so the fuzz driver can report how many cases ran.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.internet import reactor as global_reactor
from twisted.internet.task import deferLater
from twisted.logger import formatEvent, globalLogPublisher

from tests.xmlproto.xml_client import (
    ED2,
    ED3,
    ED6,
    Frame,
    MemoryClient,
    Req,
    World,
    make_world,
)

# --------------------------------------------------------------------------- hypothesis

SHORT_EXAMPLES = 150
PROFILE_VARIABLE = "CSTA_FUZZ_PROFILE"
EXAMPLES_VARIABLE = "CSTA_FUZZ_EXAMPLES"

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "derandomize": False,
    "print_blob": True,
}
settings.register_profile("hardening", max_examples=SHORT_EXAMPLES, **_COMMON)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get(EXAMPLES_VARIABLE, "10000")),
    database=None,
    **_COMMON,
)
#: Decorate every property with this: the profile ``CSTA_FUZZ_PROFILE`` names.
FUZZ = settings.get_profile(os.environ.get(PROFILE_VARIABLE, "hardening"))

#: Cases run per property in this process (read by bench/fuzz.py).
CASES: dict[str, int] = {}


def count_case(name: str) -> None:
    CASES[name] = CASES.get(name, 0) + 1


def chunks(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``data`` split at the positions ``cuts`` (taken modulo its length)."""
    if not data:
        return [data]
    points = sorted({cut % len(data) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


#: Random split points for :func:`chunks`.
cut_points = st.lists(st.integers(min_value=0, max_value=70000), max_size=12)

NAMESPACES = [
    ED2,
    ED3,
    ED6,
    "http://www.ecma-international.org/standards/ecma-354/appl_session",
    "http://schemas.xmlsoap.org/soap/envelope/",
    "urn:nowhere",
    "",
    'x" y="1',
    "&amp;",
]
_XMLNS = re.compile(rb'xmlns(:\w+)?="[^"]*"')
_ELEMENT = re.compile(rb"<(\w+)>[^<]*</\1>")


def _swap_elements(data: bytes, first: int, second: int) -> bytes:
    found = list(_ELEMENT.finditer(data))
    if len(found) < 2:
        return data
    indexes = sorted({first % len(found), second % len(found)})
    if len(indexes) < 2:
        return data
    a, b = indexes
    x, y = found[a], found[b]
    if x.end() > y.start():
        return data
    return (
        data[: x.start()]
        + data[y.start() : y.end()]
        + data[x.end() : y.start()]
        + data[x.start() : x.end()]
        + data[y.end() :]
    )


def _new_namespace(data: bytes, namespace: str) -> bytes:
    return _XMLNS.sub(lambda m: m.group(0).split(b"=")[0] + b'="' + namespace.encode() + b'"', data)


_mutation = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 70000), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 70000), st.integers(1, 40)),
    st.tuples(st.just("replace"), st.integers(0, 70000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("duplicate"), st.integers(0, 70000), st.integers(1, 200)),
    st.tuples(st.just("swap"), st.integers(0, 100), st.integers(0, 100)),
    st.tuples(st.just("namespace"), st.sampled_from(NAMESPACES), st.none()),
    st.tuples(st.just("truncate"), st.integers(0, 70000), st.none()),
)


def mutate(data: bytes, mutations: Sequence[tuple[str, Any, Any]]) -> bytes:
    """Apply byte- and element-level mutations (insert/delete/replace bytes, duplicate a
    slice, swap two leaf elements, change every namespace, truncate)."""
    for kind, a, b in mutations:
        at = a % (len(data) + 1) if isinstance(a, int) else 0
        if kind == "insert":
            data = data[:at] + b + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + b :]
        elif kind == "replace":
            data = data[:at] + b + data[at + len(b) :]
        elif kind == "duplicate":
            data = data[:at] + data[at : at + b] + data[at:]
        elif kind == "swap":
            data = _swap_elements(data, a, b)
        elif kind == "namespace":
            data = _new_namespace(data, a)
        elif kind == "truncate":
            data = data[:at]
    return data


def mutated(corpus: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """A corpus entry with 0-4 mutations applied."""
    return st.builds(mutate, st.sampled_from(list(corpus)), st.lists(_mutation, max_size=4))


def hostile(corpus: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes or a mutated valid message."""
    return st.one_of(st.binary(max_size=600), mutated(corpus))


# --------------------------------------------------------------------------- CSTA bodies

#: Valid requests of every shape (no session logins: their failures wait on the throttle).
CSTA_CORPUS: list[bytes] = [
    body.encode()
    for body in (
        Req.monitor_start("1001"),
        Req.monitor_start("1002", "<callcontrol><established>true</established></callcontrol>"),
        Req.make_call("1000", "1001"),
        Req.make_call("1003", "0046855501", ns=ED6),
        Req.answer("C1", "1001"),
        Req.clear_connection("C1", "1000"),
        Req.hold("C1", "1000"),
        Req.consultation("C1", "1000", "1002"),
        Req.two_calls("TransferCall", "C1", "C2", "1000"),
        Req.single_step_transfer("C1", "1000", "1004"),
        Req.deflect("C1", "1001", "1002"),
        Req.generate_digits("C1", "1000", "123#"),
        Req.snapshot_device("1000"),
        Req.snapshot_call("C1", "1000"),
        Req.set_forwarding("1005", "forwardImmediate", "1006"),
        Req.set_dnd("1007", True),
        Req.set_agent_state("1000", "loggedOn", "5001", "2000"),
        Req.on_device("GetForwarding", "1008"),
        Req.monitor_stop("1"),
        Req.change_filter("1", "<callcontrol><held>true</held></callcontrol>"),
        Req.stop_session("00000000"),
        Req.reset_session_timer("00000000", 60),
        f'<?xml version="1.0" encoding="UTF-8"?><GetCSTAFeatures xmlns="{ED3}"/>',
        f'<RequestSystemStatus xmlns="{ED2}"/>',
        f'<SystemRegister xmlns="{ED3}"><requestTypes><systemStatus>true</systemStatus>'
        "</requestTypes></SystemRegister>",
        f'<csta:MakeCall xmlns:csta="{ED3}"><csta:callingDevice>1000</csta:callingDevice>'
        "<csta:calledDirectoryNumber>1001</csta:calledDirectoryNumber></csta:MakeCall>",
    )
]


# --------------------------------------------------------------------------- logs


class LogCapture:
    """Every log event emitted while active (``with LogCapture() as logs``)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> LogCapture:
        globalLogPublisher.addObserver(self.events.append)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self.events.append)

    def failures(self) -> list[str]:
        """Events that carry a traceback (``log.failure``): a bug, not hostile input."""
        return [formatEvent(e) for e in self.events if e.get("log_failure") is not None]

    def texts(self) -> Iterator[str]:
        """Each event formatted, and every field value as text."""
        for event in self.events:
            yield formatEvent(event)
            for key, value in event.items():
                if key in ("log_logger", "log_source", "log_observer"):
                    continue
                yield f"{key}={value!r}"

    def assert_no_secret(self, *secrets: str) -> None:
        for text in self.texts():
            for secret in secrets:
                assert secret not in text, f"secret {secret!r} logged: {text[:200]}"

    def matching(self, pattern: str) -> list[str]:
        regex = re.compile(pattern)
        return [t for t in (formatEvent(e) for e in self.events) if regex.search(t)]


# --------------------------------------------------------------------------- the demo world

_WORLDS: dict[str, World] = {}


def shared_world(name: str) -> World:
    """One demo world per property, reused by its examples (building one per example would
    dominate the fuzz run); :func:`reset_world` returns it to idle between examples."""
    world = _WORLDS.get(name)
    if world is None:
        world = _WORLDS[name] = make_world()
    return world


def reset_world(world: World) -> None:
    for client in world.clients:
        client.disconnect()
    world.clients.clear()
    for call_id in list(world.switch.calls):
        with contextlib.suppress(Exception):
            world.switch.clear_call(call_id)
    world.clock.advance(0)


def answer_now(client: MemoryClient, request: str | bytes) -> Frame:
    """Send over a memory link and return the answer (already there when this returns)."""
    deferred = client.request(request)
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, "no answer on the memory link"
    (result,) = results
    if isinstance(result, Exception) or hasattr(result, "raiseException"):
        result.raiseException()
    return result


def check_bystander(world: World, bystander: MemoryClient) -> None:
    """The other client, connected all along, is untouched: its monitor still gets events
    and its request is still answered (with its invoke ID)."""
    assert not bystander.is_closed, "the bystander's connection was closed"
    bystander.drain_sync()
    frame = answer_now(bystander, Req.make_call("1008", "1009"))
    assert frame.name == "MakeCallResponse", frame.body
    seen = {event.name for event in bystander.drain_sync()}
    assert "ServiceInitiatedEvent" in seen or "OriginatedEvent" in seen, seen
    answer_now(bystander, Req.clear_connection(frame.message.calling_device.call_id, "1008"))
    bystander.drain_sync()


class Bystander(MemoryClient):
    """A :class:`MemoryClient` with a synchronous drain."""

    def drain_sync(self) -> list[Frame]:
        self.flush()
        events = list(self.events)
        self.events.clear()
        return events


def connect_bystander(world: World) -> Bystander:
    """A client monitoring 1008 (its own device) before the hostile one speaks."""
    from tests.xmlproto.xml_client import connect_memory

    bystander = connect_memory(world.factory, Bystander())
    world.clients.append(bystander)
    frame = answer_now(bystander, Req.monitor_start("1008"))
    assert frame.name == "MonitorStartResponse", frame.body
    return bystander


# --------------------------------------------------------------------------- real loopback

WAIT = 10.0


async def sleep(seconds: float) -> None:
    await deferLater(global_reactor, seconds, lambda: None)


async def until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll the real reactor until ``predicate`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await sleep(0.01)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FullServer:
    """The whole demo server (every builder of ``service_builders()``) in this process on
    loopback: XML (+HTTP), TLS, SIP (UDP+TCP), web, admin telnet on a free port, the control
    socket. ``changes(exchange)`` may edit the exchange data before start."""

    def __init__(
        self,
        testcase: Any,
        data: Path,
        *,
        telnet: bool = False,
        changes: Callable[[Any], Any] | None = None,
    ) -> None:
        from cstaserver.app.options import RunSettings
        from cstaserver.app.root import build_service
        from cstaserver.certificates import CertificateStore
        from cstaserver.config import DataDirectory, ensure_demo

        ensure_demo(data)
        CertificateStore(data).ensure_self_signed()
        if changes is not None:
            directory = DataDirectory(data)
            directory.save(changes(directory.load()))
        self.settings = RunSettings.ephemeral(data, admin_port=free_port() if telnet else 0)
        self.root = build_service(self.settings, global_reactor)
        self.root.startService()
        testcase.addCleanup(self.root.stopService)

    @property
    def core(self) -> Any:
        return self.root.runtime.core

    def port_of(self, name: str) -> int:
        if name == "admin-telnet":
            return self.settings.admin_port
        return self.root.port_of(name)


class RawConnection:
    """A blocking loopback socket (for stuck and flooding clients), closed by
    :meth:`close`; reads are polled so the reactor keeps running."""

    def __init__(self, port: int, *, rcvbuf: int | None = None, source: str | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:  # e.g. OTHER_HOST: "another host" to the per-address limits
            self.sock.bind((source, 0))
        self.sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            self.sock.connect(("127.0.0.1", port))
        self.received = bytearray()
        self.closed = False

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + WAIT
        while view:
            try:
                sent = self.sock.send(view)
            except (BlockingIOError, OSError) as exc:
                if not isinstance(exc, BlockingIOError) and exc.errno not in (11, 115):
                    raise
                if time.monotonic() > deadline:
                    raise AssertionError("could not send") from None
                await sleep(0.005)
                continue
            view = view[sent:]

    def poll(self) -> None:
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            self.received += data

    async def read_until(self, predicate: Callable[[bytes], bool], timeout: float = WAIT) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if predicate(bytes(self.received)) or self.closed:
                return bytes(self.received)
            if time.monotonic() > deadline:
                return bytes(self.received)
            await sleep(0.005)

    async def wait_closed(self, timeout: float = WAIT) -> bool:
        await self.read_until(lambda _: False, timeout) if not self.closed else None
        return self.closed

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def raw_connections() -> Iterator[list[RawConnection]]:
    """A list to put :class:`RawConnection` objects in; all closed on exit."""
    opened: list[RawConnection] = []
    try:
        yield opened
    finally:
        for connection in opened:
            connection.close()


def deferred(coroutine: Any) -> defer.Deferred:
    return defer.Deferred.fromCoroutine(coroutine)


# --------------------------------------------------------------------------- clients


#: A second loopback address (Linux routes all of 127.0.0.0/8 to ``lo``): a bystander
#: connecting from it is "another host" to the per-address limits.
OTHER_HOST = "127.0.0.2"


async def xml_client(port: int, *, tls: bool = False, source: str | None = None) -> Any:
    """An :class:`XmlClient` on a loopback TCP (or TLS, certificate not checked)
    connection to ``port``, from the address ``source`` if given (e.g. :data:`OTHER_HOST`);
    disconnect it with ``client.disconnect()``."""
    from twisted.internet.endpoints import (
        SSL4ClientEndpoint,
        TCP4ClientEndpoint,
        connectProtocol,
    )
    from twisted.internet.ssl import CertificateOptions

    from tests.xmlproto.xml_client import XmlClient

    client = XmlClient()
    bind = None if source is None else (source, 0)
    if tls:
        endpoint: Any = SSL4ClientEndpoint(
            global_reactor, "127.0.0.1", port, CertificateOptions(verify=False), bindAddress=bind
        )
    else:
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", port, bindAddress=bind)
    await connectProtocol(endpoint, client)
    return client


async def http_post(
    port: int, body: bytes, content_type: bytes = b"text/xml; charset=utf-8"
) -> tuple[int, bytes]:
    """POST ``body`` to ``/csta`` (demo web account); (status, body)."""
    from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
    from twisted.web.http_headers import Headers

    from tests.soap.soap_support import basic

    agent = Agent(global_reactor, pool=HTTPConnectionPool(global_reactor, persistent=False))
    headers = Headers({b"Content-Type": [content_type], b"Authorization": [basic()]})
    producer = FileBodyProducer(io.BytesIO(body))
    url = f"http://127.0.0.1:{port}/csta".encode()
    response = await agent.request(b"POST", url, headers, producer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # readBody on a plain transport
        return response.code, await readBody(response)


async def sip_ua(testcase: Any, port: int, transport: str = "udp") -> Any:
    """A sipe-style :class:`~tests.sip.tr87_ua.Tr87UA` for the TR/87 port ``port``."""
    from tests.sip.tr87_ua import connect_ua

    return await connect_ua(testcase, port, transport)
