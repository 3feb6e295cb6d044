"""ECMA TR/82 scenarios replayed as CSTA requests and events over the XML port (in memory).

Each test drives the demo exchange through CSTA requests and the simulator (a person at a
terminal, an outside caller) and asserts the exact event sequence each monitor sees: names,
localConnectionInfo, cause and key devices. ``XmlClient.ok`` checks on every request that its
response arrives before any event it causes (docs/protocol-notes.md R6).
"""

from __future__ import annotations

from twisted.trial import unittest

from tests.xmlproto.xml_client import Frame, MemoryClient, Req, brief, for_monitor, make_world

OUTSIDE = "+4685550142"


class Scenario(unittest.TestCase):
    timeout = 10

    def setUp(self) -> None:
        self.world = make_world()
        self.sim = self.world.sim
        self.client: MemoryClient = self.world.connect()
        self.monitors: dict[str, str] = {}
        self.seen: list[Frame] = []

    async def watch(self, *devices: str) -> None:
        for device in devices:
            self.monitors[device] = await self.client.monitor(device)

    async def events(self, device: str) -> list[Frame]:
        """The new events of ``device``'s monitor since the last call (all monitors drained)."""
        self.seen += await self.client.drain()
        mine = for_monitor(self.seen, self.monitors[device])
        self.seen = [e for e in self.seen if e not in mine]
        return mine

    async def briefs(self, device: str) -> list[tuple[str, str | None, str | None]]:
        return [brief(e) for e in await self.events(device)]

    async def established(self, calling: str, called: str) -> str:
        call = await self.client.make_call(calling, called)
        await self.client.ok(Req.answer(call, called))
        return call

    async def forget(self) -> None:
        await self.client.drain()
        self.seen = []


class MakeCallScenarios(Scenario):
    async def test_make_call_hands_free(self) -> None:
        """TR/82 4.2: the caller originates at once, the called party rings."""
        await self.watch("1000", "1001")
        call = await self.client.make_call("1000", "1001")
        assert await self.briefs("1000") == [
            ("ServiceInitiatedEvent", "initiated", "makeCall"),
            ("OriginatedEvent", "connected", "makeCall"),
            ("DeliveredEvent", "connected", "newCall"),
        ]
        (delivered,) = await self.events("1001")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "newCall")
        assert delivered.get("connection") == (call, "1001")
        assert (delivered.get("calling_device"), delivered.get("called_device")) == ("1000", "1001")

    async def test_make_call_prompted(self) -> None:
        """TR/82 4.1 (``sim mode`` manual): the caller is prompted (ServiceInitiated, its
        connection initiated while its terminal rings), originates when the person answers."""
        self.sim.mode("1000", "manual")
        await self.watch("1000", "1001")
        call = await self.client.make_call("1000", "1001")
        (prompt,) = await self.events("1000")
        assert brief(prompt) == ("ServiceInitiatedEvent", "initiated", "makeCall")
        assert prompt.get("initiated_connection") == (call, "1000")
        assert await self.events("1001") == []
        self.sim.answer("1000")
        caller = await self.briefs("1000")
        assert caller[-2:] == [
            ("OriginatedEvent", "connected", "makeCall"),
            ("DeliveredEvent", "connected", "newCall"),
        ]
        assert [(e.name, e.get("connection")) for e in await self.events("1001")] == [
            ("DeliveredEvent", (call, "1001"))
        ]

    async def test_called_busy(self) -> None:
        await self.watch("1000")
        self.sim.busy("1001", True)
        await self.client.make_call("1000", "1001")
        caller = await self.briefs("1000")
        assert caller[-1] == ("FailedEvent", "fail", "busy")

    async def test_invalid_number(self) -> None:
        """Manual dialling of an unallocated number: Failed, destNotObtainable."""
        await self.watch("1000")
        self.sim.call("1000", "1999")
        assert await self.briefs("1000") == [
            ("ServiceInitiatedEvent", "initiated", "newCall"),
            ("DigitsDialedEvent", "initiated", "normal"),
            ("FailedEvent", "fail", "destNotObtainable"),
        ]

    async def test_make_call_to_an_invalid_number_is_refused(self) -> None:
        assert await self.client.error(Req.make_call("1000", "19x")) == (
            "operation/invalidCalledDevice"
        )

    async def test_alerting_time_out(self) -> None:
        await self.watch("1000", "1001")
        call = await self.client.make_call("1000", "1001")
        await self.forget()
        self.world.advance(self.world.switch.plan.alerting_timeout)
        called = await self.events("1001")
        assert called and called[0].name == "ConnectionClearedEvent"
        assert called[0].get("dropped_connection") == (call, "1001")
        assert "ConnectionClearedEvent" in [e.name for e in await self.events("1000")]


class AnswerAndClearScenarios(Scenario):
    async def test_answer_by_service_and_manually(self) -> None:
        await self.watch("1000", "1001", "1002")
        first = await self.client.make_call("1000", "1001")
        await self.client.ok(Req.answer(first, "1001"))
        second = await self.client.make_call("1003", "1002")
        self.sim.answer("1002")
        for device, call in (("1001", first), ("1002", second)):
            established = (await self.events(device))[-1]
            assert brief(established) == ("EstablishedEvent", "connected", "newCall")
            assert established.get("established_connection") == (call, device)
            assert established.get("answering_device") == device

    async def test_clear_by_on_hook(self) -> None:
        await self.watch("1000", "1001")
        call = await self.established("1000", "1001")
        await self.forget()
        self.sim.hangup("1001")
        assert await self.briefs("1000") == [
            ("ConnectionClearedEvent", "connected", "normalClearing"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]
        assert (await self.events("1001"))[0].get("releasing_device") == "1001"
        assert self.world.switch.snapshot_device("1000") == []
        del call

    async def test_clear_connection_in_a_conference_keeps_the_others(self) -> None:
        await self.watch("1000", "1001")
        call = await self.established("1000", "1001")
        await self.client.ok(Req.single_step_conference(call, "1000", "1002"))
        await self.forget()
        await self.client.ok(Req.clear_connection(call, "1002"))
        assert await self.briefs("1000") == [
            ("ConnectionClearedEvent", "connected", "normalClearing")
        ]
        assert len(self.world.switch.snapshot_call(call)) == 2

    async def test_clear_call(self) -> None:
        await self.watch("1000")
        call = await self.established("1000", "1001")
        await self.forget()
        await self.client.ok(Req.clear_call(call, "1000"))
        cleared, call_cleared = await self.events("1000")
        assert brief(cleared) == ("ConnectionClearedEvent", "null", "normalClearing")
        assert cleared.get("dropped_connection") == (call, "1000")
        assert (call_cleared.name, call_cleared.get("cleared_call")) == (
            "CallClearedEvent",
            (call, None),
        )


class ExternalScenarios(Scenario):
    async def test_outgoing_external_answered(self) -> None:
        await self.watch("1000")
        call = await self.client.make_call("1000", "0123456")
        caller = await self.briefs("1000")
        assert caller[0] == ("ServiceInitiatedEvent", "initiated", "makeCall")
        assert "NetworkReachedEvent" in [e[0] for e in caller]
        self.world.advance(self.world.switch.plan.network.answer_delay)
        (established,) = await self.events("1000")
        assert established.name == "EstablishedEvent"
        assert established.get("established_connection") == (call, "0123456")

    async def test_outgoing_external_busy(self) -> None:
        await self.watch("1000")
        await self.client.make_call("1000", "0123458")
        assert (await self.briefs("1000"))[-1] == ("FailedEvent", "fail", "busy")

    async def test_incoming_external(self) -> None:
        await self.watch("1001")
        call = self.sim.call(OUTSIDE, "1001")
        (delivered,) = await self.events("1001")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "newCall")
        assert delivered.get("calling_device") == OUTSIDE
        await self.client.ok(Req.answer(call, "1001"))
        assert (await self.events("1001"))[0].get("calling_device") == OUTSIDE


class FeatureScenarios(Scenario):
    async def test_hold_retrieve_seen_by_both_parties(self) -> None:
        await self.watch("1000", "1001")
        call = await self.established("1000", "1001")
        await self.forget()
        await self.client.ok(Req.hold(call, "1000"))
        await self.client.ok(Req.retrieve(call, "1000"))
        assert await self.briefs("1000") == [
            ("HeldEvent", "hold", "normal"),
            ("RetrievedEvent", "connected", "normal"),
        ]
        assert await self.briefs("1001") == [
            ("HeldEvent", "connected", "normal"),
            ("RetrievedEvent", "connected", "normal"),
        ]

    async def test_consultation_and_transfer_seen_by_the_transferred_parties(self) -> None:
        await self.watch("1000", "1001", "1002")
        call = await self.established("1000", "1001")
        frame = await self.client.ok(Req.consultation(call, "1000", "1002"))
        consult = frame.message.initiated_call.call_id
        await self.client.ok(Req.answer(consult, "1002"))
        await self.forget()
        await self.client.ok(Req.two_calls("TransferCall", call, consult, "1000"))
        for device, state in (("1000", "null"), ("1001", "connected"), ("1002", "connected")):
            (event,) = await self.events(device)
            assert brief(event) == ("TransferedEvent", state, "transfer")
        assert self.world.switch.snapshot_device("1000") == []

    async def test_conference(self) -> None:
        await self.watch("1001", "1002")
        call = await self.established("1000", "1001")
        frame = await self.client.ok(Req.consultation(call, "1000", "1002"))
        consult = frame.message.initiated_call.call_id
        await self.client.ok(Req.answer(consult, "1002"))
        await self.forget()
        await self.client.ok(Req.two_calls("ConferenceCall", call, consult, "1000"))
        for device in ("1001", "1002"):
            (event,) = await self.events(device)
            assert brief(event) == ("ConferencedEvent", "connected", "conference")
            assert event.get("conferencing_device") == "1000"

    async def test_forwarding_immediate(self) -> None:
        await self.watch("1000", "1001", "1002")
        await self.client.ok(Req.set_forwarding("1001", "forwardImmediate", "1002"))
        await self.forget()
        call = await self.client.make_call("1000", "1001")
        (delivered,) = await self.events("1002")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "callForwardImmediate")
        assert delivered.get("connection") == (call, "1002")
        assert delivered.get("called_device") == "1001"
        assert delivered.get("last_redirection_device") == "1001"

    async def test_do_not_disturb(self) -> None:
        await self.watch("1000", "1001")
        await self.client.ok(Req.set_dnd("1001", True))
        await self.forget()
        await self.client.make_call("1000", "1001")
        assert await self.events("1001") == []
        assert (await self.briefs("1000"))[-1][0] == "FailedEvent"


class GroupScenarios(Scenario):
    async def test_hunt_group_rings_the_first_free_member(self) -> None:
        await self.watch("1100", "1101")
        self.sim.busy("1100", True)
        call = await self.client.make_call("1000", "2100")
        assert await self.events("1100") == []
        (delivered,) = await self.events("1101")
        assert delivered.name == "DeliveredEvent"
        assert delivered.get("connection") == (call, "1101")
        assert delivered.get("called_device") == "2100"

    async def test_cascade_group_adds_members_in_turn(self) -> None:
        await self.watch("1104", "1105")
        call = await self.client.make_call("1000", "2101")
        assert [e.get("connection") for e in await self.events("1104")] == [(call, "1104")]
        assert await self.events("1105") == []
        step = self.world.switch.plan.cascade_groups[0].step_seconds
        self.world.advance(step)
        (delivered,) = await self.events("1105")
        assert delivered.get("connection") == (call, "1105")
        (also,) = await self.events("1104")  # 1104 keeps ringing and sees 1105 added
        assert brief(also) == ("DeliveredEvent", "alerting", delivered.get("cause"))
        self.sim.answer("1105")
        established, cleared = await self.events("1104")
        assert brief(established)[:2] == ("EstablishedEvent", "alerting")
        assert brief(cleared)[:2] == ("ConnectionClearedEvent", "null")
        assert cleared.get("dropped_connection") == (call, "1104")
        assert (await self.events("1105"))[0].get("answering_device") == "1105"

    async def test_acd_outside_call_reaches_an_agent(self) -> None:
        """An outside call to an ACD group distributed by the exchange (2001) reaches an
        agent; the group's monitor sees the arrival, the distribution and its agents."""
        await self.watch("1005", "1006", "2001")
        for device, agent in (("1005", "5006"), ("1006", "5007")):
            await self.client.ok(Req.set_agent_state(device, "loggedOn", agent, "2001"))
            await self.client.ok(Req.set_agent_state(device, "ready"))
        await self.forget()
        call = self.sim.call(OUTSIDE, "2001")
        (delivered,) = await self.events("1005")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "distributed")
        assert delivered.get("calling_device") == OUTSIDE
        assert delivered.get("called_device") == "2001"
        assert delivered.get("alerting_device") == "1005"
        arrival, diverted = await self.events("2001")
        assert (arrival.name, arrival.get("alerting_device")) == ("DeliveredEvent", "2001")
        assert (diverted.name, diverted.get("new_destination")) == ("DivertedEvent", "1005")
        self.sim.answer("1005")
        established, busy = await self.events("1005")
        assert brief(established) == ("EstablishedEvent", "connected", "distributed")
        assert established.get("answering_device") == "1005"
        assert established.get("established_connection") == (call, "1005")
        assert established.get("calling_device") == OUTSIDE
        assert busy.name == "AgentBusyEvent"
        assert [e.name for e in await self.events("2001")] == ["AgentBusyEvent"]

    async def test_acd_queueing_until_an_agent_is_ready(self) -> None:
        await self.watch("1005", "2001")
        await self.client.ok(Req.set_agent_state("1005", "loggedOn", "5006", "2001"))
        await self.forget()
        call = self.sim.call(OUTSIDE, "2001")
        queued = await self.events("2001")
        assert [e.name for e in queued] == ["QueuedEvent"]
        assert await self.events("1005") == []
        await self.client.ok(Req.set_agent_state("1005", "ready"))
        agent = await self.events("1005")
        assert [e.name for e in agent] == ["AgentReadyEvent", "DeliveredEvent"]
        assert agent[1].get("connection") == (call, "1005")
        assert agent[1].get("calling_device") == OUTSIDE
