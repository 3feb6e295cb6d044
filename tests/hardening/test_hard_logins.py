"""Login abuse: wrong passwords on ECMA-354 (XML port), SOAP (HTTP Basic) and
the admin shell (telnet) are delayed and limited per peer address; no password appears in
any log event, formatted or as a field."""

from __future__ import annotations

import time
from pathlib import Path

from twisted.conch.telnet import TelnetTransport
from twisted.internet import reactor as global_reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from tests.admin.admin_harness import ADMIN_PASSWORD, Server, TelnetClient, demo_data
from tests.hardening.support import LogCapture, answer_now, deferred, until
from tests.soap.soap_support import MemoryWeb, basic, soap11
from tests.xmlproto.xml_client import Req, connect_memory, make_world

WRONG = "Wr0ng-pa55word-7c1e"
RIGHT = "csta"  # the demo's ECMA-354 password (criteria: application demo, csta_user)


def _login(client, password: str) -> object:  # type: ignore[no-untyped-def]
    return client.request(Req.start_session(password=password))


def test_ecma354_wrong_password_delayed_then_limited() -> None:
    """On the switch clock: each failure is answered after 1 s; after 5 failures from one
    address (over several connections) the next login, even a right one, is refused at once
    until the minute has passed; no password in the logs."""
    world = make_world(authenticated=True)
    with LogCapture() as logs:
        for attempt in range(5):
            client = connect_memory(world.factory)  # a new connection: same address
            pending = _login(client, WRONG)
            world.advance(0.9)
            assert not pending.called, f"attempt {attempt}: answered before the delay"
            world.advance(0.2)
            client.flush()
            assert pending.called
            assert pending.result.name == "StartApplicationSessionNegResponse"
            client.disconnect()
        client = connect_memory(world.factory)
        blocked = _login(client, RIGHT)
        client.flush()
        assert blocked.called and blocked.result.name == "StartApplicationSessionNegResponse"
        world.advance(61)
        client.flush()
        frame = answer_now(client, Req.start_session(password=RIGHT))
        assert frame.name == "StartApplicationSessionPosResponse"
    logs.assert_no_secret(WRONG)
    assert logs.matching("too many failures")


class SoapLoginTests(unittest.TestCase):
    def test_soap_basic_wrong_password_delayed_then_limited(self) -> None:
        """On the web site's clock: each wrong password is answered with 401 after 0.2 s;
        after 3 the next login, even a right one, is refused at once with 429."""
        web = MemoryWeb(throttle={"delay": 0.2, "max_failures": 3})
        self.addCleanup(web.stop)
        request = soap11(Req.snapshot_device("1000"))
        with LogCapture() as logs:
            for attempt in range(3):
                pending = web.post(request, auth=basic(password=WRONG))
                web.reactor.advance(0.19)
                self.assertNoResult(pending)  # not before the delay
                web.reactor.advance(0.01)
                status, _, _ = self.successResultOf(pending)
                self.assertEqual(status, 401, f"attempt {attempt}")
            status, headers, _ = self.successResultOf(web.post(request))  # no clock: at once
            self.assertEqual(status, 429)  # the right password too, while blocked
            self.assertTrue(headers.getRawHeaders(b"retry-after"))
        logs.assert_no_secret(WRONG, basic(password=WRONG).decode().split()[-1])


class TelnetLoginTests(unittest.TestCase):
    def setUp(self) -> None:
        self.data = Path(self.mktemp())
        demo_data(self.data)
        self.server = Server(self, self.data, shell=True)  # failure delay 0.05 s

    async def _attempt(self, password: str) -> tuple[str, float, TelnetClient]:
        client = TelnetClient()
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", self.server.settings.admin_port)
        await connectProtocol(endpoint, TelnetTransport(lambda: client))
        await client.expect("Username: ")
        mark = client.send("admin\n")
        await client.expect("Password: ", mark)
        start = time.perf_counter()
        mark = client.send(f"{password}\n")
        answers = ("Username: ", "Too many", "mxone> ")
        await until(
            lambda: client.closed.called or any(a in client.text[mark:] for a in answers),
            "an answer to the password",
        )
        text, elapsed = client.text[mark:], time.perf_counter() - start
        if not client.closed.called:
            client.transport.loseConnection()
        await client.closed
        return text, elapsed, client

    async def _abuse(self) -> None:
        with LogCapture() as logs:
            for _ in range(5):
                text, elapsed, _ = await self._attempt(WRONG)
                self.assertIn("Authentication failed", text)
                self.assertGreaterEqual(elapsed, 0.04)
            text, _, _ = await self._attempt(ADMIN_PASSWORD)  # right, but this address is blocked
            self.assertIn("Too many failed logins", text)
            self.assertNotIn("mxone> ", text)
        logs.assert_no_secret(WRONG)
        self.assertTrue(logs.matching("too many failures"))

    def test_telnet_wrong_password_delayed_then_limited(self) -> object:
        return deferred(self._abuse())
