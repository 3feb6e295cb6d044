"""Hijack: an INVITE naming another user's line replaced that user's TR/87 dialog (the
victim got a BYE and lost its monitors). With ``line_replacement`` ``same-peer`` (the
default) only an INVITE from the old dialog's own address replaces it - the client that
restarted; from another host both dialogs stay and the victim keeps its events. ``any``
restores replacement by anyone, ``off`` keeps every dialog. Over loopback, the other host on
127.0.0.2."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.trial import unittest

from cstaserver.config import LineReplacement, ServerType
from tests.hardening.support import OTHER_HOST, FullServer
from tests.sip.tr87_ua import LINE, Tr87UA, connect_ua


class LineReplacementTests(unittest.TestCase):
    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)
        self.server = FullServer(self, tmp / "data")
        self.application, self.endpoint = self.server.root.getServiceNamed("tr87-2")._sip

    async def set_mode(self, mode: LineReplacement) -> None:
        exchange = self.server.root.exchange
        servers = [
            attrs.evolve(s, line_replacement=mode) if s.server_type is ServerType.TR87 else s
            for s in exchange.csta_servers
        ]
        await self.server.root.reconfig(attrs.evolve(exchange, csta_servers=servers))

    async def ua(self, source: str = "127.0.0.1") -> Tr87UA:
        ua = await connect_ua(self, self.server.port_of("sip"), "udp", source=source)
        await ua.open(LINE)
        return ua

    async def sees_its_calls(self, ua: Tr87UA, xref: str) -> None:
        switch = self.server.root.runtime.switch
        self.server.root.runtime.simulator.call("1102", "1101")
        delivered = await ua.skip_to("DeliveredEvent")
        self.assertEqual(delivered.get("monitor_cross_ref_id"), xref)
        for call_id in list(switch.calls):
            switch.clear_call(call_id)

    async def test_another_host_cannot_replace_the_dialog_by_default(self) -> None:
        self.assertIs(self.application.settings.line_replacement, LineReplacement.SAME_PEER)
        victim = await self.ua()
        xref = await victim.monitor(LINE)
        thief = await self.ua(OTHER_HOST)
        self.assertEqual(len(self.endpoint.dialogs), 2)
        await self.sees_its_calls(victim, xref)
        self.assertEqual(victim.byes, [])
        self.assertIsNotNone(self.server.core.monitors.get(xref))
        self.assertEqual(thief.byes, [])

        # the victim's own client restarting (same address) still replaces its old dialog
        restarted = await self.ua()
        await victim.wait_until(lambda: bool(victim.byes), "the BYE to the replaced dialog")
        new_xref = await restarted.monitor(LINE)
        await self.sees_its_calls(restarted, new_xref)
        self.assertEqual(thief.byes, [])

    async def test_any_and_off(self) -> None:
        await self.set_mode(LineReplacement.ANY)
        first = await self.ua()
        await self.ua(OTHER_HOST)
        await first.wait_until(lambda: bool(first.byes), "the BYE (any: replaced by anyone)")

        await self.set_mode(LineReplacement.OFF)
        kept = await self.ua()
        xref = await kept.monitor(LINE)
        await self.ua()  # the same address, and still kept
        await self.sees_its_calls(kept, xref)
        self.assertEqual(kept.byes, [])
