"""Lock-out: one web account asks for thousands of SOAP application sessions, each for a
day (86,400 s), and keeps none of them alive. ``Limits.max_sessions_per_account`` bounds the
sessions of one account (one more is a Fault ``maxNumberSessions``) and
``Limits.max_session_duration`` the duration granted; another account is still served."""

from __future__ import annotations

from pathlib import Path

import attrs
from lxml import etree
from twisted.trial import unittest

from cstaserver.config import WebAccount
from cstaserver.config.passwords import hash_password
from tests.hardening.support import FullServer
from tests.soap.soap_support import basic, soap11
from tests.soap.test_soap_events import session_header
from tests.xmlproto.xml_client import Req

PER_ACCOUNT = 3
LONGEST = 600
BYSTANDER = ("bystander", "bystander-password")


def _text(data: bytes, name: str) -> str | None:
    found = etree.fromstring(data).xpath(f"//*[local-name()='{name}']")
    return found[-1].text if found else None


async def soap_post(port: int, body: bytes, auth: bytes) -> tuple[int, bytes]:
    import io
    import warnings

    from twisted.internet import reactor
    from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
    from twisted.web.http_headers import Headers

    agent = Agent(reactor, pool=HTTPConnectionPool(reactor, persistent=False))
    headers = Headers({b"Content-Type": [b"text/xml; charset=utf-8"], b"Authorization": [auth]})
    url = f"http://127.0.0.1:{port}/csta".encode()
    response = await agent.request(b"POST", url, headers, FileBodyProducer(io.BytesIO(body)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return response.code, await readBody(response)


def start_session(duration: int) -> bytes:
    return soap11(Req.start_session(user=None, password=None, duration=duration))


class SoapSessionLockoutTests(unittest.TestCase):
    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def changes(exchange):  # type: ignore[no-untyped-def]
            limits = attrs.evolve(
                exchange.limits,
                max_sessions_per_account=PER_ACCOUNT,
                max_session_duration=LONGEST,
            )
            account = WebAccount(BYSTANDER[0], hash_password(BYSTANDER[1]))
            return attrs.evolve(
                exchange, limits=limits, web_accounts=[*exchange.web_accounts, account]
            )

        self.server = FullServer(self, tmp / "data", changes=changes)
        self.port = self.server.port_of("web")

    async def test_one_account_cannot_take_every_session(self) -> None:
        attacker = basic()
        for _ in range(PER_ACCOUNT):
            status, data = await soap_post(self.port, start_session(86400), attacker)
            self.assertEqual(status, 200, data)
            self.assertEqual(_text(data, "actualSessionDuration"), str(LONGEST))
        status, data = await soap_post(self.port, start_session(86400), attacker)
        self.assertEqual(status, 500, data)
        self.assertIn(b"maxNumberSessions", data)
        self.assertEqual(len(self.server.core.sessions.sessions), PER_ACCOUNT)

        # the bystander account still starts a session and monitors with it
        bystander = basic(*BYSTANDER)
        status, data = await soap_post(self.port, start_session(60), bystander)
        self.assertEqual(status, 200, data)
        session_id = _text(data, "sessionID")
        header = session_header(session_id or "")
        status, data = await soap_post(
            self.port, soap11(Req.monitor_start("1008"), header), bystander
        )
        self.assertEqual(status, 200, data)
        self.assertIn(b"MonitorStartResponse", data)

    async def test_a_stopped_session_frees_its_place(self) -> None:
        attacker = basic()
        ids = []
        for _ in range(PER_ACCOUNT):
            status, data = await soap_post(self.port, start_session(60), attacker)
            self.assertEqual(status, 200, data)
            ids.append(_text(data, "sessionID"))
        status, data = await soap_post(self.port, soap11(Req.stop_session(ids[0])), attacker)
        self.assertEqual(status, 200, data)
        status, data = await soap_post(self.port, start_session(60), attacker)
        self.assertEqual(status, 200, data)
