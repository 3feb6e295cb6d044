"""Lock-out: a host opens TR/87 dialogs over UDP (INVITE, ACK, no session timer, never a
BYE) until the association limit is full; they never expired. Now one address holds at most
``Limits.max_dialogs_per_address`` dialogs (one more INVITE: 503 + Retry-After), and a dialog
without an RFC 4028 session timer whose client sends nothing for
``Limits.dialog_idle_timeout`` seconds is ended with a BYE. Another host's client (the
bystander, with a session timer) keeps its dialog and its events. Over loopback, the attacker
on 127.0.0.2."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.logger import capturedLogs
from twisted.trial import unittest

from tests.hardening.support import OTHER_HOST, FullServer, until
from tests.sip.tr87_ua import Lync, Tr87UA, connect_ua

PER_ADDRESS = 3


async def invite_without_timer(ua: Tr87UA, line: str) -> int:
    """A new dialog as the attacker opens it: no ``Supported: timer``, ACKed, then silence."""
    ua.new_dialog()
    reply = await ua.send(ua.build("INVITE", Lync.request_system_status(line), headers=[]))
    if reply.status < 300:
        ua.to_tag = reply.response.to_tag
        assert reply.response.headers.get("Session-Expires") is None
        ua.cseq = 0
        ua.ack()
    return reply.status


class Tr87DialogLockoutTests(unittest.TestCase):
    def start(self, **limits: int) -> FullServer:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def changes(exchange):  # type: ignore[no-untyped-def]
            return attrs.evolve(exchange, limits=attrs.evolve(exchange.limits, **limits))

        server = FullServer(self, tmp / "data", changes=changes)
        self.application, self.endpoint = server.root.getServiceNamed("tr87-2")._sip
        return server

    async def bystander(self, server: FullServer) -> Tr87UA:
        ua = await connect_ua(self, server.port_of("sip"), "udp")
        await ua.open("tel:+4685551108")
        await ua.monitor("tel:+4685551108")
        return ua

    async def check_served(self, server: FullServer, ua: Tr87UA) -> None:
        reply = await ua.csta(Lync.make_call("tel:+4685551108", "tel:+4685551109"))
        assert reply.name == "MakeCallResponse", reply.response.body
        await ua.skip_to("OriginatedEvent")
        for call_id in list(server.root.runtime.switch.calls):
            server.root.runtime.switch.clear_call(call_id)

    async def test_one_address_holds_a_bounded_number_of_dialogs(self) -> None:
        server = self.start(max_dialogs_per_address=PER_ADDRESS)
        attacker = await connect_ua(self, server.port_of("sip"), "udp", source=OTHER_HOST)
        lines = [f"tel:+468555110{n}" for n in range(PER_ADDRESS + 1)]
        statuses = [await invite_without_timer(attacker, line) for line in lines]
        self.assertEqual(statuses, [200] * PER_ADDRESS + [503])
        refused = attacker.received[-1]
        self.assertTrue(refused.headers.get("Retry-After"))
        self.assertEqual(self.application.per_address, {OTHER_HOST: PER_ADDRESS})

        bystander = await self.bystander(server)
        await self.check_served(server, bystander)
        self.assertEqual(self.application.per_address[OTHER_HOST], PER_ADDRESS)

    async def test_reaching_the_limit_is_logged_once_not_per_invite(self) -> None:
        server = self.start(max_dialogs_per_address=PER_ADDRESS)
        attacker = await connect_ua(self, server.port_of("sip"), "udp", source=OTHER_HOST)

        def limit_lines(events: list) -> list:
            return [e for e in events if "dialogs (the limit" in e.get("log_format", "")]

        with capturedLogs() as events:
            statuses = [
                await invite_without_timer(attacker, f"tel:+468555110{n}")
                for n in range(PER_ADDRESS + 4)
            ]
        self.assertEqual(statuses, [200] * PER_ADDRESS + [503] * 4)
        self.assertEqual([e["address"] for e in limit_lines(events)], [OTHER_HOST])

        # one of its dialogs ends: the next time the limit is reached is logged again
        next(iter(self.application.lines.values())).end("test")
        await until(
            lambda: self.application.per_address.get(OTHER_HOST) == PER_ADDRESS - 1,
            "one dialog fewer",
        )
        with capturedLogs() as events:
            statuses = [
                await invite_without_timer(attacker, f"tel:+468555110{n}") for n in (7, 8, 9)
            ]
        self.assertEqual(statuses, [200, 503, 503])
        self.assertEqual(len(limit_lines(events)), 1)

    async def test_a_dialog_nobody_refreshes_is_ended(self) -> None:
        server = self.start(dialog_idle_timeout=1)
        bystander = await self.bystander(server)  # with a session timer: not idle-ended
        attacker = await connect_ua(self, server.port_of("sip"), "udp", source=OTHER_HOST)
        self.assertEqual(await invite_without_timer(attacker, "tel:+4685551100"), 200)
        self.assertEqual(self.application.per_address.get(OTHER_HOST), 1)
        await attacker.wait_until(lambda: bool(attacker.byes), "the BYE of the idle dialog")
        await until(lambda: OTHER_HOST not in self.application.per_address, "dialog ended")
        self.assertEqual(len(self.endpoint.dialogs), 1)
        self.assertEqual(bystander.byes, [])
        await self.check_served(server, bystander)
