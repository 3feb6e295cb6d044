"""Call pick-up, park, camp-on, call back, intrusion and SingleStepConference over the XML
port (docs/call-pickup-park.md): each service end to end as a CTI application writes it
(ECMA-323 ed3), the events every monitor gets, and the CSTAErrorCode of bad requests."""

from __future__ import annotations

import attrs

from tests.xmlproto.test_xml_scenarios import Scenario
from tests.xmlproto.xml_client import Req, brief, conn, xml


def _settings(scenario: Scenario, **per_number: dict) -> None:
    """Change some extensions of the running demo exchange (as ``extension -c`` does)."""
    plan = scenario.world.switch.plan
    changed = attrs.evolve(
        plan,
        extensions=[attrs.evolve(e, **per_number.get(e.number, {})) for e in plan.extensions],
    )
    scenario.world.switch.update_plan(changed)


class PickupOverXml(Scenario):
    async def test_directed_pickup(self) -> None:
        await self.watch("1000", "1001", "1002")
        call = await self.client.make_call("1000", "1001")
        await self.forget()
        body = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, '1001')}</callToBePickedUp>"
            "<requestingDevice>1002</requestingDevice>",
        )
        frame = await self.client.ok(body, "DirectedPickupCallResponse")
        assert frame.get("picked_call") == (call, "1002")
        diverted, established = await self.events("1002")
        assert brief(diverted) == ("DivertedEvent", "null", "callPickup")
        assert diverted.get("diverting_device") == "1001"
        assert diverted.get("new_destination") == "1002"
        assert brief(established) == ("EstablishedEvent", "connected", "callPickup")
        assert established.get("answering_device") == "1002"
        assert established.get("last_redirection_device") == "1001"
        assert await self.briefs("1001") == [("DivertedEvent", "null", "callPickup")]
        assert await self.briefs("1000") == [
            ("DivertedEvent", "connected", "callPickup"),
            ("EstablishedEvent", "connected", "callPickup"),
        ]

    async def test_group_pickup_and_its_errors(self) -> None:
        group = {"pickup_group": 3}
        _settings(self, **{"1005": group, "1006": group})
        await self.watch("1006")
        nothing = xml("GroupPickupCall", "<newDestination>1006</newDestination>")
        assert await self.client.error(nothing) == "stateIncompatibility/noCallToAnswer"
        call = await self.client.make_call("1000", "1005")
        await self.forget()
        frame = await self.client.ok(nothing, "GroupPickupCallResponse")
        assert frame.get("picked_call") == (call, "1006")
        assert [e.get("cause") for e in await self.events("1006")] == ["callPickup"] * 2
        not_in_group = xml("GroupPickupCall", "<newDestination>1002</newDestination>")
        assert await self.client.error(not_in_group) == "stateIncompatibility/invalidDeviceState"
        bad_group = xml(
            "GroupPickupCall", "<newDestination>1002</newDestination><pickGroup>x</pickGroup>"
        )
        assert await self.client.error(bad_group) == "operation/invalidParameterValue"

    async def test_pickup_of_a_call_that_does_not_ring_there(self) -> None:
        call = await self.established("1000", "1001")
        body = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, '1001')}</callToBePickedUp>"
            "<requestingDevice>1002</requestingDevice>",
        )
        assert await self.client.error(body) == "stateIncompatibility/invalidConnectionState"


class ParkOverXml(Scenario):
    async def test_park_and_retrieve(self) -> None:
        await self.watch("1000", "1001", "1003")
        call = await self.established("1000", "1001")
        await self.forget()
        park = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>1003</parkTo>")
        frame = await self.client.ok(park, "ParkCallResponse")
        assert frame.get("parked_to") == (call, "1003")
        queued, cleared = await self.events("1001")
        assert brief(queued) == ("QueuedEvent", "connected", "park")
        assert queued.get("queue") == "1003"
        assert brief(cleared) == ("ConnectionClearedEvent", "null", "park")
        assert await self.briefs("1003") == [
            ("QueuedEvent", "queued", "park"),
            ("ConnectionClearedEvent", "queued", "park"),
        ]
        retrieve = xml(
            "DirectedPickupCall",
            f"<callToBePickedUp>{conn(call, '1003')}</callToBePickedUp>"
            "<requestingDevice>1004</requestingDevice>",
        )
        await self.client.ok(retrieve, "DirectedPickupCallResponse")
        assert await self.briefs("1003") == [("DivertedEvent", "null", "callPickup")]

    async def test_park_recall_and_a_bad_park_to(self) -> None:
        await self.watch("1001")
        call = await self.established("1000", "1001")
        bad = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>2100</parkTo>")
        assert await self.client.error(bad) == "operation/invalidDestination"
        park = xml("ParkCall", f"<parking>{conn(call, '1001')}</parking><parkTo>1003</parkTo>")
        await self.client.ok(park)
        await self.forget()
        self.world.advance(self.world.switch.plan.park_recall_seconds)
        diverted, delivered = await self.events("1001")
        assert brief(diverted) == ("DivertedEvent", "null", "recall")
        assert brief(delivered) == ("DeliveredEvent", "alerting", "recall")


class CampOnCallBackIntrusionOverXml(Scenario):
    async def busy_call(self) -> tuple[str, str]:
        busy = await self.established("1000", "1001")
        call = await self.client.make_call("1002", "1001")
        await self.forget()
        return busy, call

    async def test_camp_on(self) -> None:
        await self.watch("1001", "1002")
        busy, call = await self.busy_call()
        await self.client.ok(
            xml("CamponCall", f"<camponConnection>{conn(call, '1002')}</camponConnection>"),
            "CamponCallResponse",
        )
        assert await self.briefs("1002") == [("QueuedEvent", "connected", "campOn")]
        assert await self.briefs("1001") == [("QueuedEvent", "queued", "campOn")]
        await self.client.ok(Req.clear_connection(busy, "1000"))
        assert (await self.briefs("1002")) == [("DeliveredEvent", "connected", "campOn")]
        await self.client.ok(Req.answer(call, "1001"))
        assert (await self.briefs("1002")) == [("EstablishedEvent", "connected", "campOn")]

    async def test_camp_on_a_call_that_did_not_fail(self) -> None:
        call = await self.client.make_call("1000", "1001")
        body = xml("CampOnCall", f"<campOnConnection>{conn(call, '1000')}</campOnConnection>")
        assert await self.client.error(body) == "stateIncompatibility/invalidConnectionState"

    async def test_call_back_then_cancel_and_non_call_related(self) -> None:
        await self.watch("1001", "1002")
        busy, call = await self.busy_call()
        frame = await self.client.ok(
            xml("CallBack", f"<callbackConnection>{conn(call, '1002')}</callbackConnection>"),
            "CallBackResponse",
        )
        assert frame.get("target_device") == "1001"
        *cleared, set_event = await self.events("1002")
        assert [e.get("cause") for e in cleared] == ["callBack", "callBack"]
        assert set_event.name == "CallBackEvent"
        assert set_event.get("originating_device") == "1002"
        assert set_event.get("target_device") == "1001"
        assert set_event.get("call_back_set_canceled") is True
        assert [e.name for e in await self.events("1001")] == ["CallBackEvent"]
        cancel = xml(
            "CancelCallBack",
            "<originatingDevice>1002</originatingDevice><targetDevice>1001</targetDevice>",
        )
        await self.client.ok(cancel, "CancelCallBackResponse")
        (cancelled,) = await self.events("1002")
        assert cancelled.name == "CallBackEvent" and not cancelled.get("call_back_set_canceled")
        assert await self.client.error(cancel) == "stateIncompatibility/invalidDeviceState"
        order = xml(
            "CallBackNonCallRelated",
            "<originatingDevice>1002</originatingDevice><targetDevice>1001</targetDevice>",
        )
        await self.client.ok(order, "CallBackNonCallRelatedResponse")
        await self.forget()
        await self.client.ok(Req.clear_connection(busy, "1000"))
        events = await self.events("1002")
        assert [brief(e) for e in events] == [
            ("CallBackEvent", None, None),
            ("ServiceInitiatedEvent", "initiated", "callBack"),
        ]

    async def test_intrusion_allowed_refused_and_silent(self) -> None:
        _settings(self, **{"1002": {"intrusion_allowed": True}})
        await self.watch("1000", "1002")
        busy, call = await self.busy_call()
        frame = await self.client.ok(
            xml(
                "IntrudeCall",
                f"<intrude>{conn(call, '1002')}</intrude><participationType>silent"
                "</participationType>",
            ),
            "IntrudeCallResponse",
        )
        assert frame.get("conferenced_call") == (busy, "1002")
        (conferenced,) = await self.events("1000")
        assert brief(conferenced) == ("ConferencedEvent", "connected", "intrude")
        assert conferenced.get("conferencing_device") == "1002"
        assert conferenced.get("added_party") == "1002"
        assert conferenced.get("secondary_old_call") == (call, "1002")
        assert self.world.switch.media(busy)["1001"] == ["1000"]  # silent: not heard
        refused = await self.client.make_call("1003", "1004")
        await self.client.ok(Req.answer(refused, "1004"))
        tried = await self.client.make_call("1005", "1004")
        body = xml("IntrudeCall", f"<intrude>{conn(tried, '1005')}</intrude>")
        assert await self.client.error(body) == "operation/privilegeViolationSpecifiedDevice"


class SingleStepConferenceOverXml(Scenario):
    async def test_conferencing_device_is_the_requesting_party_and_silent_is_honoured(
        self,
    ) -> None:
        await self.watch("1000", "1005")
        call = await self.established("1000", "1001")
        await self.forget()
        body = xml(
            "SingleStepConferenceCall",
            f"<activeCall>{conn(call, '1001')}</activeCall><deviceToJoin>1005</deviceToJoin>"
            "<participationType>silent</participationType>",
        )
        frame = await self.client.ok(body, "SingleStepConferenceCallResponse")
        assert frame.get("conferenced_call") == (call, "1005")
        for device in ("1000", "1005"):
            (conferenced,) = await self.events(device)
            assert brief(conferenced) == ("ConferencedEvent", "connected", "silentParticipation")
            assert conferenced.get("conferencing_device") == "1001"
            assert conferenced.get("added_party") == "1005"
        assert self.world.switch.media(call) == {
            "1000": ["1001"],
            "1001": ["1000"],
            "1005": ["1000", "1001"],
        }
