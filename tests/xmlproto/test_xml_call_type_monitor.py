"""MonitorStart ``monitorType`` (ECMA-269 15.1.2): a call-type monitor on a device follows
each call of the device after the call leaves it; a device-type monitor stops seeing it.
Exact event sequences per monitor over the XML port (in memory)."""

from __future__ import annotations

from twisted.trial import unittest

from tests.xmlproto.xml_client import Frame, MemoryClient, Req, brief, for_monitor, make_world, xml


def monitor_start(device: str, monitor_type: str) -> str:
    return xml(
        "MonitorStart",
        f"<monitorObject><deviceObject>{device}</deviceObject></monitorObject>"
        f"<monitorType>{monitor_type}</monitorType>",
    )


class CallTypeMonitors(unittest.TestCase):
    timeout = 10

    def setUp(self) -> None:
        self.world = make_world()
        self.sim = self.world.sim
        self.client: MemoryClient = self.world.connect()
        self.seen: list[Frame] = []

    async def start(self, device: str, monitor_type: str) -> str:
        answer = await self.client.ok(monitor_start(device, monitor_type))
        return answer.message.monitor_cross_ref_id

    async def events(self, xref: str) -> list[tuple[str, str | None, str | None]]:
        self.seen += await self.client.drain()
        mine = for_monitor(self.seen, xref)
        self.seen = [e for e in self.seen if e not in mine]
        return [brief(e) for e in mine]

    async def test_a_call_type_monitor_follows_a_single_step_transfer(self) -> None:
        by_call = await self.start("1001", "call")
        by_device = await self.start("1001", "device")
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(call, "1001"))
        await self.client.ok(Req.single_step_transfer(call, "1001", "1002"))
        self.sim.answer("1002")
        self.sim.hangup("1002")
        common = [
            ("DeliveredEvent", "alerting", "newCall"),
            ("EstablishedEvent", "connected", "newCall"),
            ("TransferedEvent", "null", "singleStepTransfer"),
        ]
        assert await self.events(by_device) == common
        # the call left 1001: the call-type monitor sees the rest, 1001's state null
        assert await self.events(by_call) == [
            *common,
            ("DeliveredEvent", "null", "singleStepTransfer"),
            ("EstablishedEvent", "null", "singleStepTransfer"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]
        # the call is over: the monitor follows nothing more but its device
        other = await self.client.make_call("1000", "1002")
        await self.client.ok(Req.clear_call(other, "1000"))
        assert await self.events(by_call) == []
        monitor = self.world.core.monitors.get(by_call)
        assert monitor.followed == set() and monitor.monitor_type == "call"

    async def test_a_call_type_monitor_follows_a_deflected_call(self) -> None:
        by_call = await self.start("1001", "call")
        by_device = await self.start("1001", "device")
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.deflect(call, "1001", "1003"))
        self.sim.answer("1003")
        assert await self.events(by_device) == [
            ("DeliveredEvent", "alerting", "newCall"),
            ("DivertedEvent", "null", "redirected"),
        ]
        assert await self.events(by_call) == [
            ("DeliveredEvent", "alerting", "newCall"),
            ("DivertedEvent", "null", "redirected"),
            ("DeliveredEvent", "null", "redirected"),
            ("EstablishedEvent", "null", "redirected"),
        ]

    async def test_a_call_type_monitor_follows_a_consultation_transfer(self) -> None:
        """1001 consults 1002 and transfers: the transferred call (the held one's ID) is
        followed after 1001 is gone."""
        by_call = await self.start("1001", "call")
        call = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(call, "1001"))
        consult = await self.client.ok(Req.consultation(call, "1001", "1002"))
        consult_id = consult.message.initiated_call.call_id
        self.sim.answer("1002")
        await self.events(by_call)
        await self.client.ok(Req.two_calls("TransferCall", call, consult_id, "1001"))
        self.sim.hangup("1000")
        assert await self.events(by_call) == [
            ("TransferedEvent", "null", "transfer"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]

    async def test_a_call_type_monitor_started_during_a_call_follows_it(self) -> None:
        call = await self.client.make_call("1000", "1001")
        by_call = await self.start("1001", "call")
        await self.client.ok(Req.deflect(call, "1001", "1003"))
        self.sim.answer("1003")
        assert [name for name, _, _ in await self.events(by_call)] == [
            "DivertedEvent",
            "DeliveredEvent",
            "EstablishedEvent",
        ]
