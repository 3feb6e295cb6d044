"""The outbound call centre and call data over the XML port (in memory).

ECMA-269 17.2.12 Make Predictive Call with ``alertTime`` (an outside party that does not
answer: Failed, cause callNotAnswered, and nothing for the agents), and the call data of
ECMA-269 12.3.x in events: ``correlatorData`` and ``userData`` given in MakeCall, and
``networkCalledDevice`` / ``associatedCallingDevice`` of a call from the outside network.
"""

from __future__ import annotations

from cstaserver.csta import codec
from tests.xmlproto.test_xml_scenarios import OUTSIDE, Scenario
from tests.xmlproto.xml_client import ED3, ED6, Req, brief

USER_DATA = "<userData><string>48656C6C6F</string></userData>"


class PredictiveCallScenarios(Scenario):
    async def test_no_answer_within_the_alert_time_fails_with_call_not_answered(self) -> None:
        self.sim.agent("1001", "login", "5001")
        self.sim.agent("1001", "ready")
        await self.watch("2000", "1001")
        frame = await self.client.ok(
            Req.make_predictive_call("2000", "0812349", "<alertTime>10</alertTime>")
        )
        call = frame.message.initiated_call.call_id
        assert frame.message.initiated_call.device_id.value == "2000"
        assert await self.briefs("2000") == [
            ("NetworkReachedEvent", "null", "normal"),
            ("DeliveredEvent", "null", "makePredictiveCall"),
        ]
        self.world.advance(9.9)
        assert await self.events("2000") == []
        self.world.advance(0.1)
        group = await self.events("2000")
        assert [brief(e) for e in group] == [
            ("FailedEvent", "null", "callNotAnswered"),
            ("ConnectionClearedEvent", "null", "normalClearing"),
            ("CallClearedEvent", None, "normalClearing"),
        ]
        failed = group[0]
        assert failed.get("failed_connection") == (call, "0812349")
        assert failed.get("failing_device") == "0812349"
        assert (failed.get("calling_device"), failed.get("called_device")) == ("2000", "0812349")
        assert failed.get("associated_called_device") == "0"  # the trunk it left on
        assert await self.events("1001") == []
        assert self.world.switch.calls == {}

    async def test_an_alert_time_of_zero_is_out_of_range(self) -> None:
        request = Req.make_predictive_call("2000", "0812349", "<alertTime>0</alertTime>")
        assert await self.client.error(request) == "operation/valueOutOfRange"
        assert self.world.switch.calls == {}


class CallDataScenarios(Scenario):
    async def test_make_call_correlator_and_user_data_reach_the_called_device(self) -> None:
        other = self.world.connect()  # a second application, speaking ed6
        other_xref = (await other.ok(Req.monitor_start("1001", ns=ED6))).message
        await self.watch("1001")
        extra = f"<correlatorData>order-4711</correlatorData>{USER_DATA}"
        call = (await self.client.ok(Req.make_call("1000", "1001", extra))).message
        call_id = call.calling_device.call_id
        (delivered,) = await self.events("1001")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "newCall")
        assert delivered.get("correlator_data") == "order-4711"
        assert delivered.namespace == ED3
        assert USER_DATA.encode() in delivered.body
        seen = await other.drain()
        assert [e.name for e in seen] == ["DeliveredEvent"]
        assert seen[0].message.monitor_cross_ref_id == other_xref.monitor_cross_ref_id
        assert seen[0].namespace == ED6 and ED3.encode() not in seen[0].body
        assert seen[0].get("correlator_data") == "order-4711"
        user_data = seen[0].message.user_data
        assert [codec.local_name(child) for child in user_data] == ["string"]
        assert user_data[0].text == "48656C6C6F"
        await self.client.ok(Req.answer(call_id, "1001"))
        await self.client.ok(Req.clear_call(call_id, "1001"))
        later = await self.events("1001")
        assert [e.name for e in later] == [
            "EstablishedEvent",
            "ConnectionClearedEvent",
            "ConnectionClearedEvent",
            "CallClearedEvent",
        ]
        assert {e.get("correlator_data") for e in later} == {"order-4711"}
        assert all(USER_DATA.encode() in e.body for e in later)

    async def test_an_outside_call_carries_the_number_dialled_and_the_trunk(self) -> None:
        await self.watch("1001")
        self.sim.call(OUTSIDE, "+4685551001")
        self.sim.answer("1001")
        delivered, established = await self.events("1001")
        for event in (delivered, established):
            assert event.get("calling_device") == OUTSIDE
            assert event.get("network_called_device") == "+4685551001"
            assert event.get("associated_calling_device") == "0"
            assert event.get("associated_called_device") is None
            assert event.get("correlator_data") is None
