"""Hijack: a connection opened while authentication was off kept full access after the
operator made it mandatory (``csta -i --authentication mandatory`` on the running server);
and a request was decoded before the session check, so a client without a session learned
which of its parameters were wrong. Now the new mode applies to the open connections from
their next request (sessions started without authentication end), and the session check
comes first: ``security/generic`` whatever the request says. A client that logs in is
served. Over loopback, against the whole server."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.trial import unittest

from cstaserver.config import AuthMode
from tests.hardening.support import FullServer, until, xml_client
from tests.xmlproto.xml_client import ED3, Req, xml

SECURITY = "security/generic"


class AuthModeChangeTests(unittest.TestCase):
    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)
        self.server = FullServer(self, tmp / "data")

    async def _set_mode(self, mode: AuthMode) -> None:
        exchange = self.server.root.exchange
        servers = [
            attrs.evolve(s, authentication=mode) if s.server_type.value == "xml" else s
            for s in exchange.csta_servers
        ]
        await self.server.root.reconfig(attrs.evolve(exchange, csta_servers=servers))

    async def test_mandatory_applies_to_connections_already_open(self) -> None:
        port = self.server.port_of("xml")
        early = await xml_client(port)
        self.addCleanup(early.disconnect)
        with_session = await xml_client(port)
        self.addCleanup(with_session.disconnect)
        await with_session.start_session(user=None, password=None)  # no credentials: off
        await early.monitor("1007")

        await self._set_mode(AuthMode.MANDATORY)

        self.assertEqual(await early.error(Req.monitor_start("1006")), SECURITY)
        self.assertEqual(await early.error(Req.make_call("1006", "1007")), SECURITY)
        # the unauthenticated session is over: told so, and its requests are refused
        await until(
            lambda: "ApplicationSessionTerminated" in {e.name for e in with_session.events},
            "ApplicationSessionTerminated",
        )
        self.assertEqual(await with_session.error(Req.snapshot_device("1006")), SECURITY)

        # a client that logs in is served (the bystander), on a new or an old connection
        bystander = await xml_client(self.server.port_of("xml"))
        self.addCleanup(bystander.disconnect)
        await bystander.start_session()
        await bystander.monitor("1008")
        await early.start_session()
        await early.monitor("1006")

    async def test_the_session_check_comes_before_the_parameters(self) -> None:
        await self._set_mode(AuthMode.MANDATORY)
        client = await xml_client(self.server.port_of("xml"))
        self.addCleanup(client.disconnect)
        wrong = [
            xml("MakeCall", "<calledDirectoryNumber>1001</calledDirectoryNumber>", ED3),
            xml("MonitorStart", "<monitorObject><deviceObject/></monitorObject>", ED3),
            xml("NoSuchService", "", ED3),
            Req.make_call("1000", "not-a-number"),
        ]
        for request in wrong:
            self.assertEqual(await client.error(request), SECURITY, request)
        # ECMA-354 requests themselves are still decoded and answered
        frame = await client.request(Req.start_session(user="csta_user", password="wrong"))
        self.assertEqual(frame.name, "StartApplicationSessionNegResponse")
        await client.start_session()
        error = await client.error(
            xml("MakeCall", "<calledDirectoryNumber>1001</calledDirectoryNumber>", ED3)
        )
        self.assertNotEqual(error, SECURITY)
