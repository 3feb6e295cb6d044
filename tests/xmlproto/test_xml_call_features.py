"""The call features of an extension over the XML port (docs/call-features.md): answering a
waiting call holds the active one, transfer by hang-up, hold recall, withheld caller ID in
events and snapshots, the message waiting indicator. Exact events per monitor, as in
``test_xml_scenarios``; every response arrives before the events it causes."""

from __future__ import annotations

from tests.xmlproto.test_xml_scenarios import Scenario
from tests.xmlproto.xml_client import Req, brief, xml

ALICE = "1100"  # a SIP extension of the demo: call waiting on


class CallWaitingOverXml(Scenario):
    async def test_answer_a_second_call_holds_the_first(self) -> None:
        await self.watch(ALICE, "1000", "1001")
        first = await self.established("1000", ALICE)
        await self.forget()
        second = await self.client.make_call("1001", ALICE)
        (waiting,) = await self.events(ALICE)
        assert brief(waiting) == ("DeliveredEvent", "alerting", "campOn")
        assert waiting.get("connection") == (second, ALICE)
        assert waiting.get("calling_device") == "1001"
        assert await self.events("1000") == []
        assert [e.name for e in await self.events("1001")] == [
            "ServiceInitiatedEvent",
            "OriginatedEvent",
            "DeliveredEvent",
        ]
        await self.client.ok(Req.answer(second, ALICE), "AnswerCallResponse")
        held, established = await self.events(ALICE)
        assert brief(held) == ("HeldEvent", "hold", "normal")
        assert held.get("held_connection") == (first, ALICE)
        assert brief(established) == ("EstablishedEvent", "connected", "newCall")
        assert established.get("established_connection") == (second, ALICE)
        assert await self.briefs("1000") == [("HeldEvent", "connected", "normal")]
        assert await self.briefs("1001") == [("EstablishedEvent", "connected", "newCall")]
        # and back: alternate to the first call
        await self.client.ok(Req.two_calls("AlternateCall", first, second, ALICE))
        assert await self.briefs(ALICE) == [
            ("HeldEvent", "hold", "alternate"),
            ("RetrievedEvent", "connected", "alternate"),
        ]

    async def test_a_third_caller_is_busy(self) -> None:
        await self.watch("1002")
        await self.established("1000", ALICE)
        await self.client.make_call("1001", ALICE)
        await self.forget()
        await self.client.make_call("1002", ALICE)
        assert (await self.briefs("1002"))[-1] == ("FailedEvent", "fail", "busy")


class TransferOnHangUpOverXml(Scenario):
    async def consulting(self) -> tuple[str, str]:
        held = await self.established("1000", "1001")
        frame = await self.client.ok(Req.consultation(held, "1000", "1002"))
        active = frame.get("initiated_call")[0]
        await self.client.ok(Req.answer(active, "1002"))
        await self.forget()
        return held, active

    async def test_clear_connection_of_the_consultation_transfers(self) -> None:
        await self.watch("1000", "1001", "1002")
        held, active = await self.consulting()
        await self.client.ok(Req.clear_connection(active, "1000"), "ClearConnectionResponse")
        for device in ("1000", "1001", "1002"):
            (transferred,) = await self.events(device)
            assert transferred.name == "TransferedEvent"
            assert transferred.get("cause") == "transfer"
            assert transferred.get("primary_old_call") == (held, "1000")
            assert transferred.get("secondary_old_call") == (active, "1000")
            assert transferred.get("transferring_device") == "1000"
            assert transferred.get("transferred_to_device") == "1002"
        frame = await self.client.ok(Req.snapshot_call(held, "1001"))
        assert "1000" not in frame.body.decode()

    async def test_reconnect_still_cancels_a_consultation(self) -> None:
        await self.watch("1000")
        held, active = await self.consulting()
        await self.client.ok(Req.two_calls("ReconnectCall", held, active, "1000"))
        assert await self.briefs("1000") == [
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
            ("RetrievedEvent", "connected", "normal"),
        ]


class HoldRecallOverXml(Scenario):
    def setUp(self) -> None:
        super().setUp()
        self.world.switch.core.plan.hold_recall_seconds = 30.0

    async def test_a_call_left_on_hold_rings_again(self) -> None:
        await self.watch("1000")
        call = await self.established("1000", "1001")
        await self.client.ok(Req.hold(call, "1000"))
        await self.forget()
        self.world.clock.advance(30)
        (recall,) = await self.events("1000")
        assert brief(recall) == ("DeliveredEvent", "alerting", "recall")
        assert recall.get("connection") == (call, "1000")
        assert recall.get("calling_device") == "1001"
        await self.client.ok(Req.answer(call, "1000"))
        assert await self.briefs("1000") == [("EstablishedEvent", "connected", "recall")]


class WithheldCallerOverXml(Scenario):
    async def test_the_number_is_restricted_in_events_and_snapshots(self) -> None:
        await self.watch("1001")
        call = self.sim.call("+4685550107", "1001", withheld=True)
        (delivered,) = await self.events("1001")
        body = delivered.body.decode()
        assert "<callingDevice><restricted/></callingDevice>" in body
        assert "<networkCallingDevice><restricted/></networkCallingDevice>" in body
        assert "+4685550107" not in body
        await self.client.ok(Req.answer(call, "1001"))
        frame = await self.client.ok(Req.snapshot_device("1001"))
        assert "<restricted/>" in frame.body.decode()
        assert "+4685550107" not in frame.body.decode()
        frame = await self.client.ok(Req.snapshot_call(call, "1001"))
        assert "+4685550107" not in frame.body.decode()
        assert "<deviceID>0</deviceID>" in frame.body.decode()
        await self.forget()
        # the trunk names the withheld caller's connection
        await self.client.ok(Req.clear_connection(call, "0"), "ClearConnectionResponse")
        assert await self.briefs("1001") == [
            ("ConnectionClearedEvent", "connected", "normalClearing"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]


class MessageWaitingOverXml(Scenario):
    async def test_set_and_get_message_waiting_indicator(self) -> None:
        await self.watch("1001", "1002")
        on = "<messageWaitingOn>true</messageWaitingOn>"
        await self.client.ok(
            Req.on_device("SetMessageWaitingIndicator", "1001", on),
            "SetMessageWaitingIndicatorResponse",
        )
        (event,) = await self.events("1001")
        assert event.name == "MessageWaitingEvent"
        assert event.get("target_device") == "1001"
        assert event.get("message_waiting_on") is True
        assert await self.events("1002") == []
        frame = await self.client.ok(Req.on_device("GetMessageWaitingIndicator", "1001"))
        assert frame.get("message_waiting_on") is True
        error = await self.client.error(Req.on_device("SetMessageWaitingIndicator", "2000", on))
        assert error == "operation/requestIncompatibleWithObject"  # a group has no lamp
        assert await self.events("1001") == []

    async def test_the_physical_device_feature_filter_holds_it_back(self) -> None:
        await self.watch("1001")
        await self.client.ok(
            Req.change_filter(
                self.monitors["1001"],
                "<physicalDeviceFeature><messageWaiting>true</messageWaiting></physicalDeviceFeature>",
            )
        )
        on = "<messageWaitingOn>true</messageWaitingOn>"
        await self.client.ok(Req.on_device("SetMessageWaitingIndicator", "1001", on))
        assert await self.events("1001") == []
        assert self.world.switch.get_message_waiting("1001") is True

    async def test_a_bad_request_is_refused_and_changes_nothing(self) -> None:
        await self.watch("1001")
        error = await self.client.error(xml("SetMessageWaitingIndicator", "<device>1001</device>"))
        assert error == "operation/invalidParameterValue"  # no messageWaitingOn
        assert self.world.switch.get_message_waiting("1001") is False
        assert await self.events("1001") == []


class DialledDigitsAndCallInformationOverXml(Scenario):
    async def test_a_terminal_dials(self) -> None:
        await self.watch("1000", "1001")
        self.sim.call("1000", "1001")
        events = await self.events("1000")
        assert [brief(e) for e in events[:3]] == [
            ("ServiceInitiatedEvent", "initiated", "newCall"),
            ("DigitsDialedEvent", "initiated", "normal"),
            ("OriginatedEvent", "connected", "newCall"),
        ]
        assert events[1].get("dialing_sequence") == "1001"
        assert [e.name for e in await self.events("1001")] == ["DeliveredEvent"]

    async def test_make_call_with_call_data_from_an_off_hook_device(self) -> None:
        await self.watch("1000")
        self.sim.off_hook("1000")
        await self.forget()
        extra = "<correlatorData>order-42</correlatorData>"
        await self.client.ok(Req.make_call("1000", "1001", extra), "MakeCallResponse")
        info, originated, _delivered = await self.events("1000")
        assert info.name == "CallInformationEvent"
        assert info.get("correlator_data") == "order-42"
        assert info.get("device") == "1000"
        assert brief(originated) == ("OriginatedEvent", "connected", "makeCall")
