"""Lock-out: one client takes every monitor (two connections x 10,000 MonitorStart), or
piles thousands of monitors on one extension so that every call to it costs each of them a
rendering. ``Limits.max_monitors_per_address`` bounds the monitors of one client address
(one more: ``overallMonitorLimitExceeded``) and ``Limits.max_monitors_per_device`` those of
one device (``objectMonitorLimitExceeded``); a client on another address still monitors and
gets its events. Over loopback, scaled down (the limits are set small)."""

from __future__ import annotations

from pathlib import Path

import attrs
from twisted.trial import unittest

from tests.hardening.support import OTHER_HOST, FullServer, until, xml_client
from tests.xmlproto.xml_client import Req

PER_ADDRESS = 12
PER_DEVICE = 4
DEVICES = ["1000", "1001", "1002", "1003", "1004", "1005"]


class MonitorLockoutTests(unittest.TestCase):
    def setUp(self) -> None:
        tmp = Path(self.mktemp())
        tmp.mkdir(parents=True)

        def changes(exchange):  # type: ignore[no-untyped-def]
            limits = attrs.evolve(
                exchange.limits,
                max_monitors_per_address=PER_ADDRESS,
                max_monitors_per_device=PER_DEVICE,
            )
            return attrs.evolve(exchange, limits=limits)

        self.server = FullServer(self, tmp / "data", changes=changes)
        self.port = self.server.port_of("xml")

    async def test_one_address_cannot_take_every_monitor(self) -> None:
        first, second = [await xml_client(self.port) for _ in range(2)]
        self.addCleanup(first.disconnect)
        self.addCleanup(second.disconnect)
        started, refused = 0, []
        for n in range(PER_ADDRESS + 4):
            client = first if n % 2 else second
            frame = await client.request(Req.monitor_start(DEVICES[n % len(DEVICES)]))
            if frame.name == "MonitorStartResponse":
                started += 1
            else:
                refused.append(frame.error)
        self.assertEqual(started, PER_ADDRESS)
        self.assertEqual(set(refused), {"systemResourceAvailibility/overallMonitorLimitExceeded"})

        # a client on another host monitors its own extension and sees its calls
        bystander = await xml_client(self.port, source=OTHER_HOST)
        self.addCleanup(bystander.disconnect)
        xref = await bystander.monitor("1008")
        call_id = await bystander.make_call("1008", "1009")
        await until(
            lambda: any(e.get("monitor_cross_ref_id") == xref for e in bystander.events),
            "the bystander's events",
        )
        await bystander.ok(Req.clear_connection(call_id, "1008"))

    async def test_one_device_has_a_bounded_number_of_monitors(self) -> None:
        client = await xml_client(self.port)
        self.addCleanup(client.disconnect)
        for _ in range(PER_DEVICE):
            await client.monitor("1007")
        self.assertEqual(
            await client.error(Req.monitor_start("1007")),
            "subscribedResourceAvailability/objectMonitorLimitExceeded",
        )
        # other devices are not affected, for this client or another one
        await client.monitor("1006")
        bystander = await xml_client(self.port, source=OTHER_HOST)
        self.addCleanup(bystander.disconnect)
        await bystander.monitor("1008")
        # a monitor stopped frees its place on the device
        stopped = await client.monitor("1005")
        await client.ok(Req.monitor_stop(stopped))
        self.assertEqual(len(self.server.core.monitors), PER_DEVICE + 2)
