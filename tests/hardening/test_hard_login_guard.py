"""Logins a hostile user can neither guess nor stall, reproduced over loopback against the
whole server in this process (docs/security.md):

1. guessing: one throttle per address and per account for every transport, counted when an
   attempt starts (parallel telnet and ssh guesses get no more checks than sequential ones;
   many addresses get no more guesses at one account; failures on one transport count on
   the others);
2. stalling: password checks run off the reactor in a bounded pool (a bystander is served
   while a check runs; checks beyond the pool and its queue are refused at once);
3. the admin default: a new data directory gets a random admin password, shown once and
   stored only as a hash (``--reset-admin-password`` makes a new one);
4. the status JSON (sessions, users, addresses) needs a login unless ``--public-status``.
"""

from __future__ import annotations

import base64
import gc
import threading
from pathlib import Path
from typing import Any

import attrs
from twisted.conch.telnet import AlreadyNegotiating, TelnetTransport
from twisted.internet import defer, protocol
from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.trial import unittest

from cstaserver.app.options import Options, RunSettings
from cstaserver.app.root import build_service
from cstaserver.config import DataDirectory, ensure_demo
from cstaserver.config.model import AdminAccount
from cstaserver.config.passwords import hash_password, verify_password
from cstaserver.csta import logins
from tests.admin.admin_harness import ADMIN, ADMIN_PASSWORD, Server, TelnetClient, demo_data
from tests.admin.conch_client import ShellClientTransport
from tests.hardening.support import (
    FullServer,
    LogCapture,
    RawConnection,
    free_port,
    raw_connections,
    sleep,
    until,
    xml_client,
)
from tests.xmlproto.xml_client import Req

WRONG = "Wr0ng-guess-4d2a"
ATTEMPTS = 12  # more than the per-address limit (5) and the per-account limit (10)


def _basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class _HttpAnswer(protocol.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: defer.Deferred = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.data += data

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        self.done.callback(self.data)


async def http_get(
    port: int, path: str, auth: bytes | None = None, source: str = "127.0.0.1"
) -> tuple[int, bytes, bytes]:
    """GET ``path`` over HTTP/1.0 from the loopback address ``source``: (status, head, body)."""
    answer = _HttpAnswer()
    endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", port, bindAddress=(source, 0))
    await connectProtocol(endpoint, answer)
    head = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n".encode()
    if auth is not None:
        head += b"Authorization: " + auth + b"\r\n"
    answer.transport.write(head + b"\r\n")
    answer.done.addTimeout(10, global_reactor)
    data = await answer.done
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head, body


async def _telnet(port: int) -> TelnetClient:
    client = TelnetClient()
    endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", port)
    await connectProtocol(endpoint, TelnetTransport(lambda: client))
    await client.expect("Username: ")
    mark = client.send("admin\n")
    await client.expect("Password: ", mark)
    return client


def _answered(client: TelnetClient, mark: int) -> bool:
    text = client.text[mark:]
    return client.closed.called or any(
        answer in text for answer in ("Authentication failed", "Too many", "mxone> ")
    )


async def _close(client: TelnetClient) -> None:
    if not client.closed.called:
        client.transport.loseConnection()
    await client.closed


class GuessingTests(unittest.TestCase):
    """Finding 1: one shared throttle, per address and per account, counted at the start."""

    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)  # failure delay 0.05 s
        self.logins = self.server.runtime.logins

    async def test_parallel_telnet_guesses_are_counted_when_they_start(self) -> None:
        clients = [await _telnet(self.server.settings.admin_port) for _ in range(ATTEMPTS)]
        marks = [client.send(f"{WRONG}\n") for client in clients]  # all before any answer
        await until(
            lambda: all(_answered(c, m) for c, m in zip(clients, marks, strict=True)),
            "an answer to every guess",
        )
        texts = [c.text[m:] for c, m in zip(clients, marks, strict=True)]
        for client in clients:
            await _close(client)
        checked = sum("Authentication failed" in text for text in texts)
        refused = sum("Too many failed logins" in text for text in texts)
        assert (checked, refused) == (5, ATTEMPTS - 5), texts
        assert len(self.logins.addresses.failures["127.0.0.1"]) == 5
        right = await _telnet(self.server.settings.admin_port)  # the right password, too late
        mark = right.send(f"{ADMIN_PASSWORD}\n")
        await until(lambda: _answered(right, mark), "the answer")
        assert "Too many failed logins" in right.text[mark:]
        await _close(right)

    async def _ssh(self, password: str) -> bool:
        """One ssh login (one password try); True if the shell opened."""
        client = ShellClientTransport(b"admin", password.encode())
        port = self.server.settings.admin_ssh_port
        await connectProtocol(TCP4ClientEndpoint(global_reactor, "127.0.0.1", port), client)
        try:
            await client.opened
        except Exception:  # noqa: BLE001 - refused: the server ended the attempt
            return False
        finally:
            if not client.terminal.closed.called:
                client.transport.loseConnection()
                await client.terminal.closed
        return True

    async def test_parallel_ssh_guesses_are_throttled(self) -> None:
        with LogCapture() as logs:
            results = await defer.gatherResults(
                [defer.Deferred.fromCoroutine(self._ssh(WRONG)) for _ in range(ATTEMPTS)]
            )
            assert results == [False] * ATTEMPTS
            # only as many passwords were checked as the address may try
            assert len(self.logins.addresses.failures["127.0.0.1"]) == 5
            assert not await self._ssh(ADMIN_PASSWORD)  # blocked for the window
        assert logs.matching("too many failures")
        logs.assert_no_secret(WRONG)

    async def test_one_account_guessed_from_many_addresses(self) -> None:
        web = self.server.port_of("web")
        for n in range(2, 12):  # ten addresses, one guess each: under the address limit
            status, _, _ = await http_get(
                web, "/api/v1/time", _basic("csta_user", WRONG), f"127.0.0.{n}"
            )
            assert status == 401, n
        status, head, _ = await http_get(
            web, "/api/v1/time", _basic("csta_user", "csta"), "127.0.0.20"
        )
        assert status == 429  # the account had its ten guesses in this window
        assert b"Retry-After: 60" in head
        status, _, _ = await http_get(web, "/api/v1/time", _basic(*ADMIN), "127.0.0.20")
        assert status == 200  # another account from that address is not affected

    async def test_a_login_stuck_before_its_check_holds_no_place(self) -> None:
        """Telnet clients that gave a user name and hang on at the password prompt take no
        place of the address or the account: the administrator still logs in meanwhile."""
        with raw_connections() as opened:
            for _ in range(ATTEMPTS):
                raw = RawConnection(self.server.settings.admin_port)
                opened.append(raw)
                await raw.send(b"admin\r\n")
            await until(
                lambda: all(b"Password: " in bytes(r.received) for r in opened if not r.poll()),
                "every password asked",
            )
            client = await _telnet(self.server.settings.admin_port)
            mark = client.send(f"{ADMIN_PASSWORD}\n")
            await until(lambda: _answered(client, mark), "the answer")
            assert "mxone> " in client.text[mark:]
            await _close(client)
            assert self.logins.addresses.pending == {} and self.logins.accounts.pending == {}
            for raw in opened:
                raw.close()
            await sleep(0.3)  # the server sees them go
        # Twisted's telnet login leaves the unanswered echo negotiation as an unhandled
        # error of its own (the shell's terminal handling, not the throttle)
        gc.collect()
        self.flushLoggedErrors(AlreadyNegotiating, ConnectionLost, ConnectionDone)

    async def test_many_right_logins_at_once_are_all_served(self) -> None:
        """Attempts under way hold places, but a right password frees its place: logins
        beyond the limit wait for one instead of being refused."""
        port = self.server.port_of("xml")
        clients = [await xml_client(port) for _ in range(ATTEMPTS)]
        for client in clients:
            self.addCleanup(client.disconnect)
        answers = await defer.gatherResults(
            [client.request(Req.start_session(), timeout=20) for client in clients]
        )
        assert [a.name for a in answers] == ["StartApplicationSessionPosResponse"] * ATTEMPTS
        assert self.logins.addresses.failures == {} and self.logins.addresses.pending == {}

    async def test_guesses_on_one_transport_count_on_the_others(self) -> None:
        for _ in range(5):
            client = await _telnet(self.server.settings.admin_port)
            mark = client.send(f"{WRONG}\n")
            await until(lambda c=client, m=mark: _answered(c, m), "the answer")
            await _close(client)
        xml = await xml_client(self.server.port_of("xml"))
        self.addCleanup(xml.disconnect)
        frame = await xml.request(Req.start_session())  # the demo's right password
        assert frame.name == "StartApplicationSessionNegResponse"
        status, _, _ = await http_get(self.server.port_of("web"), "/api/status", _basic(*ADMIN))
        assert status == 429


class _BlockedChecks:
    """Every password check waits until released (bounded): a slow hash, made visible."""

    def __init__(self, testcase: unittest.TestCase) -> None:
        self.release = threading.Event()
        self.started = 0
        real = logins.verify_password

        def slow(password: str, encoded: str) -> bool:
            self.started += 1
            self.release.wait(10)
            return real(password, encoded)

        testcase.patch(logins, "verify_password", slow)
        testcase.addCleanup(self.release.set)


class StallingTests(unittest.TestCase):
    """Finding 2: password checks off the reactor, in a bounded pool."""

    def start(self, **limits: int) -> FullServer:
        def change(data: Any) -> Any:
            return attrs.evolve(data, limits=attrs.evolve(data.limits, **limits))

        return FullServer(self, Path(self.mktemp()) / "data", changes=change)

    async def test_a_bystander_is_served_while_a_password_is_checked(self) -> None:
        server = self.start()
        checks = _BlockedChecks(self)
        port = server.port_of("xml")
        bystander = await xml_client(port)
        self.addCleanup(bystander.disconnect)
        client = await xml_client(port)
        self.addCleanup(client.disconnect)
        login = client.request(Req.start_session(), timeout=20)
        await until(lambda: checks.started == 1, "the password check to start")
        for _ in range(3):  # served while the check is still under way
            frame = await bystander.ok(Req.snapshot_device("1000"))
            assert frame.name == "SnapshotDeviceResponse"
        assert not login.called
        checks.release.set()
        frame = await login
        assert frame.name == "StartApplicationSessionPosResponse"
        again = await xml_client(port)  # the same right password again: remembered
        self.addCleanup(again.disconnect)
        frame = await again.request(Req.start_session())
        assert frame.name == "StartApplicationSessionPosResponse" and checks.started == 1

    async def test_checks_beyond_the_pool_and_its_queue_are_refused_at_once(self) -> None:
        server = self.start(password_check_threads=1, password_checks_waiting=1)
        checks = _BlockedChecks(self)
        port = server.port_of("xml")
        clients = [await xml_client(port) for _ in range(3)]
        for client in clients:
            self.addCleanup(client.disconnect)
        first, second = (c.request(Req.start_session(), timeout=20) for c in clients[:2])
        await until(lambda: checks.started == 1, "the first check to start")
        with LogCapture() as logs:
            third = await clients[2].request(Req.start_session())  # answered while blocked
        assert third.name == "StartApplicationSessionNegResponse"
        assert logs.matching("password check refused")
        assert not first.called and not second.called
        checks.release.set()
        assert (await first).name == "StartApplicationSessionPosResponse"
        assert (await second).name == "StartApplicationSessionPosResponse"
        assert server.root.runtime.logins.addresses.failures == {}  # busy is no failure


class AdminDefaultTests(unittest.TestCase):
    """Finding 3: no admin/admin; a random first-run password, shown once."""

    def build(self, data: Path, **changes: Any) -> tuple[Any, list[dict]]:
        settings = RunSettings.ephemeral(data, admin_port=free_port(), **changes)
        root = build_service(settings, global_reactor, admin_failure_delay=0.05)
        with LogCapture() as logs:
            root.startService()
        self.addCleanup(root.stopService)
        return root, logs.events

    @staticmethod
    def shown(events: list[dict]) -> list[dict]:
        return [e for e in events if e.get("log_format", "").startswith("admin login: {user}")]

    async def login(self, root: Any, password: str) -> str:
        client = await _telnet(root.runtime.settings.admin_port)
        mark = client.send(f"{password}\n")
        await until(lambda: _answered(client, mark), "the answer")
        text = client.text[mark:]
        await _close(client)
        return text

    async def test_first_run_makes_a_random_admin_password_shown_once(self) -> None:
        data = Path(self.mktemp())
        ensure_demo(data)
        root, events = self.build(data)
        (event,) = self.shown(events)
        password = event["password"]
        assert len(password) >= 16 and password != "admin"
        stored = DataDirectory(data).exchange_file.read_text()
        assert password not in stored  # only its hash
        (account,) = DataDirectory(data).load().admin_accounts
        assert verify_password(password, account.password_hash)
        assert "Authentication failed" in await self.login(root, "admin")
        assert "mxone> " in await self.login(root, password)
        await root.stopService()
        again, events = self.build(data)  # the next start does not show it again
        assert self.shown(events) == []
        assert "mxone> " in await self.login(again, password)

    async def test_reset_admin_password_makes_a_new_one(self) -> None:
        data = Path(self.mktemp())
        demo_data(data)  # an admin login with a known password
        root, events = self.build(data, reset_admin_password=True)
        (event,) = self.shown(events)
        assert "Authentication failed" in await self.login(root, ADMIN_PASSWORD)
        assert "mxone> " in await self.login(root, event["password"])

    def test_old_default_password_is_named_not_shown(self) -> None:
        data = Path(self.mktemp())
        directory = DataDirectory(ensure_demo(data) and data)
        old = directory.load()
        old.admin_accounts = [AdminAccount("admin", hash_password("admin", n=16, r=1))]
        directory.save(old)
        _root, events = self.build(data)
        (warning,) = [e for e in events if "old default password" in e.get("log_format", "")]
        assert self.shown(events) == []
        assert "password" not in warning

    def test_the_options(self) -> None:
        options = Options()
        options.parseOptions(["--reset-admin-password", "--public-status"])
        assert options.settings.reset_admin_password and options.settings.public_status
        options = Options()
        options.parseOptions([])
        assert not (options.settings.reset_admin_password or options.settings.public_status)


class StatusTests(unittest.TestCase):
    """Finding 4: /api/status lists sessions, users and addresses: only after a login."""

    def start(self, **changes: Any) -> Any:
        data = Path(self.mktemp())
        demo_data(data)
        settings = RunSettings.ephemeral(data, **changes)
        root = build_service(settings, global_reactor)
        root.startService()
        self.addCleanup(root.stopService)
        return root

    async def test_status_needs_a_login_on_the_web_and_the_xml_port(self) -> None:
        root = self.start()
        client = await xml_client(root.port_of("xml"))
        self.addCleanup(client.disconnect)
        session = await client.start_session()
        for port in (root.port_of("web"), root.port_of("xml")):
            status, head, body = await http_get(port, "/api/status")
            assert status == 401 and b"WWW-Authenticate: Basic" in head
            assert session.encode() not in body and b"csta_user" not in body
            status, _, body = await http_get(port, "/api/status", _basic("csta_user", WRONG))
            assert status == 401
            for account in (("csta_user", "csta"), ADMIN):
                status, _, body = await http_get(port, "/api/status", _basic(*account))
                assert status == 200 and session.encode() in body
        status, _, body = await http_get(root.port_of("web"), "/")
        assert status == 200  # the console page itself is only code: no data in it

    async def test_public_status_serves_it_without_a_login(self) -> None:
        root = self.start(public_status=True)
        status, _, body = await http_get(root.port_of("web"), "/api/status")
        assert status == 200 and b"sessions" in body
