"""Hijack: with a session cleanup delay, a live session outlives its connection so that its
client can reattach with the session ID. Reattaching checked the application ID only: another
user (authentication mandatory) or a client without credentials (optional) took the session,
its monitors and their events over. Only the session's own user may reattach now; the owner
still can. Over loopback, against the whole server."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.trial import unittest

from cstaserver.config import AuthMode, UserCredential
from cstaserver.config.passwords import hash_password
from tests.hardening.support import FullServer, until, xml_client
from tests.xmlproto.xml_client import Req

OTHER = ("other_user", "other-password")


def _server(testcase: unittest.TestCase, mode: AuthMode) -> FullServer:
    tmp = Path(testcase.mktemp())
    tmp.mkdir(parents=True)

    def changes(exchange):  # type: ignore[no-untyped-def]
        criteria = exchange.authentication.applications
        demo = next(c for c in criteria if c.application_id == "demo")
        other = UserCredential(OTHER[0], hash_password(OTHER[1]))
        demo = attrs.evolve(demo, users=(*demo.users, other))
        authentication = attrs.evolve(
            exchange.authentication,
            applications=tuple(demo if c.application_id == "demo" else c for c in criteria),
        )
        servers = [
            attrs.evolve(s, authentication=mode) if s.server_type.value == "xml" else s
            for s in exchange.csta_servers
        ]
        limits = attrs.evolve(exchange.limits, session_cleanup_delay=300)
        return attrs.evolve(
            exchange, authentication=authentication, csta_servers=servers, limits=limits
        )

    return FullServer(testcase, tmp / "data", changes=changes)


class ReattachTests(unittest.TestCase):
    async def _detached_session(self, server: FullServer) -> tuple[str, str]:
        """The owner (csta_user) starts a session and a monitor, then loses its connection."""
        owner = await xml_client(server.port_of("xml"))
        session_id = await owner.start_session()
        xref = await owner.monitor("1007")
        await owner.disconnect()
        await until(lambda: len(server.core.associations) == 0, "the owner gone")
        self.assertIn(session_id, server.core.sessions.sessions)
        return session_id, xref

    async def _refused(self, server: FullServer, session_id: str, **login: object) -> None:
        thief = await xml_client(server.port_of("xml"))
        self.addCleanup(thief.disconnect)
        frame = await thief.request(Req.start_session(reattach=session_id, **login))
        self.assertEqual(frame.name, "StartApplicationSessionNegResponse", frame.body)
        session = server.core.sessions.sessions[session_id]
        self.assertIsNone(session.association)  # still detached, nobody took it

    async def _owner_reattaches(self, server: FullServer, session_id: str, xref: str) -> None:
        owner = await xml_client(server.port_of("xml"))
        self.addCleanup(owner.disconnect)
        self.assertEqual(await owner.start_session(reattach=session_id), session_id)
        self.assertIsNotNone(server.core.monitors.get(xref))
        call_id = await owner.make_call("1006", "1007")
        await until(
            lambda: any(e.get("monitor_cross_ref_id") == xref for e in owner.events),
            "the owner's monitor events",
        )
        await owner.ok(Req.clear_connection(call_id, "1006"))

    async def test_another_user_cannot_take_a_session_in_mandatory_mode(self) -> None:
        server = _server(self, AuthMode.MANDATORY)
        session_id, xref = await self._detached_session(server)
        await self._refused(server, session_id, user=OTHER[0], password=OTHER[1])
        await self._owner_reattaches(server, session_id, xref)

    async def test_a_client_without_credentials_cannot_take_a_session_in_optional_mode(
        self,
    ) -> None:
        server = _server(self, AuthMode.OPTIONAL)
        session_id, xref = await self._detached_session(server)
        await self._refused(server, session_id, user=None, password=None)
        await self._refused(server, session_id, user=OTHER[0], password=OTHER[1])
        await self._owner_reattaches(server, session_id, xref)
